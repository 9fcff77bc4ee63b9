"""Vision domain: image classification from arrays or folders."""

from core.preprocessing.image_preprocessor import list_images
from domains.vision.image_classifier import ImageClassifier

__all__ = ["ImageClassifier", "list_images"]
