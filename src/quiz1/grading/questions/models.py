"""Q4's and Q5's models, out of the notebook's reach: a cell after each section pickles the kernel's models into a
file (``kernel/models.py``, injected as text); the grader then runs them in fresh kernels through the same executor,
on points it draws only then: the Q4 encoders in one kernel, the decoders on the codes alone in another
(``run_models_apart``). The two questions share one evaluation (``evaluated``)."""
from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np

from ..reference import q4_points, q5_points
from ..running.probes import kernel_cell


def q5_inputs(x, at=None) -> dict:
    """The points ``at`` (m,) (default: the data's x (n,)) as a student's Q5 model is fed them, (m, 1) each: as given,
    and as the common input normalisations, with the data's own statistics (a model trained on normalised x is
    right on those)."""
    at = (x if at is None else at)[:, None]                             # (m, 1)
    lo, hi = x.min(), x.max()
    return {"x": at, "x standardised": (at - x.mean()) / (x.std() or 1.0),
            "x scaled to [0, 1]": (at - lo) / ((hi - lo) or 1.0),
            "x scaled to [-1, 1]": 2 * (at - lo) / ((hi - lo) or 1.0) - 1}


def evaluated(ctx) -> dict:
    """The Q4 and Q5 models the run pickled (``ctx.exports``: question name -> path), evaluated once in fresh kernels
    on inputs drawn now (``probes.run_models_apart``), kept in ``ctx.shared``: {"q4", "q5", "notes", "failed",
    "started", "seconds"} plus "q4_points" ({file: (P, shipped)}, ``reference.q4_points``) and "q5_x" ((x (m,), kind
    (m,)), ``reference.q5_points``), from the Q4 and Q5 references in ``ctx.refs`` (``q4.Clouds``, ``q5.Sets``)."""
    if "models" not in ctx.shared:
        clouds, sets = ctx.refs.get("Q4"), ctx.refs.get("Q5")
        rng = np.random.default_rng(secrets.randbits(64))
        points = q4_points(clouds.clouds, clouds.charts, clouds.sizes, rng) if clouds is not None else {}
        x = sets.x if sets is not None else None
        xq = q5_points(x, rng) if x is not None else None
        exports = {name.lower(): path for name, path in ctx.exports.items()}
        got = run_models_apart(exports, points, q5_inputs(x, xq[0]) if xq is not None else {}, ctx.executor)
        ctx.shared["models"] = {**got, "q4_points": points, "q5_x": xq}
    return ctx.shared["models"]


CALL_SECONDS, APART_SECONDS, MAX_CANDIDATES, MAX_RESULT_BYTES = 5, 90, 24, 64 << 20


def model_watch_cell():
    """The cell inserted before the Q4 (or Q5) section: it remembers the torch modules the section calls."""
    return kernel_cell("models", "watch", {"max_candidates": MAX_CANDIDATES})


def model_export_cell(path: Path):
    """The cell inserted after the Q4 (or Q5) section: it pickles the kernel's candidate models into ``path``."""
    return kernel_cell("models", "export", {"path": str(path), "max_candidates": MAX_CANDIDATES})


def _cell_error(nb) -> str | None:
    return next((f"{o.get('ename')}: {o.get('evalue')}"[:300] for c in nb.cells for o in c.get("outputs", [])
                 if o.get("output_type") == "error"), None)


def _read(out: Path) -> tuple:
    """What an apart phase wrote: (JSON, {key: float64 array}), or (None, {}) when it wrote nothing readable."""
    js, npz = out.with_suffix(".json"), out.with_suffix(".npz")
    try:
        if js.stat().st_size > MAX_RESULT_BYTES or npz.stat().st_size > MAX_RESULT_BYTES:
            return None, {}
        got = json.loads(js.read_text())
        with np.load(npz, allow_pickle=False) as z:
            arrays = {k: np.asarray(z[k], dtype=float) for k in z.files}
    except (OSError, ValueError, TypeError):
        return None, {}
    return got, arrays


def run_models_apart(exports: dict, q4_points: dict, q5_inputs: dict, executor, *,
                     timeout: float = 2 * APART_SECONDS) -> dict:
    """Evaluate the models the export cells pickled, in fresh kernels through ``executor``, on the grader's inputs.

    Parameters
    ----------
    exports : {"q4" | "q5": Path}, the files the export cells wrote (missing files are skipped)
    q4_points : {data file: (P (n, D), shipped (n,) bool)}, the points the encoders run on; ``shipped``: the rows
        the zip holds, the others drawn by the grader
    q5_inputs : {input name: (m, 1)}, the x the Q5 models run at, as given and normalised

    Returns
    -------
    dict
        {"q4": {data file: [{"name", "kind", "params", "rows", "fresh_error", "output" (n, D)}]},
        "q5": [{"name", "kind", "params", "input", "ops", "sk_hidden", "sk_activation", "mlp_numbers",
        "output" (m, 2), "ablated" (m, 2) or None}], "notes": {"q4" | "q5": why nothing came back},
        "failed": {name: why it could not be taken out}, "started": False when a kernel did not start,
        "seconds": the time the fresh kernels took}
    """
    t0 = time.monotonic()
    res = {"q4": {}, "q5": [], "notes": {}, "failed": {}, "started": True, "seconds": 0.0}
    files = list(q4_points)
    with tempfile.TemporaryDirectory(prefix="quiz1-models-") as tmp:
        tmp = Path(tmp).resolve()
        cells, todo = [], {}
        for q in ("q4", "q5"):
            src = exports.get(q)
            if src is None or not Path(src).is_file() or (q == "q4" and not files) or (q == "q5" and not q5_inputs):
                continue
            shutil.copyfile(src, tmp / f"{q}.pkl")
            if q == "q4":
                np.savez(tmp / "q4-data.npz", **{f"P{i}": q4_points[f][0] for i, f in enumerate(files)},
                         **{f"shipped{i}": q4_points[f][1] for i, f in enumerate(files)})
            else:
                np.savez(tmp / "q5-data.npz", **{f"x:{k}": v for k, v in q5_inputs.items()})
            cells.append(kernel_cell("models", "evaluate", {
                "models": str(tmp / f"{q}.pkl"), "data": str(tmp / f"{q}-data.npz"), "out": str(tmp / f"{q}-out"),
                "question": q, "seconds": CALL_SECONDS, "budget": APART_SECONDS}))
            todo[q] = tmp / f"{q}-out"
        if not cells:
            return res
        nb = nbformat.v4.new_notebook(cells=cells)
        run = executor(nb, tmp, timeout=timeout, budget=timeout, progress=False, root=tmp)
        if not run.started:
            res.update(started=False, notes={q: f"the kernel did not start ({run.start_error})" for q in todo})
            return res
        why = _cell_error(nb) or "the evaluation wrote nothing"
        for q, out in todo.items():
            got, arrays = _read(out)
            if got is None:
                res["notes"][q] = why
                continue
            res["failed"].update(got.get("failed", {}))
            if q == "q5":
                for k, item in enumerate(got.get("items", [])):
                    out_k = arrays.get(f"output{k}")
                    if out_k is not None and out_k.shape == (len(next(iter(q5_inputs.values()))), 2):
                        res["q5"].append({**item, "name": item.get("route"), "output": out_k,
                                          "ablated": arrays.get(f"ablated{k}")})
            elif got.get("items"):
                codes = tmp / "q4-out"
                nb2 = nbformat.v4.new_notebook(cells=[kernel_cell("models", "decode", {
                    "models": str(tmp / "q4.pkl"), "codes": str(codes.with_suffix(".npz")),
                    "index": str(codes.with_suffix(".json")), "data": str(tmp / "q4-data.npz"),
                    "out": str(tmp / "q4-decoded"), "seconds": CALL_SECONDS, "budget": APART_SECONDS})])
                run2 = executor(nb2, tmp, timeout=timeout, budget=timeout, progress=False, root=tmp)
                pairs, recon = _read(tmp / "q4-decoded")
                if pairs is None:
                    res["notes"][q] = (_cell_error(nb2) or "the decoders wrote nothing") if run2.started else \
                        f"the kernel did not start ({run2.start_error})"
                    res["started"] = run2.started
                    continue
                for p in pairs if isinstance(pairs, list) else []:
                    try:
                        f, R = files[int(p["file"])], recon.get(p["key"])
                    except (KeyError, IndexError, TypeError, ValueError):
                        continue
                    want = q4_points[f][0].shape if p.get("rows") == "all" else (int(q4_points[f][1].sum()),
                                                                                  q4_points[f][0].shape[1])
                    if R is not None and R.shape == want:
                        name = p["encoder"] + " + " + p["decoder"]
                        stem = p["encoder"].rsplit(".", 1)[0]
                        if p["encoder"] == f"{stem}.encode" and p["decoder"] == f"{stem}.decode" or \
                                p["encoder"] == f"{stem}.transform" and p["decoder"] == f"{stem}.inverse_transform":
                            name = stem
                        res["q4"].setdefault(f, []).append({
                            "name": name, "kind": p.get("kind"), "params": int(p.get("params", 0)),
                            "rows": p.get("rows"), "fresh_error": p.get("fresh_error"), "output": R})
            else:
                res["notes"][q] = "no encoder in the kernel gave a code of one dimension fewer on the grader's points"
    res["seconds"] = time.monotonic() - t0
    return res
