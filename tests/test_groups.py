"""Answer groups (``marks.groups`` and the questions' ``group_key`` hooks), on report JSONs written by hand.

Each kind of group has its test: the evidence of each item is written here (a value printed, a formula in LaTeX or
in the grader's sympy spelling, Q4's and Q5's measures), and the test checks that items with the same evidence fall
together, items with other evidence apart, items with nothing machine-readable alone, and that the members of each
group are equal in the evidence itself (not only in their key). No kernel runs.
"""
from __future__ import annotations

import json
import re
import sqlite3

import numpy as np
import pytest

from quiz1.grading.marks import gradebook, groups
from quiz1.grading.marks.rubric import load_rubric
from quiz1.grading.questions import formula_values, names, q3
from quiz1.grading.questions.equivalence import check_q3, points


def verdict(status, found=None, note=None):
    return {"status": status, "found": found, "expected": None, "note": note}


def report(measures=None, **questions):
    """A report's JSON as ``quiz1 grade`` writes it: the questions given, the rest missing."""
    qs = {q: questions.get(q, verdict("missing", None, "no section for it")) for q in names()}
    return {"zip": "x.zip", "student_id": None, "graded": True, "measures": measures or {}, "questions": qs}


def partition(reports, question):
    """{frozenset of stems} of ``question``'s proposed groups; and the groups."""
    got = groups.propose(reports)[question]
    return {frozenset(g.members) for g in got}, got


def group_of(got, stem):
    return next(g for g in got if stem in g.members)


# --------------------------------------------------------------------------
# Q1, Q2, Q7: the value shown

def test_q1_the_same_wrong_value_falls_together_and_another_apart():
    reports = {
        "a": report(Q1=verdict("wrong", "3.141593, 2", None)),
        "b": report(Q1=verdict("wrong", "3.141593,  2", None)),             # printed elsewhere, other spacing
        "c": report(Q1=verdict("wrong", "2.718282, 2", None)),
        "d": report(Q1=verdict("wrong", "no value printed", None)),
    }
    parts, got = partition(reports, "Q1")
    assert frozenset("ab") in parts and frozenset("c") in parts and frozenset("d") in parts
    for g in got:                                                         # equal in evidence: the value itself
        assert len({" ".join(reports[s]["questions"]["Q1"]["found"].split()) for s in g.members}) == 1


def test_q1_library_use_groups_by_the_function_and_quiz1s_value_by_its_kind():
    lib = ("computed with the library's `torch.nn.functional.cross_entropy` (F.cross_entropy) (called at run time) "
           "where the quiz asks for softmax and cross-entropy from scratch: a human should decide")
    other = lib.replace("`torch.nn.functional.cross_entropy` (F.cross_entropy)", "`scipy.special.logsumexp`")
    follow = "followed the data: on the variant data the same cell printed its mean {}; "
    reports = {
        "a": report(Q1=verdict("unverified", "mean 2.302585 (a.ipynb In [4])", follow.format(1.87) + lib)),
        "b": report(Q1=verdict("unverified", "mean 2.3026 (b.ipynb In [9])", follow.format(2.61) + lib)),
        "c": report(Q1=verdict("unverified", "mean 2.3026 (c.ipynb In [2])", follow.format(2.02) + other)),
        "d": report(Q1=verdict("unverified", "total 230.2585 (d.ipynb In [2])", follow.format(3.3) + lib)),
        "e": report(Q1=verdict("unverified", None, "the Q1 data in the zip cannot be read")),
    }
    parts, got = partition(reports, "Q1")
    assert parts == {frozenset("ab"), frozenset("c"), frozenset("d"), frozenset("e")}
    assert group_of(got, "e").alone                                       # nothing shown: alone
    assert "the mean, quiz1's value" in group_of(got, "a").label and "F.cross_entropy" in group_of(got, "a").label


def test_q2_the_same_reading_of_figure_1_falls_together():
    reading = "the natural reading (operands in the drawn order)"
    other = "the reading with div2 as `q / p`"
    held = ("the kernel's tensors drawn as Figure 1 (the notebook's `{}` = [1, 2, 3]) do not hold this value: "
            "a human should decide")
    reports = {
        "a": report(Q2=verdict("correct", f"[15, 22.2, 31.4], {reading} (a.ipynb In [3])", "ok")),
        "b": report(Q2=verdict("correct", f"[15, 22.2, 31.4], {reading} (b.ipynb In [12])", "ok")),
        "c": report(Q2=verdict("correct", f"[14.6333, 21.8333, 31.0333], {other} (c.ipynb In [3])", "ok")),
        "d": report(Q2=verdict("unverified", f"[15, 22.2, 31.4], {reading} (d.ipynb In [3])", held.format("out"))),
        "e": report(Q2=verdict("unverified", f"[15, 22.2, 31.4], {reading} (e.ipynb In [5])", held.format("z"))),
    }
    parts, got = partition(reports, "Q2")
    assert parts == {frozenset("ab"), frozenset("c"), frozenset("de")}
    assert "`q / p`" in group_of(got, "c").label                 # the reading's own names stay: they are evidence
    for g in got:
        assert len({reports[s]["questions"]["Q2"]["found"].split(" (")[0] for s in g.members}) == 1


def test_q7_the_same_wrong_gradients_fall_together_whatever_the_class_is_called():
    note = ("the quiz's main block runs with this class, but the gradients differ from the quiz's (the fix changed "
            "what G computes)")
    retain = ("uses retain_graph=True: that hides the error and keeps every old graph alive (memory grows with each "
              "call); the class itself is not fixed: a human should decide")
    err = "RuntimeError: Trying to backward through the graph a second time (or directly access saved tensors)"
    needs = ("the class could not run apart from the notebook (it may need a name the section defines outside a "
             "class): a human should check the fix")
    reports = {
        "a": report(Q7=verdict("wrong", "class G: xinit.grad 4 then 4", note)),
        "b": report(Q7=verdict("wrong", "class GFixed: xinit.grad 4 then 4", note)),
        "c": report(Q7=verdict("wrong", "class G: xinit.grad 4 then 8", note)),
        "d": report(Q7=verdict("unverified", f"class G: {err}", retain)),
        "e": report(Q7=verdict("unverified", f"class G2: {err}", retain)),
        "f": report(Q7=verdict("unverified", None, "the Q7 section's classes could not run apart (boom)")),
        "g": report(Q7=verdict("unverified", "class G: NameError: name 'helper' is not defined", needs)),
        "h": report(Q7=verdict("unverified", "class G_fixed: NameError: name 'fresh_x' is not defined", needs)),
        "i": report(Q7=verdict("unverified", "class G: TypeError: 'NoneType' object is not callable", needs)),
    }
    parts, got = partition(reports, "Q7")
    assert parts == {frozenset("ab"), frozenset("c"), frozenset("de"), frozenset("f"), frozenset("gh"),
                     frozenset("i")}
    for g in got:     # the same gradients or error, by hand: a NameError's name is the student's own helper's
        grads = {re.sub(r"name '\w+'", "name", reports[s]["questions"]["Q7"]["found"].split(": ", 1)[1])
                 if reports[s]["questions"]["Q7"]["found"] else None for s in g.members}
        assert len(grads) == 1


def test_q6_groups_by_what_m_read_and_the_band_of_the_change():
    beyond = ("the targets are reached but with a change beyond every reading of eps = 0.1 (the largest, per-pixel "
              "RMS 0.1, allows L2 2.8): a human should decide")
    row = "Q_6/{}.png ~ {}: L2 {} ([0, 1]) = {} (0..255), read as {} (p = 0.9)"
    reports = {
        "a": report(Q6=verdict("unverified", "; ".join([row.format("I0_adv", "I0", 3.1, 790.5, 1),
                                                        row.format("I1_adv", "I1", 3.4, 867.0, 7)]), beyond)),
        "b": report(Q6=verdict("unverified", "; ".join([row.format("adv0", "I0", 4.2, 1071.0, 1),
                                                        row.format("adv1", "I1", 3.0, 765.0, 7)]), beyond)),
        "c": report(Q6=verdict("unverified", "; ".join([row.format("adv0", "I0", 2.0, 510.0, 1),
                                                        row.format("adv1", "I1", 3.0, 765.0, 7)]), beyond)),
    }
    parts, _ = partition(reports, "Q6")
    assert parts == {frozenset("ab"), frozenset("c")}


# --------------------------------------------------------------------------
# Q3: the formula read, up to symbolic equivalence

NO_RELU = [      # dL/dx without the ReLU's path, (sigma(s) - y) W1 w2, in four spellings
    r"$$\frac{\partial L}{\partial x_i} = (\sigma(s) - y)\sum_j W_{ij} v_j$$",
    r"$$\frac{\partial L}{\partial X} = (\hat y - y) W_1 W_2$$",
    r"$$\frac{\partial L}{\partial x_i} = \sum_{j=1}^{2} w_{ji} v_j \left(\frac{1}{1+e^{-s}} - y\right)$$",
    "\n\n".join(rf"$$\frac{{\partial L}}{{\partial x_{i}}} = (\sigma(s) - y)(W_{{{i}1}} v_1 + W_{{{i}2}} v_2)$$"
                for i in (1, 2, 3)),
]
RIGHT = r"$$\frac{\partial L}{\partial x_i} = (\sigma(s) - y)\sum_j W_{ij}(\mathbb{1}[f_j>0] + v_j)$$"
SIGN = r"$$\frac{\partial L}{\partial X} = (y - \sigma(s)) W v$$"
UNREAD = r"$$\frac{\partial L}{\partial x_i} = \mathcal{Q}(s) \star W$$"
CHAIN = [r"$$\frac{\partial L}{\partial x_i} = (\sigma(s) - y)\frac{\partial s}{\partial x_i}$$",      # left unexpanded:
         r"$$\frac{\partial L}{\partial x_i} = \left(\sigma(s)-y\right) \cdot \dfrac{\partial s}{\partial x_i}$$"]  # same
DS = [r"$$\frac{\partial L}{\partial s} = \sigma(s) - y$$", r"$$\frac{\partial L}{\partial s} = \hat{y} - y$$",
      r"$$\frac{\partial L}{\partial s} = \frac{1}{1 + \exp(-s)} - y$$"]
DS_WRONG = r"$$\frac{\partial L}{\partial s} = y - \sigma(s)$$"


def q3_item(tex):
    r = check_q3([tex])
    return verdict(r.status, r.found, r.note)


def values_at_check_points(item, monkeypatch):
    """The item's formula at the check's own 64 points (``equivalence.points``, seed 0: not the key's), (64, 3)."""
    monkeypatch.setattr(formula_values, "_points", lambda: tuple(points(64)))
    pretty = q3._reading(item)[1]
    parts = [np.array(next(iter(formula_values.readings(kind, index, rhs, pretty).values())), dtype=float)
             for kind, index, rhs in formula_values.parts(item["found"])]
    return parts[0].reshape(64, 3) if len(parts) == 1 else np.stack(parts, 1)     # (64, 3): by component too


def test_q3_equivalent_formulas_written_differently_fall_together_and_the_relu_path_apart(monkeypatch):
    reports = {f"no_relu{k}": report(Q3=q3_item(t)) for k, t in enumerate(NO_RELU)}
    reports |= {"right": report(Q3=q3_item(RIGHT)), "sign": report(Q3=q3_item(SIGN)),
                "unread": report(Q3=q3_item(UNREAD)), "chain0": report(Q3=q3_item(CHAIN[0])),
                "chain1": report(Q3=q3_item(CHAIN[1])),
                "prose": report(Q3=verdict("unverified", None, "shows 0 formula(s), 412 characters of Markdown text; "
                                                               "not checkable by a machine: a human should read it"))}
    parts, got = partition(reports, "Q3")
    assert frozenset(f"no_relu{k}" for k in range(len(NO_RELU))) in parts        # every spelling together
    assert {frozenset({"right"}), frozenset({"sign"}), frozenset({"unread"})} <= parts
    assert group_of(got, "unread").members == ("unread",) and group_of(got, "prose").alone   # apart; nothing read
    assert frozenset({"chain0", "chain1"}) in parts               # unread both, the same text but for its spelling
    assert {reports[s]["questions"]["Q3"]["status"] for s in ("chain0", "chain1", "unread")} == {"unverified"}
    assert {reports[s]["questions"]["Q3"]["status"] for s in group_of(got, "no_relu0").members} == {"wrong"}
    # equal in evidence: each member is (sigma(s) - y) W1 w2 at 64 other points, computed here by hand
    want = np.array([(1 / (1 + np.exp(-p.s)) - p.y) * p.W1 @ p.w2 for p in points(64)])        # (64, 3)
    for s in group_of(got, "no_relu0").members:
        got3 = values_at_check_points(reports[s]["questions"]["Q3"], monkeypatch)
        assert np.allclose(got3, want, rtol=1e-5, atol=1e-9), s


def test_q3_every_stop_at_dl_ds_equal_to_sigma_minus_y_falls_together():
    reports = {f"ds{k}": report(Q3=q3_item(t)) for k, t in enumerate(DS)} | {"ds_wrong": report(Q3=q3_item(DS_WRONG))}
    assert {reports[s]["questions"]["Q3"]["status"] for s in reports} == {"unverified"}
    parts, got = partition(reports, "Q3")
    assert parts == {frozenset(f"ds{k}" for k in range(len(DS))), frozenset({"ds_wrong"})}
    assert "stops short" in group_of(got, "ds0").key


def test_q3_the_graders_own_spelling_is_read_back_and_a_truncated_one_is_alone():
    spelled = {   # (sigma(s) - y) W1 w2 as ``equivalence._pretty`` writes it, component and matrix form
        "a": "dL/dx_i = (-y + sigma(s))*(W1[i, 1]*W2[1] + W1[i, 2]*W2[2])",
        "b": "dL/dX = ((-y + sigma(s))*W1)*W2",
        "c": "dL/dx_k = (-y + sigma(s))*Sum(W1[k, j]*W2[j], (j, 1, 2))",
        "d": "dL/dX = ((-y + sigma(s))*W1)*(HadamardProduct(Matrix([ [1], [1]]), W2))",
        "e": "dL/dX = ((-y + sigma(s))*W1)*(H(f) + W2" + "..." ,                           # cut at 240 characters
        "f": "dL/dX = ((-y + sigma(s))*W1)*(DiagMatrix(H(f))*W2)",                          # another formula
    }
    reports = {s: report(Q3=verdict("wrong", t, "parsed, and not equal to the reference")) for s, t in spelled.items()}
    parts, got = partition(reports, "Q3")
    assert parts == {frozenset("abcd"), frozenset("e"), frozenset("f")}
    assert group_of(got, "e").alone


# --------------------------------------------------------------------------
# Q4, Q5: the measured band

def fit4(status, mse=0.0, pca=1.0, params=500, kind="module", fresh=2000, limit=10_000, printed=True):
    return {"name": "m", "kind": kind, "params": params, "limit": limit, "mse": mse, "rel": 0.1, "rel_shipped": 0.1,
            "fresh": fresh, "fresh_error": None, "pca_mse": pca, "status": status, "printed": printed, "n": 1000}


def q4_report(status, files):
    return report({"Q4": files}, Q4=verdict(status, "measured", "a human sets the marks"))


FILES = ("Q1Q4I1.txt", "Q1Q4I2.npz", "Q1Q4I3.npz")


def test_q4_groups_by_each_files_band_and_what_the_marks_read():
    def three(*fits):
        return dict(zip(FILES, fits))

    good = dict(mse=0.02, pca=1.0, params=500)
    reports = {
        "a": q4_report("unverified", three(fit4("network", **good), fit4("network", **good),
                                           fit4("network", mse=0.05, pca=1.0, params=3000, limit=100_000))),
        "b": q4_report("unverified", three(fit4("network", mse=0.08, pca=1.0, params=800, kind="functions"),
                                           fit4("network", mse=0.01, pca=1.0, params=200),
                                           fit4("network", mse=0.01, pca=1.0, params=5000, limit=100_000))),
        "near": q4_report("unverified", three(fit4("network", mse=0.97, pca=1.0), fit4("network", **good),
                                              fit4("network", mse=0.05, pca=1.0, params=3000, limit=100_000))),
        "big": q4_report("unverified", three(fit4("too large", **{**good, "params": 20_000}), fit4("network", **good),
                                             fit4("network", mse=0.05, pca=1.0, params=3000, limit=100_000))),
        "exact": q4_report("correct", three(*[fit4("exact", 1e-20, kind="Markdown formulas", params=0)] * 3)),
        "exact2": q4_report("correct", three(*[fit4("exact", 3e-21, kind="Markdown formulas", params=0)] * 3)),
        "exact3": q4_report("correct", three(*[fit4("exact", 3e-21, kind="functions", params=12)] * 3)),
        "quiet": q4_report("unverified", three(fit4("network", **good, printed=False), fit4("network", **good),
                                               fit4("network", mse=0.05, pca=1.0, params=3000, limit=100_000))),
        "half": q4_report("unverified", {FILES[0]: fit4("network", **good)}),          # nothing for two files
        "none": report(Q4=verdict("unverified", "$$E(x) = ?$$", "shows 1 formula(s): a human should read it")),
    }
    parts, got = partition(reports, "Q4")
    assert parts == {frozenset({"a", "b"}), frozenset({"near"}), frozenset({"big"}), frozenset({"quiet"}),
                     frozenset({"exact", "exact2", "exact3"}), frozenset({"half"}), frozenset({"none"})}
    assert group_of(got, "none").alone
    for g in got:        # equal in what rubric.toml's Q4 items read, by hand: per file the status, the loss band,
        ms = [reports[s]["measures"].get("Q4", {}) for s in g.members]     # a network's count printed or not
        for f in FILES:
            rows = [m.get(f) for m in ms]
            assert len({None if r is None else (r["status"], r["status"] == "network" and r["printed"])
                        for r in rows}) == 1
            assert len({None if r is None else r["mse"] / r["pca_mse"] < 0.95 for r in rows}) == 1


def fit5(rmse, hidden=2, activations=("relu",), bypass=None, all_activated=True):
    return {"name": "mlp", "kind": "module", "params": 500, "rmse": rmse, "rmse_data": rmse, "bypass": bypass,
            "beyond": None, "between": 40, "orientation": "forward", "input": "x", "output_scaled": False,
            "hidden": hidden, "activations": list(activations), "all_activated": all_activated, "x": [], "pred": [],
            "truth": [], "memorised": None}


def test_q5_groups_by_the_rmse_band_and_the_architecture():
    def r5(status, m):
        return report({"Q5": m}, Q5=verdict(status, "module `mlp`", "near f but visibly off"))

    reports = {
        "a": r5("unverified", fit5(0.03)), "b": r5("unverified", fit5(0.09)),          # 2-10%, 2 hidden, relu
        "c": r5("unverified", fit5(0.05, activations=("tanh",), all_activated=False)),
        "t": r5("unverified", fit5(0.05, activations=("tanh",))),         # which activation is not what the quiz asks
        "d": r5("unverified", fit5(0.01, hidden=1)), "e": r5("unverified", fit5(0.015, hidden=1)),
        "f": r5("correct", fit5(0.004)), "g": r5("correct", fit5(0.019)),
        "h": r5("wrong", fit5(0.005, bypass=0.004)),
        "i": r5("wrong", fit5(1.9)), "j": r5("wrong", fit5(0.4)),
        "k": report(Q5=verdict("unverified", None, "no model found")),
    }
    parts, got = partition(reports, "Q5")
    assert parts == {frozenset("abt"), frozenset("c"), frozenset("de"), frozenset("fg"), frozenset("h"),
                     frozenset("ij"), frozenset("k")}
    for g in got:        # equal in evidence: the band, the layers, an activation after each, the bypass, by hand
        ms = [reports[s]["measures"].get("Q5") for s in g.members]
        assert len({None if m is None else (m["rmse"] <= 0.02, m["rmse"] <= 0.1, m["hidden"], m["all_activated"],
                                            m["bypass"] is None) for m in ms}) == 1


# --------------------------------------------------------------------------
# the machinery: every item once, largest first; a question without a hook; the TA's overrides

def test_every_item_is_in_one_group_largest_first():
    reports = {f"s{k}": report(Q1=verdict("wrong", "3.1" if k % 3 else "2.7")) for k in range(9)}
    got = groups.propose(reports)
    assert set(got) == set(names())
    for gs in got.values():
        members = [s for g in gs for s in g.members]
        assert sorted(members) == sorted(reports) and len(set(members)) == len(members)
        assert [len(g.members) for g in gs] == sorted((len(g.members) for g in gs), reverse=True)
    assert [len(g.members) for g in got["Q1"]] == [6, 3]
    assert [len(g.members) for g in got["Q3"]] == [9] and got["Q3"][0].status == "missing"   # the same reason


def test_a_question_without_a_hook_leaves_every_item_alone(monkeypatch):
    import types

    from quiz1.grading import questions

    toy = types.SimpleNamespace(NAME="Q8")
    monkeypatch.setattr(questions, "QUESTIONS", (*questions.QUESTIONS, toy))
    reports = {s: {**report(), "questions": {**report()["questions"], "Q8": verdict("unverified", "42")}} for s in "ab"}
    got = groups.propose(reports)["Q8"]
    assert [g.members for g in got] == [("a",), ("b",)] and all(g.alone for g in got)


def write_class(out, reports):
    for stem, r in reports.items():
        (out / f"{stem}.json").write_text(json.dumps(r))


def test_moves_and_merges_persist_in_the_gradebook_and_apply_in_order(tmp_path):
    reports = {"a": report(Q1=verdict("wrong", "3.1")), "b": report(Q1=verdict("wrong", "3.1")),
               "c": report(Q1=verdict("wrong", "2.7")), "d": report(Q1=verdict("wrong", "1.0")),
               "e": report(Q1=verdict("unverified", None, "why"))}
    write_class(tmp_path, reports)
    (tmp_path / "grades.json").write_text("[1, 2]")              # not a report: ignored
    gradebook.record(tmp_path, "a", reports["a"], load_rubric())  # the gradebook exists, with its own tables
    before = {frozenset(g.members) for g in groups.groups(tmp_path, "Q1")}
    assert before == {frozenset("ab"), frozenset("c"), frozenset("d"), frozenset("e")}
    key = {g.members: g.key for g in groups.groups(tmp_path, "Q1")}

    groups.move(tmp_path, "Q1", "c", key[("a", "b")], by="alice")       # c shows the same mistake, says the TA
    groups.merge(tmp_path, "Q1", key[("d",)], key[("a", "b")])         # a + b + c into d's group
    groups.move(tmp_path, "Q1", "b", None)                              # b alone after all
    got = groups.groups(tmp_path, "Q1")                                 # read back from the file
    assert {frozenset(g.members) for g in got} == {frozenset("acd"), frozenset("b"), frozenset("e")}
    acd = group_of(got, "a")
    assert acd.key == key[("d",)] and acd.status == "wrong"
    assert group_of(got, "b").alone
    assert [m["kind"] for m in groups.overrides(tmp_path, "Q1")] == ["move", "merge", "move"]
    assert groups.overrides(tmp_path, "Q1")[0]["by"] == "alice" and groups.overrides(tmp_path, "Q2") == []
    # the gradebook's own schema is untouched and still reads
    with sqlite3.connect(tmp_path / "gradebook.sqlite") as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"group_moves", "items", "submissions", "meta"} <= tables
    assert [it["stem"] for it in gradebook.items(tmp_path) if it["question"] == "Q1"] == ["a"]
    # a move into a group of another status makes it mixed; a TA's own key is its label
    groups.move(tmp_path, "Q1", "e", "rounding slips")
    groups.move(tmp_path, "Q1", "a", "rounding slips")
    g = group_of(groups.groups(tmp_path, "Q1"), "e")
    assert g.members == ("a", "e") and g.status == groups.MIXED and g.label == "rounding slips"


def test_overrides_refuse_what_is_not_a_question_or_a_key(tmp_path):
    with pytest.raises(ValueError, match="question"):
        groups.move(tmp_path, "Q9", "a", None)
    with pytest.raises(ValueError, match="non-empty"):
        groups.merge(tmp_path, "Q1", "", "k")
    assert groups.overrides(tmp_path, "Q1") == [] and not (tmp_path / "gradebook.sqlite").exists()


def test_q3s_reader_runs_nothing_of_the_text_and_gives_up_on_what_it_does_not_know(tmp_path):
    flag = tmp_path / "ran"
    spelled = {"call": f"dL/dx_i = __import__('pathlib').Path({str(flag)!r}).touch()",
               "attr": "dL/dX = W1.__class__", "sum": "dL/dx_i = Sum(W1[i, j], (j, 1, 1000000000))",
               "deep": "dL/dx_i = " + "(" * 3000 + "s" + ")" * 3000}
    reports = {s: report(Q3=verdict("wrong", t, "parsed")) for s, t in spelled.items()}
    _, got = partition(reports, "Q3")
    assert all(g.alone for g in got) and len(got) == 4 and not flag.exists()


def test_a_reason_drops_the_students_numbers_and_keeps_sizes_and_names():
    """Two students' notes differ in their numbers (the variant data, L2, steps): one reason; a size like 28x28 and
    names with digits (I0, L2) are words of the reason, kept as they are."""
    from quiz1.grading.questions.grouping import reason

    a = reason("no new 28x28 PNG written; I0: L2 2.8 at 5% of 100 steps, x = 1e-3. It was 2.8.")
    b = reason("no new 28x28 PNG written; I0: L2 3.14 at 12% of 7 steps, x = 0.5. It was 9.")
    assert a == b == "no new 28x28 PNG written; I0: L2 … at … of … steps, x = …. It was …."
