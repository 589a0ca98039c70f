"""Results on disk: single files and whole folders, written so that no reader ever sees half of either.

A results folder is replaced as a whole. Everything is written into a hidden staging sibling
(``.NAME.arsim-PID-TOKEN.new``); only when every file is complete is the staging folder swapped in, with
one atomic ``renameat2(RENAME_EXCHANGE)`` on Linux, or two renames elsewhere. So at every moment the path
holds either the previous folder exactly as it was, or the new one complete:

- a failing write (any exception, KeyboardInterrupt included) removes its staging folder and leaves the
  previous folder untouched;
- SIGINT, SIGTERM and SIGHUP are held back for the few system calls that set up, swap and clean up (they
  take effect right after), so a Ctrl-C leaves no temporary file and never interrupts a swap half-way;
- SIGKILL (or SIGTERM outside those calls, or a power cut) runs no clean-up: its staging folder,
  half-written temporary files, or, where the swap takes two renames and the kill fell between them, the
  previous folder moved aside, stay behind. The next write to the same place (or `recover_folder`) removes
  them, or puts the previous folder back.

An existing folder that is not empty and holds no ``manifest.json`` is not replaced (InputError): a
mistyped ``--out`` must not delete someone's data.

A writer holds an exclusive ``flock`` on its staging folder (and temporary file) while it lives; the kernel
drops the lock when the process dies, however it dies. A leftover whose lock can be taken is therefore
dead, even if its process id has since been reused, and a live writer's staging folder is never touched.
Where locks are unavailable (no ``fcntl``, some network file systems) the process id in the name decides.

Files get the permissions the user's umask gives (they are created with mode 0666 and the kernel applies
the umask, not the 0600 of ``tempfile.mkstemp``), and gzip output carries no timestamp or file name in its
header, so the same numbers give the same bytes (with the same zlib).
"""

from __future__ import annotations

import ctypes
import errno
import functools
import gzip
import hashlib
import io
import json
import math
import os
import re
import secrets
import shutil
import signal
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None  # type: ignore[assignment]

_MARK = ".arsim-"
_LEFTOVER = re.compile(r"(\d+)-([0-9a-f]{8})\.(new|old|tmp|probe)")  # what follows .NAME.arsim- in a leftover's name
_RENAME_EXCHANGE = 2  # from linux/fs.h
_AT_FDCWD = -100
_HELD_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
MARKER = "manifest.json"
"""The file every results folder holds; an existing folder without it is not replaced (it may be someone's data)."""


def _umask() -> int:
    try:  # Linux: read it, rather than set and reset it (which races with other threads creating files)
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """Permissions of a new file under the current umask (0644 with the usual umask 022)."""
    return 0o666 & ~_umask()


# ---------------------------------------------------------------------------------------------- signals and locks


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold back SIGINT, SIGTERM and SIGHUP in this thread; one that arrived meanwhile takes effect on leaving."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not on POSIX
        yield
        return
    # CPython runs the Python handlers of signals that arrived before the mask changed from inside
    # pthread_sigmask, so a pending KeyboardInterrupt is raised here, on entry, and never inside the block.
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, _HELD_SIGNALS)
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _lock(path: Path, *, wait: bool) -> int | None:
    """An exclusive flock on a file or folder: its descriptor; None when another process holds the lock;
    -1 when this file system (or system) has no such locks. OSError when the path cannot be opened."""
    if fcntl is None:  # pragma: no cover - not on POSIX
        return -1
    descriptor = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(descriptor)
        return None
    except OSError:
        os.close(descriptor)
        return -1
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _is_same(path: Path, descriptor: int) -> bool:
    """True when ``path`` still names the file or folder open as ``descriptor``."""
    try:
        now = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    mine = os.fstat(descriptor)
    return (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino)


def _claim(path: Path) -> int | None:
    """Lock a file or folder this process has just created: its descriptor (-1 where there are no locks), or
    None when another process's clean-up took it for a dead writer's and removed it meanwhile."""
    try:
        descriptor = _lock(path, wait=True)
    except FileNotFoundError:
        return None
    if descriptor is None or descriptor < 0 or _is_same(path, descriptor):
        return -1 if descriptor is None else descriptor
    os.close(descriptor)
    return None


def _release(descriptor: int | None) -> None:
    if descriptor is not None and descriptor >= 0:
        os.close(descriptor)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process's own leftovers are handled by its own clean-up, never left for recovery
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _key(name: str) -> str:
    """The part of a leftover's name that says whose it is (long names shortened, so leftovers fit NAME_MAX,
    which counts bytes: 84 Chinese characters are 252 of them)."""
    if len(os.fsencode(name)) <= 120:
        return name
    head = name[:80]
    while len(os.fsencode(head)) > 80:
        head = head[:-1]
    return f"{head}~{hashlib.sha1(os.fsencode(name)).hexdigest()[:16]}"


def _sibling(path: Path, kind: str) -> Path:
    """A fresh hidden sibling name: .NAME.arsim-PID-TOKEN.KIND (kind: new, old, tmp, or probe for the write check)."""
    return path.parent / f".{_key(path.name)}{_MARK}{os.getpid()}-{secrets.token_hex(4)}.{kind}"


def _remove(path: Path) -> None:
    try:
        if path.is_symlink() or not path.is_dir():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path, ignore_errors=True)
    except OSError:
        pass


# ---------------------------------------------------------------------------------------------- single files


def atomic_write(path: str | Path, write: Callable[[str], Any]) -> Path:
    """Write a file through a temporary sibling and rename it into place, so no reader sees half a file.

    ``write(temporary_path)`` writes the content into an existing empty file (writing into it, not replacing
    it, keeps it locked as a live writer's for the whole write, and its umask permissions). On any
    exception the temporary file is removed and the previous file, if any, is left as it was; temporary files
    of killed writers to the same path are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary: Path | None = None
    descriptor: int | None = None
    try:
        with _signals_held():
            _recover_leftovers(path, kinds=("tmp", "probe"))
            while descriptor is None:
                temporary = _sibling(path, "tmp")
                try:
                    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # the kernel applies the umask
                except FileExistsError:
                    temporary = None
                    continue
                descriptor = _claim(temporary)
        write(str(temporary))
        with _signals_held():
            os.replace(temporary, path)
            temporary = None
            _release(descriptor)
            descriptor = None
    except BaseException:
        with _signals_held():
            if temporary is not None:
                temporary.unlink(missing_ok=True)
            _release(descriptor)
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


def write_bytes(path: str | Path, data: bytes) -> Path:
    """A binary file, written whole."""
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def write_csv(path: str | Path, frame, **options: Any) -> Path:
    """A CSV file from a DataFrame, gzip-compressed (reproducibly) when the name ends in .gz."""
    path = Path(path)
    if path.suffix == ".gz":
        text = frame.to_csv(**options)
        return write_bytes(path, gzip_bytes(text.encode("utf-8")))
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, **options))


def gzip_bytes(data: bytes, *, level: int = 6) -> bytes:
    """gzip with a zero timestamp and no file name in the header: equal input, equal bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=level, mtime=0) as stream:
        stream.write(data)
    return buffer.getvalue()


def gzip_chunks(chunks: Iterable[bytes], *, level: int = 6) -> bytes:
    """`gzip_bytes` of the chunks joined, compressing each chunk in a helper thread while the next is made.

    zlib lets go of the interpreter lock while it compresses, so making the data (numpy, mostly) and
    compressing it share two cores. Equal chunks give equal bytes.
    """
    from concurrent.futures import ThreadPoolExecutor

    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=level, mtime=0) as stream:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="arsim-gzip") as helper:
            pending = None
            for chunk in chunks:
                if pending is not None:
                    pending.result()
                pending = helper.submit(stream.write, chunk)
            if pending is not None:
                pending.result()
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------- whole folders


def _target(folder: str | Path) -> Path:
    """The folder as an absolute path with a name; a symbolic link is followed (its target is replaced)."""
    folder = Path(os.path.abspath(folder))
    if folder.is_symlink():
        folder = Path(os.path.realpath(folder))
    return folder


def _foreign(folder: Path, marker: str | None) -> bool:
    """True when ``folder`` is an existing, non-empty folder without the marker file: not ours to replace."""
    if marker is None or not folder.is_dir() or (folder / marker).exists():
        return False
    return any(True for _ in os.scandir(folder))


def check_writable_folder(folder: str | Path, *, what: str = "--out", marker: str | None = MARKER) -> Path:
    """Fail early (before any simulation) when a results folder could not be written.

    Raises InputError (one line) when the path is an existing file, when it is an existing folder that is
    not empty and has no ``marker`` file (a folder arsim did not write, which a run would delete), or when
    the nearest existing parent is not a writable folder.
    """
    from arsim.errors import InputError

    folder = Path(folder)
    try:
        target = _target(folder)
        target.exists()
    except OSError as error:  # a name too long for the file system, a loop of links
        raise InputError(f"{what} {str(folder)[:80]}: {error.strerror or error.__class__.__name__}") from None
    if target.exists() and not target.is_dir():
        raise InputError(f"{what} {folder}: is an existing file, not a folder")
    if not target.name:
        raise InputError(f"{what} {folder}: cannot replace the root folder")
    if _foreign(target, marker):
        raise InputError(f"{what} {folder}: is a folder with other files and no {marker}, so not a results folder; "
                         "choose a new or empty folder")
    check_can_create(target, what=f"{what} {folder}")
    return folder


def check_can_create(path: str | Path, *, what: str) -> None:
    """Fail early (one line, naming ``what``) unless ``path`` could be created: its nearest existing parent
    must be a writable folder. Missing folders in between are created when the file is written."""
    from arsim.errors import InputError

    path = Path(os.path.abspath(path))
    parent = path.parent
    missing = [path.name]
    while not parent.exists():
        missing.append(parent.name)
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{what}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{what}: {parent} is not writable")
    try:
        longest = os.pathconf(parent, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # pragma: no cover - no pathconf here
        longest = 255
    for name in missing:
        if len(os.fsencode(name)) > longest:
            raise InputError(f"{what}: the name {name[:40]}... is longer than this file system allows ({longest} bytes)")
    # Permission bits do not tell everything (a read-only or virtual file system such as /proc, a full disk
    # of inodes): make and remove a hidden folder where the results would go, as their staging folder will be.
    # It is named as a leftover of this write would be (.NAME.arsim-PID-TOKEN.probe) and made with signals held,
    # so a Ctrl-C never leaves it and the next write removes what a SIGKILL left.
    probe = _sibling(parent / missing[-1], "probe")
    with _signals_held():
        _recover_leftovers(parent / missing[-1], kinds=("probe",))  # a killed check's, where no write will look
        try:
            os.mkdir(probe)
        except OSError as error:
            raise InputError(f"{what}: cannot write in {parent} ({error.strerror or error.__class__.__name__})") from None
        try:
            os.rmdir(probe)
        except OSError:
            pass  # another writer's recovery took it for a dead one's: gone either way


@contextmanager
def replacing_folder(folder: str | Path, *, marker: str | None = MARKER) -> Iterator[Path]:
    """Yield an empty staging folder; on success it replaces ``folder`` as a whole, on failure it vanishes.

    Leftovers of killed writes to the same place are cleaned up first (see `recover_folder`). An existing
    folder that is not empty and holds no ``marker`` file is refused (InputError) rather than replaced;
    ``marker=None`` replaces any folder.
    """
    target = _target(folder)
    check_writable_folder(folder, what="results folder", marker=marker)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging: Path | None = None
    lock: int | None = None
    try:
        with _signals_held():
            recover_folder(target)
            while lock is None:
                staging = _sibling(target, "new")
                try:
                    staging.mkdir(mode=0o777)  # the kernel applies the umask
                except FileExistsError:
                    staging = None
                    continue
                lock = _claim(staging)
        assert staging is not None
        yield staging
        with _signals_held():
            _swap_in(staging, target, marker=marker)
            staging = None
    except BaseException:
        with _signals_held():
            if staging is not None:
                _remove(staging)
        raise
    finally:
        _release(lock)


def _swap_in(staging: Path, folder: Path, *, marker: str | None) -> None:
    """Put the complete staging folder at ``folder``; the previous folder, if any, is removed."""
    if _foreign(folder, marker):  # it became someone else's folder while we were writing
        from arsim.errors import InputError

        raise InputError(f"{folder}: is a folder with other files and no {marker}, so not a results folder; not replaced")
    try:
        os.rename(staging, folder)  # no previous folder, or an empty one (rename replaces an empty folder)
        return
    except OSError as error:
        if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
            raise
    try:  # so that a concurrent recovery never takes the previous folder, once moved aside, for a leftover
        previous = _lock(folder, wait=True)
    except OSError:
        previous = None
    try:
        if _exchange(staging, folder):
            _remove(staging)  # it now holds the previous folder
            return
        aside = _sibling(folder, "old")
        os.rename(folder, aside)  # a kill between these two renames is repaired by recover_folder
        try:
            os.rename(staging, folder)
        except BaseException:
            os.rename(aside, folder)
            raise
        _remove(aside)
    finally:
        _release(previous)


@functools.cache
def _renameat2() -> Callable[..., int] | None:
    """libc's renameat2, where there is one (Linux, glibc 2.28 or later)."""
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2  # the C library the interpreter is linked with
    except (OSError, AttributeError, TypeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where the system cannot."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
        return False  # this file system (or kernel, or sandbox) cannot exchange: fall back to two renames
    raise OSError(code, os.strerror(code), str(b))


def _leftovers(path: Path) -> list[tuple[Path, str, int]]:
    """(entry, kind, pid) of every staging folder, aside folder or temporary file left for ``path``."""
    prefix = f".{_key(path.name)}{_MARK}"
    found = []
    try:
        entries = sorted(os.scandir(path.parent), key=lambda e: e.name)
    except OSError:
        return []
    for entry in entries:
        if entry.name.startswith(prefix):
            match = _LEFTOVER.fullmatch(entry.name[len(prefix):])
            if match:
                found.append((Path(entry.path), match.group(3), int(match.group(1))))
    return found


def _take_if_dead(entry: Path, pid: int) -> tuple[bool, int | None]:
    """(dead, lock): whether the writer that left ``entry`` is gone, and the lock taken on it to clean it up."""
    try:
        descriptor = _lock(entry, wait=False)
    except FileNotFoundError:
        return False, None  # its writer finished with it meanwhile
    except OSError:
        descriptor = -1
    if descriptor is None:
        return False, None  # its writer is alive
    if descriptor < 0:
        return not _pid_alive(pid), None  # no locks here: judge by the process id
    if not _is_same(entry, descriptor):
        os.close(descriptor)
        return False, None
    return True, descriptor


def _recover_leftovers(path: Path, *, kinds: tuple[str, ...] = ("new", "old", "tmp", "probe")) -> None:
    """Remove leftovers of dead writers to ``path``; put back a previous folder that a killed swap moved aside."""
    found = [item for item in _leftovers(path) if item[1] in kinds]
    for entry, kind, pid in sorted(found, key=lambda item: item[1] != "old"):  # a folder moved aside first
        dead, descriptor = _take_if_dead(entry, pid)
        if not dead:
            continue
        try:
            if kind == "old" and not os.path.lexists(path):
                os.rename(entry, path)  # the swap was killed after moving the previous folder aside
            else:
                _remove(entry)
        finally:
            _release(descriptor)


def recover_folder(folder: str | Path) -> None:
    """Clean up after killed writes to ``folder``: drop dead staging folders and temporary files, put back a
    previous folder that a killed swap had moved aside. Leftovers of live writers are left alone."""
    folder = _target(folder)
    if folder.parent.is_dir():
        _recover_leftovers(folder)
