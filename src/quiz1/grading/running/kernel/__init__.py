"""Code the grader runs inside a student's kernel (``guard``, the export in ``models``) or in a kernel of its own
(``q7``, the evaluation in ``models``).

Each module here is a real, linted, unit-tested file. To run it in a kernel the
grader reads the file as text and injects a short bootstrap cell that executes
it in a private namespace (a dict kept under a name holding the grader's nonce)
whose builtins are a copy taken before any student cell ran; later grader cells
only call that namespace's entry points with their parameters as JSON. A notebook
that rebinds ``print``, ``display`` or a torch method afterwards does not reach
the grader's code, and the grader compares what is bound at probe time with what
it captured, by identity, to name what was replaced. Results go back signed
(HMAC with a key given before any student cell), so a printed or displayed copy
of a result is not taken for it.

What is still inside the notebook's reach: a notebook written against quiz1 can
find the private namespace in memory (``gc``, frames) and change it; the guard
makes that a deliberate attack on the grader, not a rebinding.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from importlib import resources

RESULT_MIME = "application/x-quiz1-guard+json"


def source(module: str) -> str:
    """The text of ``kernel/<module>.py``."""
    return resources.files(__package__).joinpath(f"{module}.py").read_text()


def bootstrap(module: str, slot: str, entry: str, params: dict) -> str:
    """A cell that runs ``kernel/<module>.py`` in a private namespace kept at ``slot`` (its builtins a copy of the
    genuine ones) and calls ``entry(json)`` there: run before any cell of the notebook. The namespace is kept among
    the builtins, not the notebook's globals: a ``%reset`` at the top of a notebook does not take it away."""
    return (f"__import__('builtins').{slot} = {{'__builtins__': dict(vars(__import__('builtins'))), "
            f"'__name__': 'quiz1_{module}'}}\n"
            f"exec(compile({source(module)!r}, 'quiz1/grading/running/kernel/{module}.py', 'exec'), {slot})\n"
            + call(slot, entry, params))


def call(slot: str, entry: str, params: dict) -> str:
    """A cell that calls ``entry`` of the namespace at ``slot`` with ``params`` as JSON."""
    return f"{slot}[{entry!r}]({json.dumps(params)!r});\n"


def sign(key: str, payload: str) -> str:
    """HMAC-SHA256 of ``payload`` with ``key`` (hex), as the kernel side computes it."""
    return hmac.new(key.encode(), payload.encode(), hashlib.sha256).hexdigest()


def signed_results(outputs, nonce: str, key: str) -> tuple[list[dict], int]:
    """The payloads that cell ``outputs`` carry under ``nonce`` with a valid signature, and how many carried the
    nonce without one (a forged copy)."""
    good, forged = [], 0
    for o in outputs:
        got = o.get("data", {}).get(RESULT_MIME) if o.get("output_type") in ("display_data", "execute_result") else None
        if o.get("output_type") == "stream" and nonce in o.get("text", ""):
            forged += 1
        if not isinstance(got, dict) or got.get("nonce") != nonce:
            continue
        payload, mac = got.get("payload"), got.get("mac")
        if isinstance(payload, str) and isinstance(mac, str) and hmac.compare_digest(sign(key, payload), mac):
            try:
                good.append(json.loads(payload))
            except ValueError:
                forged += 1
        else:
            forged += 1
    return good, forged
