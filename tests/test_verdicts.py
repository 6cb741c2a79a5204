"""Each question's verdict on run records made by hand (issue 35, item 4: tests at the right depth).

No kernel, no sandbox, no notebook run, no training: every ``RunRecord``, probe record, model output and harness
record here is written by hand, and every expected value comes from a reference computed here, independently of
quiz1: the Q1 losses with scipy's ``logsumexp`` from logits chosen here, Figure 1's program at [4, 5, 6] by hand
(and with torch for the probe's graph), the Q3 gradient checked against finite differences of Figure 2's network
written here in numpy, the Q4 round trips, the Q5 curve and the Q6 distances computed here, an M whose reading is
known by construction, and the Q7 gradients of the quiz's class G derived by hand. The verdict asserted is the one a
careful TA gives (two of them, Q6 images shown but not saved and a Q7 fix in the main block, changed the verdicts).

The last part checks the readings every question shares (``Evidence``): a section that raised, a run that stopped,
a section that shows nothing, a value printed outside its section, a value that did not follow the variant data.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from quiz1.grading.evidence import Evidence, Variant
from quiz1.grading.questions import q1, q2, q3, q4, q5, q6, q7
from quiz1.grading.reading.rendered_markdown import read_markdown
from quiz1.grading.reference import Q2Reading
from quiz1.grading.report import CellError
from quiz1.grading.running.execution import Cell, RunRecord
from quiz1.grading.running.kernel import guard

NB = "A0000001X.ipynb"


# --------------------------------------------------------------------------
# hand-made records


def _cell(i, text="", q=1, source="print(x)", *, plots=0, ran=True, error=None, nb=NB) -> Cell:
    return Cell(nb, i, f"In [{i + 1}]", source, frozenset({q}), text, plots, ran, error)


def _err(exception, cell="In [1]", line=None, knock_on=None) -> CellError:
    return CellError(NB, cell, exception, line, knock_on, "student")


def _calls(cells=None, **kw) -> dict:
    """The Q1 call recorder's record: which library functions each cell called (none by default), signed."""
    return {"cells": cells or {}, "tampered": [], "forged": 0, "signed": True, **kw}


def q1_losses(seed: int):
    """Logits (5, 100) and one-hot labels chosen here; the per-sample losses of equation 2 by logsumexp:
    -ln p_y = logsumexp(z) - z_y."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 3.0, (5, 100))
    y = np.eye(100)[rng.integers(0, 100, 5)]
    per = logsumexp(z, axis=1) - (z * y).sum(1)
    return z, y, per


Z, Y, LOSSES = q1_losses(7)
Z_V, Y_V, LOSSES_V = q1_losses(8)          # the variant data


def figure1(a, b, c):
    """Figure 1's program as drawn (constant 5): t1 = 5a, t2 = a/5, out = (t1 t2 + (a + 5) + b - t1) + (t5 + t5/c)
    with t5 = b + t2. Works on floats, numpy arrays and tensors."""
    t1, t2 = a * 5, a / 5
    t5 = b + t2
    return (t1 * t2 + (a + 5) + b - t1) + (t5 + t5 / c)


# by hand at a = b = c = 4, 5, 6:
#   a = 4: t1 = 20, t2 = 0.8; 16 + 9 + 4 - 20 = 9; t5 = 4.8, 4.8 / 4 = 1.2  -> 9 + 6 = 15
#   a = 5: t1 = 25, t2 = 1;   25 + 10 + 5 - 25 = 15; t5 = 6, 6 / 5 = 1.2     -> 15 + 7.2 = 22.2
#   a = 6: t1 = 30, t2 = 1.2; 36 + 11 + 6 - 30 = 23; t5 = 7.2, 7.2 / 6 = 1.2 -> 23 + 8.4 = 31.4
FIG1 = (15.0, 22.2, 31.4)
# the same drawing read with the second division the other way round, c / t5 (torchviz draws both alike):
#   4.8 + 4/4.8, 6 + 5/6, 7.2 + 6/7.2 added to 9, 15, 23
FIG1_C_OVER_T5 = (9 + 4.8 + 4 / 4.8, 15 + 6 + 5 / 6, 23 + 7.2 + 6 / 7.2)


def q7_grads(v: float) -> tuple[float, float]:
    """The quiz's main block with G fixed (a fresh g each call, so G(x) = x^2 + 1), by hand: x1 = v + v^2 + 1,
    L = x1^2, dL/dv = 2 x1 (1 + 2 v); the second pass adds the same again (xinit.grad is never zeroed)."""
    first = 2 * (v + v * v + 1) * (1 + 2 * v)
    return first, 2 * first


def _ref(*, losses=LOSSES, images=None, model=None, missing=None, q4_clouds=None, q5_sets=None) -> dict:
    """Each question's reference, as its module's ``reference`` gives it, from the hand values above; ``missing``:
    "Q1" (no Q1 data) or "Q6 model" (no M) -> why."""
    missing = missing or {}
    at = {v: q7_grads(v) for v in (1.0, 0.5, 2.0)}
    readings = (Q2Reading(FIG1, "the natural reading (operands in the drawn order)"),
                Q2Reading(FIG1_C_OVER_T5, "the reading with div2 as `q / p`"))
    answers = (q1.Answers(float(losses.mean()), float(losses.sum()), tuple(float(v) for v in losses))
               if losses is not None else q1.Answers(None, None, None, missing.get("Q1")))
    x, ab = q5_sets if q5_sets is not None else (None, None)
    return {"Q1": answers, "Q2": q2.Readings(readings, ()), "Q4": q4.Clouds(q4_clouds or {}, {}, {}),
            "Q5": q5.Sets(x, ab), "Q7": q7.Grads(at),
            "Q6": q6.Images(images or {}, model, {k.removeprefix("Q6 "): w for k, w in missing.items() if k[:2] == "Q6"})}


def test_the_hand_references_hold():
    """The references above, checked once more another way: Q7 at xinit = 1 is the quiz's 18 then 36; Figure 1's
    program in numpy gives the hand values; logsumexp agrees with the softmax of equations 1 and 2 written out."""
    assert q7_grads(1.0) == (18.0, 36.0)
    a = np.array([4.0, 5.0, 6.0])
    assert np.allclose(figure1(a, a, a), FIG1)
    p = np.exp(Z) / np.exp(Z).sum(1, keepdims=True)
    assert np.allclose(-(Y * np.log(p)).sum(1), LOSSES)


# --------------------------------------------------------------------------
# Q1: softmax and cross-entropy from scratch


def _q1(cells, ref=None, calls="signed", variant=None):
    rec = RunRecord(cells=cells, kernel={"Q1": _calls() if calls == "signed" else calls})
    return q1.verdict(Evidence(rec, ref or _ref(), variant))


def test_q1_the_mean_or_the_total_printed_is_correct():
    mean, total = LOSSES.mean(), LOSSES.sum()
    v = _q1([_cell(0, f"Average cross-entropy loss: {mean:.6f}", source="print(f'Average cross-entropy loss: {L:.6f}')")])
    assert v.status == "correct" and v.found.startswith(f"mean {mean:.6f}") and v.note is None, v
    v = _q1([_cell(0, f"Total loss = {total:.3f}")])
    assert v.status == "correct" and v.found.startswith("total"), v
    per = "\n".join(f"{x:.5f}" for x in LOSSES)             # every per-sample loss, one a line
    assert _q1([_cell(0, per)]).status == "correct"


def test_q1_softmax_over_the_batch_is_wrong():
    """The usual slip: normalising over the samples (axis 0) instead of the classes."""
    p = np.exp(Z) / np.exp(Z).sum(0, keepdims=True)
    bad = float(-(Y * np.log(p)).sum(1).mean())
    assert abs(bad - LOSSES.mean()) > 0.1 and abs(bad - LOSSES.sum()) > 0.1
    v = _q1([_cell(0, f"Mean CE loss: {bad:.4f}")])
    assert v.status == "wrong" and v.found == f"{bad:.4f}" and "mean" in v.expected, v


def test_q1_a_value_typed_into_the_code_is_wrong():
    mean = f"{LOSSES.mean():.4f}"
    v = _q1([_cell(0, f"loss {mean}", source=f"print('loss', {mean})")])
    assert v.status == "wrong" and "typed into the code" in v.note and mean in v.note, v
    v = _q1([_cell(0, f"loss {mean}", source=f"# the answer was {mean}\nprint('loss', L)")])   # a comment is not code
    assert v.status == "correct", v


def test_q1_a_library_loss_or_no_call_record_is_for_a_human():
    text = f"Mean loss: {LOSSES.mean():.5f}"
    v = _q1([_cell(0, text)], calls=_calls({(NB, 0): ["torch.nn.functional.cross_entropy"]}))
    assert v.status == "unverified" and "F.cross_entropy" in v.note and "from scratch" in v.note, v
    v = _q1([_cell(0, text)], calls=None)
    assert v.status == "unverified" and "did not come back" in v.note, v
    v = _q1([_cell(0, text)], calls=_calls(tampered=["sys.setprofile"]))
    assert v.status == "unverified" and "sys.setprofile" in v.note, v


def test_q1_without_the_data_the_work_is_for_a_human():
    ref = _ref(losses=None, missing={"Q1": "Q_1/data.txt is not in the zip"})
    v = _q1([_cell(0, "Mean loss: 4.5678")], ref=ref)
    assert v.status == "unverified" and v.note == "Q_1/data.txt is not in the zip" and "4.5678" in v.found, v
    assert _q1([], ref=ref).status == "missing"


def test_q1_missing_and_error():
    v = _q1([])
    assert v.status == "missing" and "no section for it" in v.note, v
    v = _q1([_cell(0, "", source="z = load()")])
    assert v.status == "missing" and "shows no output" in v.note, v
    boom = _err("ZeroDivisionError: division by zero", line="p = e / 0")
    v = _q1([_cell(0, "", source="p = e / 0", error=boom)])
    assert v.status == "error" and "ZeroDivisionError" in v.note and f"{NB} In [1]" in v.note, v


# --------------------------------------------------------------------------
# Q2: Figure 1's program, at [4, 5, 6]


def _probe(*outs, tampered=()):
    """What the graph probe sends back: each tensor's autograd graph (walked as the probe walks it) and value."""
    tensors = []
    for name, out in outs:
        nodes, edges = guard.walk(out.grad_fn, tuple(out.shape))
        tensors.append({"name": name, "shape": list(out.shape), "nodes": nodes, "edges": edges,
                        "value": [float(v) for v in out.detach()]})
    return {"tensors": tensors, "tampered": list(tampered), "forged": 0, "signed": True}


def _leaves():
    return [torch.tensor([4.0, 5.0, 6.0], requires_grad=True) for _ in range(3)]


def _q2(cells, probe):
    return q2.verdict(Evidence(RunRecord(cells=cells, kernel={"Q2": probe}), _ref()))


def _shown(values, q=2, i=0, source="print(out)"):
    body = ", ".join(f"{v:.4f}" for v in values)
    return _cell(i, f"tensor([{body}], grad_fn=<AddBackward0>)", q=q, source=source)


def test_q2_figure1_in_torch_printed_is_correct():
    out = figure1(*_leaves())
    assert np.allclose(out.detach().numpy(), FIG1)
    v = _q2([_shown(FIG1)], _probe(("out", out)))
    assert v.status == "correct" and "`out` has Figure 1's autograd graph" in v.note, v
    assert "outside" not in v.note


def test_q2_the_other_reading_of_a_division_is_correct_too():
    a, b, c = _leaves()
    t1, t2 = a * 5, a / 5
    t5 = b + t2
    out = (t1 * t2 + (a + 5) + b - t1) + (t5 + c / t5)             # c / t5: the same drawing
    assert np.allclose(out.detach().numpy(), FIG1_C_OVER_T5)
    v = _q2([_shown(FIG1_C_OVER_T5)], _probe(("out", out)))
    assert v.status == "correct" and "div2 as `q / p`" in v.found, v


def test_q2_the_right_numbers_without_figure1s_graph_are_wrong():
    """Figure 1 computed in numpy: the numbers are right, but no tensor has the graph (not what Q2 asks)."""
    a = np.array([4.0, 5.0, 6.0])
    v = _q2([_cell(0, str(figure1(a, a, a)), q=2, source="OUT = f(a, a, a)\nprint(OUT)")], _probe())
    assert v.status == "wrong" and "no program computes it" in v.note, v


def test_q2_another_program_is_wrong():
    """The last division left out (t5 instead of t5 + t5 / c): by hand 9 + 4.8, 15 + 6, 23 + 7.2."""
    a, b, c = _leaves()
    t1, t2 = a * 5, a / 5
    out = (t1 * t2 + (a + 5) + b - t1) + (b + t2)
    assert np.allclose(out.detach().numpy(), (13.8, 21.0, 30.2))
    v = _q2([_shown((13.8, 21.0, 30.2))], _probe(("out", out)))
    assert v.status == "wrong" and "13.8" in v.found and "[15, 22.2, 31.4]" in v.expected, v


def test_q2_what_needs_a_human():
    out = figure1(*_leaves())
    v = _q2([_shown(FIG1)], None)                                   # the probe never ran
    assert v.status == "unverified" and "probe did not run" in v.note, v
    v = _q2([_cell(0, "done", q=2, source="out = f(a, b, c)")], _probe(("out", out)))
    assert v.status == "unverified" and "does not show it" in v.note, v   # held by the kernel, not shown
    v = _q2([_shown(FIG1)], _probe(("out", out), tampered=["IPython.display.display"]))
    assert v.status == "unverified" and "IPython.display.display" in v.note, v


def test_q2_missing_and_error():
    v = _q2([], _probe())
    assert v.status == "missing" and "no section for it" in v.note, v
    v = _q2([_cell(0, "", q=2, source="out = f(a)", error=_err("TypeError: f() missing 2 required positional "
                                                               "arguments: 'b' and 'c'"))], _probe())
    assert v.status == "error" and "TypeError" in v.note, v


# --------------------------------------------------------------------------
# Q3: the symbolic gradient (Figure 2: f = W1^T x, s = ReLU(f_1) + ReLU(f_2) + W2 . f, L = CE(sigma(s), y))

LHS = r"\frac{\partial \mathcal{L}}{\partial x_i} = "
RIGHT = LHS + r"\left(\sigma(s) - y\right)\sum_{j=1}^{2} W^{(1)}_{ij}\left(\mathbb{1}[f_j > 0] + W^{(2)}_{j1}\right)"
NO_RELU = LHS + r"\left(\sigma(s) - y\right)\sum_{j=1}^{2} W^{(1)}_{ij} W^{(2)}_{j1}"


def _network_loss(x, W1, W2, y):
    f = W1.T @ x                                                   # (2,)
    s = np.maximum(f, 0).sum() + W2 @ f
    p = 1 / (1 + np.exp(-s))
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def _formulas(x, W1, W2, y):
    """The two formulas above, as written, in numpy: (RIGHT, NO_RELU)."""
    f = W1.T @ x
    sig = 1 / (1 + np.exp(-(np.maximum(f, 0).sum() + W2 @ f)))
    return (sig - y) * W1 @ ((f > 0) + W2), (sig - y) * W1 @ W2


def test_q3_the_formulas_against_finite_differences():
    """The reference for the Q3 cases: RIGHT is the gradient of the network in every ReLU region, NO_RELU is not."""
    rng = np.random.default_rng(3)
    regions = set()
    for _ in range(40):
        x, W1, W2, y = rng.normal(size=3), rng.normal(size=(3, 2)), rng.normal(size=2), float(rng.integers(0, 2))
        h = 1e-6
        num = np.array([(_network_loss(x + h * e, W1, W2, y) - _network_loss(x - h * e, W1, W2, y)) / (2 * h)
                        for e in np.eye(3)])
        right, no_relu = _formulas(x, W1, W2, y)
        assert np.allclose(num, right, atol=1e-6)
        regions.add(tuple(W1.T @ x > 0))
        if (W1.T @ x > 0).any():
            assert np.abs(num - no_relu).max() > 1e-2 * np.abs(num).max()
    assert len(regions) == 4


def _q3(markdown: str, *, prose=0, css=False):
    pieces = read_markdown([markdown]) if markdown else []
    run = RunRecord(rendered={3: pieces} if pieces else {},
                    markdown={3: {"prose": prose, "images": 0, "css": css}} if markdown or prose else {})
    return q3.verdict(Evidence(run, _ref()))


def test_q3_the_right_gradient_is_correct():
    v = _q3(f"$${RIGHT}$$")
    assert v.status == "correct" and "equal to the reference" in v.note and "H(f[1])" in v.found, v


def test_q3_the_gradient_without_the_relu_path_is_wrong():
    v = _q3(f"We get\n\n$${NO_RELU}$$")
    assert v.status == "wrong" and "not equal to the reference" in v.note and "H(" not in v.found, v


def test_q3_what_needs_a_human():
    words = "The gradient is sigma of s minus y times the sum over j of the weight times the ReLU slope plus v_j."
    v = _q3(words, prose=len(words))
    assert v.status == "unverified" and "characters of Markdown text" in v.note, v
    v = _q3(f"$${RIGHT}$$", css=True)                      # its own <style>: what the TA sees is not known
    assert v.status == "unverified" and "own CSS" in v.note, v


def test_q3_missing():
    v = _q3("")
    assert v.status == "missing" and "no section for it" in v.note, v


# --------------------------------------------------------------------------
# Q4: exact encoders, run apart on new points of each manifold

CIRCLE, SPHERE = "Q1Q4I1.txt", "Q1Q4I2.npz"


def _circle(t):
    return np.c_[0.5 + 2 * np.cos(t), -1 + 2 * np.sin(t)]


def _sphere(th, ph):
    return 3 * np.c_[np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)]


def _q4_points():
    """The shipped points (200 of each cloud) and, as the grader adds them, new points of the same manifolds."""
    rng = np.random.default_rng(4)
    pts = {}
    for name, draw in ((CIRCLE, lambda n: _circle(rng.uniform(-np.pi, np.pi, n))),
                       (SPHERE, lambda n: _sphere(np.arccos(rng.uniform(-1, 1, n)), rng.uniform(-np.pi, np.pi, n)))):
        P = draw(600)
        shipped = np.arange(600) < 200
        pts[name] = (P, shipped)
    return pts


def _round_trip(name, P):
    """The exact encoder and decoder a student writes for each cloud, in float32 as a torch model computes."""
    P32 = P.astype(np.float32)
    if name == CIRCLE:
        z = np.arctan2(P32[:, 1] + 1, P32[:, 0] - 0.5)                          # 1D code
        return np.c_[0.5 + 2 * np.cos(z), -1 + 2 * np.sin(z)].astype(np.float32).astype(float)
    th, ph = np.arccos(np.clip(P32[:, 2] / 3, -1, 1)), np.arctan2(P32[:, 1], P32[:, 0])   # 2D code
    return _sphere(th, ph).astype(np.float32).astype(float)


def _rel_rmse(R, P):
    return float(np.sqrt(((R - P) ** 2).mean() / P.var()))


def _q4(outputs: dict, params=0, rows="all", cells=()):
    """outputs: file -> the round trip's output on all the points (or the shipped ones, rows="shipped")."""
    pts = _q4_points()
    models = {"q4_points": pts, "q4": {f: [{"name": "enc/dec", "kind": "functions", "params": params, "rows": rows,
                                            "fresh_error": None, "output": R}] for f, R in outputs.items()}}
    ref = _ref(q4_clouds={f: P[s] for f, (P, s) in pts.items()})
    return q4.verdict(Evidence(RunRecord(cells=list(cells)), ref, apart={"Q4": models}))


def test_q4_exact_encoders_are_correct():
    pts = _q4_points()
    out = {f: _round_trip(f, P) for f, (P, _) in pts.items()}
    assert all(_rel_rmse(out[f], P) < 1e-6 for f, (P, _) in pts.items())         # float32 round-off
    v = _q4(out)
    assert v.status == "correct" and "on every file" in v.note and "(exact)" in v.found, v


def test_q4_the_mean_is_worse_than_a_projection_and_wrong():
    """Every point decoded to the cloud's mean: MSE r^2/2 a coordinate on the circle against r^2/4 for the best
    line (uniform angles), r^2/3 against r^2/9 on the sphere: twice and three times the linear encoder's."""
    pts = _q4_points()
    out = {f: np.broadcast_to(P[s].mean(0), P.shape).copy() for f, (P, s) in pts.items()}
    P = pts[CIRCLE][0]
    assert np.isclose(((out[CIRCLE] - P) ** 2).mean(), 2.0, rtol=0.15)       # r = 2: r^2 / 2
    v = _q4(out)
    assert v.status == "wrong" and v.note.count("worse than the best linear encoder") == 2, v


def test_q4_too_many_parameters_and_memorised_tables_are_wrong():
    pts = _q4_points()
    exact = {f: _round_trip(f, P) for f, (P, _) in pts.items()}
    v = _q4(exact, params=20_000)
    assert v.status == "wrong" and "over the quiz's limit of 10,000" in v.note, v
    table = {}
    for f, (P, s) in pts.items():                  # right on the zip's points, the mean everywhere else
        table[f] = np.where(s[:, None], P, P[s].mean(0))
    v = _q4(table)
    assert v.status == "wrong" and v.note.count("memorised the data") == 2, v


def test_q4_a_network_not_exact_or_a_file_left_out_is_for_a_human():
    pts = _q4_points()
    rng = np.random.default_rng(5)
    near = {f: P + rng.normal(0, 0.02, P.shape) for f, (P, _) in pts.items()}
    assert all(1e-3 < _rel_rmse(near[f], P) < 0.05 for f, (P, _) in pts.items())
    v = _q4(near, params=500)
    assert v.status == "unverified" and "a network, not exact" in v.note, v
    v = _q4({CIRCLE: _round_trip(CIRCLE, pts[CIRCLE][0])})
    assert v.status == "unverified" and f"nothing found for {SPHERE}" in v.note, v


def test_q4_missing_and_error():
    v = _q4({})
    assert v.status == "missing" and "no encoder and decoder found" in v.note, v
    boom = _cell(0, "", q=4, source="model.fit(X)", error=_err("NameError: name 'model' is not defined"))
    v = _q4({}, cells=[boom])
    assert v.status == "error" and "NameError" in v.note, v


def test_q4_measures_are_typed_and_the_report_json_is_what_the_ranking_reads():
    """``q4.measures`` gives one ``q4.Fit`` a file; the report's JSON holds them as plain dicts (the ranking of the
    class reads those), the exact answer first."""
    import json

    from quiz1.grading.report import GradeReport

    pts = _q4_points()
    models = {"q4_points": pts, "q4": {f: [{"name": "enc/dec", "kind": "functions", "params": 7, "rows": "all",
                                            "fresh_error": None, "output": _round_trip(f, P)}] for f, (P, _) in pts.items()}}
    ev = Evidence(RunRecord(), _ref(q4_clouds={f: P[s] for f, (P, s) in pts.items()}), apart={"Q4": models})
    m = q4.measures(ev)
    assert set(m) == {CIRCLE, SPHERE} and all(isinstance(r, q4.Fit) and r.status == "exact" for r in m.values())
    rep = GradeReport("A.zip", "A1", (), (), 1.0, False, False, False, (), {}, measures={"Q4": m})
    js = json.loads(json.dumps(rep.to_json()))
    assert js["measures"]["Q4"][CIRCLE]["params"] == 7 and js["measures"]["Q4"][CIRCLE]["status"] == "exact"
    worse = {"measures": {"Q4": {CIRCLE: {**js["measures"]["Q4"][CIRCLE], "status": "network", "mse": 0.1}}}}
    ranked = q4.ranking([worse, js], ["B", "A"])
    assert [r["student"] for r in ranked[CIRCLE]] == ["A1", "B"]


# --------------------------------------------------------------------------
# Q5: an MLP learned from unpaired sets


def _f(x):
    """The truth, chosen here: a spiral arc, (1 + 0.3 x)(cos x, sin x) for x in [0, 3]."""
    return np.c_[(1 + 0.3 * x) * np.cos(x), (1 + 0.3 * x) * np.sin(x)]


def _q5_data():
    rng = np.random.default_rng(6)
    x = rng.permutation(np.linspace(0, 3, 120))
    ab = _f(x)[rng.permutation(120)]                                    # unpaired
    xs = np.sort(x)
    xq = np.r_[x, (xs[1:] + xs[:-1]) / 2]                               # the data's x, then the midpoints
    kind = np.r_[np.zeros(120, int), np.ones(119, int)]
    return x, ab, xq, kind


TWO_HIDDEN = ["linear", "relu", "linear", "relu", "linear"]


def _q5(out=None, ops=TWO_HIDDEN, ablated=None, cells=()):
    x, ab, xq, kind = _q5_data()
    models = {"q5_x": (xq, kind)}
    if out is not None:
        out = out(xq)
        models["q5"] = [{"name": "mlp", "kind": "module", "params": 337, "ops": ops, "output": out, "input": "x",
                         "mlp_numbers": 337, "ablated": np.zeros_like(out) if ablated is None else ablated(xq)}]
    return q5.verdict(Evidence(RunRecord(cells=list(cells)), _ref(q5_sets=(x, ab)), apart={"Q5": models}))


def _rmse_of_range(out, xq):
    ab = _f(xq)
    span = max(np.ptp(ab[:, 0]), np.ptp(ab[:, 1]))
    return float(np.sqrt(((out - ab) ** 2).sum(1).mean()) / span)


def test_q5_outputs_equal_to_f_are_correct():
    v = _q5(_f)
    assert v.status == "correct" and "RMSE" in v.found and "no longer follows f" in v.note, v
    assert "2 hidden layer(s)" in v.found


def test_q5_far_from_f_is_wrong():
    """The chord between the curve's ends: about a third of the range away from f (measured here)."""
    def chord(xq):
        ends = _f(np.array([0.0, 3.0]))
        return ends[0] + (xq / 3)[:, None] * (ends[1] - ends[0])

    xq = _q5_data()[2]
    assert _rmse_of_range(chord(xq), xq) > 0.3
    v = _q5(chord)
    assert v.status == "wrong" and "does not follow f" in v.note, v


def test_q5_the_answer_not_from_the_mlp_is_wrong():
    v = _q5(_f, ablated=_f)                     # with its linear layers zeroed, still f: a stored table
    assert v.status == "wrong" and "not from the MLP" in v.note, v


def test_q5_what_needs_a_human():
    v = _q5(_f, ops=["linear", "tanh", "linear"])
    assert v.status == "unverified" and "1 hidden layer(s)" in v.found and "two hidden layers" in v.note, v
    xq = _q5_data()[2]

    def off(x):                                  # a visible wobble in beta (an offset alone is a shift: fitted)
        return _f(x) + np.c_[np.zeros(len(x)), 0.2 * np.sin(6 * x)]

    assert 0.02 < _rmse_of_range(off(xq), xq) < 0.10
    v = _q5(off)
    assert v.status == "unverified" and "partial marks" in v.note, v


def test_q5_missing_error_and_a_plot_of_the_data():
    v = _q5()
    assert v.status == "missing" and "no section for it" in v.note, v
    boom = _cell(0, "", q=5, source="model = nn.Sequential(nn.Linear(1, 16))\nmodel.fit(x)",
                 error=_err("AttributeError: 'Sequential' object has no attribute 'fit'"))
    v = _q5(cells=[boom])
    assert v.status == "error" and "AttributeError" in v.note, v
    v = _q5(cells=[_cell(0, "", q=5, source="plt.scatter(np.sort(x), ab[:, 0])", plots=1)])
    assert v.status == "wrong" and "builds no network" in v.note, v


# --------------------------------------------------------------------------
# Q6: adversarial images, read by an M known by construction


class Marker(torch.nn.Module):
    """M: class k when pixel (0, k) of the top row is lit (the first such k), else 3."""

    def forward(self, x):                                   # (B, 1, 28, 28) in [0, 1]
        lit = (x[:, 0, 0, :10] > 0).float()
        first = lit * torch.arange(10, 0, -1).float()
        return torch.where(lit.any(1, keepdim=True), 100 * first, torch.eye(10)[3].expand(len(x), 10))


def _digit(seed):
    """A blob of grey levels in the middle of the frame, the top row dark: (28, 28) uint8."""
    im = np.zeros((28, 28), np.uint8)
    im[6:22, 8:20] = np.random.default_rng(seed).integers(0, 256, (16, 12))
    return im


DIGITS = {"I0": _digit(0), "I1": _digit(1)}


def _lit(im, k, level=100):
    out = im.copy()
    out[0, k] = level
    return out


def _l2(a, b):
    return float(np.linalg.norm((a.astype(float) - b.astype(float)) / 255))


def _q6(pngs, *, cells=(), model="marker", variant=None, missing=None):
    ref = _ref(images=DIGITS, model=Marker() if model == "marker" else model, missing=missing or {})
    return q6.verdict(Evidence(RunRecord(cells=list(cells), pngs=pngs), ref, variant))


def test_q6_the_targets_within_the_bound_are_correct():
    adv = {"Q_6/I0_adv.png": _lit(DIGITS["I0"], 1), "Q_6/I1_adv.png": _lit(DIGITS["I1"], 7)}
    assert _l2(adv["Q_6/I0_adv.png"], DIGITS["I0"]) == pytest.approx(100 / 255)
    v = _q6(adv)
    assert v.status == "correct" and "read as 1" in v.found and "read as 7" in v.found, v
    v = _q6({"I0p.png": _lit(DIGITS["I0"], 1), "I1p.png": _lit(DIGITS["I1"], 0)})    # eq. 8: I1' read as 0
    assert v.status == "correct", v


def test_q6_not_the_targets_or_nothing_of_the_digit_left_is_wrong():
    v = _q6({"a.png": _lit(DIGITS["I0"], 2), "b.png": _lit(DIGITS["I1"], 7)})      # I0' read as 2
    assert v.status == "wrong" and "read as 2" in v.found, v
    wiped = {"a.png": _lit(np.zeros((28, 28), np.uint8), 1), "b.png": _lit(np.full((28, 28), 255, np.uint8), 7)}
    assert min(_l2(im, base) for im in wiped.values() for base in DIGITS.values()) > 5.6
    v = _q6(wiped)
    assert v.status == "wrong" and "leaves nothing of the digit" in v.note, v


def test_q6_what_needs_a_human():
    big = _lit(DIGITS["I0"], 1)
    big[24:26, 9:19] = 200                                      # a bright bar under the digit
    assert 2.8 < _l2(big, DIGITS["I0"]) < 5.6
    v = _q6({"a.png": big, "b.png": _lit(DIGITS["I1"], 7)})
    assert v.status == "unverified" and "beyond every reading of eps" in v.note, v
    v = _q6({"a.png": _lit(DIGITS["I0"], 1)}, model=None, missing={"Q6 model": "no Q_6/model.pth in the zip"})
    assert v.status == "unverified" and v.note == "no Q_6/model.pth in the zip", v


def test_q6_missing_and_error():
    v = _q6({})
    assert v.status == "missing" and "no section for it" in v.note, v
    boom = _cell(0, "", q=6, source="model.load_state_dict(torch.load('model.pth'))",
                 error=_err("FileNotFoundError: [Errno 2] No such file or directory: 'model.pth'"))
    v = _q6({}, cells=[boom])
    assert v.status == "error" and "FileNotFoundError" in v.note, v


def test_q6_images_shown_in_the_notebook_but_not_saved_are_for_a_human():
    """The quiz asks the code to 'clearly highlight (minimum): the classification of I0' and I1', images I0' and
    I1'' and to 'save the result and code on your notebook': it never asks for PNG files. A notebook that displays
    both images and prints their classes has answered; the machine cannot check the pixels, a TA can."""
    shown = _cell(0, "I0' classified as 1\nI1' classified as 7", q=6, plots=2,
                  source="plt.imshow(adv0); print(\"I0' classified as\", pred0)")
    v = _q6({}, cells=[shown])
    assert v.status == "unverified" and "shown but not saved" in v.note, v


def test_q6_figure_shows_each_change_red_where_brighter_and_only_for_a_human():
    """The change to I0 (a bright square) and to I1 (a bright bar), both brighter only: the picture holds red and no
    blue (seismic: red above zero); none for a correct answer, none without a changed image."""
    import base64
    import io

    from matplotlib.image import imread

    d0, d1 = np.zeros((28, 28), int), np.zeros((28, 28), int)
    d0[10:14, 10:14], d1[5:20, 13] = 200, 120
    deltas = {"deltas": {"I0": d0.ravel().tolist(), "I1": d1.ravel().tolist()}}
    assert q6.figure(deltas, "correct") is None and q6.figure({"deltas": {}}, "unverified") is None
    assert q6.figure({"deltas": {"I0": [1, 2]}}, "wrong") is None                     # not 28 x 28
    alt, uri = q6.figure(deltas, "unverified")
    rgb = imread(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))[..., :3]
    red = (rgb[..., 0] > 0.6) & (rgb[..., 2] < 0.3)
    blue = (rgb[..., 2] > 0.6) & (rgb[..., 0] < 0.3)
    assert "I0" not in alt and red.sum() > 50 and blue.sum() == 0, (red.sum(), blue.sum())
    d1[5:20, 13] = -120                                                               # darker: blue appears
    alt, uri = q6.figure({"deltas": {"I0": d0.ravel().tolist(), "I1": d1.ravel().tolist()}}, "wrong")
    rgb = imread(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))[..., :3]
    assert ((rgb[..., 2] > 0.6) & (rgb[..., 0] < 0.3)).sum() > 20


# --------------------------------------------------------------------------
# Q7: the class G, run apart with the quiz's main block

FIXED = """class G:
    def __init__(self):
        self.g = torch.ones([2])
    def __call__(self, x):
        g = self.g.clone()
        g[0] = x * x
        return torch.sum(g)
"""
DETACHED = FIXED.replace("x * x", "(x * x).detach()")


def _harness(name, grads_at, source, replaced=()):
    runs = [{"xinit": v, "grads": [[g1], [g2]]} for v, (g1, g2) in grads_at.items()]
    return {"classes": [{"name": name, "runs": runs, "replaced": list(replaced)}], "definitions": source,
            "error": None}


def _q7(apart=None, cells=()):
    return q7.verdict(Evidence(RunRecord(cells=list(cells)), _ref(), apart={"Q7": apart} if apart else {}))


def test_q7_the_fixed_class_is_correct():
    v = _q7(_harness("G", {v: q7_grads(v) for v in (1.0, 0.5, 2.0)}, FIXED))
    assert v.status == "correct" and v.found == "class G: xinit.grad 18 then 36" and "0.5, 2" in v.note, v


def test_q7_a_fix_that_changes_the_gradients_is_wrong():
    """x * x detached: G no longer depends on x, so dL/dv = 2 x1 with x1 = v + v^2 + 1: 6 then 12 at v = 1."""
    grads = {v: (2 * (v + v * v + 1), 4 * (v + v * v + 1)) for v in (1.0, 0.5, 2.0)}
    v = _q7(_harness("G", grads, DETACHED))
    assert v.status == "wrong" and v.found == "class G: xinit.grad 6 then 12" and "differ" in v.note, v


def test_q7_the_quiz_error_again_is_wrong():
    err = "RuntimeError: Trying to backward through the graph a second time (or directly access saved tensors)"
    apart = {"classes": [{"name": "G", "runs": [{"xinit": 1.0, "error": err}], "replaced": []}],
             "definitions": "class G: ...", "error": None}
    v = _q7(apart, cells=[_cell(0, "", q=7, source="g = G()")])
    assert v.status == "wrong" and "not fixed" in v.note, v


def test_q7_what_needs_a_human():
    grads = {v: q7_grads(v) for v in (1.0, 0.5, 2.0)}
    v = _q7(_harness("G", grads, FIXED, replaced=["torch.Tensor.backward"]))
    assert v.status == "unverified" and "replaced torch.Tensor.backward" in v.note, v
    retain = FIXED.replace("return torch.sum(g)", "out = torch.sum(g)\n        out.backward(retain_graph=True)\n"
                                                  "        return out")
    v = _q7(_harness("G", grads, retain))
    assert v.status == "unverified" and "retain_graph" in v.note, v
    v = _q7({"classes": [], "definitions": "", "error": "the harness kernel did not start"})
    assert v.status == "unverified" and "could not run apart" in v.note, v


def test_q7_missing_error_and_a_typed_answer():
    assert _q7({"classes": [], "definitions": ""}).status == "missing"
    boom = _cell(0, "", q=7, source="g = G()", error=_err("NameError: name 'G' is not defined"))
    v = _q7({"classes": [], "definitions": ""}, cells=[boom])
    assert v.status == "error" and "NameError" in v.note, v
    v = _q7({"classes": [], "definitions": ""}, cells=[_cell(0, "xinit.grad = 36.0", q=7, source="print('36.0')")])
    assert v.status == "wrong" and "typed in" in v.note, v


def test_q7_a_fix_in_the_main_block_is_for_a_human():
    """The student keeps class G and makes a new G before the second pass: the section runs both passes with the
    quiz's gradients (a fresh g each pass: 18 then 36 at xinit = 1). Whether that keeps 'the original functionality'
    is a TA's call; it is not an unfixed bug."""
    err = "RuntimeError: Trying to backward through the graph a second time (or directly access saved tensors)"
    apart = {"classes": [{"name": "G", "runs": [{"xinit": 1.0, "error": err}], "replaced": []}],
             "definitions": "class G: ...", "error": None}
    main = ("g=G()\nxinit=torch.ones([1],requires_grad=True)\nx=[xinit]\nx.append(x[-1]+g(x[-1]))\n"
            "loss=x[-1]**2\nloss.backward()\nprint('----- first time ----- ')\ng=G()\nx=[xinit]\n"
            "x.append(x[-1]+g(x[-1]))\nloss=x[-1]**2\nloss.backward()\nprint('----- well done ----- ')\n"
            "print(xinit.grad)")
    shown = _cell(0, "----- first time ----- \n----- well done ----- \ntensor([36.])", q=7, source=main)
    v = _q7(apart, cells=[shown])
    assert v.status == "unverified" and "outside the class" in v.note, v


# --------------------------------------------------------------------------
# the readings every question shares (Evidence)


def test_a_section_that_raised_is_an_error_naming_the_cause_not_its_knock_on():
    first = _err("ValueError: could not convert string to float: 'abc'", cell="In [1]", line="np.loadtxt(p)")
    then = _err("NameError: name 'z' is not defined", cell="In [2]", knock_on="In [1]")
    ev = Evidence(RunRecord(cells=[_cell(0, "", error=first), _cell(1, "", source="print(z)", error=then)]), _ref())
    v = ev.failed(1)
    assert v.status == "error" and "ValueError" in v.note and "np.loadtxt(p)" in v.note, v
    assert "NameError" not in v.note
    alone = Evidence(RunRecord(cells=[_cell(1, "", error=then)]), _ref()).failed(1)
    assert "NameError" in alone.note and "knock-on of In [1]" in alone.note     # the knock-on alone is still named
    assert Evidence(RunRecord(cells=[_cell(0, "1.0")]), _ref()).failed(1) is None


def test_a_run_that_stopped_before_the_section_is_an_error_with_the_reason():
    why = "the run's budget of 600 s for the whole submission ran out"
    run = RunRecord(cells=[_cell(0, "z loaded", q=1), _cell(1, "", q=1, source="print(loss)", ran=False)],
                    stopped={(NB, 1)}, reasons={NB: why})
    v = q1.verdict(Evidence(run, _ref(), None))
    assert v.status == "error" and f"stopped before this section finished: {why}" in v.note, v
    empty = RunRecord(cells=[_cell(1, "", q=1, source="", ran=False)], stopped={(NB, 1)}, reasons={NB: why})
    assert Evidence(empty, _ref()).failed(1) is None                   # an empty cell cut off is no loss


def test_a_section_that_shows_nothing_is_missing():
    ev = Evidence(RunRecord(cells=[_cell(0, "   \n", q=5, source="x = 1")]), _ref())
    assert not ev.work(5)
    v = ev.unmatched(5, None, "f")
    assert v.status == "missing" and v.note == "its section shows no output, formula or plot", v
    v = Evidence(RunRecord(cells=[_cell(0, "", q=5)], markdown={}), _ref()).shown(5)
    assert v.status == "missing"
    plotted = Evidence(RunRecord(cells=[_cell(0, "", q=5, plots=1)]), _ref())
    assert plotted.work(5) and plotted.shown(5).status == "unverified" and "1 plot(s)" in plotted.shown(5).note


def test_a_value_printed_outside_the_section_is_noted():
    mean = f"{LOSSES.mean():.6f}"
    cells = [_cell(0, "", q=1, source="L = ce(z, y)"), _cell(1, f"Q1 mean loss: {mean}", q=6, source="print(L)")]
    v = _q1(cells)
    assert v.status == "correct" and "printed outside the Q1 section" in v.note and "In [2]" in v.found, v
    out = figure1(*_leaves())
    v = _q2([_cell(0, "", q=2, source="out = f(a, b, c)"), _shown(FIG1, q=7, i=1)], _probe(("out", out)))
    assert v.status == "correct" and "printed outside the Q2 section" in v.note, v


def _variant_q1(text):
    """The run prints the quiz data's mean in In [1]; on the variant data the same cell prints ``text``."""
    first = [_cell(0, f"Mean loss: {LOSSES.mean():.6f}")]
    second = RunRecord(cells=[_cell(0, text)], kernel={"Q1": _calls()})
    return _q1(first, variant=Variant(second, _ref(losses=LOSSES_V)))


def test_a_value_that_did_not_follow_the_variant_data_is_hard_coded():
    assert abs(LOSSES.mean() - LOSSES_V.mean()) > 0.1
    v = _variant_q1(f"Mean loss: {LOSSES.mean():.6f}")           # the same number on other data
    assert v.status == "wrong" and "hard-coded" in v.note and f"{LOSSES_V.mean():.6f}" in v.note, v
    v = _variant_q1(f"Mean loss: {LOSSES_V.mean():.6f}")
    assert v.status == "correct" and "followed the data" in v.note, v
    v = _q1([_cell(0, f"Mean loss: {LOSSES.mean():.6f}")], variant=Variant(None, _ref(losses=LOSSES_V),
                                                                             "the variant run timed out"))
    assert v.status == "unverified" and "the variant run timed out" in v.note, v


def test_an_image_that_did_not_follow_the_variant_digits_is_pre_made():
    """Q6 on the variant run: I0 and I1 are other digits; the same files written again are nearer the quiz's."""
    adv = {"Q_6/I0_adv.png": _lit(DIGITS["I0"], 1), "Q_6/I1_adv.png": _lit(DIGITS["I1"], 7)}
    other = {"I0": _digit(10), "I1": _digit(11)}
    same = Variant(RunRecord(pngs=dict(adv)), _ref(images=other, model=Marker()), None,
                   {"Q6": {"I0": "another 2", "I1": "another 8"}})
    v = _q6(adv, variant=same)
    assert v.status == "wrong" and "did not follow" in v.note and "pre-made" in v.note, v
    own = _lit(other["I0"], 1)                   # the target's pixel, and a change of its own to the new digit
    own[10:16, 10:16] = np.clip(own[10:16, 10:16].astype(int) + 30, 0, 255)
    fresh = Variant(RunRecord(pngs={"Q_6/I0_adv.png": own, "Q_6/I1_adv.png": _lit(other["I1"], 0)}),
                    _ref(images=other, model=Marker()), None, {"Q6": {"I0": "another 2", "I1": "another 8"}})
    v = _q6(adv, variant=fresh)
    assert v.status == "correct" and "followed the data" in v.note, v
