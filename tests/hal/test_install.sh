#!/usr/bin/env bash
# `cmake --install` puts the systemd units (with the install prefix's paths
# substituted), the example environment files and the broker configuration
# in place, per component; the units keep the TEE device access.
# shellcheck source=tests/hal/lib.sh
. "$(dirname "$0")/lib.sh"
B=${PROPELLER_BINARY_DIR:?run from CTest (PROPELLER_BINARY_DIR)}
P=$TMP/prefix
for c in proplet propeller-manager propeller-proxy propeller-kbs deploy; do
  if out=$(cmake --install "$B" --prefix "$P" --component "$c" 2>&1); then pass; else
    fail "cmake --install --component $c: $out"
  fi
done
units=$P/lib/systemd/system
for u in proplet propeller-manager propeller-proxy propeller-kbs; do
  f=$units/$u.service
  if [ -f "$f" ]; then pass; else fail "$f not installed"; continue; fi
  if grep -q '@[A-Z_]*@' "$f"; then fail "$f has unsubstituted @VAR@"; else pass; fi
  contains "$u ExecStart" "$(grep '^ExecStart=' "$f")" "ExecStart=$P/bin/$u"
  contains "$u env" "$(cat "$f")" "EnvironmentFile="
  contains "$u hardening" "$(cat "$f")" "ProtectSystem=strict"
  contains "$u hardening" "$(cat "$f")" "NoNewPrivileges=yes"
  contains "$u hardening" "$(cat "$f")" "CapabilityBoundingSet="
  contains "$u hardening" "$(cat "$f")" "LimitCORE=0"
  e=$P/share/doc/propeller/examples/env/$u.env
  if [ -f "$e" ]; then pass; else fail "$e not installed"; fi
done
pl=$(cat "$units/proplet.service")
contains proplet-tee "$pl" "DevicePolicy=closed"
contains proplet-tee "$pl" "DeviceAllow=/dev/tdx_guest rw"
contains proplet-tee "$pl" "DeviceAllow=/dev/sev-guest rw"
contains proplet-tee "$pl" "ReadWritePaths=-/sys/kernel/config/tsm"
contains proplet-tee "$pl" "EnvironmentFile=/etc/default/proplet"
lacks proplet-tee "$pl" "PrivateDevices=yes"
lacks proplet-tee "$pl" "MemoryDenyWriteExecute=yes"
for u in propeller-manager propeller-proxy propeller-kbs; do
  contains "$u" "$(cat "$units/$u.service")" "DynamicUser=yes"
  contains "$u" "$(cat "$units/$u.service")" "PrivateDevices=yes"
done
contains kbs "$(cat "$units/propeller-kbs.service")" "KBS_DATA_DIR=/var/lib/propeller-kbs"
for f in mosquitto/propeller.conf mosquitto/clients.example mosquitto/propeller-broker-users.sh; do
  if [ -f "$P/share/doc/propeller/examples/$f" ]; then pass; else fail "$f not installed"; fi
done
# The example proplet environment names every identity variable and the KBS.
pe=$(cat "$P/share/doc/propeller/examples/env/proplet.env")
for v in PROPLET_TENANT_ID PROPLET_ENTITY_ID PROPLET_API_KEY PROPLET_CHANNEL_ID \
  PROPLET_MQTT_ADDRESS PROPLET_KBS_URI PROPLET_LIVELINESS_INTERVAL=5; do
  contains proplet.env "$pe" "$v"
done
# systemd's own parser accepts the units (if systemd-analyze exists): give
# it stand-in executables at the ExecStart paths.
if command -v systemd-analyze >/dev/null 2>&1; then
  mkdir -p "$P/bin"
  for u in proplet propeller-manager propeller-proxy propeller-kbs; do
    [ -e "$P/bin/$u" ] || { printf '#!/bin/sh\n' >"$P/bin/$u"; chmod +x "$P/bin/$u"; }
  done
  out=$(cd "$units" || exit 1
    SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no \
      ./proplet.service ./propeller-manager.service ./propeller-proxy.service \
      ./propeller-kbs.service 2>&1 |
      grep -vE 'sys-kernel-config.mount|mosquitto.service|postgresql.service|network-online' || true)
  if grep -qiE 'unknown|invalid|failed|bad|error' <<<"$out"; then
    fail "systemd-analyze verify: $out"
  else
    pass
  fi
fi
finish
