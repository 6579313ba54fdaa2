"""Thresholds: the grammar, where thresholds are written, and their evaluation against a
run's probe table. Decides pass or fail; never exits (cli.py turns verdicts into exit codes).
"""

from socialbench.verdict.thresholds.catalog import METRICS, TAGS
from socialbench.verdict.thresholds.grammar import Expression, Threshold, parse_option
from socialbench.verdict.thresholds.sources import from_file, from_suite, gather

__all__ = [
    "METRICS",
    "TAGS",
    "Expression",
    "Threshold",
    "from_file",
    "from_suite",
    "gather",
    "parse_option",
]
