"""The suite file's strict models: every key known, every value checked on its own.

Checks that need more than one value (ids referenced by queries, handles per channel,
templates) live in ``coherence`` and ``render``, where each problem gets its own YAML path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import pydantic
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from socialbench import durations
from socialbench.errors import UsageError
from socialbench.measure.calendar import SupportHours
from socialbench.scenarios import patterns
from socialbench.yamlfile import line_at

CHANNELS: tuple[str, ...] = ("x", "facebook", "instagram", "messenger", "whatsapp", "webchat")
SURFACES: tuple[str, ...] = ("public", "private")
# channels that have no public surface: a probe there is always a private message
PRIVATE_ONLY: frozenset[str] = frozenset({"messenger", "whatsapp", "webchat"})

Channel = Literal["x", "facebook", "instagram", "messenger", "whatsapp", "webchat"]
Surface = Literal["public", "private"]

_ID_RE = re.compile(r"^[a-z0-9_-]+$")
_ZERO_RE = re.compile(r"^0+(\.0*)?[smhdw]?$")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
_DURATION_SCHEMA = {
    "anyOf": [{"type": "string", "examples": ["45m", "4h", "7d", "1h30m"]}, {"type": "number"}],
    "description": "a duration: 90s, 45m, 4h, 7d, 1h30m; a bare number is seconds",
}


def _duration(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration (examples: 30m, 4h, 7d, 1h30m)")
    if _ZERO_RE.match(str(value).strip().lower()):
        return 0.0
    try:
        return durations.parse(value)
    except UsageError as exc:
        raise ValueError(str(exc).removeprefix("duration: ")) from None


def _positive(value: float) -> float:
    if value <= 0:
        raise ValueError("must be longer than zero")
    return value


def _handle(value: str) -> str:
    cleaned = value.strip().removeprefix("@")
    if not cleaned:
        raise ValueError("a handle is empty")
    if any(ch.isspace() for ch in cleaned):
        raise ValueError(f"handle {value!r} contains white space")
    return cleaned


def _env_name(value: str) -> str:
    if not _ENV_RE.match(value):
        raise ValueError(  # the value may be a pasted secret: never repeat it
            "is not an environment variable name: give the variable's NAME "
            "(e.g. SB_X_TOKEN_SMALL), never the token itself"
        )
    return value


def _regex(value: str) -> str:
    problem = patterns.problem(value)
    if problem is not None:
        raise ValueError(
            f"invalid regular expression {value!r}: {problem} (RE2 syntax: no backreferences "
            "or lookarounds)"
        )
    return value


def _domain(value: str) -> str:
    cleaned = value.strip().lower()
    if not _DOMAIN_RE.match(cleaned):
        raise ValueError(f"{value!r} is not a domain name like 'acme.example' (no scheme or path)")
    return cleaned


def _one_or_many(value: Any) -> Any:
    return value if isinstance(value, list) else [value]


def _scalar(value: Any) -> Any:
    if not isinstance(value, str | int | float | bool):
        raise ValueError(f"a value must be a string, number or boolean, not {type(value).__name__}")
    return value


_SCALAR_SCHEMA = {"type": ["string", "number", "boolean"]}
_TEXT_SCHEMA = {
    "anyOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
    ]
}


Id = Annotated[str, Field(pattern=_ID_RE.pattern, description="lower case letters, digits, _ -")]
Duration = Annotated[float, BeforeValidator(_duration), WithJsonSchema(_DURATION_SCHEMA)]
PositiveDuration = Annotated[Duration, AfterValidator(_positive)]
Handle = Annotated[str, AfterValidator(_handle)]
EnvName = Annotated[str, AfterValidator(_env_name)]
Pattern = Annotated[str, AfterValidator(_regex)]
NonEmpty = Annotated[str, Field(min_length=1)]
Scalar = Annotated[Any, AfterValidator(_scalar), WithJsonSchema(_SCALAR_SCHEMA)]
Values = Annotated[
    list[Scalar],
    BeforeValidator(_one_or_many),
    Field(min_length=1),
    WithJsonSchema({"anyOf": [_SCALAR_SCHEMA, {"type": "array", "items": _SCALAR_SCHEMA}]}),
]
Texts = Annotated[
    list[NonEmpty], BeforeValidator(_one_or_many), Field(min_length=1), WithJsonSchema(_TEXT_SCHEMA)
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Pacing(_Strict):
    """How fast probes are sent."""

    gap: Duration = Field(
        "1m",
        validate_default=True,
        description="least platform time between two probes to one brand on one channel",
    )
    concurrency: int = Field(4, ge=1, le=256, description="requests in flight at once")
    spread: Duration = Field(
        "0",
        validate_default=True,
        description="spread the sends over this span so probes cover the hours of the day "
        "(0: as fast as the gap allows)",
    )


def _url(value: str) -> str:
    if not re.match(r"^https?://[^\s/?#]+[^\s]*$", value):
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    return value


def _reply_path(value: str) -> str:
    text = value.strip()
    if text.startswith("$"):
        from jsonpath_ng.ext import parse

        try:
            parse(text)
        except Exception as exc:  # the parser's own errors, and the lexer's
            raise ValueError(f"{value!r} is not a JSONPath: {exc}") from None
    elif not (text.startswith("{{") and text.endswith("}}")):
        raise ValueError(
            f"{value!r} is neither a JSONPath ($.messages[*].text) nor a Jinja expression "
            "({{ response.messages | map(attribute='text') | list }})"
        )
    else:  # a typo is named here, not by every probe's failure at run time
        import jinja2

        from socialbench.scenarios import templates

        try:
            templates.environment().compile_expression(text[2:-2])
        except jinja2.TemplateSyntaxError as exc:
            raise ValueError(f"{value!r} is not a Jinja expression: {exc.message}") from None
    return text


Url = Annotated[str, AfterValidator(_url)]
ReplyPath = Annotated[str, AfterValidator(_reply_path)]


def secret_problem(env: Mapping[str, str], name: str) -> str | None:
    """What makes the environment variable ``name`` unusable as a credential, never showing
    its value: not set, empty, or holding a character no request header can carry (a space,
    a line end pasted with it...); None when usable."""
    value = env.get(name)
    if not value:
        return f"environment variable {name} is {'empty' if name in env else 'not set'}"
    if not _SECRET_TEXT.fullmatch(value):
        return (
            f"environment variable {name} holds a space, a line end or another character a "
            "credential cannot have (copied with its line end?)"
        )
    return None


_SECRET_TEXT = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no space


class EndpointAuth(_Strict):
    """A credential sent in a header, read from an environment variable (never written)."""

    env: EnvName = Field(description="the NAME of the environment variable holding it")
    header: NonEmpty = Field("Authorization", description="the header it is sent in")
    scheme: str = Field("Bearer", description="written before it ('' for none)")


def _listen(value: str) -> str:
    match = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})", value.strip())
    if match is None or not 1 <= int(match.group(2)) <= 65535:
        raise ValueError(
            f"{value!r} is not HOST:PORT (e.g. 127.0.0.1:5055, 0.0.0.0:5055, [::1]:5055)"
        )
    return value.strip()


def _path(value: str) -> str:
    if not re.fullmatch(r"/[A-Za-z0-9._~/-]*", value):
        raise ValueError(f"{value!r} is not a URL path like /bot (letters, digits, . _ ~ - /)")
    return value.rstrip("/") or "/"


class CallbackToken(_Strict):
    """A secret path segment, read from an environment variable (never written)."""

    env: EnvName = Field(description="the NAME of the environment variable holding it")


class Callback(_Strict):
    """Where a bot that posts its replies back (Rasa's callback channel) reaches the run."""

    listen: Annotated[str, AfterValidator(_listen)] = Field(
        description="HOST:PORT the run's receiver listens on (e.g. 127.0.0.1:5055); endpoints "
        "may share one"
    )
    path: Annotated[str, AfterValidator(_path)] = Field(
        "/bot", description="the path the bot posts to"
    )
    token: CallbackToken | None = Field(
        None,
        description="a secret the bot's URL carries: posts are accepted at PATH/SECRET only "
        "(the bot cannot sign them)",
    )


class Endpoint(_Strict):
    """A brand's chatbot or webchat reached over HTTP (``run --target bots``)."""

    protocol: Literal["http", "rasa", "rasa-callback", "directline"] = Field(
        "http",
        description="http: a JSON endpoint described here; rasa: Rasa's REST channel "
        "(POST {sender, message} -> [{text}...]); rasa-callback: Rasa's callback channel "
        "(POST {sender, message} -> success; the replies are posted later to `callback`); "
        "directline: Bot Framework Direct Line 3.0 (url: the service's base URI, auth: the "
        "Direct Line secret)",
    )
    url: Url = Field(description="where messages are sent (directline: the base URI)")
    method: Literal["POST", "PUT"] = Field("POST", description="http: the request method")
    headers: dict[str, str] = Field(
        default_factory=dict, description="fixed headers (no secrets: use auth)"
    )
    auth: EndpointAuth | None = Field(None, description="a credential header")
    body: Any = Field(
        None,
        description="http: the JSON body; every string in it is a Jinja template with "
        "text, session, probe_id, brand, persona and channel "
        '(default: {"session": "{{ session }}", "text": "{{ text }}"})',
    )
    replies: ReplyPath | None = Field(
        None,
        description="http: where the reply texts are in the response: a JSONPath "
        "($.messages[*].text) or a Jinja expression over `response`",
    )
    session: NonEmpty = Field(
        "{{ probe_id }}", description="the conversation's session id (a Jinja template)"
    )
    automated: bool = Field(True, description="whether the endpoint's replies are automated")
    human: list[Pattern] = Field(
        default_factory=list,
        description="replies matching one of these regular expressions are a human's "
        "(a hand-off), whatever `automated` says",
    )
    timeout: PositiveDuration = Field(
        "30s", validate_default=True, description="how long to wait for an answer"
    )
    callback: Callback | None = Field(
        None,
        validate_default=True,
        description="rasa-callback: where the run receives the bot's replies (the `url` of "
        "Rasa's credentials.yml `callback:` entry)",
    )

    @field_validator("callback")
    @classmethod
    def _callback_for_its_protocol(cls, value: Callback | None, info: ValidationInfo):
        protocol = info.data.get("protocol")
        if protocol == "rasa-callback" and value is None:
            raise ValueError(
                "protocol rasa-callback needs a callback: {listen: HOST:PORT} where the run "
                "receives the bot's replies"
            )
        if value is not None and protocol is not None and protocol != "rasa-callback":
            raise ValueError(f"only protocol rasa-callback takes a callback, not {protocol}")
        return value


class Brand(_Strict):
    """A brand account probed by the suite."""

    id: Id = Field(description="the brand's id in reports")
    name: str | None = Field(None, description="display name (default: the id)")
    handles: dict[Channel, Handle] = Field(
        min_length=1, description="the brand's handle on each channel it is probed on"
    )
    aliases: dict[Channel, list[Handle]] = Field(
        default_factory=dict,
        description="other handles that speak for the brand (e.g. a help account), per channel",
    )
    hours: SupportHours | None = Field(
        None, description="support hours: timezone, weekly intervals, closed dates, holidays"
    )
    endpoints: dict[Channel, Endpoint] = Field(
        default_factory=dict,
        description="per channel, the brand's chatbot or webchat over HTTP (run --target bots)",
    )

    @property
    def display_name(self) -> str:
        return self.name or self.id


class Persona(_Strict):
    """A customer account that sends probes."""

    id: Id = Field(description="the persona's id in reports")
    handles: dict[Channel, Handle] = Field(
        min_length=1, description="the persona's handle on each channel it sends from"
    )
    followers: int | None = Field(None, ge=0, description="the account's follower count")
    credentials: dict[Channel, EnvName] = Field(
        default_factory=dict,
        description="per channel, the NAME of the environment variable holding the token "
        "(needed for live targets only)",
    )


class AnswerKey(_Strict):
    """What resolves the query: a brand message matching any of these."""

    keywords: list[NonEmpty] = Field(
        default_factory=list, description="case-insensitive substrings"
    )
    patterns: list[Pattern] = Field(
        default_factory=list,
        description="regular expressions (RE2 syntax: no backreferences or lookarounds), "
        "case-insensitive",
    )
    link_domain: Annotated[str, AfterValidator(_domain)] | None = Field(
        None, description="a link to this domain or a subdomain"
    )
    example: NonEmpty | None = Field(
        None, description="a reply that satisfies the key (the sandbox brands send it)"
    )


class Expect(_Strict):
    """What the query expects of a brand's answer."""

    reply: Literal["required", "optional"] = Field("required", description="must a brand reply?")
    deadline: PositiveDuration | None = Field(None, description="answer within this time")
    link: Literal["allowed", "forbidden", "required"] = Field(
        "allowed", description="may, must not or must the answer contain a link?"
    )
    dm: Literal["allowed", "forbidden", "required"] = Field(
        "allowed", description="may, must not or must the brand move to private messages?"
    )
    resolution: AnswerKey | None = Field(None, description="the answer key")


class Step(_Strict):
    """One step of a scripted dialogue after the query's text, as a Botium convo has them:
    the customer says something (``me``), or a bot message is waited for (``bot``)."""

    me: NonEmpty | None = Field(
        None, description="what the customer says next (a Jinja template, as the text)"
    )
    bot: Pattern | None = Field(
        None,
        description="wait for a bot message since the customer last spoke that matches this "
        "regular expression (case-insensitive; '.' for any message)",
    )
    within: PositiveDuration = Field(
        "2m", validate_default=True, description="bot: how long to wait for it"
    )

    @pydantic.model_validator(mode="after")
    def _one(self) -> Step:
        if (self.me is None) == (self.bot is None):
            raise ValueError("a step is either `me: TEXT` or `bot: PATTERN`")
        return self


class Query(_Strict):
    """One customer query, expanded into probes."""

    id: Id = Field(description="the query's id (the probe's scenario)")
    category: NonEmpty = Field(description="e.g. delivery, billing, outage")
    channels: list[Channel] = Field(min_length=1, description="channels to send it on")
    surfaces: list[Surface] | None = Field(
        None,
        min_length=1,
        description="public and/or private (default: public, or private on channels "
        "without a public surface)",
    )
    surface: Surface | None = Field(None, description="shorthand for surfaces: [one]")
    brands: list[str] | None = Field(
        None, min_length=1, description="brand ids (default: every brand)"
    )
    personas: list[str] | None = Field(
        None, min_length=1, description="persona ids (default: every persona)"
    )
    text: Texts = Field(
        description="a Jinja template, or a list of variants (each variant its own probes); "
        "variables: brand.id/name/handle, persona.id/handle/followers, query.id/category, "
        "channel, surface and the query's variables",
    )
    variables: dict[str, Values] = Field(
        default_factory=dict,
        description="a matrix: each combination of values gives separate probes",
    )
    expect: Expect = Field(default_factory=Expect, description="what a good answer looks like")
    dialogue: list[Step] = Field(
        default_factory=list,
        description="a scripted dialogue with a brand's bot after the text (run --target "
        "bots and the sandbox's bot channels): bot steps wait for the bot, me steps answer; "
        "a bot step not met in time ends the dialogue",
    )


class Suite(_Strict):
    """A socialbench suite: customer queries replayed against brand accounts."""

    suite: Id = Field(description="the suite's name")
    description: str | None = Field(None, description="free text")
    window: PositiveDuration = Field(
        "7d", validate_default=True, description="how long each probe is watched for answers"
    )
    repetitions: int = Field(
        1, ge=1, le=1000, description="each query, brand, persona and channel sent this often"
    )
    pacing: Pacing = Field(default_factory=Pacing, description="how fast probes are sent")
    brands: list[Brand] = Field(min_length=1, description="the brand accounts probed")
    personas: list[Persona] = Field(min_length=1, description="the customer accounts that send")
    queries: list[Query] = Field(min_length=1, description="the queries sent")
    thresholds: dict[str, Any] = Field(
        default_factory=dict,
        description='targets for run --check and check: METRIC[{tag:value}]: ["AGG OP VALUE"]',
    )

    _path: str | None = PrivateAttr(None)
    _root: Any = PrivateAttr(None)

    @property
    def path(self) -> str:
        """The file the suite was loaded from (or its name when built in code)."""
        return self._path or f"<suite {self.suite}>"

    def line(self, loc: tuple) -> int:
        """The 1-based line of the field at ``loc`` (1 when built in code)."""
        return line_at(self._root, loc)
