"""What quiz1 computes from the data a submission is graded on, shared by the question modules (each question's own
``reference(root, given)`` reads its data and calls these): Q2's readings of Figure 1, Q4's exact charts and the new
points of their manifolds, the x the Q5 models run at, Q7's gradients; and ``Given``, what the TA gave the grader.

Everything a question reads is read *before* the student's notebook runs: the notebook may rewrite its data files or
its ``model.pth``, and must not change what it is graded against.
"""
from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np

EVAL_INPUT = (4.0, 5.0, 6.0)


@dataclass(frozen=True)
class Given:
    """What the TA gave the grader that a question's reference (or its variant data) may need."""

    model: Path | None = None      # the TA's M (--model); None: the zip's own model.pth
    trust_model: bool = False      # load a whole pickled model (unpickling runs its code), not weights only
    mnist: Path | None = None      # MNIST IDX folder a variant's digits are drawn from (None: scikit-learn's digits)


@dataclass(frozen=True)
class Q2Reading:
    """One program torch draws as Figure 1: its output at [4, 5, 6] and how it differs from the natural reading."""

    output: tuple
    reading: str


Q4_FILES = {"Q1Q4I1.txt": 10_000, "Q1Q4I2.npz": 10_000, "Q1Q4I3.npz": 100_000}   # file -> the quiz's parameter limit
Q4_SAMPLE = 1000
Q4_FRESH = (2000, 20_000)   # new points of each manifold the grader draws: twice the file's, within these bounds
_CHARTS: dict = {}          # the cloud's bytes -> its exact chart (a batch grades many zips on the same data)
EXACT_REL = 1e-5   # Q4: relative RMSE of an exact round trip (float32 round-off through a few dozen operations)


def exact_chart(X):
    """quiz1's exact chart (``solvers.encoders.find_chart``) of the cloud X (n, D) to D - 1 dimensions, when its round
    trip is exact on every point, else None; cached by the cloud's bytes."""
    from ..solvers.encoders import find_chart, report

    X = np.ascontiguousarray(X, dtype=float)
    key = (hashlib.sha1(X.tobytes()).hexdigest(), X.shape)
    if key not in _CHARTS:
        try:
            chart = find_chart(X, X.shape[1] - 1, max_rows=Q4_SAMPLE)
            _CHARTS[key] = chart if chart is not None and report(chart, X).exact else None
        except (np.linalg.LinAlgError, ValueError, IndexError):
            _CHARTS[key] = None
    return _CHARTS[key]


def manifold_points(chart, X, n: int, rng) -> np.ndarray:
    """``n`` new points of the manifold ``chart`` describes, where the data X (m, D) lies: codes drawn uniformly in the
    box the data's codes span, decoded. Returns (n, D)."""
    Z = chart.encode(X)                                                   # (m, D - 1)
    return chart.decode(rng.uniform(Z.min(0), Z.max(0), size=(n, Z.shape[1])))


def q4_points(clouds: dict, charts: dict, sizes: dict, rng) -> dict:
    """For each Q4 data file of ``clouds`` ({file: (n, D) the sample of its points}): (P (k, D), shipped (k,) bool),
    the sample and new points of its manifold (``manifold_points`` on ``charts[file]``, twice as many as the file
    holds, ``sizes[file]``, within ``Q4_FRESH``), shuffled together; only the sample when quiz1 found no exact chart
    of the file."""
    out = {}
    for name, X in clouds.items():
        chart = charts.get(name)
        n = int(np.clip(2 * sizes.get(name, len(X)), *Q4_FRESH))
        new = manifold_points(chart, X, n, rng) if chart is not None else np.empty((0, X.shape[1]))
        P, shipped = np.r_[X, new], np.r_[np.ones(len(X), bool), np.zeros(len(new), bool)]
        order = rng.permutation(len(P))
        out[name] = (P[order], shipped[order])
    return out


def q5_points(x, rng, between: int = 300, beyond: int = 20, margin: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Where the Q5 models run: the data's x (n,), the midpoints of neighbouring sorted x, ``between`` x drawn
    uniformly inside the data's range and ``beyond`` on each side within ``margin`` of the range outside it.
    Returns (x (m,), kind (m,): 0 data, 1 midpoint, 2 drawn inside, 3 beyond)."""
    xs = np.unique(x)
    lo, hi = float(xs[0]), float(xs[-1])
    span = (hi - lo) or 1.0
    parts = [(x, 0), ((xs[1:] + xs[:-1]) / 2, 1), (rng.uniform(lo, hi, between), 2),
             (np.r_[rng.uniform(lo - margin * span, lo, beyond), rng.uniform(hi, hi + margin * span, beyond)], 3)]
    return np.concatenate([p for p, _ in parts]), np.concatenate([np.full(len(p), k) for p, k in parts])


@functools.lru_cache(maxsize=4)
def q2_readings(constant: float = 5.0) -> tuple[tuple, tuple]:
    """Every distinct output at [4, 5, 6] of the programs drawn as Figure 1, and the nodes where [7, 11, 17] holds."""
    from ..data.loaders import figure1_dot
    from ..solvers.compute_graph import all_programs, parse_torchviz, search

    graph = parse_torchviz(figure1_dot(), "Figure 1")
    readings, seen = [], set()
    for out, choice in all_programs(graph, EVAL_INPUT, constant):
        key = tuple(np.round(out, 6))
        if key in seen:
            continue
        seen.add(key)
        changed = [f"{node} as `{form.template.format(p='p', q='q', c=f'{constant:g}')}`"
                   for node, form in choice.items() if form is not None]
        readings.append(Q2Reading(tuple(float(v) for v in out),
                                  "the natural reading (operands in the drawn order)" if not changed
                                  else "the reading with " + ", ".join(changed)))
    readings.sort(key=lambda r: r.reading != "the natural reading (operands in the drawn order)")
    res = search(graph, [1, 2, 3], [7, 11, 17], list(EVAL_INPUT), constant, 0.5)
    claim = tuple((f"{c['node']} ({c['label']})", tuple(e)) for c in res.claim_nodes for e in c["eval_outputs"])
    return tuple(readings), claim


def q7_expected(xinits) -> dict:
    """xinit value -> (xinit.grad after the first pass, after the second) of the quiz's main block with quiz1's fixed
    class: 2 x1 (1 + 2 x0) with x1 = x0 + x0^2 + 1, then twice that (gradients accumulate)."""
    from ..solvers.double_backward import GFixed, run_quiz_main

    out = {}
    for v in xinits:
        r = run_quiz_main(GFixed, v)
        out[float(v)] = (r.grad_after_first[0], r.grad_after_second[0])
    return out


def draw_xinits() -> tuple:
    """Where Q7 is checked: the quiz's xinit = 1 and two values the notebook cannot know in advance."""
    rng = secrets.SystemRandom()
    return (1.0, round(rng.uniform(0.3, 0.9), 4), round(rng.uniform(1.1, 2.5), 4))
