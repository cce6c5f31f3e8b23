#!/bin/sh
# Prints the path of `pdftoppm` (Debian's `poppler-utils`), installing it if needed.
# Used by tests/browser.rs to render the PDF report's pages.
set -u
exec sh "$(dirname "$0")/apt-bin.sh" pdftoppm poppler-utils
