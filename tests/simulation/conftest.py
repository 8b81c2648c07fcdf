"""Shared, module-cached simulation fixtures (HRIR sets and renderers are slow to build)."""

import pytest

from transformers_bat.simulation.hrtf import load_hrir_set
from transformers_bat.simulation.rir_rendering import BinauralRenderer


@pytest.fixture(scope="session")
def kemar():
    return load_hrir_set("kemar", 32000)


@pytest.fixture(scope="session")
def anechoic_renderer(kemar):
    """Direct path only (no reflections): the interaural cues of the HRIRs as placed by the renderer."""
    return BinauralRenderer(kemar, max_order=0, ray_tracing=False, max_rir_s=0.1)


@pytest.fixture(scope="session")
def renderer(kemar):
    return BinauralRenderer(kemar)
