"""The brand book: which handles speak for which brand, and each brand's support hours.

Loaded from ``--brands FILE`` (YAML)::

    brands:
      - name: Acme
        handles: ["@AcmeHelp", "Acme"]     # alias handles merged into one brand
        hours:                             # optional: the business clock
          timezone: Europe/London
          weekly: {mon: ["09:00-17:00"], tue: ["09:00-17:00"]}
          closed: [2024-12-24]
          holidays: GB

Handles match case-insensitively, with or without the leading ``@``. Without a brand book,
each brand account is its own brand, on the calendar clock, in UTC.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from socialbench.measure.calendar import SupportHours
from socialbench.yamlfile import load_model


class Brand(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    handles: list[str] = Field(default_factory=list)
    hours: SupportHours | None = None

    @field_validator("handles")
    @classmethod
    def _clean(cls, handles: list[str]) -> list[str]:
        cleaned = [h.strip().lstrip("@") for h in handles]
        if any(not h for h in cleaned):
            raise ValueError("a handle is empty")
        return cleaned


class BrandBook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    brands: list[Brand] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> BrandBook:
        seen: dict[str, str] = {}
        for brand in self.brands:
            for handle in [brand.name, *brand.handles]:
                other = seen.setdefault(handle.lower(), brand.name)
                if other != brand.name:
                    raise ValueError(
                        f"handle {handle!r} belongs to both {other!r} and {brand.name!r}"
                    )
        return self

    def alias_map(self) -> dict[str, str]:
        """Lower-cased handle (and brand name) -> brand name."""
        out = {}
        for brand in self.brands:
            for handle in [brand.name, *brand.handles]:
                out[handle.lower()] = brand.name
        return out

    def handles(self) -> frozenset[str]:
        """Every lower-cased handle that speaks for some brand."""
        return frozenset(h.lower() for b in self.brands for h in b.handles)

    def hours(self) -> dict[str, SupportHours]:
        """Brand name -> support hours, for brands that have them."""
        return {b.name: b.hours for b in self.brands if b.hours is not None}


def load(path: Path | None) -> BrandBook:
    """The brand book in ``path``, or an empty one."""
    if path is None:
        return BrandBook()
    return load_model(path, BrandBook)
