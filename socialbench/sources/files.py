"""Files a user names (archives, suites, brand books, profiles, thresholds): checked before
they are read, so that each problem is one line naming the file, not an OSError."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from socialbench.errors import InputError

_STAT_PROBLEMS = {
    errno.ENOENT: "no such file",
    errno.ELOOP: "a symbolic link that loops back on itself",
    errno.EACCES: "permission denied",
    errno.ENAMETOOLONG: "the name is too long",
    errno.ENOTDIR: "no such file (a part of its path is a file, not a folder)",
}


def check_readable(path: Path, *, max_bytes: int | None = None, what: str = "file") -> int:
    """Raise InputError unless ``path`` is a non-empty regular file (at most ``max_bytes``
    long, when given) that can be opened; returns its size in bytes."""
    try:
        info = os.stat(path)
    except OSError as exc:
        problem = _STAT_PROBLEMS.get(exc.errno, exc.strerror or "cannot be read")
        if exc.errno == errno.ENOENT and os.path.islink(path):
            problem = "a symbolic link to a missing file"
        raise InputError(path, problem) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(path, "is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(path, "is a pipe or a device, not a file: save it to a file first")
    if info.st_size == 0:
        raise InputError(path, "the file is empty")
    if max_bytes is not None and info.st_size > max_bytes:
        raise InputError(
            path, f"the {what} is {info.st_size:,} bytes, more than the limit of {max_bytes:,}"
        )
    try:
        os.close(os.open(path, os.O_RDONLY))
    except OSError as exc:
        raise InputError(path, exc.strerror or "cannot be read") from None
    return info.st_size
