"""``transformers-bat verify``: check an RIR bank's or a SpatialSoundQA folder's files against their hashes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, help="an RIR bank (has bank.json) or a dataset folder (has checksums.json)")
    parser.add_argument("--quick", action="store_true", help="check sizes only (what every open does), not hashes")


def run(args: argparse.Namespace) -> int:
    """0: every file as written; 1: problems found (listed, each with how to repair it)."""
    from ..data.dataset_folder import dataset_problems
    from ..simulation.rir_bank import SETTINGS_FILE, RIRBank, RIRFileError

    path: Path = args.path
    if (path / SETTINGS_FILE).is_file():
        kind = "RIR bank"
        try:
            problems = RIRBank.open(path).verify(full=not args.quick, raise_error=False)
        except RIRFileError as error:  # opening already found damage (sizes)
            problems = str(error).splitlines()[1:]
    elif path.is_dir() and any((path / name).is_file() for name in ("checksums.json", "generation.json")):
        kind = "dataset"
        problems = dataset_problems(path, full=not args.quick)
    else:
        raise FileNotFoundError(f"{path} is neither an RIR bank (no {SETTINGS_FILE}) nor a generated dataset folder")
    for problem in problems:
        print(problem.strip(), file=sys.stderr)
    checked = "sizes" if args.quick else "sizes and SHA-256"
    print(f"{kind} {path}: {'OK' if not problems else f'{len(problems)} problem(s)'} ({checked} checked)")
    return 1 if problems else 0
