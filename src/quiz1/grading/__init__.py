"""Grade students' submissions: ``grade_submission(zip) -> GradeReport`` (layout, a fresh run, a verdict a question)."""
from .grade import grade_submission
from .report import VERDICTS, CellError, GradeReport, Verdict

__all__ = ["grade_submission", "GradeReport", "Verdict", "CellError", "VERDICTS"]
