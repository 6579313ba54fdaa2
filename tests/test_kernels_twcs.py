"""The compiled twcs reader (``kernels.twcs``) against the Arrow path that defines a file.

The contract checked here: whenever ``kernels.twcs.parse`` says OK, ``sources.twcs.read``
gives exactly the messages frame the general reader (``_parse`` → ``_convert`` →
``_to_messages``, forced by making ``_read_plain`` decline) gives for the same bytes; and
for every input where the two could differ the kernel declines, with the reason named,
while the general reader still gives its usual frame or its usual ``InputError``.

Tables of accepted and declined files, fields ending at every offset mod 8 (the kernel reads
eight bytes at a time), parts (the file cut and read in parallel), ~300 random files, and the
real public twcs slice when it is present.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import EXTERNAL

from socialbench import synth
from socialbench.errors import InputError
from socialbench.kernels import twcs as kernel
from socialbench.sources import ReadOptions
from socialbench.sources import twcs as twcs_source

FIELDS = synth.COLUMNS  # the layout's columns, in the dataset's order
TIME = b"Tue Oct 31 22:10:47 +0000 2017"
BOM = b"\xef\xbb\xbf"
REASONS = ("OK", "SHAPE", "QUOTING", "NUMBER", "EMPTY", "FLAG", "TIME", "UTF8", "SPACE", "FULL",
           "BARE_CR")  # fmt: skip
NAME = {getattr(kernel, name): name for name in REASONS}
assert len(NAME) == len(REASONS)


# -- building files -----------------------------------------------------------------------


def line(order=FIELDS, index: bytes | None = None, **values: bytes) -> bytes:
    """One row with each field written as given (quotes included), in ``order``; defaults
    make a valid row. ``index``: a leading index value."""
    row = {
        "tweet_id": b"1",
        "author_id": b"a",
        "inbound": b"True",
        "created_at": TIME,
        "text": b"hi",
        "response_tweet_id": b"",
        "in_response_to_tweet_id": b"",
    }
    row.update(values)
    cells = [row[name] for name in order]
    return b",".join(cells if index is None else [index, *cells])


def twcs(
    *rows: bytes,
    order=FIELDS,
    index: bytes | None = None,
    nl: bytes = b"\n",
    final: bool = True,
    bom: bool = False,
) -> bytes:
    """A file: header (``index``: the name of a leading index column), rows joined by
    ``nl``, ``final``: a line end after the last row."""
    header = ",".join(order).encode()
    if index is not None:
        header = index + b"," + header
    body = nl.join((header, *rows)) + (nl if final else b"")
    return (BOM if bom else b"") + body


# -- reading both ways --------------------------------------------------------------------


def parse(data: bytes, parts: int = 1):
    """``kernels.twcs.parse`` on a file's bytes, its header found as ``_read_plain`` does:
    (reason, rows, columns or None)."""
    start = 3 if data.startswith(BOM) else 0
    end = data.index(b"\n", start)
    header = data[start:end]
    header = header[:-1] if header.endswith(b"\r") else header
    names = header.decode("utf-8").split(",")
    return kernel.parse(np.frombuffer(data, np.uint8), end + 1, names, parts=parts)


def reason(data: bytes, parts: int = 1) -> str:
    return NAME[parse(data, parts)[0]]


@dataclass
class Outcome:
    """What ``twcs.read`` gave: a frame or the error it raised (``InputError`` normally, but
    any exception is recorded, so that both readers are seen to fail alike); ``fast``:
    whether the compiled reader's columns were used."""

    frame: pd.DataFrame | None
    error: str | None
    fast: bool


def read(path: Path, monkeypatch, *, general: bool) -> Outcome:
    """``twcs.read`` as it is, or with the compiled reader made to decline (``general``)."""
    used = []
    plain = twcs_source._read_plain

    def spy(source):
        got = None if general else plain(source)
        used.append(got is not None)
        return got

    with monkeypatch.context() as patch:
        patch.setattr(twcs_source, "_read_plain", spy)
        try:
            frame = twcs_source.read(path, ReadOptions())
        except InputError as exc:
            return Outcome(None, str(exc), any(used))
        except Exception as exc:  # noqa: BLE001 - compared, not hidden
            return Outcome(None, f"{type(exc).__name__}: {exc}", any(used))
    return Outcome(frame, None, any(used))


def read_both(data: bytes, tmp_path: Path, monkeypatch, name: str = "t.csv"):
    """The file read normally and by the general reader alone: (normal, general)."""
    path = tmp_path / name
    path.write_bytes(data)
    return read(path, monkeypatch, general=False), read(path, monkeypatch, general=True)


def check_same(normal: Outcome, general: Outcome, label: str = "") -> None:
    """Equal frames (dtypes too), or the same error; never a frame against an error."""
    if normal.error is not None or general.error is not None:

        def said(outcome: Outcome) -> str:
            return f"raised {outcome.error!r}" if outcome.error else "gave a frame"

        assert normal.error == general.error, (
            f"{label}: normal read {said(normal)} (fast path used: {normal.fast}), "
            f"general read {said(general)}"
        )
        return
    pd.testing.assert_frame_equal(normal.frame, general.frame, check_dtype=True, obj=label)


def assert_accepted(data: bytes, tmp_path: Path, monkeypatch) -> pd.DataFrame:
    """The kernel reads the file (OK, and the normal read used it) and both readers agree."""
    why = reason(data)
    assert why == "OK", f"the kernel declined ({why}) a file it reads"
    normal, general = read_both(data, tmp_path, monkeypatch)
    check_same(normal, general)
    assert normal.fast, "twcs.read did not use the compiled reader"
    return normal.frame


def same_columns(a: kernel.Columns, b: kernel.Columns) -> None:
    """Every field of two kernel results equal: Arrow strings as one chunk, numpy exactly."""
    for field in fields(kernel.Columns):
        left, right = getattr(a, field.name), getattr(b, field.name)
        if isinstance(left, np.ndarray):
            assert left.dtype == right.dtype and np.array_equal(left, right), field.name
        else:
            assert left.type == right.type, field.name
            assert left.combine_chunks().equals(right.combine_chunks()), field.name


# -- files the kernel reads ---------------------------------------------------------------

ROW2 = line(tweet_id=b"2", author_id=b"AcmeHelp", inbound=b"False", in_response_to_tweet_id=b"1")
OTHER_ORDER = (
    "text",
    "created_at",
    "in_response_to_tweet_id",
    "inbound",
    "response_tweet_id",
    "author_id",
    "tweet_id",
)
NO_RESPONSES = tuple(name for name in FIELDS if name != "response_tweet_id")

ACCEPTED = [
    pytest.param(twcs(line(), ROW2), id="lf"),
    pytest.param(twcs(line(), ROW2, nl=b"\r\n"), id="crlf"),
    pytest.param(twcs(line(), ROW2, final=False), id="lf-no-final-newline"),
    pytest.param(twcs(line(), ROW2, nl=b"\r\n", final=False), id="crlf-no-final-newline"),
    pytest.param(twcs(line(), b"", ROW2, b"", b""), id="empty-lines-lf"),
    pytest.param(twcs(b"", line(), b"", ROW2, b"", nl=b"\r\n"), id="empty-lines-crlf"),
    pytest.param(twcs(line(), ROW2) + b"\n\n", id="empty-lines-at-end"),
    pytest.param(
        twcs(line(), ROW2, line(tweet_id=b"3"), nl=b"\n").replace(b"\n1,", b"\r\n1,"),
        id="mixed-line-ends",
    ),  # fmt: skip
    pytest.param(twcs(line(text=b'"say ""hi"", ok"'), ROW2), id="doubled-quotes"),
    pytest.param(twcs(line(text=b'""""'), line(text=b'"""""x"'), ROW2), id="only-quotes"),
    pytest.param(twcs(line(text=b'"a, b,, c"'), ROW2), id="commas-in-text"),
    pytest.param(twcs(line(text=b'"two\nlines\n"'), ROW2), id="lf-in-text"),
    pytest.param(twcs(line(text=b'"two\r\nlines\r\n"'), ROW2, nl=b"\r\n"), id="crlf-in-text"),
    pytest.param(twcs(line(text=b'"\n"'), line(text=b'"\r\n"'), ROW2), id="only-line-ends"),
    pytest.param(twcs(line(text=b'""'), line(text=b""), ROW2), id="empty-text"),
    pytest.param(
        twcs(
            line(
                tweet_id=b'"1"',
                author_id=b'"a,b"',
                inbound=b'"true"',
                created_at=b'"' + TIME + b'"',
                in_response_to_tweet_id=b'"7.0"',
                response_tweet_id=b'"2,3"',
            ),
            ROW2,
        ),
        id="quoted-ids-author-flag-time",
    ),
    pytest.param(twcs(line(author_id=b'"multi\nline"'), ROW2), id="author-with-lf"),
    pytest.param(
        twcs(line(tweet_id=b"3.0"), line(tweet_id=b"4.0", in_response_to_tweet_id=b"3.0")),
        id="float-ids",
    ),
    pytest.param(twcs(line(in_response_to_tweet_id=b"3.0"), ROW2), id="float-parent"),
    pytest.param(
        twcs(
            line(tweet_id=b"0"),
            line(tweet_id=b"9223372036854775807", in_response_to_tweet_id=b"0.0"),
        ),
        id="zero-and-int64-max",
    ),
    pytest.param(
        twcs(
            *(
                line(tweet_id=str(i).encode(), inbound=flag)
                for i, flag in enumerate([b"True", b"False", b"TRUE", b"false", b"tRuE", b"FaLsE"])
            )
        ),
        id="flags-in-any-case",
    ),
    pytest.param(
        twcs(line(text='"café, 😀 and 中文字"'.encode()), line(text='"é\n😀"'.encode()), ROW2),
        id="non-ascii-text",
    ),
    pytest.param(twcs(line(author_id="aé😀b".encode()), ROW2), id="non-ascii-inside-author"),
    pytest.param(twcs(line(), ROW2, bom=True), id="bom"),
    pytest.param(twcs(line(index=b"0"), b"1," + ROW2, index=b""), id="index-column-empty"),
    pytest.param(
        twcs(line(index=b"0"), b"1," + ROW2, index=b"Unnamed: 0", nl=b"\r\n", bom=True),
        id="index-column-unnamed",
    ),
    pytest.param(
        twcs(
            line(OTHER_ORDER, text=b'"last\r\nrow"'),
            line(OTHER_ORDER, tweet_id=b"2"),
            order=OTHER_ORDER,
            nl=b"\r\n",
            final=False,
        ),
        id="other-order",
    ),
    pytest.param(twcs(line(NO_RESPONSES), order=NO_RESPONSES), id="no-response-column"),
    pytest.param(
        twcs(line((*FIELDS, "note"), note="ü".encode()), order=(*FIELDS, "note")), id="extra-column"
    ),
    pytest.param(twcs(line(response_tweet_id=b"\xff\xfe")), id="response-ids-not-read"),
    pytest.param(
        twcs(
            line(created_at=b"Sun feb 29 23:59:60 -0530 2004"),
            line(created_at=b"xyz DEC 01 00:00:00 +1400 1970"),
            line(created_at=b"Mon Jan 01 00:00:00 +0000 2100"),
        ),
        id="times-leap-second-case-offsets",
    ),
]


@pytest.mark.parametrize("data", ACCEPTED)
def test_plain_files_are_read_exactly(data, tmp_path, monkeypatch):
    frame = assert_accepted(data, tmp_path, monkeypatch)
    assert len(frame) >= 1


def test_accepted_values_mean_what_the_file_says(tmp_path, monkeypatch):
    """A spot check beside the equality: quotes undoubled, line ends kept, ids cleaned."""
    data = twcs(
        line(tweet_id=b"3.0", text=b'"say ""hi"",\r\nok"', author_id=b'"a,b"'),
        line(tweet_id=b"4", inbound=b"false", in_response_to_tweet_id=b"3.0", text="é😀".encode()),
        nl=b"\r\n",
        bom=True,
    )
    frame = assert_accepted(data, tmp_path, monkeypatch)
    assert frame["id"].tolist() == ["3", "4"]
    assert frame["parent_id"].tolist() == [pd.NA, "3"]
    assert frame["author"].tolist() == ["a,b", "a"]
    assert frame["text"].tolist() == ['say "hi",\r\nok', "é😀"]
    assert frame["author_is_brand"].tolist() == [False, True]
    assert frame["created_at"].iloc[0].isoformat() == "2017-10-31T22:10:47+00:00"


# -- field and file ends at every offset mod 8 --------------------------------------------


def boundary_files() -> list[tuple[str, bytes]]:
    """Files whose texts (quoted or not, with a doubled quote or a 4-byte character near the
    end) and authors end at every offset mod 8, and which end at every offset mod 8, with
    the text in the middle of a row or last (the file ending inside the kernel's last word)."""
    files = []
    last = (
        "tweet_id",
        "author_id",
        "inbound",
        "created_at",
        "response_tweet_id",
        "in_response_to_tweet_id",
        "text",
    )
    letters = b"abcdefghijklmnopqrstuvwxyz"
    for length in range(21):
        plain = letters[:length]
        variants = {
            "plain": plain,
            "quoted": b'"' + plain + b'"',
            "doubled": b'"' + plain[:-1] + b'""' + b'"' if length else b'""""',
            "emoji": plain[: max(length - 4, 0)] + "😀".encode() if length >= 4 else plain,
        }
        for kind, text in variants.items():
            for order in (FIELDS, last):
                for final in (True, False):
                    author = letters[: 1 + length % 9]
                    rows = (
                        line(order, tweet_id=b"1", text=text, author_id=author),
                        line(
                            order,
                            tweet_id=b"22" * (1 + length % 5),
                            text=text[::-1] if kind == "plain" else text,
                        ),
                    )
                    name = f"len{length}-{kind}-{'last' if order is last else 'mid'}-{final}"
                    files.append((name, twcs(*rows, order=order, final=final)))
    return files


BOUNDARY = boundary_files()


def test_boundary_files_cover_every_offset():
    """The files end, and their first row's text ends, at every offset mod 8."""
    assert {len(data) % 8 for name, data in BOUNDARY if name.endswith("last-False")} == set(
        range(8)
    )
    text_ends = set()
    for name, data in BOUNDARY:
        if "-mid-" in name:
            row = data.index(b"\n") + 1
            for _ in range(4):  # past id, author, inbound and time: the text ends at a comma
                row = data.index(b",", row) + 1
            text_ends.add(data.index(b",", row) % 8)
    assert text_ends == set(range(8))


@pytest.mark.parametrize("length", range(21))
def test_fields_ending_at_every_word_offset(length, tmp_path, monkeypatch):
    for name, data in BOUNDARY:
        if name.startswith(f"len{length}-"):
            assert reason(data) == "OK", name
            normal, general = read_both(data, tmp_path, monkeypatch)
            check_same(normal, general, name)
            assert normal.fast, name


# -- files the kernel declines ------------------------------------------------------------


class Gives:
    """The general reader's frame: the expected values of some columns."""

    def __init__(self, **columns: list) -> None:
        self.columns = columns


@dataclass
class Raises:
    """The general reader's error: a piece of its message."""

    match: str


def declined(name, data, why, general):
    return pytest.param(data, why, general, id=name)


DECLINED = [
    declined("space-before-id", twcs(line(tweet_id=b" 1")), "SPACE", Gives(id=["1"])),
    declined("tab-after-id", twcs(line(tweet_id=b"1\t")), "SPACE", Gives(id=["1"])),
    declined("space-after-parent", twcs(line(in_response_to_tweet_id=b"7 ")), "SPACE",
             Gives(parent_id=["7"])),
    declined("space-after-author", twcs(line(author_id=b"a ")), "SPACE", Gives(author=["a"])),
    declined("quoted-space-author", twcs(line(author_id=b'" a"')), "SPACE", Gives(author=["a"])),
    declined("non-ascii-author-edge", twcs(line(author_id="é".encode())), "SPACE",
             Gives(author=["é"])),
    declined("space-inbound", twcs(line(inbound=b" True")), "SPACE",
             Gives(author_is_brand=[False])),
    declined("space-after-time", twcs(line(created_at=TIME + b" ")), "SPACE",
             Gives(created_at=[pd.Timestamp("2017-10-31 22:10:47", tz="UTC")])),
    declined("id-3.00", twcs(line(tweet_id=b"3.00")), "NUMBER", Gives(id=["3.00"])),
    declined("id-007", twcs(line(tweet_id=b"007")), "NUMBER", Gives(id=["007"])),
    declined("id-negative", twcs(line(tweet_id=b"-1")), "NUMBER", Gives(id=["-1"])),
    declined("id-exponent", twcs(line(tweet_id=b"1e5")), "NUMBER", Gives(id=["1e5"])),
    declined("id-beyond-int64", twcs(line(tweet_id=b"9223372036854775808")), "NUMBER",
             Gives(id=["9223372036854775808"])),
    declined("parent-007", twcs(line(in_response_to_tweet_id=b"007")), "NUMBER",
             Gives(parent_id=["007"])),
    declined("empty-id", twcs(line(tweet_id=b"")), "NUMBER", Raises(":2: empty tweet_id")),
    declined("id-only-.0", twcs(line(tweet_id=b".0")), "NUMBER", Raises(":2: empty tweet_id")),
    declined("empty-author", twcs(line(author_id=b"")), "EMPTY", Raises(":2: empty author_id")),
    declined("inbound-yes", twcs(line(inbound=b"yes")), "FLAG",
             Raises(":2: inbound is not True or False")),
    declined("inbound-empty", twcs(line(inbound=b"")), "FLAG", Raises("inbound is not True")),
    declined("iso-time", twcs(line(created_at=b"2024-03-04T09:00:00Z")), "TIME",
             Gives(created_at=[pd.Timestamp("2024-03-04 09:00:00", tz="UTC")])),
    declined("bad-time", twcs(line(), line(created_at=b"yesterday")), "TIME",
             Raises(":3: unparseable created_at timestamp")),
    # Arrow's strptime (the general reader's second try) rolls Feb 30 over to Mar 2; the
    # general reader refuses such a date (sources.twcs._written_day_kept)
    declined("feb-30", twcs(line(created_at=b"Tue Feb 30 22:10:47 +0000 2017")), "TIME",
             Raises(":2: unparseable created_at timestamp")),
    declined("month-name", twcs(line(created_at=b"Tue Okt 31 22:10:47 +0000 2017")), "TIME",
             Raises(":2: unparseable created_at timestamp")),
    declined("text-0xff", twcs(line(text=b"caf\xff")), "UTF8",
             Raises(":2: text is not UTF-8 (byte 0xff)")),
    declined("text-overlong", twcs(line(), line(text=b"a\xc0\xafb")), "UTF8",
             Raises(":3: text is not UTF-8 (byte 0xc0)")),
    declined("text-surrogate", twcs(line(text=b'"a\xed\xa0\x80"')), "UTF8",
             Raises("text is not UTF-8 (byte 0xed)")),
    declined("text-beyond-10ffff", twcs(line(text=b"\xf4\x90\x80\x80")), "UTF8",
             Raises("text is not UTF-8 (byte 0xf4)")),
    declined("text-truncated-at-field-end", twcs(line(text=b"ab\xe2\x82")), "UTF8",
             Raises("text is not UTF-8 (byte 0xe2)")),
    declined("text-truncated-at-file-end", twcs(line(FIELDS[:4] + FIELDS[5:] + ("text",),
             text=b"ab\xf0\x9f\x98"), order=FIELDS[:4] + FIELDS[5:] + ("text",), final=False),
             "UTF8", Raises("text is not UTF-8 (byte 0xf0)")),
    declined("index-column-0xff", twcs(line(index=b"0\xff"), index=b""), "UTF8",
             Raises("text is not UTF-8 (byte 0xff)")),
    # invalid UTF-8 inside an author or a weekday: test_kernel_checks_utf8_of_every_field_it_keeps
    declined("quote-inside-unquoted", twcs(line(text=b'ab"c')), "QUOTING",
             Raises(":2: truncated: a quoted field is never closed")),  # an odd count
    declined("quotes-inside-unquoted", twcs(line(author_id=b'a"b"')), "QUOTING",
             Gives(author=['a"b"'])),  # an even count: Arrow reads them as they are
    declined("quote-after-id", twcs(line(tweet_id=b'1"')), "QUOTING", Raises("truncated")),
    # the kernel names this SHAPE (the byte after the closing quote is not a separator)
    declined("text-after-closing-quote", twcs(line(text=b'"ab"c')), ("QUOTING", "SHAPE"),
             Gives(text=["abc"])),
    declined("doubled-quote-in-author", twcs(line(author_id=b'"a""b"')), "QUOTING",
             Gives(author=['a"b'])),
    declined("unclosed-quote-at-end", twcs(line(), line(text=b'"never closed'), final=False),
             "QUOTING", Raises(":3: truncated: a quoted field is never closed")),
    declined("unclosed-quote-newline", twcs(line(), line(text=b'"never closed,,')), "QUOTING",
             Raises("truncated: a quoted field is never closed")),
    declined("too-few-fields", twcs(line(), b"2,a,True"), "SHAPE",
             Raises(":3: wrong number of fields")),
    declined("too-many-fields", twcs(line() + b",x", line()), "SHAPE",
             Raises(":2: wrong number of fields")),
    declined("blank-line-with-space", twcs(line(), b" ", line()), "SHAPE",
             Raises("wrong number of fields")),
    declined("bare-cr-in-quoted-text", twcs(line(text=b'"a\rb"')), "BARE_CR", Gives(text=["a\rb"])),
    declined("cr-before-closing-quote", twcs(line(text=b'"ab\r"')), "BARE_CR",
             Gives(text=["ab\r"])),
    declined("cr-before-closing-quote-crlf", twcs(line(text=b'"ab\r"'), nl=b"\r\n"), "BARE_CR",
             Gives(text=["ab\r"])),
    declined("bare-cr-unquoted", twcs(line(text=b"a\r\rb")), "SHAPE", Gives(text=["a\r\rb"])),
    declined("cr-at-file-end", twcs(line(text=b'"ab"'), final=False) + b"\r", "SHAPE",
             Gives(text=["ab"])),
    # the general reader's error here is Arrow's KeyError (not an InputError): not pinned
    declined("duplicate-column", twcs(line((*FIELDS, "text")), order=(*FIELDS, "text")), "SHAPE",
             None),
    declined("missing-column", twcs(line(FIELDS[1:]), order=FIELDS[1:]), "SHAPE",
             Raises(":1: missing column(s) tweet_id for the twcs layout")),
    declined("header-only", twcs(), "SHAPE", Gives(id=[])),
    declined("header-and-empty-lines", twcs(b"", b""), "SHAPE", Gives(id=[])),
]  # fmt: skip


@pytest.mark.parametrize(
    ("created_at", "why"),
    [
        pytest.param(b"Tue Sep 21 00:12:44 +0000 1677", "OK", id="first-whole-second"),
        pytest.param(b"Tue Sep 21 00:12:43 -0001 1677", "OK", id="first-by-offset"),
        pytest.param(b"Fri Apr 11 23:47:16 +0000 2262", "OK", id="last-second"),
        pytest.param(b"Sat Apr 12 00:47:16 +0100 2262", "OK", id="last-by-offset"),
        pytest.param(b"Tue Sep 21 00:12:43 +0000 1677", "TIME", id="before-first-by-0.15s"),
        pytest.param(b"Tue Sep 21 00:12:42 +0000 1677", "TIME", id="before-first"),
        pytest.param(b"Fri Apr 11 23:47:17 +0000 2262", "TIME", id="after-last"),
        pytest.param(b"Sat Jan 01 00:00:00 +0000 0000", "TIME", id="year-0"),
        pytest.param(b"Fri Dec 31 23:59:59 +0000 9999", "TIME", id="year-9999"),
    ],
)
def test_times_at_the_ends_of_the_nanosecond_range(created_at, why, tmp_path, monkeypatch):
    """pandas holds times as int64 nanoseconds (1677-09-21 00:12:43.145 to 2262-04-11
    23:47:16.854): the kernel reads the whole seconds inside that range and declines the
    rest, for which the general reader raises its error."""
    data = twcs(line(created_at=created_at), line(tweet_id=b"2"))
    normal, general = read_both(data, tmp_path, monkeypatch)
    got = reason(data)
    read_as = normal.frame["created_at"].iloc[0] if normal.frame is not None else normal.error
    assert got == why, f"kernel {got} (read as {read_as}), general reader: {general.error}"
    check_same(normal, general)
    assert normal.fast == (why == "OK")


def test_reason_names_are_complete():
    assert sorted(NAME) == list(range(len(REASONS)))


@pytest.mark.parametrize(("data", "why", "general"), DECLINED)
def test_declined_files_keep_the_general_meaning(data, why, general, tmp_path, monkeypatch):
    """The kernel declines with the reason named; the normal read then is the general one:
    its usual frame, or its usual error."""
    got = reason(data)
    assert got in ((why,) if isinstance(why, str) else why), f"kernel gave {got}, expected {why}"
    for parts in (2, 3):
        assert reason(data, parts) != "OK", f"declined in one part, read in {parts}"
    normal, plain = read_both(data, tmp_path, monkeypatch)
    check_same(normal, plain)
    assert not normal.fast
    if isinstance(general, Raises):
        assert plain.error is not None and general.match in plain.error, plain.error
    elif isinstance(general, Gives):
        assert plain.error is None, plain.error
        for column, values in general.columns.items():
            assert plain.frame[column].tolist() == values, column


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(twcs(line(author_id=b"a\xffb")), id="author-0xff"),
        pytest.param(twcs(line(author_id=b"a\xc0\xafb")), id="author-overlong"),
        pytest.param(twcs(line(author_id=b'"a\xed\xa0\x80b"')), id="author-surrogate"),
        pytest.param(twcs(line(created_at=b"T\xff\xff" + TIME[3:])), id="weekday-0xff"),
        pytest.param(twcs(line(created_at=b"M\xc3" + TIME[2:])), id="weekday-truncated"),
    ],
)
def test_kernel_checks_utf8_of_every_field_it_keeps(data, tmp_path, monkeypatch):
    """Arrow's reader checks every column it converts is UTF-8 (the general reader then
    refuses the file); the kernel must decline such a file, not return broken strings."""
    normal, general = read_both(data, tmp_path, monkeypatch)
    assert general.error is not None and "text is not UTF-8" in general.error
    got = reason(data)
    # a time must be ASCII before it is read (TIME), another field valid UTF-8 (UTF8)
    assert got in ("UTF8", "TIME"), f"kernel {got}: broken strings where the general reader raised"
    check_same(normal, general)


# -- parts ---------------------------------------------------------------------------------


def many_rows(count: int, seed: int) -> bytes:
    """Rows whose quoted texts hold line ends and quotes at varied places, so that the even
    shares of the file fall inside, just before and just after them."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        pieces = [
            rng.choice([b"x" * rng.randrange(12), b"\n", b"\r\n", b'""', b",", b"\n\n"])
            for _ in range(rng.randrange(6))
        ]
        text = b'"' + b"".join(pieces) + b'"' if rng.random() < 0.8 else b"plain"
        rows.append(
            line(
                tweet_id=str(i + 1).encode(),
                text=text,
                in_response_to_tweet_id=str(i).encode() if i else b"",
            )
        )
    return twcs(*rows, nl=rng.choice([b"\n", b"\r\n"]), final=rng.random() < 0.5)


PART_FILES = [
    pytest.param(twcs(line()), id="one-row"),
    pytest.param(twcs(line(), final=False), id="one-row-no-newline"),
    pytest.param(twcs(line(text=b'"\n\n\n"'), line(text=b'"\n"')), id="two-rows-newlines"),
    pytest.param(twcs(line(), b"", b"", b"", line()), id="empty-lines-between"),
    pytest.param(twcs(line(text=b'"' + b"\n" * 200 + b'"'), line()), id="long-quoted-newlines"),
    *(pytest.param(many_rows(n, seed), id=f"rows{n}-seed{seed}")
      for n, seed in [(3, 1), (7, 2), (20, 3), (50, 4), (120, 5)]),
]  # fmt: skip


@pytest.mark.parametrize("data", PART_FILES)
def test_parts_give_the_columns_of_one_part(data):
    why, rows, one = parse(data, 1)
    assert NAME[why] == "OK"
    for parts in range(2, 8):
        why_k, rows_k, columns = parse(data, parts)
        assert (NAME[why_k], rows_k) == ("OK", rows), parts
        same_columns(columns, one)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(many_rows(30, 7).replace(b',"', b',"ab"c', 1), id="stray-quote-early"),
        pytest.param(many_rows(30, 8)[:-40] + b'"', id="odd-quote-at-end"),
        pytest.param(many_rows(30, 9) + line(text=b'"open\n\n'), id="unclosed-last-row"),
    ],
)
def test_parts_never_turn_a_decline_into_ok(data):
    assert reason(data) != "OK"
    for parts in range(2, 8):
        assert reason(data, parts) != "OK", parts


def test_a_file_read_in_parts_matches_the_general_reader(tmp_path, monkeypatch):
    data = many_rows(300, 11)
    for parts in (2, 5):
        assert reason(data, parts) == "OK"
    monkeypatch.setattr(kernel.os, "cpu_count", lambda: 5)  # read() cuts the file in five
    assert_accepted(data, tmp_path, monkeypatch)


# -- random files --------------------------------------------------------------------------

ZONES = ("0000", "0530", "1200")
AUTHORS = (b"a", b"AcmeHelp", b"115", b'"a,b"', "xé😀y".encode(), b"a b")
FLAGS = (b"True", b"False", b"TRUE", b"false", b"tRuE")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "xyz")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
TEXT_PIECES = [b"hello", b"a", b"12345678", b",", b'""', b"\n", b"\r\n", "é".encode(),
               "😀".encode(), "中文".encode(), b" ", b"\t", b"@AcmeHelp", b"x" * 9]  # fmt: skip


def random_time(rng: random.Random) -> bytes:
    month = rng.randrange(12)
    name = rng.choice([str.title, str.upper, str.lower])(MONTHS[month])
    sign = rng.choice("+-")
    return (
        f"{rng.choice(WEEKDAYS)} {name} {rng.randint(1, 28):02d} {rng.randrange(24):02d}:"
        f"{rng.randrange(60):02d}:{rng.randrange(61):02d} {sign}{rng.choice(ZONES)}"
        f" {rng.randint(1980, 2030)}"
    ).encode()


def quoted(rng: random.Random, value: bytes, chance: float = 0.3) -> bytes:
    return b'"' + value + b'"' if rng.random() < chance else value


def random_text(rng: random.Random) -> bytes:
    pieces = [rng.choice(TEXT_PIECES) for _ in range(rng.randrange(6))]
    text = b"".join(pieces)
    if any(c in text for c in b',"\n\r') or rng.random() < 0.3:
        return b'"' + text + b'"'
    return text


def random_id(rng: random.Random, number: int) -> bytes:
    return quoted(rng, str(number).encode() + (b".0" if rng.random() < 0.3 else b""), 0.1)


# one declining feature: (name, field, how it changes the written value)
SPOILERS = [
    ("space-id", "tweet_id", lambda rng, v: b" " + v),
    ("space-author", "author_id", lambda rng, v: v + b" "),
    ("space-time", "created_at", lambda rng, v: b'" ' + v.strip(b'"') + b'"'),
    ("id-3.00", "tweet_id", lambda rng, v: v.strip(b'"').removesuffix(b".0") + b".00"),
    ("id-leading-zero", "in_response_to_tweet_id", lambda rng, v: b"0" + v.strip(b'"') + b"1"),
    ("id-negative", "tweet_id", lambda rng, v: b"-" + v.strip(b'"')),
    ("id-exponent", "tweet_id", lambda rng, v: v.strip(b'"').removesuffix(b".0") + b"e5"),
    ("id-huge", "tweet_id", lambda rng, v: b"9" * 19 + v.strip(b'"')),
    ("empty-id", "tweet_id", lambda rng, v: b""),
    ("empty-author", "author_id", lambda rng, v: b""),
    ("inbound-yes", "inbound", lambda rng, v: b"yes"),
    ("iso-time", "created_at", lambda rng, v: b"2024-03-04T09:00:00Z"),
    ("text-0xff", "text", lambda rng, v: v + b"\xff" if v[:1] != b'"' else v[:-1] + b'\xff"'),
    ("text-overlong", "text", lambda rng, v: b'"\xc0\xaf' + v.strip(b'"') + b'"'),
    ("text-surrogate", "text", lambda rng, v: b"\xed\xa0\x80"),
    ("text-truncated", "text", lambda rng, v: b"ok\xe2\x82"),
    ("author-0xff", "author_id", lambda rng, v: b"a\xffb"),
    ("weekday-0xff", "created_at", lambda rng, v: b"T\xff\xff" + v.strip(b'"')[3:]),
    ("stray-quote", "text", lambda rng, v: b'ab"c'),
    ("after-closing-quote", "text", lambda rng, v: b'"ab"c'),
    ("bare-cr", "text", lambda rng, v: b'"a\rb"'),
    ("cr-before-quote", "text", lambda rng, v: b'"ab\r"'),
    ("extra-field", "in_response_to_tweet_id", lambda rng, v: v + b",9"),
]


def random_file(rng: random.Random, spoiler=None) -> bytes:
    order = list(FIELDS)
    if rng.random() < 0.3:
        rng.shuffle(order)
    if rng.random() < 0.1:
        order.remove("response_tweet_id")
    index = rng.choice([None, None, b"", b"Unnamed: 0"])
    count = rng.randint(1, 6)
    spoilt = rng.randrange(count)
    rows = []
    for i in range(count):
        author = rng.choice(AUTHORS)
        values = {
            "tweet_id": random_id(rng, rng.randrange(1, 10 ** rng.randint(1, 18))),
            "author_id": author if author[:1] == b'"' else quoted(rng, author, 0.2),
            "inbound": quoted(rng, rng.choice(FLAGS), 0.1),
            "created_at": quoted(rng, random_time(rng), 0.1),
            "text": random_text(rng),
            "response_tweet_id": rng.choice([b"", b"5", b'"5,6"']),
            "in_response_to_tweet_id": rng.choice([b"", random_id(rng, rng.randrange(10**6))]),
        }
        if spoiler is not None and i == spoilt:
            _, name, change = spoiler
            values[name] = change(rng, values[name])
        rows.append(line(order, index=None if index is None else str(i).encode(), **values))
        if rng.random() < 0.15:
            rows.append(b"")
    return twcs(
        *rows,
        order=order,
        index=index,
        nl=rng.choice([b"\n", b"\r\n"]),
        final=rng.random() < 0.7,
        bom=rng.random() < 0.1,
    )


def test_random_files(tmp_path, monkeypatch):
    """300 files mixing every accepted feature, a third of them with one declining feature:
    the kernel declines, or both readers give the same frame (and parts change nothing)."""
    rng = random.Random(20240304)
    clean, accepted = 0, 0
    declined_clean: list[str] = []
    differs: dict[str, list[str]] = {}
    for n in range(300):
        spoiler = rng.choice(SPOILERS) if rng.random() < 0.35 else None
        kind = spoiler[0] if spoiler else "clean"
        data = random_file(rng, spoiler)
        why, _, columns = parse(data, rng.randint(1, 4))
        clean += spoiler is None
        if NAME[why] != "OK":
            if spoiler is None:
                declined_clean.append(f"file {n} ({NAME[why]}): {data!r}")
            continue
        accepted += spoiler is None
        same_columns(columns, parse(data, 1)[2])
        normal, general = read_both(data, tmp_path, monkeypatch, name=f"r{n}.csv")
        try:
            check_same(normal, general, f"file {n}")
        except AssertionError as exc:
            differs.setdefault(kind, []).append(f"{str(exc).splitlines()[0]}\n  {data!r}")
    # the test must not pass by declining everything
    assert accepted >= 0.9 * clean, "\n".join(declined_clean[:5])
    assert not differs, "kernel OK but the readers differ: " + "; ".join(
        f"{kind} in {len(cases)} files, e.g. {cases[0]}" for kind, cases in differs.items()
    )


# -- the real public sample -----------------------------------------------------------------

SAMPLE = EXTERNAL / "twcs_head5000" / "twcs_head5000.csv"


def sample() -> bytes:
    if not EXTERNAL.exists():
        pytest.skip(f"{EXTERNAL} absent: the real twcs sample is unavailable")
    if not SAMPLE.exists():
        pytest.skip(f"{SAMPLE} absent")
    return SAMPLE.read_bytes()


def test_real_sample_both_readers_agree(monkeypatch):
    """The slice (a pandas re-export of Kaggle's twcs.csv) holds two bare carriage returns in
    unquoted text (SOURCES.md), which the general reader rewrites: the kernel must read the
    file or decline it for that reason."""
    data = sample()
    why, row, _ = parse(data)
    bare = data.count(b"\r") > data.count(b"\r\n")
    assert NAME[why] == "OK" or (bare and NAME[why] in ("SHAPE", "BARE_CR")), (
        f"the kernel declined the real sample: {NAME[why]} at data row {row}"
    )
    normal = read(SAMPLE, monkeypatch, general=False)
    general = read(SAMPLE, monkeypatch, general=True)
    check_same(normal, general, "real sample")
    assert normal.fast == (NAME[why] == "OK")
    assert len(general.frame) == 5000


def test_real_sample_without_bare_carriage_returns_is_read_by_the_kernel(tmp_path, monkeypatch):
    """The same bytes with the bare carriage returns made spaces (written to pytest's temporary
    folder, outside the project): the kernel reads all 5,000 rows, exactly as Arrow does."""
    data = sample()
    assert b"\0" not in data
    cleaned = data.replace(b"\r\n", b"\0").replace(b"\r", b" ").replace(b"\0", b"\r\n")
    why, row, one = parse(cleaned)
    assert NAME[why] == "OK", f"the kernel declined the real sample: {NAME[why]} at data row {row}"
    for parts in (2, 3, 7):
        why_k, _, columns = parse(cleaned, parts)
        assert NAME[why_k] == "OK", parts
        same_columns(columns, one)
    normal, general = read_both(cleaned, tmp_path, monkeypatch, name="sample.csv")
    check_same(normal, general, "real sample, bare CRs as spaces")
    assert normal.fast and len(normal.frame) == 5000
