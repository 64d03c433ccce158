"""The pages' only way to numbers: `get(fn, scope, *args)` calls a metrics function (or any read
of the database taking a connection first) through one cache.

- One `etl.db.Reader` per database path (st.cache_resource): read-only connections that reopen
  when a load publishes a new file.
- Each call is cached (st.cache_data) under the function's module and name, its arguments, the
  scope's fields and the database file's identity (`etl.db.file_identity`: inode and mtime). A
  load replaces the file, so the identity changes and every page computes fresh numbers on its
  next run; entries of the old file simply age out.
- As-of moments are rounded to the minute by dashboard/state.py, so reruns within a minute hit
  the cache.
- After a publish, the calls pages made lately are computed once for the new file in a background
  thread (`_warm`), and pages go on reading the previous file until that is done (at most
  HOLD_SECONDS): no view after a load waits for numbers computed cold. A session that has itself
  just loaded or undone a batch, and the data desk's history, read the new file at once. Each
  run of a page reads one file throughout (`begin_run`).
- A page may start its slowest call in the background (`prefetch`) and compute the others
  meanwhile; its own `get` of that call then takes the result.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
import time as clock
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time
from pathlib import Path
from typing import Callable

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from etl import batches
from etl.db import FileReplaced, Reader, file_identity
from metrics import appeals, compounds, feeds
from metrics.scope import Scope
from settings import database_path


def db_path() -> Path:
    return database_path()


def database_exists() -> bool:
    return file_identity(db_path()) is not None


def identity() -> tuple | None:
    return file_identity(db_path())


@st.cache_resource(show_spinner=False)
def _reader(path: str) -> Reader:
    return Reader(Path(path))


def _cached(module: str, name: str, path: str, identity: tuple | None, scope: tuple | None, args: tuple):
    call = (module, name, path, identity, scope, args)
    return _computed(repr(call), call)


# cache_data, not cache_resource: one polars frame shared by several sessions' threads deadlocked
# the server (README, "Serving"); each session gets its own copy. Keyed by the call's repr (its
# parts are strings, numbers, dates and tuples of them): Streamlit hashes one string, where
# hashing the six parts and looking up each one's parameter name cost more than reading the value.
@st.cache_data(show_spinner=False, ttl=6 * 3600, max_entries=4000)
def _computed(key: str, _call: tuple):
    module, name, path, identity, scope, args = _call
    fn = getattr(importlib.import_module(module), name)
    con = _reader(path).cursor(identity)
    try:
        return fn(con, *args) if scope is None else fn(con, Scope(*scope), *args)
    finally:
        con.close()


def get(fn: Callable, scope: Scope | None = None, *args):
    """fn(connection, scope, *args) — or fn(connection, *args) without a scope — cached until the
    database file changes. `fn` is a module-level function (its module and name key the cache)."""
    return _get(fn, scope, args, latest=_wrote_here())


def before(fn: Callable, kind: str, previous: Scope, *args):
    """get(fn, previous, *args) for a change against the previous period, or None when `kind`'s
    records began after that period did (metrics.feeds.covers): no change is shown then."""
    return get(fn, previous, *args) if feeds.covers(get(feeds.first_days), kind, previous) else None


def _get(fn: Callable, scope: Scope | None, args: tuple, *, latest: bool):
    """Through the cache, from the file pages read now, or with `latest` from the live file."""
    call, identity = _call(fn, scope, args, latest=latest)
    _remember(call)
    try:
        return _cached(*call[:3], identity, *call[3:])
    except FileReplaced:  # the file pages read was let go meanwhile: the live one is ready
        return _cached(*call[:3], file_identity(Path(call[2])), *call[3:])


def _call(fn: Callable, scope: Scope | None, args: tuple, *, latest: bool) -> tuple[tuple, tuple | None]:
    """The call's cache fields (module, name, path, scope fields, args), and the identity of the
    file it reads."""
    if "<" in fn.__qualname__:  # a lambda or a nested function cannot be found again by its name
        raise ValueError(f"data.get takes a module-level function, not {fn.__qualname__}")
    path = db_path()
    fields = None if scope is None else (scope.start, scope.end, scope.moment, scope.street, scope.community)
    # The file this run pinned, when there is one: no look at the live file for each number.
    identity = file_identity(path) if latest else _run_file(str(path)) or _file_to_read(str(path), file_identity(path))
    return (fn.__module__, fn.__qualname__, str(path), fields, args), identity


# A page's slowest number is started in the background while the page computes the others: an
# exact median keeps DuckDB's two threads busy only part of the time (诉求办理's five-step flow,
# 10 M appeals, 本年: 440 ms on one thread, 320 on two), so two calls at once end sooner than one
# after the other (README, "City scale"). One pool for every session: when the server is busy
# the sessions already fill the cores, and a call still queued when its page asks for it is
# simply computed by the page.
_background = ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 1) // 2), thread_name_prefix="prefetch")


def prefetch(fn: Callable, scope: Scope | None = None, *args) -> None:
    """Start computing get(fn, scope, *args) now; the page's own `get` of the same call later takes
    the result, or waits for it while it is being computed (Streamlit computes one key once)."""
    call, identity = _call(fn, scope, args, latest=_wrote_here())
    _background.submit(_computed_quietly, call, identity)


def _computed_quietly(call: tuple, identity: tuple | None) -> None:
    try:
        _cached(*call[:3], identity, *call[3:])
    except Exception:  # a number that fails here fails again, in the page's own hands
        log.debug("prefetch of %s.%s failed", call[0], call[1], exc_info=True)


def begin_run() -> None:
    """The router calls this first in every run: every number of one view then comes from one
    file (a warm-up finishing halfway through a run would otherwise mix two)."""
    path = str(db_path())
    st.session_state[RUN_FILE] = (path, _file_to_read(path, file_identity(Path(path))))


def _run_file(path: str) -> tuple | None:
    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    pinned = st.session_state.get(RUN_FILE)
    return pinned[1] if pinned and pinned[0] == path else None


# ---------------------------------------------------------------- after a publish
# A load replaces the file and would turn every cached number cold at once, with sessions all
# computing at the same moment. So the calls pages made lately are remembered; when a session
# first meets a new file, the calls asked most often are computed for it by one background thread,
# and pages read the previous file (which the reader keeps open) until the thread is done. A new
# file waits at most HOLD_SECONDS, so a slow warm-up or a stream of loads cannot hide it for long.
REMEMBERED_CALLS = 400
WARMED_CALLS = 60  # more would compete with the sessions for the cores
HOLD_SECONDS = 60.0
RUN_GRACE_SECONDS = 30.0  # longer than any page run
_calls: OrderedDict[tuple, int] = OrderedDict()  # (module, name, path, scope fields, args) → times asked, newest last
_served: dict[str, tuple] = {}  # path → identity of the file pages read
_waiting: dict[str, tuple[tuple, float]] = {}  # path → (newer file being warmed, when it was first met)
_memory = threading.Lock()
warming: threading.Thread | None = None  # the latest warm-up (tests wait for it)
log = logging.getLogger(__name__)
WROTE, RUN_FILE = "data_wrote_here", "data_run_file"


def _remember(call: tuple) -> None:
    with _memory:
        _calls[call] = _calls.get(call, 0) + 1
        _calls.move_to_end(call)
        if len(_calls) > REMEMBERED_CALLS:
            _calls.popitem(last=False)


def _file_to_read(path: str, live: tuple | None) -> tuple | None:
    """The identity of the file pages read now: the live one, or the one before it while the
    live one is warmed up (the warm-up starts when a session first meets the live file)."""
    global warming
    with _memory:
        served = _served.get(path)
        if served == live:
            return live
        if live is None or not _reader(path).holds(served):
            return _serve(path, live)
        newer = _waiting.get(path)
        if newer is not None and newer[0] == live:
            return served if clock.monotonic() - newer[1] < HOLD_SECONDS else _serve(path, live)
        todo = sorted((c for c in reversed(_calls) if c[2] == path and _settled(c[3])),
                      key=_calls.__getitem__, reverse=True)[:WARMED_CALLS]
        if not todo:
            return _serve(path, live)
        # A file published while another was warmed up waits only for the rest of that one's hold,
        # so loads in quick succession cannot keep pages on an old file.
        _waiting[path] = (live, newer[1] if newer else clock.monotonic())
        warming = threading.Thread(target=_warm, args=(todo, live), name="warm-after-publish", daemon=True)
    warming.start()
    return served


def _serve(path: str, identity: tuple | None) -> tuple | None:
    """Pages read `identity` from now on (the caller holds _memory). The file they read before
    stays open RUN_GRACE_SECONDS more, for the runs that began on it."""
    previous, _served[path] = _served.get(path), identity
    _waiting.pop(path, None)
    _reader(path).keep(identity)
    if previous not in (None, identity):
        timer = threading.Timer(RUN_GRACE_SECONDS, _let_go, args=(path, identity))
        timer.daemon = True
        timer.start()
    return identity


def _let_go(path: str, identity: tuple) -> None:
    """Close the file pages read before `identity` (Reader.keep: kept a second time)."""
    with _memory:
        if _served.get(path) == identity:
            _reader(path).keep(identity)


def _settled(fields: tuple | None) -> bool:
    """A call that will be asked again as it is: no period, or a period seen from its end (上周, a
    custom range). A running period's moment is the current minute, which the next view will not share."""
    return fields is None or (fields[1] is not None and fields[2] == datetime.combine(fields[1], time()))


def _warm(calls: list[tuple], identity: tuple) -> None:
    path = calls[0][2]
    # The warm-up takes what the sessions leave of the CPU: one DuckDB thread on the new file
    # (a setting of that file's own connection, which pages do not read yet), at a lower priority.
    if not _set_on_file(path, identity, "SET threads = 1"):
        return
    if sys.platform == "linux":  # there a thread has its own nice value
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    for module, name, _, fields, args in calls:
        if file_identity(Path(path)) != identity:
            return  # another publish came: its own warm-up takes over
        try:
            _cached(module, name, path, identity, fields, args)
        except Exception:  # a number that fails here fails again, in the page's own hands
            log.debug("warm-up of %s.%s failed", module, name, exc_info=True)
    if not _set_on_file(path, identity, "RESET threads"):
        return
    with _memory:
        if _waiting.get(path, (None,))[0] == identity:
            _serve(path, identity)


def _set_on_file(path: str, identity: tuple, setting: str) -> bool:
    """Change a setting of the connection to one file; False if that file has been let go."""
    try:
        con = _reader(path).cursor(identity)
    except FileReplaced:
        return False
    try:
        con.execute(setting)
    finally:
        con.close()
    return True


def newer_data_pending() -> bool:
    """Whether a load has published numbers this session does not show yet (they are being computed)."""
    with _memory:
        return str(db_path()) in _waiting and not _wrote_here()


def wrote() -> None:
    """This session has just loaded, undone or re-checked a batch: it reads the live file from now
    on, so the analyst sees what was loaded at once."""
    st.session_state[WROTE] = True


def _wrote_here() -> bool:
    return get_script_run_ctx(suppress_warning=True) is not None and st.session_state.get(WROTE, False)


def communities(street: str | None = None) -> list[str]:
    """The communities the sidebar offers (of one street, or of all)."""
    return get(compounds.communities, None, street)["community"].unique(maintain_order=True).to_list()


# ---------------------------------------------------------------- load history (数据管理)
# The data desk's reads, cached like every other under the database file's identity: a load, undo
# or re-check publishes a new file, so the history and rejected rows are read afresh.

def rollup_waiting() -> bool:
    """The stored rollup is unusable and pages count from the rows (metrics.appeals.rollup_waiting)."""
    return _get(appeals.rollup_waiting, None, (), latest=True)


def batch_history():
    """Every batch, newest first (etl.batches.history)."""
    return _get(batches.history, None, (), latest=True)


def batch_rejects(batch_id: int):
    """A batch's rejected rows: row_number, reason, raw_values (JSON)."""
    return _get(batches.rejects, None, (int(batch_id),), latest=True)


def batch_rejects_csv(batch_id: int) -> bytes:
    """A batch's rejected rows as a CSV for Excel (UTF-8 with BOM, formula-safe)."""
    return _get(batches.rejects_csv, None, (int(batch_id),), latest=True)


def batch_stale(batch_id: int):
    """A batch's rows not applied because the stored record was later (etl.batches.stale)."""
    return _get(batches.stale, None, (int(batch_id),), latest=True)


def batch_stale_csv(batch_id: int) -> bytes:
    """Those rows as a CSV for Excel (UTF-8 with BOM, formula-safe)."""
    return _get(batches.stale_csv, None, (int(batch_id),), latest=True)
