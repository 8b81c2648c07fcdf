"""The README's main job, at smoke size: every step runs and leaves its artefacts and report."""

import json

import pytest

from transformers_bat.cli.main import main


@pytest.mark.slow
def test_quick_demo_runs_every_step(tmp_path):
    assert main(["demo", "--quick", "--output-dir", str(tmp_path / "demo")]) == 0
    out = tmp_path / "demo"
    report = json.loads((out / "report.json").read_text())
    assert {"spatial_ast", "spatial_ast_baselines", "bat", "bat_majority", "pipeline", "timings_s"} <= set(report)
    assert len(report["pipeline"]) == 3 and all(isinstance(p["answer"], str) for p in report["pipeline"])
    assert report["spatial_ast"]["gcc_phat_left_right"] >= 0.0
    assert set(report["bat"]["table4"]) >= {"mAP A", "DoA acc B", "BA average"}
    for stage in ("stage1", "stage2", "stage3"):
        assert (out / "bat_training" / stage / "final" / "trainable.safetensors").exists()
    assert json.loads((out / "bat_training" / "curriculum.json").read_text())["completed"] == [
        "stage1",
        "stage2",
        "stage3",
    ]
    assert (out / "directions.png").stat().st_size > 1000
    assert (out / "bat" / "config.json").exists() and (out / "spatial_ast" / "final" / "config.json").exists()
