"""What one pass over a table on disk found: its size, target values and bounded samples."""

import dataclasses

import numpy as np
import pandas as pd

from core.data.row_keys import keys_below, row_keys


@dataclasses.dataclass
class TableScan:
    """The result of `TableSource.scan`.

    Attributes:
        n_rows: rows in the table.
        label_counts: `{value: rows}` of the target column, missing values excluded.
        n_missing_labels: rows whose target is missing.
        sample: a uniform random sample of the rows (every row of a small
            table), all columns, in table order, index = row numbers.
        holdout: the held-out rows, all columns, in table order.
        holdout_seed: seed of the per-row draw that chose `holdout`.
        holdout_limit: a row is held out when its key is below this.
    """

    n_rows: int
    label_counts: dict
    n_missing_labels: int
    sample: pd.DataFrame
    holdout: pd.DataFrame
    holdout_seed: int
    holdout_limit: int

    def holdout_mask(self, index):
        """Which rows of a chunk are held out.

        Args:
            index: the chunk's row numbers (a `TableSource` chunk's index).

        Returns:
            bool array, True for the rows in `holdout`.
        """
        if self.holdout_limit <= 0:
            return np.zeros(len(index), dtype=bool)
        return keys_below(row_keys(index, self.holdout_seed), self.holdout_limit)

    def without_holdout(self):
        """The same scan with no row held out (the held-out rows go back to training)."""
        return dataclasses.replace(self, holdout=self.holdout.iloc[:0], holdout_limit=0)
