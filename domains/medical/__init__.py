"""Medical domain: diagnosis prediction from patient tables and from dated visit codes."""

from domains.medical.diagnosis_predictor import DiagnosisPredictor
from domains.medical.patient_split import patient_split
from domains.medical.prediction_task import PredictionTask, make_prediction_task
from domains.medical.sequence_diagnosis_predictor import SequenceDiagnosisPredictor

__all__ = [
    "DiagnosisPredictor",
    "PredictionTask",
    "SequenceDiagnosisPredictor",
    "make_prediction_task",
    "patient_split",
]
