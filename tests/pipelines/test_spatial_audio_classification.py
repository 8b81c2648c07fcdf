"""``pipeline("spatial-audio-classification")``: events, direction and distance of binaural clips of any length."""

import io

import numpy as np
import pytest
import soundfile as sf
import torch
from transformers import pipeline

from tests.models.spatial_ast.test_modeling_spatial_ast import tiny_config
from transformers_bat import SpatialASTFeatureExtractor, SpatialASTForSpatialAudioClassification
from transformers_bat.labels import index_to_azimuth

RATE = 32000


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spatial_ast")
    torch.manual_seed(0)
    config = tiny_config(num_hidden_layers=1, num_labels=3, id2label={0: "dog", 1: "siren", 2: "speech"})
    model = SpatialASTForSpatialAudioClassification(config)
    with torch.no_grad():  # make the heads input-dependent enough that windows differ
        for head in (model.heads.event_head, model.heads.azimuth_head, model.heads.distance_head):
            head.weight.normal_(0.0, 0.5)
    model.save_pretrained(folder)
    SpatialASTFeatureExtractor(max_length_s=1.0, num_frames=64, num_mel_bins=32).save_pretrained(folder)
    return folder


def scene(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    clip = rng.standard_normal((2, int(seconds * RATE))).astype(np.float32) * 0.1
    clip[1] *= np.linspace(0.2, 1.0, clip.shape[1], dtype=np.float32)  # level changes over time: windows differ
    return clip


def test_a_long_clip_is_encoded_window_by_window_and_pooled(model_dir):
    describe = pipeline("spatial-audio-classification", model=str(model_dir))
    clip = scene(3.5)
    result = describe(clip, sampling_rate=RATE, top_k=2, window_batch_size=3)
    assert [(s["start_s"], s["end_s"]) for s in result["segments"]] == [(0.0, 1.0), (1.0, 2.0), (2.0, 3.0), (3.0, 4.0)]
    # the pooled figures, recomputed from the windows by hand
    extractor, model = describe.feature_extractor, describe.model
    features = extractor(clip, sampling_rate=RATE, windows=True, return_tensors="pt")["input_features"]
    with torch.no_grad():
        outputs = model(input_features=features)
    scores = torch.sigmoid(outputs.event_logits)
    weight = scores.max(-1).values / scores.max(-1).values.sum()
    azimuth = int((torch.softmax(outputs.azimuth_logits, -1) * weight[:, None]).sum(0).argmax())
    assert result["azimuth_deg"] == float(index_to_azimuth(azimuth))
    best = scores.max(0).values
    top_two = [model.config.id2label[int(i)] for i in best.argsort()[-2:].flip(0)]
    assert [name for name, _ in result["events"]] == top_two
    assert result["events"][0][1] == pytest.approx(float(best.max()), abs=1e-6)
    for segment, window in zip(result["segments"], model.decode_predictions(outputs, top_k=2)):
        assert segment["azimuth_deg"] == window["azimuth_deg"]  # windows batched 3 + 1 here: scores to float32
        assert [n for n, _ in segment["events"]] == [n for n, _ in window["events"]]
        assert [v for _, v in segment["events"]] == pytest.approx([v for _, v in window["events"]], abs=1e-5)


def test_one_window_clip_matches_the_model(model_dir):
    describe = pipeline("spatial-audio-classification", model=str(model_dir))
    clip = scene(0.8, seed=3)
    result = describe(clip, sampling_rate=RATE, top_k=1)
    features = describe.feature_extractor(clip, sampling_rate=RATE, return_tensors="pt")["input_features"]
    with torch.no_grad():
        expected = describe.model.decode_predictions(describe.model(input_features=features), top_k=1)[0]
    assert len(result["segments"]) == 1
    assert [n for n, _ in result["events"]] == [n for n, _ in expected["events"]]
    assert result["events"][0][1] == pytest.approx(expected["events"][0][1], abs=1e-6)
    for key in ("distance_m", "azimuth_deg", "elevation_deg", "direction"):
        assert result[key] == expected[key], key


def test_input_forms_and_errors(model_dir, tmp_path):
    describe = pipeline("spatial-audio-classification", model=str(model_dir))
    clip = scene(2.0, seed=1)
    sf.write(tmp_path / "scene.wav", clip.T, RATE)
    buffer = io.BytesIO()
    sf.write(buffer, clip.T, RATE, format="FLAC")
    from_file = describe(str(tmp_path / "scene.wav"), top_k=1)
    assert describe(buffer.getvalue(), top_k=1)["direction"] == from_file["direction"]
    both = describe([str(tmp_path / "scene.wav"), {"array": clip, "sampling_rate": RATE}], top_k=1)
    assert len(both) == 2 and len(both[1]["segments"]) == 2
    resampled = describe(np.repeat(clip, 3, axis=1)[:, ::2], sampling_rate=48000, top_k=1)
    assert len(resampled["segments"]) == 2  # 2 s at 48 kHz: the whole clip is resampled, not one window of it
    pcm = np.round(clip.T * 32767).astype(np.int16)  # gradio's (rate, int16 (samples, 2))
    assert (
        describe((RATE, pcm), top_k=1)["direction"]
        == describe(pcm.T / 32768.0, sampling_rate=RATE, top_k=1)["direction"]
    )
    with pytest.raises(ValueError, match="binaural"):
        describe(clip[0], sampling_rate=RATE)
    with pytest.raises(TypeError, match="Unexpected arguments"):
        describe(clip, sampling_rate=RATE, question="Where?")
