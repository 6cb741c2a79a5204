"""Q7: the original fails, the fix keeps the forward values and gives the hand-derived gradients."""
import pytest
import torch
from numpy.testing import assert_allclose

from quiz1.solvers.double_backward import G, GFixed, graph_size, run_quiz_main


def _hand_grad(x0):  # x1 = x0 + x0^2 + 1, L = x1^2, dL/dx0 = 2 x1 (1 + 2 x0)
    x1 = x0 + x0**2 + 1
    return 2 * x1 * (1 + 2 * x0)


def test_original_raises_second_time():
    r = run_quiz_main(G)
    assert r.error is not None and "backward through the graph a second time" in r.error
    assert r.grad_after_first == [pytest.approx(_hand_grad(1.0))]
    assert r.grad_after_second is None


def test_fixed_runs_both_passes_and_accumulates():
    r = run_quiz_main(GFixed)
    assert r.error is None
    assert r.log == ["----- first time ----- ", "----- well done ----- "]
    assert_allclose(r.grad_after_first, [_hand_grad(1.0)], rtol=1e-6)
    assert_allclose(r.grad_after_second, [2 * _hand_grad(1.0)], rtol=1e-6)


@pytest.mark.parametrize("x0", [-1.5, 0.0, 0.3, 2.0])
def test_fixed_gradient_and_state_match_hand(x0):
    g = GFixed()
    x = torch.tensor([x0], dtype=torch.float32, requires_grad=True)
    out = g(x)
    assert_allclose(out.item(), x0**2 + 1, rtol=1e-6)
    assert_allclose(g.g.detach().numpy(), [x0**2, 1.0], rtol=1e-6)  # the attribute still holds [x^2, 1]
    ((x + out) ** 2).backward()
    assert_allclose(x.grad.numpy(), [_hand_grad(x0)], rtol=1e-5)


def test_graph_does_not_grow_over_100_calls():
    g, x = GFixed(), torch.ones([1], requires_grad=True)
    sizes = []
    for _ in range(100):
        loss = (x + g(x)) ** 2
        sizes.append(graph_size(loss))
        loss.backward()
    assert len(set(sizes)) == 1


def test_retain_graph_grows_the_original_graph():
    g, x = G(), torch.ones([1], requires_grad=True)
    sizes = []
    for _ in range(5):
        loss = (x + g(x)) ** 2
        sizes.append(graph_size(loss))
        loss.backward(retain_graph=True)
    assert all(b > a for a, b in zip(sizes, sizes[1:]))
