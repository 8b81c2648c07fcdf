"""A built-in, offline, deterministic bank of synthetic sound classes named after AudioSet classes.

Each class is a small generator ``f(rng, num_samples, sample_rate) -> (num_samples,) float32``. The classes
differ in temporal pattern (bursts, pulses, continuous, rhythmic) and in spectrum, and each carries broadband
energy (clicks, noise, rich harmonics) so that interaural cues exist across frequency: pure tones would make
direction nearly unlearnable. They are stand-ins for tests and demos, not for real recordings.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..audio_format import SAMPLE_RATE


def _bandpass(signal: np.ndarray, low_hz: float, high_hz: float, sample_rate: int, order: int = 2) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    nyquist = sample_rate / 2
    sos = butter(
        order, [max(low_hz, 1.0) / nyquist, min(high_hz, nyquist * 0.98) / nyquist], btype="band", output="sos"
    )
    return sosfilt(sos, signal)


def _decay(num_samples: int, time_constant_s: float, sample_rate: int, attack_s: float = 0.002) -> np.ndarray:
    t = np.arange(num_samples) / sample_rate
    return np.minimum(1.0, t / max(attack_s, 1e-6)) * np.exp(-t / time_constant_s)


def _add(out: np.ndarray, start: int, event: np.ndarray) -> None:
    if start >= len(out):
        return
    end = min(len(out), start + len(event))
    out[max(start, 0) : end] += event[max(0, -start) : end - start]


def _harmonic(f0_hz: np.ndarray, sample_rate: int, num_harmonics: int, tilt: float = 1.0) -> np.ndarray:
    """Band-limited harmonic tone following an instantaneous f0 track (num_samples,)."""
    phase = 2 * np.pi * np.cumsum(f0_hz) / sample_rate
    out = np.zeros_like(phase)
    for k in range(1, num_harmonics + 1):
        alive = (k * f0_hz) < 0.45 * sample_rate
        out += alive * np.sin(k * phase) / k**tilt
    return out


def _events(rng, duration_s: float, rate_hz: float) -> np.ndarray:
    """Poisson event times in seconds."""
    count = rng.poisson(rate_hz * duration_s)
    return np.sort(rng.uniform(0.0, duration_s, size=count))


def dog(rng, num_samples, sample_rate):
    out = np.zeros(num_samples)
    duration = num_samples / sample_rate
    time = rng.uniform(0.0, 0.5)
    while time < duration:
        for _ in range(int(rng.integers(1, 4))):
            length = int(rng.uniform(0.12, 0.22) * sample_rate)
            f0 = np.linspace(rng.uniform(500, 750), rng.uniform(300, 450), length)
            voice = _harmonic(f0, sample_rate, 20, tilt=0.7) + 0.4 * rng.standard_normal(length)
            bark = _bandpass(voice, 300, 5000, sample_rate) * _decay(length, 0.06, sample_rate, 0.01)
            _add(out, int(time * sample_rate), bark)
            time += length / sample_rate + rng.uniform(0.08, 0.2)
        time += rng.uniform(0.6, 1.8)
    return out


def siren(rng, num_samples, sample_rate):
    t = np.arange(num_samples) / sample_rate
    low, high = rng.uniform(550, 750), rng.uniform(1300, 1700)
    rate = rng.choice([rng.uniform(0.15, 0.35), rng.uniform(2.5, 4.0)])  # wail or yelp
    f0 = low + (high - low) * 0.5 * (1 - np.cos(2 * np.pi * rate * t + rng.uniform(0, 2 * np.pi)))
    return _harmonic(f0, sample_rate, 12, tilt=0.8) + 0.02 * rng.standard_normal(num_samples)


def speech(rng, num_samples, sample_rate):
    """Babble-like voice: a glottal pulse train through moving formants, with syllables and fricatives."""
    t = np.arange(num_samples) / sample_rate
    base = rng.uniform(100, 220)
    f0 = base * (1 + 0.12 * np.sin(2 * np.pi * rng.uniform(0.3, 0.8) * t))  # slow intonation
    voice = _harmonic(f0, sample_rate, 60, tilt=1.0)
    out = np.zeros(num_samples)
    syllable = int(sample_rate / rng.uniform(4.0, 6.0))
    for start in range(0, num_samples, syllable):
        if rng.uniform() < 0.15:
            continue  # a pause
        segment = voice[start : start + syllable]
        formants = (rng.uniform(300, 800), rng.uniform(900, 2200), rng.uniform(2400, 3200))
        shaped = sum(_bandpass(segment, f * 0.85, f * 1.15, sample_rate) / (i + 1) for i, f in enumerate(formants))
        envelope = np.sin(np.pi * np.arange(len(segment)) / len(segment)) ** 0.7
        out[start : start + len(segment)] += shaped * envelope
        if rng.uniform() < 0.35:  # fricative
            length = min(int(0.08 * sample_rate), len(segment))
            hiss = _bandpass(rng.standard_normal(length), 3500, 9000, sample_rate) * np.hanning(length)
            _add(out, start, 0.3 * hiss)
    return out


def church_bell(rng, num_samples, sample_rate):
    out = np.zeros(num_samples)
    fundamental = rng.uniform(250, 500)
    ratios = np.array([0.5, 1.0, 1.19, 1.5, 2.0, 2.5, 2.98, 4.16, 5.43, 6.8])
    period = rng.uniform(1.4, 2.4)
    for strike in np.arange(rng.uniform(0, 0.5), num_samples / sample_rate, period):
        length = min(int(3.0 * sample_rate), num_samples)
        tt = np.arange(length) / sample_rate
        tone = sum(
            np.exp(-tt * (0.8 + 1.2 * i)) * np.sin(2 * np.pi * r * fundamental * tt) / (1 + 0.3 * i)
            for i, r in enumerate(ratios)
        )
        click = _bandpass(rng.standard_normal(length), 1000, 12000, sample_rate) * _decay(length, 0.004, sample_rate)
        _add(out, int(strike * sample_rate), tone + 2.0 * click)
    return out


def engine(rng, num_samples, sample_rate):
    t = np.arange(num_samples) / sample_rate
    firing_hz = rng.uniform(25, 55) * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.05, 0.2) * t))
    phase = np.cumsum(firing_hz) / sample_rate
    pulses = np.diff(np.floor(phase), prepend=0.0)
    pulses *= 1 + 0.3 * rng.standard_normal(num_samples)
    kernel = rng.standard_normal(int(0.012 * sample_rate)) * _decay(int(0.012 * sample_rate), 0.004, sample_rate)
    bangs = np.convolve(pulses, kernel)[:num_samples]
    rumble = _bandpass(rng.standard_normal(num_samples), 40, 400, sample_rate)
    return _bandpass(bangs, 50, 6000, sample_rate) + 0.3 * rumble


def telephone_bell_ringing(rng, num_samples, sample_rate):
    out = np.zeros(num_samples)
    partials = rng.uniform(1000, 1300) * np.array([1.0, 2.76, 5.4])
    strike_hz = rng.uniform(16, 22)
    on_s, off_s = rng.uniform(1.0, 2.0), rng.uniform(1.0, 2.5)
    start = rng.uniform(0, 0.5)
    length = int(0.06 * sample_rate)
    tt = np.arange(length) / sample_rate
    while start < num_samples / sample_rate:
        for hit in np.arange(start, start + on_s, 1 / strike_hz):
            tone = sum(np.sin(2 * np.pi * f * tt + rng.uniform(0, 6.3)) for f in partials) * np.exp(-tt / 0.03)
            click = rng.standard_normal(length) * _decay(length, 0.002, sample_rate)
            _add(out, int(hit * sample_rate), tone + 0.8 * click)
        start += on_s + off_s
    return out


def footsteps(rng, num_samples, sample_rate):
    out = np.zeros(num_samples)
    step_s = rng.uniform(0.45, 0.65)
    length = int(0.08 * sample_rate)
    for step in np.arange(rng.uniform(0, 0.3), num_samples / sample_rate, step_s):
        heel = _bandpass(rng.standard_normal(length), 80, 2500, sample_rate) * _decay(length, 0.015, sample_rate)
        toe = _bandpass(rng.standard_normal(length), 300, 6000, sample_rate) * _decay(length, 0.01, sample_rate)
        jitter = rng.normal(0, 0.02)
        _add(out, int((step + jitter) * sample_rate), heel)
        _add(out, int((step + jitter + 0.07) * sample_rate), 0.5 * toe)
    return out


def applause(rng, num_samples, sample_rate):
    out = np.zeros(num_samples)
    length = int(0.02 * sample_rate)
    for clap in _events(rng, num_samples / sample_rate, rng.uniform(15, 35)):
        center = rng.uniform(900, 3000)
        burst = _bandpass(rng.standard_normal(length), center * 0.5, center * 2.2, sample_rate)
        _add(out, int(clap * sample_rate), burst * _decay(length, rng.uniform(0.003, 0.008), sample_rate, 0.0005))
    return out


def rain(rng, num_samples, sample_rate):
    white = rng.standard_normal(num_samples)
    pink = np.fft.irfft(np.fft.rfft(white) / np.sqrt(np.maximum(np.arange(num_samples // 2 + 1), 1)), num_samples)
    out = 0.3 * pink / (np.std(pink) + 1e-12)
    length = int(0.004 * sample_rate)
    for drop in _events(rng, num_samples / sample_rate, rng.uniform(150, 300)):
        click = rng.standard_normal(length) * _decay(length, 0.0008, sample_rate, 0.0001)
        _add(out, int(drop * sample_rate), rng.uniform(0.2, 1.0) * click)
    return _bandpass(out, 200, 12000, sample_rate)


def knock(rng, num_samples, sample_rate):
    out = np.zeros(num_samples)
    resonance = rng.uniform(150, 400)
    length = int(0.1 * sample_rate)
    tt = np.arange(length) / sample_rate
    time = rng.uniform(0, 0.5)
    while time < num_samples / sample_rate:
        for k in range(int(rng.integers(2, 5))):
            body = np.sin(2 * np.pi * resonance * tt) * np.exp(-tt / 0.02)
            click = _bandpass(rng.standard_normal(length), 500, 8000, sample_rate) * _decay(length, 0.002, sample_rate)
            _add(out, int((time + k * rng.uniform(0.14, 0.2)) * sample_rate), body + 1.5 * click)
        time += rng.uniform(1.5, 3.0)
    return out


def bird(rng, num_samples, sample_rate):
    out = np.zeros(num_samples)
    time = rng.uniform(0, 0.5)
    while time < num_samples / sample_rate:
        low, high = rng.uniform(2000, 3500), rng.uniform(4000, 7000)
        for _ in range(int(rng.integers(3, 8))):
            length = int(rng.uniform(0.03, 0.09) * sample_rate)
            f0 = np.linspace(high, low, length) if rng.uniform() < 0.5 else np.linspace(low, high, length)
            chirp = _harmonic(f0, sample_rate, 3, tilt=1.5) * np.hanning(length)
            _add(out, int(time * sample_rate), chirp)
            time += length / sample_rate + rng.uniform(0.02, 0.06)
        time += rng.uniform(0.4, 1.5)
    return out + 0.01 * rng.standard_normal(num_samples)


def drum(rng, num_samples, sample_rate):
    out = np.zeros(num_samples)
    beat_s = 60.0 / rng.uniform(85, 135)
    length = int(0.25 * sample_rate)
    tt = np.arange(length) / sample_rate
    kick = np.sin(2 * np.pi * np.cumsum(50 + 110 * np.exp(-tt / 0.03)) / sample_rate) * np.exp(-tt / 0.12)
    for n, beat in enumerate(np.arange(rng.uniform(0, 0.3), num_samples / sample_rate, beat_s)):
        if n % 2 == 0:
            click = rng.standard_normal(length) * _decay(length, 0.002, sample_rate)
            _add(out, int(beat * sample_rate), kick + 0.3 * click)
        else:
            snare = _bandpass(rng.standard_normal(length), 1500, 9000, sample_rate) * np.exp(-tt / 0.06)
            _add(out, int(beat * sample_rate), snare + 0.5 * np.sin(2 * np.pi * 190 * tt) * np.exp(-tt / 0.05))
    return out


def typing(rng, num_samples, sample_rate):
    out = np.zeros(num_samples)
    length = int(0.03 * sample_rate)
    tt = np.arange(length) / sample_rate
    for key in _events(rng, num_samples / sample_rate, rng.uniform(5, 10)):
        tick = _bandpass(rng.standard_normal(length), 1500, 10000, sample_rate) * _decay(length, 0.004, sample_rate)
        thock = np.sin(2 * np.pi * rng.uniform(600, 1200) * tt) * np.exp(-tt / 0.006)
        _add(out, int(key * sample_rate), tick + 0.5 * thock)
    return out


def buzzer(rng, num_samples, sample_rate):
    t = np.arange(num_samples) / sample_rate
    f0 = np.full(num_samples, rng.uniform(180, 360))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    tone = sum(np.sin(k * phase) / k for k in range(1, 80, 2) if k * f0[0] < 0.45 * sample_rate)  # square wave
    on_s, off_s = rng.uniform(0.3, 1.2), rng.uniform(0.2, 0.8)
    gate = (np.mod(t, on_s + off_s) < on_s).astype(np.float64)
    gate = np.convolve(gate, np.hanning(int(0.005 * sample_rate)) / np.hanning(int(0.005 * sample_rate)).sum(), "same")
    return tone * gate


# AudioSet display name -> generator
PROCEDURAL_CLASSES: dict[str, Callable] = {
    "Dog": dog,
    "Siren": siren,
    "Speech": speech,
    "Church bell": church_bell,
    "Engine": engine,
    "Telephone bell ringing": telephone_bell_ringing,
    "Walk, footsteps": footsteps,
    "Applause": applause,
    "Rain": rain,
    "Knock": knock,
    "Bird vocalization, bird call, bird song": bird,
    "Drum": drum,
    "Typing": typing,
    "Buzzer": buzzer,
}


def class_slug(class_name: str) -> str:
    """Display name -> id-safe slug, e.g. "Walk, footsteps" -> "walk_footsteps"."""
    return "_".join("".join(c if c.isalnum() else " " for c in class_name.lower()).split())


def synthesize(class_name: str, seed, duration_s: float = 10.0, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """One clip (num_samples,) float32 with peak 0.9; the same (class, seed) always gives the same samples."""
    if class_name not in PROCEDURAL_CLASSES:
        raise KeyError(f"unknown procedural class {class_name!r}; known: {sorted(PROCEDURAL_CLASSES)}")
    rng = np.random.default_rng(seed)
    num_samples = int(round(duration_s * sample_rate))
    audio = np.asarray(PROCEDURAL_CLASSES[class_name](rng, num_samples, sample_rate), dtype=np.float64)
    peak = np.max(np.abs(audio))
    if not np.isfinite(peak) or peak == 0:
        raise FloatingPointError(f"procedural {class_name!r} produced silence or non-finite samples (seed {seed})")
    return (0.9 * audio / peak).astype(np.float32)
