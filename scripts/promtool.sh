#!/bin/sh
# Prints the path of a promtool binary, installing Debian's `prometheus` package when
# none is on the PATH and apt-get can be used. Exits non-zero, with the reason on
# stderr, when neither works. Used by tests/prometheus.rs.
set -u
if command -v promtool >/dev/null 2>&1; then
    command -v promtool
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "promtool not found and apt-get is unavailable" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "promtool not found and installing needs root" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1; then
    $SUDO apt-get update -qq >/dev/null 2>&1
    if ! $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1; then
        echo "apt-get install prometheus failed" >&2
        exit 1
    fi
fi
command -v promtool || { echo "prometheus installed but promtool missing" >&2; exit 1; }
