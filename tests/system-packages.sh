#!/usr/bin/env bash
# Install the Debian packages the tests start for real, when missing: Redis for the
# channel layer, PostgreSQL for database=postgres, nginx for deploy/nginx.conf,
# Chromium for the demo page, openssl for a test certificate, Docker, Compose and
# debootstrap for the container tests.
set -euo pipefail

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
# Debian keeps initdb and postgres off PATH, in /usr/lib/postgresql/<version>/bin.
command -v initdb >/dev/null || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null \
  || missing+=(postgresql)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
command -v openssl >/dev/null || missing+=(openssl)
# The container tests: their own Docker daemon, Compose v1, and debootstrap for
# stand-in base images (no image registry is needed).
command -v dockerd >/dev/null || [ -x /usr/sbin/dockerd ] || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "The tests need: ${missing[*]}. Install them with your package manager" \
    "(set CHROMIUM_PATH if Chromium lives elsewhere), then run the tests again." >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
