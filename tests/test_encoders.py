"""Q4: exact charts on the quiz files and on clouds of every covered kind; formulas; the neural route; bad input."""
import json

import numpy as np
import pytest

from quiz1.cli import main
from quiz1.data.loaders import load_cloud
from quiz1.solvers.encoders import chart_formulas, chart_structure, find_chart, report
from quiz1.solvers.neural_encoders import neural_search


def _rot(rng, d):
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    return q * np.sign(np.diag(r))


def _sphere(rng, n, k):
    u = rng.normal(size=(n, k))
    return u / np.linalg.norm(u, axis=1, keepdims=True)


def _clouds():
    """Nine clouds of the kinds the quiz uses, none of them the quiz's own: (name, X, d)."""
    rng = np.random.default_rng(42)
    t = rng.uniform(0, 2 * np.pi, 5000)
    out = [
        ("rotated off-centre ellipse", (np.c_[3 * np.cos(t[:100]), 0.4 * np.sin(t[:100])] @ _rot(rng, 2).T) + [2, -7], 1),
        ("rotated ellipsoid", (_sphere(rng, 3000, 3) * [2.0, 0.7, 1.3]) @ _rot(rng, 3).T + [-1, 4, 0.5], 2),
        ("cylinder, axes permuted", np.c_[rng.uniform(-2, 2, 800), 0.5 * np.cos(t[:800]) + 1, 0.5 * np.sin(t[:800])], 2),
        ("tilted cylinder", np.c_[np.cos(t[:600]), np.sin(t[:600]), rng.uniform(0, 3, 600)] @ _rot(rng, 3).T, 2),
        ("polynomial curve", None, 1),
        ("graph surface", None, 2),
        ("circle in a tilted plane", (np.c_[2 * np.cos(t[:300]), 2 * np.sin(t[:300]), np.zeros(300)] @ _rot(rng, 3).T) + 3, 1),
        ("sphere x interval, 4-D, axes permuted", None, 3),
        ("rotated 3-sphere ellipsoid, 4-D", (_sphere(rng, 5000, 4) * [1, 2, 0.5, 1.5]) @ _rot(rng, 4).T + 1, 3),
    ]
    x = np.linspace(-1, 2, 250)
    out[4] = ("polynomial curve", np.c_[x, 0.5 * x ** 3 - x ** 2 + 2], 1)
    xy = rng.uniform(-1, 1, (1200, 2))
    out[5] = ("graph surface", np.c_[xy, xy[:, 0] ** 2 - 0.5 * xy[:, 0] * xy[:, 1] + 0.3 * xy[:, 1]], 2)
    s = _sphere(rng, 4000, 3) * 1.7
    out[7] = ("sphere x interval, 4-D, axes permuted", np.c_[s[:, 0], rng.uniform(-1, 1, 4000), s[:, 1] + 2, s[:, 2]], 3)
    return out


@pytest.mark.parametrize("name, d", [("Q1Q4I1.txt", 1), ("Q1Q4I2.npz", 2), ("Q1Q4I3.npz", 3)])
def test_quiz_files_exact(quiz_data, name, d):
    X = load_cloud(quiz_data / "Q4" / name)
    chart = find_chart(X, d)
    r = report(chart, X)
    assert r.exact and r.max_reconstruction_error <= 1e-10
    Z = chart.encode(X)
    assert Z.shape == (len(X), d)
    assert np.abs(chart.decode(Z) - X).max() <= 1e-10  # G(E(x)) = x on every point
    assert r.shared_codes == 0


@pytest.mark.parametrize("name, d", [("Q1Q4I1.txt", 1), ("Q1Q4I2.npz", 2), ("Q1Q4I3.npz", 3)])
def test_chart_network_is_exact_on_the_quiz_files(quiz_data, name, d):
    """The trained chart network reconstructs every point of the quiz's file to round-off (#18's bar: MSE <= 1e-15)."""
    import torch

    X = load_cloud(quiz_data / "Q4" / name)
    (row,) = neural_search(X, d, chart_structure(find_chart(X, d)), widths=())
    with torch.no_grad():
        Xhat = row.net(torch.tensor(X, dtype=torch.float64)).numpy()
    assert Xhat.shape == X.shape and np.mean((Xhat - X) ** 2) <= 1e-20
    assert row.params == sum(p.numel() for p in row.net.parameters()) and np.shape(row.net.encode(torch.tensor(X[:3]))) == (3, d)


@pytest.mark.parametrize("name, X, d", _clouds(), ids=[c[0] for c in _clouds()])
def test_other_clouds_exact(name, X, d):
    chart = find_chart(X, d)
    assert chart is not None, name
    Z = chart.encode(X)
    assert Z.shape[1] == d
    assert np.abs(chart.decode(Z) - X).max() <= 1e-10 * max(1, np.abs(X).max())
    # injective on the data: distinct points get distinct codes (no poles hit in these samples)
    assert len(np.unique(np.round(Z, 8), axis=0)) == len(np.unique(np.round(X, 8), axis=0))


def test_unit_circle_formula_by_hand():
    t = np.linspace(0, 2 * np.pi, 50, endpoint=False)
    enc, dec = chart_formulas(find_chart(np.c_[np.cos(t), np.sin(t)], 1))
    assert enc == ["z1 = atan2(x2, x1)"] and dec == ["x1 = cos(z1)", "x2 = sin(z1)"]


def test_poles_and_duplicates_reported():
    X = np.array([[0, 0, 1.0]] * 3 + [[0, 0, -1.0]] + list(np.c_[np.cos(np.arange(20)), np.sin(np.arange(20)), np.zeros(20)]))
    extra = _sphere(np.random.default_rng(0), 200, 3)
    X = np.vstack([X, extra])
    r = report(find_chart(X, 2), X)
    assert r.exact and r.duplicate_points == 2 and r.singular_points >= 4 and r.shared_codes == 0


def test_neural_chart_network_beats_plain():
    t = np.random.default_rng(1).uniform(0, 2 * np.pi, 300)
    X = np.c_[1.5 * np.cos(t) + 0.3, 0.5 * np.sin(t) - 1]
    rows = neural_search(X, 1, chart_structure(find_chart(X, 1)), widths=(8,))
    chart_row = next(r for r in rows if r.family.startswith("chart"))
    plain_row = next(r for r in rows if r.family.startswith("plain"))
    assert chart_row.params <= 20 and chart_row.mse < 1e-10
    assert plain_row.params == (2 * 8 + 8) + (8 * 1 + 1) + (1 * 8 + 8) + (8 * 2 + 2)
    assert rows[0] is chart_row


def test_cli_json(tmp_path, capsys):
    t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    np.savetxt(tmp_path / "c.txt", np.c_[2 * np.cos(t) + 1, 2 * np.sin(t)])
    assert main(["q4", str(tmp_path / "c.txt"), "--dim", "1", "--no-nn", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["exact"] is True and res["max_reconstruction_error"] <= 1e-10 and res["nn_params"] is None
    assert res["shared_codes"] == 0 and "atan2" in res["formula"]


@pytest.mark.parametrize("X, d, needle", [
    (np.array([[1.0, np.nan], [2, 3], [4, 5]]), 1, "finite"),
    (np.array([[1.0, 2], [2, 3]]), 1, "at least 3 points"),
    (np.random.default_rng(0).normal(size=(20, 3)), 3, "--dim"),
])
def test_cli_bad_input(tmp_path, capsys, X, d, needle):
    np.savetxt(tmp_path / "c.txt", X)
    assert main(["q4", str(tmp_path / "c.txt"), "--dim", str(d), "--no-nn"]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1


def test_shared_codes_counts_distinct_points_with_one_code():
    t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    chart = find_chart(np.c_[np.cos(t), np.sin(t)], 1)
    X = np.array([[1.0, 0], [2.0, 0], [0, 1.0], [0, 1.0], [-1.0, 0]])  # (1,0) and (2,0) lie on one ray: one angle
    r = report(chart, X)
    assert r.shared_codes == 2 and r.duplicate_points == 1 and not r.exact
