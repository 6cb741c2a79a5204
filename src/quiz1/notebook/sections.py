"""The notebook's sections: the words (Markdown + LaTeX) and the driver cells per question.

Solver code is never written here; it comes from the solver modules through
``code_from``. Driver cells only load the files (relative paths, so the
unzipped folder runs as is), call the solvers, print, plot and highlight.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .build import BuildContext, code, code_from, md


@dataclass(frozen=True)
class Question:
    number: int
    title: str
    marks: str
    make: Callable[[BuildContext], list] | None  # None: not answered yet

    def heading(self) -> str:
        return f"## Question {self.number} — {self.title} [{self.marks}]"

    def cells(self, ctx: BuildContext) -> list:
        if self.make is None:
            return [md(f"""
                {self.heading()}

                > ⚠️ **Not answered yet.** This version of quiz1 does not solve Question {self.number};
                > the section is here so that the notebook's structure is complete and honest.
                """, question=f"Q{self.number}", status="pending")]
        return [md(self.heading(), question=f"Q{self.number}", status="answered")] + self.make(ctx)


def preamble(ctx: BuildContext) -> list:
    assumptions = "\n".join(f"- {a}" for a in ctx.assumptions) or "- none beyond those stated in each question"
    return [
        md(f"""
            # CS5242 (Aug 2023) Quiz 1 — {ctx.student_id}

            This notebook is self-contained: run it from the unzipped folder (`Q_1/ Q_4/ Q_5/ Q_6/` beside it)
            with *Run All*; it needs only third-party libraries (numpy, torch, …). Every required answer is
            shown in a green **Answer** box.

            **Data.** {ctx.data_description}

            **Assumptions made.**
            {assumptions}

            The code cells were generated from the `quiz1` package's own modules; the first line of each
            names the file it comes from.
            """),
        code("""
            # setup shared by every question
            import numpy as np
            import matplotlib.pyplot as plt

            np.set_printoptions(precision=6, suppress=False, linewidth=110)
            """),
        *code_from("quiz1.notebook.answer"),
        *code_from("quiz1.solvers.optim"),
    ]


# --------------------------------------------------------------------------
# Q1


def _q1(ctx: BuildContext) -> list:
    return [
        md(r"""
            **Asked.** For $N$ data points with $M=100$ logits $z\in\mathbb R^M$ and one-hot labels $y$, compute
            the softmax $p_i = \exp(z_i)/\sum_j \exp(z_j)$ and the cross-entropy $\mathcal L = -\sum_i y_i \ln p_i$
            from scratch (numpy only; `numpy.exp` allowed).

            **Why the formula cannot be used as written.** The logits here are in the hundreds to thousands, and
            `np.exp(z)` overflows to `inf` for $z > 709.78$ in float64, so $p = \text{inf}/\text{inf} = \text{nan}$.

            **Method: shift by the row maximum, work in log space.** Let $m=\max_j z_j$. For any constant $c$,
            $$p_i=\frac{e^{z_i}}{\sum_j e^{z_j}}=\frac{e^{-c}\,e^{z_i}}{e^{-c}\sum_j e^{z_j}}=\frac{e^{z_i-c}}{\sum_j e^{z_j-c}},$$
            so taking $c=m$ changes nothing mathematically. After the shift every exponent is $\le 0$, so no
            term overflows, and the term of the maximum is $e^0=1$, so the sum lies in $[1, M]$ and its
            logarithm is finite and $\ge 0$. In log space (log-sum-exp),
            $$\ln p_i = (z_i - m) - \ln \sum_j e^{z_j - m}, \qquad
              \mathcal L = -\sum_i y_i \ln p_i \overset{y\ \text{one-hot, class } c}{=} \ln\sum_j e^{z_j-m} + m - z_c .$$
            Computing $\ln p$ directly (instead of $\ln$ of a $p$ that may underflow to 0) keeps the loss exact
            even when $p_c$ is below the smallest double: only classes with $y_i>0$ enter the sum, so
            $0\cdot\ln 0$ never appears.
            """),
        *code_from("quiz1.solvers.softmax_ce"),
        code("""
            logits = np.loadtxt("Q_1/data.txt")
            labels = np.loadtxt("Q_1/labels.txt")
            print("logits", logits.shape, f"range [{logits.min():.2f}, {logits.max():.2f}]", "| labels", labels.shape)

            with np.errstate(over="ignore", invalid="ignore"):
                naive = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
            print("naive formula: non-finite entries of p =", int((~np.isfinite(naive)).sum()), "of", naive.size)

            q1 = softmax_cross_entropy(logits, labels)
            print("stable softmax: rows of p sum to 1 within", float(np.abs(q1.p.sum(axis=1) - 1).max()))
            print("\\nper-sample cross-entropy loss:")
            for n, loss in enumerate(q1.per_sample):
                print(f"  sample {n:3d}  class {int(labels[n].argmax()):3d}  p_class = {q1.p[n, labels[n].argmax()]:.6e}  loss = {loss:.12f}")
            """),
        code("""
            show_answer("Q1", {
                "mean cross-entropy loss over the samples": f"{q1.mean:.12f}",
                "total (sum) cross-entropy loss": f"{q1.total:.12f}",
                "samples N x classes M": f"{logits.shape[0]} x {logits.shape[1]}",
            }, note="Per-sample losses are listed above; p is q1.p (rows sum to 1).")
            """),
    ]


# --------------------------------------------------------------------------
# Q2


def _q2(ctx: BuildContext) -> list:
    from ..data.loaders import figure1_dot
    from ..solvers.compute_graph import claim_tolerance, parse_torchviz, search

    dot_text = figure1_dot()
    # the program shown as the answer code is generated now, by the same solver the notebook runs below
    natural = search(parse_torchviz(dot_text, "Figure 1"), [1, 2, 3], [7, 11, 17], [4, 5, 6], 5.0,
                     claim_tolerance(["7", "11", "17"]))
    return [
        md(r"""
            **Asked.** Write the code that generates the compute tree of Figure 1, using 5 wherever an operation needs a
            constant. The statement adds: with all inputs $[1,2,3]$ the output is $[7,11,17]$. Compute the output with
            all inputs $[4,5,6]$.

            **What a drawing leaves open.** torchviz draws one box per autograd node and one arrow per tensor
            input; it does not show operand order, on which side a constant sits, or `torch.add`/`torch.sub`'s
            `alpha`. So several programs draw the same picture, and the claim is what should single one out.

            **Method.** Figure 1 is transcribed by hand into torchviz's own DOT text (three leaves of shape (3) through
            `AccumulateGrad`, eleven operations). The solver lists, per node, every way of writing it that torch draws
            with that label (one-input nodes take the constant 5 — `5 - t` and `5 / t` would draw different nodes, so
            they are excluded), searches all combinations exactly (merging partial programs that leave identical
            values behind), keeps those whose output matches the claim to the claim's own precision, and proves the
            shape by calling `make_dot` on the chosen program and testing graph isomorphism (networkx, node labels
            matched).
            """),
        *code_from("quiz1.solvers.compute_graph"),
        code(f"""
            # Figure 1, transcribed by hand into torchviz DOT (package file quiz1/data/figure1.dot)
            FIGURE1_DOT = {dot_text!r}
            """),
        code("""
            from IPython.display import Markdown, display

            fig1 = parse_torchviz(FIGURE1_DOT, "Figure 1")
            q2 = search(fig1, [1, 2, 3], [7, 11, 17], [4, 5, 6], constant=5.0, tol=claim_tolerance(["7", "11", "17"]))
            print(f"Figure 1: {len(fig1.leaves)} leaves, {len(fig1.ops)} operations; programs tried: {q2.candidates}; "
                  f"reproducing the claim: {q2.consistent}; isomorphic to the figure: {q2.isomorphic}")
            display(Markdown(audit_markdown(q2, [1, 2, 3], [7, 11, 17], [4, 5, 6])))
            """),
        md("""
            **The code for Figure 1** — generated from the graph by `program_code` (natural reading: operands in the
            drawn order, constants on the right). Its `make_dot` drawing is shown under it.
            """),
        code(f"""
            # generated by quiz1 (quiz1/solvers/compute_graph.py: program_code) from Figure 1
            import torch
            from torchviz import make_dot


            {natural.code.replace(chr(10), chr(10) + " " * 12)}


            def print_compute_tree(name, node):  # the quiz's checking helper (writes name + name.pdf)
                dot = make_dot(node)
                dot.render(name)


            leaves = [torch.tensor([1.0, 2.0, 3.0], requires_grad=True) for _ in range(3)]
            out = compute_tree(*leaves)
            print("output with all inputs [1, 2, 3]:", out.tolist())
            assert is_isomorphic(fig1, out), "the drawing differs from Figure 1"
            try:
                display(make_dot(out))
            except Exception as e:  # graphviz's `dot` program missing: show the text instead
                print(f"(cannot render: {{e}})\\n" + make_dot(out).source)
            """),
        code("""
            out_456 = compute_tree(*[torch.tensor([4.0, 5.0, 6.0], requires_grad=True) for _ in range(3)])
            fmt = lambda v: "[" + ", ".join(f"{e:.6g}" for e in v) + "]"
            rows = {"output at [4, 5, 6] (Figure 1's output, natural reading)": fmt(out_456.tolist())}
            if q2.consistent:
                rows["outputs at [4, 5, 6] of the programs matching the claim"] = "; ".join(fmt(e) for e in q2.eval_outputs)
            else:
                rows["claim [7, 11, 17] at [1, 2, 3]"] = f"reproduced by none of the {q2.candidates} programs drawn as Figure 1"
                for cn in q2.claim_nodes:
                    rows[f"node {cn['node']} ({cn['label']}) takes the claimed values; at [4, 5, 6]"] = " or ".join(
                        fmt(e) for e in cn["eval_outputs"])
            rows["make_dot isomorphic to Figure 1"] = q2.isomorphic
            show_answer("Q2", rows)
            """),
    ]


# --------------------------------------------------------------------------
# Q3


def _q3(ctx: BuildContext) -> list:
    return [
        md(r"""
            **Asked.** The gradient of the cross-entropy on a sigmoid output with respect to one input
            $X = (x_1, x_2, x_3)^T$ for the network of Figure 2, with label $y$.

            **The network, transcribed from Figure 2** (no biases are drawn, so there are none; a remark on
            biases follows). $W^{(1)}_{ij}$ is the weight from $x_i$ to $f_j$, $W^{(2)}_{j1}$ the weight from $f_j$ to $k_1$:
            $$f_j=\sum_{i=1}^{3}W^{(1)}_{ij}x_i\ (j=1,2),\qquad k_1=W^{(2)}_{11}f_1+W^{(2)}_{21}f_2,\qquad
              s=\operatorname{ReLU}(f_1)+k_1+\operatorname{ReLU}(f_2),$$
            $$\hat y=\sigma(s)=\frac{1}{1+e^{-s}},\qquad \mathcal L=-\big[y\ln\hat y+(1-y)\ln(1-\hat y)\big].$$

            **Chain rule, step by step.**
            1. Loss to prediction: $\dfrac{\partial\mathcal L}{\partial\hat y}=-\dfrac{y}{\hat y}+\dfrac{1-y}{1-\hat y}=\dfrac{\hat y-y}{\hat y(1-\hat y)}$.
            2. Sigmoid: $\sigma'(s)=\sigma(s)\big(1-\sigma(s)\big)$, so $\dfrac{\partial\mathcal L}{\partial s}=\dfrac{\hat y-y}{\hat y(1-\hat y)}\,\hat y(1-\hat y)=\sigma(s)-y$.
            3. The sum node: $f_j$ reaches $s$ along two paths, through $\operatorname{ReLU}(f_j)$ and through $k_1$:
               $\dfrac{\partial s}{\partial f_j}=\operatorname{ReLU}'(f_j)+W^{(2)}_{j1}=\mathbb 1[f_j>0]+W^{(2)}_{j1}$
               (at the kink $f_j=0$ we use $\operatorname{ReLU}'(0)=0$, torch's convention).
            4. Linear layer: $\dfrac{\partial f_j}{\partial x_i}=W^{(1)}_{ij}$.

            Multiplying along every path and summing over $j$:
            $$\boxed{\ \frac{\partial\mathcal L}{\partial x_i}=\big(\sigma(s)-y\big)\sum_{j=1}^{2}W^{(1)}_{ij}\Big(\mathbb 1[f_j>0]+W^{(2)}_{j1}\Big)\ }
              \qquad\text{i.e.}\qquad
              \boxed{\ \nabla_X\mathcal L=\big(\sigma(s)-y\big)\,W^{(1)}\big(\mathbb 1[f>0]+w^{(2)}\big)\ }$$
            with $W^{(1)}\in\mathbb R^{3\times2}$, $f=W^{(1)\top}X$, $w^{(2)}=(W^{(2)}_{11},W^{(2)}_{21})^\top$ and the indicator taken
            entrywise. The same steps give the weight gradients
            $\dfrac{\partial\mathcal L}{\partial W^{(1)}_{ij}}=(\sigma(s)-y)\,x_i\big(\mathbb 1[f_j>0]+W^{(2)}_{j1}\big)$ and
            $\dfrac{\partial\mathcal L}{\partial W^{(2)}_{j1}}=(\sigma(s)-y)\,f_j$.

            *Remark (biases).* With biases $f_j=\sum_iW^{(1)}_{ij}x_i+b_j$ (and any bias on $k_1$), $\nabla_X\mathcal L$ keeps exactly
            the form above (biases only move the indicators), and $\partial\mathcal L/\partial b_j=(\sigma(s)-y)(\mathbb 1[f_j>0]+W^{(2)}_{j1})$.

            **Checked two ways below:** sympy differentiates the loss itself and proves its result equal to these closed
            forms; torch autograd (float64) is compared with them at 200 random points, most with some $f_j<0$.
            """),
        *code_from("quiz1.solvers.symbolic_grad"),
        code("""
            from IPython.display import Math, display

            q3 = derive()
            print("sympy proves the closed forms equal to its own derivatives:", q3.proven_equal)
            lhs = {"dL_ds": r"\\frac{\\partial\\mathcal L}{\\partial s}", "dL_dx": r"\\nabla_X\\mathcal L",
                   "dL_dW1": r"\\frac{\\partial\\mathcal L}{\\partial W^{(1)}}", "dL_dW2": r"\\frac{\\partial\\mathcal L}{\\partial w^{(2)}}"}
            for name, left in lhs.items():
                display(Math(left + " = " + q3.latex[name]))
            q3_check = check_against_autograd(200)
            print(q3_check)
            """),
        code("""
            show_answer("Q3", {
                "dL/dx_i": "(sigma(s) - y) * sum_j W1_ij * (1[f_j > 0] + W2_j1),  f_j = sum_i W1_ij x_i,  s = ReLU(f1) + W2_11 f1 + W2_21 f2 + ReLU(f2)",
                "vector form": "grad_X L = (sigma(s) - y) * W1 @ (1[f > 0] + w2)   (W1 is 3x2)",
                "sympy proof": q3.proven_equal,
                "max |closed form - autograd|": f"{q3_check['max_abs_error']:.2e} over {q3_check['points_checked']} points",
            })
            """),
    ]


# --------------------------------------------------------------------------
# Q4


def _q4(ctx: BuildContext) -> list:
    return [
        md(r"""
            **Asked.** For three point clouds (`Q1Q4I1.txt`: 2-D, `Q1Q4I2.npz`: 3-D, `Q1Q4I3.npz`: 4-D) find a function that
            encodes each *exactly* into one dimension fewer (1-D, 2-D, 3-D). Exact equations get full marks; otherwise
            a neural network with as few parameters as possible (< 10,000, < 10,000, < 100,000), ranked first on loss,
            then on parameter count, and a plot of the latent variable against the original variables (hint 3).

            **Method: let the data state its constraints.** Nothing below knows which file it reads.
            1. *Affine hull.* The SVD of the centred points gives the dimension $r$ of the smallest affine space holding
               them; if $r\le d$ a linear chart is exact.
            2. *Graphs.* If one coordinate is a polynomial of the others (least squares on all monomials up to degree 6
               leaves only round-off), that coordinate is dropped: $E(x)=x_{\text{others}}$, $G$ recomputes it.
            3. *Quadrics.* Otherwise we look for exact relations $\phi(x)^\top w=0$ among the degree-2 monomials
               $\phi(x)=(1,x_i,x_ix_j)$, i.e. null vectors $w$ of the feature matrix, on the smallest groups of
               coordinates that carry one each; coordinates in no group are free. A group's relation
               $(x-c)^\top A(x-c)=\rho$ with $A\succeq0$ is an ellipsoid (a cylinder where $A$ is singular). With
               $A=Q\Lambda Q^\top$, $u=\Lambda^{1/2}Q^\top(x-c)/\sqrt\rho$ lies on the unit sphere $S^{k-1}$, coded by the
               angles $z=\operatorname{atan2}(\lVert u_{1:m-1}\rVert,u_m)$ for $m=k,\dots,3$ and $\operatorname{atan2}(u_2,u_1)$; the
               decoder rebuilds $u$ from $\sin/\cos$ products and maps back, $x=c+Q\Lambda^{-1/2}\sqrt\rho\,u$.

            The chart is then checked on **every** point: $\max_i\lVert G(E(x_i))-x_i\rVert_\infty$, and we report where it is not
            injective: duplicated points, points at a pole of the sphere chart (where $\operatorname{atan2}(0,0)=0$ fixes the
            otherwise arbitrary azimuth), and points whose code another *distinct* point shares (the branch cut of
            $\operatorname{atan2}$ at $\pm\pi$ is inside the code range, so it does not merge points).

            **Neural route (as the quiz asks).** Plain tanh autoencoders $D\to h\to d\to h\to D$ for a few widths, and a
            *chart network* whose layers use the structure found above: linear maps followed by angle units
            ($\operatorname{atan2}$ of partial norms) in the encoder, $\sin/\cos$ products and a linear map in the decoder, all weights
            random at the start. Both are trained with Adam then L-BFGS in float64; the parameter count is printed.
            """),
        *code_from("quiz1.solvers.encoders"),
        *code_from("quiz1.solvers.neural_encoders"),
        *code_from("quiz1.notebook.figures", "Q4 figure"),
        code("""
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
                    display({"text/latex": "$\\\\displaystyle " + tex + "$", "text/plain": "    " + line}, raw=True)


            q4 = {}
            for name in ("Q1Q4I1.txt", "Q1Q4I2.npz", "Q1Q4I3.npz"):
                X = load_cloud(f"Q_4/{name}")
                d = X.shape[1] - 1  # the quiz: 2-D -> 1-D, 3-D -> 2-D, 4-D -> 3-D
                chart = find_chart(X, d)
                rep = report(chart, X)
                q4[name] = (X, d, chart, rep)
                print(f"\\n{name}: {X.shape[0]} points in {X.shape[1]}-D -> {d}-D code; exact chart: {rep.exact}")
                if chart is not None:
                    print("  structure:", "; ".join(rep.describe))
                    enc, dec = chart_formulas(chart)
                    print("  encoder E:"); show_equations(enc)
                    print("  decoder G:"); show_equations(dec)
                    print(f"  max |G(E(x)) - x| over all points = {rep.max_reconstruction_error:.2e}")
                    print(f"  duplicated points: {rep.duplicate_points}; at a pole of the chart: {rep.singular_points}; "
                          f"points sharing a code with a distinct point: {rep.shared_codes}")
            """),
        code("""
            q4_nn = {}
            for name, (X, d, chart, rep) in q4.items():
                rows = neural_search(X, d, chart_structure(chart) if chart is not None else None)
                q4_nn[name] = rows
                print(f"\\n{name}: networks ranked by reconstruction MSE, then parameters")
                print(f"  {'network':<40}{'parameters':>11}{'MSE':>12}{'seconds':>9}")
                for r in rows:
                    print(f"  {r.family:<40}{r.params:>11}{r.mse:>12.3e}{r.seconds:>9.1f}")
                best = rows[0]
                print(f"  number of parameters of the chosen network: {sum(p.numel() for p in best.net.parameters())}")
            """),
        code("""
            import torch

            for name, (X, d, chart, rep) in q4.items():
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
            """),
        code("""
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
            """),
    ]


# --------------------------------------------------------------------------
# Q5


def _q5(ctx: BuildContext) -> list:
    return [
        md(r"""
            **Asked.** Two sets are given with the pairing destroyed: inputs $\{x_i\}$ (`xy.npz`, row 0; row 1 is 0) and
            outputs $\{(\alpha_j,\beta_j)\}$ (`ab.npz`). They are related by $(\alpha_i,\beta_i)=f(x_i)$. Learn $f$ with an MLP
            with a 1-D input, two hidden layers with an activation, and a 2-D output, and plot $x$ against
            $(\alpha,\beta)$ to reconstruct Figure 3.

            **Why not just match distributions.** Losses between the two sets (Chamfer, Sinkhorn, optimal-transport
            re-matching from a random start) are minimised by *any* $f$ whose image covers the target curve, including
            ones that run along it in the wrong order; from a random start they typically stall in such a folded
            minimum (see `bench/q5_unpaired.py`: RMSE against the true pairing $\sim 10^{-1}$).

            **Method: recover the correspondence from the geometry.**
            1. The targets lie on a curve traced by the monotone parameter $x$. Order them along the curve: the shortest
               open path through the points (greedy chain from an end of the minimum spanning tree's diameter,
               improved by 2-opt).
            2. Pair the $k$-th smallest $x$ with the point at fraction $k/(n-1)$ along the ordered curve, and fit the
               MLP by least squares (Adam, then L-BFGS, float64):
               $\min_\theta \frac1n\sum_i \lVert f_\theta(x_i)-t_{\pi(i)}\rVert^2$.
            3. Refine: re-match predictions to targets exactly, $\pi=\arg\min_\pi\sum_i\lVert f_\theta(x_i)-t_{\pi(i)}\rVert$
               (Hungarian algorithm), and refit; twice. (With sets of different sizes, a one-sided Chamfer loss instead.)

            **Orientation.** $f$ and $f$ run backwards along the curve, $\tilde f(x)=f(x_{\min}+x_{\max}-x)$, give exactly the same
            two sets when the $x$ set is symmetric, so no method can tell them apart from the data. The tool picks the
            orientation whose speed $\lVert\Delta t\rVert/\Delta x$ is smoother; on a tie it uses a stated convention
            (the smallest $x$ maps to the curve end with the smaller $\alpha$). The target set is shuffled (seeded) before
            anything else, so the stored order is never used.

            The activation is chosen by the data: ReLU first (a ReLU MLP represents a piecewise-linear $f$ exactly), tanh
            too if ReLU leaves a relative error above $10^{-7}$.
            """),
        *code_from("quiz1.solvers.unpaired"),
        *code_from("quiz1.notebook.figures", "imports", "Q5 figure"),
        code("""
            xy = np.load("Q_5/xy.npz")["arr_0"]   # (2, N): x and y = 0
            ab = np.load("Q_5/ab.npz")["arr_0"]   # (2, M): alpha and beta, order unknown
            print("xy", xy.shape, "ab", ab.shape)
            q5 = learn_unpaired(xy[0], ab, seed=0)
            print("\\n".join(q5.log))
            print(f"architecture: 1 -> {q5.hidden[0]} -> {q5.hidden[1]} -> 2, activation {q5.activation}")
            print("number of parameters:", sum(p.numel() for p in q5.net.parameters()))
            print(f"Chamfer {q5.chamfer:.3e}   Hausdorff {q5.hausdorff:.3e}   time {q5.seconds:.1f} s")
            print("orientation:", q5.orientation)
            print(q5.net)
            """),
        code("""
            fig = q5_figure(xy[0], ab.T, q5.predictions, "Figure 3 reconstructed: x -> (alpha, beta) = f(x)")
            fig.savefig("Q_5/figure3_reconstruction.png", dpi=120)
            np.savez("Q_5/predictions.npz", x=xy[0], alpha_beta=q5.predictions)
            plt.show()
            """),
        code("""
            show_answer("Q5", {
                "network": f"MLP 1 -> {q5.hidden[0]} -> {q5.hidden[1]} -> 2 ({q5.activation}), {q5.params} parameters",
                "symmetric Chamfer distance f(x) vs targets": f"{q5.chamfer:.3e}",
                "Hausdorff distance": f"{q5.hausdorff:.3e}",
                "orientation": q5.orientation,
                "saved": "Q_5/figure3_reconstruction.png, Q_5/predictions.npz",
            })
            """),
    ]


# --------------------------------------------------------------------------
# Q6


def _q6_defaults() -> dict:
    """The attack's own defaults, as the Q6 Markdown quotes them (so the text cannot drift from the code)."""
    import inspect

    from ..solvers.adversarial import min_norm_attack

    d = {k: v.default for k, v in inspect.signature(min_norm_attack).parameters.items()}
    words = {2: "two", 4: "four", 6: "six", 8: "eight", 16: "sixteen"}
    return {
        "restarts_word": words.get(d["restarts"], str(d["restarts"])),
        "temperatures": r",\,".join(f"{t:g}" for t in d["temperature"]),
        "noise": r",\,".join(f"{n:g}" for n in d["noise"]),
        "steps": str(d["steps"]),
        "halve_pct": f"{100 * d['halve_at']:g}",
        "stall_pct": f"{100 * d['stall'][0]:g}",
        "stall_T": f"{d['stall'][1]:g}",
        "track_pct": f"{100 * d['track_uint8']:g}",
        "gamma_from": f"{100 * d['gamma'][0]:g}",
        "gamma_to": f"{100 * d['gamma'][1]:g}",
    }


def _q6(ctx: BuildContext) -> list:
    q = _q6_defaults()
    return [
        md(r"""
            **Asked.** A model $M$ classifies MNIST digits. Change `I0.png` and `I1.png` as little as possible so that $M$
            classifies $I0'$ as digit 1 and $I1'$ as digit 7, with $\lVert I-I'\rVert_2<\epsilon=0.1$ "on 8-bit grayscale
            images", by optimising $I0'=\arg\min\lVert p_1-1\rVert_2^2$ (eq. 7) and $I1'=\arg\min\lVert p_0-1\rVert_2^2$ (eq. 8).

            **The statement contradicts itself.** The text asks for $I1'$ to be read as **7**, equation (8) as **0**. Both
            readings are answered below: $I0\to1$, $I1\to0$ (eq. 8) and $I1\to7$ (text).

            **The model.** """ + ctx.model_description + r"""
            Its architecture is the quiz's `CustomModel`: torchvision's ResNet-18 with a one-channel $7\times7$, stride-2
            first convolution and a `Linear(1000, 10)` after the ResNet's own 1000-way layer; inputs are the 8-bit pixels
            divided by 255, no normalisation.

            **Method.** We minimise the quiz's objective $\lVert p_t-1\rVert^2$ over the image and look for the smallest
            radius at which it succeeds. Its gradient,
            $\nabla_x(p_t-1)^2=-2(1-p_t)\,p_t\,\nabla_x\log p_t$, vanishes where the softmax saturates ($p_t\approx0$ at the
            start, $p_t\approx1$ at the end), which is why plain projected descent stalls at about twice the smallest norm.
            Four changes fix that without leaving the objective:

            1. each step is normalised (steepest descent in $L_2$): its direction is exactly that of $-\nabla_x\log p_t$,
               computed in log space, and the scalar $2(1-p_t)p_t>0$ no longer matters;
            2. the radius is searched (DDN, Rony et al. 2019; FMN, Pintor et al. 2021): $\epsilon$ shrinks while
               $\arg\max p=t$ and grows while not, by a factor annealed from """ + q["gamma_from"] + r"""% to """ + q["gamma_to"] + r"""%; the smallest success is kept;
            3. **assumption, stated:** $p$ is read at a temperature $T$, $p=\mathrm{softmax}(z/T)$, with
               $T=""" + q["temperatures"] + r"""$ in the """ + q["restarts_word"] + r""" restarts, in turn. Which images
               succeed ($\arg\max z=t$) does not depend on $T$, only the step direction does: at $T=1$,
               $-\nabla\log p_t$ pulls against every class in proportion to its probability, as $T\to0$ against the
               nearest competitor only, which reaches the decision boundary sooner (`bench/q6_attacks.py` measures
               the difference with a $T=1$ ablation against DDN, FMN, ALMA, CW and PGD). Following the nearest
               competitor can also stall short of the target, so a run that has not once reached it after
               """ + q["stall_pct"] + r"""% of the steps starts again at $T=""" + q["stall_T"] + r"""$;
            4. pixels stay in $[0,1]$ by the exact projection onto the ball and the box together, and gradient
               components that would push a pixel already at 0 or 1 outwards are dropped before normalising.

            The """ + q["restarts_word"] + r""" restarts (random starts, $\sigma\in\{""" + q["noise"] + r"""\}$ in equal shares) run as one batch for """ + q["steps"] + r"""
            steps; after """ + q["halve_pct"] + r"""% of them only the half with the smallest successes goes on (the runs of one image
            end in local minima up to a few percent apart, so more starts find a smaller one); during the last
            """ + q["track_pct"] + r"""% the 8-bit rounding of every other iterate is classified in the same pass and the smallest rounded
            success is kept as a candidate too.
            The search runs on an exact copy of $M$ made for $28\times28$ inputs (`specialise`): batch norms folded into
            the convolutions, kernel taps that only ever meet padding removed (ResNet-18's last stage sees $2\times2$
            and $1\times1$ maps, so most of its $3\times3$ kernels multiply zeros), and each convolution on a map with
            no more pixels than its kernel (the $3\times3$ kernels on layer3's $2\times2$ maps) written as the one matrix
            it is. It is the same function up to float rounding and about twice as fast; $M$ itself classifies every
            image we report.
            **The result must survive saving**: the image is rounded to 8 bits, re-classified, and if rounding broke it
            the perturbation is rescaled and re-rounded (several rounding thresholds) and the smallest 8-bit image still classified as the target is kept; all
            norms below are of the rounded image.
            """),
        *code_from("quiz1.solvers.mnist_model", "imports", "the model"),
        *code_from("quiz1.solvers.adversarial"),
        code(f"""
            from PIL import Image

            TRUST_MODEL = {ctx.trust_model!r}  # True only if built with --trust-model: unpickling a whole model runs its code
            model = load_model("Q_6/model.pth", trust_pickle=TRUST_MODEL)
            I0 = np.array(Image.open("Q_6/I0.png"))
            I1 = np.array(Image.open("Q_6/I1.png"))
            for name, p in zip(("I0", "I1"), predict_proba(model, np.stack([I0, I1]))):
                print(f"M on the original {{name}}: predicted {{p.argmax()}}   p = {{np.array2string(p, precision=4, suppress_small=True)}}")
            """),
        code("""
            cases = [("I0", I0, 1, "eq. (7) and the text"), ("I1", I1, 0, "eq. (8)"), ("I1", I1, 7, "the text")]
            q6 = {}
            for name, img, t, why in cases:
                r = attack(model, img, t)
                q6[(name, t)] = r
                Image.fromarray(r.adv_u8).save(f"Q_6/{name}_adv_target{t}.png")
                print(f"{name} -> {t} ({why}): M says {r.pred_after_uint8} with p_{t} = {r.p_target:.4f}; "
                      f"L2 = {r.l2_uint8:.4f} ([0,1] units) = {r.l2_255:.1f} (0..255 units); {r.seconds:.1f} s")
            """),
        code("""
            fig, axes = plt.subplots(len(cases), 3, figsize=(8.5, 2.9 * len(cases)))
            for row, (name, img, t, why) in zip(axes, cases):
                r = q6[(name, t)]
                p0 = predict_proba(model, img[None])[0]
                diff = r.adv_u8.astype(int) - img.astype(int)
                row[0].imshow(img, cmap="gray", vmin=0, vmax=255)
                row[0].set_title(f"{name}: M says {p0.argmax()} (p={p0.max():.3f})", fontsize=9)
                row[1].imshow(r.adv_u8, cmap="gray", vmin=0, vmax=255)
                row[1].set_title(f"{name}' (target {t}): M says {r.pred_after_uint8}, p_{t}={r.p_target:.3f}", fontsize=9)
                m = max(1, np.abs(diff).max())
                row[2].imshow(diff, cmap="seismic", vmin=-m, vmax=m)
                row[2].set_title(f"{name}' - {name}: L2 = {r.l2_uint8:.3f}", fontsize=9)
                for a in row:
                    a.axis("off")
            fig.tight_layout()
            fig.savefig("Q_6/adversarial_examples.png", dpi=110)
            plt.show()
            """),
        code("""
            print(f"{'case':<10}{'pred':>5}{'p_t':>8}{'L2 [0,1]':>10}{'L2 0..255':>11}{'RMS':>8}{'success':>9}")
            for (name, t), r in q6.items():
                print(f"{name}->{t:<6}{r.pred_after_uint8:>5}{r.p_target:>8.3f}{r.l2_uint8:>10.4f}{r.l2_255:>11.2f}"
                      f"{r.rms:>8.4f}{str(r.success):>9}")
            print("\\nIs ||I - I'||_2 < 0.1 attainable? (smallest L2 found, per reading of the units)")
            for (name, t), r in q6.items():
                verdict = "; ".join(f"{v['reading']}: {v['value']:.4g} -> {'yes' if v['attainable'] else 'no'}"
                                    for v in epsilon_verdict(r.l2_uint8))
                print(f"  {name}->{t}: {verdict}")
            """),
        code("""
            from IPython.display import Markdown, display

            best = {f"{name}->{t}": epsilon_verdict(r.l2_uint8) for (name, t), r in q6.items()}
            ok = {v["reading"]: all(rows[i]["attainable"] for rows in best.values()) for i, v in enumerate(next(iter(best.values())))}
            lines = [f"- **{reading}**: " + ("attainable for every case" if good else "not attainable: the smallest change found is "
                     + ", ".join(f"{k}: {rows[i]['value']:.3g}" for k, rows in best.items()))
                     for i, (reading, good) in enumerate(ok.items())]
            display(Markdown(r"**The $\\epsilon = 0.1$ verdict**, from the smallest uint8 changes found above "
                             r"(in 0..255 units any change at all has $L_2 \\ge 1$):" + "\\n\\n" + "\\n".join(lines)))
            """),
        md(r"""
            **The quiz's literal problem.** Read as written, equations (5)-(8) ask for the image *inside* the ball that
            drives $p_t$ to 1: $I'=\arg\min_{\lVert I-I'\rVert_2\le\epsilon}\lVert p_t-1\rVert^2$, whether or not
            $\arg\max p=t$ is reached. `ball_attack` solves it by projected normalised descent on $-\log p_t$ at $T=1$
            (the same minimisers as $(p_t-1)^2$, without its vanishing gradient), from $\delta=0$ and random points of
            the ball, onto the exact ball-and-box projection; `to_uint8_within` then keeps the 8-bit image **inside the
            ball after rounding** with the largest $p_t$ (rounded scalings of $\delta$, and $\delta$ kept on its $k$
            largest pixels, since a small ball holds a few whole grey levels better than many fractions that round
            away). It is answered for each reading of $\epsilon$ whose ball holds an 8-bit change: $L_2\le0.1$ in
            $[0,1]$ units, and a per-pixel RMS of 0.1, i.e. $L_2\le0.1\sqrt{784}=2.8$ (in 0..255 units no change
            fits: one grey level already has $L_2=1$). $M$ judges every saved image; the table reports what it says,
            target reached or not.
            """),
        code("""
            readings = [("L2 <= 0.1 in [0,1] units", 0.1, "eps0.1"), ("per-pixel RMS <= 0.1 (L2 <= 2.8)", 2.8, "rms0.1")]
            q6_ball = {}
            for name, img, t, why in cases:
                for reading, eps, tag in readings:
                    r = attack(model, img, t, eps=eps)
                    q6_ball[(name, t, tag)] = (reading, r)
                    Image.fromarray(r.adv_u8).save(f"Q_6/{name}_adv_target{t}_{tag}.png")
            print(f"{'case':<8}{'answer':<48}{'M says':>7}{'p_t':>9}{'(p_t-1)^2':>11}{'L2 [0,1]':>10}{'inside':>8}")
            for (name, t), r in q6.items():
                print(f"{f'{name}->{t}':<8}{'(a) smallest change read as t':<48}{r.pred_after_uint8:>7}{r.p_target:>9.4f}"
                      f"{r.objective:>11.2e}{r.l2_uint8:>10.4f}{'-':>8}")
                for tag in ("eps0.1", "rms0.1"):
                    reading, b = q6_ball[(name, t, tag)]
                    print(f"{'':<8}{'(b) argmin in ' + reading:<48}{b.pred_after_uint8:>7}{b.p_target:>9.4f}"
                          f"{b.objective:>11.2e}{b.l2_uint8:>10.4f}{str(b.l2_uint8 <= b.eps + 1e-12):>8}")
            """),
        code("""
            show_answer("Q6", {
                f"{name}' classified as (target {t})": f"{r.pred_after_uint8} with p_{t} = {r.p_target:.4f}; "
                                                      f"L2 = {r.l2_uint8:.4f} in [0,1] units ({r.l2_255:.1f} in 0..255)"
                for (name, t), r in q6.items()
            } | {
                "images": "shown above; saved as Q_6/I0_adv_target1.png, Q_6/I1_adv_target0.png, Q_6/I1_adv_target7.png",
                "eps = 0.1 attainable?": "; ".join(f"{reading}: {'yes' if good else 'no'}" for reading, good in ok.items()),
            } | {
                f"eq. (7)/(8) literally, {name} -> {t}, {reading}": f"M says {b.pred_after_uint8}, p_{t} = {b.p_target:.4f}, "
                f"objective {b.objective:.2e}, L2 {b.l2_uint8:.4f}; saved as Q_6/{name}_adv_target{t}_{tag}.png"
                for (name, t, tag), (reading, b) in q6_ball.items()
            })
            """),
    ]


# --------------------------------------------------------------------------
# Q7


def _q7(ctx: BuildContext) -> list:
    return [
        md(r"""
            **Asked.** The quiz's code fails with *Trying to backward through the graph a second time*.
            Explain why and fix it without changing what the code does. The code below is the quiz's, with
            only the typo `return return` mended; its `__main__` block is the function `run_quiz_main`, which
            records what the original would print and `xinit.grad` after each pass instead of printing.
            """),
        *code_from("quiz1.solvers.double_backward", "imports", "quiz code", "main block"),
        code("""
            original = run_quiz_main(G)
            print("\\n".join(original.log))
            print("xinit.grad after the first pass:", original.grad_after_first)
            print("RuntimeError:", original.error)
            """),
        md(r"""
            **Why.** `self.g` is created once, in `__init__`, and lives as long as the object. The line
            `self.g[0] = x*x` is an *in-place* write (`copy_` into a slice). Autograd records it by giving
            `self.g` a new history: a `CopySlices` node whose inputs are the graph of `x*x`
            (`MulBackward0`, which saves `x`) **and the previous history of `self.g`**.

            1. First call: `self.g` gets `CopySlices₁ → MulBackward0₁`. `loss.backward()` runs through it and,
               as always without `retain_graph`, **frees the saved tensors** of every node it visited.
            2. Second call: `self.g` already has a history, so the new write stacks `CopySlices₂` on top of
               `CopySlices₁`. The backward of a slice assignment sends the gradient of the untouched part of
               `self.g` (entry 1) to the *old* history, so the second `backward()` reaches `MulBackward0₁`, whose
               saved `x` is gone: *Trying to backward through the graph a second time*.

            The second pass builds a new `x` list, but that does not help: the stale graph is reached through
            the object's state `self.g`, not through `x`.

            **Why `retain_graph=True` is not a fix.** It silences the error by keeping every call's saved tensors
            alive, and then the graph of call $k$ contains the graphs of all calls before it: memory and
            backward time grow with every call (a leak), and each backward walks all earlier calls' nodes.
            The number of autograd nodes behind the loss, call after call:
            """),
        *code_from("quiz1.solvers.double_backward", "graph size"),
        code("""
            import torch

            def sizes(g_class, calls=5, retain=False):
                g, x, out = g_class(), torch.ones([1], requires_grad=True), []
                for _ in range(calls):
                    loss = (x + g(x)) ** 2
                    out.append(graph_size(loss))
                    loss.backward(retain_graph=retain)
                return out

            print("original G + retain_graph=True, nodes behind loss per call:", sizes(G, retain=True))
            """),
        md(r"""
            **The fix.** Cut the stale history at the start of each call, and keep everything else:
            `self.g = self.g.detach().clone()` keeps the values (`g[1]` stays 1, `g[0]` is overwritten anyway) and
            the attribute (after a call `self.g` still holds `[x², 1]`, as before), but the tensor has no history,
            so each call builds its own small graph. Forward values and gradients are exactly the original's
            where the original runs (the first pass); the main block is unchanged, and gradients still
            accumulate in `xinit.grad` across the two passes, as in the original.

            By hand: $x_1 = x_0 + g(x_0) = x_0 + x_0^2 + 1$ and $\mathcal L = x_1^2$, so
            $\dfrac{\partial\mathcal L}{\partial x_0} = 2x_1(1+2x_0)$; at $x_0 = 1$: $x_1=3$ and the gradient is
            $2\cdot3\cdot3 = 18$ per pass, so `xinit.grad` is 18 after the first pass and 36 after the second.
            """),
        *code_from("quiz1.solvers.double_backward", "fix"),
        code("""
            fixed = run_quiz_main(GFixed)
            print("\\n".join(fixed.log))
            print("error:", fixed.error)
            print("xinit.grad after the first pass :", fixed.grad_after_first)
            print("xinit.grad after the second pass:", fixed.grad_after_second)
            print("fixed G, nodes behind loss per call:", sizes(GFixed))
            x0 = 1.0; x1 = x0 + x0**2 + 1; hand = 2 * x1 * (1 + 2 * x0)
            print("hand derivation per pass:", hand)
            """),
        code("""
            show_answer("Q7", {
                "cause": "self.g[0] = x*x writes in place into a tensor that outlives the call, so call 2's graph "
                         "stacks on call 1's (CopySlices), whose saved tensors backward() already freed",
                "fix": "self.g = self.g.detach().clone() at the start of __call__ (values, state and gradients unchanged)",
                "xinit.grad after pass 1": fixed.grad_after_first,
                "xinit.grad after pass 2 (accumulated)": fixed.grad_after_second,
                "why not retain_graph=True": "hides the error but keeps every earlier call's graph alive (grows each call)",
            })
            """),
    ]


QUESTIONS: list[Question] = [
    Question(1, "softmax and cross-entropy from scratch", "3 marks", _q1),
    Question(2, "code for the compute tree of Figure 1", "3 marks", _q2),
    Question(3, "symbolic gradient of Figure 2's network", "3 marks", _q3),
    Question(4, "exact encoders for point clouds", "3 marks", _q4),
    Question(5, "an MLP learned from unpaired point sets", "3 marks", _q5),
    Question(6, "targeted adversarial images", "2 bonus marks", _q6),
    Question(7, "backward through the graph a second time", "2 bonus marks", _q7),
]
