"""``benchmarks/refcounts.py``: reference counts found in the loops of compiled code."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).parents[1] / "benchmarks" / "refcounts.py"

# A function whose loop (B1 -> B2 -> B1) counts a reference and calls a kernel, with one more
# count before the loop and one after it; and another function named alike after it.
IR = """
define i32 @_ZN10panopticon6stages4demo6kernelB2v1(ptr %a) {
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

define ptr @_ZN7cpython10panopticon6stages4demo6kernelB2v1(ptr %a) {
entry:
  br label %L

L:
  tail call void @NRT_incref(ptr %a)
  br label %L
}
"""


@pytest.fixture
def module(monkeypatch):
    spec = importlib.util.spec_from_file_location("refcounts_benchmark", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_only_the_blocks_of_a_cycle_are_counted(module):
    assert module.in_loops(IR, "kernel") == (1, 1)


def test_the_blocks_of_a_cycle_through_a_switch_are_found(module):
    graph = module.blocks(next(module.functions(IR)))
    assert graph["B2"]["next"] == ["B1", "B1"]
    assert module.in_cycles(graph) == {"B1", "B2"}


def test_the_python_wrapper_and_a_missing_kernel_count_nothing(module):
    assert module.in_loops(IR, "cpython") == (0, 0)
    assert module.in_loops(IR, "absent") == (0, 0)
