"""Training BAT through the paper's curriculum with the transformers Trainer.

Stage 1 trains on types A+B, stage 2 on A-D, stage 3 on A-E (and ours, stage 4, on A-F: scenes of three or four
sources; `data.question_types.STAGE_LETTERS`), each stage
starting from the previous stage's weights; a one-stage run is a curriculum of one stage. Records are rendered on
read (`data.rendering.SceneRenderer`) and turned into model inputs by the `BatProcessor`, in the DataLoader, whole:
a model whose window is shorter than the scene reads all its windows, in training as at inference.

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

import torch
from safetensors.torch import load_file, save_file
from torch.utils.data import Dataset
from transformers import Trainer, TrainingArguments
from transformers.modeling_outputs import BaseModelOutput
from transformers.trainer_utils import get_last_checkpoint

from ..data import question_types as qt
from ..data.records import scene_of
from ..data.rendering import SAMPLE_RATE

STATE_FILE = "curriculum.json"
TRAINABLE_FILE = "trainable.safetensors"


class RecordList(Dataset):
    """SpatialSoundQA records (dicts) as a torch Dataset; the collator renders them."""

    def __init__(self, records: Sequence[Mapping]):
        self.records = list(records)

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
            waveforms = [self.renderer.render(scenes[key]) for key in missing]
            computed = self.processor.window_features(waveforms, sampling_rate=SAMPLE_RATE, hop_s=self.hop_s)
            fresh = dict(zip(missing, computed))
        per_record = [fresh[key] if key in fresh else self._features[key] for key in keys]
        if self.cache_features:
            self._features.update(fresh)
        return torch.cat(per_record), torch.tensor([len(windows) for windows in per_record])

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


def stage_records(records: Sequence[Mapping], stage: str) -> list[Mapping]:
    """The records a curriculum stage trains on (cumulative: stage 2 = A-D)."""
    return [record for record in records if qt.in_stage(record["question_type"], stage)]


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
    stages: Mapping[str, Sequence[Mapping]],
    output_dir: str | os.PathLike,
    training_arguments: Mapping | None = None,
    callbacks: Sequence | None = None,
    eval_records: Sequence[Mapping] | None = None,
) -> dict[str, list[dict]]:
    """Train `model` stage by stage (in the given order) and return each stage's Trainer log history.

    Args:
        model: a BAT (plain, or wrapped by PEFT: only parameters with `requires_grad` are trained and saved).
        collator: turns a list of records into model inputs (e.g. [`BatQACollator`]).
        stages: stage name -> training records, e.g. `{"stage1": ..., "stage2": ..., "stage3": ...}`.
        output_dir: stage folders (Trainer checkpoints + `final/trainable.safetensors`) and `curriculum.json`.
        training_arguments: `TrainingArguments` fields shared by all stages (output_dir is set per stage).
        eval_records: held-out records; each stage is evaluated on those of its question types with
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
        if not records:
            raise ValueError(f"Curriculum stage {name!r} has no training records.")
        arguments = {"report_to": "none", "remove_unused_columns": False, "save_strategy": "steps"}
        arguments.update(training_arguments or {})
        arguments["output_dir"] = str(stage_dir)
        held_out = stage_records(eval_records, name) if eval_records is not None else []
        if eval_records is not None and not held_out:
            warnings.warn(
                f"Curriculum stage {name!r} has no evaluation records of its question types "
                f"({''.join(qt.STAGE_LETTERS[name])}); it is trained without evaluation.",
                stacklevel=2,
            )
        trainer = Trainer(
            model=model,
            args=TrainingArguments(**arguments),
            train_dataset=RecordList(records),
            eval_dataset=RecordList(held_out) if held_out else None,
            data_collator=collator,
            callbacks=list(callbacks or []),
            compute_metrics=answer_token_metrics if held_out else None,
            preprocess_logits_for_metrics=argmax_logits if held_out else None,
        )
        checkpoint = get_last_checkpoint(str(stage_dir)) if stage_dir.is_dir() else None
        trainer.train(resume_from_checkpoint=checkpoint)
        if held_out:
            trainer.evaluate()  # logged into the stage's history
        final.parent.mkdir(parents=True, exist_ok=True)
        save_file(trainable_state(model), str(final))
        histories[name] = list(trainer.state.log_history)
        state["completed"].append(name)
        _write_state(output_dir, state)
    return histories
