"""panopticon: a social credit system simulated on synthetic citizens, and an audit of it."""

from . import kernel_cache  # noqa: F401  (first: it places Numba's cache before any kernel)
from .language.scenario import Scenario, ScenarioError
from .readers.results import write_run
from .runner.rundata import RunData
from .runner.simulation import Simulation

__all__ = ["RunData", "Scenario", "ScenarioError", "Simulation", "write_run"]
__version__ = "0.1.0"
