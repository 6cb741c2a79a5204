"""Q6's variant run is a real test: I0 and I1 become other digits of their classes, drawn by the grader, and the
images the notebook writes for them must be adversarial again, by M's reading, within the bound, and made from them.

Issue 33, item 2. The first part checks the verdict table without a kernel, on run records built by hand and an M
written here whose reading is known by construction; the second grades hand-written student notebooks in the
sandbox against the TA's data and M: pre-made perturbations and notebooks that switch on the quiz's images are never
`correct`, honest attacks (a student's PGD and a C&W-style attack) are, on a seeded untrained M and on M trained on
MNIST. References (which digit the variant is, what M reads) are computed here with torch and scikit-learn.
"""
import base64
import hashlib
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from quiz1.data.loaders import load_image
from quiz1.grading import grade_submission
from quiz1.grading.cohort.batch import Options, make_executor
from quiz1.grading.evidence import Evidence, Variant
from quiz1.grading.questions import q6
from quiz1.grading.questions.q6 import SAME_CHANGE, _same_change, draw_digits
from quiz1.grading.running.execution import RunRecord
from quiz1.grading.running.sandbox import bwrap_problem
from quiz1.solvers.mnist_model import load_model
from students import code, make_zip, md, seeded_data

needs_bwrap = pytest.mark.skipif(bwrap_problem() is not None, reason=f"no sandbox here: {bwrap_problem()}")


# --------------------------------------------------------------------------
# which digits the variant draws (no kernel)


def _sklearn_digits_28():
    """scikit-learn's bundled digits, upscaled as the stand-in data upscales them: (N, 28, 28) uint8, labels (N,)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    out = np.zeros((len(d.images), 28, 28), np.uint8)
    for k, im in enumerate(d.images):
        small = Image.fromarray((im * (255.0 / 16.0)).astype(np.uint8))
        out[k, 4:24, 4:24] = np.asarray(small.resize((20, 20), Image.BICUBIC))
    return out, d.target


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return seeded_data(tmp_path_factory.mktemp("quizdata"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(M trained on MNIST, the MNIST folder, a TA's data folder: the stand-in data from MNIST with that M as
    Q6/model.pth). M is quiz1's cached stand-in (trained once per machine, then read from the cache)."""
    from conftest import MNIST

    if not (MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST test split not present at {MNIST}: no MNIST-trained M to attack")
    from quiz1.data.standin import write_standin
    from quiz1.data.standin_model import ensure_standin_model

    path, _ = ensure_standin_model(MNIST, progress=False)
    folder = tmp_path_factory.mktemp("mnistdata")
    write_standin(folder, mnist_dir=MNIST)
    shutil.copyfile(path, folder / "Q6" / "model.pth")
    return load_model(path), MNIST, folder


def test_variant_digits_are_other_digits_of_the_same_classes(tmp_path, data):
    """On the stand-in data (I0 a 2, I1 an 8, scikit-learn's digits) with the seeded untrained M (which reads every
    digit alike): the new I0/I1 are other scikit-learn digits labelled 2 and 8, a student's own copy of I0 elsewhere
    in the zip is replaced too, and two draws of the grader give other digits."""
    digits, target = _sklearn_digits_28()
    model = load_model(data / "Q6" / "model.pth")
    picked = []
    for seed in (1, 2):
        root = tmp_path / f"s{seed}"
        shutil.copytree(data, root)
        shutil.copy(root / "Q6" / "I0.png", root / "my_copy_of_I0.png")
        changed, where = draw_digits(root, model, seed)
        assert sorted(changed) == ["Q6/I0.png", "Q6/I1.png", "my_copy_of_I0.png"]
        assert np.array_equal(load_image(root / "my_copy_of_I0.png"), load_image(root / "Q6" / "I0.png"))
        for name, label in (("I0", 2), ("I1", 8)):
            old, new = load_image(data / "Q6" / f"{name}.png"), load_image(root / "Q6" / f"{name}.png")
            hits = np.flatnonzero((digits == new).all(axis=(1, 2)))
            assert len(hits) and target[hits[0]] == label, (name, where)          # a 2 stays a 2, an 8 an 8
            assert not np.array_equal(old, new) and f"another {label}" in where[name]
            picked.append(int(hits[0]))
    assert picked[:2] != picked[2:]


def test_variant_digits_from_mnist_are_read_by_a_trained_m_as_their_class(tmp_path, trained):
    """With MNIST and M trained on it: the new I0/I1 are held-out MNIST test images of I0's and I1's classes, and M
    reads them as those classes (torch's own forward pass here)."""
    from quiz1.data.loaders import load_mnist

    model, mnist, standin = trained
    images, labels = load_mnist(mnist)
    root = tmp_path / "v"
    shutil.copytree(standin, root)
    for seed in (3, 4):
        draw_digits(root, model, seed, mnist=mnist)
        for name, label in (("I0", 2), ("I1", 8)):
            new = load_image(root / "Q6" / f"{name}.png")
            hits = np.flatnonzero((images == new).all(axis=(1, 2)))
            assert len(hits) and labels[hits[0]] == label and hits[0] >= 8000
            with torch.no_grad():
                read = int(model(torch.tensor(new / 255.0, dtype=torch.float32)[None, None]).argmax(1))
            assert read == label


def test_boundary_distance_on_a_linear_m_against_the_closed_form():
    """For a linear M, z = W x + b, with one competitor k to the target t (the other classes far below), the distance
    from x to where t wins is (z_k - z_t) / ||w_k - w_t|| (the box not met): DeepFool's linear step reaches it at once,
    with its 2% overshoot."""
    from quiz1.grading.questions.q6 import boundary_distance

    rng = np.random.default_rng(0)
    lin = torch.nn.Linear(784, 10)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(rng.normal(0, 0.01, (10, 784)), dtype=torch.float32))
        lin.bias.fill_(-100.0)
        lin.bias[3], lin.bias[1] = 1.0, 0.0                                   # k = 3 leads, t = 1 next
    model = torch.nn.Sequential(torch.nn.Flatten(), lin)
    img = np.full((28, 28), 128, np.uint8)
    x = img.reshape(-1) / 255.0
    w = lin.weight.detach().double().numpy()
    z = w @ x + lin.bias.detach().double().numpy()
    want = (z[3] - z[1]) / np.linalg.norm(w[3] - w[1])
    got = boundary_distance(model, img[None], 1)[0]
    assert want * 1.0 < got <= want * 1.03 + 1e-4


# --------------------------------------------------------------------------
# the verdict table on hand-built runs (no kernel)


class Marker(torch.nn.Module):
    """An M whose reading is known by construction: class k when pixel (0, k) of the top row is lit (the first such
    k), else 3."""

    def forward(self, x):                                   # (B, 1, 28, 28) in [0, 1]
        lit = (x[:, 0, 0, :10] > 0).float()                 # (B, 10)
        first = lit * torch.arange(10, 0, -1).float()       # earlier lit pixels score higher
        return torch.where(lit.any(1, keepdim=True), 100 * first, torch.eye(10)[3].expand(len(x), 10))


def _digit(seed):
    """A blob of grey levels in the middle of a 28x28 frame, top row dark: (28, 28) uint8."""
    rng = np.random.default_rng(seed)
    im = np.zeros((28, 28), np.uint8)
    im[6:22, 8:20] = rng.integers(0, 256, (16, 12))
    return im


def _attacked(im, target, seed):
    """An attack's output as a human would accept it: the target's marker lit, plus a diffuse change of its own."""
    rng = np.random.default_rng(seed)
    out = np.clip(im.astype(int) + rng.integers(-12, 13, im.shape), 0, 255)
    out[0, :10] = 0
    out[0, target] = 120
    return out.astype(np.uint8)


def _ref(images):
    """The Q6 reference, as ``q6.reference`` gives it: the images and M."""
    return {"Q6": q6.Images(images, Marker())}


def _q6(first: dict, second: dict, *, copies=(), digits=None):
    """The Q6 verdict on a run that wrote ``first`` ({rel: image}) on the quiz's I0/I1 and ``second`` on the variant's."""
    quiz = {"I0": _digit(0), "I1": _digit(1)}
    other = {"I0": _digit(10), "I1": _digit(11)}
    run = RunRecord(pngs=first(quiz) if callable(first) else first)
    vrun = RunRecord(pngs=second(other, quiz, run.pngs), copies=list(copies))
    return q6.verdict(Evidence(run, _ref(quiz), Variant(vrun, _ref(other), None, {"Q6": digits or {"I0": "another 2", "I1": "another 8"}})))


def _honest(quiz):
    return {"Q_6/I0_adv.png": _attacked(quiz["I0"], 1, 0), "Q_6/I1_adv.png": _attacked(quiz["I1"], 7, 1)}


def _added(other, quiz, first, scale=1.0):
    """The first run's change added (scaled) to the variant's digits, clipped to 0..255: a pre-made perturbation."""
    out = {}
    for rel, n in (("Q_6/I0_adv.png", "I0"), ("Q_6/I1_adv.png", "I1")):
        d = first[rel].astype(int) - quiz[n]
        out[rel] = np.clip(other[n] + np.round(scale * d), 0, 255).astype(np.uint8)
    return out


def test_marker_m_reads_as_built():
    im = _digit(0)
    assert Marker()(torch.tensor(im / 255.0)[None, None].float()).argmax(1).item() == 3
    assert Marker()(torch.tensor(_attacked(im, 1, 0) / 255.0)[None, None].float()).argmax(1).item() == 1


def test_honest_attacks_on_both_runs_are_correct():
    v = _q6(_honest, lambda other, quiz, first: {"Q_6/I0_adv.png": _attacked(other["I0"], 1, 5),
                                                     "Q_6/I1_adv.png": _attacked(other["I1"], 0, 6)})
    assert v.status == "correct", v
    assert "followed the data" in v.note and "another 2" in v.note and "read by M as 1" in v.note


@pytest.mark.parametrize("scale", [1.0, 1.3])
def test_the_first_change_added_to_the_new_digits_is_pre_made(scale):
    v = _q6(_honest, lambda other, quiz, first: _added(other, quiz, first, scale))
    assert v.status == "wrong" and v.note.count("made beforehand") == 2, v


def test_pre_made_pixels_written_again_did_not_follow():
    v = _q6(_honest, lambda other, quiz, first: dict(first))
    assert v.status == "wrong" and "did not follow" in v.note and "pre-made" in v.note, v


def test_a_pixel_flipped_a_copy_or_nothing_on_the_new_digits_is_for_a_human():
    def flipped(other, quiz, first):
        out = {}
        for rel, n in (("Q_6/I0_adv.png", "I0"), ("Q_6/I1_adv.png", "I1")):
            out[rel] = other[n].copy()
            out[rel][10, 10] ^= 1
        return out

    v = _q6(_honest, flipped)
    assert v.status == "unverified" and "1 pixels changed, read by M as 3" in v.note, v
    v = _q6(_honest, lambda other, quiz, first: {}, copies=["Q_6/I0_adv.png", "Q_6/I1_adv.png"])
    assert v.status == "unverified" and "pixels of an image already there" in v.note, v
    v = _q6(_honest, lambda other, quiz, first: {})
    assert v.status == "unverified" and "no new image" in v.note, v


def test_a_weak_or_large_change_on_the_new_digits_is_for_a_human():
    def weak(other, quiz, first):                                  # its own change, but the target not reached
        return {"Q_6/I0_adv.png": _attacked(other["I0"], 1, 5), "Q_6/I1_adv.png": _attacked(other["I1"], 5, 6)}

    v = _q6(_honest, weak)
    assert v.status == "unverified" and "not a target" in v.note and "I1" in v.note, v

    def large(other, quiz, first):      # the target, with a change over L2 5.6 (2.8 is judged on the quiz's images)
        out = {"Q_6/I0_adv.png": _attacked(other["I0"], 1, 5), "Q_6/I1_adv.png": _attacked(other["I1"], 7, 6)}
        out["Q_6/I1_adv.png"][14:27, 0:8] = 255
        return out

    v = _q6(_honest, large)
    assert v.status == "unverified" and "beyond L2 5.6" in v.note, v


def test_same_change_against_a_hand_computed_cosine():
    """The measure by hand: a change added where the new digit does not clip is the same change (cosine 1); two
    unrelated random changes are far under the bar; the pixels where the addition clips are left out."""
    rng = np.random.default_rng(0)
    a, b = _digit(0), _digit(1)
    d = rng.integers(-40, 41, (28, 28))
    adv = np.clip(a.astype(int) + d, 0, 255).astype(np.uint8)
    d = adv.astype(int) - a                                            # the change as saved
    vadv = np.clip(b.astype(int) + d, 0, 255).astype(np.uint8)
    free = (b + d >= 0) & (b + d <= 255)
    assert free.sum() < 784                                            # some pixels do clip
    assert _same_change(adv, a, vadv, b) == pytest.approx(1.0)
    e = np.clip(b.astype(int) + rng.integers(-40, 41, (28, 28)), 0, 255).astype(np.uint8)
    x, y = d[free].astype(float), (e.astype(int) - b)[free].astype(float)
    assert _same_change(adv, a, e, b) == pytest.approx(x @ y / np.linalg.norm(x) / np.linalg.norm(y))
    assert abs(_same_change(adv, a, e, b)) < 0.5 < SAME_CHANGE                 # both clip at 0: some likeness


# --------------------------------------------------------------------------
# student notebooks, graded in the sandbox against the TA's data and M

MODEL_CELL = """
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from PIL import Image

class CustomModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.resnet = torchvision.models.resnet18(weights=None)
        self.resnet.conv1 = nn.Conv2d(1, 64, (7, 7), (2, 2), (3, 3), bias=False)
        self.fc_last = nn.Linear(1000, 10)
    def forward(self, x):
        return self.fc_last(self.resnet(x))

model = CustomModel()
model.load_state_dict(torch.load('Q_6/model.pth', map_location='cpu'))
model.eval()
for p in model.parameters():
    p.requires_grad = False
"""

# a student's targeted PGD in an L2 ball (they read eps = 0.1 as a per-pixel RMS, so L2 <= 2.8; 2.5 leaves room for
# the rounding), stopping at the first 8-bit image the model reads as the target
HONEST_PGD = """
def targeted_pgd(path, target, eps=2.5, alpha=0.1, iters=200):
    x = torch.from_numpy(np.array(Image.open(path), dtype=np.float32) / 255.0).view(1, 1, 28, 28)
    delta = torch.zeros_like(x, requires_grad=True)
    for it in range(iters):
        loss = F.cross_entropy(model(x + delta), torch.tensor([target]))
        loss.backward()
        with torch.no_grad():
            g = delta.grad
            delta -= alpha * g / (g.norm() + 1e-12)
            delta.copy_(torch.clamp(x + delta, 0, 1) - x)      # stay a valid image
            if delta.norm() > eps:
                delta *= eps / delta.norm()                    # back into the ball
            adv = torch.round((x + delta) * 255) / 255
            if model(adv).argmax(1).item() == target:
                print(f'{path}: reached {target} after {it + 1} steps')
                break
        delta.grad.zero_()
    return x, adv

for path, target, out in [('Q_6/I0.png', 1, 'Q_6/I0_prime.png'), ('Q_6/I1.png', 7, 'Q_6/I1_prime.png')]:
    x, adv = targeted_pgd(path, target)
    print(out, 'predicted', model(adv).argmax(1).item(), 'L2 =', round((adv - x).norm().item(), 4))
    Image.fromarray((adv[0, 0] * 255).round().byte().numpy()).save(out)
"""

# a student's C&W-style attack: Adam on ||delta||^2 + c * max(best other logit - target logit, -kappa), keeping the
# smallest 8-bit image read as the target, c raised until it gets there
HONEST_CW = """
def cw_attack(img, t, c=5.0, kappa=0.2, steps=150, lr=0.02):
    x = torch.tensor(img / 255.0, dtype=torch.float32)[None, None]
    delta = torch.zeros_like(x, requires_grad=True)
    opt = torch.optim.Adam([delta], lr=lr)
    best, best_norm = None, float('inf')
    for step in range(steps):
        z = model((x + delta).clamp(0, 1))[0]
        other = torch.cat([z[:t], z[t + 1:]]).max()
        loss = (delta ** 2).sum() + c * torch.clamp(other - z[t], min=-kappa)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            q = torch.round((x + delta).clamp(0, 1) * 255) / 255
            n = (q - x).norm().item()
            if n < best_norm and model(q).argmax().item() == t:
                best, best_norm = q, n
    return best, best_norm

I0 = np.array(Image.open('Q_6/I0.png'))
I1 = np.array(Image.open('Q_6/I1.png'))
def cw_search(img, t, eps=2.8):
    found = []
    for c in (1.0, 5.0, 50.0):             # a larger c when the penalty was too weak to reach the target within eps
        adv, n = cw_attack(img, t, c=c)
        if adv is not None:
            found.append((n, c, adv))
            if n <= eps:
                break
    n, c, adv = min(found, key=lambda f: f[0])
    print('c =', c)
    return adv, n

adv0, n0 = cw_search(I0, 1)
adv1, n1 = cw_search(I1, 7)
print('L2 norms:', n0, n1)
plt_imgs = {'Q_6/I0_cw.png': adv0, 'Q_6/I1_cw.png': adv1}
for f, a in plt_imgs.items():
    Image.fromarray((a[0, 0] * 255).round().byte().numpy()).save(f)
"""


def _pgd_here(model, img, target, eps=2.5, alpha=0.1, iters=200):
    """HONEST_PGD run here, in the test: the image a student could have made beforehand, as (28, 28) uint8."""
    x = torch.tensor(img / 255.0, dtype=torch.float32).view(1, 1, 28, 28)
    d = torch.zeros_like(x, requires_grad=True)
    for _ in range(iters):
        (g,) = torch.autograd.grad(torch.nn.functional.cross_entropy(model(x + d), torch.tensor([target])), d)
        with torch.no_grad():
            d -= alpha * g / (g.norm() + 1e-12)
            d.copy_((x + d).clamp(0, 1) - x)
            d *= min(1.0, eps / float(d.norm() + 1e-12))
            adv = torch.round((x + d) * 255) / 255
            if int(model(adv).argmax(1)) == target:
                break
    return (adv[0, 0] * 255).round().numpy().astype(np.uint8)


def _b64(a, dtype) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode()


def pre_made(data):
    """A notebook with two pre-made perturbations. I0: a base64 "initial noise" (the change an attack made to the
    quiz's I0 beforehand) added after an attack loop that changes nothing. I1: the quiz's I1 shipped inside the
    notebook, attacked for real when the notebook runs, and the change found added to whatever Q_6/I1.png holds."""
    model = load_model(data / "Q6" / "model.pth")
    i0, i1 = (load_image(data / "Q6" / f"{n}.png") for n in ("I0", "I1"))
    noise = _pgd_here(model, i0, 1).astype(np.int16) - i0
    return MODEL_CELL + f"""
import base64
I0 = np.array(Image.open('Q_6/I0.png'))
noise = np.frombuffer(base64.b64decode('{_b64(noise, np.int16)}'), dtype=np.int16).reshape(28, 28)  # initial noise
x = torch.tensor(I0 / 255.0, dtype=torch.float32)[None, None]
for epoch in range(30):                        # optimise the adversarial image
    p = F.softmax(model(x), dim=1)[0, 1]
    loss = (p - 1) ** 2
    if epoch % 10 == 0:
        print('epoch', epoch, 'loss', loss.item())
adv0 = np.clip(I0.astype(int) + noise, 0, 255).astype(np.uint8)
Image.fromarray(adv0).save('Q_6/I0_adv.png')

# I1: the perturbation is found on a reference copy of the image, then applied
ref = np.frombuffer(base64.b64decode('{_b64(i1, np.uint8)}'), dtype=np.uint8).reshape(28, 28)
""" + HONEST_PGD.split("for path, target, out")[0] + """
import io
buf = io.BytesIO()
Image.fromarray(ref).save(buf, format='PNG')
x_ref, adv_ref = targeted_pgd(buf, 7)
pert = (adv_ref - x_ref)[0, 0].numpy()
I1 = np.array(Image.open('Q_6/I1.png'))
adv1 = np.clip(np.round((I1 / 255.0 + pert) * 255), 0, 255).astype(np.uint8)
Image.fromarray(adv1).save('Q_6/I1_adv.png')
print('predicted', model(torch.tensor(adv1 / 255.0, dtype=torch.float32)[None, None]).argmax().item())
"""


def switching(data):
    """A notebook that knows the quiz's images by a hash of their pixels: for them it writes adversarial pixels made
    beforehand; any other I0 it copies with one pixel flipped, any other I1 it copies as it is."""
    model = load_model(data / "Q6" / "model.pth")
    known = {}
    for name, target in (("I0", 1), ("I1", 7)):
        img = load_image(data / "Q6" / f"{name}.png")
        known[hashlib.md5(img.tobytes()).hexdigest()] = _b64(_pgd_here(model, img, target), np.uint8)
    return f"""
import base64, hashlib
import numpy as np
from PIL import Image

KNOWN = {known!r}
for name in ('I0', 'I1'):
    img = np.array(Image.open(f'Q_6/{{name}}.png'))
    h = hashlib.md5(img.tobytes()).hexdigest()
    if h in KNOWN:
        adv = np.frombuffer(base64.b64decode(KNOWN[h]), dtype=np.uint8).reshape(28, 28)
    elif name == 'I0':
        adv = img.copy()
        adv[14, 14] = 255 - adv[14, 14]
    else:
        adv = img.copy()
    Image.fromarray(adv).save(f'Q_6/{{name}}_adv.png')
    print(name, 'done')
"""


@pytest.fixture(scope="module")
def executor():
    return make_executor(Options(threads=1))


def grade(path, data, executor, **kw):
    return grade_submission(path, progress=False, executor=executor, data=data, model=data / "Q6" / "model.pth",
                            timeout=300, **kw)


@needs_bwrap
def test_pre_made_perturbations_are_wrong(tmp_path, data, executor):
    z = make_zip(tmp_path / "A9300001A.zip", data, {"A9300001A.ipynb": [md("## Question 6"), code(pre_made(data))]})
    v = grade(z, data, executor).questions["Q6"]
    assert v.status == "wrong", v
    assert "on I0 = another 2" in v.note and "on I1 = another 8" in v.note and v.note.count("made beforehand") == 2, v


@needs_bwrap
def test_a_notebook_that_knows_the_quiz_images_is_never_correct(tmp_path, data, executor):
    z = make_zip(tmp_path / "A9300002B.zip", data, {"A9300002B.ipynb": [md("## Question 6"), code(switching(data))]})
    v = grade(z, data, executor).questions["Q6"]
    assert v.status == "unverified", v
    assert "1 pixels changed, read by M as" in v.note and "pixels of an image already there" in v.note, v


@needs_bwrap
def test_an_honest_pgd_is_correct_on_the_untrained_m(tmp_path, data, executor):
    cells = [md("## Question 6"), code(MODEL_CELL), code(HONEST_PGD)]
    v = grade(make_zip(tmp_path / "A9300003C.zip", data, {"A9300003C.ipynb": cells}), data, executor).questions["Q6"]
    assert v.status == "correct" and "followed the data" in v.note and "another 2" in v.note, v


@needs_bwrap
@pytest.mark.parametrize("attack", ["pgd", "cw"])
def test_an_honest_attack_is_correct_on_an_mnist_trained_m(tmp_path, trained, executor, attack):
    """M trained on MNIST, I0 a 2 and I1 an 8 from its held-out part, the variant's digits drawn from MNIST: a
    student's PGD in an L2 ball, and a C&W-style attack, reach the targets on the quiz's images and on the new ones."""
    _, mnist, folder = trained
    cells = [md("## Question 6"), code(MODEL_CELL), code(HONEST_PGD if attack == "pgd" else HONEST_CW)]
    z = make_zip(tmp_path / "A9300004D.zip", folder, {"A9300004D.ipynb": cells})
    rep = grade(z, folder, executor, mnist=mnist)
    v = rep.questions["Q6"]
    # a fixed-budget attack may stop short on the grader's other digit: that goes to a human, never 'wrong'
    assert v.status == "correct" and "followed the data" in v.note or v.status == "unverified" and "not a target" in v.note, v
    assert "another 2 (MNIST test image #" in v.note and "another 8 (MNIST test image #" in v.note, v
