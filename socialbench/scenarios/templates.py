"""Users' Jinja templates (query texts, dialogue steps, bot endpoints' bodies), sandboxed and
bounded: a template cannot run long, recurse without end or build a huge string.

* a rendered text is at most ``MAX_TEXT`` characters, and so is a string built by ``*``,
  ``%`` or a padding filter or method on the way;
* ``range`` gives at most ``MAX_RANGE`` numbers, and one rendering runs at most
  ``MAX_STEPS`` loop iterations (``range`` items counted too);
* a macro recursing without end is an error, not a crash.

Every refusal is a ``jinja2.sandbox.SecurityError`` (a ``TemplateError``) with a one-line
message naming the limit.
"""

from __future__ import annotations

import contextvars
import functools
import re
from collections.abc import Iterable, Iterator

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

MAX_TEXT = 10_000  # characters in a rendered text, or in a string built on the way
MAX_RANGE = 1_000  # numbers one range() gives
MAX_STEPS = 100_000  # loop iterations in one rendering
MAX_EXPONENT = 1_000  # the largest exponent of **
_WIDE = re.compile(r"\d{5,}")  # a width or precision of 10,000 or more in a format string
_STEPS: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("steps", default=None)
_LOOP = "_socialbench_loop"
_PADDING = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})  # str methods


class LimitedEnvironment(SandboxedEnvironment):
    """A sandbox whose ranges, loops, repetitions and paddings are bounded."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.globals["range"] = _range
        self.globals[_LOOP] = _loop
        for name in ("center", "indent", "format"):
            self.filters[name] = _bounded(self.filters[name])

    def call_binop(self, context, operator, left, right):
        if operator == "*":
            _check_repeat(left, right)
            _check_repeat(right, left)
        elif operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"an exponent above {MAX_EXPONENT:,} is refused")
        elif operator == "%":
            _check_format(left)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context, __obj, *args, **kwargs):  # Jinja's own signature
        if isinstance(getattr(__obj, "__self__", None), str) and __obj.__name__ in _PADDING:
            _check_width(args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value):
        _check_format(getattr(value, "__self__", None))  # "{:>99999}".format(x)
        return super().wrap_str_format(value)


@functools.cache
def environment(*, autoescape: bool = False) -> LimitedEnvironment:
    """The shared bounded sandbox; an undefined variable is an error, not an empty string."""
    return LimitedEnvironment(undefined=jinja2.StrictUndefined, autoescape=autoescape)


def template(source: str, env: LimitedEnvironment | None = None) -> jinja2.Template:
    """``source`` compiled with every ``for`` loop counted against ``MAX_STEPS``."""
    env = env or environment()
    tree = env.parse(source)
    for loop in tree.find_all(nodes.For):
        loop.iter = nodes.Call(nodes.Name(_LOOP, "load"), [loop.iter], [], None, None)
    return env.from_string(tree)


def render(template: jinja2.Template, context: dict) -> str:
    """The rendered text, or SecurityError past a limit (RecursionError included)."""
    token = _STEPS.set([MAX_STEPS])
    parts: list[str] = []
    size = 0
    try:
        for part in template.generate(context):
            size += len(part)
            if size > MAX_TEXT:
                raise SecurityError(f"the text renders longer than {MAX_TEXT:,} characters")
            parts.append(part)
    except RecursionError:
        raise SecurityError("the template recurses too deeply") from None
    finally:
        _STEPS.reset(token)
    return "".join(parts)


def _spend(count: int) -> None:
    budget = _STEPS.get()
    if budget is None:
        return
    budget[0] -= count
    if budget[0] < 0:
        raise SecurityError(f"the template runs more than {MAX_STEPS:,} loop iterations")


def _loop(iterable: Iterable) -> Iterator:
    for item in iterable:
        _spend(1)
        yield item


def _range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise SecurityError(f"range() gives at most {MAX_RANGE:,} numbers, not {len(numbers):,}")
    _spend(len(numbers))
    return numbers


def _check_repeat(sequence: object, times: object) -> None:
    if isinstance(sequence, str | list | tuple) and isinstance(times, int):
        if len(sequence) * times > MAX_TEXT:
            raise SecurityError(f"a repetition longer than {MAX_TEXT:,} items is refused")


def _check_format(text: object) -> None:
    """Refuse ``%99999d`` and ``{:>99999}`` in a format string."""
    if isinstance(text, str):
        if any(_WIDE.search(spec) for spec in re.findall(r"%[^a-zA-Z%]*|\{[^}]*\}", text)):
            raise SecurityError(f"a format width above {MAX_TEXT:,} is refused")


def _check_width(args: tuple, kwargs: dict) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and value > MAX_TEXT:
            raise SecurityError(f"a width or count above {MAX_TEXT:,} is refused")


def _bounded(function):
    @functools.wraps(function)
    def bounded(*args, **kwargs):
        if function.__name__ == "do_format":  # "%-99999s"|format(x)
            _check_format(args[0])
        else:  # center(width), indent(width)
            _check_width(args[1:], kwargs)
        return function(*args, **kwargs)

    return bounded
