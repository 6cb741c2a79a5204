"""Code the grader runs in a student's kernel or in a fresh process apart from it.

Each module here is read as text and injected (``probes.kernel_cell``) with its parameters as JSON, never imported
by the kernel; the grader's tests import it like any module.
"""
