"""Validate the platform's own provider accounts (ElevenLabs, PayPal) from settings / .env."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.providers import elevenlabs, paypal
from integrations.providers.base import ProviderError
from prixagent import redaction
from prixagent.config import PLACEHOLDERS


def _configured(*values: str) -> bool:
    return all(v and v not in PLACEHOLDERS for v in values)


def _check_elevenlabs() -> str:
    info = elevenlabs.validate(settings.ELEVENLABS_API_KEY)
    summary = f"{info.get('agents_visible')} agent(s) visible"
    if _configured(settings.ELEVENLABS_VOICE_ID):
        # The default voice of new agents: a typo here would only surface when an agent is built.
        voice = elevenlabs.voice(settings.ELEVENLABS_API_KEY, settings.ELEVENLABS_VOICE_ID)
        summary += f", default voice {voice['name']} ({voice['voice_id']})"
    return summary


def _check_paypal() -> str:
    info = paypal.validate(settings.PAYPAL_CLIENT_ID, settings.PAYPAL_SECRET)
    return f"app {info.get('app_id')}, {info.get('scope_count')} scope(s), mode {settings.PAYPAL_MODE}"


class Command(BaseCommand):
    help = "Check the platform's ElevenLabs and PayPal credentials; exit 1 if a configured one fails."

    def handle(self, *args: Any, **options: Any) -> None:
        checks: list[tuple[str, tuple[str, ...], Callable[[], str]]] = [
            ("elevenlabs", ("ELEVENLABS_API_KEY",), _check_elevenlabs),
            ("paypal", ("PAYPAL_CLIENT_ID", "PAYPAL_SECRET"), _check_paypal),
        ]
        failed = [name for name, variables, check in checks if not self._run(name, variables, check)]
        if failed:
            raise CommandError(f"{len(failed)} provider check(s) failed: {', '.join(failed)}")

    def _run(self, name: str, variables: tuple[str, ...], check: Callable[[], str]) -> bool:
        if not _configured(*(getattr(settings, v) for v in variables)):
            self.stdout.write(f"{name}: not configured (set {' and '.join(variables)} in .env)")
            return True
        try:
            summary = check()
        except ProviderError as exc:
            kind = "rejected" if exc.permanent else "unreachable"
            reason = redaction.scrub(exc.message, (getattr(settings, v) for v in variables))
            self.stdout.write(f"{name}: FAILED, {kind}: {reason}")
            return False
        self.stdout.write(f"{name}: ok, {summary}")
        return True
