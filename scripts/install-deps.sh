#!/usr/bin/env bash
# Installs what the tests, the demo and the benchmarks need on a fresh
# Debian machine: tools the tests drive (socat, iproute2 for network
# namespaces, Prometheus and promtool for the metrics tests) and the
# benchmark peers (nginx, HAProxy). Skips apt when everything is present.
set -euo pipefail

need=()
command -v socat >/dev/null || need+=(socat)
command -v nc >/dev/null || need+=(netcat-openbsd)
command -v ip >/dev/null || need+=(iproute2)
command -v promtool >/dev/null || need+=(prometheus)
if [ "${1:-}" = "--bench" ]; then
  command -v nginx >/dev/null || need+=(nginx-light)
  command -v haproxy >/dev/null || need+=(haproxy)
fi
if [ "${#need[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian starts the packaged services; the tests run their own instances.
for svc in prometheus prometheus-node-exporter nginx haproxy; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    ${SUDO:-} systemctl stop "$svc" || true
  fi
done
exit 0
