"""What the grader runs itself: cells in the student's kernel (Q1's call record, Q2's graphs, Q4/Q5's models) and a
harness out of its reach (Q7).

The guard. Before any cell of the notebook the grader runs ``kernel/guard.py``
(read as text, its parameters as JSON): it captures the objects its later cells
rely on while they are genuine, and every report it sends is signed and says what
the notebook replaced (by identity). ``guard_cell`` is that first cell,
``guard_call_cell`` a later call (``q1_start``/``q1_report`` around the Q1
section, ``watch`` before the Q2 section, ``graph`` after it), ``guard_result``
what one sent back.

Q2, by its graph. The watch remembers every tensor with a graph the section
prints or converts (a tensor computed inside a function counts too); the graph
probe walks the autograd graph of those and of every tensor the notebook holds
(``grad_fn.next_functions``, the walk torchviz's ``make_dot`` does); the grader
asks quiz1's own ``is_isomorphic`` test whether it is Figure 1 (tensors of any
shape; a, b and c may be one tensor: Figure 1 with its leaves merged). Printing
Figure 1's output proves nothing; holding a tensor whose graph *is* Figure 1, with
that output, does.

Q7, out of the notebook's reach. The class definitions of the Q7 section, with
every import of the notebook and the module-level constants and functions they
read (nothing that runs: no main block, no other statement), are taken from the
notebook's source with ``ast`` and run with the quiz's main block in a fresh
kernel through the same executor (sandbox) as the notebook, by ``kernel/q7.py``,
at ``xinit`` values the grader draws; the grader compares the gradients with those
of quiz1's own fixed class in its own process. Written by hand: no library
extracts class definitions from a notebook and runs them apart.
"""
from __future__ import annotations

import ast
import json
import re
import secrets
import tempfile
from pathlib import Path

import nbformat

from .kernel import bootstrap, call, signed_results

GUARD_SLOT = "__quiz1_{}"   # the private namespace of the guard in the student's kernel, named by the nonce


def guard_cell(nonce: str, key: str):
    """The cell the grader runs before any cell of the notebook: ``kernel/guard.py``'s ``install``, with the nonce
    its reports carry and the key that signs them."""
    return nbformat.v4.new_code_cell(bootstrap("guard", GUARD_SLOT.format(nonce), "install", {"nonce": nonce, "key": key}),
                                     metadata={"quiz1_probe": True})


def guard_call_cell(nonce: str, entry: str):
    """A later grader cell: one entry of the guard (``q1_start``, ``q1_report``, ``watch``, ``graph``)."""
    return nbformat.v4.new_code_cell(call(GUARD_SLOT.format(nonce), entry, {}), metadata={"quiz1_probe": True})


def guard_result(cell, nonce: str, key: str) -> dict | None:
    """What a guard cell sent back, signed with ``key`` under ``nonce`` (its last report), with "forged": the number of
    outputs that carried the nonce without a valid signature; None when nothing came back at all."""
    good, forged = signed_results(cell.get("outputs", []), nonce, key)
    if not good and not forged:
        return None
    return {**(good[-1] if good else {}), "forged": forged, "signed": bool(good)}


def _kind(label: str) -> str:
    """A node's label without a tensor's shape: "leaf (3, 1)" -> "leaf" (Figure 1 holds for tensors of any shape)."""
    return re.sub(r"^(leaf|output) \(.*\)$", r"\1", label)


def figure1_forms() -> list[tuple[str | None, object]]:
    """Figure 1 (labels without shapes) and its forms with leaves merged, as (what was merged or None, graph): the
    graph torchviz draws when a, b and c are fed by fewer tensors (``f(x, x, x)``: one leaf, one AccumulateGrad)."""
    import networkx as nx

    from ..data.loaders import figure1_dot
    from ..solvers.compute_graph import labelled_multigraph, parse_torchviz

    fig = labelled_multigraph(parse_torchviz(figure1_dot(), "Figure 1"))
    for n in fig.nodes:
        fig.nodes[n]["label"] = _kind(fig.nodes[n]["label"])
    forms = [(None, fig)]
    for group in (("a", "b", "c"), ("a", "b"), ("a", "c"), ("b", "c")):
        g = fig.copy()
        for x in group[1:]:     # one AccumulateGrad takes the others' edges; one leaf box feeds it
            g = nx.contracted_nodes(g, "acc_" + group[0], "acc_" + x, self_loops=False, copy=True)
            g.remove_node("leaf_" + x)
        forms.append((", ".join(group[:-1]) + " and " + group[-1], g))
    return forms


def figure1_tensors(probe: dict | None) -> list[dict]:
    """The probe's tensors whose autograd graph torchviz would draw as Figure 1 (labels and edges, isomorphic; tensors
    of any shape), or as Figure 1 with some of a, b and c fed by one tensor: each with "merged" (the inputs that are
    one tensor, e.g. "a, b and c", or None)."""
    import networkx as nx

    forms = figure1_forms()
    out = []
    for t in (probe or {}).get("tensors", []):
        try:
            g = nx.MultiDiGraph()
            for n, (label,) in t["nodes"].items():
                g.add_node(n, label=_kind(label))
            g.add_edges_from(tuple(e) for e in t["edges"])
        except (KeyError, TypeError, ValueError):
            continue
        for merged, fig in forms:
            if g.number_of_nodes() == fig.number_of_nodes() and g.number_of_edges() == fig.number_of_edges() and \
                    nx.is_isomorphic(fig, g, node_match=lambda a, b: a["label"] == b["label"]):
                out.append({**t, "merged": merged})
                break
    return out


# --------------------------------------------------------------------------
# Q7: the student's classes, run apart

_MAGIC = re.compile(r"^\s*[%!].*$", re.M)
KEEP = (ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
DEFS = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def _parse(src: str) -> list:
    try:
        return ast.parse(_MAGIC.sub("", src)).body
    except SyntaxError:
        return []


def _reads(node) -> set:
    """The names ``node`` reads (loads) anywhere inside it."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _guarded(node) -> ast.Try:
    """``node`` inside ``try: ... except Exception: pass`` (an import the grading machine lacks must not stop the
    definitions after it)."""
    handler = ast.ExceptHandler(type=ast.Name("Exception", ast.Load()), name=None, body=[ast.Pass()])
    return ast.fix_missing_locations(ast.Try(body=[node], handlers=[handler], orelse=[], finalbody=[]))


def q7_definitions(sources: list[str], notebook: list[str] = ()) -> tuple[str, list[str]]:
    """The Q7 section's functions and classes as one program, and the class names; ``notebook``: every code cell of
    the notebook, whose imports come first (each guarded) with the module-level names the section's definitions read
    (functions, classes, and assignments whose calls are only to imported modules: constants, nothing that runs)."""
    imports, module_level = [], {}
    for src in list(notebook) + list(sources):
        for node in _parse(src):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                imports.append(node)
            elif isinstance(node, DEFS):
                module_level[node.name] = node
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    if isinstance(t, ast.Name):
                        module_level[t.id] = node
    modules = {(a.asname or a.name).split(".")[0] for n in imports for a in n.names}
    own, names = [], []
    for src in sources:
        for node in _parse(src):
            if isinstance(node, DEFS):
                own.append(node)
                if isinstance(node, ast.ClassDef):
                    names.append(node.name)
    defined = {n.name for n in own}
    extra, todo = [], set().union(*(_reads(n) for n in own)) if own else set()
    while todo:
        name = todo.pop()
        node = module_level.get(name)
        if name in defined or node is None or any(node is e for e in extra):
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and not _constant(node, modules):
            continue
        extra.append(node)
        defined.add(name)
        todo |= _reads(node)
    order = {id(n): k for k, n in enumerate(n for src in list(notebook) + list(sources) for n in _parse(src))}
    extra.sort(key=lambda n: order.get(id(n), 0))
    seen, parts = set(), []
    for node in imports:
        text = ast.unparse(_guarded(node))
        if text not in seen:
            seen.add(text)
            parts.append(text)
    parts += [ast.unparse(_guarded(n)) if isinstance(n, (ast.Assign, ast.AnnAssign)) else ast.unparse(n) for n in extra]
    parts += [ast.unparse(n) for n in own]
    return "\n\n".join(parts), list(dict.fromkeys(names))


def _constant(node, modules: set) -> bool:
    """An assignment that runs nothing of the notebook: every call in its value is to an imported module's function."""
    value = node.value
    if value is None:
        return False
    for node_call in (n for n in ast.walk(value) if isinstance(n, ast.Call)):
        f = node_call.func
        while isinstance(f, ast.Attribute):
            f = f.value
        if not (isinstance(f, ast.Name) and f.id in modules):
            return False
    return True


def class_sources(definitions: str) -> dict:
    """class name -> its source, in ``definitions`` (what ``q7_definitions`` returned)."""
    return {n.name: ast.unparse(n) for n in _parse(definitions) if isinstance(n, ast.ClassDef)}


def run_q7_apart(sources: list[str], xinits: list[float], executor, *, timeout: float = 120,
                 notebook: list[str] = ()) -> dict:
    """Run the quiz's main block with each class of ``sources``, apart from the notebook, through ``executor``
    (``kernel/q7.py``: capture, the definitions, run); ``notebook``: every code cell, for its imports and constants.

    Returns {"classes": [{"name", "runs": [{"xinit", "grads" | "error"}], "replaced": [names]}], "error": why nothing
    ran, or None, "definitions": the program that was run, "started": False when the kernel did not start,
    "forged": outputs that carried the nonce unsigned}.
    """
    code, names = q7_definitions(sources, notebook)
    if not names:
        return {"classes": [], "error": None, "definitions": code, "started": True, "forged": 0}
    nonce, key = secrets.token_hex(8), secrets.token_hex(16)
    slot = GUARD_SLOT.format(nonce)
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(bootstrap("q7", slot, "capture", {"nonce": nonce, "key": key})),
        nbformat.v4.new_code_cell(code),
        nbformat.v4.new_code_cell(call(slot, "run", {"names": names, "xinits": list(xinits)}))])
    with tempfile.TemporaryDirectory(prefix="quiz1-q7-") as tmp:
        run = executor(nb, Path(tmp), timeout=timeout, budget=timeout, progress=False, root=Path(tmp))

    def error(cell):
        return next((f"{o.get('ename')}: {o.get('evalue')}" for o in cell.get("outputs", [])
                     if o.get("output_type") == "error"), None)

    good, forged = signed_results(nb.cells[2].get("outputs", []), nonce, key)
    if good:
        return {"classes": good[-1].get("classes", []), "error": error(nb.cells[1]), "definitions": code,
                "started": True, "forged": forged}
    why = error(nb.cells[0]) and f"the grader's harness failed ({error(nb.cells[0])})"
    why = why or error(nb.cells[1]) or error(nb.cells[2])
    if not run.started:
        why = f"the kernel did not start ({run.start_error})"
    return {"classes": [], "error": why or "the harness sent nothing back", "definitions": code, "started": run.started,
            "forged": forged}


# --------------------------------------------------------------------------
# Q4 and Q5: the student's own networks and functions, run on the TA's data

MODEL_MIME = "application/x-quiz1-models+json"
CALL_SECONDS, PROBE_SECONDS, MAX_CANDIDATES, KEEP_PER_FILE = 5, 90, 24, 4

MODEL_WATCH = '''
def __quiz1_model_watch():
    """quiz1's grader: remember the torch modules the Q4 and Q5 sections call at the top level (a model trained
    inside a function counts too)."""
    try:
        import torch
    except Exception:
        return
    get_ipython().user_ns["_quiz1_called"] = {}      # a fresh list for each section (Q4, then Q5)
    if getattr(torch.nn.Module, "_quiz1_watched", False):
        return
    original = torch.nn.Module.__call__
    depth = [0]

    def watched(self, *args, **kwargs):
        called = get_ipython().user_ns.get("_quiz1_called")
        if depth[0] == 0 and isinstance(called, dict) and len(called) < %(max_candidates)d:
            called.setdefault(id(self), self)
        depth[0] += 1
        try:
            return original(self, *args, **kwargs)
        finally:
            depth[0] -= 1
    torch.nn.Module.__call__ = watched
    torch.nn.Module._quiz1_watched = True
__quiz1_model_watch()
del __quiz1_model_watch
'''

MODEL_PROBE = '''
def __quiz1_models(nonce, question, datasets):
    \"\"\"quiz1's grader: run the notebook's torch modules, sklearn MLPs and functions on the TA's data.\"\"\"
    import contextlib, inspect, io, re, signal, time
    import numpy as np
    from IPython.display import display
    out = {"nonce": nonce, "question": question, "files": {}}
    try:
        import torch
        from torch.overrides import TorchFunctionMode
    except Exception:
        display({%(mime)r: out}, raw=True)
        return
    t0 = time.monotonic()
    ns = get_ipython().user_ns

    class Ops(TorchFunctionMode):
        \"\"\"The torch functions one forward pass calls, in order (linear, relu, ...): the architecture.\"\"\"
        def __init__(self):
            super().__init__()
            self.seen, self.widths = [], []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            result = func(*args, **(kwargs or {}))
            if len(self.seen) < 200:
                self.seen.append(getattr(func, "__name__", str(func)))
                if isinstance(result, torch.Tensor) and result.ndim == 2:
                    self.widths.append(int(result.shape[1]))   # the widths the data passes through: a bottleneck?
            return result

    def alarm(*_):
        raise TimeoutError()

    def call(fn, arg, ops):
        old = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, %(call_seconds)d)
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                    torch.no_grad(), ops:
                return fn(arg)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)

    def arrays(v, n):
        \"\"\"Every (n, k) finite array in a result (a tuple (code, reconstruction) gives both).\"\"\"
        items = list(v) if isinstance(v, (tuple, list)) and 0 < len(v) <= 4 and not np.isscalar(v[0]) else [v]
        got = []
        for e in items:
            try:
                a = e.detach().cpu().double().numpy() if isinstance(e, torch.Tensor) else np.asarray(e, dtype=float)
            except Exception:
                continue
            a = a[:, None] if a.ndim == 1 and a.shape[0] == n else a
            if a.ndim == 2 and a.shape[0] == n and np.isfinite(a).all():
                got.append(a)
        return got

    def params(obj, seen):
        if isinstance(obj, torch.nn.Module):
            return sum(p.numel() for p in obj.parameters() if id(p) not in seen and not seen.add(id(p)))
        if hasattr(obj, "coefs_"):
            return int(sum(np.size(c) for c in obj.coefs_) + sum(np.size(b) for b in getattr(obj, "intercepts_", [])))
        total = 0
        if inspect.isfunction(obj):           # a function that calls a network: the network's parameters
            cells = dict(zip(obj.__code__.co_freevars, [c.cell_contents for c in (obj.__closure__ or [])]))
            for nm in set(obj.__code__.co_names) | set(cells):
                ref = cells.get(nm, obj.__globals__.get(nm))
                if isinstance(ref, torch.nn.Module) or hasattr(ref, "coefs_"):
                    total += params(ref, seen)
        return total

    def kind(obj):
        if callable(getattr(obj, "encode", None)) and callable(getattr(obj, "decode", None)) and question == "q4":
            return "encode/decode " + ("module" if isinstance(obj, torch.nn.Module) else "object")
        return "function" if inspect.isfunction(obj) else "sklearn" if hasattr(obj, "coefs_") else "module"

    def wanted(obj):
        return (isinstance(obj, torch.nn.Module) or hasattr(obj, "coefs_") and hasattr(obj, "predict")
                or callable(getattr(obj, "encode", None)) and callable(getattr(obj, "decode", None))
                and not isinstance(obj, type))

    cands, stack, visited = {}, [(name, obj, 0) for name, obj in list(ns.items()) if not name.startswith("_")], 0
    stack.reverse()
    while stack and visited < 5000:       # the namespace, and what its dicts, lists and records hold (depth 3)
        name, obj, depth = stack.pop()
        visited += 1
        if wanted(obj):
            cands.setdefault(id(obj), (name, obj))
            continue
        if depth >= 3 or isinstance(obj, (str, bytes, type)) or inspect.ismodule(obj) or inspect.isroutine(obj):
            continue
        try:
            if isinstance(obj, dict) and len(obj) <= 64:
                items = [("%%s[%%r]" %% (name, k), v) for k, v in obj.items()]
            elif isinstance(obj, (list, tuple)) and len(obj) <= 64:
                items = [("%%s[%%d]" %% (name, k), v) for k, v in enumerate(obj)]
            elif hasattr(obj, "__dataclass_fields__"):
                items = [("%%s.%%s" %% (name, f), getattr(obj, f, None)) for f in obj.__dataclass_fields__]
            else:
                continue
        except Exception:
            continue
        stack.extend((n, v, depth + 1) for n, v in reversed(items))
    for v in list(ns.get("_quiz1_called", {}).values()):
        cands.setdefault(id(v), ("", v))
    skip = re.compile(r"^(train|fit|plot|show|draw|main|run|loss|optim|evaluate|test|save|load|make|build|print)",
                      re.I)
    for name, obj in list(ns.items()):      # functions after the modules: one of them may change a module
        if not name.startswith("_") and inspect.isfunction(obj) and obj.__module__ == "__main__" \\
                and not skip.match(name):
            cands.setdefault(id(obj), (name, obj))
    cands = dict(list(cands.items())[:%(max_candidates)d])

    def squeezed(z, shape):
        """An encoder's code, refused unless it has one dimension fewer than the data (an identity is no encoder)."""
        if tuple(getattr(z, "shape", ())) != (shape[0], shape[1] - 1):
            raise ValueError("not a code of one dimension fewer")
        return z

    def runner(obj, a):
        if callable(getattr(obj, "encode", None)) and callable(getattr(obj, "decode", None)) and question == "q4":
            p = next(obj.parameters(), None) if isinstance(obj, torch.nn.Module) else None
            if p is not None:
                t = torch.as_tensor(a, dtype=p.dtype if p.is_floating_point() else torch.float32).to(p.device)
                return lambda ops: call(lambda v: obj.decode(squeezed(obj.encode(v), a.shape)), t, ops)
            return lambda ops: call(lambda v: obj.decode(squeezed(obj.encode(v), a.shape)), a, ops)
        if isinstance(obj, torch.nn.Module):
            p = next(obj.parameters(), None)
            t = torch.as_tensor(a, dtype=p.dtype if p is not None and p.is_floating_point() else torch.float32)
            return lambda ops: call(obj, t.to(p.device) if p is not None else t, ops)
        if hasattr(obj, "coefs_"):
            return lambda ops: call(obj.predict, a, ops)
        return lambda ops: call(obj, a, ops)

    for fname, X in datasets.items():
        X = np.asarray(X, dtype=float)
        n, D = X.shape
        encs, whole = [], []
        for key, (name, obj) in cands.items():
            if time.monotonic() - t0 > %(probe_seconds)d:
                break
            for a in ([X] if question == "q4" else [X[:, :1], X[:, 0]]):
                try:
                    ops = Ops()
                    got = arrays(runner(obj, a)(ops), n)
                except BaseException:
                    continue
                for g in got:
                    rec = {"name": name or type(obj).__name__, "kind": kind(obj), "params": params(obj, set()),
                           "ops": ops.seen}
                    if hasattr(obj, "coefs_"):
                        rec.update(sk_hidden=len(obj.coefs_) - 1, sk_activation=str(getattr(obj, "activation", "")))
                    if question == "q5" and g.shape[1] == 2 and (rec["kind"] != "function" or rec["params"]):
                        whole.append((rec, g))           # Q5 asks for a network: a plain function is not one
                    elif question == "q4" and g.shape[1] == D and (rec["kind"].startswith("encode/decode") or
                                                                   rec["kind"] == "module" and ops.widths and
                                                                   min(ops.widths) <= D - 1):
                        whole.append((rec, g))           # an autoencoder counts with a bottleneck seen inside it
                    elif question == "q4" and g.shape[1] == D - 1:
                        encs.append((rec, key, obj, g))
                if got:
                    break
        for rec, key, enc, z in encs[:8]:
            for other, (name, obj) in cands.items():
                if other == key or time.monotonic() - t0 > %(probe_seconds)d:
                    continue
                try:
                    got = [g for g in arrays(runner(obj, z)(Ops()), n) if g.shape[1] == D]
                except BaseException:
                    continue
                if got:
                    seen = set()
                    whole.append(({"name": rec["name"] + " + " + (name or type(obj).__name__),
                                   "kind": rec["kind"] + " + " + kind(obj),
                                   "params": params(enc, seen) + params(obj, seen), "ops": []}, got[0]))
        if question == "q4":
            exact = %(exact_mse)r * X.var()        # exact ones by fewest parameters, the rest by loss
            mse = lambda g: float(((g - X) ** 2).mean())  # noqa: E731
            whole.sort(key=lambda rg: (mse(rg[1]) > exact, rg[0]["params"] if mse(rg[1]) <= exact else mse(rg[1])))
        out["files"][fname] = [dict(rec, output=g.tolist()) for rec, g in whole[:%(keep)d]]
    display({%(mime)r: out}, raw=True)
__quiz1_models(%(nonce)r, %(question)r, %(datasets)s)
del __quiz1_models
'''


def model_watch_cell():
    """The cell inserted before the Q4 (or Q5) section: it remembers the modules the sections call."""
    return nbformat.v4.new_code_cell(MODEL_WATCH % {"max_candidates": MAX_CANDIDATES}, metadata={"quiz1_probe": True})


def model_probe_cell(nonce: str, question: str, datasets: dict):
    """The probe inserted after the Q4 (``question="q4"``) or Q5 (``"q5"``) section: it runs the notebook's modules
    and functions on ``datasets`` (file name -> (n, D) array; for Q5 the x values as (n, 1)) and sends back their
    outputs, the parameters it counted and the torch functions one forward pass called."""
    import numpy as np

    from .reference import EXACT_REL

    data = json.dumps({k: np.asarray(v, dtype=float).tolist() for k, v in datasets.items()})
    return nbformat.v4.new_code_cell(MODEL_PROBE % {
        "mime": MODEL_MIME, "question": question, "call_seconds": CALL_SECONDS, "probe_seconds": PROBE_SECONDS,
        "max_candidates": MAX_CANDIDATES, "keep": KEEP_PER_FILE, "nonce": nonce, "datasets": data,
        "exact_mse": EXACT_REL ** 2},
        metadata={"quiz1_probe": True})


def model_result(cell, nonce: str) -> dict | None:
    """What a model probe sent back under ``nonce``: {"question", "files": {name: [candidate, ...]}}, or None."""
    for o in cell.get("outputs", []):
        got = o.get("data", {}).get(MODEL_MIME)
        if isinstance(got, dict) and got.get("nonce") == nonce:
            return got
    return None
