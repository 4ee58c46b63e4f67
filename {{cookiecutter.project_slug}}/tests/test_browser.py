"""The demo page in headless Chromium against the real server."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from .accounts import PASSWORD, push_test_notification, session_cookie
from .servers import Server, start_server, stop_server

# Debian's chromium; Playwright drives it and downloads no browser of its own.
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling home.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(
            f"No Chromium at {CHROMIUM}: apt-get install chromium, "
            "or set CHROMIUM_PATH to a Chromium or Chrome binary."
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = browser.new_page()
    yield page
    page.close()


def http_url(server: Server) -> str:
    return f"http://127.0.0.1:{server.port}/"


def panel(page: Page, path: str):  # noqa: ANN201 (a Playwright Locator)
    return page.locator(f'.panel[data-path="{path}"]')


def send(page: Page, path: str, text: str) -> None:
    box = panel(page, path)
    expect(box.locator(".state")).to_have_text("open", timeout=10_000)
    box.locator("form.send [name=message]").fill(text)
    box.locator("form.send button").click()


def expect_received(page: Page, path: str, text: str) -> None:
    log = panel(page, path).locator(".log li.received")
    expect(log.filter(has_text=text)).to_have_count(1, timeout=10_000)


def screenshot(page: Page, path: Path) -> None:
    page.screenshot(path=path, full_page=True)
    print(f"screenshot: {path}")


@pytest.mark.parametrize("path", ["/ws/sc/", "/ws/ac/"])
def test_echo_panels_echo_in_the_browser(
    server: Server, page: Page, path: str, tmp_path: Path
) -> None:
    page.goto(http_url(server))
    send(page, path, f"hello {path}")
    expect_received(page, path, f"hello {path}")
    screenshot(page, tmp_path / "demo.png")


def test_two_pages_in_one_room_see_each_other(
    server: Server, browser: Browser, tmp_path: Path
) -> None:
    alice, bob = browser.new_page(), browser.new_page()
    try:
        for page in (alice, bob):
            page.goto(http_url(server))
        # A page hears only what is said after it joined: both must be in the room
        # (the consumer joins before it accepts) before anyone speaks.
        for page in (alice, bob):
            state = panel(page, "/ws/chat/lobby/").locator(".state")
            expect(state).to_have_text("open", timeout=10_000)
        send(alice, "/ws/chat/lobby/", "hi from alice")
        send(bob, "/ws/chat/lobby/", "hi from bob")
        for page in (alice, bob):
            expect_received(page, "/ws/chat/lobby/", "hi from alice")
            expect_received(page, "/ws/chat/lobby/", "hi from bob")
        screenshot(bob, tmp_path / "chat.png")
    finally:
        alice.close()
        bob.close()


def test_the_chat_panel_counts_who_is_in_the_room(
    server: Server, browser: Browser
) -> None:
    room = f"presence_{server.kind}"  # a room of this test's own
    pages = [browser.new_page(), browser.new_page()]
    try:
        for number, page in enumerate(pages, 1):
            page.goto(http_url(server))
            chat = panel(page, "/ws/chat/lobby/")
            expect(chat.locator(".state")).to_have_text("open", timeout=10_000)
            chat.locator("form.room [name=room]").fill(room)
            chat.locator("form.room button").click()
            count = chat.locator(".presence")
            expect(count).to_have_text(f"{number} here", timeout=10_000)
        first = panel(pages[0], "/ws/chat/lobby/").locator(".presence")
        expect(first).to_have_text("2 here", timeout=10_000)
        pages.pop().close()
        expect(first).to_have_text("1 here", timeout=10_000)
    finally:
        for page in pages:
            page.close()


def test_panels_reconnect_after_the_server_restarts(page: Page, tmp_path: Path) -> None:
    server = start_server("production", tmp_path / "first.log")
    try:
        page.goto(http_url(server))
        send(page, "/ws/ac/", "before")
        expect_received(page, "/ws/ac/", "before")
    finally:
        stop_server(server.process)
    for path in ["/ws/sc/", "/ws/ac/", "/ws/chat/lobby/"]:
        expect(panel(page, path).locator(".state")).to_have_text("closed")
    screenshot(page, tmp_path / "server-down.png")

    again = start_server("production", tmp_path / "second.log", port=server.port)
    try:
        for path in ["/ws/sc/", "/ws/ac/"]:
            send(page, path, f"after {path}")
            expect_received(page, path, f"after {path}")
        screenshot(page, tmp_path / "reconnected.png")
    finally:
        stop_server(again.process)


def test_anonymous_page_shows_a_log_in_line(server: Server, page: Page) -> None:
    page.goto(http_url(server))
    line = page.locator(".notifications .login")
    expect(line).to_contain_text("Pushes go to logged-in users")
    expect(line.locator("a")).to_have_attribute("href", "/accounts/login/?next=/")
    expect(page.locator(".notifications form.push")).to_have_count(0)


def test_log_in_and_a_pushed_notification_shows_in_the_panel(
    server_with_users: Server, page: Page, tmp_path: Path
) -> None:
    page.goto(http_url(server_with_users))
    page.locator(".notifications .login a").click()
    page.locator("[name=username]").fill("alice")
    page.locator("[name=password]").fill(PASSWORD)
    page.locator("form.login button").click()
    expect(page).to_have_url(http_url(server_with_users))
    box = panel(page, "/ws/notifications/")
    expect(box.locator(".state")).to_have_text("open", timeout=10_000)
    # The panel signs in with a token from ws-token/, as a separate frontend must.
    protocol = "document.querySelector('.notifications').panel.socket.protocol"
    assert page.evaluate(protocol) == "bearer"
    box.locator("form.push button").click()
    expect_received(page, "/ws/notifications/", "Test notification for alice.")
    screenshot(page, tmp_path / "notifications.png")


# A separate frontend's code, as README.md (Who is connected) gives it: a token from
# the API's endpoint with the session cookie, then offered as a subprotocol.
FETCH_TOKEN = """async (api) => {
  const response = await fetch(api + "/ws-token/", {
    method: "POST",
    credentials: "include",
  });
  return (await response.json()).token;
}"""
OPEN_SOCKET = """([url, token]) => {
  const socket = new WebSocket(url, ["bearer", "bearer." + token]);
  const log = document.getElementById("log");
  socket.onopen = () => (document.title = "open: " + socket.protocol);
  socket.onmessage = (event) => {
    const entry = document.createElement("li");
    entry.textContent = JSON.parse(event.data).message;
    log.append(entry);
  };
}"""


def test_a_page_on_a_listed_origin_connects_with_a_token_from_the_endpoint(
    server_with_users: Server,
    accounts: dict[str, str],
    frontend_origin: str,
    browser: Browser,
) -> None:
    api = f"http://127.0.0.1:{server_with_users.port}"
    session = session_cookie("alice", accounts)
    context = browser.new_context()
    try:
        # Logged in to the API's site, as after its login page.
        context.add_cookies([{"name": "sessionid", "value": session, "url": api}])
        page = context.new_page()
        page.goto(frontend_origin + "/")
        token = page.evaluate(FETCH_TOKEN, api)
        # From here on the socket has the token alone to say who it is.
        context.clear_cookies()
        page.evaluate(
            OPEN_SOCKET, [server_with_users.url + "/ws/notifications/", token]
        )
        expect(page).to_have_title("open: bearer", timeout=10_000)
        push_test_notification(server_with_users, session)
        expect(page.locator("#log li")).to_have_text(
            ["Test notification for alice."], timeout=10_000
        )
    finally:
        context.close()
    assert token not in server_with_users.log.read_text()
