"""`transformers-bat convert-bat`: the authors' BAT/model.pt + LLaMA-2 + converted Spatial-AST -> BAT + adapter."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="Path to the authors' BAT/model.pt (projector + LoRA state dict).")
    parser.add_argument("output_dir", help="Folder for the BAT checkpoint (+ adapter/ with the LoRA adapter).")
    parser.add_argument("--llama-dir", required=True, help="Local Llama-2-7b-hf directory (weights + tokenizer).")
    parser.add_argument(
        "--spatial-ast-dir", required=True, help="Spatial-AST folder (from `transformers-bat convert-spatial-ast`)."
    )
    parser.add_argument("--tokenizer-dir", help="Tokenizer folder, if not the LLaMA directory.")
    parser.add_argument("--lora-alpha", type=float, default=32, help="LoRA alpha (not in model.pt; default 32).")
    parser.add_argument("--lora-dropout", type=float, default=0.05, help="LoRA dropout for further training.")
    parser.add_argument("--qformer-heads", type=int, help="Q-Former attention heads (default hidden/64 = 12).")
    parser.add_argument("--merge", action="store_true", help="Merge LoRA into the LM instead of saving an adapter.")
    parser.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], help="Save the model in this dtype.")


def run(args: argparse.Namespace) -> int:
    """Conversion errors (a CheckpointConversionError naming the file and tensors) exit 2 through cli.main."""
    import torch

    from transformers_bat.models.bat.convert_bat_checkpoint import convert_bat_checkpoint

    convert_bat_checkpoint(
        args.checkpoint,
        args.llama_dir,
        args.spatial_ast_dir,
        args.output_dir,
        tokenizer_dir=args.tokenizer_dir,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        qformer_heads=args.qformer_heads,
        merge=args.merge,
        dtype=getattr(torch, args.dtype) if args.dtype else None,
    )
    where = args.output_dir if args.merge else f"{args.output_dir} (adapter in {args.output_dir}/adapter)"
    print(f"Converted {args.checkpoint} -> {where}.")
    return 0
