"""The dataset card of a SpatialSoundQA folder: huggingface_hub metadata (``configs:`` one per stage, licence, size,
pretty name) + a filled-in template + the citation.

``load_dataset(folder, "stage2")`` reads the YAML; the text says what the records are, how many of each kind
there are, and with which settings they were made. The full template used for publishing lives in
``dataset_script/templates/dataset_card.md``; a compact one is built in.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from pathlib import Path

from ..files import atomic_write_text
from ..model_cards import BAT_CITATION
from . import question_types as qt
from .records import COLUMNS


def configs_metadata(counts_by_split: Mapping[str, Mapping[str, int]], fingerprint: str) -> list[dict]:
    """The card's ``configs:``: one config per stage (stage3 the default), each with the splits that have data.

    ``stage4`` (ours: stage 3 plus the types beyond the paper) is written only when the folder has such types.
    """
    configs = []
    beyond = {t for counts in counts_by_split.values() for t, n in counts.items() if n > 0} - set(qt.QUESTION_TYPES)
    for stage in qt.STAGES:
        if stage not in qt.PAPER_STAGES and not beyond & set(qt.stage_types(stage)):
            continue
        data_files = []
        for split, counts in counts_by_split.items():
            types = [t for t in qt.stage_types(stage) if counts.get(t, 0) > 0]
            if types:
                data_files.append(
                    {"split": split, "path": [f"data/{split}/{t}/*-{fingerprint}.parquet" for t in types]}
                )
        if data_files:
            configs.append(
                {"config_name": stage, **({"default": True} if stage == "stage3" else {}), "data_files": data_files}
            )
    return configs


def size_category(num_records: int) -> str:
    """The Hub's size bucket for a number of records (n<1K, 1K<n<10K, ...)."""
    buckets = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"))
    for limit, name in buckets:
        if num_records < limit:
            return name
    return "1M<n<10M" if num_records < 10_000_000 else "10M<n<100M"


def _card_data(configs: list[dict], license: str, num_records: int | None):
    from huggingface_hub import DatasetCardData

    return DatasetCardData(
        pretty_name="SpatialSoundQA (generated with transformers-bat)",
        license=license,
        language=["en"],
        task_categories=["audio-classification", "question-answering"],
        size_categories=[size_category(num_records)] if num_records is not None else None,
        tags=["spatial-audio", "binaural", "transformers-bat"],
        configs=configs,
    )


def _save_card(output_dir: Path, card_data, body: str) -> Path:
    from huggingface_hub import DatasetCard

    path = Path(output_dir) / "README.md"
    text = f"---\n{card_data.to_yaml()}\n---\n\n{body}"
    DatasetCard(text)  # parses the metadata: a card the Hub would reject fails here
    atomic_write_text(path, text)
    return path


DEFAULT_CARD_TEMPLATE = """\
# SpatialSoundQA (generated with transformers-bat)

Spatial-audio question answering in the format of BAT (Zheng et al., ICML 2024). Records hold ids of a sound clip
and a binaural room impulse response per source, the question, the rule-based answer and the scene ground truth;
audio is rendered when a record is read (`transformers_bat.data.SceneRenderer`).

Configs are the paper's cumulative curriculum: `stage1` = A+B, `stage2` = A-D, `stage3` = A-E (and, when the
folder has scenes of three or more sources, `stage4` = A-E plus the types beyond the paper). Each record's
`sources` column lists its sources, source 1 first.
Train and test use disjoint rooms and disjoint source clips.

## Counts
```
$summary
```

## Columns
$columns

## Generation
```
$settings
```
"""


def write_card(
    output_dir: Path,
    counts_by_split: Mapping[str, Mapping[str, int]],
    summary: str,
    settings: Mapping,
    *,
    fingerprint: str,
    template=None,
    license: str = "other",
    audio: bool = False,
) -> Path:
    """README.md = metadata (huggingface_hub ``DatasetCardData``: pretty name, licence, size, configs) + the template
    filled with counts, columns and settings + the citation.

    ``license``: of the records and the audio they point at (e.g. "apache-2.0" for procedural sounds in simulated
    rooms, "cc-by-nc-4.0" for the authors' release, "other" when the clips keep their own licences).
    """
    body = Path(template).read_text() if template is not None else DEFAULT_CARD_TEMPLATE
    described = dict(COLUMNS)
    if audio:  # records that carry their rendered clip
        from .materialized_audio import AUDIO_COLUMNS

        described |= AUDIO_COLUMNS
    columns = "\n".join(f"- `{name}` ({dtype}): {meaning}" for name, (dtype, meaning) in described.items())
    text = string.Template(body).safe_substitute(
        summary=summary,
        columns=columns,
        settings=json.dumps(dict(settings), indent=2, sort_keys=True),
    )
    if license == "other":
        text += "\n## Licence\n\nThe records follow the licence of the sound clips they point at.\n"
    text += f"\n## Citation\n\nThe SpatialSoundQA format is BAT's:\n\n```bibtex\n{BAT_CITATION}\n```\n"
    num_records = sum(sum(counts.values()) for counts in counts_by_split.values())
    return _save_card(
        output_dir, _card_data(configs_metadata(counts_by_split, fingerprint), license, num_records), text
    )


# What the configs of an unfinished folder point at: datasets' "Unable to find '<folder>/<this>'" then says what to do.
INCOMPLETE_DATA_FILE = "GENERATION-INCOMPLETE--rerun-the-same-generate-qa-command-to-finish"


def write_incomplete_card(output_dir: Path) -> Path:
    """The card of a folder whose shards are still being written: every config points at a missing file.

    Without it, ``load_dataset`` on a killed run's folder loaded the shards that happened to exist (510 of 540
    records) with no warning.
    """
    configs = [
        {
            "config_name": stage,
            **({"default": True} if stage == "stage3" else {}),
            "data_files": [{"split": "train", "path": INCOMPLETE_DATA_FILE}],
        }
        for stage in qt.STAGES
    ]
    body = (
        "# SpatialSoundQA: generation not finished\n\nSome shards of this folder are still missing. Rerun the same "
        "`transformers-bat generate-qa` command (or `write_dataset` call) to finish it; the card is replaced then.\n"
    )
    return _save_card(output_dir, _card_data(configs, "other", None), body)
