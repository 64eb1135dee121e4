#!/usr/bin/env bash
# Installs the Debian 12 packages flopline needs to build and test. Idempotent: installs only what is
# missing, so the Quick start's first command is cheap on a machine that already has them.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  clang libclang-rt-14-dev          # libFuzzer targets and their smoke runs
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libtomlplusplus-dev libcli11-dev libexpected-dev libfmt-dev
  libsimdjson-dev                   # assess's bulk inventory format (JSON Lines)
  libssl-dev libsodium-dev          # the ledger: SHA-256, Ed25519
  libsqlite3-dev libpqxx-dev        # the evidence store's two backends
  postgresql                        # a real server for the PostgreSQL backend's tests
  golang-go golang-golang-x-mod-dev # an independent verifier of our proofs and notes (tests only)
  libcurl4-openssl-dev              # the kill switch's etcd client (v3 JSON gateway)
  etcd-server etcd-client           # a real etcd for the kill switch's high-availability tests
  procps iproute2                   # pgrep/pkill and network namespaces in the kill switch's tests
  libboost1.81-dev                  # `flopline serve`: Boost.Beast/Asio (header-only HTTP, TLS through OpenSSL)
  zlib1g-dev                        # `flopline serve`: gzip responses
  curl openssl                      # the server's tests: TLS with a throwaway certificate
  wrk                               # bench/serve_bench.sh: HTTP load on loopback
  chromium fonts-dejavu-core        # `flopline document`: PDFs printed from the canonical HTML
  poppler-utils                     # the document tests read the PDFs back (pdftotext, pdftoppm)
)

# The dashboard's browser tests (tests/web): chromium (above) driven by playwright-core under node,
# their packages installed by npm from a lock. The machine image brings Node 20 with its own npm
# (NodeSource); Debian's nodejs and npm are added only where there is no npm.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
