"""Spatial-AST: a binaural audio spectrogram transformer with sound event, distance and direction heads.

The network follows the authors' released encoder (see ``shared/reference/spatial-ast.md``): log-mel BatchNorm,
4 -> 1 channel fusion conv, training-only SpecAugment and patch dropping, 16x16 patches with a frozen 2-D sin-cos
positional table, three CLS tokens [distance, direction, event] and pre-norm ViT blocks with no final norm.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.activations import ACT2FN
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_outputs import BaseModelOutput
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
from transformers.utils import ModelOutput, logging

from ...labels import direction_words, index_to_azimuth, index_to_distance, index_to_elevation
from ...remote_code import write_remote_code
from .configuration_spatial_ast import PIPELINE_TASK, REMOTE_CODE_MODULES, SpatialASTConfig
from .multi_accdoa import MultiACCDOAHead, adpit_loss, decode_accdoa, pool_window_sources

logger = logging.get_logger(__name__)


def sincos_position_table(hidden_size: int, grid_rows: int, grid_columns: int) -> torch.Tensor:
    """2-D sin-cos positional table of shape (1 + rows * columns, hidden_size); row 0 (unused) is zeros.

    Half of the channels encode the time row, half the frequency column (time-major patch order).
    """
    if hidden_size % 4:
        raise ValueError(f"hidden_size must be a multiple of 4 for a 2-D sin-cos table, got {hidden_size}.")
    quarter = hidden_size // 4
    frequencies = 1.0 / 10000 ** (np.arange(quarter, dtype=np.float64) / quarter)
    rows, columns = np.meshgrid(np.arange(grid_rows), np.arange(grid_columns), indexing="ij")

    def encode(positions: np.ndarray) -> np.ndarray:
        angles = positions.reshape(-1, 1) * frequencies[None, :]
        return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)

    table = np.concatenate([encode(rows), encode(columns)], axis=1)
    table = np.concatenate([np.zeros((1, hidden_size)), table], axis=0)
    return torch.from_numpy(table).float()


class SpatialASTDropPath(nn.Module):
    """Stochastic depth: drops the whole residual branch per sample during training."""

    def __init__(self, drop_prob: float = 0.0):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return hidden_states
        keep_prob = 1.0 - self.drop_prob
        shape = (hidden_states.shape[0],) + (1,) * (hidden_states.ndim - 1)
        mask = hidden_states.new_empty(shape).bernoulli_(keep_prob)
        return hidden_states * mask / keep_prob


class SpatialASTEmbeddings(nn.Module):
    """Binaural features (B, 4, frames, mels) -> CLS tokens + patch tokens (B, 3 + patches, hidden)."""

    def __init__(self, config: SpatialASTConfig):
        super().__init__()
        self.config = config
        norm_channels = config.num_input_channels if config.normalize_ipd_channels else 2
        self.feature_norm = nn.BatchNorm2d(norm_channels, affine=False)
        fused = config.fusion_channels
        self.fusion_conv = nn.Conv2d(config.num_input_channels, fused, kernel_size=3, stride=1, padding=1, bias=False)
        self.fusion_norm = nn.BatchNorm2d(fused)
        self.fusion_act = nn.GELU()
        self.patch_embeddings = nn.Conv2d(fused, config.hidden_size, config.patch_size, stride=config.patch_size)
        self.register_buffer(
            "position_embeddings", torch.zeros(1, config.num_patches + 1, config.hidden_size), persistent=True
        )
        self.cls_tokens = nn.Parameter(torch.zeros(1, config.num_cls_tokens, config.hidden_size))

    def normalize_and_fuse(self, input_features: torch.Tensor) -> torch.Tensor:
        """(B, 4, T, F) -> (B, fusion_channels, T, F): BatchNorm (log-mel channels, or all four), then fusion."""
        num_norm = self.feature_norm.num_features
        normalized = self.feature_norm(input_features[:, :num_norm])
        fused_input = torch.cat([normalized, input_features[:, num_norm:]], dim=1)
        return self.fusion_act(self.fusion_norm(self.fusion_conv(fused_input)))

    def spec_augment(self, fused: torch.Tensor) -> torch.Tensor:
        """One frequency and one time mask, shared across the batch (training only)."""
        fused = fused.clone()
        for axis, max_width in ((3, self.config.spec_augment_freq_mask), (2, self.config.spec_augment_time_mask)):
            size = fused.shape[axis]
            width = int(torch.randint(0, min(max_width, size) + 1, ()).item())
            if width == 0:
                continue
            start = int(torch.randint(0, size - width + 1, ()).item())
            fused.narrow(axis, start, width).zero_()
        return fused

    def drop_patches(self, patches: torch.Tensor) -> torch.Tensor:
        """Keep a random subset of time rows and frequency columns per sample (training only).

        patches: (B, rows * columns, hidden) in time-major order -> (B, kept_rows * kept_columns, hidden).
        """
        batch_size, _, hidden_size = patches.shape
        rows, columns = self.config.patch_grid
        kept_rows = max(1, int(rows * (1 - self.config.patch_drop_time_ratio)))
        kept_columns = max(1, int(columns * (1 - self.config.patch_drop_freq_ratio)))
        row_index = torch.rand(batch_size, rows, device=patches.device).argsort(dim=1)[:, :kept_rows].sort(1).values
        column_index = (
            torch.rand(batch_size, columns, device=patches.device).argsort(dim=1)[:, :kept_columns].sort(1).values
        )
        token_index = (row_index[:, :, None] * columns + column_index[:, None, :]).reshape(batch_size, -1)
        return patches.gather(1, token_index[:, :, None].expand(-1, -1, hidden_size))

    def forward(self, input_features: torch.Tensor) -> torch.Tensor:
        fused = self.normalize_and_fuse(input_features)
        if self.training and (self.config.spec_augment_freq_mask or self.config.spec_augment_time_mask):
            fused = self.spec_augment(fused)
        patches = self.patch_embeddings(fused).flatten(2).transpose(1, 2)  # (B, rows * columns, hidden)
        patches = patches + self.position_embeddings[:, 1:].to(patches.dtype)
        if self.training and (self.config.patch_drop_time_ratio or self.config.patch_drop_freq_ratio):
            patches = self.drop_patches(patches)
        cls_tokens = self.cls_tokens.expand(patches.shape[0], -1, -1).to(patches.dtype)
        return torch.cat([cls_tokens, patches], dim=1)


def eager_attention_forward(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float,
    dropout: float = 0.0,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Explicit softmax attention; inputs (B, heads, N, head_dim), output (B, N, heads, head_dim)."""
    weights = torch.matmul(query, key.transpose(2, 3)) * scaling
    if attention_mask is not None:
        weights = weights + attention_mask
    weights = nn.functional.softmax(weights, dim=-1, dtype=torch.float32).to(query.dtype)
    weights = nn.functional.dropout(weights, p=dropout, training=module.training)
    output = torch.matmul(weights, value).transpose(1, 2).contiguous()
    return output, weights


class SpatialASTAttention(nn.Module):
    """Multi-head self-attention with a fused query/key/value projection (the checkpoint's layout)."""

    def __init__(self, config: SpatialASTConfig):
        super().__init__()
        self.config = config
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.scaling = self.head_dim**-0.5
        self.is_causal = False
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size, bias=config.qkv_bias)
        self.proj = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden_states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        batch_size, length, _ = hidden_states.shape
        qkv = self.qkv(hidden_states).view(batch_size, length, 3, self.num_heads, self.head_dim)
        query, key, value = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        attention_interface: Callable = ALL_ATTENTION_FUNCTIONS.get_interface(
            self.config._attn_implementation, eager_attention_forward
        )
        output, weights = attention_interface(
            self,
            query,
            key,
            value,
            None,
            dropout=self.config.attention_probs_dropout_prob if self.training else 0.0,
            scaling=self.scaling,
            is_causal=False,
        )
        output = self.proj(output.reshape(batch_size, length, -1))
        return output, weights


class SpatialASTMLP(nn.Module):
    def __init__(self, config: SpatialASTConfig):
        super().__init__()
        self.fc1 = nn.Linear(config.hidden_size, config.intermediate_size)
        self.act = ACT2FN[config.hidden_act]
        self.fc2 = nn.Linear(config.intermediate_size, config.hidden_size)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(hidden_states)))


class SpatialASTLayer(GradientCheckpointingLayer):
    """Pre-norm transformer block with stochastic depth."""

    def __init__(self, config: SpatialASTConfig, drop_path: float = 0.0):
        super().__init__()
        self.layernorm_before = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.attention = SpatialASTAttention(config)
        self.layernorm_after = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.mlp = SpatialASTMLP(config)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.drop_path = SpatialASTDropPath(drop_path)

    def forward(self, hidden_states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        attention_output, weights = self.attention(self.layernorm_before(hidden_states))
        hidden_states = hidden_states + self.drop_path(self.dropout(attention_output))
        mlp_output = self.mlp(self.layernorm_after(hidden_states))
        hidden_states = hidden_states + self.drop_path(self.dropout(mlp_output))
        return hidden_states, weights


class MissingPretrainedWeightsError(ValueError):
    """A checkpoint lacks tensors of a pretrained part: loading would initialise them randomly and look fine."""


def _preview(keys: list[str], limit: int = 10) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys)} in all)" if len(keys) > limit else "")


def describe_weights_source(pretrained_model_name_or_path: str | os.PathLike | None, subfolder: str = "") -> str:
    """The weights file `from_pretrained` read, for messages: the local file (or index) when there is one."""
    if pretrained_model_name_or_path is None:
        return "the given state_dict"
    location = os.path.join(os.fspath(pretrained_model_name_or_path), subfolder or "")
    if os.path.isdir(location):
        suffixes = (".safetensors", ".safetensors.index.json", ".bin", ".bin.index.json")
        names = sorted(name for name in os.listdir(location) if name.endswith(suffixes))
        chosen = [name for name in names if name.endswith(".index.json")] or names
        if len(chosen) == 1:
            return os.path.join(location, chosen[0])
        if chosen:
            return f"{location} ({', '.join(chosen)})"
    return os.fspath(pretrained_model_name_or_path)


def check_missing_weights(
    model_class_name: str,
    source: str,
    missing_keys: Iterable[str],
    is_required: Callable[[str], bool],
    required_part: str,
    allow_missing_weights: bool = False,
    optional_note: str = "",
) -> None:
    """Raise when tensors of the pretrained part are missing; report the others, which start random.

    transformers initialises missing tensors randomly and only mentions them in its load report, so a truncated or
    mis-saved file would give a model that runs and is silently wrong.
    """
    missing = sorted(missing_keys)
    required = [key for key in missing if is_required(key)]
    optional = [key for key in missing if not is_required(key)]
    if required and not allow_missing_weights:
        raise MissingPretrainedWeightsError(
            f"{model_class_name}.from_pretrained: {len(required)} tensor(s) of the pretrained {required_part} are "
            f"missing from {source}: {_preview(required)}. Loading would initialise them randomly and silently "
            f"change the model. Check that the file is complete (save or convert it again); to initialise them "
            f"randomly on purpose, pass allow_missing_weights=True."
        )
    if required:
        logger.warning(
            f"{model_class_name}.from_pretrained: {len(required)} tensor(s) of the pretrained {required_part} are "
            f"missing from {source} and were initialised randomly (allow_missing_weights=True): {_preview(required)}."
        )
    if optional:
        logger.warning(
            f"{model_class_name}.from_pretrained: {len(optional)} tensor(s) are not in {source} and start from "
            f"random initialisation: {_preview(optional)}. {optional_note}".rstrip()
        )


# `auto_map` of a saved Spatial-AST: the Auto classes find the code copied beside the weights (trust_remote_code)
REMOTE_CODE_AUTO_MAP = {
    "AutoConfig": "configuration_spatial_ast.SpatialASTConfig",
    "AutoModel": "modeling_spatial_ast.SpatialASTModel",
    "AutoModelForAudioClassification": "modeling_spatial_ast.SpatialASTForSpatialAudioClassification",
}


class SpatialASTPreTrainedModel(PreTrainedModel):
    config_class = SpatialASTConfig
    config: SpatialASTConfig
    base_model_prefix = "spatial_ast"
    main_input_name = "input_features"
    input_modalities = ("audio",)
    supports_gradient_checkpointing = True
    _no_split_modules = ["SpatialASTEmbeddings", "SpatialASTLayer"]
    _supports_sdpa = True
    _supports_flash_attn = True
    _supports_attention_backend = True

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike | None,
        *model_args,
        allow_missing_weights: bool = False,
        **kwargs,
    ):
        """`PreTrainedModel.from_pretrained`, refusing a checkpoint that lacks tensors of the encoder.

        transformers would initialise them randomly with only a log line. Missing task heads are allowed and reported
        when the file has none of them (an encoder-only checkpoint loaded to fine-tune them); a file with only some
        of them is refused like a missing encoder tensor. Pass `allow_missing_weights=True` to initialise missing
        tensors randomly on purpose.
        """
        output_loading_info = kwargs.pop("output_loading_info", False)
        model, loading_info = super().from_pretrained(
            pretrained_model_name_or_path, *model_args, output_loading_info=True, **kwargs
        )
        head_keys = {key for key in model.state_dict() if key.startswith("heads.")}
        missing_heads = {key for key in loading_info["missing_keys"] if key.startswith("heads.")}
        partial_heads = bool(missing_heads) and missing_heads != head_keys
        check_missing_weights(
            cls.__name__,
            describe_weights_source(pretrained_model_name_or_path, kwargs.get("subfolder", "")),
            loading_info["missing_keys"],
            is_required=lambda key: partial_heads or not key.startswith("heads."),
            required_part="model (the file holds some task-head tensors, so it is not encoder-only)"
            if partial_heads
            else "encoder",
            allow_missing_weights=allow_missing_weights,
            optional_note="This is expected when fine-tuning the task heads from an encoder-only checkpoint.",
        )
        return (model, loading_info) if output_loading_info else model

    def save_pretrained(self, save_directory: str | os.PathLike, *args, save_remote_code: bool = True, **kwargs):
        """`PreTrainedModel.save_pretrained`, plus `auto_map` and the model's code, so the folder also loads with
        `trust_remote_code=True` where this package is not installed. `save_remote_code=False`: weights and config.
        """
        if save_remote_code:
            self.config.auto_map = dict(REMOTE_CODE_AUTO_MAP)
            self.config.custom_pipelines = {
                PIPELINE_TASK: {
                    "impl": "spatial_audio_classification.SpatialAudioClassificationPipeline",
                    "pt": ["AutoModelForAudioClassification"],
                    "type": "audio",
                }
            }
        result = super().save_pretrained(save_directory, *args, **kwargs)
        if save_remote_code and kwargs.get("is_main_process", True):
            write_remote_code(save_directory, REMOTE_CODE_MODULES, __name__, self.config.name_or_path)
        return result

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        config = self.config
        if isinstance(module, nn.Linear):
            if getattr(module, "is_prediction_head", False):
                init.trunc_normal_(module.weight, std=config.head_initializer_range)
            else:
                init.xavier_uniform_(module.weight)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            init.ones_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            if module.affine:
                init.ones_(module.weight)
                init.zeros_(module.bias)
            init.zeros_(module.running_mean)
            init.ones_(module.running_var)
            init.zeros_(module.num_batches_tracked)
        elif isinstance(module, nn.Conv2d):
            # patch projection as a linear layer on flattened patches (MAE); also fine for the fusion conv
            init.xavier_uniform_(module.weight.view(module.weight.shape[0], -1))
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, SpatialASTEmbeddings):
            rows, columns = config.patch_grid
            init.copy_(module.position_embeddings, sincos_position_table(config.hidden_size, rows, columns)[None])
            init.normal_(module.cls_tokens, std=config.initializer_range)


class SpatialASTModel(SpatialASTPreTrainedModel):
    """The Spatial-AST encoder. Returns all 3 CLS + patch tokens of the last block (no final norm)."""

    def __init__(self, config: SpatialASTConfig):
        super().__init__(config)
        self.embeddings = SpatialASTEmbeddings(config)
        depth = config.num_hidden_layers
        drop_rates = [config.drop_path_rate * i / max(depth - 1, 1) for i in range(depth)]
        self.layers = nn.ModuleList([SpatialASTLayer(config, rate) for rate in drop_rates])
        self.gradient_checkpointing = False
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.embeddings.patch_embeddings

    def forward(
        self,
        input_features: torch.Tensor,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> BaseModelOutput | tuple:
        r"""
        input_features (`torch.FloatTensor` of shape `(batch_size, 4, num_frames, num_mel_bins)`):
            [log-mel left, log-mel right, mel cos IPD, mel sin IPD] from [`SpatialASTFeatureExtractor`].

        Returns a [`BaseModelOutput`] whose `last_hidden_state` is `(batch_size, 3 + num_patches, hidden_size)`:
        tokens 0, 1, 2 are the distance, direction and event CLS tokens (fewer patches in training: patch dropping).
        """
        output_hidden_states = (
            output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        )
        output_attentions = output_attentions if output_attentions is not None else self.config.output_attentions
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        expected = (self.config.num_input_channels, self.config.num_frames, self.config.num_mel_bins)
        if input_features.ndim != 4 or tuple(input_features.shape[1:]) != expected:
            raise ValueError(
                f"input_features must have shape (batch, {expected[0]}, {expected[1]}, {expected[2]}), got "
                f"{tuple(input_features.shape)}. Use SpatialASTFeatureExtractor with the matching num_frames."
            )
        hidden_states = self.embeddings(input_features.to(self.embeddings.fusion_conv.weight.dtype))
        all_hidden_states = (hidden_states,) if output_hidden_states else None
        all_attentions = () if output_attentions else None
        for layer in self.layers:
            hidden_states, weights = layer(hidden_states)
            if output_hidden_states:
                all_hidden_states += (hidden_states,)
            if output_attentions:
                all_attentions += (weights,)
        if not return_dict:
            return tuple(v for v in (hidden_states, all_hidden_states, all_attentions) if v is not None)
        return BaseModelOutput(
            last_hidden_state=hidden_states, hidden_states=all_hidden_states, attentions=all_attentions
        )


@dataclass
class SpatialAudioClassifierOutput(ModelOutput):
    """Outputs of [`SpatialASTForSpatialAudioClassification`].

    Args:
        loss: weighted sum of the losses whose labels were given (see the config's loss weights).
        event_loss, distance_loss, direction_loss: the unweighted terms (direction = azimuth CE + elevation CE).
        accdoa_loss: the unweighted multi-ACCDOA (ADPIT) term, with `num_accdoa_tracks > 0` and `accdoa_labels`.
        event_logits: `(batch_size, num_labels)` multi-label sound event logits.
        distance_logits: `(batch_size, num_distance_bins)`; azimuth_logits: `(batch_size, num_azimuth_bins)`;
        elevation_logits: `(batch_size, num_elevation_bins)`.
        accdoa: `(batch_size, num_accdoa_tracks, num_labels, 4)` with `num_accdoa_tracks > 0`: per track and class
            an activity-coupled (right, up, front) vector and a distance in metres (see `decode_sources`).
        hidden_states, attentions: as in [`BaseModelOutput`].
    """

    loss: torch.FloatTensor | None = None
    event_loss: torch.FloatTensor | None = None
    distance_loss: torch.FloatTensor | None = None
    direction_loss: torch.FloatTensor | None = None
    accdoa_loss: torch.FloatTensor | None = None
    event_logits: torch.FloatTensor | None = None
    distance_logits: torch.FloatTensor | None = None
    azimuth_logits: torch.FloatTensor | None = None
    elevation_logits: torch.FloatTensor | None = None
    accdoa: torch.FloatTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    attentions: tuple[torch.FloatTensor, ...] | None = None


class SpatialASTHeads(nn.Module):
    """Per-token LayerNorms and linear heads reading the [distance, direction, event] CLS tokens."""

    def __init__(self, config: SpatialASTConfig):
        super().__init__()
        hidden, eps = config.hidden_size, config.layer_norm_eps
        self.distance_norm = nn.LayerNorm(hidden, eps=eps)
        self.direction_norm = nn.LayerNorm(hidden, eps=eps)
        self.event_norm = nn.LayerNorm(hidden, eps=eps)
        self.event_head = nn.Linear(hidden, config.num_labels)
        self.distance_head = nn.Linear(hidden, config.num_distance_bins)
        self.azimuth_head = nn.Linear(hidden, config.num_azimuth_bins)
        self.elevation_head = nn.Linear(hidden, config.num_elevation_bins)
        for head in (self.event_head, self.distance_head, self.azimuth_head, self.elevation_head):
            head.is_prediction_head = True  # read by _init_weights: tiny truncated-normal init as the release

    def forward(self, hidden_states: torch.Tensor) -> dict[str, torch.Tensor]:
        distance_token = self.distance_norm(hidden_states[:, 0])
        direction_token = self.direction_norm(hidden_states[:, 1])
        event_token = self.event_norm(hidden_states[:, 2])
        return {
            "event_logits": self.event_head(event_token),
            "distance_logits": self.distance_head(distance_token),
            "azimuth_logits": self.azimuth_head(direction_token),
            "elevation_logits": self.elevation_head(direction_token),
        }


def _class_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy from class indices (B,) or from (soft) target distributions (B, classes)."""
    if labels.ndim == 2:
        return nn.functional.cross_entropy(logits.float(), labels.to(torch.float32))
    return nn.functional.cross_entropy(logits.float(), labels.long())


class SpatialASTForSpatialAudioClassification(SpatialASTPreTrainedModel):
    """Spatial-AST with the sound event (multi-label), distance and direction (azimuth, elevation) heads."""

    def __init__(self, config: SpatialASTConfig):
        super().__init__(config)
        self.spatial_ast = SpatialASTModel(config)
        self.heads = SpatialASTHeads(config)
        self.accdoa_head = MultiACCDOAHead(config) if config.num_accdoa_tracks > 0 else None
        self.post_init()

    def forward(
        self,
        input_features: torch.Tensor,
        labels: torch.Tensor | None = None,
        distance_labels: torch.Tensor | None = None,
        azimuth_labels: torch.Tensor | None = None,
        elevation_labels: torch.Tensor | None = None,
        accdoa_labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> SpatialAudioClassifierOutput | tuple:
        r"""
        labels (`torch.FloatTensor` of shape `(batch_size, num_labels)`, *optional*): multi-hot (or soft) event
            targets for the BCE loss.
        distance_labels, azimuth_labels, elevation_labels (*optional*): class indices `(batch_size,)` or soft
            target distributions `(batch_size, num_bins)`.
        accdoa_labels (`torch.FloatTensor` of shape `(batch_size, num_labels, num_accdoa_tracks, 4)`, *optional*):
            per class, its sources' unit vectors and distances (`multi_accdoa.accdoa_targets`); needs the
            multi-ACCDOA head (`num_accdoa_tracks > 0`).

        Only the terms whose labels are given enter the loss, each with its weight from the config, so stage 1 of
        the paper (events only) is simply a call without the spatial labels.
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        encoder_outputs = self.spatial_ast(
            input_features,
            output_hidden_states=output_hidden_states,
            output_attentions=output_attentions,
            return_dict=True,
        )
        logits = self.heads(encoder_outputs.last_hidden_state)
        if self.accdoa_head is not None:
            logits["accdoa"] = self.accdoa_head(encoder_outputs.last_hidden_state[:, : self.config.num_cls_tokens])
        event_loss = distance_loss = direction_loss = accdoa_loss = None
        if labels is not None:
            event_loss = nn.functional.binary_cross_entropy_with_logits(
                logits["event_logits"].float(), labels.to(torch.float32)
            )
        if distance_labels is not None:
            distance_loss = _class_loss(logits["distance_logits"], distance_labels)
        if (azimuth_labels is None) != (elevation_labels is None):
            raise ValueError("azimuth_labels and elevation_labels must be given together.")
        if azimuth_labels is not None:
            direction_loss = _class_loss(logits["azimuth_logits"], azimuth_labels) + _class_loss(
                logits["elevation_logits"], elevation_labels
            )
        if accdoa_labels is not None:
            if self.accdoa_head is None:
                raise ValueError("accdoa_labels need the multi-ACCDOA head: set num_accdoa_tracks > 0 in the config.")
            accdoa_loss = adpit_loss(logits["accdoa"], accdoa_labels)
        weighted = [
            (self.config.event_loss_weight, event_loss),
            (self.config.distance_loss_weight, distance_loss),
            (self.config.direction_loss_weight, direction_loss),
            (self.config.accdoa_loss_weight, accdoa_loss),
        ]
        terms = [weight * term for weight, term in weighted if term is not None]
        loss = torch.stack(terms).sum() if terms else None
        output = SpatialAudioClassifierOutput(
            loss=loss,
            event_loss=event_loss,
            distance_loss=distance_loss,
            direction_loss=direction_loss,
            accdoa_loss=accdoa_loss,
            hidden_states=encoder_outputs.hidden_states,
            attentions=encoder_outputs.attentions,
            **logits,
        )
        return output if return_dict else output.to_tuple()

    def decode_predictions(
        self, outputs: SpatialAudioClassifierOutput, threshold: float = 0.5, top_k: int | None = None
    ) -> list[dict]:
        """Turn head logits into readable predictions, one dict per clip.

        Events are the classes whose sigmoid score passes `threshold` (or the `top_k` best when given), sorted by
        score; distance, azimuth and elevation are the argmax classes in metres and degrees, with octant words. With
        a multi-ACCDOA head, `sources` lists every detected source (see `decode_sources`).
        """
        event_scores = torch.sigmoid(outputs.event_logits.float()).cpu()
        distance = index_to_distance(outputs.distance_logits.argmax(-1).cpu().numpy())
        azimuth = index_to_azimuth(outputs.azimuth_logits.argmax(-1).cpu().numpy())
        elevation = index_to_elevation(outputs.elevation_logits.argmax(-1).cpu().numpy())
        predictions = []
        for i, scores in enumerate(event_scores):
            order = scores.argsort(descending=True)
            chosen = order[:top_k] if top_k is not None else order[scores[order] >= threshold]
            predictions.append(
                {
                    "events": [(self.config.id2label[int(c)], float(scores[c])) for c in chosen],
                    "distance_m": float(distance[i]),
                    "azimuth_deg": float(azimuth[i]),
                    "elevation_deg": float(elevation[i]),
                    "direction": direction_words(azimuth[i], elevation[i]),
                }
            )
        if outputs.accdoa is not None:
            for prediction, sources in zip(predictions, self.decode_sources(outputs)):
                prediction["sources"] = sources
        return predictions

    def decode_sources(
        self, outputs: SpatialAudioClassifierOutput, threshold: float = 0.5, merge_deg: float = 30.0
    ) -> list[list[dict]]:
        """Per clip, every detected source: the classes the event head detects (score >= `threshold`), each at the
        direction(s) of its multi-ACCDOA tracks, with label, score, azimuth / elevation (degrees), distance (metres)
        and direction words (see `multi_accdoa.decode_accdoa`)."""
        if outputs.accdoa is None:
            raise ValueError("This model has no multi-ACCDOA head (num_accdoa_tracks = 0): use decode_predictions.")
        scores = None if outputs.event_logits is None else torch.sigmoid(outputs.event_logits.float())
        return decode_accdoa(
            outputs.accdoa, self.config.id2label, threshold=threshold, merge_deg=merge_deg, event_scores=scores
        )

    def decode_windows(
        self,
        outputs: SpatialAudioClassifierOutput,
        clip_index,
        window_start_s,
        window_s: float | None = None,
        threshold: float = 0.5,
        top_k: int | None = None,
    ) -> list[dict]:
        """Whole-clip predictions from the windows of `SpatialASTFeatureExtractor(..., windows=True)`, one per clip.

        An event is in the clip with its highest window score; the clip's distance and direction are the argmax of
        the windows' class probabilities averaged with each window's loudest event score as weight (so windows
        with nothing in them count little). `segments` keeps every window's own predictions with its start (and end,
        given the extractor's `window_s`). With a multi-ACCDOA head, each window also lists its `sources` and the
        clip's `sources` are those of all windows clustered per class by direction (`pool_window_sources`).
        """
        clip_index = torch.as_tensor(np.asarray(clip_index)).long()
        starts = np.asarray(window_start_s, dtype=np.float64)
        per_window = self.decode_predictions(outputs, threshold=threshold, top_k=top_k)
        event_scores = torch.sigmoid(outputs.event_logits.float()).cpu()
        weights = event_scores.max(-1).values
        heads = {
            name: torch.softmax(getattr(outputs, f"{name}_logits").float(), -1).cpu()
            for name in ("distance", "azimuth", "elevation")
        }
        results = []
        for clip in range(int(clip_index.max()) + 1 if len(clip_index) else 0):
            rows = (clip_index == clip).nonzero().flatten()
            if len(rows) == 0:
                raise ValueError(f"clip {clip} has no window in clip_index")
            scores = event_scores[rows].max(0).values
            weight = weights[rows] / weights[rows].sum().clamp(min=1e-12)
            pooled = {name: (probs[rows] * weight[:, None]).sum(0).argmax().item() for name, probs in heads.items()}
            order = scores.argsort(descending=True)
            chosen = order[:top_k] if top_k is not None else order[scores[order] >= threshold]
            azimuth = float(index_to_azimuth(pooled["azimuth"]))
            elevation = float(index_to_elevation(pooled["elevation"]))
            segments = []
            for row in rows.tolist():
                end = starts[row] + (window_s if window_s else 0.0)
                segments.append({"start_s": float(starts[row]), **({"end_s": float(end)} if window_s else {})})
                segments[-1].update(per_window[row])
            results.append(
                {
                    "events": [(self.config.id2label[int(c)], float(scores[c])) for c in chosen],
                    "distance_m": float(index_to_distance(pooled["distance"])),
                    "azimuth_deg": azimuth,
                    "elevation_deg": elevation,
                    "direction": direction_words(azimuth, elevation),
                    "segments": segments,
                }
            )
            if outputs.accdoa is not None:
                results[-1]["sources"] = pool_window_sources([segment["sources"] for segment in segments])
        return results


__all__ = [
    "MissingPretrainedWeightsError",
    "SpatialASTForSpatialAudioClassification",
    "SpatialASTModel",
    "SpatialASTPreTrainedModel",
    "SpatialAudioClassifierOutput",
]
