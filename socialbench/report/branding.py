"""What a consultant puts on a report (``--title``, ``--client``, ``--logo``): read and checked
before a run starts, without the libraries that reading a run's results needs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from socialbench.errors import InputError

LOGO_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "svg": "image/svg+xml"}
MAX_LOGO_BYTES = 1_000_000


@dataclass(frozen=True)
class Branding:
    """What a consultant puts on a report: its title, the client it is for, a logo (a
    ``data:`` URI of a checked PNG, JPEG or SVG image; see ``logo_uri``)."""

    title: str | None = None
    client: str | None = None
    logo: str | None = None


def logo_uri(path: Path) -> str:
    """The image at ``path`` as a ``data:`` URI, or an InputError naming what is wrong.

    PNG and JPEG by their signature; SVG by its root element, and only ever shown through
    ``<img>``, where a browser runs none of its scripts and fetches none of its links. At
    most MAX_LOGO_BYTES.
    """
    import base64

    from socialbench.sources.files import check_readable

    path = Path(path)
    try:
        check_readable(path, max_bytes=MAX_LOGO_BYTES, what="--logo image")  # not a pipe
        content = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"--logo: cannot read: {exc.strerror}") from None
    kind = _image_kind(content)
    if kind is None:
        raise InputError(path, "--logo: not a PNG, JPEG or SVG image")
    return f"data:{LOGO_TYPES[kind]};base64,{base64.b64encode(content).decode('ascii')}"


def _image_kind(content: bytes) -> str | None:
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if content.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    import xml.etree.ElementTree as ET

    try:
        text = content.decode("utf-8-sig")
        if "<!DOCTYPE" in text or "<!ENTITY" in text:
            return None  # entities: refused rather than expanded
        root = ET.fromstring(text)
    except (UnicodeDecodeError, ET.ParseError):
        return None
    return "svg" if root.tag in ("svg", "{http://www.w3.org/2000/svg}svg") else None
