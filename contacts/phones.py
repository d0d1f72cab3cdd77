"""Phone numbers: parse anything a person types into E.164, and guess where it rings.

`phonenumbers` (Google's libphonenumber) does the parsing; a national-format number is read in
the account's default country. Time zones come from the number's geography; a number whose
region spans several zones (most of the US, Canada, Mexico...) cannot say which, so the caller's
fallback (the account's zone) is used and marked as such.
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import timezone as number_timezones

UNKNOWN_ZONE = "Etc/Unknown"


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
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ZoneGuess(fallback, False)
    zones = [z for z in number_timezones.time_zones_for_number(number) if z != UNKNOWN_ZONE]
    if len(zones) == 1:
        return ZoneGuess(zones[0], True)
    return ZoneGuess(fallback, False)
