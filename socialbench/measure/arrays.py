"""numpy and Arrow arrays converted through their buffers, so that a run that needs no pandas
does not import it.

pyarrow imports pandas (about 0.4 s of start-up, on one core) the first time it converts
Python or numpy values (``pa.array``, ``pa.scalar``, a compute function given a Python value,
``take`` or ``filter`` given a numpy array) or copies an array into numpy
(``to_numpy(zero_copy_only=False)``, which every boolean array needs: Arrow packs them in
bits). An archive run's path (text rules, summary, ``probes.csv``) converts with these
functions instead; pandas is imported only where a frame is made.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def arrow(values: np.ndarray) -> pa.Array:
    """A 1-D numpy array of booleans or numbers as an Arrow array without nulls."""
    values = np.ascontiguousarray(values)
    if values.dtype == np.bool_:
        bits = np.packbits(values, bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])
    kind = pa.from_numpy_dtype(values.dtype)
    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(values)])


def scalar(value: bool | int | float | str, kind: pa.DataType) -> pa.Scalar:
    """``value`` as an Arrow scalar of type ``kind`` (boolean, numeric or string)."""
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        data = str(value).encode()
        width = np.int64 if pa.types.is_large_string(kind) else np.int32
        offsets = pa.py_buffer(np.array([0, len(data)], dtype=width))
        return pa.Array.from_buffers(kind, 1, [None, offsets, pa.py_buffer(data)])[0]
    return arrow(np.array([value], dtype=kind.to_pandas_dtype()))[0]


def bools(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean Arrow array as numpy booleans, null as false."""
    if isinstance(array, pa.ChunkedArray):
        parts = [bools(chunk) for chunk in array.chunks]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)
    n, offset = len(array), array.offset
    validity, data = array.buffers()
    if data is None:  # an empty array may come without buffers
        return np.zeros(n, dtype=bool)
    out = _bits(data, offset, n)
    if validity is not None and array.null_count:
        out &= _bits(validity, offset, n)
    return out


def floats(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A numeric Arrow array as numpy float64, null as NaN."""
    if isinstance(array, pa.ChunkedArray):
        parts = [floats(chunk) for chunk in array.chunks]
        return np.concatenate(parts) if parts else np.zeros(0)
    array = array.cast(pa.float64())
    n, offset = len(array), array.offset
    validity, data = array.buffers()
    if data is None:
        return np.full(n, np.nan)
    out = np.frombuffer(data, dtype=np.float64, count=offset + n)[offset:].copy()
    if validity is not None and array.null_count:
        out[~_bits(validity, offset, n)] = np.nan
    return out


def _bits(buffer: pa.Buffer, offset: int, n: int) -> np.ndarray:
    packed = np.frombuffer(buffer, dtype=np.uint8)
    return np.unpackbits(packed, count=offset + n, bitorder="little")[offset:].astype(bool)
