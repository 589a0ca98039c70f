"""arsim: a discrete-event workbench for B2B receivables and collections policy.

The public API is the names in ``__all__``; everything else may change between versions.
"""

__version__ = "0.1.0"

from arsim.scenario import InputError, Policy, Scenario, load_policy, load_scenario  # noqa: E402
from arsim.experiment import ExperimentResult, run_experiment, write_results  # noqa: E402
from arsim.model import simulate  # noqa: E402
from arsim.ledger import read_ledger  # noqa: E402
from arsim.ledger_metrics import ledger_kpis  # noqa: E402
from arsim.calibrate import calibrate  # noqa: E402
from arsim.experiment import run_experiment_auto  # noqa: E402
from arsim.compare import compare, sweep  # noqa: E402
from arsim.capacity import capacity  # noqa: E402

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
    "read_ledger",
    "ledger_kpis",
    "calibrate",
    "run_experiment_auto",
    "compare",
    "sweep",
    "capacity",
    "sweep_chart",
    "capacity_chart",
]


def __getattr__(name: str):
    """Chart functions load altair only when first used, so `import arsim` and the CLI stay quick."""
    if name in {"sweep_chart", "capacity_chart"}:
        from arsim import charts

        return getattr(charts, name)
    raise AttributeError(f"module 'arsim' has no attribute {name!r}")
