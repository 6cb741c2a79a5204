"""quiz1's Q7 harness: the quiz's main block run with each of a student's classes, in a kernel of its own.

The grader's first cell (``capture``) runs before the student's definitions and
keeps the genuine objects the main block relies on: ``torch.tensor``, the
``Tensor`` methods it calls (``backward``, ``+``, ``**``, ``grad``) and
``torch.autograd.backward``/``grad``. The second cell is the student's
definitions (imports, functions, classes and the constants they read; nothing
that runs). The third (``run``) runs the quiz's main block twice with each class
at the grader's ``xinit`` values, reads ``xinit.grad`` through the captured
descriptors, and after each class compares what is bound with what was captured,
by identity: a class whose ``__init__`` or call replaced ``Tensor.backward`` (to
slip in ``retain_graph=True``) or an operator is named, and what it replaced is
put back before the next class. Results go back signed (HMAC-SHA256) through
the display publisher captured in the first cell.

This file runs alone in the kernel, exec'd in a private namespace whose builtins
are a copy taken before the student's definitions: it imports nothing of quiz1.
Written by hand: no library runs a notebook's class apart and checks its bindings.
"""
import hashlib
import hmac
import json
import sys

MIME = "application/x-quiz1-guard+json"       # quiz1.grading.running.kernel.RESULT_MIME
TENSOR_NAMES = ("backward", "grad", "__add__", "__radd__", "__pow__", "__mul__", "__rmul__", "detach", "clone",
                "reshape", "tolist", "requires_grad", "register_hook")
BUILTIN_NAMES = ("print", "isinstance", "getattr", "id", "type", "len", "list", "dict", "str", "float", "repr")
ABSENT = ("absent",)

STATE = {}
_dumps, _loads, _hmac_new, _sha256 = json.dumps, json.loads, hmac.new, hashlib.sha256


def static(cls, name):
    """``cls.name`` as stored in the class or its bases (no descriptor called), or ``ABSENT``."""
    for k in type.mro(cls):
        d = vars(k)
        if name in d:
            return d[name]
    return ABSENT


def bindings(torch, tensor, modules: dict) -> dict:
    """What the main block relies on, as bound now: {"torch.Tensor.backward": object, ...}. ``tensor``: the captured
    ``torch.Tensor``; ``modules``: the captured module objects (name -> module)."""
    out = {f"torch.Tensor.{n}": static(tensor, n) for n in TENSOR_NAMES}
    out.update({"torch.tensor": vars(torch).get("tensor", ABSENT), "torch.Tensor": vars(torch).get("Tensor", ABSENT),
                "torch.autograd.backward": vars(torch.autograd).get("backward", ABSENT),
                "torch.autograd.grad": vars(torch.autograd).get("grad", ABSENT)})
    out.update({f"builtins.{n}": vars(modules["builtins"]).get(n, ABSENT) for n in BUILTIN_NAMES})
    out.update({f"sys.modules[{n!r}]": modules["sys"].modules.get(n, ABSENT) for n in modules})
    return out


def replaced(before: dict, now: dict) -> list:
    """The names in ``before`` bound now to another object (``is`` comparison), in ``before``'s order."""
    return [k for k, v in before.items() if now.get(k, ABSENT) is not v]


def restore(torch, tensor, before: dict, names: list) -> None:
    """Put back the captured objects under ``names`` (those on torch.Tensor and torch.autograd)."""
    for k in names:
        owner, _, attr = k.rpartition(".")
        target = {"torch.Tensor": tensor, "torch.autograd": torch.autograd, "torch": torch}.get(owner)
        if target is None:
            continue
        try:
            if before[k] is ABSENT:
                delattr(target, attr)
            else:
                setattr(target, attr, before[k])
        except (AttributeError, TypeError):
            pass


def quiz_main(cls, v: float, torch, read_grad) -> list:
    """The quiz's main block, run twice with a fresh ``cls()`` at ``xinit = [v]``: [first grads, second grads].
    ``read_grad(xinit)``: ``xinit.grad`` as a list of floats, read by the grader's own means."""
    g = cls()
    xinit = torch.tensor([v], requires_grad=True)
    x = [xinit]
    x.append(x[-1] + g(x[-1]))
    loss = x[-1] ** 2
    loss.backward()
    first = read_grad(xinit)
    x = [xinit]
    x.append(x[-1] + g(x[-1]))
    loss = x[-1] ** 2
    loss.backward()
    return [first, read_grad(xinit)]


def sign(key: str, payload: str) -> str:
    return _hmac_new(key.encode(), payload.encode(), _sha256).hexdigest()


def publish(kind: str, body: dict) -> dict:
    """Send ``body`` to the grader under its nonce, signed, through the display publisher captured first."""
    payload = _dumps({"kind": kind, **body})
    data = {MIME: {"nonce": STATE["nonce"], "payload": payload, "mac": sign(STATE["key"], payload)}}
    if STATE.get("publish") is not None:
        STATE["publish"](STATE["pub"], data, metadata={})
    return data


def capture(params: str, shell=None) -> None:
    """Keep the genuine objects, before the student's definitions run. ``params``: JSON {"nonce", "key"}."""
    p = _loads(params)
    import IPython
    import torch
    shell = shell if shell is not None else IPython.get_ipython()
    pub = getattr(shell, "display_pub", None)
    base = torch._C.TensorBase
    modules = {n: sys.modules[n] for n in ("builtins", "sys", "json", "torch", "torch.autograd") if n in sys.modules}
    STATE.clear()
    STATE.update(nonce=p["nonce"], key=p["key"], shell=shell, torch=torch, tensor=torch.Tensor, modules=modules,
                 pub=pub, publish=static(type(pub), "publish") if pub is not None else None,
                 grad=static(base, "grad"), detach=static(base, "detach"), reshape=static(base, "reshape"),
                 double=static(base, "double"), tolist=static(base, "tolist"), make=torch.tensor,
                 no_overrides=torch._C.DisableTorchFunction)
    STATE["expected"] = bindings(torch, torch.Tensor, modules)


def read_grad(xinit) -> list:
    """``xinit.grad`` as a list of floats, through the captured ``TensorBase`` descriptors."""
    s = STATE
    with s["no_overrides"]():
        g = s["grad"].__get__(xinit)
        return s["tolist"](s["double"](s["reshape"](s["detach"](g), [-1])))


def run(params: str, namespace: dict | None = None) -> dict:
    """Run the main block with each class named in ``params`` (JSON {"names", "xinits"}), found in ``namespace``
    (default: the kernel's), and send {"classes": [{"name", "runs": [{"xinit", "grads" | "error"}], "replaced"}]}."""
    p = _loads(params)
    s = STATE
    ns = namespace if namespace is not None else s["shell"].user_ns
    torch, tensor, expected = s["torch"], s["tensor"], s["expected"]
    main_torch = type(torch)("quiz1_torch_view")       # torch as the main block sees it: the captured tensor()
    main_torch.tensor = s["make"]
    out = []
    for name in p["names"]:
        rec = {"name": name, "runs": [], "replaced": []}
        for v in p["xinits"]:
            try:
                rec["runs"].append({"xinit": v, "grads": quiz_main(ns[name], v, main_torch, read_grad)})
            except BaseException as e:  # noqa: BLE001 -- the student's class, whatever it raises
                rec["runs"].append({"xinit": v, "error": (type(e).__name__ + ": " + str(e)).splitlines()[0][:300]
                                    if str(e) else type(e).__name__})
        gone = replaced(expected, bindings(torch, tensor, s["modules"]))
        rec["replaced"] = gone
        restore(torch, tensor, expected, gone)
        out.append(rec)
    return publish("q7", {"classes": out})
