"""End to end: build a zip, check it like a TA, read answers back from the executed notebook."""
import re
import zipfile
from pathlib import Path

import nbformat
import pytest

from quiz1.cli import main
from quiz1.notebook.build import BuildContext, build_notebook, source_cells
from quiz1.submission import validate_student_id

SOLVER_MODULES = ["quiz1.solvers.softmax_ce", "quiz1.solvers.double_backward", "quiz1.solvers.symbolic_grad",
                  "quiz1.solvers.unpaired", "quiz1.notebook.figures", "quiz1.solvers.adversarial",
                  "quiz1.solvers.mnist_model", "quiz1.solvers.encoders", "quiz1.solvers.neural_encoders",
                  "quiz1.solvers.optim",
                  "quiz1.solvers.compute_graph",
                  "quiz1.notebook.answer"]


@pytest.mark.parametrize("module", SOLVER_MODULES)
def test_source_cells_are_the_module_verbatim(module):
    import importlib
    from pathlib import Path

    text = Path(importlib.import_module(module).__file__).read_text()
    for c in source_cells(module):
        assert c.code in text  # verbatim, no twin copy
        assert not re.search(r"^\s*(import|from)\s+quiz1", c.code, re.M)


def test_notebook_structure_without_execution():
    nb = build_notebook(BuildContext("A0000000X", "test data"))
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for q in range(1, 8):
        assert re.search(rf"^## Question {q}\b", md, re.M)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    sourced = [c for c in code_cells if c.source.startswith("# source: quiz1/")]
    assert len(sourced) >= 6
    assert not any(re.search(r"^\s*(import|from)\s+quiz1", c.source, re.M) for c in code_cells)
    assert all("/work/" not in c.source and "../shared" not in c.source for c in code_cells)


@pytest.mark.parametrize("sid", ["A0123456X", "A0000000X"])
def test_valid_ids(sid):
    assert validate_student_id(sid) == sid


@pytest.mark.parametrize("sid", ["a0123456x", "A012345X", "A01234567", "B0123456X", ""])
def test_invalid_ids(sid):
    with pytest.raises(ValueError, match="student id"):
        validate_student_id(sid)


def _answers(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    text = "\n".join(o.get("text", "") or o.get("data", {}).get("text/plain", "")
                     for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    return text


def _layout(zpath):
    with zipfile.ZipFile(zpath) as zf:
        return sorted(n for n in zf.namelist())


def _no_builder_paths(zpath, *paths):
    """No file inside the zip names the builder's folders (home, repository, shared data, temporary folders)."""
    with zipfile.ZipFile(zpath) as zf:
        for name in zf.namelist():
            blob = zf.read(name)
            for p in paths:
                assert str(p).encode() not in blob, f"{name} holds the builder's path {p}"


@pytest.mark.slow
def test_build_standin(tmp_path, capsys):
    """quiz1's own build on the embedded data: every cell runs (a failing cell fails the build), the layout is the
    quiz's, no overwrite without --force, and the zip names none of the builder's folders. (It is graded below, on
    the real data: one full execution fewer, the same grader.)"""
    import os
    import tempfile

    assert main(["build", "--out", str(tmp_path), "--quiet"]) == 0
    z = tmp_path / "A0000000X.zip"
    names = _layout(z)
    assert {n.split("/")[0] for n in names} == {"Q_1", "Q_4", "Q_5", "Q_6", "A0000000X.ipynb"}
    assert main(["build", "--out", str(tmp_path), "--quiet"]) == 2  # no overwrite without --force
    capsys.readouterr()
    _no_builder_paths(z, Path.home(), Path(__file__).resolve().parents[1], tempfile.gettempdir() + "/",
                      os.environ.get("QUIZ1_CACHE") or Path.home() / ".cache")


def test_every_generated_code_cell_compiles():
    nb = build_notebook(BuildContext("A0000000X", "test data"))
    for i, c in enumerate(nb.cells):
        if c.cell_type == "code":
            compile(c.source, f"cell {i}", "exec")


def test_markdown_cells_are_not_indented_code_blocks():
    """Text substituted into a template (the assumptions list) must not leave the rest indented: four leading
    spaces turn Markdown into a grey preformatted block. Every Markdown cell starts at column 0; the title is an h1."""
    nb = build_notebook(BuildContext("A0000000X", "**Embedded** data", assumptions=["one", "two"]))
    md_cells = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert md_cells[0].startswith("# CS5242")
    assert "\n- one\n- two\n" in md_cells[0]
    for src in md_cells:
        first = next(ln for ln in src.splitlines() if ln.strip())
        assert not first.startswith(" "), first


# ---- the notebook's sources: percent-format question files, read with jupytext (#17)

REPO = Path(__file__).resolve().parents[1]


def test_question_files_and_the_rest_pass_ruff():
    """The question files are linted like the rest (pyproject's [tool.ruff]): undefined names, unused imports."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "ruff", "check", "src", "tests", "bench", "docs"], capture_output=True,
                         text=True, cwd=REPO)
    assert out.returncode == 0, out.stdout + out.stderr


def test_one_parameters_cell_that_papermill_can_override(tmp_path):
    """Every file's parameters land in one cell tagged `parameters`, holding this build's values; papermill's own
    loader and parameterize_notebook inject its cell right after it, so running the two gives papermill's value."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = build_notebook(BuildContext("A0123456X", "some data", trust_model=True))
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    ns: dict = {}
    exec(nb.cells[tagged[0]].source, ns)  # noqa: S102 -- our own generated cell
    from quiz1.data.loaders import figure1_dot

    assert (ns["STUDENT_ID"], ns["DATA_DESCRIPTION"], ns["TRUST_MODEL"]) == ("A0123456X", "some data", True)
    assert ns["FIGURE1_DOT"] == figure1_dot()
    assert ns["Q6_ATTACK"]["steps"] > 0
    nbformat.write(nb, tmp_path / "nb.ipynb")
    nb2 = parameterize_notebook(load_notebook_node(str(tmp_path / "nb.ipynb")), {"STUDENT_ID": "A7654321Y"})
    injected = nb2.cells[tagged[0] + 1]
    assert "injected-parameters" in injected.metadata.tags
    exec(injected.source, ns)  # noqa: S102
    assert ns["STUDENT_ID"] == "A7654321Y"


def test_text_quotes_the_build_values_and_no_placeholder_is_left():
    from quiz1.notebook.build import PLACEHOLDER, attack_defaults

    nb = build_notebook(BuildContext("A0123456X", "DATA-XYZ", assumptions=["first", "second"], model_description="MODEL-Q"))
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert not PLACEHOLDER.search(md) and "{{DATA" not in md
    assert "DATA-XYZ" in md and "MODEL-Q" in md and "- first\n- second" in md
    d = attack_defaults()
    assert f"The {d['restarts']} restarts" in md and f"run as one batch for {d['steps']}\nsteps" in md
    assert f"{100 * d['gamma'][0]:.0f}% to {100 * d['gamma'][1]:.1f}%" in md


def test_unknown_placeholder_is_an_error():
    from quiz1.notebook.build import fill

    with pytest.raises(AssertionError, match="NOT_SET"):
        fill("a {{NOT_SET}} b", {"X": 1}, set())
    assert fill("{{X.k.1:.0%}} and {{X.t}}", {"X": {"k": (0, 0.25), "t": (1, 2)}}, set()) == "25% and 1, 2"


def test_q2_cell_in_the_file_is_the_program_the_build_writes():
    """The question file shows the program the solver writes for Figure 1, so reading the file is reading the
    notebook's answer (the build rewrites it from the solver; the two must agree)."""
    import jupytext

    from quiz1.notebook.build import QUESTIONS_DIR, BuildContext, _compute_tree, build_values

    cell = next(c for c in jupytext.read(QUESTIONS_DIR / "q2_compute_graph.py").cells if c.metadata.get("generated"))
    assert _compute_tree(cell.source, build_values(BuildContext("A0000000X", "x"))) == cell.source


def test_solver_code_is_collapsed_and_placed_once():
    nb = build_notebook(BuildContext("A0000000X", "x"))
    solver = [c for c in nb.cells if c.cell_type == "code" and "source" in c.metadata.get("quiz1", {})]
    keys = [(c.metadata["quiz1"]["source"], c.metadata["quiz1"]["cell"]) for c in solver]
    assert len(keys) == len(set(keys)) > 20
    assert all(c.metadata["jupyter"]["source_hidden"] for c in solver)
    drivers = [c for c in nb.cells if c.cell_type == "code" and c not in solver
               and "parameters" not in c.metadata.get("tags", [])]
    assert all(not c.metadata.get("jupyter", {}).get("source_hidden") for c in drivers)


def test_adding_a_question_is_one_file_and_one_line(tmp_path, monkeypatch):
    import quiz1.notebook.build as build

    q8 = tmp_path / "q8_extra.py"
    q8.write_text('# %% [markdown]\n# ## Question 8 — an extra one [1 mark]\n\n# %% [markdown]\n# Asked: $x^2$.\n\n'
                  '# %% solver="quiz1.notebook.answer"\nfrom quiz1.notebook.answer import show_answer\n\n'
                  '# %%\nshow_answer("Q8", {"x": 1})\n')
    monkeypatch.setattr(build, "QUESTION_FILES", [*build.QUESTION_FILES, str(q8)])
    nb = build.build_notebook(BuildContext("A0000000X", "x"))
    assert "[Question 8 — an extra one](#q8) [1 mark] · [answer](#answer-Q8)" in nb.cells[0].source
    assert nb.cells[-1].source == 'show_answer("Q8", {"x": 1})'
    assert nb.cells[-3].metadata["quiz1"] == {"question": "Q8"}  # the answer helper is not placed twice
