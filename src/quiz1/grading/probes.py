"""What the grader runs itself: a probe in the student's kernel (Q2's graphs) and a harness out of its reach (Q7).

Q2, by its graph. A cell inserted before the Q2 section remembers every tensor
with a graph the section prints or converts (a tensor computed inside a
function counts too); a probe cell inserted after it walks the autograd graph
of those and of every tensor the notebook holds (``grad_fn.next_functions``,
the walk torchviz's ``make_dot`` does) and sends it back under a nonce; the grader
rebuilds torchviz's DOT text and asks quiz1's own ``is_isomorphic`` test
whether it is Figure 1. Printing Figure 1's output proves nothing; holding a
tensor whose graph *is* Figure 1, with that output, does. A probe inside the
student's kernel can in principle be forged by a notebook written against it;
the note says what it saw.

Q7, out of the notebook's reach. The class definitions of the Q7 section (with
the imports and functions beside them, nothing else: no main block, no other
cell) are taken from the notebook's source with ``ast`` and run, with the quiz's
main block, in a fresh kernel through the same executor (sandbox) as the
notebook, at ``xinit`` values the grader draws; the grader compares the
gradients with those of quiz1's own fixed class in its own process. No display
hook, printed message or earlier cell of the notebook can take part. Written by
hand: no library extracts class definitions from a notebook and runs them apart.

Q4 and Q5, out of the notebook's reach. A cell after each section pickles the
kernel's models into a file (``kernel/models.py``, injected as text); the
grader then runs them in fresh kernels through the same executor, on points it
draws only then: the Q4 encoders in one kernel, the decoders on the codes alone
in another (``run_models_apart``).
"""
from __future__ import annotations

import ast
import json
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np

PROBE_MIME = "application/x-quiz1-probe+json"
MAX_TENSORS, MAX_NODES = 64, 400

WATCH = '''
def __quiz1_watch():
    """quiz1's grader: remember the tensors with a graph that the Q2 section shows or converts (printed, formatted,
    iterated, indexed, detached, turned into a list or an array), so a tensor computed inside a function counts too."""
    try:
        import torch
    except Exception:
        return
    seen = get_ipython().user_ns.setdefault("_quiz1_seen", {})

    def wrap(name):
        original = getattr(torch.Tensor, name)

        def watched(self, *args, **kwargs):
            if getattr(self, "grad_fn", None) is not None and len(seen) < %(max_tensors)d:
                seen.setdefault(id(self), self)
            return original(self, *args, **kwargs)
        setattr(torch.Tensor, name, watched)
    for name in ("__repr__", "__format__", "__iter__", "__getitem__", "tolist", "detach", "numpy", "item", "cpu"):
        wrap(name)
__quiz1_watch()
del __quiz1_watch
'''

GRAPH_PROBE = '''
def __quiz1_graphs(nonce):
    """quiz1's grader: the autograd graph of every tensor this notebook holds (Question 2)."""
    from IPython.display import display
    out = {"nonce": nonce, "tensors": []}
    try:
        import torch
    except Exception:
        display({%(mime)r: out}, raw=True)
        return

    def size(v):
        return "(" + ", ".join(str(int(s)) for s in v.size()) + ")"

    def graph(t):
        nodes, edges, seen, stack = {"out": ["output " + size(t)]}, [["f%%d" %% id(t.grad_fn), "out"]], set(), [t.grad_fn]
        while stack and len(nodes) < %(max_nodes)d:
            fn = stack.pop()
            if fn is None or id(fn) in seen:
                continue
            seen.add(id(fn))
            nodes["f%%d" %% id(fn)] = [type(fn).__name__]
            if hasattr(fn, "variable"):
                nodes["v%%d" %% id(fn.variable)] = ["leaf " + size(fn.variable)]
                edges.append(["v%%d" %% id(fn.variable), "f%%d" %% id(fn)])
            for nxt, _ in fn.next_functions:
                if nxt is not None:
                    edges.append(["f%%d" %% id(nxt), "f%%d" %% id(fn)])
                    stack.append(nxt)
        return nodes, edges

    found = []
    for name, obj in list(get_ipython().user_ns.items()):
        if name.startswith("_"):
            continue
        items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, (list, tuple)) else [(None, obj)]
        try:
            for key, v in list(items)[:100]:
                if isinstance(v, torch.Tensor) and v.grad_fn is not None and len(found) < %(max_tensors)d:
                    found.append((name if key is None else "%%s[%%r]" %% (name, key), v))
        except Exception:
            continue
    found += [("", v) for v in list(get_ipython().user_ns.get("_quiz1_seen", {}).values())]   # "": shown, unnamed
    for name, t in found:
        try:
            nodes, edges = graph(t)
            out["tensors"].append({"name": name, "shape": list(t.shape), "nodes": nodes, "edges": edges,
                                   "value": t.detach().reshape(-1)[:12].double().tolist()})
        except Exception:
            pass
    display({%(mime)r: out}, raw=True)
__quiz1_graphs(%(nonce)r)
del __quiz1_graphs
'''


def watch_cell():
    """The cell inserted before the Q2 section: it records the tensors with a graph that the section shows."""
    return nbformat.v4.new_code_cell(WATCH % {"max_tensors": MAX_TENSORS}, metadata={"quiz1_probe": True})


def graph_probe_cell(nonce: str):
    """The probe cell inserted after the Q2 section."""
    return nbformat.v4.new_code_cell(GRAPH_PROBE % {"mime": PROBE_MIME, "nonce": nonce, "max_nodes": MAX_NODES,
                                                    "max_tensors": MAX_TENSORS}, metadata={"quiz1_probe": True})


def probe_result(cell, nonce: str) -> dict | None:
    """What the probe cell sent back under ``nonce`` ({"tensors": [...]}), or None."""
    for o in cell.get("outputs", []):
        got = o.get("data", {}).get(PROBE_MIME)
        if isinstance(got, dict) and got.get("nonce") == nonce:
            return got
    return None


def figure1_tensors(probe: dict | None) -> list[dict]:
    """The probe's tensors whose autograd graph torchviz would draw as Figure 1 (labels and edges, isomorphic)."""
    import networkx as nx

    from ..data.loaders import figure1_dot
    from ..solvers.compute_graph import labelled_multigraph, parse_torchviz

    fig = labelled_multigraph(parse_torchviz(figure1_dot(), "Figure 1"))
    out = []
    for t in (probe or {}).get("tensors", []):
        try:
            g = nx.MultiDiGraph()
            for n, (label,) in t["nodes"].items():
                g.add_node(n, label=label)
            g.add_edges_from(tuple(e) for e in t["edges"])
        except (KeyError, TypeError, ValueError):
            continue
        if g.number_of_nodes() == fig.number_of_nodes() and nx.is_isomorphic(
                fig, g, node_match=lambda a, b: a["label"] == b["label"]):
            out.append(t)
    return out


# --------------------------------------------------------------------------
# Q7: the student's classes, run apart

_MAGIC = re.compile(r"^\s*[%!].*$", re.M)
KEEP = (ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)

HARNESS = '''
import json as __json
import torch as __torch

def __quiz1_main(cls, v):
    g = cls()
    xinit = __torch.tensor([v], requires_grad=True)
    x = [xinit]
    x.append(x[-1] + g(x[-1]))
    loss = x[-1] ** 2
    loss.backward()
    first = xinit.grad.detach().clone().reshape(-1).tolist()
    x = [xinit]
    x.append(x[-1] + g(x[-1]))
    loss = x[-1] ** 2
    loss.backward()
    return [first, xinit.grad.detach().reshape(-1).tolist()]

__quiz1_out = []
for __name in %(names)r:
    __rec = {"name": __name, "runs": []}
    for __v in %(xinits)r:
        try:
            __rec["runs"].append({"xinit": __v, "grads": __quiz1_main(globals()[__name], __v)})
        except BaseException as __e:
            __rec["runs"].append({"xinit": __v, "error": (type(__e).__name__ + ": " + str(__e)).splitlines()[0][:300]})
    __quiz1_out.append(__rec)
print(%(nonce)r + __json.dumps(__quiz1_out))
'''


def q7_definitions(sources: list[str]) -> tuple[str, list[str]]:
    """The imports, functions and classes of ``sources`` (code cells) as one program, and the class names."""
    keep, names = [], []
    for src in sources:
        try:
            tree = ast.parse(_MAGIC.sub("", src))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, KEEP):
                keep.append(node)
                if isinstance(node, ast.ClassDef):
                    names.append(node.name)
    return "\n\n".join(ast.unparse(n) for n in keep), list(dict.fromkeys(names))


def run_q7_apart(sources: list[str], xinits: list[float], executor, *, timeout: float = 120) -> dict:
    """Run the quiz's main block with each class of ``sources``, apart from the notebook, through ``executor``.

    Returns {"classes": [{"name", "runs": [{"xinit", "grads" | "error"}]}], "error": why nothing ran, or None,
    "definitions": the program that was run, "started": False when the kernel did not start}.
    """
    code, names = q7_definitions(sources)
    if not names:
        return {"classes": [], "error": None, "definitions": code, "started": True}
    nonce = f"quiz1-q7-{secrets.token_hex(8)}:"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code), nbformat.v4.new_code_cell(
        HARNESS % {"names": names, "xinits": list(xinits), "nonce": nonce})])
    with tempfile.TemporaryDirectory(prefix="quiz1-q7-") as tmp:
        run = executor(nb, Path(tmp), timeout=timeout, budget=timeout, progress=False, root=Path(tmp))
    defs_error = next((f"{o.get('ename')}: {o.get('evalue')}" for o in nb.cells[0].get("outputs", [])
                       if o.get("output_type") == "error"), None)
    for o in nb.cells[1].get("outputs", []):
        for line in o.get("text", "").splitlines() if o.get("output_type") == "stream" else []:
            if line.startswith(nonce):
                try:
                    return {"classes": json.loads(line[len(nonce):]), "error": defs_error, "definitions": code,
                            "started": True}
                except ValueError:
                    break
    why = defs_error or next((f"{o.get('ename')}: {o.get('evalue')}" for o in nb.cells[1].get("outputs", [])
                              if o.get("output_type") == "error"), None)
    if not run.started:
        why = f"the kernel did not start ({run.start_error})"
    return {"classes": [], "error": why or "the harness printed nothing", "definitions": code, "started": run.started}


# --------------------------------------------------------------------------
# Q4 and Q5: the student's models, taken out of the kernel and run apart (kernel/models.py says how)

CALL_SECONDS, APART_SECONDS, MAX_CANDIDATES, MAX_RESULT_BYTES = 5, 90, 24, 64 << 20


def kernel_source(module: str) -> str:
    """The text of ``kernel/<module>.py``, the code injected into a kernel."""
    return (Path(__file__).parent / "kernel" / f"{module}.py").read_text()


def kernel_cell(module: str, function: str, params: dict):
    """A code cell that runs ``function(**params)`` of ``kernel/<module>.py`` (read as text, ``params`` as JSON) in a
    namespace of its own: the notebook's gets only ``__quiz1_kernel``, deleted at the end."""
    src = (f"exec(compile({kernel_source(module)!r}, 'quiz1/grading/kernel/{module}.py', 'exec'), "
           f"__quiz1_kernel := {{'__name__': 'quiz1_kernel_{module}'}})\n"
           f"__quiz1_kernel[{function!r}](**__import__('json').loads({json.dumps(params)!r}))\n"
           "del __quiz1_kernel\n")
    return nbformat.v4.new_code_cell(src, metadata={"quiz1_probe": True})


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
