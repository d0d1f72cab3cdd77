"""bench/wsgi_bench.py's app (the platform plus the bare view) with production's database setting.

NODE_ENV=test (what the benchmarks run with, for throwaway secrets) sets CONN_MAX_AGE to 0 so the
test suite never keeps a connection open; production keeps them for 60 s. A server that opens a
PostgreSQL connection per request measures the connection, not the view, so the contacts
benchmarks put production's value back.
"""

from __future__ import annotations

from django.db import connections
from wsgi_bench import application  # noqa: F401 - what gunicorn serves

connections.settings["default"]["CONN_MAX_AGE"] = 60
