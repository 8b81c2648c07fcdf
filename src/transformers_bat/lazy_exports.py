"""Package attributes imported on first use (PEP 562), so that importing a light part of the package (the
simulator, the data tools, the CLI's ``--help``) does not import torch and transformers."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], object], Callable[[], list]]:
    """``(__getattr__, __dir__)`` for a package whose public names live in submodules.

    ``exports`` maps a public name to the submodule (relative, e.g. ``".modeling_bat"``) that defines it.
    Unknown names raise ``AttributeError``, so ``from package import submodule`` still finds submodules.
    """

    def __getattr__(name: str) -> object:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name], package), name)
        setattr(importlib.import_module(package), name, value)  # later lookups skip __getattr__
        return value

    def __dir__() -> list:
        return sorted(set(exports) | set(vars(importlib.import_module(package))))

    return __getattr__, __dir__
