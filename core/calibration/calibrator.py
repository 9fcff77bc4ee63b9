"""The base of the post-hoc calibrators: a checked mode, `fit`/`transform`, a JSON state."""

import abc

MODES = ("binary", "multiclass", "multilabel")


class Calibrator(abc.ABC):
    """Maps a model's probabilities to calibrated ones, fitted on held-out data.

    Subclasses set `method` (the key of `CALIBRATORS`), fit their
    parameters in `fit`, and rebuild them in `from_state`.

    Args:
        mode: "binary" (probabilities `(n, 2)`), "multiclass" `(n, k)` or
            "multilabel" `(n, k)`.
    """

    method = None

    def __init__(self, mode):
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of {MODES}. Received: mode={mode!r}")
        self.mode = mode

    @abc.abstractmethod
    def fit(self, proba, y):
        """Fits the calibration on held-out probabilities and their labels.

        Args:
            proba: uncalibrated probabilities, in `predict_proba`'s layout.
            y: class indices `(n,)`, or a 0/1 matrix `(n, k)` for multilabel.

        Returns:
            self.
        """

    @abc.abstractmethod
    def transform(self, proba):
        """Calibrated probabilities, in the layout they came in."""
