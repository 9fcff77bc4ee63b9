"""Runs exported models in a fresh process, with only TensorFlow and onnxruntime.

Usage: python -m tests.core.export.load_exports CASES.pkl OUT.npz

Each case names an export (`path`, `format`) and the inputs to feed; the
first output of each is written to OUT.npz under the case's key.
"""

import os
import pickle
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np


def run_saved_model(path, feed):
    import tensorflow as tf

    serve = tf.saved_model.load(path).signatures["serving_default"]
    outputs = serve(**{name: tf.constant(value) for name, value in feed.items()})
    return next(iter(outputs.values())).numpy()


def run_onnx(path, feed):
    import onnxruntime

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    return session.run(None, feed)[0]


def main(cases_path, out_path):
    with open(cases_path, "rb") as f:
        cases = pickle.load(f)
    run = {"saved_model": run_saved_model, "onnx": run_onnx}
    results = {key: run[case["format"]](case["path"], case["feed"]) for key, case in cases.items()}
    np.savez(out_path, **results)


if __name__ == "__main__":
    main(*sys.argv[1:])
