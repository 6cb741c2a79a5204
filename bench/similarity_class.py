"""Time `quiz1 similar` on a class of N synthetic submissions (default 300, so 44,850 pairs).

Each synthetic notebook holds seven code cells of random statements (its own names, operators and constants, about
the length of a real answer), the quiz's own Q7 code, and a paragraph of random words; ten of them are planted
copies of others with the names changed. Prints the time to read the class, to find the pairs, and to write
similarity.html/csv, and how many planted pairs were found.

    python bench/similarity_class.py [--n 300]
"""
from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import nbformat


def statement(rng: random.Random, names: list[str]) -> str:
    a, b, c = rng.sample(names, 3)
    op = rng.choice(["+", "-", "*", "/", "**"])
    f = rng.choice(["np.exp", "np.log1p", "np.sqrt", "abs", "np.tanh", "float"])
    return f"{a} = {f}({b} {op} {rng.randint(1, 99)}) {rng.choice(['+', '-', '*'])} {c}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    a = ap.parse_args()
    from quiz1.grading.cohort.similarity import QUIZ_CODE, load_class, similar_pairs, write_similarity

    rng = random.Random(0)
    words = [f"w{k}" for k in range(2000)]
    with tempfile.TemporaryDirectory(prefix="quiz1-similar-bench-") as tmp:
        out = Path(tmp)
        sources = {}
        for k in range(a.n):
            names = [f"v{rng.randint(0, 10 ** 6)}" for _ in range(12)]
            cells = ["import numpy as np\n" + "\n".join(statement(rng, names) for _ in range(10)) for _ in range(7)]
            sources[k] = cells
        planted = {a.n - 1 - j: j for j in range(10)}                     # the last ten copy the first ten, renamed
        for copy, orig in planted.items():
            sources[copy] = [c.replace("v", "renamed_") for c in sources[orig]]
        for k, cells in sources.items():
            stem = f"A{k:07d}X"
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(" ".join(rng.sample(words, 60)))]
                                          + [nbformat.v4.new_code_cell(c) for c in cells + [QUIZ_CODE]])
            nbformat.write(nb, out / f"{stem}.ipynb")
            (out / f"{stem}.json").write_text(json.dumps({"student_id": stem, "questions": {}}))
        t0 = time.monotonic()
        subs = load_class(out)
        t1 = time.monotonic()
        pairs = similar_pairs(subs)
        t2 = time.monotonic()
        write_similarity(out)
        t3 = time.monotonic()
    found = {(p.a, p.b) for p in pairs}
    hits = sum((f"A{orig:07d}X", f"A{copy:07d}X") in found for copy, orig in planted.items())
    print(f"\n{'step':<28} {'seconds':>8}")
    for name, sec in (("read the class", t1 - t0), ("find the pairs", t2 - t1), ("write similarity.html/csv", t3 - t2)):
        print(f"{name:<28} {sec:8.2f}")
    print(f"{a.n} submissions ({a.n * (a.n - 1) // 2} pairs): {len(pairs)} pair(s) flagged, {hits} of "
          f"{len(planted)} planted copies among them")


if __name__ == "__main__":
    main()
