"""The docs say what is true now: no commit hashes or work-period references outside the
generated benchmark files and the dated performance log, and a short operations page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: The one place for dated measurements, each entry with its date and commit.
DATED_LOG = DOCS / "performance-log.md"
OPERATIONS_MAX_LINES = 200

#: A short or full commit hash: 7-40 lowercase hex digits, at least one digit and one letter.
COMMIT_HASH = re.compile(r"\b(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\b")
#: A reference to a past work period: "session 14", "issue 12", "issues #15", "#33's".
WORK_PERIOD = re.compile(
    r"\bsessions? \d+\b|\bissues? #?\d+\b|(?<![\w&/#])#\d+\b", re.IGNORECASE
)
#: The README's blocks a benchmark writes (its commit and date are part of the figures).
GENERATED_BLOCK = re.compile(
    r"<!-- [\w ]+: written by benchmarks/.*?-->.*?<!-- end of [\w ]+ -->", re.DOTALL
)


def _generated(path: Path) -> bool:
    """A docs file a benchmark script writes (its header says so)."""
    head = "\n".join(path.read_text().splitlines()[:5])
    return "benchmarks/" in head and "do not edit by hand" in head


def _checked_docs() -> list[Path]:
    docs = [ROOT / "README.md", ROOT / "conf" / "README.md"]
    docs += sorted(p for p in DOCS.glob("*.md") if p != DATED_LOG and not _generated(p))
    docs += sorted((ROOT / "src" / "sparkify_kedro" / "pipelines").glob("*/README.md"))
    return docs


def _offending_lines(text: str) -> list[str]:
    text = GENERATED_BLOCK.sub("", text)
    return [
        line.strip()
        for line in text.splitlines()
        if COMMIT_HASH.search(line) or WORK_PERIOD.search(line)
    ]


@pytest.mark.parametrize(
    "path", _checked_docs(), ids=lambda p: str(p.relative_to(ROOT))
)
def test_docs_name_no_commit_or_work_period(path: Path) -> None:
    assert _offending_lines(path.read_text()) == [], (
        f"{path.relative_to(ROOT)} names commits or past work periods: say what is true "
        f"now, and put dated measurements in {DATED_LOG.relative_to(ROOT)}"
    )


def test_the_checks_catch_history_and_spare_plain_words() -> None:
    history = [
        "measured at 9a47afb",
        "Session 14 guessed",
        "the goals of #33",
        "issue 12 made it faster",
        "since issue #15",
    ]
    plain = [
        "a hash of 64 bits, 1e400, 2^53, 0.5 of 1,000 users, deadbeef, facade",
        "colour #1f77b4, [link](#speed-what-is-slow), &#39;, 9007199254740993",
        "a demo session of 225 users; sessions per day",
    ]
    assert all(_offending_lines(line) for line in history)
    assert _offending_lines("\n".join(plain)) == []
    assert (
        _offending_lines(
            "<!-- scale: written by benchmarks/scale_benchmark.py -->\n"
            "| 225 | ea3abd0 |\n<!-- end of scale -->"
        )
        == []
    )


def test_the_generated_files_and_the_log_are_skipped() -> None:
    checked = _checked_docs()
    assert DATED_LOG.exists() and DATED_LOG not in checked
    assert DOCS / "operations.md" in checked
    assert DOCS / "results.md" not in checked and DOCS / "scale.md" not in checked


def test_the_operations_page_stays_short() -> None:
    lines = len((DOCS / "operations.md").read_text().splitlines())
    assert lines <= OPERATIONS_MAX_LINES, (
        f"docs/operations.md has {lines} lines: keep it to how to use the project now "
        f"(at most {OPERATIONS_MAX_LINES}); measurements go to docs/performance-log.md"
    )
