"""Command line: ``quiz1 build | check | grade | export | report | review | mark | similar | data standin | q1 ... q7``.

Bad input anywhere surfaces as a ``ValueError`` whose message is one sentence;
the CLI prints it, exits 2 and leaves no half-written output.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .data.atomic import atomic_path


def _print_json(obj) -> None:
    print(json.dumps(obj, indent=2))


def _emit(res: dict, as_json: bool) -> None:
    """Print a flat result as JSON, or as one "key: value" line each."""
    if as_json:
        _print_json(res)
    else:
        for k, v in res.items():
            print(f"{k}: {v}")


# --------------------------------------------------------------------------
# subcommands


def cmd_build(a) -> int:
    from .submission import build_submission

    res = build_submission(a.data, a.student_id, a.out, force=a.force, mnist=a.mnist, progress=not a.quiet,
                           trust_model=a.trust_model)
    print(f"wrote {res.zip_path} in {res.seconds:.1f} s")
    print(f"the notebook as a grader sees it: {res.html_path} (MathJax: {res.mathjax})")
    print(f"data: {res.data_description.replace('**', '')}")
    print(f"check it with: quiz1 check {res.zip_path}")
    return 0


def _options(a, threads: int):
    """The grading options of ``check``/``grade``; ``ValueError`` (one sentence) where bwrap cannot run."""
    from .grading.cohort.batch import Options

    if not a.no_sandbox:
        from .grading.running.sandbox import bwrap_problem

        problem = bwrap_problem()
        if problem:
            raise ValueError(problem)
    if a.data is not None:
        from .data.loaders import find_quiz_files, opened_input

        with opened_input(a.data) as root:
            find_quiz_files(root, optional={})   # every quiz file, once: else one sentence naming what is wrong
    if a.model is not None and not Path(a.model).is_file():
        raise ValueError(f"{a.model}: no such file (--model)")
    if a.variants not in (0, 1):
        raise ValueError(f"--variants: expected 0 or 1 but found {a.variants}")
    if a.mnist is not None:
        from .data.loaders import load_mnist

        load_mnist(a.mnist)   # one sentence now when the folder has no readable MNIST test split
    if a.python is not None:
        from .grading.running.interpreter import interpreter

        interpreter(a.python)   # one sentence now when it cannot run a kernel
    return Options(timeout=a.timeout, budget=a.budget, memory_gib=a.memory, trust_model=a.trust_model,
                   sandbox=not a.no_sandbox, threads=threads, data=a.data, model=a.model, variants=a.variants,
                   python=a.python, mnist=a.mnist)


def _cores() -> int:
    """The cores a grading kernel may use: OMP_NUM_THREADS when set (a shared machine, a test worker), else all."""
    env = os.environ.get("OMP_NUM_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else (os.cpu_count() or 1)


def cmd_check(a) -> int:
    from .grading import grade_submission
    from .grading.cohort.batch import make_executor
    from .grading.running.canary import MachineError, preflight

    if not Path(a.zip).is_file():
        raise ValueError(f"{a.zip}: no such file")
    parallel = a.variants > 0 and _cores() >= 2   # the two runs at once, each kernel on half the cores
    opts = _options(a, max(1, _cores() // 2) if parallel else _cores())
    executor = make_executor(opts)
    preflight(executor)  # refuse in one sentence when this machine cannot run even a canary notebook
    try:
        rep = grade_submission(a.zip, timeout=a.timeout, budget=a.budget, trust_model=a.trust_model,
                               progress=not (a.quiet or a.json), executor=executor, data=opts.data, model=opts.model,
                               variants=opts.variants, parallel=parallel, mnist=opts.mnist)
    except KeyboardInterrupt:  # outside the notebook run (which reports it itself): nothing graded yet
        print(f"quiz1: interrupted before {a.zip} was graded", file=sys.stderr)
        return 1
    except MachineError as e:
        raise ValueError(f"{a.zip}: {e}") from None
    except ValueError:
        raise
    except Exception as e:  # noqa: BLE001 -- the grader's own failure: no verdict, never a traceback at the TA
        raise ValueError(f"{a.zip}: not graded: the grader failed on this zip ({e.__class__.__name__}: {e})") from None
    ok = rep.passed and not (a.strict and rep.warnings)
    if a.json:
        _print_json(rep.to_json())
    else:
        print(rep.table())
        if a.strict and rep.warnings and rep.passed:
            print("FAIL (--strict): the layout has warnings")
    return 0 if ok else 1


def cmd_grade(a) -> int:
    from .grading.cohort.batch import collect_zips, grade_class
    from .grading.running.canary import MachineError

    zips = collect_zips(a.inputs)
    if not zips:
        raise ValueError(f"{', '.join(a.inputs)}: no .zip file found")
    jobs = a.jobs or _cores()
    opts = _options(a, max(1, _cores() // jobs))
    from .grading.marks.rubric import load_rubric

    rubric = load_rubric(a.rubric)   # one sentence now for a bad rubric, before any grading
    t0 = time.monotonic()
    try:
        reports = grade_class(zips, Path(a.out), opts, jobs=jobs, scheduler=a.scheduler, force=a.force,
                              progress=not a.quiet, rubric=rubric)
    except KeyboardInterrupt:
        print(f"quiz1: interrupted; the submissions graded so far are in {a.out}", file=sys.stderr)
        return 1
    except MachineError as e:
        raise ValueError(str(e)) from None
    seconds = time.monotonic() - t0
    skipped = [r["zip"] for r in reports if r.get("graded") is False]
    from .grading.marks.export import class_marks, duplicates

    marks = class_marks(Path(a.out), rubric)
    print(graded_line(reports, marks, a.out, seconds))
    for sid, ms in duplicates(marks).items():
        print(f"{sid}: {len(ms)} submissions ({', '.join(m.zip for m in ms)}); `quiz1 export` takes the one a TA "
              f"marks, the latest zip with --prefer latest, or the zip named with --prefer ZIP")
    if skipped:
        print(f"not graded, the grading machine failed (run `quiz1 grade` again to retry them): {', '.join(skipped)}")
        return 1
    return 0


def graded_line(reports: list[dict], marks: list, out: str, seconds: float) -> str:
    """What ``grade`` says at the end: how many of this run's zips are fully correct (every question, the
    machine's verdict) and how many wait for a human (``marks``: ``class_marks``, the items not yet marked or
    flagged), rather than a count of "passed" (all seven correct), which is 0 in a class with any open question."""
    graded = [r for r in reports if r.get("graded") is not False]
    zips = {r["zip"] for r in graded}
    waiting = [m for m in marks if m.zip in zips and m.pending]
    review = (f"{len(waiting)} need review ({sum(len(m.pending) for m in waiting)} item(s) wait for a human: "
              f"quiz1 review {out})" if waiting else "none waits for a human")
    correct = sum(bool(r.get("questions")) and all(v.get("status") == "correct" for v in r["questions"].values())
                  for r in graded)     # every question, whatever the zip's layout (a renamed zip still is)
    return (f"graded {len(graded)} submission(s) in {seconds:.0f} s: {correct} "
            f"fully correct (every question), {review}; {out}/grades.csv, {out}/report.html (the class summary: "
            f"quiz1 report {out} --pass MARK)")


def _graded(outdir: str) -> Path:
    """A folder ``quiz1 grade`` wrote (it holds gradebook.sqlite), or ``ValueError`` in one sentence."""
    out = Path(outdir)
    if not (out / "gradebook.sqlite").is_file():
        raise ValueError(f"{out}: no gradebook here (gradebook.sqlite); run `quiz1 grade ... --out {out}` first")
    return out


def cmd_export(a) -> int:
    from .grading.marks.export import choose, class_marks, fill_canvas, marks_csv
    from .grading.marks.rubric import load_rubric

    out = _graded(a.outdir)
    if a.reveal and not a.feedback:
        raise ValueError("export: --reveal shows the expected values on the feedback pages; expected --feedback with it "
                         "but found none")
    if not (a.csv or a.canvas or a.feedback):
        raise ValueError("export: expected --csv FILE, --canvas CANVAS_EXPORT.csv or --feedback but found none of them")
    rubric = load_rubric(a.rubric)
    marks = class_marks(out, rubric)
    one, chosen = (choose(marks, a.prefer) if a.canvas or a.feedback else (marks, []))   # one submission a student
    for line in chosen:
        print(line)
    if a.csv:
        from .data.atomic import write_text

        write_text(a.csv, marks_csv(marks, rubric))
        print(f"wrote {a.csv}: {len(marks)} submission(s), marks per question, total of {rubric.base:g}, bonus of "
              f"{rubric.bonus:g}")
    if a.canvas:
        dest = a.out or str(out / "canvas_import.csv")
        r = fill_canvas(a.canvas, dest, one, rubric, a.assignment, missing_zero=a.missing_zero, overwrite=a.overwrite,
                        allow_pending=a.allow_pending)
        bom = " with a byte-order mark" if r.bom else ""
        print(f"read {a.canvas} as {r.encoding}; wrote {dest} (UTF-8{bom}): column '{r.column}' filled for "
              f"{r.filled} student(s); {r.no_submission} without a submission "
              f"({'0 where the cell was empty' if a.missing_zero else 'left as they were'})")
        if r.pending:
            waits = "; ".join(f"{sid} {' '.join(qs)}" for sid, qs in r.pending)
            print(f"{sum(len(qs) for _, qs in r.pending)} item(s) wait for a human; exported with those students' "
                  f"cells left as they were: {waits}")
        for who, old, new in r.overwritten:
            print(f"overwritten (--overwrite): {who}: Canvas had {old}, now {new}")
        for who, old, new in r.kept:
            print(f"kept Canvas's score: {who}: {old} (quiz1's would be {new}; --overwrite to replace it)")
        if r.unmatched:
            print(f"submissions matching no Canvas student (not imported): {', '.join(r.unmatched)}")
    if a.feedback:
        from .grading.marks.export import write_feedback

        written = write_feedback(out, out / "feedback", one, rubric, reveal=a.reveal)
        print(f"wrote {len(set(written))} feedback page(s) to {out / 'feedback'}"
              + (" (with the expected values, --reveal)" if a.reveal else ""))
    return 0


def cmd_mark(a) -> int:
    from .grading.marks import gradebook

    out = _graded(a.outdir)
    rows = [it for it in gradebook.items(out) if it["question"] == a.question.upper()
            and a.student.upper() in (it["stem"].upper(), (it["student_id"] or "").upper(), it["zip"].upper())]
    if len(rows) != 1:
        raise ValueError(f"{a.student} {a.question}: expected one item in the gradebook but found {len(rows)}")
    it = rows[0]
    where = f"{it['stem']} {it['question']}"
    if (a.marks is None) == (a.items is None):
        raise ValueError(f"{where}: expected a mark (a number) or --items (rubric item ids) but found "
                         f"{'both' if a.items is not None else 'neither'}")
    if a.adjust is not None and a.items is None:
        raise ValueError(f"{where}: --adjust: expected it with --items (a mark given as a number is the whole mark)")
    if a.items is None:
        v = gradebook.set_mark(out, it["stem"], it["question"], a.marks, a.by, it["version"], a.comment)
    else:
        ids = [i.strip() for i in a.items.split(",") if i.strip()]
        v = gradebook.apply_items(out, it["stem"], it["question"], ids, a.adjust, a.comment, a.by, it["version"])
    now = gradebook.item(out, it["stem"], it["question"])
    old = ("no mark" if it["marks"] is None else
           f"{it['marks']:g} by {'the machine' if it['marked_by'] == gradebook.MACHINE else it['marked_by']}")
    kept = ("comment kept" if a.comment is None and it["comment"] else
            "no comment" if a.comment is None else "comment replaced" if it["comment"] else "comment added")
    how = f" ({', '.join(now['applied']) or 'no item'}{f', {a.adjust:+g}' if a.adjust else ''})" if a.items is not None else ""
    print(f"{where}: {now['marks']:g} of {it['max_marks']:g}{how}, marked by {a.by} (version {v}); it "
          f"replaces {old}; {kept}")
    return 0


def cmd_rubric(a) -> int:
    from .grading.marks import gradebook

    out = _graded(a.outdir)
    question = a.question.upper() if a.question else None
    rows = gradebook.rubric_items(out, question)
    if not rows:
        known = sorted({r["question"] for r in gradebook.rubric_items(out)})
        raise ValueError(f"{out}: question: expected one of {', '.join(known) or 'the questions'} (with rubric items "
                         f"in the gradebook) but found {a.question!r}")
    for r in rows:
        points = r["points"] if isinstance(r["points"], str) else f"{r['points']:+g}"
        print(f"{r['question']}  {r['id']:<24} {points:>6}  {r['text']}")
    return 0


def cmd_similar(a) -> int:
    from .grading.cohort.similarity import write_similarity

    out = Path(a.outdir)
    if not any(out.glob("*.json")):
        raise ValueError(f"{out}: no graded submission here (<zip stem>.json); run `quiz1 grade ... --out {out}` first")
    pairs = write_similarity(out)
    print(f"{len(pairs)} pair(s) for a human to look at: {out / 'similarity.html'}, {out / 'similarity.csv'}")
    return 0


def cmd_review(a) -> int:
    from .grading.marks.rubric import load_rubric
    from .grading.web.review import listen, serve

    out = _graded(a.outdir)
    rubric = load_rubric(a.rubric)
    sock = listen(a.host, a.port)   # the port is ours before its URL is printed (a taken one: one sentence, exit 2)
    host, port = sock.getsockname()[:2]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else f"[{host}]" if ":" in host else host
    print(f"quiz1 review: http://{shown}:{port}/ (Ctrl-C to stop; every mark is saved as it is made)", flush=True)
    serve(out, sock, rubric)
    return 0


def cmd_report(a) -> int:
    from .data.atomic import write_text
    from .grading.cohort.batch import class_page
    from .grading.marks.rubric import load_rubric
    from .grading.marks.summary import pass_mark_of

    out = _graded(a.outdir)
    rubric = load_rubric(a.rubric)
    pass_mark = None if a.pass_mark is None else pass_mark_of(a.pass_mark, rubric)
    page, sm = class_page(out, rubric, pass_mark)
    dest = Path(a.out) if a.out else out / "report.html"
    write_text(dest, page)
    rate = "no submission" if sm.rate is None else f"{100 * sm.rate:.1f}% ({sm.passed} of {sm.count})"
    middle = "" if sm.median is None else f"median {sm.median:g}, mean {sm.mean:.2f} of {sm.base:g} + {sm.bonus:g}; "
    print(f"wrote {dest}: {sm.count} submission(s); {middle}pass rate {rate} at a pass mark of {sm.pass_mark:g} "
          f"({sm.pass_from})" + (f"; {sm.provisional} with items waiting for a human (counted 0)" if sm.provisional else ""))
    return 0


def cmd_data_standin(a) -> int:
    from .data.standin import write_standin

    out = Path(a.out_dir)
    if out.exists() and any(out.iterdir()) and not a.force:
        raise ValueError(f"{out}: folder exists and is not empty; pass --force to write into it")
    with tempfile.TemporaryDirectory(prefix="quiz1-standin-") as tmp:
        src = write_standin(tmp, mnist_dir=a.mnist, seed=a.seed)
        out.mkdir(parents=True, exist_ok=True)
        for p in sorted(Path(tmp).rglob("*")):
            if p.is_file():
                dest = out / p.relative_to(tmp)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(p, dest)
    print(f"wrote a Quizz_data-style folder to {out} (seed {a.seed}); Q6 images: {src}")
    return 0


def cmd_q1(a) -> int:
    from .data.loaders import find_quiz_files, load_q1, opened_input
    from .solvers.softmax_ce import softmax_cross_entropy

    with opened_input(a.data) as root:
        files = find_quiz_files(root, required={"data.txt": "Q_1", "labels.txt": "Q_1"}, optional={})
        d = load_q1(files["data.txt"], files["labels.txt"])
    r = softmax_cross_entropy(d.logits, d.labels)
    if a.json:
        _print_json({"per_sample": r.per_sample.tolist(), "mean": r.mean, "total": r.total})
    else:
        for n, loss in enumerate(r.per_sample):
            print(f"sample {n:4d}  loss {loss:.12f}")
        print(f"mean  {r.mean:.12f}\ntotal {r.total:.12f}")
    return 0


def _numbers(text: str, option: str) -> list[str]:
    parts = [t.strip() for t in text.split(",")]
    try:
        vals = [float(t) for t in parts]
    except ValueError:
        raise ValueError(f"{option}: expected comma-separated numbers but got '{text}'") from None
    if not all(np.isfinite(vals)):
        raise ValueError(f"{option}: expected finite numbers but got '{text}'")
    return parts


def cmd_q2(a) -> int:
    from .data.loaders import figure1_dot
    from .solvers.compute_graph import claim_tolerance, parse_torchviz, search

    if a.graph:
        path = Path(a.graph)
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as e:
            raise ValueError(f"{path}: could not be read ({e.__class__.__name__})") from None
        graph = parse_torchviz(text, str(path))
    else:
        graph = parse_torchviz(figure1_dot(), "Figure 1")
    inputs, claim, ev = (_numbers(t, o) for t, o in ((a.inputs, "--inputs"), (a.claim, "--claim"), (a.eval, "--eval")))
    size = graph.tensor_size
    for opt, vals in (("--inputs", inputs), ("--claim", claim), ("--eval", ev)):
        if size is not None and len(vals) != size:
            raise ValueError(f"{opt}: the graph's tensors have {size} entries but {len(vals)} numbers were given")
    r = search(graph, [float(v) for v in inputs], [float(v) for v in claim], [float(v) for v in ev],
               float(a.constant), claim_tolerance(claim))
    if a.json:
        _print_json({"isomorphic": r.isomorphic, "candidates": r.candidates, "consistent": r.consistent,
                     "eval_outputs": r.eval_outputs, "claim_nodes": r.claim_nodes, "code": r.code})
    else:
        from .solvers.compute_graph import audit_markdown

        print(r.code, "\n")
        print(audit_markdown(r, [float(v) for v in inputs], [float(v) for v in claim], [float(v) for v in ev]).replace("**", ""))
    return 0


def cmd_q3(a) -> int:
    from .solvers.symbolic_grad import check_against_autograd, derive, evaluate

    if a.at:
        pt = _read_q3_point(Path(a.at))
        r = evaluate(pt["x"], pt["W1"], pt["W2"], pt["y"])
        _emit({"loss": r.loss, "dL_dx": r.dL_dx.tolist(), "dL_dW1": r.dL_dW1.tolist(), "dL_dW2": r.dL_dW2.tolist()}, a.json)
        return 0
    d = derive()
    chk = check_against_autograd(a.points)
    if not d.proven_equal:  # internal invariant: the closed forms are sympy's derivatives
        raise AssertionError("sympy could not prove the closed forms equal to its derivatives")
    if a.json:
        _print_json({"latex": d.latex, "points_checked": chk["points_checked"], "max_abs_error": chk["max_abs_error"]})
    else:
        print("dL/dx = (sigma(s) - y) W1 (1[f > 0] + W2),  f = W1^T x,  s = ReLU(f1) + W2.f + ReLU(f2)")
        print(f"sympy proves the closed forms equal to its own derivatives: {d.proven_equal}")
        print(f"max |closed form - torch autograd| over {chk['points_checked']} points: {chk['max_abs_error']:.3e}")
    return 0


def _read_q3_point(path: Path) -> dict:
    try:
        pt = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: could not be read as JSON ({e})") from None
    if not isinstance(pt, dict):
        raise ValueError(f"{path}: should hold a JSON object with keys x, W1, W2, y but holds a {type(pt).__name__}")
    missing = [k for k in ("x", "W1", "W2", "y") if k not in pt]
    if missing:
        raise ValueError(f"{path}: point is missing key(s) {', '.join(missing)} (expected x, W1, W2, y)")
    for key, shape in (("x", (3,)), ("W1", (3, 2)), ("W2", (2,)), ("y", ())):
        try:
            arr = np.asarray(pt[key], dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{path}: field '{key}' should be numbers of shape {shape} but is {pt[key]!r}") from None
        if arr.shape != shape:
            raise ValueError(f"{path}: field '{key}' should have shape {shape} but has shape {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError(f"{path}: field '{key}' should be finite")
    if not 0 <= float(pt["y"]) <= 1:
        raise ValueError(f"{path}: field 'y' should be a label in [0, 1] but is {pt['y']}")
    return pt


def cmd_q4(a) -> int:
    from .data.loaders import load_cloud
    from .solvers.encoders import chart_formulas, chart_structure, find_chart, report

    X = load_cloud(a.file)
    n, D = X.shape
    if not 1 <= a.dim < D:
        raise ValueError(f"{a.file}: --dim should be between 1 and {D - 1} for {D}-D points but is {a.dim}")
    if n < a.dim + 2:
        raise ValueError(f"{a.file}: needs at least {a.dim + 2} points for a {a.dim}-D code but holds {n}")
    chart = find_chart(X, a.dim)
    rep = report(chart, X)
    enc, dec = chart_formulas(chart) if chart is not None else ([], [])
    nn_params = nn_mse = None
    if not a.no_nn:
        from .solvers.neural_encoders import neural_search

        rows = neural_search(X, a.dim, chart_structure(chart) if chart is not None else None)
        nn_params, nn_mse = rows[0].params, rows[0].mse
    if a.json:
        _print_json({"exact": rep.exact, "formula": "; ".join(enc + dec), "encoder": enc, "decoder": dec,
                     "max_reconstruction_error": rep.max_reconstruction_error, "shared_codes": rep.shared_codes,
                     "duplicate_points": rep.duplicate_points, "singular_points": rep.singular_points,
                     "nn_params": nn_params, "nn_mse": nn_mse})
    else:
        print(f"exact encoder found: {rep.exact}" + (f" ({'; '.join(rep.describe)})" if chart is not None else ""))
        for line in enc:
            print(f"  E: {line}")
        for line in dec:
            print(f"  G: {line}")
        if chart is not None:
            print(f"max |G(E(x)) - x| = {rep.max_reconstruction_error:.2e}; points sharing a code with a distinct point: "
                  f"{rep.shared_codes}; duplicated points: {rep.duplicate_points}; at a chart pole: {rep.singular_points}")
        if nn_params is not None:
            print(f"best network: {nn_params} parameters, reconstruction MSE {nn_mse:.3e}")
    return 0


def cmd_q5(a) -> int:
    from .data.loaders import load_pair_set
    from .solvers.unpaired import learn_unpaired

    xy, ab = load_pair_set(a.xy, "xy"), load_pair_set(a.ab, "ab")
    for path, arr in ((a.xy, xy), (a.ab, ab)):
        if arr.shape[1] < 10:
            raise ValueError(f"{path}: should hold at least 10 points but holds {arr.shape[1]}")
    r = learn_unpaired(xy[0], ab, seed=a.seed)
    if a.plot:
        import matplotlib

        matplotlib.use("Agg")
        from .notebook.figures import q5_figure

        with atomic_path(a.plot) as tmp:
            q5_figure(xy[0], ab.T, r.predictions).savefig(tmp, dpi=120)
    if a.json:
        _print_json({"chamfer": r.chamfer, "hausdorff": r.hausdorff, "params": r.params, "seconds": r.seconds,
                     "hidden": list(r.hidden), "activation": r.activation, "orientation": r.orientation,
                     "predictions": r.predictions.tolist()})
    else:
        print(f"MLP 1 -> {r.hidden[0]} -> {r.hidden[1]} -> 2, {r.activation}, {r.params} parameters")
        print(f"Chamfer {r.chamfer:.3e}, Hausdorff {r.hausdorff:.3e}, {r.seconds:.1f} s; orientation: {r.orientation}")
    return 0


def cmd_q6_train(a) -> int:
    from .data.standin_model import ensure_standin_model

    path, rep = ensure_standin_model(a.mnist, progress=not a.quiet)
    if a.out:
        with atomic_path(a.out) as tmp:
            shutil.copy2(path, tmp)
        path = Path(a.out)
    print(f"stand-in model: {path}")
    print(f"trained on {rep['source']}")
    print(f"validation accuracy {100 * rep['val_accuracy']:.2f}% on {rep['n_val']} images; "
          f"training took {rep['seconds']:.0f} s ({rep['epochs']} epochs)")
    return 0


def cmd_q6_attack(a) -> int:
    from .data.loaders import load_image
    from .solvers.adversarial import attack
    from .solvers.mnist_model import load_model

    if not 0 <= a.target <= 9:
        raise ValueError(f"--target: expected a digit 0..9 but got {a.target}")
    image = load_image(a.image)
    if a.model:
        model = load_model(a.model, trust_pickle=a.trust_model)
    else:
        from .data.standin_model import ensure_standin_model

        model = load_model(ensure_standin_model(a.mnist, progress=not a.json)[0])
    if a.eps is not None and a.eps_rms is not None:
        raise ValueError("--eps and --eps-rms: give one radius, not both")
    eps = a.eps if a.eps_rms is None else 28.0 * a.eps_rms   # sqrt(784) = 28: an RMS of R is an L2 of 28 R
    if eps is not None and not (np.isfinite(eps) and eps >= 0):
        raise ValueError(f"--eps: expected an L2 radius >= 0 in [0, 1] units but got {eps}")
    r = attack(model, image, a.target, eps=eps)
    if a.out:
        from PIL import Image

        with atomic_path(a.out) as tmp:
            Image.fromarray(r.adv_u8).save(tmp)
    keys = ("pred_before", "pred_after", "pred_after_uint8", "p_target", "objective", "l2", "l2_uint8", "l2_255", "rms",
            "success", "seconds") + (("eps",) if eps is not None else ())
    _emit({k: getattr(r, k) for k in keys}, a.json)
    return 0


def cmd_q7(a) -> int:
    from .solvers.double_backward import G, GFixed, run_quiz_main

    orig, fixed = run_quiz_main(G), run_quiz_main(GFixed)
    if a.json:
        _print_json({"original_error": orig.error, "grad_after_first": fixed.grad_after_first,
                     "grad_after_second": fixed.grad_after_second})
    else:
        print(f"original code raises: RuntimeError: {orig.error}")
        print(f"fixed code: xinit.grad after pass 1 = {fixed.grad_after_first}, after pass 2 = {fixed.grad_after_second}")
    return 0


# --------------------------------------------------------------------------
# parser


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="quiz1", description="Solve CS5242 Quiz 1 and build a checked submission.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = sub.add_parser("build", help="build <ID>.zip with the executed notebook")
    b.add_argument("--data", help="Quizz_data folder or .zip (default: the embedded stand-in data)")
    b.add_argument("--student-id", default="A0000000X", help="A + 7 digits + letter (default A0000000X)")
    b.add_argument("--out", default="dist", help="output folder (default dist)")
    b.add_argument("--force", action="store_true", help="overwrite an existing zip")
    b.add_argument("--mnist", default=os.environ.get("QUIZ1_MNIST"),
                   help="MNIST IDX folder: trains the stand-in Q6 model and, without --data, gives I0/I1 "
                        "(default $QUIZ1_MNIST, else scikit-learn's digits)")
    b.add_argument("--trust-model", action="store_true",
                   help="the data's model.pth is a whole pickled model you trust (unpickling runs its code)")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=cmd_build)

    def grading_options(g):
        g.add_argument("--timeout", type=float, default=600, help="seconds for one cell (default 600)")
        g.add_argument("--budget", type=float, default=1800, help="seconds for one submission's whole run (default 1800)")
        g.add_argument("--memory", type=float, default=4.0, metavar="GiB",
                       help="memory a process of the notebook may take (default 4)")
        g.add_argument("--trust-model", action="store_true",
                       help="Q_6/model.pth may be a whole pickled model (unpickling runs its code); default: weights only")
        g.add_argument("--no-sandbox", action="store_true",
                       help="run notebooks without bubblewrap, with your own permissions (said in the report)")
        g.add_argument("--data", metavar="QUIZ_DATA", help="the quiz's data (Quizz_data folder or .zip): put in place of "
                       "each zip's copies and graded against (default: each zip's own, with a warning)")
        g.add_argument("--model", metavar="M.pth", help="the quiz's M for Q6 (default: each zip's Q_6/model.pth, with a "
                       "warning)")
        g.add_argument("--variants", type=int, default=1, metavar="N",
                       help="1 (default): run each notebook once more on changed data, so a value must follow the data; "
                            "0: one run (about half the time)")
        g.add_argument("--mnist", default=os.environ.get("QUIZ1_MNIST"), metavar="DIR",
                       help="MNIST IDX folder: the variant run's I0/I1 are other MNIST digits of their classes "
                            "(default $QUIZ1_MNIST, else scikit-learn's bundled digits)")
        g.add_argument("--python", metavar="PATH", help="the interpreter the notebooks' kernels run (a course's own "
                       "environment; it needs ipykernel); default: quiz1's own")
        g.add_argument("--quiet", action="store_true", help="no progress bar")

    c = sub.add_parser("check", help="grade one submission zip as a careful TA would (exit 0 pass, 1 problems, 2 "
                                     "nothing to grade)")
    c.add_argument("zip")
    grading_options(c)
    c.add_argument("--strict", action="store_true", help="layout warnings fail too")
    c.add_argument("--json", action="store_true", help="print the report as one JSON object")
    c.set_defaults(func=cmd_check)

    gr = sub.add_parser("grade", help="grade a class: every zip in parallel, each sandboxed, into one grade sheet")
    gr.add_argument("inputs", nargs="+", metavar="DIR_OR_ZIP", help="zips, or folders holding them")
    gr.add_argument("--out", required=True, metavar="OUTDIR",
                    help="grades.csv, report.html, and <zip stem>.json / .ipynb for each zip")
    gr.add_argument("--jobs", type=int, help="submissions at once on this machine (default: the number of cores)")
    gr.add_argument("--scheduler", metavar="ADDRESS", help="a dask.distributed scheduler to send the tasks to")
    gr.add_argument("--force", action="store_true", help="grade again zips already graded (same content and quiz1)")
    gr.add_argument("--rubric", metavar="FILE", help="marks and what each verdict earns (TOML; default quiz1's own)")
    grading_options(gr)
    gr.set_defaults(func=cmd_grade)

    ex = sub.add_parser("export", help="marks out of a graded OUTDIR: a CSV per question, and the course's Canvas file")
    ex.add_argument("outdir", metavar="OUTDIR")
    ex.add_argument("--csv", metavar="FILE", help="per-question marks, total, bonus, who marked each")
    ex.add_argument("--canvas", metavar="CANVAS_EXPORT.csv", help="the course's Canvas gradebook export to fill")
    ex.add_argument("--assignment", metavar="NAME_OR_ID", default="Quiz 1", help="the Canvas column to fill: the "
                    "assignment's name or Canvas id, exactly ('Quiz 1' or '123456' match 'Quiz 1 (123456)'; default "
                    "'Quiz 1'); no match is refused, never a new column")
    ex.add_argument("--overwrite", action="store_true", help="replace scores Canvas already holds (each is listed; "
                    "default: kept)")
    ex.add_argument("--allow-pending", action="store_true", help="export although items wait for a human, leaving "
                    "those students' cells as they are (default: refuse)")
    ex.add_argument("--prefer", action="append", metavar="latest|ZIP", help="a student with two submissions: export "
                    "the latest zip, or the zip named (its name or stem; repeat for several students); default: the "
                    "one a TA marked, else refuse")
    ex.add_argument("--out", metavar="FILE", help="the file for Canvas to import (default OUTDIR/canvas_import.csv)")
    ex.add_argument("--missing-zero", action="store_true", help="0 for students with no submission (default blank)")
    ex.add_argument("--feedback", action="store_true", help="OUTDIR/feedback/<ID>.html per student, in the "
                    "student's words: each question's mark, the rubric items applied with their text, the TA's comment")
    ex.add_argument("--reveal", action="store_true", help="with --feedback: the expected value next to what was found, "
                    "for each question (default: not shown)")
    ex.add_argument("--rubric", metavar="FILE", help="the rubric the class was graded with (default quiz1's own)")
    ex.set_defaults(func=cmd_export)

    si = sub.add_parser("similar", help="pairs of a graded class with shared code, explanations or wrong answers")
    si.add_argument("outdir", metavar="OUTDIR")
    si.set_defaults(func=cmd_similar)

    rv = sub.add_parser("review", help="a local web page to mark what needs a human, question by question")
    rv.add_argument("outdir", metavar="OUTDIR")
    rv.add_argument("--port", type=int, default=8000, help="default 8000; 0: any free port (the URL printed says which)")
    rv.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (this machine only)")
    rv.add_argument("--rubric", metavar="FILE", help="the rubric the class was graded with (default quiz1's own)")
    rv.set_defaults(func=cmd_review)

    rp = sub.add_parser("report", help="report.html made again from the gradebook's current marks, with the class "
                                       "summary (median, mean, pass rate)")
    rp.add_argument("outdir", metavar="OUTDIR")
    rp.add_argument("--pass", dest="pass_mark", type=float, metavar="MARK", help="the pass mark of the total (base + "
                    "bonus; default: half the rubric's base marks, 7.5 in quiz1's)")
    rp.add_argument("--out", metavar="FILE", help="where to write it (default OUTDIR/report.html)")
    rp.add_argument("--rubric", metavar="FILE", help="the rubric the class was graded with (default quiz1's own)")
    rp.set_defaults(func=cmd_report)

    mk = sub.add_parser("mark", help="a TA's mark for one question of one submission (kept by every re-run of grade)")
    mk.add_argument("outdir", metavar="OUTDIR")
    mk.add_argument("student", metavar="STUDENT", help="student id, zip name or zip stem")
    mk.add_argument("question", metavar="QUESTION", help="Q1 .. Q7")
    mk.add_argument("marks", type=float, nargs="?", help="the mark, a number (or --items)")
    mk.add_argument("--items", metavar="ID,ID", help="the mark as the question's rubric items applied (ids, comma "
                                                     "separated; `quiz1 rubric OUTDIR` lists them); '' for none")
    mk.add_argument("--adjust", type=float, metavar="X", help="with --items: added to their points")
    mk.add_argument("--by", required=True, metavar="NAME", help="the TA who sets the mark")
    mk.add_argument("--comment", help="feedback for the student (default: the item's comment is kept)")
    mk.set_defaults(func=cmd_mark)

    rb = sub.add_parser("rubric", help="the rubric items a mark is made of (as the gradebook holds them)")
    rb.add_argument("outdir", metavar="OUTDIR")
    rb.add_argument("question", metavar="QUESTION", nargs="?", help="Q1 .. Q7 (default: every question)")
    rb.set_defaults(func=cmd_rubric)

    d = sub.add_parser("data", help="data utilities")
    dsub = d.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    s = dsub.add_parser("standin", help="write the embedded default data as a Quizz_data-style folder")
    s.add_argument("out_dir")
    s.add_argument("--mnist", help="MNIST IDX folder for I0/I1 (default: scikit-learn digits)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--force", action="store_true", help="write into a non-empty folder")
    s.set_defaults(func=cmd_data_standin)

    q1 = sub.add_parser("q1", help="softmax + cross-entropy of data.txt / labels.txt")
    q1.add_argument("--data", required=True, help="folder or zip holding data.txt and labels.txt")
    q1.add_argument("--json", action="store_true")
    q1.set_defaults(func=cmd_q1)

    q2 = sub.add_parser("q2", help="code for a torchviz compute graph (default Figure 1) and an audit of the claim")
    q2.add_argument("--graph", metavar="FILE.dot", help="torchviz DOT text (make_dot(out).source); default Figure 1")
    q2.add_argument("--inputs", default="1,2,3", help="every leaf's value for the claim (default 1,2,3)")
    q2.add_argument("--claim", default="7,11,17", help="claimed output at --inputs (default 7,11,17)")
    q2.add_argument("--eval", default="4,5,6", help="every leaf's value to answer for (default 4,5,6)")
    q2.add_argument("--constant", type=float, default=5.0, help="the constant of one-input ops (default 5)")
    q2.add_argument("--json", action="store_true")
    q2.set_defaults(func=cmd_q2)

    q3 = sub.add_parser("q3", help="symbolic gradient of Figure 2's network, checked against autograd")
    q3.add_argument("--at", metavar="POINT.json", help='evaluate the closed forms at {"x","W1","W2","y"}')
    q3.add_argument("--points", type=int, default=200, help="random points for the autograd check (default 200)")
    q3.add_argument("--json", action="store_true")
    q3.set_defaults(func=cmd_q3)

    q4 = sub.add_parser("q4", help="exact encoder (and small autoencoders) for a point cloud")
    q4.add_argument("file", help=".txt (whitespace numbers) or .npz (array1, else the first array)")
    q4.add_argument("--dim", type=int, required=True, help="code dimension d < D")
    q4.add_argument("--no-nn", action="store_true", help="skip the neural search")
    q4.add_argument("--json", action="store_true")
    q4.set_defaults(func=cmd_q4)

    q5 = sub.add_parser("q5", help="learn f: x -> (alpha, beta) from unpaired point sets")
    q5.add_argument("--xy", required=True, help="xy.npz (arr_0: 2 x N, row 0 = x)")
    q5.add_argument("--ab", required=True, help="ab.npz (arr_0: 2 x M, alpha and beta)")
    q5.add_argument("--seed", type=int, default=0)
    q5.add_argument("--plot", metavar="OUT.png", help="write the Figure 3 reconstruction")
    q5.add_argument("--json", action="store_true")
    q5.set_defaults(func=cmd_q5)

    q6 = sub.add_parser("q6", help="the MNIST model: train the stand-in, attack an image")
    q6sub = q6.add_subparsers(dest="q6_command", required=True, metavar="ACTION")
    t = q6sub.add_parser("train", help="train (or fetch from the cache) the stand-in CustomModel")
    t.add_argument("--mnist", default=os.environ.get("QUIZ1_MNIST"), help="MNIST IDX folder (default $QUIZ1_MNIST, "
                   "else scikit-learn digits)")
    t.add_argument("--out", help="also copy the state_dict here")
    t.add_argument("--quiet", action="store_true")
    t.set_defaults(func=cmd_q6_train)
    at = q6sub.add_parser("attack", help="targeted minimal-L2 attack on one 28x28 PNG")
    at.add_argument("--image", required=True)
    at.add_argument("--target", type=int, required=True, help="digit 0..9")
    at.add_argument("--model", help="model.pth (state_dict; a whole pickle needs --trust-model); default: the stand-in")
    at.add_argument("--trust-model", action="store_true", help="allow unpickling a whole model (runs code from the file)")
    at.add_argument("--mnist", default=os.environ.get("QUIZ1_MNIST"), help="MNIST folder for the stand-in")
    at.add_argument("--eps", type=float, metavar="E", help="solve the quiz's literal problem: the largest p_target with "
                    "L2 <= E in [0, 1] units after 8-bit rounding (default: the smallest change read as the target)")
    at.add_argument("--eps-rms", type=float, metavar="R", help="the same with E = 28 R (a per-pixel RMS of R)")
    at.add_argument("--out", metavar="PNG", help="write the uint8 adversarial image")
    at.add_argument("--json", action="store_true")
    at.set_defaults(func=cmd_q6_attack)

    q7 = sub.add_parser("q7", help="the double-backward bug: the error and the fixed gradients")
    q7.add_argument("--json", action="store_true")
    q7.set_defaults(func=cmd_q7)
    return p


LIST_OPTIONS = ("--inputs", "--claim", "--eval")
_NUMBER_LIST = re.compile(r"^-?[0-9.eE+-]+(,\s*-?[0-9.eE+-]+)*$")


def _glue_negative_lists(argv: list[str]) -> list[str]:
    """``--claim -25,-30,-35`` -> ``--claim=-25,-30,-35``: argparse takes a value starting with '-' for an option."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] in LIST_OPTIONS and i + 1 < len(argv) and argv[i + 1].startswith("-") and _NUMBER_LIST.match(argv[i + 1]):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def main(argv: list[str] | None = None) -> int:
    argv = _glue_negative_lists(list(sys.argv[1:] if argv is None else argv))
    args = make_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as e:
        print(f"quiz1: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
