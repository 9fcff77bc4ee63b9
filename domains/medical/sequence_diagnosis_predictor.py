"""Diagnosis prediction from patients' dated visit codes: wide and deep over event histories."""

import os
import time

import keras
import numpy as np
import pandas as pd
import scipy.sparse
from sklearn.utils.validation import check_is_fitted

from core.backbones.visit_sequence_model import (
    EMBEDDING_LAYER,
    VISIT_BACKBONES,
    build_masked_code_model,
    build_visit_backbone,
    build_visit_encoder,
    build_visit_sequence_model,
    visit_backbone_parts,
    visit_sequence_model_parts,
)
from core.data import take_rows
from core.estimators import WideAndDeepClassifier
from core.estimators.parameter import Parameter
from core.explain import integrated_gradients
from core.layers.visit_embedding import VisitEmbedding
from core.persistence.metadata import jsonable
from core.persistence.start_file import read_start_file, write_encoder_file
from core.preprocessing.event_sequence_encoder import (
    MASK_ID,
    PAD_ID,
    UNKNOWN_ID,
    EventSequenceEncoder,
)
from core.pretraining import mask_tokens
from core.registry import register_task
from domains.medical.event_table import align_to_patients
from domains.medical.patient_events_adapter import PatientEventsAdapter

#: The metadata kind of a file written by `pretrain`.
ENCODER_FILE_KIND = "visit-encoder"
# Architecture parameters that pretraining fixes.
ENCODER_PARAMS = (
    "backbone",
    "embedding_dim",
    "num_layers",
    "num_heads",
    "intermediate_dim",
    "lstm_units",
)
EXPLAIN_LEVELS = ("code", "visit")


@register_task("medical.sequence")
class SequenceDiagnosisPredictor(WideAndDeepClassifier):
    """Predicts a diagnosis from each patient's history of dated codes.

    Input is an events table, one row per event: a patient id, a time
    (dates, or numbers of days) and a code (diagnosis, procedure, drug or
    lab name), optionally with a numeric value (lab results; NaN for other
    events). Targets are one label per patient, a Series (or, for several
    labels, a DataFrame of 0/1 columns) indexed by patient id.

    Every method returns one row per patient, in ascending patient-id order
    (`patient_index(X)` gives that order). With `prediction_time` (one time
    for all, or a Series per patient) only events at or before it are read:
    nothing after a patient's prediction time can reach the model.

    The model is wide and deep:

    - the wide path is a logistic regression over the history's code
      counts (`log1p` of each code's count and of its count in the last
      `recent_days`; each lab's last standardized value and its trend per
      year; and four summaries: events, visits, days since the last event,
      days covered), fitted
      exactly by scikit-learn (its L2 penalty chosen on the validation
      patients) and frozen;
    - the deep path reads the most recent `max_visits` visits (events at the
      same time), each a bag of embedded codes (`VisitEmbedding`; a value
      adds a learned direction to its code's vector), with each visit's days
      before the prediction time and since the previous visit
      (`TimeGapEncoding`), through a transformer or bidirectional LSTM and
      attention pooling. Its output starts at zero and learns what the
      counts miss; it is kept only if it lowers the validation loss by more
      than one standard error (`deep_path_kept_`).

    `pretrain(X)` first trains the code embeddings and the encoder by masked
    code prediction on unlabelled patients. `explain` gives integrated
    gradients per (patient, visit, code).

    Args:
        patient_column: column of patient ids.
        time_column: column of event times (dates, date strings, or days).
        code_column: column of event codes (converted to strings).
        value_column: optional column of numeric values (lab results).
        backbone: `"transformer"` or `"lstm"`.
        start_from: None, or the path of a file whose code vocabulary, code
            embeddings and visit encoder this model starts from: one written
            by `pretrain`, or a saved SequenceDiagnosisPredictor. The file then
            fixes the vocabulary and the architecture parameters. Being a
            parameter, it survives `clone`, `GridSearchCV` and `set_params`.
        max_visits: most recent visits read by the deep path.
        max_codes_per_visit: codes read per visit (frequent codes first).
        min_frequency: codes seen fewer times in `fit` share the unknown slot.
        recent_days: window of the recent-count features.
        embedding_dim: code and visit vector size (transformer width).
        num_layers: transformer blocks or LSTM layers.
        num_heads: attention heads.
        intermediate_dim: transformer feed-forward width.
        lstm_units: LSTM state size per direction.
        counts: add the wide path over code counts (False: deep path alone).
        dropout: dropout rate.
        learning_rate: AdamW learning rate.
        weight_decay: AdamW weight decay.
        batch_size: patients per step, or "auto" (32 below 2,000 patients,
            64 below 20,000, else 128).
        max_epochs: upper bound on epochs.
        patience: epochs without a better validation loss before stopping.
        max_time: seconds the fit may train (None: no limit); when they are spent,
            training stops and the best epoch so far is kept (`stopped_by_time_`).
        validation_fraction: share of patients held out for early stopping,
            the wide path's penalty and the keep rule.
        class_weight: None, "balanced" or a dict.
        calibration: None, `"temperature"` or `"isotonic"`: a calibration map
            fitted on the validation patients (see `KerasClassifier`).
        precision, jit_compile, distribution, privacy: training options shared
            by every task (mixed precision, XLA, tf.distribute, DP-SGD); see
            `KerasEstimator`.
        random_state: integer seed.
        verbose: 1 shows progress bars.

    Attributes:
        classes_: class labels (label indices for multilabel targets).
        sequence_encoder_: the fitted `EventSequenceEncoder` (vocabulary,
            value scales, array sizes).
        encoder_config_: the encoder architecture actually used.
        deep_path_kept_: whether the deep path beat the counts alone.
        linear_C_: the wide path's chosen penalty (None without it).
        pretrain_history_: masked-code loss per epoch of the last `pretrain`.

    Example:
    >>> model = SequenceDiagnosisPredictor(random_state=0)
    >>> model.fit(events, y, prediction_time="2021-01-01")
    >>> risk = model.predict_proba(new_events, prediction_time="2021-01-01")[:, 1]
    >>> model.patient_index(new_events)  # the patients of those rows
    """

    input_kind = "events"
    adapter_class = PatientEventsAdapter
    explanation_kind = "events"
    parameter_checks = {
        "backbone": Parameter.choice(VISIT_BACKBONES),
        "counts": Parameter.boolean(),
    }

    # L2 penalties tried for the wide path (inverse strength, as scikit-learn's C).
    LINEAR_C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)
    LINEAR_C_DEFAULT = 0.3
    LINEAR_MAX_ITER = 2000

    def __init__(
        self,
        patient_column="patient_id",
        time_column="date",
        code_column="code",
        value_column=None,
        backbone="transformer",
        start_from=None,
        max_visits=64,
        max_codes_per_visit=32,
        min_frequency=3,
        recent_days=365,
        embedding_dim=64,
        num_layers=2,
        num_heads=4,
        intermediate_dim=128,
        lstm_units=64,
        counts=True,
        dropout=0.1,
        learning_rate=1e-3,
        weight_decay=1e-4,
        batch_size="auto",
        max_epochs=30,
        patience=3,
        max_time=None,
        validation_fraction=0.1,
        class_weight=None,
        calibration=None,
        precision="float32",
        jit_compile=False,
        distribution=None,
        privacy=None,
        random_state=None,
        verbose=0,
    ):
        self._store_parameters(locals())

    # -------------------------------------------------------------- events
    def _new_adapter(self, sequence_encoder=None):
        """An events adapter with this estimator's columns (and a new encoder unless given)."""
        return PatientEventsAdapter(
            sequence_encoder or self._new_sequence_encoder(),
            self.patient_column,
            self.time_column,
            self.code_column,
            self.value_column,
            wide=self.counts,
        )

    def _new_sequence_encoder(self):
        return EventSequenceEncoder(
            max_visits=self.max_visits,
            max_codes_per_visit=self.max_codes_per_visit,
            min_frequency=self.min_frequency,
            recent_days=self.recent_days,
        )

    @property
    def sequence_encoder_(self):
        """The fitted `EventSequenceEncoder` (the input adapter's)."""
        return self.preprocessor_.sequence_encoder

    def patient_index(self, X):
        """The patients of an events table, in the order of every method's output rows.

        Args:
            X: events DataFrame.

        Returns:
            `pandas.Index` of the distinct patient ids, ascending, named `patient_column`.
        """
        return self._new_adapter().read(X).patient_index()

    def output_index(self, X):
        return self.patient_index(X)

    # ------------------------------------------------------------ pretrain
    def pretrain(self, X, path, prediction_time=None, epochs=3, batch_size=64, learning_rate=None):
        """Trains the code embeddings and the visit encoder on unlabelled patients.

        15% of the known codes of each patient are selected; 80% of those
        become the mask code, 10% a random code, 10% stay (their values are
        zeroed); each is predicted from its visit's contextual state through
        an output layer tied to the code embeddings, and the loss counts the
        selected codes only. The code vocabulary, embeddings and encoder are
        written to `path` and `start_from` is set to it, so the next `fit`
        (of this estimator or of its clones) fine-tunes them. With
        `start_from` already set, pretraining continues from that file.

        Args:
            X: events DataFrame (patients need no labels).
            path: file to write the pretrained vocabulary and encoder to.
            prediction_time: as in `fit`.
            epochs: passes over the patients (each with new masks).
            batch_size: patients per step.
            learning_rate: AdamW learning rate (default `learning_rate`).

        Returns:
            self.
        """
        self._check_parameters()
        if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
            raise ValueError(f"`epochs` must be a positive integer. Received: epochs={epochs!r}")
        with self._seeded() as rng:
            source = self._start_source()
            adapter = self._new_adapter(None if source is None else source[0])
            history = adapter.validate(X, prediction_time)
            sequence_encoder = adapter.fit(history).sequence_encoder
            if source is not None:
                _, config, embedding, encoder = source
            else:
                config = self._own_encoder_config()
                embedding, encoder = self._new_encoder(config, sequence_encoder)
            sequences = adapter.sequences(history)
            started = time.perf_counter()
            losses = self._masked_code_epochs(
                sequences,
                sequence_encoder,
                embedding,
                encoder,
                rng,
                epochs,
                batch_size,
                learning_rate,
            )
        self.pretrain_history_ = {
            "loss": losses,
            "seconds": time.perf_counter() - started,
            "patients": len(history.patients),
        }
        backbone = build_visit_backbone(
            embedding, encoder, sequence_encoder.num_visits_, sequence_encoder.num_codes_
        )
        state = {"sequence_encoder": sequence_encoder.get_state(), "encoder_config": config}
        path = write_encoder_file(path, backbone, state, ENCODER_FILE_KIND, type(self))
        return self.set_params(start_from=path)

    def _start_source(self):
        """`(sequence_encoder, config, embedding, encoder)` of the `start_from` file, or None."""
        if self.start_from is None:
            return None
        kind, *content = read_start_file(self.start_from, ENCODER_FILE_KIND, type(self))
        if kind == "encoder":
            model, state = content
            parts = visit_backbone_parts(model)
            sequence_encoder = EventSequenceEncoder.from_state(state["sequence_encoder"])
            return sequence_encoder, state["encoder_config"], parts.embedding, parts.encoder
        (source,) = content
        parts = visit_sequence_model_parts(source.model_)
        return source.sequence_encoder_, source.encoder_config_, parts.embedding, parts.encoder

    def _masked_code_epochs(
        self, sequences, sequence_encoder, embedding, encoder, rng, epochs, batch_size, lr
    ):
        n, v, c = sequences.codes.shape
        flat_codes = sequences.codes.reshape(n, v * c)
        known = flat_codes > MASK_ID
        if not known.any():
            raise ValueError(
                "`pretrain` needs known codes to predict, and every code of these events is "
                f"rarer than min_frequency={self.min_frequency}."
            )
        max_predictions = int(np.ceil(0.15 * known.sum(axis=1).max())) + 2
        model = build_masked_code_model(embedding, encoder, v, c, max_predictions)
        model.compile(
            optimizer=keras.optimizers.AdamW(
                learning_rate=lr or self.learning_rate, weight_decay=self.weight_decay
            ),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=False,
        )
        visit_mask = sequences.codes.any(axis=-1)
        losses = []
        for _ in range(epochs):
            inputs, positions, labels, weights = mask_tokens(
                flat_codes,
                rng,
                vocabulary_size=sequence_encoder.vocabulary_size,
                mask_id=MASK_ID,
                special_ids=(PAD_ID, UNKNOWN_ID, MASK_ID),
                max_predictions=max_predictions,
            )
            feeds = [inputs.reshape(n, v, c)]
            if sequences.values is not None:
                values = sequences.values.reshape(n, v * c).copy()
                rows = np.repeat(np.arange(n), positions.shape[1]).reshape(positions.shape)
                chosen = weights > 0
                values[rows[chosen], positions[chosen]] = 0.0  # A masked lab hides its value.
                feeds.append(values.reshape(n, v, c))
            feeds += [sequences.times, visit_mask, (positions // c).astype(np.int32)]
            history = model.fit(
                feeds,
                labels,
                sample_weight=weights,
                batch_size=batch_size,
                epochs=1,
                shuffle=True,
                verbose=1 if self.verbose else 0,
            )
            # The loss is averaged over all slots; per predicted code it is larger.
            losses.append(float(history.history["loss"][0] * weights.size / weights.sum()))
        return losses

    # ----------------------------------------------------------------- fit
    # `fit(X, y, sample_weight=None, checkpoint_dir=None, prediction_time=None)` is the
    # template's: X is an events DataFrame; y one label per patient (a Series indexed by
    # patient id, or a DataFrame of 0/1 columns for several labels), matched by id;
    # sample_weight per patient (a Series by id, or in `patient_index(X)` order);
    # prediction_time None, one time, or a Series per patient id (later events are ignored).
    # A pretrained encoder (`pretrain`) is fine-tuned.
    def _training_rows(self, X, y, sample_weight, prediction_time=None):
        self.preprocessor_ = self._new_adapter()
        history = self.preprocessor_.validate(X, prediction_time, reset=True)
        labels = align_to_patients(y, history.patients, "y")
        rows = (history, labels)
        return rows, len(history.patients), labels, _align_weights(sample_weight, history.patients)

    def _fit_inputs(self, rows, rng):
        history, _ = rows
        source = self._start_source()
        if source is not None:  # The pretrained vocabulary and architecture are kept.
            self.preprocessor_.sequence_encoder = source[0]
        self.encoder_config_ = self._own_encoder_config() if source is None else source[1]
        inputs = self.preprocessor_.fit(history).transform(history)
        # Pretrained embeddings and encoder seed the model (`_build_model`).
        return inputs, None if source is None else source[2:]

    def _fit_finished(self, rows):
        history, labels = rows
        multilabel = isinstance(labels, pd.DataFrame) and labels.shape[1] > 1
        self.label_names_ = [str(c) for c in labels.columns] if multilabel else None
        self.n_patients_ = len(history.patients)

    def _check_params(self):
        self._new_sequence_encoder()  # The encoder checks its own arguments.

    def _own_encoder_config(self):
        return {name: getattr(self, name) for name in ENCODER_PARAMS}

    def _new_encoder(self, config, sequence_encoder):
        embedding = VisitEmbedding(
            sequence_encoder.vocabulary_size,
            config["embedding_dim"],
            use_values=sequence_encoder.use_values_,
            name=EMBEDDING_LAYER,
        )
        encoder = build_visit_encoder(
            config["embedding_dim"],
            backbone=config["backbone"],
            num_layers=config["num_layers"],
            num_heads=config["num_heads"],
            intermediate_dim=config["intermediate_dim"],
            lstm_units=config["lstm_units"],
            dropout=self.dropout,
        )
        return embedding, encoder

    def _build_model(self, start=None):
        encoder, config = self.sequence_encoder_, self.encoder_config_
        model = build_visit_sequence_model(
            encoder.vocabulary_size,
            encoder.num_visits_,
            encoder.num_codes_,
            self._n_outputs(),
            use_values=encoder.use_values_,
            wide_features=encoder.num_wide_features if self.counts else 0,
            wide_slots=encoder.wide_slots_ if self.counts else 0,
            embedding_dim=config["embedding_dim"],
            dropout=self.dropout,
            backbone=config["backbone"],
            num_layers=config["num_layers"],
            num_heads=config["num_heads"],
            intermediate_dim=config["intermediate_dim"],
            lstm_units=config["lstm_units"],
        )
        if start is not None:
            embedding, visit_encoder = start
            parts = visit_sequence_model_parts(model)
            parts.embedding.set_weights(embedding.get_weights())
            parts.encoder.set_weights(visit_encoder.get_weights())
        return model

    def _has_linear_path(self):
        return bool(self.counts)

    def _linear_features(self, model, X):
        features = visit_sequence_model_parts(model).linear_path.sparse_features(
            X["wide_ids"].astype(np.int64), X["wide_values"]
        )
        # The per-patient summaries (events, visits, days since the last, span) stay out of
        # the linear path: they made it 0.5-1.9 AUC points worse than logistic regression on
        # the code counts alone (`python -m benchmarks.medical_sequences --set
        # value_column=None`); the deep path reads the visits themselves.
        kept = np.ones(features.shape[1])
        kept[4 * self.sequence_encoder_.vocabulary_size :] = 0.0
        features = (features @ scipy.sparse.diags(kept)).tocsr()
        features.eliminate_zeros()
        return features

    def _set_linear_path(self, model, coef, intercept):
        wide = visit_sequence_model_parts(model).linear_path
        wide.set_coefficients(coef, intercept)
        wide.trainable = False

    def _batch_size(self, n_rows):
        if self.batch_size != "auto":
            return int(self.batch_size)
        return 32 if n_rows < 2000 else 64 if n_rows < 20000 else 128

    # ---------------------------------------------------------- prediction
    def _encoded(self, X, prediction_time, return_events=False):
        """`(table, patients, keep, days_before, sequences, inputs)` for an events table."""
        check_is_fitted(self)
        history = self.preprocessor_.validate(X, prediction_time)
        sequences = self.preprocessor_.sequences(history, return_events=return_events)
        return (*history, sequences, sequences.arrays(wide=self.counts))

    def _aligned_truth(self, X, y, sample_weight):
        """Labels and weights matched to X's patients by id (predictions are per patient)."""
        patients = self.patient_index(X)
        truth = np.asarray(align_to_patients(y, patients, "y"))
        if truth.ndim == 2 and truth.shape[1] == 1:
            truth = truth[:, 0]
        return truth, _align_weights(sample_weight, patients)

    def report(self, X, y, prediction_time=None, threshold=0.5):
        """Discrimination, calibration and threshold metrics on labelled patients.

        Args:
            X: events DataFrame.
            y: labels indexed by patient id (as for `fit`).
            prediction_time: as in `predict`.
            threshold: probability at or above which a patient is called
                positive (one-vs-rest for more than two classes).

        Returns:
            dict with `auroc`, `auprc`, `brier`, `ece`, `sensitivity`,
            `specificity`, `ppv`, `npv`, `prevalence`, `n`, `threshold`; for
            more than two classes or labels, their macro averages and
            `per_class`; with a calibration map, `calibration`.
        """
        proba = self.predict_proba(X, prediction_time=prediction_time)
        truth = np.asarray(align_to_patients(y, self.patient_index(X), "y"))
        if truth.ndim == 2 and truth.shape[1] == 1:
            truth = truth[:, 0]
        metrics = self._labels_report(truth, proba, threshold)
        return self._with_calibration(metrics, X, truth, prediction_time=prediction_time)

    # ------------------------------------------------------------- explain
    def explain(self, X, prediction_time=None, target=None, level="code", steps=32):
        """Integrated gradients per (patient, visit, code): what moved each patient's score.

        The path runs from the patient with every code's vector (value
        included) gated to zero and no count features to the patient as is,
        with the visit times kept. A code's attribution is its share of the
        deep path's integral plus its share of the wide path's (exact)
        linear terms: a code's count features are split evenly over its
        events, a lab's last-value feature goes to that last event, its
        trend over its valued events, and the summaries over all events.
        So a patient's attributions add up to its logit minus the baseline
        logit (`attrs["baseline"]`).

        Args:
            X: events DataFrame.
            prediction_time: as in `predict`.
            target: class explained. Binary: default the positive class (the
                risk); the negative class negates the attributions.
                Multiclass: default the predicted class. Multilabel: a label
                index or name (default the most probable label).
            level: `"code"`: one row per (patient, visit, code); `"visit"`:
                per (patient, visit) totals.
            steps: integration intervals.

        Returns:
            DataFrame with the patient, time and (at code level) code columns
            named as in X, `days_before` (the visit's days before the
            prediction time) and `attribution` (in logit units), sorted by
            patient and time. `attrs` holds per patient (in
            `attrs["patients"]` order) the explained `logit`, the
            `baseline` logit and the `target`.
        """
        if level not in EXPLAIN_LEVELS:
            raise ValueError(f"`level` must be one of {EXPLAIN_LEVELS}. Received: level={level!r}")
        table, patients, keep, days_before, sequences, inputs = self._encoded(
            X, prediction_time, return_events=True
        )
        logits = self._predict_raw(inputs)[:, 0, :]
        outputs, signs = self._explained_targets(logits, target)
        code_attr, baseline = self._code_attributions(inputs, sequences, outputs, steps)
        wide_attr = None
        if self.counts:
            wide = visit_sequence_model_parts(self.model_).linear_path
            kernel = keras.ops.convert_to_numpy(wide.kernel)
            wide_attr = sequences.wide_values * kernel[sequences.wide_ids, outputs[:, None]]
        attributions = _event_attributions(
            sequences.events, code_attr, wide_attr, sequences.wide_ids, self.sequence_encoder_
        )
        attributions *= signs[sequences.events["row"]]
        names = table.columns
        frame = pd.DataFrame(
            {
                names["patient"]: table.patients[keep],
                names["time"]: table.times(table.days[keep]),
                "days_before": days_before,
                names["code"]: table.codes[keep],
                "attribution": attributions,
            }
        )
        keys = [names["patient"], names["time"], "days_before"]
        if level == "code":
            keys.append(names["code"])
        frame = frame.groupby(keys, sort=True)["attribution"].sum().reset_index()
        rows = np.arange(len(patients))
        frame.attrs = {
            "patients": patients.tolist(),
            "logit": (signs * logits[rows, outputs]).tolist(),
            "baseline": (signs * baseline[rows, outputs]).tolist(),
            "target": [self._target_name(k) for k in outputs],
        }
        return frame

    def _target_name(self, output):
        if self.target_type_ == "binary":
            return jsonable(self.classes_[1])
        if self.target_type_ == "multiclass":
            return jsonable(self.classes_[output])
        return self.label_names_[output] if self.label_names_ else int(output)

    def _explained_targets(self, logits, target):
        """`(output index, sign)` per patient."""
        n = len(logits)
        if self.target_type_ == "binary":
            if target is None:
                return np.zeros(n, dtype=int), np.ones(n)
            matches = np.flatnonzero(self.classes_ == target)
            if len(matches) == 0:
                raise ValueError(
                    f"`target` must be one of {self.classes_.tolist()}. Received: target={target!r}"
                )
            return np.zeros(n, dtype=int), np.full(n, 1.0 if matches[0] == 1 else -1.0)
        if target is None:
            return np.argmax(logits, axis=1), np.ones(n)
        names = self.classes_.tolist()
        if self.target_type_ == "multilabel-indicator" and self.label_names_:
            names = self.label_names_
            if isinstance(target, int | np.integer) and 0 <= target < len(names):
                return np.full(n, int(target)), np.ones(n)
        if target not in names:
            raise ValueError(f"`target` must be one of {names}. Received: target={target!r}")
        return np.full(n, names.index(target)), np.ones(n)

    def _code_attributions(self, inputs, sequences, outputs, steps):
        """Deep-path attributions `(n, visits, codes)` and the baseline logits `(n, n_outputs)`."""
        parts = visit_sequence_model_parts(self.model_)
        embedding, body, visit_mask = parts.embedding, parts.body, parts.visit_mask

        def scores(gates, arrays):
            arrays = keras.tree.map_structure(keras.ops.convert_to_tensor, arrays)
            codes = arrays["codes"]
            vectors = embedding(codes, values=arrays.get("values"), code_gates=gates)
            return body([vectors, arrays["times"], visit_mask(codes)], training=False)

        gates = (sequences.codes != 0).astype(np.float32)
        attributions = integrated_gradients(
            scores,
            gates,
            np.zeros_like(gates),
            targets=outputs,
            steps=steps,
            batch_size=1024,
            context=inputs,
        )
        baseline = np.concatenate(
            [
                keras.ops.convert_to_numpy(
                    scores(np.zeros_like(gates[i : i + 256]), take_rows(inputs, slice(i, i + 256)))
                )
                for i in range(0, len(gates), 256)
            ]
        )
        if self.counts:
            baseline = baseline + keras.ops.convert_to_numpy(parts.linear_path.bias)
        return attributions, baseline

    # --------------------------------------------------------------- state
    def _get_fitted_state(self):
        return {
            **super()._get_fitted_state(),
            "encoder_config": jsonable(self.encoder_config_),
            "label_names": self.label_names_,
            "n_patients": self.n_patients_,
        }

    def _set_fitted_state(self, state):
        if "preprocessor" not in state:  # Saved before the adapter held the encoder's state.
            legacy = self._new_adapter(EventSequenceEncoder.from_state(state["sequence_encoder"]))
            state = {**state, "preprocessor": legacy.get_state()}
        super()._set_fitted_state(state)
        self.encoder_config_ = state["encoder_config"]
        self.label_names_ = state["label_names"]
        self.n_patients_ = state["n_patients"]

    def _export_signature(self):
        from core.export import ExportSignature

        def transform(X, prediction_time=None):
            return self._encoded(X, prediction_time)[-1]

        return ExportSignature(self.model_, transform, self._export_preprocessing())

    # ---------------------------------------------------------------- demo
    @classmethod
    def demo(cls, sample_data, out_dir):
        """Predicts heart failure (I50) within a year from `sample_data/medical/events.csv`.

        The history is cut at the sample's prediction date, patients are split
        3:1, and a small configuration is fitted (lab values included).

        Returns:
            dict: a row of the demo's summary table: the test patients' AUROC,
            and as the baseline that of logistic regression on code counts.
        """
        import importlib.util

        from sklearn.metrics import roc_auc_score

        from domains.medical.patient_split import patient_split
        from domains.medical.prediction_task import make_prediction_task

        folder = os.path.join(sample_data, "medical")
        spec = importlib.util.spec_from_file_location(
            "make_events", os.path.join(folder, "make_events.py")
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        events = pd.read_csv(os.path.join(folder, "events.csv"))
        horizon = getattr(module, "HORIZON_DAYS", 365)
        task = make_prediction_task(
            events, module.OUTCOME_CODE, horizon, prediction_time=module.PREDICTION_DATE
        )
        X_train, X_test, y_train, y_test = patient_split(
            task.history, task.y, test_size=0.25, random_state=0
        )
        model = cls(value_column="value", **DEMO_PARAMS, random_state=0).fit(
            X_train, y_train, prediction_time=task.prediction_time
        )
        path = model.save(os.path.join(out_dir, "medical_sequence.kdm"))
        reloaded = cls.load(path)
        proba = reloaded.predict_proba(X_test, prediction_time=task.prediction_time)
        if not np.allclose(
            proba, model.predict_proba(X_test, prediction_time=task.prediction_time), atol=1e-6
        ):
            raise RuntimeError("the reloaded model predicts differently from the saved one")
        truth = y_test.loc[reloaded.patient_index(X_test)]
        baseline = counts_logistic_regression(X_train, y_train, X_test)
        return {
            "data": f"events.csv ({module.OUTCOME_CODE} within {horizon} days; patients)",
            "train_rows": len(y_train),
            "test_rows": len(y_test),
            "metric": "AUROC (baseline: LR on code counts)",
            "value": float(roc_auc_score(truth, proba[:, 1])),
            "baseline": float(roc_auc_score(truth, baseline.loc[truth.index])),
        }


#: A small, fast configuration for the demo (about 20 s on 2 cores).
DEMO_PARAMS = {
    "embedding_dim": 32,
    "num_layers": 1,
    "num_heads": 2,
    "intermediate_dim": 64,
    "max_visits": 32,
    "max_epochs": 8,
}


def counts_logistic_regression(
    X_train, y_train, X_test, patient_column="patient_id", code_column="code", C=1.0
):
    """The bag-of-codes baseline: logistic regression on each patient's code counts.

    Args:
        X_train, X_test: events DataFrames (already cut at the prediction time).
        y_train: labels indexed by patient id.
        patient_column, code_column: their columns.
        C: inverse L2 penalty.

    Returns:
        Series of the positive-class probability, indexed by X_test's patient ids.
    """
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    def bags(frame):
        codes = frame[code_column].astype(str).str.replace(" ", "_")
        return codes.groupby(frame[patient_column]).agg(" ".join)

    train, test = bags(X_train), bags(X_test)
    vectorizer = CountVectorizer(token_pattern=r"\S+", lowercase=False)
    model = LogisticRegression(C=C, max_iter=5000)
    model.fit(vectorizer.fit_transform(train), y_train.loc[train.index])
    return pd.Series(model.predict_proba(vectorizer.transform(test))[:, 1], index=test.index)


def _align_weights(sample_weight, patients):
    if sample_weight is None:
        return None
    if isinstance(sample_weight, pd.Series):
        return align_to_patients(sample_weight, patients, "sample_weight").to_numpy(float)
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.shape != (len(patients),):
        raise ValueError(
            f"`sample_weight` must be a Series indexed by patient id or an array of one weight "
            f"per patient ({len(patients)}, in `patient_index(X)` order). "
            f"Received shape {weights.shape}."
        )
    return weights


def _event_attributions(events, code_attr, wide_attr, wide_ids, sequence_encoder):
    """Each event's attribution: its deep slot's, plus its shares of the wide terms."""
    rows = events["row"]
    out = np.zeros(len(rows))
    slotted = events["visit"] >= 0
    out[slotted] = code_attr[rows[slotted], events["visit"][slotted], events["position"][slotted]]
    if wide_attr is None:
        return out
    n_features = sequence_encoder.num_wide_features
    present = wide_attr != 0
    keys = (np.arange(len(wide_ids))[:, None] * n_features + wide_ids)[present]
    lookup = pd.Series(wide_attr[present], index=keys)
    lookup = lookup.groupby(level=0).sum()
    shares = sequence_encoder.event_shares(events)
    for feature_ids, members in shares:
        if not members.any():
            continue
        member_keys = rows[members] * n_features + feature_ids[members]
        total = lookup.reindex(member_keys).fillna(0.0).to_numpy()
        counts = pd.Series(member_keys).map(pd.Series(member_keys).value_counts()).to_numpy()
        out[members] += total / counts
    return out
