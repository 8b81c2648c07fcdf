"""The `spatial-audio-classification` pipeline: a binaural clip of any length -> its sound events, where they are
(direction words, degrees) and how far (metres), for the whole clip and window by window."""

from __future__ import annotations

import os

import numpy as np
import torch
from transformers import Pipeline

from ..models.spatial_ast.feature_extraction_spatial_ast import ENCODED_AUDIO, from_rate_and_array, is_rate_and_array
from ..models.spatial_ast.modeling_spatial_ast import SpatialAudioClassifierOutput

AudioLike = str | os.PathLike | bytes | np.ndarray | torch.Tensor | dict


class SpatialAudioClassificationPipeline(Pipeline):
    r"""
    Describes binaural (2-channel) audio with a Spatial-AST: events, direction and distance.

    ```python
    >>> describe = pipeline("spatial-audio-classification", model="path/to/spatial-ast")
    >>> describe("scene.wav", top_k=2)
    {'events': [('Dog', 0.93), ('Siren', 0.41)], 'distance_m': 2.5, 'azimuth_deg': 135.0, 'elevation_deg': 10.0,
     'direction': ('left', 'front', 'above'), 'segments': [{'start_s': 0.0, 'end_s': 10.0, 'events': ...}, ...]}
    ```

    A clip longer than the model's window is never cropped: it is encoded window by window (batched) and the
    windows are pooled (see `SpatialASTForSpatialAudioClassification.decode_windows`). Inputs: a path, encoded
    bytes, a `(2, samples)` array/tensor (with `sampling_rate=`), a `{"array", "sampling_rate"}` dict, or a list of
    these. Call arguments: `sampling_rate`, `top_k` or `threshold` (events), `hop_s` (window spacing, default the
    window length), `window_batch_size` (windows per forward pass).
    """

    _load_processor = False
    _load_feature_extractor = True
    _load_tokenizer = False
    _load_image_processor = False

    def _sanitize_parameters(
        self, sampling_rate=None, top_k=None, threshold=None, hop_s=None, window_batch_size=None, **kwargs
    ):
        if kwargs:
            raise TypeError(f"Unexpected arguments {sorted(kwargs)} for the spatial-audio-classification pipeline")
        preprocess = {key: value for key, value in (("sampling_rate", sampling_rate), ("hop_s", hop_s)) if value}
        forward = {"window_batch_size": window_batch_size} if window_batch_size else {}
        postprocess = {key: value for key, value in (("top_k", top_k), ("threshold", threshold)) if value is not None}
        return preprocess, forward, postprocess

    def preprocess(self, audio: AudioLike, sampling_rate=None, hop_s=None) -> dict:
        if is_rate_and_array(audio):  # gradio: (rate, int16 (samples, 2))
            audio = from_rate_and_array(*audio)
        if isinstance(audio, dict):
            if "array" not in audio and not {"bytes", "path"} & set(audio):
                raise ValueError(f"Expected a dict with 'array' and 'sampling_rate', got keys {sorted(audio)}.")
            if "array" in audio:
                sampling_rate = audio.get("sampling_rate", sampling_rate)
                audio = audio["array"]
            else:
                audio = audio.get("bytes") or audio["path"]
        elif not isinstance(audio, (*ENCODED_AUDIO, np.ndarray, torch.Tensor)):
            raise ValueError(f"Unsupported input of type {type(audio).__name__}: pass a path, an array or a dict.")
        features = self.feature_extractor(audio, sampling_rate=sampling_rate, windows=True, hop_s=hop_s)
        return {
            "input_features": torch.as_tensor(features["input_features"]).to(self.dtype),
            "window_start_s": features["window_start_s"],
        }

    def _forward(self, model_inputs: dict, window_batch_size: int = 16) -> dict:
        features = model_inputs["input_features"]
        parts = [self.model(input_features=chunk) for chunk in features.split(window_batch_size)]
        names = ["event_logits", "distance_logits", "azimuth_logits", "elevation_logits"]
        if parts[0].accdoa is not None:  # a multi-source model: its sources too
            names.append("accdoa")
        logits = {name: torch.cat([getattr(part, name) for part in parts]) for name in names}
        return {**logits, "window_start_s": model_inputs["window_start_s"]}

    def postprocess(self, model_outputs: dict, top_k=None, threshold: float = 0.5) -> dict:
        starts = np.asarray(model_outputs.pop("window_start_s")).reshape(-1)
        return self.model.decode_windows(
            SpatialAudioClassifierOutput(**model_outputs),
            clip_index=np.zeros(len(starts), dtype=np.int64),
            window_start_s=starts,
            window_s=self.feature_extractor.max_length_s,
            threshold=threshold,
            top_k=top_k,
        )[0]


__all__ = ["SpatialAudioClassificationPipeline"]
