#!/usr/bin/env bash
# The main job on a machine without a GPU: set-up, then `prlm demo` (train a
# small tokenizer, initialise a small Qwen2 model, sample from it, report
# tokens/s). Extra arguments go to `prlm demo` (see build/prlm demo --help).
set -euo pipefail
cd "$(dirname "$0")/.."
launch/setup.sh
exec build/prlm demo "$@"
