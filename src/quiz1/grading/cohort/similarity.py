"""Similar submissions across a class, for a human to look at: never a verdict, never a mark.

For every pair of graded submissions in ``OUTDIR`` (``<stem>.ipynb`` and ``<stem>.json``):

- **code**: winnowed k-gram fingerprints of the code cells (``copydetect``, MOSS's method: tokens by Pygments,
  names and literals normalised, so renaming, reformatting, reordered cells and added comments change nothing),
  scored as the share of the smaller submission's fingerprints the two have in common, after removing what everyone
  shares: the quiz's own code (Q2's ``print_compute_tree``, Q7's class G and main block) and fingerprints found in
  more than ``COMMON_SHARE`` of the class; fingerprinted cell by cell, so reordering cells changes nothing; flagged
  at a share of ``CODE_BAR``, or at ``CODE_BLOCK`` fingerprints in common (a copied block) when they are also at
  least ``BLOCK_SHARE`` of the smaller side: the usual training loop and plotting lines two honest students both
  write reach 23 fingerprints between two whole notebooks of the tests' class, but only 0.097 of the smaller one,
  while a question copied between two whole notebooks there is 0.412 of it (87 fingerprints); the bar lies between;
- **markdown**: the same on the explanations' words (normalised, 8-word shingles);
- **answers**: the same *wrong* value (Q1, Q2's vector, Q7's gradients): strong evidence, since independent mistakes
  rarely agree; but not the quiz's own RuntimeError, which every student who left Q7 unfixed shows;
- **measures**: what a question measured of two students is the same, by the question's own ``same_pairs(measures)``
  hook (Q6: a correlation of I0' - I0, or I1' - I1, of at least its ``SAME_BAR``: two honest gradient attacks on the
  same M start alike, so the bar is near identity), drawn side by side by its ``same_views``.

The fingerprints are copydetect's, but for one piece: its k-gram hash is Python's ``hash()``, salted afresh in
every process, so winnowing (which keeps each window's smallest hash) kept other k-grams in each run and pairs near
the bars came and went (three runs on one class: 36, 35 and 37 shared fingerprints). The tokens (``filter_code``),
the winnowing (``winnow``) and the highlighting stay copydetect's; each k-gram is hashed here by BLAKE2b
(``_kgram_hashes``), so ``similarity.csv`` is the same file in every run.

Pairs are found through an inverted index (fingerprint -> submissions), not all-pairs text diffs, so a class of 300
takes seconds. Pairs over the thresholds are grouped into clusters (``networkx`` components) and written to
``similarity.csv`` and ``similarity.html``, each pair with the evidence of its kinds in panes named by student: the
matching code (copydetect's highlighting) or the matching explanations (their shared 8-word runs) side by side, the
shared wrong answer, what the question draws of both (Q6: both changes).
"""
from __future__ import annotations

import csv
import hashlib
import html
import io
import itertools
import json
import re
import textwrap
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np

from ...data.atomic import write_text
from ..questions import modules
from ..report import template

K, WINDOW = 20, 6                 # tokens a fingerprint spans; winnowing window (copydetect's guarantee = K + WINDOW - 1)
COMMON_SHARE = 0.3                # a fingerprint in more than this share of the class is boilerplate
CODE_BAR, MARKDOWN_BAR = 0.5, 0.5   # shares of the smaller side's own fingerprints
CODE_BLOCK = 8                      # or this many shared code fingerprints: a block of about 40 tokens or more ...
BLOCK_SHARE = 0.2                   # ... that is also this share of the smaller side (measured: see above)
SHINGLE = 8
QUIZ_CODE = '''
from torchviz import make_dot
def print_compute_tree(name,node):
    dot = make_dot(node)
    dot.render(name)

import torch

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


@dataclass
class Submission:
    stem: str
    student: str
    code: str
    markdown: str
    wrong: dict                                   # question -> the wrong value, normalised
    measures: dict = field(default_factory=dict)  # question -> its measures (report JSON), for its same_pairs hook
    cells: list = field(default_factory=list)     # the code cells' sources
    code_hashes: set = field(default_factory=set)  # their fingerprints, cell by cell (none spans two cells)
    md_hashes: set = field(default_factory=set)
    md_own: set = field(default_factory=set)       # its shingles that count (not in more than COMMON_SHARE of the class)


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    code: float
    markdown: float
    answers: tuple                                # questions with the same wrong value
    shared: int = 0                               # code fingerprints in common
    same: tuple = ()                              # (question, score): its measures the same (its same_pairs hook)

    @property
    def kinds(self) -> tuple:
        code = self.code >= CODE_BAR and self.shared >= 3 or self.shared >= CODE_BLOCK and self.code >= BLOCK_SHARE
        return tuple(k for k, hit in (("code", code), ("markdown", self.markdown >= MARKDOWN_BAR),
                                      ("answers", bool(self.answers))) if hit) + tuple(q.lower() for q, _ in self.same)


@dataclass(frozen=True)
class Fingerprint:
    """One text's winnowed fingerprints, with the fields of copydetect's ``CodeFingerprint`` that its
    ``compare_files`` and ``highlight_overlap`` read."""

    raw_code: str
    filtered_code: str
    offsets: np.ndarray          # (n, 2) copydetect's map from the filtered text back to the raw one
    hashes: set                  # the selected k-gram hashes (ints)
    hash_idx: dict               # hash -> the offsets in the filtered text where its k-gram starts
    k: int
    token_coverage: float


def _kgram_hashes(text: str, k: int) -> np.ndarray:
    """Each k-gram of ``text`` hashed to the first 48 bits of its BLAKE2b digest, (len(text) - k + 1,) int64:
    the same numbers in every process (Python's ``hash()`` is salted per process), and exact in the float buffer
    copydetect's Python winnowing compares them in."""
    return np.array([int.from_bytes(hashlib.blake2b(text[i:i + k].encode(), digest_size=6).digest(), "big")
                     for i in range(len(text) - k + 1)], dtype=np.int64)


def _fingerprint(code: str, boilerplate=None, window: int = WINDOW) -> Fingerprint:
    """copydetect's tokens (``filter_code``) and winnowing, on stable k-gram hashes; ``boilerplate``: hashes set
    aside."""
    from copydetect.utils import filter_code, get_token_coverage, winnow

    filtered, offsets = filter_code(code, "notebook.py", "python")
    hashes, idx = winnow(_kgram_hashes(filtered, K), window, remove_duplicates=False)
    if boilerplate is not None and len(boilerplate):
        keep = ~np.isin(hashes, np.asarray(list(boilerplate), dtype=np.int64))
        hashes, idx = hashes[keep], idx[keep]
    hash_idx = defaultdict(list)
    for h, i in zip(hashes.tolist(), idx.tolist()):
        hash_idx[h].append(i)
    return Fingerprint(code, filtered, offsets, set(hash_idx), dict(hash_idx), K,
                       get_token_coverage(hash_idx, K, len(filtered)))


def _quiz_hashes() -> set:
    """Every k-gram of the quiz's own code (window 1: not a winnowed sample, whose choice of minima depends on the
    text around it), as given and with its main block pasted at the top level (as most students run it), so none of
    it can count as shared."""
    guard = 'if __name__ == "__main__":'
    i = QUIZ_CODE.index(guard)
    unguarded = QUIZ_CODE[:i] + textwrap.dedent(QUIZ_CODE[i + len(guard):])   # the main block pasted at top level
    return set(_fingerprint(QUIZ_CODE, window=1).hashes) | set(_fingerprint(unguarded, window=1).hashes)


def _words(text: str) -> list[re.Match]:
    return list(re.finditer(r"[A-Za-z0-9]+", text))


def _shingle(words: list[str]) -> str:
    return hashlib.blake2b(" ".join(w.lower() for w in words).encode(), digest_size=8).hexdigest()


def _shingles(text: str) -> set:
    words = [m.group(0) for m in _words(text)]
    return {_shingle(words[i:i + SHINGLE]) for i in range(max(0, len(words) - SHINGLE + 1))}


def _marked_words(text: str, shared: set) -> str:
    """``text`` escaped, with the words of each of its shingles in ``shared`` in ``<mark>``."""
    found = _words(text)
    words = [m.group(0) for m in found]
    hit = [False] * len(words)
    for i in range(max(0, len(words) - SHINGLE + 1)):
        if _shingle(words[i:i + SHINGLE]) in shared:
            hit[i:i + SHINGLE] = [True] * SHINGLE
    parts, at, i = [], 0, 0
    while i < len(found):
        if not hit[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(found) and hit[j + 1]:
            j += 1
        start, end = found[i].start(), found[j].end()
        parts += [html.escape(text[at:start]), "<mark>", html.escape(text[start:end]), "</mark>"]
        at, i = end, j + 1
    return "".join(parts) + html.escape(text[at:])


def _wrong_values(report: dict) -> dict:
    out = {}
    for q in modules():          # the questions whose wrong answer is a value two students can share
        v = report.get("questions", {}).get(q.NAME, {})
        if hasattr(q, "shared_wrong") and v.get("status") == "wrong" and v.get("found") \
                and v["found"] != "no value printed" and (value := q.shared_wrong(v["found"])):
            out[q.NAME] = value
    return out


def _same_hooks() -> list:
    """The questions that say when two students' measures are the same (``same_pairs``, ``same_views``)."""
    return [q for q in modules() if hasattr(q, "same_pairs")]


def load_class(out: Path) -> list[Submission]:
    """The graded submissions of ``out``: their code, Markdown and wrong answers."""
    subs = []
    for rep_path in sorted(out.glob("*.json")):
        try:
            report = json.loads(rep_path.read_text())
            nb = nbformat.read(out / f"{rep_path.stem}.ipynb", as_version=4)
        except (OSError, ValueError, KeyError):
            continue
        code = "\n\n".join(c.source for c in nb.cells if c.cell_type == "code" and not c.source.lstrip().startswith("%"))
        md = "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        cells = [c.source for c in nb.cells if c.cell_type == "code" and not c.source.lstrip().startswith("%")]
        measured = report.get("measures") or {}
        subs.append(Submission(rep_path.stem, report.get("student_id") or rep_path.stem, code, md, _wrong_values(report),
                               {q.NAME: measured[q.NAME] for q in _same_hooks() if isinstance(measured.get(q.NAME), dict)},
                               cells))
    return subs


def similar_pairs(subs: list[Submission], share: float = COMMON_SHARE) -> list[Pair]:
    """Every pair over a bar (code or Markdown shared, or the same wrong answer), most similar first."""
    quiz = _quiz_hashes()
    for s in subs:
        s.code_hashes = {h for c in s.cells for h in _fingerprint(c).hashes}
        s.md_hashes = _shingles(s.markdown)
    limit = max(2, share * len(subs))
    code_count = Counter(h for s in subs for h in s.code_hashes)
    md_count = Counter(h for s in subs for h in s.md_hashes)
    own = {s.stem: {h for h in s.code_hashes if h not in quiz and code_count[h] <= limit} for s in subs}
    own_md = {s.stem: {h for h in s.md_hashes if md_count[h] <= limit} for s in subs}
    for s in subs:
        s.md_own = own_md[s.stem]
    shared_code, shared_md = Counter(), Counter()
    for index, counts, sets in ((defaultdict(list), shared_code, own), (defaultdict(list), shared_md, own_md)):
        for stem, hashes in sets.items():
            for h in hashes:
                index[h].append(stem)
        for stems in index.values():
            for a, b in itertools.combinations(sorted(stems), 2):
                counts[a, b] += 1
    by_answer = defaultdict(list)
    for s in subs:
        for q, v in s.wrong.items():
            by_answer[q, v].append(s.stem)
    same_wrong = defaultdict(list)
    for (q, _), stems in by_answer.items():
        if len(stems) <= limit:
            for a, b in itertools.combinations(sorted(stems), 2):
                same_wrong[a, b].append(q)
    same = defaultdict(dict)
    for q in _same_hooks():      # each question's own measure of sameness, on the students it measured
        for (a, b), score in q.same_pairs({s.stem: s.measures[q.NAME] for s in subs if q.NAME in s.measures}).items():
            same[tuple(sorted((a, b)))][q.NAME] = round(score, 4)
    pairs = []
    for a, b in set(shared_code) | set(shared_md) | set(same_wrong) | set(same):
        code = shared_code[a, b] / max(1, min(len(own[a]), len(own[b])))
        md = shared_md[a, b] / max(1, min(len(own_md[a]), len(own_md[b])))
        p = Pair(a, b, round(code, 3), round(md, 3), tuple(sorted(same_wrong[a, b])), shared_code[a, b],
                 tuple(sorted(same.get((a, b), {}).items())))
        if p.kinds:
            pairs.append(p)
    return sorted(pairs, key=lambda p: (-len(p.kinds), -max(p.code, p.markdown), p.a, p.b))


def clusters(pairs: list[Pair]) -> list[list[str]]:
    import networkx as nx

    g = nx.Graph((p.a, p.b) for p in pairs)
    return sorted((sorted(c) for c in nx.connected_components(g)), key=lambda c: (-len(c), c))


def _side_by_side(a: Submission, b: Submission, boilerplate: list) -> tuple[str, str]:
    from copydetect import compare_files
    from copydetect.utils import highlight_overlap

    fa, fb = _fingerprint(a.code, boilerplate), _fingerprint(b.code, boilerplate)
    _, _, (sa, sb) = compare_files(fa, fb)
    if len(sa) == 0:
        return html.escape(a.code), html.escape(b.code)
    return (highlight_overlap(fa.raw_code, sa, "<mark>", "</mark>", escape_html=True)[0],
            highlight_overlap(fb.raw_code, sb, "<mark>", "</mark>", escape_html=True)[0])


def _same_of(text: str) -> tuple:
    """``similarity.csv``'s "same_measures" ("Q6 0.9987 ..."), read back as ``Pair.same``."""
    words = text.split()
    return tuple((q, float(x)) for q, x in zip(words[::2], words[1::2]))


def read_similarity(out: str | Path) -> list[Pair] | None:
    """The pairs ``write_similarity`` last wrote to ``out/similarity.csv`` (named by student, as the CSV names
    them), or None when there is no such file or it cannot be read (``report.html`` then leaves the section out)."""
    try:
        with open(Path(out) / "similarity.csv", newline="") as f:
            return [Pair(r["student_a"], r["student_b"], float(r["code"]), float(r["markdown"]),
                         tuple(r["same_wrong_answers"].split()), int(r["shared_fingerprints"]),
                         _same_of(r.get("same_measures") or ""))
                    for r in csv.DictReader(f)]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_similarity(out: str | Path, share: float = COMMON_SHARE) -> list[Pair]:
    """``similarity.csv`` and ``similarity.html`` in ``out``; returns the pairs over a bar."""

    out = Path(out)
    subs = load_class(out)
    pairs = similar_pairs(subs, share)
    by_stem = {s.stem: s for s in subs}
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["student_a", "student_b", "code", "shared_fingerprints", "markdown", "same_wrong_answers",
                "same_measures", "kinds"])
    for p in pairs:
        w.writerow([by_stem[p.a].student, by_stem[p.b].student, p.code, p.shared, p.markdown, " ".join(p.answers),
                    " ".join(f"{q} {x}" for q, x in p.same), " ".join(p.kinds)])
    write_text(out / "similarity.csv", buf.getvalue())
    boiler = list(_quiz_hashes())
    views = []
    hooks = {q.NAME: q for q in _same_hooks()}
    for p in pairs[:100]:   # each pair with the evidence of its kinds: code, explanations, answers, measures
        a, b = by_stem[p.a], by_stem[p.b]
        code = _side_by_side(a, b, boiler) if "code" in p.kinds else None
        shared_md = a.md_own & b.md_own
        md = (_marked_words(a.markdown, shared_md), _marked_words(b.markdown, shared_md)) \
            if "markdown" in p.kinds else None
        same = [(q, x, hooks[q].SAME_WORDS, hooks[q].same_views(a.measures[q], b.measures[q])) for q, x in p.same]
        views.append({"pair": p, "a": a, "b": b, "code": code, "markdown": md, "same": same})
    write_text(out / "similarity.html", template("similarity.html.j2").render(
        views=views, clusters=[[by_stem[s].student for s in c] for c in clusters(pairs)], n=len(subs),
        code_bar=CODE_BAR, code_block=CODE_BLOCK, block_share=BLOCK_SHARE, md_bar=MARKDOWN_BAR, share=share,
        same_bars=[(q.NAME, q.SAME_WORDS, q.SAME_BAR) for q in _same_hooks()]))
    return pairs
