"""The written forms the detector of safety.masking must mask, and the look-alikes it must leave.

Run as a script it prints the detector's precision and recall on this corpus (the README quotes
them): `python tests/privacy_corpus.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Phone and ID numbers as people type them into any field. Each entry is a whole field value;
# after masking, not one digit of the number may remain.
MUST_MASK = [
    # Mobiles
    "13812345678",
    "电话13812345678请回电",
    "138-1234-5678",
    "138 1234 5678",
    "1380 0138 000",
    "1 3 8 0 0 1 3 8 0 0 0",
    "138.0013.8000",
    "138/0013/8000",
    "138—0013—8000",
    "138–0013–8000",
    "138——0013——8000",
    "138－0013－8000",
    "138 - 0013 - 8000",
    "138 —— 0013 —— 8000",
    "１３８００１３８０００",
    "１３８－００１３－８０００",
    "手机：１３８ ００１３ ８０００",
    "tel13700137000",
    "Tel:13700137000",
    "TEL 137-0013-7000",
    "phone: 13700137000",
    "mobile13700137000",
    "+8613812345678",
    "+86 138 1234 5678",
    "+86-138-1234-5678",
    "(+86)13812345678",
    "（＋８６）１３８１２３４５６７８",
    "008613812345678",
    "0086 138 1234 5678",
    "8613812345678",
    "联系人王先生13812345678转21",
    "17766668888",
    "19912345678",
    "请回拨15022223333。",
    "138_0013_8000",
    "138 1111-2222",
    "138 - 1111 2222",
    "138·1111·4444",
    "138・1111・4444",
    "138，1111，6666",
    "138、1111、6666",
    "138*1111*6666",
    "电话\n138\n1111\n3333",
    "138    1111    2222",
    "(138)12345678",
    "（138）1234-5678",
    "联系人_13811115555",
    "诉求工单_13822225555.csv",
    # Landlines with area code
    "0535-5651234",
    "tel05355651234",
    "固话：0535 565 1234",
    "0535 1234567",
    "(0535)1234567",
    "（0535）1234567",
    "(0535) 565-1234",
    "05351234567",
    "0535－1234567",
    "０５３５－５６５１２３４",
    "0535—5651234",
    "0535.5651234",
    "0535/5651234",
    "010-12345678",
    "021 8765 4321",
    "0535-5651234转8021",
    "0535-5651234 ext 21",
    "0535-5651234-8021",
    "+86 535 5651234",
    "+86(535)5651234",
    "0086-535-5651234",
    "+860535-5651234",
    # Landlines without area code
    "电话5651234",
    "座机：565 1234",
    "联系电话 56512345",
    "565-1234",
    "5651-2345",
    "回电 6543210",
    # ID numbers
    "370684199001011234",
    "11010119900307123X",
    "11010119900307123x",
    "身份证11010119900307123X的业主",
    "370684 19900101 123X",
    "370684-19900101-123X",
    "370684 1990 0101 123X",
    "３７０６８４１９９００１０１１２３Ｘ",
    "370684900101123",
    "老身份证号370684900101123",
    "ID370684199001011234",
    "身份证号：370684.19900101.1234",
]

# Values that look numeric but carry no personal data; they must come out exactly as they went in.
MUST_SURVIVE = [
    "GD2026030100123",
    "工单A13812345678已派",
    "单号WO_13812345678",
    "B00012345",
    "20260301000123",
    "2026-03-01 13:45:00",
    "2026/03/01 09:30",
    "2026.03.01",
    "2026年3月1日 14时05分",
    "20260301",
    "2026-03-01T09:00:00",
    "13:45:30",
    "金额12,345,678.90元",
    "维修费 2500000 元",
    "补贴3000-5000元",
    "2025-2026学年",
    "2000-3000平方米",
    "3号楼2单元501",
    "12-3-501",
    "5栋1单元1201室",
    "邮编265600",
    "265600",
    "C0001",
    "PL-0012",
    "370684-001",
    "370684001",
    "经纬度 120.7584, 37.8123",
    "路灯不亮，共3盏",
    "13.5 14.2 15.1 16.8",
    "12345热线",
    "e网通扫码",
    "第2026030号通知",
    "共1234567人次",
    "版本v1.3.8",
    "GB/T 19001-2016",
    "1,3,5,7,9,11,13,15",
    "面积150，2000，3000平方米",
    "13:45:30-14:20:10",
    "2026-03-01 13:45, 2026-03-02 14:20",
]


def measure() -> tuple[float, float, list[str], list[str]]:
    """Precision and recall of safety.masking on the corpus, and the values it got wrong."""
    import polars as pl

    from safety.masking import mask_column

    masked = mask_column(pl.Series(MUST_MASK + MUST_SURVIVE, dtype=pl.String)).to_list()
    on_mask, on_survive = masked[:len(MUST_MASK)], masked[len(MUST_MASK):]
    missed = [text for text, out in zip(MUST_MASK, on_mask) if leaked_digits(out)]
    spoilt = [text for text, out in zip(MUST_SURVIVE, on_survive) if out != text]
    found = len(MUST_MASK) - len(missed)
    precision = found / (found + len(spoilt)) if found + len(spoilt) else 1.0
    return precision, found / len(MUST_MASK), missed, spoilt


def leaked_digits(masked: str) -> bool:
    """Whether a masked value still holds a run of five digits (ignoring separators) of the number."""
    import unicodedata

    digits = "".join(c for c in unicodedata.normalize("NFKC", masked) if c.isdigit() or c in "Xx")
    # The extension ("转21") may stay; the number itself may not.
    return sum(c.isdigit() for c in digits) >= 5


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    p, r, missed, spoilt = measure()
    print(f"{len(MUST_MASK)} forms to mask, {len(MUST_SURVIVE)} look-alikes: precision {p:.1%}, recall {r:.1%}")
    for text in missed:
        print("  not masked:", text)
    for text in spoilt:
        print("  wrongly changed:", text)
