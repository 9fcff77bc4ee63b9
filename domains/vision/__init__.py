"""Vision domain: image classification from arrays or folders."""

from domains.vision.image_classifier import ImageClassifier, list_images

__all__ = ["ImageClassifier", "list_images"]
