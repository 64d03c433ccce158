"""Residents' personal data: which columns the loader drops, and the one detector that masks
phone numbers, ID-card numbers and the row's caller name in every other text value. What it
finds and what it deliberately leaves: the README's Personal data section and
tests/privacy_corpus.py.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass
from datetime import date

import polars as pl

ID_MASK = "[身份证号已隐去]"
PHONE_MASK = "[电话已隐去]"
NAME_MASK = "[姓名已隐去]"
# A regular expression (Python's and polars' alike) for what masking puts in a text.
ANY_MASK = "|".join(re.escape(mask) for mask in (ID_MASK, PHONE_MASK, NAME_MASK))

# One separator class per alternative: "~" in a template below becomes an optional separator of
# that class, so one number uses one kind of separator throughout.
_DASHES = r"\-\u2010-\u2015\u2212\u2500\u2501\u30fc~_"
_SEPARATORS = (r"[ \t]{1,3}", rf" ?[{_DASHES}]{{1,2}} ?", r" ?\. ?", r" ?/ ?")
_START = r"(?-u:\b)"  # ASCII word boundary: Chinese characters before a number do not hide it
# Letters that say "a number follows" even when glued to it: tel13700137000, ID370684….
_LEAD = _START + r"(?i:tel|phone|mobile|mob|cell|ph|fax|id|no|sfz)[.:：#]? ?"
_OPEN, _CLOSE = "[(（]", "[)）]"  # brackets, ASCII or full-width (those are not folded)
_COUNTRY = rf"(?:{_OPEN}?\+ ?86{_CLOSE}?[ \-]?|{_OPEN}86{_CLOSE} ?|" + _START + r"(?:00)?86[ \-]?)"
# An extension after a phone number.
_EXTENSION = r"(?: ?(?:转|ext\.?|x|分机|-) ?\d{1,6})?"
_MONTH_DAY = r"(?:0~[1-9]|1~[0-2])~(?:0~[1-9]|[12]~\d|3~[01])"
_ID_TEMPLATES = (
    r"[1-8]~\d~\d~\d~\d~\d~[12]~\d~\d~\d~" + _MONTH_DAY + r"~\d~\d~\d~[\dXx]",  # 18 digits
    r"[1-8]~\d~\d~\d~\d~\d~\d~\d~" + _MONTH_DAY + r"~\d~\d~\d",  # 15 digits (before 1999)
)
_MOBILE_TEMPLATE = r"1~[3-9]" + r"~\d" * 9
# Area code (0 and 2–3 digits, brackets optional, or after +86 without its 0), then 7–8 digits.
_AREA = (rf"(?:{_OPEN}0[1-9]\d{{1,2}}{_CLOSE}|(?:{_LEAD}|{_START})0[1-9]\d{{1,2}}"
         rf"|(?:{_OPEN}?\+ ?86{_CLOSE}?|{_START}0086)[ \-]?{_OPEN}?0?[1-9]\d{{1,2}}{_CLOSE}?)")
_LOCAL_TEMPLATE = r"\d~\d~\d~\d~\d~\d~\d(?:~\d)?"
# Words that say a phone number follows, kept in the text before the mask.
_PHONE_WORDS = r"(?:电话|手机|座机|固话|联系|号码|致电|拨打|回电|来电|热线|tel|Tel|TEL|phone|Phone)"
# Units and counters after a number make it a quantity, not a phone: 3000-5000元, 2000 2000人.
_UNIT = r"元万千百米平㎡人户件个次岁年月日号楼层室栋单元%"
# Between the three groups of a mobile written 3-4-4, any mix of spaces, line breaks and
# punctuation: 138 1234-5678, 138·1234·5678, 138，1234，5678, (138)12345678, a number broken
# over lines. The grouping itself is what makes it a phone, so the separators need not agree.
_GAP = (r"[ \t\r\n]{0,4}[\-.·・•*:|=,，、/_~()（）\u2010-\u2015\u2212\u30fc]{0,2}[ \t\r\n]{0,4}")
# An underscore glues a number to a Chinese word (联系人_13812345678, 诉求工单_13812345678.csv)
# as a space would; after Latin letters it is part of a code (单号WO_13812345678).
_GLUED = rf"(?P<glued>{_START}_)"


def _alternatives(template: str) -> str:
    return "|".join(template.replace("~", f"(?:{sep})?") for sep in _SEPARATORS)


def _grouped_local() -> str:
    """A local number without area code written in two groups (565-1234, 5651 2345): the first
    group of four must not start like a year."""
    return "|".join(rf"(?:[2-9]\d{{2}}|[3-9]\d{{3}}|2[1-9]\d{{2}}){sep}\d{{4}}" for sep in _SEPARATORS[:2])


_ID = rf"(?:{_LEAD}|{_START})(?:{_alternatives(_ID_TEMPLATES[0])}|{_alternatives(_ID_TEMPLATES[1])})"
# (pattern, replacement), applied in this order to folded text (_fold_table).
_NUMBERS: tuple[tuple[str, str], ...] = (
    # First the ID numbers that end where a number ends: of two numbers side by side
    # (37068420261128 370684199003071234) the second is the ID number, not the first 18 digits.
    (_ID + r"(?P<after>\D|$)", ID_MASK + "${after}"),
    # Then any run shaped like one: a longer run loses its first 18 digits rather than keep them.
    (_ID, ID_MASK),
    (rf"(?:{_LEAD}(?:{_COUNTRY})?|{_COUNTRY}|{_START})(?:{_alternatives(_MOBILE_TEMPLATE)}){_EXTENSION}", PHONE_MASK),
    (rf"(?:{_LEAD}(?:{_COUNTRY})?|{_COUNTRY}|{_START}|{_GLUED})1[3-9]\d{_GAP}\d{{4}}{_GAP}\d{{4}}{_EXTENSION}"
     rf"(?P<after>[^\d{_UNIT}]|$)", "${glued}" + PHONE_MASK + "${after}"),
    (rf"{_AREA}[ \-{_DASHES[2:]}/.]{{0,2}}(?:{_alternatives(_LOCAL_TEMPLATE)}){_EXTENSION}",
     PHONE_MASK),
    (rf"({_PHONE_WORDS}[^\d\n]{{0,4}}){_START}[2-9]\d{{6,7}}{_EXTENSION}", "${1}" + PHONE_MASK),
    (rf"{_START}(?:{_grouped_local()}){_EXTENSION}([^\d{_UNIT}]|$)", PHONE_MASK + "${1}"),
)


def _mask_numbers(normalised: pl.Expr) -> pl.Expr:
    masked = normalised
    for pattern, replacement in _NUMBERS:
        masked = masked.str.replace_all(pattern, replacement)
    return masked


# Split on where there is no name to look for: a private-use pair no text holds.
_NO_NAME = "\ue000\ue001"


def _mask_name(text: pl.Expr, name: pl.Expr) -> pl.Expr:
    # A one-character "name" would blank out ordinary words; real names have two or more. The text
    # appears once in the expression: mask_text nests this for every name a cell may hold.
    looked_for = pl.when(name.str.len_chars() >= 2).then(name).otherwise(pl.lit(_NO_NAME))
    return text.str.split(looked_for).list.join(NAME_MASK)


# A caller cell is not always one name as the text writes it: spaces pad or split it (王　芳,
# 欧阳 娜娜), a bracket adds a note (王建国（先生）), several callers share it (刘洋、李秀英).
_NAME_NOISE = r"\s+|[(（\[【][^)）\]】]*[)）\]】]"
_NAME_LIST = r"[、,，;；/|]+"
_NAME_MARKS = rf"{_NAME_NOISE}|{_NAME_LIST}|[)）\]】]"
MAX_NAMES = 4  # names looked for per caller cell, the cell as written first


def _names(cell: pl.Expr) -> pl.Expr:
    """The names a caller cell holds, as a list: the cell as written, then each name in it."""
    parts = cell.str.replace_all(_NAME_NOISE, "").str.replace_all(_NAME_LIST, "、").str.split("、")
    return pl.concat_list(cell.str.strip_chars(), parts).list.unique(maintain_order=True)


def caller_names(cells: pl.Series) -> list[pl.Series]:
    """The caller cells as up to MAX_NAMES columns of names: each row's first, second … name
    (null where a row has fewer). One column, the cells themselves, when no cell needs splitting."""
    if not cells.str.contains(_NAME_MARKS).fill_null(False).any():
        return [cells]
    lists = cells.to_frame("cell").select(_names(pl.col("cell"))).to_series()
    count = min(MAX_NAMES, int(lists.list.len().max() or 1))
    return [lists.list.get(i, null_on_oob=True) for i in range(count)]


_ALPHABET = set(string.ascii_letters + string.digits + " +-./#_~\u2010\u2011\u2012\u2013\u2014\u2015\u2212")
# The blocks that hold every character _folding changes (tests/test_privacy.py holds them against
# all of Unicode: scanning every code point at each start would cost a third of a second).
FOLD_BLOCKS = ((0x00A0, 0x3400), (0xA7F0, 0xA800), (0xFB00, 0xFB50), (0xFE10, 0x10000), (0x10780, 0x107C0),
               (0x11080, 0x110D0), (0x13430, 0x13460), (0x1BCA0, 0x1BCB0), (0x1D100, 0x1D800),
               (0x1F100, 0x1F200), (0x1FB00, 0x1FC00), (0xE0000, 0xE0080))


def _folding(char: str) -> str | None:
    """What the masking reads a character as, or None for itself: the compatibility forms of the
    characters numbers are written with (full-width, circled, segmented, super- and subscript,
    mathematical digits and Latin letters, full-width and ideographic space, plus, hyphens) as NFKC
    maps them, and nothing for an invisible format character (a soft hyphen, a zero-width space, a
    tag: it would hide a number). Chinese punctuation (，：。（）) is left alone: folding it would
    change how the stored text reads (the patterns take （） as brackets as they are)."""
    if unicodedata.category(char) == "Cf":
        return ""
    folded = unicodedata.normalize("NFKC", char)
    return folded if folded != char and folded and set(folded) <= _ALPHABET else None


def _fold_table() -> dict[str, str]:
    return {char: folded for start, end in FOLD_BLOCKS for char in map(chr, range(start, end))
            if (folded := _folding(char)) is not None}


_FOLD = _fold_table()
_FOLD_FROM, _FOLD_TO = list(_FOLD), list(_FOLD.values())
_FOLDABLE = "[" + "".join(re.escape(char) for char in _FOLD) + "]"
# Every pattern above holds seven digits (any Unicode digit: full-width ones are digits before
# folding too) with at most ten separator characters between two of them (a mobile's _GAP),
# written as they fold (a no-break or thin space, a full-width dash); a value without such a run
# (most values) needs no number masking.
_SEPARATOR_CHARS = (rf"[ \t\r\n.\-/()（）+·・•*:|=,，、{_DASHES[2:]}"
                    + "".join(re.escape(char) for char, folded in _FOLD.items() if set(folded) <= set(" +-./"))
                    + "]")
_MAYBE_NUMBER = rf"\d(?:{_SEPARATOR_CHARS}{{0,10}}\d){{6}}"


def mask_text(text: pl.Expr, name: pl.Expr | None = None) -> pl.Expr:
    """Text with ID-card numbers, phone numbers and (if given) the caller's name masked."""
    normalised = pl.when(text.str.contains(_FOLDABLE)).then(text.str.replace_many(_FOLD_FROM, _FOLD_TO)).otherwise(text)
    masked = _mask_numbers(normalised)
    masked = pl.when(masked != normalised).then(masked).otherwise(text)
    if name is None:
        return masked
    names = _names(name)
    for i in range(MAX_NAMES):
        masked = _mask_name(masked, names.list.get(i, null_on_oob=True))
    return masked


def _only_where(text: pl.Series, hits: pl.Series, replace) -> pl.Series:
    """text with the rows where hits is true replaced by replace(their row numbers), the others
    left as they are."""
    rows = hits.fill_null(False).arg_true()
    if rows.len() == 0:
        return text
    # scatter writes in place: on a copy, the caller's column (the file as read) stays as it was.
    return text.clone().scatter(rows, replace(rows))


def _repeats(text: pl.Series) -> bool:
    """Whether the column holds few distinct values (a category, a community), judged on its
    first rows: its distinct values are then masked once each instead of every row."""
    head = text.head(20_000)
    return head.len() > 0 and head.n_unique() * 4 <= head.len()


def _numbers_masked(text: pl.Series, repeats: bool) -> pl.Series:
    """mask_text without a name, run only on the values that hold six digits close together."""
    if repeats:
        distinct = text.unique()
        candidates = distinct.filter(distinct.str.contains(_MAYBE_NUMBER).fill_null(False))
        if candidates.len() == 0:
            return text
        masked = pl.DataFrame({"t": candidates}).select(mask_text(pl.col("t"))).to_series()
        changed = masked != candidates
        if not changed.any():
            return text
        return text.replace(candidates.filter(changed), masked.filter(changed))

    def numbers(rows: pl.Series) -> pl.Series:
        # mask_text, each step only on the rows it can change (a pattern's search is a third of
        # the cost of its replacement, and most candidate values hold no number after all).
        part = text.gather(rows)
        folded = _only_where(part, part.str.contains(_FOLDABLE),
                             lambda hits: part.gather(hits).str.replace_many(_FOLD_FROM, _FOLD_TO))
        masked = folded
        for pattern, replacement in _NUMBERS:
            masked = _only_where(masked, masked.str.contains(pattern),
                                 lambda hits, m=masked, p=pattern, r=replacement: m.gather(hits).str.replace_all(p, r))
        return pl.DataFrame({"t": part, "f": folded, "m": masked}).select(
            pl.when(pl.col("m") != pl.col("f")).then("m").otherwise("t")).to_series()

    return _only_where(text, text.str.contains(_MAYBE_NUMBER), numbers)


_FEW = 5_000  # distinct values a column may have for its names to be looked for value by value


def _holding_a_name(values: pl.Series, known: pl.Series) -> list[str]:
    """The values that contain one of the known names: every piece of a value as long as a name
    can be is looked up among the names (a few hundred values against any number of names)."""
    if known.len() == 0:
        return []
    longest = min(int(known.str.len_chars().max()), 12)
    texts = values.to_list()
    pieces = {v[i:i + n] for v in texts for n in range(2, longest + 1) for i in range(len(v) - n + 1)}
    found = known.filter(known.is_in(pl.Series(list(pieces), dtype=pl.String).implode())).to_list()
    return [v for v in texts if any(name in v for name in found)]


@dataclass(frozen=True)
class Callers:
    """A file's caller cells read once for all its columns: each row's names (first, second …)
    and every name met (two characters or more)."""
    names: list[pl.Series]
    known: pl.Series


def callers(cells: pl.Series) -> Callers:
    names = caller_names(cells)
    every = pl.concat(names).drop_nulls()
    return Callers(names, every.filter(every.str.len_chars() >= 2).unique())


def _name_masked(masked: pl.Series, names: pl.Series, known: pl.Series, repeats: bool) -> pl.Series:
    """Each row's name (of `names`) masked in its text."""
    pair = pl.DataFrame({"text": masked, "name": names})
    may_hold = pl.lit(True)
    values = masked.unique().drop_nulls() if repeats else None
    if values is not None and values.len() <= _FEW:
        # Only rows whose value holds some caller's name at all need their own name looked for.
        holding = _holding_a_name(values, known)
        if not holding:
            return masked
        may_hold = pl.col("text").is_in(pl.Series(holding, dtype=pl.String).implode())
    named = pair.select(may_hold & (pl.col("name").str.len_chars() >= 2)
                        & pl.col("text").str.contains(pl.col("name"), literal=True)).to_series()
    return _only_where(masked, named, lambda rows: pair[rows].select(
        pl.col("text").str.split(pl.col("name")).list.join(NAME_MASK)).to_series())


def mask_column(text: pl.Series, names: pl.Series | Callers | None = None) -> pl.Series:
    """mask_text for a whole column, each step run only on the rows it can change (most values
    of an extract hold no number and not the caller's name): same result, a fraction of the work.
    names: the rows' caller cells, or `callers` of them when several columns share them."""
    repeats = _repeats(text)
    masked = _numbers_masked(text, repeats)
    if names is None:
        return masked
    found = names if isinstance(names, Callers) else callers(names)
    for each in found.names:
        masked = _name_masked(masked, each, found.known, repeats)
    return masked


def holds_personal_data(text: pl.Series, names: pl.Series | Callers | None = None) -> pl.Series:
    """True where masking would change the value (an identifier that holds a phone, say)."""
    return (mask_column(text, names) != text).fill_null(False)


# A record key is refused, not masked, when it holds personal data, so a key that only looks like
# an ID number must not count: work-order numbers are often a region code, the day and a sequence
# (370684 20261128 0001), the shape of the ID number of a child born that day, and place codes are
# a region code and numbers (370684 001 001 001: born 1900-10-01 in the 15-digit form). In a key
# an ID-shaped number counts as an ID number only if its holder's age is one a resident's could be
# (ID_AGES: old enough to have been issued a card, not past a hundred): work orders carry the
# dates of the data, recent ones. The check digit is not asked for: a mistyped ID number still
# names its holder. Text columns go on masking every ID-shaped number (a masked work-order number
# in a description loses little).
ID_AGES = (16, 100)
_NOT_AN_ID = "§"  # stands in for an ID-shaped number no resident holds: no pattern reads it


def _plausible_id(found: str, today: date) -> bool:
    """Whether an ID-shaped number (as the ID pattern found it, lead word included) could be a
    resident's: 18 digits with the birth date at 6–14, or 15 (issued before 1999) with 19YYMMDD at 6–12."""
    digits = re.sub(r"[^\dXx]", "", found)
    digits = digits[-18:] if len(digits) >= 18 else digits[-15:]
    year, rest = (digits[6:10], digits[10:14]) if len(digits) == 18 else ("19" + digits[6:8], digits[8:12])
    try:
        born = date(int(year), int(rest[:2]), int(rest[2:]))
    except ValueError:
        return False
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return ID_AGES[0] <= age <= ID_AGES[1]


_ID_18 = re.compile(_alternatives(_ID_TEMPLATES[0]))  # an 18-digit ID number, separators and all, anywhere


def _starts_inside(value: str, number: str, today: date) -> tuple[list[str], bool]:
    """An ID-shaped match is taken leftmost, so a real number may begin inside a made-up one. What
    follows each place inside `number` (as found in `value`) where a number may start (a digit
    after a character that is not an ASCII letter or digit: 37068420261128 13812345678), and
    whether a resident's 18-digit ID number begins anywhere in it, glued to the digits before
    (370684202611 28370684199003071234; only that: a phone in any run of digits would be most)."""
    at = value.find(number)
    starts = range(at + 1, at + len(number))
    tails = [value[i:] for i in starts if value[i].isdigit() and not (value[i - 1].isascii() and value[i - 1].isalnum())]
    glued = any((found := _ID_18.match(value, i)) and _plausible_id(found.group(), today) for i in starts)
    return tails, glued


def key_holds_personal_data(keys: pl.Series, names: pl.Series | Callers | None, today: date) -> pl.Series:
    """holds_personal_data for record keys, an ID-shaped number counting only where a resident
    could hold it (_plausible_id). A key masked already (a rejected row's saved values, checked
    again) held some: it is no key to load under."""
    masked_already = keys.str.contains(ANY_MASK).fill_null(False)
    held = holds_personal_data(keys, names) | masked_already
    if not held.any():
        return held
    rows = held.arg_true()
    folded = keys.gather(rows).str.replace_many(_FOLD_FROM, _FOLD_TO)
    cleared, tails, tail_rows, hidden = [], [], [], []
    for row, value, found in zip(rows.to_list(), folded.to_list(), folded.str.extract_all(_ID).to_list()):
        kept = value
        for number in found or []:
            if not _plausible_id(number, today):
                inside, glued = _starts_inside(value, number, today)
                tails += inside
                tail_rows += [row] * len(inside)
                hidden += [row] if glued else []
                kept = kept.replace(number, _NOT_AN_ID)
        cleared.append(kept)
    still = holds_personal_data(keys.clone().scatter(rows, pl.Series(cleared, dtype=pl.String)), names) | masked_already
    if tails:
        hidden += pl.Series(tail_rows).filter(key_holds_personal_data(pl.Series(tails, dtype=pl.String), None, today)).to_list()
    return still.scatter(hidden, True) if hidden else still


def mask_identifier(values: pl.Series, names: pl.Series | Callers | None, today: date) -> pl.Series:
    """An id column other than the record's key (the compound, a related work order): masked where
    it holds personal data as a key would (key_holds_personal_data), whole otherwise."""
    held = key_holds_personal_data(values, names, today)
    if not held.any():
        return values
    return pl.select(pl.when(held).then(mask_column(values, names)).otherwise(values)).to_series().alias(values.name)
