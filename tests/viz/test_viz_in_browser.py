"""The built kedro-viz site renders the project's flowchart in a real headless Chromium."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.chromium import chromium


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        """Keep the test output free of one line per request."""


@pytest.fixture(scope="module")
def site_url(viz_site: Path) -> Iterator[str]:
    """The static site served on 127.0.0.1 (a free port) for the length of the module."""
    handler = functools.partial(_QuietHandler, directory=str(viz_site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_the_flowchart_renders_the_pipelines_nodes(viz_site, site_url, tmp_path):
    rendered = chromium("--dump-dom", site_url, profile=tmp_path / "profile")
    assert rendered.returncode == 0, rendered.stderr[-2000:]
    dom = rendered.stdout

    # The default view draws the top-level tasks and datasets of __default__ (a namespaced
    # modular pipeline would be collapsed to one node); parameters are hidden.
    view = json.loads((viz_site / "api" / "pipelines" / "__default__").read_text())
    expected_names = {
        node["name"]
        for node in view["nodes"]
        if node["type"] in {"task", "data", "modularPipeline"}
        and not node.get("modular_pipelines")
    }
    assert {
        "parse_event_lines",
        "clean_events",
        "race_candidates",
        "candidate_scores",
    } <= expected_names
    drawn = {name for name in expected_names if f">{name}</text>" in dom}
    assert drawn == expected_names, f"not drawn: {sorted(expected_names - drawn)}"
    assert 'class="pipeline-node__text"' in dom


def test_a_screenshot_of_the_flowchart_can_be_taken(site_url, tmp_path):
    screenshot = tmp_path / "kedro-viz.png"
    result = chromium(
        f"--screenshot={screenshot}", site_url, profile=tmp_path / "profile"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000  # a drawn page, not a blank one
