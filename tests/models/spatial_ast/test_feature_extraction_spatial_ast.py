"""SpatialASTFeatureExtractor: numerics against the plain DFT-by-convolution front end, inputs, bad inputs."""

import numpy as np
import pytest
import soundfile as sf
import soxr
import torch

from transformers_bat import SpatialASTFeatureExtractor

from .plain_reference import binaural_test_signal, dft_tables, plain_features, slaney_mel_matrix


@pytest.fixture(scope="module")
def extractor():
    return SpatialASTFeatureExtractor()


@pytest.fixture(scope="module")
def clips():
    return binaural_test_signal(batch=2, seconds=10.0)


def exact_reference(waveform: torch.Tensor) -> torch.Tensor:
    """The plain front end in float64: the mathematically exact features."""
    real, imag = dft_tables()
    return plain_features(
        waveform.double(), torch.from_numpy(real), torch.from_numpy(imag), torch.from_numpy(slaney_mel_matrix())
    )


def test_mel_filterbank_is_the_slaney_one(extractor):
    assert extractor.mel_filters.shape == (513, 128)
    np.testing.assert_allclose(extractor.mel_filters, slaney_mel_matrix(), atol=1e-7)


def test_features_match_the_exact_reference(extractor, clips):
    features = extractor(clips, sampling_rate=32000, return_tensors="pt")["input_features"]
    assert features.shape == (2, 4, 1024, 128) and features.dtype == torch.float32
    difference = (features.double() - exact_reference(clips)).abs().amax(dim=(0, 2, 3))
    assert difference.max() < 1e-4, difference


def test_features_match_the_float32_reference_within_its_own_rounding(extractor, clips):
    """The release computes in float32; its own rounding (float32 FFT-free DFT, float32 interpolation
    positions) moves log-mel by up to ~2e-3 dB from the exact values, ours by < 1e-5."""
    real, imag = dft_tables()
    reference32 = plain_features(
        clips,
        torch.from_numpy(real).float(),
        torch.from_numpy(imag).float(),
        torch.from_numpy(slaney_mel_matrix()).float(),
    )
    features = extractor(clips, sampling_rate=32000, return_tensors="pt")["input_features"]
    assert (features - reference32).abs().max() < 3e-3
    assert (features[:, 2:] - reference32[:, 2:]).abs().max() < 1e-3


def test_silent_bins_follow_the_angle_zero_convention(extractor):
    clip = torch.zeros(1, 2, 32000 * 10)
    # a noise burst in the left ear; the right ear and the rest of the clip are digital silence (a constant
    # burst would leave bins at rounding-noise level, whose phase is arbitrary in any implementation)
    clip[0, 0, 5000:9000] = 0.1 * torch.randn(4000, generator=torch.Generator().manual_seed(0))
    features = extractor(clip, sampling_rate=32000, return_tensors="pt")["input_features"]
    assert (features.double() - exact_reference(clip)).abs().max() < 1e-4
    assert torch.isfinite(features).all()


def test_single_clip_batch_list_tensor_and_numpy_agree(extractor, clips):
    batch = extractor(clips.numpy(), sampling_rate=32000)["input_features"]
    assert isinstance(batch, np.ndarray) and batch.shape == (2, 4, 1024, 128)
    single = extractor(clips[1], sampling_rate=32000, return_tensors="pt")["input_features"]
    listed = extractor([clips[0].numpy(), clips[1]], sampling_rate=32000, return_tensors="pt")["input_features"]
    np.testing.assert_allclose(single[0].numpy(), batch[1], atol=1e-5)
    np.testing.assert_allclose(listed.numpy(), batch, atol=1e-5)
    half = extractor(clips[0].half(), sampling_rate=32000, return_tensors="pt")["input_features"]
    assert half.shape == (1, 4, 1024, 128)


def test_short_clips_are_zero_padded_and_long_ones_cropped(extractor, clips):
    short = clips[0, :, :80000]
    padded = torch.cat([short, torch.zeros(2, 240000)], dim=1)
    long = torch.cat([clips[0], clips[1]], dim=1)
    features = extractor([short, padded, long], sampling_rate=32000, return_tensors="pt")["input_features"]
    assert torch.equal(features[0], features[1])
    reference = extractor(clips[0], sampling_rate=32000, return_tensors="pt")["input_features"][0]
    assert torch.allclose(features[2], reference, atol=1e-5)


def test_other_sampling_rates_are_resampled(extractor, clips):
    clip16k = soxr.resample(clips[0].numpy().T, 32000, 16000).T
    features = extractor(clip16k, sampling_rate=16000, return_tensors="pt")["input_features"]
    manual = soxr.resample(clip16k.T, 16000, 32000, quality="HQ").T
    expected = extractor(manual, sampling_rate=32000, return_tensors="pt")["input_features"]
    assert torch.allclose(features, expected)


def test_missing_sampling_rate_warns(extractor, clips):
    with pytest.warns(UserWarning, match="No sampling_rate given"):
        extractor(clips[0])


def test_reads_stereo_files_and_resamples(extractor, clips, tmp_path):
    path = tmp_path / "clip.wav"
    sf.write(path, clips[0].numpy().T, 32000, subtype="FLOAT")
    from_file = extractor(str(path), return_tensors="pt")["input_features"]
    from_array = extractor(clips[0], sampling_rate=32000, return_tensors="pt")["input_features"]
    assert torch.allclose(from_file, from_array, atol=1e-5)
    path44 = tmp_path / "clip44.wav"
    sf.write(path44, soxr.resample(clips[0].numpy().T, 32000, 44100), 44100, subtype="FLOAT")
    assert extractor([path44], return_tensors="pt")["input_features"].shape == (1, 4, 1024, 128)


def test_small_configuration_for_demos():
    extractor = SpatialASTFeatureExtractor(max_length_s=1.0, num_frames=64, num_mel_bins=32)
    features = extractor(binaural_test_signal(1, seconds=1.0), sampling_rate=32000, return_tensors="pt")[
        "input_features"
    ]
    assert features.shape == (1, 4, 64, 32)
    assert torch.isfinite(features).all()


def test_save_and_reload(extractor, tmp_path):
    extractor.save_pretrained(tmp_path)
    reloaded = SpatialASTFeatureExtractor.from_pretrained(tmp_path)
    assert reloaded.to_dict() == extractor.to_dict()
    np.testing.assert_array_equal(reloaded.mel_filters, extractor.mel_filters)


BAD_INPUTS = [
    (np.zeros(32000, dtype=np.float32), "binaural \\(2-channel\\) audio, got mono"),
    (np.zeros((1, 32000), dtype=np.float32), "got mono"),
    (np.zeros((4, 32000), dtype=np.float32), "exactly 2 channels .* got 4"),
    (np.zeros((32000, 2), dtype=np.float32), "looks channel-last"),
    (np.zeros((2, 0), dtype=np.float32), "empty"),
    (np.full((2, 100), np.nan, dtype=np.float32), "NaN or infinite"),
    (np.array([[0.0, np.inf], [0.0, 0.0]], dtype=np.float32), "NaN or infinite"),
    (np.zeros((2, 100), dtype=np.int16), "floating-point audio .* int16"),
    (np.zeros((2, 2, 2, 100), dtype=np.float32), "Expected a clip"),
    ([], "empty batch"),
    (42, "Unsupported audio input of type int"),
    (torch.zeros(2, 100, dtype=torch.complex64), "floating-point audio .* complex64"),
    # int16 PCM cast to float without scaling (scipy.io.wavfile + astype): 80 dB too loud
    (np.stack([np.arange(100) * 120.0, -np.arange(100) * 90.0]).astype(np.float32), "whole numbers up to 11880"),
    (np.full((2, 100), np.finfo(np.float32).max, dtype=np.float32), r"whole numbers up to 3.40282e\+38"),
    (np.full((2, 100), 2e4 + 0.5, dtype=np.float32), "peak amplitude is 2e\\+04"),
    ([np.zeros((2, 10)), [[0.0], [0.0, 1.0]]], r"audio\[1\]: cannot read list as audio"),
]


@pytest.mark.parametrize("audio, message", BAD_INPUTS)
def test_bad_inputs_raise_clear_errors(extractor, audio, message):
    with pytest.raises(ValueError, match=message):
        extractor(audio, sampling_rate=32000)


def test_bad_files_raise_clear_errors(extractor, tmp_path):
    with pytest.raises(ValueError, match="Audio file not found"):
        extractor(str(tmp_path / "missing.wav"))
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF this is not audio")
    with pytest.raises(ValueError, match="Could not read audio file"):
        extractor(str(corrupt))
    mono = tmp_path / "mono.wav"
    sf.write(mono, np.zeros(1000, dtype=np.float32), 32000)
    with pytest.raises(ValueError, match="mono.wav.*got mono"):
        extractor(str(mono))


def test_loud_but_plausible_audio_is_accepted(extractor):
    """Rendered scenes are never clipped (as the release): ~9 at most, a lone click far more. Only whole-number
    samples past full scale (unscaled PCM) and peaks 80 dB over full scale are refused."""
    rng = np.random.default_rng(0)
    for clip in (
        np.stack([np.full(3200, 8.5), np.full(3200, -2.0)]),
        rng.standard_normal((2, 3200)) * 300.0,  # loud, but not whole numbers
        np.round(rng.standard_normal((2, 3200)) * 0.5).clip(-2, 2),  # whole numbers within [-2, 2]
    ):
        features = extractor(clip.astype(np.float32), sampling_rate=32000)["input_features"]
        assert np.isfinite(features).all()


@pytest.mark.parametrize("rate", ["32000", True, 0, -16000, 44100.5, float("nan")])
def test_bad_sampling_rates_raise(extractor, rate):
    clip = np.zeros((2, 3200), dtype=np.float32)
    with pytest.raises(ValueError, match="sampling_rate must be a positive whole number of Hz"):
        extractor(clip, sampling_rate=rate)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"hop_length": 0}, "hop_length must be a positive integer"),
        ({"n_fft": -1}, "n_fft must be a positive integer"),
        ({"num_mel_bins": 0}, "num_mel_bins must be a positive integer"),
        ({"num_frames": 2.5}, "num_frames must be a positive integer"),
        ({"sampling_rate": "32000"}, "sampling_rate must be a positive whole number"),
        ({"max_length_s": 0}, "max_length_s must be positive"),
        ({"max_frequency": 20000.0}, "max_frequency <= sampling_rate / 2"),
        ({"min_frequency": 500.0, "max_frequency": 400.0}, "min_frequency < max_frequency"),
    ],
)
def test_bad_settings_raise(settings, message):
    with pytest.raises(ValueError, match=message):
        SpatialASTFeatureExtractor(**settings)


def test_encoded_bytes_read_like_the_file(extractor, tmp_path):
    clip = binaural_test_signal(batch=1, seconds=0.5)[0].numpy()
    path = tmp_path / "clip.flac"
    sf.write(path, clip.T, 32000)
    from_bytes = extractor(path.read_bytes())["input_features"]
    np.testing.assert_array_equal(from_bytes, extractor(str(path))["input_features"])
    with pytest.raises(ValueError, match="Could not read the 9 bytes given as audio"):
        extractor(b"not audio")


def test_windows_cover_a_whole_clip_of_any_length():
    """Long clips are split into model windows instead of being cropped (whole-clip inference)."""
    extractor = SpatialASTFeatureExtractor(max_length_s=1.0, num_frames=64, num_mel_bins=32)
    assert extractor.window_starts(100) == [0]
    assert extractor.window_starts(32000) == [0]
    assert extractor.window_starts(39000) == [0]  # 7,000 new samples: less than a quarter window, left out
    assert extractor.window_starts(41000) == [0, 32000]
    assert extractor.window_starts(64000, hop_s=0.5) == [0, 16000, 32000]
    with pytest.raises(ValueError, match="hop_s must give at least one sample"):
        extractor.window_starts(64000, hop_s=0.0)
    rng = np.random.default_rng(0)
    long_clip = (0.1 * rng.standard_normal((2, 80000))).astype(np.float32)
    short_clip = (0.1 * rng.standard_normal((2, 30000))).astype(np.float32)
    out = extractor([long_clip, short_clip], sampling_rate=32000, windows=True, return_tensors="pt")
    assert out["input_features"].shape == (4, 4, 64, 32)
    assert out["clip_index"].tolist() == [0, 0, 0, 1] and out["window_start_s"].tolist() == [0.0, 1.0, 2.0, 0.0]
    second = extractor(long_clip[:, 32000:64000], sampling_rate=32000, return_tensors="pt")["input_features"]
    torch.testing.assert_close(out["input_features"][1], second[0])  # window 2 is the clip's second second
    cropped = extractor(long_clip, sampling_rate=32000)["input_features"]
    assert cropped.shape == (1, 4, 64, 32)  # without windows=True: one window, as the release
