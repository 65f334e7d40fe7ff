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


def looped(symbol: str, counts: int) -> str:
    """A function ``symbol`` whose one loop counts ``counts`` references."""
    increfs = "".join("  tail call void @NRT_incref(ptr %a)\n" for _ in range(counts))
    return (f"\ndefine i32 @{symbol}(ptr %a) {{\nentry:\n  br label %L\n\nL:\n{increfs}"
            "  br i1 %c, label %L, label %E\n\nE:\n  ret i32 0\n}\n")


PARFOR_BODY = "_ZN13_3cdynamic_3e36__numba_parfor_gufunc_0x1B2v1"
# The body of its parallel loop, with two counts in its loop.
PARFOR = looped(PARFOR_BODY, 2)
# The wrappers that Python and the thread pool call, each with a count in a loop.
WRAPPERS = (looped("_ZN7cpython10panopticon6stages4demo6kernelB2v1", 1)
            + looped(f"__gufunc__.{PARFOR_BODY}", 1))
# A copy of another kernel that it calls, whose name begins with the kernel's.
CALLEE = looped("_ZN10panopticon6stages4demo13kernel_helperB2v1", 1)


@pytest.fixture
def module(benchmark_module):
    return benchmark_module("refcounts")


def test_only_the_blocks_of_a_cycle_are_counted(module):
    assert module.in_loops(KERNEL + WRAPPERS, "kernel") == (1, 1)


def test_a_callee_named_like_the_kernel_is_not_counted_with_it(module):
    assert module.in_loops(KERNEL + CALLEE, "kernel") == (1, 1)
    assert module.in_loops(KERNEL + CALLEE, "kernel_helper") == (1, 0)


def test_the_bodies_of_parallel_loops_are_counted_with_the_kernel(module):
    assert module.in_loops(WRAPPERS + KERNEL + PARFOR, "kernel") == (3, 1)


def test_the_blocks_of_a_cycle_through_a_switch_are_found(module):
    graph = module.blocks(next(module.functions(KERNEL)))
    assert graph["B2"]["next"] == ["B1", "B1"]
    assert module.in_cycles(graph) == {"B1", "B2"}


def test_the_wrappers_and_a_missing_kernel_count_nothing(module):
    assert module.in_loops(WRAPPERS, "kernel") == (0, 0)
    assert module.in_loops(KERNEL, "absent") == (0, 0)


# Machine code of a loop: a 64-bit product as AVX2 makes it (three multiplies of 32-bit halves
# in vectors of four lanes), one of eight lanes on AVX-512, a product widened from 32 bits
# (signed: not of halves), and a multiply of two lanes and a scalar one (not a pass's vectors).
ASM = """
.LBB0_4:
	vpmuludq	%ymm1, %ymm9, %ymm11
	vpmuludq	%ymm3, %ymm9, %ymm9
	vpsllq	$32, %ymm9, %ymm9
	vpmuludq	%ymm2, %ymm12, %ymm12
	vpmullq	%zmm1, %zmm2, %zmm3
	vpmuldq	%ymm0, %ymm9, %ymm9
	vpmuludq	%xmm1, %xmm2, %xmm3
	imulq	%rax, %rbx
"""


def test_vector_products_are_the_multiplies_of_four_or_eight_lanes(module):
    assert module.vector_products(ASM) == 4
    assert module.vector_products("") == 0
