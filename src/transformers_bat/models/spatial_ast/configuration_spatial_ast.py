"""Spatial-AST configuration."""

from __future__ import annotations

from transformers import PreTrainedConfig

from ...remote_code import drop_custom_pipelines_if_packaged

PIPELINE_TASK = "spatial-audio-classification"
# the package modules a saved Spatial-AST needs for `trust_remote_code` loading (see `transformers_bat.remote_code`)
REMOTE_CODE_MODULES = (
    "models.spatial_ast.configuration_spatial_ast",
    "models.spatial_ast.modeling_spatial_ast",
    "models.spatial_ast.feature_extraction_spatial_ast",
    "pipelines.spatial_audio_classification",
)


class SpatialASTConfig(PreTrainedConfig):
    r"""
    Configuration of a Spatial-AST binaural audio encoder and its event / distance / direction heads. The defaults
    are the model of the BAT paper and of the authors' released checkpoint (85,963,194 trainable parameters).

    Args:
        hidden_size (`int`, *optional*, defaults to 768): width of the transformer.
        num_hidden_layers (`int`, *optional*, defaults to 12): number of pre-norm transformer blocks.
        num_attention_heads (`int`, *optional*, defaults to 12): attention heads per block.
        intermediate_size (`int`, *optional*, defaults to 3072): width of the MLP inside each block.
        hidden_act (`str`, *optional*, defaults to `"gelu"`): MLP activation.
        qkv_bias (`bool`, *optional*, defaults to `True`): bias on the fused query/key/value projection.
        layer_norm_eps (`float`, *optional*, defaults to 1e-6): epsilon of every LayerNorm.
        hidden_dropout_prob (`float`, *optional*, defaults to 0.0): dropout after attention and MLP.
        attention_probs_dropout_prob (`float`, *optional*, defaults to 0.0): dropout on attention weights.
        drop_path_rate (`float`, *optional*, defaults to 0.1): stochastic depth of the last block, rising linearly
            from 0 over depth (training only).
        initializer_range (`float`, *optional*, defaults to 0.02): std of the CLS tokens' normal init.
        head_initializer_range (`float`, *optional*, defaults to 2e-5): std of the heads' truncated normal init.
        num_input_channels (`int`, *optional*, defaults to 4): feature channels [logmel L, logmel R, cos IPD,
            sin IPD].
        num_mel_bins (`int`, *optional*, defaults to 128): mel bins of the features (frequency axis).
        num_frames (`int`, *optional*, defaults to 1024): frames of the features (time axis).
        patch_size (`int`, *optional*, defaults to 16): square patch size; frames and mel bins must divide by it.
        num_cls_tokens (`int`, *optional*, defaults to 3): learnable tokens [distance, direction, event].
        num_distance_bins (`int`, *optional*, defaults to 21): distance classes (0.5 m steps, 0-10 m).
        num_azimuth_bins (`int`, *optional*, defaults to 360): azimuth classes (1 degree).
        num_elevation_bins (`int`, *optional*, defaults to 180): elevation classes (1 degree).
        spec_augment_freq_mask (`int`, *optional*, defaults to 48): largest frequency mask (training only).
        spec_augment_time_mask (`int`, *optional*, defaults to 192): largest time mask (training only).
        patch_drop_time_ratio (`float`, *optional*, defaults to 0.25): share of patch rows (time) dropped in
            training.
        patch_drop_freq_ratio (`float`, *optional*, defaults to 0.25): share of patch columns (frequency) dropped
            in training.
        event_loss_weight (`float`, *optional*, defaults to 1250.0): weight of the multi-label event BCE.
        distance_loss_weight (`float`, *optional*, defaults to 1.0): weight of the distance cross-entropy.
        direction_loss_weight (`float`, *optional*, defaults to 2.0): weight of azimuth CE + elevation CE.
        normalize_ipd_channels (`bool`, *optional*, defaults to `False`): deviation for small models. The
            faithful model batch-normalises only the two log-mel channels, leaving the IPD channels ~50x smaller;
            `True` normalises all four (not compatible with the authors' checkpoint).
        fusion_channels (`int`, *optional*, defaults to 1): output channels of the 3x3 fusion conv that mixes the
            four feature channels before patching. The release fuses to ONE channel; at small width that
            bottleneck makes interaural differences hard to keep next to the spectra (a 4-layer, 128-wide model
            learns almost no direction with 1, and left/right ~97% with 16). Values other than 1 are a
            small-model deviation, not compatible with the authors' checkpoint.
        id2label (`dict[int, str]`, *optional*): event class names; 355 generic names by default.
        num_accdoa_tracks (`int`, *optional*, defaults to 0): beyond the paper: with N > 0 the model also has a
            multi-ACCDOA head (`models.spatial_ast.multi_accdoa`) giving, per event class and for up to N sources of
            that class, an activity-coupled direction and a distance, so scenes of several sources at different
            places can be described. 0 (the paper's model) has no such head.
        accdoa_loss_weight (`float`, *optional*, defaults to 1.0): weight of the multi-ACCDOA (ADPIT) loss.
    """

    model_type = "spatial_ast"
    # outputs the Trainer leaves out of predictions: predictions are then (event, distance, azimuth, elevation) logits
    keys_to_ignore_at_inference = [
        "event_loss",
        "distance_loss",
        "direction_loss",
        "accdoa_loss",
        "hidden_states",
        "attentions",
    ]

    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    qkv_bias: bool = True
    layer_norm_eps: float = 1e-6
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    drop_path_rate: float = 0.1
    initializer_range: float = 0.02
    head_initializer_range: float = 2e-5
    num_input_channels: int = 4
    num_mel_bins: int = 128
    num_frames: int = 1024
    patch_size: int = 16
    num_cls_tokens: int = 3
    num_distance_bins: int = 21
    num_azimuth_bins: int = 360
    num_elevation_bins: int = 180
    spec_augment_freq_mask: int = 48
    spec_augment_time_mask: int = 192
    patch_drop_time_ratio: float = 0.25
    patch_drop_freq_ratio: float = 0.25
    event_loss_weight: float = 1250.0
    distance_loss_weight: float = 1.0
    direction_loss_weight: float = 2.0
    normalize_ipd_channels: bool = False
    fusion_channels: int = 1
    num_accdoa_tracks: int = 0
    accdoa_loss_weight: float = 1.0

    def __post_init__(self, **kwargs):
        drop_custom_pipelines_if_packaged(kwargs, __name__)
        if self.id2label is None:
            kwargs.setdefault("num_labels", 355)
        super().__post_init__(**kwargs)
        if self.label2id is None or len(self.label2id) != len(self.id2label):
            self.label2id = {name: index for index, name in self.id2label.items()}
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be a multiple of num_attention_heads "
                f"({self.num_attention_heads})."
            )
        if self.num_frames % self.patch_size or self.num_mel_bins % self.patch_size:
            raise ValueError(
                f"num_frames ({self.num_frames}) and num_mel_bins ({self.num_mel_bins}) must be multiples of "
                f"patch_size ({self.patch_size})."
            )
        if self.fusion_channels < 1:
            raise ValueError(f"fusion_channels must be at least 1, got {self.fusion_channels}.")
        if not 0 <= self.num_accdoa_tracks <= 4:
            raise ValueError(
                f"num_accdoa_tracks must be in 0..4 (0: no multi-ACCDOA head), got {self.num_accdoa_tracks}."
            )
        if self.num_cls_tokens != 3:
            raise ValueError("Spatial-AST has exactly 3 CLS tokens: [distance, direction, event].")

    @property
    def patch_grid(self) -> tuple[int, int]:
        """(time rows, frequency columns) of the patch grid: (64, 8) by default."""
        return self.num_frames // self.patch_size, self.num_mel_bins // self.patch_size

    @property
    def num_patches(self) -> int:
        rows, columns = self.patch_grid
        return rows * columns


__all__ = ["PIPELINE_TASK", "REMOTE_CODE_MODULES", "SpatialASTConfig"]
