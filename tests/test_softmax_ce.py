"""Q1 against independent references: scipy's log_softmax and torch's cross_entropy."""
import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from scipy.special import log_softmax as scipy_log_softmax

from quiz1.data.loaders import load_q1
from quiz1.solvers.softmax_ce import log_softmax, softmax_cross_entropy


def _one_hot(rng, n, m):
    return np.eye(m)[rng.integers(0, m, n)]


def _torch_ce(z, y):
    return torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(y.argmax(1)), reduction="none").numpy()


@pytest.mark.parametrize("scale", [1.0, 30.0, 1e4, 1e300])
def test_matches_scipy_and_torch(scale):
    rng = np.random.default_rng(0)
    z = scale * rng.uniform(-1, 1, (64, 100))
    y = _one_hot(rng, 64, 100)
    r = softmax_cross_entropy(z, y)
    ref_logp = scipy_log_softmax(z, axis=1)
    assert_allclose(r.log_p, ref_logp, rtol=1e-12, atol=0)
    ref_loss = -ref_logp[np.arange(64), y.argmax(1)]
    assert_allclose(r.per_sample, ref_loss, rtol=1e-12, atol=0)
    if scale < 1e300:  # torch works in float64 here too, but exp(1e300 - max) paths are identical
        assert_allclose(r.per_sample, _torch_ce(z, y), rtol=1e-12, atol=0)
    assert_allclose(r.p.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert_allclose(r.mean, ref_loss.mean(), rtol=1e-12)
    assert_allclose(r.total, ref_loss.sum(), rtol=1e-12)


def test_ties_and_large_offsets():
    z = np.full((3, 5), 950.0)
    z[1] = [1e4, 1e4, -1e4, 0, 1e4]
    z[2] = [-1e300, 1e300, 1e300, 0, 5]
    y = np.eye(5)[[0, 1, 2]]
    r = softmax_cross_entropy(z, y)
    assert_allclose(r.p[0], np.full(5, 0.2), rtol=1e-15)
    assert_allclose(r.per_sample, [np.log(5), np.log(3), np.log(2)], rtol=1e-12)
    assert_allclose(r.p.sum(1), 1.0, atol=1e-15)


def test_soft_labels_match_torch():
    rng = np.random.default_rng(1)
    z = rng.normal(900, 30, (10, 7))
    y = rng.dirichlet(np.ones(7), 10)
    ref = torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(y), reduction="none").numpy()
    assert_allclose(softmax_cross_entropy(z, y).per_sample, ref, rtol=1e-12)


def test_real_quiz_data(quiz_data):
    d = load_q1(quiz_data / "Q1" / "data.txt", quiz_data / "Q1" / "labels.txt")
    r = softmax_cross_entropy(d.logits, d.labels)
    # independent log-sum-exp written out by hand in the test
    m = d.logits.max(1)
    lse = m + np.log(np.exp(d.logits - m[:, None]).sum(1))
    ref = lse - d.logits[np.arange(len(m)), d.labels.argmax(1)]
    assert_allclose(r.per_sample, ref, rtol=1e-12)
    assert_allclose(r.mean, ref.mean(), rtol=1e-12)
    assert_allclose(r.total, ref.sum(), rtol=1e-12)
    assert_allclose(r.per_sample, _torch_ce(d.logits, d.labels), rtol=1e-12)


@pytest.mark.parametrize("z, msg", [
    (np.array([[1.0, np.nan]]), "finite"),
    (np.array([[1.0, np.inf]]), "finite"),
    (np.ones(3), "2-D"),
])
def test_bad_logits(z, msg):
    with pytest.raises(ValueError, match=msg):
        log_softmax(z)


def test_bad_labels():
    with pytest.raises(ValueError, match="shape"):
        softmax_cross_entropy(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="non-negative"):
        softmax_cross_entropy(np.zeros((1, 2)), np.array([[-1.0, 2.0]]))
