#!/usr/bin/env bash
# The whole test suite: set-up (packages, build), then every test under ctest.
# usage: launch/test.sh [extra ctest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
launch/setup.sh
ctest --test-dir build -j"$(nproc)" --output-on-failure "$@"
