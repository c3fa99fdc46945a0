"""Go's reference-time layouts (``2006-01-02 15:04:05``) applied to Python datetimes."""

from __future__ import annotations

from datetime import datetime

_MONTHS = ("January", "February", "March", "April", "May", "June", "July")
_MONTHS += ("August", "September", "October", "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Longest first where one is a prefix of another, as Go's nextStdChunk tries them.
_CHUNKS = (
    "January",
    "Jan",
    "Monday",
    "Mon",
    "MST",
    "2006",
    "-07:00:00",
    "-0700",
    "-07:00",
    "-07",
    "Z07:00:00",
    "Z0700",
    "Z07:00",
    "Z07",
    "002",
    "01",
    "02",
    "03",
    "04",
    "05",
    "06",
    "_2",
    "15",
    "1",
    "2",
    "3",
    "4",
    "5",
    "PM",
    "pm",
)


def go_format(moment: datetime, layout: str) -> str:
    """``time.Time.Format(layout)``."""
    if moment.tzinfo is None:
        moment = moment.astimezone()
    out: list[str] = []
    i = 0
    while i < len(layout):
        if layout[i] in ".," and i + 1 < len(layout) and layout[i + 1] in "09":
            digit = layout[i + 1]
            j = i + 1
            while j < len(layout) and layout[j] == digit:
                j += 1
            if j == len(layout) or not layout[j].isdigit():
                out.append(_fraction(moment, layout[i], j - i - 1, trim=digit == "9"))
                i = j
                continue
        for chunk in _CHUNKS:
            if layout.startswith(chunk, i) and _allowed(layout, i, chunk):
                out.append(_render(moment, chunk))
                i += len(chunk)
                break
        else:
            out.append(layout[i])
            i += 1
    return "".join(out)


def _allowed(layout: str, i: int, chunk: str) -> bool:
    """Go reads ``Jan``/``Mon`` only when no lower-case letter follows (``Janet`` is text)."""
    if chunk in ("Jan", "Mon", "January", "Monday"):
        end = i + len(chunk)
        return not (end < len(layout) and layout[end].islower()) or chunk in ("January", "Monday")
    return True


def _fraction(moment: datetime, sep: str, digits: int, trim: bool) -> str:
    text = f"{moment.microsecond:06d}000"[:digits]
    if trim:
        text = text.rstrip("0")
        return sep + text if text else ""
    return sep + text


def _offset(moment: datetime, chunk: str) -> str:
    delta = moment.utcoffset()
    seconds = int(delta.total_seconds()) if delta is not None else 0
    if chunk.startswith("Z") and seconds == 0:
        return "Z"
    sign = "-" if seconds < 0 else "+"
    seconds = abs(seconds)
    hours, minutes, secs = seconds // 3600, seconds // 60 % 60, seconds % 60
    body = chunk.lstrip("Z-")
    if body == "07":
        return f"{sign}{hours:02d}"
    if body == "0700":
        return f"{sign}{hours:02d}{minutes:02d}"
    if body == "07:00":
        return f"{sign}{hours:02d}:{minutes:02d}"
    return f"{sign}{hours:02d}:{minutes:02d}:{secs:02d}"


def _render(moment: datetime, chunk: str) -> str:
    hour12 = moment.hour % 12 or 12
    simple = {
        "January": _MONTHS[moment.month - 1],
        "Jan": _MONTHS[moment.month - 1][:3],
        "Monday": _DAYS[moment.weekday()],
        "Mon": _DAYS[moment.weekday()][:3],
        "2006": f"{moment.year:04d}",
        "06": f"{moment.year % 100:02d}",
        "01": f"{moment.month:02d}",
        "1": str(moment.month),
        "02": f"{moment.day:02d}",
        "2": str(moment.day),
        "_2": f"{moment.day:2d}",
        "002": f"{moment.timetuple().tm_yday:03d}",
        "15": f"{moment.hour:02d}",
        "03": f"{hour12:02d}",
        "3": str(hour12),
        "04": f"{moment.minute:02d}",
        "4": str(moment.minute),
        "05": f"{moment.second:02d}",
        "5": str(moment.second),
        "PM": "PM" if moment.hour >= 12 else "AM",
        "pm": "pm" if moment.hour >= 12 else "am",
    }
    if chunk in simple:
        return simple[chunk]
    if chunk == "MST":
        name = moment.tzname()
        return name if name and name[0].isalpha() else _offset(moment, "-0700")
    return _offset(moment, chunk)
