"""The data contract: the five kinds of file, their columns and the headers they arrive with.

Each column names its canonical name, the Chinese headers extracts use for it, its type and
whether a file must carry it. Readers, validators, the demo writer and the upload page all read
this one table.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# Types a column can have; the validator knows how to parse each one.
TEXT, DATETIME, DATE, INT, BOOL, FLOAT = "text", "datetime", "date", "int", "bool", "float"


@dataclass(frozen=True)
class Column:
    name: str
    headers: tuple[str, ...]
    type: str = TEXT
    required: bool = False
    # Personal data: never stored as read (see safety.masking).
    personal: bool = False
    # Some figure is computed from it: a file without it leaves those figures "—", not 0
    # (metrics/catalogue.py declares which; a test holds the two together).
    measured: bool = False

    @property
    def label(self) -> str:
        """How an analyst is told about this column: its Chinese header and canonical name."""
        return f"“{self.headers[0]}”({self.name})"


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    key: str
    columns: tuple[Column, ...]
    # The table the validated rows land in.
    table: str

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def measured(self) -> list[str]:
        return [c.name for c in self.columns if c.measured]

    def aliases(self) -> dict[str, str]:
        """Every header this kind's columns arrive under, normalised -> canonical name."""
        table: dict[str, str] = {}
        for column in self.columns:
            for header in (column.name, *column.headers):
                table.setdefault(normalise_header(header), column.name)
        return table


def normalise_header(header: str) -> str:
    """Case, surrounding and inner spaces, full-width forms and invisible characters (a zero-width
    space, a second BOM) do not matter in headers."""
    folded = unicodedata.normalize("NFKC", str(header or ""))
    return "".join(c for c in "".join(folded.split()) if unicodedata.category(c) != "Cf").lower()


COMPOUND_ID = Column("compound_id", ("小区编码",))
COMPOUND_NAME = Column("compound_name", ("小区名称",))
STREET = Column("street", ("街道", "所属街道"))
# When the source system last changed the record: where a file has it, it decides which of two
# versions is the later one (see etl/versions.py).
UPDATED_AT = Column("updated_at", ("更新时间", "最后更新时间"), DATETIME)

COMPOUNDS = Kind(name="compounds", label="小区台账", key="compound_id", table="compounds", columns=(
    Column("compound_id", ("小区编码",), required=True),
    Column("name", ("小区名称",), required=True),
    Column("street", ("街道", "所属街道"), required=True),
    Column("community", ("社区", "所属社区"), required=True),
    Column("grid_id", ("网格编码", "所属网格")),
    Column("compound_type", ("小区类型",), required=True),
    Column("households", ("户数",), INT),
    Column("buildings", ("楼栋数",), INT),
    Column("micro_grids", ("微网格数",), INT),
    Column("property_company", ("物业企业", "物业公司")),
    Column("party_branch", ("党支部", "小区党支部")),
    Column("key_target", ("重点整治", "是否重点整治小区"), BOOL),
    Column("longitude", ("经度",), FLOAT),
    Column("latitude", ("纬度",), FLOAT),
))

APPEALS = Kind(name="appeals", label="诉求工单", key="appeal_id", table="appeals", columns=(
    Column("appeal_id", ("工单编号", "工单号"), required=True),
    Column("channel", ("来源渠道", "诉求渠道", "渠道"), required=True),
    Column("category", ("诉求类别", "问题类型", "诉求类型"), required=True),
    Column("received_at", ("受理时间", "登记时间", "来电时间"), DATETIME, required=True),
    # Required unless the compound gives it: checked per row.
    Column("street", ("街道", "所属街道")),
    Column("community", ("社区", "所属社区")),
    COMPOUND_ID,
    COMPOUND_NAME,
    Column("dispatched_at", ("派单时间",), DATETIME, measured=True),
    Column("first_response_at", ("首次响应时间", "首接响应时间"), DATETIME, measured=True),
    Column("resolved_at", ("办结时间",), DATETIME, measured=True),
    Column("feedback_at", ("反馈时间", "回访时间"), DATETIME, measured=True),
    Column("closed_at", ("结案时间", "归档时间"), DATETIME, measured=True),
    Column("status", ("办理状态",)),
    Column("satisfaction", ("群众评价", "满意度", "评价结果"), measured=True),
    Column("is_property", ("是否物业类",), BOOL),
    # Every header an extract names its callers by: an unknown one would leave the name unmasked
    # in the text (its column is dropped, but the row's name is then not known).
    Column("caller_name", ("来电人", "诉求人", "姓名", "来电人姓名", "诉求人姓名", "联系人", "联系人姓名",
                           "反映人", "反映人姓名", "来访人"), personal=True),
    Column("caller_phone", ("联系电话", "电话", "来电号码", "联系方式", "手机号码", "手机号", "电话号码",
                            "联系人电话", "来电人电话"), personal=True),
    Column("content", ("诉求内容", "工单内容")),
    UPDATED_AT,
))

COMPLAINTS = Kind(name="complaints", label="物业投诉", key="complaint_id", table="complaints", columns=(
    Column("complaint_id", ("投诉编号",), required=True),
    COMPOUND_ID,
    COMPOUND_NAME,
    # Only to tell apart two compounds of the same name in different streets.
    STREET,
    Column("property_company", ("物业企业",)),
    Column("category", ("问题类别",), required=True),
    Column("received_at", ("投诉时间", "受理时间"), DATETIME, required=True),
    Column("level", ("处置层级",)),
    Column("three_party", ("三方办", "是否三方联席"), BOOL, measured=True),
    Column("resolved_at", ("解决时间", "办结时间"), DATETIME, measured=True),
    Column("source_appeal_id", ("关联工单",)),
    UPDATED_AT,
))

SURVEYS = Kind(name="surveys", label="满意度测评", key="response_id", table="surveys", columns=(
    Column("response_id", ("问卷编号", "答卷编号"), required=True),
    Column("surveyed_at", ("调查日期", "测评日期"), DATE, required=True),
    COMPOUND_ID,
    COMPOUND_NAME,
    # Only to tell apart two compounds of the same name in different streets.
    STREET,
    Column("topic", ("测评项目", "测评内容"), required=True),
    Column("score", ("评分",), INT),
    Column("rating", ("评价", "满意度")),
))

SCENES = Kind(name="scenes", label="服务场景活动", key="event_id", table="scenes", columns=(
    Column("event_id", ("活动编号",), required=True),
    Column("event_date", ("活动日期",), DATE, required=True),
    Column("scene_name", ("场景名称", "活动名称"), required=True),
    Column("scene_type", ("场景类型",), required=True),
    COMPOUND_ID,
    COMPOUND_NAME,
    # Only to tell apart two compounds of the same name in different streets.
    STREET,
    Column("attendees", ("参与人次",), INT, required=True),
    Column("volunteers", ("志愿者人数",), INT),
    Column("old_young", ("一老一小人次",), INT, measured=True),
    Column("organizer", ("领办支部", "组织单位")),
))

KINDS: dict[str, Kind] = {k.name: k for k in (COMPOUNDS, APPEALS, COMPLAINTS, SURVEYS, SCENES)}

# The times that only move forward in a record's life: a version lacking one the stored version
# has, or having it earlier, is older (stale). Evaluations count too (an evaluated appeal is later).
LIFECYCLE = {"appeals": ("dispatched_at", "first_response_at", "resolved_at", "feedback_at", "closed_at", "satisfaction"),
             "complaints": ("resolved_at",)}

# Kinds whose rows must name a compound (by id, or by name failing that).
NEEDS_COMPOUND = {"complaints", "surveys", "scenes"}
