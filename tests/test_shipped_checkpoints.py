"""The small checkpoints shipped in checkpoints/ (made by `transformers-bat demo --export-checkpoints checkpoints`)
load offline with `from_pretrained` and answer through both pipelines; their cards say how they were made."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
SPATIAL_AST, BAT = ROOT / "checkpoints" / "spatial-ast-small", ROOT / "checkpoints" / "bat-small"
EXAMPLES = ROOT / "spaces" / "bat" / "examples"


def test_checkpoints_are_shipped_small_and_carry_cards():
    for folder in (SPATIAL_AST, BAT):
        assert (folder / "model.safetensors").is_file(), f"{folder} is missing: run the demo with --export-checkpoints"
        size_mb = sum(path.stat().st_size for path in folder.iterdir()) / 2**20
        assert size_mb < 15, f"{folder} holds {size_mb:.1f} MB"
        card = (folder / "README.md").read_text()
        assert "| seed | 0 |" in card and "## Evaluation (held-out)" in card
    assert "accdoa_2_source_per_class_left_right" in (SPATIAL_AST / "README.md").read_text()


def test_checkpoints_answer_through_the_pipelines():
    from transformers import AutoModel, pipeline

    import transformers_bat  # noqa: F401  (registrations)

    assert type(AutoModel.from_pretrained(BAT)).__name__ == "BatModel"
    first = json.loads((EXAMPLES / "scenes.json").read_text())["scenes"][0]  # the Space's siren, left front
    audio, rate = sf.read(EXAMPLES / first["file"], dtype="float32")
    clip = {"array": audio.T, "sampling_rate": rate}
    described = pipeline("spatial-audio-classification", model=str(SPATIAL_AST))(clip, top_k=2)
    assert described["events"] and described["direction"][0] == "left" and "sources" in described
    answer = pipeline("spatial-audio-qa", model=str(BAT))(clip, question="Where is the sound coming from?")
    answer = answer[0] if isinstance(answer, list) else answer
    assert isinstance(answer["answer"], str) and answer["answer"]


@pytest.mark.parametrize("folder", [SPATIAL_AST, BAT], ids=["spatial_ast", "bat"])
def test_checkpoint_code_is_the_generated_remote_code(folder):
    from transformers_bat.remote_code import HEADER_MARK

    code = sorted(folder.glob("*.py"))
    assert code and all(path.read_text().startswith(HEADER_MARK) for path in code)
