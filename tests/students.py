"""Student-style submissions, written for the tests (no real student's work): each is a list of cells in the
student's own style, zipped with the quiz's data the way students zip it."""
from __future__ import annotations

import zipfile
from pathlib import Path

import nbformat
import numpy as np

DATA = {  # quiz name -> folder of the submission
    "data.txt": "Q_1", "labels.txt": "Q_1", "Q1Q4I1.txt": "Q_4", "Q1Q4I2.npz": "Q_4", "Q1Q4I3.npz": "Q_4",
    "xy.npz": "Q_5", "ab.npz": "Q_5", "I0.png": "Q_6", "I1.png": "Q_6", "model.pth": "Q_6",
}


def md(text: str):
    return nbformat.v4.new_markdown_cell(text)


def code(text: str):
    return nbformat.v4.new_code_cell(text)


def notebook(cells) -> bytes:
    nb = nbformat.v4.new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nbformat.writes(nb).encode()


def make_zip(path: Path, data_dir: Path, notebooks: dict, *, top: str = "", extra: dict | None = None,
             skip: tuple = ()) -> Path:
    """``path``: the zip; ``data_dir``: a Quizz_data-style folder; ``notebooks``: {name: cells};
    ``top``: a single top folder to put everything in; ``extra``: {archive name: bytes}; ``skip``: data files left out."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, folder in DATA.items():
            hits = sorted(Path(data_dir).rglob(name))
            if hits and name not in skip:
                zf.write(hits[0], f"{top}{folder}/{name}")
        for name, cells in notebooks.items():
            zf.writestr(f"{top}{name}", notebook(cells))
        for name, blob in (extra or {}).items():
            zf.writestr(name, blob)
    return path


def seeded_data(folder: Path) -> Path:
    """A TA's data folder: the embedded stand-in data plus a seeded, untrained CustomModel as Q6/model.pth (the same on
    every machine)."""
    import torch

    from quiz1.data.standin import write_standin
    from quiz1.solvers.mnist_model import CustomModel

    write_standin(folder)
    torch.manual_seed(0)
    torch.save(CustomModel().state_dict(), folder / "Q6" / "model.pth")
    return folder


def q1_losses(data: Path) -> np.ndarray:
    """The per-sample cross-entropy of the data's Q1 files, by numpy's log-sum-exp: the tests' own reference."""
    z, y = np.loadtxt(data / "Q1" / "data.txt"), np.loadtxt(data / "Q1" / "labels.txt")
    m = z.max(1)
    return m + np.log(np.exp(z - m[:, None]).sum(1)) - (y * z).sum(1)


# --------------------------------------------------------------------------
# pieces of student work, each in a style a student writes

Q1_NUMPY = """
import numpy as np
z = np.loadtxt("Q_1/data.txt")
y = np.loadtxt("Q_1/labels.txt")
z = z - z.max(axis=1, keepdims=True)                # stable softmax
p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
ce = -(y * np.log(p)).sum(axis=1)
print("Average CE loss =", round(ce.mean(), {digits}))
"""

Q1_TORCH_TOTAL = """
import torch
z = torch.tensor(np.loadtxt('Q_1/data.txt'))
y = torch.tensor(np.loadtxt('Q_1/labels.txt'))
logp = z - z.max(1, keepdim=True).values
logp = logp - torch.log(torch.exp(logp).sum(1, keepdim=True))
-(y * logp).sum()
"""

# .format(steps=..., step=...): a plain normalised-gradient attack, with the quiz's CustomModel written out
Q6_ATTACK = """
import numpy as np, torch, torchvision
from PIL import Image

class CustomModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.resnet = torchvision.models.resnet18(weights=None)
        self.resnet.conv1 = torch.nn.Conv2d(1, 64, (7, 7), (2, 2), (3, 3), bias=False)
        self.fc_last = torch.nn.Linear(1000, 10)
    def forward(self, x):
        return self.fc_last(self.resnet(x))

M = CustomModel()
M.load_state_dict(torch.load("Q_6/model.pth"))
M.eval()

def attack(path, target, out):
    I = torch.tensor(np.array(Image.open(path)), dtype=torch.float32)[None, None] / 255
    d = torch.zeros_like(I, requires_grad=True)
    for _ in range({steps}):
        p = torch.softmax(M((I + d).clamp(0, 1)), 1)[0, target]
        loss = (p - 1) ** 2
        g, = torch.autograd.grad(loss, d)
        with torch.no_grad():
            d -= {step} * g / g.norm()
        J = ((I + d).clamp(0, 1) * 255).round()
        if M(J / 255).argmax().item() == target:
            break
    J = J.to(torch.uint8)[0, 0].numpy()
    Image.fromarray(J).save(out)
    print(out, "is classified as", M(torch.tensor(J / 255, dtype=torch.float32)[None, None]).argmax().item())

attack("Q_6/I0.png", 1, "Q_6/I0_adv.png")
attack("Q_6/I1.png", 7, "Q_6/I1_adv.png")
"""

Q7_FIXED = """
import torch

class G:
    def __init__(self):
        self.g = torch.ones([2])
    def __call__(self, x):
        self.g = self.g.detach().clone()   # start a new graph each call
        self.g[0] = x * x
        return torch.sum(self.g)

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
"""

Q7_RETAIN = Q7_FIXED.replace("        self.g = self.g.detach().clone()   # start a new graph each call\n", "").replace(
    "loss.backward()", "loss.backward(retain_graph=True)")
