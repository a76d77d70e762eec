"""Browser journeys: Playwright driving Debian's chromium against a LiveStack.

Each journey saves a screenshot of its last page; a failing one also saves the page's HTML and
its console log, all under tests/artifacts/e2e/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.e2e.stack import ARTIFACTS, LiveStack

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCREENSHOTS = ARTIFACTS / "e2e"
ABORTED = "error: htmx:sendAbort"
ABORTED_REQUEST_END = "error: htmx:afterRequest"


@pytest.fixture(scope="module")
def stack():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")
    live = LiveStack().start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.journey_failed = report.failed


@pytest.fixture
def page(browser, stack, request) -> Page:
    context = browser.new_context(base_url=stack.base_url)
    page = context.new_page()
    console: list[str] = []

    def on_console(message) -> None:
        text = f"{message.type}: {message.text}"
        # A request the browser aborts (a live-refresh poll in flight when a link is followed)
        # is reported by htmx as an afterRequest error followed by sendAbort; that pair is not
        # the page's error. Failed responses still log their own htmx:responseError.
        if text.startswith(ABORTED):
            if console and console[-1].startswith(ABORTED_REQUEST_END):
                console.pop()
            return
        console.append(text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    page.console_messages = console
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    if getattr(request.node, "journey_failed", False):
        (SCREENSHOTS / f"{name}.html").write_text(page.content())
        (SCREENSHOTS / f"{name}.console.log").write_text("\n".join(console))
    context.close()


def log_in(page: Page, email: str, password: str = "lynkist-demo") -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
