"""quiz1's own answers for the data inside a submission (so another year's data is graded against its own answers).

Everything here is read *before* the student's notebook runs: the notebook may
rewrite its data files or its ``model.pth``, and must not change what it is
graded against.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .layout import find_data_file

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
    q2_readings: tuple             # Q2Reading, the natural reading first
    q2_claim_nodes: tuple          # (node label, output at [4, 5, 6]) where the statement's claim can hold
    q6_images: dict                # "I0"/"I1" -> (28, 28) uint8
    q6_model: object | None        # the submission's model (CPU, eval), loaded safely
    q7_grads: tuple                # xinit.grad after each pass of the fixed quiz code
    missing: dict                  # "Q1"/"Q6 model"/... -> one sentence


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


def reference_for(root: Path, trust_model: bool = False) -> Reference:
    """quiz1's answers for the submission extracted at ``root`` (never raises on bad data: says what is missing)."""
    from ..data.loaders import load_image, load_q1
    from ..solvers.double_backward import GFixed, run_quiz_main
    from ..solvers.softmax_ce import softmax_cross_entropy

    missing = {}
    mean = total = None
    data, labels = find_data_file(root, "data.txt"), find_data_file(root, "labels.txt")
    if data is None or labels is None:
        missing["Q1"] = "Q_1/data.txt or Q_1/labels.txt is not in the zip, so there is no reference to check against"
    else:
        try:
            r = softmax_cross_entropy(*(lambda d: (d.logits, d.labels))(load_q1(data, labels)))
            mean, total = float(r.mean), float(r.total)
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
    model = None
    pth = find_data_file(root, "model.pth")
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
    fixed = run_quiz_main(GFixed)
    readings, claim = q2_readings()
    return Reference(mean, total, readings, claim, images, model,
                     (fixed.grad_after_first[0], fixed.grad_after_second[0]), missing)
