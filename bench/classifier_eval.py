"""Measure socialbench's reply classifier against hand-labelled real tweets.

    python bench/classifier_eval.py [--external DIR] [--width 100]

Prints, for each rule of ``socialbench.measure.classify``, the support (labelled positives),
precision, recall and F1 on our hand labels, the link recall on the IBM document-prediction
conversations, and every misclassified id with the reason and its (truncated) text. It always
exits 0: it measures, the thresholds live in ``tests/test_classify_real.py``.

Data. The texts are third-party public samples under ``../shared/data/external`` (see its
``SOURCES.md``) and are read from there at run time; the project ships only our labels
(tweet ids and 0/1 values) in ``tests/data/labels/``:

- ``twcs_head5000_brand_replies.csv`` (``tweet_id,link,dm,phone,email,ack_only``): 438 brand
  replies (``inbound=False``) of ``twcs_head5000.csv``. 311 are a stratified sample, up to 5
  random replies per brand (all 76 brands; ``DataFrame.sample(random_state=20240304)`` per
  brand); 127 more were added from keyword scans run on the other replies, so that the rarer
  classes and the tricky negatives are represented: every reply with a number shaped like a
  phone number (12), and seed-fixed random picks among replies mentioning call/phone/number
  (25), e-mail (30), DM/direct/private/inbox/message/PM (30) and order numbers, dates, times,
  prices, flight numbers or references (30). The slice's brand replies contain no e-mail
  address and no ``__email__`` placeholder at all (the data set masked addresses in customer
  tweets only), so ``email`` has no positives there: only its false alarms are measured on
  them, and its recall is measured on the data set's own placeholders (below).
- ``twcs_head5000_customer_followups.csv`` (``tweet_id,confirms_resolution``): 233 customer
  tweets (``inbound=True``) that reply to a brand tweet: all 193 matching a scan for
  thanks/thx/cheers/fixed/sorted/working/works/worked/resolved/solved/all good/up and
  running/did the trick, and 40 random others.

Every label was set by reading the text and applying ``classify.RULES`` before the classifier
was run on it. Conventions for the cases the rules leave open: a DM request addressed to
another account ("DM our friends @XboxSupport") is ``dm``; a brand's "We've replied to your
DM" is ``dm`` but an agent's "I've replied to your DM" alone is not (RULES excludes the
writer's own past "I sent you a DM"); a t.co link whose target may be a DM card is not ``dm``
unless the text says so; a masked number ("0729***915") is not ``phone``; generic closings
("Let us know if you need anything else", "Have a great day") count as courtesy for
``ack_only``, while "I'll pass this on", "We're following you" or "I'd like to take a closer
look" are actions; ``confirms_resolution`` needs one of the states the rule names (fixed,
sorted, resolved, solved, works/worked/working, all good, up and running, did the trick, in
any language), so "I've got my package, thanks" is not a positive.

Third-party labels:

- IBM ``ibm_cdp_twitter/dev.json``: every conversation ends with an agent tweet that links a
  help document (``agentURL``); its text, ``agentURL.url_utterance``, carries the URL written
  out in full (t.co expanded, often as a web.archive.org address), so every one is a ``link``
  positive.
- twcs ``__email__``: the data set replaced each e-mail address with ``__email__``, so every
  tweet of the slice containing it is an ``email`` positive (8 customer tweets).
- TweetSumm: only 4 dialogs lie wholly in the slice; a dialog counts as DM-positive when an
  abstractive summary says the agent asked for a DM. Printed for information (4 dialogs).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from socialbench.measure import classify

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXTERNAL = ROOT.parent / "shared" / "data" / "external"
LABELS = ROOT / "tests" / "data" / "labels"
BRAND_LABELS = LABELS / "twcs_head5000_brand_replies.csv"
CUSTOMER_LABELS = LABELS / "twcs_head5000_customer_followups.csv"
TWCS = ("twcs_head5000", "twcs_head5000.csv")
IBM = ("ibm_cdp_twitter", "dev.json")
TWEETSUMM = ("tweetsumm", "final_train_tweetsum.jsonl")

BRAND_RULES = ("link", "dm", "phone", "email", "ack_only")
CUSTOMER_RULES = ("confirms_resolution",)
FUNCTIONS = {
    "link": classify.link,
    "dm": classify.dm,
    "phone": classify.phone,
    "email": classify.email,
    "ack_only": classify.ack_only,
    "confirms_resolution": classify.confirms_resolution,
}
TWEETSUMM_DM = ("dm", "direct message", "private message", "message them", "message us")


# ------------------------------------------------------------------------------- loading


def read_twcs(path: Path) -> pd.DataFrame:
    """The twcs slice indexed by tweet_id (strings; see SOURCES.md for the bare ``\\r``)."""
    frame = pd.read_csv(path, lineterminator="\n", index_col=0, dtype=str)
    return frame.set_index("tweet_id")


def read_labels(path: Path) -> pd.DataFrame:
    labels = pd.read_csv(path, dtype={"tweet_id": str}).set_index("tweet_id")
    if labels.index.has_duplicates:
        raise ValueError(f"{path}: duplicate tweet_id")
    return labels.astype(int)


def labelled_texts(twcs: pd.DataFrame, labels: pd.DataFrame) -> pd.Series:
    missing = labels.index.difference(twcs.index)
    if len(missing):
        raise KeyError(f"labelled ids not in the twcs slice: {list(missing)[:5]}")
    return twcs.loc[labels.index, "text"]


# ------------------------------------------------------------------------------- scoring


@dataclass
class Score:
    rule: str
    tp: int
    fp: int
    fn: int
    n: int
    false_negatives: list[str] = field(default_factory=list)
    false_positives: list[str] = field(default_factory=list)

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / self.support if self.support else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0


def score(rule: str, texts: pd.Series, truth: pd.Series) -> Score:
    predicted = FUNCTIONS[rule](texts).to_numpy(dtype=bool)
    actual = truth.to_numpy(dtype=int) == 1
    ids = texts.index.to_numpy()
    return Score(
        rule=rule,
        tp=int((predicted & actual).sum()),
        fp=int((predicted & ~actual).sum()),
        fn=int((~predicted & actual).sum()),
        n=len(texts),
        false_negatives=[str(i) for i in ids[~predicted & actual]],
        false_positives=[str(i) for i in ids[predicted & ~actual]],
    )


def hand_label_scores(external: Path) -> tuple[list[Score], pd.Series]:
    """Scores of every rule on our hand labels, and the texts they were computed on."""
    twcs = read_twcs(external.joinpath(*TWCS))
    scores, texts = [], []
    for path, rules in ((BRAND_LABELS, BRAND_RULES), (CUSTOMER_LABELS, CUSTOMER_RULES)):
        labels = read_labels(path)
        text = labelled_texts(twcs, labels)
        texts.append(text)
        scores += [score(rule, text, labels[rule]) for rule in rules]
    return scores, pd.concat(texts)


@dataclass
class Recall:
    name: str
    hits: int
    n: int
    missed: list[str]

    @property
    def recall(self) -> float | None:
        return self.hits / self.n if self.n else None


def ibm_link_recall(external: Path) -> tuple[Recall, pd.Series]:
    """Link recall on the final agent tweet (the one linking a help document) of IBM dev."""
    conversations = json.loads(external.joinpath(*IBM).read_text(encoding="utf-8"))
    texts = pd.Series(
        [c["agentURL"]["url_utterance"] for c in conversations],
        index=[c["agentURL"]["tweet_ID"] for c in conversations],
        dtype=object,
    )
    found = classify.link(texts).to_numpy(dtype=bool)
    missed = [str(i) for i in texts.index[~found]]
    return Recall("IBM agent help-link tweets: link", int(found.sum()), len(texts), missed), texts


def placeholder_email_recall(external: Path) -> tuple[Recall, pd.Series]:
    """Email recall on every tweet of the slice holding the data set's ``__email__``."""
    twcs = read_twcs(external.joinpath(*TWCS))
    texts = twcs["text"].fillna("")
    texts = texts[texts.str.contains("__email__", regex=False)]
    found = classify.email(texts).to_numpy(dtype=bool)
    missed = [str(i) for i in texts.index[~found]]
    return Recall("twcs __email__ tweets: email", int(found.sum()), len(texts), missed), texts


def tweetsumm_dm(external: Path) -> list[tuple[str, bool, bool]]:
    """(dialog, summary says DM, classifier finds a DM request in an agent tweet) for the
    TweetSumm dialogs lying wholly inside the slice."""
    twcs = read_twcs(external.joinpath(*TWCS))
    out = []
    with external.joinpath(*TWEETSUMM).open(encoding="utf-8") as lines:
        for line in lines:
            dialog = json.loads(line)
            ids = [str(t["tweet_id"]) for t in dialog["tweet_ids_sentence_offset"]]
            if not all(i in twcs.index for i in ids):
                continue
            rows = twcs.loc[ids]
            agent = rows.loc[rows["inbound"] == "False", "text"]
            summaries = " ".join(
                " ".join(a.get("abstractive") or []) for a in dialog["annotations"]
            ).lower()
            says_dm = any(f" {w}" in f" {summaries}" for w in TWEETSUMM_DM)
            out.append((dialog["conversation_id"], says_dm, bool(classify.dm(agent).any())))
    return out


# ------------------------------------------------------------------------------ printing


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def escape(text: object, width: int) -> str:
    """One printable line: control characters escaped, cut to ``width`` characters."""
    s = "" if not isinstance(text, str) else text
    s = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in s)
    return s if len(s) <= width else s[: width - 1] + "\u2026"


def report(external: Path, width: int) -> None:
    scores, texts = hand_label_scores(external)
    print("Hand labels (twcs_head5000): brand replies for link/dm/phone/email/ack_only,")
    print("customer follow-ups for confirms_resolution")
    print()
    header = ("rule", "n", "support", "TP", "FP", "FN", "precision", "recall", "F1")
    print("{:<20} {:>4} {:>7} {:>4} {:>4} {:>4} {:>9} {:>7} {:>6}".format(*header))
    for s in scores:
        print(
            f"{s.rule:<20} {s.n:>4} {s.support:>7} {s.tp:>4} {s.fp:>4} {s.fn:>4} "
            f"{fmt(s.precision):>9} {fmt(s.recall):>7} {fmt(s.f1):>6}"
        )
    print()
    recalls = [ibm_link_recall(external), placeholder_email_recall(external)]
    for r, _ in recalls:
        print(f"{r.name}: recall {fmt(r.recall)} ({r.hits}/{r.n})")
    dialogs = tweetsumm_dm(external)
    agree = sum(says == found for _, says, found in dialogs)
    asked = sum(says for _, says, _ in dialogs)
    print(
        f"TweetSumm dialogs in the slice: DM summary vs dm on agent tweets agree "
        f"{agree}/{len(dialogs)} ({asked} summarised as asking for a DM)"
    )
    print()
    rows = [
        (rule, i, reason)
        for s in scores
        for rule, ids, reason in (
            (s.rule, s.false_negatives, "missed (FN)"),
            (s.rule, s.false_positives, "false alarm (FP)"),
        )
        for i in ids
    ]
    for r, r_texts in recalls:
        rows += [(r.name.split(": ")[1], i, f"missed ({r.name.split(':')[0]})") for i in r.missed]
        texts = pd.concat([texts, r_texts])
    texts = texts[~texts.index.duplicated()]
    print(f"Misclassified: {len(rows)}")
    if rows:
        print(f"{'rule':<20} {'tweet_id':>20}  {'reason':<16}  text")
        for rule, i, reason in rows:
            print(f"{rule:<20} {i:>20}  {reason:<16}  {escape(texts.get(i), width)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--external", type=Path, default=EXTERNAL, help="real public samples")
    parser.add_argument("--width", type=int, default=100, help="text characters shown")
    args = parser.parse_args(argv)
    if not args.external.joinpath(*TWCS).exists():
        print(f"{args.external} not present: real public samples unavailable, nothing measured")
        return 0
    report(args.external, max(args.width, 10))
    return 0


if __name__ == "__main__":
    sys.exit(main())
