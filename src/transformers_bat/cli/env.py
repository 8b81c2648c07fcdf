"""`transformers-bat env`: the versions that matter for a bug report, read from package metadata (nothing imported)."""

from __future__ import annotations

import argparse
import json
import platform
from importlib import metadata

from packaging.requirements import Requirement

# distribution names, in the order a report lists them
PACKAGES = (
    "transformers-bat",
    "torch",
    "transformers",
    "datasets",
    "peft",
    "accelerate",
    "huggingface_hub",
    "tokenizers",
    "safetensors",
    "pyroomacoustics",
    "numpy",
    "scipy",
    "soundfile",
    "soxr",
)


def installed_version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment_report() -> dict[str, str]:
    """Python, platform and package versions, plus the transformers range this release declares."""
    report = {"Python": platform.python_version(), "Platform": platform.platform()}
    report.update({name: installed_version(name) for name in PACKAGES})
    try:
        requirements = metadata.requires("transformers-bat") or []
    except metadata.PackageNotFoundError:
        requirements = []
    for line in requirements:
        requirement = Requirement(line)
        if requirement.name == "transformers" and requirement.marker is None:
            report["transformers supported"] = str(requirement.specifier)
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="Print one JSON object instead of a list.")


def run(args: argparse.Namespace) -> int:
    report = environment_report()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print("Copy-and-paste the text below in your bug report.\n")
        print("\n".join(f"- {name}: {value}" for name, value in report.items()))
    return 0
