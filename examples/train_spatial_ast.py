"""Train Spatial-AST with the paper's two stages, from a sound catalogue and an RIR bank rendered on read.

Paper scale (AudioSet + the authors' mp3d_reverb bank, ViT-B, 8 GPUs x 32 = batch 256, bf16; the release's recipe:
mixup 0.5 before spatialisation, SpecAugment and patch dropping from the config, AdamW (0.9, 0.95) with weight decay
5e-4, layer decay 0.75, cosine schedule with warm-up, class-balanced sampling; the release's 100 "epochs" of
10,000 clips drawn from the 2M set are 1M samples, i.e. half a pass over 2M (clip, RIR) pairs):

    accelerate launch --config_file examples/accelerate/ddp_8gpu.yaml examples/train_spatial_ast.py \\
        --rir_bank mp3d_reverb --sources audioset:AudioSet --output_dir spatial-ast-run --bf16 \\
        --num_examples 2000000 --per_device_train_batch_size 32 --learning_rate 1e-3 --stage1_epochs 0.25 \\
        --stage2_epochs 0.5 --class_balanced --num_eval_examples 2000 --eval_strategy steps --eval_steps 5000

Every `TrainingArguments` field is a flag (`HfArgumentParser`: `--report_to wandb`, `--push_to_hub`,
`--gradient_checkpointing`, `--eval_strategy` ...; dashes work too); the defaults below are the release's. Stage 1
trains the event loss only; stage 2 starts from stage 1's weights and adds distance and direction (loss weights
from the config: 1250 / 1 / 2 by default), evaluated on `--num_eval_examples` (clip, RIR) pairs drawn with another
seed (mAP, DER, ER20, MAE and octant accuracies; held-out rooms and clips: run `transformers-bat
evaluate-spatial-ast` on a generated dataset's test split). Each stage saves to `<output_dir>/<stage>/final`, the
last with a model card; a finished stage is loaded instead of trained again, so re-running the command after an
interruption continues with the next stage. The small-model options of the demo (`--fusion_channels`,
`--event_loss_weight`, `--window_s`, ...) are flags too.
"""

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from transformers import TrainingArguments


@dataclass
class ModelArguments:
    """Model size (the paper's by default; smaller for toy runs) and the two stages."""

    hidden_size: int = 768
    layers: int = 12
    heads: int = 12
    num_frames: int = 1024
    num_mel_bins: int = 128
    fusion_channels: int = field(default=1, metadata={"help": "1 = the release's 4 -> 1 fusion conv."})
    event_loss_weight: float = 1250.0
    normalize_ipd_channels: bool = field(default=False, metadata={"help": "Batch-normalise all 4 channels."})
    layer_decay: float = 0.75
    stage1_epochs: float = field(default=20.0, metadata={"help": "Events only; 0 skips the stage."})
    stage2_epochs: float = field(default=40.0, metadata={"help": "Events + distance + direction."})


@dataclass
class DataArguments:
    """Where the clips and RIRs come from and how examples are drawn and rendered."""

    rir_bank: str = field(metadata={"help": "RIR bank folder (ours or the authors' mp3d_reverb)."})
    sources: str = field(default="procedural", metadata={"help": "'procedural', 'folder:PATH' or 'audioset:ROOT'."})
    clips_per_class: int = field(default=10, metadata={"help": "Procedural sources only."})
    num_examples: int = field(default=100_000, metadata={"help": "(clip, RIR) pairs drawn per run."})
    num_eval_examples: int = field(default=0, metadata={"help": "Pairs to evaluate stage 2 on (0: none)."})
    mixup: float = field(default=0.5, metadata={"help": "Share of examples mixed before spatialisation."})
    class_balanced: bool = field(default=False, metadata={"help": "Sample clips inversely to class frequency."})
    window_s: float = field(default=10.0, metadata={"help": "Feature window (loudest window if shorter)."})
    direction_sigma_deg: float | None = field(default=None, metadata={"help": "Soft direction targets (small)."})
    render_on_gpu: bool = field(
        default=False,
        metadata={
            "help": "Convolve and featurise each batch on this process's GPU (no DataLoader workers): at paper "
            "size CPU rendering, not the model, limits the step rate."
        },
    )


# The release's recipe where it differs from TrainingArguments' defaults (and SCRIPT_DEFAULTS)
RECIPE_DEFAULTS = dict(
    per_device_train_batch_size=64,
    learning_rate=1e-3,
    weight_decay=5e-4,  # the release's value (paper: 1e-4)
    warmup_steps=0.05,
    save_steps=5000,
    dataloader_num_workers=8,
)


def parse_arguments(argv=None) -> tuple[ModelArguments, DataArguments, TrainingArguments]:
    from transformers_bat.training.arguments import parse_script_arguments

    types = (ModelArguments, DataArguments, TrainingArguments)
    return parse_script_arguments(types, RECIPE_DEFAULTS, argv, __doc__.splitlines()[0])


def main(argv=None) -> Path:
    """Train both stages; returns the folder of the final model (with its feature extractor and card)."""
    model_args, data_args, training_args = parse_arguments(argv)
    import transformers_bat  # noqa: F401  (registrations)
    from transformers_bat.cli.common import open_catalogue
    from transformers_bat.model_cards import write_model_card
    from transformers_bat.models.spatial_ast import (
        SpatialASTConfig,
        SpatialASTFeatureExtractor,
        SpatialASTForSpatialAudioClassification,
    )
    from transformers_bat.simulation import RIRBank
    from transformers_bat.training import class_balanced_weights, examples_from_bank, train_encoder_stages
    from transformers_bat.training.arguments import changed_training_arguments

    output_dir = Path(training_args.output_dir)
    seed = training_args.seed
    catalogue = open_catalogue(data_args.sources, data_args.clips_per_class, seed)
    bank = RIRBank.open(data_args.rir_bank, split="train")
    config = SpatialASTConfig(
        hidden_size=model_args.hidden_size,
        num_hidden_layers=model_args.layers,
        num_attention_heads=model_args.heads,
        intermediate_size=4 * model_args.hidden_size,
        num_frames=model_args.num_frames,
        num_mel_bins=model_args.num_mel_bins,
        id2label=dict(enumerate(catalogue.class_names)),
        fusion_channels=model_args.fusion_channels,
        event_loss_weight=model_args.event_loss_weight,
        normalize_ipd_channels=model_args.normalize_ipd_channels,
    )
    extractor = SpatialASTFeatureExtractor(
        max_length_s=data_args.window_s, num_frames=model_args.num_frames, num_mel_bins=model_args.num_mel_bins
    )
    model = SpatialASTForSpatialAudioClassification(config)
    examples = examples_from_bank(catalogue, bank, data_args.num_examples, seed)
    eval_examples = None
    if data_args.num_eval_examples > 0:
        eval_examples = examples_from_bank(catalogue, bank, data_args.num_eval_examples, seed + 1)
    weights = class_balanced_weights(examples, config.label2id) if data_args.class_balanced else None
    render_device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if data_args.render_on_gpu else "cpu"
    overrides = changed_training_arguments(training_args)
    if data_args.render_on_gpu:
        overrides.update(dataloader_num_workers=0, dataloader_pin_memory=False)
    train_encoder_stages(
        model,
        examples,
        catalogue,
        bank,
        extractor,
        output_dir,
        (model_args.stage1_epochs, model_args.stage2_epochs),
        overrides,
        layer_decay=model_args.layer_decay,
        class_balanced_weights=weights,
        resumable=True,
        mixup_probability=data_args.mixup,
        direction_sigma_deg=data_args.direction_sigma_deg,
        seed=seed,
        device=render_device,
        eval_examples=eval_examples,
    )
    stages = (("stage1", model_args.stage1_epochs), ("stage2", model_args.stage2_epochs))
    trained = [stage for stage, epochs in stages if epochs > 0]
    if not trained:
        return output_dir
    final = output_dir / trained[-1] / "final"
    results = final / "eval_results.json"
    write_model_card(
        final,
        "spatial_ast",
        description=f"A Spatial-AST trained with examples/train_spatial_ast.py on {data_args.sources} sounds.",
        training={
            "command": "examples/train_spatial_ast.py",
            "rir bank": data_args.rir_bank,
            "examples": data_args.num_examples,
            "stage epochs": f"{model_args.stage1_epochs:g} / {model_args.stage2_epochs:g}",
            "seed": seed,
            **{key: value for key, value in overrides.items() if not key.endswith("_token")},
        },
        metrics=json.loads(results.read_text()) if results.is_file() else None,
    )
    return final


if __name__ == "__main__":
    main()
