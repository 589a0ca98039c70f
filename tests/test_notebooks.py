"""Every notebook in notebooks/ runs top to bottom without an error (executed for real, as a user would), started in a
folder other than notebooks/ so that no notebook depends on where it is opened, and each is saved with its outputs."""

from __future__ import annotations

from pathlib import Path

import nbclient
import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    saved = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.get("outputs") for cell in saved), f"{path.name} is saved without its outputs (run it and save it)"
    assert not [cell for cell in saved if "../" in cell.source], "a notebook must not use relative paths (see arsim.shipped_scenario)"
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any(o.get("output_type") in {"execute_result", "display_data"} for o in outputs)
