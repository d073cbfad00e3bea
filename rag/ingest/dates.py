"""Dates: the first calendar date in a text (`find_date`), and a date written out in French or English."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

_MONTHS = {
    "janvier": 1, "janv": 1, "février": 2, "fevrier": 2, "févr": 2, "fevr": 2, "fév": 2, "mars": 3, "avril": 4,
    "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "août": 8, "aout": 8, "septembre": 9, "sept": 9,
    "octobre": 10, "oct": 10, "novembre": 11, "nov": 11, "décembre": 12, "decembre": 12, "déc": 12, "dec": 12,
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sep": 9,
    "october": 10, "november": 11, "december": 12,
}  # fmt: skip
_MONTH_RE = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))
_TIME = r"(?:\s*(?:,|à|at|-|–|—)?\s*(?P<hh>\d{1,2})\s*[:h]\s*(?P<mm>\d{2}))?"
_DATE_PATTERNS = (
    re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})(?:[T ](?P<hh>\d{2}):(?P<mm>\d{2}))?"),
    re.compile(rf"\b(?P<d>\d{{1,2}})(?:er|st|nd|rd|th)?\s+(?P<mon>{_MONTH_RE})\.?,?\s+(?P<y>\d{{4}}){_TIME}", re.I),
    re.compile(rf"\b(?P<mon>{_MONTH_RE})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}}){_TIME}", re.I),
    re.compile(rf"\b(?P<d>\d{{1,2}})[/.](?P<m>\d{{1,2}})[/.](?P<y>\d{{4}}){_TIME}"),
)


@dataclass(frozen=True)
class DateMatch:
    """A calendar date found in a text, as ISO 8601, with where it was found."""

    iso: str  # YYYY-MM-DD, or YYYY-MM-DDTHH:MM when a time follows the date
    start: int
    end: int

    @property
    def day(self) -> str:
        return self.iso[:10]


def find_date(text: str) -> DateMatch | None:
    """The first valid calendar date in `text` (French or English wording, ISO or day-first numeric)."""
    best: DateMatch | None = None
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            parts = m.groupdict()
            month = _MONTHS.get(parts["mon"].lower()) if parts.get("mon") else int(parts["m"])
            year, day = int(parts["y"]), int(parts["d"])
            if not month or not 1800 <= year <= 2200:
                continue
            try:
                datetime.date(year, month, day)
            except ValueError:
                continue  # 31/02 or a version number: not a date
            iso = f"{year:04d}-{month:02d}-{day:02d}"
            if parts.get("hh") and parts.get("mm") and int(parts["hh"]) < 24 and int(parts["mm"]) < 60:
                iso += f"T{int(parts['hh']):02d}:{parts['mm']}"
            if best is None or m.start() < best.start:
                best = DateMatch(iso, m.start(), m.end())
            break
    return best


_FR_MONTHS = ("janvier février mars avril mai juin juillet août septembre octobre novembre décembre").split()
_EN_MONTHS = ("January February March April May June July August September October November December").split()


def french_date(iso: str) -> str:
    """'2016-11-01' -> '1er novembre 2016'."""
    y, m, d = iso[:10].split("-")
    day = "1er" if int(d) == 1 else str(int(d))
    return f"{day} {_FR_MONTHS[int(m) - 1]} {y}"


def english_date(iso: str) -> str:
    """'2016-11-01' -> '1 November 2016'."""
    y, m, d = iso[:10].split("-")
    return f"{int(d)} {_EN_MONTHS[int(m) - 1]} {y}"
