"""Typst source to PDF bytes, with the project's own font and nothing from the machine."""

from __future__ import annotations

from pathlib import Path

import typst

FONT_DIR = Path(__file__).resolve().parent.parent / "fonts"


class CompileError(RuntimeError):
    """Typst refused the source (a bug in report.content, not in the data)."""


def compile_pdf(source: str) -> bytes:
    """Compile typst source to PDF. Only fonts/ is searched, so every machine makes the same PDF;
    typst embeds a subset of each font it uses."""
    if not (FONT_DIR / "NotoSansSC-Regular.otf").exists():
        raise CompileError(f"缺少字体文件 {FONT_DIR / 'NotoSansSC-Regular.otf'}(见 fonts/README.md)")
    try:
        return typst.compile(source.encode("utf-8"), font_paths=[str(FONT_DIR)], ignore_system_fonts=True,
                             format="pdf")
    except typst.TypstError as exc:
        raise CompileError(f"周报排版失败：{exc}") from exc
