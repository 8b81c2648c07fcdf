"""Train BAT through the curriculum, from a Spatial-AST checkpoint and a causal-LM checkpoint.

Paper scale (LLaMA-2 7B, 8 GPUs, LoRA as the release, bf16, batch 8 per GPU):

    accelerate launch --config_file examples/accelerate/ddp_8gpu.yaml examples/train_bat.py \\
        --spatial-ast spatial-ast-converted --llm Llama-2-7b-hf --dataset ssqa --rir-bank mp3d_reverb \\
        --sources audioset:AudioSet --output-dir bat-run --peft lora --bf16 \\
        --batch-size 8 --learning-rate 1e-4 --epochs 5 --warmup-steps 20000

One-stage training (the paper's ablation) is `--stages stage3`. Re-running the same command resumes: finished
stages are loaded, an interrupted stage continues from its newest checkpoint. The trained model (with its
processor) is saved to `<output-dir>/final`; with PEFT the adapter (+ projector) is saved there too.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spatial-ast", required=True, help="Spatial-AST checkpoint folder (e.g. converted).")
    parser.add_argument("--llm", required=True, help="Causal-LM checkpoint folder with its tokenizer.")
    parser.add_argument("--dataset", required=True, help="SpatialSoundQA folder (generate-qa output).")
    parser.add_argument("--rir-bank", required=True, help="RIR bank of the dataset (ours or mp3d_reverb).")
    parser.add_argument("--sources", default="procedural", help="'procedural', 'folder:PATH' or 'audioset:ROOT'.")
    parser.add_argument("--clips-per-class", type=int, default=10)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--stages", default="stage1,stage2,stage3", help="Comma-separated curriculum stages.")
    parser.add_argument("--peft", choices=["lora", "llama-adapter", "none"], default="lora")
    parser.add_argument("--num-query-tokens", type=int, default=64)
    parser.add_argument("--qformer-layers", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8, help="Per device.")
    parser.add_argument("--gradient-accumulation-steps", type=int, default=1)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--epochs", type=float, default=5.0, help="Per stage.")
    parser.add_argument("--warmup-steps", type=float, default=0.05, help="Steps, or a fraction below 1.")
    parser.add_argument("--bf16", action="store_true", help="bf16 mixed precision (GPU).")
    parser.add_argument("--save-steps", type=int, default=2000)
    parser.add_argument("--dataloader-workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--use-cpu", action="store_true", help="Force the CPU (toy runs and tests).")
    return parser.parse_args(argv)


def main(argv=None) -> Path:
    args = parse_arguments(argv)
    import torch

    import transformers_bat  # noqa: F401  (registrations)
    from transformers_bat.cli.common import open_catalogue
    from transformers_bat.data import SceneRenderer, load_spatial_sound_qa
    from transformers_bat.model_cards import write_model_card
    from transformers_bat.models.bat import BatForConditionalGeneration, BatProcessor
    from transformers_bat.models.bat.peft_bat import add_llama_adapter, add_lora, save_adapter, save_llama_adapter
    from transformers_bat.simulation import RIRBank
    from transformers_bat.training import BatQACollator, stage_records, train_curriculum

    dtype = torch.bfloat16 if args.bf16 else None
    model, tokenizer = BatForConditionalGeneration.from_parts(
        args.spatial_ast,
        args.llm,
        projector_config={"num_hidden_layers": args.qformer_layers},
        num_query_tokens=args.num_query_tokens,
        dtype=dtype,
    )
    processor = BatProcessor.from_config(model.config, tokenizer)
    if args.peft == "lora":
        trained = add_lora(model)
    elif args.peft == "llama-adapter":
        trained = add_llama_adapter(model)
    else:
        model.freeze_audio_tower()
        trained = model
    bank = RIRBank.open(args.rir_bank, split=None)  # every index of an authors' bank: ids resolve as generated
    catalogue = open_catalogue(args.sources, args.clips_per_class, args.seed)
    # refuses an unfinished or damaged folder, and a bank / catalogue other than the ones it was generated from
    dataset = load_spatial_sound_qa(args.dataset, "stage3", split="train", rir_bank=bank, catalogue=catalogue)
    records = [dict(row) for row in dataset]
    stages = {name: stage_records(records, name) for name in args.stages.split(",")}
    renderer = SceneRenderer(bank, catalogue)
    arguments = dict(
        per_device_train_batch_size=args.batch_size,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        learning_rate=args.learning_rate,
        weight_decay=0.0,
        num_train_epochs=args.epochs,
        warmup_steps=args.warmup_steps,
        lr_scheduler_type="linear",
        bf16=args.bf16,
        save_steps=args.save_steps,
        logging_steps=50,
        dataloader_num_workers=args.dataloader_workers,
        seed=args.seed,
        use_cpu=args.use_cpu,
        ddp_find_unused_parameters=False,
    )
    train_curriculum(trained, BatQACollator(processor, renderer), stages, Path(args.output_dir), arguments)
    final = Path(args.output_dir) / "final"
    if args.peft == "lora":
        save_adapter(trained, final / "adapter", training=vars(args))  # adapter + projector only, with our card
        trained = trained.merge_and_unload()
    elif args.peft == "llama-adapter":
        save_llama_adapter(model, final / "adapter")
    if args.peft != "llama-adapter":
        trained.save_pretrained(final)
        processor.save_pretrained(final)
        write_model_card(final, "bat", description="BAT trained with examples/train_bat.py.", training=vars(args))
    return final


if __name__ == "__main__":
    main()
