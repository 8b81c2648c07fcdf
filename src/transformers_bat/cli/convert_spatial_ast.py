"""`transformers-bat convert-spatial-ast`: the authors' finetuned.pth -> safetensors + config + preprocessor."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="Path to the authors' SpatialAST/finetuned.pth.")
    parser.add_argument("output_dir", help="Folder to write model.safetensors, config.json, preprocessor_config.json.")
    parser.add_argument(
        "--class-labels-csv",
        help="AudioSet class CSV (index,mid,display_name), e.g. the release's class_labels_indices_subset.csv, "
        "to name the 355 event classes.",
    )
    parser.add_argument(
        "--num-attention-heads", type=int, help="Attention heads (not stored in the weights; default hidden/64)."
    )
    parser.add_argument(
        "--allow-global",
        action="append",
        default=[],
        metavar="MODULE.NAME",
        help="Extra pickled global to trust when reading the file (only for files you trust).",
    )


def run(args: argparse.Namespace) -> int:
    """Conversion errors (a CheckpointConversionError naming the file and tensors) exit 2 through cli.main."""
    from transformers_bat.models.spatial_ast.convert_spatial_ast_checkpoint import convert_spatial_ast_checkpoint

    model = convert_spatial_ast_checkpoint(
        args.checkpoint,
        args.output_dir,
        class_labels_csv=args.class_labels_csv,
        num_attention_heads=args.num_attention_heads,
        allowed_globals=tuple(args.allow_global),
    )
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"Converted {args.checkpoint} -> {args.output_dir} ({trainable:,} trainable parameters).")
    return 0
