# %% [markdown]
# ## Question 7 — backward through the graph a second time [2 bonus marks]

# %% [markdown]
# **Asked.** The quiz's code fails with *Trying to backward through the graph a second time*.
# Explain why and fix it without changing what the code does. The code below is the quiz's, with
# only the typo `return return` mended; its `__main__` block is the function `run_quiz_main`, which
# records what the original would print and `xinit.grad` after each pass instead of printing.

# %% solver="quiz1.notebook.answer"
from quiz1.notebook.answer import show_answer

# %% solver="quiz1.solvers.double_backward" cells=["imports", "quiz code", "main block"]
from quiz1.solvers.double_backward import G, run_quiz_main

# %%
original = run_quiz_main(G)
print("\n".join(original.log))
print("xinit.grad after the first pass:", original.grad_after_first)
print("RuntimeError:", original.error)

# %% [markdown]
# **Why.** `self.g` is created once, in `__init__`, and lives as long as the object. The line
# `self.g[0] = x*x` is an *in-place* write (`copy_` into a slice). Autograd records it by giving
# `self.g` a new history: a `CopySlices` node whose inputs are the graph of `x*x`
# (`MulBackward0`, which saves `x`) **and the previous history of `self.g`**.
#
# 1. First call: `self.g` gets `CopySlices₁ → MulBackward0₁`. `loss.backward()` runs through it and,
#    as always without `retain_graph`, **frees the saved tensors** of every node it visited.
# 2. Second call: `self.g` already has a history, so the new write stacks `CopySlices₂` on top of
#    `CopySlices₁`. The backward of a slice assignment sends the gradient of the untouched part of
#    `self.g` (entry 1) to the *old* history, so the second `backward()` reaches `MulBackward0₁`, whose
#    saved `x` is gone: *Trying to backward through the graph a second time*.
#
# The second pass builds a new `x` list, but that does not help: the stale graph is reached through
# the object's state `self.g`, not through `x`.
#
# **Why `retain_graph=True` is not a fix.** It silences the error by keeping every call's saved tensors
# alive, and then the graph of call $k$ contains the graphs of all calls before it: memory and
# backward time grow with every call (a leak), and each backward walks all earlier calls' nodes.
# The number of autograd nodes behind the loss, call after call:

# %% solver="quiz1.solvers.double_backward" cells=["graph size"]
from quiz1.solvers.double_backward import graph_size

# %%
import torch

def sizes(g_class, calls=5, retain=False):
    g, x, out = g_class(), torch.ones([1], requires_grad=True), []
    for _ in range(calls):
        loss = (x + g(x)) ** 2
        out.append(graph_size(loss))
        loss.backward(retain_graph=retain)
    return out

print("original G + retain_graph=True, nodes behind loss per call:", sizes(G, retain=True))

# %% [markdown]
# **The fix.** Cut the stale history at the start of each call, and keep everything else:
# `self.g = self.g.detach().clone()` keeps the values (`g[1]` stays 1, `g[0]` is overwritten anyway) and
# the attribute (after a call `self.g` still holds `[x², 1]`, as before), but the tensor has no history,
# so each call builds its own small graph. Forward values and gradients are exactly the original's
# where the original runs (the first pass); the main block is unchanged, and gradients still
# accumulate in `xinit.grad` across the two passes, as in the original.
#
# By hand: $x_1 = x_0 + g(x_0) = x_0 + x_0^2 + 1$ and $\mathcal L = x_1^2$, so
# $\dfrac{\partial\mathcal L}{\partial x_0} = 2x_1(1+2x_0)$; at $x_0 = 1$: $x_1=3$ and the gradient is
# $2\cdot3\cdot3 = 18$ per pass, so `xinit.grad` is 18 after the first pass and 36 after the second.

# %% solver="quiz1.solvers.double_backward" cells=["fix"]
from quiz1.solvers.double_backward import GFixed

# %%
fixed = run_quiz_main(GFixed)
print("\n".join(fixed.log))
print("error:", fixed.error)
print("xinit.grad after the first pass :", fixed.grad_after_first)
print("xinit.grad after the second pass:", fixed.grad_after_second)
print("fixed G, nodes behind loss per call:", sizes(GFixed))
x0 = 1.0
x1 = x0 + x0**2 + 1
hand = 2 * x1 * (1 + 2 * x0)
print("hand derivation per pass:", hand)

# %%
show_answer("Q7", {
    "cause": "self.g[0] = x*x writes in place into a tensor that outlives the call, so call 2's graph "
             "stacks on call 1's (CopySlices), whose saved tensors backward() already freed",
    "fix": "self.g = self.g.detach().clone() at the start of __call__ (values, state and gradients unchanged)",
    "xinit.grad after pass 1": fixed.grad_after_first,
    "xinit.grad after pass 2 (accumulated)": fixed.grad_after_second,
    "why not retain_graph=True": "hides the error but keeps every earlier call's graph alive (grows each call)",
})
