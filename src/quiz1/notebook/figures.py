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
