"""Whether a string is a cron spec a Temporal schedule takes (``ScheduleSpec.cron_expressions``).

The server parses a schedule's cron string only when the schedule is created, long after
start-up; the settings check it with this at once, so a wrong one stops the process with
one line naming its variable.
"""

from __future__ import annotations

import re
import zoneinfo

# Temporal's cron strings (a schedule's cron_expressions): the fields, each with its range
# and the names it also takes (a month from its first three letters, a day from two).
_MONTHS = "january february march april may june july august september october november december"
_DAYS = "sunday monday tuesday wednesday thursday friday saturday"
_CRON_FIELDS: dict[str, tuple[int, int, list[str]]] = {
    "second": (0, 59, []),
    "minute": (0, 59, []),
    "hour": (0, 23, []),
    "day-of-month": (1, 31, []),
    "month": (1, 12, ["", *_MONTHS.split()]),
    "day-of-week": (0, 7, _DAYS.split()),  # 0 and 7 are Sunday
    "year": (2000, 2100, []),
}
_CRON_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_CRON_INTERVAL = re.compile(r"(\d+[smhd])+")


def _cron_value(text: str, field: str) -> int:
    low, high, names = _CRON_FIELDS[field]
    if names and len(text) >= (3 if field == "month" else 2):
        for number, name in enumerate(names):
            if name.startswith(text.lower()):
                return number
    if not (text.isdigit() and low <= int(text) <= high):
        raise ValueError
    return int(text)


def _cron_field(text: str, field: str) -> None:
    """Raises ``ValueError`` unless ``text`` is ``*``, a value or a range ``a-b``, each with
    an optional ``/step``, or a comma-separated list of them."""
    for part in text.split(","):
        base, slash, step = part.partition("/")
        if slash and not (step.isdigit() and int(step) >= 1):
            raise ValueError
        if base != "*":
            start, dash, end = base.partition("-")
            first = _cron_value(start, field)
            if dash and _cron_value(end, field) < first:
                raise ValueError


def _cron_zone(name: str) -> None:
    """Raises ``ValueError`` for an empty or unknown IANA zone name; without a time zone
    database here (no tzdata), only the server can tell an unknown one."""
    if not name:
        raise ValueError("CRON_TZ= (or TZ=) names no time zone")
    known = zoneinfo.available_timezones()
    if known and name not in known:
        raise ValueError(
            f"CRON_TZ= (or TZ=) {name!r} is not an IANA time zone (e.g. Europe/Stockholm)"
        )


def check_cron(value: str) -> str:
    """What a Temporal schedule's cron string takes (its server parses it only when the
    worker creates the schedule): 5 fields (minute hour day-of-month month day-of-week), 6
    (and the year) or 7 (the second first); a macro (``@daily``); or ``@every <interval>
    [/<phase>]``; optionally after ``CRON_TZ=<zone>`` and before a ``# comment``. Empty:
    no schedule. Returns ``value``; raises ``ValueError`` naming what is wrong with it."""
    if not value:
        return value
    spec = value.strip()
    if spec.startswith(("TZ=", "CRON_TZ=")):
        zone, _, spec = spec.partition(" ")
        _cron_zone(zone.partition("=")[2])
    spec = spec.partition("#")[0].strip()
    if spec in _CRON_MACROS:
        return value
    if spec.startswith("@every"):
        _, space, every = spec.partition(" ")
        interval, slash, phase = every.partition("/")
        if not (
            space
            and _CRON_INTERVAL.fullmatch(interval)
            and re.search("[1-9]", interval)
            and (not slash or _CRON_INTERVAL.fullmatch(phase))
        ):
            raise ValueError("not @every <n><s|m|h|d>[/<phase>] (e.g. @every 6h, @every 1d/6h)")
        return value
    if spec.startswith("@"):
        raise ValueError(
            f"{spec.split()[0]!r} is none of @hourly, @daily, @weekly, @monthly, @yearly, "
            "@every <interval>"
        )
    fields = spec.split()
    names = {5: list(_CRON_FIELDS)[1:6], 6: list(_CRON_FIELDS)[1:], 7: list(_CRON_FIELDS)}
    if len(fields) not in names:
        raise ValueError(
            f"{len(fields)} field(s), not 5 (minute hour day-of-month month day-of-week, "
            "e.g. 0 6 * * *), 6 (and the year) or 7 (the second first), nor @daily, "
            "@every <interval> or the like; empty for none"
        )
    for text, field in zip(fields, names[len(fields)], strict=True):
        try:
            _cron_field(text, field)
        except ValueError:
            low, high, named = _CRON_FIELDS[field]
            values = f"{low}-{high}{' or a name' if named else ''}"
            raise ValueError(
                f"{field} {text!r} is not *, a value ({values}) or a range a-b, each with an "
                "optional /step, nor a comma-separated list of them"
            ) from None
    return value
