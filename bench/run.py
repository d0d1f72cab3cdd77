"""Run every benchmark in bench/ and print their figures (no pass/fail on time)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SKIP = {"run.py", "wsgi_bench.py", "minimal_urls.py"}

for script in sorted(HERE.glob("*.py")):
    if script.name in SKIP or script.name.startswith("_"):
        continue
    print(f"== {script.stem}")
    sys.stdout.flush()
    subprocess.run([sys.executable, str(script)], check=False)
