"""A table on disk read in bounded chunks: a CSV file, a Parquet file or a folder of them."""

import hashlib
import json
import os

import numpy as np
import pandas as pd

from core.data.row_keys import KEY_SPACE, keys_below, row_keys
from core.data.table_scan import TableScan

#: Rows per chunk when a source is not given `chunk_rows`.
CHUNK_ROWS = 65_536
#: Distinct values a target column may have before the scan gives up on it.
MAX_LABELS = 10_000
PARQUET_HINT = 'pip install "keras-domains[parquet]"'
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zst")
PARQUET_SUFFIXES = (".parquet", ".pq")
# Columns named in an error message, at most.
_SHOWN_COLUMNS = 20


def is_table_path(X):
    """Whether `X` is a path (to a table file or folder) rather than data."""
    return isinstance(X, str | os.PathLike)


def require_pyarrow():
    """Imports `pyarrow.parquet` and returns it.

    Raises:
        ImportError: if pyarrow is not installed; the message names the
            install command `pip install "keras-domains[parquet]"`.
    """
    try:
        import pyarrow.parquet as pq
    except ImportError as error:
        raise ImportError(
            f"Reading Parquet files needs pyarrow, which is not installed. Install it with: "
            f"{PARQUET_HINT}"
        ) from error
    return pq


class TableSource:
    """A CSV file, a Parquet file or a folder of Parquet files, read chunk by chunk.

    Nothing is loaded at construction beyond the column names (the CSV
    header, or the Parquet schemas). `chunks` yields pandas DataFrames of at
    most `chunk_rows` rows whose index is each row's number in the table, so
    memory stays bounded however large the table is. `scan` makes one pass
    that counts the rows, collects the values of a target column and draws
    bounded random samples.

    CSV files are read with pandas (compressed files by their extension);
    Parquet needs pyarrow (the `parquet` extra). A folder is read as all its
    `*.parquet` files in name order, which must share their columns.

    Args:
        path: the file or folder.
        chunk_rows: rows per chunk, at most; default `CHUNK_ROWS`.
        name: the argument the path was passed as, for error messages.

    Raises:
        FileNotFoundError: if `path` does not exist.
        ValueError: for an extension that is neither CSV nor Parquet, a
            folder without Parquet files, or Parquet files whose columns differ.
        ImportError: for Parquet without pyarrow.

    Example:
    >>> source = TableSource("loans.parquet")
    >>> for chunk in source.chunks(columns=["income", "default"]):
    ...     print(len(chunk))
    """

    def __init__(self, path, chunk_rows=None, name="X"):
        if not is_table_path(path):
            raise TypeError(
                f"`{name}` must be a file or folder path (str or os.PathLike). "
                f"Received: {type(path).__name__}"
            )
        chunk_rows = CHUNK_ROWS if chunk_rows is None else chunk_rows
        if not isinstance(chunk_rows, int | np.integer) or chunk_rows < 1:
            raise ValueError(
                f"`chunk_rows` must be a positive integer. Received: chunk_rows={chunk_rows!r}"
            )
        self.path = os.fspath(path)
        self.chunk_rows = int(chunk_rows)
        self.name = name
        if not os.path.exists(self.path):
            raise FileNotFoundError(
                f"`{name}` names a file or folder that does not exist: {self.path!r}."
            )
        if os.path.isdir(self.path):
            self.kind = "parquet"
            self.files = sorted(
                os.path.join(self.path, f)
                for f in os.listdir(self.path)
                if f.endswith(PARQUET_SUFFIXES) and os.path.isfile(os.path.join(self.path, f))
            )
            if not self.files:
                raise ValueError(
                    f"`{name}` is a folder, so it must hold .parquet files; {self.path!r} has "
                    f"none. Received a folder with {len(os.listdir(self.path))} entries."
                )
        else:
            lower = self.path.lower()
            if lower.endswith(CSV_SUFFIXES):
                self.kind = "csv"
            elif lower.endswith(PARQUET_SUFFIXES):
                self.kind = "parquet"
            else:
                extension = os.path.splitext(lower)[1] or "none"
                raise ValueError(
                    f"`{name}` must be a .csv or .parquet file, or a folder of .parquet files. "
                    f"Received: {self.path!r} (extension {extension!r})."
                )
            self.files = [self.path]
        self._pq = require_pyarrow() if self.kind == "parquet" else None
        self.columns = self._read_columns()

    def __repr__(self):
        return f"TableSource({self.path!r}, kind={self.kind!r}, chunk_rows={self.chunk_rows})"

    def fingerprint(self):
        """A hex digest of the files' paths, sizes and modification times.

        Two sources with the same fingerprint read the same bytes, unless a
        file was rewritten in place within the clock's resolution.
        """
        entries = []
        for path in self.files:
            stat = os.stat(path)
            entries.append([os.path.abspath(path), stat.st_size, stat.st_mtime_ns])
        payload = json.dumps([self.kind, entries]).encode()
        return hashlib.sha256(payload).hexdigest()

    # ------------------------------------------------------------- columns
    def _read_columns(self):
        if self.kind == "csv":
            return [str(c) for c in pd.read_csv(self.path, nrows=0).columns]
        columns = None
        for path in self.files:
            names = list(self._pq.ParquetFile(path).schema_arrow.names)
            if columns is None:
                columns = names
            elif set(names) != set(columns):
                raise ValueError(
                    f"The Parquet files of `{self.name}` must share their columns; "
                    f"{path!r} has {_shown(names)} while {self.files[0]!r} has {_shown(columns)}."
                )
        return columns

    def check_columns(self, names, argument):
        """Raises unless every name in `names` is a column of the table.

        Args:
            names: column names.
            argument: the argument that named them, for the message.

        Raises:
            ValueError: naming the missing columns and listing the table's columns.
        """
        missing = [c for c in names if c not in self.columns]
        if missing:
            shown = missing[0] if len(missing) == 1 else missing
            raise ValueError(
                f"`{argument}`={shown!r} is not a column of {self.path!r}. Its columns "
                f"({len(self.columns)}): {_shown(self.columns)}."
            )

    # -------------------------------------------------------------- chunks
    def chunks(self, columns=None, shuffle_seed=None):
        """Yields the table as DataFrames of at most `chunk_rows` rows.

        Args:
            columns: columns to read (all by default).
            shuffle_seed: for Parquet, read the row groups in an order
                shuffled by this seed (rows within a row group keep their
                order); None reads in file order. CSV is always read in order.

        Yields:
            `pandas.DataFrame` chunks whose index holds each row's number in
            the whole table (0 for the first row of the first file).
        """
        if columns is not None:
            self.check_columns(columns, "columns")
            columns = list(columns)
        if self.kind == "csv":
            yield from self._csv_chunks(columns)
        else:
            yield from self._parquet_chunks(columns, shuffle_seed)

    def _csv_chunks(self, columns):
        start = 0
        with pd.read_csv(self.path, usecols=columns, chunksize=self.chunk_rows) as reader:
            for chunk in reader:
                chunk.index = pd.RangeIndex(start, start + len(chunk))
                start += len(chunk)
                if columns is not None:
                    chunk = chunk[columns]
                yield chunk

    def _parquet_pieces(self):
        """`(file, row_group, first_row, n_rows)` for every row group, in file order."""
        pieces, start = [], 0
        for path in self.files:
            metadata = self._pq.ParquetFile(path).metadata
            for group in range(metadata.num_row_groups):
                n_rows = metadata.row_group(group).num_rows
                pieces.append((path, group, start, n_rows))
                start += n_rows
        return pieces

    def _parquet_chunks(self, columns, shuffle_seed):
        pieces = self._parquet_pieces()
        if shuffle_seed is not None:
            order = np.random.default_rng(shuffle_seed).permutation(len(pieces))
            pieces = [pieces[i] for i in order]
        names = self.columns if columns is None else columns
        current_path, parquet_file = None, None
        for path, group, start, _ in pieces:
            if path != current_path:
                current_path, parquet_file = path, self._pq.ParquetFile(path)
            batches = parquet_file.iter_batches(
                batch_size=self.chunk_rows, row_groups=[group], columns=names
            )
            for batch in batches:
                chunk = batch.to_pandas()
                chunk.index = pd.RangeIndex(start, start + len(chunk))
                start += len(chunk)
                yield chunk[names]

    # ---------------------------------------------------------------- scan
    def scan(
        self,
        target,
        sample_rows=100_000,
        holdout_fraction=0.0,
        holdout_rows=20_000,
        seed=0,
    ):
        """One pass over the table: rows, target values and bounded random samples.

        Both samples are drawn by giving every row a pseudo-random key
        (`row_keys`) and keeping the rows with the smallest keys (bottom-k
        sampling, a form of reservoir sampling that works on whole chunks),
        so each is a uniform random sample without replacement, drawn in one
        pass, in memory bounded by its size plus one chunk.

        Args:
            target: the label column.
            sample_rows: size of the uniform sample of all rows (for fitting
                preprocessing); every row when the table is smaller.
            holdout_fraction: share of rows to hold out, chosen by a per-row
                random draw; at most `holdout_rows` rows are kept.
            holdout_rows: the most rows held out.
            seed: integer seed of both draws.

        Returns:
            A `TableScan`.

        Raises:
            ValueError: if `target` is not a column, or has more than
                `MAX_LABELS` distinct values.
        """
        self.check_columns([target], "target")
        if not 0.0 <= holdout_fraction < 1.0:
            raise ValueError(
                "`holdout_fraction` must be in [0, 1). "
                f"Received: holdout_fraction={holdout_fraction!r}"
            )
        sample_seed, holdout_seed = np.random.SeedSequence(seed).generate_state(2)
        sample = _BottomK(sample_rows, KEY_SPACE)
        holdout = _BottomK(holdout_rows, int(holdout_fraction * KEY_SPACE))
        counts, n_rows, n_missing = {}, 0, 0
        for chunk in self.chunks():
            n_rows += len(chunk)
            labels = chunk[target]
            n_missing += int(labels.isna().sum())
            for value, count in labels.value_counts(dropna=True).items():
                counts[value] = counts.get(value, 0) + int(count)
            if len(counts) > MAX_LABELS:
                raise ValueError(
                    f"`target` column {target!r} has more than {MAX_LABELS} distinct values; "
                    "a classifier needs class labels. Received values such as "
                    f"{list(counts)[:5]}."
                )
            sample.offer(chunk, row_keys(chunk.index, sample_seed))
            holdout.offer(chunk, row_keys(chunk.index, holdout_seed))
        sample_frame, _ = sample.result(self.columns)
        holdout_frame, holdout_limit = holdout.result(self.columns)
        return TableScan(
            n_rows=n_rows,
            label_counts=counts,
            n_missing_labels=n_missing,
            sample=sample_frame,
            holdout=holdout_frame,
            holdout_seed=int(holdout_seed),
            holdout_limit=holdout_limit,
        )


class _BottomK:
    """Keeps the rows with the `k` smallest keys below `limit`, seen chunk by chunk."""

    def __init__(self, k, limit):
        self.k = int(k)
        self.limit = int(limit)
        self._frames, self._keys, self._size = [], [], 0

    def offer(self, frame, keys):
        if self.k <= 0 or self.limit <= 0:
            return
        take = keys_below(keys, self.limit)
        if not take.any():
            return
        self._frames.append(frame[take])
        self._keys.append(keys[take])
        self._size += int(take.sum())
        if self._size > 2 * self.k:  # Amortised: shrink once the kept rows double.
            self._shrink()

    def _shrink(self):
        keys = np.concatenate(self._keys)
        frame = pd.concat(self._frames) if len(self._frames) > 1 else self._frames[0]
        if len(keys) > self.k:
            keep = np.argpartition(keys, self.k - 1)[: self.k]
            keys, frame = keys[keep], frame.iloc[keep]
            # Every row with a key below the new limit is among the kept ones.
            self.limit = int(keys.max()) + 1
        self._frames, self._keys, self._size = [frame], [keys], len(keys)

    def result(self, columns):
        """`(rows in table order, limit)`: the kept rows are exactly those with key < limit."""
        if not self._frames:  # No row has a key below the limit: none was ever offered.
            return pd.DataFrame(columns=columns), 0
        self._shrink()
        return self._frames[0].sort_index(), self.limit


def _shown(columns):
    """The first columns of a list, for an error message."""
    columns = list(columns)
    if len(columns) <= _SHOWN_COLUMNS:
        return columns
    return [*columns[:_SHOWN_COLUMNS], f"... {len(columns) - _SHOWN_COLUMNS} more"]
