"""Charts as a user sees them: the saved HTML opened in a real (headless) Chromium, offline."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pandas as pd
import pytest

from arsim.analysis.capacity import CapacityStudy
from arsim.analysis.sweep import Sweep
from arsim.present.charts import capacity_chart, save_chart, sweep_chart

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
if BROWSER is None and os.environ.get("CI"):
    raise RuntimeError("CI must have Chromium (.ci/run installs it) to test charts in a real browser")
pytestmark = pytest.mark.skipif(BROWSER is None, reason="Chromium is not installed (CI installs it)")


def _rendered_dom(path, tmp_path) -> str:
    """The page's DOM after its scripts ran, with the network off: what a user without internet would see."""
    done = subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=15000",
         "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-500:]
    return re.sub(r"<script.*?</script>", "", done.stdout, flags=re.S)  # the page as drawn, without its code


def _sweep() -> Sweep:
    return Sweep(parameters=("team.collectors", "policy.discount.percent"), replications=3, seed=1, summary=_summary(), per_replication=pd.DataFrame())


def _summary() -> pd.DataFrame:
    rows = []
    for collectors in (2, 3, 4):
        for percent in (0, 1):
            dso = 40 - 3 * percent - 0.5 * collectors
            rows.append({"team.collectors": collectors, "policy.discount.percent": percent, "dso": dso, "dso_ci_low": dso - 1, "dso_ci_high": dso + 1,
                         "net_cost": 1e6 + 1e4 * collectors, "net_cost_ci_low": 9.9e5, "net_cost_ci_high": 1.1e6})
    return pd.DataFrame(rows)


def test_a_sweep_chart_renders_offline(tmp_path):
    path = save_chart(sweep_chart(_sweep(), kpis=["dso", "net_cost"]), tmp_path / "sweep.html")
    assert "cdn.jsdelivr" not in path.read_text()
    dom = _rendered_dom(path, tmp_path)
    svg = re.search(r'<svg[^>]*class="marks".*?</svg>', dom, re.S)
    assert svg, "no chart was drawn"
    # Two panels (dso, net_cost), each with a line per discount level: many drawn paths and both titles.
    assert svg.group(0).count("<path") > 10
    drawn = svg.group(0)
    assert "dso" in drawn and "net_cost" in drawn
    assert "JavaScript Error" not in dom  # what the page shows when Vega fails
    # The data reached the marks: the axis shows the team sizes and the legend both discount levels.
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", drawn)
    assert {"2.0", "4.0"} <= set(labels) and {"0", "1"} <= set(labels) and "0.0" not in labels
    assert "undefined" not in labels and "team.collectors" in labels


def test_a_capacity_chart_renders_offline(tmp_path):
    levels = pd.DataFrame({
        "contact_scale": [1, 2, 3] * 2, "collectors": [2] * 3 + [3] * 3,
        "offered_minutes_per_day": [500, 900, 1300, 500, 900, 1300], "capacity_minutes_per_day": [840] * 3 + [1260] * 3,
        "query_sla_attainment": [0.9, 0.5, 0.1, 0.9, 0.88, 0.6], "dso": [40, 41, 43, 40, 39.5, 39.8],
        "dso_ci_low": [39, 40, 42, 39, 38.5, 38.8], "dso_ci_high": [41, 42, 44, 41, 40.5, 40.8],
    })
    study = CapacityStudy(axis="contact", pins={}, sla_target=0.8, replications=3, seed=1, levels=levels, per_replication=pd.DataFrame(),
                          reference_collectors=2, saturation_scale=1.0, saturation="scale 1 (scale 2 is over capacity)",
                          saturation_by_collectors={2: 1.0, 3: None}, capacity_trap=[], best_dso={}, best_net_cost={},
                          smallest_team={})
    path = save_chart(capacity_chart(study), tmp_path / "capacity.html")
    dom = _rendered_dom(path, tmp_path)
    assert re.search(r'<svg[^>]*class="marks"', dom)
    assert "queries answered within the SLA" in dom
