"""Q4: exact encoders discovered from the point cloud alone.

Given X (n, D) and a code dimension d, find E: R^D -> R^d and G with G(E(x)) = x
on the data, by detecting the exact constraints the points satisfy:

1. the affine hull (SVD): rank r <= d means a linear chart is exact;
2. if some coordinate is a polynomial of the others (least squares on
   monomials up to degree 6 leaves round-off), the chart drops it (a graph);
3. otherwise quadric relations, found as null vectors of the degree-2
   monomial features, on the smallest coordinate groups that carry one each;
   the rest of the coordinates are free. A group's quadric
   (x - c)^T A (x - c) = rho with A >= 0 is an ellipsoid (times free directions
   where A is singular, i.e. a cylinder): y = L^T (x - c) lies on a unit sphere,
   coded by angles (atan2 of partial norms), the free directions as they are.

numpy only; the search over coordinate groups is written here because it is a
few lines on top of an SVD and no library offers it. No file-specific code: the
procedure never sees a file name.

The cells between the ``# %%`` markers are copied verbatim into the notebook.
"""
# %% imports
import itertools
from dataclasses import dataclass, field

import numpy as np


# %% sphere charts
def sphere_angles(y):
    """Angles of unit vectors y (n, k), k >= 2: [atan2(|y_:m-1|, y_m-1) for m = k..3] + [atan2(y_1, y_0)] -> (n, k-1)."""
    k = y.shape[1]
    out = []
    for m in range(k, 2, -1):
        out.append(np.arctan2(np.linalg.norm(y[:, :m - 1], axis=1), y[:, m - 1]))
    out.append(np.arctan2(y[:, 1], y[:, 0]))
    return np.stack(out, 1)


def sphere_point(angles):
    """Inverse of ``sphere_angles``: (n, k-1) -> unit vectors (n, k)."""
    y = np.stack([np.cos(angles[:, -1]), np.sin(angles[:, -1])], 1)
    for j in range(angles.shape[1] - 2, -1, -1):
        a = angles[:, j:j + 1]
        y = np.concatenate([np.sin(a) * y, np.cos(a)], 1)
    return y


# %% constraint detection
def _monomials(Z, degree):
    """All monomials of the columns of Z (n, k) up to ``degree`` -> (n, m) and their exponent tuples."""
    exps = [e for e in itertools.product(range(degree + 1), repeat=Z.shape[1]) if sum(e) <= degree]
    exps.sort(key=lambda e: (sum(e), tuple(-v for v in e)))
    return np.stack([np.prod(Z ** np.array(e), axis=1) for e in exps], 1), exps


def _null_space(F, tol):
    """Right null vectors of F (n, m) with relative singular value below tol -> (m, k)."""
    Fs = F / np.maximum(np.linalg.norm(F, axis=0), 1e-300)
    _, s, vt = np.linalg.svd(Fs, full_matrices=False)
    keep = s < tol * s[0]
    return (vt[keep] / np.maximum(np.linalg.norm(F, axis=0), 1e-300)).T


def find_graph(Y, max_degree=6, tol=1e-9):
    """A coordinate j of Y (n, r) that is a polynomial of the others: (j, degree, coef, exps) or None."""
    n, r = Y.shape
    scale = np.abs(Y).max() or 1.0
    for deg in range(1, max_degree + 1):
        for j in range(r - 1, -1, -1):
            others = np.delete(Y, j, axis=1)
            F, exps = _monomials(others, deg)
            if F.shape[1] >= n:
                continue
            coef, *_ = np.linalg.lstsq(F, Y[:, j], rcond=None)
            if np.abs(F @ coef - Y[:, j]).max() < tol * scale:
                return j, deg, coef, exps
    return None


def quadric_groups(Y, tol=1e-9):
    """Smallest coordinate groups of Y (n, r) carrying exactly one quadric each: [(group, coef, exps)]."""
    r = Y.shape[1]
    groups, used = [], set()
    for size in range(1, r + 1):
        for g in itertools.combinations(range(r), size):
            if used & set(g):
                continue
            F, exps = _monomials(Y[:, g], 2)
            N = _null_space(F, tol)
            if N.shape[1] == 1:
                groups.append((g, N[:, 0], exps))
                used |= set(g)
    return groups


# %% charts
@dataclass(frozen=True)
class Chart:
    """An exact chart: affine reduction y = (x - mu) @ V, then per-part maps in y. ``describe`` holds the formulas."""

    d: int
    mu: np.ndarray            # (D,)
    V: np.ndarray             # (D, r)
    parts: list               # [(kind, params)]: ("free", idx) | ("round", dict) | ("graph", dict)
    describe: list = field(default_factory=list)

    def encode(self, X):
        Y = (np.asarray(X, float) - self.mu) @ self.V        # (n, r)
        cols = []
        for kind, p in self.parts:
            if kind == "free":
                cols.append(Y[:, p])
            elif kind == "graph":
                cols.append(Y[:, p["others"]])
            else:                                           # round: angles of the unit vectors, then free directions
                Z = (Y[:, p["group"]] - p["c"])             # (n, k)
                u = Z @ p["L"]                              # (n, kr) on the unit sphere
                cols += [sphere_angles(u / np.linalg.norm(u, axis=1, keepdims=True)), Z @ p["N"]]
        return np.concatenate([c.reshape(len(Y), -1) for c in cols], 1)

    def decode(self, Zc):
        Zc = np.asarray(Zc, float)
        r = self.V.shape[1]
        Y = np.zeros((len(Zc), r))
        pos = 0
        for kind, p in self.parts:
            if kind == "free":
                Y[:, p] = Zc[:, pos:pos + len(p)]
                pos += len(p)
            elif kind == "graph":
                o = p["others"]
                Y[:, o] = Zc[:, pos:pos + len(o)]
                pos += len(o)
                F = np.stack([np.prod(Y[:, o] ** np.array(e), axis=1) for e in p["exps"]], 1)
                Y[:, p["j"]] = F @ p["coef"]
            else:
                kr, kn = p["L"].shape[1], p["N"].shape[1]
                u = sphere_point(Zc[:, pos:pos + kr - 1])
                t = Zc[:, pos + kr - 1:pos + kr - 1 + kn]
                pos += kr - 1 + kn
                Y[:, p["group"]] = p["c"] + u @ p["Linv"] + t @ p["N"].T
        return self.mu + Y @ self.V.T


def _round_part(Yg, group, coef, exps, tol=1e-7):
    """Turn one quadric (coef over exps) on the columns ``group`` into an ellipsoid/cylinder chart, or None."""
    k = len(group)
    A, b, c0 = np.zeros((k, k)), np.zeros(k), 0.0
    for w, e in zip(coef, exps):
        idx = [i for i, v in enumerate(e) for _ in range(v)]
        if len(idx) == 2:
            A[idx[0], idx[1]] += w / 2
            A[idx[1], idx[0]] += w / 2
        elif len(idx) == 1:
            b[idx[0]] += w
        else:
            c0 += w
    off = np.abs(A - np.diag(np.diag(A))).max()
    if off <= 1e-9 * np.abs(np.diag(A)).max():             # axis-aligned: keep the axes (eigh would rotate ties)
        lam, Q = np.diag(A).copy(), np.eye(k)
        lam[np.abs(lam) <= 1e-9 * np.abs(lam).max()] = 0.0
    else:
        lam, Q = np.linalg.eigh(A)
    big = np.abs(lam) > tol * np.abs(lam).max()
    if not (np.all(lam[big] > 0) or np.all(lam[big] < 0)) or big.sum() < 2:
        return None                                         # hyperboloid, paraboloid or a point pair: not covered
    if lam[big][0] < 0:
        A, b, c0, lam = -A, -b, -c0, -lam
    QR, QN = Q[:, big], Q[:, ~big]
    if np.abs(QN.T @ b).max(initial=0) > tol * np.abs(b).max(initial=1):
        return None                                         # a linear term along a flat direction: a paraboloid
    c = -0.5 * QR @ ((QR.T @ b) / lam[big])                 # centre (its flat components set to 0)
    rho = c @ A @ c - c0
    if rho <= 0:
        return None
    L = QR * np.sqrt(lam[big] / rho)                        # y = (x - c) @ L is on the unit sphere
    Linv = (QR * np.sqrt(rho / lam[big])).T                 # (kr, k)
    return {"group": list(group), "c": c, "L": L, "Linv": Linv, "N": QN}


def find_chart(X, d, tol=1e-9, max_rows=2000):
    """Find an exact chart with a d-dimensional code for X (n, D), or None. See the module docstring.

    Constraints are detected on at most ``max_rows`` evenly spaced points; ``report`` checks all of them.
    """
    X = np.asarray(X, float)
    X = X[np.linspace(0, len(X) - 1, min(len(X), max_rows)).astype(int)]
    n, D = X.shape
    mu = X.mean(0)
    _, s, vt = np.linalg.svd(X - mu, full_matrices=False)
    r = int((s > tol * max(s[0], 1e-300) * np.sqrt(n)).sum())
    if r < D:
        V = vt[:r].T                                        # (D, r) orthonormal basis of the affine hull
        axis = np.abs(V).max(0) > 1 - 1e-12                 # axis-aligned hull: keep the original coordinates
        if axis.all():
            V = np.eye(D)[:, np.abs(V).argmax(0)]
    else:
        V, mu = np.eye(D), np.zeros(D)
    Y = (X - mu) @ V
    if r <= d:
        parts = [("free", list(range(r)))]
        return Chart(d=d, mu=mu, V=V, parts=parts, describe=[f"affine hull of dimension {r} <= {d}: linear chart"])
    if r - d == 1:
        g = find_graph(Y)
        if g is not None:
            j, deg, coef, exps = g
            others = [i for i in range(r) if i != j]
            return Chart(d=d, mu=mu, V=V, parts=[("graph", {"j": j, "others": others, "coef": coef, "exps": exps})],
                         describe=[f"coordinate {j + 1} is a degree-{deg} polynomial of the others: a graph"])
    groups = quadric_groups(Y)
    if len(groups) != r - d:
        return None
    parts, covered, text = [], set(), []
    for group, coef, exps in groups:
        p = _round_part(Y, group, coef, exps)
        if p is None:
            return None
        parts.append(("round", p))
        covered |= set(group)
        text.append(f"coordinates {[i + 1 for i in group]}: an ellipsoid of dimension {p['L'].shape[1] - 1}"
                    + (f" times {p['N'].shape[1]} flat direction(s)" if p["N"].shape[1] else ""))
    free = [i for i in range(r) if i not in covered]
    if free:
        parts.append(("free", free))
        text.append(f"coordinates {[i + 1 for i in free]} are free")
    chart = Chart(d=d, mu=mu, V=V, parts=parts, describe=text)
    return chart if chart.encode(X[:1]).shape[1] == d else None


# %% formulas
def _num(v):
    return f"{v:.6g}"


def _affine(coefs, shift, names):
    """Text of sum_i coefs[i] * (names[i] - shift[i]), dropping zero terms."""
    terms = []
    for a, c, nm in zip(coefs, shift, names):
        if abs(a) < 1e-12:
            continue
        inner = nm if abs(c) < 1e-12 else f"({nm} {'-' if c > 0 else '+'} {_num(abs(c))})"
        terms.append(inner if abs(a - 1) < 1e-12 else f"-{inner}" if abs(a + 1) < 1e-12 else f"{_num(a)}*{inner}")
    return " + ".join(terms).replace("+ -", "- ") or "0"


def chart_formulas(chart):
    """Plain-text encoder and decoder equations of a chart: (encoder lines, decoder lines)."""
    D, r = chart.V.shape
    xs = [f"x{i + 1}" for i in range(D)]
    sel = np.allclose(np.abs(chart.V).sum(0), 1) and np.allclose(chart.mu, 0)
    ys = [xs[int(np.abs(chart.V[:, j]).argmax())] for j in range(r)] if sel else [f"y{j + 1}" for j in range(r)]
    enc, dec = [], []
    if not sel:
        enc += [f"y{j + 1} = {_affine(chart.V[:, j], chart.mu, xs)}" for j in range(r)]
    zi = 0
    for kind, p in chart.parts:
        if kind == "free":
            for i in p:
                zi += 1
                enc.append(f"z{zi} = {ys[i]}")
                dec.append(f"{ys[i]} = z{zi}")
        elif kind == "graph":
            for i in p["others"]:
                zi += 1
                enc.append(f"z{zi} = {ys[i]}")
                dec.append(f"{ys[i]} = z{zi}")
            mono = []
            for w, e in zip(p["coef"], p["exps"]):
                if abs(w) > 1e-10:
                    m = "*".join(f"{ys[p['others'][i]]}^{v}" if v > 1 else ys[p["others"][i]] for i, v in enumerate(e) if v)
                    mono.append(_num(w) + (f"*{m}" if m else ""))
            dec.append(f"{ys[p['j']]} = " + " + ".join(mono).replace("+ -", "- "))
        else:
            g = [ys[i] for i in p["group"]]
            kr = p["L"].shape[1]
            if p["N"].shape[1] == 0 and np.allclose(p["L"], np.eye(kr)) and np.allclose(p["c"], 0):
                us = g                                  # a unit sphere at the origin: use the coordinates themselves
            else:
                us = [f"u{i + 1}" for i in range(kr)]
                enc += [f"{us[i]} = {_affine(p['L'][:, i], p['c'], g)}" for i in range(kr)]
            names = []
            for m in range(kr, 2, -1):
                zi += 1
                names.append(f"z{zi}")
                enc.append(f"z{zi} = atan2(sqrt({' + '.join(u + '^2' for u in us[:m - 1])}), {us[m - 1]})")
            zi += 1
            names.append(f"z{zi}")
            enc.append(f"z{zi} = atan2({us[1]}, {us[0]})")
            sph = [f"cos({names[-1]})", f"sin({names[-1]})"]
            for a in names[-2::-1]:
                sph = [f"sin({a})*{t}" for t in sph] + [f"cos({a})"]
            for i, nm in enumerate(g):
                terms = [(sph[j] if abs(p["Linv"][j, i] - 1) < 1e-12 else f"{_num(p['Linv'][j, i])}*{sph[j]}")
                         for j in range(kr) if abs(p["Linv"][j, i]) > 1e-12]
                if abs(p["c"][i]) > 1e-12:
                    terms.insert(0, _num(p["c"][i]))
                for jn in range(p["N"].shape[1]):
                    zi_t = zi + jn + 1
                    if abs(p["N"][i, jn]) > 1e-12:
                        terms.append(f"{_num(p['N'][i, jn])}*z{zi_t}")
                dec.append(f"{nm} = " + " + ".join(terms).replace("+ -", "- "))
            for jn in range(p["N"].shape[1]):
                zi += 1
                enc.append(f"z{zi} = {_affine(p['N'][:, jn], p['c'], g)}")
    if not sel:
        dec += [f"x{i + 1} = {_num(chart.mu[i])} + " + " + ".join(f"{_num(chart.V[i, j])}*y{j + 1}" for j in range(r))
                for i in range(D)]
    return enc, dec


def chart_structure(chart):
    """The chart's parts as ("round", k, n_flat) / ("free", n, 0) items, to shape a chart network."""
    out = []
    for kind, p in chart.parts:
        if kind == "round":
            out.append(("round", p["L"].shape[1], p["N"].shape[1]))
        else:
            out.append(("free", len(p) if kind == "free" else len(p["others"]), 0))
    return out


# %% report
@dataclass(frozen=True)
class EncoderReport:
    """Exactness and injectivity of a chart on the data."""

    exact: bool
    max_reconstruction_error: float | None
    shared_codes: int         # points whose code another distinct point also has
    duplicate_points: int     # points equal to an earlier point
    singular_points: int      # points at a pole of a sphere chart (an angle there is arbitrary)
    describe: list


def report(chart, X, tol=1e-10):
    """Check G(E(X)) = X and count points that share codes, duplicates and chart singularities."""
    X = np.asarray(X, float)
    if chart is None:
        return EncoderReport(False, None, 0, 0, 0, ["no exact chart found"])
    Z = chart.encode(X)
    err = float(np.abs(chart.decode(Z) - X).max())
    scale = max(np.abs(X).max(), 1.0)
    keyx = np.round(X / scale, 9)
    _, first_x = np.unique(keyx, axis=0, return_index=True)
    dup = len(X) - len(first_x)
    _, code_id = np.unique(np.round(Z, 9), axis=0, return_inverse=True)       # (n,) code group per point
    _, point_id = np.unique(keyx, axis=0, return_inverse=True)               # (n,) distinct point per point
    pairs = np.unique(np.stack([code_id.ravel(), point_id.ravel()], 1), axis=0)
    points_per_code = np.bincount(pairs[:, 0], minlength=code_id.max() + 1)  # distinct points behind each code
    shared = int((points_per_code[code_id.ravel()] > 1).sum())
    sing = 0
    Y = (X - chart.mu) @ chart.V
    for kind, p in chart.parts:
        if kind == "round":
            u = (Y[:, p["group"]] - p["c"]) @ p["L"]
            if u.shape[1] >= 3:
                sing += int((np.linalg.norm(u[:, :2], axis=1) < 1e-9).sum())
    return EncoderReport(bool(err <= tol * scale), err, int(shared), int(dup), int(sing), list(chart.describe))
