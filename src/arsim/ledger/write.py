"""The simulator's own books: its invoices as a ledger a company would export, and writing that ledger."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from arsim.files import write_csv
from arsim.measure.simulated import paid_days
from arsim.scenario.schema import Scenario


def ledger_from_frames(frames: dict[str, pd.DataFrame], scenario: Scenario) -> pd.DataFrame:
    """The simulated invoices as a ledger a company would export (dates as calendar dates)."""
    issued = frames["invoice_issued"]
    epoch = pd.Timestamp(scenario.calendar.start_date)
    paid = paid_days(frames).reindex(issued["invoice_id"]).to_numpy()
    disputed = set(frames["dispute_opened"]["invoice_id"].tolist())
    off = frames["write_off"]
    written = set(off.loc[off["kind"] == "bad_debt", "invoice_id"].tolist())
    ids = issued["invoice_id"]
    return pd.DataFrame({
        "customer_id": "C" + issued["customer_id"].astype(str).str.zfill(6),
        "invoice_id": "I" + ids.astype(str).str.zfill(8),
        "invoice_date": epoch + pd.to_timedelta(issued["day"], unit="D"),
        "due_date": epoch + pd.to_timedelta(issued["due_day"], unit="D"),
        "amount": issued["amount"].round(2),
        "paid_date": epoch + pd.to_timedelta(paid, unit="D"),
        "disputed": ids.isin(disputed),
        "written_off": ids.isin(written),
        "segment": issued["segment"],
        "channel": np.where(issued["electronic"], "electronic", "paper"),
        "item_type": "Invoice",
    })


LEDGER_FILE = "invoices.csv.gz"
"""The simulator's ledger in a results folder: one row per invoice, readable by `read_ledger` without a mapping."""


def write_ledger(ledger: pd.DataFrame, folder: str | Path) -> Path:
    """Write the simulated ledger into a folder, dates as YYYY-MM-DD, whole (see `arsim.files`)."""
    out = ledger.copy()
    for column in ("invoice_date", "due_date", "paid_date"):
        out[column] = out[column].dt.strftime("%Y-%m-%d")
    return write_csv(Path(folder) / LEDGER_FILE, out, index=False)
