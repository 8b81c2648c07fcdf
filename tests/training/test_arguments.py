"""changed_training_arguments: what a user set on the command line reaches every stage, and nothing else."""

from transformers import HfArgumentParser, TrainingArguments

from transformers_bat.training.arguments import changed_training_arguments


def test_only_changed_fields_are_passed_on(tmp_path):
    parser = HfArgumentParser(TrainingArguments)
    parser.set_defaults(learning_rate=1e-3, report_to="none")
    (arguments,) = parser.parse_args_into_dataclasses(
        ["--output_dir", str(tmp_path), "--num_train_epochs", "7", "--eval_strategy", "steps", "--hub_token", "s3"]
    )
    changed = changed_training_arguments(arguments)
    assert changed["learning_rate"] == 1e-3 and changed["eval_strategy"] == "steps"
    assert changed["hub_token"] == "s3"  # to_dict would have masked it
    assert "output_dir" not in changed and "num_train_epochs" not in changed  # set per stage by the loops
    assert "seed" not in changed and "per_device_train_batch_size" not in changed
    TrainingArguments(output_dir=str(tmp_path / "stage1"), **changed)  # valid as it is
