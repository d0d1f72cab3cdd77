"""A test-only app: a second model with encrypted columns (installed only when NODE_ENV=test).

It stands in for the coming tenant-owned secrets (webhook secrets, per-call tokens): rows of
one tenant, bound to their own primary key, assigned in Python before the first save.
"""
