"""The data desk's progress bar hears of every step of a load (reading, checking, writing, the
rejected rows, saving), in order, never going back (issue 15: it sat on one step before)."""

from __future__ import annotations

from pathlib import Path

from etl.load import load_files

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_a_load_reports_each_step_in_order(tmp_path):
    db = tmp_path / "progress.duckdb"
    load_files(db, "compounds", [FIXTURES / "compounds.csv"])
    heard: list[tuple[float, str]] = []
    (report,) = load_files(db, "appeals", [FIXTURES / "appeals_gbk.csv"], progress=lambda f, m: heard.append((f, m)))
    assert report.refused is None and report.rejected > 0
    fractions = [f for f, _ in heard]
    assert fractions == sorted(fractions) and fractions[0] == 0 and fractions[-1] == 1
    messages = [m for _, m in heard]
    steps = ["读取 appeals_gbk.csv", "等待写入", f"appeals_gbk.csv：校验 {report.rows_read:,} 行",
             "appeals_gbk.csv：写入", f"appeals_gbk.csv：记录 {report.rejected:,} 行被拒绝的行", "保存", "完成"]
    assert len(messages) == len(steps) and all(m.startswith(s) for m, s in zip(messages, steps)), messages
