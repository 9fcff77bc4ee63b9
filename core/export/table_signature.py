"""An export signature with one input per table column, preprocessing in the graph."""

import re

import numpy as np
import pandas as pd

from core.export.export_signature import ExportSignature
from core.preprocessing.tabular_preprocessor import (
    CATEGORICAL_INPUT,
    MISSING_CODE,
    NUMERIC_INPUT,
    RESERVED_CODES,
    UNKNOWN_CODE,
)

#: What a categorical input holds for a missing value.
MISSING_CATEGORY = ""


class TableSignature(ExportSignature):
    """Raw table columns in: numbers as float64 (NaN when missing), categories as strings.

    The graph imputes, scales and clips the numbers and looks the categories
    up, as `TabularPreprocessor.transform` does, so a caller sends a row's
    values and gets probabilities back. A missing category is the empty
    string; an unseen one gets the unknown code.

    In a SavedModel the look-up is a comparison with the vocabulary. ONNX
    cannot compare strings, so the converted graph takes codes and a
    `LabelEncoder` (ai.onnx.ml) in front of it maps each string to its code.

    Args:
        model: the fitted Keras model, reading `TabularPreprocessor` output.
        preprocessor: the fitted `TabularPreprocessor`.
        validate: the estimator's check of a raw DataFrame (column names,
            types), applied by `feed` before the values are read.
    """

    includes_preprocessing = True

    def __init__(self, model, preprocessor, validate=None):
        super().__init__(model, preprocessor.transform, preprocessor.get_state())
        self.preprocessor = preprocessor
        self.validate = validate
        self.input_names = _input_names(preprocessor.feature_names_in_)

    def input_specs(self, for_onnx=False):
        import tensorflow as tf

        pre = self.preprocessor
        specs = []
        for column in pre.feature_names_in_:
            name = self.input_names[column]
            if column in pre.numeric_columns_:
                specs.append(tf.TensorSpec((None, 1), tf.float64, name=name))
            elif for_onnx:
                specs.append(tf.TensorSpec((None, 1), tf.float32, name=_code_name(name)))
            else:
                specs.append(tf.TensorSpec((None, 1), tf.string, name=name))
        return specs

    def model_input(self, inputs, for_onnx=False):
        import tensorflow as tf

        pre = self.preprocessor
        arrays = {}
        if pre.numeric_columns_:
            values = tf.concat([inputs[self.input_names[c]] for c in pre.numeric_columns_], 1)
            is_nan = tf.math.is_nan(values)
            scaled = (values - np.asarray(pre.medians_)) / np.asarray(pre.scales_)
            scaled = tf.clip_by_value(
                tf.where(is_nan, tf.zeros_like(scaled), scaled), -pre.clip, pre.clip
            )
            missing = tf.logical_and(is_nan, np.asarray(pre.missing_seen_)[None, :])
            arrays[NUMERIC_INPUT] = tf.concat(
                [tf.cast(scaled, tf.float32), tf.cast(missing, tf.float32)], axis=1
            )
        codes = []
        for column, vocabulary in zip(pre.categorical_columns_, pre.vocabularies_, strict=True):
            name = self.input_names[column]
            if for_onnx:
                codes.append(inputs[_code_name(name)])
                continue
            keys, key_codes, default = _lookup_table(vocabulary)
            matches = tf.equal(inputs[name], tf.constant(keys)[None, :])
            found = tf.reduce_any(matches, axis=1, keepdims=True)
            code = tf.reduce_sum(tf.cast(matches, tf.float32) * key_codes, axis=1, keepdims=True)
            codes.append(tf.where(found, code, default))
        if codes:  # Looked up as small exact floats (ONNX's LabelEncoder gives floats).
            arrays[CATEGORICAL_INPUT] = tf.cast(tf.concat(codes, axis=1), tf.int32)
        return arrays

    def feed(self, X):
        frame = self.validate(X) if self.validate is not None else X
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"`X` must be a pandas DataFrame. Received: {type(X).__name__}")
        pre = self.preprocessor
        self.preprocessor.transform(frame)  # The estimator's own checks, with its messages.
        fed = {}
        for column in pre.numeric_columns_:
            values = pd.to_numeric(frame[column], errors="coerce")
            fed[self.input_names[column]] = values.to_numpy(np.float64, na_value=np.nan)[:, None]
        for column in pre.categorical_columns_:
            fed[self.input_names[column]] = _category_strings(frame[column])[:, None]
        return fed

    def onnx_lookups(self):
        lookups = {}
        for column, vocabulary in zip(
            self.preprocessor.categorical_columns_, self.preprocessor.vocabularies_, strict=True
        ):
            name = self.input_names[column]
            keys, codes, default = _lookup_table(vocabulary)
            lookups[name] = (_code_name(name), keys, codes.tolist(), default)
        return lookups

    def describe(self):
        pre = self.preprocessor
        inputs = []
        for column in pre.feature_names_in_:
            numeric = column in pre.numeric_columns_
            inputs.append(
                {
                    "name": self.input_names[column],
                    "column": column,
                    "kind": "numeric" if numeric else "categorical",
                    "dtype": "float64" if numeric else "string",
                    "shape": [None, 1],
                    "missing": "NaN" if numeric else MISSING_CATEGORY,
                }
            )
        return {"preprocessing_in_graph": True, "inputs": inputs}


def _lookup_table(vocabulary):
    """Keys, float32 codes and the default code of one categorical column."""
    keys = list(vocabulary)
    codes = list(range(RESERVED_CODES, RESERVED_CODES + len(keys)))
    if MISSING_CATEGORY not in keys:  # A category named "" keeps its own code.
        keys.append(MISSING_CATEGORY)
        codes.append(MISSING_CODE)
    return keys, np.asarray(codes, dtype=np.float32), float(UNKNOWN_CODE)


def _input_names(columns):
    """A valid, unique graph input name per column (letters, digits and `_`)."""
    names, taken = {}, set()
    for column in columns:
        base = re.sub(r"\W", "_", column, flags=re.ASCII).strip("_") or "column"
        if not base[0].isalpha():
            base = f"c_{base}"
        name, k = base, 2
        while name.lower() in taken:
            name, k = f"{base}_{k}", k + 1
        taken.add(name.lower())
        names[column] = name
    return names


def _category_strings(values):
    """Categories as the preprocessor reads them (their `str`); missing as `MISSING_CATEGORY`."""
    present = values.notna().to_numpy()
    return np.array(
        [str(v) if p else MISSING_CATEGORY for v, p in zip(values, present, strict=True)],
        dtype=object,
    )


def _code_name(name):
    return f"{name}__code"
