"""The benchmark scripts stay runnable: their release-shape configs build, and the tiny BAT training and
dataset-reading runs work."""

from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(autouse=True)
def benchmarks_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.syspath_prepend(str(BENCHMARKS.parent / "tests" / "models" / "bat"))


def test_release_config_holds_the_audio_token():
    from bench_bat_generation import release_config

    config = release_config()
    assert config.audio_token_id == 32000 and config.text_config.vocab_size == 32001
    assert (config.text_config.hidden_size, config.text_config.num_hidden_layers) == (4096, 32)
    assert release_config(32064).text_config.vocab_size == 32064


def test_bat_training_benchmark_runs_tiny(capsys):
    import bench_bat_training

    assert bench_bat_training.main(["--config", "tiny", "--device", "cpu", "--steps", "1", "--batch-size", "2"]) == 0
    output = capsys.readouterr().out
    assert "eager (baseline)" in output and "sdpa" in output


def test_every_benchmark_imports():
    import importlib

    for script in sorted(BENCHMARKS.glob("bench_*.py")):
        module = importlib.import_module(script.stem)
        assert callable(module.main), script.name


def test_dataset_reading_benchmark_runs_tiny(capsys):
    import bench_qa_dataset_reading

    assert bench_qa_dataset_reading.main(["--records", "90", "--batch-size", "4", "--in-process"]) == 0
    output = capsys.readouterr().out
    assert "before: list of dicts" in output and "after: Arrow Dataset" in output and "after / before" in output
