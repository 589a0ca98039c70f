"""`arsim optimize` and `arsim feasibility`: policy search within staffing limits, and whether a goal set can be met.

Both check their options, the search space, the objectives, bounds and goals and the results folder before
the first replication, then call the analysis API once and print its result (or one JSON object). The
analysis layer (optuna, pandas, scipy) is imported inside the handlers.

Exit codes of `arsim feasibility`: 0 feasible, 1 not feasible, 2 bad input.
"""

from __future__ import annotations

import argparse
import json

from arsim.cli.common import (
    add_run_options,
    check_executor,
    check_inputs_outside,
    command_line,
    format_number,
    load,
    plural,
    positive,
)
from arsim.cli.report import add_report_option, report_extra
from arsim.errors import InputError

SEARCH_FLAGS = {
    "space": "--space",
    "trials": "--trials",
    "objectives": "--objective",
    "constraints": "--constraint",
    "goals": "--goal",
    "max_collectors": "--max-collectors",
    "collectors": "--collectors",
    "storage": "--storage",
    "study": "--study",
    "top": "--top",
    "fresh_replications": "--fresh-replications",
}
"""Library argument -> flag of `arsim optimize` and `arsim feasibility`."""

SHOWN_KPIS = ("dso", "past_due_amount", "bad_debt_amount", "query_sla_attainment", "collector_utilization", "contacts_total",
              "discount_cost", "net_cost")
"""KPIs the printed tables show besides the objectives and bounds (every KPI is in result.json)."""

INFEASIBLE_EXIT = 1


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add optimize and feasibility to the command line."""
    opt = commands.add_parser("optimize", help="search the policy levers for the best policy under KPI constraints and a staffing limit",
                              description="Search the policy levers (Optuna) for the policy that minimises or maximises KPIs under "
                                          "constraints; the winner is chosen and reported on fresh replications (exit 0; 1 when the "
                                          "reported winner misses a constraint, the nearest miss; 2 bad input).")
    opt.add_argument("scenario", help="scenario YAML file (its search: section, if any, is the search space)")
    opt.add_argument("--objective", dest="objectives", action="append", default=[], metavar="KPI[:min|:max]",
                     help="a KPI to optimise (repeatable: several give a Pareto front; default net_cost)")
    opt.add_argument("--constraint", dest="constraints", action="append", default=[], metavar="EXPR",
                     help="a KPI bound: dso<=35 (absolute), dso<=-10 (change), past_due_amount<=-25% (percent change) (repeatable)")
    _search_options(opt)
    opt.set_defaults(handler=cmd_optimize, flags=SEARCH_FLAGS)

    feas = commands.add_parser("feasibility", help="can a policy meet every goal with this team? exit 0 feasible, 1 not",
                               description="Search for a policy that meets every goal within the staffing limit; answers in plain words "
                                           "(exit 0 feasible, 1 not feasible, 2 bad input).")
    feas.add_argument("scenario", help="scenario YAML file (its search: section, if any, is the search space)")
    feas.add_argument("--goal", dest="goals", action="append", default=[], required=True, metavar="EXPR",
                      help="a goal: past_due_amount<=-25%, dso<=-10 (change), dso<=35 (absolute), contacts_total>=+100% (repeatable)")
    feas.add_argument("--constraint", dest="constraints", action="append", default=[], metavar="EXPR", help="a further KPI bound (repeatable)")
    feas.add_argument("--collectors", metavar="LOW:HIGH", help="staffing range: find the smallest team for which the goals are feasible")
    _search_options(feas, suffix="feasibility")
    feas.set_defaults(handler=cmd_feasibility, flags=SEARCH_FLAGS)


def _search_options(parser: argparse.ArgumentParser, *, suffix: str = "optimize") -> None:
    parser.add_argument("--space", metavar="FILE", help="search space YAML file (lever path: {low, high[, step]} | [choices] | value | off)")
    parser.add_argument("--trials", type=positive, default=50, help="trials in the study in total; re-running resumes it (default 50)")
    parser.add_argument("--replications", type=positive, default=5, help="common replications per trial (default 5)")
    parser.add_argument("--max-collectors", type=positive, help="staffing limit: the team size never exceeds it")
    parser.add_argument("--storage", metavar="URL", help="study database: sqlite:///PATH or postgresql://USER:PASS@HOST/DB "
                                                         "(default: SQLite in the results folder)")
    parser.add_argument("--study", metavar="NAME", help=f"study name; also names the results folder (default <scenario name>-{suffix})")
    parser.add_argument("--top", type=positive, default=5, help="candidates re-evaluated on fresh replications (default 5)")
    parser.add_argument("--fresh-replications", type=positive, default=10,
                        help="fresh replications for selection, and as many again for the reported figures (default 10)")
    add_run_options(parser, out="results/<study>", what="the tables", jobs_help="worker processes for a trial's replications")
    add_report_option(parser)


def _write_report(args: argparse.Namespace, result) -> None:
    """With --report, report.html and report.xlsx beside the search's tables (the search has written its folder by now)."""
    write = report_extra(args, result)
    if write is not None and result.folder is not None:
        write(result.folder)


def _space(args: argparse.Namespace):
    """The search space's plain data and where it came from: --space FILE, the scenario's search: section, or None (default)."""
    from arsim.scenario.files import read_search_section, read_yaml_file

    if args.space:
        data = read_yaml_file(args.space)
        if isinstance(data, dict) and set(data) == {"search"}:
            data = data["search"]
        if data is None:
            raise InputError(f"{args.space}: the file is empty; give lever paths with ranges or choices")
        return data, str(args.space)
    data = read_search_section(args.scenario)
    return data, f"{args.scenario}: search"


def _common(args: argparse.Namespace, *, suffix: str) -> dict:
    check_executor(args)
    scenario = load(args)
    from arsim.analysis.optimize import study_folder

    check_inputs_outside(args, study_folder(scenario.name, study=args.study, folder=args.out, suffix=suffix)[1])
    space, source = _space(args)
    return {"scenario": scenario, "space": space, "space_source": source, "trials": args.trials, "replications": args.replications,
            "max_collectors": args.max_collectors, "storage": args.storage, "study": args.study, "jobs": args.jobs, "cluster": args.cluster,
            "seed": args.seed, "top": args.top, "fresh_replications": args.fresh_replications, "folder": args.out, "progress": True,
            "command": command_line(args.argv)}


# ---------------------------------------------------------------------------------------------- optimize


def cmd_optimize(args: argparse.Namespace) -> int:
    """Search, select on fresh replications, print the winner next to the baseline (or JSON)."""
    options = _common(args, suffix="optimize")
    from arsim.analysis.optimize import DEFAULT_OBJECTIVES, optimize

    result = optimize(objectives=args.objectives or DEFAULT_OBJECTIVES, constraints=args.constraints, **options)
    _write_report(args, result)
    if args.json:
        print(json.dumps(result.to_json(), allow_nan=False))
        return 0 if result.constraints_met else 1
    scenario = options["scenario"]
    fresh = result.confirmation_replications
    print(f"{scenario.name}: study {result.study}, {plural(result.n_trials, 'trial')} ({result.trials_run} run now) x "
          f"{plural(args.replications, 'replication')}, seed {scenario.run.seed}; storage {result.storage}")
    if len(result.objectives) > 1:
        print(f"Pareto front of the search: {plural(len(result.pareto), 'policy')} (result.json); the winner below is the best on "
              f"{result.objectives[0].kpi} among them")
    print(f"\nwinner, chosen on fresh replications and confirmed on {plural(len(fresh), 'other fresh replication')} ({fresh[0]}..{fresh[-1]}):")
    for line in _levers(result.params):
        print(line)
    kpis = list(dict.fromkeys([o.kpi for o in result.objectives] + [c.bound.kpi for c in result.constraints] + list(SHOWN_KPIS)))
    _kpi_table(result, kpis)
    if result.constraints:
        print()
        for check in result.constraints:
            print(f"{'met ' if check.met else 'MISSED'} {check.bound.describe(check.baseline)}: reached {format_number(check.reached)}, "
                  f"on {check.probability:.0%} of the replications")
    if not result.constraints_met:
        print("\nthe winner misses a constraint on the confirmation replications (no policy tried kept every one, or the "
              "winner's margin did not hold on replications it had not seen): the nearest miss is shown")
    print(f"\npolicy written to {result.policy_file} (arsim run {args.scenario} --policy {result.policy_file}"
          f"{'' if result.collectors == scenario.team.collectors else f' --set team.collectors={result.collectors}'})")
    print(f"results written to {result.folder}/" + (" (with report.html and report.xlsx)" if args.report else ""))
    return 0 if result.constraints_met else 1  # as feasibility: a script can tell a winner that keeps every bound


def _levers(params: dict) -> list[str]:
    """The winner's lever values, one per line."""
    return [f"  {path} = {value:g}" if isinstance(value, float) else f"  {path} = {value}" for path, value in params.items()]


def _kpi_table(result, kpis: list[str]) -> None:
    """The winner next to the baseline on the confirmation replications, with the paired differences."""
    from arsim.analysis.goals import mean_of

    print(f"\n{'KPI':<24}{'baseline':>14}{'winner':>14}{'difference':>14}{'95% CI of the difference':>30}{'change':>9}")
    for key in kpis:
        base = result.baseline[key]
        diff = _diff(base, result.best[key])

        change = "-" if diff["relative_change"] is None else f"{100 * diff['relative_change']:+.1f}%"
        ci = f"[{format_number(diff['ci_low'])}, {format_number(diff['ci_high'])}]"
        print(f"{key:<24}{format_number(mean_of(base)):>14}{format_number(mean_of(result.best[key])):>14}{format_number(diff['diff']):>14}"
              f"{ci:>30}{change:>9}")


def _diff(baseline, best):
    from arsim.analysis.optimize import diff_object

    return diff_object(baseline, best)


# ---------------------------------------------------------------------------------------------- feasibility


def cmd_feasibility(args: argparse.Namespace) -> int:
    """Search for a policy meeting every goal; print the answer in plain words (or JSON); exit 0 feasible, 1 not."""
    options = _common(args, suffix="feasibility")
    if args.collectors is not None and args.max_collectors is not None:
        raise InputError("--collectors and --max-collectors: give a staffing range or a limit, not both")
    from arsim.analysis.feasibility import feasibility, parse_staffing

    parse_staffing(args.collectors)  # a malformed range fails before anything runs
    result = feasibility(goals=args.goals, constraints=args.constraints, collectors=args.collectors, **options)
    _write_report(args, result)
    if args.json:
        print(json.dumps(result.to_json(), allow_nan=False))
        return 0 if result.feasible else INFEASIBLE_EXIT
    scenario = options["scenario"]
    for line in plain_words(result, scenario=scenario, args=args):
        print(line)
    kpis = list(dict.fromkeys([c.bound.kpi for c in result.goals + result.constraints] + list(SHOWN_KPIS)))
    _kpi_table(result, kpis)
    print(f"\nresults written to {result.folder}/" + (" (with report.html and report.xlsx)" if args.report else ""))
    return 0 if result.feasible else INFEASIBLE_EXIT


def plain_words(result, *, scenario, args: argparse.Namespace) -> list[str]:
    """The feasibility answer as sentences a finance leader reads."""
    lines = []
    team = f"{plural(result.collectors, 'collector')}"
    limit = f" within a team of {args.max_collectors}" if args.max_collectors else ""
    if result.staffing:
        smallest = result.smallest_team
        if smallest is not None:
            lines.append(f"Feasible with {team}: that is the smallest team, from {args.collectors}, for which a policy meets every goal; "
                         f"the team costs {format_number(result.team_cost_per_year)} a year.")
        else:
            lines.append(f"Not feasible with any team from {args.collectors}: no policy found meets every goal.")
        for attempt in result.staffing:
            state = "feasible" if attempt.feasible else f"short by {attempt.shortfall:.1%} in total, binding goal {attempt.binding}"
            lines.append(f"  {plural(attempt.collectors, 'collector')} ({format_number(attempt.team_cost_per_year)} a year): {state}")
    elif result.feasible:
        lines.append(f"Feasible{limit}: a policy meets every goal with {team} (the scenario has {scenario.team.collectors}).")
    else:
        binding = result.binding
        lines.append(f"Not feasible{limit}: the best policy found falls short; the binding goal is {binding.bound.text} "
                     f"(reached {format_number(binding.reached)}, needs {binding.bound.op} {format_number(binding.threshold)}).")
    lines.append("\nThe policy" + (" (the nearest miss):" if not result.feasible else ":"))
    lines += _levers(result.params)
    n = len(result.confirmation_replications)
    lines.append(f"\nOn {plural(n, 'fresh replication')} never used to choose the policy:")
    for check in result.goals + result.constraints:
        lines.append(f"  {'met   ' if check.met else 'missed'} {check.bound.describe(check.baseline)}: reached {format_number(check.reached)}; "
                     f"met on {check.probability:.0%} of replications (95% CI {check.probability_low:.0%} to {check.probability_high:.0%})")
    return lines + [f"\npolicy written to {result.policy_file} (arsim run {args.scenario} --policy {result.policy_file}"
                    f"{'' if result.collectors == scenario.team.collectors else f' --set team.collectors={result.collectors}'})"]
