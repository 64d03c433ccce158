"""Masking of personal data in free text: the rules, and the fast column path agreeing with them."""

from __future__ import annotations

import polars as pl
import pytest

from etl.privacy import mask_column, mask_text

ID, PHONE, NAME = "[身份证号已隐去]", "[电话已隐去]", "[姓名已隐去]"

CASES = [
    # (text, caller's name, stored text)
    ("电话13812345678请回电", None, f"电话{PHONE}请回电"),
    ("13812345678", None, PHONE),
    ("联系139-0000-1111或0535-5651234", None, f"联系{PHONE}或{PHONE}"),
    ("电话+86 150 2222 3333", None, f"电话+{PHONE}"),
    ("身份证11010119900307123X的业主", None, f"身份证{ID}的业主"),
    ("老身份证号370684900101123", None, f"老身份证号{ID}"),
    # Glued to an ASCII letter, digit or "_": an order number, not a phone.
    ("工单A13812345678已派", None, "工单A13812345678已派"),
    ("单号WO_13812345678", None, "单号WO_13812345678"),
    # A longer digit run loses its first 18 digits rather than keep a number that may be an ID.
    ("12345678901234567890", None, f"{ID}90"),
    ("路灯不亮，共3盏", None, "路灯不亮，共3盏"),
    ("欧阳秀英反映楼道灯不亮，欧阳秀英家中无人", "欧阳秀英", f"{NAME}反映楼道灯不亮，{NAME}家中无人"),
    # A one-character "name" would blank out ordinary words.
    ("王大爷家门口路灯坏了", "王", "王大爷家门口路灯坏了"),
    (None, "张三", None),
]


@pytest.mark.parametrize("text, name, expected", CASES)
def test_mask_text(text, name, expected):
    frame = pl.DataFrame({"text": [text], "name": [name]}, schema={"text": pl.String, "name": pl.String})
    assert frame.select(mask_text(pl.col("text"), pl.col("name"))).item() == expected


def test_the_column_path_masks_exactly_as_the_rules_say():
    texts = pl.Series([c[0] for c in CASES] * 50, dtype=pl.String)
    names = pl.Series([c[1] for c in CASES] * 50, dtype=pl.String)
    assert mask_column(texts, names).to_list() == [c[2] for c in CASES] * 50
    without_names = pl.DataFrame({"t": texts}).select(mask_text(pl.col("t"))).to_series()
    assert mask_column(texts).to_list() == without_names.to_list()
