"""Where the scenarios shipped with arsim are, so notebooks and scripts find them from any working directory.

They live in ``scenarios/`` at the top of the repository, beside ``src/``. A notebook started in another
folder, or an arsim installed elsewhere, points at them with the ``ARSIM_SCENARIOS`` environment variable.
"""

from __future__ import annotations

import os
from pathlib import Path

from arsim.errors import InputError

SCENARIOS_VARIABLE = "ARSIM_SCENARIOS"
"""The environment variable that names the folder of shipped scenarios (overrides the checkout's own)."""


def shipped_scenarios() -> Path:
    """The folder of shipped scenarios: ``$ARSIM_SCENARIOS`` when set, else ``scenarios/`` of the checkout this arsim
    runs from (a source checkout or an editable install); an InputError saying how to point at it otherwise."""
    named = os.environ.get(SCENARIOS_VARIABLE)
    if named:
        folder = Path(named).expanduser()
        if not (folder / "baseline.yaml").is_file():
            raise InputError(f"{SCENARIOS_VARIABLE}={named}: no baseline.yaml there; point it at the scenarios/ folder of an arsim checkout")
        return folder
    folder = Path(__file__).resolve().parents[3] / "scenarios"
    if not (folder / "baseline.yaml").is_file():
        raise InputError(f"the shipped scenarios are not beside this arsim ({folder}); set {SCENARIOS_VARIABLE} to the scenarios/ "
                         "folder of an arsim checkout")
    return folder


def shipped_scenario(name: str | Path) -> Path:
    """The path of a shipped scenario, policy or mapping file by its name within the folder (``baseline.yaml``,
    ``policies/discount-1-10.yaml``); a name that leads outside the folder (``../x``, an absolute path) is refused."""
    if not isinstance(name, (str, Path)) or not str(name).strip():
        raise InputError(f"expected a file name such as 'baseline.yaml', got {name!r}", argument="name")
    shipped = shipped_scenarios()
    # Judged on the name itself, not on where links lead: a folder of links (an installed or deployed copy) is
    # still the shipped folder.
    relative = os.path.normpath(str(name))
    if os.path.isabs(relative) or relative == ".." or relative.startswith(".." + os.sep):
        raise InputError(f"{str(name)!r} is outside the shipped scenarios folder; give a name within it, such as 'baseline.yaml'",
                         argument="name")
    path = shipped / relative
    if not path.is_file():
        available = sorted(p.relative_to(shipped).as_posix() for p in shipped.rglob("*.yaml"))
        raise InputError(f"no shipped file {str(name)!r}; there are {available}", argument="name")
    return shipped / name
