"""Q4's encoders and Q5's MLP, taken out of the student's kernel and run apart, on inputs drawn after the run.

Three steps in three processes, so that a verdict is computed by the grader on inputs the notebook never saw:

1. In the student's kernel. ``watch`` (a cell before the Q4 and Q5 sections) remembers the torch modules the
   section calls at the top level; ``export`` (a cell after each section) pickles the candidate objects with
   cloudpickle into one file: torch modules, scikit-learn-style estimators, objects with ``encode``/``decode`` or
   ``transform``/``inverse_transform``, and the notebook's own functions (cloudpickle takes the notebook's
   functions and classes by value, with the globals they read; one pickle for all, so what they share stays
   shared).
2. ``evaluate``, in a fresh kernel the grader starts after the run (through the same sandboxed executor): it loads
   the objects, counts every number each one reads (``numbers``), runs every encoder it can find (an object's
   ``encode``/``transform``, a prefix of an ``nn.Sequential``, a module's child, a function) on the points the
   grader drew for Q4, and every Q5 model at the grader's x, once more with the weights of its linear layers set
   to zero (what the output owes to the MLP).
3. ``decode``, in another fresh kernel: the objects loaded again, every decoder run on the codes alone (a new
   array or tensor of the type the encoder returned). Nothing the encoder saw or stored reaches the decoder but
   the code: an autoencoder counts only when it splits into an encoder and a decoder this way, and a skip
   connection ``x + dec(z)`` has no such split.

Written by hand: no library splits a notebook's models into encoders and decoders or counts the numbers a Python
object reads. Everything here runs where the student's code runs, and is read by the grader as text and injected
(``probes.kernel_cell``) with its parameters as JSON.
"""
import contextlib
import dis
import functools
import inspect
import io
import json
import pickle
import re
import signal
import time
import types

import numpy as np

SKIP = re.compile(r"^(train|fit|plot|show|draw|main|run|loss|optim|evaluate|test|save|load|make|build|print)", re.I)
LINEAR = {"linear", "addmm", "matmul", "mm", "__matmul__", "__rmatmul__", "bmm", "baddbmm", "addmv", "mv", "einsum"}
MAX_VISITS = 200_000


def _torch():
    try:
        import torch
        return torch
    except Exception:  # noqa: BLE001 -- a kernel without torch still has numpy models
        return None


# --------------------------------------------------------------------------
# 1. in the student's kernel

def watch(max_candidates=24):
    """Remember (in the kernel's ``_quiz1_called``) the torch modules called at the top level from now on."""
    from IPython import get_ipython

    torch = _torch()
    ns = get_ipython().user_ns
    ns["_quiz1_called"] = {}                         # a fresh record for each section (Q4, then Q5)
    if torch is None or getattr(torch.nn.Module, "_quiz1_watched", False):
        return
    original = torch.nn.Module.__call__
    depth = [0]

    def watched(self, *args, **kwargs):
        called = ns.get("_quiz1_called")
        if depth[0] == 0 and isinstance(called, dict) and len(called) < max_candidates:
            called.setdefault(id(self), self)
        depth[0] += 1
        try:
            return original(self, *args, **kwargs)
        finally:
            depth[0] -= 1
    torch.nn.Module.__call__ = watched
    torch.nn.Module._quiz1_watched = True


def _wanted(obj, torch):
    if isinstance(obj, type):
        return False
    return (torch is not None and isinstance(obj, torch.nn.Module) or hasattr(obj, "coefs_") and hasattr(obj, "predict")
            or callable(getattr(obj, "encode", None)) and callable(getattr(obj, "decode", None))
            or callable(getattr(obj, "transform", None)) and callable(getattr(obj, "inverse_transform", None)))


def candidates(ns, max_candidates=24):
    """[(name, object)]: the models a namespace holds (and what its dicts, lists and records hold, to depth 3), the
    modules the section called, then the notebook's own functions (not those named train, plot, ...)."""
    torch = _torch()
    found, stack, visited = {}, [(n, o, 0) for n, o in list(ns.items()) if not n.startswith("_")][::-1], 0
    while stack and visited < 5000:
        name, obj, depth = stack.pop()
        visited += 1
        try:
            if _wanted(obj, torch):
                found.setdefault(id(obj), (name, obj))
                continue
            if depth >= 3 or isinstance(obj, (str, bytes, type)) or inspect.ismodule(obj) or inspect.isroutine(obj):
                continue
            if isinstance(obj, dict) and len(obj) <= 64:
                items = [(f"{name}[{k!r}]", v) for k, v in obj.items()]
            elif isinstance(obj, (list, tuple)) and len(obj) <= 64:
                items = [(f"{name}[{k}]", v) for k, v in enumerate(obj)]
            elif hasattr(obj, "__dataclass_fields__"):
                items = [(f"{name}.{f}", getattr(obj, f, None)) for f in obj.__dataclass_fields__]
            else:
                continue
        except Exception:  # noqa: BLE001 -- an object whose attributes raise is no candidate
            continue
        stack.extend((n, v, depth + 1) for n, v in reversed(items))
    for v in list(ns.get("_quiz1_called", {}).values()):
        found.setdefault(id(v), ("", v))
    for name, obj in list(ns.items()):
        if not name.startswith("_") and inspect.isfunction(obj) and obj.__module__ == "__main__" and not SKIP.match(name):
            found.setdefault(id(obj), (name, obj))
    return list(found.values())[:max_candidates]


def export(path, max_candidates=24, max_bytes=200 << 20):
    """Pickle the kernel's candidate models (``candidates``) with cloudpickle into ``path``: {"names", "objects",
    "failed": {name: why}}. One pickle for all; a candidate that cannot be pickled is left out and named."""
    from IPython import get_ipython

    try:
        import cloudpickle
    except ImportError:
        with open(path, "wb") as f:
            pickle.dump({"names": [], "objects": [], "failed": {"*": "cloudpickle is not installed"}}, f)
        return
    cands = candidates(get_ipython().user_ns, max_candidates)
    names = [n or type(o).__name__ for n, o in cands]
    failed, keep = {}, []
    for name, (_, obj) in zip(names, cands):
        try:
            if len(cloudpickle.dumps(obj)) <= max_bytes:
                keep.append((name, obj))
            else:
                failed[name] = "larger than the grader takes"
        except Exception as e:  # noqa: BLE001 -- what cannot be pickled is named, not fatal
            failed[name] = f"{type(e).__name__}: {e}"[:200]
    blob = cloudpickle.dumps({"names": [n for n, _ in keep], "objects": [o for _, o in keep], "failed": failed})
    with open(path, "wb") as f:
        f.write(blob)


# --------------------------------------------------------------------------
# counting the numbers an object reads

ENTRIES = ("forward", "__call__", "encode", "decode", "transform", "inverse_transform", "predict")


def _used_names(cls):
    """The attribute names the entry methods of a notebook's class read (``self.w``, ``self.helper(...)``), closed
    over the methods they call: only those attributes count (a ``fit`` method's data, or ``self.X`` kept and never
    read, do not)."""
    names, frontier = set(ENTRIES), list(ENTRIES)
    while frontier:
        f = inspect.getattr_static(cls, frontier.pop(), None)
        f = getattr(f, "__func__", f)
        if isinstance(f, types.FunctionType):
            new = _names(f.__code__) - names
            names |= new
            frontier += list(new)
    return names


def _notebook_class_attrs(cls):
    out = {}
    for c in reversed(cls.__mro__):
        if c.__module__ == "__main__":
            out.update({k: getattr(v, "__func__", v) for k, v in vars(c).items() if not k.startswith("__")
                        or k in ENTRIES})
    return out


def numbers(objs, seen=None):
    """How many numbers ``objs`` (a list of objects) read: tensors and arrays by their size, Python numbers one each,
    in attributes, lists, tuples, dicts (numeric keys too), closures, defaults and the globals a function names,
    each object once (``seen``: ids already counted, shared between calls to count a union).

    A torch module counts its parameters, buffers and submodules; an object of the notebook's own class the
    attributes (of the object and of its class) that its ``forward``/``encode``/``decode``/... and the methods they
    call read; a scikit-learn MLP its ``coefs_`` and ``intercepts_``; a module, a class of a library or a builtin
    counts nothing.
    """
    torch = _torch()
    seen = set() if seen is None else seen
    total, stack, visits = 0, list(objs), 0
    while stack and visits < MAX_VISITS:
        o = stack.pop()
        visits += 1
        if o is None or isinstance(o, (str, bytes, bool, type(Ellipsis))):
            continue
        if isinstance(o, int):                  # each reference: small ints are one shared object
            total += 1
            continue
        if id(o) in seen:
            continue
        seen.add(id(o))
        if isinstance(o, (float, complex, np.number)):
            total += 1
        elif torch is not None and isinstance(o, torch.Tensor):
            total += o.numel()
        elif isinstance(o, np.ndarray):
            if o.dtype == object:
                stack.extend(o.reshape(-1).tolist())
            elif o.dtype.kind in "biufc":
                total += o.size
        elif isinstance(o, dict):
            stack.extend(k for k in o if not isinstance(k, str))
            stack.extend(o.values())
        elif isinstance(o, (list, tuple, set, frozenset)):
            stack.extend(o)
        elif inspect.ismodule(o) or inspect.isbuiltin(o) or isinstance(o, type):
            continue
        elif isinstance(o, types.MethodType):
            stack += [o.__self__, o.__func__]
        elif isinstance(o, functools.partial):
            stack += [o.func, o.args, o.keywords]
        elif isinstance(o, types.FunctionType):
            stack += [c.cell_contents for c in (o.__closure__ or ()) if _filled(c)]
            stack += [o.__defaults__, o.__kwdefaults__]
            stack += [o.__globals__[n] for n in _global_names(o.__code__) if n in o.__globals__]
        else:
            if torch is not None and isinstance(o, torch.nn.Module):
                stack += list(o._parameters.values()) + list(o._buffers.values()) + list(o._modules.values())
            elif hasattr(o, "coefs_") and hasattr(o, "predict"):
                stack += [o.coefs_, getattr(o, "intercepts_", None)]
                continue
            if type(o).__module__ == "__main__":         # the notebook's own class: what its methods read
                used = _used_names(type(o))
                attrs = {**_notebook_class_attrs(type(o)), **getattr(o, "__dict__", {})}
                stack += [v for k, v in attrs.items() if k in used]
            elif not (torch is not None and isinstance(o, torch.nn.Module)):
                try:
                    attrs = vars(o)
                except TypeError:
                    try:
                        attrs = {s: getattr(o, s, None) for s in getattr(type(o), "__slots__", ())}
                    except Exception:  # noqa: BLE001 -- a slot whose getter raises: nothing more to read here
                        attrs = {}
                stack += list(attrs.values())
    return total


def _filled(cell):
    try:
        _ = cell.cell_contents
        return True
    except ValueError:
        return False


def _global_names(code):
    """The global names a code object and the functions nested in it read (not the attributes it reads)."""
    out = {i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            out |= _global_names(c)
    return out


def _names(code):
    """Every name a code object and the functions nested in it read: globals and attributes."""
    out = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            out |= _names(c)
    return out


# --------------------------------------------------------------------------
# calling the student's code

class _Timeout(Exception):
    pass


def _alarm(*_):
    raise _Timeout()


def call(fn, arg, seconds=5.0):
    """``fn(arg)`` with at most ``seconds``, its prints discarded, without autograd."""
    torch = _torch()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                torch.no_grad() if torch is not None else contextlib.nullcontext():
            return fn(arg)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def arrays(v, n):
    """Every finite (n, k) float64 array in a result (a tuple (code, reconstruction) gives both; (n,) gives (n, 1)),
    each with the element it came from: [(array, element)]."""
    torch = _torch()
    items = list(v) if isinstance(v, (tuple, list)) and 0 < len(v) <= 4 and not np.isscalar(v[0]) else [v]
    got = []
    for e in items:
        try:
            if torch is not None and isinstance(e, torch.Tensor):
                a = e.detach().cpu().double().numpy()
            else:
                a = np.asarray(e, dtype=float)
        except Exception:  # noqa: BLE001 -- not an array
            continue
        a = a[:, None] if a.ndim == 1 and a.shape[0] == n else a
        if a.ndim == 2 and a.shape[0] == n and np.isfinite(a).all():
            got.append((a, e))
    return got


def _dtype(obj):
    """The floating dtype of a module's first floating parameter or buffer, or None."""
    torch = _torch()
    if torch is None or not isinstance(obj, torch.nn.Module):
        return None
    for t in [*obj.parameters(), *obj.buffers()]:
        if t.is_floating_point():
            return t.dtype
    return None


def feeds(owner, a, prefer=None):
    """The forms to pass ``a`` (n, k) in, the likeliest first: [(label, value)]. ``prefer``: the label of the form an
    encoder returned its code in ("numpy", "tensor float32", ...)."""
    torch = _torch()
    forms = [("numpy", a)]
    if torch is not None:
        dt = _dtype(owner)
        tensors = [dt] if dt is not None else []
        tensors += [t for t in (torch.float32, torch.float64) if t not in tensors]
        forms += [(f"tensor {str(t).replace('torch.', '')}", torch.tensor(a, dtype=t)) for t in tensors]
        if isinstance(owner, torch.nn.Module):
            forms = forms[1:] + forms[:1]
    if prefer is not None:
        forms.sort(key=lambda f: f[0] != prefer)
    return forms


def _form(v):
    torch = _torch()
    if torch is not None and isinstance(v, torch.Tensor):
        return f"tensor {str(v.dtype).replace('torch.', '')}"
    return "numpy"


def _owner(fn):
    return getattr(fn, "__self__", fn)


def routes(name, obj, role):
    """The ways ``obj`` can encode (``role="enc"``) or decode ("dec"): [(route name, kind, callable)]; none for an
    object whose attributes raise."""
    try:
        return _routes(name, obj, role)
    except Exception:  # noqa: BLE001 -- a property of the student's may raise anything
        return []


def _routes(name, obj, role):
    torch = _torch()
    out = []
    pairs = (("encode", "decode", "encode/decode"), ("transform", "inverse_transform", "transform/inverse_transform"))
    for e, d, kind in pairs:
        if callable(getattr(obj, e, None)) and callable(getattr(obj, d, None)):
            what = "module" if torch is not None and isinstance(obj, torch.nn.Module) else "object"
            m = e if role == "enc" else d
            out.append((f"{name}.{m}", f"{kind} {what}", getattr(obj, m)))
    if torch is not None and isinstance(obj, torch.nn.Module):
        if isinstance(obj, torch.nn.Sequential) and len(obj) > 1:
            for k in range(1, len(obj)):
                part = obj[:k] if role == "enc" else obj[k:]
                out.append((f"{name}[:{k}]" if role == "enc" else f"{name}[{k}:]", "module", part))
        out.append((name, "module", obj))
        for child, m in list(obj.named_children())[:8]:
            if not isinstance(obj, torch.nn.Sequential):
                out.append((f"{name}.{child}", "module", m))
    elif hasattr(obj, "coefs_") and hasattr(obj, "predict"):
        out.append((name, "sklearn", obj.predict))
    elif inspect.isfunction(obj):
        out.append((name, "function", obj))
    return out


def _load(path):
    with open(path, "rb") as f:
        got = pickle.load(f)
    return got.get("names", []), got.get("objects", []), got.get("failed", {})


def _try(fn, owner, a, width, seconds, prefer=None):
    """Call ``fn`` on ``a`` in each form until one gives an (n, width) array: (array, the form of the element it
    came from) or (None, the first error)."""
    error = None
    for _, v in feeds(owner, a, prefer):
        try:
            res = call(fn, v, seconds)
        except BaseException as e:  # noqa: BLE001 -- the student's code may raise anything
            error = error or (f"{type(e).__name__}: {e}".splitlines()[0][:200] if str(e) else type(e).__name__)
            continue
        got = [(g, e) for g, e in arrays(res, len(a)) if g.shape[1] == width]
        if got:
            return got[0][0], _form(got[0][1])
        error = error or "no output of the expected shape"
    return None, error


def _route(names, objs, rname, role):
    """The callable and its object for the route named ``rname``, or (None, None)."""
    for n, o in zip(names, objs):
        for r, _, fn in routes(n, o, role):
            if r == rname:
                return fn, o
    return None, None


# --------------------------------------------------------------------------
# 2. and 3. apart from the notebook

def evaluate(models, data, out, question, seconds=5.0, budget=90.0, max_encoders=8):
    """Q4: run every encoder of the objects in ``models`` on the points of ``data`` (npz: "P<i>" (n, D) and
    "shipped<i>" (n,) bool, one pair a data file); where the whole batch fails, on the shipped rows alone.
    Q5: run every model at ``data``'s "x:<input>" (m, 1), and again with its linear layers' weights set to zero.
    Writes ``out`` + ".json" (what ran) and ``out`` + ".npz" (the codes or outputs)."""
    t0 = time.monotonic()
    names, objs, failed = _load(models)
    result = {"question": question, "failed": failed, "loaded": names, "items": []}
    arrays_out = {}
    with np.load(data) as z:
        d = {k: z[k] for k in z.files}
    if question == "q4":
        for i in range(len([k for k in d if k.startswith("P")])):
            P, shipped = d[f"P{i}"], d[f"shipped{i}"].astype(bool)
            found = 0
            for name, obj in zip(names, objs):
                for rname, kind, fn in routes(name, obj, "enc"):
                    if found >= max_encoders or time.monotonic() - t0 > budget:
                        break
                    codes, form = _try(fn, _owner(fn), P, P.shape[1] - 1, seconds)
                    rows, fresh_error = "all", None
                    if codes is None:
                        fresh_error = form
                        codes, form = _try(fn, _owner(fn), P[shipped], P.shape[1] - 1, seconds)
                        if codes is None:
                            continue
                        rows = "shipped"
                    key = f"c{len(arrays_out)}"
                    arrays_out[key] = codes
                    result["items"].append({"file": i, "route": rname, "kind": kind, "key": key, "rows": rows,
                                            "form": form, "fresh_error": fresh_error})
                    found += 1
            _save(out, result, arrays_out)         # what is done survives a later call that kills the process
    else:
        inputs = {k[2:]: v for k, v in d.items() if k.startswith("x:")}
        for name, obj in zip(names, objs):
            if time.monotonic() - t0 > budget:
                break
            fn = obj.predict if hasattr(obj, "coefs_") and hasattr(obj, "predict") else obj
            kind = ("sklearn" if fn is not obj else "function" if inspect.isfunction(obj) else "module"
                    if _torch() is not None and isinstance(obj, _torch().nn.Module) else "object")
            try:
                recs = _q5_model(name, kind, fn, obj, inputs, seconds) if callable(fn) else []
                count = numbers([obj]) if recs else 0
            except BaseException:  # noqa: BLE001 -- an object the grader cannot walk is no candidate
                continue
            for rec in recs:
                k = len(result["items"])
                arrays_out[f"output{k}"] = rec.pop("output")
                ablated = rec.pop("ablated")
                if ablated is not None:
                    arrays_out[f"ablated{k}"] = ablated
                rec["params"] = count
                result["items"].append(rec)
            _save(out, result, arrays_out)
    _save(out, result, arrays_out)


def _save(out, result, arrays_out):
    """Write ``out`` + ".npz" (the arrays) and ``out`` + ".json" (what ran), the JSON last."""
    np.savez(out + ".npz", **arrays_out)
    with open(out + ".json", "w") as f:
        json.dump(result, f)


def _q5_model(rname, kind, fn, obj, inputs, seconds):
    """One Q5 model at the grader's x, in each input form (as given, standardised, ...): [its output (m, 2), the
    torch functions it called, the weights of its linear layers (what its forward pass fed to linear, matmul, ...)
    and its output with those set to zero], one record an input form it answers."""
    torch = _torch()
    recs = []
    for inp, X in inputs.items():
        ops = _Ops() if torch is not None else None
        a = X
        try:
            with ops if ops is not None else contextlib.nullcontext():
                out, _ = _try(fn, _owner(fn), a, 2, seconds)
                if out is None:
                    a = X[:, 0]
                    out, _ = _try(fn, _owner(fn), a, 2, seconds)
        except BaseException:  # noqa: BLE001 -- the student's code may raise anything
            out = None
        if out is None:
            continue
        rec = {"route": rname, "kind": kind, "input": inp, "output": out, "ops": ops.seen if ops else [],
               "sk_hidden": None, "sk_activation": None}
        if hasattr(obj, "coefs_"):
            rec.update(sk_hidden=len(obj.coefs_) - 1, sk_activation=str(getattr(obj, "activation", "")))
            weights = [w for w in [*obj.coefs_, *getattr(obj, "intercepts_", [])] if isinstance(w, np.ndarray)]
        else:
            weights = [t for t in _tensors([obj]) if ops is not None and id(t) in ops.operands]
        rec["mlp_numbers"] = int(sum(np.size(w) if isinstance(w, np.ndarray) else w.numel() for w in weights))
        rec["ablated"] = _ablated(fn, a, weights, seconds) if weights else None
        recs.append(rec)
    return recs


def _tensors(objs):
    """The torch tensors and numpy arrays reachable from ``objs`` (as ``numbers`` walks them), by identity."""
    torch = _torch()
    found, seen, stack = [], set(), list(objs)
    while stack and len(seen) < MAX_VISITS:
        o = stack.pop()
        if o is None or isinstance(o, (str, bytes, bool, int, float)) or id(o) in seen:
            continue
        seen.add(id(o))
        if torch is not None and isinstance(o, torch.Tensor):
            found.append(o)
        elif isinstance(o, dict):
            stack.extend(o.values())
        elif isinstance(o, (list, tuple)):
            stack.extend(o)
        elif inspect.ismodule(o) or inspect.isbuiltin(o) or isinstance(o, type):
            continue
        elif isinstance(o, types.MethodType):
            stack += [o.__self__, o.__func__]
        elif isinstance(o, types.FunctionType):
            stack += [c.cell_contents for c in (o.__closure__ or ()) if _filled(c)]
            stack += [o.__globals__[n] for n in _global_names(o.__code__) if n in o.__globals__]
        elif torch is not None and isinstance(o, torch.nn.Module):
            stack += list(o._parameters.values()) + list(o._buffers.values()) + list(o._modules.values())
            stack += [v for k, v in vars(o).items() if not k.startswith("_")]
        else:
            try:
                stack += list(vars(o).values())
            except TypeError:
                continue
    return found


def _ablated(fn, a, weights, seconds):
    """The output of ``fn`` at ``a`` with ``weights`` (tensors or arrays) set to zero, then restored; or None."""
    torch = _torch()
    saved = [w.detach().clone() if not isinstance(w, np.ndarray) else w.copy() for w in weights]
    try:
        for w in weights:
            if isinstance(w, np.ndarray):
                w[...] = 0
            else:
                with torch.no_grad():
                    w.zero_()
        got, _ = _try(fn, _owner(fn), a, 2, seconds)
        return got
    except BaseException:  # noqa: BLE001
        return None
    finally:
        for w, s in zip(weights, saved):
            if isinstance(w, np.ndarray):
                w[...] = s
            else:
                with torch.no_grad():
                    w.copy_(s)


class _Ops:
    """The torch functions one forward pass calls (linear, relu, ...) and the tensors fed to linear maps."""

    def __init__(self):
        from torch.overrides import TorchFunctionMode

        outer = self
        self.seen, self.operands = [], set()

        class Mode(TorchFunctionMode):
            def __torch_function__(self, func, types_, args=(), kwargs=None):
                name = getattr(func, "__name__", str(func))
                if len(outer.seen) < 200:
                    outer.seen.append(name)
                if name in LINEAR:
                    import torch
                    outer.operands |= {id(t) for t in [*args, *(kwargs or {}).values()] if isinstance(t, torch.Tensor)}
                return func(*args, **(kwargs or {}))
        self.mode = Mode()

    def __enter__(self):
        self.mode.__enter__()
        return self

    def __exit__(self, *exc):
        return self.mode.__exit__(*exc)


def decode(models, codes, index, data, out, seconds=5.0, budget=90.0):
    """Run every decoder of the objects in ``models`` (loaded afresh) on each code of ``codes`` (npz) listed in
    ``index`` (the ``evaluate`` JSON); ``data``: the Q4 points, only for the widths. Writes ``out`` + ".json" (each
    pair that gave an (n, D) array: encoder, decoder, kind, the numbers both read) and ``out`` + ".npz"."""
    t0 = time.monotonic()
    names, objs, _ = _load(models)
    with open(index) as f:
        items = json.load(f)["items"]
    with np.load(codes) as z:
        C = {k: z[k] for k in z.files}
    with np.load(data) as z:
        widths = {int(k[1:]): z[k].shape[1] for k in z.files if k.startswith("P")}
        shipped = {int(k[7:]): z[k].astype(bool) for k in z.files if k.startswith("shipped")}
    result, arrays_out = [], {}
    for item in items:
        D, Z = widths[item["file"]], C[item["key"]]
        enc_fn, enc_obj = _route(names, objs, item["route"], "enc")
        paired = item["kind"].startswith(("encode/", "transform/"))
        for name, obj in zip(names, objs):
            for rname, kind, fn in routes(name, obj, "dec"):
                if time.monotonic() - t0 > budget:
                    break
                if rname == item["route"] or paired != kind.startswith(("encode/", "transform/")) and obj is enc_obj:
                    continue     # a function is not its own decoder; an object's decode goes with its own encode
                R, error = _try(fn, _owner(fn), Z, D, seconds, prefer=item["form"])
                rows, fresh_error = item["rows"], item["fresh_error"]
                if R is None and rows == "all":         # it may work on the codes of the zip's own points only
                    R, _ = _try(fn, _owner(fn), Z[shipped[item["file"]]], D, seconds, prefer=item["form"])
                    rows, fresh_error = "shipped", error
                if R is None:
                    continue
                key = f"r{len(arrays_out)}"
                arrays_out[key] = R
                count = numbers([_owner(enc_fn) if enc_fn is not None else None, _owner(fn)])
                both = (item["kind"] if paired and item["kind"] == kind else f"{kind}s" if item["kind"] == kind
                        else f"{item['kind']} + {kind}")
                result.append({"file": item["file"], "encoder": item["route"], "decoder": rname, "kind": both,
                               "params": count, "rows": rows, "fresh_error": fresh_error, "key": key})
        _save(out, result, arrays_out)
    _save(out, result, arrays_out)
