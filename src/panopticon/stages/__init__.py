"""The model's stages, one per step of the simulated day: behaviour, sensing, registry, company
(bad company), scoring, lists, consequences, fear; in that order, the order of the day.

Imports ``language`` and ``world`` only: no stage imports or holds another; they hand each other
declared arrays through the run's state (``world.state``). The run's counters are the stages'
counters (``counters(sc)``: the scenario's catalog names some) in the order of the day.
"""

import numpy as np

from ..language.scenario import Scenario
from ..world.counters import Counters
from .behaviour import Behaviour
from .company import Company
from .consequences import Consequences
from .fear import Fear
from .lists import Lists
from .registry import Registry
from .scoring import Scoring
from .sensing import Sensing

STAGES = (Behaviour, Sensing, Registry, Company, Scoring, Lists, Consequences, Fear)


def counters(sc: Scenario) -> Counters:
    """The counters of a run of ``sc``, each stage's in the order of the day."""
    return Counters.of((stage.NAME, stage.counters(sc)) for stage in STAGES)


def event_columns(c: Counters) -> np.ndarray:
    """The columns of the citizens' acts (behaviour's ``acts_<kind>``): the run's events, which
    every later stage follows from."""
    return np.array([i for i in range(*c.spans[Behaviour.NAME].indices(len(c.names)))
                     if c.names[i].startswith("acts_")], np.int64)
