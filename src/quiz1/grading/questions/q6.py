"""Q6, targeted adversarial images: new pixels near the data's I0 and I1 that M reads as the targets.

M (the TA's model) classifies the PNGs the run wrote in the grader's process.
With the variant run, I0 and I1 become other digits of their classes drawn by
the grader (``datasets.write_q6_variant``): the images written for them must be
adversarial again, by M's reading and within the bound, and not the first run's
change added to them.
"""
from __future__ import annotations

import re

import numpy as np

from ..evidence import Evidence
from ..report import Verdict
from ..running.datasets import Q6_TARGETS

NAME, NUMBER = "Q6", 6
# what a cell of its section does, in a notebook without headings (``sections.by_content``)
CONTENT = re.compile(r"Q_6\b|I[01]\.png|model\.pth|CustomModel|adversar", re.I)
L2_MOST = 2.8      # the most generous reading of the quiz's eps = 0.1: per-pixel RMS 0.1, i.e. L2 0.1 * 28 in [0, 1] units
L2_NOTHING_LEFT = 2 * L2_MOST   # a change past this leaves no digit to speak of: not a small change by any reading
SAME_CHANGE = 0.9  # cosine between the two runs' changes (I' - I) at and above which one change was added to both


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


def measures(ev: Evidence) -> dict:
    """{"deltas": ``q6_deltas`` of the run}: what ``similarity`` compares between students."""
    return {"deltas": q6_deltas(ev.run.pngs, ev.ref.q6_images)}


def verdict(ev: Evidence) -> Verdict:
    from ...solvers.mnist_model import predict_proba

    r = ev.ref
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
    if len(r.q6_images) < 2:
        return Verdict("unverified", None, expected, "I0.png or I1.png is missing from Q_6/, so images cannot be matched")
    rows, best = [], {"I0": [], "I1": []}
    probs = predict_proba(r.q6_model, np.stack([im for _, im in pngs])) if r.q6_model is not None else None
    for k, (rel, im) in enumerate(pngs):
        d = {n: _l2(im, base) for n, base in r.q6_images.items()}
        src = min(d, key=d.get)
        pred = int(probs[k].argmax()) if probs is not None else None
        rows.append(f"{rel} ~ {src}: L2 {d[src]:.4f} ([0, 1]) = {255 * d[src]:.1f} (0..255)"
                    + (f", read as {pred} (p = {probs[k, pred]:.2f})" if pred is not None else ""))
        best[src].append((d[src], rel, pred))
    found = "; ".join(rows)
    if probs is None:
        return Verdict("unverified", found, expected, r.missing.get("Q6 model"))
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
    base, vbase = ev.ref.q6_images[n], v.ref.q6_images[n]
    other = v.q6_digits.get(n, f"another digit of {n}'s class")
    if np.array_equal(base, vbase):
        return "unverified", f"the variant run kept the quiz's {n} (no other digit to draw): a human should decide"
    first = {**ev.run.rewritten, **ev.run.pngs}[rel]                   # (28, 28) the first run's I_n'
    vim = v.run.pngs.get(rel, v.run.rewritten.get(rel))
    if vim is None:                                            # written under another name: the nearest to I_n
        near = [(_l2(im, vbase), p) for p, im in v.run.pngs.items()
                if min(v.ref.q6_images, key=lambda m: _l2(im, v.ref.q6_images[m])) == n]
        if near:
            rel = min(near)[1]
            vim = v.run.pngs[rel]
    if vim is None:
        failed = Evidence(v.run, v.ref).failed(NUMBER)
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
    p = predict_proba(v.ref.q6_model, vim[None])[0]                       # (10,)
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

