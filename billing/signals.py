"""What billing tells the rest of the platform, sent after the change is committed.

Receivers (the campaigns app pauses the account's running campaigns on `account_suspended` and
may resume them on `account_reactivated`) get `account` (and `reason`) as keyword arguments.
`Account.status` is the state to trust: a receiver that missed a signal (a worker restarted)
still sees `status == "suspended"`, and the dialer checks it before every call.
"""

from __future__ import annotations

from django.dispatch import Signal

account_suspended = Signal()  # account=, reason=
account_reactivated = Signal()  # account=
