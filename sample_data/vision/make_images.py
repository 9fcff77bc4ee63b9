"""Generate a small SYNTHETIC image folder of four shape classes for image classification.

Nothing is downloaded and no real images are used: every pixel comes from the seeded
random model below. Each image shows one shape (``circle``, ``ring``, ``square`` or
``triangle``) at a random position, size, rotation and contrast on a noisy, textured
background, like a lesion on a scan. The files are real PNG and JPEG files written with
TensorFlow (``tf.io.encode_png`` / ``tf.io.encode_jpeg``), in one sub-folder per class.

Formats and channels are fixed by the image index ``i`` inside each class, the same
for every class (so neither tells the class apart):

- ``i % 4 in (0, 2)``: grayscale PNG (1 channel)
- ``i % 4 == 1``: RGB PNG (3 channels)
- ``i % 4 == 3``: RGB JPEG (3 channels, quality 90), extension ``.jpg``

Usage::

    python sample_data/vision/make_images.py --n-per-class 40 --size 32 --seed 0
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

DEFAULT_OUT = Path(__file__).resolve().parent / "shapes"

CLASSES = ("circle", "ring", "square", "triangle")

# Format and channel count by ``index % 4``; see the module docstring.
FORMAT_CYCLE = (("png", 1), ("png", 3), ("png", 1), ("jpg", 3))
JPEG_QUALITY = 90
SUPERSAMPLE = 4  # shapes are drawn on a 4x finer grid, then averaged (anti-aliasing)

# Shape size: ``R`` (the radius of a disc of about the same area) is drawn uniformly
# from this range, as a fraction of the image side.
RADIUS_RANGE = (0.14, 0.26)
SQUARE_HALF_SIDE = 0.85  # times R
TRIANGLE_CIRCUMRADIUS = 1.40  # times R
RING_OUTER = 1.15  # times R
RING_INNER_RANGE = (0.50, 0.65)  # inner radius as a share of the outer radius


def _shape_mask(
    kind: str, size: int, cx: float, cy: float, r: float, angle: float, inner: float
) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of one shape on a ``size x size`` grid."""
    n = size * SUPERSAMPLE
    coords = (np.arange(n) + 0.5) / SUPERSAMPLE  # pixel units, pixel centres at k + 0.5
    y, x = np.meshgrid(coords - cy, coords - cx, indexing="ij")
    if kind == "circle":
        inside = x**2 + y**2 <= r**2
    elif kind == "ring":
        d2 = x**2 + y**2
        outer = RING_OUTER * r
        inside = (d2 <= outer**2) & (d2 >= (inner * outer) ** 2)
    elif kind == "square":
        u = x * np.cos(angle) + y * np.sin(angle)
        v = -x * np.sin(angle) + y * np.cos(angle)
        inside = np.maximum(np.abs(u), np.abs(v)) <= SQUARE_HALF_SIDE * r
    elif kind == "triangle":
        # Equilateral triangle: inside iff within the inradius of all three edge normals.
        rho = TRIANGLE_CIRCUMRADIUS * r
        inside = np.ones_like(x, dtype=bool)
        for k in range(3):
            phi = angle + np.pi / 3 + 2 * np.pi * k / 3
            inside &= x * np.cos(phi) + y * np.sin(phi) <= rho / 2
    else:
        raise ValueError(f"unknown shape {kind!r}")
    return inside.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE).mean(axis=(1, 3))


def _extent(kind: str, r: float) -> float:
    """Largest distance from the centre to a point of the shape (any rotation)."""
    return {
        "circle": r,
        "ring": RING_OUTER * r,
        "square": SQUARE_HALF_SIDE * r * np.sqrt(2),
        "triangle": TRIANGLE_CIRCUMRADIUS * r,
    }[kind]


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Textured background: base level, a linear shading and three random sinusoids."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = np.full((size, size), rng.uniform(0.15, 0.45))
    gx, gy = rng.uniform(-0.12, 0.12, size=2)
    img += gx * (xx - 0.5) + gy * (yy - 0.5)
    for _ in range(3):
        freq = rng.uniform(1.0, 5.0)
        theta = rng.uniform(0, 2 * np.pi)
        amp = rng.uniform(0.02, 0.06)
        phase = rng.uniform(0, 2 * np.pi)
        img += amp * np.sin(2 * np.pi * freq * (xx * np.cos(theta) + yy * np.sin(theta)) + phase)
    return img


def render_image(rng: np.random.Generator, kind: str, size: int = 32) -> np.ndarray:
    """One grayscale image of shape ``kind`` as float ``(size, size)`` in [0, 1]."""
    img = _background(rng, size)
    r = rng.uniform(*RADIUS_RANGE) * size
    angle = rng.uniform(0, 2 * np.pi)
    inner = rng.uniform(*RING_INNER_RANGE)
    ext = _extent(kind, r)
    lo, hi = ext + 1.0, size - ext - 1.0
    cx, cy = rng.uniform(lo, hi, size=2)
    mask = _shape_mask(kind, size, cx, cy, r, angle, inner)
    contrast = rng.uniform(0.20, 0.50)
    img += contrast * mask * rng.uniform(0.85, 1.15, size=(size, size))  # mottled lesion
    # Distractors: 0-3 small bright specks anywhere (may overlap the shape).
    for _ in range(rng.integers(0, 4)):
        sx, sy = rng.uniform(0, size, size=2)
        speck = _shape_mask("circle", size, sx, sy, rng.uniform(0.6, 1.5), 0.0, 0.0)
        img += rng.uniform(0.15, 0.35) * speck
    img += rng.normal(0.0, rng.uniform(0.03, 0.08), size=(size, size))
    return np.clip(img, 0.0, 1.0)


def _colourise(rng: np.random.Generator, gray: np.ndarray) -> np.ndarray:
    """Map a grayscale image to RGB with a random per-image stain-like tint."""
    dark = rng.uniform(0.0, 0.25, size=3)
    light = rng.uniform(0.65, 1.0, size=3)
    rgb = dark + gray[..., None] * (light - dark)
    rgb += rng.normal(0.0, 0.015, size=rgb.shape)  # a little per-channel noise
    return np.clip(rgb, 0.0, 1.0)


def make_images(
    out_dir: str | os.PathLike = DEFAULT_OUT,
    n_per_class: int = 40,
    size: int = 32,
    random_state: int = 0,
) -> list[Path]:
    """Write ``n_per_class`` images of each class under ``out_dir/<class>/``.

    Files are named ``<class>_<index>.png`` or ``.jpg``; see the module docstring for the
    format and channels of each index. Earlier ``<class>_*.png`` / ``.jpg`` files in the
    class folders are removed first, so a smaller re-run leaves no stale files. The output
    is byte-identical for the same arguments (and the same TensorFlow build).

    Returns:
        The paths written, class by class, in index order.
    """
    import tensorflow as tf  # imported here: only needed to encode the files

    if n_per_class < 1:
        raise ValueError(f"n_per_class must be at least 1, got {n_per_class}")
    if size < 16:
        raise ValueError(f"size must be at least 16, got {size}")
    out_dir = Path(out_dir)
    rng = np.random.default_rng(random_state)
    written: list[Path] = []
    for kind in CLASSES:
        class_dir = out_dir / kind
        class_dir.mkdir(parents=True, exist_ok=True)
        for old in sorted(class_dir.glob(f"{kind}_*")):
            if old.suffix in (".png", ".jpg"):
                old.unlink()
        width = max(3, len(str(n_per_class - 1)))
        for i in range(n_per_class):
            gray = render_image(rng, kind, size)
            fmt, channels = FORMAT_CYCLE[i % len(FORMAT_CYCLE)]
            pixels = _colourise(rng, gray) if channels == 3 else gray[..., None]
            data = tf.constant(np.round(pixels * 255.0).astype(np.uint8))
            if fmt == "png":
                encoded = tf.io.encode_png(data, compression=9)
            else:
                encoded = tf.io.encode_jpeg(data, quality=JPEG_QUALITY)
            path = class_dir / f"{kind}_{i:0{width}d}.{fmt}"
            path.write_bytes(encoded.numpy())
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--n-per-class", type=int, default=100, help="images per class")
    parser.add_argument("--size", type=int, default=32, help="image side in pixels")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's start-up logs
    paths = make_images(args.out, args.n_per_class, args.size, args.seed)
    n_bytes = sum(p.stat().st_size for p in paths)
    print(
        f"wrote {len(paths)} images ({len(CLASSES)} classes x {args.n_per_class}, "
        f"{args.size}x{args.size}, {n_bytes / 1024:.0f} KiB) to {args.out}"
    )


if __name__ == "__main__":
    main()
