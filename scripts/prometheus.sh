#!/bin/sh
# Prints the path of a binary from Debian's `prometheus` package (`prometheus`, the
# server, or `promtool`; default `prometheus`), installing the package when the binary
# is not on the PATH and apt-get can be used. Exits non-zero, with the reason on
# stderr, when neither works. Used by tests/prometheus.rs and tests/prometheus_fleet.rs.
set -u
BIN="${1:-prometheus}"
case "$BIN" in
    prometheus|promtool) ;;
    *) echo "usage: $0 [prometheus|promtool]" >&2; exit 2 ;;
esac
if command -v "$BIN" >/dev/null 2>&1; then
    command -v "$BIN"
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
        echo "$BIN not found and installing needs root" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
# The package's service is not wanted: tests start their own server on a free port.
if ! $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1; then
    $SUDO apt-get update -qq >/dev/null 2>&1
    if ! $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1; then
        echo "apt-get install prometheus failed" >&2
        exit 1
    fi
fi
command -v "$BIN" || { echo "prometheus installed but $BIN missing" >&2; exit 1; }
