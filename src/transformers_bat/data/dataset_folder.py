"""Open a SpatialSoundQA folder safely: finished, intact, and made from the RIR bank and catalogue you render with.

``datasets.load_dataset(folder, config)`` reads the parquet shards; it cannot know what this module checks first:
that generation finished, that every shard still has the size (``verify="full"``: the SHA-256) it was written
with, and that the bank and sound catalogue the records will be rendered with are the ones their ids were drawn
from. A bank rendered with another seed has the same ids at other directions (118 of 120 ids equal, azimuths a
median 101 degrees apart), so without the check evaluation exits 0 with meaningless figures.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..files import file_problem, read_json
from .dataset_writer import (
    CHECKSUM_FILE,
    GENERATION_FILE,
    PROVENANCE_KEY,
    GenerationRequest,
    settings_fingerprint,
    shard_tasks,
)

VERIFY_LEVELS = ("none", "size", "full")

logger = logging.getLogger(__name__)


class DatasetFolderError(ValueError):
    """A dataset folder is unfinished or one of its files is damaged."""


class ProvenanceError(ValueError):
    """The RIR bank or sound catalogue given is not the one a dataset was generated from."""


def generation_settings(folder: str | os.PathLike) -> dict | None:
    """The folder's ``generation.json`` (None for folders converted from records, which have none)."""
    path = Path(folder) / GENERATION_FILE
    if not path.is_file():
        return None
    return read_json(path, repair="it is written when generation starts; regenerate the folder")


def dataset_problems(folder: str | os.PathLike, full: bool = False) -> list[str]:
    """What is wrong with a dataset folder: unfinished generation, missing, truncated or (``full``) altered shards."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"dataset folder not found: {folder}")
    checksum_file = folder / CHECKSUM_FILE
    settings = generation_settings(folder)
    if not checksum_file.is_file():
        if settings is None:
            return []  # a folder converted by an older version, or by hand: nothing recorded to check against
        settings.pop(PROVENANCE_KEY, None)
        tasks = shard_tasks(GenerationRequest.from_json(settings), settings_fingerprint(settings))
        missing = sum(not (folder / task.relative_path).is_file() for task in tasks)
        return [
            f"{folder}: generation is not finished ({missing} of {len(tasks)} shards missing); rerun the same "
            "generate-qa command to finish it"
        ]
    files = read_json(checksum_file, repair="rerun the same generate-qa command to rewrite it")["files"]
    problems = []
    for relative_path, recorded in sorted(files.items()):
        problem = file_problem(folder / relative_path, recorded, full=full)
        if problem:
            problems.append(f"{problem}: rerun the same generate-qa command to write it again")
    return problems


def check_sources(folder: str | os.PathLike, rir_bank=None, catalogue=None) -> None:
    """Raise :class:`ProvenanceError` if ``rir_bank`` or ``catalogue`` differs from what the folder was made from.

    Both messages give the two fingerprints and what the folder's ``generation.json`` says to pass instead.
    Folders of metadata-only pools (or written before fingerprints were recorded) cannot be checked: a warning.
    """
    settings = generation_settings(folder) or {}
    recorded = settings.get("sources")
    if recorded is None:
        if settings:
            logger.warning("%s records no RIR bank / catalogue fingerprints; they cannot be checked", folder)
        return
    provenance = settings.get(PROVENANCE_KEY, {})
    hints = {
        "rir_bank": f"--rir-bank {provenance['rir_bank']}" if provenance.get("rir_bank") else "",
        "catalogue": _catalogue_hint(provenance),
    }
    for source, name, what in ((rir_bank, "rir_bank", "RIR bank"), (catalogue, "catalogue", "sound catalogue")):
        if source is None:
            continue
        actual = source.fingerprint()
        if actual != recorded[name]:
            hint = f" (at generation: {hints[name]})" if hints[name] else ""
            raise ProvenanceError(
                f"{folder} was generated from the {what} with fingerprint {recorded[name]}, but {source!r} has "
                f"fingerprint {actual}: its records would be rendered with other audio than they describe. Pass "
                f"the {what} the dataset was generated from{hint}."
            )


def _catalogue_hint(provenance: dict) -> str:
    sources = provenance.get("sources")
    if not sources:
        return ""
    hint = f"--sources {sources}"
    if sources == "procedural":
        hint += f" --clips-per-class {provenance.get('clips_per_class')} --seed {provenance.get('catalogue_seed')}"
    return hint


def load_spatial_sound_qa(
    folder: str | os.PathLike,
    config: str = "stage3",
    split: str | None = None,
    *,
    rir_bank=None,
    catalogue=None,
    verify: str = "size",
    **load_kwargs,
):
    """``datasets.load_dataset(folder, config, split=split)`` after the checks of this module.

    Args:
        rir_bank, catalogue: what the records will be rendered with; refused (``ProvenanceError``) if they are not
            what the folder was generated from.
        verify: "size" (default; cheap), "full" (hash every shard) or "none".
    """
    import datasets

    if verify not in VERIFY_LEVELS:
        raise ValueError(f"verify must be one of {VERIFY_LEVELS}, got {verify!r}")
    if verify != "none":
        problems = dataset_problems(folder, full=verify == "full")
        if problems:
            raise DatasetFolderError("\n".join(problems))
    check_sources(folder, rir_bank=rir_bank, catalogue=catalogue)
    loaded = datasets.load_dataset(str(folder), config, split=split, **load_kwargs)
    return upgrade_legacy(loaded, folder)


def upgrade_legacy(loaded, folder=""):
    """A dataset (or dict of splits) of format 1 (flat ``audio_id`` ... ``distance_m2`` columns) converted to the
    current schema (a ``sources`` list column), with a warning; anything else unchanged."""
    import datasets

    from .records import LEGACY_COLUMNS, features, is_legacy_schema, upgrade_record

    if isinstance(loaded, (datasets.DatasetDict, datasets.IterableDatasetDict)):
        return type(loaded)({name: upgrade_legacy(part, folder) for name, part in loaded.items()})
    names = loaded.column_names or []
    if not is_legacy_schema(names):
        return loaded
    logger.warning(
        "%s was written before scenes became a 'sources' list (format 1); converting its records on read. "
        "Regenerate it (same generate-qa command, new folder) to skip the conversion.",
        folder,
    )

    def upgrade(batch):
        rows = [dict(zip(batch, values)) for values in zip(*batch.values())]
        upgraded = [upgrade_record(row) for row in rows]
        return {name: [row[name] for row in upgraded] for name in upgraded[0]}

    removed = [name for name in names if name in LEGACY_COLUMNS]
    return loaded.map(upgrade, batched=True, remove_columns=removed, features=features())
