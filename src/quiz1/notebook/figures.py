"""Plots shared by the CLI and the notebook (copied into it like a solver)."""
# %% imports
import matplotlib.pyplot as plt
import numpy as np


# %% Q5 figure
def q5_figure(x, targets, predictions, title=""):
    """Figure 3 reconstructed: input set, x -> alpha, x -> beta, and the alpha-beta curve (predictions over targets).

    x (n,), targets (m, 2) unpaired, predictions (n, 2) = f(x).
    """
    o = np.argsort(x)
    fig, ax = plt.subplots(1, 4, figsize=(17, 3.8))
    ax[0].scatter(x, np.zeros_like(x), s=4)
    ax[0].set(title="input: (x_i, 0)", xlabel="x")
    for k, name in enumerate(("alpha", "beta")):
        ax[k + 1].plot(x[o], predictions[o, k], "-", lw=1, color="C1", label=f"{name} = f(x)")
        ax[k + 1].scatter(x, predictions[:, k], s=5, color="C1")
        ax[k + 1].set(title=f"x vs {name}", xlabel="x", ylabel=name)
        ax[k + 1].legend(loc="best", fontsize=8)
    ax[3].scatter(targets[:, 0], targets[:, 1], s=22, facecolors="none", edgecolors="C0", label="targets (alpha, beta)")
    ax[3].scatter(predictions[:, 0], predictions[:, 1], s=5, color="C1", label="f(x_i)")
    ax[3].set(title="output: alpha-beta curve", xlabel="alpha", ylabel="beta")
    ax[3].legend(loc="best", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# %% Q4 figure
def q4_latent_figure(X, Z, title="", max_points=2000):
    """Hint 3: every latent variable z_k (rows) against every original variable x_i (columns)."""
    idx = np.linspace(0, len(X) - 1, min(len(X), max_points)).astype(int)
    d, D = Z.shape[1], X.shape[1]
    fig, ax = plt.subplots(d, D, figsize=(2.6 * D, 2.2 * d), squeeze=False)
    for k in range(d):
        for i in range(D):
            ax[k, i].scatter(X[idx, i], Z[idx, k], s=2, alpha=0.6)
            ax[k, i].set_xlabel(f"x{i + 1}", fontsize=8)
            ax[k, i].set_ylabel(f"z{k + 1}", fontsize=8)
            ax[k, i].tick_params(labelsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
