"""A small tokenizer trained offline on SpatialSoundQA text, for language models trained from scratch (the demo)."""

from __future__ import annotations

from collections.abc import Iterable


def train_qa_tokenizer(texts: Iterable[str], vocab_size: int = 512):
    """Byte-level BPE (exact decode round trip) with <s>, </s>, <unk>; BOS is prepended to every encoding.

    Args:
        texts: the corpus, e.g. prompts (template filled with questions) and answers of the training split.
        vocab_size: target vocabulary size (the byte alphabet alone is 256).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    texts = list(texts)
    if not texts:
        raise ValueError("Cannot train a tokenizer on an empty corpus.")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<unk>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer)
    bos = tokenizer.token_to_id("<s>")
    tokenizer.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", bos)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="</s>"
    )
