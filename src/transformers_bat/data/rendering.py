"""Rendering on read: a scene (a SpatialSoundQA record, an encoder training item) becomes binaural audio.

Rendering is a pure function of the scene and of the options asked for: the clip and RIR ids of its sources are
loaded and spatialised as the release renders a record (mono -> 32 kHz, -14 dBFS, full convolution, 10 s, the
sources averaged), with no random choice anywhere; training's random choices (gains, mixup partners, windows) come
from the caller (see ``training.encoder_data``), so the same scene and options always give the same audio.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio_format import NUM_SAMPLES, SAMPLE_RATE
from ..scene import Scene, Source
from .records import scene_of


class MissingAssetError(LookupError):
    """A record names a clip or an RIR that the catalogue / RIR bank does not have (or cannot read)."""


@contextmanager
def _one_torch_thread():
    """torch rounds some operations differently with different thread counts; DataLoader workers run one thread,
    so the main process renders with one thread too and every process gives bit-identical audio."""
    import torch

    threads = torch.get_num_threads()
    if threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@dataclass(frozen=True)
class Mixup:
    """The release's mixup of one single-source scene: its dry clip becomes ``lam * own + (1 - lam) * partner``
    before it meets the scene's RIR."""

    partner: Source
    lam: float


class SceneRenderer:
    """Scenes -> binaural waveforms: the one renderer of the package (data, encoder and BAT training, evaluation).

    Every source is its clip made mono, 32 kHz, -14 dBFS and ``num_samples`` long, convolved with its RIR (cropped
    to 2 s), and the sources of a scene are averaged (the release's ``(w1 + w2) / 2``; ``sum / N`` for N). A record
    or scene renders to the same audio every time. :meth:`render_batch` is the batched torch form (CPU or GPU) with
    the training options: per-source gains, mixup, and a window of each scene (only the window is convolved).

    Use it as a ``datasets`` transform (``ds.with_transform(renderer)``) or as a DataLoader ``collate_fn``
    (``renderer.collate``): both run inside the DataLoader workers.

    Parameters
    ----------
    rir_bank : an RIR bank (``load(reverb_id) -> (2, L)``) or the path of one (opened lazily in each process)
    catalogue : a sound catalogue (``load(clip_id) -> (audio, sample_rate)``)
    num_samples : output length (320,000 = 10 s at 32 kHz)
    features : optional; a feature extractor (called as ``fe(waveforms, sampling_rate=SAMPLE_RATE,
        return_tensors="np")["input_features"]``) or any callable ``list[(2, T)] -> array (B, ...)``
    device : where :meth:`render_batch` convolves ("cpu"; a GPU renders a batch at a fraction of the cost)
    cache_size : prepared clips kept in memory (synthesis and resampling are the slow part; 0 = none)
    """

    def __init__(
        self,
        rir_bank,
        catalogue,
        num_samples: int = NUM_SAMPLES,
        features: Callable | None = None,
        bank_split: str = "train",
        device="cpu",
        cache_size: int = 0,
    ):
        self._bank = None if isinstance(rir_bank, (str, os.PathLike)) else rir_bank
        self._bank_path = Path(rir_bank) if isinstance(rir_bank, (str, os.PathLike)) else None
        self._bank_split = bank_split
        self.catalogue = catalogue
        self.num_samples = int(num_samples)
        self.features = features
        self.device = device
        self.cache_size = int(cache_size)
        self._cache: OrderedDict = OrderedDict()

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

    # ------------------------------------------------------------------ sources
    @staticmethod
    def _load(record: Mapping, what: str, asset_id: str, source):
        """`source.load(asset_id)` (a catalogue clip or an RIR), with an error that names the record."""
        try:
            return source.load(asset_id)
        except Exception as error:  # missing id, missing file, unreadable file: all name the record
            raise MissingAssetError(
                f"record {record.get('question_id')}: {what}={asset_id!r} cannot be loaded from {source!r}: {error}"
            ) from error

    def dry_source(self, audio_id: str, where: Mapping | None = None, what: str = "audio_id"):
        """The prepared clip (num_samples,) float32 on the CPU (from the cache when kept)."""
        from ..simulation.spatialize import prepare_source

        if audio_id in self._cache:
            self._cache.move_to_end(audio_id)
            return self._cache[audio_id]
        audio, sample_rate = self._load(where or {}, what, audio_id, self.catalogue)
        source = prepare_source(audio, sample_rate, self.num_samples)
        if self.cache_size > 0:
            self._cache[audio_id] = source
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return source

    @staticmethod
    def scene(item) -> Scene:
        """A record (its ``sources``), a scene, a source or a sequence of sources, as a scene."""
        if isinstance(item, Mapping):
            return scene_of(item)
        return Scene.of_item(item)

    # ------------------------------------------------------------------ rendering
    def render_batch(
        self,
        items: Sequence,
        *,
        gains_db: Sequence[Sequence[float]] | None = None,
        mixup: Sequence[Mixup | None] | None = None,
        window: int | None = None,
        window_starts: Callable | Sequence[int] | None = None,
    ):
        """Binaural waveforms (B, 2, num_samples, or ``window``) on ``device`` of records or scenes.

        Args:
            gains_db: per scene, a gain in dB for each of its sources (applied to the dry clips).
            mixup: per scene, a :class:`Mixup` or None (single-source scenes only).
            window: render only this many samples of each scene, from ``window_starts``: a start per scene, or a
                callable given the scenes' dry mixes (B, num_samples) that returns them (e.g. the loudest window).
        """
        import torch

        from ..simulation.spatialize import render_mixtures

        where = [item if isinstance(item, Mapping) else {} for item in items]
        scenes = [self.scene(item) for item in items]
        owner = [row for row, scene in enumerate(scenes) for _ in scene]
        flat = [(row, number, source) for row, scene in enumerate(scenes) for number, source in enumerate(scene, 1)]
        device = torch.device(self.device)
        with _one_torch_thread():
            dry = torch.stack(
                [self.dry_source(s.audio_id, where[row], f"source {n} audio_id") for row, n, s in flat]
            ).to(device)
            if mixup is not None:
                for row, choice in enumerate(mixup):
                    if choice is None:
                        continue
                    if len(scenes[row]) > 1:
                        raise ValueError("Mixup and multi-source scenes do not combine: set mixup_probability=0.")
                    partner = self.dry_source(choice.partner.audio_id).to(device)
                    index = owner.index(row)
                    dry[index] = choice.lam * dry[index] + (1.0 - choice.lam) * partner
            if gains_db is not None:
                gains = np.concatenate([np.asarray(g, dtype=np.float64).reshape(-1) for g in gains_db])
                if len(gains) != len(flat):
                    raise ValueError(f"gains_db gives {len(gains)} gains for {len(flat)} sources")
                dry = dry * torch.from_numpy(10.0 ** (gains / 20.0)).float().to(device)[:, None]
            rirs = self._responses(flat, where, device)
            starts = window_starts
            if window is not None and window < dry.shape[-1] and callable(starts):
                mixes = torch.zeros(len(scenes), dry.shape[-1], device=device, dtype=dry.dtype)
                starts = starts(mixes.index_add_(0, torch.tensor(owner, device=device), dry))
            return render_mixtures(dry, rirs, owner, len(scenes), window=window, starts=starts)

    def _responses(self, flat, where, device):
        """The sources' RIRs (n, 2, 2 s) on ``device``."""
        import torch

        from ..simulation.spatialize import RIR_LENGTH, fit_rir

        rirs = []
        for row, number, source in flat:
            rir = np.asarray(self._load(where[row], f"source {number} reverb_id", source.reverb_id, self.rir_bank))
            if rir.ndim != 2 or rir.shape[0] != 2:
                raise ValueError(f"the RIR {source.reverb_id!r} must be (2, L), got shape {rir.shape}")
            rirs.append(fit_rir(torch.from_numpy(rir.astype(np.float32, copy=False)), RIR_LENGTH))
        return torch.stack(rirs).to(device)

    def render(self, record: Mapping | Scene) -> np.ndarray:
        """(2, num_samples) float32 binaural waveform of one record or scene (on the CPU)."""
        return self.render_batch([record])[0].cpu().numpy()

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
