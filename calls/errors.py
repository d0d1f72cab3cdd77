"""Why a call was not placed. The dialer (campaigns) and every "Call now" tell these apart.

- `CallRefused`: refused before dialing; nothing was written, Twilio was not asked. `code` says
  why: `do_not_call`, `account_inactive`, `twilio_not_connected`, `twilio_failing`, `no_agent`,
  `agent_not_ready`, `no_from_number`, `invalid_number`, `plan_limit`.
- `CallNotPlaced`: the attempt was written and Twilio asked, and Twilio certainly did not create
  the call (`call.status == "not_placed"`). `transient` says whether trying again later can
  help; `code` is Twilio's reason (`invalid_credentials`, `rejected`, `unreachable`, ...).
- `TwilioBusy` (a `CallNotPlaced`): Twilio answered 429 or 503 (too many requests or calls at
  once on the tenant's account). Transient: back this tenant off before its next call.

An ambiguous create (Twilio may have placed the call) is not an error: `call_place` returns the
call in status `unknown`, and recovery decides at Twilio (never a second dial for the attempt).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prixagent.errors import ApplicationError

if TYPE_CHECKING:
    from calls.models import Call


class CallError(ApplicationError):
    status_code = 409
    code = "call_refused"

    def __init__(self, message: str, *, code: str, call: Call | None = None, status_code: int | None = None) -> None:
        super().__init__(message, code=code, status_code=status_code)
        self.call = call


class CallRefused(CallError):
    """Refused before dialing: nothing written, Twilio not asked."""


class CallNotPlaced(CallError):
    """Twilio did not create the call; the attempt row says so (status `not_placed`)."""

    status_code = 502

    def __init__(self, message: str, *, code: str, call: Call, transient: bool) -> None:
        super().__init__(message, code=code, call=call, status_code=503 if transient else 502)
        self.transient = transient


class TwilioBusy(CallNotPlaced):
    """Twilio 429 / 503 on create: the tenant's Twilio is at capacity. Back off, then retry."""

    def __init__(self, message: str, *, code: str, call: Call) -> None:
        super().__init__(message, code=code, call=call, transient=True)
