"""measure.classify against hand-labelled real replies (twcs) and IBM's help-link tweets.

The labels (ids and 0/1 only) are in tests/data/labels; the texts are read at run time from
the real public samples in ../shared/data/external. How the samples were drawn and labelled
is in bench/classifier_eval.py, which prints the full table and every misclassified id.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

EXTERNAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "external"
ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "tests" / "data" / "labels"

pytestmark = pytest.mark.skipif(
    not (EXTERNAL / "twcs_head5000" / "twcs_head5000.csv").exists(),
    reason=f"{EXTERNAL} not present: real public samples unavailable",
)

PRECISION = 0.85
RECALL = 0.80
# Phone has 13 positives (< 15) in the labels, yet keeps the default floors: one miss costs
# 0.077 of recall, so 0.80 still tolerates two.
# Email has no positive among the slice's brand replies (the data set masked addresses in
# customer tweets only): no false alarm is allowed on them, and its recall is measured on the
# data set's own __email__ placeholders instead.
ACK_ONLY_RECALL_XFAIL = pytest.mark.xfail(
    strict=True,
    reason="measured recall 0.705 (31/44, precision 1.0): the misses are mostly banter with "
    "no fixed wording ('That's music to our ears!', 'We love it!'), which a phrase list "
    "cannot cover without tuning on a few brands; see bench/classifier_eval.py",
)


def _load_eval():
    name = "classifier_eval"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "classifier_eval.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def ev():
    return _load_eval()


@pytest.fixture(scope="module")
def scores(ev):
    return {s.rule: s for s in ev.hand_label_scores(EXTERNAL)[0]}


@pytest.mark.parametrize(
    ("path", "columns", "inbound"),
    [
        pytest.param(
            "twcs_head5000_brand_replies.csv",
            ["link", "dm", "phone", "email", "ack_only"],
            "False",
            id="brand-replies",
        ),
        pytest.param(
            "twcs_head5000_customer_followups.csv",
            ["confirms_resolution"],
            "True",
            id="customer-followups",
        ),
    ],
)
def test_label_file_holds_ids_and_labels_only(ev, path, columns, inbound):
    raw = pd.read_csv(LABELS / path, dtype=str)
    assert list(raw.columns) == ["tweet_id", *columns]
    assert raw["tweet_id"].str.fullmatch("[0-9]+").all()
    assert not raw["tweet_id"].duplicated().any()
    assert raw[columns].isin(["0", "1"]).all().all()
    twcs = ev.read_twcs(EXTERNAL / "twcs_head5000" / "twcs_head5000.csv")
    rows = twcs.loc[raw["tweet_id"]]
    assert (rows["inbound"] == inbound).all()
    if inbound == "True":  # customer tweets that answer a brand tweet
        parents = rows["in_response_to_tweet_id"].str.removesuffix(".0")
        assert (twcs.loc[parents, "inbound"] == "False").all()


def test_brand_sample_covers_every_brand(ev):
    labels = ev.read_labels(LABELS / "twcs_head5000_brand_replies.csv")
    twcs = ev.read_twcs(EXTERNAL / "twcs_head5000" / "twcs_head5000.csv")
    brands = twcs.loc[twcs["inbound"] == "False", "author_id"]
    assert set(brands[labels.index]) == set(brands)


@pytest.mark.parametrize(
    "rule",
    [
        pytest.param("link", id="link"),
        pytest.param("dm", id="dm"),
        pytest.param("phone", id="phone"),
        pytest.param("ack_only", id="ack_only"),
        pytest.param("confirms_resolution", id="confirms_resolution"),
    ],
)
def test_precision_on_hand_labels(scores, rule):
    s = scores[rule]
    assert s.support >= 10, f"{rule}: too few labelled positives to measure"
    assert s.precision >= PRECISION, (
        f"{rule}: precision {s.precision:.3f}, false alarms {s.false_positives}"
    )


@pytest.mark.parametrize(
    "rule",
    [
        pytest.param("link", id="link"),
        pytest.param("dm", id="dm"),
        pytest.param("phone", id="phone"),
        pytest.param("ack_only", id="ack_only", marks=ACK_ONLY_RECALL_XFAIL),
        pytest.param("confirms_resolution", id="confirms_resolution"),
    ],
)
def test_recall_on_hand_labels(scores, rule):
    s = scores[rule]
    assert s.recall >= RECALL, f"{rule}: recall {s.recall:.3f}, missed {s.false_negatives}"


def test_email_raises_no_false_alarm_on_brand_replies(scores):
    s = scores["email"]
    assert s.support == 0  # if positives are ever labelled, give email the default floors
    assert s.fp == 0, f"email false alarms: {s.false_positives}"


@pytest.mark.parametrize(
    "measure",
    [
        pytest.param("ibm_link_recall", id="ibm-help-links"),
        pytest.param("placeholder_email_recall", id="twcs-email-placeholders"),
    ],
)
def test_recall_on_third_party_labels(ev, measure):
    result, _ = getattr(ev, measure)(EXTERNAL)
    assert result.n > 0
    assert result.recall >= 0.95, f"{result.name}: {result.hits}/{result.n}, {result.missed[:10]}"
