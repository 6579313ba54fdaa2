"""Compile, or load from the cache, every kernel, on tiny inputs.

Loading numba and the compiled code takes about 0.5 s of one core. An archive run starts it
on a second thread (``start``) at once: the twcs reader's kernel first (a twcs file's
reading waits for it, ``sources.twcs_file``), then the others while the file is read and
the main thread imports pandas; they are ready when the run reaches them.
"""

from __future__ import annotations

import importlib
import threading
import time

# each module's warm() calls its kernels once with every argument type the code uses; in
# the order a run needs them
MODULES = ("twcs", "trees", "ids", "segments", "sort", "text", "times", "csv", "groups")


def warm() -> None:
    for name in MODULES:
        importlib.import_module(f"socialbench.kernels.{name}").warm()


def start() -> threading.Thread:
    """Warm every kernel on a daemon thread; callers need not wait (a kernel used before
    then waits for its module's import)."""
    thread = threading.Thread(target=warm, name="kernels", daemon=True)
    thread.start()
    return thread


def main() -> None:
    begin = time.perf_counter()
    warm()
    print(f"kernels ready ({len(MODULES)} modules, {time.perf_counter() - begin:.1f} s)")
