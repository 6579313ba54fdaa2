"""socialbench fixture JSON Lines (socialbench.sources.fixture): the optional account field."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import msg, write_fixture

from socialbench.errors import InputError
from socialbench.sources import ReadOptions, fixture, messages


def test_account_field_read_and_optional(tmp_path: Path) -> None:
    """Present on some messages (a string or an integer), absent or empty on others."""
    rows = [
        {**msg(1, "15550001", 0, "where is my order?"), "account": "Acme Shop"},
        {**msg(2, "15550002", 1, "hi"), "account": 15550009999},
        {**msg(3, "Acme Shop", 5, "How can we help?", parent=1, brand=True), "account": ""},
        msg(4, "someone", 6, "public"),
    ]
    got = fixture.read(write_fixture(tmp_path / "chats.jsonl", rows), ReadOptions())
    assert got[messages.ACCOUNT].tolist() == ["Acme Shop", "15550009999", pd.NA, pd.NA]
    assert got[messages.ACCOUNT].dtype == messages.STRING


def test_account_must_be_a_string(tmp_path: Path) -> None:
    rows = [{**msg(1, "cust", 0, "hi"), "account": ["Acme"]}]
    path = write_fixture(tmp_path / "chats.jsonl", rows)
    with pytest.raises(InputError, match=r"chats\.jsonl:2: account: must be a string"):
        fixture.read(path, ReadOptions())
