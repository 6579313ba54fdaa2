"""The twcs CSV source: the real dataset's quirks and bad input."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from socialbench import sources
from socialbench.cli import main
from socialbench.errors import InputError
from socialbench.sources import twcs

HEADER = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id"


def write(tmp_path, text: str, *, name="t.csv", newline="\n"):
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def read(path, **kw):
    return twcs.read(path, sources.ReadOptions(**kw))


QUIRKY = (
    f",{HEADER}\n"
    '0,2,AcmeHelp,FALSE,Tue Oct 31 22:11:45 +0000 2017,"@115 sorry, DM us","3,4",1.0\n'
    "1,1,115,TRUE,Tue Oct 31 22:10:47 +0000 2017,@AcmeHelp broken,2,\n"
    '2,3,115,True,Tue Oct 31 22:30:00 +0000 2017,"@AcmeHelp two\nlines",,2.0\n'
    "3,4,116,true,Tue Oct 31 22:40:00 +0000 2017,@AcmeHelp me too,,99.0\n"
    "4,5,116,true,Tue Oct 31 22:50:00 +0000 2017,@AcmeHelp again,, 3.00 \n"
)


@pytest.mark.parametrize("newline", [pytest.param("\n", id="lf"), pytest.param("\r\n", id="crlf")])
def test_quirks_of_the_real_layout(tmp_path, newline):
    msgs = read(write(tmp_path, QUIRKY, newline=newline)).set_index("id")
    assert sorted(msgs.index) == ["1", "2", "3", "4", "5"]
    assert msgs.loc["2", "parent_id"] == "1" and msgs.loc["4", "parent_id"] == "99"
    assert msgs.loc["5", "parent_id"] == "3"
    assert msgs.loc["2", "author_is_brand"] and not msgs.loc["1", "author_is_brand"]
    assert msgs.loc["1", "created_at"].isoformat() == "2017-10-31T22:10:47+00:00"
    assert msgs.loc["3", "text"] == f"@AcmeHelp two{newline}lines"
    assert msgs.loc["2", "text"] == "@115 sorry, DM us"
    assert set(msgs["channel"]) == {"x"} and set(msgs["surface"]) == {"public"}


def test_bare_carriage_returns_in_text_are_kept(tmp_path):
    path = tmp_path / "cr.csv"
    path.write_bytes(
        (
            HEADER + "\n1,115,True,Tue Oct 31 22:10:47 +0000 2017,@AcmeHelp a\r\rb,,\n"
            '2,116,True,Tue Oct 31 22:10:47 +0000 2017,"q\rr",,\n'
        ).encode()
    )
    msgs = read(path).set_index("id")
    assert msgs.loc["1", "text"] == "@AcmeHelp a\r\rb" and msgs.loc["2", "text"] == "q\rr"


def test_times_keep_their_written_day(tmp_path):
    """A time keeps its day at its own offset, also where the UTC date is another, and a day
    may be written with one digit."""
    path = write(
        tmp_path,
        HEADER + "\n1,115,True,Tue Feb 28 23:30:00 -0100 2017,late,,\n"
        "2,115,True,Wed Mar 1 09:00:00 +0000 2017,one digit,,\n",
    )
    times = read(path)["created_at"].astype(str).tolist()
    assert times == ["2017-03-01 00:30:00+00:00", "2017-03-01 09:00:00+00:00"]


@pytest.mark.parametrize(
    ("written", "utc"),
    [
        pytest.param("Tue Oct 31 22:10:47 +1400 2017", "2017-10-31T08:10:47", id="twitter+1400"),
        pytest.param("Tue Oct 31 22:10:47 -1459 2017", "2017-11-01T13:09:47", id="twitter-1459"),
        pytest.param("2017-10-31T22:10:47+14:00", "2017-10-31T08:10:47", id="iso+14:00"),
        pytest.param("2017-10-31T22:10:47-1459", "2017-11-01T13:09:47", id="iso-1459"),
        pytest.param("2017-10-31 22:10:47 +05", "2017-10-31T17:10:47", id="iso+05"),
    ],
)
def test_offsets_up_to_14_59_are_applied(tmp_path, written, utc):
    path = write(tmp_path, HEADER + f"\n1,115,True,{written},hi,,\n")
    assert read(path)["created_at"].iloc[0].isoformat() == utc + "+00:00"


def test_iso_timestamps_are_accepted(tmp_path):
    path = write(tmp_path, HEADER + "\n1,115,True,2017-10-31T22:10:47Z,hi,,\n")
    assert read(path)["created_at"].iloc[0].isoformat() == "2017-10-31T22:10:47+00:00"


def test_brand_book_handles_mark_brand_accounts(tmp_path):
    path = write(tmp_path, HEADER + "\n1,AcmeUK,True,2017-10-31T22:10:47Z,hi,,\n")
    assert read(path, brand_handles=frozenset({"acmeuk"}))["author_is_brand"].iloc[0]


def test_sniff_recognises_twcs_only(tmp_path):
    assert twcs.sniff(QUIRKY, tmp_path)
    assert not twcs.sniff('{"id": 1}', tmp_path)
    assert sources.detect(write(tmp_path, QUIRKY)) == "twcs"


# offsets from UTC with hours above 14 or minutes above 59: never shifted, always refused
IMPOSSIBLE_OFFSETS = (
    "Tue Oct 31 22:10:47 +9999 2017",
    "Tue Oct 31 22:10:47 +0060 2017",
    "Tue Oct 31 22:10:47 +1500 2017",
    "Tue Oct 31 22:10:47 -2300 2017",
    "2017-10-31T22:10:47+99:99",
    "2017-10-31T22:10:47+00:60",
    "2017-10-31T22:10:47+15:00",
    "2017-10-31T22:10:47.250-1500",
    "2017-10-31 22:10:47+23",
)


@pytest.mark.parametrize(
    ("body", "line", "problem"),
    [
        pytest.param("1,115,True,yesterday,hi,,\n", 2, "unparseable created_at", id="bad-time"),
        pytest.param("1,115,maybe,2017-10-31T22:10:47Z,hi,,\n", 2, "inbound", id="bad-inbound"),
        pytest.param(
            "1,115,True,2017-10-31T22:10:47Z,hi,,\n2,115,True\n",
            3,
            "wrong number of fields",
            id="short-row",
        ),
        pytest.param('1,115,True,2017-10-31T22:10:47Z,"hi,,\n', 2, "truncated", id="open-quote"),
        pytest.param(
            '1,115,True,2017-10-31T22:10:47Z,"a\nb",,\n,115,True,2017-10-31T22:10:47Z,x,,\n',
            4,
            "empty tweet_id",
            id="line-after-multiline-text",
        ),
        pytest.param(
            "1,115,True,Tue Sep 21 00:12:43 +0000 1677,hi,,\n",
            2,
            "created_at outside the supported range",
            id="before-the-nanosecond-range",
        ),
        pytest.param(
            "1,115,True,2262-04-11T23:47:17Z,hi,,\n", 2, "outside the supported", id="after-it"
        ),
        *(
            pytest.param(
                f"1,115,True,2017-10-31T22:10:47Z,ok,,\n2,115,True,{time},hi,,\n",
                3,
                "unparseable created_at",
                id=f"offset {time}",
            )
            for time in IMPOSSIBLE_OFFSETS
        ),
        pytest.param(  # Arrow's strptime read it as 2 March
            "1,115,True,Tue Oct 31 22:10:47 +0000 2017,ok,,\n"
            "2,115,True,Thu Feb 30 10:00:00 +0000 2017,hi,,\n",
            3,
            "unparseable created_at",
            id="february-30",
        ),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, body, line, problem):
    path = write(tmp_path, HEADER + "\n" + body)
    with pytest.raises(InputError) as caught:
        read(path)
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert problem in str(caught.value)


def test_skip_bad_rows_records_each_skip(tmp_path):
    path = write(
        tmp_path,
        HEADER + "\n1,115,True,2017-10-31T22:10:47Z,ok,,\n"
        "2,115,True,not a time,bad,,\n3,115,True,2017-10-31T22:10:47Z,ok,,\n4,115\n",
    )
    options = sources.ReadOptions(skip_bad_rows=True)
    msgs = twcs.read(path, options)
    assert sorted(msgs["id"]) == ["1", "3"]
    assert sorted(str(s) for s in options.skipped) == sorted(
        [
            f"{path}:5: wrong number of fields (truncated or unquoted comma?)",
            f"{path}:3: unparseable created_at timestamp",
        ]
    )


def test_skip_bad_rows_skips_impossible_offsets(tmp_path):
    body = "".join(f"{n},115,True,{time},x,,\n" for n, time in enumerate(IMPOSSIBLE_OFFSETS, 2))
    path = write(tmp_path, HEADER + "\n1,115,True,Tue Oct 31 22:10:47 +0000 2017,ok,,\n" + body)
    options = sources.ReadOptions(skip_bad_rows=True)
    assert list(twcs.read(path, options)["id"]) == ["1"]
    assert [str(s) for s in options.skipped] == [
        f"{path}:{line}: unparseable created_at timestamp"
        for line in range(3, 3 + len(IMPOSSIBLE_OFFSETS))
    ]


def test_lines_are_counted_past_skipped_and_blank_rows(tmp_path):
    """Rows the CSV reader drops (too few fields, blank lines) still count as lines."""
    path = write(
        tmp_path,
        HEADER + "\n1,115,True,2017-10-31T22:10:47Z,ok,,\n2,115\n\n"
        "3,115,True,Tue Oct 31 22:10:47 +9999 2017,bad,,\n",
    )
    options = sources.ReadOptions(skip_bad_rows=True)
    assert list(twcs.read(path, options)["id"]) == ["1"]
    assert sorted(str(s) for s in options.skipped) == [
        f"{path}:3: wrong number of fields (truncated or unquoted comma?)",
        f"{path}:5: unparseable created_at timestamp",
    ]


@pytest.mark.parametrize(
    "time", ["Tue Oct 31 22:10:47 +9999 2017", "2017-10-31T22:10:47+99:99"], ids=["twitter", "iso"]
)
def test_cli_refuses_an_impossible_offset_unless_skipping(tmp_path, time):
    path = write(
        tmp_path,
        HEADER + "\n1,115,True,2017-10-31T22:10:47Z,@Acme hi,,\n"
        f"2,AcmeHelp,False,{time},@115 hello,,1\n",
    )
    refused = CliRunner().invoke(main, ["validate", str(path)])
    assert refused.exit_code == 2, refused.output
    assert f"{path}:3: unparseable created_at timestamp" in refused.output
    skipped = CliRunner().invoke(main, ["validate", str(path), "--skip-bad-rows"])
    assert skipped.exit_code == 0, skipped.output
    assert f"{path}:3: unparseable created_at timestamp" in skipped.output


def test_missing_columns_are_named(tmp_path):
    path = write(tmp_path, "tweet_id,author_id,inbound,text\n1,a,True,x\n")
    with pytest.raises(InputError, match=r"t\.csv:1: missing column\(s\) created_at, in_response"):
        read(path)


def test_a_column_named_twice_is_refused(tmp_path):
    path = write(tmp_path, HEADER.replace("response_tweet_id,", "text,", 1) + "\n1,a,True,x,y,z,\n")
    with pytest.raises(InputError, match=r"t\.csv:1: column\(s\) text appear more than once"):
        read(path)


def test_bare_carriage_return_line_ends_are_refused(tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes((HEADER + "\r1,a,True,2017-10-31T22:10:47Z,hi,,\r").encode())
    with pytest.raises(InputError, match=r"mac\.csv:1: the header row is not readable CSV"):
        read(path)


def test_text_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        (HEADER + "\n1,115,True,2017-10-31T22:10:47Z,ok,,\n").encode()
        + b"2,115,True,2017-10-31T22:10:47Z,caf\xe9,,\n"
    )
    with pytest.raises(InputError, match=r"latin1\.csv:3: text is not UTF-8"):
        read(path)


def test_empty_file(tmp_path):
    path = write(tmp_path, "")
    with pytest.raises(InputError, match="empty"):
        sources.read(path, options=sources.ReadOptions())


@pytest.mark.parametrize("block", [1, 2, 3, 5, 7, 64])
def test_checks_across_scan_blocks(tmp_path, monkeypatch, block):
    monkeypatch.setattr(twcs._Source, "_BLOCK", block)
    body = HEADER + "\r\n" + '1,115,True,2017-10-31T22:10:47Z,"a\r\nb",,\r\n'
    body += "2,116,True,2017-10-31T22:10:48Z,c,,1\r\n"
    msgs = read(write(tmp_path, body)).set_index("id")
    assert msgs.loc["1", "text"] == "a\r\nb" and msgs.loc["2", "parent_id"] == "1"
    source = twcs._Source(write(tmp_path, body, name="u.csv"))
    assert (source._count(b"\r\n"), source._count(b'"'), source.restore_cr) == (4, 2, False)
    lone = twcs._Source(write(tmp_path, body.replace("a\r\nb", "a\rb"), name="v.csv"))
    assert lone.restore_cr
