"""Q4, the neural route the quiz describes: autoencoders with as few parameters as possible.

Two families, trained on at most 2,000 points in float64:

* plain MLP autoencoders ``D -> h -> d -> h -> D`` with tanh (by default one width, 16: the baseline, which on
  the quiz's files beat widths 4 and 8 and had at least 10^12 times the chart network's MSE; ``bench/q4_frontier.py``
  trains 4, 8, 16 and 32), by Adam then L-BFGS;
* "chart networks" that use the structure the exact route found: per round
  group a linear map and angle units (atan2 of partial norms) in the encoder,
  cos/sin products and a linear map in the decoder; free coordinates pass
  through linear units. All weights start random (only the bias starts at
  the data mean); training finds the chart itself: Adam, then trust-region
  least squares (Gauss-Newton steps with the exact Jacobian), which takes it
  to round-off (MSE ~1e-32 on the quiz's files, where L-BFGS stopped at up to
  2e-16), from up to three random starts until one gets there.

The cells between the ``# %%`` markers are copied verbatim into the notebook.
"""
from .optim import adam_then_lbfgs, least_squares_fit  # the notebook defines them in its setup section

# %% imports
import math
import time
from dataclasses import dataclass

import numpy as np
import torch


# %% networks
def plain_autoencoder(D, d, h):
    """tanh MLP autoencoder D -> h -> d -> h -> D (float64)."""
    return torch.nn.Sequential(
        torch.nn.Linear(D, h), torch.nn.Tanh(), torch.nn.Linear(h, d),      # encoder
        torch.nn.Linear(d, h), torch.nn.Tanh(), torch.nn.Linear(h, D),      # decoder
    ).double()


def _angles(u):
    """Angle units: unit-sphere angles of u (n, k) via atan2 of partial norms -> (n, k-1)."""
    out = [torch.atan2(u[:, :m - 1].norm(dim=1), u[:, m - 1]) for m in range(u.shape[1], 2, -1)]
    return torch.stack(out + [torch.atan2(u[:, 1], u[:, 0])], 1)


def _sphere(a):
    """Trigonometric units: angles (n, k-1) -> unit vectors (n, k)."""
    y = torch.stack([torch.cos(a[:, -1]), torch.sin(a[:, -1])], 1)
    for j in range(a.shape[1] - 2, -1, -1):
        y = torch.cat([torch.sin(a[:, j:j + 1]) * y, torch.cos(a[:, j:j + 1])], 1)
    return y


class ChartNet(torch.nn.Module):
    """Encoder: [angles(W_g x + b_g) for each round group of size k_g] + [W_f x + b_f]; decoder: linear of
    [sphere(angles), free codes]. ``round_sizes`` are the k_g, ``n_free`` the free code count."""

    def __init__(self, D, round_sizes, n_free, mean):
        super().__init__()
        self.enc_round = torch.nn.ModuleList([torch.nn.Linear(D, k) for k in round_sizes])
        self.enc_free = torch.nn.Linear(D, n_free) if n_free else None
        self.dec = torch.nn.Linear(sum(round_sizes) + n_free, D)
        self.sizes, self.n_free = list(round_sizes), n_free
        self.double()
        with torch.no_grad():
            for lin in self.enc_round:                                  # centre the random maps on the data
                lin.bias.copy_(-lin.weight @ torch.tensor(mean, dtype=torch.float64))

    def encode(self, x):
        codes = [_angles(lin(x)) for lin in self.enc_round]
        if self.enc_free is not None:
            codes.append(self.enc_free(x))
        return torch.cat(codes, 1)                                      # (n, d)

    def decode(self, z):
        feats, pos = [], 0
        for k in self.sizes:
            feats.append(_sphere(z[:, pos:pos + k - 1]))
            pos += k - 1
        feats.append(z[:, pos:])
        return self.dec(torch.cat(feats, 1))                            # (n, D)

    def forward(self, x):
        return self.decode(self.encode(x))


# %% training and the search
def train_autoencoder(net, X, adam_steps=2000, lbfgs_calls=3, lr=1e-2):
    """Fit ``net`` (x -> x_hat) to X (n, D) by mean squared reconstruction error; returns the final MSE."""
    xt = torch.tensor(X, dtype=torch.float64)
    return adam_then_lbfgs(net, lambda: ((net(xt) - xt) ** 2).mean(), adam_steps, lbfgs_calls, lr)


def train_chart_network(net, X):
    """Adam finds the basin, then trust-region least squares (Gauss-Newton) the chart, to round-off; returns the MSE."""
    train_autoencoder(net, X, adam_steps=500, lbfgs_calls=0)
    return least_squares_fit(net, X, X)


@dataclass(frozen=True)
class NeuralRow:
    """One trained network: family, parameter count, reconstruction MSE on all points, seconds."""

    family: str
    params: int
    mse: float
    seconds: float
    net: torch.nn.Module


def neural_search(X, d, chart_parts=None, widths=(16,), seed=0, max_rows=2000, chart_starts=3):
    """Train plain autoencoders of several widths and, given the exact chart's parts, a chart network.

    chart_parts : list of ("round", k_group, n_flat) and ("free", n) items, or None.
    chart_starts : random starts of the chart network tried until one reaches round-off (the best is kept).
    Returns rows sorted by (MSE, params): the quiz ranks on loss first, then on parameter count.
    """
    X = np.asarray(X, float)
    sub = X[np.linspace(0, len(X) - 1, min(len(X), max_rows)).astype(int)]
    xt = torch.tensor(X, dtype=torch.float64)
    rows = []
    candidates = [(f"plain tanh MLP, width {h}", lambda h=h: plain_autoencoder(X.shape[1], d, h), train_autoencoder, 1)
                  for h in widths]                                      # (name, make, train, random starts)
    if chart_parts:
        sizes = [k for kind, k, _ in chart_parts if kind == "round"]
        n_free = sum(n for kind, n, _ in chart_parts if kind == "free") + sum(f for kind, _, f in chart_parts if kind == "round")
        candidates.append(("chart network (angle and trig units)", lambda: ChartNet(X.shape[1], sizes, n_free, sub.mean(0)),
                           train_chart_network, chart_starts))
    for name, make, train, starts in candidates:
        t0, best = time.perf_counter(), (math.inf, None)
        for k in range(starts):
            torch.manual_seed(seed + k)
            net = make()
            train(net, sub)
            with torch.no_grad():
                mse = float(((net(xt) - xt) ** 2).mean())
            if best[1] is None or mse < best[0]:                          # (a NaN MSE still leaves a row)
                best = (mse, net)
            if best[0] <= 1e-24 * float(X.var(0).sum()):                  # round-off: no other start can do better
                break
        mse, net = best
        rows.append(NeuralRow(name, sum(p.numel() for p in net.parameters()), mse, time.perf_counter() - t0, net))
    return sorted(rows, key=lambda r: (r.mse, r.params))
