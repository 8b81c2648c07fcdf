"""Multi-ACCDOA: ADPIT targets and loss, decoding several sources, and the optional head on the model."""

import itertools

import numpy as np
import pytest
import torch

from transformers_bat import labels as lb
from transformers_bat.models.spatial_ast.configuration_spatial_ast import SpatialASTConfig
from transformers_bat.models.spatial_ast.modeling_spatial_ast import SpatialASTForSpatialAudioClassification
from transformers_bat.models.spatial_ast.multi_accdoa import (
    _track_assignments,
    accdoa_targets,
    adpit_loss,
    decode_accdoa,
    pool_window_sources,
)

ID2LABEL = {0: "dog", 1: "siren", 2: "engine"}


def test_direction_from_vector_inverts_unit_vector():
    azimuth, elevation = np.array([0.0, 45.0, 135.0, 270.0, 359.0]), np.array([0.0, 30.0, -60.0, 10.0, -5.0])
    back_azimuth, back_elevation = lb.direction_from_vector(3.0 * lb.unit_vector(azimuth, elevation))
    np.testing.assert_allclose(back_azimuth, azimuth, atol=1e-9)
    np.testing.assert_allclose(back_elevation, elevation, atol=1e-9)


def test_adpit_assignments_are_the_thirteen_of_three_tracks():
    assignments = _track_assignments(3)
    assert len(assignments) == 13 and (0, 0, 0) in assignments and (2, 1, 0) in assignments
    assert all(set(a) == set(range(max(a) + 1)) for a in assignments)


def perfect_predictions(targets: torch.Tensor, order) -> torch.Tensor:
    """Predictions that put a class's sources on the tracks in `order` (duplicated where tracks are spare)."""
    batch, classes, tracks, _ = targets.shape
    predictions = torch.zeros(batch, tracks, classes, 4)
    for b, c in itertools.product(range(batch), range(classes)):
        count = int((targets[b, c, :, :3].norm(dim=-1) > 0.5).sum())
        for track in range(tracks):
            slot = order[track] % max(count, 1)
            predictions[b, track, c] = targets[b, c, slot]
    return predictions


def test_adpit_loss_is_zero_for_any_track_order_and_positive_otherwise():
    scenes = [
        [([0], 90.0, 0.0, 2.0), ([0], 200.0, 10.0, 3.5), ([1], 300.0, -20.0, 1.0)],  # two dogs and a siren
        [([1, 2], 10.0, 5.0, 4.0)],  # one clip with two labels
        [],
    ]
    targets = accdoa_targets(scenes, num_classes=3, num_tracks=3)
    assert targets.shape == (3, 3, 3, 4) and targets[0, 0, 1, 3] == 3.5 and targets[1, 2, 0, 3] == 4.0
    for order in ([0, 1, 2], [1, 0, 2], [2, 1, 0]):
        assert adpit_loss(perfect_predictions(targets, order), targets) < 1e-10
    wrong = perfect_predictions(targets, [0, 1, 2])
    wrong[0, :, 0, 0] += 0.5  # the dogs moved
    assert adpit_loss(wrong, targets) > 1e-3
    with pytest.raises(ValueError, match="more than 1 sources of class 0"):
        accdoa_targets(scenes[:1], num_classes=3, num_tracks=1)


def test_decoding_finds_each_source_once_and_pools_windows():
    targets = accdoa_targets([[([0], 90.0, 0.0, 2.0), ([0], 250.0, 0.0, 3.0), ([1], 300.0, 0.0, 1.0)]], 3, 3)
    predictions = perfect_predictions(targets, [0, 1, 1])  # the second dog on two tracks
    sources = decode_accdoa(predictions, ID2LABEL)[0]
    found = sorted((s["label"], round(s["azimuth_deg"]), round(s["distance_m"], 1)) for s in sources)
    assert found == [("dog", 90, 2.0), ("dog", 250, 3.0), ("siren", 300, 1.0)]
    assert {s["direction"][0] for s in sources if s["label"] == "dog"} == {"left", "right"}
    assert decode_accdoa(torch.zeros(1, 3, 3, 4), ID2LABEL) == [[]]
    pooled = pool_window_sources([sources, [dict(sources[0], azimuth_deg=sources[0]["azimuth_deg"] + 5.0)]])
    assert len(pooled) == 3  # the same source in two windows counts once


def tiny_config(**overrides) -> SpatialASTConfig:
    options = dict(
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        num_frames=32,
        num_mel_bins=32,
        id2label=ID2LABEL,
    )
    return SpatialASTConfig(**{**options, **overrides})


def test_the_head_is_optional_and_the_paper_model_has_none(tmp_path):
    plain = SpatialASTForSpatialAudioClassification(tiny_config())
    assert plain.accdoa_head is None and not any("accdoa" in name for name in plain.state_dict())
    features = torch.randn(2, 4, 32, 32)
    with pytest.raises(ValueError, match="num_accdoa_tracks > 0"):
        plain(features, accdoa_labels=torch.zeros(2, 3, 3, 4))
    with pytest.raises(ValueError, match="no multi-ACCDOA head"):
        plain.decode_sources(plain(features))
    with pytest.raises(ValueError, match="num_accdoa_tracks must be in 0..4"):
        tiny_config(num_accdoa_tracks=5)

    torch.manual_seed(0)
    model = SpatialASTForSpatialAudioClassification(tiny_config(num_accdoa_tracks=3, accdoa_loss_weight=2.0))
    targets = accdoa_targets([[([0], 90.0, 0.0, 2.0)], [([1], 270.0, 0.0, 1.0), ([2], 0.0, 0.0, 3.0)]], 3, 3)
    outputs = model(features, accdoa_labels=targets)
    assert outputs.accdoa.shape == (2, 3, 3, 4)
    assert torch.allclose(outputs.loss, 2.0 * outputs.accdoa_loss)
    assert torch.allclose(outputs.accdoa[..., :3], torch.zeros(()), atol=1e-2)  # tiny init: the head starts silent
    untrained = model.decode_sources(outputs, threshold=0.6)  # event scores start at 0.5: nothing detected
    assert untrained == [[], []] and len(model.decode_sources(outputs, threshold=0.4)[0]) == 3
    outputs.loss.backward()
    assert model.accdoa_head.output.weight.grad.abs().sum() > 0
    model.save_pretrained(tmp_path)
    again = SpatialASTForSpatialAudioClassification.from_pretrained(tmp_path)
    assert torch.allclose(again(features).accdoa, model.eval()(features).accdoa)


def test_event_gated_decoding_keeps_short_vectors_of_detected_classes():
    """Under the squared loss a vector shrinks where its direction is uncertain: with the event head's scores the
    class is detected by its score and placed by its vectors' direction, however short they are."""
    accdoa = torch.zeros(1, 3, 3, 4)
    accdoa[0, 0, 0, :3] = 0.2 * torch.from_numpy(lb.unit_vector(180.0, 0.0)).float()  # a short "dog" vector, left
    accdoa[0, 1, 1, :3] = 0.9 * torch.from_numpy(lb.unit_vector(0.0, 0.0)).float()  # siren, right, long
    assert [s["label"] for s in decode_accdoa(accdoa, ID2LABEL)[0]] == ["siren"]  # the ACCDOA rule misses the dog
    scores = torch.tensor([[0.8, 0.3, 0.1]])  # the event head hears the dog, not the siren
    sources = decode_accdoa(accdoa, ID2LABEL, event_scores=scores)[0]
    assert [(s["label"], s["direction"][0], s["activity"]) for s in sources] == [("dog", "left", pytest.approx(0.8))]
