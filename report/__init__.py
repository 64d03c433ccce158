"""The weekly PDF snapshot (周报).

    data = collect(con, "2026-W10", street=None)   # numbers, through the metrics module only
    source = build_typst(data)                       # pure: data in, typst source out
    pdf = compile_pdf(source)                        # typst + the bundled font, no browser

`make_pdf` does the three; `python -m report` is the command line (cron) and
pages/weekly_report.py the dashboard page.
"""

from __future__ import annotations

from report.collect import ReportError, collect, has_data, local_now, preview, scope_for
from report.content import build_typst
from report.pdf import CompileError, compile_pdf

__all__ = ["ReportError", "CompileError", "collect", "build_typst", "compile_pdf", "make_pdf", "has_data",
           "preview", "scope_for", "file_name", "local_now"]


def make_pdf(con, week: str | None = None, street: str | None = None) -> tuple[bytes, dict]:
    """The PDF of one week (and optionally one street), with the data it shows."""
    data = collect(con, week, street)
    return compile_pdf(build_typst(data)), data


def file_name(data: dict) -> str:
    return f"周报-{data['week']}-{data['street'] or data['district']}.pdf"
