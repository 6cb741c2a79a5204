"""Q3: the gradient of binary cross-entropy on a sigmoid through Figure 2's network, with sympy.

Figure 2, transcribed (no biases are drawn, so there are none):

    f_j = sum_i W1[i, j] x_i            (j = 1, 2; W1[i, j] is the weight from x_i to f_j)
    s   = ReLU(f1) + k1 + ReLU(f2),     k1 = W2[0] f1 + W2[1] f2
    L   = -[y ln sigma(s) + (1 - y) ln(1 - sigma(s))]

ReLU and sigma are sympy ``Function`` subclasses with their derivatives given
(``fdiff``), so ``sympy.diff`` applies the chain rule and the result stays
readable: ReLU'(f) is the step ``H(f)`` with torch's convention ``H(0) = 0``,
sigma' = sigma (1 - sigma). The closed forms are written out once and sympy
proves them equal to its own derivatives; torch autograd checks them numerically.

The cells between the ``# %%`` markers are copied verbatim into the notebook.
"""
# %% imports
from dataclasses import dataclass

import numpy as np
import sympy as sp
import torch


# %% network and derivation
class H(sp.Function):
    """Heaviside step with H(0) = 0: the derivative torch uses for ReLU (also at the kink)."""

    def _latex(self, printer):
        return r"\mathbb{1}\left[%s > 0\right]" % printer._print(self.args[0])


class ReLU(sp.Function):
    def fdiff(self, argindex=1):
        return H(self.args[0])

    def _latex(self, printer):
        return r"\operatorname{ReLU}\left(%s\right)" % printer._print(self.args[0])


class sigma(sp.Function):
    def fdiff(self, argindex=1):
        return sigma(self.args[0]) * (1 - sigma(self.args[0]))

    def _latex(self, printer):
        return r"\sigma\left(%s\right)" % printer._print(self.args[0])


x = sp.Matrix(sp.symbols("x_1:4", real=True))                      # (3, 1)
W1 = sp.Matrix(3, 2, lambda i, j: sp.Symbol(f"W^{{(1)}}_{{{i + 1}{j + 1}}}", real=True))  # (3, 2)
W2 = sp.Matrix(sp.symbols("W^{(2)}_{11} W^{(2)}_{21}", real=True))  # (2, 1): f1 -> k1, f2 -> k1
y = sp.Symbol("y", real=True)
f1s, f2s, ss = sp.symbols("f_1 f_2 s", real=True)                   # names for intermediate values


@dataclass(frozen=True)
class Q3Derivation:
    """Sympy results: loss, derivatives as sympy derived them, closed forms, and the proof of equality."""

    loss: sp.Expr
    derived: dict      # name -> sympy Matrix, straight from sympy.diff
    closed: dict       # name -> sympy Matrix, the compact closed form in f_1, f_2, s
    proven_equal: bool  # sympy.cancel(derived - closed) == 0 for every entry
    latex: dict        # name -> LaTeX of the closed form


def forward_symbols():
    """The network's pre-activations f = W1^T x (2, 1), and s, as sympy expressions."""
    f = W1.T * x                                   # (2, 1)
    k1 = (W2.T * f)[0]
    s = ReLU(f[0]) + k1 + ReLU(f[1])
    return f, s


def same_matrix(a, b):
    """True when every entry of ``a - b`` is 0 as a rational function of the symbols and of the atoms sigma(.),
    H(.), log(.): ``sympy.cancel`` puts it in canonical form, as sure as ``simplify`` here and 30 times faster."""
    return all(sp.cancel(e) == 0 for e in a - b)


def derive():
    """Differentiate the loss with sympy and prove the closed forms.

    dL/dx = (sigma(s) - y) W1 (H(f) + W2);  dL/dW1 = (sigma(s) - y) x (H(f) + W2)^T;  dL/dW2 = (sigma(s) - y) f

    Returns
    -------
    Q3Derivation
        ``derived``/``closed`` hold ``dL_dx`` (3, 1), ``dL_dW1`` (3, 2), ``dL_dW2`` (2, 1).
    """
    f, s = forward_symbols()
    loss = -(y * sp.log(sigma(s)) + (1 - y) * sp.log(1 - sigma(s)))
    derived = {
        "dL_dx": sp.Matrix([sp.diff(loss, xi) for xi in x]),
        "dL_dW1": sp.Matrix(3, 2, lambda i, j: sp.diff(loss, W1[i, j])),
        "dL_dW2": sp.Matrix([sp.diff(loss, w) for w in W2]),
    }
    delta = sigma(ss) - y                          # dL/ds, the "sigma minus y" factor
    gate = sp.Matrix([H(f1s), H(f2s)]) + W2        # (2, 1): ds/df = ReLU'(f) + W2
    closed = {
        "dL_dx": delta * W1 * gate,                # (3, 1)
        "dL_dW1": delta * x * gate.T,              # (3, 2)
        "dL_dW2": delta * sp.Matrix([f1s, f2s]),   # (2, 1)
    }
    back = {f1s: f[0], f2s: f[1], ss: s}
    proven = all(same_matrix(derived[k], closed[k].subs(back)) for k in closed)
    latex = {k: sp.latex(v) for k, v in closed.items()}
    latex["loss"] = sp.latex(-(y * sp.log(sigma(ss)) + (1 - y) * sp.log(1 - sigma(ss))))
    latex["dL_ds"] = sp.latex(delta)
    return Q3Derivation(loss=loss, derived=derived, closed=closed, proven_equal=proven, latex=latex)


# %% numeric evaluation of the closed forms
@dataclass(frozen=True)
class Q3Point:
    """Loss and gradients at one point: dL_dx (3,), dL_dW1 (3, 2), dL_dW2 (2,)."""

    loss: float
    dL_dx: np.ndarray
    dL_dW1: np.ndarray
    dL_dW2: np.ndarray


def evaluate(xv, W1v, W2v, yv):
    """Evaluate the closed forms (no autograd) at one point.

    f = W1^T x;  s = ReLU(f1) + W2.f + ReLU(f2);  L = softplus(s) - y s  (= BCE on sigma(s), stable)

    Parameters
    ----------
    xv : array-like, shape (3,)
    W1v : array-like, shape (3, 2)
        W1v[i, j] is the weight from x_(i+1) to f_(j+1).
    W2v : array-like, shape (2,)
        W2v[j] is the weight from f_(j+1) to k1.
    yv : float
        Label in [0, 1] (soft labels allowed).
    """
    xv, W1v, W2v = (np.asarray(a, dtype=np.float64) for a in (xv, W1v, W2v))
    for name, a, shape in (("x", xv, (3,)), ("W1", W1v, (3, 2)), ("W2", W2v, (2,))):
        if a.shape != shape:
            raise ValueError(f"{name} should have shape {shape} but has shape {a.shape}")
        if not np.isfinite(a).all():
            raise ValueError(f"{name} should be finite")
    if not (0.0 <= float(yv) <= 1.0):
        raise ValueError(f"y should be a label in [0, 1] but is {yv}")
    f = W1v.T @ xv                                  # (2,)
    s = np.maximum(f, 0).sum() + W2v @ f            # scalar
    sig = 0.5 * (1 + np.tanh(0.5 * s))              # sigma(s) without overflow
    delta = sig - yv                                # dL/ds
    gate = (f > 0).astype(np.float64) + W2v         # (2,): H(f) + W2
    return Q3Point(
        loss=float(np.logaddexp(0.0, s) - yv * s),
        dL_dx=delta * (W1v @ gate),                 # (3,)
        dL_dW1=delta * np.outer(xv, gate),          # (3, 2)
        dL_dW2=delta * f,                           # (2,)
    )


# %% check against torch autograd
def check_against_autograd(n_points=200, seed=0):
    """Max |closed form - autograd| over random points in float64, and how many had some f_j < 0.

    Labels alternate between hard (0/1) and soft (uniform in [0, 1]).
    """
    rng = np.random.default_rng(seed)
    worst, mixed_sign = 0.0, 0
    for k in range(n_points):
        xv, W1v, W2v = rng.normal(size=3), rng.normal(size=(3, 2)), rng.normal(size=2)
        yv = float(rng.integers(0, 2)) if k % 2 == 0 else float(rng.uniform())
        xt, W1t, W2t = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (xv, W1v, W2v))
        f = W1t.T @ xt                              # (2,)
        s = torch.relu(f[0]) + W2t @ f + torch.relu(f[1])
        loss = torch.nn.functional.binary_cross_entropy(torch.sigmoid(s), torch.tensor(yv, dtype=torch.float64))
        loss.backward()
        ours = evaluate(xv, W1v, W2v, yv)
        mixed_sign += bool((f < 0).any())
        for a, b in ((ours.dL_dx, xt.grad), (ours.dL_dW1, W1t.grad), (ours.dL_dW2, W2t.grad),
                     (np.array(ours.loss), loss.detach())):
            worst = max(worst, float(np.abs(a - b.numpy()).max()))
    return {"points_checked": n_points, "max_abs_error": worst, "points_with_a_negative_f": mixed_sign}
