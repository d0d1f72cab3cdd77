"""Signals other apps listen to (the campaigns app moves its contacts' state machine on them).

Both are sent after the transaction that made the change commits, once per call:

- `call_ended(sender=Call, call=call)`: the call reached its final status (`call.status` is one
  of `completed`, `busy`, `no-answer`, `failed`, `canceled`, `not_placed`). By then
  `call.answered_by`, `call.voicemail_left`, `call.duration_seconds` and `call.outcome` are set;
  `outcome` already says `booked` / `opted_out` when the agent's tools did that during the call.
- `call_analyzed(sender=Call, call=call)`: ElevenLabs' analysis arrived (or reconciliation
  fetched it): `call.summary`, `call.outcomes` (data collection results), `call.evaluation`,
  `call.call_successful`, and `call.outcome` recomputed.

Receivers must not raise (an exception is logged and swallowed: the call is already stored).
"""

from __future__ import annotations

from django.dispatch import Signal

call_ended = Signal()
call_analyzed = Signal()
