"""Data in: tables too large for memory (read in chunks, sampled, streamed) and time columns."""

from core.data.chunk_dataset import chunk_dataset, shuffled_batches
from core.data.frame_checks import check_frame
from core.data.model_inputs import (
    concatenate_rows,
    count_rows,
    repeat_rows,
    take_rows,
    tile_rows,
)
from core.data.relative_paths import resolve_image_paths
from core.data.row_keys import keys_below, row_keys
from core.data.table_scan import TableScan
from core.data.table_source import (
    PARQUET_HINT,
    TableSource,
    is_table_path,
    require_pyarrow,
)
from core.data.time_values import parse_times, to_datetimes

__all__ = [
    "PARQUET_HINT",
    "TableScan",
    "TableSource",
    "check_frame",
    "chunk_dataset",
    "concatenate_rows",
    "count_rows",
    "is_table_path",
    "keys_below",
    "parse_times",
    "repeat_rows",
    "require_pyarrow",
    "resolve_image_paths",
    "row_keys",
    "shuffled_batches",
    "take_rows",
    "tile_rows",
    "to_datetimes",
]
