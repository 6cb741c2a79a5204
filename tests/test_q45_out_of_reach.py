"""Q4 and Q5 out of the notebook's reach (issue 33, item 1): the models taken out of the kernel and run apart on
inputs the grader draws after the run.

The fast tests call ``grading/kernel/models.py`` directly: the numbers an object reads, counted here by hand; an
autoencoder split into an encoder and a decoder fed the code alone (a skip connection has no such split). The
sandboxed tests grade hand-written student notebooks, several cheats of one kind or honest forms in each (one
notebook per Q4/Q5 pair): every cheat of the issue's Q4/Q5 rows and more of each kind is not `correct`, every honest
form is `correct`.
"""
import json
import types

import cloudpickle
import numpy as np
import pytest
import torch

from quiz1.grading import grade_submission
from quiz1.grading.cohort.batch import Options, make_executor
from quiz1.grading.running.kernel import models
from quiz1.grading.running.sandbox import bwrap_problem
from students import code, make_zip, md, seeded_data

needs_bwrap = pytest.mark.skipif(bwrap_problem() is not None, reason=f"no sandbox here: {bwrap_problem()}")


# --------------------------------------------------------------------------
# counting every number a model reads

def notebook_namespace(src: str) -> dict:
    """Run ``src`` as a notebook's cell would (``__name__ == "__main__"``): its functions and classes are the
    notebook's own."""
    ns = {"__name__": "__main__"}
    exec(src, ns)
    return ns


def test_numbers_counts_parameters_buffers_lists_dicts_closures_and_globals():
    torch.manual_seed(0)
    seq = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))
    assert models.numbers([seq]) == 2 * 3 + 3 + 3 + 1
    ns = notebook_namespace("""
import numpy as np, torch
W = [torch.randn(10, 10), torch.randn(10)]           # weights in a plain list
def enc(x):
    return torch.tanh(x @ W[0] + W[1])
table = {i: np.arange(2.0) + i for i in range(50)}   # a lookup table: 50 keys and 50 x 2 values
def dec(z):
    return np.stack([table[int(k)] for k in z[:, 0]])
def make(a):
    def inner(x):
        return x @ a                                  # a closure over a (5, 4) array
    return inner
closed = make(np.ones((5, 4)))
class Lookup(torch.nn.Module):
    def __init__(self, X):
        super().__init__()
        self.register_buffer("table", torch.tensor(X))
        self.scale = torch.nn.Parameter(torch.ones(1))
    def forward(self, i):
        return self.table[i] * self.scale
class Codec:                                          # scikit-learn style: fit's data is not read by transform
    def fit(self, X):
        self.X = X
        self.mu = X.mean(0)
        return self
    def transform(self, X):
        return self.helper(X)[:, :-1]
    def helper(self, X):
        return X - self.mu
    def inverse_transform(self, Z):
        return np.c_[Z, np.zeros(len(Z))] + self.mu
codec = Codec().fit(np.ones((1000, 3)))
""")
    assert models.numbers([ns["enc"]]) == 110
    assert models.numbers([ns["dec"]]) == 50 + 100
    assert models.numbers([ns["closed"]]) == 20
    assert models.numbers([ns["Lookup"](np.zeros((40, 2)))]) == 80 + 1
    assert models.numbers([ns["codec"].transform]) == 3          # mu only: self.X is never read by the codec
    seen = set()                                                  # a union: what two objects share counts once
    assert models.numbers([ns["enc"]], seen) + models.numbers([ns["enc"], seq], seen) == 110 + 13


def test_routes_split_an_autoencoder_into_encoders_and_decoders():
    seq = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2), torch.nn.Linear(2, 3))
    enc = [r for r, _, _ in models.routes("ae", seq, "enc")]
    dec = [r for r, _, _ in models.routes("ae", seq, "dec")]
    assert enc == ["ae[:1]", "ae[:2]", "ae[:3]", "ae"] and dec == ["ae[1:]", "ae[2:]", "ae[3:]", "ae"]


class SkipAE(torch.nn.Module):
    """A (D - 1)-dimensional code, and an output x + dec(z) whose decoder's last layer is zero."""

    def __init__(self, D):
        super().__init__()
        self.enc = torch.nn.Linear(D, D - 1)
        self.dec = torch.nn.Linear(D - 1, D)
        torch.nn.init.zeros_(self.dec.weight)
        torch.nn.init.zeros_(self.dec.bias)

    def forward(self, x):
        return x + self.dec(self.enc(x))


class Circle(torch.nn.Module):
    """A parameter-free module whose encode/decode work on tensors only (torch.atan2 refuses numpy arrays)."""

    def encode(self, x):
        return torch.atan2(x[:, 1], x[:, 0])[:, None]

    def decode(self, z):
        return torch.cat([torch.cos(z), torch.sin(z)], 1)


def apart(tmp_path, objs: dict, P, shipped):
    """``evaluate`` then ``decode`` of kernel/models.py on ``objs`` (pickled as the export cell does), in this process."""
    (tmp_path / "m.pkl").write_bytes(cloudpickle.dumps({"names": list(objs), "objects": list(objs.values()),
                                                        "failed": {}}))
    np.savez(tmp_path / "d.npz", P0=P, shipped0=shipped)
    models.evaluate(str(tmp_path / "m.pkl"), str(tmp_path / "d.npz"), str(tmp_path / "c"), "q4")
    models.decode(str(tmp_path / "m.pkl"), str(tmp_path / "c.npz"), str(tmp_path / "c.json"), str(tmp_path / "d.npz"),
                  str(tmp_path / "r"))
    pairs = json.loads((tmp_path / "r.json").read_text())
    with np.load(tmp_path / "r.npz") as z:
        return [(p, z[p["key"]]) for p in pairs]


def test_a_skip_connection_has_no_exact_split_and_a_tensor_only_module_is_found(tmp_path):
    t = np.linspace(-3, 3, 400)
    P = np.c_[np.cos(t), np.sin(t)]
    shipped = np.arange(400) % 4 == 0
    torch.manual_seed(0)
    ae = SkipAE(2).double()
    assert torch.allclose(ae(torch.tensor(P)), torch.tensor(P))           # it "reconstructs" exactly as a whole
    got = apart(tmp_path, {"ae": ae, "circle": Circle()}, P, shipped)
    exact = {(p["encoder"], p["decoder"]) for p, R in got if p["rows"] == "all" and np.abs(R - P).max() < 1e-6}
    assert exact == {("circle.encode", "circle.decode")}
    assert ("ae.enc", "ae.dec") in {(p["encoder"], p["decoder"]) for p, _ in got}   # split, and not exact


def test_a_dict_decoder_is_exact_on_the_shipped_codes_only(tmp_path):
    t = np.linspace(-3, 3, 400)
    P = np.c_[np.cos(t), np.sin(t)]
    shipped = np.arange(400) % 4 == 0
    ns = notebook_namespace("""
import numpy as np
book = {}
def enc(X):
    return np.array([[float(hash(np.asarray(r, dtype=float).tobytes()) % 1000003)] for r in X])
def dec(Z):
    return np.stack([book[float(z)] for z in np.asarray(Z)[:, 0]])
""")
    ns["book"].update({float(ns["enc"](P[k:k + 1])[0, 0]): P[k] for k in np.flatnonzero(shipped)})
    got = apart(tmp_path, {"enc": ns["enc"], "dec": ns["dec"]}, P, shipped)
    (p, R), = [(p, R) for p, R in got if (p["encoder"], p["decoder"]) == ("enc", "dec")]
    assert p["rows"] == "shipped" and p["fresh_error"].startswith("KeyError") and np.array_equal(R, P[shipped])
    assert p["params"] == 100 + 200                                     # 100 keys, 100 points of 2


def test_q5_ablation_zeroes_the_linear_layers_only():
    """An MLP times 0 plus a table read by indexing: with the linear layers' weights at zero the output is unchanged;
    an honest MLP's output becomes its output layer's... zero."""
    torch.manual_seed(0)
    xs = torch.linspace(0, 1, 11)

    class Bypass(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.mlp = torch.nn.Sequential(torch.nn.Linear(1, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
            self.table = torch.nn.Parameter(torch.stack([xs, xs ** 2], 1), requires_grad=False)

        def forward(self, x):
            i = torch.bucketize(x.reshape(-1), xs).clamp(0, 10)
            return self.mlp(x) * 0 + self.table[i]

    X = np.linspace(0, 1, 21)[:, None]
    bypass = Bypass()
    rec, = models._q5_model("m", "module", bypass, bypass, {"x": X}, 5.0)
    assert rec["mlp_numbers"] == 4 + 4 + 8 + 2 and np.allclose(rec["ablated"], rec["output"])
    honest = torch.nn.Sequential(torch.nn.Linear(1, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    rec, = models._q5_model("h", "module", honest, honest, {"x": X}, 5.0)
    assert rec["mlp_numbers"] == 18 and np.allclose(rec["ablated"], 0) and not np.allclose(rec["output"], 0)
    assert isinstance(honest[0].weight, torch.nn.Parameter) and honest[0].weight.abs().sum() > 0   # restored


def test_the_grader_draws_new_points_on_the_manifold():
    """New points of quiz1's exact chart lie on the data's ellipse (its equation, written here by hand)."""
    from quiz1.grading.reference import exact_chart, manifold_points

    t = np.linspace(0, 2 * np.pi, 100, endpoint=False)
    X = np.c_[2 * np.cos(t) + 0.5, 0.7 * np.sin(t) - 1.5]
    new = manifold_points(exact_chart(X), X, 500, np.random.default_rng(1))
    assert new.shape == (500, 2) and np.allclose(((new[:, 0] - 0.5) / 2) ** 2 + ((new[:, 1] + 1.5) / 0.7) ** 2, 1)
    assert np.abs(new[:, None] - X[None]).sum(-1).min(1).max() > 1e-3    # not the data's own points


def test_the_kernel_code_is_injected_as_text():
    from quiz1.grading.running.probes import kernel_cell, kernel_source

    cell = kernel_cell("models", "watch", {"max_candidates": 3})
    assert repr(kernel_source("models")) in cell.source and '{"max_candidates": 3}' in cell.source
    assert isinstance(compile(cell.source, "cell", "exec"), types.CodeType)


# --------------------------------------------------------------------------
# graded in the sandbox

LOAD = """
import numpy as np, torch
X1 = np.loadtxt('Q_4/Q1Q4I1.txt')
X2 = np.load('Q_4/Q1Q4I2.npz')['array1']
X3 = np.load('Q_4/Q1Q4I3.npz')['array1']
"""

Q4_MEMORISERS = LOAD + """
import hashlib
from scipy.spatial import cKDTree

# 2-D: the code is a hash of the point, the decoder a dict
book = {}
def enc1(X):
    return np.array([[float(int(hashlib.md5(np.asarray(r, dtype=float).tobytes()).hexdigest()[:8], 16))] for r in X])
for row in X1:
    book[float(enc1(row[None])[0, 0])] = row
def dec1(Z):
    return np.stack([book[float(z)] for z in np.asarray(Z)[:, 0]])

# 3-D: the code is the row of the nearest data point, the decoder an index into the array
tree = cKDTree(X2)
def enc2(X):
    return np.c_[tree.query(np.asarray(X))[1], np.zeros(len(X))].astype(float)
def dec2(Z):
    return X2[np.asarray(Z)[:, 0].astype(int)]

# 4-D: a module that keeps the data in a registered buffer, sorted by the first coordinate
class Lookup(torch.nn.Module):
    def __init__(self, X):
        super().__init__()
        self.register_buffer('table', torch.tensor(X[np.argsort(X[:, 0])]))
    def encode(self, x):
        i = torch.searchsorted(self.table[:, 0].contiguous(), x[:, 0].contiguous()).clamp(0, len(self.table) - 1)
        return torch.stack([i.double(), 0 * i.double(), 0 * i.double()], 1)
    def decode(self, z):
        return self.table[z[:, 0].long()]
ae3 = Lookup(X3)
print('max reconstruction errors', np.abs(dec1(enc1(X1)) - X1).max(), np.abs(dec2(enc2(X2)) - X2).max(),
      (ae3.decode(ae3.encode(torch.tensor(X3))) - torch.tensor(X3)).abs().max().item())
"""

Q5_PAIRS = """
import numpy as np, torch
x = np.load('Q_5/xy.npz')['arr_0'][0]
ab = np.load('Q_5/ab.npz')['arr_0'].T
ang = np.arctan2(*(ab - ab.mean(0)).T[::-1])
pairs = ab[np.argsort(ang)]                       # ordered along the arc, to match sorted x
xs = np.sort(x)
"""

Q5_TIMES_ZERO = Q5_PAIRS + """
class Model(torch.nn.Module):                     # an MLP, times 0, plus interpolation in the sorted data
    def __init__(self):
        super().__init__()
        self.mlp = torch.nn.Sequential(torch.nn.Linear(1, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16),
                                       torch.nn.ReLU(), torch.nn.Linear(16, 2))
        self.register_buffer('xs', torch.tensor(xs, dtype=torch.float32))
        self.register_buffer('ts', torch.tensor(pairs, dtype=torch.float32))
    def forward(self, t):
        t = t.reshape(-1)
        i = torch.searchsorted(self.xs, t).clamp(1, len(self.xs) - 1)
        w = ((t - self.xs[i - 1]) / (self.xs[i] - self.xs[i - 1]))[:, None]
        return self.mlp(t[:, None]) * 0 + (1 - w) * self.ts[i - 1] + w * self.ts[i]
model = Model()
out = model(torch.tensor(x, dtype=torch.float32)[:, None])
print('MSE against the pairs', ((model(torch.tensor(xs, dtype=torch.float32)[:, None]) - torch.tensor(pairs)) ** 2).mean().item())
"""

Q5_BUMPS = Q5_PAIRS + """
n = len(xs)
w = 0.1 * np.diff(xs).min()                       # one narrow bump per training x, (0, 0) between them
l1, l2, l3 = torch.nn.Linear(1, 3 * n), torch.nn.Linear(3 * n, n), torch.nn.Linear(n, 2)
M = np.zeros((n, 3 * n))
for i in range(n):
    M[i, i], M[i, n + i], M[i, 2 * n + i] = 1 / w, -2 / w, 1 / w
with torch.no_grad():
    l1.weight.fill_(1.0)
    l1.bias.copy_(torch.tensor(-np.concatenate([xs - w, xs, xs + w])))
    l2.weight.copy_(torch.tensor(M))
    l2.bias.zero_()
    l3.weight.copy_(torch.tensor(pairs.T))
    l3.bias.zero_()
mlp = torch.nn.Sequential(l1, torch.nn.ReLU(), l2, torch.nn.ReLU(), l3)
with torch.no_grad():
    print('MSE at the data', ((mlp(torch.tensor(xs, dtype=torch.float32)[:, None]) - torch.tensor(pairs)) ** 2).mean().item())
"""

Q5_TABLE_IN_PARAMETERS = Q5_PAIRS + """
class Net(torch.nn.Module):                       # the table as an nn.Parameter, the MLP's share scaled away
    def __init__(self):
        super().__init__()
        self.l1, self.l2, self.l3 = torch.nn.Linear(1, 8), torch.nn.Linear(8, 8), torch.nn.Linear(8, 2)
        self.knots = torch.nn.Parameter(torch.tensor(xs, dtype=torch.float32), requires_grad=False)
        self.values = torch.nn.Parameter(torch.tensor(pairs, dtype=torch.float32), requires_grad=False)
    def forward(self, t):
        h = self.l3(torch.relu(self.l2(torch.relu(self.l1(t)))))
        t = t.reshape(-1)
        i = torch.bucketize(t, self.knots).clamp(1, len(self.knots) - 1)
        w = ((t - self.knots[i - 1]) / (self.knots[i] - self.knots[i - 1]))[:, None]
        return 1e-4 * h + (1 - w) * self.values[i - 1] + w * self.values[i]
net = Net()
print(net)
"""

Q4_SKIP = LOAD + """
class AE(torch.nn.Module):                        # a (D - 1)-dimensional code; the output is x + dec(z)
    def __init__(self, D):
        super().__init__()
        self.enc = torch.nn.Sequential(torch.nn.Linear(D, 16), torch.nn.Tanh(), torch.nn.Linear(16, D - 1))
        self.dec = torch.nn.Sequential(torch.nn.Linear(D - 1, 16), torch.nn.Tanh(), torch.nn.Linear(16, D))
        torch.nn.init.zeros_(self.dec[2].weight)
        torch.nn.init.zeros_(self.dec[2].bias)
    def forward(self, x):
        z = self.enc(x)
        return x + self.dec(z)
for X in (X1, X2, X3):
    t = torch.tensor(X, dtype=torch.float32)
    ae = AE(X.shape[1])
    print(X.shape, 'reconstruction MSE', ((ae(t) - t) ** 2).mean().item())
aes = {d: AE(d) for d in (2, 3, 4)}
"""

Q4_LISTS = LOAD + """
torch.manual_seed(0)
def net(sizes):                                   # the weights in a plain list of tensors
    return [(torch.randn(a, b) / a ** 0.5).requires_grad_() for a, b in zip(sizes, sizes[1:])]
def run(ws, x):
    x = torch.as_tensor(x, dtype=torch.float32)
    for k, w in enumerate(ws):
        x = x @ w
        x = torch.tanh(x) if k < len(ws) - 1 else x
    return x
W1 = (net([2, 80, 80, 1]), net([1, 80, 80, 2]))
W2 = (net([3, 80, 80, 2]), net([2, 80, 80, 3]))
W3 = (net([4, 230, 230, 3]), net([3, 230, 230, 4]))
for W, X in ((W1, X1), (W2, X2), (W3, X3)):
    opt = torch.optim.Adam([*W[0], *W[1]], lr=1e-3)
    t = torch.tensor(X[:500], dtype=torch.float32)
    for step in range(100):
        opt.zero_grad()
        loss = ((run(W[1], run(W[0], t)) - t) ** 2).mean()
        loss.backward()
        opt.step()
    print(X.shape, loss.item())
enc1 = lambda X: run(W1[0], X)
dec1 = lambda Z: run(W1[1], Z)
enc2 = lambda X: run(W2[0], X)
dec2 = lambda Z: run(W2[1], Z)
enc3 = lambda X: run(W3[0], X)
dec3 = lambda Z: run(W3[1], Z)
"""

Q4_STASH = LOAD + """
stash = {}                                        # the encoder keeps each point under its (random) code
def encode(X):
    X = np.asarray(X)
    Z = np.random.default_rng(len(stash)).random((len(X), X.shape[1] - 1))
    stash.update({z.tobytes(): x for z, x in zip(Z, X)})
    return Z
def decode(Z):
    return np.stack([stash[z.tobytes()] for z in np.asarray(Z)])
for X in (X1, X2, X3):
    print('max reconstruction error', np.abs(decode(encode(X)) - X).max())
"""

Q4_HONEST = LOAD + """
class EllipseCodec:                               # scikit-learn style: fit, transform, inverse_transform
    def fit(self, X):
        self.mu = X.mean(0)
        _, S, self.V = np.linalg.svd(X - self.mu, full_matrices=False)
        self.r = S / np.sqrt(len(X) / 2)          # equally spaced angles: semi-axes from the singular values
        return self
    def transform(self, X):
        Y = (np.asarray(X) - self.mu) @ self.V.T / self.r
        return np.arctan2(Y[:, 1], Y[:, 0])[:, None]
    def inverse_transform(self, Z):
        t = np.asarray(Z)[:, 0]
        return self.mu + (np.stack([np.cos(t), np.sin(t)], 1) * self.r) @ self.V

class EllipsoidCodec:
    def fit(self, X):
        x, y, z = X.T
        M = np.stack([x*x, y*y, z*z, x*y, x*z, y*z, x, y, z, np.ones_like(x)], 1)
        q = np.linalg.svd(M, full_matrices=False)[2][-1]
        A = np.array([[q[0], q[3]/2, q[4]/2], [q[3]/2, q[1], q[5]/2], [q[4]/2, q[5]/2, q[2]]])
        self.c = -0.5 * np.linalg.solve(A, q[6:9])
        lam, Q = np.linalg.eigh(A / (self.c @ A @ self.c - q[9]))
        self.L = Q * np.sqrt(lam)
        return self
    def transform(self, X):
        u = (np.asarray(X) - self.c) @ self.L
        return np.stack([np.arccos(np.clip(u[:, 2], -1, 1)), np.arctan2(u[:, 1], u[:, 0])], 1)
    def inverse_transform(self, Z):
        u = np.stack([np.sin(Z[:, 0]) * np.cos(Z[:, 1]), np.sin(Z[:, 0]) * np.sin(Z[:, 1]), np.cos(Z[:, 0])], 1)
        return self.c + u @ np.linalg.inv(self.L)

class CirclePlane(torch.nn.Module):               # no parameters; encode/decode on tensors (torch.atan2)
    def __init__(self, X):
        super().__init__()
        D, E, F = np.linalg.lstsq(np.c_[X[:, 0], X[:, 2], np.ones(len(X))], -(X[:, 0]**2 + X[:, 2]**2), rcond=None)[0]
        self.cx, self.cz = float(-D / 2), float(-E / 2)
        self.r = float(np.sqrt(self.cx**2 + self.cz**2 - F))
    def encode(self, x):
        return torch.stack([torch.atan2(x[:, 2] - self.cz, x[:, 0] - self.cx), x[:, 1], x[:, 3]], 1)
    def decode(self, z):
        return torch.stack([self.cx + self.r * torch.cos(z[:, 0]), z[:, 1], self.cz + self.r * torch.sin(z[:, 0]),
                            z[:, 2]], 1)

c1, c2, c3 = EllipseCodec().fit(X1), EllipsoidCodec().fit(X2), CirclePlane(X3)
print(np.abs(c1.inverse_transform(c1.transform(X1)) - X1).max(), np.abs(c2.inverse_transform(c2.transform(X2)) - X2).max())
t3 = torch.tensor(X3)
print((c3.decode(c3.encode(t3)) - t3).abs().max().item())
"""

Q5_HONEST = Q5_PAIRS + """
class Net(torch.nn.Module):                       # an MLP on standardised targets, the scale kept in buffers
    def __init__(self, t):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(1, 32), torch.nn.Tanh(), torch.nn.Linear(32, 32),
                                        torch.nn.Tanh(), torch.nn.Linear(32, 2))
        self.register_buffer('mean', t.mean(0))
        self.register_buffer('std', t.std(0))
    def forward(self, x):
        return self.body(x) * self.std + self.mean
torch.manual_seed(0)
ts = torch.tensor(pairs, dtype=torch.float32)
xt = torch.tensor(xs, dtype=torch.float32)[:, None]
net = Net(ts)
opt = torch.optim.Adam(net.parameters(), lr=1e-2)
for step in range(2000):
    opt.zero_grad()
    loss = ((net(xt) - ts) ** 2).mean()
    loss.backward()
    opt.step()
print('loss', loss.item())
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return seeded_data(tmp_path_factory.mktemp("quizdata"))


def grade(tmp_path, data, sid, q4, q5=None):
    cells = [md("## Question 4"), code(q4)] + ([md("## Question 5"), code(q5)] if q5 else [])
    path = make_zip(tmp_path / f"{sid}.zip", data, {f"{sid}.ipynb": cells})
    return grade_submission(path, progress=False, executor=make_executor(Options(threads=1)), data=data,
                            model=data / "Q6" / "model.pth", timeout=300, variants=0).questions


@needs_bwrap
def test_memorisers_and_a_multiplied_away_mlp_are_wrong(tmp_path, data):
    q = grade(tmp_path, data, "A9300001A", Q4_MEMORISERS, Q5_TIMES_ZERO)
    assert q["Q4"].status == "wrong", q["Q4"]
    assert q["Q4"].note.count("it memorised the data") == 3 and "it raised on them: KeyError" in q["Q4"].note
    assert q["Q5"].status == "wrong" and "with the MLP's weights set to zero" in q["Q5"].note, q["Q5"]


@needs_bwrap
def test_a_skip_connection_and_a_bump_per_training_x_are_wrong(tmp_path, data):
    q = grade(tmp_path, data, "A9300002B", Q4_SKIP, Q5_BUMPS)
    assert q["Q4"].status == "wrong" and q["Q4"].note.count("worse than the best linear encoder") == 3, q["Q4"]
    assert "`aes[2].enc + aes[2].dec`" in q["Q4"].found
    assert q["Q5"].status == "wrong" and "right at the data's own x only" in q["Q5"].note, q["Q5"]


@needs_bwrap
def test_weights_in_lists_count_and_a_table_in_parameters_is_no_mlp(tmp_path, data):
    q = grade(tmp_path, data, "A9300003C", Q4_LISTS, Q5_TABLE_IN_PARAMETERS)
    assert q["Q4"].status == "wrong" and q["Q4"].note.count("over the quiz's limit") == 3, q["Q4"]
    # by hand: 2*80 + 80*80 + 80*1 and 1*80 + 80*80 + 80*2
    assert "`enc1 + dec1` (13,280 parameters" in q["Q4"].found
    assert q["Q5"].status == "wrong" and "with the MLP's weights set to zero" in q["Q5"].note, q["Q5"]


@needs_bwrap
def test_a_decoder_that_reads_what_the_encoder_stashed_is_not_correct(tmp_path, data):
    q = grade(tmp_path, data, "A9300004D", Q4_STASH)
    assert q["Q4"].status == "unverified" and "no encoder and decoder found" in q["Q4"].note, q["Q4"]


@needs_bwrap
def test_codec_classes_a_tensor_module_and_a_scaled_mlp_are_correct(tmp_path, data):
    q = grade(tmp_path, data, "A9300005E", Q4_HONEST, Q5_HONEST)
    assert q["Q4"].status == "correct", q["Q4"]
    assert "`c1`" in q["Q4"].found and "`c3`" in q["Q4"].found and "transform/inverse_transform" in q["Q4"].found
    assert "encode/decode module `c3` (3 parameters" in q["Q4"].found            # cx, cz, r
    assert q["Q5"].status == "correct", q["Q5"]


def test_q5_is_run_between_and_beyond_the_data():
    """The x the Q5 models run at: the data's own, every midpoint of neighbouring x, draws inside the range, and 20 on
    each side within 5% of the range outside it (here x = 0, 0.1, ..., 1, so the midpoints are 0.05, 0.15, ...)."""
    from quiz1.grading.reference import q5_points

    x = np.random.default_rng(0).permutation(np.linspace(0, 1, 11))
    xq, kind = q5_points(x, np.random.default_rng(1))
    assert np.array_equal(xq[kind == 0], x) and np.allclose(xq[kind == 1], np.arange(0.05, 1, 0.1))
    inside, beyond = xq[kind == 2], xq[kind == 3]
    assert len(inside) == 300 and inside.min() >= 0 and inside.max() <= 1
    assert (beyond < 0).sum() == 20 and (beyond > 1).sum() == 20 and np.abs(beyond - 0.5).max() <= 0.55
