#!/usr/bin/env bash
# A dry run of tests/gpu/run.sh on a Debian 12 CPU machine that has every
# package installed, made to look bare: in a private mount namespace the
# headers, CMake packages and Open MPI/PMIx trees of the packages run.sh
# carries (and FAISS and Boost, which it must not need) are hidden behind
# empty directories, so the build and mpirun can only use the private prefix.
# Needs root (unshare -m). Uses Debian's libtorch (CPU) and DEVICE=cpu.
#
#     tests/gpu/prepare.sh && tests/gpu/bare_dry_run.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-/tmp/prlm-gpu-dry-run}
EMPTY=$(mktemp -d)
HIDE=(
  /usr/include/spdlog /usr/include/fmt /usr/include/yaml-cpp /usr/include/gtest /usr/include/nlohmann
  /usr/include/faiss /usr/include/boost
  /usr/lib/x86_64-linux-gnu/cmake/spdlog /usr/lib/x86_64-linux-gnu/cmake/fmt /usr/lib/x86_64-linux-gnu/cmake/yaml-cpp
  /usr/lib/x86_64-linux-gnu/cmake/GTest /usr/lib/x86_64-linux-gnu/cmake/faiss /usr/lib/x86_64-linux-gnu/cmake/Boost-1.74.0
  /usr/share/cmake/nlohmann_json
  /usr/lib/x86_64-linux-gnu/openmpi /usr/lib/x86_64-linux-gnu/pmix2 /usr/share/openmpi /usr/share/pmix /etc/openmpi
)
unshare -m bash -c '
  set -e
  empty=$1; shift; out=$1; shift
  for d in "$@"; do [ -d "$d" ] && mount --bind "$empty" "$d"; done
  OUT=$out DEVICE=cpu TORCH_PREFIX=/usr/lib/x86_64-linux-gnu/cmake PREFIX=/tmp/prlm-gpu-dry-prefix \
    BUILD=/tmp/prlm-gpu-dry-build tests/gpu/run.sh
' bash "$EMPTY" "$OUT" "${HIDE[@]}"
