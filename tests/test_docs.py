"""The README documents every command, option, format, output column and summary field."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from socialbench import conversations, sources
from socialbench.cli import main
from socialbench.measure import metrics

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(main.commands))
def test_every_command_and_its_options_are_documented(name):
    command = main.commands[name]
    assert f"socialbench {name}" in README
    for param in command.params:
        if isinstance(param, click.Option):
            assert any(f"`{opt}" in README for opt in param.opts), (name, param.opts)


@pytest.mark.parametrize("fmt", sources.names())
def test_every_format_is_documented(fmt):
    assert f"### `{fmt}`" in README


@pytest.mark.parametrize("column", conversations.PROBE_COLUMNS + conversations.EXTRA_COLUMNS)
def test_every_probe_column_is_documented(column):
    assert f"`{column}`" in README


@pytest.mark.parametrize("field", metrics.AGGREGATE_KEYS)
def test_every_summary_field_is_documented(field):
    assert f"`{field}`" in README
