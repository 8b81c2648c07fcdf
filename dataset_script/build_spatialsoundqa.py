"""Builder of SpatialSoundQA dataset folders (parquet shards + README card with YAML configs).

datasets 5.x loads no scripts: this script WRITES the folder that ``load_dataset(folder, "stage3")`` reads.

    # a new balanced dataset from an RIR bank and a sound catalogue
    python dataset_script/build_spatialsoundqa.py generate OUT --rir-bank BANK --sources procedural --per-type 1000

    # the authors' release, converted to the same features (scene ground truth joined in)
    python dataset_script/build_spatialsoundqa.py convert-release OUT --closed-end SpatialSoundQA/closed-end \
        --reverb mp3d_reverb --audioset AudioSet

    # a generated folder written back in the release's closed-end/ JSON layout (for the authors' code)
    python dataset_script/build_spatialsoundqa.py export-release OUT_FOLDER --closed-end exported/closed-end

``generate`` and ``convert-release`` use the card template beside this script (``templates/dataset_card.md``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

CARD_TEMPLATE = Path(__file__).with_name("templates") / "dataset_card.md"


def generate(args: argparse.Namespace) -> int:
    from transformers_bat.cli import generate_qa

    return generate_qa.run(args)


def convert_release(args: argparse.Namespace) -> int:
    from transformers_bat.data import AuthorsRelease
    from transformers_bat.data.dataset_writer import write_records_folder

    release = AuthorsRelease(args.closed_end, args.reverb, args.audioset)
    by_split: dict[str, list[dict]] = {}
    for split in ("train", "test"):
        # stage3 holds every type of the release's train set; its test files are the reasoning evaluations,
        # so the earlier stages' test files are added too
        stages = ["stage3"] if split == "train" else ["stage1", "stage2", "stage3"]
        by_split[split] = [r for stage in stages for r in release.records(stage, split, check=not args.no_check)]
    report = write_records_folder(
        args.output_dir,
        by_split,
        card_template=CARD_TEMPLATE,
        settings={"source": "authors' SpatialSoundQA release", "closed_end": str(args.closed_end)},
        license="cc-by-nc-4.0",  # the release's licence
    )
    print(report.table())
    return 0


def export_release(args: argparse.Namespace) -> int:
    import datasets

    from transformers_bat.data import export_release_layout

    loaded = datasets.load_dataset(str(args.dataset_dir), "stage3")
    paths = export_release_layout({split: loaded[split] for split in loaded}, args.closed_end)
    print("\n".join(str(path) for path in paths))
    return 0


def main(argv: list[str] | None = None) -> int:
    from transformers_bat.cli import generate_qa

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    generate_parser = commands.add_parser("generate", help="generate a balanced dataset")
    generate_qa.add_arguments(generate_parser)
    generate_parser.set_defaults(func=generate, card_template=CARD_TEMPLATE)
    convert = commands.add_parser("convert-release", help="convert the authors' release")
    convert.add_argument("output_dir", type=Path)
    convert.add_argument("--closed-end", type=Path, required=True, help="the release's SpatialSoundQA/closed-end")
    convert.add_argument("--reverb", type=Path, required=True, help="the unzipped mp3d_reverb folder")
    convert.add_argument("--audioset", type=Path, required=True, help="the AudioSet folder (clips + metadata/)")
    convert.add_argument("--no-check", action="store_true", help="skip checking that every id exists")
    convert.set_defaults(func=convert_release)
    export = commands.add_parser("export-release", help="write a generated folder as the release's JSON files")
    export.add_argument("dataset_dir", type=Path)
    export.add_argument("--closed-end", type=Path, required=True, help="output folder (closed-end layout)")
    export.set_defaults(func=export_release)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
