"""Users' Jinja templates (query texts, dialogue steps, bot endpoints' bodies and reply
expressions), sandboxed and bounded: a template cannot run long, recurse without end or
build a huge string, list or number — each limit is checked before the memory is taken.

* a rendered text is at most ``MAX_TEXT`` characters, and so is a string built on the way
  (``*``, ``+``, ``~``, ``%``, ``format``, a padding filter or method, ``replace``, ``join``);
  a width or precision in a format (``'%*d'``, ``'{:>{w}}'``, ``'%99999d'``) is at most
  ``MAX_TEXT`` too, wherever it comes from;
* a value is printed (or joined, or formatted) only when its text would fit ``MAX_TEXT``
  characters: a list nested into itself in a loop is refused, not printed;
* ``range`` gives at most ``MAX_RANGE`` numbers, and one rendering runs at most
  ``MAX_STEPS`` loop iterations (``range`` items counted too) and weighs at most
  ``MAX_WEIGHED`` items of values it prints;
* a list, dict or set grown by its methods holds at most ``MAX_STEPS`` items; an integer
  has at most ``MAX_DIGITS`` digits; an exponent is at most ``MAX_EXPONENT``;
* a macro recursing without end is an error, not a crash.

Every refusal is a ``jinja2.sandbox.SecurityError`` (a ``TemplateError``) with a one-line
message naming the limit; an arithmetic or type error while rendering (``1/0``) is a
``TemplateRuntimeError``, so callers handle one kind of error.
"""

from __future__ import annotations

import contextvars
import functools
import itertools
import math
import re
from collections.abc import Iterable, Iterator
from string import Formatter

import jinja2
from jinja2 import nodes
from jinja2.environment import TemplateExpression
from jinja2.exceptions import TemplateRuntimeError
from jinja2.parser import Parser
from jinja2.sandbox import SandboxedEnvironment, SandboxedFormatter, SecurityError
from jinja2.utils import Namespace
from jinja2.visitor import NodeTransformer
from markupsafe import Markup

MAX_TEXT = 10_000  # characters in a rendered text, or in a string built on the way
MAX_RANGE = 1_000  # numbers one range() gives
MAX_STEPS = 100_000  # loop iterations in one rendering; items in a grown container
MAX_WEIGHED = 1_000_000  # items of printed values weighed in one rendering
MAX_EXPONENT = 1_000  # the largest exponent of **
MAX_DIGITS = 4_300  # digits of an integer (Python's own limit on printing one)
_MAX_BITS = math.ceil(MAX_DIGITS * math.log2(10))
_WIDE = re.compile(r"\d{5,}")  # a width or precision of 10,000 or more in a format spec
# a printf-style conversion: mapping key, flags, width, precision, length, type
_PERCENT = re.compile(r"%(\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?[hlL]?(.)", re.DOTALL)
_BUDGET: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("budget", default=None)
_LOOP = "_socialbench_loop"
_TEXT = "_socialbench_text"
_PADDING = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})  # str methods
_WIDTH_FILTERS = frozenset({"center", "indent", "batch", "slice", "tojson", "wordwrap"})
_GROWING = (list, dict, set)
# filters that pick, count or reorder rather than make text: their input is not weighed
_STRUCTURAL = frozenset(
    "abs attr batch count d default dictsort first float groupby int items last length list "
    "map max min random reject rejectattr reverse round select selectattr slice sort sum "
    "unique".split()
)


class LimitedEnvironment(SandboxedEnvironment):
    """A sandbox whose ranges, loops, repetitions, paddings, formats, concatenations and
    numbers are bounded."""

    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def __init__(self, **options) -> None:
        options.setdefault("finalize", _text)
        super().__init__(**options)
        self.globals["range"] = _range
        self.globals[_LOOP] = _loop
        self.globals[_TEXT] = _text
        self.filters = {name: _bounded(name, f) for name, f in self.filters.items()}

    def call_binop(self, context, operator, left, right):
        if operator == "+":
            _check_sum(left, right)
        elif operator == "*":
            _check_repeat(left, right)
            _check_repeat(right, left)
            _check_product(left, right)
        elif operator == "**":
            _check_power(left, right)
        elif operator == "%":
            _check_percent(left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context, __obj, *args, **kwargs):  # Jinja's own signature
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            name = getattr(__obj, "__name__", "")
            if name in _PADDING:
                _check_width(args, kwargs)
            elif name == "replace":
                _check_replace(owner, *args[:2])
            elif name == "join" and args:
                _check_join(args[0], owner)
            for value in (*args, *kwargs.values()):
                _weigh(value)
        result = super().call(__context, __obj, *args, **kwargs)
        if isinstance(owner, str):
            _check_built(result)
        elif isinstance(owner, _GROWING) and len(owner) > MAX_STEPS:
            raise SecurityError(f"a {type(owner).__name__} of more than {MAX_STEPS:,} items")
        return result

    def wrap_str_format(self, value):
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        _check_format(value.__self__)  # "{:>99999}".format(x)
        return _format_method(self, value)

    def compile_expression(self, source: str, undefined_to_none: bool = True):
        """As Jinja's, with the expression's concatenations bounded like a template's."""
        parser = Parser(self, source, state="variable")
        expr = parser.parse_expression()
        if not parser.stream.eos:
            raise jinja2.TemplateSyntaxError(
                "chunk after expression", parser.stream.current.lineno, None, None
            )
        body = [nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)]
        tree = _Bounded().visit(nodes.Template(body, lineno=1))
        tree.set_environment(self)
        return TemplateExpression(self.from_string(tree), undefined_to_none)


@functools.cache
def environment(*, autoescape: bool = False) -> LimitedEnvironment:
    """The shared bounded sandbox; an undefined variable is an error, not an empty string."""
    return LimitedEnvironment(undefined=jinja2.StrictUndefined, autoescape=autoescape)


def template(source: str, env: LimitedEnvironment | None = None) -> jinja2.Template:
    """``source`` compiled with every ``for`` loop counted against ``MAX_STEPS`` and every
    ``~`` concatenation's parts weighed."""
    env = env or environment()
    tree = _Bounded().visit(env.parse(source))
    return env.from_string(tree)


class _Bounded(NodeTransformer):
    """Loops counted (``_loop``), concatenations' parts weighed (``_text``)."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        node = self.generic_visit(node)
        node.iter = _call(_LOOP, node.iter)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        node = self.generic_visit(node)
        node.nodes = [_call(_TEXT, part) for part in node.nodes]
        return node


def _call(name: str, argument: nodes.Expr) -> nodes.Call:
    return nodes.Call(nodes.Name(name, "load"), [argument], [], None, None)


def render(template: jinja2.Template, context: dict) -> str:
    """The rendered text, or SecurityError past a limit (RecursionError included), or
    TemplateRuntimeError for an arithmetic, type or value error."""
    parts: list[str] = []
    size = 0
    with budget():
        for part in template.generate(context):
            size += len(part)
            if size > MAX_TEXT:
                raise SecurityError(f"the text renders longer than {MAX_TEXT:,} characters")
            parts.append(part)
    return "".join(parts)


def budget() -> _Budget:
    """A context in which a rendering (or an expression) runs with fresh budgets (loop
    iterations, weighed items), and in which errors become TemplateErrors."""
    return _Budget()


class _Budget:
    """``budget()``'s context manager."""

    def __enter__(self) -> None:
        self._token = _BUDGET.set([MAX_STEPS, MAX_WEIGHED])

    def __exit__(self, kind, error, traceback) -> bool:
        _BUDGET.reset(self._token)
        if isinstance(error, RecursionError):
            raise SecurityError("the template recurses too deeply") from None
        if isinstance(error, MemoryError):
            raise SecurityError("the template needs more memory than there is") from None
        if isinstance(error, ArithmeticError | TypeError | ValueError | LookupError) and not (
            isinstance(error, jinja2.TemplateError)
        ):
            raise TemplateRuntimeError(str(error) or type(error).__name__) from None
        return False


def _spend(count: int, slot: int = 0) -> None:
    found = _BUDGET.get()
    if found is None:
        return
    found[slot] -= count
    if found[slot] < 0:
        if slot == 0:
            raise SecurityError(f"the template runs more than {MAX_STEPS:,} loop iterations")
        raise SecurityError(f"the template prints more than {MAX_WEIGHED:,} items")


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


def _text(value):
    """``value`` itself, once its text is known to fit MAX_TEXT characters."""
    _weigh(value)
    return value


def _weigh(value) -> None:
    """Refuse ``value`` when its text (``str(value)``) would pass MAX_TEXT characters,
    without making the text: walks its items (at most about MAX_TEXT of them, each charged
    to the rendering's budget)."""
    if (
        isinstance(value, float)
        or value is None
        or (isinstance(value, str) and len(value) <= MAX_TEXT)
    ):
        return
    size, walked, stack = 0, 0, [value]
    while stack:
        item = stack.pop()
        walked += 1
        items: Iterable = ()
        if isinstance(item, str):
            size += len(item)
        elif isinstance(item, bool) or item is None:
            size += 5
        elif isinstance(item, int):
            size += _digits(item)
        elif isinstance(item, list | tuple | set | frozenset):
            size, items = size + 2 + len(item), item
        elif isinstance(item, dict):
            size, items = size + 2 + 2 * len(item), itertools.chain(item.keys(), item.values())
        elif isinstance(item, Namespace):
            size, items = size + 12, (object.__getattribute__(item, "_Namespace__attrs"),)
        else:
            size += 1
        if size > MAX_TEXT:  # before taking the items: a huge list is not copied
            _spend(walked, 1)
            raise SecurityError(f"a value whose text is longer than {MAX_TEXT:,} characters")
        stack.extend(items)
    _spend(walked, 1)


def _digits(number: int) -> int:
    """About how many characters ``str(number)`` has (at least 1)."""
    return int(abs(number).bit_length() * 0.30103) + 2


def _check_built(result) -> None:
    if isinstance(result, str) and len(result) > MAX_TEXT:
        raise SecurityError(f"a string longer than {MAX_TEXT:,} characters is refused")


def _check_sum(left: object, right: object) -> None:
    both = (str, list, tuple)
    if isinstance(left, both) and isinstance(right, both):
        if len(left) + len(right) > MAX_TEXT:
            raise SecurityError(f"a sum longer than {MAX_TEXT:,} items is refused")


def _check_repeat(sequence: object, times: object) -> None:
    if isinstance(sequence, str | list | tuple) and isinstance(times, int):
        if len(sequence) * times > MAX_TEXT:
            raise SecurityError(f"a repetition longer than {MAX_TEXT:,} items is refused")


def _check_product(left: object, right: object) -> None:
    if _integer(left) and _integer(right):
        if abs(left).bit_length() + abs(right).bit_length() > _MAX_BITS:
            raise SecurityError(f"a number of more than {MAX_DIGITS:,} digits is refused")


def _check_power(base: object, exponent: object) -> None:
    if isinstance(exponent, int | float) and abs(exponent) > MAX_EXPONENT:
        raise SecurityError(f"an exponent above {MAX_EXPONENT:,} is refused")
    if _integer(base) and _integer(exponent) and exponent > 0 and abs(base) > 1:
        if (abs(base).bit_length() - 1) * exponent > _MAX_BITS:
            raise SecurityError(f"a number of more than {MAX_DIGITS:,} digits is refused")


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_format(text: object) -> None:
    """Refuse ``%99999d`` and ``{:>99999}`` in a format string."""
    if isinstance(text, str):
        if any(_WIDE.search(spec) for spec in re.findall(r"%[^a-zA-Z%]*|\{[^}]*\}", text)):
            raise SecurityError(f"a format width above {MAX_TEXT:,} is refused")


def _check_percent(text: object, values: object) -> None:
    """``text % values``: literal widths, and the widths ``*`` takes from ``values``, at most
    MAX_TEXT; the values' texts weighed."""
    if not isinstance(text, str):
        return
    _check_format(text)
    _weigh(values)
    given = list(values) if isinstance(values, tuple) else [values]
    for match in _PERCENT.finditer(text):
        key, width, precision, kind = match.groups()
        if kind == "%" and not (key or width or precision):
            continue
        for star in (width, precision):
            if star == "*":
                taken = given.pop(0) if given else None
                if _integer(taken) and abs(taken) > MAX_TEXT:
                    raise SecurityError(f"a format width above {MAX_TEXT:,} is refused")
        if key is None and given:
            given.pop(0)


class _LimitedFormatter(SandboxedFormatter):
    """``str.format``'s formatter with each field's width and precision, once its nested
    fields are filled in (``'{:>{w}}'``), at most MAX_TEXT, and each value weighed."""

    def format_field(self, value, format_spec: str) -> str:
        if _WIDE.search(format_spec):
            raise SecurityError(f"a format width above {MAX_TEXT:,} is refused")
        _weigh(value)
        text = super().format_field(value, format_spec)
        _check_built(text)
        return text


class _LimitedEscapeFormatter(_LimitedFormatter):
    def __init__(self, env, escape) -> None:
        self.escape = escape
        super().__init__(env)

    def format_field(self, value, format_spec: str) -> str:
        if hasattr(value, "__html_format__"):
            return value.__html_format__(format_spec)
        if hasattr(value, "__html__"):
            return super().format_field(value.__html__(), format_spec)
        return super().format_field(self.escape(value), format_spec)


def _format_method(env: LimitedEnvironment, method):
    """``text.format`` / ``text.format_map`` through the limited formatter."""
    text = method.__self__
    formatter: Formatter = (
        _LimitedEscapeFormatter(env, text.escape)
        if isinstance(text, Markup)
        else _LimitedFormatter(env)
    )
    is_map = method.__name__ == "format_map"

    @functools.wraps(method)
    def formatted(*args, **kwargs):
        if is_map:
            if kwargs or len(args) != 1:
                raise TypeError("format_map() takes exactly one argument")
            args, kwargs = (), args[0]
        result = type(text)(formatter.vformat(text, args, kwargs))
        _check_built(result)
        return result

    return formatted


def _check_width(args: tuple, kwargs: dict) -> None:
    for value in (*args, *kwargs.values()):
        if _integer(value) and abs(value) > MAX_TEXT:
            raise SecurityError(f"a width or count above {MAX_TEXT:,} is refused")
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise SecurityError(f"a width or filler longer than {MAX_TEXT:,} is refused")


def _check_replace(text: str, old: object = None, new: object = None) -> None:
    if isinstance(old, str) and isinstance(new, str):
        grown = (text.count(old) if old else len(text) + 1) * (len(new) - len(old))
        if len(text) + grown > MAX_TEXT:
            raise SecurityError(f"a replacement longer than {MAX_TEXT:,} characters is refused")


def _check_join(items: object, separator: object) -> None:
    if isinstance(items, list | tuple) and isinstance(separator, str) and len(items) > 1:
        if len(separator) * (len(items) - 1) > MAX_TEXT:
            raise SecurityError(f"a join longer than {MAX_TEXT:,} characters is refused")


def _bounded(name: str, function):
    """A filter with its widths checked (``center``, ``indent``, ...), its format checked
    (``format``), its replacement sized (``replace``), its input weighed and its result,
    when text, at most MAX_TEXT characters."""

    @functools.wraps(function)
    def bounded(*args, **kwargs):
        value, rest = _filter_value(function, args)
        if name == "format":  # "%-99999s"|format(x)
            _check_percent(value, tuple(rest[1:]) if kwargs == {} else kwargs)
        elif name == "replace" and isinstance(value, str) and len(rest) >= 3:
            _check_replace(value, str(rest[1]), str(rest[2]))
        elif name == "join":
            _check_join(value, rest[1] if len(rest) > 1 else kwargs.get("d", ""))
        elif name in _WIDTH_FILTERS:
            _check_width(tuple(rest[1:]), kwargs)
            if name == "indent":
                _check_indent(value, rest[1:], kwargs)
        if name in _STRUCTURAL:
            return function(*args, **kwargs)
        _weigh(value)
        result = function(*args, **kwargs)
        _check_built(result)
        return result

    return bounded


def _filter_value(function, args: tuple) -> tuple[object, tuple]:
    """The filtered value and the arguments from it on (after any context or environment
    Jinja passes first)."""
    skip = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0
    rest = args[skip:]
    return (rest[0] if rest else None), rest


def _check_indent(text: object, args: tuple, kwargs: dict) -> None:
    width = args[0] if args else kwargs.get("width", 4)
    unit = len(width) if isinstance(width, str) else width if _integer(width) else 0
    lines = str(text).count("\n") + 1 if isinstance(text, str) else 1
    if unit * lines > MAX_TEXT:
        raise SecurityError(f"an indentation longer than {MAX_TEXT:,} characters is refused")
