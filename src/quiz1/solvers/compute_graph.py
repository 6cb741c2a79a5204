"""Q2: synthesise the PyTorch code behind a torchviz compute graph, and audit a claim about it.

Input is torchviz DOT text, exactly as ``make_dot(out).source`` writes it. A
drawing does not show operand order, which side a constant sits on, or the
``alpha`` of ``torch.add``/``torch.sub``, so several programs draw the same
graph. We list, per node, every form that torch draws with that node's label
(probed from torch: ``5 - t`` draws ``RsubBackward1`` and ``5 / t`` draws
``MulBackward0 <- ReciprocalBackward0``, so neither can stand for a one-input
``SubBackward0``/``DivBackward0``), then search all combinations.

The search is exact but not brute force: nodes are processed in topological
order and partial programs that leave the same values on the "frontier"
(computed nodes still needed later) are merged, with a count of how many
programs each represents. Its cost grows with the number of distinct value
tuples on the frontier (exponential only in the graph's width), not with the
product of all choices.

The DOT reader is a few regular expressions rather than pydot: torchviz writes
one fixed, tiny subset of DOT, and we need its edge order (torchviz writes a
node's in-edges in operand order) and precise error messages.

The cells between the ``# %%`` markers are copied verbatim into the notebook.
"""
# %% imports
import re
from dataclasses import dataclass

import networkx as nx
import numpy as np
import torch
from torchviz import make_dot


# %% reading torchviz DOT
@dataclass(frozen=True)
class TorchvizGraph:
    """Nodes ``{id: label}``, ordered edges ``[(src, dst)]``, leaves, op nodes in topological order, output op."""

    labels: dict
    edges: list
    leaves: list     # AccumulateGrad node ids, one per leaf tensor, in order of appearance
    ops: list        # op node ids, topologically sorted
    output: str      # op node feeding the green output tensor
    inputs: dict     # op id -> list of input ids (AccumulateGrad ids or op ids), in edge order
    tensor_size: int | None  # entries of the (1-D) leaf tensors, e.g. 3 for "(3)"; None if not 1-D


KNOWN_OPS = ("AddBackward0", "SubBackward0", "RsubBackward1", "MulBackward0", "DivBackward0")
_NODE = re.compile(r'^\s*(\w+)\s*\[label=("(?:[^"\\]|\\.)*"|[^\s\]]+)([^\]]*)\]', re.M)
_EDGE = re.compile(r"^\s*(\w+)\s*->\s*(\w+)", re.M)


def parse_torchviz(dot_text, name="graph"):
    """Read torchviz DOT text into a ``TorchvizGraph``; ``ValueError`` naming ``name`` when it is not one."""
    if not re.match(r"\s*digraph\s*\{", dot_text):
        raise ValueError(f"{name}: not a torchviz graph (it should start with 'digraph {{')")
    labels, colors = {}, {}
    for nid, label, rest in _NODE.findall(dot_text):
        m = re.search(r"fillcolor=(\w+)", rest)
        colors[nid] = m.group(1) if m else None
        label = label.strip('"').strip()
        if colors[nid] is not None:  # a tensor: keep its role and shape, e.g. "leaf (3)", not its name
            shape = re.search(r"\([\d, ]*\)\s*$", label)
            label = ("output " if colors[nid] == "darkolivegreen1" else "leaf ") + (shape.group(0) if shape else "")
        labels[nid] = label
    edges = _EDGE.findall(dot_text)
    for s, d in edges:
        for n in (s, d):
            if n not in labels:
                raise ValueError(f"{name}: edge {s} -> {d} uses node {n}, which has no label line")
    tensors = {n for n, c in colors.items() if c is not None}
    outputs = [n for n in tensors if colors[n] == "darkolivegreen1"]
    if len(outputs) != 1:
        raise ValueError(f"{name}: expected exactly one output tensor (fillcolor=darkolivegreen1) but found {len(outputs)}")
    odd = sorted({colors[n] for n in tensors} - {"darkolivegreen1", "lightblue"})
    if odd:
        raise ValueError(f"{name}: has tensor nodes coloured {', '.join(odd)}; only leaves and one output are supported")
    preds = {n: [s for s, d in edges if d == n] for n in labels}
    succs = {n: [d for s, d in edges if s == n] for n in labels}
    (out_tensor,) = outputs
    if len(preds[out_tensor]) != 1:
        raise ValueError(f"{name}: the output tensor should have one incoming edge but has {len(preds[out_tensor])}")
    leaves = [n for n in labels if labels[n] == "AccumulateGrad"]
    ops = [n for n in labels if n not in tensors and n not in leaves]
    for n in ops:
        if labels[n] not in KNOWN_OPS:
            raise ValueError(f"{name}: node {n} has op '{labels[n]}', which quiz1 does not know (known: {', '.join(KNOWN_OPS)})")
        if not 1 <= len(preds[n]) <= 2:
            raise ValueError(f"{name}: node {n} ({labels[n]}) has {len(preds[n])} inputs; expected 1 or 2")
    for n in leaves:
        if [p for p in preds[n] if colors.get(p) != "lightblue"] or len(preds[n]) != 1:
            raise ValueError(f"{name}: AccumulateGrad node {n} should have exactly one leaf tensor feeding it")
    g = nx.DiGraph([(s, d) for s, d in edges if s in ops or s in leaves])
    g.add_nodes_from(ops)
    if not nx.is_directed_acyclic_graph(g):
        raise ValueError(f"{name}: the graph has a cycle, so it cannot be an autograd graph")
    order = [n for n in nx.lexicographical_topological_sort(g, key=lambda n: list(labels).index(n)) if n in ops]
    dead = [n for n in ops if n != preds[out_tensor][0] and not succs[n]]
    if dead:
        raise ValueError(f"{name}: op node(s) {', '.join(dead)} feed nothing; a torchviz graph only holds what reaches the output")
    shapes = {labels[n].split(" ", 1)[1] for n in tensors}
    size = int(next(iter(shapes)).strip("()")) if len(shapes) == 1 and re.fullmatch(r"\(\d+\)", next(iter(shapes))) else None
    return TorchvizGraph(labels, edges, leaves, order, preds[out_tensor][0], {n: preds[n] for n in ops}, size)


# %% the forms torch draws for each label
@dataclass(frozen=True)
class Form:
    """One way to write a node: PyTorch ``template`` with {p} {q} (tensor inputs in edge order) and {c}
    (the constant), and ``fn``, the same arithmetic on numpy arrays."""

    template: str
    fn: object


F = Form
FORMS = {  # label -> (forms with one tensor input, forms with two); first = the most natural reading
    "AddBackward0": ([F("{p} + {c}", lambda p, q, c: p + c)],
                     [F("{p} + {q}", lambda p, q, c: p + q),
                      F("torch.add({p}, {q}, alpha={c})", lambda p, q, c: p + c * q),
                      F("torch.add({q}, {p}, alpha={c})", lambda p, q, c: q + c * p)]),
    "SubBackward0": ([F("{p} - {c}", lambda p, q, c: p - c)],
                     [F("{p} - {q}", lambda p, q, c: p - q),
                      F("{q} - {p}", lambda p, q, c: q - p),
                      F("torch.sub({p}, {q}, alpha={c})", lambda p, q, c: p - c * q),
                      F("torch.sub({q}, {p}, alpha={c})", lambda p, q, c: q - c * p)]),
    "RsubBackward1": ([F("{c} - {p}", lambda p, q, c: c - p)], []),
    "MulBackward0": ([F("{p} * {c}", lambda p, q, c: p * c)], [F("{p} * {q}", lambda p, q, c: p * q)]),
    "DivBackward0": ([F("{p} / {c}", lambda p, q, c: p / c)],
                     [F("{p} / {q}", lambda p, q, c: p / q), F("{q} / {p}", lambda p, q, c: q / p)]),
}


def node_forms(graph, node, with_alpha=True):
    """The ``Form`` list for an op node, by its label and number of inputs (``alpha`` forms optional)."""
    one, two = FORMS[graph.labels[node]]
    forms = one if len(graph.inputs[node]) == 1 else two
    forms = forms if with_alpha else [f for f in forms if "alpha" not in f.template]
    if not forms:
        raise ValueError(f"node {node} ({graph.labels[node]}) with {len(graph.inputs[node])} inputs is not drawn by any known form")
    return forms


# %% exact search over every program that draws the graph
@dataclass(frozen=True)
class Q2Result:
    """Search outcome; ``eval_outputs`` are per distinct consistent answer (or the natural reading's)."""

    candidates: int          # distinct programs tried (the last pass's product of per-node choices)
    consistent: int          # of those, how many reproduce the claim
    eval_outputs: list       # list of output lists at the eval input
    natural_eval: list       # output at the eval input under the natural reading (first form everywhere)
    natural_claim: list      # output at the claim input under the natural reading
    claim_nodes: list        # [{"node", "label", "eval_outputs"}] nodes whose value can equal the claim
    complete: bool           # every pass finished within the state budget
    passes: list             # [{"alpha_forms", "candidates", "complete"}]: pass 2 runs only if pass 1 finds nothing
    code: str                # readable PyTorch for that program
    isomorphic: bool         # make_dot of that program is isomorphic to the input graph


def claim_tolerance(claim_text):
    """Half a unit in the last written decimal, plus float32 round-off: "7" -> 0.5, "7.1234" -> 5e-5."""
    decimals = max((len(t.split(".")[1]) if "." in t else 0) for t in claim_text)
    return 0.5 * 10.0 ** (-decimals)


def _value(graph, form, node, vals, x, c):
    ins = [x if i in graph.leaves else vals[i] for i in graph.inputs[node]]
    p = ins[0]
    q = ins[1] if len(ins) > 1 else None
    with np.errstate(all="ignore"):
        return form.fn(p, q, c)


def _frontier_search(graph, x, k, claim, slack, constant, with_alpha, max_states):
    """One exact pass. Returns (total programs, final states, claim node values, complete?)."""
    last_use = {n: max([graph.ops.index(d) for d, ins in graph.inputs.items() if n in ins], default=len(graph.ops))
                for n in graph.ops}
    forms = {n: node_forms(graph, n, with_alpha) for n in graph.ops}
    states = {(): ({}, 1, {})}  # key: rounded frontier values -> (frontier values, count, one representative choice)
    claim_nodes = {}
    for t, node in enumerate(graph.ops):
        new = {}
        for vals, count, choice in states.values():
            for fi, form in enumerate(forms[node]):
                v = _value(graph, form, node, vals, x, constant)
                if np.all(np.abs(v[:k] - claim) <= slack):
                    claim_nodes.setdefault(node, set()).add(tuple(float(e) for e in np.round(v[k:], 10)))
                nv = {m: w for m, w in vals.items() if last_use[m] > t}
                nv[node] = v  # the output is the last op in topological order, so it stays
                key = tuple((m, tuple(np.round(w, 9))) for m, w in sorted(nv.items()))
                if key in new:
                    new[key] = (new[key][0], new[key][1] + count, new[key][2])
                else:
                    new[key] = (nv, count, {**choice, node: fi})
        states = new
        if len(states) > max_states:
            return None, None, claim_nodes, False
    total = int(np.prod([len(f) for f in forms.values()], dtype=object))
    finals = [(vals[graph.output], count, {n: forms[n][i] for n, i in choice.items()})
              for vals, count, choice in states.values()]
    return total, finals, claim_nodes, True


def search(graph, claim_input, claim, eval_input, constant=5.0, tol=0.5, max_states=200_000):
    """Every program drawn as ``graph``: which reproduce ``claim`` at ``claim_input``, and their outputs at ``eval_input``.

    Every leaf gets the same input vector. Values are float64 numpy arrays of shape (2 * len(x),):
    the claim input and the eval input side by side, so one pass answers both. Pass 1 uses the plain
    operators (operand order and constant side free); only if nothing matches does pass 2 add the
    ``alpha`` forms of add/sub. Passes stop (``complete`` false) past ``max_states`` merged states.
    """
    x = np.concatenate([np.asarray(claim_input, float), np.asarray(eval_input, float)])  # (2k,)
    k = len(claim_input)
    claim = np.asarray(claim, float)
    slack = tol + 1e-5 * np.maximum(1.0, np.abs(claim))   # float32 programs may differ in the last digits
    passes = []
    for with_alpha in (False, True):
        total, finals, claim_nodes, complete = _frontier_search(graph, x, k, claim, slack, constant, with_alpha, max_states)
        passes.append({"alpha_forms": with_alpha, "candidates": total, "complete": complete})
        good = [(v, cnt, ch) for v, cnt, ch in (finals or []) if np.all(np.abs(v[:k] - claim) <= slack)]
        if good:
            break
    distinct = {}
    for v, _cnt, ch in good:
        distinct.setdefault(tuple(np.round(v[k:], 6)), (v, ch))
    natural = {n: node_forms(graph, n)[0] for n in graph.ops}
    nat_vals = evaluate_choice(graph, natural, x, constant)
    chosen = good[0][2] if good else natural
    code = program_code(graph, chosen, constant)
    return Q2Result(
        candidates=max(p["candidates"] or 0 for p in passes),
        consistent=int(sum(cnt for _, cnt, _ in good)),
        complete=all(p["complete"] for p in passes),
        passes=passes,
        eval_outputs=[v[k:].tolist() for v, _ in distinct.values()] if good else [nat_vals[k:].tolist()],
        natural_eval=nat_vals[k:].tolist(),
        natural_claim=nat_vals[:k].tolist(),
        claim_nodes=[{"node": n, "label": graph.labels[n], "eval_outputs": [list(e) for e in sorted(evs)]}
                     for n, evs in claim_nodes.items()],
        code=code,
        isomorphic=is_isomorphic(graph, run_program(code, len(graph.leaves), claim_input)),
    )


def all_programs(graph, x, constant=5.0, with_alpha=False, max_states=200_000):
    """Every distinct output of the programs drawn as ``graph`` with every leaf set to ``x``, one program each.

    Returns
    -------
    list of (ndarray of shape (len(x),), dict)
        The output, and the program as {op node: ``Form``, or None where it is the natural reading's first form}.
    """
    x = np.asarray(x, float)
    k = len(x)
    _, finals, _, _ = _frontier_search(graph, np.concatenate([x, x]), k, np.zeros(k), np.inf, constant, with_alpha,
                                       max_states)
    natural = {n: node_forms(graph, n, with_alpha)[0] for n in graph.ops}
    return [(v[k:], {n: (f if f is not natural[n] else None) for n, f in ch.items()}) for v, _, ch in finals or []]


def evaluate_choice(graph, choice, x, constant=5.0):
    """Output of the program ``choice`` (node -> ``Form``) with every leaf set to ``x``."""
    vals = {}
    for node in graph.ops:
        vals[node] = _value(graph, choice[node], node, vals, np.asarray(x, float), constant)
    return vals[graph.output]


# %% code generation and the proof of shape
def program_code(graph, choice, constant=5.0):
    """Readable PyTorch for ``choice`` (node -> ``Form``): a function of the leaves, one line per node."""
    leaf_names = {n: chr(ord("a") + i) for i, n in enumerate(graph.leaves)}
    names, counter = {}, {}
    for node in graph.ops:
        op = graph.labels[node].replace("Backward0", "").replace("Backward1", "").lower()
        counter[op] = counter.get(op, 0) + 1
        names[node] = f"{op}{counter[op]}"
    c = int(constant) if float(constant).is_integer() else constant
    lines = [f"def compute_tree({', '.join(leaf_names.values())}):"]
    for node in graph.ops:
        ins = [leaf_names.get(i) or names[i] for i in graph.inputs[node]]
        tmpl = choice[node].template
        expr = tmpl.format(p=ins[0], q=ins[1] if len(ins) > 1 else "", c=c)
        lines.append(f"    {names[node]} = {expr}  # {graph.labels[node]}")
    lines.append(f"    return {names[graph.output]}")
    return "\n".join(lines)


def run_program(code, n_leaves, x):
    """Execute generated ``code`` with ``n_leaves`` fresh leaf tensors equal to ``x``; return the output tensor."""
    ns = {"torch": torch}
    exec(code, ns)
    leaves = [torch.tensor(x, dtype=torch.float32, requires_grad=True) for _ in range(n_leaves)]
    return ns["compute_tree"](*leaves)


def labelled_multigraph(graph):
    """networkx MultiDiGraph with a ``label`` per node: op names, 'AccumulateGrad', 'leaf (3)', 'output (3)'."""
    g = nx.MultiDiGraph()
    for n, lab in graph.labels.items():
        g.add_node(n, label=lab)
    g.add_edges_from(graph.edges)
    return g


def is_isomorphic(graph, out_tensor):
    """Does ``make_dot(out_tensor)`` draw a graph isomorphic (labels and edges) to ``graph``?"""
    drawn = parse_torchviz(make_dot(out_tensor).source, "make_dot output")
    return nx.is_isomorphic(labelled_multigraph(graph), labelled_multigraph(drawn),
                            node_match=lambda a, b: a["label"] == b["label"])


# %% the audit in words
def audit_markdown(result, claim_input, claim, eval_input):
    """A plain-words Markdown account of what the search found."""
    def fmt(v):
        return "[" + ", ".join(f"{e:.6g}" for e in v) + "]"

    passes = "; ".join(f"pass {i + 1}: {p['candidates']} programs, "
                       + ("alpha forms of add/sub included" if p["alpha_forms"] else "plain operators only")
                       + ("" if p["complete"] else " (stopped at the state budget)") for i, p in enumerate(result.passes))
    lines = [f"**Programs tried:** {result.candidates} ({passes}). Each draws exactly this graph; they differ in "
             "operand order, the side a constant sits on and `alpha`."]
    if result.consistent:
        lines.append(f"**{result.consistent} of them reproduce the claim** {fmt(claim)} at {fmt(claim_input)}; "
                     f"they give {len(result.eval_outputs)} distinct output(s) at {fmt(eval_input)}: "
                     + ", ".join(fmt(e) for e in result.eval_outputs) + ".")
    else:
        lines.append(f"**None of them reproduces the claim** {fmt(claim)} at {fmt(claim_input)}: the statement's check "
                     "values cannot come from the output of this graph. Under the most natural reading (operands in "
                     f"the drawn order, constants on the right, no alpha) the output at {fmt(claim_input)} is "
                     f"{fmt(result.natural_claim)}, and at {fmt(eval_input)} it is {fmt(result.natural_eval)}.")
    if result.claim_nodes:
        for cn in result.claim_nodes:
            lines.append(f"- node `{cn['node']}` ({cn['label']}) can take the claimed values; at {fmt(eval_input)} it "
                         "then gives " + " or ".join(fmt(e) for e in cn["eval_outputs"]) + ".")
    elif not result.consistent:
        lines.append("No node of the graph takes the claimed values either.")
    lines.append(f"**Shape proof:** `make_dot` of the program shown draws a graph "
                 f"{'isomorphic' if result.isomorphic else 'NOT isomorphic'} to the input (labels and edges).")
    return "\n\n".join(lines)
