"""A polar plot of predicted vs true source directions (people would rather see this than read it)."""

from __future__ import annotations

import numpy as np


def plot_directions(true_azimuth_deg, predicted_azimuth_deg, path, title: str = "Predicted vs true azimuth") -> None:
    """Save a polar plot: each clip is a grey line from its true azimuth (ring 1) to its prediction (ring 0.7).

    Azimuth follows the listener frame (0 = right, 90 = front), drawn with front at the top.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    true = np.radians(np.asarray(true_azimuth_deg, dtype=float))
    predicted = np.radians(np.asarray(predicted_azimuth_deg, dtype=float))
    if true.shape != predicted.shape or true.size == 0:
        raise ValueError(f"Need equally many true and predicted azimuths, got {true.shape} and {predicted.shape}.")
    figure = plt.figure(figsize=(5, 5))
    axes = figure.add_subplot(projection="polar")
    axes.set_theta_zero_location("E")  # 0 = right, 90 = front at the top
    for t, p in zip(true, predicted):
        axes.plot([t, p], [1.0, 0.7], color="0.75", linewidth=0.6)
    axes.scatter(true, np.ones_like(true), s=12, label="true", color="tab:blue")
    axes.scatter(predicted, np.full_like(predicted, 0.7), s=12, label="predicted", color="tab:orange")
    axes.set_rticks([])
    axes.set_xticks(np.radians([0, 90, 180, 270]), ["right", "front", "left", "behind"])
    axes.set_title(title)
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
