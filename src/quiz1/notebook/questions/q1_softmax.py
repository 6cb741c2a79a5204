# %% [markdown]
# ## Question 1 — softmax and cross-entropy from scratch [3 marks]

# %% [markdown]
# **Asked.** For $N$ data points with $M=100$ logits $z\in\mathbb R^M$ and one-hot labels $y$, compute
# the softmax $p_i = \exp(z_i)/\sum_j \exp(z_j)$ and the cross-entropy $\mathcal L = -\sum_i y_i \ln p_i$
# from scratch (numpy only; `numpy.exp` allowed).
#
# **Why the formula cannot be used as written.** The logits here are in the hundreds to thousands, and
# `np.exp(z)` overflows to `inf` for $z > 709.78$ in float64, so $p = \text{inf}/\text{inf} = \text{nan}$.
#
# **Method: shift by the row maximum, work in log space.** Let $m=\max_j z_j$. For any constant $c$,
# $$p_i=\frac{e^{z_i}}{\sum_j e^{z_j}}=\frac{e^{-c}\,e^{z_i}}{e^{-c}\sum_j e^{z_j}}=\frac{e^{z_i-c}}{\sum_j e^{z_j-c}},$$
# so taking $c=m$ changes nothing mathematically. After the shift every exponent is $\le 0$, so no
# term overflows, and the term of the maximum is $e^0=1$, so the sum lies in $[1, M]$ and its
# logarithm is finite and $\ge 0$. In log space (log-sum-exp),
# $$\ln p_i = (z_i - m) - \ln \sum_j e^{z_j - m}, \qquad
#   \mathcal L = -\sum_i y_i \ln p_i \overset{y\ \text{one-hot, class } c}{=} \ln\sum_j e^{z_j-m} + m - z_c .$$
# Computing $\ln p$ directly (instead of $\ln$ of a $p$ that may underflow to 0) keeps the loss exact
# even when $p_c$ is below the smallest double: only classes with $y_i>0$ enter the sum, so
# $0\cdot\ln 0$ never appears.

# %% solver="quiz1.notebook.answer"
from quiz1.notebook.answer import show_answer

# %% solver="quiz1.solvers.softmax_ce"
from quiz1.solvers.softmax_ce import softmax_cross_entropy

# %%
import numpy as np

logits = np.loadtxt("Q_1/data.txt")
labels = np.loadtxt("Q_1/labels.txt")
print("logits", logits.shape, f"range [{logits.min():.2f}, {logits.max():.2f}]", "| labels", labels.shape)

with np.errstate(over="ignore", invalid="ignore"):
    naive = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
print("naive formula: non-finite entries of p =", int((~np.isfinite(naive)).sum()), "of", naive.size)

q1 = softmax_cross_entropy(logits, labels)
print("stable softmax: rows of p sum to 1 within", float(np.abs(q1.p.sum(axis=1) - 1).max()))
print("\nper-sample cross-entropy loss:")
for n, loss in enumerate(q1.per_sample):
    print(f"  sample {n:3d}  class {int(labels[n].argmax()):3d}  p_class = {q1.p[n, labels[n].argmax()]:.6e}  loss = {loss:.12f}")

# %%
show_answer("Q1", {
    "mean cross-entropy loss over the samples": f"{q1.mean:.12f}",
    "total (sum) cross-entropy loss": f"{q1.total:.12f}",
    "samples N x classes M": f"{logits.shape[0]} x {logits.shape[1]}",
}, note="Per-sample losses are listed above; p is q1.p (rows sum to 1).")
