# %% [markdown]
# ## Question 4 — exact encoders for point clouds [3 marks]

# %% [markdown]
# **Asked.** For three point clouds (`Q1Q4I1.txt`: 2-D, `Q1Q4I2.npz`: 3-D, `Q1Q4I3.npz`: 4-D) find a function that
# encodes each *exactly* into one dimension fewer (1-D, 2-D, 3-D). Exact equations get full marks; otherwise
# a neural network with as few parameters as possible (< 10,000, < 10,000, < 100,000), ranked first on loss,
# then on parameter count, and a plot of the latent variable against the original variables (hint 3).
#
# **Method: let the data state its constraints.** Nothing below knows which file it reads.
# 1. *Affine hull.* The SVD of the centred points gives the dimension $r$ of the smallest affine space holding
#    them; if $r\le d$ a linear chart is exact.
# 2. *Graphs.* If one coordinate is a polynomial of the others (least squares on all monomials up to degree 6
#    leaves only round-off), that coordinate is dropped: $E(x)=x_{\text{others}}$, $G$ recomputes it.
# 3. *Quadrics.* Otherwise we look for exact relations $\phi(x)^\top w=0$ among the degree-2 monomials
#    $\phi(x)=(1,x_i,x_ix_j)$, i.e. null vectors $w$ of the feature matrix, on the smallest groups of
#    coordinates that carry one each; coordinates in no group are free. A group's relation
#    $(x-c)^\top A(x-c)=\rho$ with $A\succeq0$ is an ellipsoid (a cylinder where $A$ is singular). With
#    $A=Q\Lambda Q^\top$, $u=\Lambda^{1/2}Q^\top(x-c)/\sqrt\rho$ lies on the unit sphere $S^{k-1}$, coded by the
#    angles $z=\operatorname{atan2}(\lVert u_{1:m-1}\rVert,u_m)$ for $m=k,\dots,3$ and $\operatorname{atan2}(u_2,u_1)$; the
#    decoder rebuilds $u$ from $\sin/\cos$ products and maps back, $x=c+Q\Lambda^{-1/2}\sqrt\rho\,u$.
#
# The chart is then checked on **every** point: $\max_i\lVert G(E(x_i))-x_i\rVert_\infty$, and we report where it is not
# injective: duplicated points, points at a pole of the sphere chart (where $\operatorname{atan2}(0,0)=0$ fixes the
# otherwise arbitrary azimuth), and points whose code another *distinct* point shares (the branch cut of
# $\operatorname{atan2}$ at $\pm\pi$ is inside the code range, so it does not merge points).
#
# **Neural route (as the quiz asks).** A plain tanh autoencoder $D\to16\to d\to16\to D$ as the baseline (widths 4 and 8
# do worse on every quiz file; `bench/q4_frontier.py` trains 4 to 32), and a
# *chart network* whose layers use the structure found above: linear maps followed by angle units
# ($\operatorname{atan2}$ of partial norms) in the encoder, $\sin/\cos$ products and a linear map in the decoder, all weights
# random at the start. Both are trained in float64 with Adam first; the baseline then with L-BFGS, the chart network
# with trust-region least squares (Gauss-Newton steps with its exact Jacobian, `scipy.optimize.least_squares`), which
# reaches round-off, from up to three random starts. The parameter count is printed.

# %% solver="quiz1.notebook.answer"
from quiz1.notebook.answer import show_answer

# %% solver="quiz1.solvers.optim"
import quiz1.solvers.optim  # noqa: F401  (Adam, L-BFGS and least squares, used by the networks below)

# %% solver="quiz1.solvers.encoders"
from quiz1.solvers.encoders import chart_formulas, chart_structure, find_chart, report

# %% solver="quiz1.solvers.neural_encoders"
from quiz1.solvers.neural_encoders import neural_search

# %% solver="quiz1.notebook.figures" cells=["Q4 figure"]
from quiz1.notebook.figures import q4_latent_figure

# %%
import matplotlib.pyplot as plt
import numpy as np
import sympy as sp
from IPython.display import display


def load_cloud(path):  # .txt: whitespace numbers; .npz: array1, else the first array
    if path.endswith(".npz"):
        z = np.load(path)
        return z["array1"] if "array1" in z.files else z[z.files[0]]
    return np.loadtxt(path, ndmin=2)


def show_equations(lines):
    for line in lines:
        lhs, rhs = line.split(" = ", 1)
        tex = sp.latex(sp.Symbol(lhs)) + " = " + sp.latex(sp.sympify(rhs))
        display({"text/latex": "$\\displaystyle " + tex + "$", "text/plain": "    " + line}, raw=True)


q4 = {}
for name in ("Q1Q4I1.txt", "Q1Q4I2.npz", "Q1Q4I3.npz"):
    X = load_cloud(f"Q_4/{name}")
    d = X.shape[1] - 1  # the quiz: 2-D -> 1-D, 3-D -> 2-D, 4-D -> 3-D
    chart = find_chart(X, d)
    rep = report(chart, X)
    q4[name] = (X, d, chart, rep)
    print(f"\n{name}: {X.shape[0]} points in {X.shape[1]}-D -> {d}-D code; exact chart: {rep.exact}")
    if chart is not None:
        print("  structure:", "; ".join(rep.describe))
        enc, dec = chart_formulas(chart)
        print("  encoder E:")
        show_equations(enc)
        print("  decoder G:")
        show_equations(dec)
        print(f"  max |G(E(x)) - x| over all points = {rep.max_reconstruction_error:.2e}")
        print(f"  duplicated points: {rep.duplicate_points}; at a pole of the chart: {rep.singular_points}; "
              f"points sharing a code with a distinct point: {rep.shared_codes}")

# %%
q4_nn = {}
for name, (X, d, chart, _) in q4.items():
    rows = neural_search(X, d, chart_structure(chart) if chart is not None else None)
    q4_nn[name] = rows
    print(f"\n{name}: networks ranked by reconstruction MSE, then parameters")
    print(f"  {'network':<40}{'parameters':>11}{'MSE':>12}{'seconds':>9}")
    for r in rows:
        print(f"  {r.family:<40}{r.params:>11}{r.mse:>12.3e}{r.seconds:>9.1f}")
    best = rows[0]
    print(f"  number of parameters of the chosen network: {sum(p.numel() for p in best.net.parameters())}")

# %%
import torch

for name, (X, _, chart, _) in q4.items():
    stem = name.split(".")[0]
    if chart is not None:
        fig = q4_latent_figure(X, chart.encode(X), f"{name}: exact code z = E(x) against x")
        fig.savefig(f"Q_4/{stem}_latent_exact.png", dpi=100)
        plt.show()
    net = q4_nn[name][0].net
    with torch.no_grad():
        xt = torch.tensor(X, dtype=torch.float64)
        Z = (net.encode(xt) if hasattr(net, "encode") else net[:3](xt)).numpy()
    fig = q4_latent_figure(X, Z, f"{name}: latent of the best network ({q4_nn[name][0].family})")
    fig.savefig(f"Q_4/{stem}_latent_network.png", dpi=100)
    plt.show()

# %%
rows = {}
for name, (X, d, chart, rep) in q4.items():
    best = q4_nn[name][0]
    if chart is not None:
        enc, _ = chart_formulas(chart)
        rows[f"{name} ({X.shape[1]}-D -> {d}-D), exact"] = (
            f"{rep.exact}: " + "; ".join(enc)
            + f"  (max reconstruction error {rep.max_reconstruction_error:.1e})")
    else:
        rows[f"{name} ({X.shape[1]}-D -> {d}-D), exact"] = "no exact chart found"
    rows[f"{name}, network"] = f"{best.family}: {best.params} parameters, MSE {best.mse:.2e}"
show_answer("Q4", rows, note="Plots of the codes against the original variables are above and in Q_4/.")
