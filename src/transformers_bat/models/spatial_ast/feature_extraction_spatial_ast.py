"""Binaural features for Spatial-AST: log-mel of each ear plus the mel-projected interaural phase difference."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import BatchFeature, SequenceFeatureExtractor
from transformers.audio_utils import mel_filter_bank

AudioInput = np.ndarray | torch.Tensor | str | os.PathLike | bytes
# audio given as a file: a path, or the file's encoded bytes (read with `read_audio`)
ENCODED_AUDIO = (str, os.PathLike, bytes, bytearray)

# Float audio lives in [-1, 1], but rendered scenes (a -14 dBFS source through a close RIR, never clipped, as the
# release) peak at up to ~9, more for a lone click. Two kinds of input are refused: whole-number samples past full
# scale (integer PCM cast to float without scaling, featurised ~90 dB too loud) and peaks past this bound, 80 dB
# above full scale, which no recording or render reaches.
MAX_ABS_AMPLITUDE = 1e4


# Audio rates we accept, in Hz: below, the number is a mistake (bits, kHz); above, no microphone records.
MIN_SAMPLING_RATE, MAX_SAMPLING_RATE = 1_000, 1_000_000


def check_sampling_rate(rate, name: str = "sampling_rate") -> int:
    """A whole number of Hz between 1 kHz and 1 MHz as an int; anything else (a string, a bool, 44.1, 16) raises a
    ValueError."""
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer, float, np.floating)):
        raise ValueError(f"{name} must be a positive whole number of Hz, got {rate!r} ({type(rate).__name__}).")
    if not np.isfinite(rate) or rate <= 0 or float(rate) != int(rate):
        raise ValueError(f"{name} must be a positive whole number of Hz, got {rate!r}.")
    if not MIN_SAMPLING_RATE <= rate <= MAX_SAMPLING_RATE:
        raise ValueError(
            f"{name} must be a positive whole number of Hz between {MIN_SAMPLING_RATE:,} and {MAX_SAMPLING_RATE:,}, "
            f"got {rate!r} (pass Hz, not kHz)."
        )
    return int(rate)


def _tensor_to_numpy(tensor: torch.Tensor) -> np.ndarray:
    tensor = tensor.detach().cpu()
    # numpy has no bfloat16: widen low-precision floats, keep other dtypes so the dtype check can name them
    return (tensor.float() if tensor.is_floating_point() else tensor).numpy()


def is_rate_and_array(item) -> bool:
    """Gradio's audio value: a `(sampling_rate, array)` tuple."""
    return isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], int) and isinstance(item[1], np.ndarray)


def from_rate_and_array(rate: int, array: np.ndarray) -> dict:
    """`{"array": (channels, T) float32, "sampling_rate": rate}` from gradio's `(rate, array)`: integer PCM is
    scaled to [-1, 1] (int16 / 32768 ...) and channel-last `(T, channels)` arrays are transposed."""
    array = np.asarray(array)
    if array.dtype.kind in "iu":
        info = np.iinfo(array.dtype)
        half_range = (int(info.max) - int(info.min) + 1) / 2  # 32768 for int16, 128 for uint8 (offset binary)
        array = (array.astype(np.float64) - (int(info.min) + half_range)) / half_range
    if array.ndim == 2 and array.shape[1] <= 2 < array.shape[0]:
        array = array.T
    return {"array": np.ascontiguousarray(array, dtype=np.float32), "sampling_rate": check_sampling_rate(rate)}


def read_audio(source: str | os.PathLike | bytes) -> tuple[np.ndarray, int]:
    """A file path, or the encoded bytes of a file (wav, flac, ogg ...), read with soundfile with its channels kept:
    `(channels, samples)` float32 and the file's rate. (transformers' `load_audio` downmixes to mono, which would
    erase every spatial cue.)"""
    import io

    import soundfile as sf

    if isinstance(source, (bytes, bytearray)):
        handle, name = io.BytesIO(source), f"the {len(source)} bytes given"
    elif not os.path.isfile(source):
        raise ValueError(f"Audio file not found: {source}")
    else:
        handle, name = str(source), f"audio file {source}"
    try:
        data, rate = sf.read(handle, dtype="float32", always_2d=True)
    except Exception as error:  # soundfile raises several types for unreadable files
        raise ValueError(f"Could not read {name} as audio (soundfile: {error}).") from error
    return np.ascontiguousarray(data.T), int(rate)


class SpatialASTFeatureExtractor(SequenceFeatureExtractor):
    r"""
    Turns binaural waveforms into Spatial-AST `input_features` of shape `(batch, 4, num_frames, num_mel_bins)`:
    [log-mel left, log-mel right, mel cos(IPD), mel sin(IPD)], numerically the authors' front end: STFT (periodic
    Hann, centred, reflect padding), Slaney mel filterbank applied to the magnitude, `10 * log10(max(x, 1e-10))`,
    IPD = phase(right) - phase(left) projected through the same mel matrix, frames resized by bicubic interpolation.

    Audio is channel-first: one clip is `(2, num_samples)` (index 0 = left ear), a batch is `(batch, 2,
    num_samples)` or a list of clips; file paths are read with soundfile (channels kept). Clips are zero-padded or
    cropped to `max_length_s`. Audio at another rate than `sampling_rate` is resampled (soxr, high quality); when
    no rate is given, arrays are assumed to be at `sampling_rate` (with a warning) and files use their own rate.

    Args:
        sampling_rate (`int`, *optional*, defaults to 32000): rate the features are computed at.
        max_length_s (`float`, *optional*, defaults to 10.0): clip length after padding/cropping.
        n_fft (`int`, *optional*, defaults to 1024): FFT size and window length.
        hop_length (`int`, *optional*, defaults to 320): STFT hop.
        num_mel_bins (`int`, *optional*, defaults to 128): mel bins.
        min_frequency (`float`, *optional*, defaults to 50.0), max_frequency (`float`, *optional*, defaults to
            14000.0): mel filterbank edges in Hz.
        num_frames (`int`, *optional*, defaults to 1024): frames after interpolation (the model's time axis).
        padding_value (`float`, *optional*, defaults to 0.0): value used to pad short clips.
    """

    model_input_names = ["input_features"]

    def save_pretrained(self, save_directory: str | os.PathLike, push_to_hub: bool = False, **kwargs):
        """`FeatureExtractionMixin.save_pretrained` with `auto_map` and this file beside the JSON, so
        `AutoFeatureExtractor.from_pretrained(dir, trust_remote_code=True)` works where this package is not
        installed. Pass `save_remote_code=False` to write the JSON only."""
        from ...remote_code import write_remote_code

        self.__dict__.pop("auto_map", None)  # written below only when asked for
        if kwargs.pop("save_remote_code", True):
            self.auto_map = {"AutoFeatureExtractor": f"{Path(__file__).stem}.{type(self).__name__}"}
            write_remote_code(save_directory, ("models.spatial_ast.feature_extraction_spatial_ast",), __name__)
        return super().save_pretrained(save_directory, push_to_hub=push_to_hub, **kwargs)

    def __init__(
        self,
        sampling_rate: int = 32000,
        max_length_s: float = 10.0,
        n_fft: int = 1024,
        hop_length: int = 320,
        num_mel_bins: int = 128,
        min_frequency: float = 50.0,
        max_frequency: float = 14000.0,
        num_frames: int = 1024,
        padding_value: float = 0.0,
        **kwargs,
    ):
        kwargs.pop("feature_size", None)  # derived from num_mel_bins; present in saved configs
        sampling_rate = check_sampling_rate(sampling_rate)
        for name, value in (
            ("n_fft", n_fft),
            ("hop_length", hop_length),
            ("num_mel_bins", num_mel_bins),
            ("num_frames", num_frames),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if not max_length_s > 0 or max_length_s * sampling_rate < 1:
            raise ValueError(f"max_length_s must be positive (at least one sample), got {max_length_s!r}.")
        if not 0 <= min_frequency < max_frequency <= sampling_rate / 2:
            raise ValueError(
                f"Need 0 <= min_frequency < max_frequency <= sampling_rate / 2 = {sampling_rate / 2:g} Hz, got "
                f"{min_frequency!r} and {max_frequency!r}."
            )
        super().__init__(feature_size=num_mel_bins, sampling_rate=sampling_rate, padding_value=padding_value, **kwargs)
        self.max_length_s = max_length_s
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.num_mel_bins = num_mel_bins
        self.min_frequency = min_frequency
        self.max_frequency = max_frequency
        self.num_frames = num_frames
        self.mel_filters = mel_filter_bank(
            num_frequency_bins=n_fft // 2 + 1,
            num_mel_filters=num_mel_bins,
            min_frequency=min_frequency,
            max_frequency=max_frequency,
            sampling_rate=sampling_rate,
            norm="slaney",
            mel_scale="slaney",
        ).astype(np.float32)
        # Derived once, used for every clip: the STFT bins some mel filter uses, the window, the time resizing.
        used = np.nonzero(self.mel_filters.any(axis=1))[0]
        self._active_bins = (int(used[0]), int(used[-1]) + 1)
        self._window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic Hann, float64
        self._stft_frames = 1 + self.num_samples // hop_length
        self._interpolation = self._time_interpolation(self._stft_frames)

    @property
    def num_samples(self) -> int:
        return int(round(self.max_length_s * self.sampling_rate))

    def to_dict(self) -> dict:
        output = super().to_dict()
        for derived in ("mel_filters", "_active_bins", "_window", "_stft_frames", "_interpolation"):
            output.pop(derived, None)
        return output

    # ------------------------------------------------------------------ input checking
    def _check_clip(self, clip: np.ndarray, position: str) -> np.ndarray:
        if clip.dtype.kind not in "f":
            raise ValueError(
                f"{position}: expected floating-point audio in [-1, 1], got dtype {clip.dtype}. Convert integer PCM "
                f"first (e.g. int16 / 32768)."
            )
        if clip.ndim == 1 or (clip.ndim == 2 and clip.shape[0] == 1):
            raise ValueError(
                f"{position}: Spatial-AST needs binaural (2-channel) audio, got mono of shape {clip.shape}. "
                f"Pass a (2, num_samples) array with the left ear first."
            )
        if clip.ndim != 2:
            raise ValueError(f"{position}: expected a (2, num_samples) clip, got an array of shape {clip.shape}.")
        if clip.shape[0] != 2:
            if clip.shape[1] == 2:
                raise ValueError(
                    f"{position}: got shape {clip.shape}, which looks channel-last; pass (2, num_samples) "
                    f"(e.g. `audio.T`)."
                )
            raise ValueError(
                f"{position}: Spatial-AST needs exactly 2 channels (left, right), got {clip.shape[0]} channels."
            )
        if clip.shape[1] == 0:
            raise ValueError(f"{position}: the audio is empty (0 samples).")
        if not np.isfinite(clip).all():
            raise ValueError(f"{position}: the audio contains NaN or infinite values.")
        peak = float(np.abs(clip).max())
        if peak > 2.0 and np.array_equal(clip, np.round(clip)):
            raise ValueError(
                f"{position}: the samples are whole numbers up to {peak:.6g}, not float audio in [-1, 1]: this is "
                f"integer PCM cast to float without scaling (e.g. scipy.io.wavfile int16: divide by 32768)."
            )
        if peak > MAX_ABS_AMPLITUDE:
            raise ValueError(
                f"{position}: the peak amplitude is {peak:.4g}, more than 80 dB above full scale (float audio lies "
                f"in [-1, 1]): rescale it."
            )
        return clip.astype(np.float32, copy=False)

    def _resample(self, clip: np.ndarray, rate: int, whole: bool = False) -> np.ndarray:
        """To our rate; unless `whole`, only the part that reaches the window (plus the filter's reach)."""
        if rate == self.sampling_rate:
            return clip
        import soxr

        needed = clip.shape[1] if whole else int(np.ceil((self.max_length_s + 0.1) * rate)) + 64
        return soxr.resample(clip[:, :needed].T, rate, self.sampling_rate, quality="HQ").T.astype(np.float32)

    def fetch_audio(self, audio_url_or_urls, sampling_rate: int | None = None):
        """`SequenceFeatureExtractor.fetch_audio` that keeps both channels (the inherited loader mixes a stereo file
        down to mono, erasing the spatial cues). A file path or encoded bytes become `{"array": (2, T) float32,
        "sampling_rate": rate}` (the file's rate: this extractor resamples when it computes features); arrays and
        dicts pass through; lists are fetched item by item. URLs are not fetched (offline use)."""
        if isinstance(audio_url_or_urls, (list, tuple)) and not (
            audio_url_or_urls and isinstance(audio_url_or_urls[0], (float, int))
        ):
            return [self.fetch_audio(item, sampling_rate) for item in audio_url_or_urls]
        if isinstance(audio_url_or_urls, str) and audio_url_or_urls.startswith(("http://", "https://")):
            raise ValueError(f"Audio URLs are not fetched (offline use): download {audio_url_or_urls} first.")
        if isinstance(audio_url_or_urls, ENCODED_AUDIO):
            array, rate = read_audio(audio_url_or_urls)
            return {"array": array, "sampling_rate": rate}
        return audio_url_or_urls

    def window_starts(self, num_samples: int, hop_s: float | None = None) -> list[int]:
        """Start samples of the windows that cover a clip of `num_samples` (at our rate), `hop_s` apart.

        Windows are `max_length_s` long (the last one zero-padded); a last window that would hold less than a
        quarter of a window of new audio is left out, unless it is the only one.
        """
        hop = self.num_samples if hop_s is None else int(round(hop_s * self.sampling_rate))
        if hop < 1:
            raise ValueError(f"hop_s must give at least one sample, got {hop_s!r}.")
        starts = [0]
        while starts[-1] + self.num_samples < num_samples:
            start = starts[-1] + hop
            if num_samples - (starts[-1] + self.num_samples) < self.num_samples / 4:
                break
            starts.append(start)
        return starts

    def _to_clips(self, raw_audio, sampling_rate: int | None, whole: bool = False) -> list[np.ndarray]:
        """Normalise every accepted input form into a list of float32 (2, T) clips at our rate."""
        if sampling_rate is not None:
            sampling_rate = check_sampling_rate(sampling_rate)
        if isinstance(raw_audio, ENCODED_AUDIO):
            raw_audio = [raw_audio]
        elif isinstance(raw_audio, torch.Tensor):
            raw_audio = _tensor_to_numpy(raw_audio)
        if isinstance(raw_audio, np.ndarray):
            if raw_audio.ndim == 3:
                raw_audio = list(raw_audio)
            elif raw_audio.ndim in (1, 2):
                raw_audio = [raw_audio]
            else:
                raise ValueError(
                    f"Expected a clip (2, num_samples) or a batch (batch, 2, num_samples), got shape "
                    f"{raw_audio.shape}."
                )
        if not isinstance(raw_audio, Sequence) or isinstance(raw_audio, str):
            raise ValueError(
                f"Unsupported audio input of type {type(raw_audio).__name__}: pass a numpy array, a torch tensor, "
                f"a file path, or a list of them."
            )
        if len(raw_audio) == 0:
            raise ValueError("Got an empty batch of audio.")
        if sampling_rate is None and not all(isinstance(a, ENCODED_AUDIO) for a in raw_audio):
            warnings.warn(
                f"No sampling_rate given: assuming {self.sampling_rate} Hz. Pass `sampling_rate=` to avoid silent "
                f"errors.",
                stacklevel=3,
            )
        clips = []
        for i, item in enumerate(raw_audio):
            position = f"audio[{i}]"
            if isinstance(item, ENCODED_AUDIO):
                if not isinstance(item, (bytes, bytearray)):
                    position = f"{position} ({raw_audio[i]})"
                item, rate = read_audio(item)
            else:
                rate = sampling_rate if sampling_rate is not None else self.sampling_rate
                try:
                    item = _tensor_to_numpy(item) if isinstance(item, torch.Tensor) else np.asarray(item)
                except (TypeError, ValueError) as error:  # ragged lists, objects numpy cannot hold
                    raise ValueError(f"{position}: cannot read {type(item).__name__} as audio ({error}).") from error
            clips.append(self._resample(self._check_clip(item, position), rate, whole=whole))
        return clips

    def _pad_or_crop(self, clip: np.ndarray) -> np.ndarray:
        length = self.num_samples
        if clip.shape[1] >= length:
            return clip[:, :length]
        padded = np.full((2, length), self.padding_value, dtype=np.float32)
        padded[:, : clip.shape[1]] = clip
        return padded

    # ------------------------------------------------------------------ features
    def _time_interpolation(self, num_input_frames: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Taps (num_frames, 4) and weights (num_frames, 4) of bicubic resizing along time, align_corners=True.

        The same cubic convolution (A = -0.75) and border clamping as `torch.nn.functional.interpolate`, but with
        positions and weights computed in float64: torch computes them in float32, which alone moves features by
        up to ~2e-3 dB at 1001 -> 1024 frames. The frequency axis keeps its size, where bicubic is the identity.
        """
        a = -0.75
        scale = (num_input_frames - 1) / (self.num_frames - 1) if self.num_frames > 1 else 0.0
        position = np.arange(self.num_frames) * scale
        start = np.floor(position).astype(np.int64)
        t = position - start

        def near(x):  # |x| <= 1
            return ((a + 2) * x - (a + 3)) * x * x + 1

        def far(x):  # 1 < |x| < 2
            return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

        weights = np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], axis=1)
        taps = np.clip(start[:, None] + np.arange(-1, 3)[None, :], 0, num_input_frames - 1)
        return torch.from_numpy(taps), torch.from_numpy(weights.astype(np.float32))

    def _spectrum(self, waveforms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Real and imaginary STFT parts (B * 2, stft frames, active bins) as float32, FFT done in float64.

        float32 FFTs leave ~1e-3 dB of rounding noise on quiet mel bins next to loud ones, so the FFT runs in
        float64 (scipy's pocketfft on CPU, about twice as fast as torch's there; torch.fft elsewhere).
        """
        batch_size = waveforms.shape[0]
        half = self.n_fft // 2
        first, last = self._active_bins
        window = self._window
        if waveforms.device.type == "cpu":
            import scipy.fft

            signal = np.pad(
                waveforms.reshape(batch_size * 2, -1).numpy().astype(np.float64),
                ((0, 0), (half, half)),
                mode="reflect",
            )
            frames = np.lib.stride_tricks.sliding_window_view(signal, self.n_fft, axis=-1)[:, :: self.hop_length]
            spectrum = scipy.fft.rfft(frames * window, axis=-1, workers=torch.get_num_threads())[..., first:last]
            return (
                torch.from_numpy(np.ascontiguousarray(spectrum.real, dtype=np.float32)),
                torch.from_numpy(np.ascontiguousarray(spectrum.imag, dtype=np.float32)),
            )
        signal = waveforms.reshape(batch_size * 2, 1, -1).to(torch.float64)
        signal = torch.nn.functional.pad(signal, (half, half), mode="reflect")[:, 0]
        frames = signal.unfold(-1, self.n_fft, self.hop_length)
        spectrum = torch.fft.rfft(frames * torch.from_numpy(window).to(signal.device), dim=-1)[..., first:last]
        return spectrum.real.float().contiguous(), spectrum.imag.float().contiguous()

    def extract_features(self, waveforms: torch.Tensor) -> torch.Tensor:
        """(B, 2, num_samples) float tensor -> (B, 4, num_frames, num_mel_bins) float32, on the waveforms' device.

        On CPU clips are processed one at a time: the float64 frames of a whole batch are hundreds of MB, and
        keeping each step's arrays cache-sized is several times faster than one big batch.
        """
        if waveforms.device.type == "cpu" and waveforms.shape[0] > 1:
            return torch.cat([self._extract_batch(clip[None]) for clip in waveforms])
        return self._extract_batch(waveforms)

    def _extract_batch(self, waveforms: torch.Tensor) -> torch.Tensor:
        """The computation of `extract_features` for one batch.

        IPD is formed from unit phasors, cos(phi_R - phi_L) = Re(u_R conj(u_L)), which equals the angle difference
        exactly, including the angle(0) = 0 convention of silent bins, without atan2/cos/sin. Only the STFT bins
        some mel filter uses are computed past the FFT.
        """
        batch_size, device = waveforms.shape[0], waveforms.device
        real, imag = self._spectrum(waveforms)
        magnitude = torch.hypot(real, imag)
        inverse = torch.reciprocal(magnitude).nan_to_num_(posinf=0.0)  # silent bins: 0
        unit_real, unit_imag = real.mul_(inverse), imag.mul_(inverse)
        silent = magnitude == 0
        if silent.any():  # angle(0) = 0: the unit phasor of a silent bin is 1
            unit_real.masked_fill_(silent, 1.0)
        shape = (batch_size, 2, *magnitude.shape[1:])
        unit_real, unit_imag = unit_real.view(shape), unit_imag.view(shape)
        magnitude = magnitude.view(shape)
        linear = torch.stack(
            [
                magnitude[:, 0],
                magnitude[:, 1],
                unit_real[:, 1] * unit_real[:, 0] + unit_imag[:, 1] * unit_imag[:, 0],  # cos IPD
                unit_imag[:, 1] * unit_real[:, 0] - unit_real[:, 1] * unit_imag[:, 0],  # sin IPD
            ],
            dim=1,
        )  # (B, 4, stft frames, active bins)
        first, last = self._active_bins
        features = linear @ torch.from_numpy(self.mel_filters[first:last]).to(device)
        features[:, :2] = 10.0 * torch.log10(torch.clamp(features[:, :2], min=1e-10))
        frames = features.shape[2]
        taps, weights = self._interpolation if frames == self._stft_frames else self._time_interpolation(frames)
        taps, weights = taps.to(device), weights.to(device)
        resized = features.index_select(2, taps[:, 0]) * weights[:, 0, None]
        for k in range(1, 4):
            resized += features.index_select(2, taps[:, k]) * weights[:, k, None]
        return resized

    def __call__(
        self,
        raw_audio: AudioInput | Sequence[AudioInput],
        sampling_rate: int | None = None,
        return_tensors: str | None = None,
        device: str | torch.device | None = None,
        windows: bool = False,
        hop_s: float | None = None,
        **kwargs,
    ) -> BatchFeature:
        """Compute `input_features` for one clip or a batch (see the class docstring for accepted inputs).

        Args:
            raw_audio: `(2, T)` array/tensor, `(B, 2, T)` array/tensor, a file path, or a list of clips/paths.
            sampling_rate: rate of array inputs; resampled to `self.sampling_rate` when different.
            return_tensors: "pt" or "np" (default: numpy arrays).
            device: where to compute the STFT (e.g. "cuda"); the result stays there with `return_tensors="pt"`.
            windows: encode whole clips of any length, window by window (`max_length_s` each, `hop_s` apart,
                default no overlap; see `window_starts`) instead of padding or cropping each clip to one window.
                Adds `clip_index` and `window_start_s` (one per row of `input_features`).
        """
        window_info = {}
        if windows:
            # every window of every clip, each a row of input_features; the clip it comes from and where it starts
            rows, clip_index, start_s = [], [], []
            for index, clip in enumerate(self._to_clips(raw_audio, sampling_rate, whole=True)):
                for start in self.window_starts(clip.shape[1], hop_s):
                    rows.append(self._pad_or_crop(clip[:, start:]))
                    clip_index.append(index)
                    start_s.append(start / self.sampling_rate)
            clips = rows
            window_info = {"clip_index": np.array(clip_index), "window_start_s": np.array(start_s)}
        else:
            clips = [self._pad_or_crop(c) for c in self._to_clips(raw_audio, sampling_rate)]
        waveforms = torch.from_numpy(np.stack(clips)).to(device or "cpu")
        with torch.no_grad():
            features = self.extract_features(waveforms)
        if not bool(torch.isfinite(features).all()):
            bad = sorted({int(i) for i in (~torch.isfinite(features)).flatten(1).any(1).nonzero().flatten()})
            raise ValueError(f"Non-finite features for clip(s) {bad}: the audio is out of any sensible range.")
        if return_tensors == "pt":
            return BatchFeature({"input_features": features, **window_info}, tensor_type="pt")
        return BatchFeature({"input_features": features.cpu().numpy(), **window_info}, tensor_type=return_tensors)


__all__ = [
    "ENCODED_AUDIO",
    "SpatialASTFeatureExtractor",
    "check_sampling_rate",
    "from_rate_and_array",
    "is_rate_and_array",
    "read_audio",
]
