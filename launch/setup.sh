#!/usr/bin/env bash
# Installs every Debian and npm package prlm's build, tests and demo need, then
# configures and builds prlm (Release, ccache, ninja). Idempotent: a second run
# installs nothing new and rebuilds only what changed.
#
# Usage: launch/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libopenblas0-pthread libopenblas-dev
  libfaiss-dev libsimdjson-dev
  libopenmpi-dev openmpi-bin
  libboost-dev libboost-system-dev
  libprotobuf-dev protobuf-compiler
  libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev
  libyaml-cpp-dev
  nlohmann-json3-dev
  libpcre2-dev
  libssl-dev openssl
  libutf8proc-dev
  python3-torch
  slurm-wlm prometheus curl zlib1g-dev
  iproute2 nftables util-linux
  wordnet-base python3-nltk python3-jinja2
)
# Node.js runs the reference tokenizers; take Debian's only if none is installed
# (an existing Node.js from elsewhere conflicts with Debian's npm package).
command -v npm >/dev/null || DEBIAN_PACKAGES+=(nodejs npm)

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# libtorch must use OpenBLAS, not the reference BLAS (17x slower here).
if command -v update-alternatives >/dev/null; then
  for alt in libblas.so.3-x86_64-linux-gnu liblapack.so.3-x86_64-linux-gnu; do
    target=$(update-alternatives --list "$alt" 2>/dev/null | grep openblas-pthread | head -n1 || true)
    [[ -n "$target" ]] && update-alternatives --set "$alt" "$target" >/dev/null
  done
fi

# Reference tokenizers (tests only): Hugging Face's JS tokenizers and real vocabularies.
# Reinstalled whenever package-lock.json changes (a stamp records its hash).
lock_hash=$(sha256sum tests/reference/package-lock.json | cut -d' ' -f1)
stamp=tests/reference/node_modules/.prlm-lock-hash
if [[ "$(cat "$stamp" 2>/dev/null)" != "$lock_hash" ]]; then
  (cd tests/reference && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_hash" > "$stamp"
fi

[[ "${1:-}" == "--no-build" ]] && exit 0
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
cmake --build build -j"$(nproc)"
