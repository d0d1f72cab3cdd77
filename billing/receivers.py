"""A new account starts on the operator's sign-up plan, however it was created (sign-up page,
API, `create_account`, the admin)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import Account
from billing.services import billing_start


@receiver(post_save, sender=Account, dispatch_uid="billing-start-new-account")
def account_created(sender: type[Account], instance: Account, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if created and not raw:
        billing_start(account=instance)
