"""Transactions in, each with its account's preceding ones: the input adapter of fraud models."""

from typing import NamedTuple

import numpy as np
import pandas as pd

from core.data import count_rows, take_rows
from core.data.time_values import parse_times
from core.preprocessing import TabularPreprocessor
from core.preprocessing.input_adapter import InputAdapter


class Transactions(NamedTuple):
    """Validated transactions: account ids, times in seconds, and the per-transaction features.

    The first `n_context` rows are history that gives context but is not scored.
    """

    accounts: np.ndarray
    times: np.ndarray
    features: pd.DataFrame
    n_context: int = 0


class TransactionsAdapter(InputAdapter):
    """Reads transactions and gives each one with the `window` preceding ones of its account.

    `validate` checks the account, time and amount columns and derives the
    features of a transaction (amount on a log scale, hour of day, weekday,
    the other columns as they are); `fit` learns their `TabularPreprocessor`;
    `transform` gives the model's named arrays over `window + 1` steps, the
    current transaction last (see `with_history`).

    Args:
        account_column: column identifying the account.
        time_column: timestamps (datetimes, ISO strings, or seconds as numbers).
        amount_column: transaction amount, or None.
        window: preceding transactions per row.
        min_frequency: categories rarer than this share the "unknown" slot.

    Attributes:
        features: the `TabularPreprocessor` of the derived features.
        feature_columns_: the derived feature columns, in input order.
    """

    input_kind = "transactions"

    def __init__(self, account_column, time_column, amount_column, window, min_frequency=5):
        self.account_column = account_column
        self.time_column = time_column
        self.amount_column = amount_column
        self.window = int(window)
        self.features = TabularPreprocessor(min_frequency=min_frequency)

    def validate(self, X, history=None, reset=False):
        """Checks transactions (and earlier ones of the same accounts, `history`).

        Args:
            X: transactions DataFrame.
            history: None, or earlier transactions whose rows give context
                to X's rows but are not scored.
            reset: unused: transactions are read the same way in fit and predict.

        Returns:
            `Transactions`, the history rows (if any) first.
        """
        rows = Transactions(*self._split_columns(X))
        if history is None:
            return rows
        earlier = Transactions(*self._split_columns(history, name="history"))
        return Transactions(
            np.concatenate([earlier.accounts, rows.accounts]),
            np.concatenate([earlier.times, rows.times]),
            pd.concat([earlier.features, rows.features], ignore_index=True),
            len(earlier.accounts),
        )

    def fit(self, rows):
        """Learns the features' preprocessing; returns self."""
        self.features.fit(rows.features)
        self.feature_columns_ = list(rows.features.columns)
        return self

    def transform(self, rows):
        """The model's named arrays for the scored rows, in their input order."""
        inputs = self.with_history(
            self.features.transform(rows.features), rows.accounts, rows.times
        )
        return take_rows(inputs, slice(rows.n_context, None)) if rows.n_context else inputs

    def input_schema(self):
        return {
            "account_column": self.account_column,
            "time_column": self.time_column,
            "features": self.features.input_schema(),
        }

    def get_state(self):
        return {
            "columns": [self.account_column, self.time_column, self.amount_column],
            "window": self.window,
            "features": self.features.get_state(),
            "feature_columns": self.feature_columns_,
        }

    @classmethod
    def from_state(cls, state):
        adapter = cls(*state["columns"], state["window"])
        adapter.features = TabularPreprocessor.from_state(state["features"])
        adapter.feature_columns_ = list(state["feature_columns"])
        return adapter

    def _split_columns(self, X, name="X"):
        """Validates X; returns account codes, times in seconds, and the feature frame.

        `name` is the argument's name in error messages (`X` or `history`).
        """
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                f"The transactions adapter needs `{name}` to be a transactions DataFrame. "
                f"Received: {type(X).__name__}"
            )
        if len(X) == 0:
            raise ValueError(f"`{name}` is empty (0 transactions); expected at least one row.")
        if X.columns.has_duplicates:
            duplicated = X.columns[X.columns.duplicated()].unique().tolist()
            raise ValueError(
                f"`{name}` has duplicate column names {duplicated}; expected each column once. "
                f"Received columns {list(X.columns)}."
            )
        required = [self.account_column, self.time_column]
        missing = [c for c in required if c not in X.columns]
        if missing:
            raise ValueError(
                f"`{name}` has no column(s) {missing}; `account_column` and `time_column` must "
                f"name its columns. Its columns are {list(X.columns)}."
            )
        if self.amount_column is not None and self.amount_column not in X.columns:
            raise ValueError(
                f"`{name}` has no amount column {self.amount_column!r} (`amount_column`); pass "
                "amount_column=None if there is none."
            )
        if X[self.account_column].isna().any():
            where = "" if name == "X" else f" of `{name}`"
            raise ValueError(f"Column {self.account_column!r}{where} has missing account ids.")
        times, _ = parse_times(X[self.time_column], self.time_column, name, unit="seconds")
        try:
            accounts = X[self.account_column].astype(str).to_numpy()
        except UnicodeDecodeError:
            raise ValueError(
                f"Column {self.account_column!r} of `{name}` holds bytes that are not UTF-8 "
                "text; expected account ids (strings or numbers)."
            ) from None
        features = X.drop(columns=required)
        if self.amount_column is not None:
            raw = features[self.amount_column]
            try:
                amount = raw if raw.dtype.kind in "bmM" else pd.to_numeric(raw, errors="coerce")
            except OverflowError:  # An integer beyond float64 (pandas raises despite "coerce").
                amount = raw.astype(object)
            if amount.dtype.kind not in "iuf":  # Booleans, dates, complex or huge numbers.
                raise ValueError(
                    f"Column {self.amount_column!r} (`amount_column`) of `{name}` holds "
                    f"{raw.dtype} values; expected amounts (numbers), or NaN when unknown."
                )
            bad = (amount.isna() & raw.notna()).to_numpy()
            if bad.any():
                examples = raw[bad].map(str).unique()[:3].tolist()
                raise ValueError(
                    f"Column {self.amount_column!r} (`amount_column`) of `{name}` has values "
                    f"that are not numbers: {examples}; expected amounts, or NaN when unknown."
                )
            features[self.amount_column] = np.sign(amount) * np.log1p(np.abs(amount))
        stamps = pd.to_datetime(times, unit="s")
        features["hour_of_day"] = stamps.hour + stamps.minute / 60.0
        features["weekday"] = stamps.day_name()
        features.columns = [str(c) for c in features.columns]
        return accounts, times, features

    def with_history(self, arrays, accounts, times):
        """Each transaction with the preceding ones of its account: the model's named inputs.

        Rows are ordered by account, then time (ties by input order). Every
        array of `arrays` (one row per transaction) becomes `(n, window + 1,
        width)`: history slot j holds the (window - j)-th preceding
        transaction, the current one is last. `gaps` holds log1p of the hours
        back to each (0 for the current one), `present` whether the slot has
        a transaction.
        """
        n, window = count_rows(arrays), int(self.window)
        steps = window + 1
        out = {
            name: np.zeros((n, steps, array.shape[1]), dtype=array.dtype)
            for name, array in arrays.items()
        }
        out["gaps"] = np.zeros((n, steps, 1), dtype=np.float32)
        out["present"] = np.zeros((n, steps), dtype=bool)
        for name, array in arrays.items():
            out[name][:, -1] = array
        out["present"][:, -1] = True
        if window == 0:
            return out
        order = np.lexsort((np.arange(n), times, accounts))
        sorted_accounts = accounts[order]
        new_account = np.r_[True, sorted_accounts[1:] != sorted_accounts[:-1]]
        group_start = np.maximum.accumulate(np.where(new_account, np.arange(n), 0))
        position = np.arange(n) - group_start
        for slot in range(window):
            back = window - slot
            has = position >= back
            rows, previous = order[has], order[np.flatnonzero(has) - back]
            for name, array in arrays.items():
                out[name][rows, slot] = array[previous]
            hours = np.maximum(times[rows] - times[previous], 0.0) / 3600.0
            out["gaps"][rows, slot, 0] = np.log1p(hours)
            out["present"][rows, slot] = True
        return out
