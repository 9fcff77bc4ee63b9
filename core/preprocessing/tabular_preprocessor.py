"""Learned preprocessing for raw tables: numbers, categories and missing values."""

import os

import numpy as np
import pandas as pd
import scipy.sparse

from core.data.table_source import is_table_path
from core.preprocessing.input_adapter import InputAdapter

MISSING_CODE = 0
UNKNOWN_CODE = 1
RESERVED_CODES = 2
#: Names of the arrays `transform` returns: numbers with their missing indicators, category codes.
NUMERIC_INPUT = "numeric"
CATEGORICAL_INPUT = "categorical"
# Inputs up to this many rows take the single-row path of `transform`.
SMALL_INPUT_ROWS = 16


class TabularPreprocessor(InputAdapter):
    """Turns a raw DataFrame into the named arrays that `TabularEmbedding` reads.

    The input adapter of tables: `validate` takes a DataFrame or a 2-D
    array the way scikit-learn does (string column names, or positions
    named `x0, x1, ...`) and checks it against the columns seen in fit.

    Numeric columns are imputed with the training median, get a missing
    indicator (only where values were missing at fit time, as scikit-learn's
    `SimpleImputer(add_indicator=True)` does) and are scaled robustly by the
    median and the inter-quartile range, then clipped. Categorical, string and
    boolean columns get a vocabulary ordered by frequency, with code 0 for a
    missing value and code 1 for an unknown or rare category. `transform`
    returns a dict: `"numeric"`, float32 `(n, 2 * n_numeric)` (scaled values,
    then missing indicators) and `"categorical"`, int32 codes `(n,
    n_categorical)`; a block without columns is left out. The whole state is
    plain JSON (`get_state` / `from_state`).

    Args:
        min_frequency: categories seen fewer times than this at fit time are
            folded into the unknown slot.
        max_categories: at most this many known categories per column; the
            rest are folded into the unknown slot.
        clip: scaled numeric values are clipped to `[-clip, clip]`, so one
            extreme outlier cannot dominate a small model.

    Attributes:
        feature_names_in_: input columns, in fit order.
        named_input_: whether the training input had column names (a
            DataFrame) rather than positions (an array).
        numeric_columns_: columns treated as numbers.
        categorical_columns_: columns treated as categories.
        medians_, scales_: per numeric column, for imputation and scaling.
        missing_seen_: per numeric column, whether it had missing values at fit.
        vocabularies_: per categorical column, the known categories (strings).

    Example:
    >>> pre = TabularPreprocessor().fit(df)
    >>> arrays = pre.transform(df)  # {"numeric": (n, 2 * n_numeric), "categorical": (n, k)}
    """

    input_kind = "table"

    def __init__(self, min_frequency=5, max_categories=100, clip=5.0):
        if not _is_count(min_frequency):
            raise ValueError(
                "`min_frequency` must be a positive integer. "
                f"Received: min_frequency={min_frequency!r}"
            )
        if not _is_count(max_categories):
            raise ValueError(
                "`max_categories` must be a positive integer. "
                f"Received: max_categories={max_categories!r}"
            )
        if not clip > 0:
            raise ValueError(f"`clip` must be positive. Received: clip={clip!r}")
        self.min_frequency = int(min_frequency)
        self.max_categories = int(max_categories)
        self.clip = float(clip)

    # ------------------------------------------------------------- validate
    def validate(self, X, reset=False, owner="the model"):
        """Returns a table as a DataFrame with string column names, checking its shape.

        As scikit-learn's `validate_data`: with `reset`, the input becomes
        the reference (its column count and whether it named its columns);
        otherwise it is checked against that reference, and an array's
        columns are matched by position.

        Args:
            X: a DataFrame or a 2-D array-like.
            reset: True for training input (at least 2 rows), False for
                input to a fitted adapter.
            owner: the estimator's name, for the messages.

        Returns:
            A DataFrame whose columns are the names `fit` saw (or will see).
        """
        if is_table_path(X):
            raise TypeError(
                f"{owner} reads a file path in fit, predict and predict_proba; pass a DataFrame "
                f"here. Received: X={os.fspath(X)!r}"
            )
        if scipy.sparse.issparse(X):
            raise TypeError(
                f"{owner} does not accept sparse input; pass a DataFrame or a dense array."
            )
        if isinstance(X, pd.DataFrame):
            frame = X
            has_names = len(X.columns) > 0 and all(isinstance(c, str) for c in X.columns)
            if not has_names:
                frame = X.set_axis([f"x{i}" for i in range(X.shape[1])], axis=1)
        else:
            array = np.asarray(X)
            if array.dtype.kind == "c":
                raise ValueError(
                    "Complex data not supported in `X`; expected real numbers or categories. "
                    f"Received dtype {array.dtype}."
                )
            if array.ndim != 2:
                raise ValueError(
                    f"Expected a 2-D table (rows x columns), got an array of shape {array.shape}. "
                    "Reshape your data with array.reshape(-1, 1) for a single feature or "
                    "array.reshape(1, -1) for a single row."
                )
            frame = pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])
            has_names = False
        if frame.shape[1] == 0:
            raise ValueError(
                f"X has 0 feature(s) (shape={frame.shape}) while a minimum of 1 is required."
            )
        if frame.shape[0] == 0:
            raise ValueError(
                f"X is empty: 0 sample(s) (shape={frame.shape}); a minimum of 1 is required."
            )
        if reset:
            if len(frame) < 2:
                raise ValueError(
                    f"X has {len(frame)} sample(s); a minimum of 2 is required to train."
                )
            self.named_input_ = has_names
            return frame
        if not (has_names and self.named_input_):
            expected = len(self.feature_names_in_)
            if frame.shape[1] != expected:
                raise ValueError(
                    f"X has {frame.shape[1]} features, but {owner} is expecting "
                    f"{expected} features as input."
                )
            # Positions are the contract when either side had no names.
            frame = frame.set_axis(list(self.feature_names_in_), axis=1)
        return frame

    # ------------------------------------------------------------------ fit
    def fit(self, X):
        """Learns column types, medians, scales and vocabularies.

        Args:
            X: a pandas DataFrame with at least one row and one column.

        Returns:
            self.
        """
        X = checked_frame(X, "X")
        self.feature_names_in_ = [str(c) for c in X.columns]
        self.numeric_columns_ = []
        self.categorical_columns_ = []
        self.medians_, self.scales_, self.missing_seen_ = [], [], []
        self.vocabularies_ = []
        for name, column in zip(self.feature_names_in_, X.columns, strict=True):
            values = X[column]
            if _is_numeric(values):
                self._fit_numeric(name, values.to_numpy(dtype=np.float64, na_value=np.nan))
            else:
                self._fit_categorical(values)
                self.categorical_columns_.append(name)
        return self._index()

    def _fit_numeric(self, name, values):
        if np.isinf(values).any():
            raise ValueError(
                f"Column {name!r} contains infinite values; expected finite numbers or "
                "missing values (NaN)."
            )
        present = values[~np.isnan(values)]
        if present.size == 0:
            median, scale = 0.0, 1.0
        else:
            # Near float64's limit (|x| ~ 1e308) the spread overflows; checked just below.
            with np.errstate(over="ignore", invalid="ignore"):
                q25, median, q75 = np.percentile(present, [25, 50, 75])
                scale = q75 - q25
                if not scale > 0:
                    scale = present.std()
            if not scale > 0:
                scale = 1.0
            if not (np.isfinite(median) and np.isfinite(scale)):
                largest = float(np.abs(present).max())
                raise ValueError(
                    f"Column {name!r} holds numbers too large to scale (up to {largest:.3g} in "
                    "magnitude; their spread overflows float64). Expected finite numbers of "
                    "a sensible magnitude, or missing values (NaN)."
                )
        self.numeric_columns_.append(name)
        self.medians_.append(float(median))
        self.scales_.append(float(scale))
        self.missing_seen_.append(bool(present.size < values.size))

    def _fit_categorical(self, values):
        counts = _as_category_strings(values).value_counts(dropna=True)
        # Frequency first, then the category itself, so the order is deterministic.
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        vocabulary = [key for key, count in ordered if count >= self.min_frequency]
        self.vocabularies_.append(vocabulary[: self.max_categories])

    # ------------------------------------------------------------ transform
    @property
    def cardinalities_(self):
        """Number of codes per categorical column, reserved slots included."""
        return [len(v) + RESERVED_CODES for v in self.vocabularies_]

    @property
    def output_widths_(self):
        """`{array name: (columns, dtype)}` of what `transform` returns (blocks with columns)."""
        return self._table_widths()

    def _table_widths(self):
        """`{array name: (columns, dtype)}` of the number and category blocks that have columns."""
        widths = {
            NUMERIC_INPUT: (2 * len(self.numeric_columns_), "float32"),
            CATEGORICAL_INPUT: (len(self.categorical_columns_), "int32"),
        }
        return {name: spec for name, spec in widths.items() if spec[0]}

    def empty(self, n_rows):
        """Uninitialised arrays of `n_rows` rows in the layout `transform` returns."""
        widths = self.output_widths_
        return {name: np.empty((n_rows, width), dtype) for name, (width, dtype) in widths.items()}

    def transform(self, X):
        """Encodes a DataFrame with the columns seen at fit time.

        Extra columns are ignored; column order does not matter.

        Args:
            X: a pandas DataFrame.

        Returns:
            dict of arrays (see the class): `"numeric"` scaled numbers and
            missing indicators, `"categorical"` category codes.
        """
        X = checked_frame(X, "X", allow_empty=True)
        positions = X.columns.get_indexer(self.feature_names_in_)
        if (positions < 0).any():
            missing = [c for c, i in zip(self.feature_names_in_, positions, strict=True) if i < 0]
            raise ValueError(
                f"X is missing columns {missing} that were present during fit. "
                f"Expected columns: {self.feature_names_in_}."
            )
        if len(X) <= SMALL_INPUT_ROWS:
            encoded = self._transform_small(X, positions)
            if encoded is not None:
                return encoded
        out = self.empty(len(X))
        if self.numeric_columns_:
            self._encode_numeric(self._numeric_block(X), out[NUMERIC_INPUT])
        for j, (name, vocabulary) in enumerate(
            zip(self.categorical_columns_, self.vocabularies_, strict=True)
        ):
            out[CATEGORICAL_INPUT][:, j] = _encode_categories(X[name], vocabulary)
        return out

    def _transform_small(self, X, positions):
        """Encodes a few rows from one object array, skipping pandas' per-column cost.

        This is the path of a single-row `predict`. It returns None when a
        value needs the full path's checks (a string in a numeric column).
        """
        return self._encode_values(X.to_numpy(dtype=object)[:, positions])

    def transform_values(self, rows, columns):
        """Encodes rows of plain values, without a DataFrame: for servers and other hot paths.

        Building a DataFrame costs more than a small batch of rows takes
        through a model; this is `transform` on the values directly.

        Args:
            rows: a sequence of rows, each a sequence of values in `columns`
                order: numbers or None in numeric columns; strings, booleans,
                numbers or None in categorical ones.
            columns: the column of each position; every fitted column must be
                there (others are ignored).

        Returns:
            the arrays `transform` returns, or None when a value needs
            `transform`'s checks and messages (text or infinity in a numeric
            column): call `transform` on a DataFrame then.
        """
        position = {column: i for i, column in enumerate(columns)}
        missing = [c for c in self.feature_names_in_ if c not in position]
        if missing:
            raise ValueError(
                f"`columns` lacks columns {missing} that were present during fit. "
                f"Received: columns={list(columns)}"
            )
        values = np.empty((len(rows), len(columns)), dtype=object)
        values[:] = rows if len(rows) else values
        return self._encode_values(values[:, [position[c] for c in self.feature_names_in_]])

    def _encode_values(self, values):
        """Encodes an object array whose columns are `feature_names_in_`, or returns None."""
        out = self.empty(len(values))
        if self.numeric_columns_:
            try:
                numeric = values[:, self._numeric_positions].astype(np.float64)
            except (TypeError, ValueError, OverflowError):
                return None
            if np.isinf(numeric).any():
                return None
            self._encode_numeric(numeric, out[NUMERIC_INPUT])
        for j, (position, lookup) in enumerate(
            zip(self._categorical_positions, self._lookups, strict=True)
        ):
            out[CATEGORICAL_INPUT][:, j] = [
                MISSING_CODE if _is_missing(v) else lookup.get(str(v), UNKNOWN_CODE)
                for v in values[:, position]
            ]
        return out

    def _index(self):
        """Derived look-up tables for the single-row path; called after fit and load."""
        order = {name: i for i, name in enumerate(self.feature_names_in_)}
        self._numeric_positions = [order[c] for c in self.numeric_columns_]
        self._categorical_positions = [order[c] for c in self.categorical_columns_]
        self._lookups = [
            {key: code for code, key in enumerate(v, start=RESERVED_CODES)}
            for v in self.vocabularies_
        ]
        return self

    def _encode_numeric(self, values, out):
        """Writes scaled values, then missing indicators, into `out` `(n, 2 * n_numeric)`."""
        n_numeric = len(self.numeric_columns_)
        is_missing = np.isnan(values) & np.asarray(self.missing_seen_)
        # A huge value overflows to +-inf here, which the clip below saturates.
        with np.errstate(over="ignore"):
            scaled = (values - np.asarray(self.medians_)) / np.asarray(self.scales_)
        scaled = np.where(np.isnan(scaled), 0.0, scaled)
        out[:, :n_numeric] = np.clip(scaled, -self.clip, self.clip)
        out[:, n_numeric:] = is_missing

    def _numeric_block(self, X):
        block = X[self.numeric_columns_]
        if all(_is_numeric(block[c]) for c in self.numeric_columns_):
            values = block.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            values = np.column_stack([_coerce_numeric(block[c], c) for c in self.numeric_columns_])
        bad = np.isinf(values).any(axis=0)
        if bad.any():
            names = [c for c, b in zip(self.numeric_columns_, bad, strict=True) if b]
            raise ValueError(
                f"Numeric columns {names} contain infinite values; expected finite "
                "numbers or missing values (NaN)."
            )
        return values

    def baseline(self):
        """The reference row used by explanations: a typical, fully observed patient.

        Returns:
            one row of the arrays `transform` returns: medians (0 after
            scaling), no missing indicators, the most frequent category.
        """
        base = {
            name: np.zeros((1, width), dtype)
            for name, (width, dtype) in self._table_widths().items()
        }
        for j, vocabulary in enumerate(self.vocabularies_):
            base[CATEGORICAL_INPUT][0, j] = RESERVED_CODES if vocabulary else UNKNOWN_CODE
        return base

    # ---------------------------------------------------------------- state
    def get_state(self):
        """Returns the fitted state as a JSON-serialisable dict."""
        return {
            "config": {
                "min_frequency": self.min_frequency,
                "max_categories": self.max_categories,
                "clip": self.clip,
            },
            "feature_names_in": self.feature_names_in_,
            "named_input": getattr(self, "named_input_", True),
            "numeric_columns": self.numeric_columns_,
            "medians": self.medians_,
            "scales": self.scales_,
            "missing_seen": self.missing_seen_,
            "categorical_columns": self.categorical_columns_,
            "vocabularies": self.vocabularies_,
        }

    @classmethod
    def from_state(cls, state):
        """Rebuilds a fitted preprocessor from `get_state()` output."""
        pre = cls(**state["config"])
        pre.feature_names_in_ = list(state["feature_names_in"])
        pre.named_input_ = state.get("named_input")  # None: a file saved before it was kept.
        pre.numeric_columns_ = list(state["numeric_columns"])
        pre.medians_ = [float(v) for v in state["medians"]]
        pre.scales_ = [float(v) for v in state["scales"]]
        pre.missing_seen_ = [bool(v) for v in state["missing_seen"]]
        pre.categorical_columns_ = list(state["categorical_columns"])
        pre.vocabularies_ = [list(v) for v in state["vocabularies"]]
        return pre._index()

    def input_schema(self):
        """Column names and kinds, as stored in model metadata."""
        schema = [{"name": c, "kind": "numeric"} for c in self.numeric_columns_]
        schema += [
            {"name": c, "kind": "categorical", "categories": v}
            for c, v in zip(self.categorical_columns_, self.vocabularies_, strict=True)
        ]
        order = {name: i for i, name in enumerate(self.feature_names_in_)}
        return sorted(schema, key=lambda item: order[item["name"]])


def checked_frame(X, name, allow_empty=False):
    """`X` with string column names, checked: a DataFrame with unique, real-valued columns.

    Raises:
        TypeError, ValueError: naming `name`, for anything else.
    """
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"`{name}` must be a pandas DataFrame. Received: {type(X).__name__}")
    if X.shape[1] == 0:
        raise ValueError(f"`{name}` has no columns; expected at least one feature column.")
    if not allow_empty and X.shape[0] == 0:
        raise ValueError(f"`{name}` is empty (0 rows); expected at least one row.")
    if not all(isinstance(c, str) for c in X.columns):
        X = X.rename(columns=str)
    if X.columns.has_duplicates:
        duplicated = X.columns[X.columns.duplicated()].unique().tolist()
        raise ValueError(
            f"`{name}` has duplicate column names {duplicated}; expected each column once. "
            f"Received columns {X.columns.tolist()}."
        )
    complex_columns = [c for c, dtype in X.dtypes.items() if dtype.kind == "c"]
    if complex_columns:
        raise ValueError(
            f"Columns {complex_columns} of `{name}` hold complex numbers; expected real "
            "numbers, categories or missing values."
        )
    return X


def _is_count(value):
    return isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= 1


def _is_numeric(values):
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _is_missing(value):
    return value is None or value is pd.NA or value is pd.NaT or value != value


def _coerce_numeric(values, name):
    if _is_numeric(values):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    if values.dtype.kind in "mM":  # pd.to_numeric would silently turn them into nanoseconds.
        raise ValueError(
            f"Column {name!r} was numeric during fit but holds {values.dtype} values; "
            "expected numbers or missing values."
        )
    try:
        converted = pd.to_numeric(values, errors="coerce")
    except (TypeError, ValueError, OverflowError):  # Even with errors="coerce": 10**400.
        converted = values.map(_number_or_nan).astype(np.float64)
    if converted.dtype.kind == "c":
        raise ValueError(
            f"Column {name!r} was numeric during fit but contains complex numbers; expected "
            "real numbers or missing values."
        )
    bad = converted.isna() & values.notna()
    if bad.any():
        examples = list(dict.fromkeys(values[bad].map(str)))[:3]
        raise ValueError(
            f"Column {name!r} was numeric during fit but contains non-numeric values "
            f"{examples}; expected numbers or missing values."
        )
    return converted.to_numpy(dtype=np.float64, na_value=np.nan)


def _number_or_nan(value):
    try:
        return float(value)
    except OverflowError:  # An integer beyond float64: as infinite, which is refused.
        return np.inf if value > 0 else -np.inf
    except (TypeError, ValueError):
        return np.nan


def _as_category_strings(values):
    """Category values as strings, missing values kept as missing."""
    strings = values.astype(object).where(values.notna(), None)
    return strings.map(lambda v: v if v is None else str(v))


def _encode_categories(values, vocabulary):
    lookup = {key: code for code, key in enumerate(vocabulary, start=RESERVED_CODES)}
    codes = np.full(len(values), UNKNOWN_CODE, dtype=np.float32)
    present = values.notna().to_numpy()
    codes[~present] = MISSING_CODE
    mapped = _as_category_strings(values).map(lookup)
    codes[present] = mapped[present].fillna(UNKNOWN_CODE).to_numpy(dtype=np.float32)
    return codes
