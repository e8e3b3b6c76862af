"""S3's selection under a cap and the per-class caps, from the Python side: the ported Rng draws
the TypeScript side's numbers (values printed by domain/rng.ts), the misclassified sample is
uniform over the errors (not the highest loss), and class quotas match acquisition/classCap.ts."""

from s3_finetune.rng import Rng
from s3_finetune.select import class_quotas, pick, rows_for, take_within_quotas


def test_rng_draws_the_typescript_sequence():
    # node -e "new Rng(42,'misclassified')" next() x3; Rng(7,'ünï').shuffle(0..9); Rng(-3,'x').sample(0..9,4)
    r = Rng(42, "misclassified")
    assert [r.next(), r.next(), r.next()] == [0.5147325044963509, 0.4724769766908139, 0.8301458300556988]
    assert Rng(7, "ünï").shuffle(list(range(10))) == [1, 2, 9, 0, 3, 7, 5, 4, 8, 6]
    assert Rng(-3, "x").sample(list(range(10)), 4) == [1, 7, 9, 2]


def test_misclassified_under_a_cap_is_a_uniform_sample_of_the_errors():
    # 45 wrong items of class 0 with loss 3.0, 15 of class 1 with loss 0.8: highest-loss-first
    # kept only class 0; the uniform sample keeps about 5 of class 1 per 20 picks
    ids = [f"x{i:02d}" for i in range(60)]
    labels = [0 if i < 45 else 1 for i in range(60)]
    probs = [[0.05, 0.95] if y == 0 else [0.55, 0.45] for y in labels]
    class1 = 0
    for seed in range(200):
        picks = pick("misclassified", ids, probs, labels, 20, seed)
        assert len({p["id"] for p in picks}) == 20
        class1 += sum(1 for p in picks if labels[p["index"]] == 1)
    assert 4.5 < class1 / 200 < 5.5


def test_class_quotas_and_take_within_quotas_match_the_typescript_answers():
    assert class_quotas("balanced", 50, [1, 1]) == [25, 25]
    assert class_quotas("prior", 50, [0.7, 0.3]) == [35, 15]
    assert class_quotas("prior", 10, [0, 0]) == [5, 5]
    assert class_quotas("none", 7, [1, 9]) == [7, 7]
    ranked = [{"index": i} for i in range(7)]
    classes = [0, 0, 0, 1, 0, 1, 0]
    assert [p["index"] for p in take_within_quotas(ranked, classes, 4, [2, 2])] == [0, 1, 3, 5]
    assert [p["index"] for p in take_within_quotas(ranked, classes, 6, [2, 2])] == [0, 1, 3, 5]


def test_rows_for_with_a_balanced_cap_reports_picks_per_class():
    labels = ["ham", "spam"]
    # 6 spam wrong (predicted ham), 2 ham wrong (predicted spam)
    validation = [{"id": f"v{i}", "text": f"t{i}", "label": "spam" if i < 6 else "ham"} for i in range(8)]
    probs = [[0.9, 0.1] if i < 6 else [0.2, 0.8] for i in range(8)]
    rows, record = rows_for(
        name="misclassified",
        validation=validation,
        probs=probs,
        labels=labels,
        cap=4,
        select_all=False,
        seed=1,
        round_=1,
        class_cap="balanced",
    )
    assert record["byClass"] == {"ham": 2, "spam": 2}
    assert record["classCap"] == "balanced"
    assert [r["index"] for r in rows] == sorted(r["index"] for r in rows)
    _, plain = rows_for(
        name="misclassified",
        validation=validation,
        probs=probs,
        labels=labels,
        cap=None,
        select_all=False,
        seed=1,
        round_=1,
    )
    assert plain["byClass"] == {"ham": 2, "spam": 6}
    assert "classCap" not in plain
