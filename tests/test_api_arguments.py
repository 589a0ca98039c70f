"""Every public function refuses a bad argument with an InputError naming that argument, before any work starts.

Each case calls one public function (`arsim.__all__`) with every other argument fine and one argument wrong, and
expects ``InputError`` whose ``argument`` is the Python argument's name (what the command line translates into its
flag): never a TypeError, KeyError or AttributeError from deep inside, never a CLI flag's spelling. The good calls
at the end show the same functions still accept what they document (paths, ranges, numpy integers, variants).
"""

from __future__ import annotations

from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import pytest
import yaml

import arsim
from arsim import InputError
from arsim.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
SMB = ROOT / "scenarios" / "smb.yaml"
SHORT = {"run.horizon_days": 60, "run.warmup_days": 30}


@pytest.fixture(scope="module")
def smb() -> arsim.Scenario:
    return arsim.load_scenario(SMB).with_overrides(SHORT)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Nothing a refused call might write (a results folder) lands in the repository."""
    monkeypatch.chdir(tmp_path)


def _policy_file(scenario: arsim.Scenario, folder: Path) -> Path:
    path = folder / "same-policy.yaml"
    path.write_text(yaml.safe_dump({"policy": scenario.policy.model_dump(mode="json")}), encoding="utf-8")
    return path


SHARED = [  # (argument, bad value) for the arguments every simulating function takes
    ("replications", 0), ("replications", -1), ("replications", "2"), ("replications", 2.5), ("replications", True),
    ("seed", -1), ("seed", 1.5), ("seed", "7"), ("seed", True),
    ("jobs", 0), ("jobs", -3), ("jobs", 1.5), ("jobs", "2"),
    ("cluster", 8786), ("cluster", "not an address!"),
]

CALLS = {  # the good call of each function, which a case spoils with one bad argument
    "run_experiment": lambda s, **kw: arsim.run_experiment(s, **{"replications": 2, **kw}),
    "run_experiment_auto": lambda s, **kw: arsim.run_experiment_auto(s, **kw),
    "compare": lambda s, **kw: arsim.compare(s, {"four": {"team.collectors": 4}}, **{"save": False, **kw}),
    "sweep": lambda s, **kw: arsim.sweep(s, {"team.collectors": [2, 3]}, **{"save": False, **kw}),
    "capacity": lambda s, **kw: arsim.capacity(s, **{"contact_scales": [1, 2], "save": False, **kw}),
    "optimize": lambda s, **kw: arsim.optimize(s, **{"save": False, **kw}),
    "feasibility": lambda s, **kw: arsim.feasibility(s, **{"goals": ["dso<=-10"], "save": False, **kw}),
}

CASES = [(name, argument, value) for name in CALLS for argument, value in SHARED
         if not (argument == "replications" and name == "run_experiment_auto")]
CASES += [(name, "cluster_and_jobs", None) for name in CALLS]
CASES += [
    ("run_experiment_auto", "precision", "tight"), ("run_experiment_auto", "precision", 0), ("run_experiment_auto", "kpis", 5),
    ("run_experiment_auto", "kpis", ["dso", 5]), ("run_experiment_auto", "min_replications", 1),
    ("run_experiment_auto", "max_replications", "100"), ("run_experiment_auto", "max_replications", 3),
    ("capacity", "collectors", 3), ("capacity", "collectors", [2.5]), ("capacity", "collectors", [0]), ("capacity", "collectors", []),
    ("capacity", "contact_scales", 2), ("capacity", "contact_scales", ["x"]), ("capacity", "contact_scales", [-1]),
    ("capacity", "email_scales", "1,2"), ("capacity", "email_scales", [1, 2]), ("capacity", "sla_target", "high"), ("capacity", "sla_target", 1.5),
    ("capacity", "plan_scale", "max"),
    ("optimize", "trials", "x"), ("optimize", "top", 1.5), ("optimize", "fresh_replications", True), ("optimize", "max_collectors", 0),
    ("feasibility", "trials", "x"), ("feasibility", "max_collectors", "3"),
]


@pytest.mark.parametrize(("function", "argument", "value"), CASES, ids=[f"{f}-{a}={v!r}" for f, a, v in CASES])
def test_a_bad_argument_is_refused_by_name(smb, function, argument, value):
    call = CALLS[function]
    with pytest.raises(InputError) as error:
        if argument == "cluster_and_jobs":
            call(smb, cluster="tcp://127.0.0.1:8786", jobs=2)
        else:
            call(smb, **{argument: value})
    assert error.value.argument == ("cluster" if argument == "cluster_and_jobs" else argument), str(error.value)
    assert "--" not in str(error.value)  # the library's own words, not a command-line flag


@pytest.mark.parametrize("function", list(CALLS))
@pytest.mark.parametrize("scenario", [3, None, {"team": {"collectors": 2}}], ids=["int", "None", "dict"])
def test_a_scenario_is_a_scenario_or_a_path(function, scenario):
    with pytest.raises(InputError) as error:
        CALLS[function](scenario)
    assert error.value.argument == ("baseline" if function == "compare" else "scenario")


@pytest.mark.parametrize("function", ["run_experiment", "compare", "sweep", "capacity"])
def test_a_missing_scenario_file_is_named(function, tmp_path):
    with pytest.raises(InputError, match="missing.yaml: file not found"):
        CALLS[function](str(tmp_path / "missing.yaml"))


ALTERNATIVES = [  # (alternatives, what the message says)
    ({}, "at least one alternative"),
    ([], "at least one alternative"),
    (5, "expected a mapping"),
    ({"x": 3}, "x: expected a Policy"),
    ({"x": {"team.nope": 1}}, "x: team.nope: unknown field 'nope'"),
    ({"x": {"team.collectors": 0}}, "x: team.collectors: 0 collectors"),
    ({3: {"team.collectors": 4}}, "names must be non-empty text"),
]


@pytest.mark.parametrize(("alternatives", "message"), ALTERNATIVES, ids=[m for _, m in ALTERNATIVES])
def test_compare_refuses_bad_alternatives(smb, alternatives, message):
    with pytest.raises(InputError, match=message) as error:
        arsim.compare(smb, alternatives, replications=1, save=False)
    assert error.value.argument == "alternatives"


def test_a_policy_for_other_segments_names_the_alternative(smb):
    with pytest.raises(InputError, match="alternatives: fee: policy 'late-fee': policy.dunning.by_segment: unknown segment"):
        arsim.compare(smb, {"fee": arsim.shipped_scenario("policies/late-fee.yaml")}, replications=1, save=False)


GRIDS = [  # (parameters, what the message says)
    ({"team.collectors": 2}, "team.collectors: give a list of values, such as [2], got 2"),
    ({"policy.worklist_rule": "fifo"}, "policy.worklist_rule: give a list of values, such as ['fifo']"),
    ({"team.collectors": []}, "team.collectors: empty list of values"),
    ({}, "at least one field path"),
    ([("team.collectors", [2])], "expected a mapping of field paths"),
    ({3: [1]}, "field paths must be text"),
    ({"team.nope": [1]}, "team.nope=1: team.nope: unknown field 'nope'"),
    ({"team.collectors": [2, 0]}, "team.collectors=0: team.collectors: 0 collectors"),
]


@pytest.mark.parametrize(("parameters", "message"), GRIDS, ids=[m[:30] for _, m in GRIDS])
def test_sweep_refuses_a_bad_grid_naming_the_field(smb, parameters, message):
    with pytest.raises(InputError) as error:
        arsim.sweep(smb, parameters, replications=1, save=False)
    assert error.value.argument == "parameters"
    assert message in str(error.value)
    assert "--param" not in str(error.value)


@pytest.mark.parametrize(("assignments", "message"), [
    (["team.collectors=2"], "expected a mapping of field paths to values"),
    ({("team", "collectors"): 2}, "field paths must be text"),
    ({"team.nope": 1}, "team.nope: unknown field 'nope'"),
    ({"team.collectors": "many"}, "team.collectors: expected a number, got the text 'many'"),
])
def test_with_overrides_names_its_argument(smb, assignments, message):
    with pytest.raises(InputError) as error:
        smb.with_overrides(assignments)
    assert error.value.argument == "assignments"
    assert str(error.value) == f"assignments: {error.value.detail}" and message in error.value.detail


def test_with_overrides_from_elsewhere_says_where(smb):
    with pytest.raises(InputError) as error:
        smb.with_overrides({"team.nope": 1}, source="trial 3")
    assert str(error.value) == "trial 3: team.nope: unknown field 'nope'" and error.value.argument is None


@pytest.mark.parametrize("name", ["../pyproject.toml", "../../etc/passwd", "/etc/passwd", "policies/../../README.md", 3, "", "nope.yaml"])
def test_shipped_scenario_stays_in_its_folder(name):
    with pytest.raises(InputError) as error:
        arsim.shipped_scenario(name)
    assert error.value.argument == "name"


def test_shipped_scenario_finds_files_in_subfolders():
    assert arsim.shipped_scenario("policies/late-fee.yaml") == ROOT / "scenarios" / "policies" / "late-fee.yaml"


@pytest.mark.parametrize(("argument", "call"), [
    ("path", lambda chart, folder: arsim.save_chart(chart, folder / "x.gif")),
    ("path", lambda chart, folder: arsim.save_chart(chart, 3)),
    ("chart", lambda chart, folder: arsim.save_chart({"mark": "point"}, folder / "x.html")),
    ("scale", lambda chart, folder: arsim.save_chart(chart, folder / "x.png", scale=0)),
    ("scale", lambda chart, folder: arsim.save_chart(chart, folder / "x.png", scale="2")),
])
def test_save_chart_refuses_what_it_cannot_write(tmp_path, argument, call):
    chart = alt.Chart(pd.DataFrame({"a": [1, 2]})).mark_point().encode(x="a:Q")
    with pytest.raises(InputError) as error:
        call(chart, tmp_path)
    assert error.value.argument == argument
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_save_chart_writes_every_format_it_names(tmp_path):
    chart = alt.Chart(pd.DataFrame({"a": [1, 2]})).mark_point().encode(x="a:Q")
    for suffix in ("svg", "json"):  # html and png go through the same call (the report tests write them)
        assert arsim.save_chart(chart, tmp_path / f"x.{suffix}").stat().st_size > 0


# ---------------------------------------------------------------------------------------------- good calls still work


def test_good_calls_take_paths_ranges_numpy_integers_and_variants(smb, tmp_path):
    short_file = tmp_path / "short.yaml"
    short_file.write_text(yaml.safe_dump(smb.model_dump(mode="json")), encoding="utf-8")
    by_path = arsim.run_experiment(str(short_file), replications=np.int64(2), seed=np.uint32(7), jobs=np.int64(1))
    by_object = arsim.run_experiment(smb, replications=2, seed=7)
    assert by_path.scenario.run.replications == 2 and by_path.scenario.run.seed == 7
    pd.testing.assert_frame_equal(by_path.replications, by_object.replications)

    policy = _policy_file(smb, tmp_path)
    comparison = arsim.compare(short_file, {"same policy": policy, "four": {"team.collectors": 4}, "same world": short_file},
                               replications=1, seed=7, save=False)
    assert comparison.alternatives == ("same policy", "four", "same world")
    table = comparison.table.set_index(["alternative", "kpi"])
    assert table.loc[("same policy", "dso"), "diff"] == 0 and table.loc[("same world", "net_cost"), "diff"] == 0  # same inputs, CRN
    assert table.loc[("four", "collector_utilization"), "alternative_mean"] < table.loc[("four", "collector_utilization"), "baseline"]
    assert arsim.compare(smb, [policy], replications=1, save=False).alternatives == ("same-policy",)

    grid = arsim.sweep(smb, {"team.collectors": range(2, 4), "policy.discount.percent": np.array([0.0])}, replications=1, save=False)
    assert grid.summary["team.collectors"].tolist() == [2, 3]
    assert grid.manifest["parameters"] == {"team.collectors": [2, 3], "policy.discount.percent": [0.0]}

    study = arsim.capacity(smb, contact_scales=(1, 2), collectors=np.array([2]), replications=1, save=False)
    assert study.levels["contact_scale"].tolist() == [1.0, 2.0] and study.levels["collectors"].tolist() == [2, 2]


def test_replications_auto_is_run_experiment_auto(smb, monkeypatch):
    from arsim.experiment import replications

    asked = {}
    monkeypatch.setattr(replications, "run_experiment_auto", lambda scenario, **options: asked.update(options, scenario=scenario) or "auto")
    assert arsim.run_experiment(smb, replications="auto", seed=3, progress=False) == "auto"
    assert asked["scenario"] is smb and asked["seed"] == 3 and asked["warmup_check"] is False


def test_the_command_line_still_names_param(capsys):
    """The shell user reads the flag: ``parameters`` is --param in the sweep's flag table (--set is in test_cli)."""
    assert main(["sweep", str(SMB), "--param", "team.nope=1,2"]) == 2
    assert capsys.readouterr().err.strip() == "arsim: error: --param: team.nope=1: team.nope: unknown field 'nope'"


def test_the_lower_level_functions_name_their_arguments_too(tmp_path):
    """simulate, load_scenario/load_policy, Scenario.with_policy and write_results: InputError naming the argument."""
    import arsim

    smb = arsim.load_scenario(arsim.shipped_scenario("smb.yaml"))
    cases = [
        (lambda: arsim.simulate(3), "scenario"),
        (lambda: arsim.simulate(smb, replication=-1), "replication"),
        (lambda: arsim.simulate(smb, replication="1"), "replication"),
        (lambda: arsim.simulate(smb, replication=True), "replication"),
        (lambda: arsim.load_scenario(3), "path"),
        (lambda: arsim.load_policy(None), "path"),
        (lambda: smb.with_policy("my-policy.yaml"), "policy"),
        (lambda: arsim.write_results(3, tmp_path / "r"), "result"),
    ]
    for call, argument in cases:
        with pytest.raises(arsim.InputError) as raised:
            call()
        assert raised.value.argument == argument, (argument, str(raised.value))
    assert not (tmp_path / "r").exists()


def test_field_changes_given_without_a_name_say_how_to_name_them():
    import arsim

    smb = arsim.load_scenario(arsim.shipped_scenario("smb.yaml"))
    with pytest.raises(arsim.InputError) as raised:
        arsim.compare(smb, {"team.collectors": 4})
    assert str(raised.value) == ("alternatives: 'team.collectors' reads as a field path, not a name: give the changes a name, "
                                 "such as {'my variant': {'team.collectors': 4}}")
