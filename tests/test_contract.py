"""The stage contract: each stage touches exactly what it declares, every array has one owner,
counters are declared once, and no stage holds another."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from numba import njit
from numba.core.errors import TypingError

from panopticon.language import scenario
from panopticon.observers.audit import Audit
from panopticon.observers.cohort import Cohort
from panopticon.observers.ranking import Ranking
from panopticon.runner.contract import day_table
from panopticon.runner.simulation import Simulation
from panopticon.stages import STAGES, counters
from panopticon.world import state as state_module
from panopticon.world.counters import Counters
from panopticon.world.layout import Layout
from panopticon.world.population import build
from panopticon.world.state import Blocks, Stage, State, View
from panopticon.world.today import ContractError, Today

USERS = (*STAGES, Cohort, Audit, Ranking)
STAGES_DIR = Path(__file__).parent.parent / "src" / "panopticon" / "stages"
ARCHITECTURE = Path(__file__).parent.parent / "docs" / "architecture.md"
# one day on which every stage is active and does all it does: bad company is due (its start),
# fear looks at ties (a multiple of its lag), the cohort holds everyone; china-2018 with lists of
# its own (the lists stage is idle without them)
SCHEME = Path(__file__).parent / "scenarios" / "lists.toml"
TINY = {"population.size": 300, "start": dt.date(2018, 1, 1), "end": dt.date(2018, 1, 1),
        "audit.cohort_size": 300}


def tiny(**changes) -> scenario.Scenario:
    return scenario.load(SCHEME).with_changes(**{**TINY, **changes})


def state() -> State:
    return State(build(tiny().population, 1), 1)


def user(name: str, owns: tuple[str, ...] = (), reads: tuple[str, ...] = ()) -> type:
    return type(name.title(), (), {"NAME": name, "OWNS": owns, "READS": reads})


def declared() -> list[tuple[type, str, str]]:
    """(class, declaration, name) for every name every user of the state declares."""
    return [(cls, field, name) for cls in USERS for field in ("OWNS", "READS", "WRITES")
            for name in getattr(cls, field, ())]


def test_a_run_uses_only_what_the_stages_declare():
    """Every array or buffer of today a stage or observer touches is declared: anything else
    is out of its reach, and this run would stop with a ContractError."""
    sim = Simulation(tiny())
    sim.run()
    assert [s.NAME for s in sim.active] == [s.NAME for s in STAGES]
    assert sim.state.read("bad_company_term").size == 300  # measured on its first day


def test_no_stage_holds_day_values_past_the_filing_of_a_phase():
    """After each phase's filing every stage gathers its day values anew: a stage holding
    them on (behaviour has no step in phase 2) kept a book that the filing had replaced, and
    since books are filed in their own arrays, its views would now show other rows."""
    sim = Simulation(tiny(end=dt.date(2018, 1, 3)))
    held = []
    sim.end_phase = lambda phase, clock, end=sim.end_phase: (
        end(phase, clock), held.extend(s.NAME for s in sim.active if s.values is not None))
    sim.run()
    assert sim.day == 3 and held == []


@pytest.mark.parametrize(("cls", "field", "name"), declared(),
                         ids=[f"{c.NAME}.{f}.{n}" for c, f, n in declared()])
def test_every_declared_name_is_used(monkeypatch, cls, field, name):
    """Without any one of its declared names, a stage's day fails: declarations are no wider
    than what the stage does."""
    monkeypatch.setattr(cls, field, tuple(n for n in getattr(cls, field) if n != name))
    with pytest.raises(ContractError) as info:
        Simulation(tiny()).run()
    assert name in str(info.value)


def test_an_undeclared_array_is_a_one_line_error_naming_the_stage_and_the_array():
    view = state().view(user("nosy", reads=("age",)))
    assert view.age.shape == (300,)
    with pytest.raises(ContractError) as info:
        view.score  # noqa: B018
    assert str(info.value) == "stage 'nosy' reads 'score', which is not in its READS"


def test_an_undeclared_buffer_of_today_is_out_of_reach():
    view = state().view(user("nosy", reads=("acts",)))
    mine = view.today(Today.of(10))
    assert not mine.acts.flags.writeable
    with pytest.raises(ContractError, match="stage 'nosy' uses today's 'records'"):
        mine.records[:5]
    assert view.today(Today.of(10)) is not mine and mine.todo.flags.writeable


@njit
def write_first(family):
    family[0] = 1


def test_a_stage_that_writes_an_array_it_only_reads_fails():
    s = state()
    owner = s.view(user("owner", owns=("family",)))
    owner.own("family", np.zeros(300, np.uint8))
    reader = s.view(user("reader", reads=("family",)))
    with pytest.raises(ValueError, match="read-only"):
        reader.family[0] = 1
    with pytest.raises(TypingError, match="readonly"):
        write_first(reader.family)


def test_an_array_has_one_owner():
    s = state()
    s.view(user("one", owns=("family",)))
    with pytest.raises(ContractError, match="'family' is owned by both 'one' and 'two'"):
        s.view(user("two", owns=("family",)))
    with pytest.raises(ContractError, match="'age' is owned by both 'population'"):
        s.view(user("three", owns=("age",)))
    with pytest.raises(ContractError, match="'size', a name a view keeps"):
        s.view(user("four", owns=("size",)))


def test_a_day_value_made_block_by_block_is_read_once_in_order(monkeypatch):
    monkeypatch.setattr(state_module, "BLOCK", 4)
    made = Blocks(10, np.int8, lambda lo, hi, out: out.__setitem__(slice(None), lo))
    assert [(lo, hi, out.tolist()) for lo, hi, out in made.read()] == [
        (0, 4, [0] * 4), (4, 8, [4] * 4), (8, 10, [8] * 2)]
    with pytest.raises(ContractError, match="read once"):
        next(made.read())


def test_a_stage_makes_only_what_it_owns():
    view = state().view(user("maker", owns=("mine", "kept")))
    view.publish("mine", np.zeros(3))
    view.publish("mine", np.ones(3))  # a day value, anew
    with pytest.raises(ContractError, match="stage 'maker' makes 'yours', which is not in"):
        view.own("yours", np.zeros(3))
    view.own("kept", np.zeros(3))
    with pytest.raises(ContractError, match="makes 'kept' again: it is kept for the run"):
        view.own("kept", np.zeros(3))


def test_a_read_needs_an_owner_and_a_write_into_today_a_maker_before():
    s = state()
    s.view(user("orphan", reads=("nothing",)))
    with pytest.raises(ContractError, match="'orphan' reads 'nothing', which no stage owns"):
        s.check()
    s = state()
    s.view(type("Early", (), {"NAME": "early", "READS": (), "WRITES": ("acts",)}))
    s.view(user("maker", owns=("acts",)))
    with pytest.raises(ContractError, match="'early' writes 'acts'"):
        s.check()


def test_the_declarations_of_the_run_hold():
    s = state()
    for cls in USERS:
        s.view(cls)
    s.check()
    owners = [name for cls in USERS for name in getattr(cls, "OWNS", ())]
    assert len(owners) == len(set(owners))


def test_counter_names_are_unique_and_each_declared_by_one_stage():
    sc = tiny()
    found = counters(sc)
    assert len(found.names) == len(set(found.names))
    by = {name: [s.NAME for s in STAGES if name in s.counters(sc)] for name in found.names}
    assert all(len(stages) == 1 for stages in by.values())
    assert list(found.names) == [n for s in STAGES for n in s.counters(sc)]
    with pytest.raises(ContractError, match="'x' is declared by both 'a' and 'b'"):
        Counters.of([("a", ("x",)), ("b", ("y", "x"))])


def test_a_step_gets_its_own_counters():
    """Each stage's columns are its COUNTERS: what a kernel adds at its index 0 is the stage's
    first counter."""
    sc = tiny()
    sim = Simulation(sc)
    data = sim.run()
    first = {s.NAME: s.counters(sc)[0] for s in STAGES if s.counters(sc)}
    assert first["behaviour"] == "citizens"
    assert data.counts[0, :, sim.counters.names.index("citizens")].sum() == 300
    assert sim.counters.names[sim.counters.spans["fear"]] == ("perceived_risk_permille_sum",)


def test_no_stage_holds_another_or_imports_another():
    sim = Simulation(tiny())
    for stage in sim.stages.values():
        held = [v for v in vars(stage).values() if isinstance(v, (Stage, Simulation, State))]
        assert held == [], stage.NAME
        assert isinstance(stage.view, View)
    for path in STAGES_DIR.glob("*.py"):
        if path.name == "__init__.py":
            continue
        imports = [node for node in ast.walk(ast.parse(path.read_text()))
                   if isinstance(node, ast.ImportFrom) and node.level == 1]
        assert imports == [], path.name


def test_parameters_follow_the_scenario_object_of_the_day():
    """A stage derives its parameters again only when the day's scenario is another object."""
    sc = tiny()
    sim = Simulation(sc)
    tuned = {name: stage.p for name, stage in sim.stages.items() if hasattr(stage, "p")}
    date = sc.start
    for stage in sim.stages.values():
        stage.start_day(0, date, sc)
    assert all(sim.stages[name].p is p for name, p in tuned.items())
    other = sc.with_changes(**{"court.judgment_rate": 0.5, "acts.job_application.rate": 0.25})
    for stage in sim.stages.values():
        stage.start_day(1, date, other)
    assert all(sim.stages[name].p is not p for name, p in tuned.items() if p is not None)
    assert sim.stages["registry"].p.judgment_rate == 0.5
    job = Layout.of(sc).kinds.index("job_application")
    assert sim.stages["behaviour"].p.d.rates[job] == 0.25


def test_the_architecture_shows_the_declared_day():
    """docs/architecture.md holds the table made from the declarations (`make reference`)."""
    assert day_table() in ARCHITECTURE.read_text(), "run `make reference`"
