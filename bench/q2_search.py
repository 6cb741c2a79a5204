"""Q2 benchmark: exact search on random real programs (Add/Sub/Mul/Div, constant 5), claims rounded to 4 decimals.

Prints, per program: leaves, op nodes, programs tried, how many reproduce the claim, whether the real
program's output at [4,5,6] is among the answers, the make_dot isomorphism, and the time.
Run: .venv/bin/python bench/q2_search.py [N]
"""
import sys
import time
from pathlib import Path

import numpy as np
from torchviz import make_dot

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from q2_programs import random_program, run  # noqa: E402
from quiz1.data.loaders import figure1_dot  # noqa: E402
from quiz1.solvers.compute_graph import claim_tolerance, parse_torchviz, search  # noqa: E402


def main(n=20):
    fig = parse_torchviz(figure1_dot(), "Figure 1")
    t = time.perf_counter()
    r = search(fig, [1, 2, 3], [7, 11, 17], [4, 5, 6], 5.0, claim_tolerance(["7", "11", "17"]))
    print(f"Figure 1: {len(fig.ops)} ops, tried {r.candidates}, consistent {r.consistent}, "
          f"{time.perf_counter() - t:.3f} s\n")
    print(f"{'seed':>4} {'leaves':>6} {'ops':>4} {'tried':>9} {'match':>6} {'found':>6} {'iso':>4} {'sec':>7}")
    times, found = [], 0
    seed, done = 0, 0
    while done < n:
        nl = 2 + seed % 3
        code = random_program(seed, nl, 12 + seed % 7)
        seed += 1
        out = run(code, nl, [1.0, 2.0, 3.0])
        truth = run(code, nl, [4.0, 5.0, 6.0]).tolist()
        if not (np.isfinite(out.tolist()).all() and np.isfinite(truth).all()):
            continue  # a claim must be a number
        claim = [f"{v:.4f}" for v in out.tolist()]
        g = parse_torchviz(make_dot(out).source)
        t = time.perf_counter()
        r = search(g, [1, 2, 3], [float(c) for c in claim], [4, 5, 6], 5.0, claim_tolerance(claim))
        dt = time.perf_counter() - t
        hit = any(np.allclose(e, truth, rtol=1e-4, atol=1e-3) for e in r.eval_outputs)
        found += hit
        times.append(dt)
        done += 1
        print(f"{seed - 1:>4} {nl:>6} {len(g.ops):>4} {r.candidates:>9} {r.consistent:>6} {str(hit):>6} "
              f"{str(r.isomorphic):>4} {dt:>7.3f}")
    print(f"\nreal program's answer found: {found}/{n}; time median {np.median(times):.3f} s, worst {max(times):.3f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
