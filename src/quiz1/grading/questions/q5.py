"""Q5, an MLP learned from unpaired sets: the notebook's model of f, against f from the data's own geometry.

The model is taken out of the kernel after the section and run apart at x the
grader draws after the run (between the data's x, and beyond), once as it is
and once with its linear layers zeroed (an output that still follows f comes
from elsewhere); every number it reads counts as a parameter.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..evidence import Evidence
from ..reference import Given
from ..report import Verdict
from ..running.execution import Insert, Plan
from ..running.layout import find_data_file
from .models import evaluated, model_export_cell, model_watch_cell

NAME, NUMBER = "Q5", 5
# what a cell of its section does, in a notebook without headings (``sections.by_content``)
CONTENT = re.compile(r"Q_5\b|xy\.npz|ab\.npz")
RMSE_MOST = 0.02     # RMSE of the student's f over the range of (alpha, beta): the same curve at Figure 3's size
RMSE_FAR = 0.10  # beyond a tenth of the range the curve is not Figure 3's (an untrained MLP: about 1.9, i.e. 186%)
MODEL_CODE = re.compile(r"nn\.(?:Module|Linear|Sequential)|MLPRegressor|keras|Dense\(|flax|jax")
LINEAR_OPS = {"linear", "addmm", "matmul", "mm", "__matmul__", "bmm"}
ACTIVATIONS = {"relu", "relu_", "tanh", "sigmoid", "silu", "gelu", "elu", "leaky_relu", "softplus", "selu", "sin", "cos",
               "celu", "hardtanh", "relu6", "mish", "softsign", "logsigmoid", "hardswish", "prelu", "rrelu",
               "threshold", "hardsigmoid", "tanh_", "sigmoid_"}


@dataclass(frozen=True, eq=False)
class Sets:
    """The Q5 data of a submission, read before the notebook runs; None both (with the reason in ``missing``) when
    xy.npz or ab.npz is absent or cannot be read."""

    x: np.ndarray | None         # (n,) the x of xy.npz
    ab: np.ndarray | None        # (m, 2) the (alpha, beta) of ab.npz, unpaired with x
    missing: str | None = None   # why there are none, one sentence


def reference(root: Path, given: Given) -> Sets:
    """xy.npz's x and ab.npz's (alpha, beta) below ``root``."""
    from ...data.loaders import load_pair_set

    xy, ab = find_data_file(root, "xy.npz"), find_data_file(root, "ab.npz")
    if xy is None or ab is None:
        return Sets(None, None)
    try:
        return Sets(load_pair_set(xy, "xy")[0], load_pair_set(ab, "ab").T)
    except ValueError as e:
        return Sets(None, None, str(e).replace(str(root) + "/", ""))


@dataclass(frozen=True)
class Fit:
    """The notebook's best model of f against quiz1's reference, run apart from the notebook at x the grader drew
    after the run (``measures``); RMSEs relative to the range of (alpha, beta)."""

    name: str | None          # the model, as the grader took it out of the kernel
    kind: str | None          # "module", "sklearn", ...
    params: int               # every number it reads
    rmse: float               # RMSE against f between the data's x (drawn by the grader), relative
    rmse_data: float          # RMSE at the data's own x, relative
    bypass: float | None      # RMSE with the MLP's weights set to zero, when that still follows f; else None
    beyond: float | None      # the largest distance beyond the data's x from f's end tangent, relative; None: no x there
    between: int              # how many x between the data's x it was measured at (0: at the data's x only)
    orientation: str          # which of f's two orientations it follows
    input: str                # how it was fed x: "x", "x standardised", ...
    output_scaled: bool       # measured after one scale and shift per output (a model of normalised targets)
    hidden: int | None        # hidden layers, read from its forward pass; None: not read
    activations: list         # the activations between its layers
    all_activated: bool       # an activation after every hidden layer
    x: list                   # the data's x
    pred: list                # (n, 2) its outputs there
    truth: list               # (n, 2) f there
    memorised: float | None   # its RMSE at the data's x when it is right there only (a table of the data), else None


def cells(plan: Plan) -> list[Insert]:
    """The model watch before the section, the export of the kernel's models after it (``kernel/models.py``), when
    the grader wants them (``plan.exports``)."""
    path = plan.exports.get(NAME)
    return [Insert(model_watch_cell(), after=False), Insert(model_export_cell(path), after=True)] if path else []


def _layers(c: dict) -> dict:
    """Hidden layers and their activations, read from the torch functions one forward pass called (or an sklearn
    MLP's ``coefs_``): {"hidden": int | None, "activations": [...], "all_activated": bool}."""
    ops = c.get("ops") or []
    lin = [k for k, o in enumerate(ops) if o in LINEAR_OPS]
    if c.get("kind") == "sklearn":
        act = c.get("sk_activation") or "relu"
        return {"hidden": c.get("sk_hidden"), "activations": [act], "all_activated": act != "identity"}
    if not lin:
        return {"hidden": None, "activations": [], "all_activated": False}
    gaps = [[o for o in ops[a + 1:b] if o in ACTIVATIONS] for a, b in zip(lin, lin[1:])]
    acts = [g[0] for g in gaps if g]
    return {"hidden": len(lin) - 1, "activations": list(dict.fromkeys(acts)), "all_activated": all(gaps)}


def wants_models(ref: Sets) -> bool:
    """Does the grader take this section's models out of the kernel (the data to run them on is there)?"""
    return ref.x is not None


def apart(ctx) -> dict:
    """The section's models run apart from the notebook (``models.evaluated``, shared with Q4)."""
    return evaluated(ctx)


def measures(ev: Evidence) -> Fit | None:
    """The notebook's best model of f against quiz1's reference, run apart from the notebook at x the grader drew
    after the run (``Fit``), or None."""
    from ...solvers.unpaired import reference_pairings

    ref: Sets = ev.refs[NAME]
    if ref.x is None:
        return None
    x, ab = ref.x, ref.ab
    xq, kind = (ev.apart.get(NAME) or {}).get("q5_x") or (x, np.zeros(len(x), int))
    refs = reference_pairings(x, ab)
    span = float(max(np.ptp(ab[:, 0]), np.ptp(ab[:, 1]))) or 1.0
    o = np.argsort(x, kind="stable")
    data, inside, beyond = kind == 0, (kind == 1) | (kind == 2), kind == 3
    inside = inside if inside.any() else data
    tried = []
    for c in (ev.apart.get(NAME) or {}).get("q5", []):
        P = np.asarray(c.get("output", []), dtype=float)
        if P.shape != (len(xq), 2) or not (c.get("mlp_numbers") or c.get("kind") == "sklearn"):
            continue                                    # Q5 asks for a network: no linear layer, no MLP
        A0 = c.get("ablated")
        first = len(tried)
        for name, R in refs.items():
            F = np.stack([np.interp(xq, x[o], R[o, k]) for k in (0, 1)], 1)      # f between the data's x
            # as it is, then with one scale and shift per output (a model of normalised targets), fitted at the
            # data's x
            A = [np.linalg.lstsq(np.c_[P[data, k], np.ones(data.sum())], R[:, k], rcond=None)[0] for k in (0, 1)]
            for fitted, Q in ((False, P), (True, np.stack([P[:, k] * A[k][0] + A[k][1] for k in (0, 1)], 1))):
                def rmse(Y, rows, F=F):
                    return float(np.sqrt(((Y[rows] - F[rows]) ** 2).sum(1).mean())) / span
                r_in = rmse(Q, inside)
                bypass = None
                if A0 is not None:
                    Z = np.asarray(A0, dtype=float)
                    Z = np.stack([Z[:, k] * A[k][0] + A[k][1] for k in (0, 1)], 1) if fitted else Z
                    bypass = rmse(Z, inside) if rmse(Z, inside) <= RMSE_FAR else None
                tried.append((bypass is not None, fitted and r_in > 0, r_in, {
                    "name": c.get("name"), "kind": c.get("kind"), "params": int(c.get("params", 0)),
                    "rmse": r_in, "rmse_data": rmse(Q, data), "bypass": bypass,
                    "beyond": _beyond(xq[beyond], Q[beyond], x[o], R[o], span),
                    "between": int(inside.sum()) if inside is not data else 0, "orientation": name,
                    "input": c.get("input", "x"), "output_scaled": fitted, **_layers(c),
                    "x": x.tolist(), "pred": Q[data].tolist(), "truth": R.tolist()}))
        bypass = min((t[3]["bypass"] for t in tried[first:] if t[0]), default=None)
        for k in range(first, len(tried)):     # without its MLP it follows f (in some orientation): no MLP's fit
            tried[k] = (bypass is not None, tried[k][1], tried[k][2], {**tried[k][3], "bypass": bypass})
    if not tried:
        return None
    honest = [t for t in tried if not t[0]]
    raw = [t for t in honest if not t[1]]
    good = ([t for t in raw if t[2] <= RMSE_MOST] or [t for t in honest if t[2] <= RMSE_MOST]    # an MLP's fit,
            or [t for t in tried if t[0] and not t[1]] or [t for t in tried if t[0]]   # else one that follows
            or raw or honest)                                                            # f without its MLP
    best = min(good, key=lambda t: t[2])[3]
    # right at the data's own x in some input form, far from f between them: a table of the data
    memo = [t[3]["rmse_data"] for t in tried if t[3]["name"] == best["name"] and t[3]["rmse_data"] <= RMSE_MOST
            and t[3]["rmse"] > RMSE_FAR]
    return Fit(**best, memorised=min(memo, default=None))

def _beyond(xb, Qb, xs, Rs, span) -> float | None:
    """The largest distance of the model's outputs Qb (k, 2) at xb (k,), beyond the data, from the tangent of f at
    the data's nearest end (its last segment extended), relative to ``span``; None without such points."""
    if not len(xb):
        return None
    lo = (Rs[0], (Rs[1] - Rs[0]) / ((xs[1] - xs[0]) or 1.0), xs[0])
    hi = (Rs[-1], (Rs[-1] - Rs[-2]) / ((xs[-1] - xs[-2]) or 1.0), xs[-1])
    dist = [np.linalg.norm(q - (e[0] + e[1] * (t - e[2]))) for t, q in zip(xb, Qb) for e in [lo if t < xs[0] else hi]]
    return float(max(dist)) / span

def verdict(ev: Evidence) -> Verdict:
    expected = (f"an MLP 1 -> 2 with two hidden layers and activations whose outputs follow f (either "
                f"orientation) between the data's x: RMSE at most {RMSE_MOST:.0%} of the range of (alpha, beta)")
    m = ev.measured(NAME, measures)
    if m is None:
        v = ev.shown(NUMBER)
        sec = "\n".join(c.source for c in ev.section(NUMBER))
        ref: Sets = ev.refs[NAME]
        if ref.x is None:
            return Verdict(v.status, v.found, expected, "; ".join(x for x in (ref.missing, v.note) if x))
        if v.status in ("error", "missing") or MODEL_CODE.search(sec):
            apart = (ev.apart.get(NAME) or {}).get("notes", {}).get("q5")
            return Verdict(v.status, v.found, expected, "; ".join(x for x in (
                "no model with 1 input, 2 outputs and linear layers found among the notebook's models (taken out "
                "of the kernel after the Q5 section and run apart)" + (f" ({apart})" if apart else ""), v.note)
                if x))
        plots = sum(c.plots for c in ev.section(NUMBER))
        return Verdict("wrong", v.found, expected, f"no model: the Q5 section builds no network (no torch module, "
                       f"no MLP), so its {plots} plot(s) show the data, not a learned f")
    arch = (f"{m.hidden} hidden layer(s), activations {', '.join(m.activations) or 'none'}"
            if m.hidden is not None else "architecture not read")
    rmse = f"{m.rmse:.2%}" if m.rmse >= 1e-4 else f"{m.rmse:.1e}"     # round-off reads as such
    where = (f"at {m.between} x between the data's x, drawn by the grader after the run" if m.between else
             f"at the {len(m.x)} x of xy.npz")
    found = (f"{m.kind} `{m.name}` ({m.params:,} parameters, every number it reads; {arch}): RMSE {rmse} of the range "
             f"against f ({m.orientation} orientation) {where} (at the data's x: {m.rmse_data:.2%})"
             + (f", input {m.input}" if m.input != "x" else "")
             + (", after one scale and shift per output" if m.output_scaled else ""))
    beyond = ("" if m.beyond is None else f"; beyond the data's x, where f is not defined by the data and the "
              f"verdict does not look, it strays at most {m.beyond:.1%} of the range from f's end tangent")
    if m.bypass is not None:
        return Verdict("wrong", found, expected, f"the output follows f even with the MLP's weights set to zero "
                       f"(RMSE {m.bypass:.2%} of the range): the answer comes from elsewhere (stored data, "
                       f"a formula), not from the MLP")
    if m.rmse > RMSE_FAR:
        memo = (f" (it is right at the data's own x only, RMSE {m.memorised:.2%} there: a memorised table, "
                f"not a learned f)" if m.memorised is not None else "")
        return Verdict("wrong", found, expected, f"the model's curve does not follow f: off by more than "
                       f"{RMSE_FAR:.0%} of the range between the data's x{memo} (report.html draws it over f)")
    if m.rmse > RMSE_MOST:
        return Verdict("unverified", found, expected, f"near f but visibly off (between {RMSE_MOST:.0%} and "
                       f"{RMSE_FAR:.0%} of the range; report.html draws it over f): partial marks are a "
                       f"human's call" + beyond)
    if m.hidden != 2 or not m.all_activated:
        return Verdict("unverified", found, expected, f"fits f, but the quiz asks for two hidden layers with "
                       f"activations ({arch}): a human decides the deduction" + beyond)
    return Verdict("correct", found, expected, "the grader took the model out of the notebook, ran it in a fresh "
                   "process at x of its own between the data's x and compared it with f from the data's own "
                   "geometry (the curve's points ordered, matched by rank to sorted x, joined by segments); with "
                   "the MLP's weights set to zero the output no longer follows f" + beyond)


def figure(m: dict, status: str) -> tuple[str, str] | None:
    """(alt text, a small PNG as a data URI) of the student's f over the truth at the x of xy.npz (``m``: this
    question's measures, as in the report's JSON): what a TA looks at when Q5 is not ``correct``; None when it is."""
    if status == "correct":
        return None
    from .drawing import data_uri, subplots

    x, pred, truth = np.asarray(m["x"]), np.asarray(m["pred"]), np.asarray(m["truth"])
    o = np.argsort(x)
    fig, (ax,) = subplots()
    for k, (name, colour) in enumerate((("alpha", "tab:blue"), ("beta", "tab:orange"))):
        ax.plot(x[o], truth[o, k], color=colour, lw=3, alpha=0.35, label=f"{name}: f")
        ax.plot(x[o], pred[o, k], ".", color=colour, ms=3, label=f"{name}: the student's model")
    ax.set_xlabel("x")
    ax.legend(fontsize=6, loc="best")
    return "Q5: the student's model over f", data_uri(fig)


RMSE_BANDS = ((RMSE_MOST, RMSE_FAR), (f"RMSE <= {RMSE_MOST:.0%}", f"RMSE {RMSE_MOST:.0%}-{RMSE_FAR:.0%}",
                                      f"RMSE > {RMSE_FAR:.0%}"))


def group_key(item: dict) -> str | None:
    """Q5 groups by the RMSE band (2%, 10%), hidden layers, an activation after each or not, bypass, memorised, and status."""
    from .grouping import band, value_key

    m = item.get("measures")
    if not m or not item.get("status"):            # a machine-decided missing or error by its reason, else alone
        return value_key(item, None)
    acts = ("an activation after each" if m.get("all_activated") else "activations not after each"
            if m.get("activations") else "no activation")
    arch = f"{m['hidden']} hidden layer(s), {acts}" if m.get("hidden") is not None else "architecture not read"
    return (f"{item['status']}: {band(m.get('rmse'), *RMSE_BANDS)}, {arch}"
            + (", follows f without its MLP" if m.get("bypass") is not None else "")
            + (", memorised" if m.get("memorised") is not None else ""))
