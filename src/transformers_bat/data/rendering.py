"""Rendering on read: a SpatialSoundQA record becomes a binaural 10 s waveform (and optionally model features).

Rendering is a pure function of the record: the clip and RIR ids it names are loaded and spatialised with the
simulator's ``render_scene`` (mono -> 32 kHz, -14 dBFS, full convolution, 10 s, the sources averaged), with no
random choice anywhere, so the same record always gives the same audio. Use it as a ``datasets`` transform
(``ds.with_transform(renderer)``) or as a DataLoader ``collate_fn`` (``renderer.collate``): both run inside the
DataLoader workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..scene import Scene
from .records import scene_of

NUM_SAMPLES = 320_000
SAMPLE_RATE = 32_000


class MissingAssetError(LookupError):
    """A record names a clip or an RIR that the catalogue / RIR bank does not have (or cannot read)."""


def _default_render_fn(clips, rirs, num_samples):
    import torch

    from ..simulation.spatialize import render_scene

    # torch's FFT rounds differently with different thread counts; DataLoader workers run one thread, so the
    # main process renders with one thread too and every process gives bit-identical audio.
    threads = torch.get_num_threads()
    if threads == 1:
        return render_scene(clips, rirs, num_samples=num_samples)
    torch.set_num_threads(1)
    try:
        return render_scene(clips, rirs, num_samples=num_samples)
    finally:
        torch.set_num_threads(threads)


class SceneRenderer:
    """Callable transform that adds ``waveform`` (2, T) float32 (and ``input_features``) to records.

    Parameters
    ----------
    rir_bank : an RIR bank (``load(reverb_id) -> (2, L)``) or the path of one (opened lazily in each process)
    catalogue : a sound catalogue (``load(clip_id) -> (audio, sample_rate)``)
    num_samples : output length (320,000 = 10 s at 32 kHz)
    features : optional; a feature extractor (called as ``fe(waveforms, sampling_rate=32000,
        return_tensors="np")["input_features"]``) or any callable ``list[(2, T)] -> array (B, ...)``
    render_fn : ``(clips, rirs, num_samples) -> (2, T)``; defaults to the simulator's ``render_scene``
    """

    def __init__(
        self,
        rir_bank,
        catalogue,
        num_samples: int = NUM_SAMPLES,
        features: Callable | None = None,
        render_fn: Callable | None = None,
        bank_split: str = "train",
    ):
        self._bank = None if isinstance(rir_bank, (str, os.PathLike)) else rir_bank
        self._bank_path = Path(rir_bank) if isinstance(rir_bank, (str, os.PathLike)) else None
        self._bank_split = bank_split
        self.catalogue = catalogue
        self.num_samples = int(num_samples)
        self.features = features
        self.render_fn = render_fn or _default_render_fn

    @property
    def rir_bank(self):
        if self._bank is None:
            from ..simulation.rir_bank import RIRBank

            self._bank = RIRBank.open(self._bank_path, split=self._bank_split)
        return self._bank

    def __getstate__(self):
        state = dict(self.__dict__)
        if self._bank_path is not None:
            state["_bank"] = None  # re-opened in the worker instead of pickling memory maps
        return state

    # ------------------------------------------------------------------ one record
    @staticmethod
    def _load(record: Mapping, what: str, asset_id: str, source):
        """`source.load(asset_id)` (a catalogue clip or an RIR), with an error that names the record."""
        try:
            return source.load(asset_id)
        except Exception as error:  # missing id, missing file, unreadable file: all name the record
            raise MissingAssetError(
                f"record {record.get('question_id')}: {what}={asset_id!r} cannot be loaded from {source!r}: {error}"
            ) from error

    def render(self, record: Mapping | Scene) -> np.ndarray:
        """(2, num_samples) float32 binaural waveform of one record or scene (any number of sources, mixed as the
        release mixes two: the mean of the spatialised -14 dBFS sources)."""
        scene = record if isinstance(record, Scene) else scene_of(record)
        where = {} if isinstance(record, Scene) else record
        clips, rirs = [], []
        for number, source in enumerate(scene, start=1):
            clips.append(self._load(where, f"source {number} audio_id", source.audio_id, self.catalogue))
            rirs.append(self._load(where, f"source {number} reverb_id", source.reverb_id, self.rir_bank))
        waveform = np.asarray(self.render_fn(clips, rirs, self.num_samples), dtype=np.float32)
        if waveform.shape != (2, self.num_samples):
            raise ValueError(f"render_fn returned shape {waveform.shape}, expected (2, {self.num_samples})")
        return waveform

    def featurize(self, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        """Model features of a list of (2, T) waveforms with the configured feature step."""
        if self.features is None:
            raise ValueError("No feature step configured (pass features=... to SceneRenderer)")
        if hasattr(self.features, "model_input_names"):
            return np.asarray(
                self.features(list(waveforms), sampling_rate=SAMPLE_RATE, return_tensors="np")["input_features"]
            )
        return np.asarray(self.features(list(waveforms)))

    # ------------------------------------------------------------------ datasets transform
    def __call__(self, batch: Mapping[str, list]) -> dict[str, list]:
        """``Dataset.with_transform`` hook: a batch (dict of lists) gains ``waveform`` (and ``input_features``)."""
        columns = dict(batch)
        size = len(next(iter(columns.values())))
        records = [{key: values[i] for key, values in columns.items()} for i in range(size)]
        waveforms = [self.render(record) for record in records]
        columns["waveform"] = waveforms
        if self.features is not None:
            columns["input_features"] = list(self.featurize(waveforms))
        return columns

    # ------------------------------------------------------------------ DataLoader collator
    def collate(
        self, records: Iterable[Mapping], keep: Sequence[str] = ("question_id", "question_type", "question", "answer")
    ):
        """``collate_fn`` for a DataLoader over raw records: renders in the worker, returns torch tensors.

        Returns ``{"waveforms": (B, 2, T)}`` (+ ``"input_features"``) and the ``keep`` columns as lists.
        """
        import torch

        records = list(records)
        waveforms = [self.render(record) for record in records]
        batch = {"waveforms": torch.from_numpy(np.stack(waveforms))}
        if self.features is not None:
            batch["input_features"] = torch.as_tensor(self.featurize(waveforms))
        for key in keep:
            batch[key] = [record.get(key) for record in records]
        return batch


def check_assets(records: Iterable[Mapping], rir_bank, catalogue, where: str = "") -> None:
    """Raise :class:`MissingAssetError` naming every clip / RIR id that ``records`` use but the sources lack."""
    known_rirs = set(rir_bank.ids)
    known_clips = set(catalogue.ids)
    missing_rirs: dict[str, int] = {}
    missing_clips: dict[str, int] = {}
    for record in records:
        for source in scene_of(record):
            if source.reverb_id not in known_rirs:
                missing_rirs[source.reverb_id] = missing_rirs.get(source.reverb_id, 0) + 1
            if source.audio_id not in known_clips:
                missing_clips[source.audio_id] = missing_clips.get(source.audio_id, 0) + 1
    problems = []
    if missing_rirs:
        problems.append(f"{len(missing_rirs)} RIR id(s) not in {rir_bank!r}, e.g. {sorted(missing_rirs)[:5]}")
    if missing_clips:
        problems.append(f"{len(missing_clips)} audio id(s) not in {catalogue!r}, e.g. {sorted(missing_clips)[:5]}")
    if problems:
        prefix = f"{where}: " if where else ""
        raise MissingAssetError(prefix + "records point at missing audio/RIRs: " + "; ".join(problems))
