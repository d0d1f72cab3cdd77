"""Call one contact now: `manage.py call_contact --account acme --contact +14155550123 --wait 120`."""

from __future__ import annotations

import time
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from accounts.services import account_get_by_slug
from agents.models import Agent
from calls.models import Call
from calls.services import call_place
from contacts.models import Contact
from contacts.phones import InvalidPhoneNumber, phone_normalize
from prixagent.errors import ApplicationError

POLL = 1.0


class Command(BaseCommand):
    help = "Place a call to one contact of an account with one of its agents (prints the call; --wait follows it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", required=True, help="the account's slug")
        parser.add_argument("--contact", required=True, help="the contact's id or phone number")
        parser.add_argument("--agent", help="the agent's id or name (default: the account's only ready agent)")
        parser.add_argument("--from", dest="from_number", help="one of the account's Twilio numbers")
        parser.add_argument(
            "--attempt-key", help="the same key never dials twice (default: a new one, printed with the call)"
        )
        parser.add_argument("--wait", type=int, default=0, metavar="SECONDS", help="follow the call until it ends")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            account = account_get_by_slug(slug=options["account"])
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        contact = self._contact(account, options["contact"])
        agent = self._agent(account, options["agent"])
        key = options["attempt_key"] or f"command:{uuid.uuid4()}"
        try:
            call = call_place(
                account=account,
                contact=contact,
                agent=agent,
                from_number=options["from_number"],
                attempt_key=key,
                source=Call.Source.COMMAND,
            )
        except ApplicationError as exc:
            raise CommandError(f"not placed ({exc.code}): {exc.message}") from None
        who = contact.full_name or contact.phone
        self.stdout.write(
            f"Call {call.pk} to {who} ({call.to_number}) from {call.from_number} with {agent.name}: "
            f"{call.status}{' ' + call.twilio_call_sid if call.twilio_call_sid else ''} (attempt key {key})"
        )
        if options["wait"]:
            self._follow(call, options["wait"])

    def _contact(self, account: Any, reference: str) -> Contact:
        contacts = Contact.objects.filter(account=account)
        found = contacts.filter(pk=int(reference)).first() if reference.isdigit() else None
        if found is None:
            try:
                found = contacts.filter(phone=phone_normalize(reference, account.default_country)).first()
            except InvalidPhoneNumber:
                found = None
        if found is None:
            raise CommandError(f"no contact {reference!r} in account {account.slug}")
        return found

    def _agent(self, account: Any, reference: str | None) -> Agent:
        agents = Agent.objects.filter(account=account).exclude(elevenlabs_agent_id="")
        if reference:
            try:
                agents = agents.filter(Q(pk=reference) | Q(name__iexact=reference))
            except ValidationError:
                agents = agents.filter(name__iexact=reference)
        found = list(agents[:2])
        if len(found) != 1:
            what = f"named {reference!r}" if reference else "(choose one with --agent)"
            raise CommandError(f"{'no' if not found else 'more than one'} ready agent {what} in account {account.slug}")
        return found[0]

    def _follow(self, call: Call, seconds: int) -> None:
        deadline = time.monotonic() + seconds
        seen = call.status
        while time.monotonic() < deadline:
            call.refresh_from_db()
            if call.status != seen:
                seen = call.status
                self.stdout.write(f"  {seen}")
            if call.is_terminal:
                self.stdout.write(
                    f"Ended: {call.get_status_display()}, outcome {call.outcome or '-'}, {call.duration_seconds or 0} s"
                )
                return
            time.sleep(POLL)
        raise CommandError(f"call {call.pk} still {call.status} after {seconds} s")
