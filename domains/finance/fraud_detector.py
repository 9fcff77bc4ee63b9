"""Card fraud detection: each transaction scored with its account's preceding ones."""

import os

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from core.backbones import EVENT_BACKBONES, build_event_sequence_model
from core.backbones.event_sequence_model import event_sequence_model_parts
from core.data.time_values import parse_times
from core.estimators import KerasClassifier
from core.estimators.parameter import Parameter
from core.explain import integrated_gradients
from core.preprocessing import CATEGORICAL_INPUT, NUMERIC_INPUT, TabularPreprocessor
from core.registry import register_task
from domains.finance.reports import (
    average_precision,
    precision_at_k_per_day,
    recall_at_fpr,
)
from domains.finance.transactions_adapter import TransactionsAdapter

HISTORY_COLUMN = "history"


@register_task("finance.fraud")
class FraudDetector(KerasClassifier):
    """Scores transactions for fraud from their own features and the account's history.

    Each transaction is read together with the `window` transactions of the
    same account that precede it in time (never later ones), by the core's
    LSTM or transformer encoder. Fraud shows up as a break from the
    account's own pattern (a burst, an amount unusual for this account, a
    merchant category never used before), which a model of the current row
    alone cannot see. Rows may come in any order: they are sorted by account
    and time, and predictions come back in the input's order.

    Args:
        account_column: column identifying the account (card, customer).
        time_column: timestamps (datetimes, ISO strings, or seconds as numbers).
        amount_column: transaction amount; modelled on a log scale. None if absent.
        window: preceding transactions per example; 0 scores each row alone.
        backbone: the sequence encoder, `"lstm"` or `"transformer"`.
        embedding_dim: size of each column token.
        encoder_units: width of the sequence encoder (the LSTM state, or the
            transformer's width).
        hidden_units: widths of the output MLP.
        num_layers: transformer blocks.
        num_heads: attention heads.
        dropout: dropout rate.
        learning_rate: AdamW learning rate.
        weight_decay: AdamW weight decay.
        batch_size: rows per step, or "auto".
        max_epochs: upper bound on epochs.
        patience: epochs without a better validation loss before stopping.
        max_time: seconds the fit may train (None: no limit); when they are spent,
            training stops and the best epoch so far is kept (`stopped_by_time_`).
        validation_fraction: the latest share of the data (by time) held out
            for early stopping, so validation is out of time as in production.
        class_weight: "balanced" (default: fraud is rare), a dict, or None.
            Balanced weights inflate the fraud probabilities; `calibration`
            maps them back to observed rates.
        calibration: None, `"temperature"` or `"isotonic"`: a calibration map fitted
            on the latest (held-out) rows at the end of `fit`.
        min_frequency: categories rarer than this share the "unknown" slot.
        precision, jit_compile, distribution, privacy: training options shared
            by every task (mixed precision, XLA, tf.distribute, DP-SGD); see
            `KerasEstimator`.
        random_state: integer seed.
        verbose: 1 shows a progress bar.

    Attributes:
        classes_: the two labels.
        feature_columns_: per-transaction features after derivation (amount
            on a log scale, hour of day, weekday).
        preprocessor_: the fitted `TransactionsAdapter` (its `features` preprocessor
            encodes the derived columns).
    """

    input_kind = "transactions"
    adapter_class = TransactionsAdapter
    explanation_kind = "columns"
    parameter_checks = {
        "backbone": Parameter.choice(EVENT_BACKBONES),
        "window": Parameter.integer(minimum=0),
        "encoder_units": Parameter.integer(minimum=1),
    }

    renamed_parameters = {"encoder": "backbone", "units": "encoder_units"}
    _target_types = ("binary",)

    def __init__(
        self,
        account_column="account_id",
        time_column="timestamp",
        amount_column="amount",
        window=16,
        backbone="lstm",
        embedding_dim=8,
        encoder_units=32,
        hidden_units=(64,),
        num_layers=1,
        num_heads=2,
        dropout=0.1,
        learning_rate=2e-3,
        weight_decay=1e-2,
        batch_size="auto",
        max_epochs=100,
        patience=8,
        max_time=None,
        validation_fraction=0.15,
        class_weight="balanced",
        calibration=None,
        min_frequency=5,
        precision="float32",
        jit_compile=False,
        distribution=None,
        privacy=None,
        random_state=None,
        verbose=0,
    ):
        self._store_parameters(locals())

    # ----------------------------------------------------------------- fit
    # `fit(X, y, sample_weight=None, checkpoint_dir=None)` is the template's: X is a
    # transactions DataFrame (account, time and other columns, any order), y the
    # fraud labels of its rows (1 = fraud).
    def _training_rows(self, X, y, sample_weight):
        self.preprocessor_ = TransactionsAdapter(
            self.account_column,
            self.time_column,
            self.amount_column,
            self.window,
            min_frequency=self.min_frequency,
        )
        rows = self.preprocessor_.validate(X, reset=True)
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        return rows, len(X), y, sample_weight

    def _fit_inputs(self, rows, rng):
        return self.preprocessor_.fit(rows).transform(rows), None

    @property
    def feature_columns_(self):
        """The derived per-transaction features (amount on a log scale, hour, weekday, ...)."""
        return self.preprocessor_.feature_columns_

    def _train(self, inputs, y_encoded, stratify, weights, rng, rows=None, start=None):
        """The out-of-time scheme: the latest transactions are held out."""
        self._train_out_of_time(inputs, y_encoded, stratify, weights, rows[1], start)

    def _build_model(self, start=None):
        pre = self.preprocessor_.features
        return build_event_sequence_model(
            len(pre.numeric_columns_),
            pre.cardinalities_,
            int(self.window),
            backbone=self.backbone,
            embedding_dim=self.embedding_dim,
            encoder_units=self.encoder_units,
            hidden_units=tuple(self.hidden_units),
            num_layers=self.num_layers,
            num_heads=self.num_heads,
            dropout=self.dropout,
        )

    # --------------------------------------------------------------- input
    # ---------------------------------------------------------- prediction
    def report(self, X, y, k=10, max_fpr=0.01, history=None):
        """Fraud metrics on labelled transactions.

        Args:
            X: transactions DataFrame.
            y: true labels.
            k: alerts per day for `precision_at_k_per_day`.
            max_fpr: false-positive rate for `recall_at_fpr`.
            history: as in `predict_proba`.

        Returns:
            dict with `auprc`, `roc_auc`, `precision_at_k_per_day`, `recall_at_fpr`,
            `fraud_rate`, `n`.
        """
        from sklearn.metrics import roc_auc_score

        scores = self.predict_proba(X, history=history)[:, 1]
        truth = (np.asarray(y) == self.classes_[1]).astype(int)
        if len(truth) != len(scores):
            raise ValueError(
                f"`X` and `y` have different lengths: X has {len(scores)} rows, y has {len(truth)}."
            )
        seconds, _ = parse_times(X[self.time_column], self.time_column, unit="seconds")
        days = pd.to_datetime(seconds, unit="s")
        both = len(np.unique(truth)) == 2
        metrics = {
            "n": len(truth),
            "fraud_rate": float(truth.mean()),
            "auprc": float(average_precision(truth, scores)),
            "roc_auc": float(roc_auc_score(truth, scores)) if both else float("nan"),
            "precision_at_k_per_day": float(precision_at_k_per_day(truth, scores, days, k)),
            "recall_at_fpr": float(recall_at_fpr(truth, scores, max_fpr)),
        }
        return self._with_calibration(metrics, X, y, history=history)

    def explain(self, X, history=None, steps=32):
        """Per-transaction attributions: the current transaction's columns and its history.

        Integrated gradients move every event's column tokens from a
        reference transaction (median numbers, most frequent categories) to
        the actual ones, with the same history slots present; the change in
        fraud probability is split between the current transaction's columns
        and a `history` column (all preceding transactions together).

        Args:
            X: transactions DataFrame.
            history: as in `predict_proba`.
            steps: integration steps.

        Returns:
            DataFrame, one row per transaction (X's index), one column per
            derived feature plus `history`, in probability units; a row adds
            up to its fraud probability minus `attrs["baseline"]` for that row
            (the reference transaction with the same history slots). With
            `calibration`, the probability explained is the model's own,
            before the calibration map.
        """
        check_is_fitted(self)
        inputs = self._transform(X, history=history)
        parts = event_sequence_model_parts(self.model_)
        embedding, head = parts.embedding, parts.head
        tokens = np.asarray(embedding(self._event_features(inputs)))
        # The reference transaction's tokens in every present slot of each row.
        base_tokens = np.asarray(
            embedding(self._event_features(self.preprocessor_.features.baseline()))
        )
        reference_tokens = np.broadcast_to(base_tokens[:, None], tokens.shape)
        gaps, mask = inputs["gaps"], inputs["present"].astype(np.float32)
        attributions = integrated_gradients(
            lambda moving: self._fraud_probability(head, moving),
            [tokens, gaps, mask],
            [reference_tokens, gaps, mask],
            steps=steps,
        )[0].sum(axis=-1)
        features = self.preprocessor_.features
        names = features.numeric_columns_ + features.categorical_columns_
        frame = pd.DataFrame(attributions[:, -1, :], columns=names)[self.feature_columns_]
        frame[HISTORY_COLUMN] = attributions[:, :-1, :].sum(axis=(1, 2))
        frame.index = X.index
        reference = self._fraud_probability(head, [reference_tokens, np.asarray(gaps), mask])
        frame.attrs["baseline"] = np.asarray(reference).tolist()
        return frame

    @staticmethod
    def _event_features(arrays):
        """The preprocessed transaction columns of the model's inputs, for its embedding."""
        return {name: arrays[name] for name in (NUMERIC_INPUT, CATEGORICAL_INPUT) if name in arrays}

    @staticmethod
    def _fraud_probability(head, inputs):
        from keras import ops

        tokens, gaps, mask = (ops.convert_to_tensor(x, "float32") for x in inputs)
        logits = head([tokens, gaps, ops.greater(mask, 0.5)], training=False)
        return ops.sigmoid(logits)[:, 0, 0]

    # --------------------------------------------------------------- state
    def _get_fitted_state(self):
        return {
            **super()._get_fitted_state(),
            "n_features_in": self.n_features_in_,
            "feature_names_in": list(self.feature_names_in_),
        }

    def _set_fitted_state(self, state):
        if "features" not in state["preprocessor"]:  # Saved before the transactions adapter.
            adapter = TransactionsAdapter(
                self.account_column, self.time_column, self.amount_column, self.window
            )
            adapter.features = TabularPreprocessor.from_state(state["preprocessor"])
            adapter.feature_columns_ = state["feature_columns"]
            state = {**state, "preprocessor": adapter.get_state()}
        super()._set_fitted_state(state)
        self.n_features_in_ = state["n_features_in"]
        self.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)

    # ---------------------------------------------------------------- demo
    @classmethod
    def demo(cls, sample_data, out_dir):
        """Trains on `sample_data/finance/transactions.csv`; used by `keras-domains demo`.

        Returns:
            dict: a row of the demo's summary table (AUPRC with history,
            and without it as the baseline).
        """
        frame = pd.read_csv(os.path.join(sample_data, "finance", "transactions.csv"))
        frame = frame.drop(columns=["transaction_id"])
        y = frame.pop("is_fraud")
        times = pd.to_datetime(frame["timestamp"])
        cutoff = times.quantile(0.7)
        train, test = times < cutoff, times >= cutoff
        scores = {}
        for window in (16, 0):
            model = cls(window=window, random_state=0).fit(frame[train], y[train])
            # Today's transactions are scored with the earlier ones as context.
            report = model.report(frame[test], y[test], history=frame[train])
            scores[window] = report["auprc"]
        path = model.save(os.path.join(out_dir, "finance_fraud.kdm"))
        cls.load(path).predict_proba(frame[test].head(50))
        return {
            "data": "transactions.csv (last 30% of time)",
            "train_rows": int(train.sum()),
            "test_rows": int(test.sum()),
            "metric": "AUPRC (baseline: same model without history)",
            "value": scores[16],
            "baseline": scores[0],
        }
