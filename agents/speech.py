"""Times worded to be said on the phone: "tomorrow at 3 pm", "el martes 4 de marzo a las 10 de la mañana".

Written out here rather than with locale formats: a date format is for reading ("Tue 4 Mar,
15:00"), and a voice reads "15:00" badly. Spanish and English; other languages get English
(the LLM rephrases in the conversation's language).
"""

from __future__ import annotations

from datetime import datetime, timedelta

DAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
}
MONTHS = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "es": (
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ),
}


def _language(language: str) -> str:
    return language if language in DAYS else "en"


def spoken_day(moment: datetime, *, now: datetime, language: str) -> str:
    """ "today", "tomorrow", "Tuesday, March 4" (dates compared in `moment`'s own time zone)."""
    lang = _language(language)
    day = moment.date()
    today = now.astimezone(moment.tzinfo).date()
    if day == today:
        return "hoy" if lang == "es" else "today"
    if day == today + timedelta(days=1):
        return "mañana" if lang == "es" else "tomorrow"
    weekday, month = DAYS[lang][day.weekday()], MONTHS[lang][day.month - 1]
    return f"el {weekday} {day.day} de {month}" if lang == "es" else f"{weekday}, {month} {day.day}"


def spoken_clock(moment: datetime, language: str) -> str:
    """ "3 pm", "3:30 pm" / "las 3 de la tarde", "la 1 y media de la tarde"."""
    hour, minute = moment.hour, moment.minute
    twelve = hour % 12 or 12
    if _language(language) == "es":
        part = "de la mañana" if hour < 12 else "de la tarde" if hour < 20 else "de la noche"
        minutes = "" if minute == 0 else " y media" if minute == 30 else f":{minute:02d}"
        article = "la" if twelve == 1 else "las"
        return f"{article} {twelve}{minutes} {part}"
    suffix = "am" if hour < 12 else "pm"
    return f"{twelve} {suffix}" if minute == 0 else f"{twelve}:{minute:02d} {suffix}"


def spoken_moment(moment: datetime, *, now: datetime, language: str) -> str:
    """The whole thing: "tomorrow at 3 pm" / "mañana a las 3 de la tarde"."""
    day = spoken_day(moment, now=now, language=language)
    clock = spoken_clock(moment, language)
    return f"{day} a {clock}" if _language(language) == "es" else f"{day} at {clock}"


def spoken_list(items: list[str], language: str) -> str:
    """ "a, b or c" / "a, b o c"."""
    if len(items) <= 1:
        return "".join(items)
    word = " o " if _language(language) == "es" else " or "
    return ", ".join(items[:-1]) + word + items[-1]
