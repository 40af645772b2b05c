"""``kedro run --pipelines data_processing`` end to end, and the raw log's input forms."""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import pytest
from kedro.io.core import DatasetError

from sparkify_kedro.datasets import SparkTextLinesDataset
from tests.kedro_helpers import SAMPLE_LOG, load_dataset, run_pipeline


def test_the_run_writes_every_output_and_the_books_balance(processed_sample_data_root):
    # raw_events_path read the log where it was: nothing was copied into the data root
    assert not (processed_sample_data_root / "01_raw").exists()
    report = load_dataset("data_quality_report", processed_sample_data_root)
    clean = load_dataset("clean_events", processed_sample_data_root)
    quarantined = load_dataset("quarantined_events", processed_sample_data_root)

    assert report["lines_read"] == len(
        SAMPLE_LOG.read_text(encoding="utf-8").splitlines()
    )
    assert report["lines_read"] == 12
    assert report["rows_kept"] == clean.count() == 6
    assert report["lines_quarantined"] == quarantined.count() == 2
    assert report["rows_dropped_by_reason"] == {
        "blank_line": 1,
        "duplicate_event": 1,
        "guest": 1,
        "logged_out": 1,
    }
    assert report["books_balance"] is True
    assert report["distinct_users"] == 3
    assert report["unknown_pages"] == {"Jukebox": 1}


def test_clean_events_are_partitioned_by_event_date(processed_sample_data_root):
    folder = processed_sample_data_root / "03_primary" / "clean_events.parquet"
    partitions = sorted(path.name for path in folder.glob("event_date=*"))
    assert partitions == ["event_date=2018-10-01", "event_date=2018-10-07"]


def test_values_survive_the_dialects_of_the_sample(processed_sample_data_root):
    clean = load_dataset("clean_events", processed_sample_data_root)
    by_page = {row["page"]: row for row in clean.collect()}
    cancellation = by_page["Cancellation Confirmation"]
    assert cancellation["user_id"] == "18"  # written as a JSON number
    assert cancellation["registration"] is not None  # written as a float
    assert not cancellation["user_agent"].startswith('"')
    assert {row["artist"] for row in clean.collect()} >= {"Björk", "Martha Tilston"}


@pytest.fixture(scope="module")
def sample_in_every_form(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("forms")
    content = SAMPLE_LOG.read_bytes()
    (folder / "plain.json").write_bytes(content)
    (folder / "gzipped.json.gz").write_bytes(gzip.compress(content))
    (folder / "bzipped.json.bz2").write_bytes(bz2.compress(content))
    split = folder / "split"
    split.mkdir()
    lines = content.decode("utf-8").splitlines(keepends=True)
    (split / "part-1.json").write_text("".join(lines[:5]), encoding="utf-8")
    (split / "part-2.json").write_text("".join(lines[5:]), encoding="utf-8")
    return {
        "plain": folder / "plain.json",
        "gzip": folder / "gzipped.json.gz",
        "bz2": folder / "bzipped.json.bz2",
        "folder": split,
        "glob": split / "part-*.json",
    }


@pytest.mark.parametrize("form", ["plain", "gzip", "bz2", "folder", "glob"])
def test_the_raw_log_reads_the_same_in_every_form(spark, sample_in_every_form, form):
    lines = SparkTextLinesDataset(filepath=str(sample_in_every_form[form])).load()
    assert sorted(row["value"] for row in lines.collect()) == sorted(
        SAMPLE_LOG.read_text(encoding="utf-8").splitlines()
    )


def test_a_missing_input_is_one_clear_error_naming_the_path(spark, tmp_path):
    missing = tmp_path / "nowhere" / "events.json"
    with pytest.raises(
        DatasetError, match=r"Nothing to read at .*nowhere/events\.json"
    ):
        SparkTextLinesDataset(filepath=str(missing)).load()


def test_an_empty_input_is_one_clear_error_naming_the_path(spark, tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_text("")
    with pytest.raises(DatasetError, match=r"No lines to read at .*empty\.json"):
        SparkTextLinesDataset(filepath=str(empty)).load()


def test_an_unreadable_input_is_one_clear_error_naming_the_path(spark, tmp_path):
    broken = tmp_path / "broken.json.gz"
    broken.write_bytes(gzip.compress(SAMPLE_LOG.read_bytes())[:40])  # truncated gzip
    with pytest.raises(DatasetError, match=r"Cannot read .*broken\.json\.gz"):
        SparkTextLinesDataset(filepath=str(broken)).load()


def test_a_kedro_run_on_a_missing_input_names_the_path(spark, tmp_path):
    missing = tmp_path / "absent.json"
    with pytest.raises(DatasetError, match="absent.json"):
        run_pipeline(
            "data_processing", tmp_path / "data", {"raw_events_path": str(missing)}
        )
