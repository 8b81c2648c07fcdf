"""Fuzzing the binaural front end and the BAT processor: any input gives features or a ValueError/TypeError with a
message, never a crash from deep inside numpy/soxr/torch and never a non-finite feature."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.models.bat import bat_tester as bt  # noqa: E402
from transformers_bat import SpatialASTFeatureExtractor  # noqa: E402

EXTRACTOR = SpatialASTFeatureExtractor(max_length_s=0.05, n_fft=64, hop_length=32, num_mel_bins=8, num_frames=16,
                                       max_frequency=8000.0)  # fmt: skip

DTYPES = [np.float16, np.float32, np.float64, np.int16, np.int32, np.uint8, np.bool_, np.complex64]
VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from([0.0, 1.0, -1.0, 8.0, 64.0, 65.0, 32767.0, 3.4e38, 1e-30]),
)
RATES = st.one_of(
    st.none(),
    st.integers(-10, 200_000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["32000", True, 8000, 16000, 44100, 48000]),
)


@st.composite
def audio_inputs(draw):
    shape = draw(st.sampled_from([(2, None), (None,), (1, None), (3, None), (None, 2), (2, 2, None), (2, 2, 2, None)]))
    length = draw(st.integers(0, 3000))
    shape = tuple(length if size is None else size for size in shape)
    dtype = draw(st.sampled_from(DTYPES))
    fill = draw(VALUES)
    array = np.full(shape, fill, dtype=np.float64)
    if array.size:
        noise = np.random.default_rng(draw(st.integers(0, 2**16))).standard_normal(shape)
        array = array + draw(st.sampled_from([0.0, 0.1, 1.0])) * noise
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # overflow in the cast is part of the fuzz
        array = array.astype(dtype)
    form = draw(st.sampled_from(["numpy", "torch", "list"]))
    if form == "torch" and dtype not in (np.uint8, np.bool_, np.complex64, np.float16):
        return torch.from_numpy(array)
    if form == "list":
        return list(array) if array.ndim > 1 else array.tolist()
    return array


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(audio=audio_inputs(), rate=RATES)
def test_feature_extractor_never_crashes_or_returns_nan(audio, rate):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the missing-rate warning
        try:
            features = EXTRACTOR(audio, sampling_rate=rate, return_tensors="np")["input_features"]
        except (ValueError, TypeError) as error:
            assert str(error)  # a message that says what is wrong
            return
    assert features.shape[1:] == (4, 16, 8) and np.isfinite(features).all()


@pytest.fixture(scope="module")
def processor():
    return bt.build_bat("llama")[1]


QUESTIONS = st.one_of(
    st.text(max_size=40),
    st.lists(st.text(max_size=20), max_size=3),
    st.sampled_from(["Where is the sound?", "<|AUDIO|>", None, 3, [["a?"], ["b?"]]]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(audio=audio_inputs(), rate=RATES, question=QUESTIONS, truncation=st.booleans())
def test_processor_never_crashes(processor, audio, rate, question, truncation):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            inputs = processor(audio=audio, text=question, sampling_rate=rate, truncation=truncation)
        except (ValueError, TypeError) as error:
            assert str(error)
            return
    placeholders = inputs["input_ids"].eq(processor.audio_token_id).sum(-1)
    assert (placeholders == processor.num_query_tokens).all()  # one clip per row, never a typed placeholder
    counts = inputs["audio_window_counts"]  # windows of each row's clip (3000 samples at 1 kHz: 3 windows)
    assert counts.shape == inputs["input_ids"].shape[:1] and (counts >= 1).all()
    assert not truncation or (counts == 1).all()
    assert inputs["input_features"].shape[0] == int(counts.sum())
    assert torch.isfinite(inputs["input_features"]).all()
