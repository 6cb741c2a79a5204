"""Q6's model M: the quiz's ``CustomModel`` (torchvision ResNet-18 for 1x28x28 MNIST), loading and a stand-in.

The quiz's ``model.pth`` is not available, so when none is given the tool
trains a stand-in with the same architecture on MNIST IDX files (or the
embedded default data). Loading accepts a state_dict, or a whole pickled model
(the original was ``torch.save(model)`` of a CUDA float64 ``CustomModel``
defined in ``__main__``) -- but unpickling runs code, so only when trusted.

The cells between the ``# %%`` markers are copied verbatim into the notebook.
"""
# %% imports
import pickle
import sys
from dataclasses import dataclass

import numpy as np
import torch
import torchvision


# %% the model
class CustomModel(torch.nn.Module):
    """torchvision resnet18 with a 1-channel 7x7/2 stem, then Linear(1000, 10). Input (B, 1, 28, 28) in [0, 1]."""

    def __init__(self):
        super().__init__()
        self.resnet = torchvision.models.resnet18(weights=None)
        self.resnet.conv1 = torch.nn.Conv2d(1, 64, (7, 7), (2, 2), (3, 3), bias=False)
        self.fc_last = torch.nn.Linear(1000, 10)

    def forward(self, x):
        return self.fc_last(self.resnet(x))            # (B, 10) logits


def load_model(path, trust_pickle=False):
    """Load M from ``path``: a state_dict, or (``trust_pickle=True`` only) a whole pickled model; CPU, float32, eval."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        if not trust_pickle:
            raise ValueError(f"{path}: holds a whole pickled model, and unpickling can run arbitrary code; "
                             "load it only if you trust its source (--trust-model / trust_pickle=True)") from None
        main = sys.modules["__main__"]
        had = hasattr(main, "CustomModel")
        if not had:
            main.CustomModel = CustomModel                 # the original pickle looks for __main__.CustomModel
        try:
            obj = torch.load(path, map_location="cpu", weights_only=False)
        finally:
            if not had:
                del main.CustomModel
    except (RuntimeError, OSError, EOFError) as e:
        raise ValueError(f"{path}: not a readable PyTorch file ({e.__class__.__name__}: {str(e).splitlines()[0]})") from None
    model = CustomModel()
    state = obj.state_dict() if isinstance(obj, torch.nn.Module) else obj
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state_dict or a CustomModel but found {type(obj).__name__}")
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except RuntimeError as e:
        raise ValueError(f"{path}: weights do not fit CustomModel ({str(e).splitlines()[0]})") from None
    return model.eval()


def predict_proba(model, images_u8):
    """Softmax probabilities (B, 10) for uint8 images (B, 28, 28), scaled to [0, 1] as in training."""
    x = torch.tensor(np.asarray(images_u8), dtype=torch.float32)[:, None] / 255.0  # (B, 1, 28, 28)
    with torch.no_grad():
        return torch.softmax(model(x), dim=1).numpy()


# %% training the stand-in
RECIPE = ("cross-entropy on one-hot labels, SGD (Nesterov momentum 0.9, weight decay 5e-4, one-cycle learning rate "
          "up to 0.05), batches of 128, random shifts of up to 2 pixels")


@dataclass(frozen=True)
class TrainReport:
    """How the stand-in was trained and how well it does."""

    n_train: int
    n_val: int
    epochs: int
    val_accuracy: float
    seconds: float
    source: str
    recipe: str = RECIPE


def _shift_batch(x, gen, max_shift=2):
    """Random translation by up to ``max_shift`` pixels (zero padding): (B, 1, 28, 28) -> same."""
    b = x.shape[0]
    pad = torch.nn.functional.pad(x, (max_shift,) * 4)[:, 0]   # (B, 28 + 2s, 28 + 2s)
    dx = torch.randint(0, 2 * max_shift + 1, (b,), generator=gen)
    dy = torch.randint(0, 2 * max_shift + 1, (b,), generator=gen)
    rows = dy[:, None] + torch.arange(28)[None, :]             # (B, 28)
    cols = dx[:, None] + torch.arange(28)[None, :]             # (B, 28)
    return pad[torch.arange(b)[:, None, None], rows[:, :, None], cols[:, None, :]][:, None]


def train_standin(train_x, train_y, val_x, val_y, epochs=10, batch=128, seed=0, source="", progress=None):
    """Train CustomModel from scratch (``RECIPE``): cross-entropy on one-hot labels, SGD, one-cycle LR, random shifts.

    min_theta  E_(x, y) [-log softmax(M_theta(shift(x)))_y]

    train_x (N, 28, 28) uint8, train_y (N,) int; val_x, val_y likewise. ``progress``: a tqdm-like callable
    wrapping the step iterator, or None. Returns (model, TrainReport).

    Plain cross-entropy because the quiz says M was trained on one-hot labels. The recipe before (AdamW, one-cycle
    LR up to 4e-3, label smoothing 0.05, 6 epochs) left M about 0.96 sure of any digit, which capped what eq. (7)/(8)
    can reach inside the ball (p_0 = 0.964 for I1 -> 0 at L2 <= 2.8); without the smoothing that run ended
    under-trained on some seeds (98% training accuracy) and I1 -> 0 stopped at 0.90. This recipe at 10 epochs, seeds
    0-3 on two threads (``bench/q6_standin.py``; its table left the README in 364f5c6, see docs/benchmarks.md):
    validation accuracy 99.25-99.35%, p_t >= 0.9974 on the three cases; 8 epochs gave 99.00% for seed 0 on one
    thread, too close to issue #7's 99.0% bar.
    """
    import time

    t0 = time.perf_counter()
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = CustomModel()
    xt = torch.tensor(train_x, dtype=torch.float32)[:, None] / 255.0   # (N, 1, 28, 28)
    yt = torch.tensor(train_y, dtype=torch.long)
    steps = epochs * ((len(xt) + batch - 1) // batch)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=steps, pct_start=0.25)
    it = range(steps) if progress is None else progress(range(steps))
    perm, pos = torch.randperm(len(xt), generator=gen), 0
    model.train()
    for _ in it:
        if pos + batch > len(xt):
            perm, pos = torch.randperm(len(xt), generator=gen), 0
        idx = perm[pos:pos + batch]
        pos += batch
        xb = _shift_batch(xt[idx], gen)                                  # (B, 1, 28, 28)
        loss = torch.nn.functional.cross_entropy(model(xb), yt[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    acc = float((predict_proba(model, val_x).argmax(1) == np.asarray(val_y)).mean())
    return model, TrainReport(len(xt), len(val_x), epochs, acc, time.perf_counter() - t0, source)
