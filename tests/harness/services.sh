# shellcheck shell=bash
# Shell helpers that start real services for a test script, via ward_test_service.
#
#   source tests/harness/services.sh
#   WARD_TEST_SERVICE=/path/to/ward_test_service   # the built binary
#   ward_service_start slapd --tls --ldif data.ldif # exports WARD_SLAPD_URI, WARD_SLAPD_CA, ...
#   ward_service_start kdc --principal host/h.ward.test=/tmp/x/h.keytab   # exports KRB5_CONFIG, ...
#   ward_service_start samba --computer h1=/tmp/x/h1.keytab   # exports WARD_AD_URI, WARD_AD_NETNS, ...
#   ...
#   ward_services_stop                              # also run by the EXIT trap it installs
#
# Each service runs in its own temp dir and is stopped by the pid this script started.

WARD_SERVICE_PIDS=()

ward_services_stop() {
  local pid
  for pid in "${WARD_SERVICE_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  WARD_SERVICE_PIDS=()
}

ward_service_start() {
  local kind=$1
  shift
  if [[ -z ${WARD_TEST_SERVICE:-} || ! -x $WARD_TEST_SERVICE ]]; then
    echo "ward_service_start: set WARD_TEST_SERVICE to the ward_test_service binary" >&2
    return 1
  fi
  local env_dir
  env_dir=$(mktemp -d "${TMPDIR:-/tmp}/ward-service-env-XXXXXX") || return 1
  "$WARD_TEST_SERVICE" "$kind" --env-file "$env_dir/env" "$@" &
  local pid=$!
  local tries=0
  while [[ ! -s $env_dir/env ]]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"
      echo "ward_service_start: $kind failed to start (exit $?)" >&2
      rm -rf "$env_dir"
      return 1
    fi
    # A Samba AD DC provisions its domain first: allow it minutes on a loaded machine.
    if ((++tries > 1800)); then
      echo "ward_service_start: $kind not ready after 180 s" >&2
      kill -TERM "$pid"
      wait "$pid"
      rm -rf "$env_dir"
      return 1
    fi
    sleep 0.1
  done
  WARD_SERVICE_PIDS+=("$pid")
  # shellcheck disable=SC1091
  source "$env_dir/env"
  rm -rf "$env_dir"
  trap ward_services_stop EXIT
}
