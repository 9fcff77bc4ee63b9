"""What caching a frozen image preset's features saves when a table has an image column.

A table of `--rows` rows (two numbers and an image path; the images are
scikit-learn's 8 x 8 digits written as PNG files, the target is whether the
digit is 5 or more) is fitted by `TabularClassifier(image_backbone=<preset>,
n_members=2, max_epochs=--epochs, patience=--epochs)` twice in this process,
on the same rows and seed:

- cached: as shipped: the preset's pooled features of every file are computed
  once per fit (`core.layers.CachedFeatures`) and looked up at every epoch;
- recomputed: `CachedFeatures.cache` disabled, so every batch reads, decodes,
  resizes and runs its files through the preset at every epoch.

The preset is a ViT-Tiny/16 shape with random weights, built locally with
keras-hub (`ViTBackbone(image_shape=(224, 224, 3), patch_size=16,
num_layers=12, num_heads=3, hidden_dim=192, mlp_dim=768)`, 5.5M parameters;
nothing is downloaded), so the images are read at 224 x 224. Prints both fit
times, the ratio, and the largest difference between the two models'
probabilities (the cache must not change what is learned).

Run from the repository root:

    python -m benchmarks.image_column_cache [--rows 300] [--epochs 5] [--json out.json]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import json
import sys
import tempfile
import time
from unittest import mock

import numpy as np
import pandas as pd

from benchmarks.pretrained_cost import write_vit_preset
from benchmarks.run_environment import run_environment

VIT_TINY = {
    "image_shape": (224, 224, 3),
    "patch_size": 16,
    "num_layers": 12,
    "num_heads": 3,
    "hidden_dim": 192,
    "mlp_dim": 768,
}


def digit_table(folder, n_rows, seed=0):
    """`(X, y)`: two numbers and the path of a digit's PNG; y is whether the digit is >= 5."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(digits.target), n_rows, replace=False)
    paths = []
    for i in rows:
        paths.append(os.path.join(folder, f"digit_{i}.png"))
        Image.fromarray((digits.images[i] * 16).astype(np.uint8)).save(paths[-1])
    X = pd.DataFrame({"a": rng.normal(size=n_rows), "b": rng.normal(size=n_rows), "image": paths})
    return X, (digits.target[rows] >= 5).astype(int)


def timed_fit(X, y, preset, epochs, cached):
    from core.estimators import TabularClassifier
    from core.layers import CachedFeatures

    model = TabularClassifier(
        image_backbone=preset, n_members=2, max_epochs=epochs, patience=epochs, random_state=0
    )
    patch = mock.patch.object(CachedFeatures, "cache", lambda self, ids, batch_size=64: 0)
    started = time.perf_counter()
    if cached:
        model.fit(X, y)
    else:
        with patch:
            model.fit(X, y)
    return time.perf_counter() - started, model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        preset, parameters = write_vit_preset(os.path.join(tmp, "vit"), VIT_TINY)
        X, y = digit_table(tmp, args.rows)
        cached_seconds, cached = timed_fit(X, y, preset, args.epochs, cached=True)
        plain_seconds, plain = timed_fit(X, y, preset, args.epochs, cached=False)
        gap = float(np.abs(cached.predict_proba(X) - plain.predict_proba(X)).max())
    result = {
        "environment": run_environment(),
        "rows": args.rows,
        "epochs": args.epochs,
        "preset_parameters": parameters,
        "cached_fit_seconds": round(cached_seconds, 1),
        "recomputed_fit_seconds": round(plain_seconds, 1),
        "speedup": round(plain_seconds / cached_seconds, 2),
        "max_probability_difference": gap,
    }
    print(
        f"ViT-Tiny/16 preset ({parameters:,} parameters), {args.rows} rows, "
        f"{args.epochs} epochs, 2 members:\n"
        f"  features cached once per fit: {cached_seconds:7.1f} s\n"
        f"  features recomputed per epoch: {plain_seconds:7.1f} s\n"
        f"  speed-up {plain_seconds / cached_seconds:.2f}x; "
        f"largest probability difference {gap:.2e}"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
