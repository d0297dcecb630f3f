#!/usr/bin/env bash
# Installs the Debian packages the tests and the system test need (PostgreSQL server, Redis server, and for
# the browser tests Chromium and a font; Playwright drives that Chromium over its own pipe: no WebDriver, no
# browser download), when they are missing. Nothing is started here: tests and scripts start their own
# servers in temporary directories. Needs root (or sudo) the first time; does nothing when everything is present.
set -euo pipefail

need=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
command -v redis-server >/dev/null || need+=(redis-server)
[ -x /usr/bin/chromium ] || need+=(chromium)
compgen -G "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf" >/dev/null || need+=(fonts-dejavu-core)
[ ${#need[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then SUDO=sudo; else
        echo "system-deps: missing ${need[*]}; install them (apt-get install ${need[*]}) or run as root" >&2
        exit 1
    fi
fi
echo "system-deps: installing ${need[*]} from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
