"""Masking of personal data in text: the rules, the corpus of written forms and look-alikes, and
the fast column path agreeing with the expression path."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safety.masking import (_FOLD, ID_MASK, _folding, NAME_MASK, PHONE_MASK, holds_personal_data, key_holds_personal_data,
                            mask_column, mask_identifier, mask_text)
from tests.privacy_corpus import MUST_MASK, MUST_SURVIVE, leaked_digits, measure

ID, PHONE, NAME = ID_MASK, PHONE_MASK, NAME_MASK

CASES = [
    # (text, caller's name, stored text)
    ("电话13812345678请回电", None, f"电话{PHONE}请回电"),
    ("13812345678", None, PHONE),
    ("联系139-0000-1111或0535-5651234", None, f"联系{PHONE}或{PHONE}"),
    ("电话+86 150 2222 3333", None, f"电话{PHONE}"),
    ("身份证11010119900307123X的业主", None, f"身份证{ID}的业主"),
    ("老身份证号370684900101123", None, f"老身份证号{ID}"),
    # Masked text is stored with the characters of numbers folded (full-width digits), Chinese punctuation kept …
    ("手机：１３８００１３８０００，谢谢", None, f"手机：{PHONE}，谢谢"),
    # … text without a number exactly as read.
    ("路灯不亮，共3盏：请处理", None, "路灯不亮，共3盏：请处理"),
    ("座机（0535）5651234转21，找李工", None, f"座机{PHONE}，找李工"),
    # Glued to an ASCII letter, digit or "_": an order number, not a phone.
    ("工单A13812345678已派", None, "工单A13812345678已派"),
    ("单号WO_13812345678", None, "单号WO_13812345678"),
    # A longer digit run shaped like an ID loses its first 18 digits rather than keep them.
    ("37068419900101123456", None, f"{ID}56"),
    ("欧阳秀英反映楼道灯不亮，欧阳秀英家中无人", "欧阳秀英", f"{NAME}反映楼道灯不亮，{NAME}家中无人"),
    ("东城社区欧阳秀英13922223333", "欧阳秀英", f"东城社区{NAME}{PHONE}"),
    # A one-character "name" would blank out ordinary words.
    ("王大爷家门口路灯坏了", "王", "王大爷家门口路灯坏了"),
    # The caller cell as people fill it in: padded or split by spaces, a note in brackets, two callers.
    ("王芳反映楼道灯不亮", "王　芳", f"{NAME}反映楼道灯不亮"),
    ("欧阳娜娜反映楼道灯不亮", "欧阳 娜娜", f"{NAME}反映楼道灯不亮"),
    ("王建国说电梯坏了", "王建国（先生）", f"{NAME}说电梯坏了"),
    ("李秀英和刘洋反映噪音", "刘洋、李秀英", f"{NAME}和{NAME}反映噪音"),
    ("王　芳反映楼道灯不亮", "王　芳", f"{NAME}反映楼道灯不亮"),
    # A mobile in three groups, whatever stands between them; an underscore after Chinese.
    ("电话138 1111-2222请回电", None, f"电话{PHONE}请回电"),
    ("电话\n138\n1111\n3333", None, f"电话\n{PHONE}"),
    ("联系人_13811115555", None, f"联系人_{PHONE}"),
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


def test_a_column_of_few_values_is_masked_like_one_of_many():
    """A category or community column (few distinct values) takes the value-by-value path; the
    result is the same as the row-by-row one."""
    values = ["东城社区", "东城社区13922223333", "张三所在社区", "西城社区", "物业管理"]
    names = ["张三", "李四", "张三", "王五", "张三"]
    texts = pl.Series(values * 400)
    callers = pl.Series(names * 400)
    expected = ["东城社区", f"东城社区{PHONE}", f"{NAME}所在社区", "西城社区", "物业管理"] * 400
    assert mask_column(texts, callers).to_list() == expected
    # The same values, all distinct (suffixes), take the row path.
    unique = pl.Series([f"{v}#{i}" for i, v in enumerate(values * 400)])
    assert [v.split("#")[0] for v in mask_column(unique, callers).to_list()] == expected


@pytest.mark.parametrize("text", MUST_MASK)
def test_every_written_form_is_masked(text):
    masked = mask_column(pl.Series([text])).item()
    assert not leaked_digits(masked), masked


@pytest.mark.parametrize("text", MUST_SURVIVE)
def test_every_look_alike_survives(text):
    assert mask_column(pl.Series([text])).item() == text


def test_the_corpus_is_large_enough_and_fully_right():
    assert len(MUST_MASK) >= 60 and len(MUST_SURVIVE) >= 30
    assert measure() == (1.0, 1.0, [], [])


def test_a_key_holding_personal_data_is_found():
    keys = pl.Series(["B001", "13812345678", "B张三", "GD2026030100123"])
    assert holds_personal_data(keys, pl.Series(["张三"] * 4)).to_list() == [False, True, True, False]


def test_the_folding_covers_every_character_it_would_change():
    """The fold table is built from a few Unicode blocks (scanning every code point at each start
    costs a third of a second): every character anywhere that folds is in it (segmented digits
    U+1FBF0…, tags U+E0020…, U+FFF9 and the other invisible format characters)."""
    everywhere = {char: folded for char in map(chr, range(0xA0, 0x110000)) if (folded := _folding(char)) is not None}
    assert everywhere == _FOLD
    assert pl.select(mask_text(pl.lit("身份证\U0001fbf3\U0001fbf7\U0001fbf0\U0001fbf6\U0001fbf8\U0001fbf4"
                                      "199003071234"))).item() == f"身份证{ID}"
    assert pl.select(mask_text(pl.lit("电话138\U000e00201234\ufff95678"))).item() == f"电话{PHONE}"


TODAY = date(2026, 12, 1)
# (key, whether it holds personal data). A work-order number of region code, day and sequence has
# the shape of an ID number whose holder was born that day: in a key it only counts as an ID number
# if its holder would be old enough (ID_CARD_AGE) to have been issued a card by TODAY.
KEYS = [
    ("370684202611280001", False), ("370684-20261128-0001", False), ("3706842026112800012", False),
    ("NO370684202611280001", False), ("370684201012020001", False), ("370684202602300001", False),
    ("370684201012010001", True),  # 16 today
    ("370684199003071234", True), ("37068419900307123X", True), ("ID110101199003071234", True),
    ("ＩＤ１１０１０１１９９００３０７１２３４", True), ("370684900101123", True),  # 15 digits: born 1990
    ("370684202611280001-13812345678", True), ("370684202611280001张三", True), ("K1", False),
    # A real number after a made-up one, or starting inside it after a separator.
    ("37068420261128 370684199003071234", True), ("37068420261128-13812345678", True),
    ("3706842 13911150001", True), ("370684202611 28370684199003071234", True),
    # Codes of places and very old "birth dates": no living resident's.
    ("370684001001001", False), ("370684180001010001", False),
]


def test_a_key_holds_an_id_number_only_where_a_resident_could_hold_it():
    keys = pl.Series([key for key, _ in KEYS])
    assert key_holds_personal_data(keys, pl.Series(["张三"] * len(KEYS)), TODAY).to_list() == [held for _, held in KEYS]
    # In text every ID-shaped number is masked, work-order numbers included.
    assert pl.select(mask_text(pl.lit("见工单 370684202611280001"))).item() == f"见工单 {ID}"
    # Two numbers side by side: the ID number is masked whole, not the first 18 digits of the two.
    assert pl.select(mask_text(pl.lit("37068420261128 370684199003071234"))).item() == f"37068420261128 {ID}"
    references = pl.Series(["370684202611280001", "370684199003071234", None])
    assert mask_identifier(references, None, TODAY).to_list() == ["370684202611280001", ID, None]


@settings(max_examples=300, deadline=None)
@given(days=st.integers(0, 15 * 365), sequence=st.integers(0, 999_999), width=st.sampled_from([3, 4, 5, 6]),
       separator=st.sampled_from(["", "-", " "]), region=st.sampled_from(["370684", "370600", "110101"]))
def test_work_order_numbers_of_region_day_and_sequence_are_no_id_numbers(days, sequence, width, separator, region):
    day = TODAY - timedelta(days=days)
    key = f"{region}{separator}{day:%Y%m%d}{separator}{sequence % 10 ** width:0{width}d}"
    assert not key_holds_personal_data(pl.Series([key]), None, TODAY).item(), key


@settings(max_examples=300, deadline=None)
@given(born=st.dates(date(1927, 1, 1), date(2009, 11, 30)), sequence=st.integers(0, 999),  # 17 to 99 on TODAY
       check=st.sampled_from("0123456789X"), separator=st.sampled_from(["", "-", " "]),
       before=st.sampled_from(["", "NO.", "ID", "37068420261128 ", "370684202611 28", "A1-", "370684 20261128-"]),
       after=st.sampled_from(["", "01", " 2", "-0001", "号"]))
def test_a_residents_id_number_in_a_key_is_found_however_it_is_wrapped(born, sequence, check, separator, before, after):
    key = f"{before}370684{separator}{born:%Y%m%d}{separator}{sequence:03d}{check}{after}"
    assert key_holds_personal_data(pl.Series([key]), None, TODAY).item(), key


SEPARATORS = st.sampled_from([" ", "-", "－", "—", "——", ".", "/", " - ", "", "–"])
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@settings(max_examples=200, deadline=None)
@given(second=st.sampled_from("3456789"), rest=st.text("0123456789", min_size=9, max_size=9),
       separator=SEPARATORS, groups=st.sampled_from([(3, 4, 4), (3, 8), (4, 4, 3), (1,) * 11]),
       prefix=st.sampled_from(["", "+86 ", "0086", "(+86)", "tel", "电话", "联系人", "。"]),
       suffix=st.sampled_from(["", "转21", "，谢谢", " 尽快"]), wide=st.booleans())
def test_a_mobile_in_any_written_form_is_masked(second, rest, separator, groups, prefix, suffix, wide):
    digits = "1" + second + rest
    parts, start = [], 0
    for size in groups:
        parts.append(digits[start:start + size])
        start += size
    text = prefix + separator.join(parts) + suffix
    if wide:
        text = text.translate(FULL_WIDTH)
    masked = mask_column(pl.Series([text])).item()
    assert PHONE in masked and digits not in masked.replace(" ", "")


@settings(max_examples=200, deadline=None)
@given(moment=st.datetimes(), form=st.sampled_from(
    ["%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y.%m.%d", "%Y年%m月%d日 %H时%M分", "%Y%m%d", "%Y-%m-%dT%H:%M:%S"]))
def test_dates_and_times_survive(moment, form):
    text = moment.strftime(form)
    assert mask_column(pl.Series([text])).item() == text


@settings(max_examples=200, deadline=None)
@given(building=st.integers(1, 99), unit=st.integers(1, 9), room=st.integers(101, 3299),
       amount=st.integers(0, 10**9), order=st.integers(0, 10**12))
def test_house_numbers_amounts_and_order_codes_survive(building, unit, room, amount, order):
    for text in (f"{building}号楼{unit}单元{room}", f"{building}-{unit}-{room}", f"金额{amount:,}元",
                 f"{amount}元", f"GD{order:012d}", f"B{order:08d}"):
        assert mask_column(pl.Series([text])).item() == text


# Every character that folds to a separator: no-break, thin, en and ideographic spaces, small and
# full-width dots, slashes and dashes (a phone copied from a web page or a Word file holds them);
# and the invisible ones (soft hyphen, zero-width space and joiners), which fold to nothing.
FOLDED_SEPARATORS = sorted(char for char, folded in _FOLD.items() if folded in (" ", "-", ".", "/", ""))


@settings(max_examples=150, deadline=None)
@given(separator=st.sampled_from(FOLDED_SEPARATORS), mobile=st.booleans(), repeated=st.booleans())
def test_a_number_split_by_any_character_that_folds_to_a_separator_is_masked_in_a_column(separator, mobile,
                                                                                        repeated):
    text = separator.join(["138", "0013", "8000"] if mobile else ["370684", "19900101", "123X"])
    # A column of distinct values, or of few values repeated (a category): two paths of mask_column.
    column = pl.Series([text, "其他"] * (10 if repeated else 1) + ([] if repeated else ["另一个"]))
    assert mask_column(column).to_list()[0] == (PHONE_MASK if mobile else ID_MASK)


@pytest.mark.parametrize("text", ["电话138\u200b0013\u200b8000", "138\u00ad0013\u00ad8000",
                                  "\u200d".join("13800138000"), "\ufeff13800138000", "1380013\u20608000"])
def test_invisible_characters_hide_no_number(text):
    assert PHONE_MASK in mask_column(pl.Series([text])).item()
