"""Whole inputs that used to break a run, through ``kedro run --pipelines data_processing``.

- an input without one event stops before any output is replaced;
- a truncated gzip among good ones stops the run with one line naming it, and nothing of
  Spark's or Hadoop's about the cancelled tasks: no Java frame, no warning;
- a folder is read at every depth, and the report lists each file with its line count;
- a log mixing every kind of bad line keeps every valid row exactly as a clean log does.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sparkify_kedro.pipelines.data_processing.nodes import NoReadableEventError
from tests.kedro_helpers import (
    PROJECT_ROOT,
    copy_data_root,
    load_dataset,
    run_pipeline,
)
from tests.pipelines.data_processing.event_lines import BASE_TS, event_line

OUTPUT_LAYERS = ("02_intermediate", "03_primary", "08_reporting")


def file_uri(path: Path) -> str:
    """A local path as Spark names it in ``source_file``."""
    return f"file:{path}"


def outputs_fingerprint(data_root: Path) -> dict[str, str]:
    """Every output file of data_processing with a hash of its bytes."""
    return {
        str(path.relative_to(data_root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for layer in OUTPUT_LAYERS
        for path in sorted((data_root / layer).rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def previous_run(processed_sample_data_root, tmp_path_factory) -> Path:
    """A data root holding a finished data_processing run of the sample log (a copy of
    the shared one: these tests try to overwrite it)."""
    return copy_data_root(
        processed_sample_data_root, tmp_path_factory.mktemp("runs") / "previous_run"
    )


@pytest.mark.parametrize(
    ("content", "what_was_found"),
    [
        ("\n" * 12, "12 lines read, none of them a logged-in event (12 blank_line)"),
        (
            "ts,userId,page\n1538352117000,30,NextSong\n1538352394000,30,Home\n",
            "3 lines read, none of them a logged-in event (3 malformed_json); "
            "the first unreadable line: 'ts,userId,page'",
        ),
        (
            event_line(userId="", auth="Logged Out") + "\n" + event_line(ts=0) + "\n",
            "2 lines read, none of them a logged-in event (1 logged_out, "
            "1 out_of_range_ts); the first unreadable line: "
            + repr(event_line(ts=0)[:80]),
        ),
    ],
    ids=["blank lines", "csv", "no logged-in event"],
)
def test_an_input_without_events_stops_before_any_output_is_replaced(
    previous_run, tmp_path, content, what_was_found
):
    before = outputs_fingerprint(previous_run)
    log = tmp_path / "export.json"
    log.write_text(content, encoding="utf-8")
    with pytest.raises(NoReadableEventError) as error:
        run_pipeline("data_processing", previous_run, {"raw_events_path": str(log)})
    assert str(error.value) == (
        f"No readable event in {file_uri(log)}: {what_was_found}. Nothing was written."
    )
    assert outputs_fingerprint(previous_run) == before


def _console(data_root: Path, log: Path) -> list[str]:
    """What ``kedro run --pipelines data_processing`` over ``log`` shows, stdout and stderr
    in one, each line without its time of day and each node time as ``<t>``."""
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("kedro")),
            "run",
            "--pipelines",
            "data_processing",
            "--params",
            f"raw_events_path={log}",
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "SPARKIFY_DATA_ROOT": str(data_root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 1, done.stdout[-3000:]
    return [
        re.sub(r": [\d.]+ s$", ": <t> s", re.sub(r"^\d\d:\d\d:\d\d ", "", line))
        for line in done.stdout.splitlines()
    ]


def test_a_truncated_gzip_among_good_ones_stops_the_run_with_one_line_naming_it(
    tmp_path,
):
    """An interrupted copy among good ``.json.gz`` parts: the run stops with the project's
    line naming the file, as the console's last line, and prints nothing of the tasks
    cancelled after it (Hadoop's shell and committer warned about their cleanup, one of
    them with 43 Java frames). Its first lines read well: the write of kept_events, the
    one pass, meets its end."""
    log = tmp_path / "log"
    log.mkdir()
    for part in range(5):
        lines = "".join(
            event_line(ts=BASE_TS + 600_000 * (2000 * part + n)) + "\n"
            for n in range(2000)
        )
        compressed = gzip.compress(lines.encode())
        if part == 3:
            compressed = compressed[: len(compressed) // 2]  # an interrupted copy
        (log / f"part-{part}.json.gz").write_bytes(compressed)

    console = _console(tmp_path / "data", log)

    message = (
        f"Cannot read the input file file://{log / 'part-3.json.gz'} to its end "
        "(java.io.EOFException: Unexpected end of input stream): it is truncated or "
        "corrupt, as an interrupted copy leaves a file. Copy it again, or move it out of "
        "the input, and run again."
    )
    traceback_starts = console.index("Traceback (most recent call last):")
    assert console[:traceback_starts] == [
        "INFO Kedro project sparkify_kedro",
        # the JVM's launcher, for a module Spark always adds (conf/README.md)
        "WARNING: Using incubator modules: jdk.incubator.vector",
        "INFO SparkSession ready: master=local[*], env=local",
        "INFO [1/5] parse_event_lines",
        "INFO [1/5] parse_event_lines: <t> s",
        "INFO [2/5] build_clean_events",
        "WARNING There are 4 nodes that have not run.",
        "You can resume the pipeline run from the nearest nodes with persisted inputs by "
        "adding the following argument to your previous command:",
        '  --from-nodes "parse_event_lines"',
    ]
    # then Python's traceback of the project's error, which chains no Java exception
    python_frames = ("Traceback", "  File ", "    ", "The above exception")
    assert [
        line
        for line in console[traceback_starts:]
        if not line.startswith(python_frames)
    ] == [
        f"sparkify_kedro.spark_errors.UnreadableInputFileError: {message}",
        "",
        "",
        f"kedro.io.core.DatasetError: kept_events: {message}",
    ]
    assert console[-1] == f"kedro.io.core.DatasetError: kept_events: {message}"


def test_a_missing_input_is_one_line_without_spark_warnings(spark, tmp_path, capfd):
    missing = tmp_path / "nowhere" / "events.json"
    capfd.readouterr()
    with pytest.raises(Exception, match="no such file or folder") as error:
        run_pipeline(
            "data_processing", tmp_path / "data", {"raw_events_path": str(missing)}
        )
    assert str(missing) in str(error.value)
    printed = capfd.readouterr()
    assert "FileStreamSink" not in printed.err
    assert "\tat " not in printed.out + printed.err


# ------------------------------------------------------------ a log mixing everything
VALID_LINES = [
    event_line(ts=BASE_TS + 1000 * n, userId=str(30 + n % 4), itemInSession=50 + n)
    for n in range(24)
]
# Bad lines of every class, each with what must happen to it.
QUARANTINED_LINES = {
    event_line(ts=10**25): "out_of_range_ts",
    event_line(status=2**31): "out_of_range_status",
    event_line(ts=0): "out_of_range_ts",
    event_line(ts=BASE_TS * 1000): "out_of_range_ts",
    event_line(length=float("nan")): "invalid_length",  # json.dumps writes NaN
    event_line(length=float("inf")): "invalid_length",
    event_line()[:-1] + ', "sessionId": 9007199254740993.0}': "inexact_sessionId",
    VALID_LINES[0] + VALID_LINES[1]: "text_after_json_value",
    VALID_LINES[2] + ', {"ts": 1538': "text_after_json_value",
    VALID_LINES[3] + ", " + VALID_LINES[4]: "multiple_json_values",
    '{"ts": 1538352117000, "userId": "30", "page": "Ho': "malformed_json",
}
DROPPED_LINES = {
    "": "blank_line",
    event_line(userId="", auth="Logged Out"): "logged_out",
}


def _variant(line: str) -> str:
    """The same event as ``line`` in another spelling that has one right reading."""
    return line.replace(f'"ts": {BASE_TS}', f'"ts": {BASE_TS // 1000}').replace(
        '"userId": "30"', '"userId": "\\t30 "'
    )


@pytest.fixture(scope="module")
def mixed_and_clean_runs(spark, tmp_path_factory) -> dict[str, Path]:
    """data_processing on a folder mixing valid and bad lines over three depths and
    three compressions, and on the valid lines alone."""
    root = tmp_path_factory.mktemp("mixed")
    log = root / "log"
    (log / "a" / "b").mkdir(parents=True)
    bad = list(QUARANTINED_LINES) + list(DROPPED_LINES)
    # VALID_LINES[0] is written in seconds with a padded user id: one right reading.
    parts = [
        (log / "top.json", [_variant(VALID_LINES[0]), *VALID_LINES[1:8], *bad[:4]]),
        (log / "a" / "middle.json.gz", [*VALID_LINES[8:16], *bad[4:9]]),
        (log / "a" / "b" / "deep.json.bz2", [*VALID_LINES[16:], *bad[9:]]),
    ]
    compress = {".json": lambda b: b, ".gz": gzip.compress, ".bz2": bz2.compress}
    for path, lines in parts:
        path.write_bytes(compress[path.suffix]("\n".join(lines).encode() + b"\n"))
    clean_log = root / "clean.json"
    clean_log.write_text("\n".join(VALID_LINES) + "\n", encoding="utf-8")

    runs = {"log": log, "mixed": root / "mixed_data", "clean": root / "clean_data"}
    run_pipeline("data_processing", runs["mixed"], {"raw_events_path": str(log)})
    run_pipeline("data_processing", runs["clean"], {"raw_events_path": str(clean_log)})
    return runs


def test_every_valid_row_survives_a_log_mixing_every_bad_line(mixed_and_clean_runs):
    def rows(data_root: Path) -> list[tuple]:
        frame = load_dataset("clean_events", data_root)
        return sorted(
            tuple(row) for row in frame.select(sorted(frame.columns)).collect()
        )

    assert rows(mixed_and_clean_runs["mixed"]) == rows(mixed_and_clean_runs["clean"])
    assert len(rows(mixed_and_clean_runs["clean"])) == len(VALID_LINES)


def test_the_books_of_a_mixed_log_balance_to_the_line(mixed_and_clean_runs):
    report = load_dataset("data_quality_report", mixed_and_clean_runs["mixed"])
    expected_quarantine: dict[str, int] = {}
    for reason in QUARANTINED_LINES.values():
        expected_quarantine[reason] = expected_quarantine.get(reason, 0) + 1
    lines = len(VALID_LINES) + len(QUARANTINED_LINES) + len(DROPPED_LINES)
    assert report["lines_read"] == lines
    assert report["rows_kept"] == len(VALID_LINES)
    assert report["lines_quarantined_by_reason"] == dict(
        sorted(expected_quarantine.items())
    )
    assert report["rows_dropped_by_reason"] == {
        "blank_line": 1,
        "duplicate_event": 0,
        "logged_out": 1,
    }
    assert report["books_balance"] is True
    assert report["values_converted"] == {
        "ts_from_seconds": 1,
        "registration_from_seconds": 0,
    }
    quarantined = load_dataset("quarantined_events", mixed_and_clean_runs["mixed"])
    assert {row["raw_line"]: row["reason"] for row in quarantined.collect()} == (
        QUARANTINED_LINES
    )


def test_a_folder_is_read_at_every_depth_and_each_file_is_listed(mixed_and_clean_runs):
    log = mixed_and_clean_runs["log"]
    report = load_dataset("data_quality_report", mixed_and_clean_runs["mixed"])
    assert report["input_files"] == [
        {"file": file_uri(log / "a" / "b" / "deep.json.bz2"), "lines": 8 + 4},
        {"file": file_uri(log / "a" / "middle.json.gz"), "lines": 8 + 5},
        {"file": file_uri(log / "top.json"), "lines": 8 + 4},
    ]
