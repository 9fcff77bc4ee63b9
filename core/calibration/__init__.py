"""Post-hoc calibration of predicted probabilities; conformal prediction sets and intervals."""

from core.calibration.calibrator import Calibrator
from core.calibration.conformal_interval import conformal_interval, interval_scores
from core.calibration.isotonic_calibration import IsotonicCalibration
from core.calibration.split_conformal import conformal_threshold, nonconformity_scores
from core.calibration.temperature_scaling import TemperatureScaling

CALIBRATORS = {"temperature": TemperatureScaling, "isotonic": IsotonicCalibration}


def calibrator_from_state(state):
    """Rebuilds a fitted calibrator from its `get_state()` dict."""
    return CALIBRATORS[state["method"]].from_state(state)


__all__ = [
    "CALIBRATORS",
    "Calibrator",
    "IsotonicCalibration",
    "TemperatureScaling",
    "calibrator_from_state",
    "conformal_interval",
    "conformal_threshold",
    "interval_scores",
    "nonconformity_scores",
]
