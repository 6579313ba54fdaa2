"""Compiled loops for the archive path, where a one-pass loop replaces many numpy passes.

Vectorised numpy makes a fresh column-sized array at every step, and on a million-row
archive that memory (and the page faults that come with it) costs more than the arithmetic.
The steps here are loops over rows, compiled once by numba to machine code (``jit``), so
they run like C and touch only the memory they return. They are not Python row loops: a
kernel is called once per column, never per row.

Rules for a kernel:

- one module per step, holding the ``@jit`` functions and the thin Python function callers
  use (numpy and Arrow in, numpy or Arrow out); callers never see numba;
- arguments are numpy arrays and scalars only (an Arrow array is passed as its buffers);
- pure: no I/O, no globals written, the same answer as the vectorised definition it
  replaces, which its tests check on random and awkward inputs;
- compiled code is cached beside the module (``cache=True``), so only the first run after
  an install compiles (``python -m socialbench.kernels`` compiles every kernel ahead).

The first kernel module imported loads numba (about 0.2 s, and 0.3 s more for the compiled
code): only the archive path imports one, never ``--help`` or commands that do not analyse
archives. This package itself does not import numba, so ``warm`` can load it on a thread.
"""

from __future__ import annotations

import sys
import threading

_loaded = False
_loading = threading.Lock()  # kernel modules may be imported on several threads at once


def _load_numpy_support() -> None:
    """Load numba's numpy support now, telling it there is no BLAS: it looks for one by
    importing scipy.linalg (0.2 s), and no kernel does linear algebra."""
    name = "scipy.linalg.cython_blas"
    before = sys.modules.get(name)
    sys.modules[name] = None  # an import of it raises ImportError
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        if before is None:
            del sys.modules[name]
        else:
            sys.modules[name] = before


def readonly(values):
    """An array argument as a read-only view (no copy): arrays from pandas and Arrow may be
    read-only, computed ones are not, and numba compiles a kernel once for each kind, so
    kernels take every input as one kind (the one ``warm`` compiles)."""
    import numpy as np

    view = np.asarray(values).view()
    view.flags.writeable = False
    return view


def load_numba() -> None:
    """Import numba, once, whichever thread comes first; the others wait. Kernel modules
    may be imported on several threads at once, and numba imported on two threads at once
    can hand one of them a module it has not finished (``partially initialized module``)."""
    global _loaded
    with _loading:
        if not _loaded:
            import numba  # noqa: F401

            _load_numpy_support()
            _loaded = True


def jit(function):
    """A kernel: compiled without the GIL (callers may run kernels on several threads),
    cached on disk, with bounds checks off as in C (kernels check their own inputs).
    numba is imported by the first kernel module, not by this package (``warm`` is)."""
    load_numba()
    import numba

    return numba.njit(cache=True, nogil=True, boundscheck=False)(function)
