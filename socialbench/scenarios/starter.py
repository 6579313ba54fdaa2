"""The commented starter suite ``socialbench init`` writes."""

from __future__ import annotations

from pathlib import Path

from socialbench.errors import ConfigError, writing

STARTER = """\
# A socialbench suite: customer queries replayed against brand accounts.
# Check it with `socialbench validate suite.yaml`; editors can validate it against the schema
# printed by `socialbench schema`. Durations: 90s, 45m, 4h, 7d, 1h30m.

suite: starter                  # the suite's name: lower case letters, digits, _ and -
description: Two brands, two personas, one public and one private query.
window: 24h                     # how long each probe is watched for answers
repetitions: 1                  # each query, brand, persona and channel sent this often

pacing:
  gap: 2m                       # least time between two probes to one brand on one channel
  concurrency: 4                # requests in flight at once
  spread: 0                     # e.g. 24h to spread the sends over the hours of a day

# The brand accounts probed. Channels: x, facebook, instagram, messenger, whatsapp, webchat.
brands:
  - id: acme
    name: Acme Air
    handles: {x: AcmeAir}
    aliases: {x: [AcmeAirHelp]}   # other accounts that answer for the brand
    hours:                        # support hours: response times also on the business clock
      timezone: Europe/London
      weekly:
        mon: ["09:00-17:00"]
        tue: ["09:00-17:00"]
        wed: ["09:00-17:00"]
        thu: ["09:00-17:00"]
        fri: ["09:00-17:00"]
      holidays: GB                # public holidays of a country or subdivision (US-CA)
  - id: northrail
    name: North Rail
    handles: {x: NorthRail}
    hours:
      timezone: America/New_York
      weekly: {mon: ["08:00-20:00"], tue: ["08:00-20:00"], wed: ["08:00-20:00"],
               thu: ["08:00-20:00"], fri: ["08:00-20:00"], sat: ["10:00-16:00"]}

# The customer accounts that send. `credentials` names the environment variable holding each
# channel's token (never the token itself); they are needed for live targets only.
personas:
  - id: casual
    handles: {x: jo_sample}
    followers: 250
    credentials: {x: SB_X_TOKEN_CASUAL}
  - id: influencer
    handles: {x: sam_sample}
    followers: 25000
    credentials: {x: SB_X_TOKEN_INFLUENCER}

# The queries. `text` is a Jinja template (or a list of variants, each its own probes) with
# brand.id/name/handle, persona.id/handle/followers, query.id/category, channel, surface and
# the query's `variables` (every combination of values gives separate probes). A public post
# on x that does not mention the brand gets "@handle " put in front.
queries:
  - id: late-delivery
    category: delivery
    channels: [x]
    surface: public
    text: "@{{ brand.handle }} my order {{ order }} hasn't arrived yet, can you help?"
    variables:
      order: ["#1042", "#2187"]
    expect:
      reply: required             # required | optional
      deadline: 4h
      link: allowed               # allowed | forbidden | required
      dm: allowed
      resolution:                 # the answer key: any of these resolves the query
        keywords: [tracking number, on its way]
        example: "Sorry about the wait! Your parcel is on its way, tracking number sent by DM."
  - id: double-charge
    category: billing
    channels: [x]
    surface: private
    brands: [acme]                # default: every brand
    text: "Hi {{ brand.name }}, I was charged twice for booking {{ booking }}. Please refund."
    variables:
      booking: [AB12CD]
    expect:
      deadline: 24h
      link: forbidden
      resolution:
        patterns: ["refund(ed)?"]
        example: "We're sorry! We have refunded the duplicate charge."

# Targets for `socialbench run --check` and `socialbench check` (exit code 1 when one fails):
# METRIC[{tag:value,...}]: ["AGGREGATE OP VALUE", ...]; see the README's "CI checks".
thresholds:
  probes: ["count >= 5"]          # never pass on an almost empty run
  response_rate: ["rate >= 50%"]
  ttfr:                            # judged on --min-group answers (10) or more; fewer: a warning
    - {threshold: "p(90) < 24h", on_no_data: warn}
  ttfr{category:delivery}:
    - {threshold: "med < 4h", severity: warn}   # reported, never fails the run
"""


def write_starter(directory: Path) -> Path:
    """Write the starter suite to ``directory/suite.yaml``; never overwrite a file."""
    path = Path(directory) / "suite.yaml"
    if path.exists():
        raise ConfigError(f"{path}: already exists; not overwriting it")
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(STARTER, encoding="utf-8")
    return path
