"""Red team, second round (issue 33, Q1, Q2 and Q7): notebooks that replace what the grader's own cells rely on, or
that hide a library call under another name, and honest notebooks the grader used to misjudge.

Every notebook here is written by hand; the verdict asserted is a careful TA's. The fast tests run the kernel files'
functions (``grading/kernel/guard.py`` and ``q7.py``) in this process and the verdict logic on hand-made RunRecords;
the slow ones grade zips in the sandbox against the TA's data with the variant run, several cheats in one notebook.
References are computed here by hand or with numpy/torch, never read back from the grader.
"""
from __future__ import annotations

import builtins
import json
import sys
import types

import numpy as np
import pytest
import torch

from quiz1.grading import grade_submission
from quiz1.grading.cohort.batch import Options, make_executor
from quiz1.grading.evidence import Evidence
from quiz1.grading.questions import q1, q2
from quiz1.grading.questions import q7 as question7
from quiz1.grading.questions.q2 import figure1_tensors
from quiz1.grading.questions.q7 import q7_definitions
from quiz1.grading.reference import Q2Reading
from quiz1.grading.report import printable
from quiz1.grading.running import kernel
from quiz1.grading.running.execution import Cell, RunRecord
from quiz1.grading.running.kernel import guard, q7
from quiz1.grading.running.sandbox import bwrap_problem
from students import Q7_FIXED, code, make_zip, md, q1_losses, seeded_data

needs_bwrap = pytest.mark.skipif(bwrap_problem() is not None, reason=f"no sandbox here: {bwrap_problem()}")


def figure1(a, b, c):
    """Figure 1's program, by hand (the natural reading): 15, 22.2, 31.4 at a = b = c = [4, 5, 6]."""
    t1, t2 = a * 5, a / 5
    t3 = t1 * t2 + (a + 5)
    t4 = t3 + b - t1
    t5 = b + t2
    return t4 + (t5 + t5 / c)


FIG1_AT_456 = (15.0, 22.2, 31.4)       # 4*5 * 4/5 + 9 + 5 - 20 + (5 + 0.8) + (5 + 0.8) / 4 = 15, and so on


def q7_grads(v: float) -> tuple:
    """The fixed class's gradients by hand: x1 = v + v^2 + 1, L = x1^2, dL/dv = 2 x1 (1 + 2 v); the second pass adds
    the same again."""
    first = 2 * (v + v * v + 1) * (1 + 2 * v)
    return ([first], [2 * first])


# --------------------------------------------------------------------------
# the kernel files' functions, in this process


class _Pub:
    def __init__(self):
        self.sent = []

    def publish(self, data, metadata=None, **kw):
        self.sent.append(data)


class _Shell:
    def __init__(self, ns=None):
        self.user_ns, self.execution_count, self.display_pub = ns or {}, 1, _Pub()


def _payload(data: dict, key: str) -> dict:
    got, forged = kernel.signed_results([{"output_type": "display_data", "data": data}], "n0", key)
    assert forged == 0 and len(got) == 1
    return got[0]


@pytest.fixture
def installed():
    """The guard installed here with a stand-in shell (its display publisher records what is sent)."""
    shell = _Shell()
    guard.install(json.dumps({"nonce": "n0", "key": "k0"}), shell=shell)
    yield shell
    guard.STATE.clear()


def test_the_recorder_names_what_ran_whatever_it_was_called(installed):
    """Aliases, full paths, Tensor methods, nn modules and scipy are the library's; a student's own class with methods
    named logsumexp and softmax is the student's. Each call is attributed to the cell (execution count) that ran it."""
    import scipy.special
    from torch.nn.functional import cross_entropy as xent

    class Mine:
        def logsumexp(self, z):
            m = z.max(1, keepdims=True)
            return m[:, 0] + np.log(np.exp(z - m).sum(1))

        def softmax(self, z):
            return np.exp(z - self.logsumexp(z)[:, None])

    z = torch.randn(4, 3)
    y = torch.tensor([0, 1, 2, 0])
    guard.q1_start()
    try:
        installed.execution_count = 3
        Mine().softmax(z.numpy())
        installed.execution_count = 4
        xent(z, y)
        installed.execution_count = 5
        z.log_softmax(1)
        installed.execution_count = 6
        torch.nn.CrossEntropyLoss()(z, y)
        installed.execution_count = 7
        scipy.special.logsumexp(z.numpy(), axis=1)
        installed.execution_count = 8
        from sklearn.metrics import log_loss as ll
        ll([0, 1, 2, 0], torch.softmax(z, 1).numpy(), labels=[0, 1, 2])
    finally:
        data = guard.q1_report()
    got = _payload(data, "k0")
    by_count = {}
    for count, name in got["calls"]:
        by_count.setdefault(count, set()).add(name)
    assert 3 not in by_count                                   # the student's own methods
    assert "torch.nn.functional.cross_entropy" in by_count[4]
    assert by_count[5] == {"Tensor.log_softmax"}
    assert "torch.nn.functional.cross_entropy" in by_count[6]   # nn.CrossEntropyLoss calls it
    assert any(n.endswith("logsumexp") and n.startswith("scipy") for n in by_count[7])
    assert any(n.startswith("sklearn") and n.endswith("log_loss") for n in by_count[8])
    assert got["tampered"] == []


def test_the_recorder_says_when_it_was_switched_off(installed):
    guard.q1_start()
    sys.setprofile(None)                                      # what a notebook hiding its calls would do
    got = _payload(guard.q1_report(), "k0")
    assert any("sys.setprofile" in t for t in got["tampered"])


def test_bindings_name_what_was_replaced_by_identity():
    fake_builtins = types.ModuleType("builtins")
    fake_builtins.print, fake_builtins.isinstance = print, isinstance
    fake_sys = types.ModuleType("sys")
    fake_json = types.ModuleType("json")
    fake_json.dumps, fake_json.loads = json.dumps, json.loads
    fake_sys.modules = {"builtins": fake_builtins, "sys": fake_sys, "json": fake_json}
    mods = dict(fake_sys.modules)
    before = guard.bindings(mods, None)
    assert guard.replaced(before, guard.bindings(mods, None)) == []
    fake_builtins.print = lambda *a, **k: None
    fake_sys.modules["json"] = types.ModuleType("json")
    fake_json.dumps = lambda *a, **k: "{}"
    got = guard.replaced(before, guard.bindings(mods, None))
    assert set(got) == {"builtins.print", "sys.modules['json']", "json.dumps"}


def test_the_graph_probe_reads_through_its_own_references_and_names_the_replaced_ones(installed, monkeypatch):
    """A genuine Figure 1 tensor is found; then display, a Tensor method, a builtin and sys.modules' json are
    replaced: the probe still reads the true value and names each replacement."""
    import IPython.display

    a = torch.tensor([4.0, 5.0, 6.0], requires_grad=True)
    installed.user_ns.update(out=figure1(a, a, a), text="not a tensor")
    got = _payload(guard.graph(), "k0")
    assert got["tampered"] == []
    found = figure1_tensors(got)
    assert [t["name"] for t in found] == ["out"] and found[0]["merged"] == "a, b and c"
    assert np.allclose(found[0]["value"], FIG1_AT_456)

    installed.user_ns["out"] = figure1(*(torch.tensor([1.0, 2.0, 3.0], requires_grad=True) for _ in range(3)))
    real = isinstance
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: None)
    monkeypatch.setattr(torch.Tensor, "tolist", lambda self: [15.0, 22.2, 31.4], raising=True)
    monkeypatch.setattr(builtins, "isinstance", lambda o, t: real(o, t))
    monkeypatch.setitem(sys.modules, "json", types.ModuleType("json"))
    try:
        got = guard.graph()
    finally:
        monkeypatch.undo()
    got = _payload(got, "k0")
    assert {"IPython.display.display", "torch.Tensor.tolist", "builtins.isinstance",
            "sys.modules['json']"} <= set(got["tampered"])
    (t,) = figure1_tensors(got)
    one = np.array([1.0, 2.0, 3.0])
    assert np.allclose(t["value"], figure1(one, one, one))     # the truth at [1, 2, 3], not the patched tolist


def test_figure1_holds_for_merged_leaves_and_any_shape_but_not_for_another_program():
    def drawn(out):
        nodes, edges = guard.walk(out.grad_fn, tuple(out.shape), custom_base=torch.autograd.function.BackwardCFunction)
        return {"tensors": [{"name": "out", "nodes": nodes, "edges": edges, "value": out.detach().reshape(-1).tolist()}]}

    def leaf(shape=(3,)):
        return torch.tensor([4.0, 5.0, 6.0]).reshape(shape).requires_grad_()

    x, col = leaf(), leaf((3, 1))
    cases = {"three leaves": figure1(leaf(), leaf(), leaf()), "one tensor": figure1(x, x, x),
             "a and b": figure1(x, x, leaf()), "columns": figure1(leaf((3, 1)), leaf((3, 1)), leaf((3, 1))),
             "one column": figure1(col, col, col)}
    for name, out in cases.items():
        found = figure1_tensors(drawn(out))
        assert len(found) == 1, name
        assert np.allclose(found[0]["value"], FIG1_AT_456), name
    assert figure1_tensors(drawn(cases["three leaves"]))[0]["merged"] is None
    a = leaf()
    assert figure1_tensors(drawn(a * 5 + a / 5)) == []

    class Add(torch.autograd.Function):         # a hand-made node, renamed to look like torch's
        @staticmethod
        def forward(ctx, p, q):
            return p + q

        @staticmethod
        def backward(ctx, g):
            return g, g

    Add._backward_cls.__name__ = "AddBackward0"
    b, c = leaf(), leaf()
    t1, t2 = a * 5, a / 5
    t3 = Add.apply(t1 * t2, a + 5)
    forged = (t3 + b - t1) + ((b + t2) + (b + t2) / c)
    assert figure1_tensors(drawn(forged)) == []


def test_the_injected_cells_run_the_file_text_in_a_private_namespace_that_outlives_a_reset():
    """The bootstrap cell execs guard.py's text (not an import) with a copy of the builtins; a notebook's globals
    cleared (``%reset``) or its builtins rebound afterwards do not reach it."""
    slot = "__quiz1_test0"
    user = {}
    try:
        exec(kernel.bootstrap("guard", slot, "install", {"nonce": "n3", "key": "k3"}), user)
        private = getattr(builtins, slot)
        assert private["STATE"]["nonce"] == "n3" and private["__builtins__"] is not vars(builtins)
        assert "guard" not in user and "install" not in user          # nothing of the file in the notebook's names
        user.clear()                                                   # %reset
        exec(kernel.call(slot, "q1_start", {}) + kernel.call(slot, "q1_report", {}), user)
        assert private["STATE"]["calls"] == []
    finally:
        sys.setprofile(None)
        if hasattr(builtins, slot):
            delattr(builtins, slot)


def test_signed_results_refuse_copies_and_forgeries():
    payload = json.dumps({"kind": "q2", "tensors": []})
    good = {"nonce": "n1", "payload": payload, "mac": kernel.sign("k1", payload)}
    outs = [{"output_type": "display_data", "data": {kernel.RESULT_MIME: good}},
            {"output_type": "display_data", "data": {kernel.RESULT_MIME: {**good, "payload": payload.replace("[]", "[1]")}}},
            {"output_type": "stream", "text": "n1 {...}"}]
    got, forged = kernel.signed_results(outs, "n1", "k1")
    assert got == [{"kind": "q2", "tensors": []}] and forged == 2
    assert kernel.signed_results(outs[:1], "n1", "another key") == ([], 1)


def test_the_q7_harness_runs_the_main_block_and_names_a_patched_backward():
    from functools import partialmethod

    class Fixed:
        def __init__(self):
            self.g = torch.ones([2])

        def __call__(self, x):
            g = self.g.clone()
            g[0] = x * x
            return torch.sum(g)

    class Patched:                    # the quiz's bug left in, hidden by a backward that keeps the graph
        def __init__(self):
            torch.Tensor.backward = partialmethod(torch.Tensor.backward, retain_graph=True)
            self.g = torch.ones([2])

        def __call__(self, x):
            self.g[0] = x * x
            return torch.sum(self.g)

    genuine = torch.Tensor.backward
    q7.capture(json.dumps({"nonce": "n2", "key": "k2"}), shell=_Shell())
    try:
        data = q7.run(json.dumps({"names": ["Patched", "Fixed"], "xinits": [1.0, 0.5]}),
                      namespace={"Fixed": Fixed, "Patched": Patched})
    finally:
        torch.Tensor.backward = genuine
    (got,) = kernel.signed_results([{"output_type": "display_data", "data": data}], "n2", "k2")[0]
    patched, fixed = got["classes"]
    assert patched["replaced"] == ["torch.Tensor.backward"]
    assert fixed["replaced"] == []                           # put back before the next class
    for run in fixed["runs"]:
        assert np.allclose(run["grads"], q7_grads(run["xinit"]))


def test_q7_definitions_take_the_notebooks_imports_and_the_constants_the_class_reads():
    notebook = ["import torch\nimport numpy as np\nfrom google.colab import drive", "WIDTH = 2\nSCALE = np.float32(1.0)",
                "def make():\n    return torch.ones([WIDTH])", "W = make()\ntrain_everything()"]
    section = ["class G:\n    def __init__(self):\n        self.g = make() * SCALE\n    def __call__(self, x):\n"
               "        g = self.g.clone()\n        g[0] = x * x\n        return torch.sum(g)\n\ng = G()\nprint(g)"]
    program, names = q7_definitions(section, notebook + section)
    assert names == ["G"]
    ns = {}
    exec(program, ns)                                                   # the colab import is guarded
    assert {"torch", "np", "WIDTH", "SCALE", "make", "G"} <= set(ns) and "W" not in ns and "g" not in ns
    assert "train_everything" not in program and "print(g)" not in program


def test_the_variant_replaces_every_copy_of_the_quiz_files(tmp_path, standin_dir):
    """A student's own copy of the download beside Q_1/ gets the variant too; a file that only looks alike does not,
    and a symlink is not followed."""
    from quiz1.grading.questions.q1 import write_variant

    root = tmp_path / "sub"
    for folder in ("Q_1", "Quizz_data/Q1"):
        (root / folder).mkdir(parents=True)
        for n in ("data.txt", "labels.txt"):
            (root / folder / n).write_bytes((standin_dir / "Q1" / n).read_bytes())
    (root / "notes.txt").write_bytes((standin_dir / "Q1" / "data.txt").read_bytes() + b"\n")
    outside = tmp_path / "outside.txt"
    outside.write_bytes((standin_dir / "Q1" / "data.txt").read_bytes())
    (root / "link.txt").symlink_to(outside)
    changed = write_variant(root, seed=1)
    assert {"Q_1/data.txt", "Q_1/labels.txt", "Quizz_data/Q1/data.txt", "Quizz_data/Q1/labels.txt"} <= set(changed)
    for n in ("data.txt", "labels.txt"):
        assert (root / "Quizz_data/Q1" / n).read_bytes() == (root / "Q_1" / n).read_bytes()
        assert (root / "Q_1" / n).read_bytes() != (standin_dir / "Q1" / n).read_bytes()
    assert outside.read_bytes() == (standin_dir / "Q1" / "data.txt").read_bytes()
    assert "notes.txt" not in changed


def test_the_main_notebook_is_the_one_named_by_the_id(tmp_path, standin_dir):
    from quiz1.grading.running.layout import extract_submission

    z = make_zip(tmp_path / "A9500001A.zip", standin_dir, {"A9500001A-extra.ipynb": [code("x = 1")],
                                                           "A9500001A.ipynb": [md("## Question 1")]})
    layout = extract_submission(z, tmp_path / "x")
    assert [p.name for p in layout.notebooks] == ["A9500001A.ipynb", "A9500001A-extra.ipynb"]


# --------------------------------------------------------------------------
# the verdicts, on hand-made runs


def _ref(losses=None):
    losses = np.array([1.25, 2.5, 4.75]) if losses is None else losses
    at = {v: (q7_grads(v)[0][0], q7_grads(v)[1][0]) for v in (1.0, 0.5)}
    return {"Q1": q1.Answers(float(losses.mean()), float(losses.sum()), tuple(losses)),
            "Q2": q2.Readings((Q2Reading(FIG1_AT_456, "the natural reading (operands in the drawn order)"),), ()),
            "Q7": question7.Grads(at)}


def _cell(i, text, q=1, source="print(x)"):
    return Cell("A.ipynb", i, f"In [{i + 1}]", source, frozenset({q}), text, 0, True, None)


def _calls(cells=None, **kw):
    return {"cells": cells or {}, "tampered": [], "forged": 0, "signed": True, **kw}


def test_q1_verdicts_on_the_record_of_calls():
    ref = _ref()                                          # mean 2.833333, total 8.5
    labelled = [_cell(0, "Mean CE: 2.8333\nTotal: 8.5000")]
    assert q1.verdict(Evidence(RunRecord(cells=labelled, kernel={"Q1": _calls()}), ref)).status == "correct"
    lib = q1.verdict(Evidence(RunRecord(cells=labelled, kernel={"Q1": _calls({("A.ipynb", 0): ["torch.nn.functional.cross_entropy"]})}),
                 ref))
    assert lib.status == "unverified" and "F.cross_entropy" in lib.note
    elsewhere = q1.verdict(Evidence(RunRecord(cells=labelled + [_cell(1, "", q=6)],
                                 kernel={"Q1": _calls({("A.ipynb", 1): ["torch.softmax"]})}), ref))
    assert elsewhere.status == "correct"                  # Q6's softmax is not Q1's
    for rec in (None, _calls(tampered=["sys.setprofile (the grader's call recorder was removed or replaced)"]),
                _calls(forged=1)):
        assert q1.verdict(Evidence(RunRecord(cells=labelled, kernel={"Q1": rec}), ref)).status == "unverified"


def test_q1_which_one_is_the_answer():
    ref = _ref()
    bare = "\n".join(f"{v:.4f}" for v in (2.8333, 8.5, 2.5, 1.5025, 1.4276, 0.9444, 3.1167))
    v = q1.verdict(Evidence(RunRecord(cells=[_cell(0, bare)], kernel={"Q1": _calls()}), ref))
    assert v.status == "unverified" and "which one is the answer" in v.note
    one = q1.verdict(Evidence(RunRecord(cells=[_cell(0, "tensor(2.8333, dtype=torch.float64)")], kernel={"Q1": _calls()}), ref))
    assert one.status == "correct"
    per_sample = "1.2500\n2.5000\n4.7500\n2.8333"          # the per-sample losses one a line, then the mean
    assert q1.verdict(Evidence(RunRecord(cells=[_cell(0, per_sample)], kernel={"Q1": _calls()}), ref)).status == "correct"
    labelled = "mean 2.8333\ntotal 8.5\nmedian 2.5\nstd 1.4276\nlog2 1.5025"
    assert q1.verdict(Evidence(RunRecord(cells=[_cell(0, labelled)], kernel={"Q1": _calls()}), ref)).status == "correct"


def _q2_run(tampered=(), merged=None):
    t = {"name": "out", "value": list(FIG1_AT_456), "merged": merged}
    cell = _cell(0, "tensor([15.0000, 22.2000, 31.4000], grad_fn=<AddBackward0>)", q=2, source="print(out)")
    return RunRecord(cells=[cell], kernel={"Q2": {"tensors": [t], "tampered": list(tampered), "forged": 0}}), [t]


def test_q2_verdicts_with_a_tampered_probe_and_merged_leaves(monkeypatch):
    run, held = _q2_run(merged="a, b and c")
    monkeypatch.setattr(q2, "figure1_tensors", lambda probe: probe["tensors"])   # the probe's tensor: Figure 1's graph
    v = q2.verdict(Evidence(run, _ref()))
    assert v.status == "correct" and "leaves merged" in v.note
    run, held = _q2_run(tampered=["IPython.display.display"])
    v = q2.verdict(Evidence(run, _ref()))
    assert v.status == "unverified" and "IPython.display.display" in v.note


def test_q7_verdicts_whatever_the_values():
    ref = _ref()
    runs = [{"xinit": v, "grads": q7_grads(v)} for v in (1.0, 0.5)]
    clean = {"name": "G", "runs": runs, "replaced": []}
    fixed = "class G:\n    def __call__(self, x):\n        return x"
    assert question7.verdict(Evidence(RunRecord(), ref, apart={"Q7": {"classes": [clean], "definitions": fixed}})).status == "correct"
    patched = question7.verdict(Evidence(RunRecord(), ref, apart={"Q7": {"classes": [{**clean, "replaced": ["torch.Tensor.backward"]}],
                                           "definitions": fixed}}))
    assert patched.status == "unverified" and "torch.Tensor.backward" in patched.note
    retain = "class G:\n    def __call__(self, x):\n        torch.autograd.backward(x, retain_graph=True)\n        return x"
    assert question7.verdict(Evidence(RunRecord(), ref, apart={"Q7": {"classes": [clean], "definitions": retain}})).status == "unverified"
    typed = RunRecord(cells=[_cell(0, "xinit.grad = 36", q=7, source="print('xinit.grad =', 36)")])
    v = question7.verdict(Evidence(typed, ref, apart={"Q7": {"classes": [], "definitions": ""}}))
    assert v.status == "wrong" and "typed in" in v.note
    empty = RunRecord(cells=[_cell(0, "", q=7, source="x = 1")])
    assert question7.verdict(Evidence(empty, ref, apart={"Q7": {"classes": [], "definitions": ""}})).status == "missing"


def test_reports_show_no_control_characters():
    from quiz1.grading.report import CellError, GradeReport, Verdict

    red = "\x1b[0;31mValueError\x1b[0m: \x1b]0;pwned\x07boom\r"
    err = CellError("A.ipynb", "In [1]", red, None, None, "student")
    rep = GradeReport("A.zip", None, (red,), (), 1.0, False, False, False, (err,), {"Q1": Verdict("error", note=red)})
    assert "\x1b" not in rep.table() and "\r" not in rep.table() and "ValueError: boom" in rep.table()
    assert "\x1b" not in json.dumps(rep.to_json())
    assert printable("a\tb\nc\x07") == "a\tb\nc"


# --------------------------------------------------------------------------
# sandboxed: cheats batched a few a notebook, honest work in the styles that were misjudged


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return seeded_data(tmp_path_factory.mktemp("quizdata"))


@pytest.fixture(scope="module")
def executor():
    return make_executor(Options(threads=1))


def grade(path, data, executor, **kw):
    return grade_submission(path, progress=False, executor=executor, data=data, model=data / "Q6" / "model.pth",
                            timeout=300, **kw)


def status(rep):
    return {q: v.status for q, v in rep.questions.items()}


LOAD = "import numpy as np\nz, y = np.loadtxt('Q_1/data.txt'), np.loadtxt('Q_1/labels.txt')\n"

FIG1_NUMPY = """
import numpy as np
a = b = c = np.array([4., 5., 6.])
t1, t2 = a * 5, a / 5
t3 = t1 * t2 + (a + 5)
t4 = t3 + b - t1
t5 = b + t2
OUT = t4 + (t5 + t5 / c)        # no autograd at all
print(OUT)
"""


def pasted_graph() -> list:
    """Figure 1's graph as the old probe sent it, made here from an honest program: what a cheat pastes."""
    a, b, c = (torch.tensor([4.0, 5.0, 6.0], requires_grad=True) for _ in range(3))
    out = figure1(a, b, c)
    nodes, edges = guard.walk(out.grad_fn, tuple(out.shape))
    return [{"name": "out", "shape": [3], "nodes": nodes, "edges": edges}]


FORGE_PROBE = """
import IPython.display as d, IPython.core.display_functions as df
PASTED = {pasted}
_real = d.display
def display(*objs, **kw):
    pasted = [{{**PASTED[0], "value": [float(v) for v in OUT]}}]      # the numpy output, with Figure 1's graph
    objs = [{{k: ({{**v, "tensors": pasted}} if isinstance(v, dict) and "nonce" in v else v) for k, v in o.items()}}
            if isinstance(o, dict) else o for o in objs]
    return _real(*objs, **kw)
d.display = df.display = display
"""

FAKE_MODULE = """
import sys, types
fake = types.ModuleType("IPython.display")
fake.__dict__.update(sys.modules["IPython.display"].__dict__)
fake.display = lambda *objs, **kw: None
sys.modules["IPython.display"] = fake          # a probe importing display gets this one
"""

PATCH_TOLIST = """
import torch, builtins
a, b, c = (torch.tensor([1., 2., 3.], requires_grad=True) for _ in range(3))
t1, t2 = a * 5, a / 5
t5 = b + t2
out = (t1 * t2 + (a + 5) + b - t1) + (t5 + t5 / c)        # Figure 1, at the wrong input
torch.Tensor.tolist = lambda self: [float(v) for v in OUT]     # the numpy output of the next cell
_isinstance = builtins.isinstance
builtins.isinstance = lambda o, t: _isinstance(o, t)
"""

Q7_PARTIAL = """
import torch
from functools import partialmethod

class G:
    def __init__(self):
        torch.Tensor.backward = partialmethod(torch.Tensor.backward, retain_graph=True)
        self.g = torch.ones([2])
    def __call__(self, x):
        self.g[0] = x * x
        return torch.sum(self.g)
"""

Q7_AUTOGRAD = """
import torch

class G:
    def __init__(self):
        real = torch.autograd.backward
        def keep(tensors, grad_tensors=None, retain_graph=None, *rest, **kw):
            return real(tensors, grad_tensors, True, *rest, **kw)
        torch.autograd.backward = keep
        self.g = torch.ones([2])
    def __call__(self, x):
        self.g[0] = x * x
        return torch.sum(self.g)
"""


@needs_bwrap
def test_cheats_alias_display_patch_and_patched_backward(tmp_path, data, executor):
    """Q1 by an alias of F.cross_entropy; Q2 computed in numpy with display patched to paste Figure 1's graph into
    the probe; Q7 unfixed, its __init__ patching Tensor.backward with retain_graph=True."""
    q1 = LOAD + ("import torch\nfrom torch.nn.functional import cross_entropy as xent\n"
                 "print('Mean CE:', xent(torch.tensor(z), torch.tensor(y)).item())")
    cells = [md("## Question 1"), code(q1), md("## Question 2"), code(FORGE_PROBE.format(pasted=pasted_graph())),
             code(FIG1_NUMPY), md("## Question 7"), code(Q7_PARTIAL)]
    rep = grade(make_zip(tmp_path / "A9300001A.zip", data, {"A9300001A.ipynb": cells}), data, executor)
    st = status(rep)
    assert (st["Q1"], st["Q2"], st["Q7"]) == ("unverified", "unverified", "unverified"), rep.table()
    assert "cross_entropy" in rep.questions["Q1"].note
    assert "IPython.display.display" in rep.questions["Q2"].note
    assert "torch.Tensor.backward" in rep.questions["Q7"].note


@needs_bwrap
def test_cheats_full_path_twelve_values_module_swap_and_typed_q7(tmp_path, data, executor):
    """Q1 by torch.nn.functional.cross_entropy( and, apart, twelve bare values of which one is the mean; Q2 in numpy
    with sys.modules' IPython.display swapped; Q7 a typed print and no class."""
    q1 = LOAD + ("import torch\nprint('Mean CE:', torch.nn.functional.cross_entropy(torch.tensor(z), "
                 "torch.tensor(y)).item())")
    twelve = LOAD + """
m = z.max(1, keepdims=True)
l = (m[:, 0] + np.log(np.exp(z - m).sum(1))) - (y * z).sum(1)
for v in (l.mean(), l.sum(), np.median(l), np.log2(l.mean()), l.std(), l.mean() / 2, l.sum() / 10,
          np.sqrt(l.mean()), l.var(), l.mean() * 1.1, np.log(l.sum()), l.mean() + l.std()):
    print(v)
"""
    cells = [md("## Question 1"), code(q1), md("## Question 2"), code(FAKE_MODULE), code(FIG1_NUMPY),
             md("## Question 7"), code("print('xinit.grad =', 36)")]
    other = [md("## Question 1"), code(twelve)]
    z = make_zip(tmp_path / "A9300002B.zip", data, {"A9300002B.ipynb": cells})
    rep = grade(z, data, executor)
    st = status(rep)
    assert st["Q1"] == "unverified" and "cross_entropy" in rep.questions["Q1"].note, rep.table()
    assert st["Q2"] != "correct" and st["Q7"] == "wrong" and "typed in" in rep.questions["Q7"].note, rep.table()
    rep2 = grade(make_zip(tmp_path / "A9300003C.zip", data, {"A9300003C.ipynb": other}), data, executor)
    assert rep2.questions["Q1"].status == "unverified", rep2.table()
    assert "which one is the answer" in rep2.questions["Q1"].note


@needs_bwrap
def test_cheats_tensor_method_builtins_and_patched_autograd(tmp_path, data, executor):
    """Q1 by z.log_softmax(; Q2: a genuine graph at the wrong input with Tensor.tolist patched to report the right
    value (and a builtin replaced); Q7 unfixed with torch.autograd.backward patched."""
    q1 = LOAD + "import torch\nt = torch.tensor(z)\nprint('Mean CE:', -(torch.tensor(y) * t.log_softmax(1)).sum(1).mean().item())"
    cells = [md("## Question 1"), code(q1), md("## Question 2"), code(PATCH_TOLIST), code(FIG1_NUMPY),
             md("## Question 7"), code(Q7_AUTOGRAD)]
    rep = grade(make_zip(tmp_path / "A9300004D.zip", data, {"A9300004D.ipynb": cells}), data, executor)
    st = status(rep)
    assert (st["Q1"], st["Q2"], st["Q7"]) == ("unverified", "unverified", "unverified"), rep.table()
    assert "Tensor.log_softmax" in rep.questions["Q1"].note
    assert "torch.Tensor.tolist" in rep.questions["Q2"].note and "builtins.isinstance" in rep.questions["Q2"].note
    assert "torch.autograd.backward" in rep.questions["Q7"].note


HONEST_Q1_CLASS = """
import numpy as np

class CrossEntropy:
    def logsumexp(self, z):
        m = z.max(axis=1, keepdims=True)
        return m[:, 0] + np.log(np.exp(z - m).sum(axis=1))

    def softmax(self, z):
        return np.exp(z - self.logsumexp(z)[:, None])

    def __call__(self, z, y):
        return -(y * (z - self.logsumexp(z)[:, None])).sum(axis=1)    # log of my softmax, without underflow

z = np.loadtxt('Quizz_data/Q1/data.txt')          # my own copy of the download
y = np.loadtxt('Quizz_data/Q1/labels.txt')
ce = CrossEntropy()(z, y)
print("softmax rows sum to one:", np.allclose(CrossEntropy().softmax(z).sum(axis=1), 1))
print(f"Mean CE: {ce.mean():.4f}")
print(f"Total CE: {ce.sum():.2f}")
"""

HONEST_Q2_ONE_TENSOR = """
x = torch.tensor([4., 5., 6.], requires_grad=True)     # "all the inputs are [4, 5, 6]"

def f(a, b, c):
    t1, t2 = a * 5, a / 5
    t3 = t1 * t2 + (a + 5)
    t4 = t3 + b - t1
    t5 = b + t2
    return t4 + (t5 + t5 / c)

out = f(x, x, x)
out
"""

HONEST_Q2_COLUMNS = """
import torch
a, b, c = (torch.tensor([[4.], [5.], [6.]], requires_grad=True) for _ in range(3))
t1, t2 = a * 5, a / 5
t3 = t1 * t2 + (a + 5)
t4 = t3 + b - t1
t5 = b + t2
out = t4 + (t5 + t5 / c)
print(out)
"""

Q7_NEEDS_THE_PREAMBLE = Q7_FIXED.replace("import torch\n", "").replace("torch.ones([2])", "torch.ones([SIZE])")


@needs_bwrap
def test_honest_forms_that_were_misjudged(tmp_path, data, executor):
    """Q1 from scratch in a class with its own logsumexp/softmax, on the student's own copy of the data; Q2 with one
    tensor as a, b and c; Q7 fixed, with torch imported and a constant set in the first cell."""
    cells = [code("import torch\nSIZE = 2"), md("## Question 1"), code(HONEST_Q1_CLASS), md("## Question 2"),
             code(HONEST_Q2_ONE_TENSOR), md("## Question 7"), code(Q7_NEEDS_THE_PREAMBLE)]
    own = {f"Quizz_data/Q1/{n}": (data / "Q1" / n).read_bytes() for n in ("data.txt", "labels.txt")}
    rep = grade(make_zip(tmp_path / "A9400001A.zip", data, {"A9400001A.ipynb": cells}, extra=own), data, executor)
    st = status(rep)
    assert (st["Q1"], st["Q2"], st["Q7"]) == ("correct", "correct", "correct"), rep.table()
    assert f"{q1_losses(data).mean():.4f}" in rep.questions["Q1"].found
    assert "leaves merged" in rep.questions["Q2"].note


@needs_bwrap
def test_honest_columns_bare_mean_two_notebooks_and_ansi_in_the_class_report(tmp_path, data):
    """Graded as a class (``grade_class``): Q1's mean printed bare, once; Q2 with (3, 1) tensors; Q7 fixed after
    `import torch` elsewhere. An extra notebook raises with ANSI colours: <stem>.ipynb holds the main notebook, and
    neither report.html nor the JSON carries an escape character."""
    from quiz1.grading.cohort.batch import grade_class

    q1 = LOAD + "m = z.max(1, keepdims=True)\nl = m[:, 0] + np.log(np.exp(z - m).sum(1)) - (y * z).sum(1)\nprint(l.mean())"
    cells = [code("import torch"), md("## Question 1"), code(q1), md("## Question 2"), code(HONEST_Q2_COLUMNS),
             md("## Question 7"), code(Q7_FIXED.replace("import torch\n", ""))]
    extra = [code("raise ValueError('\\x1b[31mred\\x1b[0m text')")]
    z = make_zip(tmp_path / "A9400002B.zip", data, {"A9400002B.ipynb": cells, "A9400002B-extra.ipynb": extra})
    out = tmp_path / "out"
    (rep,) = grade_class([z], out, Options(threads=1, data=str(data), model=str(data / "Q6" / "model.pth"),
                                           timeout=300), jobs=1, progress=False)
    st = {q: v["status"] for q, v in rep["questions"].items()}
    assert (st["Q1"], st["Q2"], st["Q7"]) == ("correct", "correct", "correct"), json.dumps(rep, indent=1)
    main = json.loads((out / "A9400002B.ipynb").read_text())
    assert any("Question 1" in "".join(c["source"]) for c in main["cells"])
    assert "ValueError" in (out / "A9400002B-2.ipynb").read_text()
    assert "\x1b" not in (out / "report.html").read_text() and "\\u001b" not in (out / "A9400002B.json").read_text()
