"""A folder that Spark did not finish writing is neither ``exists()`` nor loadable.

Spark's output committer writes ``_SUCCESS`` last; a run killed during a write leaves the
folder without it (only ``_temporary/`` or a part of the files).
"""

from __future__ import annotations

import pytest
from kedro.io.core import DatasetError

from sparkify_kedro.datasets import SparkDataset, SparkTextLinesDataset
from sparkify_kedro.datasets.spark_datasets import WriteState, write_state


@pytest.fixture
def users(spark):
    return spark.createDataFrame([("1", 0.5), ("2", 0.25)], "user_id string, p double")


def _dataset(path) -> SparkDataset:
    return SparkDataset(
        filepath=str(path), file_format="parquet", save_args={"mode": "overwrite"}
    )


def test_a_finished_write_exists_and_loads(users, tmp_path):
    dataset = _dataset(tmp_path / "scores.parquet")
    assert not dataset.exists()
    assert write_state(str(tmp_path / "scores.parquet")) is WriteState.MISSING

    dataset.save(users)

    assert (tmp_path / "scores.parquet" / "_SUCCESS").is_file()
    assert dataset.exists()
    assert sorted(dataset.load().collect()) == sorted(users.collect())


def test_a_write_stopped_before_its_commit_is_missing(users, tmp_path):
    # what a killed driver leaves: task files under _temporary/, nothing committed
    stopped = tmp_path / "scores.parquet"
    users.write.parquet(str(tmp_path / "finished"))
    task_dir = stopped / "_temporary" / "0" / "task_0"
    task_dir.mkdir(parents=True)
    for part in (tmp_path / "finished").glob("part-*"):
        (task_dir / part.name).write_bytes(part.read_bytes())
    dataset = _dataset(stopped)

    assert write_state(str(stopped)) is WriteState.INTERRUPTED
    assert not dataset.exists()  # kedro-datasets' own check raises here instead
    with pytest.raises(DatasetError, match="incomplete: it has no _SUCCESS marker"):
        dataset.load()


def test_a_write_stopped_during_its_commit_is_missing_then_rewritten(users, tmp_path):
    # part files already moved in place, _SUCCESS not yet written
    path = tmp_path / "scores.parquet"
    dataset = _dataset(path)
    dataset.save(users.limit(1))
    (path / "_SUCCESS").unlink()
    assert write_state(str(path)) is WriteState.UNMARKED
    assert not dataset.exists()
    with pytest.raises(DatasetError, match="Run the node that writes it again"):
        dataset.load()

    dataset.save(users)  # the rerun of the node overwrites cleanly

    assert dataset.exists()
    assert dataset.load().count() == 2


def test_a_plain_file_exists_without_a_marker(tmp_path):
    log = tmp_path / "events.json"
    log.write_text('{"page": "Home"}\n')
    dataset = SparkTextLinesDataset(filepath=str(log))
    assert write_state(str(log)) is WriteState.COMPLETE
    assert dataset.exists()
    assert dataset.load().count() == 1


def test_an_event_log_folder_from_elsewhere_loads_without_a_marker(spark, tmp_path):
    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "part-1.json").write_text('{"page": "Home"}\n{"page": "About"}\n')
    assert SparkTextLinesDataset(filepath=str(folder)).load().count() == 2


def test_an_interrupted_text_write_is_refused(spark, tmp_path):
    folder = tmp_path / "simulated_events"
    (folder / "_temporary" / "0").mkdir(parents=True)
    (folder / "part-1.txt").write_text('{"page": "Home"}\n')
    dataset = SparkTextLinesDataset(filepath=str(folder))
    assert not dataset.exists()
    with pytest.raises(DatasetError, match="stopped half-way"):
        dataset.load()
