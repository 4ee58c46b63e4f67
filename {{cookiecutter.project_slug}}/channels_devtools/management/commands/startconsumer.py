"""manage.py startconsumer NAME [--sync|--async|--json|--stream] [--app LABEL].

It writes the class into the Channels app's consumers.py, its route ws/NAME/ into that
app's routing.py and a test into tests/, all in the style ruff expects, so the project
keeps passing its checks. The Channels app is the installed app of this project that
has a routing.py; --app picks one when there are several.
"""

import ast
import keyword
import re
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

NAME = re.compile(r"[a-z][a-z0-9_]{0,29}")

CONSUMERS = {
    "sync": '''

class {cls}(QueuedSendDispatch, SyncConsumer):
    """ws/{name}/: runs in a worker thread; put your logic in websocket_receive."""

    channel_layer_alias = None  # type: ignore[assignment]  # see MySyncConsumer

    def websocket_connect(self, event: Event) -> None:
        self.send({{"type": "websocket.accept"}})

    def websocket_receive(self, event: Event) -> None:
        self.send(echo(event))

    def websocket_disconnect(self, event: Event) -> None:
        raise StopConsumer()
''',
    "async": '''

class {cls}(AsyncConsumer):
    """ws/{name}/: runs on the event loop; put your logic in websocket_receive."""

    channel_layer_alias = None  # type: ignore[assignment]  # see MySyncConsumer

    async def websocket_connect(self, event: Event) -> None:
        await self.send({{"type": "websocket.accept"}})

    async def websocket_receive(self, event: Event) -> None:
        await self.send(echo(event))

    async def websocket_disconnect(self, event: Event) -> None:
        raise StopConsumer()
''',
    "json": '''

class {cls}(AsyncJsonWebsocketConsumer):
    """ws/{name}/: JSON in, JSON out; put your logic in receive_json."""

    async def connect(self) -> None:
        await self.accept()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        await self.send_json(content)
''',
    "stream": '''

class {cls}(AsyncJsonWebsocketConsumer):
    """Sends {{"tick": n}} every `period` seconds until its socket closes.

    A loop in connect() would never return, so the consumer could not even see
    its disconnect: the loop runs as a task instead, started on connect and
    cancelled on disconnect. Put what you send in tick().
    """

    channel_layer_alias = None  # type: ignore[assignment]  # see MySyncConsumer
    period = 1.0  # seconds between two messages
    ticker: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        await self.accept()
        self.ticker = asyncio.create_task(self.tick())

    async def disconnect(self, code: int) -> None:
        if self.ticker is not None:
            self.ticker.cancel()
            # Wait until it has stopped: no task outlives its consumer.
            await asyncio.gather(self.ticker, return_exceptions=True)

    async def tick(self) -> None:
        count = 0
        while True:
            count += 1
            await self.send_json({{"tick": count}})
            await asyncio.sleep(self.period)
''',
}

TEST = '''"""{cls} at ws/{name}/, as written by manage.py startconsumer."""

from channels.testing import WebsocketCommunicator

from {asgi_module} import application


async def test_{name}_consumer_echoes() -> None:
    communicator = WebsocketCommunicator(application, "/ws/{name}/")
    accepted, _ = await communicator.connect()
    assert accepted
{exchange}
    await communicator.disconnect()
'''

TEST_STREAM = '''"""{cls} at ws/{name}/, from manage.py startconsumer --stream."""

import asyncio
import json

import pytest
from channels.testing import WebsocketCommunicator

from {app_module}.consumers import {cls}


async def received(communicator: WebsocketCommunicator) -> object:
    frame = await communicator.receive_from(timeout=5)
    # receive_from() gives str | bytes; a JSON consumer sends text frames.
    assert isinstance(frame, str)
    return json.loads(frame)


async def test_{name}_consumer_ticks_and_stops_cleanly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr({cls}, "period", 0.01)
    before = asyncio.all_tasks()
    consumer = {cls}.as_asgi()
    communicator = WebsocketCommunicator(consumer, "/ws/{name}/")
    accepted, _ = await communicator.connect()
    assert accepted
    assert await received(communicator) == {{"tick": 1}}
    assert await received(communicator) == {{"tick": 2}}
    await communicator.send_input({{"type": "websocket.disconnect", "code": 1000}})
    # The consumer ends by itself (disconnect() cancels the ticker), within 5 s.
    await asyncio.wait_for(communicator.future, timeout=5)
    assert asyncio.all_tasks() - before == set()  # no ticker left behind
'''

EXCHANGES = {
    "raw": """    await communicator.send_to(text_data="hello")
    assert await communicator.receive_from() == "hello\"""",
    "json": """    await communicator.send_json_to({"hello": "world"})
    assert await communicator.receive_json_from() == {"hello": "world"}""",
}


class Command(BaseCommand):
    help = "Add a consumer to consumers.py, route it at ws/NAME/ and write its test."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="lowercase, e.g. live_scores")
        kind = parser.add_mutually_exclusive_group()
        for flag, help_text in [
            ("--sync", "a raw SyncConsumer (runs in a worker thread)"),
            ("--async", "a raw AsyncConsumer (the default)"),
            ("--json", "an AsyncJsonWebsocketConsumer"),
            ("--stream", "a JSON consumer that sends on a timer (a live clock)"),
        ]:
            kind.add_argument(
                flag,
                dest="kind",
                action="store_const",
                const=flag[2:],
                help=help_text,
            )
        parser.add_argument(
            "--app",
            dest="app_label",
            help="the app to add it to (default: the one app with a routing.py)",
        )

    def handle(
        self,
        *args: Any,
        name: str,
        kind: str | None,
        app_label: str | None,
        **options: Any,
    ) -> None:
        kind = kind or "async"
        cls = "".join(part.title() for part in name.split("_")) + "Consumer"
        app_dir = channels_app_dir(app_label)
        consumers = app_dir / "consumers.py"
        routing = app_dir / "routing.py"
        test = Path(settings.BASE_DIR) / "tests" / f"test_{name}_consumer.py"
        self.refuse_bad_name(name)
        self.refuse_duplicates(name, cls, consumers, routing, test)

        source = consumers.read_text()
        if kind == "stream":
            source = add_import(source, "asyncio")
        consumers.write_text(
            source.rstrip("\n") + "\n" + CONSUMERS[kind].format(cls=cls, name=name)
        )
        add_route(routing, f'    path("ws/{name}/", consumers.{cls}.as_asgi()),\n')
        if kind == "stream":
            app_module = next(
                config.name
                for config in apps.get_app_configs()
                if Path(config.path) == app_dir
            )
            test.write_text(
                TEST_STREAM.format(cls=cls, name=name, app_module=app_module)
            )
        else:
            asgi_module = settings.ASGI_APPLICATION.rpartition(".")[0]
            exchange = EXCHANGES["json" if kind == "json" else "raw"]
            test.write_text(
                TEST.format(
                    cls=cls, name=name, asgi_module=asgi_module, exchange=exchange
                )
            )
        self.stdout.write(
            f"{cls} ({kind}) added to {app_dir.name}/consumers.py, routed at "
            f"ws/{name}/ in {app_dir.name}/routing.py, tested in tests/{test.name}."
        )

    def refuse_bad_name(self, name: str) -> None:
        if not NAME.fullmatch(name) or keyword.iskeyword(name):
            raise CommandError(
                f"{name!r} is not a consumer name: use up to 30 lowercase letters, "
                "digits and underscores, starting with a letter (e.g. live_scores)."
            )

    def refuse_duplicates(
        self, name: str, cls: str, consumers: Path, routing: Path, test: Path
    ) -> None:
        defined = {
            node.name
            for node in ast.parse(consumers.read_text()).body
            if isinstance(node, ast.ClassDef)
        }
        if cls in defined:
            raise CommandError(
                f"{cls} already exists in {consumers.parent.name}/consumers.py: "
                "choose another name."
            )
        if f'"ws/{name}/"' in routing.read_text():
            raise CommandError(
                f"ws/{name}/ is already routed in {routing.parent.name}/routing.py:"
                " choose another name."
            )
        if test.exists():
            raise CommandError(
                f"tests/{test.name} already exists: choose another name."
            )


def channels_app_dir(label: str | None) -> Path:
    """The folder of the project's app that routes WebSockets (has a routing.py)."""
    base_dir = Path(settings.BASE_DIR).resolve()
    candidates = {
        config.label: Path(config.path)
        for config in apps.get_app_configs()
        if (Path(config.path) / "routing.py").is_file()
        and Path(config.path).resolve().is_relative_to(base_dir)
    }
    if label is not None:
        if label not in candidates:
            raise CommandError(
                f"--app {label!r} is not an installed app of this project with a "
                f"routing.py: use one of {sorted(candidates) or 'none'}."
            )
        return candidates[label]
    if len(candidates) != 1:
        raise CommandError(
            f"{len(candidates)} installed apps of this project have a routing.py "
            f"({', '.join(sorted(candidates)) or 'none'}): name one with --app LABEL."
        )
    return next(iter(candidates.values()))


def add_import(source: str, module: str) -> str:
    """Add `import module` among the plain imports, where ruff's isort wants it."""
    imports = [node for node in ast.parse(source).body if isinstance(node, ast.Import)]
    if any(alias.name == module for node in imports for alias in node.names):
        return source
    lines = source.splitlines(keepends=True)
    # Before the first plain import that sorts after it, else after the last one.
    after = [node for node in imports if node.names[0].name > module]
    if after:
        index = after[0].lineno - 1
    elif imports:
        index = imports[-1].end_lineno or imports[-1].lineno
    else:
        raise CommandError(
            "consumers.py has no plain import statement (import json) to add "
            f"`import {module}` next to: add it by hand and run the command again."
        )
    return "".join(lines[:index] + [f"import {module}\n"] + lines[index:])


def add_route(routing: Path, line: str) -> None:
    """Insert the route as the last entry of websocket_urlpatterns."""
    source = routing.read_text()
    for node in ast.parse(source).body:
        if (
            isinstance(node, ast.Assign)
            and any(
                isinstance(t, ast.Name) and t.id == "websocket_urlpatterns"
                for t in node.targets
            )
            and isinstance(node.value, ast.List)
        ):
            lines = source.splitlines(keepends=True)
            closing = (node.value.end_lineno or 1) - 1  # the line holding "]"
            routing.write_text("".join(lines[:closing] + [line] + lines[closing:]))
            return
    raise CommandError(
        f"{routing.parent.name}/routing.py has no websocket_urlpatterns = [...] list "
        "to add the route to."
    )
