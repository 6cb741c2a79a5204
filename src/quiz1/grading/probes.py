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
"""
from __future__ import annotations

import ast
import json
import re
import secrets
import tempfile
from pathlib import Path

import nbformat

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
