"""Q7: "Trying to backward through the graph a second time" -- cause and fix.

The quiz's class ``G`` keeps one tensor ``self.g`` alive across calls and writes
``x*x`` into it *in place*. An in-place write into a tensor that already has a
history does not start a new graph; it stacks a ``CopySlices`` node on top of
the old one. So the second call's graph still reaches the first call's
``MulBackward0``, whose saved tensors the first ``backward()`` freed.

The cells between the ``# %%`` markers are copied verbatim into the notebook.
"""
# %% imports
from dataclasses import dataclass, field

import torch


# %% quiz code
# the quiz's class G, with only the `return return` slip mended
class G:
    def __init__(self):
        self.g = torch.ones([2])

    def __call__(self, x):
        self.g[0] = x * x
        return torch.sum(self.g)


# %% fix
# the fix: each call starts a fresh graph; values, state and gradients unchanged
class GFixed:
    def __init__(self):
        self.g = torch.ones([2])

    def __call__(self, x):
        # detach(): drop the previous call's (already freed) history, keep the values;
        # clone(): a new storage, so the in-place write below cannot alias the old tensor
        self.g = self.g.detach().clone()
        self.g[0] = x * x
        return torch.sum(self.g)


# %% main block
# the quiz's __main__ block, run for a given class instead of printing
@dataclass(frozen=True)
class TwoPassResult:
    """What the quiz's main block does: messages it would print, x.grad after each pass, the error."""

    log: list = field(default_factory=list)
    grad_after_first: list | None = None
    grad_after_second: list | None = None
    error: str | None = None


def run_quiz_main(g_class, xinit_value=1.0):
    """Run the quiz's two forward/backward passes with ``g_class`` from ``xinit = [xinit_value]`` (the quiz: 1);
    capture a RuntimeError.

    x1 = x0 + g(x0) = x0 + x0^2 + 1,  loss = x1^2,  d loss / d x0 = 2 x1 (1 + 2 x0)

    Returns
    -------
    TwoPassResult
        ``grad_after_first``/``grad_after_second``: ``xinit.grad`` (1,) as lists
        (gradients accumulate, as in the original); ``error``: the message, if any.
    """
    log, grads = [], []
    try:
        g = g_class()
        xinit = torch.full([1], float(xinit_value), requires_grad=True)
        x = [xinit]
        x.append(x[-1] + g(x[-1]))
        loss = x[-1] ** 2
        loss.backward()
        grads.append(xinit.grad.tolist())
        log.append("----- first time ----- ")
        x = [xinit]
        x.append(x[-1] + g(x[-1]))
        loss = x[-1] ** 2
        loss.backward()
        grads.append(xinit.grad.tolist())
        log.append("----- well done ----- ")
    except RuntimeError as e:
        return TwoPassResult(log, *(grads + [None, None])[:2], error=str(e))
    return TwoPassResult(log, grads[0], grads[1])


# %% graph size
def graph_size(t):
    """Number of autograd nodes reachable from ``t.grad_fn`` (0 for a leaf)."""
    seen, stack = set(), [t.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        stack.extend(next_fn for next_fn, _ in node.next_functions)
    return len(seen)
