"""Unchecked memory access for kernels: loads and stores of one byte or eight, as C does.

numba's indexing turns a negative index into one from the end (two more instructions an
access, and a loop LLVM will not vectorise), and it has no unaligned 8-byte load; these
compile to a single load or store. The caller keeps every access within the array.
Every kernel module takes numba's names from here, so that numba is imported by
``load_numba`` first.
"""

from __future__ import annotations

from socialbench.kernels import load_numba

load_numba()  # before any import from numba (see load_numba)

from llvmlite import ir  # noqa: E402
from numba.core import types  # noqa: E402
from numba.cpython.unsafe.numbers import leading_zeros, trailing_zeros  # noqa: E402, F401
from numba.extending import intrinsic  # noqa: E402


@intrinsic
def load_word(typingctx, array, at):  # pragma: no cover - compiled
    """The 8 bytes of a uint8 array from ``at`` as one little-endian uint64 (unaligned; the
    caller keeps at + 8 within the array)."""

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        word = builder.bitcast(builder.gep(data, [args[1]]), ir.IntType(64).as_pointer())
        return builder.load(word, align=1)

    return types.uint64(array, at), codegen


@intrinsic
def store_word(typingctx, array, at, word):  # pragma: no cover - compiled
    """Store a uint64 as 8 bytes of a uint8 array from ``at`` (unaligned; the caller keeps
    at + 8 within the array)."""

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        word = builder.bitcast(builder.gep(data, [args[1]]), ir.IntType(64).as_pointer())
        builder.store(args[2], word, align=1)
        return context.get_dummy_value()

    return types.void(array, at, word), codegen


@intrinsic
def get(typingctx, array, at):  # pragma: no cover - compiled
    """array[at] for 0 <= at < len(array), unchecked (numba's indexing also turns a
    negative index into one from the end: two more instructions an access)."""

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        return builder.load(builder.gep(data, [args[1]]))

    return array.dtype(array, at), codegen


@intrinsic
def put(typingctx, array, at, value):  # pragma: no cover - compiled
    """array[at] = value for 0 <= at < len(array), unchecked (see ``get``)."""

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        item = context.cast(builder, args[2], signature.args[2], signature.args[0].dtype)
        builder.store(item, builder.gep(data, [args[1]]))
        return context.get_dummy_value()

    return types.void(array, at, value), codegen


@intrinsic
def popcount(typingctx, word):  # pragma: no cover - compiled
    """The number of bits set in a uint64 (one instruction)."""

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen
