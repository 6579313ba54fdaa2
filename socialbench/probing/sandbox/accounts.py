"""Accounts of the simulated platform: brands (with alias handles) and personas; the brands'
chatbots are registered with them (``bots``) and kept by `directline.Chats`.

User ids and bearer tokens are derived from the seed and the handle (case-insensitive), so
registering the same handle again, or in another sandbox with the same seed, gives the same
id and token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import pydantic
from pydantic import Field, StringConstraints

from socialbench.measure.calendar import SupportHours
from socialbench.probing.sandbox.business import BusinessClock
from socialbench.probing.sandbox.phrases import slug
from socialbench.probing.sandbox.profile import Behaviour, Profile
from socialbench.probing.sandbox.rng import digest, seeded

Handle = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,15}$")]  # X usernames


class BrandIn(pydantic.BaseModel, extra="forbid"):
    """A brand as registered: main handle, alias handles, support hours."""

    id: str = Field(min_length=1)
    name: str
    handle: Handle
    aliases: list[Handle] = []
    hours: SupportHours | None = None


NEUTRAL_FOLLOWERS = 1000  # a persona registered without a follower count has this many


class PersonaIn(pydantic.BaseModel, extra="forbid"):
    """A persona as registered: handle and follower count (None: `NEUTRAL_FOLLOWERS`)."""

    handle: Handle
    followers: int | None = Field(default=None, ge=0)


ChatChannel = Literal["messenger", "whatsapp", "webchat"]
ChatHandle = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class BotIn(pydantic.BaseModel, extra="forbid"):
    """A brand's chatbots as registered: its handle on each chat channel (a bot each, with
    its own Direct Line secret), support hours."""

    id: str = Field(min_length=1)
    name: str
    handles: dict[ChatChannel, ChatHandle] = Field(min_length=1)
    hours: SupportHours | None = None


class AccountsIn(pydantic.BaseModel, extra="forbid"):
    """The body of ``POST /_sandbox/accounts``."""

    brands: list[BrandIn] = []
    personas: list[PersonaIn] = []
    answers: dict[str, str] = {}
    bots: list[BotIn] = []
    keys: dict[str, str] = {}  # probe id -> its stable key, what its course is drawn from


@dataclass(slots=True)
class User:
    """One account. ``brand_id`` is set for a brand's main and alias accounts."""

    id: str
    handle: str
    name: str
    followers: int
    following: int
    token: str
    brand_id: str | None = None


@dataclass(slots=True)
class Brand:
    """A registered brand and the behaviour the profile gives it."""

    id: str
    name: str
    main: User
    aliases: tuple[User, ...]
    behaviour: Behaviour
    business: BusinessClock | None
    slug: str


class Accounts:
    """Users by handle, id and token; brands by id."""

    def __init__(self, *, seed: int, profile: Profile) -> None:
        self.seed = seed
        self.profile = profile
        self.by_handle: dict[str, User] = {}
        self.by_id: dict[str, User] = {}
        self.by_token: dict[str, User] = {}
        self.brands: dict[str, Brand] = {}

    def register(self, request: AccountsIn) -> dict[str, User]:
        """Create or update the request's accounts; handle -> user. ValueError on a conflict."""
        users: dict[str, User] = {}
        for brand in request.brands:
            for user in self._add_brand(brand):
                users[user.handle] = user
        for persona in request.personas:
            followers = NEUTRAL_FOLLOWERS if persona.followers is None else persona.followers
            users[persona.handle] = self._account(
                persona.handle, persona.handle, followers=followers, brand_id=None
            )
        return users

    def _add_brand(self, spec: BrandIn) -> list[User]:
        followers = int(10 ** seeded(self.seed, "followers", spec.id).uniform(4.0, 6.5))
        main = self._account(spec.handle, spec.name, followers=followers, brand_id=spec.id)
        aliases = tuple(
            self._account(alias, spec.name, followers=followers // 10, brand_id=spec.id)
            for alias in spec.aliases
        )
        self.brands[spec.id] = Brand(
            id=spec.id,
            name=spec.name,
            main=main,
            aliases=aliases,
            behaviour=self.profile.behaviour(spec.id, seed=self.seed),
            business=BusinessClock(spec.hours) if spec.hours is not None else None,
            slug=slug(spec.id),
        )
        return [main, *aliases]

    def _account(self, handle: str, name: str, *, followers: int, brand_id: str | None) -> User:
        user = self.by_handle.get(handle.lower())
        if user is not None:
            if user.brand_id != brand_id:
                owner = f"brand {user.brand_id!r}" if user.brand_id else "a persona"
                raise ValueError(f"handle {handle!r} already belongs to {owner}")
            user.name, user.followers = name, followers
            return user
        user = User(
            id=self._new_id(handle),
            handle=handle,
            name=name,
            followers=followers,
            following=seeded(self.seed, "following", handle.lower()).randrange(50, 2000),
            token="sbx-" + digest(self.seed, "token", handle.lower())[:40],
            brand_id=brand_id,
        )
        self.by_handle[handle.lower()] = self.by_id[user.id] = self.by_token[user.token] = user
        return user

    def _new_id(self, handle: str) -> str:
        number = int(digest(self.seed, "user", handle.lower())[:15], 16) % 10**18
        while str(number) in self.by_id or number < 10**6:
            number += 10**6 + 1
        return str(number)

    def brand_of(self, user: User) -> Brand | None:
        return self.brands.get(user.brand_id) if user.brand_id is not None else None

    def user_named(self, handle: str) -> User | None:
        return self.by_handle.get(handle.lstrip("@").lower())
