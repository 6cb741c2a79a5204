"""Similar submissions across a class: a synthetic class written here, independent solutions in different styles,
planted copies (renamed, reordered, commented, one question copied, a copied wrong answer, copied explanations, a
copied Q6 image), and two students who share only the quiz's own code. Every planted pair is flagged with the right kinds; no other pair is.
"""
import json

import nbformat
import numpy as np

from quiz1.cli import main
from quiz1.grading.similarity import load_class, similar_pairs

Q7_GIVEN = '''import torch

class G:
    def __init__(self):
        self.g = torch.ones([2])
    def __call__(self, x):
        self.g[0] = x * x
        return torch.sum(self.g)

if __name__ == "__main__":
    g = G()
    xinit = torch.ones([1], requires_grad=True)
    x = [xinit]
    x.append(x[-1] + g(x[-1]))
    loss = x[-1] ** 2
    loss.backward()
    print('----- first time ----- ')
    x = [xinit]
    x.append(x[-1] + g(x[-1]))
    loss = x[-1] ** 2
    loss.backward()
    print('----- well done ----- ')
'''

STYLES = {  # independent solutions: each student's own code and words
    "A1000001A": (["""import numpy as np
logits = np.loadtxt('Q_1/data.txt')
onehot = np.loadtxt('Q_1/labels.txt')
shifted = logits - logits.max(axis=1, keepdims=True)
logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
per_sample = -(onehot * logp).sum(axis=1)
print('mean', per_sample.mean())""", """import torch
a = torch.tensor([4., 5., 6.], requires_grad=True)
b = torch.tensor([4., 5., 6.], requires_grad=True)
c = torch.tensor([4., 5., 6.], requires_grad=True)
p, q = a * 5, a / 5
r = p * q + (a + 5)
out = (r + b - p) + ((b + q) + (b + q) / c)
print(out)"""],
                   "We subtract the row maximum before exponentiating so that no exponential overflows, then take "
                   "the log of the normaliser and read off the label's log-probability for every sample."),
    "A1000002B": (["""import torch
Z = torch.from_numpy(__import__('numpy').loadtxt('Q_1/data.txt'))
Y = torch.from_numpy(__import__('numpy').loadtxt('Q_1/labels.txt'))
total = 0.0
for row, lab in zip(Z, Y):
    m = torch.max(row)
    lse = m + torch.log(torch.sum(torch.exp(row - m)))
    total += float(lse - torch.dot(row, lab))
print(f'average loss {total / len(Z):.5f}')""", """def tree(u, v, w):
    left = u * 5
    right = u / 5
    middle = left * right + (u + 5) + v - left
    side = v + right
    return middle + side + side / w
import torch
leaves = [torch.full((3,), float(k), requires_grad=True) for k in (4, 5, 6)]
print(tree(*[torch.tensor([4., 5., 6.], requires_grad=True) for _ in range(3)]))"""],
                   "My approach loops over the samples one by one, computing a log-sum-exp with the maximum taken out, "
                   "which keeps every intermediate value finite even for logits near a thousand."),
    "A1000003C": (["""from scipy.special import logsumexp
import numpy
d = numpy.genfromtxt('Q_1/data.txt')
t = numpy.genfromtxt('Q_1/labels.txt').argmax(1)
ce = logsumexp(d, axis=1) - d[numpy.arange(len(t)), t]
print(round(float(numpy.mean(ce)), 4))""", """import torch
def build():
    xs = [torch.tensor([4.0, 5.0, 6.0], requires_grad=True) for _ in 'abc']
    one = xs[0] * 5.0
    two = xs[0] / 5.0
    res = one * two + xs[0] + 5.0 + xs[1] - one + xs[1] + two + (xs[1] + two) / xs[2]
    return res
print(build().detach().numpy())"""],
                   "Scipy's logsumexp already handles the overflow, so the cross-entropy of each row is its log-sum-exp "
                   "minus the logit of the true class; the mean follows."),
}


def write(out, stem, cells, markdown, wrong=None, deltas=None):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# Quiz 1 ({stem})"),
                                         nbformat.v4.new_markdown_cell(markdown)]
                                  + [nbformat.v4.new_code_cell(c) for c in cells])
    nbformat.write(nb, out / f"{stem}.ipynb")
    qs = {q: {"status": "missing", "found": None} for q in ("Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7")}
    for q, value in (wrong or {}).items():
        qs[q] = {"status": "wrong", "found": f"{value} ({stem}.ipynb In [1])"}
    (out / f"{stem}.json").write_text(json.dumps({"student_id": stem, "questions": qs, "q6_deltas": deltas or {}}))


def test_planted_copies_are_flagged_with_their_kinds_and_independent_work_is_not(tmp_path):
    out = tmp_path
    for stem, (cells, words) in STYLES.items():
        write(out, stem, cells, words)
    a_cells, a_words = STYLES["A1000001A"]
    renamed = [c.replace("logits", "scores").replace("onehot", "targets").replace("per_sample", "losses")
               .replace("shifted", "stable").replace("logp", "log_probs") for c in a_cells]
    write(out, "A2000001A", [renamed[1], "# Q1, my own work\n" + renamed[0] + "  # printed for the report"],  # reordered
          a_words)                                                                 # and the explanation copied
    b_cells, _ = STYLES["A1000002B"]
    write(out, "A2000002B", [STYLES["A1000003C"][0][0].replace("d =", "data =").replace("d[", "data[")
                             .replace("(d,", "(data,").replace("ce =", "loss =").replace("(ce)", "(loss)"),
                             b_cells[1]], "I wrote this part myself after reading the lecture notes twice.")
    write(out, "A2000003C", ["print('mean', 50.1234)"], "Computed on paper.", wrong={"Q1": "mean 50.1234"})
    write(out, "A2000004D", ["x = 1\nprint('mean', x + 49.1234)"], "Another method entirely.",
          wrong={"Q1": "mean 50.1234"})
    write(out, "A3000001A", [Q7_GIVEN, "print(1 + 1)"], "The quiz's code runs once, then fails.")   # the quiz's code
    write(out, "A3000002B", [Q7_GIVEN, "import math\nprint(math.pi)"], "Here the backward pass breaks.")
    rng = np.random.default_rng(0)
    d0 = rng.normal(0, 20, 784).round()                                       # one student's I0' - I0
    write(out, "A4000001A", ["print('attack done')"], "A plain gradient attack.", deltas={"I0": d0.tolist()})
    write(out, "A4000002B", ["print('done')"], "Projected gradient descent.",     # the same image, a pixel off
          deltas={"I0": (d0 + (np.arange(784) == 5)).tolist()})
    write(out, "A4000003C", ["print('ok')"], "Carlini and Wagner's method.",       # same direction in part only
          deltas={"I0": (0.5 * d0 + rng.normal(0, 20, 784)).round().tolist()})
    pairs = {(p.a, p.b): p for p in similar_pairs(load_class(out))}
    want = {("A1000001A", "A2000001A"): ("code", "markdown"),                         # renamed, reordered, commented
            ("A1000003C", "A2000002B"): ("code",),                                    # Q1 copied from one, Q2 from
            ("A1000002B", "A2000002B"): ("code",),                                    # another: both found
            ("A2000003C", "A2000004D"): ("answers",),                                 # the same wrong answer
            ("A4000001A", "A4000002B"): ("q6",)}                                      # the same perturbation
    assert {k: v.kinds for k, v in pairs.items()} == want, {k: (v.code, v.markdown, v.answers) for k, v in pairs.items()}
    assert pairs["A2000003C", "A2000004D"].answers == ("Q1",)
    assert main(["similar", str(out)]) == 0
    page = (out / "similarity.html").read_text()
    assert "<mark>" in page and "A1000001A · A2000001A" in page and "not a verdict" not in page
    rows = (out / "similarity.csv").read_text().splitlines()
    assert len(rows) == 1 + len(want)


def test_the_quizs_own_code_is_set_aside_whatever_the_hash_seed():
    """copydetect hashes k-grams with Python's hash(), salted per process, and winnowing keeps each window's minimum:
    with only a winnowed sample of the quiz's code set aside, seeds 119 and 122 (10 of 200 seeds measured) left
    fingerprints of it to match between the two students who share only the quiz's code."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, tempfile; sys.path.insert(0, 'tests'); from pathlib import Path; import test_similarity as t; "
            "t.test_planted_copies_are_flagged_with_their_kinds_and_independent_work_is_not(Path(tempfile.mkdtemp()))")
    for seed in ("119", "122"):
        r = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True,
                           text=True, cwd=Path(__file__).resolve().parents[1], timeout=120)
        assert r.returncode == 0, (seed, r.stderr[-500:])


def write_class(out):
    """The synthetic class of the first test, without its assertions."""
    for stem, (cells, words) in STYLES.items():
        write(out, stem, cells, words)
    a_cells, a_words = STYLES["A1000001A"]
    write(out, "A2000001A", [a_cells[1].replace("a ", "u "), "# mine\n" + a_cells[0].replace("logits", "z")], a_words)
    write(out, "A2000002B", [STYLES["A1000003C"][0][0].replace("d =", "data ="), STYLES["A1000002B"][0][1]],
          "I wrote this part myself after reading the lecture notes twice.")
    write(out, "A3000001A", [Q7_GIVEN, "print(1 + 1)"], "The quiz's code runs once, then fails.")
    write(out, "A3000002B", [Q7_GIVEN, "import math\nprint(math.pi)"], "Here the backward pass breaks.")


def test_similar_gives_the_same_files_whatever_the_hash_seed(tmp_path):
    """Two runs of `quiz1 similar` in processes with other PYTHONHASHSEEDs write the same bytes (copydetect's own
    k-gram hash is Python's salted hash(): its winnowing then kept other fingerprints in each process)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    write_class(tmp_path)
    src = str(Path(__file__).resolve().parents[1] / "src")
    got = []
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": src}
        r = subprocess.run([sys.executable, "-m", "quiz1.cli", "similar", str(tmp_path)], env=env, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-500:]
        got.append(((tmp_path / "similarity.csv").read_bytes(), (tmp_path / "similarity.html").read_bytes()))
    assert got[0][0].count(b"\n") > 2                        # pairs were found: there is something to compare
    assert got[0] == got[1] == got[2]
