"""The dataset card of a SpatialSoundQA folder: YAML ``configs:`` (one per stage) + a filled-in template.

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
from . import question_types as qt
from .records import COLUMNS


def configs_yaml(counts_by_split: Mapping[str, Mapping[str, int]], fingerprint: str) -> str:
    """The YAML ``configs:`` block: one config per stage, each with the splits that have data."""
    lines = ["configs:"]
    for stage in qt.STAGES:
        splits = []
        for split, counts in counts_by_split.items():
            types = [t for t in qt.stage_types(stage) if counts.get(t, 0) > 0]
            if types:
                splits.append((split, types))
        if not splits:
            continue
        lines.append(f"- config_name: {stage}")
        if stage == "stage3":
            lines.append("  default: true")
        lines.append("  data_files:")
        for split, types in splits:
            lines.append(f"  - split: {split}")
            lines.append("    path:")
            lines.extend(f"    - data/{split}/{t}/*-{fingerprint}.parquet" for t in types)
    return "\n".join(lines)


DEFAULT_CARD_TEMPLATE = """\
# SpatialSoundQA (generated with transformers-bat)

Spatial-audio question answering in the format of BAT (Zheng et al., ICML 2024). Records hold ids of a sound clip
and a binaural room impulse response per source, the question, the rule-based answer and the scene ground truth;
audio is rendered when a record is read (`transformers_bat.data.SceneRenderer`).

Configs are the paper's cumulative curriculum: `stage1` = A+B, `stage2` = A-D, `stage3` = A-E.
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
) -> Path:
    """README.md = YAML header (configs) + the template filled with counts, columns and settings."""
    body = Path(template).read_text() if template is not None else DEFAULT_CARD_TEMPLATE
    columns = "\n".join(f"- `{name}` ({dtype}): {meaning}" for name, (dtype, meaning) in COLUMNS.items())
    text = string.Template(body).safe_substitute(
        summary=summary,
        columns=columns,
        settings=json.dumps(dict(settings), indent=2, sort_keys=True),
    )
    header = "---\n" + "task_categories:\n- audio-classification\n- question-answering\n"
    header += configs_yaml(counts_by_split, fingerprint)
    path = Path(output_dir) / "README.md"
    atomic_write_text(path, header + "\n---\n\n" + text)
    return path


# What the configs of an unfinished folder point at: datasets' "Unable to find '<folder>/<this>'" then says what to do.
INCOMPLETE_DATA_FILE = "GENERATION-INCOMPLETE--rerun-the-same-generate-qa-command-to-finish"


def write_incomplete_card(output_dir: Path) -> Path:
    """The card of a folder whose shards are still being written: every config points at a missing file.

    Without it, ``load_dataset`` on a killed run's folder loaded the shards that happened to exist (510 of 540
    records) with no warning.
    """
    lines = ["---", "configs:"]
    for index, stage in enumerate(qt.STAGES):
        lines.append(f"- config_name: {stage}")
        if index == len(qt.STAGES) - 1:
            lines.append("  default: true")
        lines.extend(["  data_files:", "  - split: train", f"    path: {INCOMPLETE_DATA_FILE}"])
    body = (
        "# SpatialSoundQA: generation not finished\n\nSome shards of this folder are still missing. Rerun the same "
        "`transformers-bat generate-qa` command (or `write_dataset` call) to finish it; the card is replaced then.\n"
    )
    path = Path(output_dir) / "README.md"
    atomic_write_text(path, "\n".join(lines) + "\n---\n\n" + body)
    return path
