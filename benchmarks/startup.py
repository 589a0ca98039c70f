"""How fast the command line answers: `arsim --help`, `arsim validate`, `arsim --version`, against importing pandas.

Each command runs as a fresh process, the way a user starts it, several times; the best run is printed
(the others measure the machine's noise: disk cache, scheduling). Two references run the same way: a bare
interpreter (`python -c pass`, the floor no command can beat) and `python -c "import pandas"`, what every
command paid before the heavy libraries were imported only by the commands that use them.

    python benchmarks/startup.py              # best of 15 runs each
    python benchmarks/startup.py --runs 30
    python benchmarks/startup.py --as-is      # keep PYTHONDONTWRITEBYTECODE and friends as they are

By default the processes keep compiled bytecode in a temporary folder (PYTHONPYCACHEPREFIX), filled by a
first run that is not counted, as an installed package has its .pyc files; with PYTHONDONTWRITEBYTECODE=1
and no cache every run would compile arsim's sources again and measure the compiler instead.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def arsim_command() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m arsim.cli`` (the same main())."""
    script = Path(sys.executable).with_name("arsim")
    return [str(script)] if script.exists() else [sys.executable, "-m", "arsim.cli"]


def best_seconds(command: list[str], *, runs: int, env: dict[str, str]) -> float:
    """The shortest wall time of ``runs`` fresh processes (after one warm-up run that fills the caches)."""
    subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    """Parse the options and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per command (default 15)")
    parser.add_argument("--as-is", action="store_true", help="run with this environment unchanged (no bytecode cache folder)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="arsim-startup-") as cache:
        env = dict(os.environ)
        if not options.as_is:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = cache
        measure(options.runs, env, cached=not options.as_is)


def measure(runs: int, env: dict[str, str], *, cached: bool) -> None:
    """Time every case and print the table."""
    arsim = arsim_command()
    cases = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("arsim --version", [*arsim, "--version"]),
        ("arsim --help", [*arsim, "--help"]),
        ("arsim validate scenarios/baseline.yaml", [*arsim, "validate", "scenarios/baseline.yaml"]),
        ('python -c "import pandas"', [sys.executable, "-c", "import pandas"]),
    ]
    how = "bytecode cached in a temporary folder" if cached else "environment as is"
    print(f"best of {runs} fresh processes each ({' '.join(arsim)}; Python {sys.version.split()[0]}; {how})")
    results = {label: best_seconds(command, runs=runs, env=env) for label, command in cases}
    pandas = results['python -c "import pandas"']
    width = max(len(label) for label in results)
    for label, seconds in results.items():
        print(f"{label:<{width}}  {1000 * seconds:7.1f} ms  {seconds / pandas:5.2f} x import pandas")


if __name__ == "__main__":
    main()
