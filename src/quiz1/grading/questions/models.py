"""Q4's and Q5's models, run apart: the two questions share one evaluation of what the run pickled (one pair of
fresh kernels for both), on inputs the grader draws after the run (``reference.q4_points``, ``q5_points``)."""
from __future__ import annotations

import secrets

import numpy as np

from ..probes import run_models_apart
from ..reference import q4_points, q5_points


def q5_inputs(x, at=None) -> dict:
    """The points ``at`` (m,) (default: the data's x (n,)) as a student's Q5 model is fed them, (m, 1) each: as given,
    and as the common input normalisations, with the data's own statistics (a model trained on normalised x is
    right on those)."""
    at = (x if at is None else at)[:, None]                             # (m, 1)
    lo, hi = x.min(), x.max()
    return {"x": at, "x standardised": (at - x.mean()) / (x.std() or 1.0),
            "x scaled to [0, 1]": (at - lo) / ((hi - lo) or 1.0),
            "x scaled to [-1, 1]": 2 * (at - lo) / ((hi - lo) or 1.0) - 1}


def evaluated(ctx) -> dict:
    """The Q4 and Q5 models the run pickled (``ctx.exports``: question name -> path), evaluated once in fresh kernels
    on inputs drawn now (``probes.run_models_apart``), kept in ``ctx.shared``: {"q4", "q5", "notes", "failed",
    "started", "seconds"} plus "q4_points" ({file: (P, shipped)}) and "q5_x" ((x (m,), kind (m,)),
    ``reference.q5_points``)."""
    if "models" not in ctx.shared:
        ref = ctx.ref
        rng = np.random.default_rng(secrets.randbits(64))
        points = q4_points(ref, rng)
        xq = q5_points(ref.q5_sets[0], rng) if ref.q5_sets is not None else None
        exports = {name.lower(): path for name, path in ctx.exports.items()}
        got = run_models_apart(exports, points, q5_inputs(ref.q5_sets[0], xq[0]) if xq is not None else {},
                               ctx.executor)
        ctx.shared["models"] = {**got, "q4_points": points, "q5_x": xq}
    return ctx.shared["models"]
