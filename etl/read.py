"""Read an extract (CSV in UTF-8/GB18030, or .xlsx): decode it once (`decode`), then read it
as a kind through an optional mapping (`read`: contract columns, raw text) or preview it
(`preview`). A file that cannot be read raises FileRefused with a message in Chinese.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import re
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import fastexcel
import numpy as np
import polars as pl

from etl.contract import KINDS, NEEDS_COMPOUND, Kind, normalise_header
from etl.mapping import Mapping
from settings import intake_settings, max_expanded_bytes, max_file_bytes

# The row number a person sees in Excel: the header row is row 1 unless a title row precedes it.
ROW = "_row"
# How many leading rows may hold titles, blank lines and notes above the header row.
HEADER_SEARCH_ROWS = 20
# How many rows at the end of a file may hold notes below the data.
FOOTER_SEARCH_ROWS = 10
# Beside a column whose values a mapping translates: the value as it was in the file.
FILE_VALUE = "_file_"
# Cells a CSV row holds past its header's last column (an unquoted comma in a text, most often):
# kept with the row, which is rejected rather than loaded without them; stored among its raw
# values under OVERFLOW_HEADER. (A column under an empty header is an unknown column, not this.)
OVERFLOW = "_overflow"
OVERFLOW_HEADER = "(表头以外的内容)"
# Characters no cell holds: C0 and C1 controls and DEL (tab, line feed and carriage return are
# ordinary in cells). A cell with one is rejected with its row (etl.validate).
CONTROL_PATTERN = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
CONTROL_CHARS = re.compile(CONTROL_PATTERN)
# Excel's error values (a formula that found no result). calamine reads an error cell as empty,
# which would load an unknown 办结时间 as "not resolved": the cell gets its code back, and
# etl.validate rejects a row holding one (as it does for the same code in a CSV saved by Excel).
EXCEL_ERRORS = ("#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!",
                "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!")
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls and other OLE files


# Picks the header row among a file's leading rows (their cells as text, None for an empty one).
Chooser = Callable[[list[list[str | None]]], int]

_HASHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hash")


class FileRefused(Exception):
    """The whole file is refused; the message is for the analyst, in Chinese."""


@dataclass
class RawFile:
    kind: Kind
    frame: pl.DataFrame  # canonical column names, all text, plus ROW
    file_hash: str
    encoding: str
    # canonical name -> the header as it stood in the file (columns read from the file)
    headers: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    fixed: dict[str, str] = field(default_factory=dict)  # canonical name -> a mapping's fixed value
    mapped: bool = False  # read through a mapping: rejected rows keep the mapped values too
    header_row: int = 1  # as Excel numbers it


@dataclass
class Decoded:
    """One file's bytes decoded once: its identity, encoding, leading rows and cells as text.

    The cells from a header row down are parsed when first asked for and kept; only a header
    row other than the first one chosen (a mapping naming another row's cells) parses again,
    from the already decoded text.
    """
    file_hash: str
    size: int
    encoding: str  # "utf-8", "gb18030" or "xlsx"
    leading: list[list[str | None]]  # the first HEADER_SEARCH_ROWS rows, the header among them
    starts: list[int] = field(default_factory=list)  # (CSV) the line each leading row starts on
    text: bytes | None = None  # (CSV) the file as UTF-8
    workbook: pl.DataFrame | None = None  # (xlsx) the sheet's cells, every row
    grids: dict[int, pl.DataFrame] = field(default_factory=dict)  # header index -> cells from it down

    def grid(self, choose: Chooser) -> tuple[pl.DataFrame, int]:
        """The cells from the chosen header row down, and that row's index among the leading rows."""
        index = choose(self.leading) if self.leading else 0
        if index not in self.grids:
            if self.workbook is not None:
                grid = self.workbook.slice(index)
            else:
                grid = _parse_csv(self.text, self.starts[index] if self.starts else 0, self.encoding)
            if grid.height == 0 or grid.width == 0:
                raise FileRefused("文件为空，没有表头和数据。")
            self.grids[index] = grid
        return self.grids[index], index


UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Bytes no text file holds (tab, line feed, form feed and carriage return excepted).
CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20)])
# A file whose first 64 KB are more than 1% such bytes is not text; fewer are a damaged cell,
# rejected with its row (CONTROL_CHARS).
BINARY_SAMPLE = 65536
# The leading part of a CSV parsed in Python to find its header row (a 10,000-column header is 88 KB).
HEAD_BYTES = 1 << 20
# A line that decodes as UTF-8 to Chinese text and nothing odd is UTF-8, not GBK bytes that
# happen to be valid UTF-8 (those decode to Cyrillic, Greek and the like: 一为 → һΪ).
_CHINESE = r"[\u4e00-\u9fff]"
_NOT_CHINESE_TEXT = r"[^\x00-\x7f\u00b7\u2000-\u206f\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]"
# A high byte alone between ASCII bytes is a Western (Latin-1, cp1252) letter such as the ü of
# Müller: GBK decodes it, with the next letter, into a rare ideograph, but real GBK text has its
# high bytes in pairs. Bytes are mapped to their shape (a = ASCII, H = high) to find them.
_BYTE_SHAPE = bytes.maketrans(bytes(range(256)), b"a" * 0x80 + b"H" * 0x80)
# A file that is not UTF-8 is examined this many bytes (and the rest of a line) at a time.
ENCODING_CHUNK = 8 << 20
RESAVE = "请把整个文件在 Excel 中“另存为 CSV UTF-8”后重试。"


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _utf16_text(sample: bytes) -> bool:
    """A UTF-16 text file (Excel's "Unicode text"): it decodes, with ordinary separators."""
    try:
        text = sample[:len(sample) & ~1].decode("utf-16")
    except UnicodeDecodeError:
        return False
    return any(separator in text for separator in "\t,\n")


def _utf16_without_bom(sample: bytes) -> bool:
    """UTF-16 saved without its byte-order mark: a NUL beside every ASCII separator, and text
    (not binary) once decoded so."""
    for codec, marks in (("utf-16-le", (b",\x00", b"\n\x00", b"\t\x00")), ("utf-16-be", (b"\x00,", b"\x00\n", b"\x00\t"))):
        if any(mark in sample for mark in marks) and sample.count(0) * 10 > len(sample):
            try:
                text = sample[:len(sample) & ~1].decode(codec)
            except UnicodeDecodeError:
                continue
            controls = sum(1 for char in text if char < " " and char not in "\t\n\r")
            if controls * 100 <= len(text) and ("," in text or "\t" in text):
                return True
    return False


def _refuse_binary(data: bytes) -> None:
    sample = data[:BINARY_SAMPLE]
    if (data.startswith(UTF16_BOMS) and _utf16_text(sample)) or _utf16_without_bom(sample):
        raise FileRefused("文件是 UTF-16 编码(Excel“Unicode 文本”)，无法读取。" + RESAVE)
    controls = len(sample) - len(sample.translate(None, CONTROL_BYTES))
    if controls * 100 > len(sample):
        raise FileRefused("文件不是文本格式的 CSV(含有二进制内容)，可能是改了扩展名的其他文件。")


@dataclass
class _Lines:
    """What the lines of a file that is not all UTF-8 are (line numbers from 1)."""
    not_utf8: int = 0
    utf8: int = 0  # lines that decode as UTF-8 to Chinese text
    first_not_utf8: int | None = None
    first_utf8: int | None = None
    lone: int = 0  # high bytes alone between ASCII bytes, and all high bytes
    high: int = 0
    first_lone: int | None = None


def _lines(data: bytes) -> _Lines:
    """Count the kinds of line, a few MB at a time (a decoded copy of the whole file would cost
    more than the file)."""
    found, pos, line = _Lines(), 0, 1
    while pos < len(data):
        end = data.find(b"\n", pos + ENCODING_CHUNK)
        end = len(data) if end < 0 else end + 1
        chunk = data[pos:end]
        lines = pl.Series([chunk.decode("utf-8", "replace")]).str.split("\n").explode()
        not_utf8 = lines.str.contains("\ufffd", literal=True)
        utf8 = ~not_utf8 & lines.str.contains(_CHINESE) & ~lines.str.contains(_NOT_CHINESE_TEXT)
        if found.first_not_utf8 is None and not_utf8.any():
            found.first_not_utf8 = line + int(not_utf8.arg_true()[0])
        if found.first_utf8 is None and utf8.any():
            found.first_utf8 = line + int(utf8.arg_true()[0])
        found.not_utf8 += int(not_utf8.sum())
        found.utf8 += int(utf8.sum())
        shape = chunk.translate(_BYTE_SHAPE)
        lone = shape.count(b"aHa")
        if found.first_lone is None and lone:
            found.first_lone = _line_of(chunk, shape.find(b"aHa") + 1) + line - 1
        found.lone += lone
        found.high += shape.count(b"H")
        line += chunk.count(b"\n")
        pos = end
    return found


_CJK_ONLY = re.compile(r"[\x00-\x7f\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]*")


def _gbk_in_disguise(data: bytes, header_line: int) -> int | None:
    """The first line from the header (`header_line` lines from the top) down of a UTF-8 file that
    is GBK bytes which happen to be valid UTF-8, or None. (Title lines above the header are not
    read into any table.)

    Such a line reads as Latin, IPA, Greek or Cyrillic letters (漏水 → ©ˮ), some of them beyond
    Latin-1, and holds none of the three-byte characters of Chinese UTF-8; as GBK it reads as
    Chinese. Files without any two-byte UTF-8 character (nearly every Chinese extract) are passed
    by one scan of the bytes. Not found: a GBK line whose characters all read as Latin-1 letters
    (their first byte C2 or C3, one character in thirty).
    """
    # A lead byte of a two-byte character (0xC2–0xDF), found by numpy (a regex over the bytes
    # takes ten times as long: 1.7 s for 170 MB).
    pos = _line_offset(data, header_line)
    if not ((np.frombuffer(data, np.uint8, offset=pos) - np.uint8(0xC2)) < 0xE0 - 0xC2).any():
        return None
    line = header_line + 1
    while pos < len(data):
        end = data.find(b"\n", pos + ENCODING_CHUNK)
        end = len(data) if end < 0 else end + 1
        chunk = data[pos:end]
        lines = pl.Series([chunk.decode("utf-8", "replace")]).str.split("\n").explode()
        # (Latin-1 letters alone are Western text, as in the NYC 311 export's Â and no-break spaces.)
        odd = lines.str.contains(r"[\u0100-\u07ff]") & ~lines.str.contains(r"[\u0800-\U0010ffff]")
        for index in odd.arg_true().to_list():
            try:
                as_gbk = lines[index].encode("utf-8").decode("gb18030")
            except UnicodeDecodeError:
                continue
            if _CJK_ONLY.fullmatch(as_gbk):
                return line + index
        line += chunk.count(b"\n")
        pos = end
    return None


def _as_gb18030(data: bytes) -> str:
    """A file that is not UTF-8, as text decoded from GB18030 (GBK), or FileRefused naming the first
    line that does not fit: a UTF-8 file with some other lines, a GBK file with some UTF-8 lines,
    or a file in neither (Latin-1). One encoding per file: no line is ever decoded as mojibake.

    GB18030 decodes almost any bytes, so "it decodes" proves little; the lines decide. If most
    non-ASCII lines are valid UTF-8 Chinese, the file is UTF-8 and the first line that is not is
    named; if some are among GBK lines, the first such line is named.
    """
    found = _lines(data)
    if found.not_utf8 and (data.startswith(UTF8_BOM) or found.utf8 >= found.not_utf8):
        raise FileRefused(f"第 {found.first_not_utf8} 行不是 UTF-8 编码，文件可能混合了两种编码"
                          f"(共 {found.not_utf8} 行不是 UTF-8，其余各行是 UTF-8)。" + RESAVE)
    if found.utf8:
        raise FileRefused(f"第 {found.first_utf8} 行是 UTF-8 编码，而文件其余各行是 GBK(GB18030) 编码，"
                          f"文件可能混合了两种编码(共 {found.utf8} 行是 UTF-8)。" + RESAVE)
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise FileRefused(f"第 {_line_of(data, exc.start)} 行既不是 UTF-8 也不是 GBK(GB18030) 编码，无法识别文件编码。"
                          + RESAVE) from exc
    if found.lone and found.lone * 8 > found.high:  # a quarter of GBK's characters (2 bytes each) or more
        raise FileRefused(f"第 {found.first_lone} 行既不是 UTF-8 也不是 GBK(GB18030) 编码"
                          "(看起来是 Latin-1 等西文编码)，无法识别文件编码。" + RESAVE)
    return text


def _leading_rows(head: str) -> tuple[list[list[str]], list[int]]:
    """The first HEADER_SEARCH_ROWS records of a CSV's head, and the line (0-based) each starts on."""
    reader = csv.reader(io.StringIO(head))
    rows, starts, line = [], [], 0
    try:
        for record in itertools.islice(reader, HEADER_SEARCH_ROWS):
            rows.append(record)
            starts.append(line)
            line = reader.line_num
    except csv.Error:  # a cell past the csv module's size limit: the rows read so far will do
        pass
    return rows, starts


def _line_offset(data: bytes, lines: int) -> int:
    offset = 0
    for _ in range(lines):
        offset = data.index(b"\n", offset) + 1
    return offset


class _NotUtf8(Exception):
    pass


def _parse_csv(data: bytes, skip: int, encoding: str) -> pl.DataFrame:
    """The cells from line `skip` (the header line) down; _NotUtf8 if a UTF-8 file is not.

    Polars reads from the header line, so that the header sets the width: a title line above it
    would otherwise cut every row to one cell.
    """
    try:
        data[:_line_offset(data, skip)].decode("utf-8")  # the lines above the header are UTF-8 too
        try:
            return pl.read_csv(io.BytesIO(data), has_header=False, infer_schema=False, encoding="utf8",
                               skip_lines=skip, truncate_ragged_lines=False, raise_if_empty=False)
        except pl.exceptions.ComputeError as exc:
            if "more fields than defined" not in str(exc):
                raise
            return _parse_wide_csv(data, skip)
    except UnicodeDecodeError as exc:
        raise _NotUtf8 from exc
    except pl.exceptions.ComputeError as exc:
        if "utf-8" in str(exc).lower() and encoding == "utf-8":
            raise _NotUtf8 from exc
        raise FileRefused(_unparsable(data, str(exc))) from exc


def _parse_wide_csv(data: bytes, skip: int) -> pl.DataFrame:
    """A CSV some of whose rows hold more cells than its header (polars would drop them): read
    in Python, the cells past the header's width joined in one more column headed OVERFLOW_HEADER.
    Only such files pay for it."""
    rows = list(csv.reader(io.StringIO(data[_line_offset(data, skip):].decode("utf-8"), newline="")))
    width = len(rows[0])
    columns = [[row[i] if i < len(row) else None for row in rows] for i in range(width)]
    columns.append([OVERFLOW_HEADER] + [",".join(row[width:]) if any(cell.strip() for cell in row[width:]) else None
                                        for row in rows[1:]])
    return pl.DataFrame({f"column_{i}": cells for i, cells in enumerate(columns)}, schema_overrides={
        f"column_{i}": pl.String for i in range(width + 1)})


def _unparsable(data: bytes, error: str) -> str:
    """Where the CSV parser stopped, in Chinese: the line and column, never the cell itself (it
    may hold a phone number) nor the parser's English advice."""
    cell = re.search(r"could not parse `(.*?)` as dtype", error, re.S)
    column = re.search(r"\(column number (\d+)\)", error)
    found = data.find(cell.group(1).encode("utf-8")) if cell and cell.group(1) else -1
    where = (f"第 {_line_of(data, found)} 行" if found >= 0 else "") + (f"第 {column.group(1)} 列" if column else "")
    return (f"无法按 CSV 格式读取文件：{where or '文件中'}有不成对的引号(一格内容以引号开头却没有以引号结束，"
            "或引号之后还有内容)。" + RESAVE)


def _csv_decoded(data: bytes, encoding: str, choose: Chooser) -> Decoded:
    rows, starts = _leading_rows(data[:HEAD_BYTES].decode("utf-8", "replace").removeprefix("\ufeff"))
    decoded = Decoded("", len(data), encoding, rows, starts, data)
    decoded.grid(choose)  # the first parse is what tells whether the text is UTF-8
    return decoded


def _decode_csv(data: bytes, choose: Chooser) -> Decoded:
    """A CSV decoded as UTF-8 (BOM or not), else GB18030, with its cells from the header down.

    UTF-8 is checked by polars itself while it reads (no Python string of the whole file, which
    would cost 2–4 bytes a character); only a file that is not UTF-8 is decoded in Python.
    """
    _refuse_binary(data)
    if b"\r" in data and b"\n" not in data:
        # Old Mac exports end lines with a lone CR, which the reader won't split on. In a file with
        # line feeds, a lone CR is text inside a cell (README: carriage return is ordinary text).
        data = data.replace(b"\r", b"\n")
    if not data or data.isspace():  # (strip() would copy the whole file)
        raise FileRefused("文件为空。")
    try:
        decoded = _csv_decoded(data, "utf-8", choose)
    except _NotUtf8:
        return _csv_decoded(_as_gb18030(data).encode("utf-8"), "gb18030", choose)
    _, header = decoded.grid(choose)
    if (line := _gbk_in_disguise(data, decoded.starts[header] if decoded.starts else 0)) is not None:
        raise FileRefused(f"第 {line} 行看起来是 GBK(GB18030) 编码的中文，而文件其余各行是 UTF-8 编码，"
                          "文件可能混合了两种编码(按 UTF-8 读，这一行会变成乱码)。" + RESAVE)
    return decoded


def _check_workbook(data: bytes) -> None:
    """Refuse a workbook whose parts would expand past the size limit (a zip bomb) before any
    reader inflates it: declared sizes first, then the real inflated bytes, counted as they come."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise FileRefused(f"无法读取 Excel 文件(可能已损坏)：{exc}") from exc
    limit = max_expanded_bytes()
    if sum(m.file_size for m in members) > limit:
        raise FileRefused(f"Excel 文件解压后超过 {limit // 1048576} MB，已拒绝(可能是压缩炸弹或数据过大，"
                          "请拆分或另存为 CSV)。")
    budget = limit
    for member in members:
        try:
            with archive.open(member) as part:
                while chunk := part.read(1 << 20):
                    budget -= len(chunk)
                    if budget < 0:
                        raise FileRefused(f"Excel 文件解压后超过 {limit // 1048576} MB，已拒绝"
                                          "(文件声明的大小与实际不符)。")
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            raise FileRefused(f"无法读取 Excel 文件(可能已损坏)：{exc}") from exc


def _grid_from_xlsx(data: bytes, sheet: str | None) -> pl.DataFrame:
    _check_workbook(data)
    try:
        sheet = sheet or _data_sheet(data)
        # Leading and inner empty rows are kept, so that row numbers are Excel's own.
        loaded = fastexcel.read_excel(data).load_sheet(sheet, header_row=None, dtypes="string", skip_rows=0)
        # calamine reads an error cell as empty and tells where it was: the cell gets its code back.
        cells, errors = loaded.to_arrow_with_errors()
        grid = pl.DataFrame(cells)
        grid.columns = [f"column_{i}" for i in range(grid.width)]
        return _with_error_codes(grid, errors.errors if errors else [])
    except FileRefused:
        raise
    except Exception as exc:  # fastexcel raises its own error types for broken workbooks
        raise FileRefused(f"无法读取 Excel 文件(可能已损坏或没有数据工作表)：{exc}") from exc


# calamine's names of Excel's error values (CellError.detail: "Expected string but got 'Error(NA)'").
_CALAMINE_ERRORS = {"Div0": "#DIV/0!", "NA": "#N/A", "Name": "#NAME?", "Null": "#NULL!", "Num": "#NUM!",
                    "Ref": "#REF!", "Value": "#VALUE!", "GettingData": "#GETTING_DATA"}
_CALAMINE_ERROR = re.compile(r"Error\((\w+)\)")


def _with_error_codes(grid: pl.DataFrame, errors) -> pl.DataFrame:
    """The grid with each error cell holding its Excel code (an error calamine has no name for:
    #N/A, the code for "no value")."""
    by_column: dict[int, tuple[list[int], list[str]]] = {}
    for error in errors:
        named = _CALAMINE_ERROR.search(error.detail)
        if named is None:  # not an error value: a cell that is not text (none: every cell is read as text)
            continue
        row, column = error.position
        rows, codes = by_column.setdefault(column, ([], []))
        rows.append(row)
        codes.append(_CALAMINE_ERRORS.get(named.group(1), "#N/A"))
    return grid.with_columns(grid.get_column(grid.columns[column]).scatter(rows, codes)
                             for column, (rows, codes) in by_column.items())


def _data_sheet(data: bytes) -> str:
    """The one sheet of a workbook whose rows look like an extract (a row among its first ones
    names some kind's required columns; a 填表说明 sheet does not), else the first. A workbook with
    several such sheets is refused, naming them: reading one alone would drop the others' rows
    unseen (monthly sheets 1月, 2月 …)."""
    reader = fastexcel.read_excel(data)
    names = reader.sheet_names
    if len(names) == 1:
        return names[0]

    def extract(name: str) -> bool:
        rows = reader.load_sheet(name, header_row=None, dtypes="string", n_rows=HEADER_SEARCH_ROWS, eager=True)
        return any(guess_kind([str(cell) for cell in row if cell is not None]) for row in zip(*rows.to_pydict().values()))

    extracts = [name for name in names if extract(name)]
    if len(extracts) > 1:
        listed = "、".join(f"“{name}”" for name in extracts)
        raise FileRefused(f"工作簿中有 {len(extracts)} 个数据工作表({listed})，一次只能导入一个，否则其余工作表的数据"
                          "会被漏掉；请把每个工作表另存为单独的 Excel 或 CSV 文件后分别导入。")
    return extracts[0] if extracts else names[0]


def chooser(kind_name: str | None, mapping: Mapping | None) -> Chooser:
    """How the header row is found among the leading rows: the first naming the most columns of
    the kind (of any kind, without one) or of the mapping; failing that, the first of the
    fullest rows (a title row above the header has fewer cells)."""
    kinds = [KINDS[kind_name]] if kind_name is not None else list(KINDS.values())
    search = {alias: name for kind in kinds for alias, name in kind.aliases().items()} | _explicit(mapping)

    def choose(leading: list[list[str | None]]) -> int:
        hits = [sum(1 for cell in row if cell is not None and normalise_header(cell) in search) for row in leading]
        if max(hits):
            return hits.index(max(hits))
        filled = [sum(1 for cell in row if cell is not None and str(cell).strip()) for row in leading]
        return filled.index(max(filled))

    return choose


def _trimmed(text: pl.Expr) -> pl.Expr:
    return text.str.strip_chars().replace("", None)


def _translated(text: pl.Expr, table: dict[str, str] | None) -> pl.Expr:
    return text.replace(table) if table else text


def guess_kind(headers: list[str]) -> str | None:
    """The kind whose required columns these headers cover best, or None if none is covered."""
    normalised = {normalise_header(h) for h in headers}
    best, best_score = None, 0.0
    for kind in KINDS.values():
        aliases = kind.aliases()
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
    limit = max_file_bytes()
    if data is None:
        size = path.stat().st_size
        if size > limit:
            raise FileRefused(f"文件过大({size / 1048576:.0f} MB)，上限为 {limit // 1048576} MB。")
        data = path.read_bytes()
    if not data:
        raise FileRefused("文件为空。")
    if len(data) > limit:
        raise FileRefused(f"文件过大({len(data) / 1048576:.0f} MB)，上限为 {limit // 1048576} MB。")
    return data


def decode(path: Path, *, data: bytes | None = None, sheet: str | None = None,
           choose: Chooser | None = None) -> Decoded:
    """Read and decode a file once (`data` when it is not on disk; the first sheet of a workbook
    unless `sheet`), its cells from the header row `choose` picks (the row naming the most
    contract columns of any kind by default) parsed at once. FileRefused if unreadable."""
    data = _file_bytes(Path(path), data)
    # hashlib releases the GIL: the file is hashed while polars parses it.
    hashing = _HASHER.submit(lambda: hashlib.sha256(data).hexdigest())
    choose = choose or chooser(None, None)
    if data.startswith(ZIP_MAGIC):
        workbook = _grid_from_xlsx(data, sheet)
        leading = [list(row) for row in workbook.head(HEADER_SEARCH_ROWS).iter_rows()]
        decoded = Decoded("", len(data), "xlsx", leading, workbook=workbook)
        decoded.grid(choose)
    elif data.startswith(OLE_MAGIC):
        raise FileRefused("这是旧版 Excel(.xls)文件，请在 Excel 中另存为 .xlsx 或 CSV 后再导入。")
    else:
        decoded = _decode_csv(data, choose)
    decoded.file_hash, decoded.size = hashing.result(), len(data)
    return decoded


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
    # A second column for a field already read (工单编号 twice, 登记时间 beside 受理时间) is named as
    # such: "unknown" would be wrong, and its values are not read.
    def field(header: str) -> str | None:
        normalised = normalise_header(header)
        return explicit.get(normalised) or aliases.get(normalised)

    ignored = [f"{h}(与已读取的列重复)" if field(h) in columns else h for s, h in zip(grid.columns, header_cells)
               if h.strip() and h != OVERFLOW_HEADER and s not in columns.values()]
    return columns, headers, ignored


def _outside(grid: pl.DataFrame, header_cells: list[str]) -> pl.Expr | None:
    """A row's cells past the header's width (see OVERFLOW), or None when no row has any."""
    sources = [s for s, h in zip(grid.columns, header_cells) if h == OVERFLOW_HEADER]
    return _trimmed(pl.col(sources[0])).alias(OVERFLOW) if sources else None


def _header_problem(header_cells: list[str], header_index: int) -> None:
    if any(CONTROL_CHARS.search(cell) for cell in header_cells):
        raise FileRefused(f"表头(第 {header_index + 1} 行)含有控制字符，文件可能已损坏。")


def _footer_rows(grid: pl.DataFrame, header_cells: list[str], required: list[str] = ()) -> int:
    """How many rows at the end of the grid are notes below the data (a 合计 or 制表人 line of a
    government export) and blank lines around them: rows whose first cell starts with one of the
    footer words of data/reference.toml and that fill at most half the header's columns, but not
    every `required` column of the grid (a record whose first cell, 说明解释工作, reads like a note)."""
    words = tuple(intake_settings()["footer_words"])
    room = max(1, sum(1 for cell in header_cells if cell.strip()) // 2)
    positions = [grid.columns.index(source) for source in required]
    notes, count = 0, 0
    for row in reversed(grid.tail(FOOTER_SEARCH_ROWS).rows()):
        cells = [str(cell).strip() for cell in row if cell is not None and str(cell).strip()]
        record = bool(positions) and all(row[i] is not None and str(row[i]).strip() for i in positions)
        if cells and (record or not (cells[0].startswith(words) and len(cells) <= room)):
            break
        count += 1
        notes += bool(cells)
    return count if notes else 0


def read_file(path: Path, kind_name: str, *, sheet: str | None = None, data: bytes | None = None,
              mapping: Mapping | None = None) -> RawFile:
    """Decode and read one extract as the given kind (see read)."""
    return read(decode(path, data=data, sheet=sheet, choose=chooser(kind_name, mapping)), kind_name, mapping)


def read(decoded: Decoded, kind_name: str, mapping: Mapping | None = None) -> RawFile:
    """A decoded file read as the given kind, or FileRefused for the whole file.

    With a mapping, its columns name the file's headers explicitly (before the contract's
    aliases), its fixed values fill whole columns and its value tables translate values.
    """
    kind = KINDS[kind_name]
    aliases = kind.aliases()
    explicit = _explicit(mapping)
    fixed = dict(mapping.fixed) if mapping else {}
    grid, header_index = decoded.grid(chooser(kind_name, mapping))

    header_cells = _cells(grid, 0)
    _header_problem(header_cells, header_index)
    columns, headers, ignored = _match_columns(grid, header_cells, explicit, aliases, fixed)

    missing = _missing_columns(kind, set(columns) | set(fixed))
    if missing:
        message = f"不是有效的“{kind.label}”文件：缺少必需列 " + "、".join(missing) + "。"
        if any("\t" in cell for cell in header_cells):
            message += " 表头各列以制表符(Tab)分隔，这不是逗号分隔的 CSV；" + RESAVE
        other = guess_kind(header_cells)
        if other and other != kind.name:
            message += f" 这个文件看起来是“{KINDS[other].label}”({other})。"
        raise FileRefused(message)

    translations = {name: table for name, table in (mapping.values if mapping else {}).items() if name in columns}
    outside = _outside(grid, header_cells)
    kept = [*columns, *([OVERFLOW] if outside is not None else [])]
    # Values are trimmed, and an empty cell is null, once here: the validator and the rejected
    # rows' raw values both see these. Rows with nothing in any contract column are spacing.
    frame = (
        grid.lazy()
        .slice(1, grid.height - 1 - _footer_rows(grid, header_cells,
                                                 [columns[c.name] for c in kind.columns if c.required and c.name in columns]))
        .with_row_index(ROW, offset=header_index + 2)
        .select(
            pl.col(ROW).cast(pl.Int64),
            *[_trimmed(pl.col(source).cast(pl.String)).alias(name) for name, source in columns.items()],
            *([outside] if outside is not None else []),
        )
        .filter(pl.any_horizontal([pl.col(name).is_not_null() for name in kept]))
        # The value as in the file stays beside a translated one, for the rejected rows.
        .with_columns(*[pl.col(name).alias(f"{FILE_VALUE}{name}") for name in translations],
                      *[_translated(pl.col(name), table) for name, table in translations.items()])
        .collect()
    )
    if frame.height == 0:
        raise FileRefused("文件只有表头，没有数据行。")
    for name, value in fixed.items():
        frame = frame.with_columns(pl.lit(value, pl.String).alias(name))
    return RawFile(kind, frame, decoded.file_hash, decoded.encoding, headers, ignored, fixed,
                   mapped=mapping is not None, header_row=header_index + 1)


@dataclass
class Preview:
    """A file's header row and first rows as they will be read, without requiring the contract's
    columns (for the data desk's preview and its column mapping)."""
    headers: list[str]  # the header row's cells as in the file ("" for an empty cell)
    rows: pl.DataFrame  # the first data rows, as text, under the headers (made unique for display)
    encoding: str  # "utf-8", "gb18030" or "xlsx"
    file_hash: str
    header_row: int  # the header row's number as Excel shows it (1 unless a title row precedes it)
    data_rows: int  # rows under the header row, blank ones included, notes below the data not
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


def preview(decoded: Decoded, kind_name: str | None = None, mapping: Mapping | None = None,
            rows: int = 10) -> Preview:
    """The header row and first rows of a decoded file, found as read finds them.

    Unlike read it does not require the contract's columns. With a kind, it also tells which
    contract column each header would be read as (the mapping's choice first, then the
    contract's headers) and which required columns are missing.
    """
    grid, header_index = decoded.grid(chooser(kind_name, mapping))
    header_cells = _cells(grid, 0)
    _header_problem(header_cells, header_index)

    body = grid.slice(1, grid.height - 1 - _footer_rows(grid, header_cells))
    shown = body.head(rows)
    shown.columns = _display_names(header_cells)
    result = Preview(headers=header_cells, rows=shown, encoding=decoded.encoding, file_hash=decoded.file_hash,
                     header_row=header_index + 1, data_rows=body.height)
    if kind_name is not None:
        fixed = dict(mapping.fixed) if mapping else {}
        columns, headers, ignored = _match_columns(grid, header_cells, _explicit(mapping),
                                                   KINDS[kind_name].aliases(), fixed)
        result.columns, result.fixed, result.ignored_columns = headers, fixed, ignored
        result.missing = _missing_columns(KINDS[kind_name], set(columns) | set(fixed))
    return result
