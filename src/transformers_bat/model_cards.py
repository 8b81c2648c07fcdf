"""Model cards for our checkpoints, written with huggingface_hub's ``ModelCard`` / ``ModelCardData``.

A checkpoint folder is what people meet on the Hub: the card's metadata (licence, pipeline tag, base model, datasets)
decides how the Hub lists and runs it, and its text says how the weights were made and how well they do. One call,
:func:`write_model_card`, writes it; the converters, the training entry points and the demo call it with what they
know (licence of converted weights, the run's command, seed, data sizes, wall time and held-out figures).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

BAT_CITATION = """\
@inproceedings{zheng2024bat,
  title     = {{BAT}: Learning to Reason about Spatial Sounds with Large Language Models},
  author    = {Zheng, Zhisheng and Peng, Puyuan and Ma, Ziyang and Chen, Xie and Choi, Eunsol and Harwath, David},
  booktitle = {Proceedings of the 41st International Conference on Machine Learning (ICML)},
  year      = {2024}
}"""

# The authors' released weights and data are CC BY-NC 4.0; converted weights keep that licence.
AUTHORS_LICENSE = "cc-by-nc-4.0"
PACKAGE_LICENSE = "apache-2.0"

# Hub pipeline tag per model type: what the Hub's widget and task filters use.
PIPELINE_TAGS = {"spatial_ast": "audio-classification", "bat": "audio-text-to-text"}

USAGE = {
    "spatial_ast": """\
```python
import transformers_bat  # registers the Auto classes (or pass trust_remote_code=True without the package)
from transformers import AutoFeatureExtractor, AutoModelForAudioClassification

model = AutoModelForAudioClassification.from_pretrained("{path}").eval()
extractor = AutoFeatureExtractor.from_pretrained("{path}")
inputs = extractor("binaural.wav", return_tensors="pt")  # or a (2, T) array with sampling_rate=...
model.decode_predictions(model(**inputs), top_k=3)  # events, direction words, degrees and metres
```""",
    "bat": """\
```python
import transformers_bat
from transformers import pipeline

qa = pipeline("spatial-audio-qa", model="{path}")
qa("scene.wav", question="Is the sound on the left or the right?")
```""",
}


def hub_model_id(reference: str | os.PathLike | None) -> str | None:
    """``reference`` if it names a Hub repository (``org/name``), ``None`` for a local path (useless on the Hub)."""
    if reference is None:
        return None
    text = str(reference)
    if os.path.exists(text) or text.startswith((".", "/", "~")) or text.count("/") != 1:
        return None
    return text


def _table(rows: Mapping[str, object]) -> str:
    lines = ["| | |", "|---|---|"]
    for name, value in rows.items():
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        lines.append(f"| {name} | {shown} |")
    return "\n".join(lines)


def write_model_card(
    save_directory: str | os.PathLike,
    model_type: str,
    *,
    title: str | None = None,
    description: str = "",
    license: str = PACKAGE_LICENSE,
    base_model: str | os.PathLike | None = None,
    datasets: Sequence[str] | None = None,
    training: Mapping[str, object] | None = None,
    metrics: Mapping[str, object] | None = None,
    library_name: str = "transformers",
    tags: Sequence[str] = (),
    usage_path: str | None = None,
) -> Path:
    """Write ``save_directory/README.md``: YAML metadata + what the model is, how to use it, how it was trained and
    what it scores. Returns the path.

    Args:
        model_type: "spatial_ast" or "bat" (sets the pipeline tag and the usage snippet).
        license: the weights' licence: ``AUTHORS_LICENSE`` for converted release weights.
        base_model: a Hub id the weights derive from; local paths are left out of the metadata (named in the text).
        training: how the weights were made (command, seed, data sizes, wall time ...), shown as a table.
        metrics: held-out figures, shown as a table.
        library_name: "transformers", or "peft" for an adapter folder.
    """
    from huggingface_hub import ModelCard, ModelCardData

    if model_type not in PIPELINE_TAGS:
        raise ValueError(f"model_type must be one of {sorted(PIPELINE_TAGS)}, got {model_type!r}")
    hub_base = hub_model_id(base_model)
    data = ModelCardData(
        library_name=library_name,
        license=license,
        pipeline_tag=PIPELINE_TAGS[model_type],
        base_model=hub_base,
        datasets=list(datasets) if datasets else None,
        tags=["transformers-bat", "spatial-audio", "binaural", model_type, *tags],
    )
    name = title or {"spatial_ast": "Spatial-AST", "bat": "BAT"}[model_type]
    sections = [f"# {name}", description.strip()]
    if base_model is not None and hub_base is None:
        sections.append(f"Built on the local checkpoint `{base_model}`.")
    sections.append("## How to use\n\n" + USAGE[model_type].replace("{path}", usage_path or "path/to/this/folder"))
    if training:
        sections.append("## Training\n\n" + _table(training))
    if metrics:
        sections.append("## Evaluation (held-out)\n\n" + _table(metrics))
    licence_text = {
        AUTHORS_LICENSE: "CC BY-NC 4.0, the licence of the authors' released weights (non-commercial use only).",
        PACKAGE_LICENSE: "Apache-2.0.",
    }.get(license, license)
    sections.append(f"## Licence\n\n{licence_text}")
    sections.append(f"## Citation\n\n```bibtex\n{BAT_CITATION}\n```")
    content = f"---\n{data.to_yaml()}\n---\n\n" + "\n\n".join(section for section in sections if section) + "\n"
    path = Path(save_directory) / "README.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    ModelCard(content).save(path)
    return path
