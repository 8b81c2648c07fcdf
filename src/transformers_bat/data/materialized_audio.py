"""Records that carry their audio: the rendered binaural clip stored in the parquet as FLAC (``--materialize-audio``).

The default layout stores ids only (cheap at millions of records) and needs the RIR bank and the sound catalogue to
be heard. A materialised copy is self-contained: the ``audio`` column is a ``datasets`` ``Audio(decode=False)``
column (``{"bytes": FLAC, "path": name}``, 2 channels, 32 kHz), so a Hub copy plays in the dataset viewer and
``load_dataset`` gives the audio with the record; decode it with :func:`record_waveform` (soundfile; datasets'
own decoder needs torchcodec, which does not install next to CPU torch).

Rendered scenes are never clipped (as in the release: two -14 dBFS sources mixed after reverberation can peak above
1), while FLAC holds integers in [-1, 1). So each clip is stored at 24 bits after a power-of-two gain that brings its
peak below full scale, and ``audio_scale`` (the inverse gain, 1.0 for most clips) restores the level: decoded samples
x ``audio_scale`` = the rendered waveform, to 24-bit precision.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pyarrow as pa

from ..audio_format import SAMPLE_RATE

FLAC_SUBTYPE = "PCM_24"
# arrow type of datasets' Audio feature (what load_dataset reads back as {"bytes", "path"})
AUDIO_TYPE = pa.struct([pa.field("bytes", pa.binary()), pa.field("path", pa.string())])
AUDIO_COLUMNS = {
    "audio": (AUDIO_TYPE, "the rendered binaural clip, FLAC (2 channels, 32 kHz, 24 bit) in a datasets Audio column"),
    "audio_scale": (pa.float32(), "multiply the decoded samples by this to get the rendered level (peaks above 1)"),
}


def encode_waveform(waveform: np.ndarray, name: str) -> tuple[dict, float]:
    """(``{"bytes": FLAC, "path": name}``, scale) of a (2, T) float waveform at 32 kHz."""
    import soundfile

    waveform = np.asarray(waveform, dtype=np.float64)
    if waveform.ndim != 2 or waveform.shape[0] != 2 or not np.all(np.isfinite(waveform)):
        raise ValueError(f"{name}: expected a finite (2, samples) waveform, got shape {waveform.shape}")
    peak = float(np.abs(waveform).max())
    scale = 2.0 ** max(0, math.ceil(math.log2(peak / 0.999))) if peak > 0.999 else 1.0
    buffer = io.BytesIO()
    soundfile.write(buffer, (waveform / scale).T, SAMPLE_RATE, format="FLAC", subtype=FLAC_SUBTYPE)
    return {"bytes": buffer.getvalue(), "path": name}, scale


def record_waveform(record: dict) -> np.ndarray:
    """The (2, T) float32 waveform of a materialised record (its ``audio`` decoded, times ``audio_scale``)."""
    from ..models.spatial_ast.feature_extraction_spatial_ast import read_audio

    audio = record.get("audio")
    if not isinstance(audio, dict) or audio.get("bytes") is None:
        raise ValueError(
            "the record has no materialised audio (an 'audio' column with FLAC bytes): generate the dataset with "
            "--materialize-audio, or render the record from its ids with SceneRenderer"
        )
    samples, rate = read_audio(audio["bytes"])
    if rate != SAMPLE_RATE:
        raise ValueError(f"materialised audio at {rate} Hz, expected {SAMPLE_RATE}")
    return (samples * np.float32(record.get("audio_scale") or 1.0)).astype(np.float32)


def add_audio_columns(table: pa.Table, renderer, names: list[str]) -> pa.Table:
    """``table`` with ``audio`` and ``audio_scale`` columns holding each record rendered by ``renderer``."""
    audio, scales = [], []
    for record, name in zip(table.to_pylist(), names):
        encoded, scale = encode_waveform(renderer.render(record), name)
        audio.append(encoded)
        scales.append(scale)
    table = table.append_column(pa.field("audio", AUDIO_TYPE), pa.array(audio, type=AUDIO_TYPE))
    return table.append_column(pa.field("audio_scale", pa.float32()), pa.array(scales, type=pa.float32()))


def audio_features_metadata(schema: pa.Schema) -> pa.Schema:
    """``schema`` with datasets' feature metadata, typing ``audio`` as ``Audio(sampling_rate=32000, decode=False)``."""
    import datasets

    features = datasets.Features.from_arrow_schema(schema.remove_metadata())
    features["audio"] = datasets.Audio(sampling_rate=SAMPLE_RATE, decode=False)
    return schema.with_metadata(features.arrow_schema.metadata)
