"""Text generation helpers: next-token choice."""

from core.generation.token_sampling import check_sampling_args, next_token

__all__ = ["check_sampling_args", "next_token"]
