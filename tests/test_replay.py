"""Undo is "as if the batch had never been loaded": after any loads and undos, the tables the
pages read equal a fresh load of the live batches, in their order, into an empty database.

A hypothesis state machine loads random overlapping extracts of every kind (new records,
unchanged re-sends, updates, older versions, corrections, compounds moving street, rows naming
their compound by name, extracts without some optional columns) and undoes random batches,
comparing after every step with the replay.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from etl import versions
from etl.load import load_source
from etl.read import read_file
from etl.schema import TABLES, columns, create_all
from settings import local_now

STREETS = ["登州街道", "紫荆山街道", "蓬莱阁街道"]
COMMUNITIES = ["东城社区", "钟楼社区", "西关社区"]
# Names never change and never repeat: a row naming its compound resolves the same way in any registry.
COMPOUNDS = {"C1": "海景苑", "C2": "宝龙国际", "C3": "碧桂园", "C4": "晒甲河小区"}
DAY = local_now().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=40)

HEADERS = {
    "compounds": "小区编码,小区名称,所属街道,社区,小区类型,物业企业",
    "appeals": "工单编号,来源渠道,诉求类别,受理时间,街道,社区,小区编码,小区名称,首次响应时间,办结时间,回访时间,"
               "结案时间,群众评价,更新时间,诉求内容,办理状态,是否物业类",
    "complaints": "投诉编号,小区编码,小区名称,物业企业,问题类别,投诉时间,办结时间,三方办",
    "surveys": "问卷编号,调查日期,小区编码,测评项目,评分,评价",
    "scenes": "活动编号,活动日期,场景名称,场景类型,小区编码,参与人次,一老一小人次,志愿者人数",
}


def when(hours: int) -> str:
    return (DAY + timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M")


def compound_ref(draw, by_name_allowed: bool = True) -> tuple[str, str]:
    """(compound id cell, compound name cell): by id, by name, or (for appeals) none."""
    compound = draw(st.sampled_from(sorted(COMPOUNDS)))
    how = draw(st.sampled_from(["id", "name"] if by_name_allowed else ["id"]))
    return (compound, "") if how == "id" else ("", COMPOUNDS[compound])


@st.composite
def compound_rows(draw):
    ids = draw(st.lists(st.sampled_from(sorted(COMPOUNDS)), min_size=1, max_size=3, unique=True))
    return [f"{c},{COMPOUNDS[c]},{draw(st.sampled_from(STREETS))},{draw(st.sampled_from(COMMUNITIES))},老旧小区,"
            f"{draw(st.sampled_from(['', '海天物业', '宝龙物业']))}" for c in ids]


@st.composite
def appeal_rows(draw):
    rows = []
    for appeal in draw(st.lists(st.sampled_from(["A1", "A2", "A3"]), min_size=1, max_size=3, unique=True)):
        received = int(appeal[1]) * 24
        # How far the record has got (later stages are later versions); listed so that hypothesis's
        # simplest choice is a record far along, which older versions can then be made of.
        stage = draw(st.sampled_from([4, 2, 3, 1, 0]))
        shift = draw(st.sampled_from([0, 1]))  # an earlier or later time for the same step
        times = [when(received + h + shift) if stage > i else "" for i, h in enumerate((1, 10, 12, 14))]
        satisfaction = draw(st.sampled_from(["", "满意", "不满意"])) if stage >= 3 else ""
        street = draw(st.sampled_from(["", "", "新港街道"]))
        cid, cname = draw(st.sampled_from([("", "")])) if street and draw(st.booleans()) else compound_ref(draw)
        updated = when(received + draw(st.integers(0, 3))) if draw(st.integers(0, 4)) == 0 else ""
        content = draw(st.sampled_from(["路灯不亮", "", "楼道堆物"]))
        status = draw(st.sampled_from(["", "", "已退回"]))
        community = draw(st.sampled_from(["", "", "西关社区"]))
        rows.append(f"{appeal},城市通,其他,{when(received)},{street},{community},{cid},{cname},{','.join(times)},"
                    f"{satisfaction},{updated},{content},{status},{draw(st.sampled_from(['', '是', '否']))}")
    return rows


@st.composite
def complaint_rows(draw):
    rows = []
    for complaint in draw(st.lists(st.sampled_from(["K1", "K2", "K3"]), min_size=1, max_size=3, unique=True)):
        received = int(complaint[1]) * 24 + 2
        cid, cname = compound_ref(draw)
        resolved = "" if draw(st.booleans()) else when(received + draw(st.sampled_from([5, 6])))
        company = draw(st.sampled_from(["", "", "自管"]))
        rows.append(f"{complaint},{cid},{cname},{company},环境卫生,{when(received)},{resolved},"
                    f"{draw(st.sampled_from(['', '是']))}")
    return rows


@st.composite
def survey_rows(draw):
    ids = draw(st.lists(st.sampled_from(["S1", "S2"]), min_size=1, max_size=2, unique=True))
    return [f"{s},{DAY:%Y-%m-%d},{draw(st.sampled_from(sorted(COMPOUNDS)))},物业服务,{draw(st.integers(1, 5))},"
            f"{draw(st.sampled_from(['满意', '不满意']))}" for s in ids]


@st.composite
def scene_rows(draw):
    ids = draw(st.lists(st.sampled_from(["E1", "E2"]), min_size=1, max_size=2, unique=True))
    return [f"{e},{DAY:%Y-%m-%d},邻里节,邻里,{draw(st.sampled_from(sorted(COMPOUNDS)))},{draw(st.integers(1, 50))},"
            f"{draw(st.sampled_from(['', '3']))},{draw(st.sampled_from(['', '2']))}" for e in ids]


EXTRACTS = {"compounds": compound_rows(), "appeals": appeal_rows(), "complaints": complaint_rows(),
            "surveys": survey_rows(), "scenes": scene_rows()}


def tables(con, batches: list[int]) -> dict[str, list[tuple]]:
    """Every column of the five tables the pages read (which columns each record came with among
    them), and which of the live batches (by its place in load order) each row belongs to."""
    place = {batch: index for index, batch in enumerate(batches)}
    return {t: sorted((*row[:-1], place.get(row[-1])) for row in con.execute(
        f"SELECT {', '.join(columns(t))}, batch_id FROM {t}").fetchall()) for t in TABLES}


# The optional columns an extract may come without (the pages then show "—" for what needs them,
# and a record keeps what earlier batches said of them).
OMITTABLE = {"appeals": ["首次响应时间", "办结时间", "回访时间", "结案时间", "群众评价", "更新时间", "诉求内容", "办理状态",
                         "是否物业类", "小区编码", "小区名称", "社区"],
             "complaints": ["物业企业", "办结时间", "三方办"], "scenes": ["一老一小人次", "志愿者人数"],
             "surveys": ["评分"]}


def extract(kind: str, rows: list[str], omitted: tuple[str, ...] = ()) -> bytes:
    """The file: the kind's header and rows, without the `omitted` columns."""
    header = HEADERS[kind].split(",")
    kept = [i for i, name in enumerate(header) if name not in omitted]
    lines = [",".join(cells[i] for i in kept) for cells in (line.split(",") for line in [HEADERS[kind], *rows])]
    return ("\n".join(lines) + "\n").encode("utf-8")


def omissions(kind: str):
    """Most extracts have every column; some lack a few optional ones."""
    if kind not in OMITTABLE:
        return st.just(())
    return st.one_of(st.just(()), st.lists(st.sampled_from(OMITTABLE[kind]), unique=True).map(tuple))


def load(con, kind: str, rows: list[str], correction: bool, omitted: tuple[str, ...] = ()) -> int | None:
    """The loader's own load of one file (etl.load.load_source), on an in-memory database: the
    write session around it (copy, publish) is tested elsewhere and would cost 10× the time."""
    source = read_file(Path(f"{kind}.csv"), kind, data=extract(kind, rows, omitted))
    report = load_source(con, source, f"{kind}.csv", "test", correction)
    assert report.rows_read == report.inserted + report.updated + report.unchanged + report.stale + report.rejected
    return report.batch_id


def pick(data, batches: list):
    """Any batch with equal chance (sampled_from would favour the first: the registry)."""
    return batches[data.draw(st.randoms(use_true_random=False)).randrange(len(batches))]


def empty_database():
    con = duckdb.connect()
    create_all(con)
    return con


class LoadsAndUndos(RuleBasedStateMachine):
    @initialize()
    def start(self):
        self.db = empty_database()
        # live batches, in load order: (batch id, kind, rows, correction, omitted columns)
        self.batches: list[tuple[int, str, list[str], bool, tuple[str, ...]]] = []
        # A registry to start from, so that most extracts have compounds to name.
        rows = [f"{c},{name},登州街道,东城社区,老旧小区," for c, name in COMPOUNDS.items()]
        self.batches.append((load(self.db, "compounds", rows, False), "compounds", rows, False, ()))

    # Appeals and complaints (the kinds with versions that can be older) come more often.
    @rule(data=st.data(), kind=st.sampled_from([*sorted(EXTRACTS), "appeals", "appeals", "complaints"]),
          correction=st.integers(0, 2))
    def load_extract(self, data, kind, correction):
        rows, omitted = data.draw(EXTRACTS[kind]), data.draw(omissions(kind))
        batch = load(self.db, kind, rows, correction == 0, omitted)
        self.batches.append((batch, kind, rows, correction == 0, omitted))

    @precondition(lambda self: len(self.batches) > 0)
    @rule(data=st.data())
    def resend(self, data):
        """An extract sent again (the analyst's weekly habit), possibly after newer ones."""
        _, kind, rows, _, omitted = pick(data, self.batches)
        self.batches.append((load(self.db, kind, rows, False, omitted), kind, rows, False, omitted))

    @precondition(lambda self: any(batch[1] in ("appeals", "complaints") for batch in self.batches))
    @rule(data=st.data(), correction=st.booleans())
    def older_version(self, data, correction):
        """A record sent again one step back in its life (its last lifecycle time blanked): stale,
        unless sent as a correction."""
        _, kind, rows, _, omitted = pick(data, [b for b in self.batches if b[1] in ("appeals", "complaints")])
        header = HEADERS[kind].split(",")
        older = []
        for row in rows:
            cells = row.split(",")
            times = [i for i, cell in enumerate(cells) if i > 4 and cell[:2] == "20" and header[i] not in omitted]
            if times:
                cells[times[-1]] = ""
            older.append(",".join(cells))
        self.batches.append((load(self.db, kind, older, correction, omitted), kind, older, correction, omitted))

    @precondition(lambda self: len(self.batches) > 0)
    @rule(data=st.data())
    def undo_one(self, data):
        batch = pick(data, self.batches)
        # What etl.batches.undo runs inside its write session.
        self.db.execute("BEGIN TRANSACTION")
        versions.undo_batch(self.db, [batch[0]], batch[1])
        self.db.execute("COMMIT")
        self.batches.remove(batch)

    @invariant()
    def equals_a_fresh_load_of_the_live_batches(self):
        if not hasattr(self, "db"):
            return
        fresh = empty_database()
        replayed = [load(fresh, kind, rows, correction, omitted) for _, kind, rows, correction, omitted in self.batches]
        assert tables(self.db, [b[0] for b in self.batches]) == tables(fresh, replayed)
        fresh.close()

    def teardown(self):
        if hasattr(self, "db"):
            self.db.close()


LoadsAndUndos.TestCase.settings = settings(max_examples=6, stateful_step_count=15, deadline=None,
                                           suppress_health_check=[HealthCheck.too_slow])
TestLoadsAndUndos = LoadsAndUndos.TestCase
