"""Binaural scene simulation: rooms, HRTF listener, RIR banks, sound sources and on-the-fly spatialisation.

Needs the ``sim`` extra (pyroomacoustics, scipy, h5py) for rendering; reading banks and spatialising need only
the core dependencies. Names are imported on first use: opening a bank or a catalogue does not import torch
(the spatialisation functions do).
"""

from typing import TYPE_CHECKING

from ..lazy_exports import lazy_exports

_EXPORTS = {
    "listener_offset": ".geometry",
    "spatial_label": ".geometry",
    "world_position": ".geometry",
    "BankSettings": ".rir_bank",
    "RIRBank": ".rir_bank",
    "RIRFileError": ".rir_bank",
    "RIRInfo": ".rir_bank",
    "SimulatedRIRBank": ".rir_bank",
    "SoundSpacesRIRBank": ".rir_bank",
    "render_bank": ".rir_bank",
    "AudioSetCatalogue": ".sources",
    "FolderCatalogue": ".sources",
    "ProceduralCatalogue": ".sources",
    "SoundCatalogue": ".sources",
    "render_mixtures": ".spatialize",
    "prepare_source": ".spatialize",
    "render_scene": ".spatialize",
    "spatialize_window": ".spatialize",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
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
    "listener_offset",
    "render_mixtures",
    "prepare_source",
    "render_bank",
    "render_scene",
    "spatial_label",
    "spatialize",
    "spatialize_window",
    "world_position",
]

if TYPE_CHECKING:
    from . import spatialize  # the module: spatialize.spatialize(sources, rirs) is the batched convolution
    from .geometry import listener_offset, spatial_label, world_position
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
    from .spatialize import prepare_source, render_mixtures, render_scene, spatialize_window
