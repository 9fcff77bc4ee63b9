"""Medical domain: diagnosis prediction from patient tables."""

from domains.medical.diagnosis_predictor import DiagnosisPredictor

__all__ = ["DiagnosisPredictor"]
