"""Entry point of the ``transformers-bat`` command.

Each command lives in its own module of this package with two functions, ``add_arguments(parser)`` and
``run(args) -> int``; modules are imported only when their command runs, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .env import installed_version

# command name -> (module under transformers_bat.cli, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "convert-spatial-ast": ("convert_spatial_ast", "Convert the authors' Spatial-AST finetuned.pth to safetensors."),
    "render-rirs": ("render_rirs", "Render a bank of binaural room impulse responses (resumable)."),
    "convert-bat": ("convert_bat", "Convert the authors' BAT/model.pt into a BAT checkpoint + LoRA adapter."),
    "evaluate-spatial-ast": ("evaluate_spatial_ast", "Spatial-AST metrics (mAP, DER, ER20, MAE) on a split's clips."),
    "evaluate-bat": (
        "evaluate_bat",
        "Answer a SpatialSoundQA split with a BAT; write predictions and a Table-4 report.",
    ),
    "demo": ("demo", "The end-to-end demo: simulate data, train small Spatial-AST and BAT on CPU, evaluate, ask."),
    "generate-qa": ("generate_qa", "Generate a balanced SpatialSoundQA dataset (parquet + card) from RIRs and clips."),
    "env": ("env", "Print the versions of Python, torch, transformers and the rest, for bug reports."),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="transformers-bat", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version('transformers-bat')}")
    subparsers = parser.add_subparsers(dest="command", metavar="command")
    for name, (module_name, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(_module=module_name)
        importlib.import_module(f"transformers_bat.cli.{module_name}").add_arguments(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    module = importlib.import_module(f"transformers_bat.cli.{args._module}")
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
