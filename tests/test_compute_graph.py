"""Q2: the search against brute force, hand derivations for Figure 1, and real random programs."""
import itertools
import json

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from torchviz import make_dot

from q2_programs import random_program, run
from quiz1.cli import main
from quiz1.data.loaders import figure1_dot
from quiz1.solvers.compute_graph import claim_tolerance, evaluate_choice, node_forms, parse_torchviz, search


@pytest.fixture(scope="module")
def fig1():
    return parse_torchviz(figure1_dot(), "Figure 1")


def _brute_force(graph, x, claim, tol):
    """Every combination, one at a time: no merging, no passes."""
    forms = [node_forms(graph, n) for n in graph.ops]
    hits, total = [], 0
    for combo in itertools.product(*forms):
        total += 1
        v = evaluate_choice(graph, dict(zip(graph.ops, combo)), x)
        if np.all(np.abs(v - claim) <= tol + 1e-5 * np.maximum(1, np.abs(claim))):
            hits.append(combo)
    return total, hits


def test_figure1_transcription(fig1):
    labels = [fig1.labels[n] for n in fig1.ops]
    assert len(fig1.leaves) == 3 and fig1.tensor_size == 3
    assert sorted(labels) == sorted(["MulBackward0"] * 2 + ["DivBackward0"] * 2 + ["SubBackward0"] + ["AddBackward0"] * 6)


def test_figure1_audit_matches_brute_force_and_hand(fig1):
    r = search(fig1, [1, 2, 3], [7, 11, 17], [4, 5, 6], 5.0, claim_tolerance(["7", "11", "17"]))
    total, hits = _brute_force(fig1, np.array([1.0, 2, 3]), np.array([7.0, 11, 17]), 0.5)
    assert r.candidates == total and r.consistent == len(hits) == 0
    assert r.isomorphic
    # natural reading, by hand: mul1=5a, div1=a/5, add2=a^2+a+5, sub=add2+b-5a, add4=b+a/5, out=sub+add4+add4/c
    a = np.array([4.0, 5, 6])
    add4 = a + a / 5
    assert_allclose(r.natural_eval, a**2 + a + 5 + a - 5 * a + add4 + add4 / a, rtol=1e-12)
    # the claim is a^2 + a + 5 at a = 1, 2, 3: the node add2 (and sub1 with alpha on add3)
    nodes = {c["node"]: c for c in r.claim_nodes}
    assert "add2" in nodes
    assert_allclose(nodes["add2"]["eval_outputs"][0], a**2 + a + 5)


@pytest.mark.parametrize("seed", [0, 1, 3, 4, 5])
def test_search_agrees_with_brute_force_on_small_programs(seed):
    code = random_program(seed, 2, 6)
    out = run(code, 2, [1.0, 2.0, 3.0])
    g = parse_torchviz(make_dot(out).source)
    claim = np.round(out.detach().numpy().astype(float), 4)
    total, hits = _brute_force(g, np.array([1.0, 2, 3]), claim, 5e-5)
    r = search(g, [1, 2, 3], claim, [4, 5, 6], 5.0, 5e-5)
    if r.passes[0]["candidates"] != total and r.consistent:  # found in pass 1: compare with plain forms only
        plain = [c for c in hits if all("alpha" not in f.template for f in c)]
        assert r.consistent == len(plain)
    else:
        assert r.consistent == len(hits)


@pytest.mark.parametrize("seed", range(10))
def test_real_random_programs_answer_found(seed):
    rng_seed = seed
    while True:  # next program whose outputs are finite (a claim must be a number)
        n_leaves = 2 + rng_seed % 3
        code = random_program(rng_seed, n_leaves, 14 + rng_seed % 7)
        out, truth = run(code, n_leaves, [1.0, 2.0, 3.0]), run(code, n_leaves, [4.0, 5.0, 6.0])
        if torch.isfinite(out).all() and torch.isfinite(truth).all():
            break
        rng_seed += 100
    claim = [f"{v:.4f}" for v in out.tolist()]
    g = parse_torchviz(make_dot(out).source)
    r = search(g, [1, 2, 3], [float(c) for c in claim], [4, 5, 6], 5.0, claim_tolerance(claim))
    assert r.consistent >= 1 and r.isomorphic
    assert any(np.allclose(e, truth.tolist(), rtol=1e-4, atol=1e-3) for e in r.eval_outputs)


def test_claim_tolerance():
    assert claim_tolerance(["7", "11"]) == 0.5
    assert claim_tolerance(["7.1234", "1.5"]) == pytest.approx(5e-5)


def test_cli_json_keys(capsys):
    assert main(["q2", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["isomorphic"] is True and res["consistent"] == 0 and res["candidates"] >= 1
    assert set(res) >= {"isomorphic", "candidates", "consistent", "eval_outputs", "claim_nodes", "code"}
    assert "def compute_tree(a, b, c):" in res["code"]


@pytest.mark.parametrize("text, needle", [
    ("graph { a -- b }", "not a torchviz graph"),
    ('digraph {\n\t1 [label="\n (3)" fillcolor=darkolivegreen1]\n\t2 [label=PowBackward0]\n\t2 -> 1\n'
     '\t3 [label=AccumulateGrad]\n\t3 -> 2\n\t4 [label="\n (3)" fillcolor=lightblue]\n\t4 -> 3\n}', "PowBackward0"),
    ('digraph {\n\t1 [label=AddBackward0]\n}', "output tensor"),
])
def test_cli_bad_graph(tmp_path, capsys, text, needle):
    p = tmp_path / "g.dot"
    p.write_text(text)
    assert main(["q2", "--graph", str(p)]) == 2
    err = capsys.readouterr().err
    assert needle in err and str(p) in err and len(err.strip().splitlines()) == 1


def test_cli_bad_numbers(capsys):
    assert main(["q2", "--claim", "7,11"]) == 2
    assert "3 entries" in capsys.readouterr().err
