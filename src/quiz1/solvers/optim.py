"""Optimisation helpers shared by the Q4 and Q5 solvers.

The notebook defines them once, in its setup section; the solver modules import
it above their first ``# %%`` marker, so their notebook cells stay free of
package imports.
"""
# %% imports
import torch


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
