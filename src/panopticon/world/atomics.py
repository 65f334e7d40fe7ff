"""Indivisible updates of an array's element, for workers that may update the same one at once.

LLVM's ``atomicrmw``: two workers adding to one count, or setting or clearing bits of one word
of a bit array, each see the other's update. Integer sums wrap alike in any order, and bits
set or cleared (each worker its own) end alike in any order, so what the workers leave does
not depend on their order. ``cmpxchg`` where a worker must see what it changes before it writes
(``atomic_cas``: a count in half a byte that must not carry into its neighbour's).
"""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


def _integers(array, index, value) -> bool:
    return (isinstance(array, types.Array) and isinstance(array.dtype, types.Integer)
            and isinstance(index, types.Integer) and isinstance(value, types.Integer))


def _element(context, builder, sig, args):
    """The pointer to ``array[index]`` (the first two arguments) and a cast of each further
    argument to the array's type."""
    ary_type, index_type = sig.args[0], sig.args[1]
    ary = context.make_array(ary_type)(context, builder, args[0])
    at = context.cast(builder, args[1], index_type, types.intp)
    values = [context.cast(builder, v, t, ary_type.dtype) for v, t in zip(args[2:], sig.args[2:])]
    return cgutils.get_item_pointer(context, builder, ary_type, ary, [at]), values


def _update(op: str):
    """The code of ``array[index] = array[index] <op> value`` in one indivisible step."""
    def codegen(context, builder, sig, args):
        ptr, (value,) = _element(context, builder, sig, args)
        builder.atomic_rmw(op, ptr, value, "monotonic")
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


@intrinsic
def atomic_cas(typingctx, array, index, expected, new):
    """``array[index] = new`` where it still holds ``expected``, in one indivisible step;
    returns what it held (``expected`` where the exchange took place)."""
    if not (_integers(array, index, expected) and isinstance(new, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        ptr, (old, new_value) = _element(context, builder, sig, args)
        pair = builder.cmpxchg(ptr, old, new_value, "monotonic", "monotonic")
        return builder.extract_value(pair, 0)

    return array.dtype(array, index, expected, new), codegen
