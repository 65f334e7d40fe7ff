"""Checkpoints: a run stopped after any day and continued, in this process or another, on other
chunks and threads, gives the same bytes as a run never stopped; what --resume refuses."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import pickle
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from panopticon.cli import app
from panopticon.language.scenario import load
from panopticon.readers.outfolder import FILES, MARKER
from panopticon.runner import checkpoint
from panopticon.runner.seeds import Runs

runner = CliRunner()
SCENARIO = load("china-2018").with_changes(**{
    "population.size": 1500, "start": dt.date(2018, 1, 1), "end": dt.date(2018, 2, 14)})
RUN = ["--population", "1500", "--start", "2018-01-01", "--end", "2018-06-30", "--no-report"]


class Stop(Exception):
    """Raised by the after-day hook where a test kills its run."""


def fingerprint(first, per_seed) -> str:
    """Every result of a command's runs, hashed."""
    h = hashlib.sha256()
    for data in (first, first.counterfactual):
        h.update(data.counts.tobytes())
        h.update(data.cameras.tobytes())
        h.update(repr(data.tallies).encode())
        h.update(repr(data.cohort.to_pydict()).encode())
        for part in data.ranking:
            h.update(np.asarray(part).tobytes())
    for table in per_seed:
        h.update(repr(table.to_pydict()).encode())
    return h.hexdigest()


def runs(chunk_size: int = 65_536, threads: int = 1) -> Runs:
    """Two seeds and the counterfactual: a checkpoint may fall in any of the three runs."""
    return Runs(SCENARIO, 2, True, chunk_size, threads)


@pytest.fixture(scope="module")
def whole() -> str:
    return fingerprint(*runs().run())


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stop=st.integers(1, 3 * SCENARIO.days))
def test_a_run_stopped_after_any_day_continues_to_the_same_bytes(whole, tmp_path, stop):
    path = tmp_path / ".run.checkpoint"
    stopped = runs()

    def after_day() -> None:
        if stopped.done() == stop:
            checkpoint.save(stopped, path)
            raise Stop

    with pytest.raises(Stop):
        stopped.run(after_day=after_day)
    resumed = checkpoint.load(path, runs(chunk_size=333, threads=2))
    assert resumed.done() == stop and (resumed.chunk_size, resumed.threads) == (333, 2)
    assert fingerprint(*resumed.run()) == whole


def test_a_checkpoint_of_another_command_or_version_is_refused(tmp_path, monkeypatch):
    path = tmp_path / ".run.checkpoint"
    checkpoint.save(runs(), path)
    other = Runs(SCENARIO.with_changes(**{"population.size": 1600}), 2, True)
    with pytest.raises(checkpoint.CheckpointError, match="another command .its scenario differ"):
        checkpoint.load(path, other)
    with pytest.raises(checkpoint.CheckpointError, match="its seeds, counterfactual differ"):
        checkpoint.load(path, Runs(SCENARIO, 1, False))
    monkeypatch.setattr(checkpoint, "sources_digest", lambda: "changed")
    with pytest.raises(checkpoint.CheckpointError, match="another version of panopticon"):
        checkpoint.load(path, runs())


def test_a_missing_or_damaged_checkpoint_is_one_line(tmp_path):
    with pytest.raises(checkpoint.CheckpointError, match="no checkpoint to resume"):
        checkpoint.load(tmp_path / ".none.checkpoint", runs())
    damaged = tmp_path / ".damaged.checkpoint"
    damaged.write_bytes(b"not a pickle")
    with pytest.raises(checkpoint.CheckpointError, match="cannot be read"):
        checkpoint.load(damaged, runs())
    damaged.write_bytes(pickle.dumps({"format": 0}))
    with pytest.raises(checkpoint.CheckpointError, match="another format"):
        checkpoint.load(damaged, runs())


def test_a_checkpoint_shares_the_stages_arrays_with_the_state(tmp_path):
    """A view (the state's read-only one) and the array it shows are one memory again."""
    path = tmp_path / ".run.checkpoint"
    kept = runs()
    with pytest.raises(Stop):
        kept.run(after_day=lambda: (checkpoint.save(kept, path), (_ for _ in ()).throw(Stop)))
    sim = checkpoint.load(path, runs()).sim
    scoring = sim.stages["scoring"]
    scoring.score[0] += 1
    assert sim.state.read("score")[0] == scoring.score[0]
    assert not sim.state.read("score").flags.writeable


MACHINE = ("wall_seconds", "agent_days_per_second", "events_per_second", "bytes_per_citizen",
           "threads", "chunk_size", "created")  # how and when it ran, not what it found


def folder_files(folder) -> dict[str, bytes]:
    """A run folder's files; summary.json and the marker without how and when it ran."""
    files = {name: (folder / name).read_bytes() for name in FILES if not name.endswith("json")
             and name != MARKER}
    for name in ("summary.json", MARKER):
        facts = json.loads((folder / name).read_text())
        files[name] = json.dumps({k: v for k, v in facts.items() if k not in MACHINE},
                                 sort_keys=True).encode()
    return files


def test_a_killed_run_resumes_to_the_same_files(tmp_path):
    """The command killed (SIGKILL) after a checkpoint, then run again with --resume on other
    threads and chunks: the same run folder as a run never stopped; the checkpoint then goes."""
    whole_run = runner.invoke(app, ["run", *RUN, "--quiet", "--out", str(tmp_path / "whole")])
    assert whole_run.exit_code == 0, whole_run.output
    folder = tmp_path / "killed"
    path = checkpoint.path_of(folder)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, "-m", "panopticon", "run", *RUN, "--quiet",
                              "--checkpoint-every", "0", "--out", str(folder)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while child.poll() is None and not (path.exists() and checkpoint.read_header(path)["done"]
                                            >= 20):
            time.sleep(0.05)
        assert child.poll() is None, child.stderr.read().decode()
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    assert not folder.exists() and path.exists()
    resumed = runner.invoke(app, ["run", *RUN, "--out", str(folder), "--resume", "--threads",
                                  "2", "--chunk-size", "500"])
    assert resumed.exit_code == 0, resumed.output
    assert "Resuming from" in resumed.output and "citizen-days/s" in resumed.output
    assert folder_files(folder) == folder_files(tmp_path / "whole")
    assert not path.exists()


def test_resume_without_a_checkpoint_or_of_another_command_is_one_line(tmp_path):
    folder = tmp_path / "run"
    result = runner.invoke(app, ["run", *RUN, "--quiet", "--out", str(folder), "--resume"])
    assert result.exit_code == 2 and "no checkpoint to resume" in result.output
    checkpoint.save(Runs(SCENARIO), checkpoint.path_of(folder))
    result = runner.invoke(app, ["run", *RUN, "--quiet", "--out", str(folder), "--resume"])
    assert result.exit_code == 2 and "its scenario differ" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_new_run_warns_that_it_replaces_a_checkpoint_and_says_what_it_costs(tmp_path):
    folder = tmp_path / "run"
    checkpoint.save(Runs(SCENARIO), checkpoint.path_of(folder))
    result = runner.invoke(app, ["run", *RUN, "--quiet", "--out", str(folder)])
    assert result.exit_code == 0, result.output
    assert "holds an interrupted run (0 of 45 days)" in result.output
    assert "Estimated: about" in result.output and "of memory" in result.output
    assert not checkpoint.path_of(folder).exists()


def test_sigterm_stops_at_the_end_of_a_day_with_a_checkpoint_that_resumes(tmp_path):
    """A scheduler's SIGTERM: the command writes a checkpoint at the day's end and exits 143;
    --resume then gives the run never stopped."""
    longer = [*RUN[:4], "--end", "2019-12-31", "--no-report"]
    whole = runner.invoke(app, ["run", *longer, "--quiet", "--out", str(tmp_path / "whole")])
    assert whole.exit_code == 0, whole.output
    folder = tmp_path / "stopped"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, "-m", "panopticon", "run", *longer, "--quiet",
                              "--out", str(folder)], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    while not child.stdout.readline().startswith("Estimated"):
        assert child.poll() is None, child.stderr.read()
    time.sleep(0.5)
    child.send_signal(signal.SIGTERM)
    _, stderr = child.communicate()
    assert child.returncode == 143, stderr
    assert "stopped:" in stderr and "the same command with --resume continues it" in stderr
    head = checkpoint.read_header(checkpoint.path_of(folder))
    assert 0 < head["done"] < head["total"] and not folder.exists()
    resumed = runner.invoke(app, ["run", *longer, "--quiet", "--out", str(folder), "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert folder_files(folder) == folder_files(tmp_path / "whole")


def test_a_first_ctrl_c_stops_at_the_day_end_and_a_second_at_once(tmp_path, monkeypatch):
    from panopticon import cli

    hook = checkpoint.Every(runs(), tmp_path / ".run.checkpoint", 600, print)
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with cli.stop_at_day_end(hook):
        signal.raise_signal(signal.SIGINT)
        assert hook.stopping == 128 + signal.SIGINT
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
        with pytest.raises(checkpoint.Stopped):
            hook()
    # the handlers before are put back (SIG_IGN where a shell started the tests in the background)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    assert checkpoint.read_header(tmp_path / ".run.checkpoint")["done"] == 0
