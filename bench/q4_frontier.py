"""Q4 benchmark: parameters vs reconstruction MSE, plain tanh MLP autoencoders against quiz1's chart networks.

Also times the exact route per file (the `--no-nn` path). Run: .venv/bin/python bench/q4_frontier.py [QUIZ_DATA_DIR]
"""
import sys
import time
from pathlib import Path

from quiz1.data.loaders import load_cloud
from quiz1.solvers.encoders import chart_structure, find_chart, report
from quiz1.solvers.neural_encoders import neural_search


def main(data_dir):
    total = time.perf_counter()
    print(f"{'file':<12} {'network':<40} {'params':>7} {'MSE':>10} {'sec':>6}")
    for name in ("Q1Q4I1.txt", "Q1Q4I2.npz", "Q1Q4I3.npz"):
        X = load_cloud(Path(data_dir) / "Q4" / name)
        d = X.shape[1] - 1
        t = time.perf_counter()
        chart = find_chart(X, d)
        rep = report(chart, X)
        print(f"{name:<12} {'exact chart (no network)':<40} {'-':>7} {rep.max_reconstruction_error ** 2:>10.1e} "
              f"{time.perf_counter() - t:>6.2f}")
        rows = neural_search(X, d, chart_structure(chart), widths=(4, 8, 16, 32))
        for r in sorted(rows, key=lambda r: r.params):
            print(f"{name:<12} {r.family:<40} {r.params:>7} {r.mse:>10.2e} {r.seconds:>6.1f}")
    print(f"\ntotal {time.perf_counter() - total:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/quiz/Quizz_data")
