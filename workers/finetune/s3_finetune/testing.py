"""A tiny randomly initialised BERT sequence-classification base folder for tests (no download):
a word-level WordPiece vocabulary of the given words, hidden size 32, 2 layers, 2 heads.

  python -m s3_finetune.testing OUT_DIR      (used by tests/e2e/finetune.test.ts)
"""

from __future__ import annotations

import os
import sys

WORDS = (
    "the a an is was not no yes good bad great awful movie film spam ham free win money click "
    "hello meeting today tomorrow man woman dog cat eats runs sleeps park house food happy sad "
    "and or but it this that he she they we you i"
).split()


def make_tiny_model(out: str, seed: int = 0) -> str:
    """Writes a BertForSequenceClassification-ready folder (config.json, model.safetensors,
    tokenizer.json, vocab.txt, tokenizer_config.json) with random weights from `seed`. @returns out."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    os.makedirs(out, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *"abcdefghijklmnopqrstuvwxyz0123456789.,!?'-"]
    vocab += ["##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    with open(os.path.join(out, "vocab.txt"), "w") as f:
        f.write("\n".join(dict.fromkeys(vocab)) + "\n")
    # transformers 5 takes the vocabulary as `vocab` (a path or a dict); `vocab_file=` is ignored
    # silently and leaves a 5-token vocabulary that maps every word to [UNK]
    tokenizer = BertTokenizerFast(vocab=os.path.join(out, "vocab.txt"), do_lower_case=True, model_max_length=128)
    torch.manual_seed(seed)
    cfg = BertConfig(
        vocab_size=len(dict.fromkeys(vocab)),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=2,
    )
    BertForSequenceClassification(cfg).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


if __name__ == "__main__":
    print(make_tiny_model(sys.argv[1]))
