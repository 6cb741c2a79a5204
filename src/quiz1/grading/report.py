"""The grade report: frozen, printable as a table for a TA, and as the one JSON object ``quiz1 check --json`` gives."""
from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field

# what a terminal or a page would act on rather than show: ANSI escape sequences (CSI, OSC, two-byte), then every other
# control character but newline and tab (a student's exception text carries colour codes; \r would overwrite a line)
CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|[\x00-\x08\x0b-\x1f\x7f-\x9f]")
VERDICTS = ("correct", "wrong", "unverified", "error", "missing")


def printable(text):
    """``text`` without ANSI escape sequences and control characters (newlines and tabs kept), of the same type (a
    page's ``Markup`` stays markup); not a str: as it is."""
    if not isinstance(text, str):
        return text
    clean = CONTROL.sub("", text)
    return clean if type(text) is str else type(text)(clean)


def _printable_fields(obj) -> None:
    """Strip control characters from every text field of a frozen dataclass instance, in place."""
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, str):
            object.__setattr__(obj, f.name, printable(v))
        elif isinstance(v, tuple) and all(isinstance(e, str) for e in v):
            object.__setattr__(obj, f.name, tuple(printable(e) for e in v))


def plain(value):
    """``value`` as JSON holds it: a dataclass instance (a question's typed ``measures``) as the dict of its fields,
    tuples as lists, recursively; anything else as it is."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


@functools.lru_cache(maxsize=None)
def template(name: str):
    """A page template of ``grading/templates`` (Jinja2, everything autoescaped: the pages show students' text)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("quiz1.grading", "templates"), autoescape=select_autoescape(default=True),
                      finalize=printable)     # every value a page shows, without control characters
    return env.get_template(name)


@dataclass(frozen=True)
class Verdict:
    """One question: ``status`` is one of VERDICTS; ``found``/``expected`` as text, ``note`` for the TA."""

    status: str
    found: str | None = None
    expected: str | None = None
    note: str | None = None

    def __post_init__(self):
        _printable_fields(self)
        if self.status not in VERDICTS:
            raise ValueError(f"verdict status: expected one of {', '.join(VERDICTS)} but found '{self.status}'")


@dataclass(frozen=True)
class CellError:
    """An error in the run, located as Jupyter shows it: notebook, ``In [n]``, the exception and the line."""

    notebook: str
    cell: str                 # "In [5]", or "cell 12" when it never got an execution count
    exception: str            # "NameError: name 'x' is not defined"
    line: str | None          # the student's line that raised, when the traceback names it
    knock_on: str | None      # "In [3]" when this error only follows from an earlier one
    cause: str                # "student", or "grading machine: ..." (no CUDA, a package not installed, no network)

    def __post_init__(self):
        _printable_fields(self)

    def describe(self) -> str:
        where = f"{self.notebook} {self.cell}"
        exception = self.exception if len(self.exception) <= 160 else self.exception[:157].rstrip() + "..."
        text = f"{where}: {exception}" + (f"  <- `{self.line}`" if self.line else "")
        if self.knock_on:
            text += f"  (knock-on of {self.knock_on})"
        if self.cause != "student":
            text += f"  [{self.cause}]"
        return text


@dataclass(frozen=True)
class GradeReport:
    """Everything ``grade_submission`` found about one zip."""

    zip_name: str
    student_id: str | None
    problems: tuple
    warnings: tuple
    seconds: float
    timed_out: bool
    kernel_died: bool
    interrupted: bool
    errors: tuple                                   # CellError
    questions: dict = field(default_factory=dict)   # "Q1".."Q7" -> Verdict
    notebooks: tuple = ()
    sandbox: str = ""                                # how the notebook was confined, in words
    stop_reason: str = ""                            # why the run ended early, in words ("" when it ran to the end)
    graded_on: str = ""                              # the second run on changed data, or why there was none
    caveats: tuple = ()                              # what the verdicts rest on that the TA should know (no --data, ...)
    measures: dict = field(default_factory=dict)     # question name -> what its module measured (``measures``: typed
    #                                                  records, plain JSON only in ``to_json``)

    def __post_init__(self):
        _printable_fields(self)

    @property
    def passed(self) -> bool:
        """No layout problem, the run finished without an error, and no question wrong, in error or missing."""
        return not (self.problems or self.faults or self.timed_out or self.kernel_died or self.interrupted
                    or any(v.status in ("wrong", "error", "missing") for v in self.questions.values()))

    @property
    def faults(self) -> tuple:
        """The errors that count against the run (not the quiz's own error shown on purpose before its fix)."""
        return tuple(e for e in self.errors if not e.cause.startswith("shown on purpose"))

    def to_json(self) -> dict:
        return {
            "student_id": self.student_id,
            "graded": True,
            "passed": self.passed,
            "zip": self.zip_name,
            "notebooks": list(self.notebooks),
            "sandbox": self.sandbox,
            "graded_on": self.graded_on,
            "caveats": list(self.caveats),
            "measures": plain(self.measures),
            "layout": {"problems": list(self.problems), "warnings": list(self.warnings)},
            "execution": {"seconds": round(self.seconds, 2), "timed_out": self.timed_out,
                          "kernel_died": self.kernel_died, "interrupted": self.interrupted,
                          "stop_reason": self.stop_reason,
                          "errors": [{**e.__dict__, "text": e.describe()} for e in self.errors]},
            "questions": {q: dict(v.__dict__) for q, v in self.questions.items()},
        }

    def table(self) -> str:
        """The report as a TA reads it: layout, run, one line a question with its notes below."""
        lines = [f"submission   {self.zip_name}   student {self.student_id or '(unknown)'}"]
        lines += [f"  problem: {p}" for p in self.problems] + [f"  warning: {w}" for w in self.warnings]
        state = ("kernel died" if self.kernel_died else "interrupted (Ctrl-C)" if self.interrupted
                 else "timed out" if self.timed_out else "ran to the end")
        lines.append(f"run          {state} in {self.seconds:.1f} s, {len(self.errors)} error(s)"
                     + (f"; {self.sandbox}" if self.sandbox else ""))
        if self.stop_reason:
            lines.append(f"  stopped: {self.stop_reason}")
        if self.graded_on:
            lines.append(f"  checked: {self.graded_on}")
        lines += [f"  caveat: {c}" for c in self.caveats]
        lines += [f"  error: {e.describe()}" for e in self.errors]
        for q, v in self.questions.items():
            lines.append(f"{q:<12} {v.status}" + (f"   found {v.found}" if v.found else ""))
            if v.expected and v.status != "correct":
                lines.append(f"{'':<12}   expected {v.expected}")
            if v.note:
                lines.append(f"{'':<12}   {v.note}")
        lines.append(("PASS" if self.passed else "FAIL") + f": {self.zip_name}")
        return printable("\n".join(lines))
