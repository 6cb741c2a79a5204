"""quiz1's own answers for the data inside a submission (so another year's data is graded against its own answers).

Everything here is read *before* the student's notebook runs: the notebook may
rewrite its data files or its ``model.pth``, and must not change what it is
graded against.
"""
from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .running.layout import find_data_file

EVAL_INPUT = (4.0, 5.0, 6.0)


@dataclass(frozen=True)
class Q2Reading:
    """One program torch draws as Figure 1: its output at [4, 5, 6] and how it differs from the natural reading."""

    output: tuple
    reading: str


@dataclass(frozen=True)
class Reference:
    """Reference answers; a field is None (with the reason in ``missing``) when the data for it is absent or bad."""

    q1_mean: float | None
    q1_total: float | None
    q1_per_sample: tuple | None    # (N,) the per-sample losses of equation 2
    q2_readings: tuple             # Q2Reading, the natural reading first
    q2_claim_nodes: tuple          # (node label, output at [4, 5, 6]) where the statement's claim can hold
    q6_images: dict                # "I0"/"I1" -> (28, 28) uint8
    q6_model: object | None        # the submission's model (CPU, eval), loaded safely
    q7_grads: tuple                # xinit.grad after each pass of the fixed quiz code
    missing: dict                  # "Q1"/"Q6 model"/... -> one sentence
    q7_grads_at: dict = field(default_factory=dict)   # xinit value -> (grad after pass 1, after pass 2), fixed class
    q4_clouds: dict = field(default_factory=dict)     # data file -> (n, D) the sample the Q4 probe runs on
    q5_sets: tuple | None = None                      # (x (n,), ab (m, 2)) of xy.npz and ab.npz
    q4_charts: dict = field(default_factory=dict)     # data file -> quiz1's exact chart of it (solvers.encoders), or
    #                                                   None: where the grader draws new points of its manifold
    q4_sizes: dict = field(default_factory=dict)      # data file -> how many points the file holds


Q4_FILES = {"Q1Q4I1.txt": 10_000, "Q1Q4I2.npz": 10_000, "Q1Q4I3.npz": 100_000}   # file -> the quiz's parameter limit
Q4_SAMPLE = 1000
Q4_FRESH = (2000, 20_000)   # new points of each manifold the grader draws: twice the file's, within these bounds
_CHARTS: dict = {}          # the cloud's bytes -> its exact chart (a batch grades many zips on the same data)
EXACT_REL = 1e-5   # Q4: relative RMSE of an exact round trip (float32 round-off through a few dozen operations)


def model_data(root: Path, missing: dict | None = None) -> dict:
    """The Q4 point clouds (at most ``Q4_SAMPLE`` evenly spaced points each) and the Q5 sets below ``root``, read
    before the notebook runs: {"q4_clouds": {file: (n, D)}, "q5_sets": (x (n,), ab (m, 2)) or None}."""
    from ..data.loaders import load_cloud, load_pair_set

    missing = {} if missing is None else missing
    clouds, charts, sizes = {}, {}, {}
    for name in Q4_FILES:
        p = find_data_file(root, name)
        try:
            if p is not None:
                X = load_cloud(p)
                clouds[name] = X[np.linspace(0, len(X) - 1, min(len(X), Q4_SAMPLE)).astype(int)]
                charts[name], sizes[name] = exact_chart(X), len(X)
        except ValueError as e:
            missing[f"Q4 {name}"] = str(e).replace(str(root) + "/", "")
    sets = None
    xy, ab = find_data_file(root, "xy.npz"), find_data_file(root, "ab.npz")
    try:
        if xy is not None and ab is not None:
            sets = (load_pair_set(xy, "xy")[0], load_pair_set(ab, "ab").T)
    except ValueError as e:
        missing["Q5"] = str(e).replace(str(root) + "/", "")
    return {"q4_clouds": clouds, "q5_sets": sets, "q4_charts": charts, "q4_sizes": sizes}


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


def q4_points(ref: Reference, rng) -> dict:
    """For each Q4 data file: (P (k, D), shipped (k,) bool): the sample of the file's points and new points of its
    manifold (``manifold_points``, twice as many as the file holds within ``Q4_FRESH``), shuffled together; only
    the sample when quiz1 found no exact chart of the file."""
    out = {}
    for name, X in ref.q4_clouds.items():
        chart = ref.q4_charts.get(name)
        n = int(np.clip(2 * ref.q4_sizes.get(name, len(X)), *Q4_FRESH))
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


def data_answers(root: Path, missing: dict | None = None) -> dict:
    """The answers that depend on the data files below ``root`` only (Q1 and the Q6 images), as ``Reference`` fields;
    what cannot be read goes into ``missing``."""
    from ..data.loaders import load_image, load_q1
    from ..solvers.softmax_ce import softmax_cross_entropy

    missing = {} if missing is None else missing
    mean = total = per_sample = None
    data, labels = find_data_file(root, "data.txt"), find_data_file(root, "labels.txt")
    if data is None or labels is None:
        missing["Q1"] = "Q_1/data.txt or Q_1/labels.txt is not in the zip, so there is no reference to check against"
    else:
        try:
            r = softmax_cross_entropy(*(lambda d: (d.logits, d.labels))(load_q1(data, labels)))
            mean, total, per_sample = float(r.mean), float(r.total), tuple(float(v) for v in r.per_sample)
        except ValueError as e:
            missing["Q1"] = f"the Q1 data in the zip cannot be read ({e})"
    images = {}
    for name in ("I0", "I1"):
        p = find_data_file(root, f"{name}.png")
        try:
            if p is not None:
                images[name] = load_image(p)
        except ValueError as e:
            missing[f"Q6 {name}"] = str(e)
    return {"q1_mean": mean, "q1_total": total, "q1_per_sample": per_sample, "q6_images": images}


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


def reference_for(root: Path, trust_model: bool = False, model_path: Path | None = None, xinits=None) -> Reference:
    """quiz1's answers for the submission extracted at ``root`` (never raises on bad data: says what is missing).

    ``model_path``: the TA's M (default: the ``model.pth`` found in ``root``); ``xinits``: where Q7 is checked
    (default: ``draw_xinits``)."""
    missing = {}
    answers = data_answers(root, missing)
    model = None
    pth = Path(model_path) if model_path is not None else find_data_file(root, "model.pth")
    if pth is None:
        missing["Q6 model"] = "no Q_6/model.pth in the zip to classify the images with"
    else:
        from ..solvers.mnist_model import load_model

        try:
            model = load_model(pth, trust_pickle=trust_model)
        except ValueError as e:
            missing["Q6 model"] = (str(e).replace(str(root) + "/", "")
                                   if "unpickling" not in str(e) else
                                   "Q_6/model.pth is a whole pickled model; unpickling runs its code, so it is loaded "
                                   "only with --trust-model")
        except Exception as e:  # noqa: BLE001 -- a student's file must not stop the grading
            missing["Q6 model"] = f"Q_6/model.pth cannot be loaded ({e.__class__.__name__})"
    at = q7_expected(sorted({1.0, *map(float, draw_xinits() if xinits is None else xinits)}))
    readings, claim = q2_readings()
    return Reference(answers["q1_mean"], answers["q1_total"], answers["q1_per_sample"], readings, claim,
                     answers["q6_images"], model, at[1.0], missing, at, **model_data(root, missing))
