"""The `arsim` command: the parser assembled from the command groups, dispatch, error handling, the entry point.

The command groups live in their own modules (`run`: run, validate, fields; `whatif`: compare, sweep,
capacity; `ledger`: kpis, calibrate; `report`: report and --report; `common`: what they share). Building the parser imports none of
numpy, pandas, scipy, altair or simpy, so `arsim --help`, `arsim --version` and `arsim validate` start at
once; each handler imports what it needs.

Exit codes: 0 done; 2 bad input (one line ``arsim: error: ...`` on stderr, nothing written); 130 interrupted
(Ctrl-C); 141 when the reader of stdout went away (``arsim fields | head -1``). 141 is what a shell reports
for a program killed by SIGPIPE (128 + 13), as ``cat`` or ``yes`` would be in the same pipe: the output was
cut short, and a script with ``set -o pipefail`` should see that, yet nothing is printed about it.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence

from arsim import __version__
from arsim.cli import ledger, optimize, report, run, whatif
from arsim.cli.common import Parser, flag_of
from arsim.errors import InputError

BAD_INPUT_EXIT = 2
INTERRUPTED_EXIT = 130
BROKEN_PIPE_EXIT = 141
"""128 + SIGPIPE: the exit status of a program the shell saw die of a closed pipe."""


class _Version(argparse.Action):
    """``--version``: the version and which engine runs (compiled or python), looked up only when asked, so that
    no other command pays for checking the engine's build on start-up."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, default: str = argparse.SUPPRESS) -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help="show the version and the engine, and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object, option_string: str | None = None) -> None:
        from arsim.sim import engine

        print(f"{parser.prog} {__version__} ({engine()} engine)")
        parser.exit()


def build_parser() -> Parser:
    """The whole command line: every command group's parser under one ``arsim``."""
    parser = Parser(prog="arsim", description="Simulate B2B receivables and collections policy.",
                    epilog="Run 'arsim COMMAND --help' for a command's options.")
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands", required=True)
    run.add_commands(commands)
    whatif.add_commands(commands)
    ledger.add_commands(commands)
    report.add_commands(commands)
    optimize.add_commands(commands)
    return parser


def error_message(error: InputError, flags: dict[str, str] | None) -> str:
    """An input error as the shell user reads it: a library argument (``sla_target``) becomes the command's flag
    (``--sla-target``), so the message names what was typed."""
    if error.argument and flags is not None:
        return f"{flag_of(error.argument, flags)}: {error.detail}"
    return str(error)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``arsim`` command; returns the exit code (see the module docstring)."""
    as_command = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    flags = None
    try:
        parser = build_parser()
        if not argv:
            sys.stderr.write(parser.format_help())
            return BAD_INPUT_EXIT
        try:
            args = parser.parse_args(argv)
        except SystemExit as done:  # --help and --version print, then exit
            sys.stdout.flush()
            return done.code if isinstance(done.code, int) else 0
        args.argv = argv
        flags = getattr(args, "flags", {})
        code = args.handler(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handling below, not at interpreter exit
        if as_command:
            # The process ends next: move what it allocated out of the collector's reach, so the interpreter
            # does not walk a replication's worth of objects once more on its way out (about 0.25 s).
            gc.freeze()
        return code
    except InputError as error:
        print(f"arsim: error: {error_message(error, flags)}", file=sys.stderr)
        return BAD_INPUT_EXIT
    except BrokenPipeError:
        _discard_stdout()
        return BROKEN_PIPE_EXIT
    except KeyboardInterrupt:
        print("arsim: interrupted", file=sys.stderr)
        return INTERRUPTED_EXIT


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush of what is still buffered does not fail
    again and print "Exception ignored ... BrokenPipeError" (the recipe of the Python docs, signal module)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is not a file (tests capture it): nothing is flushed at exit
        pass


if __name__ == "__main__":
    sys.exit(main())
