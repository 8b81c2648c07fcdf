import numpy as np
import pytest
import scipy.signal
import torch

from transformers_bat.simulation import spatialize as spatialize_module
from transformers_bat.simulation.spatialize import fit_rir, prepare_source, render_mixtures, render_scene, spatialize


def _rir(rng, length):
    decay = np.exp(-np.arange(length) / (0.1 * 32000))
    return (rng.standard_normal((2, length)) * decay).astype(np.float32)


def test_prepare_source_follows_the_release():
    rng = np.random.default_rng(0)
    stereo = rng.uniform(-1, 1, (2, 16000 * 3)).astype(np.float32)
    stereo[1] = 0.0  # only the first channel is used
    source = prepare_source(stereo, 16000)
    assert source.shape == (320000,) and source.dtype == torch.float32
    rendered = source[:96000].double()
    assert 20 * np.log10(float(rendered.pow(2).mean().sqrt())) == pytest.approx(-14.0, abs=0.05)  # before padding
    assert torch.all(source[96200:] == 0)
    long = prepare_source(rng.standard_normal(32000 * 12), 32000, num_samples=320000)
    assert long.shape == (320000,)
    assert prepare_source(torch.ones(100), 32000, num_samples=50).shape == (50,)


@pytest.mark.parametrize(
    "audio, message",
    [
        (np.zeros(1000), "silent"),
        (np.array([0.1, np.nan, 0.2]), "NaN or infinite"),
        (np.array([0.1, np.inf]), "NaN or infinite"),
        (np.zeros(0), "empty"),
        (np.zeros((2, 2, 2)), "1-D"),
    ],
)
def test_prepare_source_rejects_bad_audio(audio, message):
    with pytest.raises(ValueError, match=message):
        prepare_source(audio, 32000)


def test_spatialize_equals_scipy_full_convolution_truncated():
    rng = np.random.default_rng(1)
    sources = torch.from_numpy(rng.standard_normal((3, 20000)).astype(np.float32))
    rirs = torch.from_numpy(np.stack([_rir(rng, 5000) for _ in range(3)]))
    out = spatialize(sources, rirs, rir_length=6000)
    assert out.shape == (3, 2, 20000)
    for b in range(3):
        expected = scipy.signal.fftconvolve(sources[b].double().numpy()[None], rirs[b].double().numpy(), axes=-1)
        np.testing.assert_allclose(out[b].numpy(), expected[:, :20000], atol=2e-4)


def test_rir_is_cropped_to_rir_length():
    rng = np.random.default_rng(2)
    sources = torch.from_numpy(rng.standard_normal((1, 8000)).astype(np.float32))
    rir = torch.from_numpy(_rir(rng, 3000))
    cropped = spatialize(sources, rir, rir_length=1000)
    np.testing.assert_allclose(cropped.numpy(), spatialize(sources, rir[:, :1000], rir_length=None).numpy(), atol=1e-5)
    assert fit_rir(rir, 4000).shape == (2, 4000) and torch.all(fit_rir(rir, 4000)[:, 3000:] == 0)


def test_shared_rir_and_shape_errors():
    sources = torch.randn(4, 1000, generator=torch.Generator().manual_seed(0))
    rir = torch.randn(2, 100, generator=torch.Generator().manual_seed(1))
    shared = spatialize(sources, rir, rir_length=None)
    each = spatialize(sources, rir.expand(4, 2, 100), rir_length=None)
    torch.testing.assert_close(shared, each)
    with pytest.raises(ValueError, match=r"rirs must be \(B, 2, L\)"):
        spatialize(sources, torch.zeros(3, 2, 100))
    with pytest.raises(ValueError, match=r"sources must be \(B, T\)"):
        spatialize(sources[0], rir)


def test_render_scene_single_and_mixed():
    rng = np.random.default_rng(3)
    clips = [(rng.standard_normal(16000 * 2).astype(np.float32), 16000), (rng.uniform(-1, 1, 44100), 44100)]
    rirs = [_rir(rng, 70000), _rir(rng, 20000)]
    single = render_scene(clips[:1], rirs[:1], num_samples=64000)
    assert single.shape == (2, 64000) and single.dtype == np.float32
    mixed = render_scene(clips, rirs, num_samples=64000)
    second = render_scene(clips[1:], rirs[1:], num_samples=64000)
    np.testing.assert_allclose(mixed, (single + second) / 2, atol=1e-5)
    assert render_scene(clips, rirs, num_samples=64000).tobytes() == mixed.tobytes()  # deterministic
    # N sources: the mean of their renderings, so each keeps the level it has among two
    dry = torch.from_numpy(rng.standard_normal((3, 4000)).astype(np.float32))
    delta = torch.zeros(3, 2, 64)
    delta[:, :, 0] = 1.0
    scenes = render_mixtures(dry, delta, [0, 0, 1], 2)
    torch.testing.assert_close(scenes[0], (dry[0] + dry[1]).expand(2, -1) / 2, atol=1e-5, rtol=0)
    torch.testing.assert_close(scenes[1], dry[2].expand(2, -1), atol=1e-5, rtol=0)
    window = render_mixtures(dry, delta, [0, 0, 1], 2, window=100, starts=[10, 200])
    torch.testing.assert_close(window, torch.stack([scenes[0, :, 10:110], scenes[1, :, 200:300]]), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="one or more clips with one RIR each"):
        render_scene(clips, rirs[:1])


def test_fast_fft_length():
    for minimum in (1, 7, 100, 383999, 1000003):
        length = spatialize_module._fast_fft_length(minimum)
        assert length >= minimum
        remainder = length
        for factor in (2, 3, 5):
            while remainder % factor == 0:
                remainder //= factor
        assert remainder == 1
    assert spatialize_module._fast_fft_length(383999) == 384000


def test_cpu_and_torch_fft_paths_agree():
    from transformers_bat.simulation.spatialize import _convolve_pocketfft, _convolve_torch

    generator = torch.Generator().manual_seed(4)
    sources, rirs = torch.randn(5, 3000, generator=generator), torch.randn(5, 2, 400, generator=generator)
    for shared in (rirs, rirs[:1]):
        torch.testing.assert_close(
            _convolve_pocketfft(sources, shared, 3400, 2), _convolve_torch(sources, shared, 3400, 2), atol=1e-4, rtol=0
        )


def test_window_equals_the_slice_of_the_full_rendering():
    """spatialize_window renders only the asked samples; they equal the full rendering's (both FFT paths)."""
    from transformers_bat.simulation.spatialize import spatialize_window

    rng = np.random.default_rng(5)
    sources = torch.from_numpy(rng.standard_normal((4, 12000)).astype(np.float32))
    rirs = torch.from_numpy(np.stack([_rir(rng, 3000) for _ in range(4)]))
    full = spatialize(sources, rirs, rir_length=3000)
    starts = [0, 500, 4321, 12000 - 2000]  # at the clip start (no history), inside, and flush with the end
    window = spatialize_window(sources, rirs, starts, 2000, rir_length=3000)
    assert window.shape == (4, 2, 2000)
    for b, start in enumerate(starts):
        torch.testing.assert_close(window[b], full[b, :, start : start + 2000], atol=2e-4, rtol=0)
    shared = spatialize_window(sources, rirs[0], starts, 2000, rir_length=3000)
    torch.testing.assert_close(
        shared[1], spatialize(sources, rirs[0], rir_length=3000)[1, :, 500:2500], atol=2e-4, rtol=0
    )
    original = spatialize_module._scipy_fft
    spatialize_module._scipy_fft = lambda: None  # the torch path (any device)
    try:
        torch.testing.assert_close(
            spatialize_window(sources, rirs, starts, 2000, rir_length=3000), window, atol=2e-4, rtol=0
        )
    finally:
        spatialize_module._scipy_fft = original


@pytest.mark.parametrize(
    "starts, length, message",
    [
        ([0, 0], 2000, "one start per source"),
        ([0, 0, 0], 0, "do not fit"),
        ([0, -1, 0], 100, "do not fit"),
        ([0, 0, 11000], 2000, "do not fit"),
    ],
)
def test_window_errors(starts, length, message):
    from transformers_bat.simulation.spatialize import spatialize_window

    with pytest.raises(ValueError, match=message):
        spatialize_window(torch.zeros(3, 12000), torch.zeros(2, 10), starts, length)
