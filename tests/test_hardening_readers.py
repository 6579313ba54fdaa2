"""Hostile input to the archive readers: exit code 2 and one line naming the file, the line
or record, and the problem; never a traceback (issue 19)."""

from __future__ import annotations

import json
import subprocess
import sys

import hypothesis
import pytest
from click.testing import CliRunner
from hypothesis import strategies as st

from socialbench import sources
from socialbench.cli import main
from socialbench.errors import InputError

TWCS_HEADER = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id"
GOOD = '{"id": "1", "author": "a", "created_at": "2020-01-01T00:00:00Z"}'
MAP = {"id": "id", "author": "author", "time": "created_at", "text": "text"}
JSON_FORMATS = ["fixture", "x-v2", "graph", "whatsapp", "meta-webhooks", "generic"]


def write(tmp_path, text: str | bytes, name: str):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def refused(tmp_path, path, *commands: str) -> list[str]:
    """The one error line of each of ``validate`` and ``run`` (plus ``commands``' flags)."""
    lines = []
    for args in (["validate", path], ["run", *commands, "--fixtures", path, "--out", tmp_path]):
        result = CliRunner().invoke(main, [str(a) for a in args])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output, result.output
        output = result.output.strip().splitlines()
        assert len(output) == 1, result.output
        lines.append(output[0])
    return lines


def read(path, *, fmt=None, **kw):
    return sources.read(path, fmt=fmt, options=sources.ReadOptions(**kw))


# --- 1, 2: the fixture format -----------------------------------------------------------------


@pytest.mark.parametrize(
    "line, problem",
    [
        pytest.param(
            GOOD.replace("2020", "2999"),
            "created_at: '2999-01-01T00:00:00Z' is out of range (years 1678 to 2261)",
            id="far-future",
        ),
        pytest.param(
            GOOD.replace("2020", "0001"),
            "created_at: '0001-01-01T00:00:00Z' is out of range (years 1678 to 2261)",
            id="year-one",
        ),
        pytest.param(
            GOOD[:-1] + ', "followers": -5}',
            "followers: must be a finite count of 0 or more, not -5",
            id="negative-followers",
        ),
        pytest.param(
            GOOD[:-1] + ', "followers": 1e999}',
            "followers: must be a finite count of 0 or more, not inf",
            id="infinite-followers",
        ),
        pytest.param(
            GOOD[:-1] + ', "followers": NaN}',
            "followers: must be a finite count of 0 or more, not nan",
            id="nan-followers",
        ),
    ],
)
def test_fixture_record_out_of_range_is_refused(tmp_path, line, problem):
    path = write(tmp_path, f"{GOOD}\n{line}\n", "f.jsonl")
    assert refused(tmp_path, path) == [f"error: {path}:2: {problem}"] * 2


def test_fixture_record_out_of_range_is_skipped_with_skip_bad_rows(tmp_path):
    path = write(
        tmp_path, f"{GOOD}\n{GOOD.replace('2020', '2999').replace('1', '2', 1)}\n", "f.jsonl"
    )
    options = sources.ReadOptions(skip_bad_rows=True)
    assert sources.read(path, options=options)["id"].tolist() == ["1"]
    assert [b.line for b in options.skipped] == [2]


@pytest.mark.parametrize(
    "version",
    [
        pytest.param("99", id="99"),
        pytest.param('"1"', id="string"),
        pytest.param("true", id="bool"),
    ],
)
def test_fixture_header_of_another_version_is_refused(tmp_path, version):
    header = f'{{"format": "socialbench-fixture", "version": {version}}}'
    path = write(tmp_path, f"{header}\n{GOOD}\n", "f.jsonl")
    shown = {"99": "99", '"1"': "1", "true": "True"}[version]
    problem = (
        f"version: fixture version {shown} is not supported (this socialbench reads version 1)"
    )
    assert refused(tmp_path, path) == [f"error: {path}:1: {problem}"] * 2


def test_fixture_header_of_version_1_is_read(tmp_path):
    path = write(
        tmp_path, f'{{"format": "socialbench-fixture", "version": 1}}\n{GOOD}\n', "f.jsonl"
    )
    assert read(path)["id"].tolist() == ["1"]


# --- 3: JSON too deep or with too long a number -----------------------------------------------

DEEP = "[" * 3000 + "]" * 3000
LONG = "1" * 4400


@pytest.mark.parametrize(
    "text, where, problem",
    [
        pytest.param(DEEP, "", "JSON nested deeper than 200 levels", id="deep-array"),
        pytest.param(
            '{"object": "page", "entry": ' + "[" * 201 + "]" * 201 + "}",
            "",
            "JSON nested deeper than 200 levels",
            id="deep-webhook",
        ),
        pytest.param(
            f"{GOOD}\n" + '{"a": ' * 3000 + "1" + "}" * 3000 + "\n",
            ":2",
            "JSON nested deeper than 200 levels",
            id="deep-json-lines",
        ),
        pytest.param(
            '{"data": [\n  {"author_id": ' + LONG + "}\n]}\n",
            ":2",
            "a number has more than 4300 digits",
            id="long-x-v2",
        ),
        pytest.param(
            f"{GOOD}\n" + GOOD[:-1] + f', "followers": {LONG}}}\n',
            ":2",
            "a number has more than 4300 digits",
            id="long-json-lines",
        ),
    ],
)
def test_json_beyond_the_limits_is_refused_in_detection(tmp_path, text, where, problem):
    path = write(tmp_path, text, "f.json")
    assert refused(tmp_path, path) == [f"error: {path}{where}: {problem}"] * 2


@pytest.mark.parametrize("fmt", JSON_FORMATS)
@pytest.mark.parametrize(
    "text",
    [
        pytest.param('{"data": ' + DEEP + "}", id="deep-document"),
        pytest.param(f"{GOOD}\n" + '{"id": ' + DEEP + "}\n", id="deep-line"),
        pytest.param('{\n"data": [\n' + LONG + "\n]\n}\n", id="long-document"),
        pytest.param(f'{GOOD}\n{{"id": {LONG}}}\n', id="long-line"),
    ],
)
def test_every_json_reader_refuses_json_beyond_the_limits(tmp_path, fmt, text):
    path = write(tmp_path, text, "f.json")
    with pytest.raises(InputError) as caught:
        read(path, fmt=fmt, mapping=MAP if fmt == "generic" else {})
    assert str(caught.value).startswith(str(path))


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path):
    text = GOOD[:-1] + ', "text": "' + "[{" * 500 + '\\"]"}'
    path = write(tmp_path, text + "\n", "f.jsonl")
    assert read(path)["text"].tolist() == ["[{" * 500 + '"]']


def test_json_nested_200_deep_is_read(tmp_path):
    text = GOOD[:-1] + ', "extra": ' + "[" * 199 + "]" * 199 + "}"
    assert read(write(tmp_path, text + "\n", "f.jsonl"))["id"].tolist() == ["1"]


# --- 4: twcs times with an impossible offset from UTC -----------------------------------------


def twcs_file(tmp_path, reply_time: str):
    return write(
        tmp_path,
        f"{TWCS_HEADER}\n"
        "1,cust,True,Tue Oct 31 22:10:47 +0000 2017,@Brand help,2,\n"
        f"2,Brand,False,{reply_time},@cust hi,,1\n",
        "t.csv",
    )


IMPOSSIBLE_OFFSETS = [
    pytest.param("Tue Oct 31 22:20:47 +9999 2017", id="twitter+9999"),
    pytest.param("Tue Oct 31 22:20:47 +0060 2017", id="twitter+0060"),
    pytest.param("Tue Oct 31 22:20:47 -1500 2017", id="twitter-1500"),
    pytest.param("2017-10-31T22:20:47+9999", id="iso+9999"),
    pytest.param("2017-10-31T22:20:47+00:60", id="iso+00:60"),
    pytest.param("2017-10-31 22:20:47+15", id="iso+15"),
]


@pytest.mark.parametrize("reply_time", IMPOSSIBLE_OFFSETS)
def test_twcs_time_with_an_impossible_offset_is_refused(tmp_path, reply_time):
    """DuckDB's scan (run) and the pandas reader (sources.read); Spark's scan is held
    to DuckDB's on the same times in test_spark_scan.py."""
    path = twcs_file(tmp_path, reply_time)
    assert refused(tmp_path, path) == [f"error: {path}:3: unparseable created_at timestamp"] * 2
    with pytest.raises(InputError, match=r"t\.csv:3: unparseable created_at"):
        read(path, fmt="twcs")  # the pandas reader


@pytest.mark.parametrize("reply_time", IMPOSSIBLE_OFFSETS[:2])
def test_twcs_time_with_an_impossible_offset_is_skipped_and_counted(tmp_path, reply_time):
    path = twcs_file(tmp_path, reply_time)
    args = ["run", "--skip-bad-rows", "--fixtures", path, "--out", tmp_path / "out"]
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert "skipped 1 bad row(s)" in result.output
    options = sources.ReadOptions(skip_bad_rows=True)
    assert sources.read(path, fmt="twcs", options=options)["id"].tolist() == ["1"]
    assert [b.line for b in options.skipped] == [3]


def test_twcs_time_with_the_widest_real_offset_is_read(tmp_path):
    path = twcs_file(tmp_path, "Wed Nov 01 12:20:47 +1400 2017")
    args = ["run", "--fixtures", path, "--out", tmp_path / "out"]
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    created = read(path, fmt="twcs").set_index("id")["created_at"]
    assert (created["2"] - created["1"]).total_seconds() == 600


# --- 5: a non-UTF-8 byte in a short twcs row --------------------------------------------------


def test_latin1_byte_in_a_short_twcs_row_prints_one_line(tmp_path):
    path = write(
        tmp_path,
        f"{TWCS_HEADER}\n1,cust,True,Tue Oct 31 22:10:47 +0000 2017,caf\xe9\n".encode("latin-1"),
        "t.csv",
    )
    for args in (["validate", path], ["run", "--fixtures", path, "--out", tmp_path / "out"]):
        done = subprocess.run(
            [sys.executable, "-m", "socialbench", *map(str, args)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr == f"error: {path}:2: text is not UTF-8 (byte 0xe9)\n"


# --- any input: InputError or a messages table, nothing else ----------------------------------

FORMATS = [None, "twcs", *JSON_FORMATS]
# keys and values the readers look for, so random JSON gets past their first checks
KEYS = st.sampled_from(
    """id author created_at parent_id conversation_id is_brand text channel surface followers
    automated account format version data includes users tweets author_id referenced_tweets
    in_reply_to_user_id dm_conversation_id event_type sender_id participants entities
    public_metrics followers_count username name type object entry changes field value
    messaging sender recipient message mid is_echo postback time timestamp from to item verb
    comment_id post_id parent created_time messages contacts metadata wa_id context status
    display_phone_number phone_number_id comments""".split()
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(
        """2020-01-01T00:00:00Z 2999-01-01T00:00:00Z 2021-08-10T18:45:03+0000 1600000000
        socialbench-fixture page instagram whatsapp_business_account feed comments messages
        messaging text comment replied_to add 0-1 1-2""".split()
    )
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=6),
    max_leaves=40,
)
PROPERTY = hypothesis.settings(
    max_examples=60, deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow]
)


def read_or_refuse(path, fmt) -> None:
    """Read ``path``; an InputError is a fine answer, anything else escapes."""
    try:
        read(path, fmt=fmt, mapping=MAP if fmt == "generic" else {})
    except InputError:
        pass


@PROPERTY
@hypothesis.given(data=st.binary(max_size=300), fmt=st.sampled_from(FORMATS))
def test_any_bytes_are_read_or_refused(tmp_path_factory, data, fmt):
    path = tmp_path_factory.mktemp("bytes") / "input"
    path.write_bytes(data)
    read_or_refuse(path, fmt)


@PROPERTY
@hypothesis.given(
    values=st.lists(JSON, min_size=1, max_size=4),
    lines=st.booleans(),
    fmt=st.sampled_from(FORMATS),
)
def test_any_json_is_read_or_refused(tmp_path_factory, values, lines, fmt):
    path = tmp_path_factory.mktemp("json") / "input"
    text = "\n".join(map(json.dumps, values)) if lines else json.dumps(values[0], indent=1)
    path.write_text(text + "\n", encoding="utf-8")
    read_or_refuse(path, fmt)


TWCS_FIELD = st.text(st.sampled_from(list('ab1 ,"\n\r+-:TZé\x00')), max_size=12) | st.sampled_from(
    ["True", "False", "Tue Oct 31 22:10:47 +0000 2017", "2017-10-31T22:10:47+0060", "1", ""]
)


@PROPERTY
@hypothesis.given(rows=st.lists(st.lists(TWCS_FIELD, min_size=5, max_size=8), max_size=4))
def test_any_twcs_rows_are_read_or_refused(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("twcs") / "input.csv"
    body = "".join(",".join(row) + "\n" for row in rows)
    path.write_bytes(f"{TWCS_HEADER}\n{body}".encode("utf-8", "surrogatepass"))
    read_or_refuse(path, "twcs")
