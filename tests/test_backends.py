"""Backends: results in the jobs' order, the same files locally and on Ray, one line for a Ray that
is missing or does not answer, and a task whose worker dies is run again.

The Ray tests share one Ray session (several seconds to start): on this machine with 2 CPUs, or
the cluster at PANOPTICON_RAY_ADDRESS. They are skipped where Ray is not installed. The test marked
``ray_cluster`` runs the command line against that address in a fresh process (CI starts a head
with ``ray start --head`` for it, see .ci/run).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_sensitivity import OUTPUTS, SIZES, TINY, one_line_error, study
from typer.testing import CliRunner

from panopticon.cli import app
from panopticon.runner import backends
from panopticon.runner.backends import BackendError, Local

runner = CliRunner()
ADDRESS = os.environ.get("PANOPTICON_RAY_ADDRESS")
STUDY_FILES = ("samples.parquet", "outputs.parquet", "morris.parquet", "sobol.parquet",
               "spread.parquet", "indices.json", "summary.md", "summary.html")
SMALL_RUN = ["--population", "1000", "--end", "2014-03-31", "--quiet", "--no-report"]


def square(x: int) -> int:
    time.sleep(0.01 * (5 - x))  # the first jobs finish last
    return x * x


@pytest.mark.parametrize("backend", [Local(1), Local(3, threads=True), Local(2)])
def test_a_local_backend_gives_results_in_the_jobs_order(backend):
    assert list(backend.map(square, list(range(5)), 0)) == [0, 1, 4, 9, 16]


def test_a_failed_run_stops_the_others_in_a_thread_pool():
    """The run still going sees ``stopping()`` and gives up, rather than running to its end."""
    gave_up = threading.Event()

    def job(i: int) -> int:
        if i == 0:
            time.sleep(0.05)
            raise ValueError("run 0 failed")
        for _ in range(2000):  # at most 20 s
            if backends.stopping():
                gave_up.set()
                return -1
            time.sleep(0.01)
        return i

    with pytest.raises(ValueError, match="run 0 failed"):
        list(Local(2, threads=True).map(job, [0, 1], 0))
    assert gave_up.is_set() and not backends.stopping()


def test_ray_not_installed_is_one_line_saying_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(BackendError, match=r"pip install 'panopticon\[ray\]'"):
        backends.backend("ray", None, 2)
    (tmp_path / "tiny.toml").write_text(TINY)
    line = one_line_error(study(tmp_path / "tiny.toml", "out", "--backend", "ray", code=2))
    assert "needs Ray, which is not installed" in line
    assert not (tmp_path / "out").exists()


def test_an_address_is_for_ray(tmp_path):
    with pytest.raises(BackendError, match="an address is for --backend ray"):
        backends.backend("local", "10.0.0.5:6379", 2)


def test_an_address_that_is_not_host_and_port_is_refused():
    with pytest.raises(BackendError, match="not host:port"):
        backends._answers("headnode")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_address_where_nothing_answers_is_one_line_within_seconds(tmp_path):
    pytest.importorskip("ray")
    (tmp_path / "tiny.toml").write_text(TINY)
    began = time.monotonic()
    out = study(tmp_path / "tiny.toml", "out", "--backend", "ray", "--address",
                f"127.0.0.1:{closed_port()}", code=2)
    assert "nothing answers there" in one_line_error(out)
    assert time.monotonic() - began < 30  # not Ray's minute of retries


@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip("ray")
    backends.connect(ADDRESS, 2)
    yield ray
    ray.shutdown()


def test_a_ray_task_whose_worker_dies_is_run_again(ray_session, tmp_path):
    marker = tmp_path / "died-once"

    def die_once(x: int) -> int:  # a local function: Ray ships it by value
        if x == 1 and not marker.exists():
            marker.touch()
            os._exit(1)  # the worker process dies mid-run, as when killed
        return x * 10

    assert list(backends.Ray().map(die_once, [0, 1, 2], 1 << 20)) == [0, 10, 20]
    assert marker.exists()


def test_a_run_larger_than_every_node_is_refused_at_once(ray_session):
    with pytest.raises(BackendError, match="the largest Ray node offers"):
        list(backends.Ray().map(square, [1], 1 << 50))


def test_a_map_left_early_cancels_only_the_runs_not_finished(ray_session, monkeypatch):
    """A caller that stops reading (zip, Ctrl-C) cancels what is still running, never a finished
    task: Ray aborts the driver when a finished task's reply meets a forced cancel."""
    def nap(x: int) -> int:  # local: Ray ships it by value
        time.sleep(30 * x)  # the first run returns at once, the others long after
        return x

    cancelled = []
    monkeypatch.setattr(ray_session, "cancel", lambda ref, **kw: cancelled.append((ref, kw)))
    read_all = backends.Ray().map(nap, [0, 0], 1 << 20)
    assert list(zip([0, 1], read_all)) == [(0, 0), (1, 0)]
    read_all.close()
    assert cancelled == []
    left = backends.Ray().map(nap, [0, 1, 2], 1 << 20)
    assert next(left) == 0
    left.close()
    assert len(cancelled) == 2 and all(kw == {} for _, kw in cancelled)
    monkeypatch.undo()
    for ref, _ in cancelled:  # the naps, cancelled for real
        ray_session.cancel(ref)


def same_files(a: Path, b: Path, names: tuple[str, ...]) -> None:
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_a_study_on_ray_writes_the_same_files_as_locally(ray_session, tmp_path):
    (tmp_path / "tiny.toml").write_text(TINY)
    local = study(tmp_path / "tiny.toml", "local", "--workers", "1")
    on_ray = study(tmp_path / "tiny.toml", "ray", "--backend", "ray")
    same_files(local, on_ray, STUDY_FILES)


def run(out: Path, *args: str) -> Path:
    result = runner.invoke(app, ["run", *SMALL_RUN, "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    return out


def test_run_seeds_on_ray_writes_the_same_files_as_locally(ray_session, tmp_path):
    args = ("--seeds", "2", "--counterfactual")
    local = run(tmp_path / "local", *args)
    on_ray = run(tmp_path / "ray", *args, "--backend", "ray")
    parquet = tuple(p.name for p in local.glob("*.parquet"))
    assert {"timeseries.parquet", "timeseries_seeds.parquet"} <= set(parquet)
    same_files(local, on_ray, parquet)
    facts = [json.loads((d / "summary.json").read_text()) for d in (local, on_ray)]
    for f in facts:  # the time, threads and peak memory measured differ; nothing else
        for key in ("wall_seconds", "agent_days_per_second", "events_per_second", "threads",
                    "bytes_per_citizen"):
            del f[key]
    assert facts[0] == facts[1]


def test_resume_is_for_a_local_run(tmp_path):
    result = runner.invoke(app, ["run", *SMALL_RUN, "--out", str(tmp_path / "r"), "--resume",
                                 "--backend", "ray"])
    assert result.exit_code == 2
    assert "with --backend ray a run whose worker died is run again" in one_line_error(
        result.output)


@pytest.mark.ray_cluster
@pytest.mark.skipif(ADDRESS is None, reason="no Ray cluster: set PANOPTICON_RAY_ADDRESS")
def test_a_sweep_through_a_ray_head_by_address_matches_the_local_one(tmp_path):
    """The command line in a fresh process joins the head at the address, as a user would."""
    (tmp_path / "tiny.toml").write_text(TINY)
    local = study(tmp_path / "tiny.toml", "local", "--workers", "1")
    command = [sys.executable, "-m", "panopticon", "sensitivity", str(tmp_path / "tiny.toml"),
               *SIZES, *OUTPUTS, "--quiet", "--out", str(tmp_path / "cluster"),
               "--backend", "ray", "--address", ADDRESS]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    same_files(local, tmp_path / "cluster", STUDY_FILES)
