"""How Q3's check reads students' notations, and how long it takes: one row a notation, its verdict and time.

    python bench/q3_reading.py [--points 64]

The formulas are written here in the notations students use (none is a real student's); the verdict is the one the
grader gives (`correct`, `wrong`, or `unverified` when it cannot read the formula), the time is one `check_q3` call
(parsing under up to four readings of the names, and evaluation at every point).
"""
import argparse
import time

from quiz1.grading.questions.equivalence import check_q3

NOTATIONS = {
    "component form, sum over j, \\hat y, w_ij, v_j":
        r"$\frac{\partial L}{\partial x_i} = (\hat{y} - y) \sum_j w_{ij} \left(\mathbb{1}_{f_j > 0} + v_j\right)$",
    "matrix form, W^{(1)\\top}, a column W^{(2)}":
        r"$$\nabla_{\mathbf{x}} \mathcal{L} = (\sigma(s)-y)\, W^{(1)\top}\left(\mathbb{1}[f>0] + W^{(2)}\right)$$",
    "sigma written out with exp, sums expanded":
        r"$$\frac{\partial CE}{\partial x_i} = \left(\frac{1}{1+\exp(-s)} - y\right)\left[W_{i1}(H(f_1) + v_1) + "
        r"W_{i2}(H(f_2)+v_2)\right]$$",
    "a cases split for ReLU'":
        r"$$\frac{\partial L}{\partial x_i} = (\sigma(s)-y)\sum_{j=1}^2 W_{ij}\left(\begin{cases}1 & f_j > 0\\ "
        r"0 & \text{otherwise}\end{cases} + v_j\right)$$",
    "s written out in x (the longest)":
        r"$\frac{\partial L}{\partial x_i} = \left(\sigma\left(\sum_{j=1}^2 \max(0, \sum_{k=1}^3 w_{kj}x_k)+"
        r"\sum_{j=1}^2 v_j \sum_{k=1}^3 w_{kj}x_k\right)-y\right)\sum_{j=1}^{2}w_{ij}\left(\mathbb{1}[f_j>0]+v_j\right)$",
    "a column vector (pmatrix)":
        r"$$\frac{\partial L}{\partial X} = (\sigma(s) - y)\begin{pmatrix} \sum_j W_{1j}(H(f_j)+v_j) \\ "
        r"\sum_j W_{2j}(H(f_j)+v_j) \\ \sum_j W_{3j}(H(f_j)+v_j)\end{pmatrix}$$",
    "aligned, the sum over j split at a top-level +":
        r"$$\begin{aligned}\frac{\partial L}{\partial x_i} &= (\sigma(s)-y) W_{i1}(\mathbb{1}[f_1>0] + v_1) \\ &\quad + "
        r"(\sigma(s)-y) W_{i2}(\mathbb{1}[f_2>0] + v_2)\end{aligned}$$",
    "Einstein summation (j repeated, no \\sum)":
        r"$\frac{\partial L}{\partial x_i} = (\sigma(s) - y) W_{ij}(\mathbb{1}[f_j > 0] + v_j)$",
    "vector form with a ones vector \\mathbf 1":
        r"$$\nabla_x L = (\sigma(s)-y) W_1 (\mathrm{diag}(\mathbb{1}[f>0])\mathbf{1} + W_2)$$",
    "wrong: the sign": r"$\frac{\partial L}{\partial x_i} = (y-\sigma(s)) \sum_j W_{ij}(\mathbb{1}[f_j>0]+v_j)$",
    "wrong: the ReLU term missing": r"$\frac{\partial L}{\partial x_i} = (\sigma(s)-y) \sum_j W_{ij} v_j$",
    "unread: the chain rule left as it is":
        r"$\frac{\partial L}{\partial x_i} = \frac{\partial L}{\partial s}\frac{\partial s}{\partial x_i}$",
    "unread: a name never defined":
        r"$\frac{\partial L}{\partial x_i} = (\sigma(s)-y) \sum_j \Omega_{ij}(1 + v_j)$",
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=64)
    args = ap.parse_args()
    check_q3([NOTATIONS["wrong: the sign"]], n_points=4)          # imports and sympy's caches warm
    print(f"{'notation':<48}{'verdict':<12}{'ms':>8}")
    total = 0.0
    for name, tex in NOTATIONS.items():
        t0 = time.perf_counter()
        got = check_q3([tex], n_points=args.points)
        ms = 1000 * (time.perf_counter() - t0)
        total += ms
        print(f"{name:<48}{got.status:<12}{ms:>8.0f}")
    print(f"{'all ' + str(len(NOTATIONS)) + ' formulas':<60}{total:>8.0f}")


if __name__ == "__main__":
    main()
