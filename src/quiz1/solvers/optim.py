"""Optimisation helpers shared by the Q4 and Q5 solvers: Adam then L-BFGS, and trust-region least squares.

The notebook defines them once, in its setup section; the solver modules import
it above their first ``# %%`` marker, so their notebook cells stay free of
package imports.
"""
# %% imports
import math

import numpy as np
import torch
from scipy.optimize import least_squares
from torch.func import functional_call, jacrev, vmap


# %% Adam, then L-BFGS with restarts
def adam_then_lbfgs(net, loss_fn, adam_steps=1500, lbfgs_calls=3, lr=1e-2):
    """Adam with a cosine learning-rate schedule, then ``lbfgs``; returns the final loss as a float."""
    if adam_steps:
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, adam_steps)
        for _ in range(adam_steps):
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            opt.step()
            sched.step()
    lbfgs(net, loss_fn, lbfgs_calls)
    with torch.no_grad():
        return float(loss_fn())


def lbfgs(net, loss_fn, calls=3, max_iter=200):
    """Minimise ``loss_fn()`` over ``net``'s parameters with L-BFGS, restarted ``calls`` times (drops stale curvature)."""
    for _ in range(calls):
        opt = torch.optim.LBFGS(net.parameters(), lr=1, max_iter=max_iter, tolerance_grad=1e-15,
                                tolerance_change=1e-18, history_size=100, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            return loss

        opt.step(closure)


# %% trust-region least squares with the network's exact Jacobian
def least_squares_fit(net, x, y, max_nfev=60):
    """Fit ``net`` to pairs x (n, D_in) -> y (n, D_out) by trust-region least squares, in place; returns the MSE.

    min_W sum_i ||net(x_i) - y_i||^2 by scipy's ``trf`` (LSMR steps) with the exact Jacobian (n D_out, P), built
    one point at a time (torch.func: vmap of jacrev), at most ``max_nfev`` evaluations. Gauss-Newton steps converge
    where L-BFGS crawls: from where Adam leaves them, a ReLU MLP on the quiz's piecewise-linear Q5 data and the Q4
    chart networks reach round-off (Q5: L-BFGS left 6 of 20 reshuffled seeds above RMSE 1e-4; Q4: 1e-16 -> 1e-32).
    """
    names, shapes = zip(*[(n, p.shape) for n, p in net.named_parameters()])
    sizes = [math.prod(s) for s in shapes]
    xt = torch.as_tensor(np.asarray(x), dtype=torch.float64)         # (n, D_in)
    yt = torch.as_tensor(np.asarray(y), dtype=torch.float64)         # (n, D_out)

    def f(v, x):                                                      # weights (P,), one input (D_in,) -> (D_out,)
        params = {n: c.reshape(s) for n, c, s in zip(names, torch.split(v, sizes), shapes)}
        return functional_call(net, params, (x[None],))[0]

    def fun(v):
        with torch.no_grad():
            return (vmap(f, in_dims=(None, 0))(torch.from_numpy(v), xt) - yt).ravel().numpy()

    def jac(v):
        return vmap(jacrev(f), in_dims=(None, 0))(torch.from_numpy(v), xt).reshape(-1, len(v)).numpy()  # (n D_out, P)

    v0 = torch.cat([p.detach().ravel() for p in net.parameters()]).numpy()
    sol = least_squares(fun, v0, jac=jac, method="trf", xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=max_nfev,
                        tr_solver="lsmr")
    with torch.no_grad():
        for p, c in zip(net.parameters(), torch.split(torch.from_numpy(sol.x), sizes)):
            p.copy_(c.reshape(p.shape))
    return float(np.mean(sol.fun ** 2))
