"""Write a SpatialSoundQA dataset folder: parquet shards per (split, type), a card with YAML ``configs:``, resumable.

Layout (``load_dataset(folder, "stage2")`` works on it, streaming too)::

    folder/README.md                                   card; YAML configs stage1/2/3 with train/test splits
    folder/generation.json                             settings, pool and source fingerprints (resume and read safety)
    folder/checksums.json                              size + SHA-256 of every shard, written when all exist
    folder/data/<split>/<question_type>/<k>-of-<m>-<fingerprint>.parquet

The fingerprint (a hash of the settings and of the scene pools) is part of the file names and of the YAML
patterns: ``datasets`` caches a local folder by its name and its YAML only, so without it a folder regenerated
with other settings (or another folder of the same name) would silently load the old cached copy.

Every shard is a fixed slice of a deterministic plan, written to a temporary file and renamed, so an interrupted
run resumes by skipping finished shards and the result equals an uninterrupted run. ``shard_index/num_shards``
spread the shards over machines; ``num_proc`` over local processes. Until every shard exists the card's configs point
at a file named ``GENERATION-INCOMPLETE-...``, so ``load_dataset`` refuses a partial folder instead of loading part of
it; :func:`~transformers_bat.data.dataset_folder.load_spatial_sound_qa` says how many shards are missing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from ..files import atomic_write, atomic_write_json, file_digest, file_problem, read_json
from ..worker_processes import exit_with_parent
from . import question_types as qt
from .dataset_card import write_card, write_incomplete_card
from .generation_summary import GenerationReport, summarize, summarize_records
from .qa_generation import (
    DEFAULT_PLANE_MARGIN_DEG,
    QUESTION_ID_STRIDE,
    QuestionPlan,
    plan_question_type,
    plan_rng,
    plan_to_table,
)
from .scene_pool import ScenePool

FORMAT_VERSION = 2  # 2: scenes as a 'sources' list column (1: flat audio_id ... distance_m2 columns)
DEFAULT_RECORDS_PER_SHARD = 25_000
FINGERPRINT_CHARS = 12
SPLITS = ("train", "test")

logger = logging.getLogger(__name__)
GENERATION_FILE = "generation.json"
CHECKSUM_FILE = "checksums.json"
# in generation.json but not compared on resume: where the bank and catalogue were (they may move)
PROVENANCE_KEY = "provenance"


def parse_per_type(spec: str | int | Mapping[str, int], max_sources: int = qt.PAPER_MAX_SOURCES) -> dict[str, int]:
    """Counts per question type from "N" (every type scenes of ``max_sources`` sources allow), or
    "A=1000,E=2500,MIXUP_DIRECTION=300".

    A letter stands for all its types; E's count is divided evenly over the five E subtypes (F's over ours).
    """
    available = [t for t in qt.registered_types() if qt.get(t).available(max_sources)]
    if isinstance(spec, Mapping):
        items = [(str(k), int(v)) for k, v in spec.items()]
    elif isinstance(spec, int) or str(spec).strip().isdigit():
        return {t: int(spec) for t in available}
    else:
        items = []
        for part in str(spec).split(","):
            if "=" not in part:
                raise ValueError(
                    f"Bad --per-type entry {part!r}: expected TYPE=COUNT, e.g. 'A=1000,MIXUP_DIRECTION=50'"
                )
            key, value = part.split("=", 1)
            items.append((key.strip(), int(value)))
    counts = dict.fromkeys(available, 0)
    letters = {qt.letter_of(t) for t in qt.registered_types()}
    for key, value in items:
        if value < 0:
            raise ValueError(f"Negative count for {key}: {value}")
        if key in letters:
            members = [t for t in available if qt.letter_of(t) == key]
            if not members:
                raise ValueError(f"No question type of letter {key} is available with --max-sources {max_sources}")
            for i, member in enumerate(members):
                counts[member] = value // len(members) + (i < value % len(members))
        else:
            counts[qt.validate_question_type(key, where="per-type counts")] = value
    return counts


@dataclass
class GenerationRequest:
    """What to generate: counts per split and type, seed, shard size, plane margin, and whether records carry
    their rendered audio (``materialize_audio``; see :mod:`~transformers_bat.data.materialized_audio`)."""

    counts: dict[str, dict[str, int]]
    seed: int = 0
    records_per_shard: int = DEFAULT_RECORDS_PER_SHARD
    plane_margin_deg: float = DEFAULT_PLANE_MARGIN_DEG
    materialize_audio: bool = False
    max_sources: int = qt.PAPER_MAX_SOURCES

    def to_json(self) -> dict:
        settings = {
            "format_version": FORMAT_VERSION,
            "seed": self.seed,
            "records_per_shard": self.records_per_shard,
            "plane_margin_deg": self.plane_margin_deg,
            "counts": self.counts,
        }
        if self.max_sources != qt.PAPER_MAX_SOURCES:
            settings["max_sources"] = self.max_sources
        return settings | ({"materialize_audio": True} if self.materialize_audio else {})

    @classmethod
    def from_json(cls, settings: Mapping) -> GenerationRequest:
        """The request recorded in a folder's ``generation.json`` (other keys, e.g. fingerprints, are ignored)."""
        return cls(
            counts=settings["counts"],
            seed=settings["seed"],
            records_per_shard=settings["records_per_shard"],
            plane_margin_deg=settings["plane_margin_deg"],
            materialize_audio=settings.get("materialize_audio", False),
            max_sources=settings.get("max_sources", qt.PAPER_MAX_SOURCES),
        )


@dataclass
class ShardTask:
    split: str
    question_type: str
    index: int
    num_files: int
    start: int
    stop: int
    fingerprint: str

    @property
    def relative_path(self) -> str:
        name = f"{self.index:05d}-of-{self.num_files:05d}-{self.fingerprint}.parquet"
        return f"data/{self.split}/{self.question_type}/{name}"


# --------------------------------------------------------------------------------------------- planning


def build_plans(pools: Mapping[str, ScenePool], request: GenerationRequest) -> dict[tuple[str, str], QuestionPlan]:
    """Every (split, type) plan of the request (deterministic, cheap)."""
    plans = {}
    for split, counts in request.counts.items():
        if split not in pools:
            raise ValueError(f"Counts given for split {split!r} but no scene pool for it")
        for question_type, count in counts.items():
            if count <= 0:
                continue
            pool = pools[split]
            try:
                plans[(split, question_type)] = plan_question_type(
                    pool,
                    question_type,
                    count,
                    plan_rng(request.seed, split, question_type),
                    plane_margin_deg=request.plane_margin_deg,
                    question_id_offset=qt.type_code(question_type) * QUESTION_ID_STRIDE,
                    max_sources=request.max_sources,
                )
            except ValueError as error:
                rooms = len(set(pool.room_ids.tolist()))
                raise ValueError(
                    f"{split} split ({pool.num_rirs} RIRs in {rooms} rooms, {pool.num_clips} clips): {error}"
                ) from error
    return plans


def shard_tasks(request: GenerationRequest, fingerprint: str) -> list[ShardTask]:
    """All shards of a request, in a fixed global order."""
    tasks = []
    for split, counts in request.counts.items():
        for question_type in qt.registered_types():
            count = counts.get(question_type, 0)
            if count <= 0:
                continue
            num_files = -(-count // request.records_per_shard)
            for k in range(num_files):
                start = k * request.records_per_shard
                tasks.append(
                    ShardTask(
                        split,
                        question_type,
                        k,
                        num_files,
                        start,
                        min(count, start + request.records_per_shard),
                        fingerprint,
                    )
                )
    return tasks


# --------------------------------------------------------------------------------------------- writing

_WORKER_POOLS: Mapping[str, ScenePool] = {}
_WORKER_RENDERER = None  # a SceneRenderer when the records carry their audio


def _write_shard(split: str, plan: QuestionPlan, path: str) -> str:
    table = plan_to_table(_WORKER_POOLS[split], plan)
    if _WORKER_RENDERER is not None:
        from .materialized_audio import add_audio_columns, audio_features_metadata

        names = [f"{split}-{question_id}.flac" for question_id in table.column("question_id").to_pylist()]
        table = add_audio_columns(table, _WORKER_RENDERER, names)
        table = table.replace_schema_metadata(audio_features_metadata(table.schema).metadata)
    _write_parquet(table, path)
    return path


def _write_parquet(table, path) -> None:
    atomic_write(path, lambda handle: pq.write_table(table, handle, compression="zstd"))


def settings_fingerprint(settings: Mapping) -> str:
    """Short hash of the generation settings (request + scene pools): part of every shard's file name."""
    canonical = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:FINGERPRINT_CHARS]


def _check_settings(output_dir: Path, settings: dict, provenance: Mapping | None) -> None:
    """Refuse to resume a folder made with other settings; record the settings (and where the sources are)."""
    path = output_dir / GENERATION_FILE
    if path.exists():
        previous = read_json(path, repair="it is written when generation starts; regenerate into a new folder")
        previous.pop(PROVENANCE_KEY, None)
        if previous != settings:
            differing = sorted(k for k in set(previous) | set(settings) if previous.get(k) != settings.get(k))
            hint = ""
            if "sources" in differing:
                hint = " The RIR bank or sound catalogue differs from the one this folder was generated from."
            raise ValueError(
                f"{output_dir} already holds a dataset generated with different settings ({', '.join(differing)}); "
                f"use a new output folder or the same settings to resume.{hint}"
            )
    record = settings | ({PROVENANCE_KEY: dict(provenance)} if provenance else {})
    atomic_write_json(path, record, sort_keys=True)


def _pool_sources(pools: Mapping[str, ScenePool]) -> dict[str, str] | None:
    """The bank/catalogue fingerprints shared by the pools (None for metadata-only pools)."""
    found = {json.dumps(pool.sources, sort_keys=True) for pool in pools.values()}
    if len(found) > 1:
        raise ValueError(f"the scene pools were built from different RIR banks or catalogues: {sorted(found)}")
    return next(iter(pools.values())).sources if pools else None


def _shard_problem(path: Path, expected_rows: int, recorded: Mapping | None) -> str | None:
    """Why an existing shard cannot be kept on resume (recorded size, else the parquet footer's row count)."""
    if recorded is not None:
        return file_problem(path, recorded)
    try:
        rows = pq.ParquetFile(path).metadata.num_rows
    except (OSError, ValueError) as error:  # pyarrow raises ArrowInvalid (a ValueError) for a cut-off file
        return f"{path} cannot be read as parquet: {error}"
    if rows != expected_rows:
        return f"{path} holds {rows} records, {expected_rows} were planned"
    return None


def write_dataset(
    output_dir: str | os.PathLike,
    pools: Mapping[str, ScenePool],
    request: GenerationRequest,
    *,
    num_proc: int = 1,
    shard_index: int = 0,
    num_shards: int = 1,
    max_shards: int | None = None,
    progress: bool = False,
    card_template: str | os.PathLike | None = None,
    provenance: Mapping | None = None,
    log: Callable[[str], None] | None = None,
    license: str = "other",
    renderer=None,
) -> GenerationReport:
    """Generate (or resume generating) a dataset folder; returns planned counts and what was written.

    ``max_shards`` stops after writing that many shards (used to test interruption); the card is written once
    every shard of the request exists. ``provenance`` (e.g. which bank and catalogue the ids refer to) goes into
    the card only, so moving the bank does not block a resume. ``license`` goes into the card's metadata (see
    :func:`~transformers_bat.data.dataset_card.write_card`). ``renderer`` (a ``SceneRenderer`` over the bank and
    catalogue of ``pools``) renders every record into its ``audio`` column when ``request.materialize_audio``.
    """
    if not 0 <= shard_index < num_shards:
        raise ValueError(f"shard_index must be in [0, num_shards), got {shard_index} of {num_shards}")
    if request.records_per_shard <= 0:
        raise ValueError("records_per_shard must be positive")
    if request.materialize_audio != (renderer is not None):
        raise ValueError(
            "materialize_audio needs a renderer (SceneRenderer(bank, catalogue)), and a renderer is only "
            "used with materialize_audio"
        )
    output_dir = Path(output_dir)
    settings = request.to_json() | {"pool_fingerprints": {s: p.fingerprint() for s, p in sorted(pools.items())}}
    sources = _pool_sources(pools)
    if sources is not None:
        settings["sources"] = sources
    fingerprint = settings_fingerprint(settings)
    tasks = shard_tasks(request, fingerprint)
    if not tasks:
        raise ValueError(
            "nothing to generate: every question type has a count of 0 in every split (e.g. --per-type 0); "
            "give at least one type a positive count"
        )
    plans = build_plans(pools, request)
    output_dir.mkdir(parents=True, exist_ok=True)
    _check_settings(output_dir, settings, provenance)
    report = GenerationReport(counts=summarize(pools, plans))

    checksum_file = output_dir / CHECKSUM_FILE
    recorded = read_json(checksum_file)["files"] if checksum_file.is_file() else {}
    mine = [task for i, task in enumerate(tasks) if i % num_shards == shard_index]
    todo = []
    for task in mine:
        path = output_dir / task.relative_path
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob(f"{path.name}.tmp-*"):
            stale.unlink()  # left by an interrupted write of this shard
        problem = path.exists() and _shard_problem(path, task.stop - task.start, recorded.get(task.relative_path))
        if problem:
            logger.warning("%s; writing it again", problem)
            checksum_file.unlink(missing_ok=True)  # the folder is incomplete until the shard is rewritten
            path.unlink()
        if path.exists():
            report.skipped += 1
        else:
            todo.append(task)
    if not checksum_file.is_file():
        write_incomplete_card(output_dir)
    if max_shards is not None:
        todo = todo[:max_shards]

    global _WORKER_POOLS, _WORKER_RENDERER
    _WORKER_POOLS, _WORKER_RENDERER = pools, renderer
    jobs = [
        (t.split, plans[(t.split, t.question_type)].slice(t.start, t.stop), str(output_dir / t.relative_path))
        for t in todo
    ]
    bar = _progress_bar(len(jobs), progress)
    if num_proc > 1 and len(jobs) > 1:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(num_proc, context, exit_with_parent, (os.getpid(),)) as executor:
            for _ in executor.map(_write_shard, *zip(*jobs)):
                report.written += 1
                bar.update(1)
    else:
        for job in jobs:
            _write_shard(*job)
            report.written += 1
            bar.update(1)
    bar.close()

    report.remaining = sum(not (output_dir / t.relative_path).exists() for t in tasks)
    report.complete = report.remaining == 0
    if report.complete:
        if not checksum_file.is_file():
            files = {t.relative_path: file_digest(output_dir / t.relative_path) for t in tasks}
            atomic_write_json(checksum_file, {"files": files})
        card_settings = settings | ({PROVENANCE_KEY: dict(provenance)} if provenance else {})
        write_card(
            output_dir,
            request.counts,
            report.table(),
            card_settings,
            fingerprint=fingerprint,
            template=card_template,
            license=license,
            audio=request.materialize_audio,
        )
    elif log is not None:
        log(f"{report.remaining} shard(s) still missing; the card is written when all exist.")
    return report


def _progress_bar(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="shard", desc="SpatialSoundQA shards", disable=not enabled)


def write_records_folder(
    output_dir: str | os.PathLike,
    records_by_split: Mapping[str, list[Mapping]],
    *,
    records_per_shard: int = DEFAULT_RECORDS_PER_SHARD,
    card_template: str | os.PathLike | None = None,
    settings: Mapping | None = None,
    license: str = "other",
) -> GenerationReport:
    """Write given records (any source, e.g. the authors' release: ``license="cc-by-nc-4.0"``) in the same folder
    layout and card."""
    import pyarrow as pa

    from .records import ARROW_SCHEMA, empty_record

    output_dir = Path(output_dir)
    counts: dict[str, dict[str, int]] = {}
    tables = []  # (split, type, k, num_files, table)
    digest = hashlib.sha256()
    for split, records in records_by_split.items():
        by_type: dict[str, list[Mapping]] = {}
        for record in records:
            by_type.setdefault(qt.validate_question_type(record["question_type"]), []).append(record)
        counts[split] = {t: len(by_type.get(t, [])) for t in qt.registered_types()}
        for question_type, rows in by_type.items():
            num_files = -(-len(rows) // records_per_shard)
            for k in range(num_files):
                chunk = [
                    empty_record() | dict(row) for row in rows[k * records_per_shard : (k + 1) * records_per_shard]
                ]
                table = pa.Table.from_pylist(chunk, schema=ARROW_SCHEMA)
                digest.update(f"{split}/{question_type}/{k}".encode())
                sink = pa.BufferOutputStream()
                with pa.ipc.new_stream(sink, table.schema) as writer:
                    writer.write_table(table)
                digest.update(sink.getvalue())
                tables.append((split, question_type, k, num_files, table))
    fingerprint = digest.hexdigest()[:FINGERPRINT_CHARS]
    written = []
    for split, question_type, k, num_files, table in tables:
        relative_path = ShardTask(split, question_type, k, num_files, 0, 0, fingerprint).relative_path
        _write_parquet(table, output_dir / relative_path)
        written.append(relative_path)
    atomic_write_json(
        output_dir / CHECKSUM_FILE, {"files": {path: file_digest(output_dir / path) for path in written}}
    )
    report = GenerationReport(counts=summarize_records(records_by_split), complete=True)
    settings = dict(settings or {}) | {"records_per_shard": records_per_shard}
    write_card(
        output_dir, counts, report.table(), settings, fingerprint=fingerprint, template=card_template, license=license
    )
    return report
