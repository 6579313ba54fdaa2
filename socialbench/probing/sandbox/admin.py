"""The admin token of the sandbox's own routes (``/_sandbox/...``: accounts and their bearer
tokens, the clock, the ground truth).

The token is the value of the environment variable `ADMIN_TOKEN_ENV`, sent as
``Authorization: Bearer TOKEN``. With it set, every /_sandbox route needs it (401 without a
bearer credential, 403 with another); without it they are open, which only loopback allows:
`require_for` refuses to serve on any other interface without one. The token itself is never
written anywhere (logs, errors, files).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping

from socialbench.errors import UsageError

ADMIN_TOKEN_ENV = "SB_SANDBOX_ADMIN_TOKEN"


def token_from(environ: Mapping[str, str]) -> str | None:
    """The admin token set in ``environ`` (None when unset or blank)."""
    value = environ.get(ADMIN_TOKEN_ENV, "").strip()
    return value or None


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback interface: ``localhost``, 127.0.0.0/8 or ::1."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name: it may resolve anywhere


def require_for(host: str, token: str | None) -> None:
    """UsageError when serving on ``host`` would open the admin routes beyond loopback."""
    if token is None and not is_loopback(host):
        raise UsageError(
            f"--host {host}: the sandbox hands out its accounts' tokens on /_sandbox; beyond "
            f"loopback set {ADMIN_TOKEN_ENV} to a secret its clients send as a bearer token"
        )


def check(token: str | None, authorization: str) -> int | None:
    """The error status of a request to an admin route with this Authorization header:
    None when allowed (no token set, or the right one sent), 401 without a bearer
    credential, 403 with a wrong one."""
    if token is None:
        return None
    scheme, _, sent = authorization.partition(" ")
    sent = sent.strip()
    if scheme.lower() != "bearer" or not sent:
        return 401
    return None if hmac.compare_digest(sent.encode(), token.encode()) else 403


def headers(environ: Mapping[str, str]) -> dict[str, str]:
    """The headers a client of the admin routes sends: the token when one is set."""
    token = token_from(environ)
    return {"Authorization": f"Bearer {token}"} if token is not None else {}
