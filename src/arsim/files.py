"""Results on disk: single files and whole folders, written so that no reader ever sees half of either.

A results folder is replaced as a whole. Everything is written into a hidden staging sibling
(``.NAME.arsim-PID-TOKEN.new``); only when every file is complete is the staging folder swapped in, with
one atomic ``renameat2(RENAME_EXCHANGE)`` on Linux, or two renames elsewhere. An interrupted or failing
write leaves the previous folder exactly as it was: the staging folder is removed on any exception
(KeyboardInterrupt included), and what a killed process leaves behind (SIGKILL runs no clean-up) is
removed, or put back, by the next write to the same place.

Files get the permissions the user's umask gives (``tempfile.mkstemp`` alone would make them 0600), and
gzip output carries no timestamp or file name in its header, so the same numbers give the same bytes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gzip
import io
import json
import math
import os
import secrets
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

_STAGING_MARK = ".arsim-"
_RENAME_EXCHANGE = 2  # from linux/fs.h
_AT_FDCWD = -100


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """Permissions of a new file under the current umask (0644 with the usual umask 022)."""
    return 0o666 & ~_umask()


def atomic_write(path: str | Path, write: Callable[[str], Any]) -> Path:
    """Write a file through a temporary sibling and rename it into place, so no reader sees half a file.

    ``write(temporary_path)`` writes the content; on any exception the temporary file is removed and the
    previous file, if any, is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(temporary)
        os.chmod(temporary, file_mode())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def json_text(data: Any) -> str:
    """Indented JSON with numpy and pandas scalars converted; NaN and infinities are refused."""
    return json.dumps(data, indent=2, default=_json_default, allow_nan=False) + "\n"


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_json(path: str | Path, data: Any) -> Path:
    """A JSON file, written whole (the text is built before the file is touched)."""
    text = json_text(data)
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_text(path: str | Path, text: str) -> Path:
    """A text file, written whole."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_csv(path: str | Path, frame, **options: Any) -> Path:
    """A CSV file from a DataFrame, gzip-compressed (reproducibly) when the name ends in .gz."""
    path = Path(path)
    if path.suffix == ".gz":
        text = frame.to_csv(**options)
        return atomic_write(path, lambda tmp: Path(tmp).write_bytes(gzip_bytes(text.encode("utf-8"))))
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, **options))


def gzip_bytes(data: bytes, *, level: int = 6) -> bytes:
    """gzip with a zero timestamp and no file name in the header: equal input, equal bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=level, mtime=0) as stream:
        stream.write(data)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------- whole folders


def check_writable_folder(folder: str | Path, *, what: str = "--out") -> Path:
    """Fail early (before any simulation) when a results folder could not be written.

    Raises InputError when the path is an existing file, or when the nearest existing parent is not a
    writable folder.
    """
    from arsim.errors import InputError

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{what} {folder}: is an existing file, not a folder")
    parent = folder
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{what} {folder}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{what} {folder}: {parent} is not writable")
    return folder


@contextmanager
def replacing_folder(folder: str | Path) -> Iterator[Path]:
    """Yield an empty staging folder; on success it replaces ``folder`` as a whole, on failure it vanishes.

    Leftovers of writes to the same place that were killed are cleaned up first: a staging folder of a
    dead process is removed, and a previous folder that a killed swap had moved aside is put back.
    """
    folder = Path(folder)
    parent = folder.parent
    parent.mkdir(parents=True, exist_ok=True)
    recover_folder(folder)
    token = f"{_STAGING_MARK}{os.getpid()}-{secrets.token_hex(4)}"
    staging = parent / f".{folder.name}{token}.new"
    staging.mkdir(mode=0o777)
    try:
        yield staging
        _swap_in(staging, folder, aside=parent / f".{folder.name}{token}.old")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap_in(staging: Path, folder: Path, *, aside: Path) -> None:
    if not folder.exists():
        os.rename(staging, folder)
        return
    if _exchange(staging, folder):
        shutil.rmtree(staging, ignore_errors=True)  # it now holds the previous folder
        return
    os.rename(folder, aside)  # a kill between these two renames is repaired by recover_folder
    os.rename(staging, folder)
    shutil.rmtree(aside, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where the system cannot."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    return renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_folder(folder: str | Path) -> None:
    """Clean up after killed writes to ``folder``: drop dead staging folders, put back a folder moved aside."""
    folder = Path(folder)
    parent = folder.parent
    if not parent.is_dir():
        return
    prefix = f".{folder.name}{_STAGING_MARK}"
    for entry in sorted(parent.iterdir()):
        if not entry.name.startswith(prefix):
            continue
        pid_text = entry.name[len(prefix):].split("-", 1)[0]
        if not pid_text.isdigit() or _pid_alive(int(pid_text)):
            continue
        if entry.name.endswith(".old") and not folder.exists():
            os.rename(entry, folder)  # the swap was killed after moving the previous folder aside
        else:
            shutil.rmtree(entry, ignore_errors=True)
