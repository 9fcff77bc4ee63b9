"""Fast inference: a fitted model called through one traced graph."""

from core.inference.inference_function import (
    INFERENCE_CHUNK,
    InferenceFunction,
    input_structure,
)

__all__ = ["INFERENCE_CHUNK", "InferenceFunction", "input_structure"]
