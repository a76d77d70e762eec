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


def fill_contacts(cursor, total: int, *, companies: int, tag: str) -> None:
    """`total` contacts of the current schema, set-wise in SQL, with the demo's names (so name
    searches meet a realistic spread), unique phones and e-mails, `companies` companies, and
    one second between creation times; the search indexes are in place while it fills, as in
    production."""
    from apps.contacts.demo import FIRST, LAST

    first = "ARRAY[" + ",".join(f"'{name}'" for name in FIRST) + "]"
    last = "ARRAY[" + ",".join(f"'{name}'" for name in LAST) + "]"
    step = 100_000
    for start in range(0, total, step):
        cursor.execute(
            "INSERT INTO contacts_contact (id, first_name, last_name, phone, email, company,"
            " job_title, status, tags, custom_fields, opt_out_reason, created_at)"
            f" SELECT gen_random_uuid(), ({first})[1 + g %% {len(FIRST)}],"
            f" ({last})[1 + (g / {len(FIRST)}) %% {len(LAST)}],"
            " '+9197' || lpad(g::text, 8, '0'), 'user.' || g || '@example.test',"
            f" 'Company ' || (g %% {int(companies)}), 'Buyer',"
            " (ARRAY['lead','customer','active'])[1 + g %% 3],"
            " ARRAY[%s, 'tier' || (g %% 3)], jsonb_build_object('order_id', 'A' || g), '',"
            " now() - make_interval(secs => %s - g)"
            " FROM generate_series(%s, %s) AS g",
            [tag, total, start, min(start + step, total) - 1],
        )
    cursor.execute("ANALYZE contacts_contact")
