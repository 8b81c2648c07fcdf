"""A deliberately plain Spatial-AST, written from the reference facts only (shared/reference/spatial-ast.md).

It runs on a state dict in the AUTHORS' key layout, computes the STFT as a convolution with DFT rows times a
periodic Hann window (as the release's front end does), builds its own Slaney mel matrix, and spells attention out
as softmax(QK^T / sqrt(d)) V. Tests and benchmarks compare our optimised model against it.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

SAMPLE_RATE = 32000
N_FFT = 1024
HOP = 320


def hz_to_mel_slaney(hz: np.ndarray) -> np.ndarray:
    hz = np.asarray(hz, dtype=np.float64)
    f_sp = 200.0 / 3
    mel = hz / f_sp
    log_region = hz >= 1000.0
    logstep = math.log(6.4) / 27.0
    mel = np.where(log_region, 1000.0 / f_sp + np.log(np.maximum(hz, 1e-12) / 1000.0) / logstep, mel)
    return mel


def mel_to_hz_slaney(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    f_sp = 200.0 / 3
    hz = f_sp * mel
    min_log_mel = 1000.0 / f_sp
    logstep = math.log(6.4) / 27.0
    return np.where(mel >= min_log_mel, 1000.0 * np.exp(logstep * (mel - min_log_mel)), hz)


def slaney_mel_matrix(n_fft=N_FFT, n_mels=128, sample_rate=SAMPLE_RATE, fmin=50.0, fmax=14000.0) -> np.ndarray:
    """Triangular Slaney-scale filters with area normalisation, shape (n_fft // 2 + 1, n_mels)."""
    fft_hz = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz_slaney(np.linspace(hz_to_mel_slaney(fmin), hz_to_mel_slaney(fmax), n_mels + 2))
    weights = np.zeros((n_mels, len(fft_hz)))
    for m in range(n_mels):
        left, centre, right = edges[m], edges[m + 1], edges[m + 2]
        rising = (fft_hz - left) / (centre - left)
        falling = (right - fft_hz) / (right - centre)
        weights[m] = np.maximum(0, np.minimum(rising, falling)) * 2.0 / (right - left)
    return weights.T


def dft_tables(n_fft=N_FFT) -> tuple[np.ndarray, np.ndarray]:
    """conv_real / conv_imag weights (n_fft // 2 + 1, 1, n_fft): DFT rows times a periodic Hann window."""
    n = np.arange(n_fft)
    k = np.arange(n_fft // 2 + 1)[:, None]
    window = 0.5 - 0.5 * np.cos(2 * math.pi * n / n_fft)
    return (np.cos(2 * math.pi * k * n / n_fft) * window)[:, None], (-np.sin(2 * math.pi * k * n / n_fft) * window)[
        :, None
    ]


def plain_features(
    waveform: torch.Tensor, conv_real, conv_imag, mel_w, num_frames: int = 1024, num_samples: int = 320000
) -> torch.Tensor:
    """(B, 2, T) -> (B, 4, num_frames, n_mels) by DFT-by-convolution."""
    waveform = waveform[..., :num_samples]
    if waveform.shape[-1] < num_samples:
        waveform = F.pad(waveform, (0, num_samples - waveform.shape[-1]))
    batch = waveform.shape[0]
    x = F.pad(waveform.reshape(batch * 2, 1, -1), (N_FFT // 2, N_FFT // 2), mode="reflect")
    real = F.conv1d(x, conv_real, stride=HOP)  # (B*2, 513, frames)
    imag = F.conv1d(x, conv_imag, stride=HOP)
    magnitude = torch.sqrt(real**2 + imag**2)
    logmel = 10 * torch.log10(torch.clamp(magnitude.transpose(1, 2) @ mel_w, min=1e-10))
    logmel = logmel.reshape(batch, 2, -1, mel_w.shape[1])
    phase = torch.atan2(imag, real).reshape(batch, 2, real.shape[1], -1)
    ipd = (phase[:, 1] - phase[:, 0]).transpose(1, 2)  # (B, frames, 513)
    features = torch.stack([logmel[:, 0], logmel[:, 1], torch.cos(ipd) @ mel_w, torch.sin(ipd) @ mel_w], dim=1)
    return F.interpolate(features, size=(num_frames, mel_w.shape[1]), mode="bicubic", align_corners=True)


def _layer_norm(x, state, prefix, eps=1e-6):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * state[f"{prefix}.weight"] + state[f"{prefix}.bias"]


def _linear(x, state, prefix):
    return x @ state[f"{prefix}.weight"].T + state[f"{prefix}.bias"]


def _gelu(x):
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


def plain_encoder(features: torch.Tensor, state: dict, num_heads: int) -> torch.Tensor:
    """Eval-mode Spatial-AST on (B, 4, T, F) features with an authors'-layout state dict -> (B, 3 + N, D)."""
    bn_mean, bn_var = state["bn.running_mean"], state["bn.running_var"]
    logmel = (features[:, :2] - bn_mean[None, :, None, None]) / torch.sqrt(bn_var[None, :, None, None] + 1e-5)
    x = torch.cat([logmel, features[:, 2:]], dim=1)
    x = F.conv2d(x, state["conv_downsample.0.weight"], padding=1)
    x = (x - state["conv_downsample.1.running_mean"][None, :, None, None]) / torch.sqrt(
        state["conv_downsample.1.running_var"][None, :, None, None] + 1e-5
    )
    x = _gelu(
        x * state["conv_downsample.1.weight"][None, :, None, None]
        + state["conv_downsample.1.bias"][None, :, None, None]
    )
    patch = state["patch_embed.proj.weight"].shape[-1]
    x = F.conv2d(x, state["patch_embed.proj.weight"], state["patch_embed.proj.bias"], stride=patch)
    x = x.flatten(2).transpose(1, 2) + state["pos_embed"][:, 1:]
    x = torch.cat([state["cls_tokens"].expand(x.shape[0], -1, -1), x], dim=1)
    batch, length, width = x.shape
    head_dim = width // num_heads
    blocks = sorted({int(k.split(".")[1]) for k in state if k.startswith("blocks.")})
    for i in blocks:
        p = f"blocks.{i}"
        h = _layer_norm(x, state, f"{p}.norm1")
        qkv = _linear(h, state, f"{p}.attn.qkv").reshape(batch, length, 3, num_heads, head_dim)
        q, k, v = qkv[:, :, 0].transpose(1, 2), qkv[:, :, 1].transpose(1, 2), qkv[:, :, 2].transpose(1, 2)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(head_dim)
        weights = torch.exp(scores - scores.max(-1, keepdim=True).values)
        weights = weights / weights.sum(-1, keepdim=True)
        attended = (weights @ v).transpose(1, 2).reshape(batch, length, width)
        x = x + _linear(attended, state, f"{p}.attn.proj")
        h = _layer_norm(x, state, f"{p}.norm2")
        x = x + _linear(_gelu(_linear(h, state, f"{p}.mlp.fc1")), state, f"{p}.mlp.fc2")
    return x


def plain_heads(tokens: torch.Tensor, state: dict) -> dict[str, torch.Tensor]:
    distance = _layer_norm(tokens[:, 0], state, "dis_norm")
    direction = _layer_norm(tokens[:, 1], state, "doa_norm")
    event = _layer_norm(tokens[:, 2], state, "fc_norm")
    return {
        "event_logits": _linear(event, state, "head"),
        "distance_logits": _linear(distance, state, "distance_head"),
        "azimuth_logits": _linear(direction, state, "azimuth_head"),
        "elevation_logits": _linear(direction, state, "elevation_head"),
    }


def plain_spatial_ast(waveform: torch.Tensor, state: dict, num_heads: int) -> dict[str, torch.Tensor]:
    """The whole authors' model, waveform (B, 2, T) at 32 kHz -> head logits."""
    mel_w = state["logmel_extractor.melW"]
    num_patches = state["pos_embed"].shape[1] - 1
    patch = state["patch_embed.proj.weight"].shape[-1]
    num_frames = num_patches // (mel_w.shape[1] // patch) * patch
    features = plain_features(
        waveform,
        state["spectrogram_extractor.conv_real.weight"],
        state["spectrogram_extractor.conv_imag.weight"],
        mel_w,
        num_frames=num_frames,
    )
    return plain_heads(plain_encoder(features, state, num_heads), state)


def make_authors_state(
    hidden_size: int = 32,
    num_layers: int = 2,
    intermediate_size: int = 64,
    num_classes: int = 355,
    num_frames: int = 1024,
    n_mels: int = 128,
    patch: int = 16,
    seed: int = 0,
    weight_std: float = 0.2,
) -> dict[str, torch.Tensor]:
    """A random state dict in the authors' key layout (174 keys at 12 layers), with the real front-end tables.

    `weight_std` scales the transformer and head matrices (use ~0.02 at the paper width to keep activations sane).
    """
    g = torch.Generator().manual_seed(seed)

    def rand(*shape, scale=0.05):
        return torch.randn(*shape, generator=g) * scale

    num_patches = (num_frames // patch) * (n_mels // patch)
    conv_real, conv_imag = dft_tables()
    state = {
        "cls_tokens": rand(1, 3, hidden_size, scale=0.02),
        "pos_embed": rand(1, num_patches + 1, hidden_size, scale=0.5),
        "patch_embed.proj.weight": rand(hidden_size, 1, patch, patch),
        "patch_embed.proj.bias": rand(hidden_size),
        "conv_downsample.0.weight": rand(1, 4, 3, 3, scale=0.3),
        "conv_downsample.1.weight": 1 + rand(1),
        "conv_downsample.1.bias": rand(1),
        "conv_downsample.1.running_mean": rand(1),
        "conv_downsample.1.running_var": 1 + rand(1).abs(),
        "conv_downsample.1.num_batches_tracked": torch.tensor(1000),
        "bn.running_mean": torch.tensor([-20.0, -21.0]) + rand(2),
        "bn.running_var": torch.tensor([150.0, 160.0]),
        "bn.num_batches_tracked": torch.tensor(1000),
        "spectrogram_extractor.conv_real.weight": torch.from_numpy(conv_real).float(),
        "spectrogram_extractor.conv_imag.weight": torch.from_numpy(conv_imag).float(),
        "logmel_extractor.melW": torch.from_numpy(slaney_mel_matrix(n_mels=n_mels)).float(),
    }
    for i in range(num_layers):
        p = f"blocks.{i}"
        state.update(
            {
                f"{p}.norm1.weight": 1 + rand(hidden_size),
                f"{p}.norm1.bias": rand(hidden_size),
                f"{p}.attn.qkv.weight": rand(3 * hidden_size, hidden_size, scale=weight_std),
                f"{p}.attn.qkv.bias": rand(3 * hidden_size),
                f"{p}.attn.proj.weight": rand(hidden_size, hidden_size, scale=weight_std),
                f"{p}.attn.proj.bias": rand(hidden_size),
                f"{p}.norm2.weight": 1 + rand(hidden_size),
                f"{p}.norm2.bias": rand(hidden_size),
                f"{p}.mlp.fc1.weight": rand(intermediate_size, hidden_size, scale=weight_std),
                f"{p}.mlp.fc1.bias": rand(intermediate_size),
                f"{p}.mlp.fc2.weight": rand(hidden_size, intermediate_size, scale=weight_std),
                f"{p}.mlp.fc2.bias": rand(hidden_size),
            }
        )
    for name, size in (("head", num_classes), ("distance_head", 21), ("azimuth_head", 360), ("elevation_head", 180)):
        state[f"{name}.weight"] = rand(size, hidden_size, scale=weight_std)
        state[f"{name}.bias"] = rand(size)
    for name in ("fc_norm", "dis_norm", "doa_norm"):
        state[f"{name}.weight"] = 1 + rand(hidden_size)
        state[f"{name}.bias"] = rand(hidden_size)
    return state


def binaural_test_signal(batch: int = 2, seconds: float = 10.0, seed: int = 0) -> torch.Tensor:
    """Broadband binaural test audio (B, 2, T): noise with an interaural delay plus tones, every bin energised.

    Every STFT bin carries energy, so the phase (and IPD) is well defined; phase of near-silent bins is numerical
    noise in any implementation.
    """
    g = torch.Generator().manual_seed(seed)
    length = int(seconds * SAMPLE_RATE)
    t = torch.arange(length) / SAMPLE_RATE
    clips = []
    for b in range(batch):
        source = torch.randn(length + 40, generator=g) * 0.1
        delay = 5 + 7 * (b % 5)
        left, right = source[40:], source[40 - delay : length + 40 - delay] * 0.7
        tone = 0.2 * torch.sin(2 * math.pi * (440 * (b + 1)) * t)
        clips.append(torch.stack([left + tone, right + 0.5 * tone]))
    return torch.stack(clips)
