"""A tiny, fast world for training tests: procedural clips and an in-memory bank of simple binaural RIRs."""

from __future__ import annotations

import numpy as np
import pytest

from transformers_bat.simulation import ProceduralCatalogue, RIRBank, RIRInfo


class ToyRIRBank(RIRBank):
    """Direct path with an interaural delay and level difference from the direction, 1/d gain, a short tail."""

    def __init__(self, num_rirs: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        infos, self._rirs = [], {}
        for k in range(num_rirs):
            azimuth, elevation, distance = rng.uniform(0, 360), rng.uniform(-40, 40), rng.uniform(0.5, 5.0)
            reverb_id = f"toy/{k}.npy"
            infos.append(
                RIRInfo(
                    reverb_id=reverb_id,
                    room_id=f"room{k % 3}",
                    azimuth_deg=azimuth,
                    elevation_deg=elevation,
                    distance_m=distance,
                    source_position=(0.0, 0.0, 0.0),
                    listener_position=(0.0, 0.0, 0.0),
                    heading_deg=0.0,
                    rt60_s=0.3,
                )
            )
            lateral = np.cos(np.radians(azimuth)) * np.cos(np.radians(elevation))  # +1 = right
            rir = np.zeros((2, 3200), dtype=np.float32)
            delay = int(round(abs(lateral) * 20))
            near, far = (1, 0) if lateral > 0 else (0, 1)
            rir[near, 10] = 1.0 / distance
            rir[far, 10 + delay] = (1.0 - 0.5 * abs(lateral)) / distance
            rir[:, 200:] += rng.standard_normal((2, 3000)).astype(np.float32) * 0.002 * np.exp(-np.arange(3000) / 600)
            self._rirs[reverb_id] = rir
        super().__init__(infos)

    def load(self, reverb_id: str) -> np.ndarray:
        return self._rirs[reverb_id]


@pytest.fixture(scope="session")
def toy_bank():
    return ToyRIRBank(48, seed=0)


@pytest.fixture(scope="session")
def toy_catalogue():
    return ProceduralCatalogue(clips_per_class=2, seed=0, class_names=["Dog", "Siren", "Engine", "Rain"])
