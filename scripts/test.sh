#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine: installs the real
# etcd 3.4 `etcd`/`etcdctl` (reference and client for the compatibility
# tests), curl and headless Chromium when missing, then builds and runs
# every test.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
# curl: HTTP/TLS checks in the alarm, auth, TLS and defrag tests.
command -v curl >/dev/null 2>&1 || need+=(curl)
# Headless browser for the web UI tests (tests/web_ui.rs).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
