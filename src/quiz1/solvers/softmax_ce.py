"""Q1: softmax and cross-entropy from scratch, exact for any finite logits.

numpy only, as the quiz demands (no scipy, no torch). The cells between the
``# %%`` markers are copied verbatim into the submission notebook.
"""
# %% imports
from dataclasses import dataclass

import numpy as np


# %% softmax and cross-entropy
@dataclass(frozen=True)
class SoftmaxCEResult:
    """p ``(N, M)``, log p ``(N, M)``, per-sample loss ``(N,)``, their mean and total."""

    p: np.ndarray
    log_p: np.ndarray
    per_sample: np.ndarray
    mean: float
    total: float


def log_softmax(z):
    """Row-wise log-softmax, stable for any finite logits.

    log p_i = (z_i - m) - log sum_j exp(z_j - m),  m = max_j z_j

    Parameters
    ----------
    z : array-like, shape (N, M)
        Logits, finite.

    Returns
    -------
    log_p : ndarray, shape (N, M)
    """
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] == 0:
        raise ValueError(f"logits should be a 2-D array (N samples x M classes) but have shape {z.shape}")
    if not np.isfinite(z).all():
        raise ValueError("logits should be finite but contain NaN or infinity")
    m = z.max(axis=1, keepdims=True)                  # (N, 1): the row maximum
    shifted = z - m                                   # (N, M): every entry <= 0, so exp <= 1
    lse = np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (N, 1): sum >= 1, log >= 0
    return shifted - lse


def softmax_cross_entropy(z, y):
    """Softmax of the logits and the cross-entropy against (one-hot or soft) labels.

    p_i = exp(z_i) / sum_j exp(z_j);  L_n = -sum_i y_ni log p_ni

    Parameters
    ----------
    z : array-like, shape (N, M)
        Logits, finite.
    y : array-like, shape (N, M)
        Labels, non-negative (one-hot in the quiz).

    Returns
    -------
    SoftmaxCEResult
        ``p``, ``log_p``, ``per_sample`` (N,), ``mean`` and ``total`` of the per-sample losses.
    """
    log_p = log_softmax(z)                            # (N, M)
    y = np.asarray(y, dtype=np.float64)
    if y.shape != log_p.shape:
        raise ValueError(f"labels should have the logits' shape {log_p.shape} but have shape {y.shape}")
    if not np.isfinite(y).all() or (y < 0).any():
        raise ValueError("labels should be finite and non-negative")
    # only classes with y > 0 contribute: 0 * log p must stay 0 even where p underflows to 0
    per_sample = -np.where(y > 0, y * log_p, 0.0).sum(axis=1)  # (N,)
    return SoftmaxCEResult(
        p=np.exp(log_p),
        log_p=log_p,
        per_sample=per_sample,
        mean=float(per_sample.mean()),
        total=float(per_sample.sum()),
    )
