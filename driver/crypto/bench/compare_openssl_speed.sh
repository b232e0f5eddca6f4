#!/usr/bin/env bash
# Compares esp_bench (Ward's ESP transforms) with `openssl speed` (raw EVP cipher and HMAC speed
# of the same libcrypto) for the same algorithms and sizes, measured in the same run.
#
#   driver/crypto/bench/compare_openssl_speed.sh [path/to/esp_bench]
#   REPEATS=5 driver/crypto/bench/compare_openssl_speed.sh     # more rounds on a busy machine
#
# Fair comparison: one esp_roundtrip iteration encrypts AND decrypts the packet (and, for CBC,
# computes the HMAC twice), so it is compared with OpenSSL's cost of the same passes:
#   GCM:       1 / (1/enc + 1/dec)
#   CBC+HMAC:  1 / (1/enc + 1/dec + 2/hmac)       (openssl speed -evp CIPHER, -decrypt, -hmac DIGEST)
# esp_encap and esp_decap are compared with the one-direction equivalents. All figures are bytes
# of payload per CPU second (both tools divide by CPU time, which keeps the comparison sane on a
# shared machine); ESP also encrypts its 2..17 trailer bytes and MACs its header, not counted.
#
# Noise: on a shared machine other jobs steal cache, memory bandwidth and turbo headroom for
# minutes at a time. So ours and OpenSSL's figures for one algorithm and size are measured back
# to back, in REPEATS rounds (default 3), and each figure is the best of its rounds: both sides
# see the same machine, and best-of approximates an unloaded one for both alike.
set -euo pipefail

bench=${1:-build/default/driver/crypto/bench/esp_bench}
sizes=(64 512 1400)
seconds=1
repeats=${REPEATS:-3}
if [[ ! -x $bench ]]; then
  echo "compare_openssl_speed: $bench not found; build it with: cmake --build --preset default --target esp_bench" >&2
  exit 1
fi

# openssl_rate ARGS... -> bytes per second for one size (from -mr output: +F:idx:name:rate)
openssl_rate() {
  openssl speed "$@" -seconds "$seconds" -mr 2>/dev/null | awk -F: '/^\+F:/ { print $4; exit }'
}
max() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { print (b > a) ? b : a }'; }

printf '%-24s %5s | %10s %10s %6s | %10s %10s %6s | %10s %10s %6s\n' \
  algorithm bytes "rt MB/s" "ossl MB/s" "%" "enc MB/s" "ossl MB/s" "%" "dec MB/s" "ossl MB/s" "%"
for algorithm in aes-128-gcm aes-256-gcm aes-128-cbc+hmac-sha1 aes-256-cbc+hmac-sha256; do
  cipher=${algorithm%%+*}
  digest=""
  [[ $algorithm == *+hmac-* ]] && digest=${algorithm##*+hmac-}
  for n in "${sizes[@]}"; do
    rt=0 en=0 de=0 enc=0 dec=0 mac=0
    for ((r = 0; r < repeats; ++r)); do
      while IFS=, read -r name _ _ _ _ bytes_per_second _; do
        name=${name//\"/}
        case $name in
          esp_roundtrip/*) rt=$(max "$rt" "$bytes_per_second") ;;
          esp_encap/*) en=$(max "$en" "$bytes_per_second") ;;
          esp_decap/*) de=$(max "$de" "$bytes_per_second") ;;
        esac
      done < <("$bench" --benchmark_format=csv --benchmark_min_time=0.3 \
                 --benchmark_filter="^esp_[a-z]+/${algorithm//+/\\+}/$n\$" 2>/dev/null)
      enc=$(max "$enc" "$(openssl_rate -evp "$cipher" -bytes "$n")")
      dec=$(max "$dec" "$(openssl_rate -evp "$cipher" -decrypt -bytes "$n")")
      [[ -n $digest ]] && mac=$(max "$mac" "$(openssl_rate -hmac "$digest" -bytes "$n")")
    done
    awk -v a="$algorithm" -v n="$n" -v enc="$enc" -v dec="$dec" -v mac="$mac" -v rt="$rt" -v en="$en" -v de="$de" 'BEGIN {
      m = (mac > 0) ? 1 / mac : 0
      ref_rt = 1 / (1 / enc + 1 / dec + 2 * m)
      ref_en = 1 / (1 / enc + m)
      ref_de = 1 / (1 / dec + m)
      printf "%-24s %5d | %10.1f %10.1f %5.0f%% | %10.1f %10.1f %5.0f%% | %10.1f %10.1f %5.0f%%\n", a, n,
             rt / 1e6, ref_rt / 1e6, 100 * rt / ref_rt, en / 1e6, ref_en / 1e6, 100 * en / ref_en,
             de / 1e6, ref_de / 1e6, 100 * de / ref_de
    }'
  done
done
echo "rt = esp_roundtrip (encapsulate + decapsulate of one IPv4 packet, transport mode); MB = 10^6 bytes of payload."
echo "Best of $repeats back-to-back rounds on both sides. OpenSSL: $(openssl version)"
