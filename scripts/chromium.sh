#!/bin/sh
# Prints the path of Debian's headless-capable `chromium`, installing the package (and
# `fonts-dejavu-core`, so text renders) if needed. Used by tests/browser.rs.
set -u
DIR="$(dirname "$0")"
sh "$DIR/apt-bin.sh" /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf fonts-dejavu-core >/dev/null || true
exec sh "$DIR/apt-bin.sh" chromium chromium
