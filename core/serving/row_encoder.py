"""Validated request rows straight to a table model's input matrix, without pandas."""

import numpy as np
import pandas as pd

from core.preprocessing.tabular_preprocessor import MISSING_CODE, RESERVED_CODES, UNKNOWN_CODE


class RowEncoder:
    """Encodes rows of a table request as `TabularPreprocessor.transform` would.

    `transform` takes a DataFrame, and building one costs more than a
    micro-batch of rows takes through the model. The rows of a request are
    already validated (numbers are floats or None, categories strings,
    booleans or None), so this encodes them from the preprocessor's fitted
    state directly. `matches_preprocessor` checks the two agree; the server
    uses the encoder only when they do.

    Args:
        preprocessor: a fitted `TabularPreprocessor`.
        columns: the request's columns, in the order `encode` gets each row's
            values; columns the preprocessor does not know are ignored.

    Example:
    >>> encoder = RowEncoder(clf.preprocessor_, ["age", "sex"])
    >>> matrix = encoder.encode([[61.0, "F"], [None, None]])
    """

    def __init__(self, preprocessor, columns):
        position = {column: i for i, column in enumerate(columns)}
        missing = [c for c in preprocessor.feature_names_in_ if c not in position]
        if missing:
            raise ValueError(f"`columns` lacks the preprocessor's columns {missing}.")
        self.preprocessor = preprocessor
        self.columns = list(columns)
        self._numeric = [position[c] for c in preprocessor.numeric_columns_]
        self._categorical = [position[c] for c in preprocessor.categorical_columns_]
        self._medians = np.asarray(preprocessor.medians_, dtype=np.float64)
        self._scales = np.asarray(preprocessor.scales_, dtype=np.float64)
        self._missing_seen = np.asarray(preprocessor.missing_seen_, dtype=bool)
        self._lookups = [
            {key: code for code, key in enumerate(vocabulary, start=RESERVED_CODES)}
            for vocabulary in preprocessor.vocabularies_
        ]

    def encode(self, rows):
        """The model input of rows of values in `columns` order.

        Args:
            rows: a list of sequences of values: floats or None for numeric
                columns, strings, booleans or None for categorical ones.

        Returns:
            float32 array `(len(rows), n_output_features_)`.
        """
        n_numeric = len(self._numeric)
        out = np.empty((len(rows), n_numeric * 2 + len(self._categorical)), dtype=np.float32)
        if n_numeric:
            values = np.array(
                [[row[i] for i in self._numeric] for row in rows], dtype=np.float64
            ).reshape(len(rows), n_numeric)
            missing = np.isnan(values)
            with np.errstate(over="ignore"):  # A huge value overflows to +-inf, then is clipped.
                scaled = np.where(missing, 0.0, (values - self._medians) / self._scales)
            clip = self.preprocessor.clip
            out[:, :n_numeric] = np.clip(scaled, -clip, clip)
            out[:, n_numeric : 2 * n_numeric] = missing & self._missing_seen
        for j, (i, lookup) in enumerate(zip(self._categorical, self._lookups, strict=True)):
            out[:, 2 * n_numeric + j] = [
                MISSING_CODE if row[i] is None else lookup.get(str(row[i]), UNKNOWN_CODE)
                for row in rows
            ]
        return out

    def matches_preprocessor(self, rows):
        """Whether `encode(rows)` equals the preprocessor's `transform` of the same rows."""
        frame = pd.DataFrame(list(rows), columns=self.columns, dtype=object)
        return np.array_equal(self.encode(rows), self.preprocessor.transform(frame))
