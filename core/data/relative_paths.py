"""Image paths in a table file, written relative to the file's own folder."""

import os

import pandas as pd

#: The image files a table column may name.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def resolve_image_paths(frame, folder):
    """Makes relative image paths of a table read from `folder` point into that folder.

    A CSV that ships with its images (`sample_data/medical/patients.csv` and
    `xrays/`) names them relative to itself, so the table reads the same
    from any working directory. A string column is resolved when all its
    present values are image file names that exist under `folder`;
    absolute paths and other columns are left alone.

    Args:
        frame: the DataFrame read from a file in `folder`.
        folder: the file's folder.

    Returns:
        The DataFrame, with such columns rewritten (a copy when any is).
    """
    resolved = {}
    for name in frame.columns:
        values = frame[name]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
            continue
        present = [v for v in values.dropna() if v != ""]
        if not present or not all(
            isinstance(v, str)
            and v.lower().endswith(IMAGE_EXTENSIONS)
            and not os.path.isabs(v)
            and os.path.isfile(os.path.join(folder, v))
            for v in present
        ):
            continue
        resolved[name] = values.map(
            lambda v: os.path.join(folder, v) if isinstance(v, str) and v else v
        )
    return frame.assign(**resolved) if resolved else frame
