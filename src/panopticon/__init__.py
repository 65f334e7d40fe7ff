"""panopticon: a social credit system simulated on synthetic citizens, and an audit of it."""

from .results import write_run
from .scenario import Scenario, ScenarioError
from .simulation import RunData, Simulation

__all__ = ["RunData", "Scenario", "ScenarioError", "Simulation", "write_run"]
__version__ = "0.1.0"
