"""What the grader runs itself in the student's kernel: the guard and the cells that call it, and any module of
``kernel/`` as a cell (``kernel_cell``). Which cells a question needs, and what it runs apart from the notebook, its
module says (``questions/``).

The guard. Before any cell of the notebook the grader runs ``kernel/guard.py``
(read as text, its parameters as JSON): it captures the objects its later cells
rely on while they are genuine, and every report it sends is signed and says what
the notebook replaced (by identity). ``guard_cell`` is that first cell,
``guard_call_cell`` a later call of one of its entries, ``guard_result`` what one
sent back.
"""
from __future__ import annotations

import json

import nbformat

from .kernel import bootstrap, call, signed_results, source

GUARD_SLOT = "__quiz1_{}"   # the private namespace of the guard in the student's kernel, named by the nonce


def guard_cell(nonce: str, key: str):
    """The cell the grader runs before any cell of the notebook: ``kernel/guard.py``'s ``install``, with the nonce
    its reports carry and the key that signs them."""
    return nbformat.v4.new_code_cell(bootstrap("guard", GUARD_SLOT.format(nonce), "install", {"nonce": nonce, "key": key}),
                                     metadata={"quiz1_probe": True})


def guard_call_cell(nonce: str, entry: str):
    """A later grader cell: one entry of the guard (e.g. ``watch``, ``graph``)."""
    return nbformat.v4.new_code_cell(call(GUARD_SLOT.format(nonce), entry, {}), metadata={"quiz1_probe": True})


def guard_result(cell, nonce: str, key: str) -> dict | None:
    """What a guard cell sent back, signed with ``key`` under ``nonce`` (its last report), with "forged": the number of
    outputs that carried the nonce without a valid signature; None when nothing came back at all."""
    good, forged = signed_results(cell.get("outputs", []), nonce, key)
    if not good and not forged:
        return None
    return {**(good[-1] if good else {}), "forged": forged, "signed": bool(good)}


kernel_source = source      # the text of ``kernel/<module>.py``, the code injected into a kernel


def kernel_cell(module: str, function: str, params: dict):
    """A code cell that runs ``function(**params)`` of ``kernel/<module>.py`` (read as text, ``params`` as JSON) in a
    namespace of its own: the notebook's gets only ``__quiz1_kernel``, deleted at the end."""
    src = (f"exec(compile({kernel_source(module)!r}, 'quiz1/grading/running/kernel/{module}.py', 'exec'), "
           f"__quiz1_kernel := {{'__name__': 'quiz1_kernel_{module}'}})\n"
           f"__quiz1_kernel[{function!r}](**__import__('json').loads({json.dumps(params)!r}))\n"
           "del __quiz1_kernel\n")
    return nbformat.v4.new_code_cell(src, metadata={"quiz1_probe": True})
