"""Rows for the multimodal table tests: a note and a scan, each telling the label."""

import numpy as np
import pandas as pd
from PIL import Image

TINY = {"embedding_dim": 4, "hidden_units": (8,), "batch_size": 32, "random_state": 0}
SYMPTOMS = ["pain", "cough", "fever", "rash", "fine", "tired", "stable", "dizzy"]


def write_scan(path, bright):
    """Stripes across (`bright`) or down: a pattern a CNN reads, whatever the exposure."""
    pixels = np.full((16, 16), 40, np.uint8)
    if bright:
        pixels[::4, :] = 220
    else:
        pixels[:, ::4] = 220
    Image.fromarray(pixels).save(path)


def make_table(folder):
    """Rows whose label shows in the note (a word) and in the scan (stripes across)."""
    rng = np.random.default_rng(0)
    n = 160
    y = rng.integers(0, 2, n)
    paths = []
    for i in range(n):
        paths.append(str(folder / f"scan_{i}.png"))
        write_scan(paths[-1], bright=y[i] == 1)
    notes = [" ".join(rng.choice(SYMPTOMS, 4)) + (" wheeze" if label else " clear") for label in y]
    X = pd.DataFrame(
        {
            "age": rng.normal(50, 10, n),
            "sex": rng.choice(["F", "M"], n),
            "note": notes,
            "scan": paths,
        }
    )
    X.loc[3, "note"] = None
    X.loc[5, "scan"] = None
    return X, y, folder
