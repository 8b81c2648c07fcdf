"""The README's main job, at smoke size: every step runs and leaves its artefacts and report."""

import json
from pathlib import Path

import pytest

from transformers_bat.cli.main import main


@pytest.mark.slow
def test_quick_demo_runs_every_step(tmp_path, capsys):
    shipped = tmp_path / "checkpoints"
    (shipped / "bat-small").mkdir(parents=True)
    (shipped / "bat-small" / "stale.txt").write_text("replaced as a whole")
    assert main(["demo", "--quick", "--output-dir", str(tmp_path / "demo"), "--export-checkpoints", str(shipped)]) == 0
    out = tmp_path / "demo"
    report = json.loads((out / "report.json").read_text())
    # multi-source figures of the multi-ACCDOA head and of the paper's heads, on 2- and 3-source scenes
    assert {"accdoa_2_source_per_class_left_right", "release_2_source_F20", "accdoa_1_source_LE_deg"} <= set(
        report["spatial_ast"]
    )
    assert sorted(path.name for path in shipped.iterdir()) == ["bat-small", "spatial-ast-small"]
    assert not (shipped / "bat-small" / "stale.txt").exists()
    from transformers import AutoModel

    import transformers_bat  # noqa: F401

    encoder = AutoModel.from_pretrained(shipped / "spatial-ast-small")  # the exported folder loads on its own
    assert encoder.config.num_accdoa_tracks == 3
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
    from huggingface_hub import ModelCard

    for folder, tag in ((out / "bat", "audio-text-to-text"), (out / "spatial_ast" / "final", "audio-classification")):
        card = ModelCard.load(folder / "README.md")  # how it was made and its held-out figures
        assert card.data.pipeline_tag == tag and "## Evaluation (held-out)" in card.text
        assert "| seed | 0 |" in card.text
    assert "| mAP A |" in ModelCard.load(out / "bat" / "README.md").text

    # evaluate-bat on the demo's artefacts: generate, then re-score the written file to the same report
    dataset, bank = str(out / "spatial_sound_qa"), str(out / "rir_bank")
    common = ["evaluate-bat", dataset, "--rir-bank", bank, "--clips-per-class", "2", "--limit", "9"]
    assert main(common + ["--model", str(out / "bat"), "--output-dir", str(tmp_path / "eval")]) == 0
    lines = (tmp_path / "eval" / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == 9
    first = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert (
        main(
            common
            + [
                "--predictions",
                str(tmp_path / "eval" / "predictions.jsonl"),
                "--output-dir",
                str(tmp_path / "rescored"),
            ]
        )
        == 0
    )
    second = json.loads((tmp_path / "rescored" / "report.json").read_text())
    assert first["model"]["per_type"].keys() == second["model"]["per_type"].keys()
    for question_type, metrics in second["model"]["per_type"].items():
        for name, value in metrics.items():
            if name != "mAP":  # mAP needs the catalogue's class names, which a bare file does not carry
                assert first["model"]["per_type"][question_type][name] == value
    corrupt = tmp_path / "corrupt.jsonl"
    corrupt.write_text(lines[0] + "\n{not json\n")
    assert main(common + ["--predictions", str(corrupt), "--output-dir", str(tmp_path / "x")]) == 2
    assert "line 2: not valid JSON" in capsys.readouterr().err
    partial = tmp_path / "partial.jsonl"
    partial.write_text(lines[0] + "\n")
    assert main(common + ["--predictions", str(partial), "--output-dir", str(tmp_path / "y")]) == 2
    assert "no answer for 8 records" in capsys.readouterr().err

    # evaluate-spatial-ast on the demo's encoder and test split
    assert (
        main(
            [
                "evaluate-spatial-ast",
                dataset,
                "--model",
                str(out / "spatial_ast" / "final"),
                "--rir-bank",
                bank,
                "--clips-per-class",
                "2",
                "--output-dir",
                str(tmp_path / "encoder-eval"),
            ]
        )
        == 0
    )
    encoder_report = json.loads((tmp_path / "encoder-eval" / "report.json").read_text())
    assert encoder_report["clips"] > 0 and {"mAP", "DER", "ER20", "MAE_deg"} <= set(encoder_report)

    # examples/train_bat.py (the paper-scale script) at toy size on the demo's data: LoRA, two stages, CPU
    import importlib.util

    from transformers import LlamaConfig, LlamaForCausalLM

    from transformers_bat.training.qa_tokenizer import train_qa_tokenizer

    tokenizer = train_qa_tokenizer(["Where is the sound?", "left, front, below; 2.5m", "dog; siren"], vocab_size=280)
    lm = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
    )
    lm.save_pretrained(tmp_path / "lm")
    tokenizer.save_pretrained(tmp_path / "lm")
    spec = importlib.util.spec_from_file_location("train_bat", Path(__file__).parents[1] / "examples" / "train_bat.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    final = script.main(
        [
            "--spatial_ast",
            str(out / "spatial_ast" / "final"),
            "--llm",
            str(tmp_path / "lm"),
            "--dataset",
            dataset,
            "--rir_bank",
            bank,
            "--clips_per_class",
            "2",
            "--output_dir",
            str(tmp_path / "bat-run"),
            "--stages",
            "stage1,stage2",
            "--num_query_tokens",
            "2",
            "--qformer_layers",
            "1",
            "--per_device_train_batch_size",
            "8",
            "--num_train_epochs",
            "1",
            "--dataloader_num_workers",
            "0",
            "--use_cpu",
        ]
    )
    assert (final / "adapter" / "adapter_config.json").exists() and (final / "config.json").exists()
    assert json.loads((tmp_path / "bat-run" / "curriculum.json").read_text())["completed"] == ["stage1", "stage2"]
    card = (final / "README.md").read_text()  # the held-out scenes' teacher-forced figures of the last stage
    assert "answer_token_accuracy (held-out scenes of the train split" in card and "held-out records" in card
    records = [{"audio_id": f"a{i // 3}", "reverb_id": "r", "question": str(i)} for i in range(30)]
    kept, held_out = script.hold_out_scenes(records, 0.2, seed=0)
    assert len(held_out) == 6 and len(kept) == 24  # 2 of 10 scenes, with all 3 questions of each
    assert not {r["audio_id"] for r in kept} & {r["audio_id"] for r in held_out}
    assert script.hold_out_scenes(records, 0.2, seed=0) == (kept, held_out)

    # examples/train_spatial_ast.py (the paper-scale encoder script) at toy size on the demo's bank: both stages
    spec = importlib.util.spec_from_file_location(
        "train_spatial_ast", Path(__file__).parents[1] / "examples" / "train_spatial_ast.py"
    )
    encoder_script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(encoder_script)
    encoder_args = [
        "--rir_bank",
        bank,
        "--clips_per_class",
        "2",
        "--output_dir",
        str(tmp_path / "encoder-run"),
        "--num_examples",
        "16",
        "--num_eval_examples",
        "8",
        "--stage1_epochs",
        "1",
        "--stage2_epochs",
        "1",
        "--per_device_train_batch_size",
        "8",
        "--per_device_eval_batch_size",
        "8",
        "--hidden_size",
        "32",
        "--layers",
        "1",
        "--heads",
        "2",
        "--num_frames",
        "32",
        "--num_mel_bins",
        "32",
        "--window_s",
        "0.5",
        "--fusion_channels",
        "4",
        "--class_balanced",
        "--dataloader_num_workers",
        "0",
        "--use_cpu",
    ]
    encoder_final = encoder_script.main(encoder_args)
    assert encoder_final == tmp_path / "encoder-run" / "stage2" / "final"
    from transformers_bat import SpatialASTForSpatialAudioClassification

    trained = SpatialASTForSpatialAudioClassification.from_pretrained(encoder_final)
    assert trained.config.fusion_channels == 4 and trained.config.num_labels == 14
    assert (encoder_final / "preprocessor_config.json").exists()
    figures = json.loads((encoder_final / "eval_results.json").read_text())  # compute_metrics on the eval pairs
    assert {"eval_mAP", "eval_ER20", "eval_MAE_deg", "eval_loss"} <= set(figures)
    card = ModelCard.load(encoder_final / "README.md")
    assert "| eval_mAP |" in card.text and "| examples | 16 |" in card.text
    weights = encoder_final / "model.safetensors"
    stamp = weights.stat().st_mtime_ns
    assert encoder_script.main(encoder_args) == encoder_final  # finished stages are loaded, not trained again
    assert weights.stat().st_mtime_ns == stamp


def load_example(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, Path(__file__).parents[1] / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_bat_holds_out_scenes_of_a_dataset_without_reading_its_rows(monkeypatch):
    """examples/train_bat.py splits the Arrow-backed Dataset by scene from its `sources` column alone, into index
    selections, exactly as it splits the same records as a list (scenes of one to three sources)."""
    import datasets

    script = load_example("train_bat")
    records = [
        {
            "question": str(i),
            "question_type": "DOA",
            "sources": [
                {"audio_id": f"a{i % 13}" + "x" * k, "reverb_id": f"r{i % 5}/{k}"} for k in range(1 + (i % 13) % 3)
            ],
        }
        for i in range(120)
    ]
    dataset = datasets.Dataset.from_list(records)
    kept, held_out = script.hold_out_scenes(records, 0.2, seed=3)
    for name in ("to_list", "__iter__", "__getitem__"):  # no row reaches Python
        monkeypatch.setattr(datasets.Dataset, name, lambda *args: pytest.fail("the dataset was read row by row"))
    kept_rows, held_rows = script.hold_out_scenes(dataset, 0.2, seed=3)
    monkeypatch.undo()
    assert isinstance(kept_rows, datasets.Dataset) and isinstance(held_rows, datasets.Dataset)
    assert list(held_rows["question"]) == [r["question"] for r in held_out] and len(held_out) > 0
    assert list(kept_rows["question"]) == [r["question"] for r in kept]
    scenes = [
        {tuple((s["audio_id"], s["reverb_id"]) for s in row["sources"]) for row in side}
        for side in (kept_rows, held_rows)
    ]
    assert not scenes[0] & scenes[1]
    assert len(script.hold_out_scenes(dataset, 0.0, seed=3)[1]) == 0
    with pytest.raises(ValueError, match="no 'sources' column"):
        script.hold_out_scenes(dataset.remove_columns("sources"), 0.2, seed=3)


def test_cached_catalogue_travels_to_spawned_workers_with_its_clips():
    """DataLoader workers started by spawn (macOS, Windows) receive the catalogue pickled: clips and all."""
    import pickle

    from transformers_bat.demo import CachedCatalogue
    from transformers_bat.simulation import ProceduralCatalogue

    catalogue = CachedCatalogue(ProceduralCatalogue(clips_per_class=1, seed=0))
    first = catalogue.ids[0]
    audio, rate = catalogue.load(first)
    copy = pickle.loads(pickle.dumps(catalogue))
    assert copy.ids == catalogue.ids and list(copy._clips) == [first]
    assert copy.load(first)[1] == rate and (copy.load(first)[0] == audio).all()


def test_threads_beside_workers_leaves_the_workers_their_cores_and_restores():
    import torch

    from transformers_bat.demo import _usable_cores, threads_beside_workers

    before = torch.get_num_threads()
    with threads_beside_workers(2):
        assert torch.get_num_threads() == max(1, min(before, _usable_cores() - 2))
    assert torch.get_num_threads() == before
    with threads_beside_workers(0):  # no workers: nothing changes
        assert torch.get_num_threads() == before
