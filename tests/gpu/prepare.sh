#!/usr/bin/env bash
# Downloads, on a Debian 12 machine (this project's CPU machines), the few
# Debian packages the bare GPU machine lacks for tests/gpu/run.sh: nlohmann
# JSON, spdlog and fmt, yaml-cpp, GoogleTest, and Open MPI with its runtime
# libraries (about 6 MB). They land in tests/gpu/debs (ignored by git) and
# travel to the GPU machine with the device tool's carry:
#
#     tests/gpu/prepare.sh
#     run(command="tests/gpu/run.sh", carry=["tests/gpu/debs"], timeout_s=540)
#
# run.sh unpacks them into a private prefix (tests/gpu/unpack_debs.py); no
# package is installed on either machine.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p debs
cd debs
PACKAGES=(
  nlohmann-json3-dev libspdlog-dev libspdlog1.10 libfmt-dev libfmt9 libyaml-cpp-dev libyaml-cpp0.7 libgtest-dev
  libopenmpi3 libopenmpi-dev openmpi-bin openmpi-common libhwloc15 libevent-core-2.1-7 libevent-pthreads-2.1-7
  libpmix2 libmunge2 libudev1 libnuma1
)
# apt-get download as root warns that _apt cannot write here; the download is fine.
apt-get download "${PACKAGES[@]}" 2>&1 | grep -v "couldn't be accessed by user '_apt'" || true
for p in "${PACKAGES[@]}"; do
  ls "${p}"_*.deb >/dev/null 2>&1 || { echo "prepare.sh: ${p} was not downloaded" >&2; exit 1; }
done
echo "tests/gpu/debs: $(ls *.deb | wc -l) packages, $(du -sh . | cut -f1)"
