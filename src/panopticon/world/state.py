"""The stage contract: the arrays of a run by name, each with one owner, and what stages declare.

A stage declares, as class constants, the arrays it ``OWNS`` (it alone writes them), those it
``READS`` (read-only NumPy views: Numba refuses at compile time a kernel that writes one), today's
buffers made by an earlier stage that it ``WRITES`` into, and its ``COUNTERS`` (or, where the
scenario's catalog names them, ``counters(sc)``). It gets a
:class:`View` at build, never another stage: asking the view for an array it did not declare is a
one-line :class:`ContractError` naming the stage and the array.

An owner keeps an array for the whole run (:meth:`View.own`, once: per-citizen arrays) or
publishes a day value anew whenever it changes (:meth:`View.publish`: camera coverage, the
scored group, tables from the scenario; or :class:`Blocks`, a value per citizen made a block
at a time as it is read: a measured score term). Readers read through the view when they use
a value, so they always see the owner's latest.

Today's buffers (:class:`panopticon.world.today.Today`) are declared the same way: each stage sees
its own version of a worker's, with the buffers it reads read-only and those it does not declare
out of reach.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from .engine import RegionRuns, Step
from .pieces import check as check_piece
from .population import Population, Regions
from .tie_tally import BLOCK, TieStore
from .today import WORD, ContractError, Today, Undeclared

if TYPE_CHECKING:
    from ..language.scenario import Scenario

POPULATION = "population"  # the owner of the population's arrays
POPULATION_ARRAYS = ("age", "flags", "adopt")


def read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


class Stage:
    """The contract of a stage of the simulated day; subclasses declare what they touch.

    ``build(sc, seed, view)`` makes the stage and the arrays it owns; ``start_day(day, date,
    sc)`` sets the day's values (``sc``: the scenario's values on that date); each method named
    in ``STEPS`` (one per phase, "" for none) is ``step(lo, hi, acc, today)`` on a chunk, with
    ``acc`` the stage's own counters ``[region, COUNTERS]``; ``end_phase(k)`` follows each
    phase; ``end_day(counts)`` may add to the day's totals of its counters. A step keeps what
    it takes of a chunk for the run in its version of today (:meth:`Today.kept`: views of the
    arrays kept for the run and of the buffers) and takes the day values anew each day
    (:meth:`day_values`).
    """

    NAME: ClassVar[str]
    OWNS: ClassVar[tuple[str, ...]] = ()
    READS: ClassVar[tuple[str, ...]] = ()
    WRITES: ClassVar[tuple[str, ...]] = ()
    COUNTERS: ClassVar[tuple[str, ...]] = ()
    STEPS: ClassVar[tuple[str, ...]] = ("step",)

    values: tuple | None = None  # today's day_values; start_day sets None to gather them anew

    @classmethod
    def counters(cls, sc: Scenario) -> tuple[str, ...]:
        """The stage's counters in a run of ``sc``: its ``COUNTERS``, or those the scenario's
        catalog names (an act's, an attempt's, a sanction's)."""
        return cls.COUNTERS

    def active(self) -> bool:
        """False where the scenario leaves the stage idle: it has built its arrays, and its
        start_day and steps do not run."""
        return True

    def start_day(self, day: int, date: dt.date, sc: Scenario) -> None:
        """Set the day's values before any chunk of the day."""

    def end_phase(self, phase: int) -> None:
        """After phase ``phase`` (from 0) of the day, on every chunk, before the next."""

    def end_day(self, counts: np.ndarray) -> None:
        """Add to the day's totals of this stage's counters, ``[region, COUNTERS]``."""

    def day_values(self) -> tuple:
        """:meth:`gather_day`, once a day, on the day's first chunk: every stage has started
        the day by then, so a later stage's day values are today's too (behaviour reads the
        tables fear makes anew), and reading them through the view per chunk cost a few
        microseconds each."""
        if self.values is None:
            self.values = self.gather_day()
        return self.values

    def gather_day(self) -> tuple:
        """The day values the stage's steps take, its own and other stages'."""
        return ()


class Blocks:
    """A day value of a number per citizen that no array of n holds: its owner makes it a
    block of citizens at a time (``fill(lo, hi, out)``) as its one reader goes through it,
    once (:meth:`read`). A measurement made so costs a block, not a byte or two of every
    citizen on its days (company's term)."""

    def __init__(self, size: int, dtype: type,
                 fill: Callable[[int, int, np.ndarray], None] | None) -> None:
        """``size`` citizens (0: none measured today, and ``fill`` may be None)."""
        self.size, self.dtype, self._fill, self._read = size, np.dtype(dtype), fill, False

    def read(self) -> Iterator[tuple[int, int, np.ndarray]]:
        """Each block in order, ``(lo, hi, values of citizens lo..hi-1)``; the values are
        written over by the next block's."""
        if self._read:
            raise ContractError("a day value made block by block is read once, by its reader")
        self._read = True
        out = np.empty(min(BLOCK, self.size), self.dtype)
        for lo in range(0, self.size, BLOCK):
            hi = min(lo + BLOCK, self.size)
            self._fill(lo, hi, out[:hi - lo])
            yield lo, hi, out[:hi - lo]


@dataclass(eq=False)
class Entry:
    owner: str
    array: np.ndarray | Blocks  # read-only view of the owner's array, or its day's blocks
    per_run: bool  # kept for the run (View.own), not a day value (View.publish)


class State:
    """Every array of a run by name, each with one owner; the population's facts."""

    def __init__(self, pop: Population, seed: int) -> None:
        self.size = pop.size
        self.regions: Regions = pop.regions
        self.starts = pop.starts  # each region's first citizen, and n (population.region_of)
        self.runs = RegionRuns(pop.starts)
        self.ties = TieStore(pop, seed)
        self.owners: dict[str, str] = {}  # declared, for every array and buffer of today
        self.entries: dict[str, Entry] = {}
        self.declared: dict[str, type] = {}
        for name in POPULATION_ARRAYS:
            self.owners[name] = POPULATION
            self.entries[name] = Entry(POPULATION, read_only(getattr(pop, name)), True)

    def view(self, user: type) -> View:
        """The view of a stage or observer class; records its declarations, one owner each."""
        name = user.NAME
        if name in self.declared:
            raise ContractError(f"two users of the state are named '{name}'")
        for array in getattr(user, "OWNS", ()):
            if array in self.owners:
                raise ContractError(f"'{array}' is owned by both '{self.owners[array]}' and "
                                    f"'{name}'")
            if array.startswith("_") or array in View.KEPT or hasattr(View, array):
                raise ContractError(f"stage '{name}' owns '{array}', a name a view keeps")
            self.owners[array] = name
        self.declared[name] = user
        return View(self, name, getattr(user, "OWNS", ()), user.READS, getattr(user, "WRITES", ()))

    def read(self, name: str, reader: str = "the runner") -> np.ndarray | Blocks:
        """A read-only view of array ``name`` as its owner last made it (or its day's
        :class:`Blocks`)."""
        entry = self.entries.get(name)
        if entry is None:
            owner = self.owners.get(name)
            raise ContractError(f"'{reader}' reads '{name}', which " + (
                "no stage owns" if owner is None else f"its owner '{owner}' has not made yet"))
        return entry.array

    def bytes_per_citizen(self) -> float:
        """Bytes of the arrays kept for the run with one entry per citizen, or rows of a bit per
        citizen (``today.mark``'s layout), per citizen (an array that every citizen reads the
        same element of holds none)."""
        words = -(-self.size // WORD)
        arrays = {id(e.array.base): e.array for e in self.entries.values()
                  if e.per_run and ((e.array.shape[:1] == (self.size,) and e.array.strides[0])
                                    or (e.array.dtype == np.uint64
                                        and e.array.shape[-1:] == (words,)))}
        return sum(a.nbytes for a in arrays.values()) / max(self.size, 1)

    def check(self) -> None:
        """Every array read or written is owned by someone; today's buffers are written only
        after their owner made them (the order of the declared users)."""
        made: set[str] = set(POPULATION_ARRAYS)
        for name, user in self.declared.items():
            for array in (*user.READS, *getattr(user, "WRITES", ())):
                if array not in self.owners:
                    raise ContractError(f"stage '{name}' reads '{array}', which no stage owns")
            for array in getattr(user, "WRITES", ()):
                if array not in Today.BUFFERS or array not in made:
                    raise ContractError(f"stage '{name}' writes '{array}', which is not a buffer "
                                        "of today made by an earlier stage")
            made.update(getattr(user, "OWNS", ()))

    def _put(self, owner: str, name: str, array: np.ndarray | Blocks, per_run: bool) -> None:
        if self.owners.get(name) != owner:
            raise ContractError(f"stage '{owner}' makes '{name}', which is not in its OWNS")
        if name in self.entries and self.entries[name].per_run:
            raise ContractError(f"stage '{owner}' makes '{name}' again: it is kept for the run")
        if name in Today.BUFFERS:
            raise ContractError(f"stage '{owner}' makes '{name}' in the state: it is today's")
        self.entries[name] = Entry(owner, array if isinstance(array, Blocks)
                                   else read_only(array), per_run)


class View:
    """A stage's access to the state: read-only views of the arrays it declares in READS (as
    attributes), :meth:`own` and :meth:`publish` for those in its OWNS, its version of today's
    buffers, and the population's facts (size, regions, each region's first citizen, runs of
    regions, stored ties)."""

    KEPT = frozenset({"stage", "size", "regions", "starts", "runs", "ties"})  # not arrays

    def __init__(self, state: State, stage: str, owns: tuple[str, ...], reads: tuple[str, ...],
                 writes: tuple[str, ...]) -> None:
        self._state = state
        self.stage = stage
        self.size, self.regions, self.starts, self.runs, self.ties = (
            state.size, state.regions, state.starts, state.runs, state.ties)
        self._reads = frozenset(reads)
        self._writable = frozenset(owns) | frozenset(writes)

    def __getattr__(self, name: str) -> np.ndarray:
        """An array the stage reads; one kept for the run is then an attribute of the view
        (found without this call, for kernels called per chunk)."""
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._reads:
            raise ContractError(f"stage '{self.stage}' reads '{name}', which is not in its READS")
        array = self._state.read(name, self.stage)
        if self._state.entries[name].per_run:
            setattr(self, name, array)
        return array

    def own(self, name: str, array: np.ndarray) -> np.ndarray:
        """Keep ``array`` for the run as ``name``; returns it, writable (its owner's)."""
        self._state._put(self.stage, name, array, per_run=True)
        return array

    def publish(self, name: str, value: np.ndarray | Blocks) -> None:
        """Make ``value`` the day value ``name`` until the next publish."""
        if not isinstance(value, Blocks):
            value = np.asarray(value)
        self._state._put(self.stage, name, value, per_run=False)

    def today(self, today: Today) -> Today:
        """The stage's version of a worker's buffers: those it reads read-only, the others it
        does not declare out of reach; made once per worker."""
        mine = today.seen.get(self.stage)
        if mine is None:
            mine = today.seen[self.stage] = Today(**{
                f.name: self._buffer(f.name, getattr(today, f.name))
                for f in fields(Today) if f.name not in ("seen", "chunks")})
        return mine

    def _buffer(self, name: str, buffer: np.ndarray) -> np.ndarray | Undeclared:
        if name not in Today.BUFFERS or name in self._writable:
            return buffer
        if name in self._reads:
            return read_only(buffer)
        return Undeclared(self.stage, name)


Keep = Callable[[object, int, object], None]


def kernel_step(kernel: Callable, keep: Keep | None = None, spans: bool = False,
                pieces: tuple | None = None,
                cost: Callable[[Stage], float] | None = None) -> Callable:
    """A stage's step that is one call of ``kernel``: the method decorated gives the kernel's
    arguments on chunk lo..hi, and ``keep(stage, lo, result)`` takes what the kernel returned
    for the citizens from lo. Called, the step calls the kernel; the engine may call the
    kernels of consecutive such steps in one call instead (:mod:`panopticon.world.fused`),
    with the same results.

    ``spans``: the step takes any run of whole consecutive chunks as well as one (its kernel
    goes through it a chunk's length at a time, with today's buffers), so that a phase of such
    steps is one call per worker, not one per chunk (``Engine.run_phase``).

    ``pieces``: how each of the kernel's arguments, made on a run of chunks, is cut into a
    chunk's (:mod:`panopticon.world.pieces`), so that consecutive steps with pieces run on a
    worker's run of chunks in one call, a piece at a time (``fused.Fused``).

    ``cost``: a function of the stage giving the step's work a citizen as a share of phase
    1's (1 where not given), so that a light phase takes fewer workers (``Engine.run_phase``):
    each one it wakes costs a hand-off that a few citizens' work does not repay."""
    for kind in pieces or ():
        check_piece(kind)

    def make(arguments: Callable[..., tuple]) -> Callable[..., None]:
        @functools.wraps(arguments)
        def step(self, lo: int, hi: int, acc: np.ndarray, today: Today) -> None:
            result = kernel(*arguments(self, lo, hi, acc, today))
            if keep is not None:
                keep(self, lo, result)

        step.kernel, step.arguments, step.keep, step.spans = kernel, arguments, keep, spans
        step.pieces, step.cost = pieces, cost
        return step

    return make


class Bound:
    """A step as the engine calls it on a worker's chunk: given the stage's own columns of the
    worker's counters (``span``) and its version of today's buffers (``view``). A kernel step's
    (:func:`kernel_step`) has its ``kernel``, ``arguments``, ``keep`` (None where it keeps
    nothing) and ``pieces`` for the engine to call apart."""

    def __init__(self, step: Step, view: View, span: slice) -> None:
        self.step, self.view, self.span = step, view, span

    def _declared(self, name: str, default: object = None) -> object:
        return getattr(getattr(self.step, "__func__", None), name, default)

    @property
    def kernel(self) -> Callable | None:
        return self._declared("kernel")

    @property
    def spans(self) -> bool:
        return self._declared("spans", False)

    @property
    def pieces(self) -> tuple | None:
        return self._declared("pieces")

    @property
    def cost(self) -> float:
        """The step's work a citizen as a share of phase 1's (``kernel_step``'s ``cost``)."""
        cost = self._declared("cost")
        return 1.0 if cost is None else cost(self.step.__self__)

    @property
    def keep(self) -> Callable[[int, object], None] | None:
        keep = self._declared("keep")
        return None if keep is None else functools.partial(keep, self.step.__self__)

    def __call__(self, lo: int, hi: int, acc: np.ndarray, today: Today) -> None:
        self.step(lo, hi, acc[:, self.span], self.view.today(today))

    def arguments(self, lo: int, hi: int, acc: np.ndarray, today: Today) -> tuple:
        step = self.step
        return step.__func__.arguments(step.__self__, lo, hi, acc[:, self.span],
                                       self.view.today(today))
