"""Similar submissions across a class: a synthetic class written here, independent solutions in different styles,
planted copies (renamed, reordered, commented, one question copied, a copied wrong answer, copied explanations, a
copied Q6 image), and two students who share only the quiz's own code. Every planted pair is flagged with the right kinds; no other pair is.
"""
import html
import json

import nbformat
import numpy as np

from quiz1.cli import main
from quiz1.grading.cohort.similarity import load_class, similar_pairs

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

FULL = {  # three students with a whole notebook each; the second copies the first's Q5 (one question), the third
          # writes the usual training loop of the first's Q4 (an idiom everyone writes, not a copy)
    "A6000001A": ["""import numpy as np
Z = np.loadtxt("Q_1/data.txt")
Y = np.loadtxt("Q_1/labels.txt")
e = np.exp(Z - Z.max(1)[:, None])
P = e / e.sum(1)[:, None]
loss = -np.log((P * Y).sum(1))
print("mean CE", loss.mean(), "total", loss.sum())""", """import torch
import torch.nn as nn
X = torch.tensor(np.loadtxt("Q_4/Q1Q4I1.txt"), dtype=torch.float32)
enc = nn.Sequential(nn.Linear(X.shape[1], 16), nn.Tanh(), nn.Linear(16, X.shape[1] - 1))
dec = nn.Sequential(nn.Linear(X.shape[1] - 1, 16), nn.Tanh(), nn.Linear(16, X.shape[1]))
opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-3)
for epoch in range(2000):
    opt.zero_grad()
    loss = ((dec(enc(X)) - X) ** 2).mean()
    loss.backward()
    opt.step()
    if epoch % 500 == 0:
        print(epoch, loss.item())""", """xy = np.load("Q_5/xy.npz")["arr_0"]
ab = np.load("Q_5/ab.npz")["arr_0"]
xs = np.sort(xy[0])
curve = ab[:, np.argsort(np.arctan2(ab[1] - ab[1].mean(), ab[0] - ab[0].mean()))]
targets = torch.tensor(curve.T, dtype=torch.float32)
inputs = torch.tensor((xs - xs.mean()) / xs.std(), dtype=torch.float32)[:, None]
f = nn.Sequential(nn.Linear(1, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
sgd = torch.optim.SGD(f.parameters(), lr=0.05, momentum=0.9)
for it in range(3000):
    sgd.zero_grad()
    err = nn.functional.mse_loss(f(inputs), targets)
    err.backward()
    sgd.step()
import matplotlib.pyplot as plt
plt.plot(xs, f(inputs).detach().numpy())
plt.title("alpha and beta against x")
plt.show()""", """from PIL import Image
I0 = np.asarray(Image.open("Q_6/I0.png"), dtype=np.float32) / 255.0
model = torch.load("Q_6/model.pth", weights_only=False)
x = torch.tensor(I0).reshape(1, 1, 28, 28).requires_grad_(True)
for step in range(50):
    logits = model(x)
    target_loss = -torch.log_softmax(logits, 1)[0, 3]
    g, = torch.autograd.grad(target_loss, x)
    x = (x - 0.01 * g.sign()).clamp(0, 1).detach().requires_grad_(True)
Image.fromarray((x[0, 0].detach().numpy() * 255).astype(np.uint8)).save("I0_new.png")"""],
    "A6000002B": ["""import torch
import numpy
logits = torch.as_tensor(numpy.genfromtxt("Q_1/data.txt"))
labels = torch.as_tensor(numpy.genfromtxt("Q_1/labels.txt")).argmax(dim=1)
biggest = logits.max(dim=1, keepdim=True).values
log_norm = biggest.squeeze(1) + torch.log(torch.exp(logits - biggest).sum(dim=1))
ce = log_norm - logits.gather(1, labels[:, None]).squeeze(1)
print(f"CE per sample: {ce.tolist()}")
print(f"average: {ce.mean().item():.6f}")""", """import numpy as np
pts = np.loadtxt("Q_4/Q1Q4I1.txt")
centre = pts.mean(axis=0)
U, S, Vt = np.linalg.svd(pts - centre, full_matrices=False)
print("singular values", S)
basis = Vt[:-1]
code = (pts - centre) @ basis.T
back = code @ basis + centre
print("reconstruction error", np.mean((back - pts) ** 2))""", """import torch.nn as nn
samples = np.load("Q_5/xy.npz")["arr_0"]
pairs = np.load("Q_5/ab.npz")["arr_0"]
grid = np.sort(samples[0])
ordered = pairs[:, np.argsort(np.arctan2(pairs[1] - pairs[1].mean(), pairs[0] - pairs[0].mean()))]
want = torch.tensor(ordered.T, dtype=torch.float32)
inp = torch.tensor((grid - grid.mean()) / grid.std(), dtype=torch.float32)[:, None]
mlp = nn.Sequential(nn.Linear(1, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
optimiser = torch.optim.SGD(mlp.parameters(), lr=0.05, momentum=0.9)
for k in range(3000):
    optimiser.zero_grad()
    e = nn.functional.mse_loss(mlp(inp), want)
    e.backward()
    optimiser.step()
import matplotlib.pyplot as plt
plt.plot(grid, mlp(inp).detach().numpy())
plt.title("alpha and beta against x")
plt.show()""", """import imageio.v2 as iio
orig = iio.imread("Q_6/I1.png").astype("float64")
net = torch.load("Q_6/model.pth", weights_only=False).eval()
best = None
for eps in np.linspace(1, 60, 30):
    noise = np.random.default_rng(1).normal(0, eps, orig.shape)
    cand = np.clip(orig + noise, 0, 255)
    pred = net(torch.tensor(cand / 255, dtype=torch.float32).view(1, 1, 28, 28)).argmax().item()
    if pred == 8:
        best = cand
        break
print("found" if best is not None else "none")"""],
    "A6000003C": ["""import pandas as pd
raw = pd.read_csv("Q_1/data.txt", sep=r"\\s+", header=None).to_numpy()
hot = pd.read_csv("Q_1/labels.txt", sep=r"\\s+", header=None).to_numpy()
def cross_entropy(row, onehot):
    top = max(row)
    s = sum(math.exp(v - top) for v in row)
    return top + math.log(s) - float(row @ onehot)
import math
losses = [cross_entropy(r, h) for r, h in zip(raw, hot)]
print(sum(losses) / len(losses))""", """import torch
from torch import nn
cloud = torch.from_numpy(np.load("Q_4/Q1Q4I2.npz")["array1"]).float()
D = cloud.shape[1]
encoder = nn.Linear(D, D - 1)
decoder = nn.Linear(D - 1, D)
opt = torch.optim.Adam(list(encoder.parameters()) + list(decoder.parameters()), lr=1e-3)
for epoch in range(2000):
    opt.zero_grad()
    loss = nn.MSELoss()(decoder(encoder(cloud)), cloud)
    loss.backward()
    opt.step()
    if epoch % 500 == 0:
        print(epoch, loss.item())
print("parameters", sum(p.numel() for m in (encoder, decoder) for p in m.parameters()))""", """from scipy.interpolate import interp1d
data = np.load("Q_5/xy.npz")["arr_0"]
alphabeta = np.load("Q_5/ab.npz")["arr_0"]
x_sorted = np.sort(data[0])
rank = np.argsort(alphabeta[0])
ts = np.linspace(0, 1, alphabeta.shape[1])
lookup = interp1d(ts, alphabeta[:, rank], axis=1)
model5 = torch.nn.Sequential(torch.nn.Linear(1, 20), torch.nn.Sigmoid(), torch.nn.Linear(20, 20), torch.nn.Sigmoid(),
                             torch.nn.Linear(20, 2))
goal = torch.tensor(lookup(np.linspace(0, 1, len(x_sorted))).T, dtype=torch.float32)
xin = torch.tensor(x_sorted, dtype=torch.float32).unsqueeze(1)
adam = torch.optim.Adam(model5.parameters(), lr=3e-3)
history = []
while len(history) < 1500:
    adam.zero_grad()
    mse = ((model5(xin) - goal) ** 2).sum(dim=1).mean()
    mse.backward()
    adam.step()
    history.append(mse.item())
print("final", history[-1])""", """import PIL.Image as PImage
base = torch.tensor(np.array(PImage.open("Q_6/I0.png")) / 255.0, dtype=torch.float32)
clf = torch.load("Q_6/model.pth", weights_only=False)
r = torch.zeros_like(base, requires_grad=True)
optim6 = torch.optim.Adam([r], lr=0.05)
for i in range(200):
    out = clf((base + r).clamp(0, 1).view(1, 1, 28, 28))
    objective = nn.functional.cross_entropy(out, torch.tensor([7])) + 0.1 * r.norm()
    optim6.zero_grad()
    objective.backward()
    optim6.step()
adv = ((base + r).clamp(0, 1) * 255).round().byte().numpy()
PImage.fromarray(adv).save("Q_6/I0_adv.png")
print("L2", np.linalg.norm(adv / 255.0 - base.numpy()))"""],
}
FULL_WORDS = {"A6000001A": "Softmax after subtracting the maximum; the autoencoder has a tanh layer each side.",
              "A6000002B": "The loss uses gather on the label index, and PCA through the SVD gives an exact Q4.",
              "A6000003C": "Pandas reads the text files; a linear encoder and decoder learn the plane of the data."}
Q7_UNFIXED = ("class G: RuntimeError: Trying to backward through the graph a second time (or directly access saved "
              "tensors after they have already been freed).")


def write(out, stem, cells, markdown, wrong=None, deltas=None):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# Quiz 1 ({stem})"),
                                         nbformat.v4.new_markdown_cell(markdown)]
                                  + [nbformat.v4.new_code_cell(c) for c in cells])
    nbformat.write(nb, out / f"{stem}.ipynb")
    qs = {q: {"status": "missing", "found": None} for q in ("Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7")}
    for q, value in (wrong or {}).items():
        qs[q] = {"status": "wrong", "found": f"{value} ({stem}.ipynb In [1])"}
    (out / f"{stem}.json").write_text(json.dumps({"student_id": stem, "questions": qs, "measures": {"Q6": {"deltas": deltas or {}}}}))


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
    write(out, "A3000001A", [Q7_GIVEN, "print(1 + 1)"], "The quiz's code runs once, then fails.",   # the quiz's code
          wrong={"Q7": Q7_UNFIXED})                                               # and its error: no shared answer
    write(out, "A3000002B", [Q7_GIVEN, "import math\nprint(math.pi)"], "Here the backward pass breaks.",
          wrong={"Q7": Q7_UNFIXED})
    write(out, "A5000001A", ["print('see my explanation')"], STYLES["A1000003C"][1])   # an explanation copied
    for stem, cells in FULL.items():                                          # whole notebooks: a question copied,
        write(out, stem, cells, FULL_WORDS[stem])
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
            ("A4000001A", "A4000002B"): ("q6",),                                      # the same perturbation
            ("A1000003C", "A5000001A"): ("markdown",),                                # the same explanation
            ("A6000001A", "A6000002B"): ("code",)}                                    # Q5 copied; not A6000003C's
    #                                                  training loops (23 fingerprints in common with A6000001A's)
    assert {k: v.kinds for k, v in pairs.items()} == want, {k: (v.code, v.markdown, v.answers) for k, v in pairs.items()}
    assert pairs["A2000003C", "A2000004D"].answers == ("Q1",)
    assert main(["similar", str(out)]) == 0
    page = (out / "similarity.html").read_text()
    assert "<mark>" in page and "A1000001A · A2000001A" in page and "not a verdict" not in page
    sections = {sec.split("</h3>")[0].split(">")[-1].split(":")[0]: sec for sec in page.split("<section")[1:]}
    md = sections["A1000003C · A5000001A"]                  # explanations side by side, named, the copy marked
    assert "Code:" not in md and "Explanations (Markdown)" in md and "<figcaption>A5000001A</figcaption>" in md
    assert "<mark>Scipy&#x27;s logsumexp already handles the overflow" in md
    copied = sections["A6000001A · A6000002B"]               # code side by side, named
    assert "<figcaption>A6000001A</figcaption>" in copied and "<mark>" in copied and "Explanations" not in copied
    assert "<pre>" not in sections["A2000003C · A2000004D"]  # the same wrong answer: the answer, no panes
    q6 = sections["A4000001A · A4000002B"]                   # the same perturbation: both changes drawn, named
    assert q6.count("<img") == 2 and "A4000002B: I0' - I0" in html.unescape(q6) and "<pre>" not in q6
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
    for stem, cells in FULL.items():
        write(out, stem, cells, FULL_WORDS[stem])


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


def test_the_quizs_main_block_pasted_at_the_top_level_is_set_aside_too(tmp_path):
    """Most students run the quiz's Q7 code with its main block at the top level of a cell (no ``if __name__``): two
    who share only that, each with work of their own, are no pair."""
    from quiz1.grading.cohort.similarity import load_class, similar_pairs

    guard = 'if __name__ == "__main__":'
    top = Q7_GIVEN.replace(guard + "\n", "").replace("\n    ", "\n").replace("    g = G()", "g = G()")
    assert guard not in top and "\ng = G()\nxinit" in top
    write(tmp_path, "A4000001A", [top, "import numpy as np\nprint(np.linspace(0, 1, 5).sum())"],
          "The second backward pass needs the graph the first one freed.")
    write(tmp_path, "A4000002B", [top, "total = 0\nfor k in range(10):\n    total += k * k\nprint(total)"],
          "G keeps g between calls, so its graph is reused after being freed.")
    assert similar_pairs(load_class(tmp_path)) == []
