"""Policy search and goal feasibility: the search space, bounds, the selection guard, storage, resume, the commands."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
import sqlalchemy.exc

from arsim.analysis.feasibility import feasibility
from arsim.analysis.goals import parse_bound, parse_objective, with_derived
from arsim.analysis.optimize import optimize
from arsim.analysis.search_space import DEFAULT_SPACE, field_type, search_space
from arsim.analysis.selection import holm, share_met
from arsim.analysis.study import TRIALS_PER_BATCH
from arsim.cli.main import main
from arsim.errors import InputError
from arsim.experiment.replications import kpis_of_replication
from arsim.scenario.files import load_policy, load_scenario

ROOT = Path(__file__).resolve().parents[1]
TINY = {"portfolio.segments.prompt.customers": 40, "portfolio.segments.slow.customers": 30, "run.horizon_days": 90, "run.warmup_days": 30}
TINY_FLAGS = [arg for path, value in TINY.items() for arg in ("--set", f"{path}={value}")]
SPACE = {"policy.discount.percent": {"low": 0, "high": 2, "step": 0.5}, "policy.dunning.volume.call": {"low": 0.5, "high": 2, "step": 0.5},
         "policy.worklist_rule": ["task_type", "days_past_due"]}
FAST = {"replications": 2, "top": 2, "fresh_replications": 2}


@pytest.fixture(scope="module")
def tiny():
    return load_scenario(ROOT / "scenarios/smb.yaml").with_overrides(TINY)


# ---------------------------------------------------------------------------------------------- the search space


@pytest.mark.parametrize("name", ["baseline", "smb", "enterprise"])
def test_the_default_space_fits_every_shipped_scenario(name):
    scenario = load_scenario(ROOT / f"scenarios/{name}.yaml")
    space = search_space(None, scenario, max_collectors=4)
    assert [lever.path for lever in space.levers] == list(DEFAULT_SPACE)
    team = space.lever("team.collectors")
    assert team.low == 1 and team.high <= 4


@pytest.mark.parametrize(("spec", "message"), [
    ({"policy.discount.percent": {"low": 3, "high": 1}}, "policy.discount.percent: low 3 is above high 1"),
    ({"policy.discount.percent": {"low": 0, "high": 150}}, "less than 100"),
    ({"policy.no_such_lever": {"low": 0, "high": 1}}, "unknown field 'policy.no_such_lever'"),
    ({"policy.worklist_rule": {"low": 0, "high": 1}}, "a range needs a numeric field"),
    ({"policy.worklist_rule": ["fifo", "alphabetical"]}, "policy.worklist_rule"),
    ({"policy.discount.days": {"low": 1.5, "high": 4}}, "whole number"),
    ({"portfolio.segments.prompt.customers": {"low": 1, "high": 4}}, "not a lever"),
    ({"policy.dunning.steps.12.day": {"low": 1, "high": 4}}, "no list item '12'"),
    ({"policy.discount.percent": {"low": 0, "hi": 2}}, "unknown key(s) ['hi']"),
    ({"policy.discount.percent": "off"}, "every lever is fixed or off"),
])
def test_bad_levers_fail_at_load_with_one_line(tiny, spec, message):
    with pytest.raises(InputError) as caught:
        search_space(spec, tiny, source="space.yaml")
    text = str(caught.value)
    assert message in text and "\n" not in text and text.startswith("space.yaml")


def test_any_field_of_the_schema_is_a_lever_without_a_list(tiny):
    space = search_space({
        "policy.payment_plan.instalments": {"low": 2, "high": 6},  # an integer field nobody listed
        "policy.payment_plan.enabled": [True, False],
        "policy.dunning.steps.2.channel": ["call", "letter"],  # a tuple item's field
        "policy.dunning.min_days_by_channel.call": {"low": 0, "high": 7},  # an open mapping's value
        "policy.credit.hold_days_past_due": [None, 30, 60],  # a nullable field
        "policy.penalty.fee": 40,  # fixed
        "policy.discount.percent": "off",
    }, tiny)
    kinds = {lever.path: (lever.kind, lever.integer) for lever in space.levers}
    assert kinds["policy.payment_plan.instalments"] == ("range", True)
    assert kinds["policy.dunning.min_days_by_channel.call"] == ("range", False)
    assert space.fixed == {"policy.penalty.fee": 40}
    assert [lever.path for lever in space.searched] == ["policy.payment_plan.instalments", "policy.payment_plan.enabled",
                                                         "policy.dunning.steps.2.channel", "policy.dunning.min_days_by_channel.call",
                                                         "policy.credit.hold_days_past_due"]
    assert field_type("policy.credit.hold_days_past_due", where="x") == (float, True)


def test_the_staffing_limit_caps_the_team_range(tiny):
    space = search_space({"team.collectors": {"low": 1, "high": 9}}, tiny, max_collectors=3)
    assert (space.lever("team.collectors").low, space.lever("team.collectors").high) == (1, 3)
    with pytest.raises(InputError, match="above the staffing limit"):
        search_space({"team.collectors": {"low": 4, "high": 9}}, tiny, max_collectors=3)


def test_a_scenario_file_with_a_search_section_still_runs_everywhere(tmp_path):
    text = (ROOT / "scenarios/smb.yaml").read_text() + "search:\n  policy.discount.percent: {low: 0, high: 2}\n"
    path = tmp_path / "with-search.yaml"
    path.write_text(text)
    assert load_scenario(path) == load_scenario(ROOT / "scenarios/smb.yaml")


# ---------------------------------------------------------------------------------------------- bounds and statistics


def test_bounds_read_absolute_change_and_percent():
    assert parse_bound("dso<=35").threshold(50.0) == 35.0
    assert parse_bound("dso<=-10").threshold(50.0) == 40.0
    assert parse_bound("past_due_amount<=-25%").threshold(200.0) == 150.0
    assert parse_bound("contacts_total>=+100%").threshold(30.0) == 60.0
    bound = parse_bound("query_sla_attainment>=0.9")
    assert bound.met(0.95, 0.5) and not bound.met(0.85, 0.5) and not bound.met(math.nan, 0.5)
    assert bound.violation(0.85, 0.5) == pytest.approx(0.05)
    assert parse_bound("aging_91+<=-5%").kpi == "aging_91+"
    assert parse_objective("cei").direction == "maximize" and parse_objective("cei:min").direction == "minimize"
    assert parse_objective("dso").direction == "minimize"
    assert with_derived({"contacts_email": 2.0, "contacts_call": 3.0, "contacts_letter": 1.0, "contacts_agency": 0.0})["contacts_total"] == 6.0


@pytest.mark.parametrize("text", ["dso<35", "dso<=", "nonsense<=3", "dso<=ten", "dso=>3"])
def test_malformed_bounds_are_one_line_errors(text):
    with pytest.raises(InputError) as caught:
        parse_bound(text, argument="goals")
    assert str(caught.value).startswith("goals: ") and "\n" not in str(caught.value)


@pytest.mark.parametrize(("text", "reason"), [
    ("query_sla_attainment>=1.5", "query_sla_attainment is between 0 and 1"),
    ("collector_utilization>=1.01", "collector_utilization is between 0 and 1"),
    ("pct_past_due>=120", "pct_past_due is between 0 and 100"),
    ("share_paid_late>=1.2", "share_paid_late is between 0 and 1"),
    ("past_due_amount<=-200%", "past_due_amount cannot be negative, so it cannot fall by more than 100%"),
    ("contacts_total<=-150%", "contacts_total cannot be negative, so it cannot fall by more than 100%"),
])
def test_a_bound_no_policy_can_meet_is_refused_before_searching(text, reason):
    with pytest.raises(InputError) as caught:
        parse_bound(text, argument="constraints")
    assert str(caught.value) == f"constraints: {text!r} can never be met: {reason}"


@pytest.mark.parametrize("text", ["query_sla_attainment>=1", "dso<=0", "past_due_amount<=-100%", "net_cost<=-5000", "add<=-3",
                                  "cei>=-20", "cei>=150", "bad_debt_ratio>=1.5", "dso<=-10", "share_paid_late>=-200%"])
def test_bounds_at_the_edge_of_the_possible_are_accepted(text):
    assert parse_bound(text).text == text


def test_holm_and_the_wilson_interval_match_hand_computations():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    share, low, high = share_met(parse_bound("dso<=10"), [5, 5, 5, 5, 20], [0, 0, 0, 0, 0])
    assert share == 0.8
    assert (low, high) == pytest.approx((0.3755, 0.9638), abs=1e-4)  # Wilson 95% for 4 of 5


# ---------------------------------------------------------------------------------------------- optimize


@pytest.fixture(scope="module")
def searched(tiny, tmp_path_factory):
    folder = tmp_path_factory.mktemp("search") / "study"
    result = optimize(tiny, space=SPACE, trials=6, objectives=["dso"], constraints=["query_sla_attainment>=0.5"], folder=folder, seed=11, **FAST)
    return result, folder


def test_every_trial_keeps_its_per_replication_values(searched):
    result, folder = searched
    assert result.n_trials == 6 and result.trials_run == 6
    study = optuna.load_study(study_name=result.study, storage=f"sqlite:///{folder / 'study.db'}")
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert complete
    for trial in complete:
        dso = trial.user_attrs["kpis"]["dso"]
        assert len(dso) == 2 and trial.values[0] == pytest.approx(sum(dso) / 2)
        sla = sum(trial.user_attrs["kpis"]["query_sla_attainment"]) / 2
        assert trial.constraints["query_sla_attainment>=0.5"] == pytest.approx(0.5 - sla)


def test_the_winner_is_reported_on_fresh_replications_with_the_baseline(searched, tiny):
    result, _ = searched
    fresh = result.confirmation_replications
    assert min(fresh) >= 2 + 2  # after the search's replications 0..1 and the selection block 2..3
    winner = tiny.with_policy(result.policy).model_copy(update={"team": tiny.team.model_copy(update={"collectors": result.collectors})})
    assert result.best["dso"][0] == kpis_of_replication((winner.model_copy(update={"run": tiny.run.model_copy(update={"seed": 11})}), fresh[0]))["dso"]
    assert result.baseline["dso"][0] == kpis_of_replication((tiny.model_copy(update={"run": tiny.run.model_copy(update={"seed": 11})}), fresh[0]))["dso"]
    data = result.to_json()
    assert set(data) >= {"study", "n_trials", "baseline", "best", "pareto"}
    assert set(data["best"]) >= {"params", "policy_file", "kpis", "constraints_met", "diff_vs_baseline"}
    assert set(data["best"]["kpis"]["dso"]) == {"mean", "ci_low", "ci_high", "values"}
    json.dumps(data, allow_nan=False)


def test_the_policy_file_runs_as_it_is(searched):
    result, folder = searched
    assert load_policy(folder / "best-policy.yaml") == result.policy
    scenario = load_scenario(ROOT / "scenarios/smb.yaml", policy=folder / "best-policy.yaml")
    assert scenario.policy == result.policy
    for name in ("manifest.json", "trials.csv", "selection.csv", "replications.csv", "result.json", "study.db"):
        assert (folder / name).exists()


def test_rerunning_resumes_to_the_total_and_other_settings_are_refused(searched, tiny):
    result, folder = searched
    more = optimize(tiny, space=SPACE, trials=8, objectives=["dso"], constraints=["query_sla_attainment>=0.5"], folder=folder, seed=11, **FAST)
    assert (more.n_trials, more.trials_run) == (8, 2)
    with pytest.raises(InputError, match="other settings"):
        optimize(tiny, space=SPACE, trials=8, objectives=["dso"], constraints=["query_sla_attainment>=0.6"], folder=folder, seed=11, **FAST)


def test_the_search_gives_the_same_trials_in_process_and_with_two_workers(tiny, tmp_path):
    runs = [optimize(tiny, space=SPACE, trials=3, objectives=["net_cost"], folder=tmp_path / f"j{jobs}", seed=5, jobs=jobs, save=False, **FAST)
            for jobs in (1, 2)]
    columns = ["trial", "net_cost", *SPACE]
    assert runs[0].trials[columns].equals(runs[1].trials[columns])
    assert pd.DataFrame(runs[0].best).equals(pd.DataFrame(runs[1].best))


_KILLED_RUN = """
import sys
from arsim.analysis.optimize import optimize
from arsim.scenario.files import load_scenario
tiny = load_scenario(sys.argv[1]).with_overrides({"portfolio.segments.prompt.customers": 40, "portfolio.segments.slow.customers": 30,
                                                   "run.horizon_days": 90, "run.warmup_days": 30})
optimize(tiny, space={"policy.discount.percent": {"low": 0, "high": 2, "step": 0.5}}, trials=50, replications=6, folder=sys.argv[2],
         heartbeat_seconds=1)
"""


def test_a_killed_run_loses_only_the_trials_in_flight(tiny, tmp_path):
    # Six replications make a batch of trials long (seconds) next to the time from seeing it running to the kill.
    folder = tmp_path / "killed"
    child = subprocess.Popen([sys.executable, "-c", _KILLED_RUN, str(ROOT / "scenarios/smb.yaml"), str(folder)], stderr=subprocess.DEVNULL)
    database = folder / "study.db"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if database.exists():
                try:
                    study = optuna.load_study(study_name="smb-optimize", storage=f"sqlite:///{database}")
                except (KeyError, sqlalchemy.exc.DBAPIError):  # the database is there, its tables or the study not yet (or being made)
                    time.sleep(0.1)
                    continue
                states = [t.state for t in study.get_trials(deepcopy=False)]
                if states.count(optuna.trial.TrialState.COMPLETE) >= 2 and states[-1] == optuna.trial.TrialState.RUNNING:
                    # Freeze the child and look again: the batch may have been told in between, leaving none in flight.
                    os.kill(child.pid, signal.SIGSTOP)
                    in_flight = [t.state for t in study.get_trials(deepcopy=False)].count(optuna.trial.TrialState.RUNNING)
                    if in_flight:
                        break
                    os.kill(child.pid, signal.SIGCONT)
            time.sleep(0.1)
        else:
            pytest.fail("the search never got going")
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    resumed = optimize(tiny, space={"policy.discount.percent": {"low": 0, "high": 2, "step": 0.5}}, trials=5, replications=6, folder=folder,
                       heartbeat_seconds=1, top=1, fresh_replications=2)
    study = optuna.load_study(study_name="smb-optimize", storage=f"sqlite:///{database}")
    states = [t.state for t in study.trials]
    assert 1 <= states.count(optuna.trial.TrialState.FAIL) <= TRIALS_PER_BATCH  # the batch in flight, failed by its stopped heartbeat
    assert states.count(optuna.trial.TrialState.FAIL) == in_flight  # exactly the trials running when it was killed
    assert states.count(optuna.trial.TrialState.RUNNING) == 0
    assert resumed.n_trials == 5 == states.count(optuna.trial.TrialState.COMPLETE) + states.count(optuna.trial.TrialState.PRUNED)


# ---------------------------------------------------------------------------------------------- feasibility


def test_the_smallest_team_for_a_goal(tiny, tmp_path):
    # On this small book one collector is busy about 10% of the time and two about 5%, whatever the discount.
    result = feasibility(tiny, goals=["collector_utilization<=0.08"], collectors="1:3", space={"policy.discount.percent": [0.0, 1.0]},
                         trials=2, folder=tmp_path / "team", **FAST)
    assert [a.collectors for a in result.staffing] == [1, 2]
    assert [a.feasible for a in result.staffing] == [False, True]
    assert result.feasible and result.smallest_team == 2 and result.collectors == 2
    assert result.team_cost_per_year == 2 * tiny.team.cost_per_collector_per_year
    assert result.staffing[0].binding == "collector_utilization<=0.08"


# ---------------------------------------------------------------------------------------------- the commands


def _cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _tiny_search(command: str, tmp_path: Path) -> list[str]:
    """A two-trial search of the tiny smb over one lever: the start of a command line."""
    space = tmp_path / "space.yaml"
    space.write_text("policy.discount.percent: {low: 0, high: 2, step: 1}\n")
    return [command, str(ROOT / "scenarios/smb.yaml"), *TINY_FLAGS, "--space", str(space), "--trials", "2", "--replications", "2",
            "--top", "1", "--fresh-replications", "2"]


def test_optimize_exits_1_when_the_winner_misses_a_constraint(tmp_path, capsys):
    common = _tiny_search("optimize", tmp_path)
    code, out, _ = _cli([*common, "--constraint", "dso<=+1000", "--out", str(tmp_path / "yes")], capsys)
    assert code == 0 and "met  dso <=" in out
    code, out, _ = _cli([*common, "--constraint", "dso<=1", "--json", "--out", str(tmp_path / "no")], capsys)
    assert code == 1 and json.loads(out)["best"]["constraints_met"] is False


def test_feasibility_exit_codes_and_plain_words(tmp_path, capsys):
    common = _tiny_search("feasibility", tmp_path)
    code, out, _ = _cli([*common, "--goal", "dso<=+1000", "--out", str(tmp_path / "yes")], capsys)
    assert code == 0 and out.startswith("Feasible") and "met on 100% of replications" in out
    code, out, _ = _cli([*common, "--goal", "dso<=1", "--goal", "net_cost<=+1000%", "--json", "--out", str(tmp_path / "no")], capsys)
    data = json.loads(out)
    assert code == 1 and data["feasible"] is False and data["shortfall"]["binding_goal"] == "dso<=1"
    assert [g["met"] for g in data["goals"]] == [False, True]
    assert set(data["goals"][0]) >= {"baseline", "reached", "probability", "probability_ci"}


@pytest.mark.parametrize(("args", "message"), [
    (["feasibility", "--goal", "dso<<3"], "--goal: 'dso<<3': expected KPI<=VALUE"),
    (["feasibility", "--goal", "speed<=3"], "--goal: unknown KPI 'speed'"),
    (["optimize", "--objective", "speed"], "--objective: unknown KPI 'speed'"),
    (["optimize", "--constraint", "dso<=3", "--replications", "1"], "--replications: must be at least 2"),
    (["feasibility", "--goal", "dso<=-3", "--collectors", "5:2"], "--collectors: 5:2: expected 1 <= LOW <= HIGH"),
    (["optimize", "--storage", "nonsense"], "--storage: 'nonsense' is not a database URL"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, args, message):
    code, out, err = _cli([args[0], str(ROOT / "scenarios/smb.yaml"), *args[1:], "--out", str(tmp_path / "x")], capsys)
    assert code == 2 and out == ""
    assert err.strip() == f"arsim: error: {message}" or (err.startswith(f"arsim: error: {message}") and err.count("\n") == 1)


def test_a_bad_space_file_exits_2_naming_the_file_and_lever(tmp_path, capsys):
    space = tmp_path / "space.yaml"
    space.write_text("policy.discount.percent: {low: 2, high: 1}\n")
    code, _, err = _cli(["optimize", str(ROOT / "scenarios/smb.yaml"), "--space", str(space), "--out", str(tmp_path / "x")], capsys)
    assert code == 2 and err == f"arsim: error: {space}: policy.discount.percent: low 2 is above high 1\n"
    assert not (tmp_path / "x").exists()


def test_several_objectives_give_a_pareto_front_of_feasible_trials(tiny, tmp_path):
    result = optimize(tiny, space=SPACE, trials=5, objectives=["dso", "net_cost"], constraints=["past_due_amount<=+50%"], folder=tmp_path / "mo",
                      seed=3, **FAST)
    front = result.pareto
    assert front
    feasible = result.trials[result.trials["feasible"]]
    for point in front:
        dso, cost = point["values"]["dso"], point["values"]["net_cost"]
        dominated = (feasible["dso"] <= dso) & (feasible["net_cost"] <= cost) & ((feasible["dso"] < dso) | (feasible["net_cost"] < cost))
        assert not dominated.any()


def test_a_search_starts_from_the_scenario_s_own_policy():
    from arsim.analysis.search_space import search_space
    from arsim.scenario.files import load_scenario

    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    space = search_space(None, scenario)
    start = space.starting_point(scenario)
    assert start["policy.credit.limit_months_of_sales"] == 6.0 and start["policy.dunning.volume.call"] == 1.0
    assert start["policy.worklist_rule"] == "task_type" and start["policy.credit.max_default_probability"] is None
    # A value off the lever's grid cannot be a trial of it: the sampler draws that lever instead.
    off_grid = scenario.with_overrides({"policy.credit.hold_days_past_due": 62.0})
    assert "policy.credit.hold_days_past_due" not in space.starting_point(off_grid)


def test_a_trial_left_running_without_a_heartbeat_is_failed_later(tmp_path, monkeypatch):
    # A process killed between study.ask() and the trial's first heartbeat leaves a running trial Optuna never calls
    # stale; once it is old enough, the next run fails it (and leaves a trial that beats alone).
    import datetime as real

    from arsim.analysis import study as study_module

    storage = study_module.open_storage(f"sqlite:///{tmp_path / 'study.db'}", heartbeat_seconds=1)
    study = optuna.create_study(study_name="orphans", storage=storage)
    orphan, alive = study.ask(), study.ask()
    storage.record_heartbeat(alive._trial_id)
    study_module.fail_dead_trials(study, storage)
    assert [t.state for t in study.get_trials()] == [optuna.trial.TrialState.RUNNING] * 2  # too young to tell

    class Later(real.datetime):
        @classmethod
        def now(cls, tz=None):
            return real.datetime.now(tz) + real.timedelta(hours=1)

    monkeypatch.setattr(study_module, "datetime", Later)
    study_module.fail_dead_trials(study, storage)
    states = {t.number: t.state for t in study.get_trials()}
    assert states == {orphan.number: optuna.trial.TrialState.FAIL, alive.number: optuna.trial.TrialState.RUNNING}
    storage.engine.dispose()


# ---------------------------------------------------------------------------------------------- one-lever moves


def test_one_lever_moves_change_exactly_one_lever_of_today_s_policy():
    from arsim.analysis.search_space import search_space

    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    space = search_space(None, scenario)
    start = space.starting_point(scenario)
    moves = space.one_lever_moves(scenario)
    moved: dict[str, list] = {}
    for move in moves:
        assert set(move) == set(start)
        changed = [path for path in move if move[path] != start[path]]
        assert len(changed) == 1
        lever = space.lever(changed[0])
        assert space.contains(lever, move[changed[0]])
        moved.setdefault(changed[0], []).append(move[changed[0]])
    assert set(moved) == {lever.path for lever in space.searched}  # every lever is tried alone
    assert moved["team.collectors"] == [scenario.team.collectors - 1, scenario.team.collectors + 1]
    assert moved["policy.credit.limit_months_of_sales"] == [5.5, 6.5]  # one grid step each way
    assert moved["policy.discount.percent"] == [0.25]  # today's 0 is the range's low end: only up
    assert sorted(moved["policy.worklist_rule"]) == sorted(set(space.lever("policy.worklist_rule").choices) - {"task_type"})


def test_one_lever_moves_without_a_grid_and_when_today_is_outside_the_space(tiny):
    from arsim.analysis.search_space import search_space

    continuous = search_space({"policy.discount.percent": {"low": 0, "high": 3}, "policy.dunning.volume.call": {"low": 0.5, "high": 2.5, "log": True}}, tiny)
    moves = continuous.one_lever_moves(tiny)
    assert [m["policy.discount.percent"] for m in moves] == [0.3, 0.0, 0.0]  # a tenth of the range up from 0
    calls = [m["policy.dunning.volume.call"] for m in moves[1:]]
    assert calls == pytest.approx([5 ** -0.1, 5 ** 0.1])  # a tenth of the log range each way from today's 1
    outside = search_space({"policy.penalty.fee": {"low": 10, "high": 100}}, tiny)  # today's fee 0 is not in the range
    assert outside.one_lever_moves(tiny) == []
    five = tiny.with_overrides({"team.collectors": 5})
    odd_grid = search_space({"team.collectors": {"low": 1, "high": 6, "step": 2}}, five)  # the grid is 1, 3, 5
    assert [m["team.collectors"] for m in odd_grid.one_lever_moves(five)] == [3]  # not 6, which the grid leaves out


def test_a_search_with_room_tries_each_lever_alone_after_today_s_policy(tiny, tmp_path):
    from arsim.analysis.search_space import search_space

    space = search_space(SPACE, tiny)
    moves = space.one_lever_moves(tiny)
    assert len(moves) == 4
    folder = tmp_path / "moves"
    optimize(tiny, space=SPACE, trials=3 * len(moves), objectives=["dso"], folder=folder, seed=3, save=False, **FAST)
    study = optuna.load_study(study_name="smb-optimize", storage=f"sqlite:///{folder / 'study.db'}")
    assert study.user_attrs["one_lever_moves"] == len(moves)
    params = [t.params for t in study.trials]
    assert params[0] == space.starting_point(tiny) and params[1:1 + len(moves)] == moves
    optimize(tiny, space=SPACE, trials=3 * len(moves) + 2, objectives=["dso"], folder=folder, seed=3, save=False, **FAST)
    study = optuna.load_study(study_name="smb-optimize", storage=f"sqlite:///{folder / 'study.db'}")
    assert len(study.trials) == 3 * len(moves) + 2 and study.user_attrs["one_lever_moves"] == len(moves)


def test_a_search_without_room_for_the_moves_leaves_them_to_the_sampler(tiny, tmp_path):
    folder = tmp_path / "no-moves"
    optimize(tiny, space=SPACE, trials=11, objectives=["dso"], folder=folder, seed=3, save=False, **FAST)
    study = optuna.load_study(study_name="smb-optimize", storage=f"sqlite:///{folder / 'study.db'}")
    assert "one_lever_moves" not in study.user_attrs
    assert len(study.trials) == 11


def test_a_policy_queued_twice_is_run_once_and_its_copy_is_not_counted(tiny, tmp_path):
    from arsim.analysis.search_space import search_space

    # Two workers opening a new shared study at the same moment may both queue the moves; here they are queued twice
    # by hand into a study that has run today's policy.
    folder = tmp_path / "copies"
    optimize(tiny, space=SPACE, trials=1, objectives=["dso"], folder=folder, seed=3, save=False, **FAST)
    storage = f"sqlite:///{folder / 'study.db'}"
    moves = search_space(SPACE, tiny).one_lever_moves(tiny)
    study = optuna.load_study(study_name="smb-optimize", storage=storage)
    for move in moves + moves:
        study.enqueue_trial(move, skip_if_exists=False)
    result = optimize(tiny, space=SPACE, trials=3 * len(moves), objectives=["dso"], folder=folder, seed=3, save=False, **FAST)
    study = optuna.load_study(study_name="smb-optimize", storage=storage)
    copies = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
    assert len(copies) == len(moves)
    for copy in copies:
        original = study.trials[copy.user_attrs["copy_of"]]
        assert original.state == optuna.trial.TrialState.COMPLETE and original.params == copy.system_attrs["fixed_params"]
        assert "kpis" not in copy.user_attrs  # not simulated
        row = result.trials.set_index("trial").loc[copy.number]
        assert row["state"] == "fail" and row["invalid"] == f"a copy of trial {original.number}, not run"
    finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(finished) == 3 * len(moves) and result.trials_run == 3 * len(moves) - 1


def test_the_one_lever_moves_come_on_top_of_the_sampler_s_random_start(tiny, tmp_path):
    from arsim.analysis.study import RANDOM_START_TRIALS

    # TPE with the constant liar marks each trial it drew from its model (tpe:relative_params); the moves must not
    # take the place of its random start, or the model would know only policies next to today's.
    folder = tmp_path / "start"
    optimize(tiny, space=SPACE, trials=24, objectives=["dso"], folder=folder, seed=3, save=False, **FAST)
    study = optuna.load_study(study_name="smb-optimize", storage=f"sqlite:///{folder / 'study.db'}")
    moves = study.user_attrs["one_lever_moves"]
    drawn = [t for t in study.trials if "fixed_params" not in t.system_attrs]
    modelled = [t.number for t in drawn if any(key.startswith("tpe:relative_params") for key in t.system_attrs)]
    at_random = [t.number for t in drawn if t.number not in modelled]
    assert modelled and min(modelled) >= RANDOM_START_TRIALS + moves
    assert len(at_random) >= RANDOM_START_TRIALS - 1  # today's policy counts as the first of the random start
