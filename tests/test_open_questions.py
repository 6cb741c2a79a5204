"""Q3-Q5 machine-checked: a student's LaTeX gradient read in their notation, their own encoders and MLP run on the
TA's data.

The Q3 formulas are written here by hand in the notations students use; the verdict asserted is the one a careful
TA gives (a hand derivation of the reference is in ``solvers/symbolic_grad.py``'s docstring and is checked against
torch autograd in ``test_symbolic_grad.py``). The Q4/Q5 notebooks are student-style, graded in the sandbox against
the TA's data; the expected verdicts follow from what each notebook does (an exact formula, a network too large
for the quiz's limit, an untrained one, a model with one hidden layer, a plot of the sorted data).
"""
import json

import numpy as np
import pytest

from quiz1.grading import grade_submission
from quiz1.grading.cohort.batch import Options, make_executor
from quiz1.grading.questions.equivalence import check_q3
from quiz1.grading.questions.latex_math import gradient_side, statements
from quiz1.grading.running.sandbox import bwrap_problem
from students import code, make_zip, md, seeded_data

needs_bwrap = pytest.mark.skipif(bwrap_problem() is not None, reason=f"no sandbox here: {bwrap_problem()}")

# --------------------------------------------------------------------------
# Q3: the notations

RIGHT = {
    "component form with a sum, hat y, w and v":
        [r"$\frac{\partial L}{\partial x_i} = (\hat{y} - y) \sum_j w_{ij} \left(\mathbb{1}_{f_j > 0} + v_j\right)$"],
    "quiz1's own boxed form":
        [r"$$\boxed{\ \frac{\partial\mathcal L}{\partial x_i}=\big(\sigma(s)-y\big)\sum_{j=1}^{2}W^{(1)}_{ij}"
         r"\Big(\mathbb 1[f_j>0]+W^{(2)}_{j1}\Big)\ }$$"],
    "matrix form, W as (2, 3) transposed, a sentence before":
        [r"Here $f = W^{(1)} x$ with $W^{(1)} \in \mathbb{R}^{2\times 3}$.",
         r"$$\nabla_{\mathbf{x}} \mathcal{L} = (\sigma(s)-y)\, W^{(1)\top}\left(\mathbb{1}[f>0] + W^{(2)}\right)$$"],
    "sigma written out with exp, sums expanded":
        [r"$$\frac{\partial CE}{\partial x_i} = \left(\frac{1}{1+\exp(-s)} - y\right)\left[W_{i1}(H(f_1) + v_1) + "
         r"W_{i2}(H(f_2)+v_2)\right]$$"],
    "the ReLU derivative as a case split":
        [r"$$\frac{\partial L}{\partial x_i} = (\sigma(s)-y)\sum_{j=1}^2 W_{ij}\left(\begin{cases}1 & f_j > 0\\ "
         r"0 & \text{otherwise}\end{cases} + v_j\right)$$"],
    "an aligned chain whose last line is the answer, max(0, .) in s":
        [r"$$\begin{aligned} \frac{\partial L}{\partial x_i} &= \frac{\partial L}{\partial s}\frac{\partial s}"
         r"{\partial x_i} \\ &= (\sigma(s) - y)\left(w_{i1}\,\mathbb{1}(f_1>0) + w_{i2}\,\mathbb{1}(f_2>0) + w_{i1} v_1"
         r" + w_{i2} v_2\right)\end{aligned}$$"],
    "a name defined first (delta), ReLU'":
        [r"Let $\delta = \sigma(s) - y$.",
         r"$\frac{\partial L}{\partial x_i} = \delta \sum_j W_{ij}(\text{ReLU}'(f_j)+v_j)$"],
    "every component, s written out in x":
        [r"$\frac{\partial L}{\partial x_%d} = \left(\sigma\left(\sum_{j=1}^2 \max(0, \sum_{k=1}^3 w_{kj}x_k)+"
         r"\sum_{j=1}^2 v_j \sum_{k=1}^3 w_{kj}x_k\right)-y\right)\sum_{j=1}^{2}w_{%dj}\left(\mathbb{1}[f_j>0]+v_j"
         r"\right)$" % (i, i) for i in (1, 2, 3)],
    "CE's derivative kept whole, before it cancels":
        [r"$$\frac{\partial L}{\partial x_i} = \left(-\frac{y}{\sigma(s)} + \frac{1-y}{1-\sigma(s)}\right)\sigma(s)"
         r"(1-\sigma(s)) \sum_j W_{ij}(H(f_j) + v_j)$$"],
    "an index slip (W_ji: the weights read the other way round), the indicator's condition in brackets":
        [r"$\frac{\partial L}{\partial x_i} = (\sigma(s) - y)\sum_j W_{ji}(\mathbb{1}_{[f_j>0]} + v_j)$"],
    "s named for the probability, its own z, the gate defined":
        [r"$s = \sigma(z)$, $\delta_j = \mathbb{1}[f_j > 0] + v_j$",
         r"$\frac{\partial L}{\partial x_i} = (s - y)\sum_j w_{ij}\delta_j$"],
    "ReLU' of W^T X in matrix form": [r"$$\frac{\partial CE}{\partial X} = (\hat{y} - y) \cdot W_1 \cdot "
                                      r"(\text{ReLU}'(W_1^T X) + W_2)$$"],
}

WRONG = {
    "a wrong sign": [r"$\frac{\partial L}{\partial x_i} = (y-\sigma(s)) \sum_j W_{ij}(\mathbb{1}[f_j>0]+v_j)$"],
    "the ReLU term missing": [r"$\frac{\partial L}{\partial x_i} = (\sigma(s)-y) \sum_j W_{ij} v_j$"],
    "sigma' kept where CE cancels it":
        [r"$\frac{\partial L}{\partial x_i} = (\sigma(s)-y)\sigma(s)(1-\sigma(s)) \sum_j W_{ij}(\mathbb{1}[f_j>0]+v_j)$"],
    "ReLU taken as the identity": [r"$\frac{\partial L}{\partial x_i} = (\sigma(s)-y)\sum_j W_{ij}(1 + v_j)$"],
}


@pytest.mark.parametrize("name", RIGHT)
def test_q3_right_answers_in_every_notation_are_correct(name):
    got = check_q3(RIGHT[name])
    assert got.status == "correct", (name, got)
    assert "64 points, 16 in each sign pattern" in got.note


@pytest.mark.parametrize("name", WRONG)
def test_q3_wrong_answers_are_wrong_with_a_point_and_both_values(name):
    got = check_q3(WRONG[name])
    assert got.status == "wrong", (name, got)
    assert "where the reference gives" in got.note and "x = [" in got.note


def test_q3_what_needs_a_human_stays_unverified():
    stops = check_q3([r"$\frac{\partial L}{\partial s} = \sigma(s) - y$"])
    assert stops.status == "unverified" and "stops at dL/ds (which equals sigma(s) - y)" in stops.note
    at_f = check_q3([r"$\frac{\partial L}{\partial f_j} = (\sigma(s)-y)(\mathbb{1}[f_j>0] + v_j)$"])
    assert at_f.status == "unverified" and "stops at dL/df_j (which equals" in at_f.note
    slip = check_q3([r"$\frac{\partial L}{\partial f_j} = (\sigma(s)-y)\mathbb{1}[f_j>0]$"])   # the skip path lost
    assert slip.status == "unverified" and "stops at dL/df_j (which is not" in slip.note
    chain = check_q3([r"$\frac{\partial L}{\partial x_i} = \frac{\partial L}{\partial s}\frac{\partial s}"
                      r"{\partial x_i}$"])
    assert chain.status == "unverified" and "chain rule written, not worked out" in chain.note
    unknown = check_q3([r"$\frac{\partial L}{\partial x_i} = (\sigma(s)-y) \sum_j \Omega_{ij}(1 + v_j)$"])
    assert unknown.status == "unverified" and "could not read it" in unknown.note
    partial = check_q3([r"$\frac{\partial L}{\partial x_1} = (p - y)(W_{11}(H(f_1)+v_1)+W_{12}(H(f_2)+v_2))$"])
    assert partial.status == "unverified" and "dL/dx_2, dL/dx_3 are not written" in partial.note
    assert check_q3([r"$s = \sum_j \mathrm{ReLU}(f_j)$"]).status == "unverified"


def test_q3_the_reference_points_hold_the_hand_derivation():
    """The check's points against the gradient written out by hand here: (sigma(s) - y) W1 (1[f > 0] + W2)."""
    from quiz1.grading.questions.equivalence import points

    pts = points()
    assert {(bool(p.f[0] > 0), bool(p.f[1] > 0)) for p in pts} == {(a, b) for a in (0, 1) for b in (0, 1)}
    for p in pts:
        f = p.W1.T @ p.x
        s = np.maximum(f, 0).sum() + p.w2 @ f
        hand = (1 / (1 + np.exp(-s)) - p.y) * p.W1 @ ((f > 0) + p.w2)
        assert np.allclose(p.grad, hand, rtol=1e-12, atol=1e-14)


def test_q3_reading_equations_and_their_left_sides():
    assert statements(r"$a = b = c \qquad d = e$") == [["a", "b", "c"], ["d", "e"]]
    assert gradient_side(r"\frac{\partial \mathcal{L}}{\partial x_i}") == ("x", "i")
    assert gradient_side(r"\nabla_{\mathbf X} L") == ("x", None)
    assert gradient_side(r"\frac{\partial L}{\partial W_{ij}}") is None


# --------------------------------------------------------------------------
# Q4 and Q5: the student's own models, run by the grader

Q4_EXACT = r"""
import numpy as np

# 2-D -> 1-D: an ellipse (the angle); equally spaced angles, so its semi-axes are its singular values / sqrt(n / 2)
X1 = np.loadtxt('Q_4/Q1Q4I1.txt')
mu1 = X1.mean(0)
_, S1, V1 = np.linalg.svd(X1 - mu1, full_matrices=False)
r1 = S1 / np.sqrt(len(X1) / 2)
def enc1(X):
    Y = (np.asarray(X) - mu1) @ V1.T / r1
    return np.arctan2(Y[:, 1], Y[:, 0])[:, None]
def dec1(z):
    t = np.asarray(z)[:, 0]
    return mu1 + (np.stack([np.cos(t), np.sin(t)], 1) * r1) @ V1

# 3-D -> 2-D: an ellipsoid; the quadric through the points, then two angles on the unit sphere
X2 = np.load('Q_4/Q1Q4I2.npz')['array1']
x, y, z = X2.T
M = np.stack([x*x, y*y, z*z, x*y, x*z, y*z, x, y, z, np.ones_like(x)], 1)
q = np.linalg.svd(M, full_matrices=False)[2][-1]
A = np.array([[q[0], q[3]/2, q[4]/2], [q[3]/2, q[1], q[5]/2], [q[4]/2, q[5]/2, q[2]]])
c = -0.5 * np.linalg.solve(A, q[6:9])
rho = c @ A @ c - q[9]
lam, Q = np.linalg.eigh(A / rho)
L = Q * np.sqrt(lam)                       # (x - c) @ L is on the unit sphere
def enc2(X):
    u = (np.asarray(X) - c) @ L
    return np.stack([np.arccos(np.clip(u[:, 2], -1, 1)), np.arctan2(u[:, 1], u[:, 0])], 1)
def dec2(Z):
    u = np.stack([np.sin(Z[:, 0]) * np.cos(Z[:, 1]), np.sin(Z[:, 0]) * np.sin(Z[:, 1]), np.cos(Z[:, 0])], 1)
    return c + u @ np.linalg.inv(L)

# 4-D -> 3-D: a circle in (x1, x3) times the plane (x2, x4)
X3 = np.load('Q_4/Q1Q4I3.npz')['array1']
D_, E_, F_ = np.linalg.lstsq(np.c_[X3[:, 0], X3[:, 2], np.ones(len(X3))], -(X3[:, 0]**2 + X3[:, 2]**2), rcond=None)[0]
cx, cz = -D_ / 2, -E_ / 2
r3 = np.sqrt(cx**2 + cz**2 - F_)
enc3 = lambda X: np.c_[np.arctan2(X[:, 2] - cz, X[:, 0] - cx), X[:, 1], X[:, 3]]
dec3 = lambda Z: np.c_[cx + r3 * np.cos(Z[:, 0]), Z[:, 1], cz + r3 * np.sin(Z[:, 0]), Z[:, 2]]
for X, e, d in ((X1, enc1, dec1), (X2, enc2, dec2), (X3, enc3, dec3)):
    print('max reconstruction error', np.abs(d(e(X)) - X).max(), '- parameters: 0 (exact formulas)')
"""

Q4_NETWORKS = """
import numpy as np, torch
torch.manual_seed(0)
X1 = torch.tensor(np.loadtxt('Q_4/Q1Q4I1.txt'), dtype=torch.float32)
T, L = torch.nn.Tanh, torch.nn.Linear
enc = torch.nn.Sequential(L(2, 32), T(), L(32, 32), T(), L(32, 1))
dec = torch.nn.Sequential(L(1, 32), T(), L(32, 32), T(), L(32, 2))
opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=3e-3)
for step in range(3000):
    opt.zero_grad()
    loss = ((dec(enc(X1)) - X1) ** 2).mean()
    loss.backward()
    opt.step()
print('Q1Q4I1 loss', loss.item(), 'parameters', sum(p.numel() for p in [*enc.parameters(), *dec.parameters()]))

# 3-D -> 2-D with a big network (over the quiz's 10,000)
big = torch.nn.Sequential(torch.nn.Linear(3, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128), torch.nn.ReLU(),
                          torch.nn.Linear(128, 2), torch.nn.Linear(2, 128), torch.nn.ReLU(), torch.nn.Linear(128, 3))
X2 = torch.tensor(np.load('Q_4/Q1Q4I2.npz')['array1'], dtype=torch.float32)
opt = torch.optim.Adam(big.parameters(), lr=1e-3)
for step in range(200):
    opt.zero_grad()
    loss = ((big(X2) - X2) ** 2).mean()
    loss.backward()
    opt.step()
print('Q1Q4I2 loss', loss.item())

# 4-D -> 3-D: built, never trained
enc3 = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
dec3 = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
"""

Q4_UNTRAINED = """
import torch
torch.manual_seed(1)
nets = {d: (torch.nn.Sequential(torch.nn.Linear(d, 16), torch.nn.ReLU(), torch.nn.Linear(16, d - 1)),
            torch.nn.Sequential(torch.nn.Linear(d - 1, 16), torch.nn.ReLU(), torch.nn.Linear(16, d)))
        for d in (2, 3, 4)}
print('encoders ready')
"""

# .format(hidden=...): the student orders the (alpha, beta) points by their angle around the centroid, pairs them with
# sorted x, and trains an MLP on the pairs
Q5_MLP = """
import numpy as np, torch
import matplotlib.pyplot as plt
x = np.load('Q_5/xy.npz')['arr_0'][0]
ab = np.load('Q_5/ab.npz')['arr_0'].T
ang = np.arctan2(*(ab - ab.mean(0)).T[::-1])
pairs = ab[np.argsort(ang)]
xs = torch.tensor(np.sort(x), dtype=torch.float32)[:, None]
ts = torch.tensor(pairs, dtype=torch.float32)
torch.manual_seed(0)
layers = {hidden}
mlp = torch.nn.Sequential(*layers)
opt = torch.optim.Adam(mlp.parameters(), lr=1e-2)
for step in range({steps}):
    opt.zero_grad()
    loss = ((mlp(xs) - ts) ** 2).mean()
    loss.backward()
    opt.step()
with torch.no_grad():
    out = mlp(torch.tensor(x, dtype=torch.float32)[:, None]).numpy()
plt.plot(x, out[:, 0], '.', x, out[:, 1], '.')
plt.show()
print('loss', loss.item())
"""
TWO_HIDDEN = ("[torch.nn.Linear(1, 32), torch.nn.Tanh(), torch.nn.Linear(32, 32), torch.nn.Tanh(), "
              "torch.nn.Linear(32, 2)]")
ONE_HIDDEN = "[torch.nn.Linear(1, 64), torch.nn.Tanh(), torch.nn.Linear(64, 2)]"

Q5_SORTED_PLOT = """
import numpy as np
import matplotlib.pyplot as plt
x = np.sort(np.load('Q_5/xy.npz')['arr_0'][0])
ab = np.load('Q_5/ab.npz')['arr_0']
def f(t):                                    # a lookup in the sorted data, not a network
    return np.c_[np.interp(t, x, np.sort(ab[0])), np.interp(t, x, np.sort(ab[1]))]
plt.plot(x, f(x))
plt.show()
"""

Q4_IDENTITY = """
import torch
ae = torch.nn.Linear(2, 2)                   # "reconstructs" exactly, and encodes nothing
with torch.no_grad():
    ae.weight.copy_(torch.eye(2))
    ae.bias.zero_()
print('autoencoder ready')
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return seeded_data(tmp_path_factory.mktemp("quizdata"))


def grade(path, data):
    return grade_submission(path, progress=False, executor=make_executor(Options(threads=1)), data=data,
                            model=m if (m := data / "Q6" / "model.pth").is_file() else None, timeout=300, variants=0)


@needs_bwrap
def test_exact_encoders_and_a_trained_mlp_are_correct(tmp_path, data):
    cells = [md("## Question 3"), md(RIGHT["component form with a sum, hat y, w and v"][0]),
             md("## Question 4"), code(Q4_EXACT),
             md("## Question 5"), code(Q5_MLP.format(hidden=TWO_HIDDEN, steps=2000))]
    rep = grade(make_zip(tmp_path / "A9200001A.zip", data, {"A9200001A.ipynb": cells}), data)
    q = rep.questions
    assert (q["Q3"].status, q["Q4"].status, q["Q5"].status) == ("correct", "correct", "correct"), rep.table()
    # every number the formulas read, counted by hand: mu1 (2), V1 (2 x 2), r1 (2); cx, cz, r3
    assert "`enc1 + dec1` (8 parameters" in q["Q4"].found and "`enc3 + dec3` (3 parameters" in q["Q4"].found
    assert q["Q4"].found.count("(exact)") == 3 and "new points of its manifold" in q["Q4"].found
    assert "2 hidden layer(s), activations tanh" in q["Q5"].found and "1,186 parameters" in q["Q5"].found


@needs_bwrap
def test_networks_too_large_untrained_or_shallow_are_named(tmp_path, data):
    cells = [md("## Question 3"), md(RIGHT["matrix form, W as (2, 3) transposed, a sentence before"][1]),
             md("## Question 4"), code(Q4_NETWORKS),
             md("## Question 5"), code(Q5_MLP.format(hidden=ONE_HIDDEN, steps=2000))]
    rep = grade(make_zip(tmp_path / "A9200002B.zip", data, {"A9200002B.ipynb": cells}), data)
    q = rep.questions
    assert (q["Q3"].status, q["Q4"].status, q["Q5"].status) == ("correct", "unverified", "unverified"), rep.table()
    q4 = q["Q4"].note
    assert "Q1Q4I1.txt: a network, not exact" in q4 and "over the quiz's limit of 10,000" in q4
    assert "Q1Q4I3.npz: MSE" in q4 and "worse than the best linear encoder" in q4
    # (2*32 + 32) + (32*32 + 32) + (32 + 1) + (32 + 32) + (32*32 + 32) + (32*2 + 2), counted by hand
    assert "`enc + dec` (2,371 parameters, printed in the section)" in q["Q4"].found
    assert "1 hidden layer(s)" in q["Q5"].found and "two hidden layers" in q["Q5"].note


@needs_bwrap
def test_untrained_models_an_identity_a_lookup_and_partial_derivations(tmp_path, data):
    cells = [md("## Question 3"), md(r"$\frac{\partial L}{\partial s} = \sigma(s) - y$"),
             md("## Question 4"), code(Q4_UNTRAINED),
             md("## Question 5"), code(Q5_MLP.format(hidden=TWO_HIDDEN, steps=0).replace("print('loss', loss.item())",
                                                                                         ""))]
    rep = grade(make_zip(tmp_path / "A9200003C.zip", data, {"A9200003C.ipynb": cells}), data)
    q = rep.questions
    assert (q["Q3"].status, q["Q4"].status, q["Q5"].status) == ("unverified", "wrong", "wrong"), rep.table()
    assert "stops at dL/ds" in q["Q3"].note and "untrained, or it learned nothing" in q["Q4"].note
    cells = [md("## Question 3"), md(WRONG["a wrong sign"][0]), md("## Question 4"), code(Q4_IDENTITY),
             md("## Question 5"), code(Q5_SORTED_PLOT)]
    rep = grade(make_zip(tmp_path / "A9200004D.zip", data, {"A9200004D.ipynb": cells}), data)
    q = rep.questions
    assert (q["Q3"].status, q["Q4"].status, q["Q5"].status) == ("wrong", "unverified", "wrong"), rep.table()
    assert "no encoder and decoder found" in q["Q4"].note          # an identity has no bottleneck: it encodes nothing
    assert "builds no network" in q["Q5"].note


def test_the_class_q4_ranking_follows_the_quiz_rule_and_q5_is_drawn():
    """Exact first (fewest parameters first), then networks by loss, then parameters; too large last; the Q5 plot is
    shown for a Q5 that is not correct. The order is written here by hand."""
    from quiz1.grading.cohort.batch import report_html
    from quiz1.grading.questions.q4 import ranking as q4_ranking

    def rep(sid, rows, q5=None, q5_status="correct"):
        verdict = {"status": "unverified", "found": None, "expected": None, "note": None}
        return {"student_id": sid, "zip": f"{sid}.zip", "passed": False, "layout": {"problems": [], "warnings": []},
                "execution": {"seconds": 1, "errors": []}, "measures": {"Q4": rows, "Q5": q5},
                "questions": {**{f"Q{q}": verdict for q in range(1, 8)}, "Q5": {**verdict, "status": q5_status}}}

    def m(status, params, mse):
        return {"Q1Q4I1.txt": {"name": "e", "kind": "module", "params": params, "mse": mse, "status": status}}
    reps = [rep("A1", m("network", 50, 1e-3)), rep("A2", m("too large", 20_000, 1e-9)), rep("A3", m("exact", 12, 1e-31)),
            rep("A4", m("network", 20, 1e-3)), rep("A5", m("exact", 0, 1e-30)), rep("A6", m("network", 10, 1e-2))]
    got = [r["student"] for r in q4_ranking(reps, [r["student_id"] for r in reps])["Q1Q4I1.txt"]]
    assert got == ["A5", "A3", "A4", "A1", "A6", "A2"]
    x = np.linspace(0, 1, 20)
    q5 = {"x": x.tolist(), "pred": np.c_[x, x].tolist(), "truth": np.c_[x, -x].tolist()}
    page = report_html([rep("B1", {}, q5, "wrong"), rep("B2", {}, q5, "correct")], ["B1", "B2"])
    assert "Q4: the class ranked" not in page and page.count("data:image/png;base64,") == 1
    assert "Q4: the class ranked by the quiz" in report_html(reps, [r["student_id"] for r in reps])


def test_the_review_page_draws_q5_from_the_report(tmp_path):
    from quiz1.grading.web.review import _figure

    x = np.linspace(0, 1, 20)
    (tmp_path / "A1.json").write_text(json.dumps({"measures": {"Q5": {"x": x.tolist(), "pred": np.c_[x, x].tolist(),
                                                                       "truth": np.c_[x, -x].tolist()}}}))
    assert _figure(tmp_path / "A1.json", "Q5")[1].startswith("data:image/png;base64,")
    assert _figure(tmp_path / "A1.json", "Q4") is None and _figure(tmp_path / "none.json", "Q5") is None


# --------------------------------------------------------------------------
# Q4 answered in Markdown only

CIRCLE_MD = [r"The points lie on the unit circle, so the angle is the code: $z = \operatorname{atan2}(x_2, x_1)$,",
             r"and back: $\hat x_1 = \cos z$, $\hat x_2 = \sin z$."]
SPHERE_MD = [r"Unit sphere: $\theta = \arccos(x_3)$, $\varphi = \text{atan2}(x_2, x_1)$; "
             r"$$\hat{x}_1 = \sin\theta\cos\varphi,\quad \hat{x}_2 = \sin\theta\sin\varphi,\quad \hat{x}_3 = \cos\theta$$"]
SPHERE_LINE_MD = [r"The first three coordinates on the unit sphere, the fourth free: $\theta = \arccos(x_3)$, "
                  r"$\varphi = \text{atan2}(x_2, x_1)$, $t = x_4$ and $x_1' = \sin\theta\cos\varphi$, "
                  r"$x_2' = \sin\theta\sin\varphi$, $x_3' = \cos\theta$, $x_4' = t$."]


def test_markdown_encoders_round_trip_when_exact_and_only_then():
    """Hand-made data on the unit circle, the unit sphere and the sphere times a line: each cell's equations give an
    exact round trip on its own file and nothing on the others; atan(y / x) loses the quadrant (not exact)."""
    from quiz1.grading.questions.encoder_formulas import markdown_round_trips

    rng = np.random.default_rng(0)
    t = rng.uniform(-np.pi, np.pi, 200)
    circle = np.c_[np.cos(t), np.sin(t)]
    u = rng.normal(size=(300, 3))
    sphere = u / np.linalg.norm(u, axis=1, keepdims=True)
    cells = [CIRCLE_MD, SPHERE_MD, SPHERE_LINE_MD]
    for X in (circle, sphere, np.c_[sphere, rng.normal(size=300)]):
        got = markdown_round_trips(cells, X)
        assert got and all(np.abs(R - X).max() < 1e-12 for R, _ in got), X.shape
    lost = markdown_round_trips([[r"$z = \tan^{-1}(y/x)$, $x = \cos z$, $y = \sin z$"]], circle)
    assert len(lost) == 1 and np.abs(lost[0][0] - circle).max() > 1        # the left half lands on the right


@needs_bwrap
def test_q4_answered_in_markdown_on_the_real_quiz_data(tmp_path, quiz_data):
    """The real quiz's clouds (a circle, a sphere, a sphere times a line) answered by formulas in Markdown only:
    correct, each file measured by the grader; and the same with a quadrant-losing arctan for the circle: left to a
    human, never wrong."""
    cells = [md("## Question 4"), md("\n".join(CIRCLE_MD)), md("\n".join(SPHERE_MD)), md("\n".join(SPHERE_LINE_MD))]
    rep = grade(make_zip(tmp_path / "A9200005E.zip", quiz_data, {"A9200005E.ipynb": cells}), quiz_data)
    q4 = rep.questions["Q4"]
    assert q4.status == "correct", rep.table()
    assert q4.found.count("Markdown formulas") == 3 and "z = atan2(x_2, x_1)" in q4.found
    cells[1] = md(r"$z = \arctan(x_2 / x_1)$, $\hat x_1 = \cos z$, $\hat x_2 = \sin z$")
    rep = grade(make_zip(tmp_path / "A9200006F.zip", quiz_data, {"A9200006F.ipynb": cells}), quiz_data)
    q4 = rep.questions["Q4"]
    assert q4.status == "unverified" and "Q1Q4I1.txt: the section's formulas" in q4.note, rep.table()


def test_q5_bands_and_orientation_against_a_hand_made_f():
    """f(x) = (cos x, sin x) on an arc, written here; the model's outputs as the probe would send them: exact in
    either orientation (correct), 5% of the range off (a human), 30% off (wrong), one hidden layer (a human)."""
    from quiz1.grading.evidence import Evidence
    from quiz1.grading.questions import q5
    from quiz1.grading.running.execution import RunRecord

    rng = np.random.default_rng(0)
    x = rng.permutation(np.linspace(0, 2, 150))
    f = np.c_[np.cos(x), np.sin(x)]                                     # the truth, by hand
    ab = f[rng.permutation(150)]                                        # unpaired
    span = max(np.ptp(ab[:, 0]), np.ptp(ab[:, 1]))
    two = ["linear", "relu", "linear", "relu", "linear"]
    ref = {"Q5": q5.Sets(x, ab)}

    def verdict(out, ops=two):
        cand = {"name": "mlp", "kind": "module", "params": 100, "ops": ops, "output": out, "input": "x",
                "mlp_numbers": 100, "ablated": np.zeros_like(out)}         # without its MLP: (0, 0), far from f
        return q5.verdict(Evidence(RunRecord(), ref, apart={"Q5": {"q5": [cand]}}))

    backwards = np.c_[np.cos(2 - x), np.sin(2 - x)]                      # the curve run the other way
    assert verdict(f).status == "correct" and verdict(backwards).status == "correct"
    wobble = np.c_[np.zeros(150), np.sin(7 * x)] * span * 0.05 * np.sqrt(2)  # RMSE 5% of the range
    assert verdict(f + wobble).status == "unverified" and "between 2% and 10%" in verdict(f + wobble).note
    assert verdict(f + 6 * wobble).status == "wrong"
    shallow = verdict(f, ["linear", "tanh", "linear"])
    assert shallow.status == "unverified" and "1 hidden layer(s)" in shallow.found
