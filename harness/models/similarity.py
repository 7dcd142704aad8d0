"""Cosine similarity of embedding pairs: the score of a bi-encoder (pure numpy; shared by models and metrics)."""

from __future__ import annotations

import numpy as np


def cosine_scores(e1: np.ndarray, e2: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two embedding matrices."""
    n1 = np.linalg.norm(e1, axis=1)
    n2 = np.linalg.norm(e2, axis=1)
    return (np.einsum("ij,ij->i", e1, e2) / (n1 * n2)).astype(np.float64)
