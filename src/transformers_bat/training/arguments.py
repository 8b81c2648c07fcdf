"""The `TrainingArguments` a user set, for training loops that build one `TrainingArguments` per stage.

The example scripts expose every `TrainingArguments` field through `HfArgumentParser`; the stage loops
(`train_encoder_stages`, `train_curriculum`) start from the release's recipe and apply what the user changed on top,
with each stage's own `output_dir` and epochs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from transformers import HfArgumentParser, TrainingArguments

# decided per stage by the loops themselves
PER_STAGE_FIELDS = ("output_dir", "num_train_epochs", "logging_dir")


def changed_training_arguments(arguments: TrainingArguments) -> dict:
    """Fields of `arguments` that differ from a default `TrainingArguments`, as plain values (enums as strings)."""
    given = arguments.to_dict()
    defaults = TrainingArguments(output_dir=arguments.output_dir).to_dict()
    changed = {}
    for key, value in given.items():
        if key.endswith("_token") and isinstance(value, str) and value.startswith("<"):  # to_dict masks secrets
            value, default = getattr(arguments, key), None
        else:
            default = defaults.get(key)
        if key in PER_STAGE_FIELDS or key not in defaults or value == default:
            continue
        changed[key] = value
    return changed


# Where every training script of ours departs from TrainingArguments' defaults
SCRIPT_DEFAULTS = dict(logging_steps=50, ddp_find_unused_parameters=False, report_to="none", seed=0)


def parse_script_arguments(
    dataclass_types: Sequence[type], recipe: Mapping, argv: Sequence[str] | None = None, description: str = ""
) -> tuple:
    """`HfArgumentParser(dataclass_types).parse_args_into_dataclasses(argv)` with `SCRIPT_DEFAULTS` and the
    script's `recipe` as defaults: every field is a flag, and the release's recipe is what no flag changes."""
    parser = HfArgumentParser(tuple(dataclass_types), description=description)
    parser.set_defaults(**SCRIPT_DEFAULTS, **recipe)
    return parser.parse_args_into_dataclasses(args=argv)
