"""Random real PyTorch programs of Add/Sub/Mul/Div with constant 5, for the Q2 tests and benchmark."""
import random

import torch

BINARY = ["{p} + {q}", "{p} - {q}", "{p} * {q}", "{p} / {q}"]
UNARY = ["{p} + 5", "{p} - 5", "{p} * 5", "{p} / 5"]


def random_program(seed, n_leaves=3, n_ops=18):
    """Source of ``def compute_tree(a, b, ...)``: every op reaches the output, as torchviz requires."""
    rng = random.Random(seed)
    leaves = [chr(ord("a") + i) for i in range(n_leaves)]
    avail, unused, lines = list(leaves), set(leaves), []
    for i in range(n_ops):
        if rng.random() < 0.35:
            p = rng.choice(avail)
            expr = rng.choice(UNARY).format(p=p)
            unused.discard(p)
        else:
            p, q = rng.sample(avail, 2)
            expr = rng.choice(BINARY).format(p=p, q=q)
            unused.discard(p), unused.discard(q)
        name = f"v{i}"
        lines.append(f"    {name} = {expr}")
        avail.append(name)
        unused.add(name)
    rest = sorted(unused, key=lambda n: (len(n), n))
    while len(rest) > 1:
        p, q = rest.pop(), rest.pop()
        name = f"v{len(lines)}"
        lines.append(f"    {name} = {p} + {q}")
        rest.append(name)
    return "\n".join([f"def compute_tree({', '.join(leaves)}):"] + lines + [f"    return {rest[0]}"])


def run(code, n_leaves, x):
    ns = {"torch": torch}
    exec(code, ns)
    leaves = [torch.tensor(x, dtype=torch.float32, requires_grad=True) for _ in range(n_leaves)]
    return ns["compute_tree"](*leaves)
