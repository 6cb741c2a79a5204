"""Grade one submission zip: ``grade_submission(zip) -> GradeReport``; the CLI prints it.

The steps, each in its own module: unwrap the zip (``running.layout``); put the
TA's data and M in place of the zip's (``running.datasets``); compute each
question's reference from them before anything runs (its module's
``reference(root, given)``); run the notebooks afresh through the executor, a
sandboxed one in the CLI, with the cells each question asks for around its
section (``running.execution``), and once more on variant data in a second copy
of the submission, written by each question that has a ``variant`` (Q1's
logits and labels; I0 and I1 become other digits of their classes), with the
references of that copy, in parallel where cores allow; run what each question
runs apart from the notebook (its ``apart``: Q4/Q5's models, Q7's classes);
then one verdict a question (``questions``, from one ``Evidence``).
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .evidence import Evidence, Variant
from .questions import modules
from .reference import Given
from .report import GradeReport
from .running.datasets import place_ta_data
from .running.execution import run_submission
from .running.layout import extract_submission

SHOWN = "shown on purpose: the quiz's own error, before the fix"


@dataclass
class Apart:
    """What a question's ``apart(ctx)`` may use to run something of the notebook apart from it, after the run: the run,
    the questions' references (question name -> its module's ``reference``), where the models were pickled (question
    name -> path), the executor (the sandbox), and ``shared``, for work two questions share (Q4's and Q5's models are
    evaluated in one pair of kernels)."""

    run: object
    refs: dict
    exports: dict
    executor: object
    shared: dict = field(default_factory=dict)


def _not_started(apart: dict) -> list[str]:
    return [name for name, a in apart.items() if a is not None and not a.get("started", True)]


def run_apart(run, refs: dict, exports: dict, executor, tries: int = 2) -> dict:
    """Question name -> what its ``apart(ctx)`` hook ran apart from the notebook (the hooks' own records).

    Those runs are the grader's: a fresh kernel in a folder of the grader's, holding no file of the zip. A kernel
    that did not start there is the machine's failure, never the student's: the questions it hit run again (``tries``
    in all); ``MachineError`` (the zip not graded, graded again on the next ``grade``) when it still does not start,
    so that no verdict, and no TA, is left with the grader's failure."""
    hooks = [q for q in modules() if hasattr(q, "apart")]
    apart = {}
    for _ in range(tries):
        ctx = Apart(run, refs, exports, executor)     # fresh: Q4 and Q5 share one evaluation through ctx.shared
        apart.update({q.NAME: q.apart(ctx) for q in hooks if q.NAME not in apart or q.NAME in _not_started(apart)})
        if not _not_started(apart):
            return apart
    from .running.canary import MachineError, self_check

    why = next((w for a in apart.values() if a for w in [a.get("error"), *(a.get("notes") or {}).values()]
                if w and "did not start" in w), "a kernel did not start")
    problem = self_check(executor) or (f"the grader's own run apart from the notebook failed {tries} times ({why}), "
                                       f"though its canary notebook runs: grade this zip again")
    raise MachineError(f"not graded: {problem}")


def grade_submission(zip_path: str | Path, *, timeout: float = 600, budget: float = 1800, trust_model: bool = False,
                     progress: bool = True, executor=None, keep_dir: str | Path | None = None,
                     data: str | Path | None = None, model: str | Path | None = None, variants: int = 1,
                     parallel: bool = False, mnist: str | Path | None = None) -> GradeReport:
    """Grade one submission zip; ``ValueError`` only when there is nothing to grade (not a readable zip) or the TA's
    ``data`` is unreadable, ``MachineError`` when the grading machine failed (a kernel that starts for no notebook).

    Parameters
    ----------
    timeout, budget : seconds for one cell, and for every notebook of the zip together (each run)
    trust_model : load a whole pickled ``model.pth`` (unpickling runs its code); else weights only
    executor : ``run_notebook``'s signature, ``(nb, cwd, *, timeout, budget, progress, root) -> RunResult``
    keep_dir : write each executed notebook there (``<zip stem>.ipynb``, ``<zip stem>-2.ipynb``, ...)
    data, model : the TA's quiz data (folder or zip) and M (``model.pth``), put in place of the zip's copies;
        None: the zip's own, with a warning in the report
    variants : 1 (default) runs the notebook once more on changed data (values must follow it); 0 does not
    parallel : run the two runs at once (two kernels; for ``check`` on a machine with cores to spare)
    mnist : MNIST IDX folder the variant I0/I1 are drawn from (None: scikit-learn's bundled digits)
    """
    from ..data.loaders import opened_input
    from .running.run import run_notebook

    executor = executor or run_notebook
    zip_path = Path(zip_path)
    t0 = time.monotonic()
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="quiz1-grade-")))
        data_root = stack.enter_context(opened_input(data)) if data is not None else None
        layout = extract_submission(zip_path, tmp / "run")
        root, problems = layout.root, list(layout.problems)
        placed, caveats = place_ta_data(root, data_root, Path(model) if model is not None else None)
        problems += placed
        given = Given(Path(model) if model is not None else None, trust_model, Path(mnist) if mnist is not None else None)
        refs = {q.NAME: q.reference(root, given) for q in modules() if hasattr(q, "reference")}   # before the run
        vroot = None
        vrefs, drawn = {}, {}
        if variants and layout.notebooks:
            vroot = extract_submission(zip_path, tmp / "variant").root
            place_ta_data(vroot, data_root, Path(model) if model is not None else None)
            changed = []
            for q in modules():          # each question's variant data (Q1: other logits, Q6: other digits)
                if hasattr(q, "variant"):
                    files, said = q.variant(vroot, refs.get(q.NAME), secrets.randbits(32), given)
                    changed += files
                    if said:
                        drawn[q.NAME] = said
            vrefs = {q.NAME: q.reference(vroot, given) for q in modules() if hasattr(q, "reference")}
            graded_on = f"variant run on changed {', '.join(changed) or 'nothing (no data to change)'}"
        else:
            graded_on = "no variant run (--variants 0): a value typed in cannot be told from one computed"
        kept = []
        token = secrets.token_hex(8)
        exports = {q.NAME: root.resolve() / f".quiz1-models-{token}-{q.NAME}.pkl" for q in modules()
                   if hasattr(q, "wants_models") and q.wants_models(refs.get(q.NAME))}

        def main_run():
            return run_submission(root, layout.notebooks, executor, timeout=timeout, budget=budget, progress=progress,
                                  questions=modules(), keep=kept, exports=exports)

        def variant_run():
            vnbs = [vroot / p.relative_to(root) for p in layout.notebooks]
            return run_submission(vroot, vnbs, executor, timeout=timeout, budget=budget, questions=modules(),
                                  progress=False)

        variant = None
        if vroot is not None and parallel:
            with cf.ThreadPoolExecutor(2) as pool:
                fut_main, fut_var = pool.submit(main_run), pool.submit(variant_run)
                run, vrun = fut_main.result(), fut_var.result()
        else:
            run = main_run()
            vrun = variant_run() if vroot is not None and not run.interrupted else None
        if vroot is not None:
            variant = Variant(vrun, vrefs, None if vrun is not None else "the grader was interrupted", drawn)
        problems += run.problems
        apart = {} if run.interrupted else run_apart(run, refs, exports, executor)
        if keep_dir is not None:
            Path(keep_dir).mkdir(parents=True, exist_ok=True)
            for k, nb in enumerate(kept):
                nbformat.write(nb, Path(keep_dir) / f"{zip_path.stem}{'' if k == 0 else f'-{k + 1}'}.ipynb")
        ev = Evidence(run, refs, variant, apart)
        questions = {q.NAME: q.verdict(ev) for q in modules()}
        for q in modules():      # an error a question shows on purpose (Q7: the quiz's own, before the fix)
            excused = q.excused(ev, questions[q.NAME]) if hasattr(q, "excused") else None
            for c in run.cells if excused else ():
                if c.error is not None and excused(c.error):
                    c.error = dataclasses.replace(c.error, cause=SHOWN)
        if not layout.notebooks:
            others = sorted(p.name for p in root.rglob("*.py"))[:3]
            questions = {q: dataclasses.replace(v, note="no notebook (.ipynb) in the zip to run" + (
                f"; it holds {', '.join(others)} instead" if others else "")) for q, v in questions.items()}
        errors = tuple(c.error for c in run.cells if c.error is not None)
        return GradeReport(zip_path.name, layout.student_id, tuple(problems), layout.warnings,
                           time.monotonic() - t0, run.timed_out, run.died, run.interrupted, errors, questions,
                           tuple(p.relative_to(root).as_posix() for p in layout.notebooks),
                           getattr(executor, "description", "no sandbox: the notebook ran with the grader's permissions"),
                           "; ".join(f"{n}: {r}" if len(layout.notebooks) > 1 else r for n, r in run.reasons.items() if r),
                           graded_on, tuple(caveats),
                           {q.NAME: ev.measured(q.NAME, q.measures) for q in modules() if hasattr(q, "measures")})
