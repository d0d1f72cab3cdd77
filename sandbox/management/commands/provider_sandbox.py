"""Run the provider sandbox on 127.0.0.1 until Ctrl-C: `manage.py provider_sandbox --demo`."""

from __future__ import annotations

import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sandbox import PROVIDERS, ProviderSandbox
from sandbox.demo import load_demo

DEFAULT_PORT_BASE = 8900


class Command(BaseCommand):
    help = "Run fake Twilio, ElevenLabs, GoHighLevel, Cal.com and PayPal APIs on 127.0.0.1 (Ctrl-C stops)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--demo", action="store_true", help="create the fixed demo credentials listed in the README"
        )
        parser.add_argument(
            "--port-base",
            type=int,
            default=DEFAULT_PORT_BASE,
            help=f"first port; providers use it and the next four, in order {', '.join(PROVIDERS)} "
            f"(default {DEFAULT_PORT_BASE}; 0 picks free ports)",
        )

    def handle(self, *args: Any, demo: bool, port_base: int, **options: Any) -> None:
        ports = {name: port_base + i for i, name in enumerate(PROVIDERS)} if port_base else {}
        sandbox = ProviderSandbox(ports).start()
        try:
            self._announce(sandbox, load_demo(sandbox) if demo else None)
            threading.Event().wait()  # until Ctrl-C
        except KeyboardInterrupt:
            self.stdout.write("\nStopping the provider sandbox.")
        finally:
            sandbox.stop()

    def _announce(self, sandbox: ProviderSandbox, demo: dict[str, dict[str, Any]] | None) -> None:
        self.stdout.write("Provider sandbox running. Put these lines in .env (empty = the real provider):\n")
        for name, url in sandbox.base_urls.items():
            self.stdout.write(f"{name.upper()}_BASE_URL={url}")
        self.stdout.write("\nControl API on each server: /_sandbox/requests, /_sandbox/faults, /_sandbox/reset")
        if demo is None:
            self.stdout.write("No credentials yet: run with --demo, or POST to /_sandbox/<accounts|keys|...>.")
            return
        self.stdout.write("\nDemo credentials (valid only against this sandbox):")
        for provider, values in demo.items():
            self.stdout.write(f"  {provider}:")
            for key, value in values.items():
                self.stdout.write(f"    {key}: {value}")
        self.stdout.write(
            "\nPlatform keys for .env: "
            f"ELEVENLABS_API_KEY={demo['elevenlabs']['api_key']} "
            f"PAYPAL_CLIENT_ID={demo['paypal']['client_id']} PAYPAL_SECRET={demo['paypal']['secret']} "
            f"PAYPAL_WEBHOOK_ID={demo['paypal']['webhook_id']}"
        )
        self.stdout.write("\nCtrl-C to stop.")
