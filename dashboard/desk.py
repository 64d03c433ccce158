"""The data desk's (数据管理) helpers, without Streamlit: an uploaded file decoded once, the
column mapping the analyst builds, and the tables the page shows. Reading, checking and loading
are etl's (etl.read, etl.load), as in the CLI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from etl.contract import KINDS, NEEDS_COMPOUND, Column
from etl.load import LoadReport
from etl.mapping import Mapping, matching_mappings
from etl.read import Decoded, FileRefused, Preview, decode, guess_kind, preview
from etl.validate import file_values
from safety.masking import NAME_MASK, PHONE_MASK, mask_column
from settings import reference

# What a field of the mapping editor may be set to besides one of the file's columns.
NOT_USED = "（不导入）"
FIXED = "（固定值）"
IGNORED = "（忽略，不导入）"
DEFAULT_LOADER = "dashboard"
PREVIEW_ROWS = 10
ENCODINGS = {"utf-8": "UTF-8", "gb18030": "GBK/GB18030", "xlsx": "Excel 工作簿(.xlsx)"}
# Contract columns whose fixed value is one of a reference list: offered as a choice, not typed.
REFERENCE_LISTS = {"channel": "channels", "compound_type": "compound_types", "scene_type": "scene_types",
                   "level": "complaint_levels", "rating": "ratings", "satisfaction": "ratings", "street": "streets"}
# Personal data is shown in the preview as it will be stored: names never, phones only as a hash.
PERSONAL_SHOWN = {"caller_name": NAME_MASK, "caller_phone": PHONE_MASK}


def kind_label(kind: str) -> str:
    return f"{KINDS[kind].label}({kind})"


def column_label(column: Column) -> str:
    return f"{column.headers[0]}({column.name})"


def encoding_label(encoding: str | None) -> str:
    return ENCODINGS.get(encoding or "", encoding or "—")


def size_label(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1048576:.1f} MB"


# ---------------------------------------------------------------- an uploaded file

@dataclass
class Upload:
    """One uploaded file as the desk first sees it: decoded (with a preview) or refused whole."""
    name: str
    size: int
    file_hash: str | None = None
    decoded: Decoded | None = None  # read once; previews, the check and the load all use it
    preview: Preview | None = None
    refused: str | None = None
    guessed_kind: str | None = None

    @property
    def headers(self) -> list[str]:
        return [h for h in self.preview.headers if h.strip()] if self.preview else []


def inspect_upload(name: str, data: bytes) -> Upload:
    """What the desk knows of a file before the analyst chooses anything: its header row, first
    rows, encoding and guessed kind, or the Chinese message refusing it."""
    upload = Upload(name=name, size=len(data))
    try:
        upload.decoded = decode(Path(name), data=data)
        upload.preview = preview(upload.decoded, rows=PREVIEW_ROWS)
    except FileRefused as refusal:
        upload.refused = str(refusal)
        return upload
    upload.file_hash = upload.preview.file_hash
    upload.guessed_kind = guess_kind(upload.preview.headers)
    return upload


def offered_mappings(upload: Upload, kind: str | None = None) -> list[Mapping]:
    """Saved mappings made for files with these headers (for one kind, if given)."""
    return matching_mappings(upload.headers, kind) if upload.preview else []


def default_kind(upload: Upload) -> str | None:
    """A saved mapping for these headers names its kind; otherwise the kind guessed from them."""
    offered = offered_mappings(upload)
    return offered[0].kind if offered else upload.guessed_kind


def resolve(upload: Upload, kind: str, mapping: Mapping | None) -> Preview:
    """The preview as the file will be read as `kind` with `mapping`: which contract column each
    header becomes, and which required ones are missing."""
    return preview(upload.decoded, kind, mapping, rows=PREVIEW_ROWS)


# ---------------------------------------------------------------- the column mapping

def editor_fields(kind: str) -> tuple[list[Column], list[Column]]:
    """The kind's columns for the mapping editor: required ones (and those one of which is
    required), then the optional ones."""
    columns = KINDS[kind].columns
    needed = {c.name for c in columns if c.required}
    if kind in NEEDS_COMPOUND:
        needed |= {"compound_id", "compound_name"}
    if kind == "surveys":
        needed |= {"score", "rating"}
    if kind == "appeals":
        needed.add("street")  # required unless the compound gives it
    return [c for c in columns if c.name in needed], [c for c in columns if c.name not in needed]


def requirement_note(kind: str, column: str) -> str | None:
    """Why a column counts as needed though the contract does not require it alone."""
    if kind in NEEDS_COMPOUND and column in ("compound_id", "compound_name"):
        return "小区编码、小区名称至少一项"
    if kind == "surveys" and column in ("score", "rating"):
        return "评分、评价至少一项"
    if kind == "appeals" and column == "street":
        return "可由小区带出"
    return None


def fixed_options(column: str) -> list[str] | None:
    """The values a fixed column may take, when the reference data lists them."""
    key = REFERENCE_LISTS.get(column)
    return list(reference()[key]) if key else None


def editor_defaults(resolved: Preview) -> dict[str, str]:
    """Each field's starting choice: the file header read_file would use, a fixed value's
    marker, or NOT_USED."""
    defaults = {name: header for name, header in resolved.columns.items() if name not in resolved.fixed}
    defaults.update({name: FIXED for name in resolved.fixed})
    return defaults


def build_mapping(kind: str, headers: list[str], choices: dict[str, str], fixed: dict[str, str], *,
                  base: Mapping | None = None, auto: dict[str, str] | None = None,
                  description: str = "") -> Mapping | None:
    """The mapping the editor describes, or None when the file needs none (every choice is what
    the contract's own headers give, nothing fixed, no saved mapping in use).

    `choices`: contract column -> a file header, FIXED or NOT_USED; `fixed`: contract column ->
    its value (for the FIXED ones); `base`: the saved mapping the editor started from (its value
    translations are kept); `auto`: what the contract's headers alone would match.
    """
    columns = {name: header for name, header in choices.items() if header not in (NOT_USED, FIXED)}
    fixed_values = {name: value.strip() for name, value in fixed.items()
                    if choices.get(name) == FIXED and value and value.strip()}
    values = {name: table for name, table in (base.values if base else {}).items()
              if name in columns or name in fixed_values}
    if base is None and not fixed_values and columns == (auto or {}):
        return None
    return Mapping(kind=kind, columns=columns, fixed=fixed_values, values=values, headers=list(headers),
                   description=description or (base.description if base else ""), name=base.name if base else "")


def mapping_problems(choices: dict[str, str], fixed: dict[str, str]) -> list[str]:
    """What stops the editor's mapping from being used, in Chinese."""
    problems = []
    by_header: dict[str, list[str]] = {}
    for name, header in choices.items():
        if header not in (NOT_USED, FIXED):
            by_header.setdefault(header, []).append(name)
    for header, names in by_header.items():
        if len(names) > 1:
            problems.append(f"文件列“{header}”同时对应了多个字段({'、'.join(names)})，每列只能对应一个字段。")
    for name, header in choices.items():
        if header == FIXED and not (fixed.get(name) or "").strip():
            problems.append(f"字段 {name} 选了固定值，但没有填写值。")
    return problems


def mapping_signature(kind: str | None, mapping: Mapping | None) -> str:
    """A key that changes whenever the way the file will be read changes."""
    return json.dumps([kind, mapping.as_toml() if mapping else None], ensure_ascii=False, sort_keys=True)


# ---------------------------------------------------------------- what the page shows of a file

def header_table(resolved: Preview, kind: str) -> pl.DataFrame:
    """File header -> contract column, with an example value, as the file will be read."""
    by_header = {header: name for name, header in resolved.columns.items() if name not in resolved.fixed}
    columns = {c.name: c for c in KINDS[kind].columns}
    first = resolved.rows.row(0) if resolved.rows.height else [None] * len(resolved.headers)
    rows = []
    for header, example in zip(resolved.headers, first):
        if not header.strip():
            continue
        name = by_header.get(header)
        rows.append((header, column_label(columns[name]) if name else IGNORED, _example(name, example)))
    for name, value in resolved.fixed.items():
        rows.append((FIXED, column_label(columns[name]), value))
    return pl.DataFrame(rows, schema={"文件表头": pl.String, "对应字段": pl.String, "示例值": pl.String},
                        orient="row")


def _example(name: str | None, value) -> str:
    if value is None:
        return ""
    if name in PERSONAL_SHOWN:
        return PERSONAL_SHOWN[name]
    return mask_column(pl.Series([str(value)])).item()


def preview_table(resolved: Preview) -> pl.DataFrame:
    """The first rows under the file's own headers; personal data shown as it will be stored
    (names and phones hidden, numbers and the caller's name in every other column masked)."""
    frame = resolved.rows
    by_header = {header: name for name, header in resolved.columns.items() if name not in resolved.fixed}
    names = None
    if "caller_name" in resolved.columns and "caller_name" not in resolved.fixed:
        names = frame.get_column(frame.columns[resolved.headers.index(resolved.columns["caller_name"])])
    replaced = []
    for shown, header in zip(frame.columns, resolved.headers):
        name = by_header.get(header)
        column = frame.get_column(shown)
        if name in PERSONAL_SHOWN:
            column = pl.when(column.is_not_null()).then(pl.lit(PERSONAL_SHOWN[name])).otherwise(None)
            replaced.append(pl.select(column.alias(shown)).to_series())
        else:  # every other column, known or not, masked as the loader will mask it
            replaced.append(mask_column(column.cast(pl.String), names).alias(shown))
    return pl.DataFrame(replaced).with_columns(pl.all().cast(pl.String).fill_null(""))


def file_facts(upload: Upload) -> str:
    """One line under a file's name: encoding, header row, rows, size."""
    preview = upload.preview
    parts = [f"编码：{encoding_label(preview.encoding)}", f"表头在第 {preview.header_row} 行",
             f"表头下共 {preview.data_rows:,} 行", f"大小 {size_label(upload.size)}"]
    return " · ".join(parts)


def reasons_table(report: LoadReport) -> pl.DataFrame:
    """Rejected rows grouped by reason: the reason, how many rows, example row numbers."""
    rows = [(r["reason"], int(r["rows"]),
             "、".join(str(n) for n in r["examples"]) + ("等" if r["rows"] > len(r["examples"]) else ""))
            for r in report.reasons]
    return pl.DataFrame(rows, schema={"拒绝原因": pl.String, "行数": pl.Int64, "示例行号(Excel 行号)": pl.String},
                        orient="row")


def check_summary(report: LoadReport) -> str:
    """The check's result in one sentence."""
    if report.refused:
        return f"{report.file}：整个文件被拒绝，不会写入任何数据。原因：{report.refused}"
    loads = report.inserted + report.updated + report.unchanged
    text = (f"{report.file}：共 {report.rows_read:,} 行，{loads:,} 行可以导入(新增 {report.inserted:,}，"
            f"更新 {report.updated:,}，与库中相同 {report.unchanged:,})，{report.rejected:,} 行将被拒绝。")
    if report.stale:
        text += (f"另有 {report.stale:,} 行比库中记录旧(较旧版本，未覆盖)，不会改动库中数据；"
                 "如确是更正，请勾选“更正批次”。")
    return text


# ---------------------------------------------------------------- the load history

HISTORY_COLUMNS = [("batch_id", "批次", "text"), ("state", "状态", "text"), ("loaded_at", "导入时间", "moment"),
                   ("loaded_by", "导入人", "text"), ("kind_label", "种类", "text"), ("file_name", "文件", "text"),
                   ("hash", "文件指纹", "text"), ("rows_read", "读取", "count"), ("inserted", "新增", "count"),
                   ("updated", "更新", "count"), ("unchanged", "未变", "count"), ("stale", "较旧未覆盖", "count"),
                   ("rejected", "拒绝", "count")]


def history_frame(history: pl.DataFrame) -> pl.DataFrame:
    """The batches with the columns the page shows (short hash, kind in Chinese, state)."""
    labels = {k: v.label for k, v in KINDS.items()}
    return history.with_columns(
        pl.col("batch_id").cast(pl.String),
        pl.col("file_hash").str.slice(0, 12).alias("hash"),
        pl.col("kind").replace_strict(labels, default=pl.col("kind")).alias("kind_label"),
        pl.when(pl.col("is_undone")).then(pl.lit("已撤销")).when(pl.col("is_correction")).then(pl.lit("有效(更正)"))
        .otherwise(pl.lit("有效")).alias("state"),
    )


def batch_label(batch: dict) -> str:
    state = "(已撤销)" if batch["is_undone"] else ""
    when = batch["loaded_at"].strftime("%Y-%m-%d %H:%M") if batch["loaded_at"] else ""
    return f"批次 {batch['batch_id']} · {KINDS[batch['kind']].label} · {batch['file_name']} · {when}{state}"


def rejects_frame(rejects: pl.DataFrame) -> pl.DataFrame:
    """A batch's rejected rows: row number, reason, then the row's own columns as in the file."""
    raw = [file_values(v) for v in rejects.get_column("raw_values").to_list()]
    headers: list[str] = []
    for values in raw:
        headers += [h for h in values if h not in headers]
    data = {"原文件行号": rejects.get_column("row_number").cast(pl.String).to_list(),
            "拒绝原因": rejects.get_column("reason").to_list()}
    for header in headers:
        if header not in data:
            data[header] = ["" if v.get(header) is None else str(v.get(header)) for v in raw]
    return pl.DataFrame(data, schema={name: pl.String for name in data})


def undo_question(batch: dict) -> str:
    text = (f"撤销批次 {batch['batch_id']}({batch['file_name']})：数据将变为从未导入过这个批次的样子——"
            "只有这个批次提供的记录被删除，其他有效批次也提供的记录保留并采用它们的版本")
    if batch["kind"] == "compounds":
        text += "；引用这些小区的诉求、投诉等随小区台账调整"
    return text + "(被拒绝的行仍保留在记录中)。确定撤销吗？"



def rejects_file_name(batch: dict, what: str = "被拒绝的行") -> str:
    stem = Path(batch["file_name"] or "file").stem
    return f"批次{batch['batch_id']}_{stem}_{what}.csv"



@dataclass
class Flash:
    """A message shown once on the next run (after a load, undo or re-check)."""
    level: str  # success, error, warning, info
    text: str
    details: list[str] = field(default_factory=list)
