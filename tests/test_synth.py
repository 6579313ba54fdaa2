"""Tests for tests/synth.py: the synthetic twcs archive, its ground truth, and the DuckDB
reference (bench/duckdb_reference.py) that the benchmark compares socialbench with.

The truth is checked against a recomputation written here from scratch: the csv module,
datetime, plain dicts and a breadth-first walk of the probe's exchange (METRICS.md: replies
by the probe's customer or a brand, never through another customer), and the reply kinds
read back from the text by matching the generator's template table.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import statistics
import string
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import synth

ROOT = Path(__file__).resolve().parents[1]
TWITTER_TIME = "%a %b %d %H:%M:%S %z %Y"
WINDOW = timedelta(days=7)
SIGNATURE = re.compile(r" [-^*][A-Z]{2}$")


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("synth") / "archive.csv"
    truth = synth.write(path, 300, brands=8, seed=11)
    return path, truth


@pytest.fixture(scope="module")
def joined(tmp_path_factory):
    """Big enough for every kind of joined thread to occur (about 120 of them)."""
    path = tmp_path_factory.mktemp("joined") / "joined.csv"
    truth = synth.write(path, 3000, brands=6, seed=4)
    return path, truth


def _template_regex(template: str) -> re.Pattern:
    parts = []
    for literal, field, _, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is not None:
            parts.append(".+?")
    return re.compile("".join(parts), re.S)


BRAND_BODIES = [(_template_regex(t), flags) for _, t, flags in synth.BRAND_TEMPLATES]
CUSTOMER_BODIES = [
    (_template_regex(t), confirms)
    for table in (
        synth.NUDGE_TEMPLATES,
        synth.FOLLOWUP_TEMPLATES,
        synth.STRAY_CUSTOMER_TEMPLATES,
        synth.JOIN_TEMPLATES,
    )
    for t, confirms in table
]


def _brand_flags(text: str) -> dict:
    body = SIGNATURE.sub("", text.split(" ", 1)[1])
    matches = [flags for rx, flags in BRAND_BODIES if rx.fullmatch(body)]
    assert len(matches) == 1, text
    return matches[0]


def _confirms(text: str) -> bool:
    body = text.split(" ", 1)[1]
    matches = {confirms for rx, confirms in CUSTOMER_BODIES if rx.fullmatch(body)}
    assert len(matches) == 1, text
    return matches.pop()


def _read(path: Path) -> tuple[list[dict], dict]:
    """The archive's rows (with time, customer flag and parent id) and each id's replies."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    children = defaultdict(list)
    for r in rows:
        r["t"] = datetime.strptime(r["created_at"], TWITTER_TIME)
        r["customer"] = r["inbound"] == "True"
        parent = r["in_response_to_tweet_id"]
        r["parent"] = int(float(parent)) if parent else None
        if parent:
            children[r["parent"]].append(r)
    return rows, children


def _below(probe: dict, children: dict, exchange: bool) -> list[dict]:
    """The probe's replies, directly or through others (breadth first). ``exchange``: only
    through messages of the probe's customer or of brands (METRICS "The probe's exchange")."""
    found, queue = [], [int(probe["tweet_id"])]
    while queue:
        for child in children[queue.pop(0)]:
            if exchange and child["customer"] and child["author_id"] != probe["author_id"]:
                continue
            found.append(child)
            queue.append(int(child["tweet_id"]))
    return found


def _probes(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["customer"] and r["parent"] is None]


def recompute(path: Path, *, exchange: bool = True) -> dict:
    """Per-brand figures from the CSV, by a different road than the generator's.
    ``exchange=False`` counts the whole reply tree (what the truth must not do)."""
    rows, children = _read(path)
    known = {r["author_id"].lower(): r["author_id"] for r in rows if not r["customer"]}
    per_brand = defaultdict(list)
    for probe in _probes(rows):
        tree = _below(probe, children, exchange=False)
        conv = _below(probe, children, exchange=exchange)
        start, end = probe["t"], probe["t"] + WINDOW
        brand_msgs = sorted(
            (m for m in conv if not m["customer"] and start <= m["t"] <= end),
            key=lambda m: m["t"],
        )
        tree_brand = sorted((m for m in tree if not m["customer"]), key=lambda m: m["t"])
        if tree_brand:  # the first brand message of the conversation, exchange or not
            brand = tree_brand[0]["author_id"]
        else:
            mentions = re.findall(r"@(\w+)", probe["text"])
            named = [known[h.lower()] for h in mentions if h.lower() in known]
            brand = named[0] if named else mentions[0] if mentions else "(unknown)"
        item = {"responded": bool(brand_msgs), "resolved": False}
        if brand_msgs:
            first = brand_msgs[0]
            flags = [_brand_flags(m["text"]) for m in brand_msgs]
            item["ttfr"] = int((first["t"] - start).total_seconds())
            for f in ("link", "dm", "phone", "email"):
                item[f] = any(fl[f] for fl in flags)
            item["ack_only"] = bool(flags[0]["ack_only"])
            item["resolved"] = any(
                m["customer"] and first["t"] < m["t"] <= end and _confirms(m["text"]) for m in conv
            )
        per_brand[brand].append(item)

    out = {}
    for brand, items in sorted(per_brand.items()):
        resp = [i for i in items if i["responded"]]
        p, r = len(items), len(resp)
        ttfr = sorted(i["ttfr"] for i in resp)

        def share(k, over):
            return k / over if over else None

        def rate(flag, resp=resp, r=r):
            return share(sum(i[flag] for i in resp), r)

        p90 = None
        if r:
            p90 = (
                float(ttfr[0])
                if r == 1
                else statistics.quantiles(ttfr, n=10, method="inclusive")[8]
            )
        out[brand] = {
            "probes": p,
            "responded": r,
            "response_rate": r / p,
            "ttfr_median_s": float(statistics.median(ttfr)) if r else None,
            "ttfr_p90_s": p90,
            "ttfr_mean_s": float(statistics.mean(ttfr)) if r else None,
            "within": {
                k: sum(1 for t in ttfr if t <= s) / p
                for k, s in {
                    "15m": 900,
                    "1h": 3600,
                    "4h": 14400,
                    "24h": 86400,
                    "window": 604800,
                }.items()
            },
            "link_rate": rate("link"),
            "dm_rate": rate("dm"),
            "phone_rate": rate("phone"),
            "email_rate": rate("email"),
            "ack_only_rate": rate("ack_only"),
            "deflection_rate": share(sum(i["dm"] or i["phone"] or i["email"] for i in resp), r),
            "resolution_rate": sum(i["resolved"] for i in items) / p,
        }
    return out


def test_truth_matches_a_plain_python_recomputation(archive):
    path, truth = archive
    assert recompute(path) == truth["brands"]
    assert json.loads(synth.default_truth_path(path).read_text()) == truth


def test_truth_matches_on_other_seeds_and_shapes(tmp_path):
    for conversations, brands, seed in ((400, 3, 1), (250, 20, 2), (60, 1, 3), (2500, 6, 4)):
        path = tmp_path / f"a{seed}.csv"
        truth = synth.write(path, conversations, brands=brands, seed=seed)
        assert recompute(path) == truth["brands"]
        assert sum(b["probes"] for b in truth["brands"].values()) == conversations


def _joined_cases(path: Path) -> Counter:
    """How often each kind of joined thread occurs (METRICS "The probe's exchange")."""
    rows, children = _read(path)
    cases: Counter = Counter()
    for probe in _probes(rows):
        exchange = {m["tweet_id"] for m in _below(probe, children, exchange=True)}
        tree = _below(probe, children, exchange=False)
        outside = [m for m in tree if m["tweet_id"] not in exchange]
        if outside:
            cases["joined"] += 1
            _count_joined(probe, tree, exchange, outside, cases)
    cases["probes"] = len(_probes(rows))
    return cases


def _count_joined(probe, tree, exchange, outside, cases) -> None:
    start, end, who = probe["t"], probe["t"] + WINDOW, probe["author_id"]
    by_id = {int(m["tweet_id"]): m for m in tree} | {int(probe["tweet_id"]): probe}
    first = min(
        (m["t"] for m in tree if m["tweet_id"] in exchange and not m["customer"]),
        default=None,
    )
    first = first if first is not None and first <= end else None
    theirs = [m for m in outside if not m["customer"] and start <= m["t"] <= end]
    for m in outside:
        parent = by_id[m["parent"]]
        if m["customer"] and m["author_id"] != who and parent["tweet_id"] in exchange:
            cases["joins a brand reply"] += 1
        elif m["customer"] and m["author_id"] != who and parent is probe:
            cases["joins the probe"] += 1
        elif m["customer"] and m["author_id"] != who:
            cases["the other customer follows up"] += 1
        elif m["customer"] and first and first < m["t"] <= end and _confirms(m["text"]):
            cases["the probe's customer confirms below them"] += 1
        elif not m["customer"] and m["text"].startswith(f"@{who} "):
            cases["the brand answers the probe's customer below them"] += 1
    if theirs and first is None:
        cases["the brand answers only the other customer"] += 1
    if theirs and first is not None and min(m["t"] for m in theirs) < first:
        cases["the other customer is answered first"] += 1
    if any(m["t"] - start > timedelta(days=1) for m in theirs):
        cases["answered days later, within the window"] += 1
    for f in ("link", "dm", "phone", "email"):
        if any(_brand_flags(m["text"])[f] for m in theirs):
            cases[f"a {f} outside the exchange"] += 1


def test_threads_others_join_exist(joined):
    path, _ = joined
    cases = _joined_cases(path)
    assert 0.02 * cases["probes"] < cases["joined"] < 0.08 * cases["probes"]
    for case in (
        "joins the probe",
        "joins a brand reply",
        "the other customer follows up",
        "the probe's customer confirms below them",
        "the brand answers the probe's customer below them",
        "the brand answers only the other customer",
        "the other customer is answered first",
        "answered days later, within the window",
        "a link outside the exchange",
        "a dm outside the exchange",
        "a phone outside the exchange",
        "a email outside the exchange",
    ):
        assert cases[case] >= 1, (case, cases)


def test_truth_counts_only_the_exchange(joined):
    """The truth equals the exchange's figures, and the joined threads change the figures
    a whole-tree count would give: responses, times, reply types and resolutions."""
    path, truth = joined
    assert recompute(path) == truth["brands"]
    tree = recompute(path, exchange=False)
    assert set(tree) == set(truth["brands"])
    differ = {
        figure
        for brand, want in truth["brands"].items()
        for figure, value in want.items()
        if tree[brand][figure] != value
    }
    assert {"responded", "ttfr_median_s", "resolution_rate", "link_rate", "dm_rate"} <= differ


def test_email_inboxes_are_not_dm_requests(archive):
    """METRICS: an e-mail inbox is not a DM request, wherever it appears in a message."""
    inbox = [flags for _, text, flags in synth.BRAND_TEMPLATES if "inbox" in text]
    assert len(inbox) >= 2 and not any(flags["dm"] for flags in inbox)
    rows, _ = _read(archive[0])
    assert any("inbox" in r["text"] for r in rows if not r["customer"])


def test_same_bytes_whatever_the_chunk_size(tmp_path):
    """The large-file path (rows written chunk by chunk) on chunks of a few rows."""
    whole, small, frame = tmp_path / "whole.csv", tmp_path / "small.csv", tmp_path / "frame.csv"
    truth = synth.write(whole, 500, brands=5, seed=9)
    assert synth.write(small, 500, brands=5, seed=9, chunk_rows=7) == truth
    assert small.read_bytes() == whole.read_bytes()
    rows, _ = synth.generate(500, brands=5, seed=9)
    synth.write_csv(rows, frame, chunk_rows=3)
    assert frame.read_bytes() == whole.read_bytes()
    assert recompute(small) == truth["brands"]


def test_texts_are_gathered_from_large_string_segments():
    """Texts stay in their segments (large_string: no 2 GiB limit); each chunk of the CSV
    gathers its rows from them without concatenating them."""
    archive, _ = synth._generate(400, 4, 2)
    assert len(archive.texts) > 10
    assert all(t.type == pa.large_string() for t in archive.texts)
    whole = pa.concat_arrays(archive.texts)
    rows = np.random.default_rng(0).permutation(archive.size)[: archive.size // 2]
    got = synth._gather(archive.texts, archive.text_starts, rows)
    assert got.equals(whole.take(pa.array(rows)))
    chunk = next(archive.tables(50))
    assert chunk.num_rows == 50 and chunk["text"].type == pa.string()


def test_deterministic_per_seed():
    a_rows, a_truth = synth.generate(200, brands=5, seed=4)
    b_rows, b_truth = synth.generate(200, brands=5, seed=4)
    c_rows, c_truth = synth.generate(200, brands=5, seed=5)
    pd.testing.assert_frame_equal(a_rows, b_rows)
    assert a_truth == b_truth
    assert not a_rows["text"].equals(c_rows["text"]) and a_truth != c_truth


def test_twcs_layout_and_quirks(archive):
    path, truth = archive
    raw = path.read_text(encoding="utf-8")
    assert raw.startswith(",".join(synth.COLUMNS) + "\n")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == truth["params"]["rows"]
    ids = [int(r["tweet_id"]) for r in rows]
    assert len(set(ids)) == len(ids)
    assert ids != sorted(ids)  # ids in no particular order
    times = [datetime.strptime(r["created_at"], TWITTER_TIME) for r in rows]
    assert times != sorted(times)  # rows not in time order
    assert {r["inbound"] for r in rows} == {"True", "False"}
    parents = [r["in_response_to_tweet_id"] for r in rows if r["in_response_to_tweet_id"]]
    assert parents and all(re.fullmatch(r"[0-9]+\.0", p) for p in parents)
    lists = [r["response_tweet_id"] for r in rows if "," in r["response_tweet_id"]]
    assert lists and all(re.fullmatch(r"[0-9]+(,[0-9]+)+", x) for x in lists)
    assert '"' + lists[0] + '"' in raw  # quoted comma lists
    assert re.search(r'""payment failed""', raw)  # doubled quotes inside a quoted text
    for r in rows:
        if r["inbound"] == "True":
            assert r["author_id"].isdigit()
            assert "@" in r["text"]
        else:
            assert not r["author_id"].isdigit()
            assert re.match(r"@[0-9]+ ", r["text"]) or not r["in_response_to_tweet_id"]
    # replies to tweets absent from the file, and listed replies absent from the file
    present = set(ids)
    assert any(int(float(p)) not in present for p in parents)
    listed = {int(x) for r in rows for x in r["response_tweet_id"].split(",") if x}
    assert listed - present
    # children lists agree with the parent links
    child_of = defaultdict(set)
    for r in rows:
        if r["in_response_to_tweet_id"]:
            child_of[int(float(r["in_response_to_tweet_id"]))].add(int(r["tweet_id"]))
    for r in rows:
        listed_here = {int(x) for x in r["response_tweet_id"].split(",") if x}
        assert child_of[int(r["tweet_id"])] == listed_here & present


def test_edge_cases_are_planted():
    """Boundary latencies, replies after the window and the probe mention variants occur."""
    rows, truth = synth.generate(2000, brands=10, seed=6)
    rows = rows.assign(
        t=pd.to_datetime(rows["created_at"], format=TWITTER_TIME),
        parent=pd.to_numeric(rows["in_response_to_tweet_id"]),
    )
    probes = rows[(rows["inbound"] == "True") & rows["parent"].isna()]
    replies = rows[rows["inbound"] == "False"].merge(
        probes[["tweet_id", "t"]], left_on="parent", right_on="tweet_id", suffixes=("", "_probe")
    )
    latency = set((replies["t"] - replies["t_probe"]).dt.total_seconds().astype(int))
    assert {0, 900, 901, 3600, 86400, 604799, 604800, 604801} <= latency
    assert max(latency) > 604801
    texts = probes["text"]
    assert texts.str.startswith("Hi @").any()
    assert texts.str.match(r"@[0-9]+ @").any()
    lower = {name.lower() for name in truth["brands"]}
    assert texts.str.extract(r"^@(\w+)")[0].isin(lower).any()
    assert texts.str.match(r"@[A-Za-z_]+ @[A-Za-z_]+ ").any()
    brands = truth["brands"].values()
    assert all(0.0 < b["response_rate"] < 1.0 for b in brands)
    assert all(0.0 < b["within"]["window"] < 1.0 for b in brands)


def _bench_module(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _duckdb_reference():
    pytest.importorskip("duckdb")
    return _bench_module("duckdb_reference")


def test_socialbench_run_equals_the_truth(joined, tmp_path):
    """``socialbench run`` on an archive with joined threads finds the truth, as
    bench/archive_bench.py compares them."""
    import subprocess
    import sys

    path, truth = joined
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "socialbench", "run", "--fixtures", str(path),
           "--out", str(out), "--quiet", "--min-group", "1"]  # fmt: skip
    subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True)
    bench = _bench_module("archive_bench")
    result = bench.compare(bench.socialbench_brands(out / "summary.json"), truth["brands"])
    assert result["beyond_rounding"] == 0, result


def test_stages_accounts_for_every_stage(archive, tmp_path):
    """bench/stages.py runs both programs for real and prints a time for every stage it
    marks (a renamed stage function fails the child, and so this test)."""
    import subprocess
    import sys

    path, _ = archive
    cmd = [sys.executable, str(ROOT / "bench" / "stages.py"), str(path), "--repeat", "1",
           "--logs", str(tmp_path)]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    stages = _bench_module("stages")
    expected = [*stages._STAGES.values(), *stages.REFERENCE_STAGES]
    for stage in expected:
        assert re.search(rf"^ +\d+\.\d\d s  {re.escape(stage)}$", done.stdout, re.M), stage
    assert "of which its reply-type rules" in done.stdout


@pytest.mark.parametrize("template_rules", [False, True], ids=["classify-rules", "templates"])
def test_duckdb_reference_equals_the_truth(archive, template_rules):
    module = _duckdb_reference()
    path, truth = archive
    found = module.reference(path, template_rules=template_rules)
    assert found["window_s"] == truth["window_s"]
    assert set(found["brands"]) == set(truth["brands"])
    for brand, want in truth["brands"].items():
        got = found["brands"][brand]
        # DuckDB rounds its p90 interpolation its own way (a few ulp off the exact value)
        assert got.pop("ttfr_p90_s") == pytest.approx(want["ttfr_p90_s"], rel=1e-12, abs=0)
        assert got == {k: v for k, v in want.items() if k != "ttfr_p90_s"}, brand


def _sql_rules_disagree(texts: list) -> list[str]:
    """Texts on which the reference's SQL rules and socialbench.measure.classify disagree."""
    import duckdb
    import pyarrow as pa

    from socialbench.measure import classify

    module = _duckdb_reference()
    con = duckdb.connect()
    table = pa.table({"i": pa.array(range(len(texts)), pa.int64()), "text": pa.array(texts)})
    con.register("texts", table)
    rows = con.execute(module.rules_query(module.FullRules(), "texts")).fetchall()
    assert [row[0] for row in rows] == list(range(len(texts)))
    series = pd.Series(texts, dtype=object)
    wrong = []
    for column, name in enumerate(module.RULES, start=1):
        want = getattr(classify, name)(series).tolist()
        pairs = zip(texts, rows, want, strict=True)
        wrong += [f"{name}: {text!r}" for text, row, w in pairs if row[column] != w]
    return wrong


# texts that stress the padding, the end marker and the two engines' Unicode tables
AWKWARD_TEXTS = [
    None,
    "",
    " ",
    "\x1f",
    "Thanks!\x1e",
    "Sorry about that.\r\n^AB",
    "Call +44 20 7946 0018\u00a0now",
    "DM us\u2028please",
    "We\u2019re so sorry \U0001f614",
    "\u212aeep us posted, \u017eorry",
    "ORDER #0800 123 4567 \u2013 fixed now",
    "All good now.\n\nThanks, Sarah!",
]


def test_duckdb_reference_applies_socialbench_rules(archive):
    """The reference's SQL gives measure.classify's answer on every text, rule by rule."""
    path, _ = archive
    with open(path, newline="", encoding="utf-8") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    texts += [item["text"] for item in synth.examples(per_template=3)]
    assert not _sql_rules_disagree(texts + AWKWARD_TEXTS)


def test_duckdb_reference_rules_on_real_texts():
    """The same on real tweets: DuckDB's RE2 reads the patterns as pyarrow's does."""
    from conftest import external

    path = external("twcs_head5000", "twcs_head5000.csv")
    # a bare \r inside a text is kept, not taken for the end of a row
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, lineterminator="\n")
    assert not _sql_rules_disagree(frame["text"].tolist())


def test_duckdb_reference_reads_the_patterns_without_pandas():
    """Run alone, the reference loads socialbench.measure.classify's patterns but not pandas."""
    import subprocess
    import sys

    from socialbench.measure import classify

    _duckdb_reference()
    reference = str(ROOT / "bench" / "duckdb_reference.py")
    code = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('r', {reference!r})\n"
        "r = importlib.util.module_from_spec(spec); spec.loader.exec_module(r)\n"
        "rules = r.FullRules()\n"
        "print(json.dumps([rules.patterns, 'pandas' in sys.modules, 'numpy' in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    patterns, pandas_loaded, numpy_loaded = json.loads(out.stdout)
    module = _duckdb_reference()
    assert patterns == {k: module._sql_str(v) for k, v in classify.PATTERNS.items()}
    assert not pandas_loaded and not numpy_loaded


def test_every_template_is_classified_as_intended():
    classify = pytest.importorskip("socialbench.measure.classify")
    items = synth.examples(per_template=10)
    texts = pd.Series([item["text"] for item in items])
    results = {}
    wrong = []
    for i, item in enumerate(items):
        for name, want in item["expect"].items():
            if name not in results:
                results[name] = getattr(classify, name)(texts).to_numpy()
            if bool(results[name][i]) != want:
                wrong.append(f"{name}={not want} for {item['role']} {item['text']!r}")
    assert not wrong, "\n".join(wrong[:20])
