"""Tables derived from the records (the metrics' daily rollups), kept in step by every write.

A writer notes the received days of the appeals it is about to change and has changed (`touch`);
before the commit `keep` hands those days to the keepers the layer above registered
(metrics/rollups.py), which recompute them in the same transaction. The loader does not import
the metrics: a process that never imported them has no keeper, and its writes mark every derived
table out of date instead (their `derived:` keys leave `meta`), so readers count from the rows
until a write with a keeper rebuilds them.
"""

from __future__ import annotations

from collections.abc import Callable

TOUCHED = "touched_appeal_days"
META_PREFIX = "derived:"

_keepers: list[Callable] = []


def register(keeper: Callable) -> None:
    """keeper(con) brings its derived tables up to date inside the writer's transaction."""
    if keeper not in _keepers:
        _keepers.append(keeper)


def touch(con, condition: str, source: str = "appeals") -> None:
    """Note the received days of the rows of `source` (the appeals table, or an incoming frame)
    matching `condition`: what the days held and what they hold after the write are recomputed."""
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {TOUCHED} (day DATE)")
    con.execute(f"INSERT INTO {TOUCHED} SELECT DISTINCT CAST(received_at AS DATE) FROM {source} WHERE {condition}")


def keep(con) -> None:
    """Before the commit: every keeper recomputes what the write touched (or everything)."""
    if _keepers:
        for keeper in _keepers:
            keeper(con)
    else:
        con.execute(f"DELETE FROM meta WHERE key LIKE '{META_PREFIX}%'")
    con.execute(f"DROP TABLE IF EXISTS {TOUCHED}")
