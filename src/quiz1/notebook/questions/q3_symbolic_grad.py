# %% [markdown]
# ## Question 3 — symbolic gradient of Figure 2's network [3 marks]

# %% [markdown]
# **Asked.** The gradient of the cross-entropy on a sigmoid output with respect to one input
# $X = (x_1, x_2, x_3)^T$ for the network of Figure 2, with label $y$.
#
# **The network, transcribed from Figure 2** (no biases are drawn, so there are none; a remark on
# biases follows). $W^{(1)}_{ij}$ is the weight from $x_i$ to $f_j$, $W^{(2)}_{j1}$ the weight from $f_j$ to $k_1$:
# $$f_j=\sum_{i=1}^{3}W^{(1)}_{ij}x_i\ (j=1,2),\qquad k_1=W^{(2)}_{11}f_1+W^{(2)}_{21}f_2,\qquad
#   s=\operatorname{ReLU}(f_1)+k_1+\operatorname{ReLU}(f_2),$$
# $$\hat y=\sigma(s)=\frac{1}{1+e^{-s}},\qquad \mathcal L=-\big[y\ln\hat y+(1-y)\ln(1-\hat y)\big].$$
#
# **Chain rule, step by step.**
# 1. Loss to prediction: $\dfrac{\partial\mathcal L}{\partial\hat y}=-\dfrac{y}{\hat y}+\dfrac{1-y}{1-\hat y}=\dfrac{\hat y-y}{\hat y(1-\hat y)}$.
# 2. Sigmoid: $\sigma'(s)=\sigma(s)\big(1-\sigma(s)\big)$, so $\dfrac{\partial\mathcal L}{\partial s}=\dfrac{\hat y-y}{\hat y(1-\hat y)}\,\hat y(1-\hat y)=\sigma(s)-y$.
# 3. The sum node: $f_j$ reaches $s$ along two paths, through $\operatorname{ReLU}(f_j)$ and through $k_1$:
#    $\dfrac{\partial s}{\partial f_j}=\operatorname{ReLU}'(f_j)+W^{(2)}_{j1}=\mathbb 1[f_j>0]+W^{(2)}_{j1}$
#    (at the kink $f_j=0$ we use $\operatorname{ReLU}'(0)=0$, torch's convention).
# 4. Linear layer: $\dfrac{\partial f_j}{\partial x_i}=W^{(1)}_{ij}$.
#
# Multiplying along every path and summing over $j$:
# $$\boxed{\ \frac{\partial\mathcal L}{\partial x_i}=\big(\sigma(s)-y\big)\sum_{j=1}^{2}W^{(1)}_{ij}\Big(\mathbb 1[f_j>0]+W^{(2)}_{j1}\Big)\ }
#   \qquad\text{i.e.}\qquad
#   \boxed{\ \nabla_X\mathcal L=\big(\sigma(s)-y\big)\,W^{(1)}\big(\mathbb 1[f>0]+w^{(2)}\big)\ }$$
# with $W^{(1)}\in\mathbb R^{3\times2}$, $f=W^{(1)\top}X$, $w^{(2)}=(W^{(2)}_{11},W^{(2)}_{21})^\top$ and the indicator taken
# entrywise. The same steps give the weight gradients
# $\dfrac{\partial\mathcal L}{\partial W^{(1)}_{ij}}=(\sigma(s)-y)\,x_i\big(\mathbb 1[f_j>0]+W^{(2)}_{j1}\big)$ and
# $\dfrac{\partial\mathcal L}{\partial W^{(2)}_{j1}}=(\sigma(s)-y)\,f_j$.
#
# *Remark (biases).* With biases $f_j=\sum_iW^{(1)}_{ij}x_i+b_j$ (and any bias on $k_1$), $\nabla_X\mathcal L$ keeps exactly
# the form above (biases only move the indicators), and $\partial\mathcal L/\partial b_j=(\sigma(s)-y)(\mathbb 1[f_j>0]+W^{(2)}_{j1})$.
#
# **Checked two ways below:** sympy differentiates the loss itself and proves its result equal to these closed
# forms; torch autograd (float64) is compared with them at 200 random points, most with some $f_j<0$.

# %% solver="quiz1.notebook.answer"
from quiz1.notebook.answer import show_answer

# %% solver="quiz1.solvers.symbolic_grad"
from quiz1.solvers.symbolic_grad import check_against_autograd, derive

# %%
from IPython.display import Math, display

q3 = derive()
print("sympy proves the closed forms equal to its own derivatives:", q3.proven_equal)
lhs = {"dL_ds": r"\frac{\partial\mathcal L}{\partial s}", "dL_dx": r"\nabla_X\mathcal L",
       "dL_dW1": r"\frac{\partial\mathcal L}{\partial W^{(1)}}", "dL_dW2": r"\frac{\partial\mathcal L}{\partial w^{(2)}}"}
for name, left in lhs.items():
    display(Math(left + " = " + q3.latex[name]))
q3_check = check_against_autograd(200)
print(q3_check)

# %%
show_answer("Q3", {
    "dL/dx_i": "(sigma(s) - y) * sum_j W1_ij * (1[f_j > 0] + W2_j1),  f_j = sum_i W1_ij x_i,  s = ReLU(f1) + W2_11 f1 + W2_21 f2 + ReLU(f2)",
    "vector form": "grad_X L = (sigma(s) - y) * W1 @ (1[f > 0] + w2)   (W1 is 3x2)",
    "sympy proof": q3.proven_equal,
    "max |closed form - autograd|": f"{q3_check['max_abs_error']:.2e} over {q3_check['points_checked']} points",
})
