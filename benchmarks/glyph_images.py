"""A clothing-like image set made from installed fonts: 28 x 28 grayscale glyphs, 10 classes.

The image set ImageClassifier is judged on (28 x 28 grayscale, 10 classes,
12,000 training images, clothing-like) is not available offline. This one
is built to be as hard, from what every installation has: the TrueType
fonts that matplotlib ships (DejaVu, STIX and Computer Modern, 21 faces).
Like clothes, the classes come in confusable families (`O Q D C G`,
`B P R`, `E F`, ...), drawn filled or outlined, in many styles, with
shading and texture; unlike digits rendered at random, the hard pairs
differ by a small part (Q's tail, R's leg), as a shirt differs from a
T-shirt by its sleeves and buttons.

Every image draws a random face, size (16-24 px glyph height), rotation
(±12°), shear, shift, stroke weight, a random "fabric" texture on the
glyph, a background level, an occluding patch in some images, and pixel
noise; training and test images come from disjoint random streams.
"""

import os

import numpy as np
from matplotlib import font_manager
from PIL import Image, ImageDraw, ImageFilter, ImageFont

CLASSES = ("O", "Q", "D", "C", "G", "B", "P", "R", "E", "F")
FACES = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSansMono-Oblique.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuSerif-BoldItalic.ttf",
    "STIXGeneral.ttf",
    "STIXGeneralBol.ttf",
    "STIXGeneralItalic.ttf",
    "STIXGeneralBolIta.ttf",
    "cmr10.ttf",
    "cmss10.ttf",
    "cmtt10.ttf",
    "cmti10.ttf",
    "cmb10.ttf",
    "DejaVuSansDisplay.ttf",
)
SIDE = 28
SUPERSAMPLE = 3  # Drawn at 84 x 84, then reduced: smooth edges, as in scanned photos.


def font_paths():
    """Paths of the faces in `FACES` that this matplotlib installation ships."""
    folder = os.path.dirname(font_manager.findfont("DejaVu Sans"))
    paths = [os.path.join(folder, face) for face in FACES]
    return [p for p in paths if os.path.isfile(p)]


def make_glyphs(n_train, n_test, seed):
    """The glyph set: uint8 `(n, 28, 28)` images and integer labels 0-9, balanced.

    Returns:
        `(X_train, y_train, X_test, y_test)`.
    """
    fonts = font_paths()
    train_rng, test_rng = (np.random.default_rng([seed, part]) for part in (0, 1))
    X_train, y_train = _draw(n_train, fonts, train_rng)
    X_test, y_test = _draw(n_test, fonts, test_rng)
    return X_train, y_train, X_test, y_test


def _draw(n, fonts, rng):
    labels = rng.permutation(np.resize(np.arange(len(CLASSES)), n))
    images = np.empty((n, SIDE, SIDE), dtype=np.uint8)
    cache = {}
    for i, label in enumerate(labels):
        images[i] = _glyph(CLASSES[label], fonts, rng, cache)
    return images, labels


def _glyph(char, fonts, rng, cache):
    big = SIDE * SUPERSAMPLE
    height = rng.uniform(16, 24) * SUPERSAMPLE
    face = fonts[rng.integers(len(fonts))]
    key = (face, int(height))
    if key not in cache:
        cache[key] = ImageFont.truetype(face, int(height))
    font = cache[key]

    canvas = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(canvas)
    left, top, right, bottom = draw.textbbox((0, 0), char, font=font)
    x = (big - (right - left)) / 2 - left + rng.uniform(-2, 2) * SUPERSAMPLE
    y = (big - (bottom - top)) / 2 - top + rng.uniform(-2, 2) * SUPERSAMPLE
    outlined = rng.random() < 0.25
    stroke = int(rng.integers(0, 3)) * SUPERSAMPLE // 2
    if outlined:
        draw.text((x, y), char, fill=255, font=font, stroke_width=stroke + 2, stroke_fill=255)
        draw.text((x, y), char, fill=0, font=font)
    else:
        draw.text((x, y), char, fill=255, font=font, stroke_width=stroke, stroke_fill=255)

    shear = rng.uniform(-0.2, 0.2)
    canvas = canvas.transform(
        canvas.size, Image.AFFINE, (1, shear, -shear * big / 2, 0, 1, 0), Image.BILINEAR
    )
    canvas = canvas.rotate(rng.uniform(-12, 12), Image.BILINEAR)
    canvas = canvas.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.5) * SUPERSAMPLE / 2))
    ink = np.asarray(canvas.resize((SIDE, SIDE), Image.BOX), dtype=np.float64) / 255.0

    # Fabric: a random low-frequency shading times a striped or speckled texture.
    r, c = np.mgrid[0:SIDE, 0:SIDE] / SIDE
    shading = 0.75 + 0.25 * np.cos(2 * np.pi * (rng.uniform(0.3, 1.2) * r + rng.uniform(0, 1)))
    angle = rng.uniform(0, np.pi)
    stripes = 0.5 + 0.5 * np.cos(
        2 * np.pi * rng.uniform(3, 9) * (np.cos(angle) * r + np.sin(angle) * c)
    )
    texture = 1.0 - rng.uniform(0.0, 0.45) * stripes - rng.uniform(0, 0.25) * rng.random(ink.shape)
    ink = ink * shading * texture

    if rng.random() < 0.2:  # A patch hidden, as a fold or a strap hides part of a garment.
        h, w = rng.integers(4, 9, 2)
        top, left = rng.integers(0, SIDE - h), rng.integers(0, SIDE - w)
        ink[top : top + h, left : left + w] *= rng.uniform(0.0, 0.4)

    background = rng.uniform(0.0, 0.2)
    image = background + rng.uniform(0.5, 1.0) * ink * (1.0 - background)
    image += rng.normal(0.0, rng.uniform(0.02, 0.08), image.shape)
    return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)
