"""Entry point of the ``transformers-bat`` command.

Each command lives in its own module of this package with two functions, ``add_arguments(parser)`` and
``run(args) -> int``; modules are imported only when their command runs, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
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
    "verify": ("verify", "Check an RIR bank's or a dataset's files against their recorded sizes and SHA-256."),
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


# Set to see the traceback of an error that is reported as a one-line message.
TRACEBACK_VARIABLE = "TRANSFORMERS_BAT_TRACEBACK"


def _is_user_error(error: BaseException) -> bool:
    """Errors a user can act on from the message alone: bad values, missing or damaged files, missing assets."""
    if isinstance(error, (ValueError, OSError)):
        return True
    from ..data.rendering import MissingAssetError

    return isinstance(error, MissingAssetError)


def main(argv: list[str] | None = None) -> int:
    """Run a command. A user error prints ``transformers-bat CMD: error: MESSAGE`` and returns 2 (no traceback)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    module = importlib.import_module(f"transformers_bat.cli.{args._module}")
    try:
        return int(module.run(args) or 0)
    except Exception as error:
        if not _is_user_error(error) or os.environ.get(TRACEBACK_VARIABLE):
            raise
        print(f"{parser.prog} {args.command}: error: {error}", file=sys.stderr)
        print(f"(set {TRACEBACK_VARIABLE}=1 to see where it was raised)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
