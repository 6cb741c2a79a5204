"""Q2, code that reproduces Figure 1: a tensor of the kernel whose autograd graph torchviz draws as Figure 1,
holding the value the section shows.

The graph probe runs in the student's kernel on references the guard captured
before any student cell (``kernel/guard.py``); its report is signed. Any program
drawn as Figure 1 counts (quiz1 enumerates them, ``reference.Q2Reading``), with
its leaves merged too (``f(x, x, x)``). A value no such tensor holds is typed in
or computed without autograd.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..evidence import Evidence
from ..reading.values import literal_in_code, matches, vector_matches, vectors
from ..reference import Given, q2_readings
from ..report import Verdict
from ..running.execution import Insert, Plan
from ..running.probes import guard_call_cell

NAME, NUMBER = "Q2", 2
# what a cell of its section does, in a notebook without headings (``sections.by_content``)
CONTENT = re.compile(r"torchviz|make_dot|compute_tree|\[\s*4\.?\s*,\s*5\.?\s*,\s*6\.?\s*\]")


@dataclass(frozen=True)
class Readings:
    """What quiz1 reads of Figure 1 (it holds for any data: the figure is the quiz's, not the zip's)."""

    readings: tuple       # ``reference.Q2Reading`` each program drawn as Figure 1 gives at [4, 5, 6], the natural first
    claim_nodes: tuple    # (node label, output at [4, 5, 6]) where the statement's claim [7, 11, 17] can hold


def reference(root: Path, given: Given) -> Readings:
    """Every program drawn as Figure 1 and the nodes of the statement's claim (``reference.q2_readings``)."""
    return Readings(*q2_readings())


def _kind(label: str) -> str:
    """A node's label without a tensor's shape: "leaf (3, 1)" -> "leaf" (Figure 1 holds for tensors of any shape)."""
    return re.sub(r"^(leaf|output) \(.*\)$", r"\1", label)


def figure1_forms() -> list[tuple[str | None, object]]:
    """Figure 1 (labels without shapes) and its forms with leaves merged, as (what was merged or None, graph): the
    graph torchviz draws when a, b and c are fed by fewer tensors (``f(x, x, x)``: one leaf, one AccumulateGrad)."""
    import networkx as nx

    from ...data.loaders import figure1_dot
    from ...solvers.compute_graph import labelled_multigraph, parse_torchviz

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


def cells(plan: Plan) -> list[Insert]:
    """The watch before the section, the graph probe right after it (a later cell may overwrite its tensors);
    without a Q2 section, at the notebook's start and end."""
    return [Insert(guard_call_cell(plan.nonce, "watch"), after=False, anywhere=True),
            Insert(guard_call_cell(plan.nonce, "graph"), after=True, reports=True, anywhere=True)]


def collect(old: dict | None, got: dict, name: str, nb) -> dict:
    """The graph probe's reports of the notebooks, merged: {"tensors", "tampered", "forged", "signed"}."""
    old = old or {"tensors": [], "tampered": [], "forged": 0}
    return {"tensors": old["tensors"] + list(got.get("tensors", [])),
            "tampered": old["tampered"] + [t for t in got.get("tampered", []) if t not in old["tampered"]],
            "forged": old["forged"] + got["forged"], "signed": got["signed"]}


def _fmt(v) -> str:
    return "[" + ", ".join(f"{e:.6g}" for e in v) + "]"


def _tensor(t: dict) -> str:
    """How the probe's tensor is named to a TA: `out` (the notebook's variable), or the one the section showed."""
    return f"the notebook's `{t['name']}`" if t.get("name") else "a tensor the Q2 section printed"


def verdict(ev: Evidence) -> Verdict:
    drawn = figure1_tensors(ev.run.kernel.get(NAME))     # the kernel's tensors torchviz draws as Figure 1
    ref: Readings = ev.refs[NAME]
    readings = ref.readings
    expected = " or ".join(_fmt(r.output) for r in readings) + " (one per program drawn as Figure 1)"
    claim = "no program drawn as Figure 1 reproduces the statement's [7, 11, 17] at [1, 2, 3]"
    typed, found = [], None
    for c, inside in ev.ordered(NUMBER):
        for vals in vectors(c.text, 3):
            rd = next((rd for rd in readings if vector_matches(vals, rd.output)), None)
            if rd is None:
                continue
            text = f"{_fmt([p.value for p in vals])}, {rd.reading}"
            if all(literal_in_code(p, ev.all_code, min_digits=1) for p in vals):
                typed.append(f"{text} ({c.notebook} {c.label})")
                continue
            found = (c, vals, text, inside)
            break
        if found:
            break
    held = [(t, rd) for t in drawn for rd in readings
            if len(t.get("value", [])) == 3 and np.allclose(t["value"], rd.output, rtol=1e-5)]
    probe = ev.run.kernel.get(NAME) or {}
    if found is not None and (probe.get("tampered") or probe.get("forged")):
        c, vals, text, inside = found
        what = ", ".join(probe.get("tampered", [])[:4]) or "outputs forged in the grader's name"
        return Verdict("unverified", f"{text} ({c.notebook} {c.label})", expected,
                       f"the notebook replaced what the grader's graph probe relies on ({what}): the graph it "
                       f"reports cannot be trusted, a human should decide")
    if found is not None:
        c, vals, text, inside = found
        where = f"{text} ({c.notebook} {c.label})"
        same = [t for t, _ in held if all(matches(p, v) for p, v in zip(vals, t["value"]))]
        if same:
            merged = same[0].get("merged")
            return Verdict("correct", where, expected, f"{_tensor(same[0])} has Figure 1's autograd graph and this "
                           f"value" + (f" (with {merged} fed by one tensor: its leaves merged, as torchviz draws "
                                       f"`f(x, x, x)`)" if merged else "")
                           + f"; {claim}" + ("" if inside else "; printed outside the Q2 section"))
        if drawn:
            seen = ", ".join(f"{_tensor(t)} = {_fmt(t['value'][:3])}" for t in drawn[:3])
            why = f"the kernel's tensors drawn as Figure 1 ({seen}) do not hold this value: a human should decide"
        elif ev.run.kernel.get(NAME) is None:
            why = "the grader's graph probe did not run (the run stopped before it): a human should decide"
        else:
            return Verdict("wrong", where, expected, "no program computes it: no tensor the notebook holds or "
                           "shows in its Q2 section has Figure 1's autograd graph (typed in, or computed without "
                           "autograd)")
        return Verdict("unverified", where, expected, why)
    if held:
        t, rd = held[0]
        return Verdict("unverified", f"{_tensor(t)} = {_fmt(t['value'])}, {rd.reading}", expected,
                       "the kernel holds a program drawn as Figure 1 with a right output at [4, 5, 6], but the run "
                       "does not show it: a human should decide")
    for node, out in ref.claim_nodes:
        for cc in ev.section(NUMBER):
            if any(vector_matches(v, out) for v in vectors(cc.text, 3)):
                return Verdict("unverified", f"{_fmt(out)} ({cc.notebook} {cc.label})", expected,
                               f"{_fmt(out)} is the value at [4, 5, 6] of node {node}, where the claim [7, 11, 17] "
                               f"holds, not of Figure 1's output; {claim}: a human should decide")
    vecs = [_fmt([p.value for p in v]) for cc in ev.section(NUMBER) for v in vectors(cc.text, 3)][:3]
    return ev.unmatched(NUMBER, "; ".join(vecs) or ev.found_numbers(NUMBER), expected, ev.typed_note(typed))


def shared_wrong(found: str) -> str | None:
    """A wrong answer's value as two students who share it would show it (``similarity``): ``found`` without where it
    was printed."""
    return re.sub(r"\s*\([^()]*\bIn \[\d+\]\)|\s+", " ", found).strip()


OWN_NAME = re.compile(r"(?<=the notebook's )`[^`]*`")    # the student's tensor, as ``_tensor`` names it


def _shown(item: dict) -> str | None:
    """The vector an item shows and the reading of Figure 1 it matches, without where it was printed or the name of
    the student's tensor (``the notebook's `out` = [...]``)."""
    return OWN_NAME.sub("`…`", shared_wrong(item["found"])) if item.get("found") else None


def group_key(item: dict) -> str | None:
    """Q2 groups by the vector shown and its reading of Figure 1, the status and the note's reason."""
    from .grouping import value_key

    return value_key(item, _shown(item), names=OWN_NAME)


def group_label(item: dict) -> str:
    from .grouping import value_label

    return value_label(item, _shown(item), names=OWN_NAME)
