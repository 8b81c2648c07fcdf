"""Convert the authors' Spatial-AST training checkpoint (``finetuned.pth``) into a transformers checkpoint.

The released file is a training dict ``{model, optimizer, epoch, scaler, args}`` whose ``args`` is an
``argparse.Namespace``. It is read with ``torch.load(weights_only=True)`` plus an explicit allow-list, so no
arbitrary code can run. The STFT and mel tables stored in the file are checked against our feature extractor and
then dropped; everything else is renamed to our module names and saved as safetensors with the config and the
preprocessor config.

Nothing is converted silently wrong: a file with NaN / inf weights, a missing or unknown tensor, or weights that
leave any parameter of the model uninitialised is refused with a [`CheckpointConversionError`] naming the tensors
and the file (the BAT converter raises the same error).
"""

from __future__ import annotations

import argparse
import csv
import importlib
import os
import pickle
import re
from pathlib import Path

import numpy as np
import torch

from .configuration_spatial_ast import SpatialASTConfig
from .feature_extraction_spatial_ast import SpatialASTFeatureExtractor
from .modeling_spatial_ast import SpatialASTForSpatialAudioClassification

# Globals a training dict of the release needs besides tensors and plain containers.
DEFAULT_ALLOWED_GLOBALS: tuple[type, ...] = (argparse.Namespace,)

FRONT_END_KEYS = (
    "spectrogram_extractor.conv_real.weight",
    "spectrogram_extractor.conv_imag.weight",
    "logmel_extractor.melW",
)

# (authors' key pattern, our key) applied in order; the first match wins.
KEY_RENAMES: tuple[tuple[str, str], ...] = (
    (r"^cls_tokens$", "spatial_ast.embeddings.cls_tokens"),
    (r"^pos_embed$", "spatial_ast.embeddings.position_embeddings"),
    (r"^patch_embed\.proj\.(weight|bias)$", r"spatial_ast.embeddings.patch_embeddings.\1"),
    (r"^conv_downsample\.0\.weight$", "spatial_ast.embeddings.fusion_conv.weight"),
    (r"^conv_downsample\.1\.(.+)$", r"spatial_ast.embeddings.fusion_norm.\1"),
    (r"^bn\.(.+)$", r"spatial_ast.embeddings.feature_norm.\1"),
    (r"^blocks\.(\d+)\.norm1\.(.+)$", r"spatial_ast.layers.\1.layernorm_before.\2"),
    (r"^blocks\.(\d+)\.norm2\.(.+)$", r"spatial_ast.layers.\1.layernorm_after.\2"),
    (r"^blocks\.(\d+)\.attn\.(qkv|proj)\.(.+)$", r"spatial_ast.layers.\1.attention.\2.\3"),
    (r"^blocks\.(\d+)\.mlp\.(fc1|fc2)\.(.+)$", r"spatial_ast.layers.\1.mlp.\2.\3"),
    (r"^head\.(.+)$", r"heads.event_head.\1"),
    (r"^(distance|azimuth|elevation)_head\.(.+)$", r"heads.\1_head.\2"),
    (r"^fc_norm\.(.+)$", r"heads.event_norm.\1"),
    (r"^dis_norm\.(.+)$", r"heads.distance_norm.\1"),
    (r"^doa_norm\.(.+)$", r"heads.direction_norm.\1"),
)


# tensors of the authors' model that config_from_state reads to infer the architecture
REQUIRED_KEYS = (
    "cls_tokens",
    "pos_embed",
    "patch_embed.proj.weight",
    "conv_downsample.0.weight",
    "bn.running_mean",
    "blocks.0.mlp.fc1.weight",
    "head.weight",
    "distance_head.weight",
    "azimuth_head.weight",
    "elevation_head.weight",
)


class CheckpointConversionError(ValueError):
    """The file is not a checkpoint we can convert faithfully (shared by the Spatial-AST and BAT converters)."""


def preview(items: list[str], limit: int = 10) -> str:
    """The first `limit` items, comma-separated, with the total when some are left out (keeps messages short)."""
    shown = ", ".join(str(item) for item in items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")


def check_finite(state: dict[str, torch.Tensor], source: str | os.PathLike) -> None:
    """Refuse NaN / inf weights: a model converted from them runs without error and outputs NaN or garbage."""
    broken = []
    for key, tensor in state.items():
        if not (tensor.is_floating_point() or tensor.is_complex()) or bool(torch.isfinite(tensor).all()):
            continue
        nans, infs = int(torch.isnan(tensor).sum()), int(torch.isinf(tensor).sum())
        broken.append(f"{key} ({nans} NaN, {infs} inf of {tensor.numel()} values)")
    if broken:
        raise CheckpointConversionError(
            f"Refusing to convert {source}: {len(broken)} tensor(s) hold non-finite values: {preview(broken, 5)}. "
            f"The file is corrupt or was saved after training diverged."
        )


def _resolve_global(name: str) -> type:
    module_name, _, attribute = name.rpartition(".")
    if not module_name:
        raise ValueError(f"Allowed globals are given as 'module.Name', got {name!r}.")
    return getattr(importlib.import_module(module_name), attribute)


def load_training_checkpoint(path: str | os.PathLike, allowed_globals: tuple[str, ...] = ()) -> dict:
    """Read a torch checkpoint with the weights-only unpickler and an explicit allow-list of globals.

    Args:
        path: the `.pth` file.
        allowed_globals: extra 'module.Name' globals to trust, beyond `argparse.Namespace`; only for files you
            trust, when loading fails naming one of them.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Checkpoint not found: {path}")
    allowed = list(DEFAULT_ALLOWED_GLOBALS) + [_resolve_global(name) for name in allowed_globals]
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointConversionError(
            f"Refusing to unpickle {path}: it needs a global outside the allow-list. Only if you trust the file, "
            f"pass the global named below with --allow-global module.Name.\n{error}"
        ) from error
    except (RuntimeError, EOFError, OSError) as error:
        raise CheckpointConversionError(f"{path} is not a readable torch checkpoint: {error}") from error


def extract_model_state(checkpoint: dict, source: str | os.PathLike = "The checkpoint") -> dict[str, torch.Tensor]:
    """The model weights of a training dict (or of a bare state dict), with any DDP 'module.' prefix removed."""
    if not isinstance(checkpoint, dict):
        raise CheckpointConversionError(
            f"{source} holds a {type(checkpoint).__name__}, not a dict: expected a training dict with a 'model' "
            f"state dict, or a state dict."
        )
    top_level = preview([repr(key) for key in checkpoint])
    if "model" in checkpoint:
        state = checkpoint["model"]
        if not isinstance(state, dict):
            raise CheckpointConversionError(
                f"{source}: its 'model' entry is a {type(state).__name__}, not a state dict of tensors."
            )
    elif checkpoint and all(isinstance(value, torch.Tensor) for value in checkpoint.values()):
        state = checkpoint  # a bare state dict
    else:
        raise CheckpointConversionError(
            f"{source} has no 'model' state dict of tensors; its top-level keys are: {top_level or 'none'}."
        )
    not_tensors = [
        repr(key) for key, value in state.items() if not (isinstance(key, str) and isinstance(value, torch.Tensor))
    ]
    if not_tensors or not state:
        raise CheckpointConversionError(
            f"{source}: the model state dict is empty or holds entries that are not named tensors "
            f"({preview(not_tensors) or 'no keys'})."
        )
    return {re.sub(r"^module\.", "", key): value for key, value in state.items()}


def config_from_state(
    state: dict[str, torch.Tensor],
    num_attention_heads: int | None = None,
    source: str | os.PathLike = "The checkpoint",
    **overrides,
) -> SpatialASTConfig:
    """Infer a SpatialASTConfig from tensor shapes (heads default to hidden_size // 64, the ViT rule)."""
    missing = [key for key in REQUIRED_KEYS if key not in state]
    if missing:
        raise CheckpointConversionError(
            f"{source} is not a complete Spatial-AST checkpoint: missing {missing}. Its model state has "
            f"{len(state)} keys: {preview(sorted(state))}."
        )
    try:
        return _config_from_shapes(state, num_attention_heads, overrides)
    except (IndexError, ZeroDivisionError) as error:
        shapes = preview([f"{key} {tuple(state[key].shape)}" for key in REQUIRED_KEYS])
        raise CheckpointConversionError(
            f"{source}: tensor shapes are not those of a Spatial-AST ({error}): {shapes}."
        ) from error


def _config_from_shapes(
    state: dict[str, torch.Tensor], num_attention_heads: int | None, overrides: dict
) -> SpatialASTConfig:
    hidden_size = state["cls_tokens"].shape[-1]
    patch_size = state["patch_embed.proj.weight"].shape[-1]
    num_mel_bins = state["logmel_extractor.melW"].shape[1] if "logmel_extractor.melW" in state else 128
    num_patches = state["pos_embed"].shape[1] - 1
    columns = num_mel_bins // patch_size
    # the highest block index, so a block missing in the middle is reported as missing weights, not dropped
    num_layers = 1 + max(int(m.group(1)) for key in state if (m := re.match(r"blocks\.(\d+)\.", key)))
    kwargs = dict(
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_attention_heads or max(1, hidden_size // 64),
        intermediate_size=state["blocks.0.mlp.fc1.weight"].shape[0],
        qkv_bias="blocks.0.attn.qkv.bias" in state,
        num_input_channels=state["conv_downsample.0.weight"].shape[1],
        num_mel_bins=num_mel_bins,
        num_frames=num_patches // columns * patch_size,
        patch_size=patch_size,
        num_labels=state["head.weight"].shape[0],
        num_distance_bins=state["distance_head.weight"].shape[0],
        num_azimuth_bins=state["azimuth_head.weight"].shape[0],
        num_elevation_bins=state["elevation_head.weight"].shape[0],
        normalize_ipd_channels=state["bn.running_mean"].shape[0] == state["conv_downsample.0.weight"].shape[1],
    )
    if "id2label" in overrides:
        kwargs.pop("num_labels")
    kwargs.update(overrides)
    return SpatialASTConfig(**kwargs)


def check_front_end_tables(state: dict[str, torch.Tensor], feature_extractor: SpatialASTFeatureExtractor) -> None:
    """Assert the checkpoint's stored DFT (times periodic Hann) and mel tables equal what our extractor uses."""
    present = [key for key in FRONT_END_KEYS if key in state]
    if not present:
        return
    n_fft = feature_extractor.n_fft
    n = np.arange(n_fft)
    k = np.arange(n_fft // 2 + 1)[:, None]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / n_fft)  # periodic Hann
    expected = {
        "spectrogram_extractor.conv_real.weight": (np.cos(2 * np.pi * k * n / n_fft) * window)[:, None, :],
        "spectrogram_extractor.conv_imag.weight": (-np.sin(2 * np.pi * k * n / n_fft) * window)[:, None, :],
        "logmel_extractor.melW": feature_extractor.mel_filters,
    }
    for key in present:
        stored = state[key].double().numpy()
        if stored.shape != expected[key].shape or not np.allclose(stored, expected[key], atol=1e-5, rtol=1e-4):
            worst = np.abs(stored - expected[key]).max() if stored.shape == expected[key].shape else "shape"
            raise CheckpointConversionError(
                f"The checkpoint's front-end table {key} does not match our feature extractor "
                f"(n_fft={n_fft}, mel bins={feature_extractor.num_mel_bins}, max difference {worst}); converting "
                f"would silently change the model's inputs."
            )


def rename_state(
    state: dict[str, torch.Tensor], source: str | os.PathLike = "the checkpoint"
) -> dict[str, torch.Tensor]:
    """Our names for the authors' keys; the front-end tables are dropped (checked first), any other key refused."""
    renamed, unknown = {}, []
    for key, value in state.items():
        if key in FRONT_END_KEYS:
            continue
        for pattern, target in KEY_RENAMES:
            if re.match(pattern, key):
                renamed[re.sub(pattern, target, key)] = value
                break
        else:
            unknown.append(repr(key))
    if unknown:
        raise CheckpointConversionError(
            f"Unexpected key{'s' if len(unknown) > 1 else ''} in {source} (not part of Spatial-AST, nor a front-end "
            f"table that is dropped): {preview(unknown)}."
        )
    return renamed


def load_strictly(
    module: torch.nn.Module,
    state: dict[str, torch.Tensor],
    source: str | os.PathLike,
    what: str = "weights",
    prefix: str = "",
) -> None:
    """Load converted weights so that nothing is left to chance: a shape that does not fit, a parameter left
    uninitialised or a leftover key is a `CheckpointConversionError` naming them (`prefix`: how names read in the
    file's model, e.g. "encoder_projector.")."""
    expected = module.state_dict()
    mismatched = [
        f"{prefix}{key} {tuple(tensor.shape)} (model: {tuple(expected[key].shape)})"
        for key, tensor in state.items()
        if key in expected and tensor.shape != expected[key].shape
    ]
    if mismatched:
        raise CheckpointConversionError(
            f"{source}: tensor shapes do not fit the architecture inferred from the file: {preview(mismatched)}."
        )
    missing, unexpected = module.load_state_dict(state, strict=False)
    problems = []
    if missing:
        names = [prefix + key for key in missing]
        problems.append(f"{len(missing)} parameter(s) would stay uninitialised (not in the file): {preview(names)}")
    if unexpected:
        names = [prefix + key for key in unexpected]
        problems.append(f"{len(unexpected)} converted key(s) have no parameter to go to: {preview(names)}")
    if problems:
        raise CheckpointConversionError(
            f"The {what} of {source} do not fit {type(module).__name__}: " + "; ".join(problems) + "."
        )


def read_class_labels(csv_path: str | os.PathLike) -> dict[int, str]:
    """id2label from an AudioSet class CSV with columns index, mid, display_name (the release's subset CSV)."""
    with open(csv_path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"index", "display_name"} <= set(rows[0]):
        raise ValueError(f"{csv_path}: expected columns 'index,mid,display_name'.")
    return {int(row["index"]): row["display_name"] for row in rows}


def convert_spatial_ast_checkpoint(
    checkpoint_path: str | os.PathLike,
    output_dir: str | os.PathLike | None = None,
    class_labels_csv: str | os.PathLike | None = None,
    num_attention_heads: int | None = None,
    allowed_globals: tuple[str, ...] = (),
) -> SpatialASTForSpatialAudioClassification:
    """Convert `finetuned.pth` into a [`SpatialASTForSpatialAudioClassification`]; save it when `output_dir` is set.

    The saved folder holds `model.safetensors`, `config.json`, `preprocessor_config.json`, the model's code (for
    `trust_remote_code`) and a model card (CC BY-NC 4.0, the licence of the released weights).
    """
    state = extract_model_state(load_training_checkpoint(checkpoint_path, allowed_globals), checkpoint_path)
    check_finite(state, checkpoint_path)
    overrides = {}
    if class_labels_csv is not None:
        overrides["id2label"] = read_class_labels(class_labels_csv)
    config = config_from_state(state, num_attention_heads=num_attention_heads, source=checkpoint_path, **overrides)
    if class_labels_csv is not None and config.num_labels != state["head.weight"].shape[0]:
        raise CheckpointConversionError(
            f"{class_labels_csv} has {config.num_labels} classes but the event head has "
            f"{state['head.weight'].shape[0]}."
        )
    feature_extractor = SpatialASTFeatureExtractor(num_mel_bins=config.num_mel_bins, num_frames=config.num_frames)
    check_front_end_tables(state, feature_extractor)
    model = SpatialASTForSpatialAudioClassification(config)
    load_strictly(model, rename_state(state, checkpoint_path), checkpoint_path)
    model.eval()
    if output_dir is not None:
        from ...model_cards import AUTHORS_LICENSE, write_model_card

        model.save_pretrained(output_dir)
        feature_extractor.save_pretrained(output_dir)
        write_model_card(
            output_dir,
            "spatial_ast",
            title="Spatial-AST (the BAT authors' weights, converted)",
            description=(
                "The Spatial-AST encoder released with BAT (Zheng et al., ICML 2024), converted to a transformers "
                f"checkpoint by transformers-bat from `{Path(checkpoint_path).name}`. The authors report mAP 49.74 "
                "and ER20 24.21 on their SpatialSoundQA test set; those figures were not re-measured here."
            ),
            license=AUTHORS_LICENSE,
            training={
                "source": Path(checkpoint_path).name,
                "converted by": "transformers-bat convert-spatial-ast",
                "event classes": config.num_labels,
                "layers x width": f"{config.num_hidden_layers} x {config.hidden_size}",
            },
        )
    return model


__all__ = ["convert_spatial_ast_checkpoint", "load_training_checkpoint", "CheckpointConversionError", "check_finite"]
