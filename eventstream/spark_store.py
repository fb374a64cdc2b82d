"""Where the Spark engine keeps its cumulative totals: beside Spark's own checkpoint.

One file per micro-batch, `<batch id>.json`, written under a hidden temporary name and
renamed into place, never overwritten (as Spark's `HDFSMetadataLog` does), through Hadoop's
FileSystem API so the checkpoint may live on any filesystem Spark can write (local, HDFS,
S3A...). Loading takes the highest id; older files are pruned after each save.
"""

from __future__ import annotations

import logging
from typing import Any

from eventstream.spark_totals import Totals

log = logging.getLogger(__name__)

TOTALS_DIRECTORY = "eventstream-totals"
KEEP_FILES = 2  # the newest files kept; more would only cost listing time


class TotalsStore:
    """Save and load `Totals` in `<checkpoint>/eventstream-totals/` via the JVM's Hadoop API."""

    def __init__(self, spark: Any, checkpoint: str) -> None:
        jvm = spark.sparkContext._jvm
        self._jvm = jvm
        self._directory = jvm.org.apache.hadoop.fs.Path(checkpoint, TOTALS_DIRECTORY)
        self._commits = jvm.org.apache.hadoop.fs.Path(checkpoint, "commits")  # Spark's log
        self._fs = self._directory.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())

    def _batch_ids(self, directory: Any) -> list[int]:
        """The ids of the `<id>` or `<id>.json` files in `directory`, sorted."""
        if not self._fs.exists(directory):
            return []
        ids = []
        for status in self._fs.listStatus(directory):
            stem, dot, extension = status.getPath().getName().partition(".")
            if stem.isdigit() and (not dot or extension == "json"):
                ids.append(int(stem))
        return sorted(ids)

    def _path(self, batch_id: int) -> Any:
        return self._jvm.org.apache.hadoop.fs.Path(self._directory, f"{batch_id}.json")

    def load(self) -> Totals:
        """The newest saved totals, or empty totals for a fresh checkpoint."""
        ids = self._batch_ids(self._directory)
        if not ids:
            return Totals()
        stream = self._fs.open(self._path(ids[-1]))
        try:
            text = self._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
        finally:
            stream.close()
        return Totals.from_json(text)

    def load_consistent(self) -> Totals:
        """`load()`, checked against Spark's commit log: raise ValueError if the totals miss a
        batch Spark has committed (they were deleted, or the checkpoint is not ours), since
        Spark would never count those files again."""
        totals = self.load()
        commits = self._batch_ids(self._commits)
        if commits and commits[-1] > totals.batch_id:
            raise ValueError(
                f"Spark committed batch {commits[-1]} but the totals in {self._directory} "
                f"stop at batch {totals.batch_id}; use a fresh --checkpoint directory"
            )
        return totals

    def save(self, totals: Totals) -> None:
        """Publish `totals` as `<batch id>.json` (temp file + rename), then prune old files."""
        self._fs.mkdirs(self._directory)
        final = self._path(totals.batch_id)
        if self._fs.exists(final):
            # Never overwritten. The handler skips batch ids up to the newest saved one, so
            # this means another run is saving to the same checkpoint.
            raise OSError(f"{final} exists: is another run using this checkpoint?")
        temporary = self._jvm.org.apache.hadoop.fs.Path(
            self._directory, f".{totals.batch_id}.json.tmp"
        )
        stream = self._fs.create(temporary, True)
        try:
            stream.write(bytearray(totals.to_json().encode()))
        finally:
            stream.close()
        if not self._fs.rename(temporary, final):
            raise OSError(f"could not rename {temporary} to {final}")
        for old in self._batch_ids(self._directory)[:-KEEP_FILES]:
            self._fs.delete(self._path(old), False)
