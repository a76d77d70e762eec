"""Boot Django for a benchmark script (same settings and embedded servers as manage.py)."""

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def setup() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lynkist.settings.local")
    os.environ.setdefault("DEBUG", "false")
    import django

    django.setup()


def machine() -> str:
    return f"{platform.node()} ({os.cpu_count()} cores, Python {platform.python_version()})"


def record(title: str, command: str, lines: list[str]) -> None:
    """Print the figures and append them to bench/RESULTS.md with date, machine and command."""
    block = [
        f"## {title}",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {machine()}",
        f"- command: `{command}`",
        *[f"- {line}" for line in lines],
        "",
    ]
    print("\n".join(block))
    with RESULTS.open("a") as handle:
        handle.write("\n".join(block) + "\n")
