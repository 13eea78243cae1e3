#!/usr/bin/env bash
# Runs bench_ocicrypt for 256 MiB (and 64 MiB to show that peak RSS does not
# grow with the layer) and, in the same run, `openssl speed -evp
# aes-256-ctr` with 64 KiB blocks (the decryptor's chunk size).
# usage: bench/ocicrypt/run.sh BUILD_DIR
set -euo pipefail
B="${1:?build dir}"
BIN="$B/bench/ocicrypt/bench_ocicrypt"
ossl="$(openssl speed -evp aes-256-ctr -bytes 65536 -seconds 3 2>/dev/null |
	awk '/^AES-256-CTR|^aes-256-ctr/ {v=$NF; sub(/k$/,"",v); print v*1000/1e6}')"
hm="$(openssl speed -hmac sha256 -bytes 65536 -seconds 3 2>/dev/null |
	awk '/^hmac\(sha256\)/ {v=$NF; sub(/k$/,"",v); print v*1000/1e6}')"
echo "openssl_speed_aes256ctr_mbps=${ossl%.*}"
echo "openssl_speed_hmac_sha256_mbps=${hm%.*}"
uptime
"$BIN" 256 3
"$BIN" 64 3 | grep -E "layer_mib|peak_rss"
