"""Quality and speed of `ImageClassifier` against a hand-written Keras convnet and an SVC.

Two parts (`--parts` picks them):

digits: scikit-learn's `load_digits` (1,797 real 8 x 8 handwritten digits,
10 classes), stratified 25 % hold-out; `--seeds N` repeats with N different
splits (seeds `--seed` ... `--seed + N - 1`) and reports mean ± std. Models,
on the same split:

- ImageClassifier: default parameters (override with `--set key=value`),
  `random_state` = the split's seed, given the 8 x 8 images scaled to [0, 1]
  (it resizes them to its `image_size`, 32 x 32 by default).
- keras-io convnet: the "Simple MNIST convnet" of keras.io written in plain
  Keras: Conv2D(32, 3, relu) -> MaxPool(2) -> Conv2D(64, 3, relu) -> MaxPool(2)
  -> Flatten -> Dropout(0.5) -> Dense(10, softmax); Adam, categorical cross
  entropy, 15 epochs, batch 128, validation_split 0.1. It gets the same images
  resized to 28 x 28 (bilinear), the size keras-io trains it on for MNIST.
- SVC(gamma=0.001) on the 64 raw pixel values (0-16), scikit-learn's own
  digits example and the project's quality reference (accuracy 0.990).

proxy: a 28 x 28, 10-class set of 12,000 training and 2,000 test images,
because the clothing-like set ImageClassifier is judged on is not available
here. `--proxy-set glyphs` (the default) draws confusable letters from the
fonts matplotlib ships, with texture, shading, occlusion and noise
(`benchmarks.glyph_images`); on it the keras-io convnet scores about 0.89
(0.87 on the judged set). ImageClassifier also trains with `max_time` set to
each of `--budgets` (default 60, 120 and 300 s), to show what a time budget
buys. `--proxy-set digits` is the older MNIST-like set made from the digits,
described next. Either is a PROXY: its difficulty is not that of the judged
set; the fit time is the figure that carries over, since it depends on the
number and size of the images. The source digits are split stratified
75 / 25 (seed `--seed`); `--proxy-train` (default 12,000) training images are
drawn from the first part and `--proxy-test` (default 2,000) test images from
the second, so no test image is a variant of a training digit. Each image
renders one source digit into a 28 x 28 canvas (about 20 x 20 pixels, as in
MNIST) through a random affine map (rotation ±18°, scale 0.8-1.15, shear
±0.25, shift ±3 px), a smooth random (elastic) displacement of 0.5-1.5 px, a
random blur and stroke threshold (thin to thick strokes), random ink contrast
(0.35-1.0) on a random background level with a linear gradient, 0-2 random
distractor strokes, a random occluding patch in a quarter of the images, and
Gaussian pixel noise (sd 0.03-0.15); stored as uint8. ImageClassifier
(defaults) and the keras-io convnet (15 epochs, pixels / 255) each train once
on it. The ImageClassifier fit runs in a fresh process, which is stopped
`--proxy-timeout` seconds after `fit` starts (default 300, the target: past it
the verdict is known; 0 = no limit, to see the accuracy of a slow fit).

Targets (exit status 1 when a judged one fails):

- digits: ImageClassifier mean accuracy >= 0.98 (judged);
- digits: ImageClassifier beats the convnet by >= 2 accuracy points
  (informational: on 8 x 8 digits both are near the ceiling);
- proxy: ImageClassifier default fit < 5 minutes on 2 cores (judged; with a
  smaller `--proxy-train`, as under `--quick`, the time is scaled linearly to
  12,000 images and the verdict says so);
- proxy: ImageClassifier beats the convnet by >= 2 accuracy points (judged);
- glyphs: ImageClassifier accuracy >= the convnet's + 3 points, as the judged
  set's 0.90 is 3 points over the convnet's 0.87 there (judged).

`--quick`: 1 seed, a proxy 5 times smaller (2,400 + 400 images), no budgets.

Run from the repository root:

    python -m benchmarks.vision_quality [--quick] [--seeds 3] [--parts digits proxy]
        [--proxy-set glyphs] [--budgets 60 120 300] [--set max_epochs=20] [--threads 2]
        [--json out.json]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import sklearn
from scipy import ndimage
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC

from benchmarks.glyph_images import CLASSES as GLYPH_CLASSES
from benchmarks.glyph_images import make_glyphs
from benchmarks.settings import parse_settings
from domains.vision import ImageClassifier

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("digits", "proxy")
PROXY_SETS = ("glyphs", "digits")
BUDGETS = (60, 120, 300)  # Seconds of `max_time` reported on the proxy.
# The judged clothing-like set asks for 0.90 where the keras-io convnet scores 0.87: on the
# glyphs the same target is the convnet's accuracy in the same run plus 3 points.
GLYPHS_POINTS_OVER_CONVNET = 3.0
DEFAULT_PARAMS = {}
DIGITS_TARGET = 0.98
BEAT_POINTS = 2.0  # Accuracy points (percent) by which ImageClassifier beats the convnet.
FIT_SECONDS_TARGET = 300.0
PROXY_TRAIN, PROXY_TEST = 12_000, 2_000
QUICK_SHRINK = 5
CONVNET = "keras-io convnet"
IC = "ImageClassifier"
SVC_NAME = "SVC(gamma=0.001)"


# --------------------------------------------------------------------- data
def digits():
    """`(images in [0, 1] of shape (n, 8, 8), raw 64-pixel rows 0-16, labels)`."""
    data = load_digits()
    return (data.images / 16.0).astype(np.float32), data.data, data.target


def resized(images, side):
    """`(n, h, w)` images in [0, 1] resized (bilinear) to `(n, side, side, 1)` float32."""
    import tensorflow as tf

    return np.clip(tf.image.resize(images[..., None], (side, side)).numpy(), 0.0, 1.0)


def make_proxy(n_train, n_test, seed):
    """The MNIST-like proxy: uint8 `(n, 28, 28)` images from disjoint source digits.

    Returns:
        `(X_train, y_train, X_test, y_test, n_source_train, n_source_test)`.
    """
    images, _, labels = digits()
    source_train, source_test = train_test_split(
        np.arange(len(labels)), test_size=0.25, stratify=labels, random_state=seed
    )
    rng = np.random.default_rng(seed)
    X_train, y_train = _render(images[source_train], labels[source_train], n_train, rng)
    X_test, y_test = _render(images[source_test], labels[source_test], n_test, rng)
    return X_train, y_train, X_test, y_test, len(source_train), len(source_test)


def _render(sources, labels, n, rng, side=28, chunk=1000):
    """Draws `n` images, each source digit used about equally often."""
    picks = rng.permutation(np.resize(np.arange(len(sources)), n))
    out = np.empty((n, side, side), dtype=np.uint8)
    for start in range(0, n, chunk):
        rows = picks[start : start + chunk]
        out[start : start + len(rows)] = _render_chunk(sources[rows], rng, side)
    return out, labels[picks]


def _render_chunk(sources, rng, side):
    n = len(sources)
    centre = (side - 1) / 2.0
    grid_r, grid_c = np.meshgrid(np.arange(side, dtype=np.float64), np.arange(side), indexing="ij")

    # Elastic: a smooth random displacement field, 0.5-1.5 px (sd) per image.
    field = ndimage.gaussian_filter(rng.uniform(-1, 1, (2, n, side, side)), sigma=(0, 0, 4, 4))
    field /= field.std(axis=(2, 3), keepdims=True) + 1e-9
    field *= rng.uniform(0.5, 1.5, (1, n, 1, 1))
    out_r = grid_r + field[0] - centre - rng.uniform(-3, 3, (n, 1, 1))
    out_c = grid_c + field[1] - centre - rng.uniform(-3, 3, (n, 1, 1))

    # Affine: output = A @ source; sample the source at A^-1 @ output.
    angle = np.deg2rad(rng.uniform(-18, 18, n))
    shear = rng.uniform(-0.25, 0.25, n)
    scale = rng.uniform(0.8, 1.15, n) * 20.0 / 8.0  # 8 source pixels -> about 20 output pixels.
    cos, sin = np.cos(angle), np.sin(angle)
    a = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
    shear_map = [[np.ones(n), shear], [np.zeros(n), np.ones(n)]]
    a = a @ np.stack([np.stack(row, -1) for row in shear_map], -2)
    a *= scale[:, None, None]
    inverse = np.linalg.inv(a)
    src_r = inverse[:, 0, 0, None, None] * out_r + inverse[:, 0, 1, None, None] * out_c + 3.5
    src_c = inverse[:, 1, 0, None, None] * out_r + inverse[:, 1, 1, None, None] * out_c + 3.5
    index = np.broadcast_to(np.arange(n, dtype=np.float64)[:, None, None], src_r.shape)
    ink = ndimage.map_coordinates(sources, [index, src_r, src_c], order=1, cval=0.0)

    # Stroke: blur, then a random threshold ramp (thin to thick strokes).
    ink = ndimage.gaussian_filter(ink, sigma=(0, 0.7, 0.7)) * 0.5 + ink * 0.5
    low = rng.uniform(0.1, 0.35, (n, 1, 1))
    ink = np.clip((ink - low) / rng.uniform(0.25, 0.5, (n, 1, 1)), 0.0, 1.0)

    # Distractor strokes: 0-2 short random segments, fainter than the digit.
    for _ in range(2):
        keep = rng.random(n) < 0.4
        p = rng.uniform(0, side - 1, (n, 2, 1, 1))
        q = p + rng.uniform(-8, 8, (n, 2, 1, 1))
        d = q - p
        t = ((grid_r - p[:, 0]) * d[:, 0] + (grid_c - p[:, 1]) * d[:, 1]) / (
            (d**2).sum(axis=1) + 1e-9
        )
        t = np.clip(t, 0.0, 1.0)
        dist = np.hypot(grid_r - p[:, 0] - t * d[:, 0], grid_c - p[:, 1] - t * d[:, 1])
        stroke = np.clip(1.5 - dist, 0.0, 1.0) * rng.uniform(0.3, 0.7, (n, 1, 1))
        ink = np.maximum(ink, stroke * keep[:, None, None])

    # Occlusion: a 4-8 px patch of background in a quarter of the images.
    occluded = np.ones_like(ink)
    for i in np.flatnonzero(rng.random(n) < 0.25):
        h, w = rng.integers(4, 9, 2)
        r, c = rng.integers(0, side - h), rng.integers(0, side - w)
        occluded[i, r : r + h, c : c + w] = 0.0
    ink *= occluded

    # Contrast, background with a gradient, noise.
    background = rng.uniform(0.0, 0.3, (n, 1, 1)) + (
        rng.uniform(-0.1, 0.1, (n, 1, 1)) * (grid_r - centre) / side
        + rng.uniform(-0.1, 0.1, (n, 1, 1)) * (grid_c - centre) / side
    )
    contrast = rng.uniform(0.35, 1.0, (n, 1, 1))
    image = background + contrast * ink * (1.0 - background)
    image += rng.normal(0.0, 1.0, image.shape) * rng.uniform(0.03, 0.15, (n, 1, 1))
    return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)


# ------------------------------------------------------------------- models
def keras_io_convnet(input_shape, n_classes):
    """The keras.io "Simple MNIST convnet", unchanged."""
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(n_classes, activation="softmax"),
        ]
    )


def fit_convnet(X_train, y_train, X_test, y_test, seed):
    """Trains the convnet as keras.io does (15 epochs, batch 128, validation_split 0.1).

    Args:
        X_train, X_test: float32 `(n, 28, 28, 1)` in [0, 1].
        y_train, y_test: integer labels 0..n_classes-1.
    """
    keras.utils.set_random_seed(seed)
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    model = keras_io_convnet(X_train.shape[1:], n_classes)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    started, cpu_started = time.perf_counter(), time.process_time()
    model.fit(
        X_train,
        keras.utils.to_categorical(y_train, n_classes),
        batch_size=128,
        epochs=15,
        validation_split=0.1,
        verbose=0,
    )
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    predicted = np.argmax(model.predict(X_test, batch_size=512, verbose=0), axis=1)
    keras.backend.clear_session()
    return {
        "accuracy": float(np.mean(predicted == y_test)),
        "fit_seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "epochs": 15,
    }


def image_classifier(params, seed):
    params = {
        key: tuple(value) if key in ("image_size", "widths") and isinstance(value, list) else value
        for key, value in params.items()
    }
    return ImageClassifier(**{**params, "random_state": seed})


def fit_image_classifier(X_train, y_train, X_test, y_test, seed, params):
    model = image_classifier(params, seed)
    started, cpu_started = time.perf_counter(), time.process_time()
    model.fit(X_train, y_train)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    accuracy = float(np.mean(model.predict(X_test) == y_test))
    keras.backend.clear_session()
    return {
        "accuracy": accuracy,
        "fit_seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "epochs": model.n_epochs_,
    }


def fit_svc(X_train, y_train, X_test, y_test):
    started, cpu_started = time.perf_counter(), time.process_time()
    model = SVC(gamma=0.001).fit(X_train, y_train)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "accuracy": float(model.score(X_test, y_test)),
        "fit_seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "epochs": None,
    }


# ------------------------------------------------------------------- digits
def run_digits(args, params):
    images, pixels, labels = digits()
    images28 = resized(images, 28)
    per_seed = {IC: [], CONVNET: [], SVC_NAME: []}
    seeds = [args.seed + i for i in range(args.seeds)]
    for seed in seeds:
        train, test = train_test_split(
            np.arange(len(labels)), test_size=0.25, stratify=labels, random_state=seed
        )
        y_train, y_test = labels[train], labels[test]
        results = {
            IC: fit_image_classifier(images[train], y_train, images[test], y_test, seed, params),
            CONVNET: fit_convnet(images28[train], y_train, images28[test], y_test, seed),
            SVC_NAME: fit_svc(pixels[train], y_train, pixels[test], y_test),
        }
        for name, result in results.items():
            per_seed[name].append(result)
        print(
            f"  [digits] seed {seed}: "
            + "  ".join(
                f"{_short(n)} {r['accuracy']:.4f} ({r['fit_seconds']:.1f}s)"
                for n, r in results.items()
            ),
            file=sys.stderr,
            flush=True,
        )
    models = {name: _summary(results) for name, results in per_seed.items()}
    diff = 100.0 * (
        np.array([r["accuracy"] for r in per_seed[IC]])
        - np.array([r["accuracy"] for r in per_seed[CONVNET]])
    )
    return {
        "images": len(labels),
        "test_images": len(test),
        "seeds": seeds,
        "models": models,
        "ic_minus_convnet_points": {
            "seeds": diff.tolist(),
            "mean": float(diff.mean()),
            "std": float(diff.std()),
        },
        "accuracy_passed": bool(models[IC]["accuracy"]["mean"] >= DIGITS_TARGET),
        "beat_passed": bool(diff.mean() >= BEAT_POINTS),
    }


def _summary(results):
    out = {}
    for key in ("accuracy", "fit_seconds", "cpu_seconds", "epochs"):
        values = [r[key] for r in results if r[key] is not None]
        if values:
            out[key] = {
                "mean": float(np.mean(values)),
                "std": float(np.std(values)),
                "seeds": [float(v) for v in values],
            }
    return out


# -------------------------------------------------------------------- proxy
def proxy_child(data_path, params_json, seed, threads, result_path):
    """Runs in a fresh process: ImageClassifier on the saved proxy; writes its figures as JSON.

    An empty `<result_path>.started` file marks the start of `fit`, for the timeout.
    """
    _set_threads(threads)
    data = np.load(data_path)
    arrays = [data[key] for key in ("X_train", "y_train", "X_test", "y_test")]
    Path(result_path + ".started").touch()
    result = fit_image_classifier(*arrays, seed, json.loads(params_json))
    Path(result_path).write_text(json.dumps(result))


def run_image_classifier_child(data_path, params, seed, threads, timeout):
    """ImageClassifier on the proxy in a fresh process, stopped `timeout` s after fit starts.

    Returns:
        `(result, seconds)`: the child's figures, or None when it was stopped,
        and the seconds from the start of `fit` to its end or to the stop.
    """
    folder = Path(data_path).parent
    result_path, log_path = folder / "result.json", folder / "child.log"
    started_path = Path(f"{result_path}.started")
    code = (
        "import sys; from benchmarks.vision_quality import proxy_child; "
        "proxy_child(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])"
    )
    command = [sys.executable, "-c", code, str(data_path), json.dumps(params), str(seed)]
    command += [str(threads or 0), str(result_path)]
    fit_started = None
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        while process.poll() is None:
            time.sleep(0.5)
            if fit_started is None and started_path.exists():
                fit_started = time.perf_counter()
            if timeout and fit_started is not None and time.perf_counter() - fit_started > timeout:
                process.kill()
                process.wait()
                return None, time.perf_counter() - fit_started
    if process.returncode != 0:
        raise SystemExit(
            f"ImageClassifier on the proxy failed (exit {process.returncode}):\n"
            f"{log_path.read_text()[-3000:]}"
        )
    result = json.loads(result_path.read_text())
    return result, result["fit_seconds"]


def run_proxy(args, params):
    started = time.perf_counter()
    if args.proxy_set == "glyphs":
        X_train, y_train, X_test, y_test = make_glyphs(args.proxy_train, args.proxy_test, args.seed)
        n_src_train = n_src_test = None
    else:
        X_train, y_train, X_test, y_test, n_src_train, n_src_test = make_proxy(
            args.proxy_train, args.proxy_test, args.seed
        )
    make_seconds = time.perf_counter() - started
    print(
        f"  [proxy] made {len(y_train)} + {len(y_test)} images in {make_seconds:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    scale = PROXY_TRAIN / args.proxy_train
    timeout = args.proxy_timeout / scale if args.proxy_timeout else None
    with tempfile.TemporaryDirectory(prefix="vision_proxy_") as folder:
        data_path = Path(folder) / "proxy.npz"
        np.savez(data_path, X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test)
        ic, elapsed = run_image_classifier_child(
            data_path, params, args.seed, args.threads, timeout
        )
        budgets = {}
        for budget in args.budgets:
            # Scaled like the fit time; a stalled child is stopped at twice its budget.
            seconds = budget / scale
            result, _ = run_image_classifier_child(
                data_path, {**params, "max_time": seconds}, args.seed, args.threads, 2 * seconds
            )
            budgets[budget] = result
            shown = "stopped" if result is None else f"{result['accuracy']:.4f}"
            print(
                f"  [proxy] {_short(IC)} max_time={seconds:.0f}s: {shown}",
                file=sys.stderr,
                flush=True,
            )
    if ic is None:
        print(
            f"  [proxy] {_short(IC)} fit stopped after {elapsed:.0f} s (--proxy-timeout)",
            file=sys.stderr,
            flush=True,
        )
    else:
        print(
            f"  [proxy] {_short(IC)} {ic['accuracy']:.4f} ({ic['fit_seconds']:.1f}s, "
            f"{ic['epochs']} epochs)",
            file=sys.stderr,
            flush=True,
        )
    convnet = fit_convnet(
        X_train[..., None].astype(np.float32) / 255.0,
        y_train,
        X_test[..., None].astype(np.float32) / 255.0,
        y_test,
        args.seed,
    )
    print(
        f"  [proxy] {_short(CONVNET)} {convnet['accuracy']:.4f} ({convnet['fit_seconds']:.1f}s)",
        file=sys.stderr,
        flush=True,
    )
    if ic is None:
        seconds_12k = elapsed * scale  # At least this long.
        time_passed = beat_passed = False
        diff = None
    else:
        seconds_12k = ic["fit_seconds"] * scale
        time_passed = seconds_12k < FIT_SECONDS_TARGET
        diff = 100.0 * (ic["accuracy"] - convnet["accuracy"])
        beat_passed = diff >= BEAT_POINTS
    accuracy_target = None
    if args.proxy_set == "glyphs":
        accuracy_target = round(convnet["accuracy"] + GLYPHS_POINTS_OVER_CONVNET / 100.0, 4)
    return {
        "proxy_set": args.proxy_set,
        "accuracy_target": accuracy_target,
        "accuracy_passed": bool(
            accuracy_target is None or (ic is not None and ic["accuracy"] >= accuracy_target)
        ),
        "budgets": budgets,
        "train_images": len(y_train),
        "test_images": len(y_test),
        "source_digits": [n_src_train, n_src_test],
        "make_seconds": make_seconds,
        "timeout_seconds": timeout,
        "timed_out": ic is None,
        "ic_fit_seconds_so_far": elapsed,
        "models": {IC: ic, CONVNET: convnet},
        "ic_seconds_at_12000": seconds_12k,
        "extrapolated": args.proxy_train != PROXY_TRAIN,
        "ic_minus_convnet_points": diff,
        "time_passed": bool(time_passed),
        "beat_passed": bool(beat_passed),
    }


# ------------------------------------------------------------------- output
def _short(name):
    return {IC: "IC", CONVNET: "convnet", SVC_NAME: "SVC"}[name]


LABELS = {
    IC: "ImageClassifier",
    CONVNET: "keras-io convnet, 28x28, 15 ep",
    SVC_NAME: "SVC(gamma=0.001), 8x8 pixels",
}


def _verdict(passed):
    return "PASS" if passed else "FAIL"


def print_digits(result, params):
    print()
    print(
        f"== digits (sklearn load_digits, real): {result['images']} images 8x8, 10 classes; "
        f"stratified 25% hold-out ({result['test_images']} images), "
        f"{len(result['seeds'])} split(s), seeds {', '.join(map(str, result['seeds']))}"
    )
    print(
        f"   {'model':<32} {'accuracy mean ± std':>20} {'s/fit mean ± std':>17} "
        f"{'cpu s/fit':>9} {'epochs':>6}"
    )
    for name, model in result["models"].items():
        acc, sec, cpu = model["accuracy"], model["fit_seconds"], model["cpu_seconds"]
        epochs = f"{model['epochs']['mean']:.0f}" if "epochs" in model else ""
        print(
            f"   {LABELS[name]:<32} {acc['mean']:>11.4f} ± {acc['std']:.4f} "
            f"{sec['mean']:>8.1f} ± {sec['std']:<6.1f} {cpu['mean']:>9.1f} {epochs:>6}"
        )
    diff = result["ic_minus_convnet_points"]
    per_seed = " ".join(f"{d:+.2f}" for d in diff["seeds"])
    print(
        f"   IC - convnet, accuracy points per seed: {per_seed}; "
        f"mean {diff['mean']:+.2f} ± {diff['std']:.2f}"
    )


def print_proxy(result, args):
    print()
    if result["proxy_set"] == "glyphs":
        print(
            f"== CLOTHING-LIKE PROXY (glyphs {' '.join(GLYPH_CLASSES)} drawn from matplotlib's "
            f"fonts with texture, shading, occlusion and noise; not the judged data set): "
            f"28x28 grayscale uint8, 10 classes; {result['train_images']} train / "
            f"{result['test_images']} test images (seed {args.seed}), made in "
            f"{result['make_seconds']:.1f} s"
        )
    else:
        _print_digits_proxy_title(result, args)
    _print_proxy_rows(result)
    for budget, model in result["budgets"].items():
        label = f"ImageClassifier, max_time={budget}s"
        if model is None:
            print(f"   {label:<32} {'n/a':>9}  stopped at twice its budget")
            continue
        print(
            f"   {label:<32} {model['accuracy']:>9.4f} {model['fit_seconds']:>8.1f} "
            f"{model['cpu_seconds']:>9.1f} {model['epochs']:>6}"
        )
    if result["ic_minus_convnet_points"] is not None:
        print(f"   IC - convnet: {result['ic_minus_convnet_points']:+.2f} accuracy points")


def _print_digits_proxy_title(result, args):
    print(
        f"== MNIST-like PROXY (made from digits; not the judged data set): 28x28 grayscale uint8, "
        f"10 classes; {result['train_images']} train / {result['test_images']} test images "
        f"rendered from {result['source_digits'][0]} / {result['source_digits'][1]} disjoint "
        f"source digits (seed {args.seed}), made in {result['make_seconds']:.1f} s"
    )


def _print_proxy_rows(result):
    print(f"   {'model':<32} {'accuracy':>9} {'s/fit':>8} {'cpu s/fit':>9} {'epochs':>6}")
    for name, model in result["models"].items():
        if model is None:
            stopped = f">{result['ic_fit_seconds_so_far']:.0f}"
            print(
                f"   {LABELS[name]:<32} {'n/a':>9} {stopped:>8} {'':>9} {'':>6}  "
                "stopped at --proxy-timeout"
            )
            continue
        print(
            f"   {LABELS[name]:<32} {model['accuracy']:>9.4f} {model['fit_seconds']:>8.1f} "
            f"{model['cpu_seconds']:>9.1f} {model['epochs']:>6}"
        )


def print_targets(digits_result, proxy_result, params, args):
    print()
    print(f"ImageClassifier params: {json.dumps(params) if params else 'defaults'}")
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    threads = args.threads or "all"
    print(f"Machine: {os.cpu_count()} CPU(s), TF threads: {threads}, load average now {load}")
    print("Targets:")
    if digits_result is not None:
        acc = digits_result["models"][IC]["accuracy"]["mean"]
        print(
            f"  digits: ImageClassifier mean accuracy {acc:.4f} >= {DIGITS_TARGET}  "
            f"{_verdict(digits_result['accuracy_passed'])}"
        )
        diff = digits_result["ic_minus_convnet_points"]["mean"]
        print(
            f"  digits: ImageClassifier - convnet = {diff:+.2f} points (>= {BEAT_POINTS:.0f})  "
            f"{_verdict(digits_result['beat_passed'])} (informational)"
        )
    if proxy_result is not None:
        seconds = proxy_result["ic_seconds_at_12000"]
        how = ""
        if proxy_result["extrapolated"]:
            how = f", measured on {proxy_result['train_images']} and scaled linearly"
        bound = ">= " if proxy_result["timed_out"] else ""
        print(
            f"  proxy: ImageClassifier fit time for {PROXY_TRAIN} images {bound}{seconds:.0f} s"
            f"{how} (< {FIT_SECONDS_TARGET:.0f} s)  {_verdict(proxy_result['time_passed'])}"
        )
        diff = proxy_result["ic_minus_convnet_points"]
        shown = "n/a (fit stopped)" if diff is None else f"{diff:+.2f} points"
        print(
            f"  proxy: ImageClassifier - convnet = {shown} (>= {BEAT_POINTS:.0f})  "
            f"{_verdict(proxy_result['beat_passed'])}"
        )
        target = proxy_result["accuracy_target"]
        if target is not None:
            ic = proxy_result["models"][IC]
            shown = "n/a (fit stopped)" if ic is None else f"{ic['accuracy']:.4f}"
            print(
                f"  proxy: ImageClassifier accuracy {shown} (>= {target}: the convnet's "
                f"+ {GLYPHS_POINTS_OVER_CONVNET:.0f} points, as 0.90 is over 0.87 on the "
                "judged set)  "
                f"{_verdict(proxy_result['accuracy_passed'])}"
            )


# ---------------------------------------------------------------------- CLI
def _set_threads(threads):
    if threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def _parse_set(items):
    return parse_settings(items, ImageClassifier, DEFAULT_PARAMS)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.vision_quality",
        description="ImageClassifier vs the keras-io MNIST convnet and SVC on scikit-learn's "
        "digits, and ImageClassifier's fit time and accuracy on an MNIST-like 28x28 proxy "
        "made from them.",
    )
    parser.add_argument(
        "--parts", nargs="+", choices=PARTS, default=list(PARTS), help="parts to run (default both)"
    )
    parser.add_argument(
        "--seeds", type=int, default=3, help="digits: number of splits/seeds (default 3)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"1 seed and a proxy {QUICK_SHRINK}x smaller (time scaled to {PROXY_TRAIN} images)",
    )
    parser.add_argument(
        "--proxy-train",
        type=int,
        default=PROXY_TRAIN,
        help=f"proxy training images (default {PROXY_TRAIN}; "
        f"--quick: {PROXY_TRAIN // QUICK_SHRINK})",
    )
    parser.add_argument(
        "--proxy-test",
        type=int,
        default=PROXY_TEST,
        help=f"proxy test images (default {PROXY_TEST}; --quick: {PROXY_TEST // QUICK_SHRINK})",
    )
    parser.add_argument(
        "--proxy-timeout",
        type=float,
        default=FIT_SECONDS_TARGET,
        help="stop the proxy ImageClassifier fit after this many seconds, scaled like the "
        f"time with a smaller --proxy-train (default {FIT_SECONDS_TARGET:.0f}, the target; "
        "0 = no limit)",
    )
    parser.add_argument(
        "--proxy-set",
        choices=PROXY_SETS,
        default=PROXY_SETS[0],
        help="the 28x28 proxy: glyphs drawn from fonts (clothing-like, default) or the "
        "MNIST-like digits",
    )
    parser.add_argument(
        "--budgets",
        nargs="*",
        type=float,
        default=list(BUDGETS),
        help="proxy: also fit with these max_time seconds, scaled like the fit time "
        f"(default {' '.join(map(str, BUDGETS))}; --quick: none)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="ImageClassifier parameter, value parsed as JSON (repeatable), e.g. "
        "--set image_size=[28,28] --set max_epochs=20",
    )
    parser.add_argument(
        "--threads", type=int, help="TensorFlow intra- and inter-op threads (default: all cores)"
    )
    parser.add_argument("--seed", type=int, default=0, help="first seed (splits, models, proxy)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds = 1
        args.proxy_train = PROXY_TRAIN // QUICK_SHRINK
        args.proxy_test = PROXY_TEST // QUICK_SHRINK
        args.budgets = []
    if args.seeds < 1:
        parser.error(f"--seeds is too small: {args.seeds}")
    if args.proxy_train < 100 or args.proxy_test < 10:
        parser.error(
            f"--proxy-train/--proxy-test are too small: {args.proxy_train}/{args.proxy_test}"
        )
    if args.proxy_timeout < 0:
        parser.error(f"--proxy-timeout must be >= 0. Received: {args.proxy_timeout}")
    return args


def main(argv=None):
    args = parse_args(argv)
    params = _parse_set(args.overrides)
    try:  # Fail before any fitting.
        image_classifier(params, 0)._check_params()
    except (TypeError, ValueError) as error:
        raise SystemExit(f"Invalid ImageClassifier parameters: {error}") from None
    _set_threads(args.threads)
    started = time.perf_counter()
    digits_result = run_digits(args, params) if "digits" in args.parts else None
    proxy_result = run_proxy(args, params) if "proxy" in args.parts else None
    if digits_result is not None:
        print_digits(digits_result, params)
    if proxy_result is not None:
        print_proxy(proxy_result, args)
    print_targets(digits_result, proxy_result, params, args)
    judged = []
    if digits_result is not None:
        judged.append(digits_result["accuracy_passed"])
    if proxy_result is not None:
        judged += [
            proxy_result["time_passed"],
            proxy_result["beat_passed"],
            proxy_result["accuracy_passed"],
        ]
    passed = all(judged)
    elapsed = time.perf_counter() - started
    print(f"Total time {elapsed / 60:.1f} min.")
    if args.json:
        import tensorflow as tf

        payload = {
            "benchmark": "vision_quality",
            "params": params,
            "parts": args.parts,
            "seeds": args.seeds,
            "seed": args.seed,
            "quick": args.quick,
            "seconds": elapsed,
            "environment": {
                "python": platform.python_version(),
                "keras": keras.__version__,
                "tensorflow": tf.__version__,
                "backend": keras.backend.backend(),
                "scikit-learn": sklearn.__version__,
                "cpu_count": os.cpu_count(),
                "threads": args.threads,
                "load_average": os.getloadavg(),
            },
            "digits": digits_result,
            "proxy": proxy_result,
            "passed": passed,
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
