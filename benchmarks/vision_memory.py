"""Peak memory of `ImageClassifier` training from an image folder: streaming, not loading.

`ImageClassifier.fit(folder)` reads a folder of class sub-folders through a
`tf.data` pipeline (read, decode, resize, batch, prefetch), so the images never
have to fit in memory. This benchmark checks that: it writes two synthetic PNG
folders, a small one (`--small`, default 2,000 images) and a large one
(`--large`, default 20,000), and trains one epoch on each in a fresh Python
process, so that the two peaks are independent:

    ImageClassifier(max_epochs=1, validation_fraction=0.1, random_state=0).fit(folder)

Each child process reports its peak resident set size (`VmHWM` from
`/proc/self/status`, or `ru_maxrss` where there is no `/proc`), its resident
size after the imports and before `fit`, and the wall-clock seconds of `fit`
(listing the folder, checking every file, one epoch and the validation pass).

Images: 10 classes, 32 x 32 grayscale PNG (`tf.io.encode_png`): noise on a
random background level, with a bright square whose side depends on the class
(3 to 21 pixels) at a random position. They are written to a temporary folder
that is deleted at the end.

Target: peak RSS of the large run <= 1.5 x peak RSS of the small run.

Run from the repository root:

    python -m benchmarks.vision_memory [--large 20000] [--small 2000] [--json out.json]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.process_memory import maxrss_mb, rss_mb

ROOT = Path(__file__).resolve().parents[1]
N_CLASSES = 10
IMAGE_SIDE = 32
RATIO_TARGET = 1.5
CHUNK = 1000  # Images drawn at once while writing a folder.


# ------------------------------------------------------------------ images
def write_folder(folder, n_images, seed):
    """Writes `n_images` PNG files, `folder/class_<k>/<index>.png`, balanced over classes.

    Returns:
        Seconds spent.
    """
    import tensorflow as tf

    started = time.perf_counter()
    folder = Path(folder)
    for k in range(N_CLASSES):
        (folder / f"class_{k}").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    grid = np.arange(IMAGE_SIDE)
    for start in range(0, n_images, CHUNK):
        n = min(CHUNK, n_images - start)
        labels = (start + np.arange(n)) % N_CLASSES
        level = rng.uniform(0.1, 0.4, size=(n, 1, 1))
        images = level + rng.normal(0.0, 0.08, size=(n, IMAGE_SIDE, IMAGE_SIDE))
        side = 3 + 2 * labels
        top = rng.integers(0, IMAGE_SIDE - side + 1)
        left = rng.integers(0, IMAGE_SIDE - side + 1)
        rows = (grid >= top[:, None]) & (grid < (top + side)[:, None])
        cols = (grid >= left[:, None]) & (grid < (left + side)[:, None])
        square = rows[:, :, None] & cols[:, None, :]
        images += square * rng.uniform(0.3, 0.5, size=(n, 1, 1))
        pixels = np.clip(np.round(images * 255.0), 0, 255).astype(np.uint8)[..., None]
        for i in range(n):
            png = tf.io.encode_png(pixels[i]).numpy()
            (folder / f"class_{labels[i]}" / f"{start + i:06d}.png").write_bytes(png)
    return time.perf_counter() - started


def folder_bytes(folder):
    return sum(p.stat().st_size for p in Path(folder).rglob("*.png"))


# ------------------------------------------------------------------- child
def train_child(folder, result_path):
    """Runs in a fresh process: one epoch from `folder`; writes its figures as JSON."""
    import keras

    from domains.vision import ImageClassifier

    keras.utils.set_random_seed(0)
    before = rss_mb("VmRSS")
    started = time.perf_counter()
    cpu_started = time.process_time()
    clf = ImageClassifier(max_epochs=1, validation_fraction=0.1, random_state=0).fit(folder)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    peak = rss_mb("VmHWM")
    result = {
        "rss_before_fit_mb": before,
        "peak_rss_mb": peak if peak is not None else maxrss_mb(),
        "peak_source": "VmHWM" if peak is not None else "ru_maxrss",
        "ru_maxrss_mb": maxrss_mb(),
        "fit_seconds": seconds,
        "fit_cpu_seconds": cpu_seconds,
        "epochs": clf.n_epochs_,
        "train_loss": clf.history_["loss"][-1],
    }
    Path(result_path).write_text(json.dumps(result))


def run_child(folder, timeout):
    """Trains in a fresh interpreter; returns the child's result dict plus its total seconds."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        result_path = handle.name
    code = (
        "import sys; from benchmarks.vision_memory import train_child; "
        "train_child(sys.argv[1], sys.argv[2])"
    )
    started = time.perf_counter()
    try:
        completed = subprocess.run(
            [sys.executable, "-c", code, str(folder), result_path],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if completed.returncode != 0:
            raise SystemExit(
                f"training on {folder} failed (exit {completed.returncode}):\n"
                f"{completed.stderr[-3000:]}"
            )
        result = json.loads(Path(result_path).read_text())
    finally:
        Path(result_path).unlink(missing_ok=True)
    result["process_seconds"] = time.perf_counter() - started
    return result


# ---------------------------------------------------------------------- CLI
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.vision_memory",
        description="Peak RSS of one ImageClassifier training epoch from a large generated "
        "PNG folder against a small one, each in a fresh process (streaming, not loading).",
    )
    parser.add_argument(
        "--large", type=int, default=20_000, help="images in the large folder (default 20000)"
    )
    parser.add_argument(
        "--small", type=int, default=2_000, help="images in the small folder (default 2000)"
    )
    parser.add_argument(
        "--timeout", type=int, default=1800, help="seconds allowed per training (default 1800)"
    )
    parser.add_argument("--tmp-dir", help="where to write the folders (default: system temp)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.small < 10 * N_CLASSES:
        parser.error(f"--small must be at least {10 * N_CLASSES}. Received: {args.small}")
    if args.large <= args.small:
        parser.error(f"--large must be above --small. Received: {args.large} <= {args.small}")
    return args


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="vision_memory_", dir=args.tmp_dir))
    runs = []
    try:
        for n_images in (args.small, args.large):
            folder = work / f"images_{n_images}"
            write_seconds = write_folder(folder, n_images, seed=n_images)
            size_mb = folder_bytes(folder) / 1e6
            print(
                f"  [write] {n_images} PNG files, {size_mb:.1f} MB, in {write_seconds:.1f} s",
                file=sys.stderr,
                flush=True,
            )
            result = run_child(folder, args.timeout)
            result.update(
                {"images": n_images, "folder_mb": size_mb, "write_seconds": write_seconds}
            )
            result["images_per_second"] = n_images / result["fit_seconds"]
            print(
                f"  [train] {n_images} images: peak RSS {result['peak_rss_mb']:.0f} MB, "
                f"fit {result['fit_seconds']:.1f} s",
                file=sys.stderr,
                flush=True,
            )
            runs.append(result)
            shutil.rmtree(folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    small, large = runs
    ratio = large["peak_rss_mb"] / small["peak_rss_mb"]
    growth_small = small["peak_rss_mb"] - small["rss_before_fit_mb"]
    growth_large = large["peak_rss_mb"] - large["rss_before_fit_mb"]
    passed = ratio <= RATIO_TARGET
    print()
    print(
        f"== one training epoch from a PNG folder ({N_CLASSES} classes, "
        f"{IMAGE_SIDE}x{IMAGE_SIDE} grayscale), ImageClassifier(max_epochs=1, "
        "validation_fraction=0.1, random_state=0), each run in a fresh process"
    )
    print(
        f"   {'images':>7} {'folder MB':>10} {'RSS before fit MB':>18} {'peak RSS MB':>12} "
        f"{'peak - before':>14} {'fit s':>8} {'images/s':>9}"
    )
    for r in runs:
        print(
            f"   {r['images']:>7} {r['folder_mb']:>10.1f} {r['rss_before_fit_mb']:>18.0f} "
            f"{r['peak_rss_mb']:>12.0f} {r['peak_rss_mb'] - r['rss_before_fit_mb']:>14.0f} "
            f"{r['fit_seconds']:>8.1f} {r['images_per_second']:>9.0f}"
        )
    print(
        f"   growth during fit: {growth_large:.0f} MB ({large['images']} images) vs "
        f"{growth_small:.0f} MB ({small['images']} images)  (informational)"
    )
    print()
    print(
        f"Target: peak RSS {large['images']} / {small['images']} images = "
        f"{large['peak_rss_mb']:.0f} / {small['peak_rss_mb']:.0f} MB = {ratio:.2f}x "
        f"(<= {RATIO_TARGET}x)  {'PASS' if passed else 'FAIL'}"
    )
    elapsed = time.perf_counter() - started
    print(f"Total time {elapsed / 60:.1f} min.")
    if args.json:
        import keras
        import tensorflow as tf

        payload = {
            "benchmark": "vision_memory",
            "small": args.small,
            "large": args.large,
            "runs": runs,
            "ratio": ratio,
            "target": RATIO_TARGET,
            "seconds": elapsed,
            "environment": {
                "python": platform.python_version(),
                "keras": keras.__version__,
                "tensorflow": tf.__version__,
                "cpu_count": os.cpu_count(),
            },
            "passed": passed,
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
