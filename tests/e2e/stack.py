"""A whole Lynkist on loopback for browser journeys: its own fresh database, migrated and
seeded by the real commands, served by gunicorn, with a Celery worker and beat, started exactly
as Procfile starts them. Nothing is shared with the pytest-django test database."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ARTIFACTS = ROOT / "tests" / "artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


class LiveStack:
    def __init__(self) -> None:
        self.database_name = f"lynkist_e2e_{secrets.token_hex(4)}"
        self.admin_url = _with_database(settings.DATABASE_URL, "postgres")
        self.database_url = _with_database(settings.DATABASE_URL, self.database_name)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.logs = ARTIFACTS / "e2e-logs"
        self.processes: list[subprocess.Popen] = []
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "lynkist.settings.local",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": settings.REDIS_URL,
            "DEBUG": "false",
            # Its own collected static files: collectstatic rewriting the shared folder while
            # another test process's WhiteNoise scans it made those tests fail.
            "STATIC_ROOT": str(ARTIFACTS / "e2e-static" / self.database_name),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": self.base_url,
            "LOG_LEVEL": "WARNING",
        }

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> LiveStack:
        self.logs.mkdir(parents=True, exist_ok=True)
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database_name}"')
        self.manage("migrate_schemas", "--noinput", "-v", "0")
        self.manage("collectstatic", "--noinput", "-v", "0")
        self.manage("seed_demo", "--contacts", "20")
        self._spawn(
            "web",
            [BIN / "gunicorn", "lynkist.wsgi", "--bind", f"127.0.0.1:{self.port}",
             "--workers", "2", "--threads", "4"],
        )  # fmt: skip
        self._spawn(
            "worker",
            [BIN / "celery", "-A", "lynkist", "worker", "--concurrency", "2",
             "--loglevel", "WARNING"],
        )  # fmt: skip
        self._spawn(
            "beat",
            [BIN / "celery", "-A", "lynkist", "beat", "--loglevel", "WARNING",
             "--schedule", str(self.logs / f"beat-{self.database_name}")],
        )  # fmt: skip
        self._wait_until_ready()
        return self

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database_name}" WITH (FORCE)')
        shutil.rmtree(self.env["STATIC_ROOT"], ignore_errors=True)

    # -- helpers ------------------------------------------------------------------------
    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-4000:]}")
        return result.stdout

    def _spawn(self, name: str, command: list) -> None:
        log = open(self.logs / f"{name}.log", "w")  # noqa: SIM115 - lives as long as the process
        self.processes.append(
            subprocess.Popen(
                [str(part) for part in command],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        )

    def _wait_until_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"a process of the stack exited; see {self.logs}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/readyz", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.25)
        raise RuntimeError(f"the stack did not become ready; see {self.logs}")
