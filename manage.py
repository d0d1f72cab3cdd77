#!/usr/bin/env python
"""Django's command-line utility. A bad .env stops every command with one readable line."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prixagent.settings")
    from django.core.management import execute_from_command_line

    from prixagent.config import ConfigError
    from prixagent.startup import exit_with

    try:
        execute_from_command_line(sys.argv)
    except ConfigError as exc:
        exit_with(exc)


if __name__ == "__main__":
    main()
