"""Train Spatial-AST with the paper's two stages, from a sound catalogue and an RIR bank rendered on read.

Paper scale (AudioSet + the authors' mp3d_reverb bank, ViT-B, 8 GPUs x 32 = batch 256, bf16; the release's recipe:
mixup 0.5 before spatialisation, SpecAugment and patch dropping from the config, AdamW (0.9, 0.95) with weight decay
5e-4, layer decay 0.75, cosine schedule with warm-up, class-balanced sampling; the release's 100 "epochs" of
10,000 clips drawn from the 2M set are 1M samples, i.e. half a pass over 2M (clip, RIR) pairs):

    accelerate launch --config_file examples/accelerate/ddp_8gpu.yaml examples/train_spatial_ast.py \\
        --rir-bank mp3d_reverb --sources audioset:AudioSet --output-dir spatial-ast-run --bf16 \\
        --num-examples 2000000 --batch-size 32 --learning-rate 1e-3 --stage1-epochs 0.25 --stage2-epochs 0.5 \\
        --class-balanced

Stage 1 trains the event loss only; stage 2 starts from stage 1's weights and adds distance and direction (loss
weights from the config: 1250 / 1 / 2 by default). Each stage saves to `<output-dir>/<stage>/final`; a finished stage
is loaded instead of trained again, so re-running the command after an interruption continues with the next stage.
The small-model options of the demo (`--fusion-channels`, `--event-loss-weight`, `--window-s`, ...) are flags here.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rir-bank", required=True, help="RIR bank folder (ours or the authors' mp3d_reverb).")
    parser.add_argument("--sources", default="procedural", help="'procedural', 'folder:PATH' or 'audioset:ROOT'.")
    parser.add_argument("--clips-per-class", type=int, default=10, help="Procedural sources only.")
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--num-examples", type=int, default=100_000, help="(clip, RIR) pairs drawn per run.")
    parser.add_argument("--stage1-epochs", type=float, default=20.0, help="Events only; 0 skips the stage.")
    parser.add_argument("--stage2-epochs", type=float, default=40.0, help="Events + distance + direction.")
    parser.add_argument("--batch-size", type=int, default=64, help="Per device.")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--layer-decay", type=float, default=0.75)
    parser.add_argument("--weight-decay", type=float, default=5e-4, help="The release's value (paper: 1e-4).")
    parser.add_argument("--warmup-steps", type=float, default=0.05, help="Steps, or a fraction below 1.")
    parser.add_argument("--mixup", type=float, default=0.5, help="Share of examples mixed before spatialisation.")
    parser.add_argument("--class-balanced", action="store_true", help="Sample clips inversely to class frequency.")
    parser.add_argument("--window-s", type=float, default=10.0, help="Feature window (loudest window if shorter).")
    parser.add_argument("--direction-sigma-deg", type=float, default=None, help="Soft direction targets (small).")
    # model size (paper defaults); smaller values for toy runs
    parser.add_argument("--hidden-size", type=int, default=768)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--num-frames", type=int, default=1024)
    parser.add_argument("--num-mel-bins", type=int, default=128)
    parser.add_argument("--fusion-channels", type=int, default=1, help="1 = the release's 4 -> 1 fusion conv.")
    parser.add_argument("--event-loss-weight", type=float, default=1250.0)
    parser.add_argument("--normalize-ipd-channels", action="store_true", help="Batch-normalise all 4 channels.")
    parser.add_argument("--bf16", action="store_true", help="bf16 mixed precision (GPU).")
    parser.add_argument("--save-steps", type=int, default=5000)
    parser.add_argument("--dataloader-workers", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--use-cpu", action="store_true", help="Force the CPU (toy runs and tests).")
    parser.add_argument(
        "--render-on-gpu",
        action="store_true",
        help="Convolve and featurise each batch on this process's GPU (no DataLoader workers): at paper size CPU "
        "rendering, not the model, limits the step rate.",
    )
    return parser.parse_args(argv)


def main(argv=None) -> Path:
    """Train both stages; returns the folder of the final model (with its feature extractor)."""
    args = parse_arguments(argv)
    import transformers_bat  # noqa: F401  (registrations)
    from transformers_bat.cli.common import open_catalogue
    from transformers_bat.models.spatial_ast import (
        SpatialASTConfig,
        SpatialASTFeatureExtractor,
        SpatialASTForSpatialAudioClassification,
    )
    from transformers_bat.simulation import RIRBank
    from transformers_bat.training import class_balanced_weights, examples_from_bank, train_encoder_stages

    output_dir = Path(args.output_dir)
    catalogue = open_catalogue(args.sources, args.clips_per_class, args.seed)
    bank = RIRBank.open(args.rir_bank, split="train")
    config = SpatialASTConfig(
        hidden_size=args.hidden_size,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        intermediate_size=4 * args.hidden_size,
        num_frames=args.num_frames,
        num_mel_bins=args.num_mel_bins,
        id2label=dict(enumerate(catalogue.class_names)),
        fusion_channels=args.fusion_channels,
        event_loss_weight=args.event_loss_weight,
        normalize_ipd_channels=args.normalize_ipd_channels,
    )
    extractor = SpatialASTFeatureExtractor(
        max_length_s=args.window_s, num_frames=args.num_frames, num_mel_bins=args.num_mel_bins
    )
    model = SpatialASTForSpatialAudioClassification(config)
    examples = examples_from_bank(catalogue, bank, args.num_examples, args.seed)
    weights = class_balanced_weights(examples, config.label2id) if args.class_balanced else None
    render_device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if args.render_on_gpu else "cpu"
    train_encoder_stages(
        model,
        examples,
        catalogue,
        bank,
        extractor,
        output_dir,
        (args.stage1_epochs, args.stage2_epochs),
        dict(
            per_device_train_batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            warmup_steps=args.warmup_steps,
            weight_decay=args.weight_decay,
            bf16=args.bf16,
            use_cpu=args.use_cpu,
            logging_steps=50,
            save_steps=args.save_steps,
            seed=args.seed,
            dataloader_num_workers=0 if args.render_on_gpu else args.dataloader_workers,
            dataloader_pin_memory=not args.render_on_gpu,
            ddp_find_unused_parameters=False,
        ),
        layer_decay=args.layer_decay,
        class_balanced_weights=weights,
        resumable=True,
        mixup_probability=args.mixup,
        direction_sigma_deg=args.direction_sigma_deg,
        seed=args.seed,
        device=render_device,
    )
    stages = (("stage1", args.stage1_epochs), ("stage2", args.stage2_epochs))
    trained = [stage for stage, epochs in stages if epochs > 0]
    return output_dir / trained[-1] / "final" if trained else output_dir


if __name__ == "__main__":
    main()
