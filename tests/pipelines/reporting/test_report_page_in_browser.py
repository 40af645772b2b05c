"""The report page opened in a real headless Chromium, offline: drawn, then searched and
sorted by a reader's key presses and clicks (the DevTools protocol, tests/chromium.py)."""

from __future__ import annotations

import re

import pandas as pd
import yaml

from sparkify_kedro.pipelines.reporting.render import FIGURES, render_report_page
from tests.chromium import chromium, devtools
from tests.kedro_helpers import PROJECT_ROOT
from tests.pipelines.reporting import test_page

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


#: The rows of the users table as the reader sees them: the visible rows' cell texts.
VISIBLE_ROWS = (
    "Array.from(document.querySelectorAll('#scored-users-table tbody tr'))"
    ".filter(row => row.offsetParent !== null)"
    ".map(row => Array.from(row.cells).map(cell => cell.textContent))"
)


def _read_table(browser) -> dict:
    """What the users table shows: its visible rows, its count line, the user found."""
    return browser.evaluate(
        "(() => { const detail = document.getElementById('scored-users-detail');"
        f" return {{rows: {VISIBLE_ROWS},"
        " count: document.getElementById('scored-users-count').textContent,"
        " detail: detail.hidden ? null : detail.innerText}; })()"
    )


def _money(value: float) -> str:
    return "n/a" if pd.isna(value) else f"{value:.2f}"


def test_typing_a_user_id_in_the_report_page_shows_that_users_row(
    small_demo_data_root, tmp_path
):
    """Type an id into the search box of the small demo's page (key presses over the
    DevTools protocol, offline) and read the row against ``churn_scores.csv``."""
    scores = pd.read_csv(
        small_demo_data_root / "07_model_output" / "churn_scores.csv",
        dtype={"user_id": str},
        keep_default_na=False,
        na_values={"monthly_value": [""], "expected_monthly_loss": [""]},
    ).sort_values("rank")
    # a user in the middle of the ranking, with a reason if any user has one
    reasoned = scores[scores["reason_1"] != ""]
    pool = reasoned if len(reasoned) else scores
    user = pool.iloc[len(pool) // 2]
    typed = user["user_id"]
    page = small_demo_data_root / "08_reporting" / "report_page.html"

    with devtools(OFFLINE, profile=tmp_path / "profile") as browser:
        browser.open(page.as_uri())
        before = _read_table(browser)
        browser.click("#scored-users-search")
        browser.type(typed)
        after = _read_table(browser)
        console = browser.console()

    assert console == []
    assert before["count"].startswith(f"{len(scores)} users")
    assert len(before["rows"]) == min(len(scores), 100)
    assert before["detail"] is None

    # every user whose id holds the typed text, in rank order; every other one hidden
    matching = scores[scores["user_id"].str.contains(typed, regex=False)]
    assert [row[1] for row in after["rows"]] == list(matching["user_id"])
    assert after["count"].startswith(f"{len(matching)} of {len(scores)} users")
    reasons = [user[f"reason_{i}"] for i in (1, 2, 3) if user[f"reason_{i}"]]
    expected = [
        str(user["rank"]),
        typed,
        f"{user['churn_probability']:.3f}",
        user["risk_tier"],
        user["level"],
        _money(user["monthly_value"]),
        _money(user["expected_monthly_loss"]),
        "; ".join(reasons),
    ]
    assert after["rows"][list(matching["user_id"]).index(typed)] == expected
    detail = after["detail"]
    assert detail.startswith(
        f"User {typed}: rank {user['rank']}, churn probability "
        f"{user['churn_probability']:.3f}, {user['risk_tier']} tier"
    )
    assert f"expected monthly loss {_money(user['expected_monthly_loss'])}" in detail
    assert all(reason in detail for reason in reasons)


def test_the_users_table_sorts_by_a_clicked_column_and_opens_on_a_linked_user(
    tmp_path,
):
    """The hand-made page of test_page.py: sorting by clicks, a ``#search=`` link, and
    hostile ids and reasons shown as text, never run."""
    page = tmp_path / "report_page.html"
    page.write_text(render_report_page(test_page._page()), encoding="utf-8")
    with devtools(OFFLINE, profile=tmp_path / "profile") as browser:
        browser.open(page.as_uri())
        ranks = [_read_table(browser)["rows"]]
        browser.click('th[data-key="expected_monthly_loss"]')
        ranks.append(_read_table(browser)["rows"])
        browser.click('th[data-key="expected_monthly_loss"]')
        ranks.append(_read_table(browser)["rows"])
        browser.open(f"{page.as_uri()}#search=7")
        linked = _read_table(browser)
        console = browser.console()

    assert console == []
    # rank order; expected loss up, then down; a missing loss (user 7) last both ways
    assert [[row[1] for row in rows] for rows in ranks] == [
        [test_page.HOSTILE_USER, "42", "7"],
        ["42", test_page.HOSTILE_USER, "7"],
        [test_page.HOSTILE_USER, "42", "7"],
    ]
    assert ranks[0][0][-1] == "; ".join(test_page.SCORED_USERS[0]["reasons"])
    assert [row[1] for row in linked["rows"]] == ["7"]
    assert linked["rows"][0][5:7] == ["n/a", "n/a"]
    assert linked["detail"].startswith("User 7: rank 3, churn probability 0.100")
