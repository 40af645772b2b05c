"""The small demo's report page opened in a real headless Chromium, offline."""

from __future__ import annotations

import re

import pandas as pd
import yaml

from sparkify_kedro.pipelines.reporting.page import FIGURES
from tests.chromium import chromium
from tests.kedro_helpers import PROJECT_ROOT

#: Any host name resolves to nothing: a page that fetched anything would log an error.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND"


def test_the_report_page_renders_offline_with_its_plots_and_tables(
    small_demo_data_root, tmp_path
):
    page = small_demo_data_root / "08_reporting" / "report_page.html"
    screenshot = tmp_path / "report_page.png"
    # one launch: the DOM once the scripts have run, a tall screenshot, the console
    result = chromium(
        "--enable-logging=stderr",
        "--v=0",
        OFFLINE,
        "--window-size=1400,6000",
        f"--screenshot={screenshot}",
        "--dump-dom",
        page.as_uri(),
        profile=tmp_path / "profile",
    )
    print(f"report page screenshot: {screenshot}")  # noqa: T201 (the test's artefact)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout

    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []

    # Every figure of the demo (the ceiling's too: a simulated log) drawn by plotly.js.
    figures = re.split(r'<div id="figure-', dom)[1:]
    drawn = {
        chunk.split('"', 1)[0]
        for chunk in figures
        if 'class="plot-container' in chunk and 'class="main-svg"' in chunk
    }
    assert drawn == {name for name, _ in FIGURES}
    assert "No ceiling in this run" not in dom

    scores = pd.read_csv(
        small_demo_data_root / "07_model_output" / "churn_scores.csv",
        dtype={"user_id": str},
    )
    parameters = yaml.safe_load(
        (PROJECT_ROOT / "conf" / "base" / "parameters_reporting.yml").read_text()
    )
    top_users = parameters["reporting"]["report_page"]["top_users"]
    table = dom.split('id="top-risk-users"', 1)[1].split("</table>", 1)[0]
    user_cells = re.findall(r'<td class="num">(\d+)</td><td>([^<]*)</td>', table)
    assert len(user_cells) == min(top_users, len(scores))
    assert user_cells[0] == ("1", scores.sort_values("rank")["user_id"].iloc[0])
    assert 'id="risk-tiers"' in dom

    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 100_000  # a drawn page, not a blank one
