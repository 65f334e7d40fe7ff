"""``benchmarks/refcounts.py``: reference counts found in the loops of compiled code."""

from __future__ import annotations

import pytest

# A kernel whose loop (B1 -> B2 -> B1) counts a reference and calls a kernel, with one more
# count before the loop and one after it.
KERNEL = """
define range(i32 0, 2) i32 @_ZN10panopticon6stages4demo6kernelB2v1(ptr %a) {
entry:
  tail call void @NRT_incref(ptr %a)
  br label %B1

B1:                                               ; preds = %entry, %B2
  tail call void @NRT_incref(ptr %a)
  %.1 = call i32 @_ZN10panopticon6stages4demo6helperB2v1(ptr %a)
  br i1 %c, label %B2, label %B3

B2:                                               ; preds = %B1
  switch i64 %k, label %B1 [
    i64 0, label %B1
  ]

B3:                                               ; preds = %B1
  tail call void @NRT_incref(ptr %a)
  ret i32 0
}
"""
# The body of its parallel loop, with two counts in its loop.
PARFOR = """
define i32 @_ZN13_3cdynamic_3e36__numba_parfor_gufunc_0x1B2v1(ptr %a) {
entry:
  br label %P

P:
  tail call void @NRT_incref(ptr %a)
  tail call void @NRT_incref(ptr %a)
  br i1 %c, label %P, label %E

E:
  ret i32 0
}
"""
# The wrappers that Python and the thread pool call, each with a count in a loop.
WRAPPERS = """
define ptr @_ZN7cpython10panopticon6stages4demo6kernelB2v1(ptr %a) {
entry:
  br label %L

L:
  tail call void @NRT_incref(ptr %a)
  br label %L
}

define void @__gufunc__._ZN13_3cdynamic_3e36__numba_parfor_gufunc_0x1B2v1(ptr %a) {
entry:
  br label %W

W:
  tail call void @NRT_incref(ptr %a)
  br label %W
}
"""


@pytest.fixture
def module(benchmark_module):
    return benchmark_module("refcounts")


def test_only_the_blocks_of_a_cycle_are_counted(module):
    assert module.in_loops(KERNEL + WRAPPERS, "kernel") == (1, 1)


def test_the_bodies_of_parallel_loops_are_counted_with_the_kernel(module):
    assert module.in_loops(WRAPPERS + KERNEL + PARFOR, "kernel") == (3, 1)


def test_the_blocks_of_a_cycle_through_a_switch_are_found(module):
    graph = module.blocks(next(module.functions(KERNEL)))
    assert graph["B2"]["next"] == ["B1", "B1"]
    assert module.in_cycles(graph) == {"B1", "B2"}


def test_the_wrappers_and_a_missing_kernel_count_nothing(module):
    assert module.in_loops(WRAPPERS, "kernel") == (0, 0)
    assert module.in_loops(KERNEL, "absent") == (0, 0)
