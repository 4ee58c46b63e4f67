"""A deploy hands sockets over cleanly: on SIGTERM the production command closes
every WebSocket with 1001 or 1012, and the consumers' disconnect work runs."""

import asyncio
import signal
import time
from pathlib import Path

{% if cookiecutter.channel_layer == "redis" -%}
from redis import Redis
{% endif -%}
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

{% if cookiecutter.channel_layer == "redis" -%}
from .redis_server import RedisServer
{% endif -%}
from .servers import start_server, stop_server

# 1001: going away ({{ cookiecutter.project_slug }}/serve.py); 1012: service restart
# (Uvicorn). Either tells a client to reconnect.
HANDED_OVER = {1001, 1012}
{%- if cookiecutter.asgi_server == "uvicorn" %}
# Uvicorn ends by raising the signal again once it has shut down, as a process
# that had no handler would: its exit status says it was stopped, not crashed.
STOPPED = -signal.SIGTERM
{%- else %}
STOPPED = 0
{%- endif %}


async def close_code(client: ClientConnection) -> int | None:
    """The code of the close frame the server sends, waiting for it."""
    try:
        while True:
            await client.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None  # None: no close frame


async def test_sigterm_closes_every_socket_with_a_going_away_code(
    tmp_path: Path,{% if cookiecutter.channel_layer == "redis" %} redis_server: RedisServer{% endif %}
) -> None:
    log = tmp_path / "server.log"
    server = start_server("production", log)
    try:
        paths = ["/ws/sc/", "/ws/ac/"] + ["/ws/chat/handover/"] * 3
        clients = [await connect(server.url + path) for path in paths]
        await clients[-1].send('{"message": "in the room"}')
        for client in clients[2:]:  # every chat socket is in the room
            assert await asyncio.wait_for(client.recv(), 10)
        stopped = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        codes = await asyncio.wait_for(
            asyncio.gather(*(close_code(client) for client in clients)), 10
        )
        assert set(codes) <= HANDED_OVER, codes
        assert server.process.wait(timeout=10 - (time.monotonic() - stopped)) == STOPPED
    finally:
        stop_server(server.process)
    output = log.read_text()
{%- if cookiecutter.asgi_server == "daphne" %}
    # Every consumer ended on its own, after its disconnect: none was cancelled.
    assert "Closed 5 sockets with 1001;" in output, output
    assert "cancelled 0 consumers" in output, output
{%- else %}
    # Uvicorn cancels what is still running past --timeout-graceful-shutdown.
    assert "timeout graceful shutdown exceeded" not in output, output
{%- endif %}
{%- if cookiecutter.channel_layer == "redis" %}
    # The disconnect work ran: the room's members left it, and its presence.
    redis = Redis.from_url(redis_server.url)
    assert redis.zcard("asgi:group:chat_handover") == 0
    assert redis.zcard("asgi:presence:chat_handover") == 0
{%- endif %}
