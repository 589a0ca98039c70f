"""arsim: a discrete-event workbench for B2B receivables and collections policy.

The public API is the names in ``__all__``; everything else may change between versions. Names are loaded
on first use (PEP 562), so ``import arsim`` and the command line start without numpy, pandas or scipy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_HOMES: dict[str, str] = {
    "InputError": "arsim.errors",
    "Scenario": "arsim.scenario.schema",
    "Policy": "arsim.scenario.schema",
    "load_scenario": "arsim.scenario.files",
    "load_policy": "arsim.scenario.files",
    "shipped_scenario": "arsim.scenario.shipped",
    "simulate": "arsim.sim.model",
    "run_experiment": "arsim.experiment.replications",
    "run_experiment_auto": "arsim.experiment.replications",
    "write_results": "arsim.experiment.results",
    "ExperimentResult": "arsim.experiment.results",
    "read_ledger": "arsim.ledger.read",
    "ledger_kpis": "arsim.measure.ledger_kpis",
    "calibrate": "arsim.ledger.calibrate.fit",
    "fit_ledger": "arsim.ledger.calibrate.fit",
    "compare": "arsim.analysis.compare",
    "sweep": "arsim.analysis.sweep",
    "capacity": "arsim.analysis.capacity",
    "optimize": "arsim.analysis.optimize",
    "OptimizeResult": "arsim.analysis.optimize",
    "feasibility": "arsim.analysis.feasibility",
    "FeasibilityResult": "arsim.analysis.feasibility",
    "search_space": "arsim.analysis.search_space",
    "sweep_chart": "arsim.present.charts",
    "capacity_chart": "arsim.present.charts",
    "aging_chart": "arsim.present.charts",
    "dso_trend_chart": "arsim.present.charts",
    "comparison_chart": "arsim.present.charts",
    "sweep_heatmap": "arsim.present.charts",
    "calibration_chart": "arsim.present.charts",
    "optimization_history_chart": "arsim.present.charts",
    "pareto_chart": "arsim.present.charts",
    "importance_chart": "arsim.present.charts",
    "feasibility_chart": "arsim.present.charts",
    "staffing_chart": "arsim.present.charts",
    "save_chart": "arsim.present.charts",
    "write_report": "arsim.present.report",
}
"""Each public name and the module that defines it."""

__all__ = [
    "__version__",
    "InputError",
    "Scenario",
    "Policy",
    "load_scenario",
    "load_policy",
    "shipped_scenario",
    "simulate",
    "run_experiment",
    "run_experiment_auto",
    "write_results",
    "ExperimentResult",
    "read_ledger",
    "ledger_kpis",
    "calibrate",
    "fit_ledger",
    "compare",
    "sweep",
    "capacity",
    "optimize",
    "OptimizeResult",
    "feasibility",
    "FeasibilityResult",
    "search_space",
    "sweep_chart",
    "capacity_chart",
    "aging_chart",
    "dso_trend_chart",
    "comparison_chart",
    "sweep_heatmap",
    "calibration_chart",
    "optimization_history_chart",
    "pareto_chart",
    "importance_chart",
    "feasibility_chart",
    "staffing_chart",
    "save_chart",
    "write_report",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use, and keep it."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'arsim' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors only
    from arsim.analysis.capacity import capacity
    from arsim.analysis.compare import compare
    from arsim.analysis.feasibility import FeasibilityResult, feasibility
    from arsim.analysis.optimize import OptimizeResult, optimize
    from arsim.analysis.search_space import search_space
    from arsim.analysis.sweep import sweep
    from arsim.errors import InputError
    from arsim.experiment.replications import run_experiment, run_experiment_auto
    from arsim.experiment.results import ExperimentResult, write_results
    from arsim.ledger.calibrate.fit import calibrate, fit_ledger
    from arsim.ledger.read import read_ledger
    from arsim.measure.ledger_kpis import ledger_kpis
    from arsim.present.charts import (
        aging_chart,
        calibration_chart,
        capacity_chart,
        comparison_chart,
        dso_trend_chart,
        feasibility_chart,
        importance_chart,
        optimization_history_chart,
        pareto_chart,
        save_chart,
        staffing_chart,
        sweep_chart,
        sweep_heatmap,
    )
    from arsim.present.report import write_report
    from arsim.scenario.files import load_policy, load_scenario
    from arsim.scenario.schema import Policy, Scenario
    from arsim.scenario.shipped import shipped_scenario
    from arsim.sim.model import simulate
