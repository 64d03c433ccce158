"""The metrics of the governance dashboard, by subject; every number a page, the weekly PDF or the
CLI shows is computed here and declared once in metrics/catalogue.py (see metrics/README.md)."""

from metrics import rollups  # noqa: F401  (keeps the daily rollup in step with every write)
from metrics.scope import Scope
from metrics.snapshot import render as render_stats
from metrics.snapshot import stats

__all__ = ["Scope", "stats", "render_stats"]
