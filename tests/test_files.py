"""Files on disk: umask permissions, reproducible gzip, whole-folder replacement, clean-up of killed writes."""

from __future__ import annotations

import fcntl
import gzip
import os
import signal
import stat
import time
from pathlib import Path

import pandas as pd
import pytest

from arsim import files
from arsim.errors import InputError
from arsim.files import (
    atomic_write,
    check_writable_folder,
    file_mode,
    gzip_bytes,
    recover_folder,
    replacing_folder,
    write_csv,
    write_json,
    write_text,
)


@pytest.fixture
def umask():
    """Set the process umask for one test, and put the previous one back."""
    previous = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def _write_folder(folder: Path, contents: dict[str, str]) -> None:
    with replacing_folder(folder) as staging:
        for name, text in contents.items():
            write_text(staging / name, text)


def _read_folder(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


# ---------------------------------------------------------------------------------------------- permissions


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_written_files_and_folders_get_umask_permissions(tmp_path, umask, mask, expected):
    umask(mask)
    assert file_mode() == expected
    assert _mode(write_text(tmp_path / "a.txt", "x")) == expected
    assert _mode(write_csv(tmp_path / "b.csv.gz", pd.DataFrame({"a": [1]}), index=False)) == expected
    assert _mode(write_csv(tmp_path / "c.csv", pd.DataFrame({"a": [1]}), index=False)) == expected
    assert _mode(atomic_write(tmp_path / "d.bin", lambda tmp: Path(tmp).write_bytes(b"1"))) == expected
    _write_folder(tmp_path / "run", {"manifest.json": "{}"})
    assert _mode(tmp_path / "run") == 0o777 & ~mask
    assert _mode(tmp_path / "run" / "manifest.json") == expected


def test_rewriting_a_file_keeps_umask_permissions_not_0600(tmp_path, umask):
    path = tmp_path / "a.txt"
    write_text(path, "one")
    write_text(path, "two")
    assert path.read_text() == "two" and _mode(path) == 0o644


def test_a_failed_file_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    path = write_text(tmp_path / "a.txt", "before")

    def broken(tmp: str) -> None:
        Path(tmp).write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, broken)
    assert path.read_text() == "before"
    assert _hidden(tmp_path) == []


def test_json_refuses_nan_before_touching_the_file(tmp_path):
    path = write_json(tmp_path / "m.json", {"a": 1})
    with pytest.raises(ValueError):
        write_json(path, {"a": float("nan")})
    assert path.read_text() == '{\n  "a": 1\n}\n' and _hidden(tmp_path) == []


# ---------------------------------------------------------------------------------------------- gzip


def test_gzip_is_byte_for_byte_reproducible(tmp_path):
    data = b"customer_id,amount\n" + b"C000001,12.5\n" * 1000
    first = gzip_bytes(data)
    time.sleep(1.1)  # a gzip header with a timestamp would differ now
    assert gzip_bytes(data) == first
    assert first[:4] == b"\x1f\x8b\x08\x00"  # magic, deflate, no flags: no file name, no comment
    assert first[4:8] == b"\x00\x00\x00\x00"  # mtime 0
    assert gzip.decompress(first) == data
    assert gzip_bytes(data, level=1) != first and gzip.decompress(gzip_bytes(data, level=1)) == data


def test_written_gzip_csv_files_are_identical(tmp_path):
    frame = pd.DataFrame({"invoice_id": [f"I{i:08d}" for i in range(500)], "amount": [i * 1.25 for i in range(500)]})
    one = write_csv(tmp_path / "one" / "x.csv.gz", frame, index=False).read_bytes()
    two = write_csv(tmp_path / "two" / "x.csv.gz", frame, index=False).read_bytes()
    assert one == two and one[3] == 0 and one[4:8] == bytes(4)
    assert pd.read_csv(tmp_path / "one" / "x.csv.gz")["amount"].tolist() == frame["amount"].tolist()


# ---------------------------------------------------------------------------------------------- whole folders


def test_a_folder_is_replaced_as_a_whole(tmp_path):
    folder = tmp_path / "run"
    _write_folder(folder, {"manifest.json": "1", "old_only.csv": "x"})
    _write_folder(folder, {"manifest.json": "2", "kpis.csv": "y"})
    assert _read_folder(folder) == {"kpis.csv": "y", "manifest.json": "2"}
    assert _hidden(tmp_path) == []


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_a_failing_folder_write_leaves_the_previous_folder_and_no_staging(tmp_path, error):
    folder = tmp_path / "run"
    _write_folder(folder, {"manifest.json": "1", "kpis.csv": "old"})
    with pytest.raises(type(error)), replacing_folder(folder) as staging:
        write_text(staging / "kpis.csv", "new")
        raise error
    assert _read_folder(folder) == {"kpis.csv": "old", "manifest.json": "1"}
    assert _hidden(tmp_path) == []


def test_two_renames_where_the_system_cannot_exchange(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "_exchange", lambda a, b: False)
    folder = tmp_path / "run"
    _write_folder(folder, {"manifest.json": "1"})
    _write_folder(folder, {"manifest.json": "2"})
    assert _read_folder(folder) == {"manifest.json": "2"} and _hidden(tmp_path) == []


def test_an_empty_folder_is_replaced_and_a_foreign_one_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    _write_folder(tmp_path / "empty", {"manifest.json": "1"})
    assert _read_folder(tmp_path / "empty") == {"manifest.json": "1"}
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work")
    with pytest.raises(InputError, match="no manifest.json"):
        _write_folder(home, {"manifest.json": "1"})
    assert _read_folder(home) == {"thesis.tex": "years of work"} and _hidden(tmp_path) == []
    with replacing_folder(home, marker=None) as staging:  # a caller may opt out
        write_text(staging / "a", "b")
    assert _read_folder(home) == {"a": "b"}


def test_a_symbolic_link_to_a_folder_has_its_target_replaced(tmp_path):
    target = tmp_path / "data" / "run"
    _write_folder(target, {"manifest.json": "1"})
    link = tmp_path / "run"
    link.symlink_to(target)
    _write_folder(link, {"manifest.json": "2"})
    assert link.is_symlink() and _read_folder(target) == {"manifest.json": "2"}
    assert _hidden(tmp_path) == [] and _hidden(tmp_path / "data") == []


def test_a_long_folder_name_fits(tmp_path):
    folder = tmp_path / ("r" * 250)
    _write_folder(folder, {"manifest.json": "1"})
    _write_folder(folder, {"manifest.json": "2"})
    assert _read_folder(folder) == {"manifest.json": "2"} and _hidden(tmp_path) == []


# ---------------------------------------------------------------------------------------------- recovery


def _leftover(parent: Path, name: str, pid: int, kind: str, token: str = "0123abcd") -> Path:
    path = parent / f".{name}.arsim-{pid}-{token}.{kind}"
    if kind == "tmp":
        path.write_text("half")
    else:
        path.mkdir()
        (path / "manifest.json").write_text(kind)
    return path


def test_recover_folder_removes_dead_leftovers_and_keeps_everything_else(tmp_path):
    folder = tmp_path / "run"
    _write_folder(folder, {"manifest.json": "current"})
    for kind in ("new", "old", "tmp", "probe"):
        _leftover(tmp_path, "run", 999_999_999, kind)  # no such process
    _leftover(tmp_path, "run", os.getpid(), "new", token="4567abcd")  # a reused pid: its lock is free, so it is dead
    unrelated = [tmp_path / ".run.arsim-notes", tmp_path / ".run.arsim-1-nothex!.new", tmp_path / ".other.arsim-1-0123abcd.new"]
    for path in unrelated:
        path.mkdir()
    recover_folder(folder)
    assert _read_folder(folder) == {"manifest.json": "current"}
    assert _hidden(tmp_path) == sorted(p.name for p in unrelated)


def test_recover_folder_puts_back_a_folder_a_killed_swap_moved_aside(tmp_path):
    folder = tmp_path / "run"
    _leftover(tmp_path, "run", 999_999_999, "old")  # killed between the two renames: previous folder aside
    _leftover(tmp_path, "run", 999_999_999, "new")  # and the complete new one not yet in place
    recover_folder(folder)
    assert _read_folder(folder) == {"manifest.json": "old"} and _hidden(tmp_path) == []


def test_the_next_write_cleans_up_and_a_live_writers_staging_is_left_alone(tmp_path):
    folder = tmp_path / "run"
    dead = _leftover(tmp_path, "run", 999_999_999, "new")
    live = _leftover(tmp_path, "run", 999_999_999, "new", token="89abcdef")
    holder = os.open(live, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another open file description: as another process's lock
    try:
        _write_folder(folder, {"manifest.json": "1"})
        assert not dead.exists() and live.exists()
    finally:
        os.close(holder)
    recover_folder(folder)
    assert not live.exists() and _read_folder(folder) == {"manifest.json": "1"} and _hidden(tmp_path) == []


def test_a_live_writer_in_another_process_is_not_disturbed(tmp_path):
    folder = tmp_path / "run"
    ready_read, ready_write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        try:
            with replacing_folder(folder) as staging:
                write_text(staging / "manifest.json", "child")
                os.write(ready_write, b"1")
                time.sleep(30)
        finally:
            os._exit(0)
    try:
        assert os.read(ready_read, 1) == b"1"
        recover_folder(folder)
        staged = [p for p in tmp_path.iterdir() if p.name.endswith(".new")]
        assert len(staged) == 1 and (staged[0] / "manifest.json").read_text() == "child"
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    recover_folder(folder)  # now dead: its lock went with it
    assert _hidden(tmp_path) == [] and not folder.exists()


def test_atomic_write_removes_temporary_files_of_killed_writers(tmp_path):
    _leftover(tmp_path, "a.txt", 999_999_999, "tmp")
    _leftover(tmp_path, "a.txt", 999_999_999, "new")  # not a file's leftover: left for recover_folder
    write_text(tmp_path / "a.txt", "x")
    assert _hidden(tmp_path) == [".a.txt.arsim-999999999-0123abcd.new"]


# ---------------------------------------------------------------------------------------------- checks


def _one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def test_check_writable_folder_refuses_an_existing_file(tmp_path):
    path = tmp_path / "out"
    path.write_text("x")
    with pytest.raises(InputError) as error:
        check_writable_folder(path)
    assert _one_line(error) == f"--out {path}: is an existing file, not a folder"


def test_check_writable_folder_refuses_a_path_under_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError) as error:
        check_writable_folder(tmp_path / "f" / "sub" / "run", what="--out")
    assert _one_line(error).endswith(f"{tmp_path / 'f'} is a file, not a folder")


def test_check_writable_folder_refuses_an_unwritable_parent(tmp_path, monkeypatch):
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        if os.geteuid() == 0:  # root may write anywhere: ask the question as if it were not root
            monkeypatch.setattr(os, "access", lambda path, mode, **k: Path(path) != parent)
        with pytest.raises(InputError) as error:
            check_writable_folder(parent / "new" / "run")
        assert _one_line(error) == f"--out {parent / 'new' / 'run'}: {parent} is not writable"
    finally:
        parent.chmod(0o755)


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc, a folder no one can create files in")
def test_check_writable_folder_tries_to_write_rather_than_trusting_permission_bits():
    """/proc passes os.access for root, yet nothing can be made in it: the check makes and removes a folder there."""
    with pytest.raises(InputError) as error:
        check_writable_folder("/proc/arsim-results", what="--out")
    assert _one_line(error).startswith("--out /proc/arsim-results: cannot write in /proc (")


def test_check_writable_folder_refuses_a_name_the_file_system_cannot_hold(tmp_path):
    with pytest.raises(InputError) as error:
        check_writable_folder(tmp_path / ("x" * 300) / "run")
    assert "File name too long" in _one_line(error) or "longer than this file system allows" in _one_line(error)
    assert list(tmp_path.iterdir()) == []  # the probe left nothing behind


def test_a_name_of_many_bytes_fits_with_its_staging_folder(tmp_path):
    """NAME_MAX counts bytes: 84 Chinese characters (252 bytes) make a valid folder, and its staging sibling fits too."""
    folder = tmp_path / ("測" * 84)
    assert check_writable_folder(folder) == folder
    _write_folder(folder, {"manifest.json": "{}"})
    assert _read_folder(folder) == {"manifest.json": "{}"} and [p.name for p in tmp_path.iterdir()] == [folder.name]


def test_a_killed_checks_probe_above_missing_folders_is_removed_by_the_next_check(tmp_path):
    """The probe goes where the first missing folder would be; a dead one there is removed by the next check."""
    dead = tmp_path / ".a.arsim-999999999-0123abcd.probe"
    dead.mkdir()
    check_writable_folder(tmp_path / "a" / "b" / "run")
    assert list(tmp_path.iterdir()) == []


def test_check_writable_folder_accepts_new_empty_and_results_folders(tmp_path):
    assert check_writable_folder(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert check_writable_folder(tmp_path) == tmp_path  # empty
    _write_folder(tmp_path / "run", {"manifest.json": "{}"})
    assert check_writable_folder(tmp_path / "run") == tmp_path / "run"
    with pytest.raises(InputError) as error:
        check_writable_folder(tmp_path)  # now holds "run", and no manifest.json of its own
    assert "not a results folder" in _one_line(error)


# ---------------------------------------------------------------------------------------------- the ledger file


def _awkward_ledger() -> pd.DataFrame:
    """A ledger with every kind of value the ledger writer spells itself, and some it leaves to pandas."""
    import numpy as np

    amounts = [2275.5, 518.63, 12.0, 0.05, 0.0, -0.0, -17.25, 999999999.99, 1e12, 1e16, 0.1 + 0.2, 1 / 3, float("nan"), float("inf"),
               123456.78, 5e-5, -1e-7, 100.0, 10.0, 1.0]
    rows = len(amounts)
    day = pd.Timestamp("2025-01-06")
    return pd.DataFrame({
        "customer_id": pd.Series([f"C{i:06d}" for i in range(rows)], dtype="str"),
        "invoice_id": [f"I{i:08d}" for i in range(rows)],
        "invoice_date": [day + pd.Timedelta(days=i) for i in range(rows)],
        "due_date": [day + pd.Timedelta(days=30 + i) for i in range(rows)],
        "amount": amounts,
        "paid_date": [day + pd.Timedelta(days=40 + i) if i % 3 else pd.NaT for i in range(rows)],
        "disputed": [i % 2 == 0 for i in range(rows)],
        "written_off": [i % 5 == 0 for i in range(rows)],
        "held": pd.array([None if i % 4 == 0 else i % 3 == 0 for i in range(rows)], dtype="boolean"),  # blank, True, False
        "credited": [float("nan") if i % 3 else -12.5 * i for i in range(rows)],  # mostly blank, some negative
        "segment": pd.Categorical(["prompt", "slow, late", 'say "hi"', "über", "line\nbreak"] * (rows // 5)),
        "channel": np.where(np.arange(rows) % 2, "electronic", "paper"),
        "item_type": "Invoice",
        "days": np.arange(rows, dtype=np.int64),
    })


def test_the_ledger_csv_is_what_pandas_writes_byte_for_byte():
    from arsim.ledger.write import csv_bytes

    ledger = _awkward_ledger()
    assert csv_bytes(ledger) == ledger.to_csv(index=False).encode("utf-8")
    for rows in (1, 7):  # in blocks of rows, as write_ledger streams it
        from arsim.ledger.write import csv_chunks

        assert b"".join(csv_chunks(ledger, rows=rows)) == ledger.to_csv(index=False).encode("utf-8")
    with_times = ledger.assign(invoice_date=ledger["invoice_date"] + pd.Timedelta(hours=5))
    assert csv_bytes(with_times) == with_times.to_csv(index=False).encode("utf-8")
    odd = ledger.assign(customer_id=[1.5, "x"] * (len(ledger) // 2), segment=ledger["segment"].astype(object).where(ledger.index % 4 > 0))
    assert csv_bytes(odd) == odd.to_csv(index=False).encode("utf-8")
    other_kinds = ledger.assign(days=pd.to_timedelta(ledger["days"], unit="D"), segment=pd.Categorical(ledger["days"] % 3),
                                paid_date=ledger["paid_date"].dt.tz_localize("Europe/Berlin"))
    assert csv_bytes(other_kinds) == other_kinds.to_csv(index=False).encode("utf-8")


def test_the_written_ledger_is_reproducible_and_reads_back(tmp_path):
    from arsim.ledger.read import MAX_AMOUNT, load_ledger
    from arsim.ledger.write import LEDGER_FILE, write_ledger

    ledger = _awkward_ledger().drop(columns=["days"]).iloc[:12]  # finite positive amounts, as a simulated ledger has
    ledger = ledger[ledger["amount"] > 0]
    one = write_ledger(ledger, tmp_path / "one").read_bytes()
    two = write_ledger(ledger, tmp_path / "two").read_bytes()
    assert one == two and one[4:8] == bytes(4)
    expected = ledger.assign(**{c: ledger[c].dt.strftime("%Y-%m-%d") for c in ("invoice_date", "due_date", "paid_date")})
    assert gzip.decompress(one) == expected.to_csv(index=False).encode("utf-8")
    loaded = load_ledger(tmp_path / "one" / LEDGER_FILE, drop_invalid=True)  # 1e16 is above MAX_AMOUNT: a bad row on reading
    assert loaded.dropped == {"amount too large": int((ledger["amount"] > MAX_AMOUNT).sum())} == {"amount too large": 1}
    kept, back = ledger[ledger["amount"] <= MAX_AMOUNT], loaded.invoices
    assert back["invoice_id"].tolist() == kept["invoice_id"].tolist() and back["amount"].tolist() == kept["amount"].tolist()
