"""Q6: targeted minimal-L2 adversarial images with the quiz's objective ||p_t - 1||^2.

The quiz asks for I' = argmin ||p_t - 1||^2 with ||I - I'||_2 < eps. Plain
projected descent on that objective stalls at about twice the smallest
norm: where the softmax is saturated (p_t ~ 0 at the start, p_t ~ 1 at the
end) its gradient d/dx (p_t - 1)^2 = -2 (1 - p_t) p_t grad log p_t vanishes.
Four things fix that without leaving the objective:

* the step is normalised (steepest descent in L2), so only the gradient's
  *direction* matters, and that direction is exactly -grad log p_t, which we
  compute in log space (no underflow); the scalar 2 (1 - p_t) p_t > 0 only
  scales it;
* the radius is searched, not fixed (DDN, Rony et al. 2019; FMN, Pintor et
  al. 2021): eps shrinks while the image is classified as the target and
  grows while it is not, with a step factor annealed from 5% to 0.1%;
* the softmax is read at a temperature T (p = softmax(z / T); the eight
  restarts use T = 0.01, 0.02, 0.05, 0.1, twice each). The decision argmax z,
  and so which images succeed, does not depend on T; only the direction does.
  At T = 1, -grad log p_t pulls against every class in proportion to its
  probability; as T -> 0 it pulls against the nearest competitor only, which
  is the direction that reaches the decision boundary soonest
  (``bench/q6_attacks.py`` has a T = 1 ablation). Following the nearest
  competitor can also stall short of the target (one MNIST validation image,
  a 5 with target 1, stalls at every T <= 1), so a run that has not reached
  the target after a quarter of its steps starts again at T = 5;
* pixels stay in [0, 1] by an exact Euclidean projection onto the ball and
  the box together, and gradient components that push a pixel already at 0
  or 1 outwards are dropped before normalising, so every step has its full
  length.

The restarts (seeded random starts, half of them small, half larger) run as
one batch; after 30% of the steps only the better half goes on. The runs of
one image end in different local minima, up to a few percent apart, so eight
starts find a smaller one than four, and the halving keeps the cost near that
of four. During the last 30% of the steps the 8-bit rounding of
every other iterate is classified in the same pass, so the search also keeps
the smallest *saved* image it meets.
Written by hand (not taken from torchattacks/foolbox/adv_lib) because the quiz
prescribes the objective and the result must survive 8-bit rounding; the
benchmark ``bench/q6_attacks.py`` compares it with those libraries.

The cells between the ``# %%`` markers are copied verbatim into the notebook.
"""
# %% imports
import copy
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch.fx.experimental.optimization import fuse


# %% an exact, faster copy of M for 28x28 inputs
def _cropped(conv, size):
    """``conv`` cut to the kernel taps that ever touch a real pixel of a (H, W) = ``size`` input, or None if nothing changes.

    A convolution whose output is a single pixel becomes what it is then: a Linear map of its flattened window.
    """
    if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
        return None
    keep, pads, outs = [], [], []
    for n, k, s, p, dl in zip(size, conv.kernel_size, conv.stride, conv.padding, conv.dilation):
        out = (n + 2 * p - dl * (k - 1) - 1) // s + 1
        used = [j for j in range(k) if any(0 <= i * s - p + j * dl < n for i in range(out))]
        if not used:                                         # no output at all, or one made of padding only
            return None
        a, b = min(used), max(used)
        left = p - a * dl                                    # tap a now sits where the window starts
        right = (out - 1) * s + dl * (b - a) + 1 - n - left  # so the output keeps its size (< 0 crops)
        keep.append(slice(a, b + 1))
        pads.append((left, right))
        outs.append(out)
    pixel = outs == [1, 1] and conv.dilation == (1, 1) and conv.groups == 1
    if not pixel and all(sl.stop - sl.start == k for sl, k in zip(keep, conv.kernel_size)):
        return None
    weight = conv.weight[:, :, keep[0], keep[1]].detach().clone()                # (C_out, C_in / groups, kh, kw)
    bias = None if conv.bias is None else torch.nn.Parameter(conv.bias.detach().clone())
    (top, bottom), (left, right) = pads
    pad = torch.nn.ZeroPad2d((left, right, top, bottom)) if any((top, bottom, left, right)) else torch.nn.Identity()
    if pixel:                                                # the padded input is exactly the (C_in, kh, kw) window
        linear = torch.nn.Linear(weight[0].numel(), conv.out_channels, bias is not None, device="meta")
        linear.weight, linear.bias = torch.nn.Parameter(weight.flatten(1)), bias
        return torch.nn.Sequential(pad, torch.nn.Flatten(), linear, torch.nn.Unflatten(1, (conv.out_channels, 1, 1)))
    new = torch.nn.Conv2d(conv.in_channels, conv.out_channels, tuple(weight.shape[-2:]), conv.stride, 0,
                          conv.dilation, conv.groups, bias is not None, device="meta")
    new.weight, new.bias = torch.nn.Parameter(weight), bias
    return torch.nn.Sequential(pad, new)


def _dense(conv, size, max_entries=2 ** 22):
    """``conv`` on a (H, W) = ``size`` input as the Linear map of the flattened input that it is, or None if too big.

    Worth it when H W <= kh kw: then each output pixel already sees (nearly) the whole input, the matrix needs no
    more multiply-adds than the convolution (groups = 1), and one matrix product runs faster than a convolution
    this small (about twice as fast for layer3's 256-channel 3x3 convolutions on 2x2 maps, forward + backward).
    The matrix is built column by column, by convolving one-hot inputs; ``max_entries`` caps both the matrix and
    that basis (n_in x n_in).
    """
    n_in, dtype = conv.in_channels * size[0] * size[1], conv.weight.dtype
    with torch.no_grad():
        probe = torch.zeros(1, conv.in_channels, *size, dtype=dtype)
        out_shape = tuple(conv._conv_forward(probe, conv.weight, None).shape[1:])  # (C_out, H_out, W_out)
        if n_in * max(n_in, math.prod(out_shape)) > max_entries:
            return None
        basis = torch.eye(n_in, dtype=dtype).reshape(n_in, conv.in_channels, *size)  # one input pixel each
        columns = conv._conv_forward(basis, conv.weight, None)                 # (n_in, C_out, H_out, W_out)
    linear = torch.nn.Linear(n_in, math.prod(out_shape), conv.bias is not None, device="meta")
    linear.weight = torch.nn.Parameter(columns.reshape(n_in, -1).T.contiguous())  # (C_out H_out W_out, C_in H W)
    if conv.bias is not None:  # one bias per channel, the same at every output pixel
        linear.bias = torch.nn.Parameter(conv.bias.detach().repeat_interleave(out_shape[1] * out_shape[2]))
    return torch.nn.Sequential(torch.nn.Flatten(), linear, torch.nn.Unflatten(1, out_shape))


def specialise(model, shape=(1, 28, 28)):
    """An exact, faster copy of an eval-mode ``model`` for inputs of one ``shape`` (C, H, W); ``model`` is untouched.

    Batch norms are folded into the convolutions (torch.fx ``fuse``), and every convolution keeps only the kernel
    taps that touch the image: at 28x28, ResNet-18's layer4 sees 2x2 and 1x1 maps, where a 3x3 kernel with
    padding 1 meets padding zeros everywhere but its centre, so more than half of M's weights never matter, and
    each layer4 convolution, whose output is one pixel, is a plain matrix product. A convolution whose input map
    has no more pixels than its kernel (layer3's 3x3 kernels on 2x2 maps) becomes the matrix it is. Same function
    up to float rounding; a forward + backward pass takes about half the time on 2 cores.
    """
    try:
        fast = fuse(model.eval())                            # a traced copy with the batch norms folded in
    except Exception:                                        # not traceable by torch.fx: crop only
        fast = copy.deepcopy(model).eval()
    sizes = {}                                               # conv name -> the (H, W) sizes of its inputs

    def record(name):
        def hook(module, inputs):
            sizes.setdefault(name, set()).add(tuple(inputs[0].shape[-2:]))
        return hook

    hooks = [m.register_forward_pre_hook(record(name)) for name, m in fast.named_modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        fast(torch.zeros(1, *shape))
    for h in hooks:
        h.remove()
    for name, seen in sizes.items():
        if len(seen) != 1:                                   # a conv used at more than one size stays as it is
            continue
        conv, (size,) = fast.get_submodule(name), seen
        small_input = size[0] * size[1] <= conv.kernel_size[0] * conv.kernel_size[1]
        new = _dense(conv, size) if small_input else None
        new = _cropped(conv, size) if new is None else new
        if new is not None:
            parent, _, leaf = name.rpartition(".")
            setattr(fast.get_submodule(parent), leaf, new)
    for p in fast.parameters():
        p.requires_grad_(False)
    return fast


# %% the quiz's objective and the attack
def quiz_objective(model, x, target, temperature=1.0):
    """||p_t - 1||^2 summed over the batch, p = softmax(model(x) / T): x (B, 1, 28, 28) in [0, 1]."""
    p = torch.softmax(model(x) / temperature, dim=1)[:, target]       # (B,)
    return ((p - 1) ** 2).sum()


@dataclass(frozen=True)
class AttackResult:
    """Adversarial image (float and uint8), predictions, target probability and norms ([0, 1] units unless *_255)."""

    target: int
    adv: np.ndarray          # (28, 28) float in [0, 1], before rounding
    adv_u8: np.ndarray       # (28, 28) uint8, what is saved
    pred_before: int
    pred_after: int
    pred_after_uint8: int
    p_target: float          # p_t of the uint8 image (softmax at T = 1, as M reports it)
    objective: float         # ||p_t - 1||^2 of the uint8 image
    l2: float                # ||I - I'|| before rounding
    l2_uint8: float          # ||I - I'|| after rounding, [0, 1] units
    l2_255: float            # the same in 0..255 units
    rms: float               # per-pixel RMS of the uint8 change, [0, 1] units
    success: bool            # the uint8 image is classified as the target
    seconds: float
    eps: float | None = None  # the ball's radius ([0, 1] units) for the literal problem, None for the smallest change


def _probs(model, x):
    with torch.no_grad():
        return torch.softmax(model(x), dim=1)


def _rows(v):
    """Per-row L2 norms of a batch (B, ...) -> (B,)."""
    return v.flatten(1).norm(dim=1)


def project_ball_box(d, lo, hi, eps, iters=20):
    """Euclidean projection onto {||y||_2 <= eps} and the box [lo, hi] together, row by row.

    y = clip(s d, lo, hi) with s = 1 if that fits, else s in (0, 1) by bisection so that ||y|| = eps (exact: lo <= 0 <= hi).

    Parameters
    ----------
    d, lo, hi : Tensor, shape (B, 1, 28, 28)
    eps : Tensor, shape (B,)
    """
    y = d.clamp(lo, hi)
    too_long = _rows(y) > eps                                               # (B,)
    if too_long.any():
        s_lo, s_hi = torch.zeros_like(eps), torch.ones_like(eps)
        for _ in range(iters):
            s = (s_lo + s_hi) / 2
            big = _rows((s[:, None, None, None] * d).clamp(lo, hi)) > eps
            s_hi, s_lo = torch.where(big, s, s_hi), torch.where(big, s_lo, s)
        y = torch.where(too_long[:, None, None, None], (s_lo[:, None, None, None] * d).clamp(lo, hi), y)
    return y


def _cosine(k, n, start, end):
    return end + 0.5 * (start - end) * (1 + math.cos(math.pi * k / n))


def min_norm_attack(model, x0, target, steps=600, restarts=8, temperature=(0.01, 0.02, 0.05, 0.1), noise=(0.01, 0.3),
                    gamma=(0.05, 0.001), alpha=(1.0, 0.01), eps0=1.0, halve_at=0.3, stall=(0.25, 5.0),
                    track_uint8=0.3, seed=0):
    """Smallest-L2 perturbation with argmax = target: normalised descent on ||p_t - 1||^2 with a searched radius.

    delta <- proj_{||.|| <= eps, [0,1]}(delta - a_k g / ||g||),  g = grad (p_t - 1)^2 at T (direction of -grad log p_t);
    eps <- min(eps (1 - gamma_k), ||delta||) if adversarial else eps (1 + gamma_k)

    Parameters
    ----------
    x0 : Tensor, shape (1, 1, 28, 28), values in [0, 1]
    restarts : int
        R runs in one batch, from delta = N(0, sigma^2) clipped to the box.
    temperature : float or sequence of floats
        T of each run (cycled over the R runs): p = softmax(z / T).
    noise : float or sequence of floats
        sigma of the random start; the runs are split into equal blocks, one per value.
    halve_at : float or None
        At this fraction of the steps only the half of the runs with the smallest success so far goes on.
    stall : (float, float) or None
        (fraction, T'): a run that has not once reached the target by this fraction of the steps starts again from
        its random start at T'. At a low T the step pulls against the nearest competitor only and can stall short of
        the target; a high T pulls against all the competitors at once.
    track_uint8 : float
        During this last fraction of the steps the 8-bit rounding of every other iterate is classified in the same
        batch, and the smallest rounded image classified as the target is kept too.

    Returns
    -------
    delta : Tensor, shape (1, 1, 28, 28)
        The smallest adversarial delta found (or the last one of the first run).
    delta_u8 : Tensor, shape (1, 1, 28, 28) or None
        The smallest adversarial delta on the 8-bit grid seen while tracking (a multiple of 1/255), if any.
    """
    gen = torch.Generator().manual_seed(seed)
    noises = np.atleast_1d(np.asarray(noise, dtype=np.float32))
    sigma = torch.tensor(noises[np.arange(restarts) * len(noises) // restarts])[:, None, None, None]  # (R, 1, 1, 1)
    xs = x0.expand(restarts, -1, -1, -1)                                     # (R, 1, 28, 28)
    lo, hi = -xs, 1 - xs                                                     # the box for delta
    start = (sigma * torch.randn(xs.shape, generator=gen)).clamp(lo, hi)       # (R, 1, 28, 28)
    delta = start.clone().requires_grad_(True)
    eps = torch.full((restarts,), float(eps0))                                 # (R,)
    temps = np.resize(np.atleast_1d(np.asarray(temperature, dtype=np.float32)), restarts)
    T = torch.tensor(temps)[:, None]                                           # (R, 1)
    best, best_norm = delta.detach().clone(), torch.full((restarts,), math.inf)
    best_q, best_q_norm = None, math.inf
    for k in range(steps):
        if stall is not None and k == int(stall[0] * steps) > 0:  # runs that never succeeded start again at T'
            stuck = torch.isinf(best_norm)                                     # (R,)
            T = torch.where(stuck[:, None], torch.full_like(T, stall[1]), T)
            eps = torch.where(stuck, torch.full_like(eps, float(eps0)), eps)
            delta = torch.where(stuck[:, None, None, None], start, delta.detach()).requires_grad_(True)
        if halve_at is not None and k == int(halve_at * steps) and len(eps) > 1:   # the better half goes on
            keep = torch.argsort(best_norm, stable=True)[: (len(eps) + 1) // 2]
            xs, lo, hi, start, T, eps = xs[keep], lo[keep], hi[keep], start[keep], T[keep], eps[keep]
            best, best_norm, delta = best[keep], best_norm[keep], delta.detach()[keep].requires_grad_(True)
        R = len(eps)
        a_k, g_k = _cosine(k, steps, *alpha), _cosine(k, steps, *gamma)
        x = xs + delta                                                         # (R, 1, 28, 28)
        tracking = k >= (1 - track_uint8) * steps and k % 2 == 1    # every other step: half the extra cost
        if tracking:  # classify the rounded iterates in the same pass (no gradient flows through them)
            xq = torch.round(x.detach() * 255) / 255
            x = torch.cat([x, xq])                                             # (2R, 1, 28, 28)
        logits_all = model(x)
        logits = logits_all[:R]                                                # (R, 10)
        logp = torch.log_softmax(logits / T, dim=1)[:, target]                 # (R,)
        adv = logits.argmax(1) == target                                       # (R,)
        norm = _rows(delta.detach())
        better = adv & (norm < best_norm)
        best[better], best_norm[better] = delta.detach()[better], norm[better]
        if tracking:
            q_norm = torch.where(logits_all[R:].argmax(1) == target, _rows(xq - xs), math.inf)
            j = int(q_norm.argmin())
            if float(q_norm[j]) < best_q_norm:
                best_q, best_q_norm = (xq[j:j + 1] - x0).clone(), float(q_norm[j])
        # direction of grad (p_t - 1)^2 = -2 (1 - p_t) p_t grad log p_t: descend along -grad of -log p_t
        (g,) = torch.autograd.grad(-logp.sum(), delta)
        with torch.no_grad():
            blocked = ((delta <= lo) & (g > 0)) | ((delta >= hi) & (g < 0))   # would push a pixel out of [0, 1]
            g = torch.where(blocked, torch.zeros_like(g), g)
            g = g / _rows(g).clamp_min(1e-12)[:, None, None, None]
            eps = torch.where(adv, torch.minimum(eps * (1 - g_k), norm), eps * (1 + g_k))
            d = project_ball_box(delta - a_k * g, lo, hi, eps)
        delta = d.requires_grad_(True)
    i = int(best_norm.argmin())
    return (best if best_norm[i] < math.inf else delta.detach())[i:i + 1], best_q


def to_uint8_adversarial(model, x0, delta, target, max_scale=2.0, also=None):
    """The smallest-L2 8-bit image x0 + round(s delta) classified as ``target``: (image u8, s) or (None, None).

    Searches scales s of the perturbation and rounding thresholds tau (a change of v grey levels is rounded
    away from zero when its fractional part is at least tau; tau = 0.5 is ordinary rounding), smallest norm first.
    ``also``: an optional extra perturbation already on the 8-bit grid, competing with the others (its s is None).
    """
    base = torch.round(x0 * 255)                                                # (1, 1, 28, 28) original levels
    scales = np.concatenate([np.linspace(0.9, 1.0, 11), np.linspace(1.01, max_scale, 100)])
    cands, meta = [], []
    for s in scales:
        v = ((x0 + float(s) * delta).clamp(0, 1) * 255 - base)[0]                # (1, 28, 28) change in grey levels
        for tau in (0.5, 0.65, 0.8):
            r = torch.sign(v) * torch.floor(v.abs() + 1 - tau)
            cands.append((base[0] + r).clamp(0, 255))
            meta.append(float(s))
    if also is not None:
        cands.append((base[0] + torch.round(also[0] * 255)).clamp(0, 255))
        meta.append(None)
    batch = torch.stack(cands)                                                  # (K, 1, 28, 28)
    norms = ((batch - base) ** 2).flatten(1).sum(1).numpy()
    screened = (_probs(model, batch / 255).argmax(1) == target).numpy()       # one batched pass to screen
    order = np.argsort(np.where(screened, norms, np.inf + norms), kind="stable")
    for k in order[: max(int(screened.sum()), 1) + 20]:
        # confirm one image at a time, as it will be judged: near the boundary a batched pass can round differently
        if int(_probs(model, batch[k:k + 1] / 255).argmax(1)) == target:
            return batch[k, 0].to(torch.uint8).numpy(), meta[k]
    return None, None


def ball_attack(model, x0, target, eps, steps=100, restarts=4, seed=0):
    """The quiz's literal problem: argmin (p_t - 1)^2 over ||delta||_2 <= eps with x0 + delta in [0, 1] (T = 1).

    delta <- proj_{||.|| <= eps, [0,1]}(delta - a_k g / ||g||),  g = grad(-log p_t),  a_k cosine from eps to eps / 100

    -log p_t has the same minimisers as (p_t - 1)^2 (both fall as p_t rises) and, in log space, a gradient that
    does not vanish where the softmax saturates; the normalised step only uses its direction.

    Parameters
    ----------
    x0 : Tensor, shape (1, 1, 28, 28), values in [0, 1]
    eps : float
        Radius of the L2 ball in [0, 1] pixel units.
    restarts : int
        R runs in one batch: delta = 0, and R - 1 seeded random points of the ball.

    Returns
    -------
    delta : Tensor, shape (1, 1, 28, 28)
        The iterate with the largest p_t seen (inside the ball and the box).
    """
    gen = torch.Generator().manual_seed(seed)
    xs = x0.expand(restarts, -1, -1, -1)                                       # (R, 1, 28, 28)
    lo, hi = -xs, 1 - xs
    radius = torch.full((restarts,), float(eps))                               # (R,)
    start = torch.randn(xs.shape, generator=gen)
    start = start / _rows(start)[:, None, None, None] * eps * torch.rand(restarts, generator=gen)[:, None, None, None]
    start[0] = 0
    delta = project_ball_box(start, lo, hi, radius).requires_grad_(True)
    best, best_p = delta.detach()[:1].clone(), -math.inf
    for k in range(steps + 1):
        logp = torch.log_softmax(model(xs + delta), dim=1)[:, target]          # (R,)
        j = int(logp.detach().argmax())
        if float(logp[j].detach()) > best_p:
            best, best_p = delta.detach()[j:j + 1].clone(), float(logp[j].detach())
        if k == steps:
            break
        (g,) = torch.autograd.grad(-logp.sum(), delta)
        with torch.no_grad():
            blocked = ((delta <= lo) & (g > 0)) | ((delta >= hi) & (g < 0))
            g = torch.where(blocked, torch.zeros_like(g), g)
            g = g / _rows(g).clamp_min(1e-12)[:, None, None, None]
            d = project_ball_box(delta - _cosine(k, steps, eps, eps / 100) * g, lo, hi, radius)
        delta = d.requires_grad_(True)
    return best


def to_uint8_within(model, x0, delta, target, eps):
    """The 8-bit image within ``eps`` (L2, [0, 1] units, after rounding) with the largest p_t near x0 + delta.

    Candidates: x0 + delta scaled by s <= 1 and rounded at several thresholds, and delta kept on its k largest
    pixels only (a small ball holds a few whole grey levels better than many fractions that round away).
    Returns (image u8 (28, 28), p_t) -- the original image itself when no change fits.
    """
    base = torch.round(x0 * 255)[0]                                             # (1, 28, 28) original levels
    budget = eps * 255                                                           # L2 in grey levels
    v = ((x0 + delta).clamp(0, 1) * 255)[0] - base                               # (1, 28, 28) wanted change
    cands = [base.clone()]
    for s in np.linspace(0.5, 1.0, 21):
        for tau in (0.5, 0.35, 0.2, 0.1):
            cands.append(base + torch.sign(v) * torch.floor(float(s) * v.abs() + 1 - tau))
    order = torch.argsort(v.abs().flatten(), descending=True)
    for k in (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256):
        top = torch.zeros_like(v).flatten()
        top[order[:k]] = v.flatten()[order[:k]]
        top = top.view_as(v) * (budget / max(float(top.norm()), 1e-12))          # the whole budget on k pixels
        for rounding in (torch.round, torch.trunc):
            cands.append(base + rounding(top))
    batch = torch.stack(cands).clamp(0, 255)                                     # (K, 1, 28, 28)
    inside = (((batch - base) ** 2).flatten(1).sum(1) <= budget ** 2 + 1e-9).numpy()
    p = _probs(model, batch / 255)[:, target].numpy()
    for k in np.argsort(np.where(inside, -p, np.inf), kind="stable")[:5]:
        if inside[k]:  # confirm one at a time, as it will be judged
            pk = float(_probs(model, batch[k:k + 1] / 255)[0, target])
            return batch[k, 0].to(torch.uint8).numpy(), pk
    return base[0].to(torch.uint8).numpy(), float(_probs(model, base[None] / 255)[0, target])


def attack(model, image_u8, target, seed=0, eps=None, **search):
    """Targeted attack on one 28x28 uint8 image; the result is repaired to survive uint8 rounding.

    Without ``eps``: the smallest L2 change read as the target (``min_norm_attack``). With ``eps`` (L2 in [0, 1]
    units): the quiz's literal problem, the largest p_t inside the ball (``ball_attack``), and the saved 8-bit image
    is inside the ball too; it may or may not be read as the target, and the result says which.

    Parameters
    ----------
    model : torch.nn.Module
        Returns logits (B, 10) for inputs (B, 1, 28, 28) in [0, 1]; used in eval mode.
    image_u8 : ndarray, shape (28, 28), uint8
    target : int in 0..9
    eps : float or None
        Radius of the L2 ball in [0, 1] units for the literal problem, or None for the smallest change.
    **search
        Keywords of ``min_norm_attack`` (or of ``ball_attack`` with ``eps``); their own defaults apply otherwise.
    """
    if not (isinstance(target, (int, np.integer)) and 0 <= int(target) <= 9):
        raise ValueError(f"target should be a digit 0..9 but is {target!r}")
    image_u8 = np.asarray(image_u8)
    if image_u8.shape != (28, 28) or image_u8.dtype != np.uint8:
        raise ValueError(f"image should be 28x28 uint8 but is {image_u8.shape} {image_u8.dtype}")
    t0 = time.perf_counter()
    model = model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    x0 = torch.tensor(image_u8, dtype=torch.float32)[None, None] / 255.0      # (1, 1, 28, 28)
    pred_before = int(_probs(model, x0).argmax(1))
    fast = specialise(model, tuple(x0.shape[1:]))  # the search runs on an exact faster copy; M itself judges
    if eps is not None:
        if not (isinstance(eps, (int, float, np.floating)) and math.isfinite(eps) and eps >= 0):
            raise ValueError(f"eps should be a finite L2 radius >= 0 in [0, 1] units but is {eps!r}")
        delta = ball_attack(fast, x0, int(target), float(eps), seed=seed, **search)
        adv_u8, _ = to_uint8_within(model, x0, delta, int(target), float(eps))
        return _result(model, image_u8, x0, delta, adv_u8, int(target), pred_before, t0, float(eps))
    if pred_before == target:
        delta, delta_q = torch.zeros_like(x0), None
    else:
        delta, delta_q = min_norm_attack(fast, x0, int(target), seed=seed, **search)
    adv_u8, _ = to_uint8_adversarial(model, x0, delta, int(target), also=delta_q)
    if adv_u8 is None:  # rounding broke it: attack again from a slightly larger radius, then retry
        delta, delta_q = min_norm_attack(fast, x0, int(target),
                                         **{**search, "eps0": 2 * float(delta.norm()) + 0.5, "seed": seed + 1})
        adv_u8, _ = to_uint8_adversarial(model, x0, delta, int(target), max_scale=4.0, also=delta_q)
    if adv_u8 is None:
        adv_u8 = torch.round((x0 + delta).clamp(0, 1) * 255)[0, 0].to(torch.uint8).numpy()
    return _result(model, image_u8, x0, delta, adv_u8, int(target), pred_before, t0, None)


def _result(model, image_u8, x0, delta, adv_u8, target, pred_before, t0, eps):
    adv = (x0 + delta).clamp(0, 1)
    x_u8 = torch.tensor(adv_u8, dtype=torch.float32)[None, None] / 255      # (1, 1, 28, 28) as saved
    p_u8 = _probs(model, x_u8)[0]
    with torch.no_grad():
        objective = float(quiz_objective(model, x_u8, target))
    diff = (adv_u8.astype(np.float64) - image_u8.astype(np.float64)) / 255.0
    return AttackResult(
        target=target,
        adv=adv[0, 0].numpy(),
        adv_u8=adv_u8,
        pred_before=pred_before,
        pred_after=int(_probs(model, adv).argmax(1)),
        pred_after_uint8=int(p_u8.argmax()),
        p_target=float(p_u8[target]),
        objective=objective,
        l2=float(delta.norm()),
        l2_uint8=float(np.linalg.norm(diff)),
        l2_255=float(np.linalg.norm(diff) * 255),
        rms=float(np.sqrt((diff ** 2).mean())),
        success=int(p_u8.argmax()) == target,
        seconds=time.perf_counter() - t0,
        eps=eps,
    )


# %% the epsilon verdict
def epsilon_verdict(l2_uint8, eps=0.1, n_pixels=784):
    """Is ||I - I'||_2 < eps attainable under each reading of the units? One row per reading."""
    return [
        {"reading": "L2 in [0, 1] pixel units", "value": l2_uint8, "attainable": l2_uint8 < eps},
        {"reading": "L2 in 0..255 units", "value": 255 * l2_uint8, "attainable": 255 * l2_uint8 < eps,
         "note": "any change of an 8-bit image has L2 >= 1 in these units"},
        {"reading": "per-pixel RMS in [0, 1] units", "value": l2_uint8 / math.sqrt(n_pixels),
         "attainable": l2_uint8 / math.sqrt(n_pixels) < eps},
    ]
