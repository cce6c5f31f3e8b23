#!/bin/sh
# Prints the path of promtool, installing Debian's `prometheus` package if needed; see
# prometheus.sh.
exec sh "$(dirname "$0")/prometheus.sh" promtool
