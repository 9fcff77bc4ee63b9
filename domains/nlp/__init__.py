"""NLP domain: text classification with pretraining, and small GPT-style generation."""

from domains.nlp.text_classifier import TextClassifier
from domains.nlp.text_generator import TextGenerator

__all__ = ["TextClassifier", "TextGenerator"]
