"""Indivisible updates of an array's element, for workers that may update the same one at once.

LLVM's ``atomicrmw``: two workers adding to one count, or setting or clearing bits of one word
of a bit array, each see the other's update. Integer sums wrap alike in any order, and bits
set or cleared (each worker its own) end alike in any order, so what the workers leave does
not depend on their order.
"""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


def _integers(array, index, value) -> bool:
    return (isinstance(array, types.Array) and isinstance(array.dtype, types.Integer)
            and isinstance(index, types.Integer) and isinstance(value, types.Integer))


def _update(op: str):
    """The code of ``array[index] = array[index] <op> value`` in one indivisible step."""
    def codegen(context, builder, sig, args):
        ary_type, index_type, value_type = sig.args
        ary = context.make_array(ary_type)(context, builder, args[0])
        at = context.cast(builder, args[1], index_type, types.intp)
        ptr = cgutils.get_item_pointer(context, builder, ary_type, ary, [at])
        builder.atomic_rmw(op, ptr, context.cast(builder, args[2], value_type, ary_type.dtype),
                           "monotonic")
        return context.get_dummy_value()

    return codegen


@intrinsic
def atomic_add(typingctx, array, index, value):
    """``array[index] += value`` in one indivisible step."""
    if not _integers(array, index, value):
        return None
    return types.none(array, index, value), _update("add")


@intrinsic
def atomic_or(typingctx, array, index, value):
    """``array[index] |= value`` in one indivisible step."""
    if not _integers(array, index, value):
        return None
    return types.none(array, index, value), _update("or")


@intrinsic
def atomic_and(typingctx, array, index, value):
    """``array[index] &= value`` in one indivisible step."""
    if not _integers(array, index, value):
        return None
    return types.none(array, index, value), _update("and")
