"""Q6, targeted adversarial images: new pixels near the data's I0 and I1 that M reads as the targets.

M (the TA's model) classifies the PNGs the run wrote in the grader's process.
With the variant run, I0 and I1 become other digits of their classes drawn by
the grader (``draw_digits``, this module's ``variant``): the images written for
them must be adversarial again, by M's reading and within the bound, and not
the first run's change added to them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..evidence import Evidence
from ..reference import Given
from ..report import Verdict
from ..running.datasets import image_copies
from ..running.layout import find_data_file

NAME, NUMBER = "Q6", 6
# what a cell of its section does, in a notebook without headings (``sections.by_content``)
CONTENT = re.compile(r"Q_6\b|I[01]\.png|model\.pth|CustomModel|adversar", re.I)
L2_MOST = 2.8      # the most generous reading of the quiz's eps = 0.1: per-pixel RMS 0.1, i.e. L2 0.1 * 28 in [0, 1] units
L2_NOTHING_LEFT = 2 * L2_MOST   # a change past this leaves no digit to speak of: not a small change by any reading
SAME_CHANGE = 0.9  # cosine between the two runs' changes (I' - I) at and above which one change was added to both
Q6_TARGETS = {"I0": (1,), "I1": (7, 0)}   # what M must read I0' and I1' as (the quiz's eq. 7 and 8)
Q6_SAMPLE = 256    # pool digits M reads for one variant: about 25 of each class to draw from
Q6_TIER_MIN = 3    # a tier of candidates is drawn from when it holds at least this many
Q6_TRUST = 0.9     # M's accuracy on the sample at and above which its reading of I0/I1 names their class
Q6_CANDIDATES = 8   # digits of the class whose distance to M's decision boundary is measured, one drawn among them


@dataclass(frozen=True, eq=False)
class Images:
    """The Q6 data of a submission and M, read before the notebook runs."""

    images: dict    # "I0"/"I1" -> (28, 28) uint8, the images found and readable
    model: object   # M (CPU, eval), loaded safely (weights only unless the TA trusts it); None: see ``missing``
    missing: dict = field(default_factory=dict)    # "I0"/"I1"/"model" -> why it is not there, one sentence


def reference(root: Path, given: Given) -> Images:
    """I0.png and I1.png below ``root``, and M: the TA's (``given.model``), else the zip's Q_6/model.pth."""
    from ...data.loaders import load_image

    images, missing = {}, {}
    for name in ("I0", "I1"):
        p = find_data_file(root, f"{name}.png")
        try:
            if p is not None:
                images[name] = load_image(p)
        except ValueError as e:
            missing[name] = str(e)
    model = None
    pth = Path(given.model) if given.model is not None else find_data_file(root, "model.pth")
    if pth is None:
        missing["model"] = "no Q_6/model.pth in the zip to classify the images with"
    else:
        from ...solvers.mnist_model import load_model

        try:
            model = load_model(pth, trust_pickle=given.trust_model)
        except ValueError as e:
            missing["model"] = (str(e).replace(str(root) + "/", "")
                                if "unpickling" not in str(e) else
                                "Q_6/model.pth is a whole pickled model; unpickling runs its code, so it is loaded "
                                "only with --trust-model")
        except Exception as e:  # noqa: BLE001 -- a student's file must not stop the grading
            missing["model"] = f"Q_6/model.pth cannot be loaded ({e.__class__.__name__})"
    return Images(images, model, missing)


def variant(root: Path, ref: Images, seed: int, given: Given) -> tuple[list[str], dict]:
    """The variant data for the second run: other digits of I0's and I1's classes (``draw_digits``, with M as
    ``ref`` holds it): (the files changed, {"I0"/"I1": which digit it is now, in words})."""
    return draw_digits(root, ref.model, seed, given.mnist)


def _l2(a, b) -> float:
    return float(np.linalg.norm((a.astype(float) - b.astype(float)) / 255))


def _same_change(adv, image, vadv, vimage) -> float | None:
    """Cosine between the first run's change ``adv - image`` and the variant run's ``vadv - vimage`` (each (28, 28)
    uint8), over the pixels where ``vimage`` plus the first change stays in 0..255: there a perturbation made
    beforehand and added to whatever image is loaded gives the same change exactly, elsewhere [0, 1] clips it.
    None when those pixels hold less than a fifth of the first change (L2): too little to compare.

    cos = <d, d'>_free / (||d||_free ||d'||_free),  d = adv - image,  d' = vadv - vimage
    """
    d = adv.astype(float) - image                                        # (28, 28) grey levels
    dv = vadv.astype(float) - vimage                                     # (28, 28)
    free = (vimage + d >= 0) & (vimage + d <= 255)                       # (28, 28) bool
    a, b = d[free], dv[free]
    if np.linalg.norm(a) < 0.2 * np.linalg.norm(d) or not np.linalg.norm(b):
        return None
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def q6_deltas(pngs: dict, images: dict) -> dict:
    """For I0 and I1: the new image the run wrote nearest to it, minus it, as 784 ints (what ``similarity`` compares
    between students); a source with no changed image nearer to it than to the other gets none."""
    out = {}
    for name, base in images.items():
        near = [im for im in pngs.values() if min(images, key=lambda n: np.abs(im.astype(int) - images[n]).sum()) == name]
        if near:
            best = min(near, key=lambda im: np.abs(im.astype(int) - base).sum())
            out[name] = (best.astype(int) - base.astype(int)).reshape(-1).tolist()     # (784,)
    return out


@dataclass(frozen=True)
class Deltas:
    """What ``similarity`` compares between students (``measures``)."""

    deltas: dict    # "I0"/"I1" -> the new image the run wrote nearest to it, minus it, 784 ints (``q6_deltas``)


def measures(ev: Evidence) -> Deltas:
    """The changes the run made to I0 and I1 (``q6_deltas``)."""
    return Deltas(q6_deltas(ev.run.pngs, ev.refs[NAME].images))


SAME_BAR = 0.99     # correlation of I0' - I0 between two students: the same perturbation (two honest gradient
SAME_WORDS = "their changes to the image (I0' - I0 or I1' - I1) correlate at"   # attacks on one M start alike)


def same_pairs(measures: dict) -> dict:
    """Pairs of students whose changes to I0 (or to I1) are the same (``similarity``): {(stem a, stem b): the
    largest correlation, at least ``SAME_BAR``}, a < b; ``measures``: stem -> this question's measures (the JSON of
    ``Deltas``). The correlations of every two changes at once: rows centred and normalised, one matrix product.

    corr(a, b) = <d_a - mean(d_a), d_b - mean(d_b)> / (||d_a - mean(d_a)|| ||d_b - mean(d_b)||),  d: (784,)
    """
    same = {}
    for name in ("I0", "I1"):
        have = [(stem, m["deltas"][name]) for stem, m in sorted(measures.items())
                if len((m.get("deltas") or {}).get(name, [])) == 784 and np.any(m["deltas"][name])]
        if len(have) < 2:
            continue
        d = np.array([x for _, x in have], dtype=float)                              # (n, 784)
        d -= d.mean(1, keepdims=True)
        d /= np.linalg.norm(d, axis=1, keepdims=True) + 1e-12
        corr = d @ d.T                                                               # (n, n)
        for i, j in zip(*np.nonzero(np.triu(corr, 1) >= SAME_BAR)):
            key = (have[i][0], have[j][0])
            same[key] = max(same.get(key, 0.0), float(corr[i, j]))
    return same


def same_views(a: dict, b: dict) -> list[tuple[str, str, str]]:
    """(what it shows, a's picture, b's picture) for each of I0, I1 both students changed (``a``, ``b``: their
    measures): each change as a 112 x 112 grey PNG data URI, mid-grey 0, lighter where the student added ink."""
    import base64
    import io

    from PIL import Image

    def png(delta) -> str:
        d = np.asarray(delta, dtype=float).reshape(28, 28)                    # (28, 28)
        grey = np.clip(128 + 127 * d / (np.abs(d).max() or 1), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(grey).resize((112, 112), Image.NEAREST).save(buf, format="PNG")
        return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()

    da, db = a.get("deltas") or {}, b.get("deltas") or {}
    return [(f"{name}' - {name}", png(da[name]), png(db[name])) for name in ("I0", "I1")
            if len(da.get(name, [])) == 784 and len(db.get(name, [])) == 784]


def figure(m: dict, status: str) -> tuple[str, str] | None:
    """(alt text, a small PNG as a data URI) of the change the run made to I0 and to I1 (``m["deltas"]``: each the
    new image minus the quiz's, 784 ints in 0..255 units), red where it brightened, blue where it darkened, on one
    scale, with its L2 in [0, 1] units: what a TA looks at when Q6 is not ``correct`` (a change beyond eps, one made
    beforehand); None when it is, or when no image was changed."""
    deltas = {n: np.asarray(d, dtype=float).reshape(28, 28) / 255 for n, d in (m.get("deltas") or {}).items()
              if len(d) == 784}
    if status == "correct" or not deltas:
        return None
    from .drawing import data_uri, subplots

    top = max(float(np.abs(d).max()) for d in deltas.values()) or 1.0
    fig, axes = subplots(len(deltas), figsize=(2.3 * len(deltas), 2.5))
    for ax, (name, d) in zip(axes, sorted(deltas.items())):
        ax.imshow(d, cmap="seismic", vmin=-top, vmax=top)
        ax.set_title(f"{name}' - {name}: L2 {np.sqrt((d ** 2).sum()):.2f}", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    return "Q6: the change made to each image (red brighter, blue darker)", data_uri(fig)


def verdict(ev: Evidence) -> Verdict:
    from ...solvers.mnist_model import predict_proba

    r: Images = ev.refs[NAME]
    expected = "I0' read as 1, I1' read as 7 (or 0, eq. 8), each a small change (L2 <= 2.8 in [0, 1] units)"
    # a file of the zip written again unchanged counts only if it follows the variant data (checked below)
    pngs = sorted({**(ev.run.rewritten if ev.variant is not None else {}), **ev.run.pngs}.items())
    if not pngs:
        copies = ev.run.copies
        plots = sum(c.plots for c in ev.section(NUMBER))
        if plots and ev.failed(NUMBER) is None:     # the quiz asks for the images in the notebook, not for files
            return Verdict("unverified", f"{plots} image(s) displayed in the section, no new 28x28 PNG written",
                           expected, "the images are shown but not saved, so M cannot read them for the grader: a "
                           "human should look at them and at the classifications printed")
        return ev.unmatched(NUMBER, "no new 28x28 PNG written by the run", expected, (
            f"{', '.join(copies[:3])}: the pixels of an image already there, not counted" if copies else None))
    if len(r.images) < 2:
        return Verdict("unverified", None, expected, "I0.png or I1.png is missing from Q_6/, so images cannot be matched")
    rows, best = [], {"I0": [], "I1": []}
    probs = predict_proba(r.model, np.stack([im for _, im in pngs])) if r.model is not None else None
    for k, (rel, im) in enumerate(pngs):
        d = {n: _l2(im, base) for n, base in r.images.items()}
        src = min(d, key=d.get)
        pred = int(probs[k].argmax()) if probs is not None else None
        rows.append(f"{rel} ~ {src}: L2 {d[src]:.4f} ([0, 1]) = {255 * d[src]:.1f} (0..255)"
                    + (f", read as {pred} (p = {probs[k, pred]:.2f})" if pred is not None else ""))
        best[src].append((d[src], rel, pred))
    found = "; ".join(rows)
    if probs is None:
        return Verdict("unverified", found, expected, r.missing.get("model"))
    nearest = min(l2 for n in best for l2, _, _ in best[n])
    if nearest > L2_NOTHING_LEFT:
        return Verdict("wrong", found, expected, f"every image written leaves nothing of the digit (L2 {nearest:.1f} "
                       f"at the least, over {L2_NOTHING_LEFT:g}, twice the most generous reading of eps = 0.1)")
    hit = {n: sorted((l2, rel) for l2, rel, p in best[n] if p in Q6_TARGETS[n]) for n in Q6_TARGETS}
    if not all(hit.values()):
        failed = ev.failed(NUMBER)
        return Verdict("error", found, expected, failed.note) if failed else Verdict("wrong", found, expected)
    small = {n: h[0] for n, h in hit.items()}
    if any(l2 > L2_NOTHING_LEFT for l2, _ in small.values()):
        return Verdict("wrong", found, expected, f"the change leaves nothing of the digit (L2 over "
                       f"{L2_NOTHING_LEFT:g}, twice the most generous reading of eps = 0.1)")
    within = all(l2 <= L2_MOST for l2, _ in small.values())
    beyond = ("the targets are reached but with a change beyond every reading of eps = 0.1 (the largest, per-pixel "
              "RMS 0.1, allows L2 2.8): a human should decide")
    if ev.variant is not None:
        moved = _followed(ev, {n: [rel for l2, rel in h if l2 <= L2_NOTHING_LEFT][:4] for n, h in hit.items()})
        if moved.status != "correct" or within:
            return Verdict(moved.status, found, expected, moved.note)
        return Verdict("unverified", found, expected, f"{moved.note}; {beyond}")
    return Verdict("correct" if within else "unverified", found, expected, None if within else beyond)

def _followed(ev: Evidence, chosen: dict) -> Verdict:
    """The variant run, where I0 and I1 are other digits of their classes that the notebook cannot foresee: are
    the files the first run wrote for them (``chosen``: {"I0"/"I1": [relative path, ...]}, the targets reached,
    smallest change first) adversarial for the new digits too, as M reads them, within the bound, and made from
    them (not the first run's change added to them)? Per image the best of its files counts; when none is
    ``correct``, what each file showed goes into the note."""
    v = ev.variant
    if v.run is None:
        return Verdict("unverified", note=f"the images could not be checked on the variant data ({v.note}): a "
                                          f"human should decide")
    wrong, unsure, good = [], [], []
    rank = {"correct": 0, "unverified": 1, "wrong": 2}
    for n, rels in chosen.items():
        seen = sorted((_on_variant(ev, n, rel) for rel in rels), key=lambda r: rank[r[0]])
        verdict = seen[0][0]
        texts = [seen[0][1]] if verdict == "correct" else [t for _, t in seen]
        {"wrong": wrong, "unverified": unsure, "correct": good}[verdict].extend(texts)
    if wrong or unsure:
        return Verdict("wrong" if wrong else "unverified", note="; ".join(wrong + unsure + good))
    return Verdict("correct", note="the images followed the data: on other digits of the same classes, drawn by "
                                   "the grader, the run wrote adversarial images within the bound: " + "; ".join(good))

def _on_variant(ev: Evidence, n: str, rel: str) -> tuple[str, str]:
    """(verdict, sentence) for the image the variant run wrote in place of ``rel`` (the first run's I_n')."""
    from ...solvers.mnist_model import predict_proba

    v = ev.variant
    ref, vref = ev.refs[NAME], v.refs[NAME]                            # M is the first's: the same file
    base, vbase = ref.images[n], vref.images[n]
    other = (v.drawn.get(NAME) or {}).get(n, f"another digit of {n}'s class")
    if np.array_equal(base, vbase):
        return "unverified", f"the variant run kept the quiz's {n} (no other digit to draw): a human should decide"
    first = {**ev.run.rewritten, **ev.run.pngs}[rel]                   # (28, 28) the first run's I_n'
    vim = v.run.pngs.get(rel, v.run.rewritten.get(rel))
    if vim is None:                                            # written under another name: the nearest to I_n
        near = [(_l2(im, vbase), p) for p, im in v.run.pngs.items()
                if min(vref.images, key=lambda m: _l2(im, vref.images[m])) == n]
        if near:
            rel = min(near)[1]
            vim = v.run.pngs[rel]
    if vim is None:
        failed = Evidence(v.run, v.refs).failed(NUMBER)
        if rel in v.run.copies:
            return "unverified", (f"on {n} = {other}, the run wrote {rel} with the pixels of an image already "
                                  f"there (the new digit unchanged?): its attack did nothing to a digit it had not "
                                  f"seen (a gradient that vanished, or images made beforehand): a human should decide")
        return "unverified", (f"on {n} = {other}, the run wrote no new image for it"
                              + (f" ({failed.note})" if failed else " (an attack that saves only on success, or "
                                 "images made beforehand)") + ": a human should decide")
    if _l2(vim, base) <= _l2(vim, vbase):
        return "wrong", (f"{rel} did not follow {n} when {n} became {other} (it is nearer the quiz's {n} than the "
                         f"new digit): pre-made?")
    same = _same_change(first, base, vim, vbase)
    if same is not None and same >= SAME_CHANGE:
        return "wrong", (f"on {n} = {other}, {rel} is {n}'s new digit plus the change the first run made to the "
                         f"quiz's {n} (cosine {same:.3f} over the pixels neither image clips; honest attacks on "
                         f"two digits stay under {SAME_CHANGE:g}): a perturbation made beforehand")
    p = predict_proba(ref.model, vim[None])[0]                       # (10,)
    pred, l2 = int(p.argmax()), _l2(vim, vbase)
    moved = int((vim != vbase).sum())
    said = f"on {n} = {other}, {rel}: L2 {l2:.3f}, {moved} pixels changed, read by M as {pred} (p = {p[pred]:.2f})"
    if pred not in Q6_TARGETS[n]:
        return "unverified", (f"{said}, not a target: the notebook's attack does not reach the target on a digit "
                              f"it had not seen (a weak attack, or images made beforehand): a human should decide")
    if l2 > L2_NOTHING_LEFT:      # the bound itself is judged on the quiz's own images (the answer): on a digit
        return "unverified", f"{said}, with a change beyond L2 {L2_NOTHING_LEFT:g}: a human should decide"
    return "correct", said + (f" (beyond L2 {L2_MOST:g} on this digit: the attack reached the target on a digit "
                              f"it had not seen)" if l2 > L2_MOST else "")


def draw_digits(root: Path, model, seed: int, mnist: str | Path | None = None,
                     far: float = 5.6) -> tuple[list[str], dict]:
    """Overwrite I0.png and I1.png below ``root``, and every other PNG with their pixels, with other digits of the
    same classes drawn with ``seed``; return (the files changed (relative), {"I0"/"I1": where the new digit is from}).

    The digits come from ``digit_pool(mnist)`` (MNIST's held-out test images, else scikit-learn's digits), among a
    random sample of ``Q6_SAMPLE`` that M reads. The class of I_n is what M reads it as when M reads at least
    ``Q6_TRUST`` of the sample right (a trained M), else the label of I_n's nearest pool digit (L2: an untrained M
    reads every digit alike). A digit of that class that M reads as it reads I_n is drawn first (for a trained M:
    one it reads correctly), then any of the class; never one M already reads as a target of I_n, nor one within
    ``far`` of I_n (L2, [0, 1] units). Of ``Q6_CANDIDATES`` such digits, the one drawn is no farther from M's
    boundary to each target than I_n (``boundary_distance``), so an honest attack that reached the target on I_n
    within the bound reaches it on the new digit too. ``model``: M (None: no reading, the label alone decides).
    """
    from PIL import Image

    from ...data.loaders import load_image
    from ...data.standin import digit_pool
    from ...solvers.mnist_model import predict_proba

    quiz = {}
    for name in ("I0", "I1"):
        p = find_data_file(root, f"{name}.png")
        try:
            if p is not None:
                quiz[name] = (p, load_image(p))
        except ValueError:
            continue
    if not quiz:
        return [], {}
    rng = np.random.default_rng(seed)
    images, labels, numbers, kind = digit_pool(mnist)
    pick = rng.choice(len(images), min(Q6_SAMPLE, len(images)), replace=False)
    sample, sample_labels = images[pick], labels[pick]                              # (S, 28, 28), (S,)
    reads = None
    if model is not None:
        try:
            reads = predict_proba(model, np.concatenate([sample, np.stack([im for _, im in quiz.values()])])).argmax(1)
        except Exception:  # noqa: BLE001 -- an M that cannot read digits: the class alone decides
            reads = None
    pool = images.reshape(len(images), -1).astype(np.float64) / 255                 # (N, 784)
    flat = sample.reshape(len(sample), -1).astype(np.float64) / 255                 # (S, 784)
    # M reads digits well (a trained M): the class of I_n is what M reads it as; else what it shows (nearest digit)
    trusted = reads is not None and float((reads[:len(sample)] == sample_labels).mean()) >= Q6_TRUST
    changed, where = [], {}
    for j, (name, (path, im)) in enumerate(quiz.items()):
        x = im.reshape(-1).astype(np.float64) / 255                                 # (784,)
        ok = np.sqrt(((flat - x) ** 2).sum(1)) >= far                              # (S,)
        label = int(labels[((pool - x) ** 2).sum(1).argmin()])
        tiers = [ok & (sample_labels == label)]
        if reads is not None:
            r, got = int(reads[len(sample) + j]), reads[:len(sample)]
            label = r if trusted else label
            ok &= ~np.isin(got, Q6_TARGETS[name])
            tiers = [ok & (sample_labels == label) & (got == r), ok & (sample_labels == label)]
        tiers.append(ok)
        tier = next((t for t in tiers if t.sum() >= Q6_TIER_MIN), next((t for t in tiers if t.any()), None))
        if tier is None:
            continue
        cands = rng.permutation(np.flatnonzero(tier))[:Q6_CANDIDATES]
        if reads is not None:    # no harder for M than I_n itself: an attack that reached the target there can here
            try:
                cands = _no_harder(model, sample[cands], im, Q6_TARGETS[name], cands)
            except Exception:  # noqa: BLE001 -- an M without gradients: any of the class
                pass
        k = int(rng.choice(cands))
        new = sample[k]
        for p in image_copies(root, path, im):
            Image.fromarray(new, mode="L").save(p)
            changed.append(p.relative_to(root).as_posix())
        where[name] = (f"another {int(sample_labels[k])} ({kind} #{int(numbers[pick[k]])}"
                       + (f", read by M as {int(reads[k])})" if reads is not None else ")"))
    return changed, where


def _no_harder(model, images, image, targets, ids) -> np.ndarray:
    """The ``ids`` of ``images`` (K, 28, 28) no farther than ``image`` from M's boundary to any of ``targets``; if
    none is, the one nearest in the worst target (ratio to ``image``'s distance)."""
    batch = np.concatenate([np.stack([image]), images])                               # (1 + K, 28, 28)
    ratio = np.zeros(len(images))
    for t in targets:
        d = boundary_distance(model, batch, t)                                       # (1 + K,)
        ratio = np.maximum(ratio, d[1:] / d[0] if np.isfinite(d[0]) and d[0] > 0 else np.zeros(len(images)))
    keep = ratio <= 1
    return ids[keep] if keep.any() else ids[[int(ratio.argmin())]]


def boundary_distance(model, images_u8, target: int, steps: int = 12, overshoot: float = 0.02) -> np.ndarray:
    """L2 distance ([0, 1] units) from each image to where M reads it as ``target``, by targeted DeepFool
    (Moosavi-Dezfooli et al. 2016): a linearised step to the nearest competitor's boundary, repeated; inf where
    ``steps`` do not reach it. An upper bound on the smallest change, close to it, at a few forward and backward
    passes; written here (no attack library is a dependency) because only the distance is needed.

    x <- clip(x + (1 + overshoot) (f + 1e-4) / ||grad f||^2 (-grad f), 0, 1),  f = max_{j != t} z_j - z_t

    Parameters
    ----------
    images_u8 : ndarray, shape (B, 28, 28), uint8
    """
    import torch

    x0 = torch.tensor(np.asarray(images_u8), dtype=torch.float32)[:, None] / 255       # (B, 1, 28, 28)
    x = x0.clone()
    dist = torch.full((len(x),), float("inf"))                                         # (B,)
    done = torch.zeros(len(x), dtype=torch.bool)
    for _ in range(steps + 1):
        x.requires_grad_(True)
        z = model(x)                                                                   # (B, 10)
        hit = (z.argmax(1) == target) & ~done
        dist[hit] = (x.detach() - x0).flatten(1).norm(dim=1)[hit]
        done |= hit
        if bool(done.all()):
            break
        other = z.clone()
        other[:, target] = -float("inf")
        f = other.max(1).values - z[:, target]                                          # (B,) > 0 until reached
        (g,) = torch.autograd.grad(f.sum(), x)                                         # (B, 1, 28, 28)
        with torch.no_grad():
            step = (1 + overshoot) * (f + 1e-4) / g.flatten(1).norm(dim=1).clamp_min(1e-12) ** 2    # (B,)
            moved = (x - step[:, None, None, None] * g).clamp(0, 1)
            x = torch.where(done[:, None, None, None], x, moved)
    return dist.numpy()


ROW = re.compile(r"~ (I[01]): L2 ([\d.]+) \(\[0, 1\]\)[^;]*?(?:, read as (\d+))?(?: \(p = [\d.]+\))?(?:;|$)")


def _shown(item: dict) -> str | None:
    """What an item's images show, per source image: what M read them as and the band of their change (within
    L2 2.8, up to 5.6, beyond), once each; other text with its numbers aside."""
    from .grouping import reason

    found = item.get("found")
    if not found:
        return None
    rows = ROW.findall(found)
    if not rows:
        return reason(found)
    bands = sorted({f"{src} read as {pred or '?'}, L2 " + (f"<= {L2_MOST:g}" if float(l2) <= L2_MOST else
                                                          f"{L2_MOST:g}-{L2_NOTHING_LEFT:g}"
                                                          if float(l2) <= L2_NOTHING_LEFT else f"> {L2_NOTHING_LEFT:g}")
                    for src, l2, pred in rows})
    return "; ".join(bands)


def group_key(item: dict) -> str | None:
    """Q6 groups by what M read each source's images as and their change's band (L2 2.8, 5.6), the status and the note's reason."""
    from .grouping import value_key

    return value_key(item, _shown(item))


def group_label(item: dict) -> str:
    from .grouping import value_label

    return value_label(item, _shown(item))
