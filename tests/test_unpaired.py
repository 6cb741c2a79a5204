"""Q5: accuracy against the true pairing (best orientation), robustness, curve ordering, bad input."""
import json

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy.spatial.distance import cdist

from quiz1.cli import main
from quiz1.data.loaders import load_pair_set
from quiz1.solvers.unpaired import curve_order, learn_unpaired


def _rmse_best(pred, x, f):
    """RMSE against f(x) or against f run backwards, f(x_min + x_max - x): the data cannot tell them apart."""
    fwd, bwd = f(x), f(x.min() + x.max() - x)
    return min(np.sqrt(((pred - fwd) ** 2).sum(1).mean()), np.sqrt(((pred - bwd) ** 2).sum(1).mean()))


def _chamfer(a, b):  # independent of the package's metric
    d = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    return 0.5 * (d.min(1).mean() + d.min(0).mean())


@pytest.mark.parametrize("seed", range(5))
def test_quiz_data_near_exact(quiz_data, seed):
    xy = load_pair_set(quiz_data / "Q5" / "xy.npz", "xy")
    ab = load_pair_set(quiz_data / "Q5" / "ab.npz", "ab")
    x, truth = xy[0], ab.T  # the quiz stores ab in pairing order; used only to score
    rng = np.random.default_rng(100 + seed)
    perm_x, perm_t = rng.permutation(len(x)), rng.permutation(len(x))
    r = learn_unpaired(x[perm_x], ab[:, perm_t], seed=seed)
    pred = r.predictions
    err = min(np.sqrt(((pred - truth[perm_x]) ** 2).sum(1).mean()),
              np.sqrt(((pred - truth[::-1][perm_x]) ** 2).sum(1).mean()))
    assert err <= 1e-9  # the quiz's f is piecewise linear: a ReLU MLP fits it to round-off (the bar is 1e-4)
    assert _chamfer(pred, truth) <= 1e-9
    assert r.params == sum(p.numel() for p in r.net.parameters())


def _arc(q):
    return np.stack([3.0 + 1.2 * np.cos(0.7 * q + 0.3), 0.5 + 0.8 * np.sin(0.7 * q + 0.3)], 1)


def _zigzag(q):
    a = 1 + 0.8 * q - 1.5 * np.maximum(q - 0.3, 0) + 2.0 * np.maximum(q - 1.2, 0)
    b = -0.5 * q + 1.2 * np.maximum(q + 0.2, 0) - 0.4 * np.maximum(q - 0.9, 0)
    return np.stack([a, b], 1)


@pytest.mark.parametrize("f, n, seed", [(_arc, 150, 0), (_arc, 200, 1), (_zigzag, 170, 2), (_zigzag, 150, 3)])
def test_other_curves_within_half_percent(f, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.5, 2.5, n)
    targets = f(x)[rng.permutation(n)]
    r = learn_unpaired(x, targets.T, seed=seed)
    assert _rmse_best(r.predictions, x, f) <= 0.005 * np.ptp(targets, axis=0).max()


@pytest.mark.parametrize("case", ["every other x", "5% of targets missing"])
def test_unequal_sizes_stay_on_the_curve(case):
    rng = np.random.default_rng(7)
    x = np.linspace(-1, 2, 150)
    t = _zigzag(x)
    xs, ts = (x[::2], t) if case == "every other x" else (x, t[np.sort(rng.choice(150, 142, replace=False))])
    r = learn_unpaired(rng.permutation(xs), ts[rng.permutation(len(ts))].T, seed=1)
    spacing = np.median(np.linalg.norm(np.diff(t, axis=0), axis=1))
    # pairing is determined only up to about one target spacing here; the curve itself must be followed
    assert np.max(cdist(r.predictions, t).min(1)) <= 2 * spacing


def test_curve_order_recovers_a_spiral():
    s = np.linspace(0, 3 * np.pi, 120)
    pts = np.stack([s * np.cos(s), s * np.sin(s)], 1)
    perm = np.random.default_rng(0).permutation(120)
    order = perm[curve_order(pts[perm])]
    assert_array_equal(order, np.arange(120)) if order[0] == 0 else assert_array_equal(order, np.arange(120)[::-1])


def test_cli_json_and_plot(tmp_path, capsys, standin_dir):
    png = tmp_path / "q5.png"
    assert main(["q5", "--xy", str(standin_dir / "Q5" / "xy.npz"), "--ab", str(standin_dir / "Q5" / "ab.npz"),
                 "--plot", str(png), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert png.stat().st_size > 10_000
    assert set(res) >= {"chamfer", "hausdorff", "params", "seconds", "hidden", "activation", "predictions"}
    xy = np.load(standin_dir / "Q5" / "xy.npz")["arr_0"]
    ab = np.load(standin_dir / "Q5" / "ab.npz")["arr_0"]
    assert len(res["predictions"]) == xy.shape[1] and _chamfer(np.array(res["predictions"]), ab.T) < 5e-3
    h = res["hidden"]
    assert res["params"] == (1 * h[0] + h[0]) + (h[0] * h[1] + h[1]) + (h[1] * 2 + 2)


@pytest.mark.parametrize("xy, ab, needle", [
    (np.zeros((3, 20)), np.zeros((2, 20)), "shape (2, N)"),
    (np.zeros((2, 20)), np.full((2, 20), np.nan), "finite"),
    (np.zeros((2, 5)), np.zeros((2, 5)), "at least 10 points"),
])
def test_cli_bad_input(tmp_path, capsys, xy, ab, needle):
    np.savez(tmp_path / "xy.npz", xy)
    np.savez(tmp_path / "ab.npz", ab)
    png = tmp_path / "out.png"
    assert main(["q5", "--xy", str(tmp_path / "xy.npz"), "--ab", str(tmp_path / "ab.npz"), "--plot", str(png)]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1
    assert not png.exists()
