"""Where many runs run: local threads or processes, or tasks on a Ray cluster.

A study, a calibration and ``run --seeds`` each hand a list of jobs (a picklable argument of a
module-level function) to a backend, which yields the results in the order of the jobs whatever
finished first. Every draw of a run is a function of its scenario and seed, so a study's files do
not depend on the backend, nor on its number of workers.

On Ray each job is one task of one CPU that declares the memory its run is estimated to need
(``runner.cost.estimate``): Ray starts no more runs on a node than its memory holds. A task whose
worker dies (killed, out of memory) is run again by Ray, up to ``RETRIES`` times; an exception
raised by the run itself is not retried (it would raise again). Ray pickles the function by
reference: every node needs the same panopticon installed, which :func:`connect` checks
(docs/cluster.md). Ray is imported only here and only when asked for, so the local backends need
no Ray installed.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol, TypeVar

J = TypeVar("J")
R = TypeVar("R")
RETRIES = 3  # runs of a task whose worker died, after the first
CONNECT_SECONDS = 5.0  # how long an address may take to answer
RAY_EXTRA = "pip install 'panopticon[ray]'"
_pool = threading.local()  # the stop event of the local thread pool running this thread's job


class BackendError(ValueError):
    """A backend that cannot run; the message (one line) says what to change."""


class Backend(Protocol):
    def map(self, run: Callable[[J], R], jobs: Sequence[J], memory: int) -> Iterator[R]:
        """``run(job)`` of every job, in their order; ``memory`` bytes is one run's estimate."""


@dataclass(frozen=True)
class Local:
    """``workers`` runs at once on this machine: threads (the kernels release the GIL) or spawned
    processes (each loads the compiled kernels from the cache); one worker runs in-process."""

    workers: int
    threads: bool = False

    def map(self, run: Callable[[J], R], jobs: Sequence[J], memory: int = 0) -> Iterator[R]:
        if self.workers == 1 or len(jobs) <= 1:
            yield from map(run, jobs)
            return
        stop = threading.Event()
        with self._executor(min(self.workers, len(jobs))) as pool:
            futures = [pool.submit(_in_pool, stop, run, job) if self.threads
                       else pool.submit(run, job) for job in jobs]
            try:
                for future in futures:
                    yield future.result()
            except BaseException:  # Ctrl-C or a failed run: drop the rest, stop the running
                stop.set()
                for future in futures:
                    future.cancel()
                raise

    def _executor(self, workers: int) -> Executor:
        if self.threads:
            return ThreadPoolExecutor(workers)
        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_leave_ctrl_c_to_the_parent)


def _in_pool(stop: threading.Event, run: Callable[[J], R], job: J) -> R:
    _pool.stop = stop
    try:
        return run(job)
    finally:
        _pool.stop = None


def stopping() -> bool:
    """Whether the local thread pool running this job is stopping (Ctrl-C, a failed run): a
    long run checks it between days and gives up. Processes and Ray tasks are stopped from
    outside, so there it is always False."""
    stop = getattr(_pool, "stop", None)
    return stop is not None and stop.is_set()


def _leave_ctrl_c_to_the_parent() -> None:
    """A worker process ignores Ctrl-C, so that the command stops the study (and says how to
    resume) rather than a worker dying mid-run and breaking the pool."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@dataclass(frozen=True)
class Ray:
    """Each run a task on the Ray cluster this process is connected to (:func:`connect`)."""

    def map(self, run: Callable[[J], R], jobs: Sequence[J], memory: int) -> Iterator[R]:
        import ray

        _check_fits(memory)
        task = ray.remote(run).options(num_cpus=1, memory=memory, max_retries=RETRIES)
        refs = [task.remote(job) for job in jobs]
        done = 0
        try:
            for ref in refs:
                result = ray.get(ref)
                done += 1
                yield result
        finally:
            _cancel_unfinished(refs[done:])


def _cancel_unfinished(refs: list) -> None:
    """Cancel the tasks that have not finished (Ctrl-C, a failed run, a caller that stopped
    reading). A finished task is never cancelled: Ray 2.60 aborts the driver when a task's reply
    arrives after a forced cancel ("Tried to complete task that was not pending"), and a task
    that is cancelled without force stops at its next Python line."""
    import ray

    if refs:
        _, pending = ray.wait(refs, num_returns=len(refs), timeout=0)
        for ref in pending:
            ray.cancel(ref)


def _check_fits(memory: int) -> None:
    """A run larger than every node's memory would wait for ever: refuse it at once."""
    import ray

    largest = max((n["Resources"].get("memory", 0) for n in ray.nodes() if n["Alive"]),
                  default=0)
    if memory > largest:
        raise BackendError(f"a run needs about {memory / 2**30:.2f} GiB of memory and the largest"
                           f" Ray node offers {largest / 2**30:.2f} GiB; use fewer citizens or"
                           " larger nodes (docs/cluster.md)")


def connect(address: str | None, workers: int) -> Ray:
    """Join the Ray cluster at ``address`` (host:port of ``ray start --head``, ray://host:port of
    Ray Client, or auto), or start one on this machine with ``workers`` CPUs; a BackendError in
    one line, within seconds, where Ray is not installed or nothing answers at the address."""
    try:
        import ray
    except ImportError:
        raise BackendError(f"--backend ray needs Ray, which is not installed: {RAY_EXTRA}"
                           ) from None
    # without an address or RAY_ADDRESS, a Ray of our own, even beside a head started here
    address = address or os.environ.get("RAY_ADDRESS") or None
    if not ray.is_initialized():
        if address not in (None, "auto"):
            _answers(address)
        try:
            with _stderr_to_null():
                ray.init(address=address or "local", num_cpus=None if address else workers,
                         log_to_driver=False, logging_level="ERROR")
        except Exception as e:  # Ray's errors vary by version: any is a failed connection
            text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise BackendError(f"--address {address}: cannot join a Ray cluster there ({text});"
                               " a cluster with token authentication needs RAY_AUTH_MODE=token"
                               " and its token here (docs/cluster.md)" if address
                               else f"--backend ray: cannot start Ray here ({text})") from None
        _check_same_sources()
    return Ray()


def _check_same_sources() -> None:
    """A worker runs the panopticon installed on its node: refuse, in one line, a cluster whose
    panopticon is missing or differs from this one's (other code, other bytes)."""
    import ray

    from ..kernel_cache import sources_digest

    try:
        there = ray.get(ray.remote(sources_digest).remote())
    except Exception:  # the task could not even import panopticon there
        there = None
    if there != sources_digest():
        raise BackendError("the Ray cluster's workers " + ("cannot import panopticon" if there
                           is None else "run another version of panopticon than this one") +
                           ": install the same one on every node (docs/cluster.md)")


@contextmanager
def _stderr_to_null() -> Iterator[None]:
    """Ray's C++ client writes each retry of a refused connection straight to file descriptor 2,
    past Python's logging: keep them off the terminal, so that a failure is the one line that
    says why."""
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _answers(address: str) -> None:
    """Refuse, within CONNECT_SECONDS, an address that is not host:port or where nothing
    listens (Ray itself would keep trying for a minute or more)."""
    host, colon, port = address.removeprefix("ray://").rpartition(":")
    if not colon or not host or not port.isdigit():
        raise BackendError(f"--address {address}: not host:port (the head's address, e.g."
                           " 10.0.0.5:6379 or ray://10.0.0.5:10001)")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as e:
        raise BackendError(f"--address {address}: nothing answers there"
                           f" ({e.strerror or 'timed out'}); start the head with `ray start"
                           " --head` or give its address") from None


def backend(name: str, address: str | None, workers: int, threads: bool = False) -> Backend:
    """The backend a command's ``--backend``, ``--address`` and workers name."""
    if name == "ray":
        return connect(address, workers)
    if address is not None:
        raise BackendError(f"--address {address}: an address is for --backend ray")
    return Local(workers, threads)
