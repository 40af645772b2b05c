"""The simulator's calibration figure on a hand-made calibration report."""

from __future__ import annotations

import pytest

from sparkify_kedro.pipelines.simulation.calibration import plot_simulation_calibration


def test_simulation_calibration_plots_ratios_and_ranges():
    calibration = {
        "passed": False,
        "checks": [
            {
                "figure": "total rows",
                "simulated": 110.0,
                "published": 100.0,
                "low": 90.0,
                "high": 105.0,
                "passed": False,
            }
        ],
        "for_comparison": [
            {"figure": "songs per user", "simulated": 50.0, "published": 25.0},
            {"figure": "never seen", "simulated": None, "published": 3.0},
        ],
    }

    figure = plot_simulation_calibration(calibration)

    ranges, ratios = figure.data
    assert list(ranges.base) == [0.9]
    assert list(ranges.x) == pytest.approx([0.15])
    assert list(ratios.y) == ["total rows", "songs per user"]
    assert list(ratios.x) == pytest.approx([1.1, 2.0])
    assert list(ratios.marker.color) == ["red", "grey"]
    assert "FAILED" in figure.layout.title.text
