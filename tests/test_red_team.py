"""Red team: student-style notebooks that try to game the grader, and honest ones in styles it used to misjudge.

Each notebook is written here by hand; the verdict asserted is the one a careful TA gives (issue "trustworthy
verdicts"). Every zip is graded as a TA grades a class: in the sandbox, against the TA's own data (``data=``) and M
(``model=``), with the second run on changed data. References are computed here (numpy), never read back from the
grader.
"""
import json

import nbformat
import numpy as np
import pytest
import torch

from quiz1.grading import grade_submission
from quiz1.grading.cohort.batch import Options, make_executor
from quiz1.grading.questions import content
from quiz1.grading.reading.sections import cell_questions
from quiz1.grading.reading.values import literal_in_code, numbers, read_number
from quiz1.grading.running.execution import png_files, read_png
from quiz1.grading.running.sandbox import bwrap_problem
from students import Q6_ATTACK, code, make_zip, md, q1_losses, seeded_data

needs_bwrap = pytest.mark.skipif(bwrap_problem() is not None, reason=f"no sandbox here: {bwrap_problem()}")

Q2_IN_A_FUNCTION = """
import torch

def compute_tree(x, y, w):
    t1, t2 = x * 5, x / 5
    t3 = t1 * t2 + (x + 5)
    t4 = t3 + y - t1
    t5 = y + t2
    return t4 + (t5 + t5 / w)

a, b, c = (torch.tensor([4., 5., 6.], requires_grad=True) for _ in range(3))
for v in compute_tree(a, b, c):        # one value a line
    print(f"{v.item():.4f}")
"""

Q7_MODULE_AFTER_THE_ERROR = """
import torch
import torch.nn as nn

class G:
    def __init__(self):
        self.g = torch.ones([2])
    def __call__(self, x):
        self.g[0] = x * x
        return torch.sum(self.g)

g = G()
xinit = torch.ones([1], requires_grad=True)
x = [xinit]; x.append(x[-1] + g(x[-1])); (x[-1] ** 2).backward()
x = [xinit]; x.append(x[-1] + g(x[-1])); (x[-1] ** 2).backward()   # the quiz's error, shown on purpose
"""

Q7_MODULE_FIX = """
class G(nn.Module):
    def __init__(self):
        super().__init__()
        self.g = torch.ones([2])
    def forward(self, x):
        g = self.g.clone()
        g[0] = x * x
        return g.sum()

g = G()
xinit = torch.ones([1], requires_grad=True)
x = [xinit]; x.append(x[-1] + g(x[-1])); (x[-1] ** 2).backward()
x = [xinit]; x.append(x[-1] + g(x[-1])); (x[-1] ** 2).backward()
print('----- well done ----- ', xinit.grad)
"""

Q7_CHANGED_GRADIENTS = """
import torch

class G:
    def __call__(self, x):
        return torch.sum(x * x)     # "fixed": the constant entry is gone, and with it the quiz's gradients

g = G()
xinit = torch.ones([1], requires_grad=True)
x = [xinit]; x.append(x[-1] + g(x[-1])); (x[-1] ** 2).backward()
x = [xinit]; x.append(x[-1] + g(x[-1])); (x[-1] ** 2).backward()
print('----- well done ----- ', xinit.grad)
"""

FORGE_DISPLAY = """
import IPython.display as d
_real = d.display
def display(*objs, **kw):
    objs = [{k: ({**v, "classes": [{"name": "G", "ok": True, "grads": [[18.0], [36.0]]}],
                  "tensors": []} if isinstance(v, dict) and "nonce" in v else v)
             for k, v in o.items()} if isinstance(o, dict) else o for o in objs]
    return _real(*objs, **kw)
d.display = display
print('----- first time ----- ')
print('----- well done ----- ')
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return seeded_data(tmp_path_factory.mktemp("quizdata"))


@pytest.fixture(scope="module")
def executor():
    return make_executor(Options(threads=1))


def attack_in_process(data, name, target, steps=300, step=0.05):
    """The Q6 attack of ``students.Q6_ATTACK``, run here: the uint8 image a student would have made beforehand."""
    from PIL import Image

    from quiz1.solvers.mnist_model import CustomModel

    m = CustomModel()
    m.load_state_dict(torch.load(data / "Q6" / "model.pth"))
    m.eval()
    image = torch.tensor(np.array(Image.open(data / "Q6" / f"{name}.png")), dtype=torch.float32)[None, None] / 255
    d = torch.zeros_like(image, requires_grad=True)
    for _ in range(steps):
        p = torch.softmax(m((image + d).clamp(0, 1)), 1)[0, target]
        g, = torch.autograd.grad((p - 1) ** 2, d)
        with torch.no_grad():
            d -= step * g / g.norm()
        j = ((image + d).clamp(0, 1) * 255).round()
        if m(j / 255).argmax().item() == target:
            break
    return j.to(torch.uint8)[0, 0].numpy()


def grade(path, data, executor, **kw):
    return grade_submission(path, progress=False, executor=executor, data=data, model=data / "Q6" / "model.pth",
                            timeout=300, **kw)


def status(rep):
    return {q: v.status for q, v in rep.questions.items()}


# --------------------------------------------------------------------------
# reading honest outputs (no kernel)


def test_numbers_as_honest_students_print_them():
    text = "Mean CE: 48.7892.\nTotal: 2,439.46\nloss 4.87892e+01, 3 classes."
    assert [p.text for p in numbers(text)] == ["48.7892", "2,439.46", "4.87892e+01", "3"]
    assert read_number("2,439.46").value == 2439.46 and read_number("2,439.46").digits == 6
    assert numbers("token 5e312 and 9e-400 in a hex string") == []                # no float for them: not numbers


def test_typed_literals_comments_aside_and_the_same_digit_bar():
    assert literal_in_code(read_number("48.8"), "print('mean CE:', 48.8)")          # 3 digits typed: typed
    assert not literal_in_code(read_number("48.7892"), "print(l.mean())  # about 48.7892")   # a comment: not typed
    assert not literal_in_code(read_number("48.7892"), "%matplotlib inline\nprint(l.mean())  # 48.7892")


def test_html_styler_output_a_column_tensor_and_per_sample_losses_are_read():
    from quiz1.grading.questions import q1
    from quiz1.grading.reading.values import vectors
    from quiz1.grading.running.execution import output_text

    styler = nbformat.v4.new_code_cell("df.style")
    styler.outputs = [nbformat.v4.new_output("execute_result", data={
        "text/plain": "<pandas.io.formats.style.Styler at 0x7f3a2c1d5e50>",
        "text/html": "<table><tr><td>mean CE</td><td>48.7892</td></tr></table>"}, execution_count=1)]
    assert "48.7892" in output_text(styler)[0]
    column = "tensor([[15.0000],\n        [22.2000],\n        [31.4000]], grad_fn=<AddBackward0>)"
    assert [15.0, 22.2, 31.4] in [[p.value for p in v] for v in vectors(column, 3)]
    losses = np.random.default_rng(0).uniform(40, 60, 50)                     # equation 2, one loss a sample
    text = "per-sample losses:\n" + np.array2string(losses, precision=4, max_line_width=80) + f"\nmean {losses.mean():.4f}"
    kinds = {kind for _, kind, _ in q1._hits(text, losses.mean(), losses.sum(), tuple(losses))}
    assert kinds == {"per-sample", "mean"}
    many = " ".join(f"{v:.4f}" for v in np.arange(40, 60, 0.01))                 # every candidate: no scalar counts
    assert q1._hits(many, 48.79, 2439.5, None) == []


@pytest.mark.parametrize("text, q", [
    ("## Question 4a", 4), ("<h2>Question 1</h2>", 1), ("# Part 3", 3), ("**Part 7: autograd**", 7),
    ("Question 5 asks us to learn f from two sets of points", None), ("Q1 and Q2 were the easy ones today", None),
])
def test_heading_forms(text, q):
    nb = nbformat.v4.new_notebook(cells=[md("intro"), md(text), code("x = 1")])
    got = cell_questions(nb, content())
    assert got[2] == (frozenset({q}) if q else frozenset())


def test_numbered_headings_count_only_without_named_ones_and_no_heading_splits_by_content():
    nb = nbformat.v4.new_notebook(cells=[md("## 1. Softmax"), code("x = 1"), md("## 2. The tree"), code("y = 2")])
    assert cell_questions(nb, content()) == [{1}, {1}, {2}, {2}]
    mixed = nbformat.v4.new_notebook(cells=[md("## Question 3"), md("### 1. the forward pass"), code("x = 1")])
    assert cell_questions(mixed, content()) == [{3}, {3}, {3}]
    bare = nbformat.v4.new_notebook(cells=[
        code("import numpy as np"), code("z = np.loadtxt('Q_1/data.txt')"), code("print(z.mean())"),
        code("from torchviz import make_dot"), code("class G:\n    pass"), code("print('----- well done -----')")])
    assert cell_questions(bare, content()) == [frozenset(), {1}, {1}, {2}, {7}, {7}]


def test_plt_imsave_with_its_default_colormap_reads_back_as_grey_levels(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    im = np.random.default_rng(0).integers(0, 256, (28, 28)).astype(np.uint8)
    im[0, 0], im[0, 1] = 0, 255                                           # imsave scales min..max to the colormap
    plt.imsave(tmp_path / "viridis.png", im)
    plt.imsave(tmp_path / "gray.png", im, cmap="gray")
    for name in ("viridis.png", "gray.png"):
        got = read_png(tmp_path / name)
        assert got is not None and np.abs(got.astype(int) - im).max() <= 1, name
        # exact but where the colormap's bytes cannot tell two levels apart (viridis: 104/105 and 137/138 are one
        # colour, found from matplotlib's own table here): a readback 1 off elsewhere can flip a thin margin of M's
        table = matplotlib.colormaps[name[:-4]](np.arange(256), bytes=True)[:, :3]
        alike = {k for k in range(1, 256) if (table[k] == table[k - 1]).all()}
        off = got.astype(int) != im
        assert set(np.unique(im[off]).tolist()) <= alike and np.abs(got.astype(int) - im)[off].max(initial=0) <= 1, name


def test_pngs_are_found_by_lstat_without_following_links_or_reading_huge_files(tmp_path):
    from PIL import Image

    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "a.png")
    (tmp_path / "link.png").symlink_to(tmp_path / "a.png")
    with open(tmp_path / "huge.png", "wb") as f:
        f.truncate(1 << 40)                                                 # a sparse terabyte, never read
    (tmp_path / "dir.png").mkdir()
    assert sorted(png_files(tmp_path)) == ["a.png"]


# --------------------------------------------------------------------------
# gamed notebooks: none gets a correct


@needs_bwrap
def test_typed_scaled_hard_coded_and_forged_answers(tmp_path, data, executor):
    """Q1: the mean typed with 3 digits; Q2: Figure 1's output typed and scaled; Q6: adversarial pixels made
    beforehand and written by the notebook; Q7: a display hook that forges the grader's probe, no class G (it prints
    the quiz's messages: an answer typed in, issue 33)."""
    mean = q1_losses(data).mean()
    adv = {n: attack_in_process(data, n, t).tolist() for n, t in (("I0", 1), ("I1", 7))}
    cells = [md("## Question 1"), code(f"print('mean CE:', {mean:.3g})"),
             md("## Question 2"), code("import numpy as np\nprint(np.array([150, 222, 314]) / 10)"),
             md("## Question 6"), code("import numpy as np\nfrom PIL import Image\n" + "".join(
                 f"Image.fromarray(np.array({adv[n]}, dtype=np.uint8)).save('Q_6/{n}_adv.png')\n" for n in adv)),
             md("## Question 7"), code(FORGE_DISPLAY)]
    rep = grade(make_zip(tmp_path / "A9000001A.zip", data, {"A9000001A.ipynb": cells}), data, executor)
    st = status(rep)
    assert (st["Q1"], st["Q2"], st["Q6"], st["Q7"]) == ("wrong", "wrong", "wrong", "wrong"), rep.table()   # Q7: typed
    assert "typed into the code" in rep.questions["Q1"].note
    assert "no program computes it" in rep.questions["Q2"].note
    assert "did not follow" in rep.questions["Q6"].note and "pre-made" in rep.questions["Q6"].note
    assert not rep.passed


@needs_bwrap
def test_every_candidate_and_a_touched_pre_made_image(tmp_path, data, executor):
    mean = q1_losses(data).mean()
    lo = np.floor(mean) - 1
    pre = {f"Q_6/{n}_adv.png": attack_in_process(data, n, t) for n, t in (("I0", 1), ("I1", 7))}
    blobs = {}
    from io import BytesIO

    from PIL import Image
    for name, im in pre.items():
        buf = BytesIO()
        Image.fromarray(im).save(buf, format="PNG")
        blobs[name] = buf.getvalue()
    cells = [md("## Question 1"), code(f"import numpy as np\nprint(np.round(np.arange({lo}, {lo + 2}, 1e-4), 4).tolist())"),
             md("## Question 6"), code("import os\nfor n in ('I0', 'I1'):\n    os.utime(f'Q_6/{n}_adv.png')\n"
                                       "print('wrote the adversarial images')")]
    rep = grade(make_zip(tmp_path / "A9000002B.zip", data, {"A9000002B.ipynb": cells}, extra=blobs), data, executor)
    st = status(rep)
    assert st["Q1"] == "wrong" and st["Q6"] in ("wrong", "missing"), rep.table()


@needs_bwrap
def test_an_answer_read_from_a_shipped_file_and_doctored_data(tmp_path, data, executor):
    """The mean read from a text file in the zip (no digits in the code), and a doctored I0.png shipped: graded against
    the TA's data, the file is named a problem, and the value does not follow the variant data."""
    mean = q1_losses(data).mean()
    cells = [md("## Question 1"), code("print('mean CE:', open('answer.txt').read().strip())")]
    doctored = (data / "Q6" / "I1.png").read_bytes()                       # the I1 image in I0's place
    z = make_zip(tmp_path / "A9000003C.zip", data, {"A9000003C.ipynb": cells}, skip=("I0.png", "model.pth"),
                 extra={"answer.txt": f"{mean:.6f}".encode(), "Q_6/I0.png": doctored,
                        "Q_6/model.pth": b"a model that reads every image as the target"})
    rep = grade(z, data, executor)
    assert rep.questions["Q1"].status == "wrong", rep.table()
    assert "did not change when the data changed" in rep.questions["Q1"].note
    assert any("Q_6/I0.png differs" in p for p in rep.problems), rep.problems
    assert any("Q_6/model.pth differs from the TA's copy" in p for p in rep.problems), rep.problems


# --------------------------------------------------------------------------
# honest notebooks in their own styles: correct


@needs_bwrap
def test_honest_work_in_styles_the_grader_used_to_misjudge(tmp_path, data, executor, monkeypatch):
    """An HTML heading, pandas, a sentence's full stop and thousands separators, digits in a comment, logging to
    stderr; Q2 computed in a function and printed a value a line; Q6 saved with plt.imsave's default colormap; Q7
    fixed as an nn.Module after showing the quiz's own error.

    The variant's digits are drawn with a fixed seed here: this attack stops at the first step M reads the target,
    a margin of about 0.001 on the untrained M, and viridis writes two pairs of grey levels (104/105, 137/138) as one
    colour, so on some drawn digits the saved file is read 1 off on a few pixels and M reads another class (2 of 24
    images in a trial of twelve seeds): then the grader's `unverified` is a fair verdict, and the test would be
    about the draw, not about the styles."""
    monkeypatch.setattr("quiz1.grading.grade.secrets.randbits", lambda k: 0)
    ce = q1_losses(data)
    q1 = f"""
import logging
import numpy as np
import pandas as pd
z, y = np.loadtxt('Q_1/data.txt'), np.loadtxt('Q_1/labels.txt')
z = z - z.max(1, keepdims=True)
l = -(y * (z - np.log(np.exp(z).sum(1, keepdims=True)))).sum(1)   # about {ce.mean():.4f} on the quiz's data
print(f'Mean CE: {{l.mean():.4f}}.')
print(f'Total: {{l.sum():,.2f}}')
logging.warning('per-sample losses computed for %d samples', len(l))
pd.DataFrame({{'loss': l}}).describe()
"""
    q6 = Q6_ATTACK.format(steps=300, step=0.05).replace(
        "    Image.fromarray(J).save(out)\n", "    import matplotlib.pyplot as plt\n    plt.imsave(out, J)\n")
    cells = [md("<h2>Question 1</h2>"), code(q1), md("## Question 2: the tree"), code(Q2_IN_A_FUNCTION),
             md("## Question 6"), code(q6), md("## Question 7"), code(Q7_MODULE_AFTER_THE_ERROR),
             code(Q7_MODULE_FIX)]
    rep = grade(make_zip(tmp_path / "A9100001A.zip", data, {"A9100001A.ipynb": cells}), data, executor)
    st = status(rep)
    assert (st["Q1"], st["Q2"], st["Q6"], st["Q7"]) == ("correct", "correct", "correct", "correct"), rep.table()
    assert f"{ce.mean():.4f}" in rep.questions["Q1"].found and "followed the data" in rep.questions["Q1"].note
    assert "Figure 1" in rep.questions["Q2"].note and "followed the data" in rep.questions["Q6"].note
    shown = [e for e in rep.errors if "backward through the graph" in e.exception]
    assert shown and rep.faults == () and all(e.cause.startswith("shown on purpose") for e in shown), rep.table()
    assert rep.caveats == () and rep.problems == ()
    assert {k: len(v) for k, v in rep.measures["Q6"].deltas.items()} == {"I0": 784, "I1": 784}   # for similarity


@needs_bwrap
def test_part_headings_library_calls_colab_noise_and_changed_gradients(tmp_path, data, executor):
    """'Part N' headings; Q1 by F.cross_entropy (a human decides); a Colab-only import (the student's error); Q6
    images of pure noise (nothing of the digit left); a Q7 'fix' that changes the gradients."""
    q1 = """
import numpy as np, torch
import torch.nn.functional as F
z, y = torch.tensor(np.loadtxt('Q_1/data.txt')), torch.tensor(np.loadtxt('Q_1/labels.txt'))
print('mean CE', F.cross_entropy(z, y.argmax(1)).item())
"""
    q6 = """
import numpy as np
from PIL import Image
rng = np.random.default_rng(1)
for n in ('I0', 'I1'):
    Image.fromarray(rng.integers(0, 256, (28, 28)).astype(np.uint8)).save(f'Q_6/{n}_adv.png')
"""
    cells = [md("# Part 1"), code(q1), md("# Part 6"), code("from google.colab import drive"), code(q6),
             md("# Part 7"), code(Q7_CHANGED_GRADIENTS)]
    rep = grade(make_zip(tmp_path / "A9100002B.zip", data, {"A9100002B.ipynb": cells}), data, executor)
    st = status(rep)
    assert (st["Q1"], st["Q6"], st["Q7"]) == ("unverified", "wrong", "wrong"), rep.table()
    assert "F.cross_entropy" in rep.questions["Q1"].note
    assert "xinit.grad 12 then 24" in rep.questions["Q7"].found      # 2 (1 + 1)(1 + 2), by hand: no "+ 1" term
    assert "nothing of the digit" in rep.questions["Q6"].note
    colab = [e for e in rep.errors if "google" in e.exception]
    assert colab and colab[0].cause.startswith("student: Colab-only"), rep.table()


@needs_bwrap
def test_a_script_instead_of_a_notebook_is_said_once(tmp_path, data, executor):
    z = make_zip(tmp_path / "A9100003C.zip", data, {}, extra={"A9100003C.py": b"print(1)\n"})
    rep = grade(z, data, executor)
    assert any("no notebook" in p for p in rep.problems)
    assert all("A9100003C.py" in (v.note or "") for v in rep.questions.values()), rep.table()


def test_the_report_json_carries_the_basis(tmp_path, data):
    """Without --data and --model the report says the zip's own files were graded against (no kernel needed)."""
    z = make_zip(tmp_path / "A9100004D.zip", data, {"A9100004D.ipynb": []})
    rep = grade_submission(z, progress=False, variants=0)
    assert any("no --data" in c for c in rep.caveats) and any("no --model" in c for c in rep.caveats)
    assert json.loads(json.dumps(rep.to_json()))["caveats"] == list(rep.caveats)
