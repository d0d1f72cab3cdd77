"""The operator's security self-check (`manage.py security_check`), after the seed's
`scripts/security-check.js`: the real `.env` stays out of git, no placeholder or short secret
is in effect, and production does not run with DEBUG or a weak admin password.

Each check gives one line: OK, FAIL (what is wrong and the fix) or SKIP (cannot be checked
here). No check ever prints a secret: only variable names, lengths and file names.
"""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from prixagent.config import (
    KEYGEN_COMMAND,
    MIN_ADMIN_PASSWORD_LENGTH,
    MIN_PRODUCTION_SECRET_LENGTH,
    PLACEHOLDERS,
    SECRETGEN_COMMAND,
    admin_password_is_weak,
)

OK, FAIL, SKIP = "OK", "FAIL", "SKIP"
# Files that hold real configuration and must be ignored by git (the seed's .gitignore).
MUST_BE_IGNORED = (".env", ".env.local", ".env.production.local")
MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class CheckResult:
    status: str  # OK, FAIL or SKIP (could not be checked here; not a finding)
    name: str
    detail: str

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def line(self) -> str:
        return f"{self.status:<4} {self.name}: {self.detail}"


def _secrets_in_effect() -> dict[str, str]:
    """The platform secrets as the running settings see them, by .env variable name."""
    return {
        "SESSION_SECRET": settings.SECRET_KEY,
        "JWT_SECRET": settings.SIMPLE_JWT["SIGNING_KEY"],
        "JWT_REFRESH_SECRET": settings.JWT_REFRESH_SECRET,
        "ADMIN_PASSWORD": settings.ADMIN_PASSWORD,
        "ELEVENLABS_API_KEY": settings.ELEVENLABS_API_KEY,
        "ELEVENLABS_VOICE_ID": settings.ELEVENLABS_VOICE_ID,
        "PAYPAL_CLIENT_ID": settings.PAYPAL_CLIENT_ID,
        "PAYPAL_SECRET": settings.PAYPAL_SECRET,
    }


def _git(repo_dir: Path, *args: str) -> subprocess.CompletedProcess[str] | None:
    git = shutil.which("git")
    if git is None:
        return None
    return subprocess.run([git, "-C", str(repo_dir), *args], capture_output=True, text=True, check=False)  # noqa: S603


def check_env_not_tracked(repo_dir: Path) -> CheckResult:
    name = ".env not tracked by git"
    inside = _git(repo_dir, "rev-parse", "--is-inside-work-tree")
    if inside is None:
        return CheckResult(SKIP, name, "git is not installed")
    if inside.returncode != 0:
        return CheckResult(SKIP, name, f"{repo_dir} is not a git checkout")
    tracked = _git(repo_dir, "ls-files", "--error-unmatch", ".env")
    if tracked is not None and tracked.returncode == 0:
        return CheckResult(FAIL, name, ".env is committed; run `git rm --cached .env`, then rotate every secret in it")
    return CheckResult(OK, name, ".env is not in the index")


def _ignored(path: str, rules: list[str]) -> bool:
    ignored = False
    for rule in rules:
        negated = rule.startswith("!")
        pattern = rule[1:] if negated else rule
        if fnmatch.fnmatch(path, pattern.lstrip("/")):
            ignored = not negated  # the last matching rule wins, as in git
    return ignored


def check_gitignore(repo_dir: Path) -> CheckResult:
    name = ".gitignore has .env rules"
    gitignore = repo_dir / ".gitignore"
    if not gitignore.exists():
        return CheckResult(FAIL, name, f"{gitignore} is missing; add it with a `.env` rule")
    rules = [line.strip() for line in gitignore.read_text().splitlines() if line.strip() and not line.startswith("#")]
    missing = [path for path in MUST_BE_IGNORED if not _ignored(path, rules)]
    if missing:
        return CheckResult(FAIL, name, f"not ignored: {', '.join(missing)}; add them to .gitignore")
    return CheckResult(OK, name, f"ignores {', '.join(MUST_BE_IGNORED)}")


def check_env_file_mode(repo_dir: Path) -> CheckResult:
    name = ".env readable only by its owner"
    env_file = repo_dir / ".env"
    if not env_file.exists():
        return CheckResult(SKIP, name, "no .env here (configuration comes from the environment)")
    mode = env_file.stat().st_mode & 0o777
    if mode & 0o077:
        return CheckResult(FAIL, name, f".env has mode {mode:o}; run `chmod 600 .env`")
    return CheckResult(OK, name, f"mode {mode:o}")


def check_no_placeholders(repo_dir: Path) -> CheckResult:
    name = "no placeholder secrets"
    found = [variable for variable, value in _secrets_in_effect().items() if value.strip() in PLACEHOLDERS]
    if found:
        return CheckResult(
            FAIL, name, f"{', '.join(found)} still hold the .env.example placeholder; set real values or leave empty"
        )
    return CheckResult(OK, name, "none of the .env.example placeholders is in effect")


def check_key_sizes(repo_dir: Path) -> CheckResult:
    name = "key sizes"
    problems = []
    keys = {"ENCRYPTION_KEY": settings.ENCRYPTION_KEY}
    keys.update({f"ENCRYPTION_RETIRED_KEYS[{i}]": k for i, k in enumerate(settings.ENCRYPTION_RETIRED_KEYS)})
    for variable, key in keys.items():
        if not isinstance(key, bytes) or len(key) != 32:
            problems.append(f"{variable} must be 32 bytes (generate: {KEYGEN_COMMAND})")
    minimum = MIN_PRODUCTION_SECRET_LENGTH if settings.NODE_ENV == "production" else MIN_SECRET_LENGTH
    secrets = _secrets_in_effect()
    for variable in ("SESSION_SECRET", "JWT_SECRET", "JWT_REFRESH_SECRET"):
        if len(secrets[variable]) < minimum:
            problems.append(
                f"{variable} has {len(secrets[variable])} characters, needs {minimum} (generate: {SECRETGEN_COMMAND})"
            )
    if problems:
        return CheckResult(FAIL, name, "; ".join(problems))
    return CheckResult(OK, name, f"ENCRYPTION_KEY 32 bytes, session and JWT secrets at least {minimum} characters")


def check_debug(repo_dir: Path) -> CheckResult:
    name = "DEBUG off in production"
    if settings.NODE_ENV == "production" and settings.DEBUG:
        return CheckResult(FAIL, name, "DEBUG is on with NODE_ENV=production")
    state = "off" if not settings.DEBUG else f"on (NODE_ENV={settings.NODE_ENV})"
    return CheckResult(OK, name, f"DEBUG is {state}")


def check_admin_password(repo_dir: Path) -> CheckResult:
    name = "ADMIN_PASSWORD not weak"
    password = str(settings.ADMIN_PASSWORD or "")
    if not password:
        return CheckResult(FAIL, name, "ADMIN_PASSWORD is empty; set one in .env and run `manage.py bootstrap_admin`")
    if admin_password_is_weak(password):
        return CheckResult(
            FAIL,
            name,
            f"use at least {MIN_ADMIN_PASSWORD_LENGTH} characters that are not a default like admin123, "
            "then run `manage.py bootstrap_admin`",
        )
    return CheckResult(OK, name, f"{len(password)} characters, not a known default")


CHECKS: tuple[Callable[[Path], CheckResult], ...] = (
    check_env_not_tracked,
    check_gitignore,
    check_env_file_mode,
    check_no_placeholders,
    check_key_sizes,
    check_debug,
    check_admin_password,
)


def security_checks_run(*, repo_dir: Path) -> list[CheckResult]:
    return [check(repo_dir) for check in CHECKS]
