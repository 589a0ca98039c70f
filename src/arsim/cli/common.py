"""What every command group shares: the parser class, option types, --set and value-list parsing, the
options of simulating commands and their pre-flight checks, number formatting and table printing.

Nothing here imports numpy, pandas or the scenario schema at import time: `arsim --help` builds every
command's parser, and it must start at once. Heavy modules are imported inside the functions that use them.
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from arsim.errors import InputError

# ---------------------------------------------------------------------------------------------- the parser

_FORMAT_FIELD = re.compile(r"%(?!\((?:prog|default|type|choices|dest|metavar|required|help)\)[sdr])")


def literal_percent(text: str) -> str:
    """Help text with every ``%`` doubled except argparse's own ``%(default)s``-style fields.

    argparse formats help texts with ``%``, so a plain "95% CI" in a help text crashed `arsim --help` with
    ``TypeError: %c requires int or char``; help texts are therefore written as plain text and escaped here,
    in one place (`HelpFormatter`), instead of by hand in every string.
    """
    return _FORMAT_FIELD.sub("%%", text)


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, reading every help text (options, commands, groups) as plain text (see `literal_percent`)."""

    def _expand_help(self, action: argparse.Action) -> str:
        if action.help and "%" in action.help:
            action = _with_help(action, literal_percent(action.help))
        return super()._expand_help(action)


def _with_help(action: argparse.Action, text: str) -> argparse.Action:
    action = copy.copy(action)
    action.help = text
    return action


class Parser(argparse.ArgumentParser):
    """argparse with plain-text help texts, and usage errors as one-line InputErrors (exit 2 like every input error).

    A bad option value reads ``--seed: expected a whole number, got 'x'``, like the library's errors translated
    to flags, rather than argparse's ``argument --seed: ...``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def add_subparsers(self, **kwargs: Any):  # type: ignore[override]
        """Subcommands are Parsers too, so their errors and help texts behave the same."""
        kwargs.setdefault("parser_class", Parser)
        return super().add_subparsers(**kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        """Raise instead of printing the usage and exiting, so `main` prints every error the same way."""
        if message.startswith("argument COMMAND: invalid choice: "):
            raise InputError("unknown command " + message[len("argument COMMAND: invalid choice: "):])
        if message.startswith("argument "):  # "argument --seed: ..." -> "--seed: ..."
            raise InputError(message[len("argument "):])
        raise InputError(f"{self.prog}: {message}" if " " in self.prog else message)


# ---------------------------------------------------------------------------------------------- option types


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum``, so mistakes are caught while parsing."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


positive = whole_number(1)
non_negative = whole_number(0)


def number(text: str) -> float:
    """An argparse type: a finite decimal number; range checks are left to the library, which names the argument."""
    try:
        value = parse_number(text, option="")
    except InputError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def fraction(text: str) -> float:
    """An argparse type: a number strictly between 0 and 1, such as a relative precision of 0.02."""
    value = number(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must lie between 0 and 1, got {text}")
    return value


def whole_or_auto(text: str) -> int | str:
    """An argparse type: ``auto`` or a whole number >= 1 (replications, calibration segments)."""
    return "auto" if text.strip().lower() == "auto" else positive(text)


def command_line(argv: Sequence[str]) -> str:
    """The command line as typed, for the manifest, so a results folder says how to make it again."""
    return "arsim " + " ".join(shlex.quote(a) for a in argv)


# ---------------------------------------------------------------------------------------------- --set and values


def parse_assignments(items: Sequence[str], *, option: str = "--set") -> dict[str, object]:
    """``path.to.field=value`` pairs; values are read as YAML scalars (numbers, true/false, null, lists),
    so ``--set`` takes the same spellings as the scenario file."""
    from arsim.scenario.yaml_text import parse_yaml

    assignments: dict[str, object] = {}
    for item in items:
        path, sep, text = item.partition("=")
        if not sep or not path.strip():
            raise InputError(f"{option} {item!r}: expected path.to.field=value")
        assignments[path.strip()] = parse_yaml(text, source=f"{option} {item!r}", lines=False) if text.strip() else ""
    return assignments


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_number(text: str, *, option: str) -> float:
    """A number from the command line, or an InputError naming the option (not nan or inf, which YAML and
    float() would both accept)."""
    text = text.strip()
    if not _NUMBER.match(text):
        raise InputError(f"{option}: {text!r} is not a number")
    return float(text)


def parse_values(text: str, *, option: str) -> list[Any]:
    """Values of a sweep or capacity axis: ``2,3,4`` (YAML scalars), or a range ``start:stop[:step]`` with
    stop included, so that ``1:2:0.5`` reads as the three values a user means.

    A range must be numeric with a positive step and stop >= start; a list must not be empty.
    """
    from arsim.scenario.yaml_text import parse_yaml

    text = text.strip()
    if not text:
        raise InputError(f"{option}: empty list of values")
    if ":" in text and "," not in text:
        parts = text.split(":")
        if len(parts) not in (2, 3) or any(not p.strip() for p in parts):
            raise InputError(f"{option}: bad range {text!r}; expected start:stop or start:stop:step")
        start, stop = parse_number(parts[0], option=option), parse_number(parts[1], option=option)
        step = parse_number(parts[2], option=option) if len(parts) == 3 else 1.0
        if step <= 0:
            raise InputError(f"{option}: range step must be positive, got {parts[2].strip()}")
        if stop < start:
            raise InputError(f"{option}: empty range {text!r} (stop is below start)")
        count = math.floor((stop - start) / step + 1e-9) + 1
        if count > 10_000:
            raise InputError(f"{option}: range {text!r} has {count} values; at most 10000")
        values = [round(start + i * step, 10) for i in range(count)]
        integral = all(float(p).is_integer() for p in (start, step))
        return [int(v) for v in values] if integral else values
    items = [item.strip() for item in text.split(",")]
    if any(not item for item in items):
        raise InputError(f"{option}: empty value in {text!r}")
    return [parse_yaml(item, source=f"{option} {item!r}", lines=False) for item in items]


def parse_param(text: str) -> tuple[str, list[Any]]:
    """``path.to.field=values`` of ``--param`` into the path and its list of values (see `parse_values`)."""
    path, sep, values = text.partition("=")
    if not sep or not path.strip():
        raise InputError(f"--param {text!r}: expected path.to.field=v1,v2,... or path.to.field=start:stop:step")
    return path.strip(), parse_values(values, option=f"--param {path.strip()}")


def load(args: argparse.Namespace):
    """The scenario named on the command line, with its --policy and --set overrides applied."""
    from arsim.scenario.files import load_scenario

    scenario = load_scenario(args.scenario, policy=getattr(args, "policy", None))
    if getattr(args, "set", None):
        scenario = scenario.with_overrides(parse_assignments(args.set))
    return scenario


def kpi_list(text: str | None, *, default: Sequence[str], option: str = "--kpis") -> list[str]:
    """The KPIs named in ``--kpis``, checked before anything runs (a typo must not cost a simulation)."""
    from arsim.measure.simulated import KPI_KEYS

    if not text:
        return list(default)
    kpis = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kpis if k not in KPI_KEYS]
    if unknown or not kpis:
        raise InputError(f"{option}: unknown KPI(s) {unknown}; see the KPI table in README.md")
    return kpis


# ---------------------------------------------------------------------------------------------- simulating commands

COMMON_FLAGS: Mapping[str, str] = {
    "jobs": "--jobs",
    "cluster": "--cluster",
    "seed": "--seed",
    "replications": "--replications",
    "assignments": "--set",
}
"""Library argument -> flag, for the options every simulating command shares (see `flag_of`)."""


def add_run_options(
    parser: argparse.ArgumentParser, *, out: str, what: str, set_help: str = "override a field, e.g. team.collectors=4 (repeatable)",
    jobs_help: str = "worker processes (results do not depend on it)",
) -> None:
    """The options every simulating command shares, so they are spelled and explained the same everywhere:
    --seed, --set, --out, --json, --jobs, --cluster."""
    parser.add_argument("--seed", type=non_negative, help="seed (default: the scenario's)")
    parser.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help=set_help)
    parser.add_argument("--out", help=f"results folder (default: {out})")
    parser.add_argument("--json", action="store_true", help=f"print one JSON object instead of {what}")
    parser.add_argument("--jobs", type=positive, default=1, help=jobs_help)
    parser.add_argument("--cluster", metavar="tcp://HOST:PORT",
                        help="run the replications on this Dask scheduler's workers instead of here (needs arsim[cluster]; "
                             "results do not depend on it; not with --jobs)")


def check_executor(args: argparse.Namespace) -> None:
    """Refuse --cluster with --jobs > 1 before anything is loaded: the two name different executors, and
    silently ignoring one would run the work somewhere the user did not ask for."""
    if args.cluster is not None and args.jobs > 1:
        raise InputError(f"--cluster and --jobs {args.jobs}: choose one (--jobs sets local worker processes; "
                         "a cluster's workers are its own)")
    if args.cluster is not None:
        from arsim.experiment.executors import check_scheduler_address  # light: no dask until a cluster runs

        check_scheduler_address(args.cluster)


"""A Dask scheduler address: tcp://HOST:PORT (or another of Dask's schemes, or HOST:PORT). Checked here because
a malformed one otherwise fails inside Dask, which then also prints a traceback at exit."""


def results_folder(args: argparse.Namespace, default_name: str) -> Path:
    """The folder a simulating command will write (--out, or results/<default_name>), checked before any
    simulation, so a run of hours does not end in "cannot write"; nothing is written here."""
    from arsim.files import check_writable_folder

    if args.out:
        folder = check_writable_folder(args.out, what="--out")
    else:
        folder = check_writable_folder(Path("results") / default_name, what="the default --out")
    check_inputs_outside(args, folder)
    return folder


def check_inputs_outside(args: argparse.Namespace, folder: Path) -> None:
    """Refuse a results folder that holds one of the command's own input files (the scenario, a policy, a space
    or mapping file): the folder is replaced as a whole, which would delete the input. Every option naming an
    existing file is checked, so a new option is covered without a list to keep."""
    target = Path(os.path.realpath(folder))  # (a link to a results folder is the folder that gets replaced)
    for name, value in sorted(vars(args).items()):
        if name in ("out", "argv", "handler", "flags"):
            continue
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if not isinstance(item, (str, Path)) or not str(item) or "\0" in str(item):
                continue
            path = Path(os.path.realpath(item))
            try:
                is_file = path.is_file()
            except OSError:
                continue
            if is_file and target in path.parents:
                shown = "the default --out" if not getattr(args, "out", None) else "--out"
                raise InputError(f"{shown} {folder}: holds the input file {item}, which writing the folder would delete; "
                                 "choose another folder or move the file")


def check_memory(scenarios: Sequence[Any], *, args: argparse.Namespace, items: int) -> None:
    """Refuse scenarios whose replications would not fit in this machine's memory, before any simulation.

    ``items`` is the number of replications the command runs: no more than that run at once. On a cluster
    the replications run on its workers, whose memory this machine cannot see, so nothing is checked.
    """
    if args.cluster is not None:
        return
    try:
        from arsim.sim.footprint import check_fits_in_memory
    except ImportError:  # pragma: no cover - the memory estimate is not part of every checkout
        return
    workers = max(1, min(args.jobs, items))
    for scenario in scenarios:
        check_fits_in_memory(scenario, workers=workers)


def flag_of(argument: str, flags: Mapping[str, str]) -> str:
    """The command line's spelling of a library argument (``sla_target`` -> ``--sla-target``); the argument's
    own name when the command has no such flag, so the message still names something real."""
    return flags.get(argument) or COMMON_FLAGS.get(argument) or argument


# ---------------------------------------------------------------------------------------------- printing


def format_number(value: float | None) -> str:
    """A number for a table: thousands separators for money, three decimals for small values, "-" for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1 or magnitude == 0:
        return f"{value:.3f}"
    return f"{value:.3g}"  # shares and ratios: three significant digits


def print_table(frame, columns: list[tuple]) -> None:
    """Rows of a DataFrame as a fixed-width table: (column, heading, width[, format spec such as "g"]).

    Text is left as it is, booleans read yes/no, whole-number columns print as integers and the rest through
    `format_number` unless a format spec is given.
    """
    print("".join(f"{spec[1]:>{spec[2]}}" if i else f"{spec[1]:<{spec[2]}}" for i, spec in enumerate(columns)))
    for row in frame.to_dict(orient="records"):
        cells = []
        for i, (column, _, width, *fmt) in enumerate(columns):
            value = row[column]
            if isinstance(value, str):
                text = value
            elif isinstance(value, bool):
                text = "yes" if value else "no"
            elif fmt and value is not None and not _is_nan(value):
                text = format(value, fmt[0])
            elif frame[column].dtype.kind in "iu":
                text = str(int(value))
            else:
                text = format_number(value)
            cells.append(f"{text:>{width}}" if i else f"{text:<{width}}")
        print("".join(cells))


def _is_nan(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


def plural(count: int, word: str) -> str:
    """``1 replication``, ``2 replications``: counts in messages read as English."""
    return f"{count} {word}{'s' if count != 1 else ''}"
