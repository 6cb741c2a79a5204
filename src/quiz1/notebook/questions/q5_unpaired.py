# %% [markdown]
# ## Question 5 — an MLP learned from unpaired point sets [3 marks]

# %% [markdown]
# **Asked.** Two sets are given with the pairing destroyed: inputs $\{x_i\}$ (`xy.npz`, row 0; row 1 is 0) and
# outputs $\{(\alpha_j,\beta_j)\}$ (`ab.npz`). They are related by $(\alpha_i,\beta_i)=f(x_i)$. Learn $f$ with an MLP
# with a 1-D input, two hidden layers with an activation, and a 2-D output, and plot $x$ against
# $(\alpha,\beta)$ to reconstruct Figure 3.
#
# **Why not just match distributions.** Losses between the two sets (Chamfer, Sinkhorn, optimal-transport
# re-matching from a random start) are minimised by *any* $f$ whose image covers the target curve, including
# ones that run along it in the wrong order; from a random start they typically stall in such a folded
# minimum (see `bench/q5_unpaired.py`: RMSE against the true pairing $\sim 10^{-1}$).
#
# **Method: recover the correspondence from the geometry.**
# 1. The targets lie on a curve traced by the monotone parameter $x$. Order them along the curve: the shortest
#    open path through the points (greedy chain from an end of the minimum spanning tree's diameter,
#    improved by 2-opt).
# 2. Pair the $k$-th smallest $x$ with the point at fraction $k/(n-1)$ along the ordered curve, and fit the
#    MLP by least squares, in float64:
#    $\min_\theta \frac1n\sum_i \lVert f_\theta(x_i)-t_{\pi(i)}\rVert^2$. Adam (all random starts at once, one batched
#    matrix product per layer) finds the basin; a trust-region Gauss-Newton solver (`scipy.optimize.least_squares`,
#    with the network's exact Jacobian from `torch.func`) then converges to round-off where a ReLU network can
#    represent $f$ exactly (L-BFGS stalled near a relative error of $10^{-8}$ on some starts).
# 3. Refine: re-match predictions to targets exactly, $\pi=\arg\min_\pi\sum_i\lVert f_\theta(x_i)-t_{\pi(i)}\rVert$
#    (Hungarian algorithm), and refit; twice. (With sets of different sizes, a one-sided Chamfer loss instead.)
#
# **Orientation.** $f$ and $f$ run backwards along the curve, $\tilde f(x)=f(x_{\min}+x_{\max}-x)$, give exactly the same
# two sets when the $x$ set is symmetric, so no method can tell them apart from the data. The tool picks the
# orientation whose speed $\lVert\Delta t\rVert/\Delta x$ is smoother; on a tie it uses a stated convention
# (the smallest $x$ maps to the curve end with the smaller $\alpha$). The target set is shuffled (seeded) before
# anything else, so the stored order is never used.
#
# The activation is chosen by the data: ReLU first (a ReLU MLP represents a piecewise-linear $f$ exactly), tanh
# too if ReLU leaves a relative error above $10^{-7}$.

# %% solver="quiz1.notebook.answer"
from quiz1.notebook.answer import show_answer

# %% solver="quiz1.solvers.optim"
import quiz1.solvers.optim  # noqa: F401  (Adam then L-BFGS: the one-sided Chamfer refinement for unequal sizes)

# %% solver="quiz1.solvers.unpaired"
from quiz1.solvers.unpaired import learn_unpaired

# %% solver="quiz1.notebook.figures" cells=["imports", "Q5 figure"]
from quiz1.notebook.figures import q5_figure

# %%
import matplotlib.pyplot as plt
import numpy as np

xy = np.load("Q_5/xy.npz")["arr_0"]   # (2, N): x and y = 0
ab = np.load("Q_5/ab.npz")["arr_0"]   # (2, M): alpha and beta, order unknown
print("xy", xy.shape, "ab", ab.shape)
q5 = learn_unpaired(xy[0], ab, seed=0)
print("\n".join(q5.log))
print(f"architecture: 1 -> {q5.hidden[0]} -> {q5.hidden[1]} -> 2, activation {q5.activation}")
print("number of parameters:", sum(p.numel() for p in q5.net.parameters()))
print(f"Chamfer {q5.chamfer:.3e}   Hausdorff {q5.hausdorff:.3e}   time {q5.seconds:.1f} s")
print("orientation:", q5.orientation)
print(q5.net)

# %%
fig = q5_figure(xy[0], ab.T, q5.predictions, "Figure 3 reconstructed: x -> (alpha, beta) = f(x)")
fig.savefig("Q_5/figure3_reconstruction.png", dpi=120)
np.savez("Q_5/predictions.npz", x=xy[0], alpha_beta=q5.predictions)
plt.show()

# %%
show_answer("Q5", {
    "network": f"MLP 1 -> {q5.hidden[0]} -> {q5.hidden[1]} -> 2 ({q5.activation}), {q5.params} parameters",
    "symmetric Chamfer distance f(x) vs targets": f"{q5.chamfer:.3e}",
    "Hausdorff distance": f"{q5.hausdorff:.3e}",
    "orientation": q5.orientation,
    "saved": "Q_5/figure3_reconstruction.png, Q_5/predictions.npz",
})
