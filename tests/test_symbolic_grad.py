"""Q3: the closed forms against the same network built independently in torch (float64)."""
import json

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from quiz1.cli import main
from quiz1.solvers.symbolic_grad import check_against_autograd, derive, evaluate


def _torch_reference(xv, W1v, W2v, yv):
    """Figure 2 written out node by node, as micrograd's tests do."""
    x = torch.tensor(xv, dtype=torch.float64, requires_grad=True)
    W1 = torch.tensor(W1v, dtype=torch.float64, requires_grad=True)
    W2 = torch.tensor(W2v, dtype=torch.float64, requires_grad=True)
    f1 = W1[0, 0] * x[0] + W1[1, 0] * x[1] + W1[2, 0] * x[2]
    f2 = W1[0, 1] * x[0] + W1[1, 1] * x[1] + W1[2, 1] * x[2]
    k1 = W2[0] * f1 + W2[1] * f2
    s = torch.relu(f1) + k1 + torch.relu(f2)
    p = 1 / (1 + torch.exp(-s))
    loss = -(yv * torch.log(p) + (1 - yv) * torch.log(1 - p))
    loss.backward()
    return loss.item(), x.grad.numpy(), W1.grad.numpy(), W2.grad.numpy(), (f1.item(), f2.item())


def test_sympy_proves_closed_forms():
    d = derive()
    assert d.proven_equal
    assert {"dL_dx", "dL_dW1", "dL_dW2"} <= set(d.latex)


@pytest.mark.parametrize("seed", range(5))
def test_closed_forms_match_independent_torch(seed):
    rng = np.random.default_rng(100 + seed)
    signs = set()
    for k in range(60):
        xv, W1v, W2v = rng.normal(size=3), rng.normal(size=(3, 2)), rng.normal(size=2)
        yv = float(k % 2) if k % 3 else float(rng.uniform())
        loss, gx, gW1, gW2, f = _torch_reference(xv, W1v, W2v, yv)
        ours = evaluate(xv, W1v, W2v, yv)
        signs.add((f[0] > 0, f[1] > 0))
        assert_allclose(ours.loss, loss, rtol=1e-10, atol=1e-12)
        assert_allclose(ours.dL_dx, gx, rtol=1e-10, atol=1e-12)
        assert_allclose(ours.dL_dW1, gW1, rtol=1e-10, atol=1e-12)
        assert_allclose(ours.dL_dW2, gW2, rtol=1e-10, atol=1e-12)
    assert len(signs) == 4  # every ReLU sign pattern was exercised


def test_kink_uses_zero_derivative_like_torch():
    W1v = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])  # x1 = x2 makes f1 = 0 exactly
    xv = np.array([0.5, 0.5, -2.0])
    _, gx, *_ = _torch_reference(xv, W1v, np.array([0.3, 0.4]), 1.0)
    assert_allclose(evaluate(xv, W1v, [0.3, 0.4], 1.0).dL_dx, gx, rtol=1e-12)


def test_package_check_reports_small_error():
    chk = check_against_autograd(200, seed=3)
    assert chk["points_checked"] == 200 and chk["max_abs_error"] <= 1e-10
    assert chk["points_with_a_negative_f"] > 50


def test_cli_at_point(tmp_path, capsys):
    xv, W1v, W2v, yv = [0.3, -1.2, 2.0], [[0.5, -0.4], [0.1, 0.9], [-0.7, 0.2]], [1.5, -0.3], 0.0
    p = tmp_path / "pt.json"
    p.write_text(json.dumps({"x": xv, "W1": W1v, "W2": W2v, "y": yv}))
    assert main(["q3", "--at", str(p), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    loss, gx, gW1, gW2, _ = _torch_reference(np.array(xv), np.array(W1v), np.array(W2v), yv)
    assert_allclose(res["loss"], loss, rtol=1e-12)
    assert_allclose(res["dL_dx"], gx, rtol=1e-12)
    assert_allclose(res["dL_dW1"], gW1, rtol=1e-12)
    assert_allclose(res["dL_dW2"], gW2, rtol=1e-12)


@pytest.mark.parametrize("text, needle", [
    ("{not json", "could not be read as JSON"),
    ('{"x": [1, 2]}', "missing key"),
    ('{"x": [1, 2], "W1": [[1, 2], [3, 4], [5, 6]], "W2": [1, 2], "y": 1}', "field 'x' should have shape (3,)"),
    ('{"x": [1, 2, 3], "W1": [[1, 2], [3, 4], [5, 6]], "W2": [1, 2], "y": 3}', "field 'y' should be a label"),
    ('[1, 2]', "JSON object"),
])
def test_cli_bad_point(tmp_path, capsys, text, needle):
    p = tmp_path / "pt.json"
    p.write_text(text)
    assert main(["q3", "--at", str(p)]) == 2
    err = capsys.readouterr().err
    assert needle in err and str(p) in err and len(err.strip().splitlines()) == 1


def test_cli_json_summary(capsys):
    assert main(["q3", "--json", "--points", "200"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["points_checked"] == 200 and res["max_abs_error"] <= 1e-10 and "dL_dx" in res["latex"]


def test_the_proof_rejects_a_wrong_closed_form():
    """The equality check behind ``proven_equal`` can fail: the gate without W2 (ReLU paths only), or sigma(s)
    without the - y, are not sympy's derivative."""
    import sympy as sp

    from quiz1.solvers import symbolic_grad as g

    d = g.derive()
    f, s = g.forward_symbols()
    back = {g.f1s: f[0], g.f2s: f[1], g.ss: s}
    right = d.closed["dL_dx"].subs(back)
    assert g.same_matrix(d.derived["dL_dx"], right)
    relu_only = ((g.sigma(g.ss) - g.y) * g.W1 * sp.Matrix([g.H(g.f1s), g.H(g.f2s)])).subs(back)
    no_label = (g.sigma(g.ss) * g.W1 * (sp.Matrix([g.H(g.f1s), g.H(g.f2s)]) + g.W2)).subs(back)
    assert not g.same_matrix(d.derived["dL_dx"], relu_only)
    assert not g.same_matrix(d.derived["dL_dx"], no_label)
