"""Several sound catalogues seen as one (e.g. AudioSet ``balanced`` + ``unbalanced`` metadata for training)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..files import short_hash


class CombinedCatalogue:
    """The union of catalogues with disjoint clip ids; each call goes to the catalogue that owns the id."""

    def __init__(self, catalogues: Sequence):
        if not catalogues:
            raise ValueError("CombinedCatalogue needs at least one catalogue")
        self.catalogues = list(catalogues)
        self._owner: dict[str, int] = {}
        for index, catalogue in enumerate(self.catalogues):
            for clip_id in catalogue.ids:
                if self._owner.setdefault(clip_id, index) != index:
                    raise ValueError(f"clip id {clip_id!r} is in two catalogues: {catalogue!r} and another")

    def __repr__(self) -> str:
        return f"CombinedCatalogue({self.catalogues!r})"

    def __len__(self) -> int:
        return len(self._owner)

    def fingerprint(self) -> str:
        """Hash of the member catalogues' fingerprints, in order."""
        return short_hash("CombinedCatalogue", *(catalogue.fingerprint() for catalogue in self.catalogues))

    @property
    def ids(self) -> list[str]:
        return list(self._owner)

    @property
    def class_names(self) -> list[str]:
        return sorted({name for catalogue in self.catalogues for name in catalogue.class_names})

    def _catalogue(self, clip_id: str):
        try:
            return self.catalogues[self._owner[clip_id]]
        except KeyError:
            raise KeyError(f"unknown clip id {clip_id!r} in {self!r}") from None

    def labels(self, clip_id: str) -> list[str]:
        return self._catalogue(clip_id).labels(clip_id)

    def load(self, clip_id: str) -> tuple[np.ndarray, int]:
        return self._catalogue(clip_id).load(clip_id)
