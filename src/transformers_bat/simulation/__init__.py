"""Binaural scene simulation: rooms, HRTF listener, RIR banks, sound sources and on-the-fly spatialisation.

Needs the ``sim`` extra (pyroomacoustics, scipy, h5py) for rendering; reading banks and spatialising need only
the core dependencies.
"""

from . import spatialize  # the module: spatialize.spatialize(sources, rirs) is the batched convolution
from .geometry import SpatialLabel, listener_offset, spatial_label, world_position
from .rir_bank import (
    BankSettings,
    RIRBank,
    RIRFileError,
    RIRInfo,
    SimulatedRIRBank,
    SoundSpacesRIRBank,
    render_bank,
)
from .sources import AudioSetCatalogue, FolderCatalogue, ProceduralCatalogue, SoundCatalogue
from .spatialize import mix_sources, prepare_source, render_scene, spatialize_window

__all__ = [
    "AudioSetCatalogue",
    "BankSettings",
    "FolderCatalogue",
    "ProceduralCatalogue",
    "RIRBank",
    "RIRFileError",
    "RIRInfo",
    "SimulatedRIRBank",
    "SoundCatalogue",
    "SoundSpacesRIRBank",
    "SpatialLabel",
    "listener_offset",
    "mix_sources",
    "prepare_source",
    "render_bank",
    "render_scene",
    "spatial_label",
    "spatialize",
    "spatialize_window",
    "world_position",
]
