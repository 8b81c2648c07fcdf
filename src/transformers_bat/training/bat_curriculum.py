"""Training BAT through the paper's curriculum with the transformers Trainer.

Stage 1 trains on types A+B, stage 2 on A-D, stage 3 on A-E (and ours, stage 4, on A-F: scenes of three or four
sources; `data.question_types.STAGE_LETTERS`), each stage
starting from the previous stage's weights; a one-stage run is a curriculum of one stage. Records are rendered on
read (`data.rendering.SceneRenderer`) and turned into model inputs by the `BatProcessor`, in the DataLoader, whole:
a model whose window is shorter than the scene reads all its windows, in training as at inference.

Records stay datasets: a stage's records are a `datasets.Dataset` (e.g. a config of our dataset card,
`data.load_spatial_sound_qa(folder, "stage2", split="train")`, or `stage_records(dataset, "stage2")`, a filter on
question types), which the Trainer reads from the memory-mapped Arrow files, rows reaching the collator as dicts;
an `IterableDataset` streams (give `max_steps`). At the release's scale (870K records) a Python list would be a
copy in every rank and DataLoader worker; Arrow pages are shared. Sequences of dicts are accepted as they are (small
tests, the authors' release reader), without a copy.

Resuming: `curriculum.json` in the output folder lists the finished stages; a finished stage is not trained again
(its trained weights are loaded instead), and an interrupted stage continues from its newest Trainer checkpoint,
so an interrupted run ends where an uninterrupted one would.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors.torch import load_file, save_file
from torch.utils.data import Dataset
from transformers import Trainer, TrainingArguments
from transformers.modeling_outputs import BaseModelOutput
from transformers.trainer_utils import get_last_checkpoint

from ..audio_format import SAMPLE_RATE
from ..data import question_types as qt
from ..data.records import is_arrow_dataset, scene_of

if TYPE_CHECKING:
    import datasets

    from ..data.records import Records

STATE_FILE = "curriculum.json"
TRAINABLE_FILE = "trainable.safetensors"


class RecordList(Dataset):
    """SpatialSoundQA records (a sequence of dicts) as a torch Dataset, held by reference (not copied); the collator
    renders them. `datasets.Dataset`s need no wrapper: the Trainer reads them directly (`training_dataset`)."""

    def __init__(self, records: Sequence[Mapping]):
        self.records = records if isinstance(records, Sequence) else list(records)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> Mapping:
        return self.records[index]


class BatQACollator:
    """Records -> binaural waveforms (rendered on read) -> `BatProcessor` inputs with answer-only labels.

    The whole rendered scene is read the way the processor reads audio at inference: when the processor's feature
    window is shorter than the scene (small demo models read 1-2 s windows of the 10 s scenes), the scene becomes
    all its windows (`hop_s` apart, back to back by default), which the model reads together. A record's scene is
    fixed data (its clips and RIRs), so its features are the same every epoch and for every question about it: with
    `cache_features` the features of all its windows are computed once and kept (about 100 kB per window at the
    demo's size, so 1 MB per 10-s scene in 1-s windows; 2 MB per scene at the paper's size, one window).
    """

    def __init__(
        self,
        processor,
        renderer,
        with_answers: bool = True,
        cache_features: bool = False,
        hop_s: float | None = None,
    ):
        self.processor, self.renderer, self.with_answers = processor, renderer, with_answers
        self.cache_features, self.hop_s = cache_features, hop_s
        self._features: dict[tuple, torch.Tensor] = {}

    def features(self, records: Sequence[Mapping]) -> tuple[torch.Tensor, torch.Tensor]:
        """The windows' features of the records' scenes, one record after another (windows, 4, frames, mels), and
        the number of windows of each record (records,); from the cache where possible."""
        keys = [scene_of(record).key for record in records]
        missing = list(dict.fromkeys(key for key in keys if key not in self._features))
        fresh: dict[tuple, torch.Tensor] = {}
        if missing:
            scenes = dict(zip(keys, records))
            fresh = dict(zip(*self._scene_features([scenes[key] for key in missing])))
        per_record = [fresh[key] if key in fresh else self._features[key] for key in keys]
        if self.cache_features:
            self._features.update(fresh)
        return torch.cat(per_record), torch.tensor([len(windows) for windows in per_record])

    def precompute(self, records: Records, num_workers: int = 0, batch_size: int = 16, progress: bool = True) -> int:
        """Render and featurise every scene of `records` not yet cached, in `num_workers` DataLoader worker
        processes (0: here), and keep the features: training then never waits for a scene. At the demo's size a
        new scene costs about as much as five training steps; 2 workers on 2 cores featurised 24 scenes/s against
        12.5 in the main process. Returns how many scenes were added. Needs `cache_features`.
        The features are those `features` computes (bit for bit: each worker renders with one torch thread, as
        `SceneRenderer` always does)."""
        if not self.cache_features:
            raise ValueError("precompute keeps features in the cache: build the collator with cache_features=True.")
        from tqdm.auto import tqdm

        scenes: dict[tuple, Mapping] = {}
        for sources in _column(records, "sources"):
            key = scene_of({"sources": sources}).key
            if key not in self._features and key not in scenes:
                scenes[key] = {"sources": sources}
        loader = torch.utils.data.DataLoader(
            list(scenes.values()),
            batch_size=batch_size,
            num_workers=num_workers,
            collate_fn=self._scene_features,
        )
        with tqdm(total=len(scenes), desc="featurising scenes", disable=not progress) as bar:
            for keys, features in loader:
                self._features.update(zip(keys, features))
                bar.update(len(keys))
        return len(scenes)

    def _scene_features(self, scenes: Sequence[Mapping]) -> tuple[list[tuple], list[torch.Tensor]]:
        """The scenes' keys and the features of each one's windows (its own tensor: safe to keep or send)."""
        waveforms = [self.renderer.render(scene) for scene in scenes]
        features = self.processor.window_features(waveforms, sampling_rate=SAMPLE_RATE, hop_s=self.hop_s)
        return [scene_of(scene).key for scene in scenes], [f.clone() for f in features]

    def __call__(self, records: Sequence[Mapping]):
        features, counts = self.features(records)
        return self.processor(
            input_features=features,
            audio_window_counts=counts,
            text=[record["question"] for record in records],
            answers=[record["answer"] for record in records] if self.with_answers else None,
        )


@contextmanager
def frozen_encoder_cache(model: torch.nn.Module):
    """While BAT trains on a frozen audio tower (eval mode, no gradients), encode each distinct window once.

    The tower's outputs are memoised by the bytes of the window's features, so a scene asked many questions over
    several epochs is encoded once: with whole 10-s scenes in 1-s windows the tower is most of a step's cost. The
    outputs are exactly what the tower would give (it is deterministic in eval mode); nothing is memoised while it
    trains. About 14 kB per window at the demo's size. The tower's own `forward` is restored on exit.
    """
    from ..models.spatial_ast.modeling_spatial_ast import SpatialASTModel

    towers = [module for module in model.modules() if isinstance(module, SpatialASTModel)]
    if len(towers) != 1:
        raise ValueError(f"Expected one Spatial-AST audio tower in the model, found {len(towers)}.")
    tower = towers[0]
    original = tower.forward
    memo: dict[bytes, torch.Tensor] = {}

    def forward(input_features, *args, **kwargs):
        frozen = not tower.training and not any(p.requires_grad for p in tower.parameters())
        if not frozen or args or any(kwargs.get(k) for k in ("output_hidden_states", "output_attentions")):
            return original(input_features, *args, **kwargs)
        rows = input_features.detach().cpu().contiguous()
        keys = [hashlib.blake2b(row.numpy().tobytes(), digest_size=16).digest() for row in rows]
        missing = [i for i, key in enumerate(keys) if key not in memo and key not in keys[:i]]
        if missing:
            encoded = original(input_features[missing], return_dict=True).last_hidden_state
            memo.update({keys[i]: hidden for i, hidden in zip(missing, encoded)})
        return BaseModelOutput(last_hidden_state=torch.stack([memo[key] for key in keys]))

    tower.forward = forward
    try:
        yield memo
    finally:
        del tower.forward  # back to the class's method


def _column(records: Records, name: str):
    """One column of records: read alone from a `datasets.Dataset`, else from each record (streamed ones too)."""
    if is_arrow_dataset(records):
        import datasets

        if isinstance(records, datasets.Dataset):
            return records[name]
    return (record[name] for record in records)


def stage_records(records: Records, stage: str) -> Records:
    """The records a curriculum stage trains on (cumulative: stage 2 = A-D).

    A `datasets.Dataset` gives a filtered Dataset: only the `question_type` column is read, and the result is an
    index mapping over the same Arrow data (cached next to it, so every rank and every rerun reuses it); an
    `IterableDataset` is filtered lazily; a sequence of dicts gives a list of the same dicts. An unknown question
    type raises in each case.
    """
    types = tuple(sorted(qt.stage_types(stage)))  # raises for an unknown stage, even with no records
    if is_arrow_dataset(records):
        import datasets

        options = {"desc": f"{stage} records"} if isinstance(records, datasets.Dataset) else {}  # not when iterable
        return records.filter(
            _of_types, input_columns="question_type", batched=True, fn_kwargs={"types": types}, **options
        )
    return [record for record in records if qt.in_stage(record["question_type"], stage)]


def _of_types(question_types: list[str], types: tuple[str, ...]) -> list[bool]:
    """`Dataset.filter` mask; module-level with the stage's types as an argument, so that datasets can fingerprint
    it (the same filter is found in its cache) and a change of the type registry changes the fingerprint."""
    return [qt.validate_question_type(question_type) in types for question_type in question_types]


def training_dataset(records: Records) -> Dataset | datasets.Dataset | datasets.IterableDataset:
    """What the Trainer reads: a `datasets` dataset as it is (memory-mapped, rows reach the collator as dicts), a
    sequence of dicts wrapped by reference in a `RecordList`."""
    return records if is_arrow_dataset(records) else RecordList(records)


def _is_empty(records: Records) -> bool:
    return hasattr(records, "__len__") and len(records) == 0  # an IterableDataset's length is unknown


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().contiguous().clone() for name, p in model.named_parameters() if p.requires_grad}


def load_trainable_state(model: torch.nn.Module, path: str | os.PathLike) -> None:
    """Load weights written by a finished stage; every trainable parameter must be present."""
    state = load_file(str(path))
    expected = {name for name, p in model.named_parameters() if p.requires_grad}
    if set(state) != expected:
        raise ValueError(
            f"{path} does not fit this model: missing {sorted(expected - set(state))[:5]}, "
            f"unexpected {sorted(set(state) - expected)[:5]}. Was the run started with another model or PEFT setup?"
        )
    model.load_state_dict(state, strict=False)


def _read_state(output_dir: Path) -> dict:
    path = output_dir / STATE_FILE
    if not path.exists():
        return {"completed": []}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is corrupted ({error}); delete it to restart the curriculum.") from error


def _write_state(output_dir: Path, state: dict) -> None:
    temporary = output_dir / f".{STATE_FILE}.tmp"
    temporary.write_text(json.dumps(state, indent=2))
    os.replace(temporary, output_dir / STATE_FILE)


def train_curriculum(
    model: torch.nn.Module,
    collator,
    stages: Mapping[str, Records],
    output_dir: str | os.PathLike,
    training_arguments: Mapping | None = None,
    callbacks: Sequence | None = None,
    eval_records: Records | None = None,
) -> dict[str, list[dict]]:
    """Train `model` stage by stage (in the given order) and return each stage's Trainer log history.

    Args:
        model: a BAT (plain, or wrapped by PEFT: only parameters with `requires_grad` are trained and saved).
        collator: turns a list of records into model inputs (e.g. [`BatQACollator`]).
        stages: stage name -> training records, e.g. `{"stage1": ..., "stage2": ..., "stage3": ...}`: each a
            `datasets.Dataset` (read by the Trainer from Arrow, never copied; e.g. the dataset card's config of that
            stage, or `stage_records(dataset, name)`), an `IterableDataset` (streamed; needs `max_steps`) or a
            sequence of dicts.
        output_dir: stage folders (Trainer checkpoints + `final/trainable.safetensors`) and `curriculum.json`.
        training_arguments: `TrainingArguments` fields shared by all stages (output_dir is set per stage;
            `remove_unused_columns` is always False: the collator needs whole records).
        eval_records: held-out records (same kinds as a stage's); each stage is evaluated on those of its question
            types (`stage_records`) with
            `evaluation.answer_token_metrics` (teacher-forced answer-token accuracy and exact match, plus the eval
            loss), as often as `eval_strategy` says and once at the end of the stage in any case. A stage with no
            held-out records of its types is trained without evaluation, with a warning.
    """
    from ..evaluation.answer_token_metrics import answer_token_metrics, argmax_logits

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    state = _read_state(output_dir)
    histories: dict[str, list[dict]] = {}
    for name, records in stages.items():
        stage_dir = output_dir / name
        final = stage_dir / "final" / TRAINABLE_FILE
        if name in state["completed"]:
            load_trainable_state(model, final)
            continue
        if _is_empty(records):
            raise ValueError(f"Curriculum stage {name!r} has no training records.")
        arguments = {"report_to": "none", "save_strategy": "steps"}
        arguments.update(training_arguments or {})
        # a Dataset's columns would otherwise be cut to the model's forward arguments before the collator sees them
        arguments.update(output_dir=str(stage_dir), remove_unused_columns=False)
        held_out = stage_records(eval_records, name) if eval_records is not None else None
        if held_out is not None and _is_empty(held_out):
            held_out = None
        if eval_records is not None and held_out is None:
            warnings.warn(
                f"Curriculum stage {name!r} has no evaluation records of its question types "
                f"({''.join(sorted(qt.STAGE_LETTERS[name]))}); it is trained without evaluation.",
                stacklevel=2,
            )
        trainer = Trainer(
            model=model,
            args=TrainingArguments(**arguments),
            train_dataset=training_dataset(records),
            eval_dataset=training_dataset(held_out) if held_out is not None else None,
            data_collator=collator,
            callbacks=list(callbacks or []),
            compute_metrics=answer_token_metrics if held_out is not None else None,
            preprocess_logits_for_metrics=argmax_logits if held_out is not None else None,
        )
        checkpoint = get_last_checkpoint(str(stage_dir)) if stage_dir.is_dir() else None
        trainer.train(resume_from_checkpoint=checkpoint)
        if held_out is not None:
            trainer.evaluate()  # logged into the stage's history
        final.parent.mkdir(parents=True, exist_ok=True)
        save_file(trainable_state(model), str(final))
        histories[name] = list(trainer.state.log_history)
        state["completed"].append(name)
        _write_state(output_dir, state)
    return histories
