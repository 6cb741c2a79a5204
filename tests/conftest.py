"""Shared fixtures: the real quiz data under ../shared when present (CI has it)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

# Under pytest-xdist every worker (and every kernel or process it starts) gets its share of the cores: two workers
# each running torch and OpenMP on all the cores oversubscribe them, and spinning threads made a test 30 times
# slower (measured: 269 s against 8.5 s).
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    _share = str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[_var] = _share


def pytest_collection_modifyitems(config, items):
    """Files with ``slow`` tests (whole builds, minutes) first, the most slow tests first; the rest as collected.

    Under ``--dist loadfile --no-loadscope-reorder`` (``make test``) each worker starts on one of them, instead of
    one arriving last and running alone while the other worker idles (xdist's default order is by test count).
    """
    files = list(dict.fromkeys(item.path for item in items))
    slow = {f: sum(1 for item in items if item.path == f and item.get_closest_marker("slow")) for f in files}
    rank = {f: (-slow[f], i) for i, f in enumerate(files)}
    items.sort(key=lambda item: rank[item.path])  # stable: a file's tests keep their order


REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
QUIZ_DATA = SHARED / "quiz" / "Quizz_data"
MNIST = SHARED / "mnist"


def _quiz_data() -> Path:
    """The real quiz data, or skip the test with the reason."""
    if not QUIZ_DATA.is_dir():
        pytest.skip(f"real quiz data not present at {QUIZ_DATA}")
    return QUIZ_DATA


def _mnist() -> Path:
    """The real MNIST test split, or skip the test with the reason."""
    if not (MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST test split not present at {MNIST}")
    return MNIST


@pytest.fixture
def quiz_data() -> Path:
    return _quiz_data()


@pytest.fixture
def mnist_dir() -> Path:
    return _mnist()


@pytest.fixture(scope="session")
def standin_dir(tmp_path_factory) -> Path:
    from quiz1.data.standin import write_standin

    d = tmp_path_factory.mktemp("standin")
    write_standin(d)
    return d


@pytest.fixture(scope="session")
def real_build(tmp_path_factory) -> Path:
    """quiz1's own build on the real quiz data (stand-in model trained on the real MNIST), made once per session:
    a folder holding ``A0123456X.zip`` and ``A0123456X.html``."""
    from quiz1.cli import main

    data, mnist = _quiz_data(), _mnist()
    out = tmp_path_factory.mktemp("real-build")
    assert main(["build", "--data", str(data), "--student-id", "A0123456X", "--out", str(out),
                 "--mnist", str(mnist), "--quiet"]) == 0
    return out
