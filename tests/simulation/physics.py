"""Helpers that measure interaural cues and levels of rendered binaural RIRs (used by the physics tests)."""

import numpy as np

from transformers_bat.simulation.rir_rendering import LabelTarget, place_source
from transformers_bat.simulation.rooms import sample_room


def direct_path(rir: np.ndarray, window_samples: int = 64) -> np.ndarray:
    """(2, window) slice around the first arrival (earliest sample above 10% of the peak in either ear)."""
    envelope = np.abs(rir).max(axis=0)
    onset = int(np.argmax(envelope > 0.1 * envelope.max()))
    start = max(0, onset - 16)
    return rir[:, start : start + window_samples]


def interaural_cues(direct: np.ndarray, sample_rate: int = 32000) -> tuple[float, float]:
    """(ITD in seconds, positive when the left ear leads; ILD in dB, positive when the left ear is louder)."""
    left, right = direct.astype(np.float64)
    max_lag = int(0.001 * sample_rate)
    correlation = np.correlate(right, left, mode="full")  # peak at +lag when right lags left
    lags = np.arange(-len(left) + 1, len(left))
    keep = np.abs(lags) <= max_lag
    itd = lags[keep][np.argmax(correlation[keep])] / sample_rate
    ild = 10 * np.log10(np.sum(left**2) / np.sum(right**2))
    return float(itd), float(ild)


def random_scenes(count: int, seed: int, elevation_range_deg=(-40.0, 90.0), **room_options):
    """Random scenes over all octants and distance bins 2..10, each in its own random room."""
    scenes = []
    rng = np.random.default_rng(seed)
    while len(scenes) < count:
        target = LabelTarget(octant=int(rng.integers(8)), distance_index=int(rng.integers(2, 11)))
        room = sample_room(rng, f"r{len(scenes)}", min_long_side_m=target.distance_index * 0.5 + 1.5, **room_options)
        scene = place_source(room, target, rng, elevation_range_deg)
        if scene is not None:
            scenes.append(scene)
    return scenes


def off_median_plane_deg(azimuth_deg: float, elevation_deg: float) -> float:
    """Angle between a direction and the median plane (0 = straight ahead/behind/up, 90 = at one ear)."""
    lateral = np.cos(np.radians(elevation_deg)) * np.cos(np.radians(azimuth_deg))
    return float(np.degrees(np.arcsin(abs(lateral))))
