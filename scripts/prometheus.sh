#!/bin/sh
# Prints the path of a binary from Debian's `prometheus` package (`prometheus`, the
# server, or `promtool`; default `prometheus`), installing the package if needed. Used
# by tests/prometheus.rs and tests/prometheus_fleet.rs. The package's service is not
# wanted: tests start their own server on a free port.
set -u
BIN="${1:-prometheus}"
case "$BIN" in
    prometheus|promtool) ;;
    *) echo "usage: $0 [prometheus|promtool]" >&2; exit 2 ;;
esac
exec sh "$(dirname "$0")/apt-bin.sh" "$BIN" prometheus
