"""Helpers shared by commands: opening sound catalogues and RIR banks from command-line specs."""

from __future__ import annotations

from pathlib import Path


class UsageError(ValueError):
    """A mistake in a command's arguments: printed as ``transformers-bat CMD: error: ...`` with exit code 2."""


SOURCES_HELP = "'procedural' (built-in synthetic clips), 'folder:PATH' (label/*.wav or a CSV) or 'audioset:ROOT'"


def open_catalogue(spec: str, clips_per_class: int = 10, seed: int = 0, audioset_metadata: str = "balanced,eval"):
    """A sound catalogue from a `--sources` spec (see SOURCES_HELP)."""
    from ..data.combined_catalogue import CombinedCatalogue
    from ..simulation import AudioSetCatalogue, FolderCatalogue, ProceduralCatalogue

    if spec == "procedural":
        return ProceduralCatalogue(clips_per_class=clips_per_class, seed=seed)
    kind, _, path = spec.partition(":")
    if kind == "folder" and path:
        return FolderCatalogue(path)
    if kind == "audioset" and path:
        names = [name.strip() for name in audioset_metadata.split(",") if name.strip()]
        found = [name for name in names if (Path(path) / "metadata" / f"{name}.json").is_file()]
        if not found:
            raise FileNotFoundError(f"no AudioSet metadata {names} under {Path(path) / 'metadata'}")
        return CombinedCatalogue([AudioSetCatalogue(path, metadata=name) for name in found])
    raise UsageError(f"--sources: expected {SOURCES_HELP}, got {spec!r}")
