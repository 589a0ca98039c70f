"""Calibrate a scenario on one ledger (or its part before a date), simulate, and compare with a test period.

Usage (from the repository root; SAP_ITEMS.csv.gz is the public SAP FI-AR cleared-items export and
IBM_SAMPLE.csv the IBM accounts-receivable sample described in docs/domain.md, wherever you keep them):

    python benchmarks/validate_calibration.py \
        --fit SAP_ITEMS.csv.gz --test SAP_ITEMS.csv.gz \
        --split 2018-05-01 --mapping scenarios/mappings/sap.yaml --drop-invalid
    # the required columns alone (customer, amount, due date, paid date, item type):
    python benchmarks/validate_calibration.py \
        --fit SAP_ITEMS.csv.gz --test SAP_ITEMS.csv.gz \
        --split 2018-05-01 --drop-invalid --map KUNNR=customer_id --map VALUE_EUR=amount --map DUE_DATE=due_date \
        --map PAYMENT_DATE=paid_date --map TBSLT_LTEXT=item_type
    python benchmarks/validate_calibration.py \
        --fit IBM_SAMPLE.csv \
        --test IBM_SAMPLE.csv \
        --split 2013-07-01 --mapping scenarios/mappings/ibm.yaml

With --split, the fit uses the invoices of --fit due before the date and the test uses those of --test due on
or after it (an out-of-time check). The fitted scenario is then simulated over the test period (calendar
moved so its due dates cover it, same customers and behaviour) and the simulated invoices due in the test
period are compared with the observed ones. Targets (ISSUE 4): share late within 3 points, share > 30 days
late within 1.5 points, days-late p75/p90/p95 within 3 days and p99 within 10, both persistence probabilities within 0.05; where the
ledger has the columns: DSO within 10%, disputed/undisputed and paper/electronic late shares within 5 points.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from arsim.ledger.calibrate.fit import calibration_bounds, fit_ledger
from arsim.ledger.calibrate.moments import (
    SMM_MAX_INVOICES,
    WARMUP_DAYS,
    mean_monthly_dso,
    replications_for,
    simulated_invoices,
    tail_days,
)
from arsim.ledger.calibrate.report import comparison_rows
from arsim.ledger.read import LedgerError, LedgerMapping, load_mapping, read_ledger
from arsim.measure.lateness import payment_statistics
from arsim.scenario.schema import validate_scenario


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", type=Path, required=True, help="ledger to calibrate on")
    parser.add_argument("--test", type=Path, required=True, help="ledger to compare with (may be the same file)")
    parser.add_argument("--split", help="fit on invoices due before this date, test on those due on or after it")
    parser.add_argument("--mapping", help="mapping YAML for both ledgers")
    parser.add_argument("--map", action="append", default=[], metavar="SOURCE=canonical",
                        help="map a column (repeatable), instead of or on top of --mapping")
    parser.add_argument("--drop-invalid", action="store_true", help="leave out rows with problems")
    parser.add_argument("--segments", default="auto", help="auto or a number of behaviour groups")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--replications", type=int, help="replications pooled in the test simulation (default: to ~50,000 invoices)")
    parser.add_argument("--smm-invoices", type=int, default=SMM_MAX_INVOICES, help="invoices of each fitting simulation")
    args = parser.parse_args(argv)

    mapping = load_mapping(args.mapping) if args.mapping else LedgerMapping()
    columns = dict(mapping.columns)
    for item in args.map:
        source, _, canonical = item.partition("=")
        columns[source.strip()] = canonical.strip()
    mapping = LedgerMapping(columns=columns, date_format=mapping.date_format)
    try:
        fit = read_ledger(args.fit, mapping=mapping, drop_invalid=args.drop_invalid)
        test = fit if args.test == args.fit else read_ledger(args.test, mapping=mapping, drop_invalid=args.drop_invalid)
    except LedgerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.split:
        split = pd.Timestamp(args.split)
        fit = fit[fit["due_date"] < split].reset_index(drop=True)
        test = test[test["due_date"] >= split].reset_index(drop=True)
    started = time.perf_counter()
    segments = args.segments if args.segments == "auto" else int(args.segments)
    calibration = fit_ledger(fit, segments=segments, seed=args.seed, smm_invoices=args.smm_invoices)
    fit_seconds = time.perf_counter() - started

    observed_rows = test[test["paid_date"].notna()]
    window = (observed_rows["due_date"].min(), observed_rows["due_date"].max())
    scenario = _over_window(calibration.scenario, window, tail=tail_days(observed_rows))
    replications = args.replications or replications_for(len(observed_rows))
    simulated = simulated_invoices(scenario, window=window, replications=replications)
    observed_stats = payment_statistics(test)
    simulated_stats = payment_statistics(simulated)
    has_invoice_dates = test["invoice_date"].notna().any()
    observed_dso = mean_monthly_dso(test) if has_invoice_dates else None
    simulated_dso = mean_monthly_dso(simulated) if has_invoice_dates else None

    print(f"fit:  {args.fit.name}: {len(fit):,} rows" + (f" due before {args.split}" if args.split else "")
          + f"; calibrated in {fit_seconds:.0f} s, {len(calibration.scenario.portfolio.segments)} segment(s)")
    print(f"test: {args.test.name}: {len(test):,} rows due {window[0]:%Y-%m-%d} .. {window[1]:%Y-%m-%d}; "
          f"simulated {len(simulated):,} invoices due in that window ({replications} replication(s) pooled, seed {args.seed})")
    print()
    print(f"  {'statistic':<36}{'observed':>10}{'simulated':>11}")
    for label, observed, sim in comparison_rows(observed_stats, simulated_stats):
        print(f"  {label:<36}{observed:>10}{sim:>11}")
    if observed_dso is not None:
        print(f"  {'DSO (mean of monthly)':<36}{observed_dso:>10.1f}{simulated_dso:>11.1f}")
    for line in calibration_bounds(calibration.scenario):
        print(f"  at a bound: {line}")
    print()
    print("targets:")
    for line in _targets(observed_stats, simulated_stats, observed_dso, simulated_dso):
        print(f"  {line}")
    return 0


def _over_window(scenario, window, *, tail: int):
    """The fitted scenario with its calendar moved so its simulated due dates cover the test window, watched
    `tail` days after it (as long as the test ledger watched its invoices)."""
    data = scenario.model_dump(mode="json")
    terms = max(s["terms_days"] for s in data["portfolio"]["segments"])
    start = window[0] - pd.Timedelta(days=terms + WARMUP_DAYS)
    data["calendar"]["start_date"] = start.date().isoformat()
    data["run"]["warmup_days"] = WARMUP_DAYS
    data["run"]["horizon_days"] = int((window[1] - window[0]).days + 1 + terms + tail)
    return validate_scenario(data, source="validate")


def _targets(observed, simulated, observed_dso, simulated_dso) -> list[str]:
    checks = []

    def check(label, o, s, tolerance, unit, scale=1.0):
        if o is None or s is None:
            checks.append(f"{label:<44} n/a (not in the ledger)")
            return
        diff = (s - o) * scale
        verdict = "met" if abs(diff) <= tolerance else "MISSED"
        checks.append(f"{label:<44} diff {diff:+7.2f} {unit:<7} (target +-{tolerance:g}) {verdict}")

    check("share late", observed["share_late"], simulated["share_late"], 3, "points", 100)
    check("share > 30 days late", observed["share_late_over_30"], simulated["share_late_over_30"], 1.5, "points", 100)
    for q, tolerance in (("p75", 3), ("p90", 3), ("p95", 3), ("p99", 10)):
        check(f"{q} days late", observed["days_late_quantiles"][q], simulated["days_late_quantiles"][q], tolerance, "days")
    check("P(late | previous late)", observed["p_late_given_prev_late"], simulated["p_late_given_prev_late"], 0.05, "")
    check("P(late | previous on time)", observed["p_late_given_prev_on_time"], simulated["p_late_given_prev_on_time"], 0.05, "")
    if observed_dso is not None and simulated_dso is not None:
        check("DSO (relative, %)", 0.0, (simulated_dso - observed_dso) / observed_dso, 10, "%", 100)
    for key in ("share_late_disputed", "share_late_undisputed", "share_late_paper", "share_late_electronic"):
        if observed[key] is not None:
            check(key, observed[key], simulated[key], 5, "points", 100)
    return checks


if __name__ == "__main__":
    sys.exit(main())
