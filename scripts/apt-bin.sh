#!/bin/sh
# Prints the path of binary BIN (or file BIN, when it is an absolute path), installing Debian package PACKAGE (without its
# recommends) when BIN is not on the PATH and apt-get can be used. Exits non-zero, with
# the reason on stderr, when neither works. The real-tool scripts (prometheus.sh,
# chromium.sh, pdftoppm.sh) call it.
set -u
if [ $# -ne 2 ]; then
    echo "usage: $0 BIN PACKAGE" >&2
    exit 2
fi
BIN="$1"
PACKAGE="$2"
found() {
    case "$BIN" in
        /*) [ -e "$BIN" ] && echo "$BIN" ;;
        *) command -v "$BIN" ;;
    esac
}
if found >/dev/null 2>&1; then
    found
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "$BIN not found and apt-get is unavailable" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "$BIN not found and installing $PACKAGE needs root" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -qq --no-install-recommends "$PACKAGE" >/dev/null 2>&1; then
    $SUDO apt-get update -qq >/dev/null 2>&1
    if ! $SUDO apt-get install -y -qq --no-install-recommends "$PACKAGE" >/dev/null 2>&1; then
        echo "apt-get install $PACKAGE failed" >&2
        exit 1
    fi
fi
found || { echo "$PACKAGE installed but $BIN missing" >&2; exit 1; }
