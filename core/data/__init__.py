"""Tables too large for memory: read in bounded chunks, sampled, streamed to training."""

from core.data.chunk_dataset import chunk_dataset, shuffled_batches
from core.data.row_keys import keys_below, row_keys
from core.data.table_scan import TableScan
from core.data.table_source import (
    PARQUET_HINT,
    TableSource,
    is_table_path,
    require_pyarrow,
)

__all__ = [
    "PARQUET_HINT",
    "TableScan",
    "TableSource",
    "chunk_dataset",
    "is_table_path",
    "keys_below",
    "require_pyarrow",
    "row_keys",
    "shuffled_batches",
]
