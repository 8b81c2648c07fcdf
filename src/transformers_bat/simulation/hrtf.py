"""Head-related impulse responses (HRIRs): the bundled MIT KEMAR set, user SOFA files and a spherical head.

All sets are brought to one head frame, the pyroomacoustics convention for a listener with heading 0:
+x front, +y left, +z up. Directions are unit vectors (N, 3) in that frame; ``left``/``right`` are (N, taps)
impulse responses at ``sample_rate``. :meth:`HRIRSet.directivities` turns a set into the two ear directivities
that pyroomacoustics renders with (built once per process, re-oriented per listener pose).
"""

from __future__ import annotations

import copy
import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio_format import SAMPLE_RATE

KEMAR_FILE = Path(__file__).with_name("data") / "mit_kemar_normal_pinna_32k.npz"
SOFA_CONVENTION = "SimpleFreeFieldHRIR"
SPEED_OF_SOUND_M_S = 343.0
# Rates a measured HRIR set can sensibly have (SOFA files in use are 44.1-96 kHz; 8 kHz sets exist)
HRIR_RATE_RANGE_HZ = (8_000, 384_000)
# Two measurement directions closer than this (degrees) count as the same position
DUPLICATE_DIRECTION_DEG = 0.01


@dataclass(frozen=True, eq=False)
class HRIRSet:
    """A measured or modelled set of HRIRs.

    Attributes:
        name: "kemar", "spherical" or the SOFA path.
        sample_rate: Hz.
        directions: (N, 3) unit vectors in the head frame (+x front, +y left, +z up).
        left, right: (N, taps) float32 impulse responses of the left and right ear.
        min_elevation_deg, max_elevation_deg: elevations with measured data; sources are placed inside.
    """

    name: str
    sample_rate: int
    directions: np.ndarray
    left: np.ndarray
    right: np.ndarray
    min_elevation_deg: float = -90.0
    max_elevation_deg: float = 90.0

    def __post_init__(self):
        problem = _hrir_problem(self)
        if problem:
            raise ValueError(f"HRIR set {self.name!r}: {problem}")

    @property
    def num_taps(self) -> int:
        return int(self.left.shape[-1])

    def nearest(self, direction) -> tuple[np.ndarray, np.ndarray]:
        """(left, right) HRIRs of the measured direction closest to a head-frame vector (3,)."""
        direction = np.asarray(direction, dtype=np.float64)
        index = int(np.argmax(self.directions @ (direction / np.linalg.norm(direction))))
        return self.left[index], self.right[index]

    def directivities(self):
        """(left, right) pyroomacoustics ``MeasuredDirectivity`` objects for heading 0.

        Building them computes band energies over all directions (slow); use :func:`oriented` on the result to
        get a copy for another heading, which only rebuilds a KD-tree.
        """
        from pyroomacoustics.directivities import MeasuredDirectivity, Rotation3D
        from pyroomacoustics.doa import GridSphere

        grid = GridSphere(cartesian_points=self.directions.T.copy())
        identity = Rotation3D([0.0, 0.0, 0.0], "zyx")
        return tuple(
            MeasuredDirectivity(identity, grid, np.ascontiguousarray(ir, dtype=np.float64), self.sample_rate)
            for ir in (self.left, self.right)
        )


def _hrir_problem(hrirs: HRIRSet) -> str | None:
    """Why a set cannot be rendered with (shape, rate, non-finite, silent or repeated measurements), or None."""
    low, high = HRIR_RATE_RANGE_HZ
    if not low <= hrirs.sample_rate <= high:
        return f"sample rate {hrirs.sample_rate} Hz is outside {low}-{high} Hz"
    directions, left, right = np.asarray(hrirs.directions), np.asarray(hrirs.left), np.asarray(hrirs.right)
    if directions.ndim != 2 or directions.shape[1] != 3 or len(directions) == 0:
        return f"directions must be (N >= 1, 3), got {directions.shape}"
    if left.ndim != 2 or left.shape != right.shape or len(left) != len(directions) or left.shape[1] == 0:
        return f"left {left.shape} and right {right.shape} must both be (N={len(directions)}, taps >= 1)"
    for name, array in (("directions", directions), ("left", left), ("right", right)):
        if not np.all(np.isfinite(array)):
            return f"{name} contains NaN or infinite values"
    norms = np.linalg.norm(directions, axis=1)
    if np.any(np.abs(norms - 1.0) > 1e-3):
        return f"{int(np.sum(np.abs(norms - 1.0) > 1e-3))} directions are not unit vectors (zero positions?)"
    silent = [f"{ear} ear" for ear, ir in (("left", left), ("right", right)) if not np.any(ir)]
    if silent:
        return f"the {' and the '.join(silent)} are silent (all-zero impulse responses)"
    silent_rows = int(np.sum(~np.any(left, axis=1) | ~np.any(right, axis=1)))
    if silent_rows:
        return f"{silent_rows} of {len(left)} measurements have an all-zero ear"
    from scipy.spatial import cKDTree

    chord = 2.0 * np.sin(np.radians(DUPLICATE_DIRECTION_DEG) / 2.0)
    repeated = len(cKDTree(directions).query_pairs(chord))
    if repeated:
        return f"{repeated} pair(s) of measurements share a position (within {DUPLICATE_DIRECTION_DEG} degrees)"
    return None


def hrtf_content_hash(spec: str) -> str:
    """SHA-256 of what an HRTF spec reads (the SOFA file, the bundled KEMAR file), recorded in a bank's settings.

    A SOFA file replaced between a kill and a resume would otherwise give a bank that mixes two heads.
    """
    from ..files import file_digest

    if spec == "spherical":
        return "model:spherical-head-brown-duda-1998"  # computed, no data: the code is the content
    return file_digest(KEMAR_FILE if spec == "kemar" else spec)["sha256"]


def oriented(directivity, heading_deg: float):
    """A shallow copy of a ``MeasuredDirectivity`` turned to face ``heading_deg`` (yaw about +z)."""
    from pyroomacoustics.directivities import Rotation3D

    turned = copy.copy(directivity)
    turned.set_orientation(Rotation3D([float(heading_deg)], "z"))
    return turned


def directions_from_angles(azimuth_deg, elevation_deg) -> np.ndarray:
    """Head-frame unit vectors (N, 3) of SOFA-style angles (azimuth counter-clockwise from the front)."""
    azimuth, elevation = np.radians(azimuth_deg), np.radians(elevation_deg)
    return np.stack(
        [np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)], axis=-1
    )


def _resample(impulse_responses: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    if int(from_rate) == int(to_rate):
        return impulse_responses.astype(np.float32)
    from scipy.signal import resample_poly

    gcd = np.gcd(int(from_rate), int(to_rate))
    return resample_poly(impulse_responses, int(to_rate) // gcd, int(from_rate) // gcd, axis=-1).astype(np.float32)


def _from_angles(name, sample_rate, azimuth_deg, elevation_deg, left, right) -> HRIRSet:
    elevation_deg = np.asarray(elevation_deg, dtype=np.float64)
    return HRIRSet(
        name=name,
        sample_rate=int(sample_rate),
        directions=directions_from_angles(azimuth_deg, elevation_deg),
        left=np.ascontiguousarray(left, dtype=np.float32),
        right=np.ascontiguousarray(right, dtype=np.float32),
        min_elevation_deg=float(elevation_deg.min()),
        max_elevation_deg=float(elevation_deg.max()),
    )


def load_kemar(sample_rate: int = SAMPLE_RATE) -> HRIRSet:
    """The MIT KEMAR normal-pinna set bundled with the package (710 directions, elevation -40..90 degrees)."""
    if not KEMAR_FILE.is_file():
        raise FileNotFoundError(f"bundled KEMAR HRIRs missing at {KEMAR_FILE}; reinstall transformers-bat")
    with np.load(KEMAR_FILE) as data:
        stored_rate = int(data["sample_rate"])
        left = _resample(data["left"], stored_rate, sample_rate)
        right = _resample(data["right"], stored_rate, sample_rate)
        return _from_angles("kemar", sample_rate, data["azimuth_deg"], data["elevation_deg"], left, right)


def _attribute_text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return _attribute_text(value.flat[0]) if value.size else ""
    return str(value)


def read_sofa(path, sample_rate: int = SAMPLE_RATE) -> HRIRSet:
    """Read a SOFA ``SimpleFreeFieldHRIR`` file (netCDF-4/HDF5) with two receivers (left, right).

    Raises ``ValueError`` naming the problem for another convention, a receiver count other than two, or
    missing fields; ``FileNotFoundError`` for a missing file.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"SOFA file not found: {path}")
    try:
        sofa = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"{path} is not a readable SOFA (netCDF-4/HDF5) file: {error}") from error
    with sofa:
        convention = _attribute_text(sofa.attrs.get("SOFAConventions", ""))
        if convention != SOFA_CONVENTION:
            raise ValueError(
                f"{path} uses SOFA convention {convention or 'none'!r}; only {SOFA_CONVENTION!r} (HRIRs as FIR "
                "filters, one listener, two ears) is supported"
            )
        for field in ("Data.IR", "Data.SamplingRate", "SourcePosition"):
            if field not in sofa:
                raise ValueError(f"{path} lacks the SOFA field {field!r}")
        impulse_responses = np.asarray(sofa["Data.IR"], dtype=np.float64)  # (M, R, N)
        file_rate = float(np.asarray(sofa["Data.SamplingRate"]).ravel()[0])
        positions = np.asarray(sofa["SourcePosition"], dtype=np.float64)  # (M, 3)
        position_type = _attribute_text(sofa["SourcePosition"].attrs.get("Type", "spherical")).lower()
    if impulse_responses.ndim != 3 or impulse_responses.shape[1] != 2:
        raise ValueError(
            f"{path}: Data.IR must have shape (measurements, 2 ears, taps), got {impulse_responses.shape}"
        )
    low, high = HRIR_RATE_RANGE_HZ
    if not (np.isfinite(file_rate) and low <= file_rate <= high and file_rate == round(file_rate)):
        raise ValueError(f"{path}: Data.SamplingRate {file_rate} is not a whole rate in {low}-{high} Hz")
    file_rate = int(file_rate)
    if positions.shape != (impulse_responses.shape[0], 3):
        raise ValueError(f"{path}: SourcePosition shape {positions.shape} does not match Data.IR")
    if position_type.startswith("cartesian"):
        if np.any(np.linalg.norm(positions, axis=1) == 0.0):
            raise ValueError(f"{path}: SourcePosition has measurements at the listener's position (0, 0, 0)")
        x, y, z = positions.T
        azimuth_deg = np.degrees(np.arctan2(y, x))
        elevation_deg = np.degrees(np.arctan2(z, np.hypot(x, y)))
    else:
        azimuth_deg, elevation_deg = positions[:, 0], positions[:, 1]
    left = _resample(impulse_responses[:, 0], file_rate, sample_rate)
    right = _resample(impulse_responses[:, 1], file_rate, sample_rate)
    return _from_angles(str(path), sample_rate, azimuth_deg, elevation_deg, left, right)


def spherical_head(
    sample_rate: int = SAMPLE_RATE, num_directions: int = 512, head_radius_m: float = 0.0875, num_taps: int = 256
) -> HRIRSet:
    """A rigid spherical head (Brown & Duda 1998): Woodworth delay + one-pole/one-zero head shadow per ear.

    Needs no data; gets left/right right, but has almost no front/back or up/down cue (no pinna).
    """
    from pyroomacoustics.doa import fibonacci_spherical_sampling

    directions = fibonacci_spherical_sampling(num_directions).T  # (N, 3)
    frequencies = np.fft.rfftfreq(num_taps, 1.0 / sample_rate)
    omega = 2.0 * np.pi * frequencies
    omega_0 = SPEED_OF_SOUND_M_S / head_radius_m
    bulk_delay_s = 16.0 / sample_rate + head_radius_m / SPEED_OF_SOUND_M_S
    taper = np.ones(num_taps)  # fade out the last quarter only, so the direct sound is untouched
    taper[-(num_taps // 4) :] = np.hanning(2 * (num_taps // 4))[num_taps // 4 :]
    responses = []
    for ear_y in (1.0, -1.0):  # left ear on +y, right ear on -y
        cos_angle = np.clip(directions[:, 1] * ear_y, -1.0, 1.0)  # cosine of the angle between source and ear axis
        angle = np.arccos(cos_angle)
        # head shadow: alpha goes from 2 (facing the ear) to ~0.1 at 150 degrees
        alpha = 1.05 + 0.95 * np.cos(angle * 180.0 / 150.0)
        shadow = (1.0 + 1j * alpha[:, None] * omega / (2.0 * omega_0)) / (1.0 + 1j * omega / (2.0 * omega_0))
        # Woodworth: extra path around the sphere for sources behind the ear's tangent plane
        delay_s = (
            np.where(angle < np.pi / 2, -head_radius_m * cos_angle, head_radius_m * (angle - np.pi / 2))
            / SPEED_OF_SOUND_M_S
        )
        spectrum = shadow * np.exp(-1j * omega * (bulk_delay_s + delay_s)[:, None])
        responses.append(np.fft.irfft(spectrum, n=num_taps, axis=-1) * taper)
    return HRIRSet(
        "spherical", int(sample_rate), directions, responses[0].astype(np.float32), responses[1].astype(np.float32)
    )


@functools.lru_cache(maxsize=4)
def load_hrir_set(spec: str = "kemar", sample_rate: int = SAMPLE_RATE) -> HRIRSet:
    """``"kemar"`` (bundled), ``"spherical"`` (model, no data) or a path to a SOFA file; cached per process."""
    if spec == "kemar":
        return load_kemar(sample_rate)
    if spec == "spherical":
        return spherical_head(sample_rate)
    if str(spec).lower().endswith(".sofa") or os.path.exists(spec):
        return read_sofa(spec, sample_rate)
    raise ValueError(f"unknown HRTF {spec!r}: use 'kemar', 'spherical' or a path to a .sofa file")


def convert_slab_kemar(slab_bz2_path, output_path=KEMAR_FILE) -> Path:
    """Build the bundled npz from ``slab/data/mit_kemar_normal_pinna.bz2`` of the MIT-licensed PyPI ``slab``.

    The bz2 file pickles slab objects; a restricted unpickler reads their numpy arrays without importing slab.
    Stored: 44.1 kHz -> 32 kHz (polyphase), float32, SOFA angles (azimuth counter-clockwise from the front).
    """
    import bz2
    import pickle

    class _Record:
        def __setstate__(self, state):
            self.__dict__.update(state)

    class _Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if module.startswith("slab"):
                return type(name, (_Record,), {})
            if module.split(".")[0] == "numpy":
                return super().find_class(module, name)
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")

    with bz2.open(slab_bz2_path, "rb") as handle:
        hrtf = _Unpickler(handle).load()
    impulse_responses = np.stack([np.asarray(f.data, dtype=np.float64) for f in hrtf.data])  # (N, taps, 2)
    sources = np.asarray(hrtf.sources, dtype=np.float64)
    left = _resample(impulse_responses[..., 0], int(hrtf.samplerate), SAMPLE_RATE)
    right = _resample(impulse_responses[..., 1], int(hrtf.samplerate), SAMPLE_RATE)
    output_path = Path(output_path)
    np.savez_compressed(
        output_path,
        azimuth_deg=sources[:, 0].astype(np.float32),
        elevation_deg=sources[:, 1].astype(np.float32),
        left=left.astype(np.float16),  # float16 keeps the file at ~1 MB; noise floor ~-66 dB re peak
        right=right.astype(np.float16),
        sample_rate=np.int64(SAMPLE_RATE),
    )
    return output_path
