"""The demo page in headless Chromium against the real server."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from websockets.sync.client import connect

from .accounts import PASSWORD, push_test_notification, session_cookie
from .servers import Server, free_port, start_server, stop_server

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


# Counts what the page does on the network: every WebSocket it makes (its URL), the
# close codes they get, and every token it asks for.
WATCH_THE_NETWORK = """
window.opened = [];
window.closeCodes = [];
window.tokenFetches = 0;
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(url, protocols) {
    super(url, protocols);
    window.opened.push(url);
    this.addEventListener("close", (event) => {
      window.closeCodes.push([url, event.code]);
    });
  }
};
const nativeFetch = window.fetch;
window.fetch = (input, init) => {
  if (String(input).includes("/ws-token/")) window.tokenFetches += 1;
  return nativeFetch(input, init);
};
"""
# The close code of the production server's SIGTERM (serve.py's, or Uvicorn's).
GOING_AWAY = {% if cookiecutter.asgi_server == "uvicorn" %}1012{% else %}1001{% endif %}


def stub_random(page: Page, value: float) -> None:
    """Math.random() returns value from the page's first script on: fixed delays."""
    page.add_init_script(f"Math.random = () => {value};")


def logged_in_page(browser: Browser, server: Server, session: str) -> Page:
    """A page of its own context, holding that session's cookie for server."""
    context = browser.new_context()
    context.add_cookies(
        [{"name": "sessionid", "value": session, "url": http_url(server)}]
    )
    context.add_init_script(WATCH_THE_NETWORK)
    return context.new_page()


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
    page.add_init_script(WATCH_THE_NETWORK)
    stub_random(page, 0.1)  # delays of 50 ms, 100 ms, ...: back soon after the start
    server = start_server("production", tmp_path / "first.log")
    paths = ["/ws/sc/", "/ws/ac/", "/ws/chat/lobby/"]
    try:
        page.goto(http_url(server))
        send(page, "/ws/ac/", "before")
        expect_received(page, "/ws/ac/", "before")
        for path in paths[::2]:
            expect(panel(page, path).locator(".state")).to_have_text("open")
    finally:
        stop_server(server.process)
    for path in paths:
        expect(panel(page, path).locator(".state")).to_have_text("closed")
    # A clean close from the server, which the client answers by reconnecting.
    first_codes = """(paths) => paths.map(
      (path) => closeCodes.find(([url]) => url.endsWith(path))?.[1])"""
    assert page.evaluate(first_codes, paths) == [GOING_AWAY] * 3
    screenshot(page, tmp_path / "server-down.png")

    again = start_server("production", tmp_path / "second.log", port=server.port)
    try:
        for path in ["/ws/sc/", "/ws/ac/"]:
            send(page, path, f"after {path}")
            expect_received(page, path, f"after {path}")
        expect(panel(page, paths[2]).locator(".state")).to_have_text("open")
        # No reload: the same page, and once open for 5 s (STEADY_AFTER) each
        # backoff starts again from 500 ms.
        attempts_reset = """(paths) => paths.every((path) =>
          document.querySelector(`.panel[data-path="${path}"]`)
            .panel.connection.attempt === 0)"""
        page.wait_for_function(attempts_reset, arg=paths, timeout=10_000)
        assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
        screenshot(page, tmp_path / "reconnected.png")
    finally:
        stop_server(again.process)


def test_the_chat_panel_shows_what_it_missed_while_its_server_was_down(
    page: Page, tmp_path: Path
) -> None:
    page.add_init_script(WATCH_THE_NETWORK)
    stub_random(page, 0.01)  # reconnect within 300 ms of the server's return
    room = "missed_while_down"  # a room of this test's own: no earlier history
    server = start_server("production", tmp_path / "first.log")
    chat = panel(page, "/ws/chat/lobby/")
    try:
        page.goto(http_url(server))
        expect(chat.locator(".state")).to_have_text("open", timeout=10_000)
        chat.locator("form.room [name=room]").fill(room)
        chat.locator("form.room button").click()
        send(page, "/ws/chat/lobby/", "said before")
        expect_received(page, "/ws/chat/lobby/", "said before")
    finally:
        stop_server(server.process)
    expect(chat.locator(".state")).to_have_text("closed")
    # Meanwhile someone says something through another server on the database.
    other = start_server("production", tmp_path / "other.log")
    try:
        with connect(f"ws://127.0.0.1:{other.port}/ws/chat/{room}/") as client:
            client.send('{"message": "while you were away"}')
            # Its history ("said before") and the room's presence come first.
            while "while you were away" not in client.recv(timeout=10):
                pass
    finally:
        stop_server(other.process)
    again = start_server("production", tmp_path / "second.log", port=server.port)
    try:
        expect_received(page, "/ws/chat/lobby/", "while you were away")
        send(page, "/ws/chat/lobby/", "said after")
        expect_received(page, "/ws/chat/lobby/", "said after")
        # Each once, in order, after the lobby's history: nothing replayed twice.
        received = chat.locator(".log li.received").all_text_contents()
        said = ["said before", "while you were away", "said after"]
        assert [text for text in received if text in said] == said
        reconnects = page.evaluate(
            "(room) => opened.filter((url) => url.includes(room))", room
        )
        assert "?since=" not in reconnects[0]  # a new room: its latest messages
        assert all("?since=" in url for url in reconnects[1:]), reconnects
    finally:
        stop_server(again.process)


def test_backoff_doubles_from_half_a_second_to_thirty_with_full_jitter(
    production_server: Server, page: Page
) -> None:
    page.goto(http_url(production_server))
    delays = """(value) => {
      Math.random = () => value;
      return [0, 1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => ReconnectingSocket.delay(n));
    }"""
    full = [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]
    assert page.evaluate(delays, 1) == full
    assert page.evaluate(delays, 0.5) == [delay / 2 for delay in full]


# A socket whose protocols() always fails, closed after `count` failed attempts:
# the [attempt, delay] of each.
FAILING_PROTOCOLS = """(count) => new Promise((resolve) => {
  Math.random = () => 2 ** -10;
  const seen = [];
  const probe = new ReconnectingSocket("/ws/probe/", {
    protocols: async () => {
      throw new Error("no token");
    },
    onState: (state, detail) => {
      if (state !== "closed") return;
      seen.push([detail.attempt, detail.delay]);
      if (seen.length === count) {
        probe.close();
        resolve(seen);
      }
    },
  });
})"""


def test_a_failed_protocols_call_backs_off_like_a_failed_connection(
    production_server: Server, page: Page
) -> None:
    page.add_init_script(WATCH_THE_NETWORK)
    page.goto(http_url(production_server))
    seen = page.evaluate(FAILING_PROTOCOLS, 4)
    assert seen == [[n, 500 * 2**n / 1024] for n in range(4)]
    # No token, no socket: the attempt ends before the handshake.
    assert not page.evaluate("opened.some((url) => url.endsWith('/ws/probe/'))")


def test_the_client_picks_ws_or_wss_from_the_page(
    production_server: Server, page: Page
) -> None:
    page.goto(http_url(production_server))
    url = "(path) => ReconnectingSocket.url(path)"
    own = f"ws://127.0.0.1:{production_server.port}/ws/sc/"
    assert page.evaluate(url, "/ws/sc/") == own
    api = "wss://api.example.com/ws/"  # a full URL stays as given
    assert page.evaluate(url, api) == api


# ReconnectingSocket on a page with no other socket (the log-in page), over a
# stand-in WebSocket that plays one outcome per connection: "refused" (closed with
# 1006, never open), "hold" (stays open), or a close code the server sends at once
# after opening ([code, ms] after ms). Every delay is 0 (Math.random); resolves with
# what onState saw once the outcomes ran out and the client holds or stops.
PLAY_OUTCOMES = """(outcomes) => new Promise((resolve) => {
  Math.random = () => 0;
  const plays = [...outcomes];
  const holdsAtTheEnd = outcomes.at(-1) === "hold";
  window.WebSocket = class extends EventTarget {
    static OPEN = 1;
    constructor() {
      super();
      this.readyState = 0;
      const outcome = plays.shift() ?? "refused";
      const [code, after] = Array.isArray(outcome) ? outcome : [outcome, 0];
      setTimeout(() => {
        const end = (code) => {
          this.readyState = 3;
          this.dispatchEvent(new CloseEvent("close", { code }));
        };
        if (code === "refused") return end(1006);
        this.readyState = 1;
        this.dispatchEvent(new Event("open"));
        if (code !== "hold") setTimeout(() => end(code), after);
      });
    }
    close() {}
  };
  const seen = [];
  const client = new ReconnectingSocket("/ws/scripted/", {
    onState: (state, detail) => {
      seen.push(state === "closed" ? [state, detail.code, detail.attempt] : state);
      const done = plays.length === 0 && state === "open" && holdsAtTheEnd;
      if (["logged out", "access ended", "refused"].includes(state) || done) {
        resolve([...seen]); // before close(), which reports "stopped"
        client.close();
      }
    },
  });
})"""


def scripted_client_page(page: Page, server: Server) -> None:
    page.goto(http_url(server) + "accounts/login/")
    page.add_script_tag(url="/static/{{ cookiecutter.app_slug }}/socket.js")


def test_a_server_that_drops_each_connection_at_once_gets_growing_delays(
    production_server: Server, page: Page
) -> None:
    scripted_client_page(page, production_server)
    # Opened, then dropped before it was steady: the backoff keeps growing, as if
    # the connection had failed, so a flapping server is not hammered.
    seen = page.evaluate(PLAY_OUTCOMES, [1012, 1001, 4000, 1011, "hold"])
    connected = ["connecting", "open"]
    assert seen == [
        *connected,
        ["closed", 1012, 0],
        *connected,
        ["closed", 1001, 1],
        *connected,
        ["closed", 4000, 2],
        *connected,
        ["closed", 1011, 3],
        *connected,
    ]


def test_a_connection_that_stayed_open_starts_the_backoff_again(
    production_server: Server, page: Page
) -> None:
    scripted_client_page(page, production_server)
    page.evaluate("ReconnectingSocket.STEADY_AFTER = 50")
    # Two drops at once (attempts 0, 1), then one after 500 ms open: past the
    # 50 ms, so its reconnect waits as after a first failure again.
    seen = page.evaluate(PLAY_OUTCOMES, ["refused", 1012, [1012, 500], "hold"])
    assert [entry for entry in seen if entry[0] == "closed"] == [
        ["closed", 1006, 0],
        ["closed", 1012, 1],
        ["closed", 1012, 0],
    ]


@pytest.mark.parametrize(
    ("outcomes", "last"),
    [
        # A 4003 (new password, deactivated): one attempt, which the server
        # refuses (the session or token no longer holds): stop.
        ([4003, "refused"], "access ended"),
        # The password changed in this browser: the session holds, so it opens.
        ([4003, "hold"], "open"),
        # This session logged out: stop at once, with no attempt.
        ([4001, "hold"], "logged out"),
        # A request the server refused (a bad ?since=): the same again cannot do.
        ([4400, "hold"], "refused"),
    ],
)
def test_4001_4400_stop_and_4003_stops_unless_the_next_connection_opens(
    production_server: Server, page: Page, outcomes: list[object], last: str
) -> None:
    scripted_client_page(page, production_server)
    seen = page.evaluate(PLAY_OUTCOMES, outcomes)
    assert seen[-1] == last
    sockets = 1 if last in ("logged out", "refused") else 2
    assert seen.count("connecting") == sockets


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


# The page logs itself out, as a log-out form of the site would: its own session
# cookie, and the CSRF token of the push form.
LOG_OUT = """async () => {
  const csrf = document.querySelector("form.push [name=csrfmiddlewaretoken]");
  const body = new FormData();
  body.append("csrfmiddlewaretoken", csrf.value);
  const response = await fetch("/accounts/logout/", { method: "POST", body });
  return response.status;
}"""
# A clock that needs no sleep: a socket to a port where nothing listens fails and
# retries `count` times with the page's delays, then resolves.
COUNT_FAILURES = """([url, count]) => new Promise((resolve) => {
  let failures = 0;
  const probe = new ReconnectingSocket(url, {
    onState: (state) => {
      if (state === "closed" && ++failures === count) {
        probe.close();
        resolve(failures);
      }
    },
  });
})"""
NOTIFICATION_SOCKETS = """() => [
  opened.filter((url) => url.endsWith("/ws/notifications/")).length,
  tokenFetches,
]"""


def test_a_logout_stops_the_notifications_panel_for_good(
    server_with_users: Server, accounts: dict[str, str], browser: Browser
) -> None:
    session = session_cookie("alice", accounts)
    page = logged_in_page(browser, server_with_users, session)
    try:
        stub_random(page, 0)  # a reconnect would come at once: none may come
        page.goto(http_url(server_with_users))
        state = panel(page, "/ws/notifications/").locator(".state")
        expect(state).to_have_text("open", timeout=10_000)
        assert page.evaluate(NOTIFICATION_SOCKETS) == [1, 1]

        assert page.evaluate(LOG_OUT) == 200
        expect(state).to_have_text("logged out", timeout=10_000)
        # 20 failed connections of another socket on the same clock: time for 20
        # reconnects of the panel, which made no socket and asked for no token.
        nowhere = f"ws://127.0.0.1:{free_port()}/"
        assert page.evaluate(COUNT_FAILURES, [nowhere, 20]) == 20
        assert page.evaluate(NOTIFICATION_SOCKETS) == [1, 1]
        expect(state).to_have_text("logged out")
        assert page.evaluate("closeCodes.map(([, code]) => code)").count(4001) >= 1
    finally:
        page.context.close()


def test_notifications_come_back_with_a_fresh_token_after_a_restart(
    accounts: dict[str, str], browser: Browser, tmp_path: Path
) -> None:
    server = start_server("production", tmp_path / "first.log", env=accounts)
    session = session_cookie("alice", accounts)
    page = logged_in_page(browser, server, session)
    try:
        stub_random(page, 0.1)
        page.goto(http_url(server))
        state = panel(page, "/ws/notifications/").locator(".state")
        expect(state).to_have_text("open", timeout=10_000)
        stop_server(server.process)
        expect(state).to_have_text("closed")
        server = start_server(
            "production", tmp_path / "second.log", port=server.port, env=accounts
        )
        expect(state).to_have_text("open", timeout=10_000)
        # A token per connection (one lasts 5 minutes), still offered as a subprotocol.
        sockets, tokens = page.evaluate(NOTIFICATION_SOCKETS)
        assert sockets >= 2 and tokens >= sockets
        protocol = "document.querySelector('.notifications').panel.socket.protocol"
        assert page.evaluate(protocol) == "bearer"
        push_test_notification(server, session)
        expect_received(page, "/ws/notifications/", "Test notification for alice.")
    finally:
        page.context.close()
        stop_server(server.process)
