"""Medical domain: diagnosis from patient tables and dated visit codes; survival after diagnosis."""

from domains.medical.diagnosis_predictor import DiagnosisPredictor
from domains.medical.patient_split import patient_split
from domains.medical.prediction_task import PredictionTask, make_prediction_task
from domains.medical.sequence_diagnosis_predictor import SequenceDiagnosisPredictor
from domains.medical.survival_predictor import SurvivalPredictor

__all__ = [
    "DiagnosisPredictor",
    "PredictionTask",
    "SequenceDiagnosisPredictor",
    "SurvivalPredictor",
    "make_prediction_task",
    "patient_split",
]
