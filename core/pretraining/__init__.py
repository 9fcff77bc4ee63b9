"""Self-supervised objectives: masked tokens, next token."""

from core.pretraining.masked_tokens import mask_tokens

__all__ = ["mask_tokens"]
