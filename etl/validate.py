"""Stage a raw file: type every column and check every rule, all as vectorised polars expressions.

Each check yields, per row, either null or a reason in Chinese; a row with any reason is
rejected, with all its reasons joined. Good rows come out typed and shaped like their table.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import polars as pl

from etl.contract import BOOL, DATE, DATETIME, FLOAT, INT, NEEDS_COMPOUND, TEXT, Column, Kind
from etl.identifiers import identifiers
from etl.read import CONTROL_PATTERN, EXCEL_ERRORS, FILE_VALUE, OVERFLOW, OVERFLOW_HEADER, ROW, RawFile
from etl.schema import CARRIED
from etl.schema import columns as table_columns
from safety import masking as privacy
from settings import intake_settings, local_now, reference

_BACKGROUND = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stage")
# Years a date is read in at all; inside them the plausible window of data/reference.toml decides.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2200
TRUE_WORDS = ["是", "y", "yes", "true", "t", "1", "√"]
FALSE_WORDS = ["否", "n", "no", "false", "f", "0", "×"]
# Year-first forms after folding 年月日时分 and "/" into ISO punctuation, then US exports.
_ISO_FORMATS = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]
_US_FORMATS = ["%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p"]
SCORE_RATING = {5: "满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "不满意"}
# A valid row whose key a better valid row of the same file also holds (recheck skips these: that row loaded).
DUPLICATE_PREFIX = "文件内编号重复"
DUPLICATE_REASON = f"{DUPLICATE_PREFIX}：以最后出现的有效行为准"
LATER_UPDATE_REASON = f"{DUPLICATE_PREFIX}：以“更新时间”最晚的有效行为准"
OVERFLOW_REASON = (f"本行比表头多出几格(多半是某格文字里有逗号却没加引号)，未导入，多出的内容保存在“{OVERFLOW_HEADER}”一栏，"
                   "请核对后重新导入")
# The steps of a record's life, in the order they happen; of the times a row has, none may come
# before an earlier step's.
LIFECYCLE = {
    "appeals": ["received_at", "dispatched_at", "first_response_at", "resolved_at", "feedback_at", "closed_at"],
    "complaints": ["received_at", "resolved_at"],
}
# Under this key of a rejected row's raw values: the values as a mapping read them (recheck reads
# them again); the other keys are the file's own headers and values.
MAPPED_VALUES = "_mapped"


@dataclass
class Staged:
    good: pl.DataFrame  # ROW, then shaped like the kind's table, without batch_id
    rejects: pl.DataFrame  # ROW, raw_values (JSON, personal data masked), reason
    duplicates: int


def _parse_any_datetime(text: pl.Expr) -> pl.Expr:
    """The slow path: fold full-width digits and punctuation (NFKC), 年月日时分 and "/" into ISO
    punctuation, then try every form."""
    text = text.str.normalize("NFKC")
    folded = (
        text.str.replace_all(r"[年月/.]", "-")
        .str.replace_all("日", " ")
        .str.replace_all("[时点]", ":")
        .str.replace_all("分", ":")
        .str.replace_all("秒", "")
        .str.replace("T", " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars(" :")
    )
    # The fold turned a fractional-seconds dot into "-"; put it back.
    folded = folded.str.replace(r"^(\d+-\d+-\d+ \d+:\d+:\d+)-(\d+)$", "${1}.${2}")
    attempts = [folded.str.to_datetime(f, strict=False, time_unit="us") for f in _ISO_FORMATS]
    attempts += [text.str.to_datetime(f, strict=False, time_unit="us") for f in _US_FORMATS]
    return pl.coalesce(attempts)


def parse_datetime(text: pl.Series) -> pl.Series:
    """Every datetime form of the contract, as a naive local timestamp; null where unreadable.

    Most extracts use one form throughout, so that form is tried on the whole column first and
    only the rows it could not read take the slow path.
    """
    # No cache: timestamps in an extract are nearly all distinct, so a cache only costs.
    parsed = text.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us", cache=False)
    pending = parsed.is_null() & text.is_not_null()
    if pending.any():
        rest = pl.DataFrame({"t": text.filter(pending)}).select(_parse_any_datetime(pl.col("t"))).to_series()
        parsed = parsed.scatter(pending.arg_true(), rest)
    # A leap second (23:59:60) is read as midnight of the next day: the appeal would count on a day
    # it did not arrive. Such a time is unreadable, as 24:00 is. Only midnights can be one.
    midnight = (parsed.dt.hour() == 0) & (parsed.dt.minute() == 0) & (parsed.dt.second() == 0)
    if midnight.any():
        at = midnight.arg_true()
        leap = text.gather(at).str.normalize("NFKC").str.contains(r"[:分]\s*60(?:\.\d+)?\s*秒?\s*$")
        parsed = parsed.scatter(at.filter(leap.fill_null(False)), None)
    in_range = parsed.dt.year().is_between(EARLIEST_YEAR, LATEST_YEAR)
    return pl.DataFrame({"v": parsed, "ok": in_range}).select(pl.when("ok").then("v")).to_series()


TYPE_PROBLEM = {DATETIME: "无法识别为日期时间", DATE: "无法识别为日期", INT: "应为非负整数",
                FLOAT: "应为数值", BOOL: "应为 是/否"}


def _typed(column: Column, texts: pl.DataFrame) -> pl.Series:
    """The typed values of a column; null where the text is empty or not of the type."""
    text = pl.col(column.name)
    if column.type in (DATETIME, DATE):
        value = parse_datetime(texts.get_column(column.name)).alias(column.name)
        return value.dt.date() if column.type == DATE else value
    # Full-width digits (１２００) are digits; a comma only groups thousands (1,200, not 1,2).
    digits = text.str.normalize("NFKC").str.strip_chars()
    if column.type == INT:
        grouped = digits.str.contains(r"^\d{1,3}(,\d{3})+(\.0*)?$")
        number = pl.when(grouped).then(digits.str.replace_all(",", "")).otherwise(digits).cast(pl.Float64, strict=False)
        ok = (number >= 0) & (number == number.floor()) & (number < 2**31)
        expr = pl.when(ok).then(number).cast(pl.Int32)
    elif column.type == FLOAT:
        number = digits.cast(pl.Float64, strict=False)
        expr = pl.when(~number.is_nan()).then(number)
    elif column.type == BOOL:
        word = text.str.to_lowercase()
        expr = pl.when(word.is_in(TRUE_WORDS)).then(True).when(word.is_in(FALSE_WORDS)).then(False)
    else:
        expr = text
    return texts.select(expr.alias(column.name)).to_series()


def _reason(condition: pl.Expr, template: str, value: pl.Expr) -> pl.Expr:
    """template with the value filled in where the condition holds, else null. Only those rows
    are formatted (formatting every row and keeping a few would cost a string per row)."""
    return pl.format(template, pl.when(condition).then(value))


def _type_problem(column: Column, excel_errors: bool) -> pl.Expr | None:
    """Why a non-empty text did not convert, naming the column and quoting the value (not for an
    Excel error value, which has its own reason, when the column holds some)."""
    if column.type not in TYPE_PROBLEM:
        return None
    text = pl.col(f"_text_{column.name}")
    failed = text.is_not_null() & pl.col(column.name).is_null()
    return _reason(failed & ~text.is_in(EXCEL_ERRORS) if excel_errors else failed,
                   f"“{column.headers[0]}”{TYPE_PROBLEM[column.type]}：{{}}", text)


def _with_excel_errors(texts: pl.DataFrame, present: list[Column]) -> set[str]:
    """The columns some cell of which is an Excel error value (a cheap look at the first
    character first: nearly every file has none)."""
    return {c.name for c in present
            if texts.get_column(c.name).str.starts_with("#").any() and texts.get_column(c.name).is_in(EXCEL_ERRORS).any()}


def _one_of(name: str, label: str, allowed: list[str]) -> pl.Expr:
    value = pl.col(name)
    return _reason(value.is_not_null() & ~value.is_in(allowed), f"未知{label}“{{}}”(可选：{'、'.join(allowed)})", value)


def _resolve_compounds(frame: pl.DataFrame, compounds: pl.DataFrame, needed: bool) -> pl.DataFrame:
    """Add _resolved (the compound id), _cstreet, _ccommunity, _company and _compound_reason.

    A row names its compound by id, or failing that by name (with the street when two streets
    share the name). The matching runs on the distinct (id, name, street) triples, a few
    hundred, and is joined back to the rows once.
    """
    registry = compounds.select(
        pl.col("compound_id").alias("_resolved"),
        pl.col("name").alias("_cname"),
        pl.col("street").alias("_cstreet"),
        pl.col("community").alias("_ccommunity"),
        pl.col("property_company").alias("_company"),
    )
    for name in ("compound_id", "compound_name", "street"):
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(name))
    triples = frame.select("compound_id", "compound_name", "street").unique()

    same_name = registry.group_by("_cname").agg(pl.len().alias("_same_name"))
    by_name_street = registry.select(
        pl.col("_cname").alias("compound_name"), pl.col("_cstreet").alias("street"),
        pl.col("_resolved").alias("_id_name_street")).unique(["compound_name", "street"], keep="none")
    by_unique_name = registry.join(same_name.filter(pl.col("_same_name") == 1), on="_cname").select(
        pl.col("_cname").alias("compound_name"), pl.col("_resolved").alias("_id_name"))
    known_ids = registry.select(pl.col("_resolved").alias("compound_id"), pl.col("_resolved").alias("_id"))
    matched = (
        triples.join(known_ids, on="compound_id", how="left")
        .join(same_name.rename({"_cname": "compound_name"}), on="compound_name", how="left")
        .join(by_name_street, on=["compound_name", "street"], how="left")
        .join(by_unique_name, on="compound_name", how="left")
    )
    has_id, has_name = pl.col("compound_id").is_not_null(), pl.col("compound_name").is_not_null()
    matched = matched.with_columns(
        pl.when(has_id).then(pl.col("_id")).otherwise(pl.coalesce("_id_name_street", "_id_name")).alias("_resolved"))
    unresolved = pl.col("_resolved").is_null()
    reason = (
        pl.when(has_id & unresolved)
        .then(pl.format("未知小区编码“{}”(小区台账中没有)", pl.col("compound_id")))
        .when(~has_id & has_name & unresolved & (pl.col("_same_name") > 1))
        .then(pl.format("小区名称“{}”在多个街道重名，请注明街道或填写小区编码", pl.col("compound_name")))
        .when(~has_id & has_name & unresolved)
        .then(pl.format("未知小区名称“{}”(小区台账中没有)", pl.col("compound_name")))
    )
    if needed:
        reason = pl.when(~has_id & ~has_name).then(
            pl.lit("缺少“小区编码”(compound_id) 或 “小区名称”(compound_name)")).otherwise(reason)
    matched = matched.with_columns(reason.alias("_compound_reason")).select(
        "compound_id", "compound_name", "street", "_resolved", "_compound_reason"
    ).join(registry.drop("_cname"), on="_resolved", how="left")
    # In the file's row order: the masked text columns are put back by position.
    return frame.join(matched, on=["compound_id", "compound_name", "street"], how="left", nulls_equal=True,
                      maintain_order="left")


def _masked(name: str, value: pl.Expr, caller: pl.Expr | None) -> pl.Expr:
    if name == "caller_name":
        return pl.when(value.is_not_null()).then(pl.lit(privacy.NAME_MASK))
    if name == "caller_phone":
        return pl.when(value.is_not_null()).then(pl.lit(privacy.PHONE_MASK))
    return privacy.mask_text(value, caller)


def _raw_values(raw: pl.DataFrame, source: RawFile) -> pl.Expr:
    """The rejected row as it was in the file: its own headers and values (before a mapping's
    value translations and fixed values), personal data masked. A row read through a mapping
    also keeps the values as mapped, under MAPPED_VALUES. `raw`: the rejected rows, their ids
    masked already (_ids_masked)."""
    caller = pl.col("caller_name") if "caller_name" in raw.columns else None
    ids = _ids(source)

    def masked(name: str, column: str) -> pl.Expr:
        return pl.col(column) if name in ids else _masked(name, pl.col(column), caller)

    fields = []
    for name, header in source.headers.items():
        as_in_file = f"{FILE_VALUE}{name}" if f"{FILE_VALUE}{name}" in raw.columns else name
        fields.append(masked(name, as_in_file).alias(header))
    if OVERFLOW in raw.columns:
        fields.append(privacy.mask_text(pl.col(OVERFLOW), caller).alias(OVERFLOW_HEADER))
    if source.mapped:
        fields.append(pl.struct([masked(name, name).alias(name)
                                 for name in (*source.headers, *source.fixed)]).alias(MAPPED_VALUES))
    return pl.struct(fields).struct.json_encode()


def _ids(source: RawFile) -> set[str]:
    """The file's columns that hold ids: the record's key and the other records' ids it names."""
    return ({source.kind.key} | REFERENCES) & set(source.headers)


def _ids_masked(rows: pl.DataFrame, source: RawFile) -> pl.DataFrame:
    """The rows with their ids masked as the loader judges ids (a number counts as an ID number only
    where a resident could hold it): a row rejected for another reason keeps its work-order number
    in the saved values, for the analyst and for a recheck."""
    callers = privacy.callers(rows.get_column("caller_name")) if "caller_name" in rows.columns else None
    today = local_now().date()
    columns = [column for name in _ids(source) for column in (name, f"{FILE_VALUE}{name}") if column in rows.columns]
    return rows.with_columns(privacy.mask_identifier(rows.get_column(column), callers, today) for column in columns)


def file_values(raw_values: str) -> dict:
    """A rejected row's stored raw values as the file had them (headers -> values)."""
    values = json.loads(raw_values)
    values.pop(MAPPED_VALUES, None)
    return values


# The ids of other records a row names: like the key, they only count as personal data where a
# resident could hold the number (safety.masking.key_holds_personal_data).
REFERENCES = {"compound_id", "grid_id", "source_appeal_id"}


def _masked_texts(raw: pl.DataFrame, names: list[str], keys: pl.Series,
                  callers: pl.Series | None) -> tuple[list[pl.Series], pl.Series]:
    """Every text column of the file with personal data masked, and whether each row's key (as it
    will be stored, folded) holds some."""
    found = privacy.callers(callers) if callers is not None else None
    today = local_now().date()
    masked = [privacy.mask_identifier(raw.get_column(name), found, today) if name in REFERENCES
              else privacy.mask_column(raw.get_column(name), found) for name in names]
    return masked, privacy.key_holds_personal_data(keys, found, today)


def _superseded(keys: pl.Series, rows: pl.Series, valid: pl.Series, updated: pl.Series) -> pl.Series:
    """The duplicate reason of a valid row whose key another valid row of the file holds and wins
    with (null keys never do), else null: the row with the latest 更新时间 when every such row has
    one (a change log lists a record's states in any order), else the last row, whatever invalid
    rows follow it.

    Nearly every key of an extract is unique, and 64-bit hashes compare faster than strings:
    only valid rows whose hash repeats are compared exactly.
    """
    reasons = pl.repeat(None, keys.len(), dtype=pl.String, eager=True)
    hashes = pl.select(pl.when(valid & keys.is_not_null()).then(keys.hash())).to_series()
    maybe = hashes.is_duplicated() & hashes.is_not_null()
    if not maybe.any():
        return reasons
    at = maybe.arg_true()
    candidates = pl.DataFrame({"k": keys.gather(at), "r": rows.gather(at), "u": updated.gather(at)})
    by_update = pl.col("u").is_not_null().all().over("k")
    winner = pl.when(by_update).then(pl.col("r").sort_by("u", "r").last().over("k")).otherwise(pl.col("r").max().over("k"))
    lost = candidates.select(pl.when(pl.col("r") != winner).then(
        pl.when(by_update).then(pl.lit(LATER_UPDATE_REASON)).otherwise(pl.lit(DUPLICATE_REASON)))).to_series()
    return reasons.scatter(at, lost)


def stage(source: RawFile, compounds: pl.DataFrame) -> Staged:
    """Type and check a raw file; compounds is the registry the other kinds refer to."""
    kind: Kind = source.kind
    raw = source.frame
    ref = reference()
    present = [c for c in kind.columns if c.name in raw.columns]
    callers = raw.get_column("caller_name") if "caller_name" in raw.columns else None
    # Masking every text column needs nothing else of the staging: it runs on a thread of its own
    # (polars releases the GIL) while the rest is typed and checked.
    # Ids are read as one id however typed (Ｋ１ is K1); the rejected rows keep the file's own text.
    folded = {c.name: identifiers(raw.get_column(c.name)) for c in present if c.name in (kind.key, "compound_id")}
    texts_to_mask = [c.name for c in present if c.type == TEXT and not c.personal and c.name != kind.key]
    masking = _BACKGROUND.submit(_masked_texts, raw, texts_to_mask, folded[kind.key], callers)

    texts = raw.select(ROW, *[c.name for c in present]).with_columns(folded.values())
    typed = texts.select(
        ROW,
        *[pl.col(c.name).alias(f"_text_{c.name}") for c in present],
    ).with_columns([_typed(c, texts) for c in present])
    for column in kind.columns:  # optional columns the file does not carry
        if column.name not in typed.columns:
            dtype = {DATETIME: pl.Datetime("us"), DATE: pl.Date, INT: pl.Int32, FLOAT: pl.Float64,
                     BOOL: pl.Boolean}.get(column.type, pl.String)
            typed = typed.with_columns(pl.lit(None, dtype).alias(column.name))

    # Reasons read off the text: missing required values, unreadable values.
    rules: list[pl.Expr] = [pl.when(pl.col(f"_text_{c.name}").is_null()).then(pl.lit(f"缺少{c.label}"))
              for c in present if c.required]
    if OVERFLOW in raw.columns:
        typed = typed.with_columns(raw.get_column(OVERFLOW))
        rules.append(pl.when(pl.col(OVERFLOW).is_not_null()).then(pl.lit(OVERFLOW_REASON)))
    excel_errors = _with_excel_errors(texts, present)
    rules += [_reason(pl.col(f"_text_{c.name}").is_in(EXCEL_ERRORS),
                      f"“{c.headers[0]}”是 Excel 错误值 {{}}(公式没有算出结果)，此行不导入", pl.col(f"_text_{c.name}"))
              for c in present if c.name in excel_errors and not c.personal]  # a personal value is dropped or masked
    rules += [problem for c in present if (problem := _type_problem(c, c.name in excel_errors)) is not None]
    rules += _plausibility(kind, present, typed)
    if kind.name != "compounds":
        typed = _resolve_compounds(typed, compounds, needed=kind.name in NEEDS_COMPOUND)
        rules.append(pl.col("_compound_reason"))

    # The masked text columns, and a rule for a key that holds a phone, an ID or the caller's name
    # (a key cannot be masked: two rows would become one).
    masked, key_personal = masking.result()
    typed = typed.with_columns(masked).with_columns(key_personal.alias("_key_personal"))
    rules.append(pl.when(pl.col("_key_personal")).then(
        pl.lit(f"“{kind.column(kind.key).headers[0]}”含有电话号码、身份证号或来电人姓名，此行不导入")))

    if kind.name == "compounds":
        rules += [_one_of("street", "街道", ref["streets"]),
                  _one_of("compound_type", "小区类型", ref["compound_types"])]
        typed = typed.with_columns(pl.col("key_target").fill_null(False).alias("is_key_target"))
    elif kind.name == "appeals":
        # Which values the compound gave: they follow the registry when it changes (etl/versions.py).
        typed = typed.with_columns(
            (pl.col("street").is_null() & pl.col("_resolved").is_not_null()).alias("street_from_compound"),
            (pl.col("community").is_null() & pl.col("_resolved").is_not_null()).alias("community_from_compound"),
            pl.coalesce("street", "_cstreet").alias("street"),
            pl.coalesce("community", "_ccommunity").alias("community"),
            pl.col("_resolved").alias("compound_id"),
        )
        rules += [
            pl.when(pl.col("street").is_null()).then(pl.lit("缺少“街道”(street)，且未指明所属小区")),
            _one_of("street", "街道", ref["streets"]),
            _one_of("channel", "诉求渠道", ref["channels"]),
            _one_of("satisfaction", "群众评价", ref["ratings"]),
        ]
        # 办理状态 the file gives none of is set from the timestamps when merged (etl/versions.py, `merged`).
        typed = typed.with_columns(pl.col("is_property").fill_null(False))
    elif kind.name == "complaints":
        typed = typed.with_columns(
            (pl.col("property_company").is_null() & pl.col("_resolved").is_not_null()).alias("company_from_compound"),
            pl.col("_resolved").alias("compound_id"),
            pl.coalesce("property_company", "_company").alias("property_company"),
            pl.col("three_party").fill_null(False).alias("is_three_party"),
        )
        rules += [_one_of("level", "处置层级", ref["complaint_levels"])]
    elif kind.name == "surveys":
        rules += [
            _reason(pl.col("score").is_not_null() & ~pl.col("score").is_between(1, 5), "“评分”应为 1–5 的整数：{}",
                    pl.col("score")),
            _one_of("rating", "评价", ref["ratings"]),
            pl.when(pl.col("score").is_null() & pl.col("rating").is_null()).then(
                pl.lit("“评分”(score) 和 “评价”(rating) 都为空")),
        ]
        from_score = pl.col("score").replace_strict(SCORE_RATING, default=None, return_dtype=pl.String)
        typed = typed.with_columns(
            pl.col("_resolved").alias("compound_id"),
            pl.coalesce("rating", from_score).alias("rating"),
        )
    elif kind.name == "scenes":
        rules += [_one_of("scene_type", "场景类型", ref["scene_types"])]
        typed = typed.with_columns(pl.col("_resolved").alias("compound_id"))

    checked = typed.with_columns(
        pl.concat_str(rules, separator="；", ignore_nulls=True)
        .alias("_reason")
    )
    checked = checked.with_columns(
        pl.when(pl.col("_reason").str.len_chars() > 0).then(pl.col("_reason")).alias("_reason"))
    duplicate = _superseded(checked.get_column(kind.key), checked.get_column(ROW), checked.get_column("_reason").is_null(),
                            checked.get_column("updated_at") if "updated_at" in checked.columns
                            else pl.repeat(None, checked.height, dtype=pl.Datetime("us"), eager=True))
    superseded = duplicate.is_not_null()
    checked = checked.with_columns(pl.coalesce(duplicate, pl.col("_reason")).alias("_reason"))

    # The row number stays with the good rows: a row not applied (stale) is reported by it.
    # (Which columns the rows carried is the file's to say when they are merged: etl/versions.py.)
    good = checked.filter(pl.col("_reason").is_null()).select(ROW, *(c for c in table_columns(kind.table) if c != CARRIED))
    # A reason quotes the offending value; a shifted extract can put a phone or a name there.
    caller = pl.col("caller_name") if "caller_name" in checked.columns else None
    bad = checked.filter(pl.col("_reason").is_not_null()).select(
        ROW, privacy.mask_text(pl.col("_reason"), caller).alias("_reason"))
    raw_bad = _ids_masked(raw.filter(pl.col(ROW).is_in(bad.get_column(ROW).implode())), source)
    rejects = (
        bad.join(raw_bad.select(ROW, _raw_values(raw_bad, source).alias("raw_values")),
                 on=ROW, how="left", maintain_order="left")
        .select(pl.col(ROW).alias("row_number"), "raw_values", pl.col("_reason").alias("reason"))
        .sort("row_number")
    )
    return Staged(good, rejects, int(superseded.sum()))


def _plausibility(kind: Kind, present: list[Column], typed: pl.DataFrame) -> list[pl.Expr]:
    """Reasons a row's values cannot be true (settings: [intake] of data/reference.toml): a
    control character in a cell, a date outside the window, lifecycle times out of order,
    coordinates outside the district. Counts are non-negative by type (INT).

    Only the rules some row breaks are returned: every rule costs a column of reasons, and in a
    clean extract none fires (one pass over the conditions finds out).
    """
    limits = intake_settings()
    checks: list[tuple[pl.Expr, pl.Expr]] = []  # (the row breaks it, the reason)
    for c in present:
        broken = pl.col(f"_text_{c.name}").str.contains(CONTROL_PATTERN)
        checks.append((broken, pl.when(broken).then(pl.lit(f"“{c.headers[0]}”含有控制字符(如 NUL)，可能是文件损坏"))))
    earliest = limits["earliest_date"]
    latest = local_now() + timedelta(days=limits["latest_days_ahead"])
    window = f"{earliest:%Y-%m-%d} 至 {latest:%Y-%m-%d %H:%M}"
    for c in present:
        if c.type in (DATETIME, DATE):
            low, high = (earliest, latest.date()) if c.type == DATE else (datetime.combine(earliest, time()), latest)
            broken = ~pl.col(c.name).is_between(low, high)
            checks.append((broken, _reason(broken, f"“{c.headers[0]}”不在合理时间范围({window})内：{{}}",
                                           pl.col(f"_text_{c.name}"))))
    names = {c.name for c in present}
    steps = [kind.column(name) for name in LIFECYCLE.get(kind.name, []) if name in names]
    for index, step in enumerate(steps[1:], start=1):
        earlier = steps[index - 1::-1]  # the nearest earlier step the row has is the one compared
        label = pl.when(pl.col(earlier[0].name).is_not_null()).then(pl.lit(earlier[0].headers[0]))
        for e in earlier[1:]:
            label = label.when(pl.col(e.name).is_not_null()).then(pl.lit(e.headers[0]))
        broken = pl.col(step.name) < pl.coalesce([pl.col(e.name) for e in earlier])
        checks.append((broken, _reason(broken, f"“{step.headers[0]}”早于“{{}}”", label)))
    box = limits["district_box"]
    for name, axis, unit in (("longitude", "lon", "°E"), ("latitude", "lat", "°N")):
        if name in names:
            low, high = box[f"{axis}_min"], box[f"{axis}_max"]
            broken = ~pl.col(name).is_between(low, high)
            checks.append((broken, _reason(broken, f"“{kind.column(name).headers[0]}”不在本区范围({low}–{high}{unit})内：{{}}",
                                           pl.col(f"_text_{name}"))))
    fired = typed.select([broken.any().alias(str(i)) for i, (broken, _) in enumerate(checks)]).row(0)
    return [reason for (_, reason), fires in zip(checks, fired) if fires]


def reasons_summary(rejects: pl.DataFrame) -> list[dict]:
    """Rejected rows grouped by reason, most frequent first, with example row numbers."""
    if rejects.height == 0:
        return []
    exploded = rejects.with_columns(pl.col("reason").str.split("；")).explode("reason")
    summary = (
        exploded.group_by("reason")
        .agg(pl.len().alias("rows"), pl.col("row_number").head(5).alias("examples"))
        .sort(["rows", "reason"], descending=[True, False])
    )
    return json.loads(summary.write_json())
