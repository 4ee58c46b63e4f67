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
import http.server
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DEBIAN_MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
SUITE = "trixie"  # Python 3.13.5: newer than the 3.13.0 that builds the wheelhouse
# name -> (Debian packages, files to delete): stand-ins for python:*-slim, redis, nginx.
BASE_IMAGES = {
    "python": (["python3", "python3-venv"], []),
    "redis": (["redis-server"], []),
    # Debian's default site would take the default_server the project's config sets.
    "nginx": (["nginx"], ["etc/nginx/sites-enabled/default"]),
}
IMAGE_PREFIX = "channels-template-test"


def image_name(kind: str) -> str:
    return f"{IMAGE_PREFIX}/{kind}:{SUITE}"


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
    packages, remove = BASE_IMAGES[kind]
    rootfs = folder / kind
    result = subprocess.run(
        ["debootstrap", "--variant=minbase", f"--include={','.join(packages)}"]
        + [SUITE, str(rootfs), DEBIAN_MIRROR],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"debootstrap {kind} failed: {result.stdout[-2000:]}")
    for relative in remove:
        (rootfs / relative).unlink(missing_ok=True)
    shutil.rmtree(rootfs / "var" / "cache" / "apt" / "archives", ignore_errors=True)
    tar = subprocess.Popen(
        ["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE
    )
    imported = subprocess.run(
        ["docker", "import", "-", image_name(kind)],
        stdin=tar.stdout,
        env=daemon.env,
        capture_output=True,
        text=True,
    )
    tar.wait()
    shutil.rmtree(rootfs, ignore_errors=True)
    if imported.returncode != 0:
        raise RuntimeError(f"docker import {kind} failed: {imported.stderr}")
    return image_name(kind)


def build_base_images(daemon: DockerDaemon, folder: Path) -> dict[str, str]:
    """The three stand-ins, bootstrapped side by side (mostly download time)."""
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
