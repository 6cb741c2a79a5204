"""quiz1's guard: the first cell the grader runs in a student's kernel, before any cell of the notebook.

``install`` captures, while they are still the genuine ones, the objects the
grader's later cells rely on: builtins, ``sys.modules``' entries, json and hmac,
IPython's display machinery; and torch's ``Tensor`` class, its methods and autograd
functions as soon as torch is imported (a ``sys.meta_path`` finder captures them
as its import ends, before the importing cell gets it: a notebook without torch
does not pay for importing it). The later grader cells call this module's entry points:

- ``q1_start`` / ``q1_report`` around the Q1 section: a profile hook
  (``sys.setprofile``) records which library functions the section's cells call
  (softmax, log-softmax, logsumexp, cross-entropy, log-loss in torch, scipy,
  scikit-learn or any installed package), by the code that runs, not by the name
  the notebook gave it; each call is attributed to the cell that ran it
  (IPython's execution count). A student's own method named ``softmax`` is the
  student's code, not a library's.
- ``watch`` before the Q2 section: torch's show methods (repr, format, item, ...)
  remember the tensors with an autograd graph that the section shows.
- ``graph`` after the Q2 section: the autograd graph of every tensor the notebook
  holds or showed (the walk torchviz's ``make_dot`` does), read through the
  captured ``TensorBase`` descriptors with torch-function overrides disabled.

Every report also says what the notebook replaced: each captured object compared,
by identity, with what is bound now. Reports are published through the captured
display publisher, signed with the grader's key (HMAC-SHA256).

This file runs alone in the kernel (exec'd in a private namespace whose builtins
are a copy taken before any student cell): it imports nothing of quiz1. Written
by hand: no library watches a notebook's calls per cell or checks its bindings.
"""
import hashlib
import hmac
import json
import sys

MIME = "application/x-quiz1-guard+json"       # quiz1.grading.running.kernel.RESULT_MIME
BUILTIN_NAMES = ("print", "isinstance", "getattr", "setattr", "hasattr", "id", "type", "len", "list", "dict", "tuple",
                 "str", "int", "float", "repr", "iter", "next", "sorted", "min", "max", "sum", "any", "all", "range",
                 "enumerate", "zip", "vars", "callable", "super", "object", "exec", "compile", "globals", "__import__",
                 "open", "round", "abs", "format", "hash")
MODULES = ("builtins", "sys", "json", "hmac", "hashlib", "IPython", "IPython.display", "IPython.core.display_functions",
           "torch", "torch.autograd", "torch.nn.functional")
SHOW_METHODS = ("__repr__", "__format__", "__iter__", "__getitem__", "tolist", "detach", "numpy", "item", "cpu")
TENSOR_NAMES = SHOW_METHODS + ("grad_fn", "reshape", "double", "size", "shape", "backward", "grad", "requires_grad",
                               "__add__", "__radd__", "__mul__", "__sub__", "__truediv__", "__pow__", "clone", "sum")
# what the Q1 recorder counts as "the library's": softmax, log-softmax, logsumexp and the cross-entropies
LIBRARY_NAMES = frozenset({
    "softmax", "log_softmax", "logsumexp", "softmin", "cross_entropy", "cross_entropy_loss", "nll_loss", "nll_loss_nd",
    "nll_loss2d", "log_loss", "_softmax", "_log_softmax", "special_logsumexp", "special_softmax", "special_log_softmax",
    "logsoftmax", "categorical_crossentropy", "sparse_categorical_crossentropy", "softmax_cross_entropy",
    "softmax_cross_entropy_with_logits", "sparse_softmax_cross_entropy_with_logits", "log_softmax_"})
MAX_TENSORS, MAX_NODES, MAX_CALLS = 64, 400, 200
ABSENT = ("absent",)

STATE = {}
_dumps, _loads, _hmac_new, _sha256 = json.dumps, json.loads, hmac.new, hashlib.sha256


def static(cls, name):
    """``cls.name`` as stored in the class or its bases (no descriptor called: a classmethod is the same object each
    time), or ``ABSENT``."""
    for k in type.mro(cls):
        d = vars(k)
        if name in d:
            return d[name]
    return ABSENT


def bindings(mods: dict, shell, tensor=None) -> dict:
    """What the grader's cells rely on, as bound now: {"builtins.print": object, "sys.modules['torch']": ...}.

    ``mods``: the module objects captured at install (name -> module); ``tensor``: the captured ``torch.Tensor``."""
    out = {}
    genuine = vars(mods["builtins"])
    for n in BUILTIN_NAMES:
        out[f"builtins.{n}"] = genuine.get(n, ABSENT)
    modules = mods["sys"].modules
    for name in mods:
        out[f"sys.modules[{name!r}]"] = modules.get(name, ABSENT)
    for name, attrs in (("sys", ("setprofile", "getprofile", "modules")), ("json", ("dumps", "loads")),
                        ("hmac", ("new", "compare_digest")), ("hashlib", ("sha256",)),
                        ("IPython", ("get_ipython",)), ("IPython.display", ("display",)),
                        ("IPython.core.display_functions", ("display", "publish_display_data")),
                        ("torch", ("Tensor", "tensor", "is_tensor")), ("torch.autograd", ("backward", "grad")),
                        ("torch.nn.functional", ("softmax", "log_softmax", "cross_entropy"))):
        m = mods.get(name)
        for a in attrs if m is not None else ():
            out[f"{name}.{a}"] = vars(m).get(a, ABSENT)
    if shell is not None:
        pub = getattr(shell, "display_pub", None)
        session = getattr(pub, "session", None)
        out["get_ipython().display_pub"] = pub
        out["type(display_pub).publish"] = static(type(pub), "publish")
        out["display_pub.session"] = session
        out["type(session).send"] = static(type(session), "send") if session is not None else ABSENT
        out["get_ipython().user_ns"] = getattr(shell, "user_ns", None)
        out["type(get_ipython()).run_cell"] = static(type(shell), "run_cell")
    if tensor is not None:
        for n in TENSOR_NAMES:
            out[f"torch.Tensor.{n}"] = static(tensor, n)
    return out


def replaced(before: dict, now: dict) -> list:
    """The names in ``before`` bound now to another object (``is`` comparison), in ``before``'s order."""
    return [k for k, v in before.items() if now.get(k, ABSENT) is not v]


def library_name(event: str, frame, arg, roots: tuple, tensor=None) -> str | None:
    """The library function a profile event enters, as ``package.name`` (or ``Tensor.name``), or None.

    ``event``/``frame``/``arg``: as ``sys.setprofile`` passes them; ``roots``: the folders installed packages live in
    (a Python function counts when its file is below one); ``tensor``: ``torch.Tensor``, to name a Tensor method."""
    if event == "call":
        code = frame.f_code
        if code.co_name in LIBRARY_NAMES and code.co_filename.startswith(roots):
            return f"{frame.f_globals.get('__name__', '?')}.{code.co_name}"
        return None
    if event != "c_call":
        return None
    name = getattr(arg, "__name__", None)
    if name not in LIBRARY_NAMES:
        return None
    owner = getattr(arg, "__self__", None)
    if tensor is not None and isinstance(owner, tensor):
        return f"Tensor.{name}"
    module = getattr(arg, "__module__", None) or getattr(owner, "__name__", None)
    if isinstance(module, str) and module.split(".")[0] not in ("builtins", "__main__"):
        return f"{module}.{name}"
    return None


def node_label(fn, custom_base=None) -> str:
    """A graph node's label as torchviz draws it (its class name); a custom ``autograd.Function`` is marked."""
    name = type(fn).__name__
    return f"custom {name}" if custom_base is not None and isinstance(fn, custom_base) else name


def walk(out_fn, shape, max_nodes=MAX_NODES, size_of=None, custom_base=None) -> tuple:
    """The autograd graph below ``out_fn`` (a tensor's ``grad_fn``) as torchviz draws it: ({node id: [label]},
    [[from, to]]), with the output tensor as node ``out`` and each leaf as ``leaf (shape)``."""
    size_of = size_of or (lambda v: tuple(v.size()))

    def size(v):
        return "(" + ", ".join(str(int(s)) for s in v) + ")"

    nodes, edges, seen, stack = {"out": ["output " + size(shape)]}, [[f"f{id(out_fn)}", "out"]], set(), [out_fn]
    while stack and len(nodes) < max_nodes:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        nodes[f"f{id(fn)}"] = [node_label(fn, custom_base)]
        if hasattr(fn, "variable"):
            nodes[f"v{id(fn.variable)}"] = ["leaf " + size(size_of(fn.variable))]
            edges.append([f"v{id(fn.variable)}", f"f{id(fn)}"])
        for nxt, _ in fn.next_functions:
            if nxt is not None:
                edges.append([f"f{id(nxt)}", f"f{id(fn)}"])
                stack.append(nxt)
    return nodes, edges


def sign(key: str, payload: str) -> str:
    return _hmac_new(key.encode(), payload.encode(), _sha256).hexdigest()


def publish(kind: str, body: dict) -> dict:
    """Send ``body`` to the grader under its nonce, signed, through the display publisher captured at install."""
    payload = _dumps({"kind": kind, **body})
    data = {MIME: {"nonce": STATE["nonce"], "payload": payload, "mac": sign(STATE["key"], payload)}}
    if STATE.get("publish") is not None:
        STATE["publish"](STATE["pub"], data, metadata={})
    return data


def capture_torch(torch) -> None:
    """Keep torch's genuine objects (its Tensor class, the TensorBase descriptors the probe reads through, its autograd
    functions) and add them to what is checked; a watch asked for before torch was imported starts now."""
    import torch.autograd.function
    import torch.nn.functional  # noqa: F401 -- captured below
    base = torch._C.TensorBase
    STATE.update(torch=torch, tensor=torch.Tensor, grad_fn=static(base, "grad_fn"), detach=static(base, "detach"),
                 reshape=static(base, "reshape"), double=static(base, "double"), tolist=static(base, "tolist"),
                 size=static(base, "size"), no_overrides=torch._C.DisableTorchFunction,
                 custom=torch.autograd.function.BackwardCFunction,
                 dispatch_depth=getattr(torch._C, "_len_torch_dispatch_stack", None))
    STATE["mods"].update({n: sys.modules[n] for n in MODULES if n.startswith("torch") and n in sys.modules})
    if "expected" in STATE:
        for k, v in bindings(STATE["mods"], STATE["shell"], torch.Tensor).items():
            STATE["expected"].setdefault(k, v)       # torch's entries, as they are now: genuine
    if STATE.get("watch_wanted"):
        watch()


class TorchImport:
    """A ``sys.meta_path`` finder: torch loads as usual, and its objects are captured (``capture_torch``) as its
    import ends, before the importing cell gets it. The guard imports torch itself only when the notebook does."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torch" or STATE.get("torch") is not None:
            return None
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None) if finder is not self else None
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                real = spec.loader.exec_module

                def exec_module(module, real=real):
                    real(module)
                    capture_torch(module)

                spec.loader.exec_module = exec_module
                return spec
        return None


def install(params: str, shell=None) -> dict:
    """Capture the genuine objects (before any student cell). ``params``: JSON {"nonce", "key", "roots"?}."""
    p = _loads(params)
    import IPython
    import IPython.core.display_functions  # noqa: F401 -- captured below
    import IPython.display  # noqa: F401
    shell = shell if shell is not None else IPython.get_ipython()
    import site
    import sysconfig
    roots = tuple(p.get("roots") or {sysconfig.get_paths()[k] for k in ("purelib", "platlib")} | set(site.getsitepackages()))
    pub = getattr(shell, "display_pub", None)
    mods = {n: sys.modules[n] for n in MODULES if n in sys.modules and not n.startswith("torch")}
    STATE.clear()
    STATE.update(nonce=p["nonce"], key=p["key"], shell=shell, mods=mods, roots=roots, torch=None, pub=pub,
                 publish=static(type(pub), "publish") if pub is not None else None,
                 tensor=None, seen={}, calls=[], hook=None, setprofile=sys.setprofile, getprofile=sys.getprofile,
                 finder=TorchImport())
    STATE["expected"] = bindings(mods, shell)
    if "torch" in sys.modules:
        capture_torch(sys.modules["torch"])
    else:
        sys.meta_path.insert(0, STATE["finder"])
    return publish("install", {"count": getattr(shell, "execution_count", None)})


def _now_replaced() -> list:
    got = replaced(STATE["expected"], bindings(STATE["mods"], STATE["shell"], STATE["tensor"]))
    depth = STATE.get("dispatch_depth")
    if depth is not None and depth() > 0:
        got.append("a torch dispatch mode left active")
    if STATE["torch"] is None and "torch" in sys.modules:
        got.append("sys.meta_path (torch was imported past the grader's import hook)")
    return got


def q1_start(params: str = "{}") -> None:
    """Start recording the library calls of the cells that follow (the Q1 section)."""
    roots, calls, shell = STATE["roots"], STATE["calls"], STATE["shell"]
    previous = STATE["getprofile"]()

    def hook(frame, event, arg):
        if event in ("call", "c_call") and len(calls) < MAX_CALLS:
            name = library_name(event, frame, arg, roots, STATE["tensor"])     # torch may be imported meanwhile
            if name is not None:
                calls.append([getattr(shell, "execution_count", None), name])
        if previous is not None:
            previous(frame, event, arg)

    STATE.update(hook=hook, previous=previous)
    STATE["setprofile"](hook)


def q1_report(params: str = "{}") -> dict:
    """Stop recording and send what the Q1 section called, cell by cell, and whether the hook stayed in place."""
    hook = STATE.get("hook")
    kept = hook is not None and STATE["getprofile"]() is hook
    STATE["setprofile"](STATE.get("previous"))
    tampered = _now_replaced()
    if hook is not None and not kept:
        tampered.append("sys.setprofile (the grader's call recorder was removed or replaced)")
    return publish("q1", {"calls": STATE["calls"], "tampered": tampered})


def watch(params: str = "{}") -> None:
    """Make torch's show methods remember the tensors with an autograd graph that they show (the Q2 section)."""
    tensor, seen, grad_fn = STATE["tensor"], STATE["seen"], STATE.get("grad_fn")
    if tensor is None:
        STATE["watch_wanted"] = True        # torch is not imported yet: the watch starts when it is
        return

    def wrap(name):
        original = static(tensor, name)
        if original is ABSENT:
            return

        def watched(self, *args, **kwargs):
            try:
                if grad_fn.__get__(self) is not None and len(seen) < MAX_TENSORS:
                    seen.setdefault(id(self), self)
            except Exception:  # noqa: BLE001 -- the student's object, whatever it is
                pass
            return original(self, *args, **kwargs)

        setattr(tensor, name, watched)
        STATE["expected"][f"torch.Tensor.{name}"] = watched

    for name in SHOW_METHODS:
        if f"torch.Tensor.{name}" in STATE["expected"] and static(tensor, name) is STATE["expected"][f"torch.Tensor.{name}"]:
            wrap(name)


def held_tensors(namespace: dict, tensor, grad_fn) -> list:
    """(name, tensor) for every tensor with a graph that ``namespace`` holds, directly or in a dict, list or tuple."""
    found = []
    for name, obj in sorted(namespace.items(), key=lambda kv: kv[0] in ("In", "Out")):   # IPython's history last
        if name.startswith("_"):
            continue
        try:
            if isinstance(obj, dict):
                items = list(obj.items())[:100]
            elif isinstance(obj, (list, tuple)):
                items = list(enumerate(obj))[:100]
            else:
                items = [(None, obj)]
            for key, v in items:
                if isinstance(v, tensor) and grad_fn.__get__(v) is not None and len(found) < MAX_TENSORS:
                    found.append((name if key is None else f"{name}[{key!r}]", v))
        except Exception:  # noqa: BLE001 -- the student's objects
            continue
    return found


def graph(params: str = "{}") -> dict:
    """Send the autograd graph and value of every tensor the notebook holds or showed (Question 2)."""
    tensor = STATE["tensor"]
    out = []
    if tensor is not None:
        s = STATE
        with s["no_overrides"]():
            found = held_tensors(s["shell"].user_ns if s["shell"] is not None else {}, tensor, s["grad_fn"])
            found += [("", v) for v in list(s["seen"].values())]
            for name, t in found:
                try:
                    shape = s["size"](t)
                    nodes, edges = walk(s["grad_fn"].__get__(t), shape, size_of=s["size"], custom_base=s["custom"])
                    value = s["tolist"](s["double"](s["reshape"](s["detach"](t), [-1])))[:12]
                    out.append({"name": name, "shape": list(shape), "nodes": nodes, "edges": edges, "value": value})
                except Exception:  # noqa: BLE001 -- a tensor the walk cannot read is left out
                    pass
    return publish("q2", {"tensors": out, "tampered": _now_replaced()})
