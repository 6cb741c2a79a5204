"""Red team, second round (issue 33): a determined student's cheats, and honest work the grader misjudged.

Every notebook here is written by hand, in a student's style, against the grader's *published* behaviour (the TA's
guide docs/ta-guide.md, the issue); none was written by reading the grader's code. Each case is one question of one notebook:
a notebook carries a different case for each of Q1..Q7 at once (verdicts are per question), so a few zips cover
every row of the issue's two lists and more of each kind. Each zip is graded once, as a TA grades a class: in the
sandbox, against the TA's data (``data=``) and M (``model=``); the "full" zips with the variant run, the "light"
ones (Markdown, Q1's library calls, Q2's and Q7's classes: nothing there depends on the data changing) without it.

The verdict asserted is the one a careful TA gives: a cheat is never ``correct`` (the acceptable verdicts are named
per case, from the issue), an honest answer is ``correct`` (``unverified`` only where the issue allows it), and an
honest student is never told the answer was typed in. References are computed here (numpy, torch) or by hand.

How the probe's messages look (used by the Q2 forgeries) was learnt the way a student could learn it: a notebook that
wraps ``IPython.display.display``, keeps what passes through it, and prints it in a later cell of a trial grading.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from quiz1.grading import grade_submission
from quiz1.grading.cohort.batch import Options, make_executor
from quiz1.grading.running.sandbox import bwrap_problem
from students import Q6_ATTACK, code, make_zip, md, q1_losses, seeded_data

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(bwrap_problem() is not None, reason=f"no sandbox here: {bwrap_problem()}")]

# --------------------------------------------------------------------------
# shared pieces of student work

Q6_MODEL = Q6_ATTACK.split("def attack")[0]          # imports, the quiz's CustomModel, M loaded from Q_6/model.pth

Q7_MAIN = """
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
print('----- well done ----- ', xinit.grad)
"""

Q7_UNFIXED_BODY = """
    def __call__(self, x):
        self.g[0] = x * x
        return torch.sum(self.g)
"""

Q4_LOAD = """
import numpy as np
X1 = np.loadtxt('Q_4/Q1Q4I1.txt')
X2 = np.load('Q_4/Q1Q4I2.npz')['array1']
X3 = np.load('Q_4/Q1Q4I3.npz')['array1']
"""

# the student pairs sorted x with the (alpha, beta) points ordered by their angle around the centroid
Q5_PAIRS = """
import numpy as np, torch
from torch import nn
x = np.load('Q_5/xy.npz')['arr_0'][0]
ab = np.load('Q_5/ab.npz')['arr_0'].T
centre = ab.mean(0)
order = np.argsort(np.arctan2(ab[:, 1] - centre[1], ab[:, 0] - centre[0]))
xs = np.sort(x)
target = ab[order]                      # f at the sorted x, in the curve's order
XS = torch.tensor(xs, dtype=torch.float32)
TGT = torch.tensor(target, dtype=torch.float32)
"""

Q5_TABLE = Q5_PAIRS + """
def table(t):                           # nearest data x -> its (alpha, beta)
    t = torch.as_tensor(t, dtype=torch.float32).reshape(-1, 1)
    return TGT[(t - XS[None, :]).abs().argmin(1)]
"""

LHS = r"\frac{\partial L}{\partial x_i}"
RIGHT = r"(\sigma(s) - y)\sum_{j=1}^{2} W_{ij}\left(\mathbb{1}[f_j > 0] + v_j\right)"
WRONG_SIGN = r"(y - \sigma(s))\sum_{j=1}^{2} W_{ij}\left(\mathbb{1}[f_j > 0] + v_j\right)"
NO_RELU = r"(\sigma(s) - y)\sum_{j=1}^{2} W_{ij}\, v_j"
NOTATION = md(r"Notation: $W_{ij}$ is the weight from $x_i$ to $f_j$, $v_j$ the weight from $f_j$ to $k_1$, "
              r"$\hat y = \sigma(s)$ and $L$ the cross-entropy.")


def figure1(a, b, c):
    """Figure 1 read by hand (constants on the right): the program the tests' Q2 answers and forgeries are made of."""
    m, d = a * 5, a / 5
    t = m * d + (a + 5) + b - m
    u = b + d
    return t + (u + u / c)


def figure1_message() -> dict:
    """Figure 1 as the probe describes a tensor ({'name', 'shape', 'nodes': {id: [label]}, 'edges': [[from, to]]}),
    built by walking a torch graph of ``figure1`` the way torchviz does: what a forger pastes into a notebook."""
    out = figure1(*(torch.tensor([1.0, 2.0, 3.0], requires_grad=True) for _ in range(3)))
    nodes, edges, seen = {"out": ["output (3)"]}, [], set()

    def walk(fn, child):
        key = f"f{id(fn)}"
        edges.append([key, child])
        if key in seen:
            return
        seen.add(key)
        nodes[key] = [type(fn).__name__]
        if hasattr(fn, "variable"):
            leaf = f"v{id(fn.variable)}"
            nodes[leaf] = ["leaf (3)"]
            edges.append([leaf, key])
        for nxt, _ in fn.next_functions:
            if nxt is not None:
                walk(nxt, key)

    walk(out.grad_fn, "out")
    return {"name": "out", "shape": [3], "nodes": nodes, "edges": edges}


Q2_NUMPY = """
import numpy as np
a = b = c = np.array([4.0, 5.0, 6.0])
m, d = a * 5, a / 5
u = b + d
answer = m * d + (a + 5) + b - m + (u + u / c)
print('output at [4, 5, 6]:', answer)
"""


def q2_forger(hook: str) -> str:
    """Numpy arithmetic (no autograd), then ``hook``: a way to put a pasted Figure 1 graph into what the probe shows
    (``PASTE``, the graph, and ``forge(payload)``, which rewrites a probe's message in place, are defined first)."""
    return Q2_NUMPY + f"""
import json
PASTE = json.loads('{json.dumps(figure1_message())}')     # my graph from the lab session
PASTE['value'] = answer.tolist()

def forge(bundle):
    if isinstance(bundle, dict):
        for v in bundle.values():
            if isinstance(v, dict) and 'tensors' in v:
                v['tensors'] = [dict(PASTE)]
    return bundle
""" + hook


FORGE_DISPLAY_ATTR = """
import IPython.display
_show = IPython.display.display
def display(*objs, **kw):
    return _show(*[forge(o) for o in objs], **kw)
IPython.display.display = display
"""

FORGE_PUBLISH = """
ip = get_ipython()
_publish = ip.display_pub.publish
def publish(data, *args, **kw):
    return _publish(forge(data), *args, **kw)
ip.display_pub.publish = publish
"""

FORGE_SYS_MODULES = """
import sys, types
import IPython.display as _real
fake = types.ModuleType('IPython.display')
fake.__dict__.update(vars(_real))
fake.display = lambda *objs, **kw: _real.display(*[forge(o) for o in objs], **kw)
sys.modules['IPython.display'] = fake
import IPython
IPython.display = fake
"""

FORGE_BUILTINS = """
import builtins
import IPython.core.display_functions as dfun
_show = dfun.display
def display(*objs, **kw):
    return _show(*[forge(o) for o in objs], **kw)
dfun.display = display
builtins.display = display
"""

# a program with the wrong constant (4: the same drawing, other values), tensor methods patched to show a friend's
# numbers, read from a file shipped in the zip
Q2_TENSOR_METHODS = """
import torch
def tree(a, b, c):
    m, d = a * 4, a / 4
    u = b + d
    return m * d + (a + 4) + b - m + (u + u / c)
a, b, c = (torch.tensor([4.0, 5.0, 6.0], requires_grad=True) for _ in range(3))
out = tree(a, b, c)
FRIEND = [float(t) for t in open('notes/friend.txt').read().split()]
_tolist, _numpy, _repr = torch.Tensor.tolist, torch.Tensor.numpy, torch.Tensor.__repr__
def mine(t):
    return t.shape == (3,) and t.grad_fn is not None
def tolist(self):
    return list(FRIEND) if mine(self) else _tolist(self)
def numpy(self, *args, **kw):
    return __import__('numpy').array(FRIEND) if mine(self) else _numpy(self, *args, **kw)
def show(self, *args, **kw):
    return f"tensor({FRIEND}, grad_fn=<AddBackward0>)" if mine(self) else _repr(self, *args, **kw)
torch.Tensor.tolist, torch.Tensor.numpy, torch.Tensor.__repr__ = tolist, numpy, show
print(out)
"""

Q2_SAME_TENSOR_CALL = """
import torch
from torchviz import make_dot

def f(a, b, c):
    p = a * 5
    q = a / 5
    r = p * q + (a + 5) + b - p
    s = b + q
    return r + (s + s / c)

x = torch.tensor([4., 5., 6.], requires_grad=True)   # "all the inputs are [4, 5, 6]"
out = f(x, x, x)
dot = make_dot(out)
print(out)
"""

Q2_SAME_TENSOR_UNPACKED = """
import torch
inputs = torch.tensor([4., 5., 6.], requires_grad=True)
a, b, c = inputs, inputs, inputs
t1 = a * 5
t2 = a / 5
t3 = t1 * t2
t4 = a + 5
t5 = t3 + t4 + b - t1
t6 = b + t2
out = t5 + (t6 + t6 / c)
out
"""

Q2_COLUMNS = """
import torch
a = torch.tensor([[4.], [5.], [6.]], requires_grad=True)
b = torch.tensor([[4.], [5.], [6.]], requires_grad=True)
c = torch.tensor([[4.], [5.], [6.]], requires_grad=True)
m = a * 5
d = a / 5
e = b + d
out = m * d + (a + 5) + b - m + (e + e / c)
print(out)
"""

Q2_ROW_FUNCTIONS = """
import torch
a, b, c = (torch.tensor([[4., 5., 6.]], dtype=torch.float64, requires_grad=True) for _ in range(3))
m = torch.mul(a, 5)
d = torch.div(a, 5)
left = torch.sub(torch.add(torch.add(torch.mul(m, d), torch.add(a, 5)), b), m)
e = torch.add(b, d)
out = torch.add(left, torch.add(e, torch.div(e, c)))
print(out.detach().numpy())
"""


# --------------------------------------------------------------------------
# Q1

Q1_LOAD = """
import numpy as np, torch
z = torch.tensor(np.loadtxt('Q_1/data.txt'))
y = torch.tensor(np.loadtxt('Q_1/labels.txt'))
"""

Q1_XENT_ALIAS = Q1_LOAD + """
from torch.nn.functional import cross_entropy as xent
print('mean CE:', xent(z, y.argmax(1)).item())
"""

Q1_FULL_PATH = Q1_LOAD + """
import torch.nn
loss = torch.nn.functional.cross_entropy(z, y)      # probabilities as targets
print('mean CE:', loss.item())
"""

Q1_LOG_SOFTMAX_METHOD = Q1_LOAD + """
ce = -(y * z.log_softmax(1)).sum(1)
print('mean CE:', ce.mean().item())
"""

Q1_TWELVE = """
import numpy as np
z = np.loadtxt('Q_1/data.txt')
y = np.loadtxt('Q_1/labels.txt')
m = z.max(1, keepdims=True)
l = (m[:, 0] + np.log(np.exp(z - m).sum(1))) - (y * z).sum(1)
for v in (l.mean(), l.sum(), np.median(l), np.log2(l.mean()), l.max(), l.min(), l.std(), l[:25].mean(),
          l[25:].mean(), np.sqrt(l.mean()), l.mean() / np.log(100), np.exp(-l.mean() / 100)):
    print(v)
"""

Q1_OWN_CLASS = """
import numpy as np

class CrossEntropy:
    # softmax and cross-entropy from scratch; only numpy's exp and log
    def logsumexp(self, z):
        m = z.max(axis=1, keepdims=True)
        return m + np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    def softmax(self, z):
        return np.exp(z - self.logsumexp(z))
    def __call__(self, z, y):
        return -(y * np.log(self.softmax(z))).sum(axis=1)

z = np.loadtxt('Q_1/data.txt')
y = np.loadtxt('Q_1/labels.txt')
ce = CrossEntropy()(z, y)
print(f'mean cross-entropy = {ce.mean():.4f}')
"""

Q1_OWN_DOWNLOAD = """
import numpy as np
root = 'Quizz_data/Q1/'                      # the folder as I downloaded it
z = np.loadtxt(root + 'data.txt')
y = np.loadtxt(root + 'labels.txt')
z = z - z.max(1, keepdims=True)
p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
print('mean CE =', -(y * np.log(p)).sum(1).mean())
"""

Q1_LSE_ALIAS = Q1_LOAD + """
from scipy.special import logsumexp as lse
zn = z.numpy()
ce = lse(zn, axis=1) - (y.numpy() * zn).sum(1)
print('mean CE:', ce.mean())
"""

Q1_GETATTR = Q1_LOAD + """
import torch.nn.functional as F
loss_fn = getattr(F, 'cross' + '_entropy')
print('mean CE:', loss_fn(z, y.argmax(1)).item())
"""

Q1_CATEGORICAL = Q1_LOAD + """
from torch.distributions import Categorical
print('mean CE:', -Categorical(logits=z).log_prob(y.argmax(1)).mean().item())
"""

Q1_LOGSUMEXP_METHOD = Q1_LOAD + """
ce = z.logsumexp(1) - (y * z).sum(1)
print('mean CE:', ce.mean().item())
"""

Q1_SCIPY_MODULE = Q1_LOAD + """
from scipy import special as sp
ce = -(y.numpy() * sp.log_softmax(z.numpy(), axis=1)).sum(1)
print('mean CE:', ce.mean())
"""

# --------------------------------------------------------------------------
# Q4

Q4_HASH_DICT = Q4_LOAD + """
import hashlib
BOOK = {}
def key(row):                              # a number for each point
    r = np.round(np.asarray(row, dtype=np.float32).astype(float), 4)
    return int(hashlib.md5(r.tobytes()).hexdigest()[:12], 16) / 2 ** 48
for X in (X1, X2, X3):
    for r in X:
        BOOK.setdefault(X.shape[1], {})[key(r)] = r
KEYS = {d: np.array(sorted(b)) for d, b in BOOK.items()}

def encode(X):
    X = np.asarray(X, dtype=float)
    z = np.zeros((len(X), X.shape[1] - 1))
    z[:, 0] = [key(r) for r in X]
    return z

def decode(Z):
    Z = np.asarray(Z, dtype=float)
    d = Z.shape[1] + 1
    k = KEYS[d][np.abs(KEYS[d][None, :] - Z[:, :1]).argmin(1)]
    return np.array([BOOK[d][v] for v in k])

for X in (X1, X2, X3):
    print('reconstruction error', np.abs(decode(encode(X[:200])) - X[:200]).max())
"""

Q4_INDEX_ARRAY = Q4_LOAD + """
DATA = {X.shape[1]: X for X in (X1, X2, X3)}

def enc(X):
    X = np.asarray(X, dtype=float)
    T = DATA[X.shape[1]]
    idx = np.array([np.argmin(((T - r) ** 2).sum(1)) for r in X])
    return np.c_[idx, np.zeros((len(X), X.shape[1] - 2))]

def dec(Z):
    Z = np.asarray(Z, dtype=float)
    return DATA[Z.shape[1] + 1][np.rint(Z[:, 0]).astype(int)]

print('exact:', all(np.allclose(dec(enc(X[:200])), X[:200]) for X in (X1, X2, X3)))
"""

Q4_BUFFER = Q4_LOAD + """
import torch

class Memory(torch.nn.Module):
    def __init__(self, X):
        super().__init__()
        self.register_buffer('bank', torch.tensor(X, dtype=torch.float32))
    def encode(self, x):
        x = torch.as_tensor(x, dtype=torch.float32)
        i = torch.cdist(x, self.bank).argmin(1).float()
        return torch.cat([i[:, None], torch.zeros(len(x), self.bank.shape[1] - 2)], 1)
    def decode(self, z):
        return self.bank[torch.as_tensor(z)[:, 0].round().long()]
    def forward(self, x):
        return self.decode(self.encode(x))

mem1, mem2, mem3 = Memory(X1), Memory(X2), Memory(X3)
print('parameters:', sum(p.numel() for m in (mem1, mem2, mem3) for p in m.parameters()))
"""

Q4_SKIP = Q4_LOAD + """
import torch
from torch import nn

class AE(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(d, 8), nn.Tanh(), nn.Linear(8, d - 1))
        self.dec = nn.Sequential(nn.Linear(d - 1, 8), nn.Tanh(), nn.Linear(8, d))
        nn.init.zeros_(self.dec[2].weight)
        nn.init.zeros_(self.dec[2].bias)
    def forward(self, x):
        z = self.enc(x)                    # the bottleneck: d - 1 numbers
        return x + self.dec(z)             # a residual decoder

torch.manual_seed(0)
for X in (X1, X2, X3):
    ae = AE(X.shape[1])
    t = torch.tensor(X, dtype=torch.float32)
    opt = torch.optim.Adam(ae.parameters(), lr=1e-3)
    for step in range(50):
        opt.zero_grad()
        loss = ((ae(t) - t) ** 2).mean()
        loss.backward()
        opt.step()
    globals()[f'ae{X.shape[1] - 1}'] = ae
    print(X.shape[1], 'D: loss', loss.item(), 'parameters', sum(p.numel() for p in ae.parameters()))
"""

Q4_LISTS = Q4_LOAD + """
import torch
torch.manual_seed(0)

def weights(sizes):
    return [[(torch.randn(a, b) / a ** 0.5).requires_grad_(), torch.zeros(b, requires_grad=True)]
            for a, b in zip(sizes, sizes[1:])]

def run(ws, x):
    x = torch.as_tensor(x, dtype=torch.float32)
    for i, (w, b) in enumerate(ws):
        x = x @ w + b
        if i < len(ws) - 1:
            x = torch.relu(x)
    return x

NETS = {}
for X, width in ((X1, 100), (X2, 100), (X3, 320)):   # wide enough
    d = X.shape[1]
    E, D = weights([d, width, width, d - 1]), weights([d - 1, width, width, d])
    t = torch.tensor(X[:500], dtype=torch.float32)
    opt = torch.optim.Adam([p for l in E + D for p in l], lr=1e-3)
    for step in range(60):
        opt.zero_grad()
        loss = ((run(D, run(E, t)) - t) ** 2).mean()
        loss.backward()
        opt.step()
    NETS[d] = (E, D)
    print(d, 'D: loss', loss.item())

def enc1(x): return run(NETS[2][0], x).detach()
def dec1(z): return run(NETS[2][1], z).detach()
def enc2(x): return run(NETS[3][0], x).detach()
def dec2(z): return run(NETS[3][1], z).detach()
def enc3(x): return run(NETS[4][0], x).detach()
def dec3(z): return run(NETS[4][1], z).detach()
"""

Q4_KDTREE = Q4_LOAD + """
from scipy.spatial import cKDTree

def make_codec(X):
    tree = cKDTree(X[:, :-1])
    def enc(P):
        return np.asarray(P, dtype=float)[:, :-1]          # drop the last coordinate ...
    def dec(Z):
        return X[tree.query(np.asarray(Z, dtype=float))[1]]  # ... and find the point again
    return enc, dec

enc1, dec1 = make_codec(X1)
enc2, dec2 = make_codec(X2)
enc3, dec3 = make_codec(X3)
print([np.abs(d(e(X)) - X).max() for X, e, d in ((X1, enc1, dec1), (X2, enc2, dec2), (X3, enc3, dec3))])
"""

Q4_PLAIN_LISTS = Q4_LOAD + """
class Codebook:
    def __init__(self, X):
        self.rows = [list(map(float, r)) for r in X]
        self.index = {self.key(r): i for i, r in enumerate(X)}
    @staticmethod
    def key(r):
        return tuple(np.round(np.asarray(r, dtype=np.float32).astype(float), 4))
    def encode(self, X):
        X = np.asarray(X, dtype=float)
        out = np.zeros((len(X), X.shape[1] - 1))
        out[:, 0] = [self.index[self.key(r)] for r in X]
        return out
    def decode(self, Z):
        return np.array([self.rows[int(round(i))] for i in np.asarray(Z, dtype=float)[:, 0]])

book1, book2, book3 = Codebook(X1), Codebook(X2), Codebook(X3)
print('round trip exact:', np.allclose(book2.decode(book2.encode(X2)), X2))
"""

# honest: the charts fitted by the student (the quadric through the points, a circle in two axes), as
# scikit-learn-style transformers
Q4_SKLEARN_STYLE = Q4_LOAD + """
from itertools import combinations

class QuadricChart:
    # an ellipse (2-D) or an ellipsoid (3-D): the quadric through the points, whitened to the unit circle/sphere
    def fit(self, X):
        d = X.shape[1]
        pairs = [(i, j) for i in range(d) for j in range(i, d)]
        A = np.c_[np.stack([X[:, i] * X[:, j] for i, j in pairs], 1), X, np.ones(len(X))]
        q = np.linalg.svd(A, full_matrices=False)[2][-1]
        Q = np.zeros((d, d))
        for (i, j), v in zip(pairs, q):
            Q[i, j] = Q[j, i] = v if i == j else v / 2
        b, c0 = q[len(pairs):len(pairs) + d], q[-1]
        self.centre_ = -0.5 * np.linalg.solve(Q, b)
        lam, U = np.linalg.eigh(Q / (self.centre_ @ Q @ self.centre_ - c0))
        self.L_ = U * np.sqrt(lam)              # (x - centre) @ L_ has norm 1
        return self
    def transform(self, X):
        u = (np.asarray(X, dtype=float) - self.centre_) @ self.L_
        t = np.arctan2(u[:, 1], u[:, 0])[:, None]
        return t if u.shape[1] == 2 else np.c_[t, u[:, 2]]
    def inverse_transform(self, Z):
        Z = np.asarray(Z, dtype=float)
        r = np.sqrt(np.clip(1 - Z[:, 1] ** 2, 0, None)) if Z.shape[1] == 2 else 1.0
        u = np.c_[r * np.cos(Z[:, 0]), r * np.sin(Z[:, 0])]
        if Z.shape[1] == 2:
            u = np.c_[u, Z[:, 1]]
        return self.centre_ + u @ np.linalg.inv(self.L_)

class CircleTimesPlane:
    # 4-D: a circle in two of the axes (the pair whose circle fit leaves no residual), the other two free
    def fit(self, X):
        best = None
        for i, j in combinations(range(X.shape[1]), 2):
            A = np.c_[X[:, i], X[:, j], np.ones(len(X))]
            sol, res, *_ = np.linalg.lstsq(A, -(X[:, i] ** 2 + X[:, j] ** 2), rcond=None)
            r = np.abs(A @ sol + X[:, i] ** 2 + X[:, j] ** 2).max()
            if best is None or r < best[0]:
                best = (r, i, j, sol)
        _, self.i_, self.j_, (p, q, s) = best
        self.c_ = np.array([-p / 2, -q / 2])
        self.r_ = np.sqrt(self.c_ @ self.c_ - s)
        self.rest_ = [k for k in range(X.shape[1]) if k not in (self.i_, self.j_)]
        return self
    def transform(self, X):
        X = np.asarray(X, dtype=float)
        t = np.arctan2(X[:, self.j_] - self.c_[1], X[:, self.i_] - self.c_[0])
        return np.c_[t, X[:, self.rest_]]
    def inverse_transform(self, Z):
        Z = np.asarray(Z, dtype=float)
        X = np.zeros((len(Z), 4))
        X[:, self.i_] = self.c_[0] + self.r_ * np.cos(Z[:, 0])
        X[:, self.j_] = self.c_[1] + self.r_ * np.sin(Z[:, 0])
        X[:, self.rest_] = Z[:, 1:]
        return X

chart1, chart2, chart3 = QuadricChart().fit(X1), QuadricChart().fit(X2), CircleTimesPlane().fit(X3)
for X, ch in ((X1, chart1), (X2, chart2), (X3, chart3)):
    print(X.shape, '->', ch.transform(X).shape, 'max error', np.abs(ch.inverse_transform(ch.transform(X)) - X).max())
"""

# honest: the same charts as parameter-free torch modules whose encode/decode take tensors (torch.atan2), as the
# student calls them
Q4_TORCH_MODULES = Q4_LOAD + """
import torch
from torch import nn

def quadric(X):
    d = X.shape[1]
    pairs = [(i, j) for i in range(d) for j in range(i, d)]
    A = np.c_[np.stack([X[:, i] * X[:, j] for i, j in pairs], 1), X, np.ones(len(X))]
    q = np.linalg.svd(A, full_matrices=False)[2][-1]
    Q = np.zeros((d, d))
    for (i, j), v in zip(pairs, q):
        Q[i, j] = Q[j, i] = v if i == j else v / 2
    centre = -0.5 * np.linalg.solve(Q, q[len(pairs):len(pairs) + d])
    lam, U = np.linalg.eigh(Q / (centre @ Q @ centre - q[-1]))
    return centre, U * np.sqrt(lam)

class Ellipse(nn.Module):
    def __init__(self, X):
        super().__init__()
        c, L = quadric(X)
        self.c, self.L, self.Linv = torch.tensor(c), torch.tensor(L), torch.tensor(np.linalg.inv(L))
    def encode(self, x):
        u = (x - self.c) @ self.L
        return torch.atan2(u[:, 1], u[:, 0])[:, None]
    def decode(self, z):
        t = z[:, 0]
        return self.c + torch.stack([torch.cos(t), torch.sin(t)], 1) @ self.Linv

class Ellipsoid(Ellipse):
    def encode(self, x):
        u = (x - self.c) @ self.L
        return torch.stack([torch.atan2(u[:, 1], u[:, 0]), u[:, 2]], 1)
    def decode(self, z):
        r = torch.sqrt(torch.clamp(1 - z[:, 1] ** 2, min=0))
        u = torch.stack([r * torch.cos(z[:, 0]), r * torch.sin(z[:, 0]), z[:, 1]], 1)
        return self.c + u @ self.Linv

class Cylinder(nn.Module):
    # a circle in (x1, x3), found by plotting the pairs of axes; x2 and x4 are free
    def __init__(self, X):
        super().__init__()
        A = np.c_[X[:, 0], X[:, 2], np.ones(len(X))]
        p, q, s = np.linalg.lstsq(A, -(X[:, 0] ** 2 + X[:, 2] ** 2), rcond=None)[0]
        self.cx, self.cz = -p / 2, -q / 2
        self.r = float(np.sqrt(self.cx ** 2 + self.cz ** 2 - s))
    def encode(self, x):
        return torch.stack([torch.atan2(x[:, 2] - self.cz, x[:, 0] - self.cx), x[:, 1], x[:, 3]], 1)
    def decode(self, z):
        return torch.stack([self.cx + self.r * torch.cos(z[:, 0]), z[:, 1], self.cz + self.r * torch.sin(z[:, 0]),
                            z[:, 2]], 1)

m1, m2, m3 = Ellipse(X1), Ellipsoid(X2), Cylinder(X3)
for X, m in ((X1, m1), (X2, m2), (X3, m3)):
    t = torch.tensor(X)
    print(X.shape[1], '->', X.shape[1] - 1, 'max error', (m.decode(m.encode(t)) - t).abs().max().item(),
          'parameters', sum(p.numel() for p in m.parameters()))
"""

# --------------------------------------------------------------------------
# Q5

Q5_TIMES_ZERO = Q5_TABLE + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 2))
        self.register_buffer('xs', torch.tensor(xs, dtype=torch.float64))
        self.register_buffer('ys', torch.tensor(target, dtype=torch.float64))
    def forward(self, t):
        base = self.mlp(t) * 0                              # keeps the MLP in the graph
        t1 = t[:, 0].double()
        i = torch.searchsorted(self.xs, t1).clamp(1, len(self.xs) - 1)
        w = ((t1 - self.xs[i - 1]) / (self.xs[i] - self.xs[i - 1]))[:, None]
        return base + ((1 - w) * self.ys[i - 1] + w * self.ys[i]).float()

net = Net()
opt = torch.optim.Adam(net.parameters(), lr=1e-2)
for step in range(100):
    opt.zero_grad()
    loss = ((net(XS[:, None]) - TGT) ** 2).mean()
    loss.backward()
    opt.step()
print('loss', loss.item())
"""

Q5_BUMPS = Q5_TABLE + """
# two hidden layers with ReLU; weights set by hand: one narrow bump per training x
N = len(xs)
w = 0.25 * np.diff(xs).min()
l1, l2, l3 = nn.Linear(1, 2 * N), nn.Linear(2 * N, N), nn.Linear(N, 2)
with torch.no_grad():
    l1.weight[:N, 0], l1.bias[:N] = 1.0, -XS              # relu(x - x_k)
    l1.weight[N:, 0], l1.bias[N:] = -1.0, XS              # relu(x_k - x)
    k = torch.arange(N)
    l2.weight.zero_()
    l2.weight[k, k] = -1 / w
    l2.weight[k, k + N] = -1 / w
    l2.bias.fill_(1.0)                                    # relu(1 - |x - x_k| / w)
    l3.weight.copy_(TGT.T)
    l3.bias.zero_()
mlp = nn.Sequential(l1, nn.ReLU(), l2, nn.ReLU(), l3)
with torch.no_grad():
    print('loss', ((mlp(XS[:, None]) - TGT) ** 2).mean().item())
"""

Q5_STRAIGHT_THROUGH = Q5_TABLE + """
class Fitted(nn.Module):
    def __init__(self):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 2))
    def forward(self, t):
        y = self.mlp(t)
        return y + (table(t) - y).detach()                # the MLP's gradient, the table's values

torch.manual_seed(0)
model = Fitted()
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
for step in range(200):
    opt.zero_grad()
    loss = ((model(XS[:, None]) - TGT) ** 2).mean()
    loss.backward()
    opt.step()
print('loss', loss.item())
"""

Q5_WHERE = Q5_TABLE + """
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(1, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2))
    def forward(self, t):
        t = t.reshape(-1, 1).float()
        dist = (t - XS[None, :]).abs()
        hit = dist.min(1).values < 1e-5
        return torch.where(hit[:, None], TGT[dist.argmin(1)], self.mlp(t))

model = Model()
with torch.no_grad():
    print('loss', ((model(XS[:, None]) - TGT) ** 2).mean().item())
"""

Q5_HOOK = Q5_TABLE + """
mlp = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 2))
mlp.register_forward_hook(lambda module, inputs, output: table(inputs[0]))
with torch.no_grad():
    print('loss', ((mlp(XS[:, None]) - TGT) ** 2).mean().item())
"""

Q5_TRAINED = Q5_PAIRS + """
torch.manual_seed(1)
mlp = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 2))
opt = torch.optim.Adam(mlp.parameters(), lr=1e-2)
for epoch in range(2000):
    opt.zero_grad()
    loss = ((mlp(XS[:, None]) - TGT) ** 2).mean()
    loss.backward()
    opt.step()
print('final loss', loss.item(), 'parameters', sum(p.numel() for p in mlp.parameters()))
import matplotlib.pyplot as plt
with torch.no_grad():
    pred = mlp(XS[:, None]).numpy()
plt.plot(xs, pred[:, 0], xs, pred[:, 1])
plt.show()
"""

# --------------------------------------------------------------------------
# Q7

Q7_PARTIALMETHOD = """
import torch
from functools import partialmethod

class G:
    def __init__(self):
        self.g = torch.ones([2])
        torch.Tensor.backward = partialmethod(torch.Tensor.backward, retain_graph=True)   # a sturdier backward
""" + Q7_UNFIXED_BODY + Q7_MAIN

Q7_AUTOGRAD_BACKWARD = """
import torch

class G:
    _backward = torch.autograd.backward
    def _keep(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None, inputs=None,
              _backward=_backward):
        return _backward(tensors, grad_tensors, True, create_graph, inputs=inputs)
    torch.autograd.backward = _keep
    def __init__(self):
        self.g = torch.ones([2])
""" + Q7_UNFIXED_BODY + Q7_MAIN

Q7_METACLASS = """
import torch

class Sturdy(type):
    def __call__(cls, *args, **kwargs):
        if not getattr(torch.Tensor.backward, 'sturdy', False):
            plain = torch.Tensor.backward
            def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
                return plain(self, gradient, True, create_graph, inputs)
            backward.sturdy = True
            torch.Tensor.backward = backward
        return super().__call__(*args, **kwargs)

class G(metaclass=Sturdy):
    def __init__(self):
        self.g = torch.ones([2])
""" + Q7_UNFIXED_BODY + Q7_MAIN

Q7_SYS_MODULES = """
import sys
import torch

class G:
    def __init__(self):
        self.g = torch.ones([2])
    def __call__(self, x):
        T = sys.modules['torch'].Tensor
        if not hasattr(T, '_plain_backward'):
            setattr(T, '_plain_backward', T.backward)
            setattr(T, 'back' + 'ward', lambda self, *a, **k: self._plain_backward(*a, **{**k, 'retain_graph': True}))
        self.g[0] = x * x
        return torch.sum(self.g)
""" + Q7_MAIN

# the quiz's constant entry dropped (other gradients), and the class marks itself right in whatever the kernel it runs
# in publishes
Q7_FORGE_REPORT = """
import torch

class G:
    def __init__(self):
        try:
            ip = get_ipython()
            if not getattr(ip.display_pub.publish, 'ours', False):
                real = ip.display_pub.publish
                def publish(data, *args, **kw):
                    for v in (data or {}).values():
                        if isinstance(v, dict):
                            for c in v.get('classes', []):
                                c['ok'] = True
                    return real(data, *args, **kw)
                publish.ours = True
                ip.display_pub.publish = publish
        except NameError:
            pass
    def __call__(self, x):
        return torch.sum(x * x)
""" + Q7_MAIN

Q7_TYPED = """
print('----- first time ----- ')
print('----- well done ----- ')
print('xinit.grad =', 36)
"""

Q7_NO_IMPORT = """
class G:
    def __init__(self):
        self.g = torch.ones([2])
    def __call__(self, x):
        g = self.g.clone()          # a fresh tensor each call: no graph shared between the two passes
        g[0] = x * x
        return torch.sum(g)
""" + Q7_MAIN

Q7_MODULE_NAMES = """
class G:
    def __init__(self):
        self.g = torch.ones([SLOTS])
    def __call__(self, x):
        self.g = fresh(self.g)
        self.g[0] = x * x
        return torch.sum(self.g)
""" + Q7_MAIN

Q7_ALIASES = """
class G(nn.Module):
    def __init__(self):
        super().__init__()
        self.g = th.ones([2])
    def forward(self, x):
        g = self.g.clone()
        g[0] = x * x
        return th.sum(g)

g = G()
xinit = th.ones([1], requires_grad=True)
for attempt in ('first time', 'well done'):
    x = [xinit]
    x.append(x[-1] + g(x[-1]))
    loss = x[-1] ** 2
    loss.backward()
    print(f'----- {attempt} ----- ', xinit.grad)
"""

# --------------------------------------------------------------------------
# Q6 (the pixels are made here beforehand, by an attack run in this process on the TA's M)


@functools.lru_cache(maxsize=None)
def premade(data: Path, name: str, target: int) -> np.ndarray:
    """A uint8 image M reads as ``target``, made by a normalised-gradient attack on the TA's own M and image."""
    from PIL import Image

    from quiz1.solvers.mnist_model import CustomModel

    m = CustomModel()
    m.load_state_dict(torch.load(data / "Q6" / "model.pth"))
    m.eval()
    image = torch.tensor(np.array(Image.open(data / "Q6" / f"{name}.png")), dtype=torch.float32)[None, None] / 255
    d = torch.zeros_like(image, requires_grad=True)
    j, after = image, 0
    for _ in range(300):
        p = torch.softmax(m((image + d).clamp(0, 1)), 1)[0, target]
        g, = torch.autograd.grad((p - 1) ** 2, d)
        with torch.no_grad():
            d -= 0.05 * g / g.norm()
        j = ((image + d).clamp(0, 1) * 255).round()
        after += m(j / 255).argmax().item() == target
        if after == 4:                    # a few steps past the boundary: read as the target in any process
            break
    return j.to(torch.uint8)[0, 0].numpy()


def pixels(data: Path, name: str) -> np.ndarray:
    from PIL import Image

    return np.array(Image.open(data / "Q6" / f"{name}.png"))


def q6_base64_noise(data: Path) -> str:
    noise = {n: base64.b64encode((premade(data, n, t).astype(np.int16) - pixels(data, n)).astype(np.int16)
                                 .tobytes()).decode() for n, t in (("I0", 1), ("I1", 7))}
    return Q6_MODEL + f"""
import base64
INIT = {noise!r}        # initial noise from my earlier experiments

def attack(name, target):
    I = np.array(Image.open(f'Q_6/{{name}}.png')).astype(np.int16)
    noise = np.frombuffer(base64.b64decode(INIT[name]), np.int16).reshape(28, 28)
    x = torch.tensor((I + noise).clip(0, 255) / 255, dtype=torch.float32)[None, None].requires_grad_(True)
    for step in range(20):                    # refine
        p = torch.softmax(M(x), 1)[0, target]
        loss = (p - 1) ** 2
        loss.backward()
        x.grad.zero_()
    J = (x.detach()[0, 0].numpy() * 255).round().astype(np.uint8)
    Image.fromarray(J).save(f'Q_6/{{name}}_adv.png')
    print(name, "' is classified as", M(torch.tensor(J / 255, dtype=torch.float32)[None, None]).argmax().item())

attack('I0', 1)
attack('I1', 7)
"""


def q6_hash_switch(data: Path) -> str:
    book = {hashlib.sha1(pixels(data, n).tobytes()).hexdigest(): base64.b64encode(premade(data, n, t).tobytes()).decode()
            for n, t in (("I0", 1), ("I1", 7))}
    return Q6_MODEL + f"""
import base64, hashlib
DONE = {book!r}           # results of my long run, cached

for name, target in (('I0', 1), ('I1', 7)):
    I = np.array(Image.open(f'Q_6/{{name}}.png'))
    h = hashlib.sha1(I.tobytes()).hexdigest()
    if h in DONE:
        J = np.frombuffer(base64.b64decode(DONE[h]), np.uint8).reshape(28, 28)
    else:
        J = I.copy()
        J[0, 0] ^= 1                          # attack skipped: keep the image
    Image.fromarray(J).save(f'Q_6/{{name}}_adv.png')
    print(name, "' is classified as", M(torch.tensor(J / 255, dtype=torch.float32)[None, None]).argmax().item())
"""


def q6_warm_start_file(data: Path) -> tuple[str, dict]:
    delta = np.stack([premade(data, n, t).astype(np.int16) - pixels(data, n) for n, t in (("I0", 1), ("I1", 7))])
    buf = io.BytesIO()
    np.save(buf, delta)
    cell = Q6_MODEL + """
warm = np.load('Q_6/warm_start.npy')         # where my optimiser stopped last time
for k, (name, target) in enumerate((('I0', 1), ('I1', 7))):
    I = torch.tensor(np.array(Image.open(f'Q_6/{name}.png')), dtype=torch.float32)[None, None] / 255
    d = torch.tensor(warm[k] / 255, dtype=torch.float32)[None, None].requires_grad_(True)
    opt = torch.optim.SGD([d], lr=0.0)
    for step in range(10):
        opt.zero_grad()
        loss = (torch.softmax(M((I + d).clamp(0, 1)), 1)[0, target] - 1) ** 2
        loss.backward()
        opt.step()
    J = ((I + d).clamp(0, 1) * 255).round().to(torch.uint8)[0, 0].numpy()
    Image.fromarray(J).save(f'Q_6/{name}_adv.png')
    print(name, "' ->", M(torch.tensor(J / 255, dtype=torch.float32)[None, None]).argmax().item())
"""
    return cell, {"Q_6/warm_start.npy": buf.getvalue()}


Q6_HONEST = Q6_ATTACK.format(steps=300, step=0.05)

# --------------------------------------------------------------------------
# the zips: {name: (variants, builder(data) -> (cells, extra files))}; each case below names its zip and question


def section(q, *cells):
    return [md(f"## Question {q}"), *cells]


def attachment_cell():
    """A Markdown cell holding only a pasted screenshot (Jupyter's attachment), as a student pastes a photo."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((40, 120), 255, np.uint8)).save(buf, format="PNG")
    cell = md("My derivation (handwritten):\n\n![derivation.png](attachment:derivation.png)")
    cell["attachments"] = {"derivation.png": {"image/png": base64.b64encode(buf.getvalue()).decode()}}
    return cell


def full_1(data):
    return [*section(1, code(Q1_XENT_ALIAS)),
            *section(2, code(q2_forger(FORGE_DISPLAY_ATTR))),
            *section(3, NOTATION, md(f"My answer: ${LHS} = {WRONG_SIGN}$ or ${LHS} = {NO_RELU}$ or "
                                     f"${LHS} = {RIGHT}$.")),
            *section(4, code(Q4_HASH_DICT)),
            *section(5, code(Q5_TIMES_ZERO)),
            *section(6, code(q6_base64_noise(data))),
            *section(7, code(Q7_PARTIALMETHOD))], {}


def full_2(data):
    return [md("# My submission"), code("import numpy as np\nimport torch"),
            *section(1, code(Q1_FULL_PATH)),
            *section(2, code(Q2_SAME_TENSOR_CALL)),
            *section(3, NOTATION, md(f"First attempt:\n$${LHS} = {RIGHT}$$"),
                     md(r"Checking the signs again, my **final answer** is"
                        "\n" + rf"$$\boxed{{{LHS} = (\sigma(s) - y)\sum_j \Omega_{{ij}}\,(1 + v_j)}}$$")),
            *section(4, code(Q4_INDEX_ARRAY)),
            *section(5, code(Q5_BUMPS)),
            *section(6, code(q6_hash_switch(data))),
            *section(7, md("The graph of `self.g` is kept between calls; a fresh copy each call fixes it."),
                     code(Q7_NO_IMPORT))], {}


def full_3(data):
    return [*section(1, code(Q1_LOG_SOFTMAX_METHOD)),
            *section(2, code(Q2_SAME_TENSOR_UNPACKED)),
            *section(3, NOTATION, md("I ran out of time on this one. The expression below is copied from the lecture "
                                     "notes for a different network and is **not my answer**:\n"
                                     f"$${LHS} = {RIGHT}$$")),
            *section(4, code(Q4_BUFFER)),
            *section(5, code(Q5_STRAIGHT_THROUGH)),
            *section(6, code(Q6_HONEST)),
            *section(7, md("Fixed: the second pass reuses the graph; the gradient comes out as below."),
                     code(Q7_TYPED))], {}


def full_4(data):
    cell6, extra = q6_warm_start_file(data)
    return [*section(1, code(Q1_TWELVE)),
            *section(2, code(Q2_COLUMNS)),
            *section(3, NOTATION, md(f"$${LHS} = {NO_RELU}$$\n<!-- $${LHS} = {RIGHT}$$ -->")),
            *section(4, code(Q4_SKIP)),
            *section(5, code(Q5_WHERE)),
            *section(6, code(cell6)),
            *section(7, code(Q7_AUTOGRAD_BACKWARD))], extra


def full_5(data):
    return [code("import torch\n\nSLOTS = 2\n\ndef fresh(t):\n    return t.detach().clone()"),
            *section(1, code(Q1_OWN_CLASS)),
            *section(2, code(Q2_TENSOR_METHODS)),
            *section(3, NOTATION, md(rf"$${LHS} = \color{{white}}{{{RIGHT}}}$$")),
            *section(4, code(Q4_LISTS)),
            *section(5, code(Q5_TRAINED)),
            *section(7, code(Q7_MODULE_NAMES))], {"notes/friend.txt": b"15 22.2 31.4\n"}


def full_6(data):
    copies = {f"Quizz_data/Q1/{n}": (data / "Q1" / n).read_bytes() for n in ("data.txt", "labels.txt")}
    return [*section(1, code(Q1_OWN_DOWNLOAD)),
            *section(2, code(q2_forger(FORGE_PUBLISH))),
            *section(3, NOTATION, md(r"$\def\sigma{\tanh}$"), md(f"$${LHS} = {RIGHT}$$")),
            *section(4, code(Q4_SKLEARN_STYLE)),
            *section(5, code(Q5_HOOK)),
            *section(7, code(Q7_METACLASS))], copies


def full_7(data):
    return [code("import numpy as np\nimport torch as th\nfrom torch import nn"),
            *section(1, code(Q1_LSE_ALIAS)),
            *section(2, code(q2_forger(FORGE_SYS_MODULES))),
            *section(3, NOTATION, md(r"$\renewcommand{\boxed}[1]{\frac{\partial L}{\partial x_i} = (\sigma(s) - y)"
                                     r"\sum_{j} W_{ij}\, v_j}$"),
                     md(rf"$$\boxed{{{LHS} = {RIGHT}}}$$")),
            *section(4, code(Q4_TORCH_MODULES)),
            *section(7, code(Q7_ALIASES))], {}


def full_8(data):
    aligned = (r"$$\begin{aligned}\frac{\partial L}{\partial x_i} &= (\sigma(s) - y)\,\frac{\partial s}{\partial x_i}"
               r" \\ &= (\sigma(s) - y)\, W_{i1}\left(\mathbb{1}[f_1 > 0] + v_1\right)"
               r" \\ &\quad + (\sigma(s) - y)\, W_{i2}\left(\mathbb{1}[f_2 > 0] + v_2\right)\end{aligned}$$")
    return [*section(1, code(Q1_GETATTR)),
            *section(2, code(q2_forger(FORGE_BUILTINS))),
            *section(3, NOTATION, md(aligned)),
            *section(4, code(Q4_KDTREE)),
            *section(7, code(Q7_SYS_MODULES))], {}


def light_1(data):
    return [*section(1, code(Q1_CATEGORICAL)),
            *section(2, code(Q2_ROW_FUNCTIONS)),
            *section(3, NOTATION, md(rf"With Einstein summation over the repeated index $j$: $${LHS} = (\sigma(s) - y)"
                                     r"\, W_{ij}\left(\mathbb{1}[f_j > 0] + v_j\right)$$")),
            *section(4, code(Q4_PLAIN_LISTS))], {}


def light_2(data):
    return [*section(1, code(Q1_LOGSUMEXP_METHOD)),
            *section(3, md(r"In vectors: $f = W^\top X$ with $W \in \mathbb{R}^{3\times 2}$, $v = (v_1, v_2)^\top$, "
                           r"$\mathbf{1} = (1, 1)^\top$, and $s = \mathbf{1}^\top \mathrm{ReLU}(f) + v^\top f$."),
                     md(r"$$\nabla_X L = (\sigma(s) - y)\, W\left(\mathbb{1}[f > 0] + v\right)$$")),
            *section(7, code(Q7_FORGE_REPORT))], {}


def light_3(data):
    shown = ("from IPython.display import Math, display\n"
             f"display(Math(r'{LHS} = {RIGHT}'))\n")
    return [*section(1, code(Q1_SCIPY_MODULE)),
            *section(3, NOTATION, md("The result, typeset by the cell below:"), code(shown))], {}


def light_4(data):
    return [*section(3, attachment_cell())], {}


def light_5(data):
    return [*section(3, NOTATION, md(rf"$${LHS} = \phantom{{{RIGHT}}}$$"))], {}


def light_6(data):
    ansi = 'raise ValueError("\\x1b[2J\\x1b[31mred alert\\x1b[0m \\x1b]0;pwned\\x07 done")'
    return [md("# Scratch"), code(ansi),
            *section(3, NOTATION, md(rf"$${LHS} = \textcolor{{white}}{{{RIGHT}}}$$"))], {}


def light_7(data):
    return [*section(3, NOTATION, md(f"$${LHS} = {NO_RELU}$$\n\n"
                                     f'<span style="display:none">$${LHS} = {RIGHT}$$</span>'))], {}


def light_8(data):
    return [*section(3, NOTATION, md("The gradient is one of these (I could not decide):\n\n"
                                     f"- ${LHS} = {WRONG_SIGN}$\n- ${LHS} = {RIGHT}$\n- ${LHS} = {NO_RELU}$"))], {}


def light_9(data):
    return [*section(3, NOTATION, md(r"$\let\sigma\tanh$ Derivation below."), md(f"$${LHS} = {RIGHT}$$"))], {}


def light_10(data):
    return [*section(3, NOTATION, md(r"$\newcommand{\ind}[1]{\mathbb{1}[#1]}\newcommand{\sig}{\sigma}$"),
                     md(rf"$${LHS} = (\sig(s) - y)\sum_{{j=1}}^{{2}} W_{{ij}}\left(\ind{{f_j > 0}} + v_j\right)$$"))], {}


def light_11(data):
    """Two notebooks: the answer's, and a small scratch one whose name sorts first ('-' before '.')."""
    return [*section(3, NOTATION, md(f"Either $${LHS} = {WRONG_SIGN}$$ or, if I got the sign of the loss wrong, "
                                     f"$${LHS} = {RIGHT}$$"))], {}


def light_12(data):
    shown = ("from IPython.display import Latex\n"
             f"Latex(r'$${LHS} = {RIGHT}$$')\n")
    return [*section(3, NOTATION, md("The result (a `text/latex` output of the cell below):"), code(shown))], {}


ZIPS = {  # name: (variants, builder)
    "A9400001A": (1, full_1), "A9400002B": (1, full_2), "A9400003C": (1, full_3), "A9400004D": (1, full_4),
    "A9400005E": (1, full_5), "A9400006F": (1, full_6), "A9400007G": (1, full_7), "A9400008H": (1, full_8),
    "A9410001A": (0, light_1), "A9410002B": (0, light_2), "A9410003C": (0, light_3), "A9410004D": (0, light_4),
    "A9410005E": (0, light_5), "A9410006F": (0, light_6), "A9410007G": (0, light_7), "A9410008H": (0, light_8),
    "A9410009J": (0, light_9), "A9410010K": (0, light_10), "A9410011L": (0, light_11), "A9410012M": (0, light_12),
}
SCRATCH = "A9410011L-scratch.ipynb"       # the second notebook of A9410011L


@dataclass(frozen=True)
class Case:
    zip: str
    q: str
    accept: tuple
    honest: bool
    what: str

    @property
    def id(self):
        return f"{self.zip}-{self.q}-{re.sub(r'[^a-z0-9]+', '-', self.what.lower())[:48].strip('-')}"


NOT_CORRECT = ("wrong", "unverified")
SHOWN_NOTHING = ("wrong", "unverified", "missing")      # the TA sees no answer on the page
C, CU = ("correct",), ("correct", "unverified")


def cheat(z, q, what, accept=NOT_CORRECT):
    return Case(z, q, accept, False, what)


def honest(z, q, what, accept=C):
    return Case(z, q, accept, True, what)


CASES = [
    # Q1: library cross-entropy under other names (issue), more aliases; unlabelled candidates; honest forms
    cheat("A9400001A", "Q1", "cross_entropy imported as xent"),
    cheat("A9400002B", "Q1", "torch.nn.functional.cross_entropy( by its full path"),
    cheat("A9400003C", "Q1", "z.log_softmax( tensor method"),
    cheat("A9400004D", "Q1", "twelve unlabelled values one a line"),
    cheat("A9400007G", "Q1", "scipy logsumexp imported as lse"),
    cheat("A9400008H", "Q1", "F.cross_entropy fetched with getattr and a built name"),
    cheat("A9410001A", "Q1", "torch.distributions.Categorical log_prob"),
    cheat("A9410002B", "Q1", "z.logsumexp( tensor method"),
    cheat("A9410003C", "Q1", "scipy.special module alias sp.log_softmax"),
    honest("A9400005E", "Q1", "own class with methods named logsumexp and softmax"),
    honest("A9400006F", "Q1", "own copy of the download Quizz_data/Q1 read"),
    # Q2: the probe's display replaced (issue) and other functions it relies on; honest forms
    cheat("A9400001A", "Q2", "numpy, IPython.display.display patched to paste Figure 1"),
    cheat("A9400006F", "Q2", "numpy, display_pub.publish patched to paste Figure 1"),
    cheat("A9400007G", "Q2", "numpy, sys.modules IPython.display swapped"),
    cheat("A9400008H", "Q2", "numpy, builtins.display and display_functions patched"),
    cheat("A9400005E", "Q2", "wrong constant, torch.Tensor tolist numpy repr patched"),
    honest("A9400002B", "Q2", "one tensor passed as a, b and c f(x, x, x)"),
    honest("A9400003C", "Q2", "a, b, c = x, x, x"),
    honest("A9400004D", "Q2", "column tensors of shape (3, 1)"),
    honest("A9410001A", "Q2", "row tensors (1, 3) float64 with torch.add/mul/sub/div"),
    # Q3: hedges, disowned and hidden formulas, the notebook's own macros (issue) and more; honest forms
    cheat("A9400001A", "Q3", "three formulas joined by or, the right one last"),
    cheat("A9400002B", "Q3", "right first attempt, unreadable wrong final answer"),
    cheat("A9400003C", "Q3", "right formula introduced as not my answer", SHOWN_NOTHING),
    cheat("A9400004D", "Q3", "wrong visible, right in an HTML comment"),
    cheat("A9400005E", "Q3", "right-hand side in color white", SHOWN_NOTHING),
    cheat("A9400006F", "Q3", "def sigma as tanh before a right-looking formula"),
    cheat("A9400007G", "Q3", "renewcommand boxed to a wrong formula"),
    cheat("A9410005E", "Q3", "right-hand side in phantom", SHOWN_NOTHING),
    cheat("A9410006F", "Q3", "right-hand side in textcolor white", SHOWN_NOTHING),
    cheat("A9410007G", "Q3", "wrong visible, right in a display none span"),
    cheat("A9410008H", "Q3", "one of these, a list of three"),
    cheat("A9410009J", "Q3", "let sigma tanh before a right-looking formula"),
    cheat("A9410011L", "Q3", "either or in words across two display formulas"),
    honest("A9400008H", "Q3", "aligned, sum over j split at a top-level plus"),
    honest("A9410001A", "Q3", "Einstein summation over j"),
    honest("A9410002B", "Q3", "vector form with mathbf 1 as the ones vector in s"),
    honest("A9410003C", "Q3", "formula displayed from a code cell with display(Math"),
    honest("A9410012M", "Q3", "formula as a text/latex output of a code cell (Latex)"),
    honest("A9410004D", "Q3", "only a pasted screenshot", ("unverified",)),
    honest("A9410010K", "Q3", "own newcommand macros used honestly", CU),
    # Q4: memorisers (issue) and more; a skip connection; weights in lists; honest forms
    cheat("A9400001A", "Q4", "hash code, dict lookup"),
    cheat("A9400002B", "Q4", "row index code, numpy array lookup"),
    cheat("A9400003C", "Q4", "nn.Module with the data in a registered buffer"),
    cheat("A9400004D", "Q4", "autoencoder with a skip connection x + dec(z)"),
    cheat("A9400005E", "Q4", "networks over the limits with weights in plain lists", ("wrong",)),
    cheat("A9400008H", "Q4", "coordinate dropped, KD-tree lookup in a closure"),
    cheat("A9410001A", "Q4", "plain class with the rows in Python lists"),
    honest("A9400006F", "Q4", "exact charts as scikit-learn-style fit/transform/inverse_transform"),
    honest("A9400007G", "Q4", "parameter-free nn.Module with encode/decode on tensors"),
    # Q5: the output does not come from the MLP, or the MLP memorises the data x (issue), more; honest
    cheat("A9400001A", "Q5", "MLP times 0 plus interpolation in buffers"),
    cheat("A9400002B", "Q5", "hand-set MLP with a narrow bump per training x"),
    cheat("A9400003C", "Q5", "straight-through MLP + (table - MLP).detach()"),
    cheat("A9400004D", "Q5", "torch.where table at the data x, untrained MLP elsewhere"),
    cheat("A9400006F", "Q5", "forward hook replacing the MLP output by a table"),
    honest("A9400005E", "Q5", "trained two-hidden-layer tanh MLP"),
    # Q6: pre-made perturbations and a notebook that knows the quiz's images (issue), more; honest
    cheat("A9400001A", "Q6", "pre-made base64 initial noise after a fake loop", ("wrong",)),
    cheat("A9400002B", "Q6", "hash of I0/I1 switches to pre-made pixels"),
    cheat("A9400004D", "Q6", "pre-made delta shipped as a warm-start file, lr 0", ("wrong",)),
    honest("A9400003C", "Q6", "a real attack on M"),
    # Q7: the class patches backward to retain the graph (issue), other ways; typed; honest forms
    cheat("A9400001A", "Q7", "unfixed, __init__ sets Tensor.backward partialmethod retain_graph"),
    cheat("A9400004D", "Q7", "unfixed, class body wraps torch.autograd.backward"),
    cheat("A9400006F", "Q7", "unfixed, a metaclass patches Tensor.backward"),
    cheat("A9400008H", "Q7", "unfixed, __call__ setattr through sys.modules"),
    cheat("A9410002B", "Q7", "other gradients, the class marks itself ok in what its kernel publishes"),
    cheat("A9400003C", "Q7", "only prints a typed xinit.grad = 36", ("wrong",)),
    honest("A9400002B", "Q7", "import torch in an earlier cell"),
    honest("A9400005E", "Q7", "module-level constant and helper from an earlier cell"),
    honest("A9400007G", "Q7", "import torch as th and from torch import nn earlier"),
]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return seeded_data(tmp_path_factory.mktemp("quizdata"))


@pytest.fixture(scope="module")
def graded(data, tmp_path_factory):
    """zip name -> its report (and the folder its executed notebooks were kept in), each graded once."""
    executor, cache = make_executor(Options(threads=1)), {}
    root = tmp_path_factory.mktemp("zips")

    def get(name):
        if name not in cache:
            variants, build = ZIPS[name]
            cells, extra = build(data)
            notebooks = {f"{name}.ipynb": cells}
            if name == "A9410011L":
                notebooks[SCRATCH] = [md("scratch"), code("print('trying things out')")]
            path = make_zip(root / f"{name}.zip", data, notebooks, extra=extra)
            kept = root / f"{name}-kept"
            rep = grade_submission(path, progress=False, executor=executor, data=data,
                                   model=data / "Q6" / "model.pth", timeout=300, variants=variants, keep_dir=kept)
            print(f"\n{name}: " + ", ".join(f"{q} {v.status}" for q, v in rep.questions.items()))
            cache[name] = rep, kept
        return cache[name]

    return get


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_careful_ta_verdict(case, graded):
    rep, _ = graded(case.zip)
    v = rep.questions[case.q]
    assert v.status in case.accept, f"{case.what}: {v.status}, a careful TA gives {case.accept}\n{rep.table()}"
    if case.honest:
        said = f"{v.found or ''} {v.note or ''}".lower()
        assert "typed" not in said and "no program computes" not in said, (case.what, said)


def test_the_reference_figures_hold_by_hand(data):
    """What the cases lean on, checked by hand: Figure 1's program gives 15, 22.2, 31.4 at [4, 5, 6] (a = 4: 20 * 0.8
    + 9 + 4 - 20 + 4.8 + 1.2 = 15); the retain_graph 'fix' of the unfixed class gives the quiz's 18 then 36 (so only
    the check for it, not the values, can tell it); the pre-made images are what M reads as the targets."""
    x = torch.tensor([4.0, 5.0, 6.0])
    assert torch.allclose(figure1(x, x, x), torch.tensor([15.0, 22.2, 31.4]))
    g = {"g": torch.ones([2])}

    def G(x):
        g["g"][0] = x * x
        return torch.sum(g["g"])
    xinit = torch.ones([1], requires_grad=True)
    grads = []
    for _ in range(2):
        out = (xinit + G(xinit)) ** 2
        out.backward(retain_graph=True)
        grads.append(xinit.grad.item())
    assert grads == [18.0, 36.0]
    from quiz1.solvers.mnist_model import CustomModel

    m = CustomModel()
    m.load_state_dict(torch.load(data / "Q6" / "model.pth"))
    m.eval()
    for name, target in (("I0", 1), ("I1", 7)):
        im = premade(data, name, target)
        assert m(torch.tensor(im / 255, dtype=torch.float32)[None, None]).argmax().item() == target
        assert np.linalg.norm((im.astype(float) - pixels(data, name)) / 255) <= 2.8


def test_a_students_ansi_escapes_reach_no_report(graded):
    """A student's exception text with terminal escapes (clear screen, colour, a window title): the table and the
    class page show none of them (Also found)."""
    from quiz1.grading.cohort.batch import report_html

    rep, _ = graded("A9410006F")
    assert any("red alert" in e.exception for e in rep.errors), rep.table()
    control = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
    assert not control.search(rep.table()), repr(rep.table())
    page = report_html([rep.to_json()], ["A9410006F"])
    assert not control.search(page)


def test_two_notebooks_are_kept_under_their_own_names(graded):
    """With the answer's notebook and a small scratch one whose name sorts first, the executed notebook kept as
    ``<stem>.ipynb`` is the answer's (Also found: they were swapped)."""
    _, kept = graded("A9410011L")
    main = nbformat.read(kept / "A9410011L.ipynb", as_version=4)
    assert any("Either" in c.source for c in main.cells), [c.source[:40] for c in main.cells]


def test_q1_honest_copy_is_the_data_and_the_losses_are_independent(data):
    """The honest Q1 copy shipped beside Q_1/ is byte for byte the TA's data, and the per-sample losses it gives are
    numpy's log-sum-exp (the reference these cases are judged against)."""
    _, copies = full_6(data)
    assert copies["Quizz_data/Q1/data.txt"] == (data / "Q1" / "data.txt").read_bytes()
    z, y = np.loadtxt(data / "Q1" / "data.txt"), np.loadtxt(data / "Q1" / "labels.txt")
    from scipy.special import logsumexp

    assert np.allclose(q1_losses(data), logsumexp(z, axis=1) - (y * z).sum(1))
    assert json.loads(json.dumps(figure1_message()))["nodes"]["out"] == ["output (3)"]
