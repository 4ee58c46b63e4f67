"""The churn test's window into its server: Python heap size and live consumers.

Python imports ``sitecustomize`` at startup from the first folder on sys.path that
has one. Only tests/test_churn.py puts this folder on its server's PYTHONPATH, so
only that process answers on a Unix socket; a production server never loads
this file and pays nothing for it.

Tracing (tracemalloc) starts at the first measurement, after the warm-up: it makes
every allocation about four times slower, and what the warm-up allocated is not
the question. Growth from then on is traced, frees of older memory are not.
"""

import gc
import json
import os
import socket
import sys
import threading
import tracemalloc


def measure() -> dict[str, int]:
    """The traced heap after a full collection, and the consumer instances alive."""
    if not tracemalloc.is_tracing():
        tracemalloc.start()
    gc.collect()
    consumer = sys.modules.get("channels.consumer")
    alive = 0
    if consumer is not None:
        alive = sum(isinstance(obj, consumer.AsyncConsumer) for obj in gc.get_objects())
    return {"heap": tracemalloc.get_traced_memory()[0], "consumers": alive}


def answer(listener: socket.socket) -> None:
    while True:
        connection, _ = listener.accept()
        with connection:
            connection.sendall(json.dumps(measure()).encode())


if "LEAK_PROBE_SOCKET" in os.environ:
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(os.environ["LEAK_PROBE_SOCKET"])
    listener.listen()
    # A thread, not the event loop: it answers whatever the server is doing.
    threading.Thread(target=answer, args=(listener,), daemon=True).start()
