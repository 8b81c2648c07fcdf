"""GCC-PHAT: the classical interaural time-difference baseline for left/right, computed on the same clips.

A learned encoder should beat it; the demo reports both side by side.
"""

from __future__ import annotations

import numpy as np

from ..audio_format import SAMPLE_RATE


def gcc_phat_lag(
    waveform: np.ndarray, sample_rate: int = SAMPLE_RATE, frame_s: float = 0.064, max_lag_s: float = 0.001
):
    """Interaural lag in samples of a (2, T) clip: positive when the RIGHT ear hears the sound later.

    PHAT-weighted cross-spectra of half-overlapping frames are summed before the inverse FFT, and the peak is
    searched within +-max_lag_s (the head's largest physical delay is under 1 ms).
    """
    waveform = np.asarray(waveform, dtype=np.float64)
    if waveform.ndim != 2 or waveform.shape[0] != 2:
        raise ValueError(f"GCC-PHAT needs a (2, T) binaural clip, got shape {waveform.shape}.")
    frame = int(frame_s * sample_rate)
    if waveform.shape[1] < frame:
        raise ValueError(f"The clip ({waveform.shape[1]} samples) is shorter than one {frame}-sample frame.")
    hop = frame // 2
    starts = np.arange(0, waveform.shape[1] - frame + 1, hop)
    window = np.hanning(frame)
    frames = np.stack([waveform[:, s : s + frame] * window for s in starts], axis=1)  # (2, frames, frame)
    spectra = np.fft.rfft(frames, n=2 * frame, axis=-1)
    cross = np.conj(spectra[0]) * spectra[1]
    cross = (cross / np.maximum(np.abs(cross), 1e-12)).sum(axis=0)
    correlation = np.fft.irfft(cross, n=2 * frame)
    max_lag = int(max_lag_s * sample_rate)
    lags = np.arange(-max_lag, max_lag + 1)
    return int(lags[np.argmax(correlation[lags])])


def gcc_phat_lateral_words(waveforms, sample_rate: int = SAMPLE_RATE) -> list[str]:
    """ "left" when the right ear lags (the sound reached the left ear first), else "right" (ties too)."""
    return ["left" if gcc_phat_lag(w, sample_rate) > 0 else "right" for w in waveforms]
