"""`make demo`: the platform, the provider sandbox and a demo tenant in one process, offline.

Starts the sandbox (Twilio, ElevenLabs, GoHighLevel, Cal.com, PayPal on 127.0.0.1), points the
platform at it, loads the demo tenant (providers connected with the sandbox's demo credentials,
an agent, contacts), prints the login and serves every surface on PORT, like `make run`. Every
call placed is answered by the sandbox and books an appointment; the call page shows it live.
Ctrl-C stops everything. Development only: the sandbox refuses to run under production.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sandbox import PROVIDERS, ProviderSandbox
from sandbox.demo import load_demo
from sandbox.demo_tenant import demo_tenant_load, script_demo_calls

DEFAULT_PORT_BASE = 8900


class Command(BaseCommand):
    help = "Run the platform with the provider sandbox and a demo tenant (offline; Ctrl-C stops)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sandbox-port-base", type=int, default=DEFAULT_PORT_BASE)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--pace", type=float, default=1.0, help="seconds between the steps of a demo call")
        parser.add_argument("--no-serve", action="store_true", help="load the demo and stop (tests)")

    def handle(
        self, *args: Any, sandbox_port_base: int, host: str, pace: float, no_serve: bool, **options: Any
    ) -> None:
        if settings.NODE_ENV == "production":
            raise CommandError("the demo is a development tool; it does not run under NODE_ENV=production")
        origin = f"http://localhost:{settings.PORTS['landing']}"
        # Everything handed to the providers points at this one process (make run's port), not
        # at API_PORT, whatever .env says: the sandbox calls back the server it is talking to.
        settings.API_URL, settings.WS_URL, settings.APP_URL = f"{origin}/api/v1", origin, origin
        ports = {name: sandbox_port_base + i for i, name in enumerate(PROVIDERS)} if sandbox_port_base else {}
        sandbox = ProviderSandbox(ports).start()
        try:
            settings.PROVIDER_BASE_URLS = dict(sandbox.base_urls)
            load_demo(sandbox)
            script_demo_calls(sandbox, pace=pace)
            tenant = demo_tenant_load()
            self._announce(origin, tenant)
            if not no_serve:
                call_command("serve", "all", "--noreload", host=host)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping the demo.")
        finally:
            sandbox.stop()

    def _announce(self, origin: str, tenant: Any) -> None:
        self.stdout.write(
            "\nPrixAgent demo (offline: every provider is the local sandbox)\n"
            f"  Dashboard: {origin}/app/\n"
            f"  Log in:    {tenant.owner.email} / {tenant.password}\n"
            f"  Then:      Calls → “Call a contact now” (or a contact's “Call now”): watch it ring, the\n"
            f"             agent book an appointment, the transcript, summary and booking arrive.\n"
            f"  Inbound:   curl -X POST -H 'Content-Type: application/json' -d "
            f'\'{{"to": "{tenant.agent.inbound_numbers.first().phone_number}", "from": "+14155550142"}}\' '
            f"{settings.PROVIDER_BASE_URLS['twilio']}/_sandbox/calls/inbound\n"
            "  Ctrl-C stops the platform and the sandbox.\n"
        )
