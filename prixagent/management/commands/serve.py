"""Serve one surface (or all) on its port from .env: `manage.py serve admin`."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from prixagent.surfaces import SURFACES

PORT_OF = {"all": "landing", "public": "landing", **{s: s for s in SURFACES}}


class Command(BaseCommand):
    help = "Serve a surface (all, public, landing, client, admin, api) on its port from .env."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("surface", nargs="?", default="all", choices=sorted(PORT_OF))
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--noreload", action="store_true")

    def handle(self, *args: Any, surface: str, host: str, noreload: bool, **options: Any) -> None:
        if settings.NODE_ENV == "production" and surface == "all":
            raise CommandError("serve all is for development; in production serve the admin on its own port")
        port = settings.PORTS[PORT_OF[surface]]
        # The autoreloader re-executes this process: the environment carries the surface.
        os.environ["PRIXAGENT_SURFACE"] = surface
        settings.SURFACE = surface
        self.stdout.write(f"Serving {surface} on http://{host}:{port}/")
        # No broker: periodic work (outbox relay, syncs, the dialer tick) runs in this process.
        # With the autoreloader, only the child that serves requests runs it.
        if not settings.REDIS_URL and (noreload or os.environ.get("RUN_MAIN") == "true"):
            from prixagent.periodic import InProcessScheduler

            InProcessScheduler().start()
            self.stdout.write("No REDIS_URL: background tasks run in this process.")
        call_command("runserver", f"{host}:{port}", use_reloader=not noreload)
