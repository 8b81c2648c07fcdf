"""Spatial-AST training data: (clip, RIR) examples rendered on read into features and labels.

An example names a clip of a sound catalogue and an RIR of a bank, with the ground-truth labels; the collator
renders it the way the release trains (mono -> 32 kHz, -14 dBFS, optional mixup of two clips BEFORE
spatialisation with lambda ~ Beta(10, 10) and one shared RIR, FFT convolution), optionally crops a random window
(a small-model option; only the window is convolved, see `spatialize_window`), computes Spatial-AST features and
builds the four label tensors.

Every random choice of an item (mixed up or not, its partner, lambda, window offsets, source gains) derives from
(seed, epoch, item index) alone: :class:`SpatialAudioDataset` hands each item to the collator with its
:class:`RenderPlan`, and :class:`EpochIndexSampler` carries the epoch with each index to the DataLoader worker that
loads it. A batch is therefore the same whatever the number of workers or ranks, and a restarted run replays it.

An example is a :class:`~transformers_bat.scene.Source` (clip, RIR, truth). Beyond the paper, an item may also be a
:class:`~transformers_bat.scene.Scene` of several sources (or a tuple of sources, see `multi_source_scenes`):
each source is heard through its own RIR and the sources are summed, as SpatialSoundQA's two-source scenes are
rendered; the labels then describe every source (event union, mixture targets for the release's one-direction
heads, and per-class multi-ACCDOA targets).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from .. import labels as lb
from ..audio_format import SAMPLE_RATE
from ..data.records import scene_of
from ..data.rendering import Mixup, SceneRenderer
from ..models.spatial_ast.multi_accdoa import accdoa_targets
from ..scene import Scene, Source


def examples_from_bank(catalogue, rir_bank, num_examples: int, seed: int, clip_ids=None, reverb_ids=None):
    """Pair clips and RIRs at random (fixed by `seed`): every clip and RIR is used about equally often."""
    clip_ids = list(clip_ids if clip_ids is not None else catalogue.ids)
    reverb_ids = list(reverb_ids if reverb_ids is not None else rir_bank.ids)
    if not clip_ids or not reverb_ids:
        raise ValueError(f"Need clips and RIRs to pair, got {len(clip_ids)} clips and {len(reverb_ids)} RIRs.")
    rng = np.random.default_rng(seed)
    clips = np.resize(rng.permutation(len(clip_ids)), num_examples)
    rirs = np.resize(rng.permutation(len(reverb_ids)), num_examples)
    examples = []
    for c, r in zip(clips, rirs):
        info = rir_bank.info(reverb_ids[r])
        audio_id = clip_ids[c]
        examples.append(
            Source(
                audio_id=audio_id,
                reverb_id=info.reverb_id,
                labels=tuple(catalogue.labels(audio_id)),
                azimuth_deg=info.azimuth_deg,
                elevation_deg=info.elevation_deg,
                distance_m=info.distance_m,
            )
        )
    return examples


def multi_source_scenes(
    examples: Sequence[Source],
    rir_bank,
    source_counts: Sequence[float] = (0.4, 0.4, 0.2),
    seed: int = 0,
    min_separation_deg: float = 30.0,
) -> list[Scene]:
    """Scenes of 1..len(`source_counts`) sources built from single-source examples (one scene per example, which
    is its first source). `source_counts[k - 1]` is the share of k-source scenes. Partners come from the same
    room where it has enough RIRs (as SpatialSoundQA pairs sources), share no class with the sources already in
    the scene, and lie at least `min_separation_deg` away from them; a scene keeps fewer sources when no partner
    fits. Deterministic per `seed`.
    """
    weights = np.asarray(source_counts, dtype=np.float64)
    if weights.ndim != 1 or len(weights) == 0 or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(f"source_counts must be non-negative shares of 1, 2, ... sources, got {source_counts!r}.")
    rng = np.random.default_rng(seed)
    rooms = np.array([rir_bank.info(example.reverb_id).room_id for example in examples], dtype=object)
    azimuth = np.array([example.azimuth_deg for example in examples])
    elevation = np.array([example.elevation_deg for example in examples])
    scenes = []
    for index in range(len(examples)):
        wanted = int(rng.choice(len(weights), p=weights / weights.sum())) + 1
        chosen = [index]
        same_room = np.flatnonzero(rooms == rooms[index])
        for pool in (rng.permutation(same_room), rng.permutation(len(examples))):
            for candidate in pool:
                if len(chosen) == wanted:
                    break
                labels = set(examples[candidate].labels)
                if candidate in chosen or any(labels & set(examples[c].labels) for c in chosen):
                    continue
                separation = lb.great_circle_deg(
                    azimuth[candidate], elevation[candidate], azimuth[chosen], elevation[chosen]
                )
                if np.min(separation) >= min_separation_deg:
                    chosen.append(int(candidate))
        scenes.append(Scene(tuple(examples[c] for c in chosen), rooms[index]))
    return scenes


def examples_from_records(records: Sequence[Mapping]) -> list[Source]:
    """Unique single-source (clip, RIR) sources of SpatialSoundQA records (our records carry the truth)."""
    seen, examples = set(), []
    for record in records:
        scene = scene_of(record)
        if len(scene) != 1 or not scene[0].has_truth:
            continue
        if scene.key not in seen:
            seen.add(scene.key)
            examples.append(scene[0])
    if not examples:
        raise ValueError("No single-source records with scene parameters: cannot build encoder examples.")
    return examples


def soft_class_targets(centres_deg: torch.Tensor, num_bins: int, sigma_deg: float, circular: bool) -> torch.Tensor:
    """Gaussian target distributions over 1-degree bins (B, num_bins); circular for azimuth."""
    bins = torch.arange(num_bins, dtype=torch.float32)[None, :]
    difference = bins - centres_deg.float()[:, None]
    if circular:
        difference = torch.remainder(difference + num_bins / 2, num_bins) - num_bins / 2
    weights = torch.exp(-0.5 * (difference / sigma_deg) ** 2)
    return weights / weights.sum(dim=1, keepdim=True)


def loudest_window(waveform: torch.Tensor, starts, length: int) -> int:
    """The start (among `starts`) of the `length`-sample window of (2, T) `waveform` with the most energy.

    Short windows of intermittent sounds (knocks, barks, footsteps) are often silent; a silent window teaches
    nothing and its label is noise.
    """
    energy = torch.cumsum(torch.nn.functional.pad(waveform.double().pow(2).sum(0), (1, 0)), 0)
    starts = torch.as_tensor(np.array(starts), dtype=torch.long, device=energy.device)  # a copy: views are read-only
    return int(starts[torch.argmax(energy[starts + length] - energy[starts])])


# One random stream per kind of choice, so that changing one option (e.g. mixup_probability) moves no other draw
PARTNER_STREAM, MIXUP_STREAM, WINDOW_STREAM, GAIN_STREAM = range(4)


@dataclass(frozen=True)
class RenderPlan:
    """A training item with what fixes its randomness: (seed, epoch, index) and its mixup partner.

    The collator draws each random choice of the item from :meth:`generator` (one stream per kind of choice), so the
    rendering depends on the plan alone: not on the batch, the worker, the rank or how often the collator ran.
    """

    item: Source | Scene
    partner: Source | Scene  # drawn from the whole data set, as the release draws mixup partners
    seed: int
    epoch: int
    index: int

    def generator(self, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, self.index, stream])


class SpatialAudioDataset(Dataset):
    """Training items (examples or scenes) whose every read is a :class:`RenderPlan` for the current epoch.

    `dataset[index]` plans the item for `dataset.epoch` (:meth:`set_epoch`); `dataset[epoch, index]` for the given
    epoch. A DataLoader worker holds a copy of the dataset made when the epoch's iterator started, or for good with
    `persistent_workers=True`, so train through an :class:`EpochIndexSampler` (as `SpatialASTTrainer` does): it
    stamps each index with the epoch in the main process. With a sampler of plain indices, call `set_epoch` before
    each epoch's iterator and do not use persistent workers (their copy keeps its first epoch).
    """

    def __init__(self, items: Sequence[Source | Scene], seed: int = 0):
        self.items = list(items)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: int | tuple[int, int]) -> RenderPlan:
        epoch, index = key if isinstance(key, tuple) else (self.epoch, key)
        index = range(len(self.items))[index]  # negative indices count from the end; IndexError past it
        partner = np.random.default_rng([self.seed, epoch, index, PARTNER_STREAM]).integers(len(self.items))
        return RenderPlan(self.items[index], self.items[int(partner)], self.seed, int(epoch), index)


class EpochIndexSampler(Sampler[tuple[int, int]]):
    """Keys `(epoch, index)` of a :class:`SpatialAudioDataset`, stamped with the dataset's epoch in the main process.

    The epoch thus reaches every worker with the indices it loads, persistent workers included. `order` gives the
    indices (e.g. a `ClassBalancedSampler`, told the epoch too); None shuffles them by (seed, epoch). The epoch is
    read from the dataset when an epoch starts and `set_epoch` sets it there: accelerate tells the epoch to this
    sampler in some set-ups and to the dataset in others (a resumed multi-process run), and either way works.
    """

    def __init__(self, dataset: SpatialAudioDataset, order: Sampler[int] | None = None, seed: int = 0):
        self.dataset, self.order, self.seed = dataset, order, int(seed)

    def set_epoch(self, epoch: int) -> None:
        self.dataset.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.dataset) if self.order is None else len(self.order)

    def __iter__(self):
        epoch = self.dataset.epoch
        if self.order is None:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            indices = torch.randperm(len(self.dataset), generator=generator).tolist()
        else:
            if hasattr(self.order, "set_epoch"):
                self.order.set_epoch(epoch)
            indices = self.order
        for index in indices:
            yield epoch, int(index)


class SpatialAudioCollator:
    """Renders a list of items (:class:`Source`, scenes, or the :class:`RenderPlan` of a
    :class:`SpatialAudioDataset`) into a batch for Spatial-AST.

    In training every random choice of an item comes from its plan, so the collator has no random state of its own.
    Plain items get the plans of a data set made of the batch alone, at epoch 0, with the collator's `seed` (item i
    keyed (seed, 0, i), its partner drawn from the batch): repeatable, but every batch draws the same numbers, so
    train through a `SpatialAudioDataset` (`SpatialASTTrainer` requires it). Evaluation ignores plans.

    Args:
        catalogue, rir_bank: the sound catalogue and RIR bank the examples point into.
        feature_extractor: a `SpatialASTFeatureExtractor`; its `max_length_s` is the clip (or crop) length.
        label2id: event class name -> index (the model config's `label2id`).
        train: training mode (mixup, random crops); evaluation renders each example identically every time.
        mixup_probability: share of training items mixed with their plan's partner (release: 0.5).
        with_spatial_labels: False gives events-only batches (stage 1 of the paper).
        direction_sigma_deg: soft Gaussian azimuth/elevation targets of this width (a small-model option);
            None gives the release's hard class indices.
        seed: seed of the plans of plain (unplanned) training items; planned items carry their dataset's seed.
        cache_size: prepared 10 s sources kept in memory (synthesis and resampling are the slow part).
        window_candidates: when the feature window is shorter than the clip, training takes the loudest of this
            many random windows (1 = a plain random crop); evaluation takes the loudest window on a fixed grid.
            Loudness is measured on the dry (mixed) source, and only the chosen window is spatialised.
        accdoa_tracks: with N > 0, batches also carry `accdoa_labels` for a model with a multi-ACCDOA head of N
            tracks (`SpatialASTConfig.num_accdoa_tracks`).
        source_gain_db: in training, every source of a multi-source scene but the first gets a random gain in this
            range (dB); evaluation mixes them at 0 dB.
        device: where spatialisation and features are computed. "cpu" (default) suits DataLoader workers; a GPU
            ("cuda") renders a whole batch in the main process at a fraction of the cost, for paper-size 10 s
            clips where rendering on CPU, not the model, limits training (run it with
            `dataloader_num_workers=0` and `dataloader_pin_memory=False`). Features are returned on `device`.
    """

    def __init__(
        self,
        catalogue,
        rir_bank,
        feature_extractor,
        label2id: Mapping[str, int],
        train: bool = True,
        mixup_probability: float = 0.5,
        mixup_alpha: float = 10.0,
        with_spatial_labels: bool = True,
        direction_sigma_deg: float | None = None,
        seed: int = 0,
        cache_size: int = 512,
        window_candidates: int = 4,
        accdoa_tracks: int = 0,
        source_gain_db: tuple[float, float] = (-6.0, 0.0),
        device: str | torch.device = "cpu",
    ):
        self.device = torch.device(device)
        self.renderer = SceneRenderer(rir_bank, catalogue, device=self.device, cache_size=cache_size)
        self.feature_extractor = feature_extractor
        self.label2id = dict(label2id)
        self.train, self.mixup_probability, self.mixup_alpha = train, mixup_probability, mixup_alpha
        self.with_spatial_labels, self.direction_sigma_deg = with_spatial_labels, direction_sigma_deg
        self.seed, self.window_candidates = seed, window_candidates
        self.accdoa_tracks, self.source_gain_db = accdoa_tracks, source_gain_db

    @property
    def catalogue(self):
        return self.renderer.catalogue

    @property
    def rir_bank(self):
        return self.renderer.rir_bank

    def _event_targets(self, scenes: Sequence[Scene]) -> torch.Tensor:
        targets = torch.zeros(len(scenes), len(self.label2id))
        for row, scene in enumerate(scenes):
            for example in scene:
                for name in example.labels:
                    if name not in self.label2id:
                        raise ValueError(
                            f"Class {name!r} of clip {example.audio_id} is not in the model's label space "
                            f"({len(self.label2id)} classes)."
                        )
                    targets[row, self.label2id[name]] = 1.0
        return targets

    @staticmethod
    def scenes(items: Sequence[Source | Scene | RenderPlan]) -> list[Scene]:
        """Every item as a scene: an example is a scene of one source, a plan the scene of its item."""
        items = [item.item if isinstance(item, RenderPlan) else item for item in items]
        return [Scene.of_item(item) for item in items]

    def plans(self, items: Sequence[Source | Scene | RenderPlan]) -> list[RenderPlan]:
        """The items' training plans: their own, or for plain items those of the batch as a data set (class doc)."""
        planned = [isinstance(item, RenderPlan) for item in items]
        if all(planned):
            return list(items)
        if any(planned):
            raise ValueError("A batch mixes planned items (of a SpatialAudioDataset) and plain ones: use one kind.")
        batch = SpatialAudioDataset(items, seed=self.seed)
        return [batch[index] for index in range(len(batch))]

    def render(self, items: Sequence[Source | Scene | RenderPlan]) -> tuple[torch.Tensor, torch.Tensor]:
        """Binaural waveforms (B, 2, crop) on `device` and event targets (B, classes) on the CPU, rendered by the
        package's one `SceneRenderer` with this item's training choices (mixup, source gains, window)."""
        if self.device.type != "cpu" and torch.utils.data.get_worker_info() is not None:
            raise RuntimeError(
                f"SpatialAudioCollator(device={str(self.device)!r}) runs in the main process: set "
                "dataloader_num_workers=0 (and dataloader_pin_memory=False), or render on the CPU in the workers."
            )
        plans = self.plans(items) if self.train else None
        scenes = self.scenes(items)
        events = self._event_targets(scenes)
        mixup = gains_db = None
        if plans is not None and any(len(scene) > 1 for scene in scenes):
            if self.mixup_probability > 0:
                raise ValueError("Mixup and multi-source scenes do not combine: set mixup_probability=0.")
            # every source but the first at a random gain of its plan
            gains_db = [
                [0.0, *plan.generator(GAIN_STREAM).uniform(*self.source_gain_db, len(scene) - 1)]
                for plan, scene in zip(plans, scenes)
            ]
        elif plans is not None and self.mixup_probability > 0:
            mixup, events = self._mixup(plans, events)
        # windows are chosen on the dry mix (the room only delays and smears it) and only they are rendered
        waveforms = self.renderer.render_batch(
            scenes,
            gains_db=gains_db,
            mixup=mixup,
            window=self.feature_extractor.num_samples,
            window_starts=lambda dry: self._window_starts(dry, plans),
        )
        return waveforms, events

    def _mixup(self, plans: Sequence[RenderPlan], events: torch.Tensor) -> tuple[list[Mixup | None], torch.Tensor]:
        """The release's mixup: with probability `mixup_probability` an item's dry clip becomes
        lam * own + (1 - lam) * partner's, lam ~ Beta(alpha, alpha), before it meets the item's RIR; the event
        targets mix alike."""
        partners = self.scenes([plan.partner for plan in plans])
        if any(len(partner) > 1 for partner in partners):
            raise ValueError("Mixup and multi-source scenes do not combine: set mixup_probability=0.")
        choices: list[Mixup | None] = []
        events = events.clone()
        for row, plan in enumerate(plans):
            rng = plan.generator(MIXUP_STREAM)
            mixed, lam = rng.random() < self.mixup_probability, float(rng.beta(self.mixup_alpha, self.mixup_alpha))
            choices.append(Mixup(partners[row][0], lam) if mixed else None)
            if mixed:
                events[row] = lam * events[row] + (1 - lam) * self._event_targets([partners[row]])[0]
        return choices, events

    def _window_starts(self, dry: torch.Tensor, plans: Sequence[RenderPlan] | None) -> list[int]:
        """Each item's window start in its dry signal (B, T): in training the loudest of `window_candidates` random
        windows (offsets from the item's plan), in evaluation the loudest on a fixed grid."""
        crop = self.feature_extractor.num_samples
        span = dry.shape[-1] - crop + 1
        if plans is None:
            candidates = [np.arange(0, span, max(1, crop // 4))] * len(dry)
        else:
            candidates = [plan.generator(WINDOW_STREAM).integers(0, span, self.window_candidates) for plan in plans]
        return [loudest_window(signal[None], row, crop) for signal, row in zip(dry, candidates)]

    def render_whole(self, examples: Sequence[Source | Scene | RenderPlan]) -> torch.Tensor:
        """Whole scenes (B, 2, samples) on `device`, as evaluation hears them: every source through its own RIR
        at 0 dB, mixed as SpatialSoundQA mixes them, no crop and no mixup (whatever the collator's training
        options)."""
        return self.renderer.render_batch(self.scenes(examples))

    def __call__(self, items: Sequence[Source | Scene | RenderPlan]) -> dict[str, torch.Tensor]:
        return self.batch(items, *self.render(items))

    def batch(
        self,
        examples: Sequence[Source | Scene | RenderPlan],
        waveforms: torch.Tensor,
        events: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """Features and labels of already rendered examples (the output of :meth:`render`)."""
        extractor = self.feature_extractor
        if waveforms.device.type != "cpu" and waveforms.shape[-1] == extractor.num_samples:
            with torch.no_grad():  # rendered here at the extractor's rate and length: straight to the STFT
                features = extractor.extract_features(waveforms.float())
        else:
            features = extractor(waveforms, sampling_rate=SAMPLE_RATE, return_tensors="pt")["input_features"]
        batch = {"input_features": features, "labels": events}
        scenes = self.scenes(examples)
        if not self.with_spatial_labels:
            return batch
        if all(len(scene) == 1 for scene in scenes):  # the release's targets
            azimuth = torch.tensor([scene[0].azimuth_deg for scene in scenes], dtype=torch.float64)
            elevation = torch.tensor([scene[0].elevation_deg for scene in scenes], dtype=torch.float64)
            distance = [scene[0].distance_m for scene in scenes]
            batch["distance_labels"] = torch.from_numpy(lb.distance_to_index(distance))
            if self.direction_sigma_deg is None:
                batch["azimuth_labels"] = torch.from_numpy(lb.azimuth_to_index(azimuth.numpy()))
                batch["elevation_labels"] = torch.from_numpy(lb.elevation_to_index(elevation.numpy()))
            else:
                batch["azimuth_labels"] = soft_class_targets(
                    azimuth, lb.NUM_AZIMUTH_BINS, self.direction_sigma_deg, circular=True
                )
                batch["elevation_labels"] = soft_class_targets(
                    elevation + 90.0, lb.NUM_ELEVATION_BINS, self.direction_sigma_deg, circular=False
                )
        else:  # one distribution per head, the mean of the sources' own targets
            batch.update(self._mixture_targets(scenes))
        if self.accdoa_tracks:
            sources = [
                [
                    (tuple(self.label2id[n] for n in e.labels), e.azimuth_deg, e.elevation_deg, e.distance_m)
                    for e in scene
                ]
                for scene in scenes
            ]
            batch["accdoa_labels"] = accdoa_targets(sources, len(self.label2id), self.accdoa_tracks)
        return batch

    def _mixture_targets(self, scenes: Sequence[Scene]) -> dict[str, torch.Tensor]:
        """Soft targets for the release's heads on multi-source scenes: each head's distribution is the mean of the
        sources' own targets (one-hot, or Gaussian with `direction_sigma_deg`), so a one-direction head learns
        where the sources are."""

        def one_hot(indices, num_bins: int) -> torch.Tensor:
            return torch.nn.functional.one_hot(torch.as_tensor(np.asarray(indices)).long(), num_bins).float()

        def direction(degrees: list[float], num_bins: int, to_index, offset: float, circular: bool) -> torch.Tensor:
            if self.direction_sigma_deg is None:
                return one_hot(to_index(np.asarray(degrees)), num_bins).mean(0)
            centres = torch.tensor(degrees, dtype=torch.float64) + offset
            return soft_class_targets(centres, num_bins, self.direction_sigma_deg, circular).mean(0)

        distance = [
            one_hot(lb.distance_to_index([e.distance_m for e in s]), lb.NUM_DISTANCE_BINS).mean(0) for s in scenes
        ]
        azimuth = [
            direction([e.azimuth_deg for e in s], lb.NUM_AZIMUTH_BINS, lb.azimuth_to_index, 0.0, True) for s in scenes
        ]
        elevation = [
            direction([e.elevation_deg for e in s], lb.NUM_ELEVATION_BINS, lb.elevation_to_index, 90.0, False)
            for s in scenes
        ]
        return {
            "distance_labels": torch.stack(distance),
            "azimuth_labels": torch.stack(azimuth),
            "elevation_labels": torch.stack(elevation),
        }
