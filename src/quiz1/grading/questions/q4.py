"""Q4, exact encoders for point clouds: for each data file an encoder to one dimension fewer and a decoder back.

The notebook's encoders and decoders are taken out of its kernel after the
section and run by the grader in fresh processes on new points of each file's
manifold drawn after the run (``kernel/models.py``, ``reference.q4_points``),
the decoder fed the code alone; every number a model reads counts as a
parameter. The section's Markdown equations count when they round-trip exactly
(``encoder_formulas``). Exact on every file is ``correct``; networks are ranked
for the TA (``ranking``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..evidence import Evidence
from ..reading.values import numbers
from ..reference import EXACT_REL, Q4_FILES, Q4_SAMPLE, Given, exact_chart
from ..report import Verdict
from ..running.execution import Insert, Plan
from ..running.layout import find_data_file
from .models import evaluated, model_export_cell, model_watch_cell

NAME, NUMBER = "Q4", 4
# what a cell of its section does, in a notebook without headings (``sections.by_content``)
CONTENT = re.compile(r"Q_4\b|Q1Q4I[123]|encoder|decoder", re.I)
WORSE_THAN_LINEAR = 1.5   # an MSE over 1.5 x the best linear encoder's (PCA to D - 1): a network that learned nothing
MEMORISED = 10     # exact on the zip's points, over 10 x the exactness bound on new points: a memorised table


@dataclass(frozen=True, eq=False)
class Clouds:
    """The Q4 data files of a submission, read before the notebook runs (a file absent or unreadable is left out)."""

    clouds: dict     # data file -> (n, D) at most ``Q4_SAMPLE`` evenly spaced points of it, where the models run
    charts: dict     # data file -> quiz1's exact chart of it (``reference.exact_chart``), or None: where the grader
    #                  draws new points of its manifold
    sizes: dict      # data file -> how many points the file holds
    missing: dict = field(default_factory=dict)    # data file -> why it cannot be read, one sentence


def reference(root: Path, given: Given) -> Clouds:
    """The Q4 point clouds below ``root`` (``Q4_FILES``), a sample of each, its exact chart and its size."""
    from ...data.loaders import load_cloud

    clouds, charts, sizes, missing = {}, {}, {}, {}
    for name in Q4_FILES:
        p = find_data_file(root, name)
        try:
            if p is not None:
                X = load_cloud(p)
                clouds[name] = X[np.linspace(0, len(X) - 1, min(len(X), Q4_SAMPLE)).astype(int)]
                charts[name], sizes[name] = exact_chart(X), len(X)
        except ValueError as e:
            missing[name] = str(e).replace(str(root) + "/", "")
    return Clouds(clouds, charts, sizes, missing)


@dataclass(frozen=True)
class Fit:
    """What the grader measured of the notebook's best encoder + decoder on one Q4 data file (``measures``)."""

    name: str | None          # the encoder + decoder measured (or the section's Markdown formulas, abridged)
    kind: str | None          # what they are: "module", "functions", "Markdown formulas", ...
    params: int               # every number the model reads
    limit: int | None         # the quiz's parameter limit for the file
    mse: float                # MSE on the new points of the file's manifold (on its own points when it raised there)
    rel: float | None         # relative RMSE, sqrt(MSE / the data's variance), on the new points; None: it raised there
    rel_shipped: float        # relative RMSE on the file's own points
    fresh: int                # how many new points of the manifold it ran on
    fresh_error: str | None   # why it raised on the new points, when it did
    pca_mse: float            # MSE of the best linear encoder to D - 1 dimensions (PCA)
    status: str               # "exact", "network", "worse than linear", "too large", "memorised", "formulas not exact"
    printed: bool             # its parameter count is printed in the section
    n: int                    # how many of the file's points it ran on


def cells(plan: Plan) -> list[Insert]:
    """The model watch before the section, the export of the kernel's models after it (``kernel/models.py``), when
    the grader wants them (``plan.exports``)."""
    path = plan.exports.get(NAME)
    return [Insert(model_watch_cell(), after=False), Insert(model_export_cell(path), after=True)] if path else []


def wants_models(ref: Clouds) -> bool:
    """Does the grader take this section's models out of the kernel (the data to run them on is there)?"""
    return bool(ref.clouds)


def apart(ctx) -> dict:
    """The section's models run apart from the notebook (``models.evaluated``, shared with Q5)."""
    return evaluated(ctx)


def measures(ev: Evidence) -> dict[str, Fit]:
    """Data file -> what the grader measured of the notebook's best encoder + decoder on it (``Fit``; exact ones by
    fewest parameters, then lowest loss), on the points it drew from the file's manifold after the run (the zip's own
    points kept apart): the encoders and decoders taken out of the kernel and run apart (``run_models_apart``),
    and the equations of the section's Markdown (``encoder_formulas``)."""
    from .encoder_formulas import markdown_round_trips

    out = {}
    printed = {int(p.value) for c in ev.section(NUMBER) for p in numbers(c.text) if float(p.value).is_integer()}
    models = (ev.apart.get(NAME) or {})
    for fname, X in ev.refs[NAME].clouds.items():
        P, shipped = models.get("q4_points", {}).get(fname, (X, np.ones(len(X), bool)))
        fresh = ~shipped
        exact = EXACT_REL ** 2 * X.var()                # exact ones by fewest parameters, the rest by loss first
        limit = Q4_FILES.get(fname)
        rows, loose = [], []

        def measure(R, on_all, c, params):
            """(MSE on the new points, else on the shipped ones; inf when it ran on the shipped ones only)."""
            mse_s = float(((R[shipped] - P[shipped]) ** 2).mean()) if on_all else float(((R - P[shipped]) ** 2).mean())
            mse_f = float(((R[fresh] - P[fresh]) ** 2).mean()) if on_all and fresh.any() else None
            return (mse_f if mse_f is not None else mse_s if on_all else float("inf"), params, c, mse_s, mse_f)

        for c in models.get("q4", {}).get(fname, []):
            R = np.asarray(c.get("output", []), dtype=float)
            on_all = c.get("rows") == "all"
            if R.shape == (P.shape if on_all else (int(shipped.sum()), P.shape[1])):
                rows.append(measure(R, on_all, c, int(c.get("params", 0))))
        for R, text in markdown_round_trips(ev.run.latex_cells.get(NUMBER, []), P):
            got = measure(R, True, {"name": text if len(text) <= 160 else text[:157] + "...",
                                    "kind": "Markdown formulas"}, 0)
            (rows if got[0] <= exact else loose).append(got)   # formulas count only when exact: a misread
        if not rows and not loose:                              # must fail no one
            continue
        mse, params, c, mse_s, mse_f = (
            min(rows, key=lambda r: (r[0] > exact, r[1] if r[0] <= exact else r[0], r[0], r[1]))
            if rows else min(loose, key=lambda r: r[0]))
        _, sv, _ = np.linalg.svd(X - X.mean(0), full_matrices=False)
        pca = float(sv[-1] ** 2 / X.size)               # the best linear encoder to D - 1 dimensions
        var = max(X.var(), 1e-300)
        rel, rel_s = float(np.sqrt(mse / var)), float(np.sqrt(mse_s / var))
        memorised = rel_s <= EXACT_REL and rel > MEMORISED * EXACT_REL
        status = ("formulas not exact" if not rows else "memorised" if memorised
                  else "too large" if limit is not None and params >= limit
                  else "exact" if rel <= EXACT_REL else "worse than linear" if mse > WORSE_THAN_LINEAR * pca
                  else "network")
        raised = not np.isfinite(mse)                   # it ran on the shipped points only
        out[fname] = Fit(c.get("name"), c.get("kind"), params, limit, mse_s if raised else mse, None if raised else rel,
                         rel_s, int(fresh.sum()), c.get("fresh_error"), pca, status, params in printed,
                         int(shipped.sum()))
    return out

def verdict(ev: Evidence) -> Verdict:
    expected = ("for each file an encoder to one dimension fewer and a decoder back, G(E(X)) = X to round-off on "
                "new points of the file's manifold (symbolic: full marks); networks ranked by loss, then "
                "parameters, every number the model reads counted (limits 10,000 / 10,000 / 100,000)")
    m = ev.measured(NAME, measures)
    ref: Clouds = ev.refs[NAME]
    files = list(ref.clouds)
    apart = "; ".join(f"{w}" for q, w in (ev.apart.get(NAME) or {}).get("notes", {}).items() if q == "q4")
    if not m:
        v = ev.shown(NUMBER)
        why = ("no encoder and decoder found: none among the notebook's models and functions (taken out of the "
               "kernel after the Q4 section and run apart on the grader's points: an autoencoder counts when it "
               "splits into an encoder and a decoder fed only the code) and no complete set of equations in the "
               "section's Markdown" + (f" ({apart})" if apart else "")
               if files else "; ".join(ref.missing.values())
               or "no Q4 data file in the zip to run on")
        return Verdict(v.status, v.found, expected, "; ".join(x for x in (why, v.note) if x))
    parts = []
    for f, r in m.items():
        said = ("printed in the section" if r.printed else "not printed in the section")
        size = "" if r.kind == "Markdown formulas" else f" ({r.params:,} parameters, {said})"
        where = (f"on {r.n:,} of the file's points, raising on new points of its manifold"
                 if r.rel is None else f"on {r.fresh:,} new points of its manifold" if r.fresh
                 else f"on {r.n:,} of the file's points")
        parts.append(f"{f}: {r.kind} `{r.name}`{size}: MSE {r.mse:.3g} {where} ({r.status})")
    found = "; ".join(parts)
    absent = [f for f in files if f not in m]
    bad = {f: r for f, r in m.items() if r.status in ("too large", "worse than linear", "memorised")}
    notes = []
    if absent:
        notes.append(f"nothing found for {', '.join(absent)}")
    for f, r in bad.items():
        notes.append(f"{f}: " + (
            f"{r.params:,} parameters (every number the model reads), over the quiz's limit of {r.limit:,}"
            if r.status == "too large" else
            "round-trips the zip's own points exactly but not new points of the same manifold ("
            + (f"it raised on them: {r.fresh_error}" if r.rel is None else
               f"relative RMSE {r.rel:.3g} on {r.fresh:,} of them") + "): it memorised the data, it does not "
            "encode it" if r.status == "memorised" else
            f"MSE {r.mse:.3g}, worse than the best linear encoder (PCA, MSE "
            f"{r.pca_mse:.3g}) by more than half: untrained, or it learned nothing"))
    blind = [f for f, r in m.items() if not r.fresh]
    if all(f in m and m[f].status == "exact" for f in files) and not blind:
        return Verdict("correct", found, expected, f"exact to round-off (relative RMSE <= {EXACT_REL:g}) on every "
                       "file, measured by the grader on new points of each file's manifold, drawn after the run "
                       "(the models taken out of the notebook and run apart, the decoder fed the code alone)")
    if len(bad) == len(m) and not absent:
        return Verdict("wrong", found, expected, "; ".join(notes))
    for f in blind:
        notes.append(f"{f}: quiz1 found no exact chart of this file, so no new points of its manifold could be "
                     f"drawn: measured on the file's own points only, a human should decide")
    for f, r in m.items():
        if r.status == "formulas not exact":
            notes.append(f"{f}: the section's formulas ({r.name}) round-trip with a relative RMSE of "
                         f"{r.rel:.3g}, not exactly: a human should read them")
    nets = [f for f, r in m.items() if r.status == "network"]
    flat = [f for f in nets if m[f].mse >= 0.95 * m[f].pca_mse]
    if flat:
        notes.append(f"{', '.join(flat)}: about the loss of the best linear encoder (PCA): the network found "
                     f"little more than a projection")
    if nets:
        notes.append(f"{', '.join(nets)}: a network, not exact; report.html ranks the class by the quiz's rule "
                     f"(loss, then parameters): a human sets the marks")
    return Verdict("unverified", found, expected, "; ".join(notes))


def ranking(reports: list[dict], stems: list[str]) -> dict:
    """Data file -> the class's Q4 answers ranked by the quiz's rule: exact ones first (fewest parameters first),
    then by reconstruction loss, then by parameters; over the quiz's limit last."""
    out = {}
    for r, stem in zip(reports, stems):
        for f, m in ((r.get("measures") or {}).get("Q4") or {}).items():
            out.setdefault(f, []).append({"student": r.get("student_id") or stem, **m})
    order = {"exact": 0, "network": 1, "worse than linear": 2, "too large": 3, "formulas not exact": 4}
    for rows in out.values():
        rows.sort(key=lambda m: (order.get(m["status"], 4), m["params"] if m["status"] == "exact" else m["mse"],
                                 m["params"]))
    return dict(sorted(out.items()))


def class_view(reports: list[dict], stems: list[str]) -> str | None:
    """The class ranked by the quiz's rule (``ranking``), as a section of report.html; None when nobody has a Q4
    answer the grader measured."""
    from ..report import template

    rows = ranking(reports, stems)
    return template("q4_ranking.html.j2").render(q4=rows) if rows else None


NEAR_PCA = 0.95     # a network's MSE at and above this share of PCA's: about the best linear encoder (``verdict``)
LOSS_BANDS = ((NEAR_PCA,), ("below PCA's MSE", "near PCA"))


def _band(f: dict) -> str:
    """One file's measure in words, what the marks read of it (``rubric.toml``: exact, or a network's loss; its
    parameter count reported or not; over the limit): its status, for a network its loss against PCA's (below, or
    near it: the issue's bands are exact, near PCA, over the limit; report.html ranks the networks by loss) and
    whether the section prints its parameter count; "own points only" when no new points of the manifold could be
    drawn. Not how it is written (a torch module, functions, Markdown equations): that changes no mark."""
    from .grouping import band

    status = f.get("status")
    words = status
    if status == "network":
        words += (", " + band(f["mse"] / f["pca_mse"] if f.get("pca_mse") else None, *LOSS_BANDS)
                  + (", count printed" if f.get("printed") else ", count not printed"))
    return words + ("" if f.get("fresh") else ", own points only")


def group_key(item: dict) -> str | None:
    """Q4 groups by each data file's band (exact, a network below or near PCA's loss and its count printed or not, over
    the limit, ...) and the status."""
    from .grouping import value_key

    measured = item.get("measures") or {}
    if not measured or not item.get("status"):     # a machine-decided missing or error by its reason, else alone
        return value_key(item, None)
    return f"{item['status']}: " + "; ".join(f"{name}: {_band(measured[name]) if name in measured else 'nothing found'}"
                                             for name in sorted({*Q4_FILES, *measured}))
