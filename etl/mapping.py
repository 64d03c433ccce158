"""Column mappings: how an extract whose headers are not the contract's becomes a contract file
(a small TOML file in data/mappings/, described in data/mappings/README.md).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from etl.contract import KINDS, normalise_header
from settings import DATA_DIR

MAPPINGS_DIR = DATA_DIR / "mappings"
NAME = re.compile(r"^[\w\-\u4e00-\u9fff]{1,64}$")


class MappingError(ValueError):
    """A mapping file that cannot be used; the message is in Chinese."""


@dataclass
class Mapping:
    kind: str
    columns: dict[str, str] = field(default_factory=dict)
    fixed: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    headers: list[str] = field(default_factory=list)
    description: str = ""
    name: str = ""

    def check(self) -> None:
        if self.kind not in KINDS:
            raise MappingError(f"映射中的文件种类未知：{self.kind}")
        known = {c.name for c in KINDS[self.kind].columns}
        unknown = (set(self.columns) | set(self.fixed) | set(self.values)) - known
        if unknown:
            raise MappingError(f"映射中有“{KINDS[self.kind].label}”没有的字段：{'、'.join(sorted(unknown))}")

    def as_toml(self) -> dict:
        data = {"kind": self.kind, "description": self.description, "headers": self.headers,
                "columns": self.columns, "fixed": self.fixed, "values": self.values}
        return {k: v for k, v in data.items() if v not in ("", [], {})}


def mapping_dir() -> Path:
    return MAPPINGS_DIR


def load_mapping(name_or_path: str | Path) -> Mapping:
    """A saved mapping by name (data/mappings/NAME.toml) or by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = mapping_dir() / f"{name_or_path}.toml"
    if not path.exists():
        raise MappingError(f"找不到列映射：{name_or_path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingError(f"列映射文件格式有误({path.name})：{exc}") from exc
    try:
        mapping = Mapping(
            kind=str(data.get("kind", "")),
            columns={str(k): str(v) for k, v in data.get("columns", {}).items()},
            fixed={str(k): str(v) for k, v in data.get("fixed", {}).items()},
            values={str(k): {str(a): str(b) for a, b in v.items()} for k, v in data.get("values", {}).items()},
            headers=[str(h) for h in data.get("headers", [])],
            description=str(data.get("description", "")),
            name=path.stem,
        )
    except (AttributeError, TypeError) as exc:  # e.g. `columns = 5` where a table belongs
        raise MappingError(f"列映射文件结构有误({path.name})：columns、fixed、values 应为表，headers 应为列表") from exc
    mapping.check()
    return mapping


def save_mapping(name: str, mapping: Mapping, folder: Path | None = None) -> Path:
    if not NAME.match(name or ""):
        raise MappingError("映射名称只能包含中文、字母、数字、下划线和连字符(最多 64 个字符)。")
    mapping.check()
    folder = folder or mapping_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(tomli_w.dumps(mapping.as_toml()), encoding="utf-8")
    mapping.name = name
    return path


def saved_mappings(folder: Path | None = None) -> list[Mapping]:
    folder = folder or mapping_dir()
    found = []
    for path in sorted(folder.glob("*.toml")):
        try:
            found.append(load_mapping(path))
        except MappingError:
            continue  # a broken file is not offered; loading it by name says what is wrong
    return found


def matching_mappings(headers: list[str], kind: str | None = None, folder: Path | None = None) -> list[Mapping]:
    """Saved mappings made for files with these headers (all their headers are present)."""
    present = {normalise_header(h) for h in headers}
    return [m for m in saved_mappings(folder)
            if m.headers and (kind is None or m.kind == kind)
            and {normalise_header(h) for h in m.headers} <= present]
