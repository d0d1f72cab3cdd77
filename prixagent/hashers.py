"""A cheap Argon2 for the test suite only: the same algorithm and stored format as production,
with the smallest cost parameters, so creating hundreds of test users takes milliseconds."""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class TestArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 8  # KiB: argon2's minimum for parallelism 1
    parallelism = 1
