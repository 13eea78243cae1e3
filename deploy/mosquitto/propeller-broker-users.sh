#!/usr/bin/env bash
# propeller-broker-users.sh - write mosquitto's password and ACL files for a
# Propeller fleet from a clients list (see clients.example).
#
# Usage: propeller-broker-users.sh CLIENTS_FILE OUT_DIR
# Writes OUT_DIR/passwd (hashed with mosquitto_passwd) and OUT_DIR/acl, both
# mode 0600 (chown them to the broker's user). Refuses a malformed line,
# naming it, and writes nothing then.
#
# Per role, for base topic m/<tenant>/c/<channel>:
#   manager: read and write everything under the base (it subscribes to base/#)
#   proplet: read control/manager/# and registry/server;
#            write control/proplet/# and registry/proplet
#   proxy:   read registry/proplet; write registry/server and
#            control/proplet/alive (its last will)
set -euo pipefail

die() {
  echo "propeller-broker-users.sh: $*" >&2
  exit 2
}

[ $# -eq 2 ] || die "usage: propeller-broker-users.sh CLIENTS_FILE OUT_DIR"
clients=$1
out=$2
[ -r "$clients" ] || die "CLIENTS_FILE: cannot read \"$clients\""
command -v mosquitto_passwd >/dev/null 2>&1 ||
  die "mosquitto_passwd not found: install the mosquitto package"

seg_re='^[A-Za-z0-9._:-]{1,128}$'
key_re='^[A-Za-z0-9._~+/=@-]{1,512}$'
umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/passwd"
: >"$tmp/acl"
declare -A seen=()
n=0
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
  lineno=$((lineno + 1))
  line=${line%%#*}
  [[ $line =~ [^[:space:]] ]] || continue
  read -r role id key tenant channel extra <<<"$line"
  where="$clients:$lineno"
  if [ -n "${extra:-}" ] || [ -z "${channel:-}" ]; then
    die "$where: expected ROLE ENTITY_ID API_KEY TENANT_ID CHANNEL_ID"
  fi
  [[ $id =~ $seg_re ]] || die "$where: ENTITY_ID: letters, digits and . _ : - only (got \"$id\")"
  [[ $key =~ $key_re ]] || die "$where: API_KEY: no white space, quotes, colons or backslashes"
  [[ $tenant =~ $seg_re ]] || die "$where: TENANT_ID: not a topic segment (got \"$tenant\")"
  [[ $channel =~ $seg_re ]] || die "$where: CHANNEL_ID: not a topic segment (got \"$channel\")"
  [ -z "${seen[$id]:-}" ] || die "$where: ENTITY_ID $id listed twice"
  seen[$id]=1
  base="m/$tenant/c/$channel"
  {
    echo "# $role"
    echo "user $id"
    case "$role" in
      manager)
        echo "topic readwrite $base/#"
        ;;
      proplet)
        echo "topic read $base/control/manager/#"
        echo "topic read $base/registry/server"
        echo "topic write $base/control/proplet/#"
        echo "topic write $base/registry/proplet"
        ;;
      proxy)
        echo "topic read $base/registry/proplet"
        echo "topic write $base/registry/server"
        echo "topic write $base/control/proplet/alive"
        ;;
      *) die "$where: ROLE: must be manager, proplet or proxy (got \"$role\")" ;;
    esac
    echo
  } >>"$tmp/acl"
  printf '%s:%s\n' "$id" "$key" >>"$tmp/passwd"
  n=$((n + 1))
done <"$clients"
[ $n -gt 0 ] || die "CLIENTS_FILE: no clients in \"$clients\""
mosquitto_passwd -U "$tmp/passwd" || die "mosquitto_passwd failed"
mkdir -p "$out"
install -m 0600 "$tmp/passwd" "$out/passwd"
install -m 0600 "$tmp/acl" "$out/acl"
echo "propeller-broker-users.sh: $n clients written to $out/passwd and $out/acl" >&2
