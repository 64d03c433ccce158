"""Read an extract file (CSV in UTF-8/GB18030, or .xlsx) into a frame of text columns.

The result names each contract column by its canonical name; every value is still the raw text
of the file, so that the validator sees exactly what the analyst sent. A file that cannot be
this kind of file raises FileRefused with a message in Chinese, before anything is written.
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from etl.contract import KINDS, NEEDS_COMPOUND, Kind
from etl.mapping import Mapping
from etl.settings import MAX_EXPANDED_BYTES, MAX_FILE_BYTES

# The row number a person sees in Excel: the header row is row 1 unless a title row precedes it.
ROW = "_row"
# How many leading rows may hold a title above the header row.
HEADER_SEARCH_ROWS = 10
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls and other OLE files


_HASHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hash")


class FileRefused(Exception):
    """The whole file is refused; the message is for the analyst, in Chinese."""


@dataclass
class RawFile:
    kind: Kind
    frame: pl.DataFrame  # canonical column names, all text, plus ROW
    file_hash: str
    encoding: str
    # canonical name -> the header as it stood in the file
    headers: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)


def normalise_header(header: str) -> str:
    """Case, surrounding and inner spaces, and full-width forms do not matter in headers."""
    folded = unicodedata.normalize("NFKC", str(header or ""))
    return "".join(folded.split()).lower()


def _aliases(kind: Kind) -> dict[str, str]:
    table = {}
    for column in kind.columns:
        for header in (column.name, *column.headers):
            table.setdefault(normalise_header(header), column.name)
    return table


ENCODING_REFUSAL = ("无法识别文件编码：已尝试 UTF-8 和 GB18030(GBK)，均失败。"
                    "请用 Excel “另存为 CSV UTF-8” 后重试。")


def _read_csv_bytes(data: bytes, encoding: str) -> pl.DataFrame:
    return pl.read_csv(io.BytesIO(data), has_header=False, infer_schema=False, encoding=encoding,
                       truncate_ragged_lines=True, raise_if_empty=False)


def _grid_from_csv(data: bytes) -> tuple[pl.DataFrame, str]:
    """The cells of a CSV as text, and its encoding: UTF-8 (BOM or not), else GB18030.

    UTF-8 is checked by polars itself while it reads (no Python string of the whole file, which
    would cost 2–4 bytes a character); only a file that is not UTF-8 is decoded in Python.
    """
    if b"\x00" in data[:65536]:
        raise FileRefused("文件不是文本格式的 CSV(含有二进制内容)，可能是改了扩展名的其他文件。")
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        # Old Mac exports (and mixed files) end lines with a lone CR, which the reader won't split on.
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if not data or data.isspace():  # (strip() would copy the whole file)
        raise FileRefused("文件为空。")
    try:
        return _read_csv_bytes(data, "utf8"), "utf-8"
    except pl.exceptions.ComputeError as exc:
        if "utf-8" not in str(exc).lower():
            raise FileRefused(f"无法按 CSV 格式读取文件：{exc}") from exc
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise FileRefused(ENCODING_REFUSAL) from exc
    try:
        return _read_csv_bytes(text.encode("utf-8"), "utf8"), "gb18030"
    except pl.exceptions.PolarsError as exc:
        raise FileRefused(f"无法按 CSV 格式读取文件：{exc}") from exc


def _check_workbook(data: bytes) -> None:
    """Refuse a workbook whose parts would expand past the size limit (a zip bomb) before any
    reader inflates it: declared sizes first, then the real inflated bytes, counted as they come."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise FileRefused(f"无法读取 Excel 文件(可能已损坏)：{exc}") from exc
    if sum(m.file_size for m in members) > MAX_EXPANDED_BYTES:
        raise FileRefused(f"Excel 文件解压后超过 {MAX_EXPANDED_BYTES // 1048576} MB，已拒绝(可能是压缩炸弹或数据过大，"
                          "请拆分或另存为 CSV)。")
    budget = MAX_EXPANDED_BYTES
    for member in members:
        try:
            with archive.open(member) as part:
                while chunk := part.read(1 << 20):
                    budget -= len(chunk)
                    if budget < 0:
                        raise FileRefused(f"Excel 文件解压后超过 {MAX_EXPANDED_BYTES // 1048576} MB，已拒绝"
                                          "(文件声明的大小与实际不符)。")
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            raise FileRefused(f"无法读取 Excel 文件(可能已损坏)：{exc}") from exc


def _grid_from_xlsx(data: bytes, sheet: str | None) -> pl.DataFrame:
    _check_workbook(data)
    try:
        options = {"header_row": None, "dtypes": "string"}
        if sheet:
            return pl.read_excel(io.BytesIO(data), engine="calamine", sheet_name=sheet, read_options=options)
        return pl.read_excel(io.BytesIO(data), engine="calamine", sheet_id=1, read_options=options)
    except Exception as exc:  # fastexcel raises its own error types for broken workbooks
        raise FileRefused(f"无法读取 Excel 文件(可能已损坏或没有数据工作表)：{exc}") from exc


def _header_row(grid: pl.DataFrame, aliases: dict[str, str]) -> int:
    """The first row among the leading ones that names the most contract columns."""
    best, best_hits = 0, 0
    for index, row in enumerate(grid.head(HEADER_SEARCH_ROWS).iter_rows()):
        hits = sum(1 for cell in row if cell is not None and normalise_header(cell) in aliases)
        if hits > best_hits:
            best, best_hits = index, hits
    return best


def _trimmed(text: pl.Expr) -> pl.Expr:
    return text.str.strip_chars().replace("", None)


def _translated(text: pl.Expr, table: dict[str, str] | None) -> pl.Expr:
    return text.replace(table) if table else text


def guess_kind(headers: list[str]) -> str | None:
    """The kind whose required columns these headers cover best, or None if none is covered."""
    normalised = {normalise_header(h) for h in headers}
    best, best_score = None, 0.0
    for kind in KINDS.values():
        aliases = _aliases(kind)
        present = {aliases[h] for h in normalised if h in aliases}
        required = [c.name for c in kind.columns if c.required]
        score = sum(1 for name in required if name in present) / len(required)
        score += 0.01 * len(present)  # break ties towards the kind that explains more columns
        if score > best_score:
            best, best_score = kind.name, score
    return best if best_score >= 0.5 else None


def _missing_columns(kind: Kind, present: set[str]) -> list[str]:
    missing = [c.label for c in kind.columns if c.required and c.name not in present]
    if kind.name in NEEDS_COMPOUND and not present & {"compound_id", "compound_name"}:
        missing.append("“小区编码”(compound_id) 或 “小区名称”(compound_name)")
    if kind.name == "surveys" and not present & {"score", "rating"}:
        missing.append("“评分”(score) 或 “评价”(rating)")
    return missing


def _file_bytes(path: Path, data: bytes | None) -> bytes:
    """The file's bytes, refused if empty or over the size limit (checked before reading from disk)."""
    if data is None:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise FileRefused(f"文件过大({size / 1048576:.0f} MB)，上限为 {MAX_FILE_BYTES // 1048576} MB。")
        data = path.read_bytes()
    if not data:
        raise FileRefused("文件为空。")
    if len(data) > MAX_FILE_BYTES:
        raise FileRefused(f"文件过大({len(data) / 1048576:.0f} MB)，上限为 {MAX_FILE_BYTES // 1048576} MB。")
    return data


def _grid(data: bytes, sheet: str | None) -> tuple[pl.DataFrame, str]:
    """The file's cells as text and its encoding ("xlsx" for a workbook), or FileRefused."""
    if data.startswith(ZIP_MAGIC):
        grid, encoding = _grid_from_xlsx(data, sheet), "xlsx"
    elif data.startswith(OLE_MAGIC):
        raise FileRefused("这是旧版 Excel(.xls)文件，请在 Excel 中另存为 .xlsx 或 CSV 后再导入。")
    else:
        grid, encoding = _grid_from_csv(data)
    if grid.height == 0 or grid.width == 0:
        raise FileRefused("文件为空，没有表头和数据。")
    return grid, encoding


def _explicit(mapping: Mapping | None) -> dict[str, str]:
    """A mapping's columns as normalised file header -> canonical name."""
    return {normalise_header(h): name for name, h in (mapping.columns.items() if mapping else ())}


def _cells(grid: pl.DataFrame, index: int) -> list[str]:
    return [str(v) if v is not None else "" for v in grid.row(index)]


def _match_columns(grid: pl.DataFrame, header_cells: list[str], explicit: dict[str, str], aliases: dict[str, str],
                   fixed: dict[str, str]) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Which grid column each contract column is read from: (canonical -> grid column,
    canonical -> the header as it stood in the file, the headers of the columns left unread)."""
    columns: dict[str, str] = {}  # canonical -> source column of the grid
    headers: dict[str, str] = {}
    for table in (explicit, aliases):  # a mapping's own choice first, then the contract's headers
        for source, header in zip(grid.columns, header_cells):
            canonical = table.get(normalise_header(header))
            if canonical and canonical not in columns and canonical not in fixed and source not in columns.values():
                columns[canonical] = source
                headers[canonical] = header
    ignored = [h for s, h in zip(grid.columns, header_cells) if h.strip() and s not in columns.values()]
    return columns, headers, ignored


def read_file(path: Path, kind_name: str, *, sheet: str | None = None, data: bytes | None = None,
              mapping: Mapping | None = None) -> RawFile:
    """Read one extract as the given kind, or refuse it whole.

    With a mapping, its columns name the file's headers explicitly (before the contract's
    aliases), its fixed values fill whole columns and its value tables translate values.
    """
    kind = KINDS[kind_name]
    data = _file_bytes(Path(path), data)
    # hashlib releases the GIL: the file is hashed while polars parses it.
    hashing = _HASHER.submit(lambda: hashlib.sha256(data).hexdigest())
    grid, encoding = _grid(data, sheet)
    file_hash = hashing.result()

    aliases = _aliases(kind)
    explicit = _explicit(mapping)
    fixed = dict(mapping.fixed) if mapping else {}
    header_index = _header_row(grid, {**aliases, **explicit})
    header_cells = _cells(grid, header_index)
    columns, headers, ignored = _match_columns(grid, header_cells, explicit, aliases, fixed)

    missing = _missing_columns(kind, set(columns) | set(fixed))
    if missing:
        message = f"不是有效的“{kind.label}”文件：缺少必需列 " + "、".join(missing) + "。"
        other = guess_kind(header_cells)
        if other and other != kind.name:
            message += f" 这个文件看起来是“{KINDS[other].label}”({other})。"
        raise FileRefused(message)

    translations = mapping.values if mapping else {}
    # Values are trimmed, and an empty cell is null, once here: the validator and the rejected
    # rows' raw values both see these. Rows with nothing in any contract column are spacing.
    frame = (
        grid.lazy()
        .slice(header_index + 1)
        .with_row_index(ROW, offset=header_index + 2)
        .select(
            pl.col(ROW).cast(pl.Int64),
            *[_translated(_trimmed(pl.col(source).cast(pl.String)), translations.get(name)).alias(name)
              for name, source in columns.items()],
        )
        .filter(pl.any_horizontal([pl.col(name).is_not_null() for name in columns]))
        .collect()
    )
    del grid
    if frame.height == 0:
        raise FileRefused("文件只有表头，没有数据行。")
    for name, value in fixed.items():
        frame = frame.with_columns(pl.lit(value, pl.String).alias(name))
        headers[name] = f"{kind.column(name).headers[0]}(固定值)"
    return RawFile(kind, frame, file_hash, encoding, headers, ignored)


@dataclass
class Preview:
    """A file's header row and first rows as they will be read, without requiring the contract's
    columns (for the data desk's preview and its column mapping)."""
    headers: list[str]  # the header row's cells as in the file ("" for an empty cell)
    rows: pl.DataFrame  # the first data rows, as text, under the headers (made unique for display)
    encoding: str  # "utf-8", "gb18030" or "xlsx"
    file_hash: str
    header_row: int  # the header row's number as Excel shows it (1 unless a title row precedes it)
    data_rows: int  # rows under the header row, blank ones included
    # With a kind: canonical -> the file header it is read from, as read_file would match them.
    columns: dict[str, str] = field(default_factory=dict)
    fixed: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # required columns not found, as read_file names them


def _display_names(headers: list[str]) -> list[str]:
    """Unique, non-empty column names for showing a grid (empty headers read 列N)."""
    names: list[str] = []
    for index, header in enumerate(headers, start=1):
        name = header.strip() or f"列{index}"
        candidate, n = name, 2
        while candidate in names:
            candidate, n = f"{name}({n})", n + 1
        names.append(candidate)
    return names


def preview_file(path: Path, kind_name: str | None = None, *, sheet: str | None = None, data: bytes | None = None,
                 mapping: Mapping | None = None, rows: int = 10) -> Preview:
    """The header row, first rows and encoding of a file, found as read_file finds them.

    Unlike read_file it does not require the contract's columns; it still refuses (FileRefused)
    a file that cannot be read at all (empty, too large, binary, .xls, broken workbook, encoding).
    With a kind, it also tells which contract column each header would be read as (the mapping's
    choice first, then the contract's headers) and which required columns are missing. Without a
    kind, the header row is the one naming the most contract columns of any kind or, failing
    that, the first of the fullest leading rows (a title row above the header has fewer cells).
    """
    data = _file_bytes(Path(path), data)
    file_hash = hashlib.sha256(data).hexdigest()
    grid, encoding = _grid(data, sheet)

    explicit = _explicit(mapping)
    if kind_name is not None:
        aliases = _aliases(KINDS[kind_name])
    else:
        aliases = {}
        for kind in KINDS.values():
            aliases.update(_aliases(kind))
    search = {**aliases, **explicit}
    header_index = _header_row(grid, search)
    leading = list(grid.head(HEADER_SEARCH_ROWS).iter_rows())
    if not any(cell is not None and normalise_header(cell) in search for cell in leading[header_index]):
        filled = [sum(1 for cell in row if cell is not None and str(cell).strip()) for row in leading]
        header_index = filled.index(max(filled))
    header_cells = _cells(grid, header_index)

    body = grid.slice(header_index + 1)
    shown = body.head(rows)
    shown.columns = _display_names(header_cells)
    preview = Preview(headers=header_cells, rows=shown, encoding=encoding, file_hash=file_hash,
                      header_row=header_index + 1, data_rows=body.height)
    if kind_name is not None:
        fixed = dict(mapping.fixed) if mapping else {}
        columns, headers, ignored = _match_columns(grid, header_cells, explicit, aliases, fixed)
        preview.columns, preview.fixed, preview.ignored_columns = headers, fixed, ignored
        preview.missing = _missing_columns(KINDS[kind_name], set(columns) | set(fixed))
    return preview
