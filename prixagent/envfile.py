"""Create the root `.env` from `.env.example` on a fresh machine (`make run` does this).

Every placeholder secret gets a freshly generated value, DATABASE_URL is left empty (the
embedded SQLite database), API_URL points at the one-port development server, and the
generated admin password is printed once: it is stored nowhere else in clear text.
"""

from __future__ import annotations

import re
import secrets
import sys
from pathlib import Path

from prixagent.config import BASE_DIR, ENV_FILE

EXAMPLE = BASE_DIR / ".env.example"


def generated_values() -> dict[str, str]:
    return {
        "DATABASE_URL": "",
        "ADMIN_EMAIL": "admin@localhost",
        "ADMIN_PASSWORD": secrets.token_urlsafe(18),
        "JWT_SECRET": secrets.token_urlsafe(48),
        "JWT_REFRESH_SECRET": secrets.token_urlsafe(48),
        "SESSION_SECRET": secrets.token_urlsafe(48),
        "ENCRYPTION_KEY": secrets.token_hex(32),
        "API_URL": "http://localhost:3000/api/v1",
        "WS_URL": "http://localhost:3000",
        "ELEVENLABS_API_KEY": "",
        "ELEVENLABS_VOICE_ID": "",
        "PAYPAL_CLIENT_ID": "",
        "PAYPAL_SECRET": "",
    }


def render(example: str, values: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"{name}={values[name]}" if name in values else match.group(0)

    return re.sub(r"^([A-Z][A-Z0-9_]*)=.*$", replace, example, flags=re.MULTILINE)


def create_env(target: Path = ENV_FILE) -> bool:
    if target.exists():
        return False
    values = generated_values()
    target.write_text(render(EXAMPLE.read_text(), values))
    target.chmod(0o600)
    print(f"Created {target.name} with fresh secrets and the embedded SQLite database.")
    print(f"Platform admin: {values['ADMIN_EMAIL']} / {values['ADMIN_PASSWORD']}  (shown once; change it in .env)")
    return True


if __name__ == "__main__":
    create_env()
    sys.exit(0)
