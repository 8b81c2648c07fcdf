"""Multi-source evaluation hears whole scenes: each window's sources, pooled per class over the clip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from transformers_bat import SpatialASTFeatureExtractor, SpatialASTForSpatialAudioClassification
from transformers_bat import labels as lb
from transformers_bat.evaluation.source_evaluation import HEADS, evaluate_sources, predict_sources
from transformers_bat.models.spatial_ast.modeling_spatial_ast import SpatialAudioClassifierOutput
from transformers_bat.models.spatial_ast.multi_accdoa import decode_accdoa
from transformers_bat.scene import Scene, Source
from transformers_bat.training import SpatialAudioCollator

from .test_encoder_evaluation import RATE, ToneCatalogue, ToneDetector


class SideBank:
    """Dry RIRs: "left" makes the left ear 6 dB louder, "right" the right ear."""

    def load(self, reverb_id: str) -> np.ndarray:
        rir = np.zeros((2, 64), dtype=np.float32)
        rir[:, 0] = (1.0, 0.5) if reverb_id == "left" else (0.5, 1.0)
        return rir


class ToneSources(ToneDetector):
    """The tone detector with a multi-ACCDOA output: each tone that is on, at the side its window is louder on."""

    def __init__(self):
        super().__init__()
        self.accdoa_head = torch.nn.Identity()  # stands for the head: evaluation only asks whether there is one

    def forward(self, input_features: torch.Tensor) -> SpatialAudioClassifierOutput:
        outputs = super().forward(input_features)
        active = (torch.sigmoid(outputs.event_logits) > 0.5).float()  # (windows, 2)
        side = torch.where(outputs.azimuth_logits[:, 180] > 0, 180.0, 0.0)
        vectors = torch.from_numpy(lb.unit_vector(side.numpy(), np.zeros(len(side)))).float()
        accdoa = torch.zeros(len(input_features), 1, 2, 4)
        accdoa[:, 0, :, :3] = active[:, :, None] * vectors[:, None, :]
        accdoa[:, 0, :, 3] = 1.0
        outputs.accdoa = accdoa
        return outputs

    def decode_sources(self, outputs, threshold: float = 0.5):
        return decode_accdoa(outputs.accdoa, self.config.id2label, threshold=threshold)

    def decode_predictions(self, outputs, threshold: float = 0.5, top_k=None):
        return SpatialASTForSpatialAudioClassification.decode_predictions(self, outputs, threshold, top_k)


class Tones(ToneCatalogue):
    CLIPS = {**ToneCatalogue.CLIPS, "low_at_start": [("Low", 0.2)]}


def scene():
    truth = {"elevation_deg": 0.0, "distance_m": 1.0}
    return (
        Source(audio_id="low_at_start", reverb_id="left", labels=("Low",), azimuth_deg=180.0, **truth),
        Source(audio_id="high_at_end", reverb_id="right", labels=("High",), azimuth_deg=0.0, **truth),
    )


def test_two_sources_at_the_two_ends_of_a_scene_are_both_placed():
    extractor = SpatialASTFeatureExtractor(max_length_s=1.0, num_frames=32, num_mel_bins=32)
    collator = SpatialAudioCollator(Tones(), SideBank(), extractor, {"Low": 0, "High": 1}, train=False)
    scenes = [scene()]
    whole = collator.render_whole(scenes)
    assert whole.shape == (1, 2, 10 * RATE)
    model = ToneSources()
    found = predict_sources(model, scenes, collator, progress=False)
    assert model.windows_seen == 10
    assert sorted((s["label"], s["direction"][0]) for s in found[0]) == [("High", "right"), ("Low", "left")]
    figures = evaluate_sources(model, scenes, collator, progress=False)
    assert figures["2_source"]["per_class_left_right"] == 1.0 and figures["2_source"]["scenes"] == 1
    assert evaluate_sources(model, [Scene.of_item(scene())], collator, progress=False) == figures  # a Scene alike
    # the paper's heads give one direction for the whole scene: one of the two sides is wrong
    release = evaluate_sources(model, scenes, collator, progress=False, heads="release")
    assert release["2_source"]["per_class_left_right"] == 0.5
    assert [r["label"] for r in Scene.of_item(scenes[0]).events()] == ["Low", "High"]
    with pytest.raises(ValueError, match="heads must be"):
        predict_sources(model, scenes, collator, heads="other")
    with pytest.raises(ValueError, match="heads must be"):
        predict_sources(model, scenes, collator, heads=())


def test_both_heads_from_one_encoding_equal_each_head_alone():
    extractor = SpatialASTFeatureExtractor(max_length_s=1.0, num_frames=32, num_mel_bins=32)
    collator = SpatialAudioCollator(Tones(), SideBank(), extractor, {"Low": 0, "High": 1}, train=False)
    scenes = [scene(), scene()[:1], scene()[1:]]
    model = ToneSources()
    both = evaluate_sources(model, scenes, collator, progress=False, heads=("accdoa", "release"))
    assert model.windows_seen == 10 * len(scenes)  # every scene encoded once, for both heads
    for heads in ("accdoa", "release"):
        assert both[heads] == evaluate_sources(model, scenes, collator, progress=False, heads=heads)
    assert evaluate_sources(model, scenes, collator, progress=False, heads=HEADS, batch_size=1, num_workers=2) == both
    assert both["accdoa"]["2_source"]["per_class_left_right"] == 1.0
    assert both["release"]["2_source"]["per_class_left_right"] == 0.5
    with pytest.raises(ValueError, match="scene list is empty"):
        predict_sources(model, [], collator)
