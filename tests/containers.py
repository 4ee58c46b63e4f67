"""What the container tests need and this machine lacks: a daemon, base images, PyPI.

No image registry is reachable here, and pip inside a container cannot reach the
package index. So the tests start their own dockerd, build stand-in base images from
Debian packages with debootstrap, and serve a wheelhouse made on the host; the
generated project's Dockerfile and compose.yaml take all three through their build
arguments and variables. The stand-ins have their own names: no official image name
is ever tagged on this machine.
"""

import concurrent.futures
import functools
import hashlib
import http.server
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

DEBIAN_MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
SUITE = "trixie"  # Python 3.13.5: newer than the 3.13.0 that builds the wheelhouse

# What the official postgres image does and compose.yaml relies on: a first start on
# an empty volume makes the cluster, the postgres superuser's password (checked over
# TCP, from any address) and POSTGRES_DB; later starts reuse them.
POSTGRES_ENTRYPOINT = """\
#!/bin/sh
set -eu
: "${POSTGRES_PASSWORD:?must be set, as the official image requires}"
# A fresh volume is root's; pg_isready looks for the socket in /run/postgresql.
install -d -o postgres -g postgres -m 700 "$PGDATA"
install -d -o postgres -g postgres /run/postgresql
as_postgres="setpriv --reuid=postgres --regid=postgres --init-groups"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    password=$(mktemp) && chown postgres "$password"
    printf '%s\\n' "$POSTGRES_PASSWORD" > "$password"
    $as_postgres initdb --pgdata="$PGDATA" --username=postgres --pwfile="$password" \\
        --auth-local=trust --auth-host=scram-sha-256 > /dev/null
    rm "$password"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    if [ "${POSTGRES_DB:-postgres}" != postgres ]; then
        # Single-user mode: no server to start and stop just for this.
        echo "CREATE DATABASE \\"$POSTGRES_DB\\"" |
            $as_postgres postgres --single -D "$PGDATA" postgres > /dev/null
    fi
fi
exec $as_postgres postgres
"""
POSTGRES_BIN = "/usr/lib/postgresql/17/bin"  # Debian's real binaries: no wrappers


class BaseImage(NamedTuple):
    packages: tuple[str, ...]
    remove: tuple[str, ...] = ()  # files or folders
    write: tuple[tuple[str, str], ...] = ()  # (path, text): executables
    changes: tuple[str, ...] = ()  # docker import --change: an import has no CMD


# Stand-ins for python:*-slim, redis, nginx and postgres.
BASE_IMAGES = {
    "python": BaseImage(("python3", "python3-venv")),
    "redis": BaseImage(("redis-server",)),
    # Debian's default site would take the default_server the project's config sets.
    "nginx": BaseImage(("nginx",), ("etc/nginx/sites-enabled/default",)),
    "postgres": BaseImage(
        ("postgresql-17",),  # 17, as compose.yaml's postgres:17
        # The cluster the package's postinst made: this image makes its own.
        ("etc/postgresql/17", "var/lib/postgresql/17"),
        (("usr/local/bin/docker-entrypoint.sh", POSTGRES_ENTRYPOINT),),
        (
            f"ENV PATH={POSTGRES_BIN}:/usr/local/bin:/usr/bin:/bin",
            "ENV PGDATA=/var/lib/postgresql/data",
            # No STOPSIGNAL SIGINT as in the official image (import refuses it): the
            # SIGTERM's smart shutdown waits for clients, and compose stops web first.
            'CMD ["/usr/local/bin/docker-entrypoint.sh"]',
        ),
    ),
}
IMAGE_PREFIX = "channels-template-test"


def image_name(kind: str) -> str:
    # The tag names the recipe too: a cached image built from an older one is never
    # taken for the current one.
    recipe = hashlib.sha256(repr((SUITE, BASE_IMAGES[kind])).encode()).hexdigest()
    return f"{IMAGE_PREFIX}/{kind}:{SUITE}-{recipe[:12]}"


# The daemon keeps its images here between runs, so the stand-ins are built once per
# machine (a few minutes) rather than once per run.
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
DATA_ROOT = CACHE / "channels-template-tests" / "docker"


class DockerDaemon:
    """A dockerd of the test session's own, stopped by its PID at the end."""

    def __init__(self, folder: Path, data_root: Path = DATA_ROOT) -> None:
        self.folder = folder
        self.data_root = data_root
        self.socket = folder / "docker.sock"
        self.env = {**os.environ, "DOCKER_HOST": f"unix://{self.socket}"}
        self.env["DOCKER_BUILDKIT"] = "0"  # the classic builder: no buildx plugin here
        self.process: subprocess.Popen[bytes] | None = None

    def docker(self, *args: str, **kwargs) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", *args], env=self.env, capture_output=True, text=True, **kwargs
        )

    def start(self) -> None:
        dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
        if not os.access(dockerd, os.X_OK) or os.geteuid() != 0:
            raise RuntimeError(
                "The container tests start their own Docker daemon: they need root "
                "and dockerd (bash tests/system-packages.sh installs docker.io)."
            )
        log = self.folder / "dockerd.log"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [dockerd, "--data-root", str(self.data_root)]
                + ["--exec-root", str(self.folder / "exec")]
                + ["--pidfile", str(self.folder / "dockerd.pid")]
                + ["-H", f"unix://{self.socket}"],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    "dockerd exited at start: " + log.read_text()[-2000:].strip()
                )
            if self.docker("version").returncode == 0:
                return
            time.sleep(0.5)
        self.stop()
        raise RuntimeError("dockerd did not answer in 60 s: " + log.read_text()[-2000:])

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        running = self.docker("ps", "-q").stdout.split()
        if running:
            self.docker("rm", "-f", *running)
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        # dockerd leaves its network namespace mounted; unmount what it left.
        exec_root = str(self.folder / "exec")
        for line in Path("/proc/self/mounts").read_text().splitlines():
            mount_point = line.split()[1]
            if mount_point.startswith(exec_root):
                subprocess.run(["umount", "--lazy", mount_point], capture_output=True)


def build_base_image(daemon: DockerDaemon, kind: str, folder: Path) -> str:
    if daemon.docker("image", "inspect", image_name(kind)).returncode == 0:
        return image_name(kind)  # made by an earlier run on this machine
    recipe = BASE_IMAGES[kind]
    rootfs = folder / kind
    result = subprocess.run(
        ["debootstrap", "--variant=minbase", f"--include={','.join(recipe.packages)}"]
        + [SUITE, str(rootfs), DEBIAN_MIRROR],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"debootstrap {kind} failed: {result.stdout[-2000:]}")
    for relative in recipe.remove:
        if (rootfs / relative).is_dir():
            shutil.rmtree(rootfs / relative)
        else:
            (rootfs / relative).unlink(missing_ok=True)
    for relative, text in recipe.write:
        (rootfs / relative).write_text(text)
        (rootfs / relative).chmod(0o755)
    shutil.rmtree(rootfs / "var" / "cache" / "apt" / "archives", ignore_errors=True)
    tar = subprocess.Popen(
        ["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE
    )
    changes = [arg for change in recipe.changes for arg in ("--change", change)]
    imported = subprocess.run(
        ["docker", "import", *changes, "-", image_name(kind)],
        stdin=tar.stdout,
        env=daemon.env,
        capture_output=True,
        text=True,
    )
    tar.stdout.close()  # else a failed import leaves tar blocked on a full pipe
    tar.wait()
    shutil.rmtree(rootfs, ignore_errors=True)
    if imported.returncode != 0:
        raise RuntimeError(f"docker import {kind} failed: {imported.stderr}")
    return image_name(kind)


def build_base_images(daemon: DockerDaemon, folder: Path) -> dict[str, str]:
    """The stand-ins, bootstrapped side by side (mostly download time)."""
    with concurrent.futures.ThreadPoolExecutor(len(BASE_IMAGES)) as pool:
        futures = {
            kind: pool.submit(build_base_image, daemon, kind, folder)
            for kind in BASE_IMAGES
        }
        return {kind: future.result() for kind, future in futures.items()}


def build_wheelhouse(projects: list[Path], folder: Path, python: str) -> Path:
    """Wheels of every dependency of the projects, plus the build backend."""
    wheels = folder / "wheels"
    # One project at a time: renders of one template share their package name.
    for requirements in (["setuptools>=69", "wheel"], *([str(p)] for p in projects)):
        result = subprocess.run(
            [python, "-m", "pip", "wheel", "-q", "--wheel-dir", str(wheels)]
            + requirements,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"pip wheel failed: {result.stderr[-3000:]}")
    return wheels


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # pip's requests are not news


@contextmanager
def served(folder: Path) -> Iterator[str]:
    """Serve a folder on 127.0.0.1 (for pip's --find-links); yield its URL."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
