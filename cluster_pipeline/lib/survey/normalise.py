"""Turn validated text cells into typed values. Each parser works on a whole column
(pandas Series) and returns a missing value where the text does not parse, so the
same functions build the validation's shadow columns and the normalised output."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps

import numpy as np
import pandas as pd

CVR_WEIGHTS = np.array([2, 7, 6, 5, 4, 3, 2, 1])
# Python's \s spelled out: pandas runs a pattern with \s (or a flag argument) in Python, cell by
# cell, because Arrow's RE2 reads \s more narrowly; with the characters listed it runs in Arrow
_WHITESPACE = re.escape("".join(c for c in map(chr, range(0x3001)) if c.isspace()))
# a comma: Excel's thousands separator
_CVR_NOISE = rf"(?i)^DK[-{_WHITESPACE}]?|[{_WHITESPACE}\-.,]"


def per_distinct(parse: Callable[..., pd.Series]) -> Callable[..., pd.Series]:
    """Run a column parser on each distinct text once and spread the results back: survey
    columns repeat a few values (postal codes, years, yes/no, dates) over thousands of rows."""

    @wraps(parse)
    def on_distinct(text: pd.Series, *args) -> pd.Series:
        if text.empty:
            return parse(text, *args)
        codes, distinct = pd.factorize(text)  # a blank cell gets code -1
        parsed = parse(pd.Series(distinct, dtype=text.dtype), *args)
        spread = pd.api.extensions.take(parsed.array, codes, allow_fill=True)  # -1 -> the dtype's missing value
        return pd.Series(spread, index=text.index, name=text.name)

    return on_distinct


def clean_cvr(text: pd.Series) -> pd.Series:
    """Strip the ways people write a CVR number (DK prefix, spaces, hyphens, thousands separators)."""
    return text.str.replace(_CVR_NOISE, "", regex=True).where(text.notna())


def in_scientific_notation(text: pd.Series) -> pd.Series:
    """Cells Excel wrote as a number in scientific notation (6,09631E+07): the digits are lost."""
    space = f"[{_WHITESPACE}]*"
    return text.str.fullmatch(rf"(?i){space}\d[.,]\d+{space}E\+?\d+{space}").fillna(False).astype(bool)


def cvr_is_valid(digits: pd.Series) -> pd.Series:
    """8 digits, the first not 0, weighted digit sum divisible by 11."""
    shaped = digits.fillna("").str.fullmatch(r"[1-9][0-9]{7}").astype(bool)  # ASCII digits only
    valid = pd.Series(False, index=digits.index)
    if shaped.any():
        # the 8 digits of every number side by side, from the number itself: no Python loop
        numbers = digits[shaped].astype("int64").to_numpy()
        matrix = numbers[:, None] // 10 ** np.arange(7, -1, -1) % 10
        valid[shaped] = (matrix @ CVR_WEIGHTS) % 11 == 0
    return valid


def cvr_check(value: str) -> bool:
    """The modulus-11 check for one number (used by the sample-data generator)."""
    return bool(cvr_is_valid(pd.Series([value])).iloc[0])


@per_distinct
def parse_number(text: pd.Series) -> pd.Series:
    """Whole and decimal numbers, with a decimal point or a Danish decimal comma."""
    cleaned = text.str.strip().str.replace(",", ".", regex=False)
    cleaned = cleaned.where(cleaned.str.fullmatch(r"[+-]?\d+(\.\d+)?").fillna(False))
    return pd.to_numeric(cleaned, errors="coerce")


@per_distinct
def parse_date(text: pd.Series, formats: tuple[str, ...]) -> pd.Series:
    """A date written in any of the accepted formats, as datetime64; NaT otherwise."""
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    for fmt in formats:
        todo = result.isna() & text.notna()
        if not todo.any():
            break
        result[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce")
    return result


@per_distinct
def iso_date_or_text(text: pd.Series, formats: tuple[str, ...]) -> pd.Series:
    """ISO text of the parsed date, or the original text when it does not parse
    (so a strict YYYY-MM-DD check on this column catches every bad date)."""
    parsed = parse_date(text, formats)
    return parsed.dt.strftime("%Y-%m-%d").where(parsed.notna(), text)


def parse_boolean(canonical: pd.Series, spellings: dict[str, bool]) -> pd.Series:
    """Canonical tokens to True/False; a blank cell means no."""
    return canonical.map(spellings).eq(True)  # blank or unknown: not in the spellings -> False


@per_distinct
def zero_pad(digits: pd.Series, width: int) -> pd.Series:
    """Postal codes typed as numbers lose their leading zero (0800 -> 800)."""
    numbers = parse_number(digits)
    return numbers.map(lambda v: None if pd.isna(v) else f"{int(v):0{width}d}")
