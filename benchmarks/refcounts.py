"""Where the compiled kernels count references inside their loops, and multiply in vectors.

Numba counts a reference to an array each time a variable takes it, and drops the count when
the variable dies: an atomic increment and decrement, some 10 ns the pair. Its pruning removes
the pairs it can prove useless, but not those of an inlined helper that reads an array it was
given under a branch or in a loop: called per citizen, such a helper pays them per citizen. A
whole tuple of arrays passed so costs a pair per array. That was most of the cost of an
attempt met (24 counts, some 200 ns) and of an observation (8), 2026-12-04
(docs/performance.md, "Time: reference counts in the visits").

This compiles every kernel afresh (a temporary cache: Numba's cached code cannot be inspected),
runs china-2018 for a few days at a few citizens so that each is compiled, then reads each
kernel's LLVM IR: for every basic block in a cycle of its control flow, the reference counts
taken there (``NRT_incref``) and the calls of other kernels (whose arguments the callee
counts again). A count in a loop is not always one per citizen (a loop over runs or parts
is cheap); read the kernel to see which loop holds it.

It also counts, in each kernel's machine code, the vector multiplies of 32-bit halves
(``vpmuludq``): AVX2 has no instruction for a product of 64-bit integers, and LLVM makes each
of three of them and the shifts between. A draw (``rng.mix64``: two such products) takes six.
A product of two values widened from 32 bits is one (``vpmuldq`` where signed, not counted),
and a product that a pass can step by an addition is none: taking such products out took 6
to 10% off a day on one thread (docs/performance.md, "Time: the products that AVX2 lacks",
2026-12-06). A host with AVX-512 multiplies 64-bit integers in one instruction (``vpmullq``): there
the column counts those.

    .venv/bin/python benchmarks/refcounts.py                 # 20,000 citizens, 31 days
    .venv/bin/python benchmarks/refcounts.py --module stages  # only the stages' kernels
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import tempfile
from collections.abc import Iterator

BLOCK = re.compile(r"^([A-Za-z_.0-9$-]+):")
TARGET = re.compile(r"label %([A-Za-z_.0-9$-]+)")
KERNEL_CALL = re.compile(r"call .*@_ZN\d+panopticon")
VECTOR_PRODUCT = re.compile(r"\bvpmul(?:udq|lq)\b.*%[yz]mm")  # of four or eight lanes
SYMBOL = re.compile(r"@([^\s(]+)\(")  # a defined function's name


def functions(ir: str) -> Iterator[list[str]]:
    """The lines of each function defined in a module's IR."""
    lines: list[str] | None = None
    for line in ir.splitlines():
        if line.startswith("define"):
            lines = [line]
        elif lines is not None:
            lines.append(line)
            if line == "}":
                yield lines
                lines = None


def blocks(lines: list[str]) -> dict[str, dict]:
    """Each basic block's successors, reference counts and calls of other kernels."""
    out = {"entry": {"next": [], "counts": 0, "calls": 0}}
    name = "entry"
    for line in lines[1:]:
        label = BLOCK.match(line)
        if label:
            name = label.group(1)
            out[name] = {"next": [], "counts": 0, "calls": 0}
            continue
        block = out[name]
        block["counts"] += "@NRT_incref" in line
        block["calls"] += bool(KERNEL_CALL.search(line))
        if not line.lstrip().startswith("%"):  # a branch, a switch or its table of labels
            block["next"] += TARGET.findall(line)
    return out


def in_cycles(graph: dict[str, dict]) -> set[str]:
    """The blocks that can reach themselves."""
    looped = set()
    for start in graph:
        seen, stack = set(), list(graph[start]["next"])
        while stack:
            b = stack.pop()
            if b in seen or b not in graph:
                continue
            seen.add(b)
            stack += graph[b]["next"]
        if start in seen:
            looped.add(start)
    return looped


def in_loops(ir: str, name: str) -> tuple[int, int]:
    """(reference counts, kernel calls) in the loops of the function ``name`` of ``ir`` and of
    the bodies of its parallel loops (Numba compiles a ``prange`` body as a function of its
    own, a "parfor gufunc", in the same module). The function is found by its name as Numba
    mangles it (length, name, then "B"), not by any symbol holding it: the module also holds
    copies of the kernels it calls, one of which may be named ``name`` and more."""
    counts = calls = 0
    for lines in functions(ir):
        head = SYMBOL.search(lines[0]).group(1)
        if "cpython" in head or "cfunc" in head or head.startswith("__gufunc__"):
            continue  # the wrappers that Python and the thread pool call
        if f"{len(name)}{name}B" in head or "numba_parfor_gufunc" in head:
            graph = blocks(lines)
            looped = in_cycles(graph)
            counts += sum(graph[b]["counts"] for b in looped)
            calls += sum(graph[b]["calls"] for b in looped)
    return counts, calls


def compile_kernels(n: int, days: int) -> None:
    """china-2018 at ``n`` citizens for ``days`` days: every kernel of a run is compiled."""
    from panopticon.language.scenario import load
    from panopticon.runner.simulation import Simulation
    from panopticon.world.population import represented

    sc = load("china-2018")
    sc = sc.with_changes(**{"population.size": n,
                            "population.scale": represented(sc.population) / n,
                            "end": sc.start + dt.timedelta(days=days - 1)})
    Simulation(sc, threads=1).run()


def vector_products(asm: str) -> int:
    """The multiplies of 32-bit halves (or of 64-bit integers, on AVX-512) in vectors of four
    or eight lanes in machine code ``asm``."""
    return sum(bool(VECTOR_PRODUCT.search(line)) for line in asm.splitlines())


def table(module: str) -> list[tuple[int, int, int, str]]:
    """(counts, calls, vector products, kernel) of every compiled kernel of modules under
    ``module`` (all the package's for ""), with any of the three."""
    from numba.core.registry import CPUDispatcher

    rows, seen = [], set()
    for mod_name, mod in list(sys.modules.items()):
        if not mod_name.startswith(f"panopticon.{module}"):  # not the fused kernels' modules
            continue
        for name, f in vars(mod).items():
            if not isinstance(f, CPUDispatcher) or id(f) in seen:
                continue
            seen.add(id(f))
            for sig in f.signatures:
                counts, calls = in_loops(f.inspect_llvm(sig), name)
                products = vector_products(f.inspect_asm(sig))
                if counts or calls or products:
                    rows.append((counts, calls, products, f"{mod_name}.{name}"))
    return sorted(rows, reverse=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000, help="citizens (default 20,000)")
    parser.add_argument("--days", type=int, default=31,
                        help="days run, enough to reach a reading of ties (default 31)")
    parser.add_argument("--module", default="",
                        help="only kernels of panopticon.MODULE (e.g. stages, world.ties)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="panopticon-refcounts-") as cache:
        os.environ["NUMBA_CACHE_DIR"] = cache  # set before Numba is imported
        compile_kernels(args.n, args.days)
        rows = table(args.module)
    print(f"{'counts':>6} {'calls':>5} {'vmul':>5}  kernel (counts and calls in loops of its "
          "compiled code; vmul: vector multiplies, see above)")
    for counts, calls, products, name in rows:
        print(f"{counts:6d} {calls:5d} {products:5d}  {name}")


if __name__ == "__main__":
    main()
