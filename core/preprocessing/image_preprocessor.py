"""Image inputs: arrays or files, resized and scaled the same way in fit and predict."""

import os
import warnings
from typing import NamedTuple

import numpy as np

from core.data.relative_paths import IMAGE_EXTENSIONS
from core.preprocessing.input_adapter import InputAdapter

MIN_AUTO_SIDE = 16
MAX_AUTO_SIDE = 64


class ImageRows(NamedTuple):
    """Validated images: file paths or one array (the other is None), and their labels."""

    files: list | None
    images: np.ndarray | None
    y: np.ndarray | None

    @property
    def n_images(self):
        return len(self.files) if self.files is not None else len(self.images)


class ImagePreprocessor(InputAdapter):
    """Turns arrays or image files into float32 batches `(n, height, width, channels)`.

    The input adapter of images: `validate` reads a folder of class
    folders (the labels are the folder names), a list of image files, or
    an array `(n, h, w)` / `(n, h, w, c)`.

    Pixels are scaled to [0, 1]: uint8 images are divided by 255; float
    images by 255 when the training images went above 1.5 (a 0-255 float
    array), else used as they are. Images are resized to `image_size`.
    Channels are learned at fit (1 for grayscale, 3 for colour; an alpha
    channel is dropped); at predict a grayscale image given to a colour
    model is repeated to three channels, and a colour image given to a
    grayscale model is converted to luminance.

    Files are streamed through `tf.data` (read, decode, resize, batch,
    prefetch), so a folder never has to fit in memory.

    Args:
        image_size: `(height, width)` of the model input, or `"auto"`: the
            training arrays' own size, or the median size of the first
            training files; each side at least 16 and, for files, at most 64.
        multiple_of: an `"auto"` size is rounded up to a multiple of this
            (a ViT's patch size).

    Attributes:
        channels_: 1 or 3.
        pixel_scale_: the divisor of float pixel values.
    """

    input_kind = "images"

    def __init__(self, image_size=(32, 32), multiple_of=1):
        self.auto_size = image_size == "auto"
        self.image_size = None if self.auto_size else check_image_size(image_size)
        self.multiple_of = int(multiple_of)

    def _set_auto_size(self, height, width, largest):
        if self.auto_size:
            sides = [min(max(int(v), MIN_AUTO_SIDE), largest) for v in (height, width)]
            self.image_size = tuple(-(-v // self.multiple_of) * self.multiple_of for v in sides)

    # ---------------------------------------------------------- the adapter
    def validate(self, X, y=None, reset=False):
        """Reads the images of X and their labels.

        Args:
            X: a folder (of class folders, or of images), a list of image
                files, or an image array.
            y: labels, for training from files or arrays; None for a folder
                of class folders, whose labels are the folder names.
            reset: True for training input: labels are required, and
                unreadable files are dropped with a warning. False for
                prediction: unreadable files are refused.

        Returns:
            `ImageRows(files, images, y)`.
        """
        if isinstance(X, str | os.PathLike):
            if not reset:
                return ImageRows(_readable(list_images(X), None, reset)[0], None, None)
            if y is not None:
                raise ValueError(
                    "`y` must be None when X is a folder: the labels are its sub-folder names."
                )
            kept, labels = _readable(*scan_folder(X)[:2], reset)
            return ImageRows(kept, None, labels)
        if isinstance(X, list | tuple) and X and all(isinstance(p, str | os.PathLike) for p in X):
            files = [os.fspath(p) for p in X]
            missing = [p for p in files if not os.path.isfile(p)]
            if missing:
                raise FileNotFoundError(f"Image files {missing[:5]} do not exist.")
            if reset and y is None:
                raise ValueError("`y` is required with a list of image files.")
            kept, y = _readable(files, y, reset)
            return ImageRows(kept, None, y)
        if reset and y is None:
            raise ValueError(
                "`y` is required with image arrays (or pass a folder of class folders)."
            )
        return ImageRows(None, as_image_array(X, "X") if reset else X, y)

    def fit(self, rows):
        """Learns size, channels and pixel scale from validated `ImageRows`; returns self."""
        if rows.files is not None:
            return self.fit_files(rows.files)
        return self.fit_arrays(rows.images)

    def transform(self, rows):
        """Preprocessed images: an array for `rows.images`, a `tf.data` dataset for files."""
        if rows.files is not None:
            return self.dataset(rows.files, batch_size=256)
        return self.transform_arrays(rows.images)

    def input_schema(self):
        return {"images": self.get_state()}

    # --------------------------------------------------------------- arrays
    def fit_arrays(self, images):
        """Learns channels and pixel scale from an array of images.

        Returns:
            self.
        """
        images = as_image_array(images, "X")
        largest = max(*images.shape[1:3], MIN_AUTO_SIDE)
        self._set_auto_size(images.shape[1], images.shape[2], largest=largest)
        self.channels_ = 1 if images.shape[-1] == 1 else 3
        self.pixel_scale_ = (
            1.0 if images.dtype != np.uint8 and float(images.max()) <= 1.5 else 255.0
        )
        return self

    def fit_files(self, paths):
        """Learns channels from the first readable file; files are always 0-255.

        Returns:
            self.
        """
        import tensorflow as tf

        shapes = [
            tf.io.decode_image(tf.io.read_file(p), expand_animations=False).shape
            for p in paths[:20]
        ]
        heights, widths, channels = zip(*shapes, strict=True)
        self._set_auto_size(np.median(heights), np.median(widths), largest=MAX_AUTO_SIDE)
        self.channels_ = 1 if all(c == 1 for c in channels) else 3
        self.pixel_scale_ = 255.0
        return self

    def transform_arrays(self, images, batch_size=2048):
        """Scales, converts channels and resizes an array of images.

        Returns:
            float32 array `(n, height, width, channels_)`.
        """
        import tensorflow as tf

        images = as_image_array(images, "X")
        scale = 255.0 if images.dtype == np.uint8 else self.pixel_scale_
        out = np.empty((len(images), *self.image_size, self.channels_), dtype=np.float32)
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size].astype(np.float32) / scale
            batch = self._match_channels(tf.constant(batch))
            if tuple(batch.shape[1:3]) != self.image_size:
                batch = tf.image.resize(batch, self.image_size, antialias=True)
            out[start : start + batch_size] = np.clip(batch.numpy(), 0.0, 1.0)
        return out

    def _match_channels(self, batch):
        import tensorflow as tf

        if batch.shape[-1] == 4:
            batch = batch[..., :3]
        if self.channels_ == 3 and batch.shape[-1] == 1:
            return tf.repeat(batch, 3, axis=-1)
        if self.channels_ == 1 and batch.shape[-1] == 3:
            return tf.image.rgb_to_grayscale(batch)
        return batch

    # ---------------------------------------------------------------- files
    def dataset(self, paths, targets=(), batch_size=64, shuffle=False, seed=0):
        """A `tf.data` pipeline over image files.

        Args:
            paths: file paths.
            targets: arrays aligned with `paths` (labels, weights) to batch with the images.
            batch_size: images per batch.
            shuffle: reshuffle the file order every epoch.
            seed: shuffling seed.

        Returns:
            A dataset of image batches, or of `(images, *targets)` batches.
        """
        import tensorflow as tf

        data = tf.data.Dataset.from_tensor_slices(list(paths))
        if targets:
            slices = [tf.data.Dataset.from_tensor_slices(t) for t in targets]
            data = tf.data.Dataset.zip((data, *slices))
        if shuffle:
            data = data.shuffle(min(len(paths), 10_000), seed=seed, reshuffle_each_iteration=True)

        def load(path, *rest):
            image = tf.io.decode_image(
                tf.io.read_file(path), channels=0, expand_animations=False, dtype=tf.float32
            )
            image = self._match_channels_graph(image)
            image = tf.image.resize(image, self.image_size, antialias=True)
            image = tf.ensure_shape(image, (*self.image_size, self.channels_))
            return (image, *rest) if rest else image

        data = data.map(load, num_parallel_calls=tf.data.AUTOTUNE)
        return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    def _match_channels_graph(self, image):
        """Channel conversion for one image whose channel count is known only at run time."""
        import tensorflow as tf

        image = image[..., :3]
        channels = tf.shape(image)[-1]
        if self.channels_ == 3:
            return tf.cond(channels == 1, lambda: tf.repeat(image, 3, axis=-1), lambda: image)
        return tf.cond(channels == 3, lambda: tf.image.rgb_to_grayscale(image), lambda: image)

    # ---------------------------------------------------------------- state
    def get_state(self):
        """The fitted state as a JSON-serialisable dict."""
        return {
            "image_size": list(self.image_size),
            "channels": self.channels_,
            "pixel_scale": self.pixel_scale_,
        }

    @classmethod
    def from_state(cls, state):
        """Rebuilds a fitted preprocessor from `get_state()` output."""
        pre = cls(tuple(state["image_size"]))
        pre.channels_ = int(state["channels"])
        pre.pixel_scale_ = float(state["pixel_scale"])
        return pre


def check_image_size(image_size):
    """Validates `(height, width)` (or `"auto"`); returns a tuple of ints (or `"auto"`)."""
    if image_size == "auto":
        return image_size
    if (
        not isinstance(image_size, list | tuple)
        or len(image_size) != 2
        or not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in image_size)
        or min(image_size) < 1
    ):
        raise ValueError(
            "`image_size` must be 'auto' or two positive integers (height, width). "
            f"Received: {image_size!r}"
        )
    return int(image_size[0]), int(image_size[1])


def as_image_array(images, name):
    """Validates an image array; returns it with a channel axis, `(n, h, w, c)`."""
    if isinstance(images, list | tuple):
        shapes = {np.shape(image) for image in images}
        if len(shapes) > 1:
            raise ValueError(
                f"`{name}` holds images of different shapes {sorted(shapes)[:3]}; pass an array "
                "of one shape, or files, which are resized."
            )
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(
            f"`{name}` must be images of shape (n, height, width) or (n, height, width, "
            f"channels). Received an array with {images.ndim} dimensions, shape {images.shape}."
        )
    if images.ndim == 3:
        images = images[..., None]
    if images.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"`{name}` must have 1, 3 or 4 channels (last axis). Received shape {images.shape}."
        )
    if len(images) == 0:
        raise ValueError(f"`{name}` holds no images.")
    if images.dtype.kind not in "uif" or images.dtype == bool:
        raise ValueError(f"`{name}` must hold numbers. Received dtype {images.dtype}.")
    if min(images.shape[1:3]) == 0:
        raise ValueError(
            f"`{name}` must hold images of at least 1 x 1 pixels. Received shape {images.shape}."
        )
    limit = np.finfo(np.float32).max
    # Pixels are read as float32; NaN would reach the model and beyond-range values overflow.
    # min and max reduce without a copy of a large array; NaN propagates into both.
    if images.dtype.kind == "f" and not (-limit <= images.min() and images.max() <= limit):
        with np.errstate(invalid="ignore"):
            bad = ~(np.abs(images) <= limit)
        if bad.any():
            raise ValueError(
                f"`{name}` has {int(bad.sum())} pixel values that are NaN, infinite or beyond "
                f"float32's range, e.g. {images[bad][:3].tolist()}; expected finite numbers "
                "(0-255, or 0-1 for float images)."
            )
    return images


def scan_folder(folder):
    """Lists a folder with one sub-folder per class.

    Returns:
        `(paths, labels, classes)`: file paths, their class names, sorted class names.

    Raises:
        ValueError: if the folder has no images or a single class.
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Image folder {folder!r} does not exist.")
    classes = sorted(
        d
        for d in os.listdir(folder)
        if os.path.isdir(os.path.join(folder, d)) and not d.startswith(".")
    )
    paths, labels = [], []
    for name in classes:
        for file in sorted(os.listdir(os.path.join(folder, name))):
            if file.lower().endswith(IMAGE_EXTENSIONS):
                paths.append(os.path.join(folder, name, file))
                labels.append(name)
    used = sorted(set(labels))
    if not paths:
        raise ValueError(
            f"Image folder {folder!r} holds no images; expected one sub-folder per class with "
            f"{', '.join(IMAGE_EXTENSIONS)} files."
        )
    if len(used) < 2:
        raise ValueError(
            f"Image folder {folder!r} has images of a single class ({used}); a classifier needs "
            "at least two class sub-folders."
        )
    return paths, np.asarray(labels, dtype=object), used


def readable_files(paths):
    """Keeps the files that decode as images; warns naming the ones skipped.

    Returns:
        Boolean mask over `paths`.

    Raises:
        ValueError: if no file is readable.
    """
    import tensorflow as tf

    ok = np.ones(len(paths), dtype=bool)
    for i, path in enumerate(paths):
        try:
            data = tf.io.read_file(path)
            tf.io.decode_image(data, expand_animations=False)
            if not _complete(path, data.numpy()):
                raise ValueError("truncated")
        except (tf.errors.OpError, ValueError):
            ok[i] = False
    if not ok.any():
        raise ValueError(f"None of the {len(paths)} image files could be read, e.g. {paths[:3]}.")
    if not ok.all():
        skipped = [p for p, good in zip(paths, ok, strict=True) if not good]
        warnings.warn(
            f"Skipped {len(skipped)} unreadable or truncated image file(s): {skipped[:5]}"
            + (" ..." if len(skipped) > 5 else ""),
            UserWarning,
            stacklevel=3,
        )
    return ok


def _complete(path, data):
    """Whether a PNG or JPEG file ends with its end marker (decoders accept some truncations)."""
    lower = path.lower()
    if lower.endswith(".png"):
        return data.rstrip(b"\x00")[-8:-4] == b"IEND"
    if lower.endswith((".jpg", ".jpeg")):
        return data.rstrip(b"\x00")[-2:] == b"\xff\xd9"
    return True


def list_images(folder):
    """Image files of a folder, in the order predictions use.

    A folder of class sub-folders lists its sub-folders' images (sorted by
    class, then file name); any other folder lists its own images by name.
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Image folder {folder!r} does not exist.")
    entries = sorted(os.listdir(folder))
    subfolders = [e for e in entries if os.path.isdir(os.path.join(folder, e))]
    if subfolders:
        return [
            os.path.join(folder, d, f)
            for d in subfolders
            for f in sorted(os.listdir(os.path.join(folder, d)))
            if f.lower().endswith(IMAGE_EXTENSIONS)
        ]
    files = [os.path.join(folder, f) for f in entries if f.lower().endswith(IMAGE_EXTENSIONS)]
    if not files:
        raise ValueError(f"Image folder {folder!r} holds no images.")
    return files


def _readable(files, y, reset):
    """At fit, drops unreadable files (with a warning); at predict, refuses them.

    Returns:
        `(files, y)` without the unreadable files.
    """
    ok = readable_files(files)
    if not reset and not ok.all():
        bad = [f for f, good in zip(files, ok, strict=True) if not good]
        raise ValueError(f"Cannot predict unreadable image files {bad[:5]}.")
    kept = [f for f, good in zip(files, ok, strict=True) if good]
    if y is None:
        return kept, None
    y = np.asarray(y)
    if len(y) != len(files):
        raise ValueError(
            f"`X` and `y` have different lengths: {len(files)} images, {len(y)} labels."
        )
    return kept, y[ok]
