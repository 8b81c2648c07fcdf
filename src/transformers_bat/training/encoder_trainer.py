"""Training Spatial-AST with the transformers Trainer: the release's optimiser recipe and the two paper stages.

Recipe (reference): AdamW betas (0.9, 0.95), weight decay on matrices only, layer-wise learning-rate decay 0.75
(the heads get the base rate, each block below it 0.75 times the one above, the embeddings the lowest), half-cycle
cosine schedule with warm-up. Stage 1 trains the event loss only; stage 2 adds distance and direction (1250 / 1 / 2).
"""

from __future__ import annotations

import json

import torch
from torch.utils.data import DataLoader, Dataset, Sampler
from transformers import Trainer

ENCODER_LABEL_NAMES = ["labels", "distance_labels", "azimuth_labels", "elevation_labels"]


def layer_id(parameter_name: str, num_layers: int) -> int:
    """0 for the embeddings, i + 1 for block i, num_layers + 1 for the heads and everything after the blocks."""
    name = parameter_name.removeprefix("spatial_ast.")
    if name.startswith("embeddings."):
        return 0
    if name.startswith("layers."):
        return int(name.split(".")[1]) + 1
    return num_layers + 1


def layer_decay_parameter_groups(
    model: torch.nn.Module, learning_rate: float, weight_decay: float, layer_decay: float
) -> list[dict]:
    """AdamW parameter groups with layer-wise learning-rate decay; no weight decay on biases, norms and tokens."""
    num_layers = model.config.num_hidden_layers
    groups: dict[tuple[int, bool], dict] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        depth = layer_id(name, num_layers)
        decays = parameter.ndim > 1 and not name.endswith("cls_tokens")
        key = (depth, decays)
        if key not in groups:
            scale = layer_decay ** (num_layers + 1 - depth)
            groups[key] = {
                "params": [],
                "lr": learning_rate * scale,
                "weight_decay": weight_decay if decays else 0.0,
                "lr_scale": scale,
            }
        groups[key]["params"].append(parameter)
    return [groups[key] for key in sorted(groups)]


class SpatialASTTrainer(Trainer):
    """A Trainer with layer-wise learning-rate decay (`layer_decay`, 0.75 in the release; 1.0 turns it off)."""

    def __init__(self, *args, layer_decay: float = 0.75, class_balanced_weights=None, eval_collator=None, **kwargs):
        self.layer_decay = layer_decay
        self.class_balanced_weights = class_balanced_weights
        self.eval_collator = eval_collator
        super().__init__(*args, **kwargs)

    def get_eval_dataloader(self, eval_dataset=None):
        """The Trainer's loader, with `eval_collator` (no mixup, fixed windows) in place of the training one."""
        if self.eval_collator is None:
            return super().get_eval_dataloader(eval_dataset)
        training_collator, self.data_collator = self.data_collator, self.eval_collator
        try:
            return super().get_eval_dataloader(eval_dataset)
        finally:
            self.data_collator = training_collator

    def create_optimizer(self, model=None):
        if self.optimizer is None:
            model = model if model is not None else self.model
            groups = layer_decay_parameter_groups(
                model, self.args.learning_rate, self.args.weight_decay, self.layer_decay
            )
            self.optimizer = torch.optim.AdamW(
                groups,
                lr=self.args.learning_rate,
                betas=(self.args.adam_beta1, self.args.adam_beta2),
                eps=self.args.adam_epsilon,
            )
        return self.optimizer

    def get_train_dataloader(self):
        """The Trainer's loader, or one of ours where the data need it, batched as `TrainingArguments` say and
        prepared by accelerate (which shards its batches across processes and tells the sampler or the dataset the
        epoch).

        With per-example weights, it draws by them (a [`ClassBalancedSampler`], the release's 2M-clip recipe). With
        a [`SpatialAudioDataset`], an [`EpochIndexSampler`] (over the shuffle or the weighted draw) stamps each index
        with its epoch, so workers, persistent ones included, load the epoch's render plans. A training
        `SpatialAudioCollator` needs such a dataset: on plain examples it would draw the same numbers for every batch.
        """
        from .encoder_data import EpochIndexSampler, SpatialAudioCollator, SpatialAudioDataset

        planned = isinstance(self.train_dataset, SpatialAudioDataset)
        if isinstance(self.data_collator, SpatialAudioCollator) and self.data_collator.train and not planned:
            raise ValueError(
                "A training SpatialAudioCollator renders the items of a SpatialAudioDataset, whose items carry their "
                "random choices (seed, epoch, index): pass train_dataset=SpatialAudioDataset(examples, seed=...)."
            )
        if self.class_balanced_weights is None and not planned:
            return super().get_train_dataloader()
        args = self.args
        seed = args.seed if args.data_seed is None else args.data_seed
        sampler = None
        if self.class_balanced_weights is not None:
            if len(self.class_balanced_weights) != len(self.train_dataset):
                raise ValueError(
                    f"class_balanced_weights holds {len(self.class_balanced_weights)} weights for a train_dataset of "
                    f"{len(self.train_dataset)} examples: compute them from the same examples "
                    "(class_balanced_weights())."
                )
            sampler = ClassBalancedSampler(self.class_balanced_weights, seed=seed)
        if planned:
            sampler = EpochIndexSampler(self.train_dataset, sampler, seed=seed)
        options = {}
        if args.dataloader_num_workers > 0:
            options = {
                "persistent_workers": args.dataloader_persistent_workers,
                "prefetch_factor": args.dataloader_prefetch_factor,
                "multiprocessing_context": args.dataloader_multiprocessing_context,
            }
        loader = DataLoader(
            self.train_dataset,
            batch_size=args.train_batch_size,
            sampler=sampler,
            collate_fn=self.data_collator,
            num_workers=args.dataloader_num_workers,
            pin_memory=args.dataloader_pin_memory,
            drop_last=args.dataloader_drop_last,
            **options,
        )
        return self.accelerator.prepare(loader)


class ClassBalancedSampler(Sampler[int]):
    """Draws `num_samples` indices with replacement, with probability proportional to `weights`.

    The draw of an epoch depends only on `(seed, epoch)`, so every process draws the same sequence (accelerate
    splits it into per-process batches) and a resumed run draws what the interrupted one would have.
    """

    def __init__(self, weights, num_samples: int | None = None, seed: int = 0):
        self.weights = torch.as_tensor(weights, dtype=torch.double)
        if self.weights.ndim != 1 or len(self.weights) == 0:
            raise ValueError(f"weights must be a non-empty 1-D sequence, got shape {tuple(self.weights.shape)}.")
        if not bool(torch.isfinite(self.weights).all()) or bool((self.weights < 0).any()) or self.weights.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero.")
        self.num_samples = len(self.weights) if num_samples is None else int(num_samples)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        yield from torch.multinomial(self.weights, self.num_samples, replacement=True, generator=generator).tolist()


def class_balanced_weights(examples, label2id) -> list[float]:
    """Per-example sampling weights: the sum over the example's classes of 1 / class frequency."""
    counts = torch.zeros(len(label2id))
    for example in examples:
        for name in example.labels:
            counts[label2id[name]] += 1
    return [float(sum(1.0 / counts[label2id[name]] for name in example.labels)) for example in examples]


class ExampleList(Dataset):
    """A plain list of examples as a torch Dataset, for evaluation (training reads a `SpatialAudioDataset`)."""

    def __init__(self, examples):
        self.examples = list(examples)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int):
        return self.examples[index]


def train_encoder_stages(
    model,
    examples,
    catalogue,
    rir_bank,
    feature_extractor,
    output_dir,
    stage_epochs: tuple[float, float],
    training_arguments: dict,
    layer_decay: float = 0.75,
    class_balanced_weights=None,
    resumable: bool = False,
    eval_examples=None,
    **collator_options,
):
    """The paper's two stages on `model`: stage 1 events only, stage 2 events + distance + direction (0 epochs skips
    a stage). Returns the trained model.

    With `eval_examples`, stage 2 is evaluated on them (the Trainer's `eval_strategy` decides how often; at the end
    in any case) with :func:`~transformers_bat.evaluation.compute_encoder_metrics` (mAP, DER, ER20, MAE, octant
    accuracies); the final figures are saved beside the model as `eval_results.json`.

    `training_arguments` are `TrainingArguments` fields shared by both stages (output_dir is `<output_dir>/<stage>`;
    the release's AdamW betas and cosine schedule are the defaults); `collator_options` go to each stage's
    `SpatialAudioCollator` (mixup, soft direction targets), except `seed` (default 0), which seeds the
    `SpatialAudioDataset` whose plans fix every random choice by (seed, epoch, index); both stages count epochs
    from 0 with that seed. With `resumable`, each finished stage is saved to `<output_dir>/<stage>/final` (with the
    feature extractor) and loaded instead of trained again, and an interrupted stage continues from its newest Trainer
    checkpoint.
    """
    from pathlib import Path

    from transformers import TrainingArguments
    from transformers.trainer_utils import get_last_checkpoint

    from .encoder_data import SpatialAudioCollator, SpatialAudioDataset

    output_dir = Path(output_dir)
    collator_options = dict(collator_options)
    seed = collator_options.pop("seed", 0)
    for (stage, spatial), epochs in zip((("stage1", False), ("stage2", True)), stage_epochs):
        if epochs <= 0:
            continue
        stage_dir = output_dir / stage
        final = stage_dir / "final"
        if resumable and (final / "config.json").is_file():  # finished earlier: continue from its weights
            model = type(model).from_pretrained(final)
            continue
        collator = SpatialAudioCollator(
            catalogue,
            rir_bank,
            feature_extractor,
            model.config.label2id,
            with_spatial_labels=spatial,
            **collator_options,
        )
        arguments = {
            "lr_scheduler_type": "cosine",
            "adam_beta2": 0.95,
            "report_to": "none",
            "remove_unused_columns": False,
            "label_names": ENCODER_LABEL_NAMES,
            **training_arguments,
            "output_dir": str(stage_dir),
            "num_train_epochs": epochs,
        }
        evaluation = {}
        if spatial and eval_examples is not None:
            from ..evaluation.encoder_metrics import compute_encoder_metrics

            options = {k: v for k, v in collator_options.items() if k != "mixup_probability"}
            evaluation = dict(
                eval_dataset=ExampleList(eval_examples),
                compute_metrics=compute_encoder_metrics,
                eval_collator=SpatialAudioCollator(
                    catalogue,
                    rir_bank,
                    feature_extractor,
                    model.config.label2id,
                    with_spatial_labels=True,
                    train=False,
                    **options,
                ),
            )
        else:
            arguments = {**arguments, "eval_strategy": "no"}
        trainer = SpatialASTTrainer(
            model=model,
            args=TrainingArguments(**arguments),
            train_dataset=SpatialAudioDataset(examples, seed=seed),
            data_collator=collator,
            layer_decay=layer_decay,
            class_balanced_weights=class_balanced_weights,
            **evaluation,
        )
        checkpoint = get_last_checkpoint(str(stage_dir)) if resumable and stage_dir.is_dir() else None
        trainer.train(resume_from_checkpoint=checkpoint)
        if evaluation:
            metrics = trainer.evaluate()
            final.mkdir(parents=True, exist_ok=True)
            (final / "eval_results.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
        if resumable:
            trainer.save_model(str(final))
            feature_extractor.save_pretrained(final)
    return model
