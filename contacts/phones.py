"""Phone numbers: parse anything a person types into E.164, and guess where it rings.

`phonenumbers` (Google's libphonenumber) does the parsing; a national-format number is read in
the account's default country. Time zones come from the number's geography; a number whose
region spans several zones (most of the US, Canada, Mexico...) cannot say which, so the caller's
fallback (the account's zone) is used and marked as such.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import timezone as number_timezones
from phonenumbers.tzdata import TIMEZONE_LONGEST_PREFIX

UNKNOWN_ZONE = "Etc/Unknown"
# The country a language's speakers most likely call from (CLDR "likely subtags"), for the
# account's default country at sign-up. A regional tag ("es-MX") names its country itself.
LIKELY_COUNTRY = {"en": "US", "es": "ES", "pt": "BR", "fr": "FR", "de": "DE", "it": "IT"}


# What a stored number looks like (phone_normalize's output): a plain check where parsing again
# would be wasted (the dialer, CSV export) and the pattern for the database (`phone__regex`).
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class InvalidPhoneNumber(ValueError):
    """Not a dialable number. The message says why, for a field error."""


def phone_normalize(raw: str, default_country: str = "US") -> str:
    """`raw` as E.164 (`+14155550123`), or `InvalidPhoneNumber`."""
    text = (raw or "").strip()
    if not text:
        raise InvalidPhoneNumber("Enter a phone number.")
    if len(text) > 40:
        raise InvalidPhoneNumber("This is too long to be a phone number.")
    try:
        number = phonenumbers.parse(text, (default_country or "US").upper())
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber("This is not a phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber("This number is not valid for its country.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class ZoneGuess:
    time_zone: str
    derived: bool  # True: the number names exactly one zone; False: the fallback was used


def time_zone_for(e164: str, fallback: str) -> ZoneGuess:
    """The IANA zone of an E.164 number when it has exactly one, else `fallback`."""
    zone = single_zone(e164)
    return ZoneGuess(zone, True) if zone else ZoneGuess(fallback, False)


def single_zone(e164: str) -> str:
    """The one IANA zone of an E.164 number, or "" when it has none or several."""
    # libphonenumber's time-zone table is keyed by at most TIMEZONE_LONGEST_PREFIX digits
    # (country code included), so every number sharing those first digits gets the same
    # answer: caching on them turns a 13 µs lookup into a dictionary hit in a large import.
    prefix = e164[: TIMEZONE_LONGEST_PREFIX + 1]
    zone = _ZONE_CACHE.get(prefix)
    if zone is None:
        zone = _zone_of(e164)
        if len(_ZONE_CACHE) < ZONE_CACHE_SIZE:
            _ZONE_CACHE[prefix] = zone
    return zone


ZONE_CACHE_SIZE = 200_000
_ZONE_CACHE: dict[str, str] = {}


def _zone_of(e164: str) -> str:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ""
    zones = [z for z in number_timezones.time_zones_for_number(number) if z != UNKNOWN_ZONE]
    return zones[0] if len(zones) == 1 else ""


def country_for_language(language: str | None) -> str:
    """The default country for an account whose owner speaks `language` ("es-MX" -> MX, "es" -> ES)."""
    parts = (language or "").replace("_", "-").split("-")
    if len(parts) > 1 and len(parts[1]) == 2 and parts[1].isalpha():
        return parts[1].upper()
    return LIKELY_COUNTRY.get(parts[0].lower(), "US")
