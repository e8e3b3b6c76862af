"""The span-extraction QA student (s3_finetune/qa.py) on a tiny randomly initialised BERT: windows and
offsets as run_qa.py builds them, post-processing on hand-made logits, loss and confidence on known
logits, a few training steps lowering the loss, outputs against the contract's JSON Schemas, the QA
row reader of contract.py, and no Temporal import."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import jsonschema
import numpy as np
import pytest

from s3_finetune.contract import CONTRACT_DIR, ROOT, Hyper, InvalidInput, read_qa_jsonl
from s3_finetune.qa import QaSettings, features, load_fresh_qa, metrics_of, postprocess, predict_qa, train_qa
from s3_finetune.testing import make_tiny_model

ADQA = os.path.join(ROOT, "..", "shared", "datasets", "adversarial_qa", "test.jsonl")
DATA = os.path.join(ROOT, "tests", "fixtures", "data")
PLACES = ["the park", "the house", "the city", "a field", "the river", "a school", "the market", "a farm"]
WHO = ["the man", "a woman", "the dog", "a cat", "the boy", "she", "he", "they"]


@pytest.fixture(scope="session")
def qa_model(tmp_path_factory) -> str:
    """make_tiny_model's folder with a tokenizer that knows its vocabulary (transformers 5 ignores
    BertTokenizerFast(vocab_file=...), so make_tiny_model's own tokenizer maps every word to [UNK])."""
    from transformers import BertTokenizerFast

    out = make_tiny_model(str(tmp_path_factory.mktemp("tiny-qa")))
    with open(os.path.join(out, "vocab.txt")) as f:
        words = [w.rstrip("\n") for w in f if w.strip()]
    BertTokenizerFast(
        vocab={w: i for i, w in enumerate(words)}, do_lower_case=True, model_max_length=128
    ).save_pretrained(out)
    return out


def qa_row(i: int, context: str, question: str, answer: str) -> dict:
    return {
        "id": f"q{i}",
        "context": context,
        "question": question,
        "answers": {"text": [answer], "answer_start": [context.index(answer)]},
    }


def place_rows(n: int) -> list[dict]:
    """Where-questions whose answer is the place in a one-sentence context."""
    return [
        qa_row(
            i,
            f"{WHO[i % 8]} eats food in {PLACES[(3 * i) % 8]} today.",
            f"where does {WHO[i % 8]} eat?",
            PLACES[(3 * i) % 8],
        )
        for i in range(n)
    ]


def long_row() -> dict:
    ctx = " ".join(f"{WHO[i % 8]} runs in {PLACES[i % 8]}." for i in range(12)) + " the dog sleeps in a barn."
    return qa_row(0, ctx, "where does the dog sleep?", "a barn")


def hyper(model: str, **kw) -> Hyper:
    base = dict(
        model=model,
        preset="qa-test",
        epochs=1,
        batch_size=4,
        lr=3e-3,
        max_length=64,
        warmup_ratio=0.0,
        weight_decay=0.01,
        heartbeat_steps=10,
        checkpoint_steps=50,
        eval_batch_size=16,
        max_chars=2000,
        export=False,
        seed=3,
    )
    return Hyper(**{**base, **kw})


def schema(name: str) -> dict:
    with open(os.path.join(CONTRACT_DIR, f"{name}.schema.json")) as f:
        return json.load(f)


def test_windows_cover_a_long_context_with_offsets_back_to_characters(qa_model):
    _, tok = load_fresh_qa(qa_model, 0)
    row = long_row()
    feats = features(tok, [row], max_length=48, doc_stride=16)
    assert len(feats) >= 3
    q_tokens = len(tok(row["question"])["input_ids"])  # [CLS] question [SEP]
    for f in feats:
        assert len(f.input_ids) <= 48 and f.example_index == 0
        assert f.input_ids[0] == tok.cls_token_id and f.cls_index == 0
        # question first (no offsets), then the context (offsets), then [SEP] (none)
        assert all(o is None for o in f.offsets[:q_tokens]) and f.offsets[q_tokens] is not None
        assert f.offsets[-1] is None
    # consecutive windows overlap by doc_stride tokens of context
    firsts = [next(o for o in f.offsets if o is not None) for f in feats]
    ctx0 = [o for o in feats[0].offsets if o is not None]
    assert firsts[1] == ctx0[len(ctx0) - 16]
    with_answer = [f for f in feats if f.has_answer]
    assert with_answer, "the last window holds the answer"
    for f in with_answer:
        a, b = f.offsets[f.start_position][0], f.offsets[f.end_position][1]
        assert row["context"][a:b] == "a barn"
    without = [f for f in feats if not f.has_answer]
    assert without and all((f.start_position, f.end_position) == (f.cls_index, f.cls_index) == (0, 0) for f in without)


def test_an_answer_cut_by_a_window_edge_points_at_cls(qa_model):
    _, tok = load_fresh_qa(qa_model, 0)
    row = long_row()
    feats = features(tok, [row], max_length=48, doc_stride=16)
    start = row["answers"]["answer_start"][0]
    for f in feats:
        ctx = [o for o in f.offsets if o is not None]
        inside = ctx[0][0] <= start and ctx[-1][1] >= start + len("a barn")
        assert f.has_answer == inside


def test_postprocess_picks_the_best_valid_span_on_hand_made_logits(qa_model):
    _, tok = load_fresh_qa(qa_model, 0)
    row = long_row()
    feats = features(tok, [row], max_length=48, doc_stride=16)
    assert len(feats) >= 2
    starts = [np.full(len(f.input_ids), -5.0, dtype=np.float32) for f in feats]
    ends = [np.full(len(f.input_ids), -5.0, dtype=np.float32) for f in feats]
    f0 = feats[0]
    c0 = next(i for i, o in enumerate(f0.offsets) if o is not None)
    starts[0][1], ends[0][1] = 30, 30  # a question token: never a span
    starts[0][c0], ends[0][c0 + 10] = 10, 10  # 11 tokens: longer than max_answer_length 5
    starts[0][c0 + 20], ends[0][c0 + 18] = 9, 9  # end before start
    last = feats[-1]
    assert last.has_answer
    starts[-1][last.start_position], ends[-1][last.end_position] = 4, 4  # the gold span, in the last window
    got = postprocess([row], feats, starts, ends, n_best=20, max_answer_length=5)[0]
    assert (got["predicted"], got["start"]) == ("a barn", row["answers"]["answer_start"][0])
    assert (got["exactMatch"], got["f1"]) == (1, 1.0)
    # a longer max_answer_length lets the 11-token span win (10 + 10 > 4 + 4)
    longer = postprocess([row], feats, starts, ends, n_best=20, max_answer_length=30)[0]
    a, b = f0.offsets[c0][0], f0.offsets[c0 + 10][1]
    assert (longer["predicted"], longer["start"]) == (row["context"][a:b], a)
    assert longer["exactMatch"] == 0
    # n_best 1: only the top start and end of each window; in the first that is the question token
    top1 = postprocess([row], feats, starts, ends, n_best=1, max_answer_length=5)[0]
    assert top1["predicted"] == "a barn"


def test_loss_and_confidence_on_uniform_logits(qa_model):
    _, tok = load_fresh_qa(qa_model, 0)
    rows = place_rows(2)
    feats = features(tok, rows, max_length=64, doc_stride=16)
    assert len(feats) == 2 and all(f.has_answer for f in feats)
    zeros = [np.zeros(len(f.input_ids), dtype=np.float32) for f in feats]
    got = postprocess(rows, feats, zeros, zeros)
    for g, f in zip(got, feats, strict=True):
        n = len(f.input_ids)
        assert g["loss"] == pytest.approx(2 * math.log(n), rel=1e-9)  # -ln(1/n) - ln(1/n)
        assert g["confidence"] == pytest.approx(1 / n**2, rel=1e-9)
    # the gold span certain: loss 0, confidence 1
    f = feats[0]
    s = np.full(len(f.input_ids), -1e4, dtype=np.float32)
    e = s.copy()
    s[f.start_position], e[f.end_position] = 0, 0
    sure = postprocess(rows[:1], feats[:1], [s], [e])[0]
    assert sure["loss"] == pytest.approx(0, abs=1e-9) and sure["confidence"] == pytest.approx(1)
    assert sure["predicted"] == rows[0]["answers"]["text"][0]


def test_a_question_without_a_valid_span_predicts_the_empty_string(qa_model):
    _, tok = load_fresh_qa(qa_model, 0)
    rows = place_rows(1)
    feats = features(tok, rows, max_length=64, doc_stride=16)
    s = np.full(len(feats[0].input_ids), -5.0, dtype=np.float32)
    s[0] = 50  # only CLS and question tokens in the top 1
    got = postprocess(rows, feats, [s], [s.copy()], n_best=1)[0]
    assert (got["predicted"], got["start"], got["exactMatch"], got["f1"], got["confidence"]) == ("", None, 0, 0.0, 0.0)


def test_a_few_training_steps_lower_the_loss_and_outputs_match_the_contract(qa_model):
    rows = place_rows(8)
    settings = QaSettings(max_length=64, doc_stride=16)
    model, tok = load_fresh_qa(qa_model, 3)
    before = predict_qa(model, tok, rows, settings)
    res = train_qa(hyper(qa_model, epochs=15), rows, rows[:4], settings=settings)
    after = predict_qa(res.model, res.tokenizer, rows, settings)
    mean = lambda xs: sum(x["loss"] for x in xs) / len(xs)  # noqa: E731
    assert mean(after) < 0.8 * mean(before), (mean(before), mean(after))
    assert metrics_of(after, rows)["exactMatch"] > metrics_of(before, rows)["exactMatch"]
    assert (res.epochs, res.steps, res.train_features) == (15, 30, 8)
    assert len(res.val_exact_match) == 15 and 1 <= res.best_epoch <= 15
    assert res.val_exact_match[res.best_epoch - 1] == max(res.val_exact_match)
    for p in after:
        jsonschema.validate(p, schema("qa-prediction-row"))
    m = metrics_of(after, rows)
    jsonschema.validate(m, schema("qa-metrics"))
    assert m["count"] == 8 and m["wrong"] == round(8 * (1 - m["exactMatch"]))


def test_training_is_seeded(qa_model):
    rows = place_rows(4)
    settings = QaSettings(max_length=64, doc_stride=16)
    a = train_qa(hyper(qa_model, epochs=2), rows, settings=settings)
    b = train_qa(hyper(qa_model, epochs=2), rows, settings=settings)
    assert a.last_loss == b.last_loss and a.best_epoch == 2
    with pytest.raises(InvalidInput):
        train_qa(hyper(qa_model), [], settings=settings)


def test_read_qa_jsonl_checks_spans_and_ids():
    assert [r["id"] for r in read_qa_jsonl(os.path.join(DATA, "qa-good.jsonl"))] == ["q1", "q2", "q3"]
    with pytest.raises(InvalidInput, match=r'qa-bad-span\.jsonl:2: id "q2": answer "June" is not the context'):
        read_qa_jsonl(os.path.join(DATA, "qa-bad-span.jsonl"))
    with pytest.raises(InvalidInput, match=r'qa-duplicate-id\.jsonl:3: duplicate id "q1" \(first on line 1\)'):
        read_qa_jsonl(os.path.join(DATA, "qa-duplicate-id.jsonl"))


@pytest.mark.skipif(not os.path.exists(ADQA), reason="../shared/datasets/adversarial_qa is absent")
def test_adversarial_qa_rows_are_valid_qa_rows():
    rows = read_qa_jsonl(ADQA)
    assert len(rows) == 3000
    s = schema("qa-row")
    for r in rows[:200]:
        jsonschema.validate(r, s)


def test_importable_without_temporal():
    code = "import sys, s3_finetune.qa, s3_finetune.squad; assert 'temporalio' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=os.path.join(ROOT, "workers", "finetune"))


def test_qa_bench_trains_on_one_part_and_scores_the_other(qa_model, tmp_path):
    import argparse

    from s3_finetune.qa_bench import run

    args = argparse.Namespace(
        data=os.path.join(DATA, "qa-good.jsonl"),
        model=qa_model,
        seed=1,
        train_share=1.0,
        test_share=1.0,
        limit_train=0,
        limit_test=0,
        epochs=1,
        batch_size=2,
        eval_batch_size=8,
        lr=1e-3,
        max_length=64,
        doc_stride=16,
    )
    got = run(args)
    split = got["split"]
    assert split["sharedContexts"] == 0 and split["trainQuestions"] + split["testQuestions"] == 3
    assert got["device"] in ("cpu", "cuda") and len(got["epochMs"]) == 1
    jsonschema.validate(got["test"], schema("qa-metrics"))
