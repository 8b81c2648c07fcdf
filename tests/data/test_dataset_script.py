"""The builder in dataset_script/ writes folders that load_dataset reads with our features."""

import importlib.util
from pathlib import Path

import datasets

from transformers_bat.data import features

from .fake_release import write_release

SCRIPT = Path(__file__).resolve().parents[2] / "dataset_script" / "build_spatialsoundqa.py"


def load_script():
    spec = importlib.util.spec_from_file_location("build_spatialsoundqa", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_convert_release_gives_loadable_configs(tmp_path):
    folders = write_release(tmp_path / "release")
    (folders["closed_end"] / "stage2-single").mkdir()
    for name in ("train.json", "eval-stage2-classification.json", "eval-stage2-doa.json"):
        (folders["closed_end"] / "stage2-single" / name).write_text('{"data": []}')
    (folders["closed_end"] / "stage3-mixup" / "train.json").write_text(
        (folders["closed_end"] / "stage1-clsdoa" / "train.json").read_text()
    )
    out = tmp_path / "converted"
    code = load_script().main(
        [
            "convert-release",
            str(out),
            "--closed-end",
            str(folders["closed_end"]),
            "--reverb",
            str(folders["reverb"]),
            "--audioset",
            str(folders["audioset"]),
        ]
    )
    assert code == 0
    stage1 = datasets.load_dataset(str(out), "stage1")
    assert stage1["test"].features == features()
    assert sorted(stage1["test"]["question_type"]) == ["CLASSIFICATION", "DOA"]
    assert stage1["train"]["answer"] == ["right, front, above; 3m"]
    stage3 = datasets.load_dataset(str(out), "stage3", split="test")
    assert stage3.num_rows == 5
    assert "authors' SpatialSoundQA release" in (out / "README.md").read_text()


def test_export_release_then_read_back(tmp_path, dataset_dir):
    from transformers_bat.data import AuthorsRelease

    assert load_script().main(["export-release", str(dataset_dir), "--closed-end", str(tmp_path / "ce")]) == 0
    records = AuthorsRelease(tmp_path / "ce").records("stage3", "train", with_scene=False)
    assert len(records) == 240 * 9
