"""Train BAT through the curriculum, from a Spatial-AST checkpoint and a causal-LM checkpoint.

Paper scale (LLaMA-2 7B, 8 GPUs, LoRA as the release, bf16, batch 8 per GPU):

    accelerate launch --config_file examples/accelerate/ddp_8gpu.yaml examples/train_bat.py \\
        --spatial_ast spatial-ast-converted --llm Llama-2-7b-hf --dataset ssqa --rir_bank mp3d_reverb \\
        --sources audioset:AudioSet --output_dir bat-run --peft lora --bf16 \\
        --per_device_train_batch_size 8 --learning_rate 1e-4 --num_train_epochs 5 --warmup_steps 20000

Every `TrainingArguments` field is a flag (`HfArgumentParser`: `--report_to wandb`, `--push_to_hub`,
`--gradient_checkpointing` ...; dashes work too); `--num_train_epochs` counts per stage. One-stage training (the
paper's ablation) is `--stages stage3`. Re-running the same command resumes: finished stages are loaded, an
interrupted stage continues from its newest checkpoint. The trained model (with its processor and a model card) is
saved to `<output_dir>/final`; with PEFT the adapter (+ projector) is saved there too, with its card. During
training, `--eval_fraction` of the train split's scenes is held out and each stage is evaluated on it with
teacher-forced answer-token accuracy and exact match (`--eval_strategy steps --eval_steps N` for more often); the
card carries the last figures. The paper's figures score generated answers: run `transformers-bat evaluate-bat` on
the dataset's test split.

The records stay an Arrow-backed `datasets.Dataset` throughout: the train split of the dataset card's config of the
widest stage asked for is loaded (memory-mapped, shared by every rank and DataLoader worker), the held-out scenes are
an index selection, and each stage is a filter on question types; nothing is copied into Python lists.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from transformers import TrainingArguments

if TYPE_CHECKING:
    import datasets
    import numpy as np


@dataclass
class ModelArguments:
    """The two checkpoints BAT is assembled from, the projector and the parameter-efficient method."""

    spatial_ast: str = field(metadata={"help": "Spatial-AST checkpoint folder (e.g. converted)."})
    llm: str = field(metadata={"help": "Causal-LM checkpoint folder with its tokenizer."})
    peft: str = field(
        default="lora", metadata={"help": "lora, llama-adapter or none.", "choices": ["lora", "llama-adapter", "none"]}
    )
    num_query_tokens: int = 64
    qformer_layers: int = 8


@dataclass
class DataArguments:
    """The SpatialSoundQA folder, the audio its ids point into, and the curriculum."""

    dataset: str = field(metadata={"help": "SpatialSoundQA folder (generate-qa output)."})
    rir_bank: str = field(metadata={"help": "RIR bank of the dataset (ours or mp3d_reverb)."})
    sources: str = field(default="procedural", metadata={"help": "'procedural', 'folder:PATH' or 'audioset:ROOT'."})
    clips_per_class: int = 10
    stages: str = field(default="stage1,stage2,stage3", metadata={"help": "Comma-separated curriculum stages."})
    eval_fraction: float = field(
        default=0.02,
        metadata={
            "help": "Share of the train split's scenes held out for in-training evaluation (teacher-forced answer "
            "accuracy, every `--eval_strategy` and at the end of each stage); 0 turns it off."
        },
    )


# The release's recipe where it differs from TrainingArguments' defaults (and SCRIPT_DEFAULTS)
RECIPE_DEFAULTS = dict(
    per_device_train_batch_size=8,
    learning_rate=1e-4,
    num_train_epochs=5.0,
    warmup_steps=0.05,
    weight_decay=0.0,
    lr_scheduler_type="linear",
    save_steps=2000,
    dataloader_num_workers=4,
)


def parse_arguments(argv=None) -> tuple[ModelArguments, DataArguments, TrainingArguments]:
    from transformers_bat.training.arguments import parse_script_arguments

    types = (ModelArguments, DataArguments, TrainingArguments)
    return parse_script_arguments(types, RECIPE_DEFAULTS, argv, __doc__.splitlines()[0])


def hold_out_scenes(
    records: "datasets.Dataset | Sequence[Mapping]", fraction: float, seed: int
) -> "tuple[datasets.Dataset, datasets.Dataset] | tuple[list[Mapping], list[Mapping]]":
    """Split records by scene (all questions about one scene stay on one side), deterministically per seed.

    A `datasets.Dataset` is split without reading its rows into Python: the scene keys come from its `sources`
    column alone, in Arrow batches, and both sides are `select`ions (index mappings over the same memory-mapped
    data). A sequence of dicts gives two lists. The same records give the same split either way.
    """
    import numpy as np

    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"--eval_fraction must be in [0, 1), got {fraction}.")
    if not isinstance(records, Sequence):  # a datasets.Dataset
        codes, order = _scene_codes(records)
        held = np.isin(codes, order[_held_out_positions(len(order), fraction, seed)])
        return records.select(np.flatnonzero(~held)), records.select(np.flatnonzero(held))
    from transformers_bat.data.records import scene_of

    keys = [scene_of(record).key for record in records]
    scenes = sorted(set(keys))
    chosen = {scenes[i] for i in _held_out_positions(len(scenes), fraction, seed)}
    kept = [record for record, key in zip(records, keys) if key not in chosen]
    return kept, [record for record, key in zip(records, keys) if key in chosen]


def _held_out_positions(num_scenes: int, fraction: float, seed: int) -> "np.ndarray":
    """Which scenes, by position in sorted order, are held out: round(fraction * scenes), at least one when asked."""
    import numpy as np

    count = int(round(fraction * num_scenes))
    if fraction > 0 and count == 0 and num_scenes > 1:
        count = 1
    return np.random.default_rng(seed).permutation(num_scenes)[:count]


def _scene_codes(dataset: "datasets.Dataset", batch_size: int = 65_536) -> "tuple[np.ndarray, np.ndarray]":
    """Each record's scene as an integer code (records,), and the codes in the sorted order of the scene keys.

    A scene key is its (clip, RIR) pairs joined with control characters that sort below any id character, so the
    byte order of the joined keys is the order of `Scene.key` tuples: lists and Datasets hold out the same scenes.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if "sources" not in dataset.column_names:
        raise ValueError(
            "The records have no 'sources' column: load them with transformers_bat.data.load_spatial_sound_qa."
        )
    chunks = []
    for table in dataset.select_columns(["sources"]).with_format("arrow").iter(batch_size=batch_size):
        sources = table.column("sources").combine_chunks()
        flat = pc.list_flatten(sources)
        pairs = pc.binary_join_element_wise(
            pc.struct_field(flat, "audio_id"), pc.struct_field(flat, "reverb_id"), "\x1f"
        )
        offsets = np.concatenate([[0], np.cumsum(pc.list_value_length(sources).fill_null(0).to_numpy())])
        scenes = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pairs)
        chunks.append(pc.binary_join(scenes, "\x1e"))
    encoded = pc.dictionary_encode(pa.chunked_array(chunks, pa.string())).combine_chunks()
    return encoded.indices.to_numpy(), pc.array_sort_indices(encoded.dictionary).to_numpy()


def main(argv=None) -> Path:
    model_args, data_args, training_args = parse_arguments(argv)
    import torch

    import transformers_bat  # noqa: F401  (registrations)
    from transformers_bat.cli.common import open_catalogue
    from transformers_bat.data import SceneRenderer, load_spatial_sound_qa
    from transformers_bat.data import question_types as qt
    from transformers_bat.model_cards import write_model_card
    from transformers_bat.models.bat import BatForConditionalGeneration, BatProcessor
    from transformers_bat.models.bat.peft_bat import add_llama_adapter, add_lora, save_adapter, save_llama_adapter
    from transformers_bat.simulation import RIRBank
    from transformers_bat.training import BatQACollator, stage_records, train_curriculum
    from transformers_bat.training.arguments import changed_training_arguments

    dtype = torch.bfloat16 if training_args.bf16 else None
    model, tokenizer = BatForConditionalGeneration.from_parts(
        model_args.spatial_ast,
        model_args.llm,
        projector_config={"num_hidden_layers": model_args.qformer_layers},
        num_query_tokens=model_args.num_query_tokens,
        dtype=dtype,
    )
    processor = BatProcessor.from_config(model.config, tokenizer)
    if model_args.peft == "lora":
        trained = add_lora(model)
    elif model_args.peft == "llama-adapter":
        trained = add_llama_adapter(model)
    else:
        model.freeze_audio_tower()
        trained = model
    bank = RIRBank.open(data_args.rir_bank, split=None)  # every index of an authors' bank: ids resolve as generated
    catalogue = open_catalogue(data_args.sources, data_args.clips_per_class, training_args.seed)
    names = data_args.stages.split(",")
    for name in names:
        qt.stage_types(name)  # an unknown stage raises here, naming the known ones
    widest = max(names, key=qt.STAGES.index)  # stages are cumulative: its config holds every stage asked for
    with training_args.main_process_first(desc="reading SpatialSoundQA"):  # rank 0 prepares Arrow + filter caches
        # refuses an unfinished or damaged folder, and a bank / catalogue other than the ones it was generated from
        dataset = load_spatial_sound_qa(data_args.dataset, widest, split="train", rir_bank=bank, catalogue=catalogue)
        records, held_out = hold_out_scenes(dataset, data_args.eval_fraction, training_args.seed)
        stages = {name: stage_records(records, name) for name in names}
    renderer = SceneRenderer(bank, catalogue)
    arguments = changed_training_arguments(training_args) | {"num_train_epochs": training_args.num_train_epochs}
    output_dir = Path(training_args.output_dir)
    collator = BatQACollator(processor, renderer)
    histories = train_curriculum(trained, collator, stages, output_dir, arguments, eval_records=held_out or None)
    final = output_dir / "final"
    last_evaluation = [entry for history in histories.values() for entry in history if "eval_loss" in entry][-1:]
    card = dict(
        description="BAT trained with examples/train_bat.py.",
        base_model=model_args.llm,
        training={
            "command": "examples/train_bat.py",
            "dataset": data_args.dataset,
            "stages": data_args.stages,
            "PEFT": model_args.peft,
            "training records": len(records),
            "held-out records": len(held_out),
            **{key: value for key, value in arguments.items() if not key.endswith("_token")},
        },
        metrics={
            f"{key.removeprefix('eval_')} (held-out scenes of the train split, teacher forced, last stage)": value
            for key, value in (last_evaluation[0] if last_evaluation else {}).items()
            if key.startswith("eval_answer") or key == "eval_loss"
        }
        or None,
    )
    if model_args.peft == "lora":
        save_adapter(trained, final / "adapter", **card)  # adapter + projector only, with our card
        trained = trained.merge_and_unload()
    elif model_args.peft == "llama-adapter":
        save_llama_adapter(model, final / "adapter")
    if model_args.peft != "llama-adapter":
        trained.save_pretrained(final)
        processor.save_pretrained(final)
        write_model_card(final, "bat", **card)
    return final


if __name__ == "__main__":
    main()
