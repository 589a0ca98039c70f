"""arsim: a discrete-event workbench for B2B receivables and collections policy.

The public API is the names in ``__all__``; everything else may change between versions.
"""

__version__ = "0.1.0"

from arsim.scenario import InputError, Policy, Scenario, load_policy, load_scenario  # noqa: E402
from arsim.experiment import ExperimentResult, run_experiment, write_results  # noqa: E402
from arsim.model import simulate  # noqa: E402

__all__ = [
    "__version__",
    "InputError",
    "Policy",
    "Scenario",
    "load_policy",
    "load_scenario",
    "simulate",
    "run_experiment",
    "write_results",
    "ExperimentResult",
]
