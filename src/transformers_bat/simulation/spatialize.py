"""On-the-fly spatialisation exactly as the release renders a record (see ``spatialsoundqa.md``):

each mono source is the first channel of its clip, resampled to 32 kHz, RMS-normalised to -14 dBFS and
padded/cropped to 10 s; it is convolved (FFT, full) with its binaural RIR padded/cropped to 64,000 samples and
truncated to the clip length; two sources are mixed as ``(w1 + w2) / 2`` with no renormalisation (scenes of more
sources, beyond the release, as ``sum / N``).

The convolution is a batched torch FFT (CPU or GPU, float32): the data loader calls it when a sample is read.
"""

from __future__ import annotations

import numpy as np
import torch

from ..audio_format import NUM_SAMPLES, RIR_LENGTH, SAMPLE_RATE

TARGET_DBFS = -14.0
SILENCE_RMS = 1e-6


def _fast_fft_length(minimum: int) -> int:
    """Smallest 2^a 3^b 5^c >= minimum (FFT sizes that pocketfft/MKL/cuFFT handle fastest)."""
    best = 1 << (int(minimum) - 1).bit_length()
    power5 = 1
    while power5 < best:
        power35 = power5
        while power35 < best:
            candidate = power35
            while candidate < minimum:
                candidate *= 2
            best = min(best, candidate)
            power35 *= 3
        power5 *= 5
    return best


def prepare_source(audio, sample_rate: int, num_samples: int = NUM_SAMPLES) -> torch.Tensor:
    """Mono source (num_samples,) float32: first channel, 32 kHz, -14 dBFS RMS, zero-padded or cropped.

    ``audio`` is 1-D (T,) or (channels, T), numpy or torch. Raises ``ValueError`` for empty, non-finite or
    silent audio (a silent clip cannot be normalised and would be a mislabelled sample).
    """
    if isinstance(audio, torch.Tensor):
        audio = audio.detach().cpu().numpy()
    audio = np.asarray(audio)
    if audio.ndim == 2:
        audio = audio[0]
    elif audio.ndim != 1:
        raise ValueError(f"source audio must be 1-D (T,) or (channels, T), got shape {audio.shape}")
    if audio.size == 0:
        raise ValueError("source audio is empty")
    audio = audio.astype(np.float64)
    if not np.all(np.isfinite(audio)):
        raise ValueError("source audio contains NaN or infinite samples")
    if int(sample_rate) <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if int(sample_rate) != SAMPLE_RATE:
        import soxr

        audio = soxr.resample(audio, int(sample_rate), SAMPLE_RATE, quality="HQ")
    rms = float(np.sqrt(np.mean(audio**2)))
    if rms < SILENCE_RMS:
        raise ValueError(f"source audio is silent (RMS {rms:.2e}); cannot normalise it to {TARGET_DBFS} dBFS")
    audio = audio * (10.0 ** (TARGET_DBFS / 20.0) / rms)
    out = np.zeros(int(num_samples), dtype=np.float32)
    length = min(len(audio), int(num_samples))
    out[:length] = audio[:length]
    return torch.from_numpy(out)


def fit_rir(rirs: torch.Tensor, rir_length: int = RIR_LENGTH) -> torch.Tensor:
    """Zero-pad or crop RIRs (..., 2, L) to (..., 2, rir_length)."""
    length = rirs.shape[-1]
    if length >= rir_length:
        return rirs[..., :rir_length]
    return torch.nn.functional.pad(rirs, (0, rir_length - length))


def spatialize(
    sources: torch.Tensor,
    rirs: torch.Tensor,
    rir_length: int | None = RIR_LENGTH,
    chunk_size: int = 8,
    cpu_threads: int = 1,
) -> torch.Tensor:
    """Binaural signals (B, 2, T) = each source (B, T) convolved with its RIR (B, 2, L), truncated to T.

    A single RIR (2, L) is shared by every source. RIRs are padded/cropped to ``rir_length`` first (the
    release's 64,000; ``None`` keeps them as given). Runs on the device and in the dtype of ``sources``.
    The batch is processed ``chunk_size`` clips at a time, sharing each source spectrum between the two ears and
    reusing buffers. CPU tensors go through scipy's pocketfft with ``cpu_threads`` threads, other devices through
    ``torch.fft``; both give the same result (float32 round-off). On CPU, parallelise with processes (DataLoader
    workers): on the shared 2-core machine one thread per process was faster than two in every measurement.
    """
    rirs = _checked_rirs(sources, rirs, rir_length)
    fft_length = _fast_fft_length(sources.shape[-1] + rirs.shape[-1] - 1)
    return _convolve(sources, rirs, fft_length, chunk_size, cpu_threads)


def spatialize_window(
    sources: torch.Tensor,
    rirs: torch.Tensor,
    starts,
    length: int,
    rir_length: int | None = RIR_LENGTH,
    chunk_size: int = 8,
    cpu_threads: int = 1,
) -> torch.Tensor:
    """``spatialize(sources, rirs)[b, :, starts[b] : starts[b] + length]`` without rendering the whole clip.

    A window of the convolution only needs the ``length + L - 1`` source samples that end where it ends, so each
    example convolves that segment (zero history before the clip start) with an FFT of about ``length + L``
    points instead of ``T + L``: for a 1 s window of a 10 s clip and 2 s RIRs, 96,000 instead of 384,000.
    Training on short crops renders this way; the samples equal those of the full rendering (float round-off).
    """
    rirs = _checked_rirs(sources, rirs, rir_length)
    starts = torch.as_tensor(np.asarray(starts), dtype=torch.long).reshape(-1)
    num_samples, length = sources.shape[-1], int(length)
    if len(starts) != sources.shape[0]:
        raise ValueError(f"need one start per source ({sources.shape[0]}), got {len(starts)}")
    if not 0 < length <= num_samples or bool((starts < 0).any()) or bool((starts + length > num_samples).any()):
        raise ValueError(f"windows of {length} samples at {starts.tolist()} do not fit in {num_samples} samples")
    history = rirs.shape[-1] - 1
    padded = torch.nn.functional.pad(sources, (history, 0))  # padded[i + history] = sources[i]; zeros before
    positions = starts.to(sources.device)[:, None] + torch.arange(length + history, device=sources.device)[None, :]
    segments = padded.gather(1, positions)
    fft_length = _fast_fft_length(length + history)  # aliasing only reaches the discarded first `history` samples
    return _convolve(segments, rirs, fft_length, chunk_size, cpu_threads)[..., history:]


def _checked_rirs(sources: torch.Tensor, rirs: torch.Tensor, rir_length: int | None) -> torch.Tensor:
    """Shape checks of sources (B, T) and RIRs (B or 1, 2, L); the RIRs on the sources' device and dtype,
    padded/cropped to ``rir_length``, trailing zeros removed."""
    if sources.ndim != 2:
        raise ValueError(f"sources must be (B, T), got shape {tuple(sources.shape)}")
    if rirs.ndim == 2:
        rirs = rirs.unsqueeze(0)
    if rirs.ndim != 3 or rirs.shape[1] != 2 or rirs.shape[0] not in (1, sources.shape[0]):
        raise ValueError(
            f"rirs must be (B, 2, L) or (2, L) for sources {tuple(sources.shape)}, got {tuple(rirs.shape)}"
        )
    rirs = rirs.to(device=sources.device, dtype=sources.dtype)
    if rir_length is not None:
        rirs = fit_rir(rirs, int(rir_length))
    # trailing zeros (padding) change nothing in the result: size the FFT by the last non-zero RIR sample
    nonzero = torch.nonzero(rirs.abs().amax(dim=(0, 1)))
    return rirs[..., : int(nonzero[-1]) + 1 if len(nonzero) else 1]


def _convolve(
    sources: torch.Tensor, rirs: torch.Tensor, fft_length: int, chunk_size: int, cpu_threads: int
) -> torch.Tensor:
    """The first T samples of each source (B, T) convolved with its RIR, through an FFT of ``fft_length``."""
    chunk_size = max(1, int(chunk_size))
    if sources.device.type == "cpu" and _scipy_fft() is not None:
        return _convolve_pocketfft(sources, rirs, fft_length, chunk_size, cpu_threads)
    return _convolve_torch(sources, rirs, fft_length, chunk_size)


def _scipy_fft():
    try:
        import scipy.fft

        return scipy.fft
    except ImportError:
        return None


def _convolve_pocketfft(
    sources: torch.Tensor, rirs: torch.Tensor, fft_length: int, chunk_size: int, threads: int = 1
) -> torch.Tensor:
    """CPU path: scipy's pocketfft. Measured faster than torch's CPU FFT here, and it does not collapse when
    other processes load the cores (torch's OpenMP threads spin-wait)."""
    fft = _scipy_fft()
    workers = max(1, int(threads))
    source_array, rir_array = sources.detach().numpy(), rirs.detach().numpy()
    num_samples = source_array.shape[-1]
    output = np.empty((source_array.shape[0], 2, num_samples), dtype=source_array.dtype)
    for begin in range(0, len(source_array), chunk_size):
        chunk = source_array[begin : begin + chunk_size]
        source_spectrum = fft.rfft(chunk, n=fft_length, workers=workers)
        rir_chunk = rir_array if len(rir_array) == 1 else rir_array[begin : begin + len(chunk)]
        spectrum = fft.rfft(rir_chunk, n=fft_length, workers=workers)  # (b or 1, 2, F)
        if len(spectrum) == len(chunk):
            spectrum *= source_spectrum[:, None]
        else:  # one RIR shared by the chunk
            spectrum = spectrum * source_spectrum[:, None]
        output[begin : begin + len(chunk)] = fft.irfft(spectrum, n=fft_length, workers=workers)[..., :num_samples]
    return torch.from_numpy(output)


def _convolve_torch(sources: torch.Tensor, rirs: torch.Tensor, fft_length: int, chunk_size: int) -> torch.Tensor:
    """Any device: torch.fft with buffers reused across chunks (fresh large allocations page-fault on CPU)."""
    batch, num_samples, num_bins = sources.shape[0], sources.shape[-1], fft_length // 2 + 1
    complex_dtype = torch.complex128 if sources.dtype == torch.float64 else torch.complex64
    chunk_size = max(1, min(int(chunk_size), batch))
    source_spectrum = torch.empty((chunk_size, num_bins), dtype=complex_dtype, device=sources.device)
    spectrum = torch.empty((chunk_size, 2, num_bins), dtype=complex_dtype, device=sources.device)
    signal = torch.empty((chunk_size, 2, fft_length), dtype=sources.dtype, device=sources.device)
    output = torch.empty((batch, 2, num_samples), dtype=sources.dtype, device=sources.device)
    for begin in range(0, batch, chunk_size):
        size = min(chunk_size, batch - begin)
        torch.fft.rfft(sources[begin : begin + size], n=fft_length, out=source_spectrum[:size])
        if rirs.shape[0] == 1:
            spectrum[:size] = torch.fft.rfft(rirs, n=fft_length)
        else:
            torch.fft.rfft(rirs[begin : begin + size], n=fft_length, out=spectrum[:size])
        spectrum[:size].mul_(source_spectrum[:size].unsqueeze(1))
        torch.fft.irfft(spectrum[:size], n=fft_length, out=signal[:size])
        output[begin : begin + size] = signal[:size, :, :num_samples]  # the linear convolution's first T samples
    return output


def render_mixtures(dry: torch.Tensor, rirs: torch.Tensor, owner, num_scenes: int, window=None, starts=None):
    """Scenes (num_scenes, 2, T) from their sources: dry source ``k`` (n, T) through its RIR (n, 2, L), the sources
    of a scene (``owner[k]``) averaged as the release mixes two (``(w1 + w2) / 2``; ``sum / N`` for N), no
    renormalisation. With ``window``, only ``window`` samples from each scene's ``starts[scene]`` are rendered."""
    owner = torch.as_tensor(owner, device=dry.device)
    if window is None or window >= dry.shape[-1]:
        wet = spatialize(dry, rirs)
    else:
        wet = spatialize_window(dry, rirs, [int(starts[row]) for row in owner.tolist()], int(window))
    if len(owner) == num_scenes:
        return wet
    counts = torch.bincount(owner, minlength=num_scenes).to(wet.dtype)
    mixed = torch.zeros(num_scenes, *wet.shape[1:], device=wet.device, dtype=wet.dtype)
    return mixed.index_add_(0, owner, wet) / counts[:, None, None]


def render_scene(clips, rirs, num_samples: int = NUM_SAMPLES, rir_length: int = RIR_LENGTH) -> np.ndarray:
    """One scene's binaural audio (2, num_samples) float32 from ``(audio, sample_rate)`` clips and as many (2, L)
    RIRs (source ``k`` is heard through ``rirs[k]``), mixed by :func:`render_mixtures`."""
    if len(clips) != len(rirs) or not clips:
        raise ValueError(f"need one or more clips with one RIR each, got {len(clips)} clips and {len(rirs)} RIRs")
    sources = torch.stack([prepare_source(audio, rate, num_samples) for audio, rate in clips])
    responses = [fit_rir(torch.as_tensor(np.asarray(rir, dtype=np.float32)), rir_length) for rir in rirs]
    for rir in responses:
        if rir.ndim != 2 or rir.shape[0] != 2:
            raise ValueError(f"each RIR must be (2, L), got shape {tuple(rir.shape)}")
    mixed = render_mixtures(sources, torch.stack(responses), [0] * len(clips), 1)[0]
    return mixed.numpy().astype(np.float32, copy=False)
