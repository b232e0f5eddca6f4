#!/usr/bin/env bash
# services.sh end to end: start slapd (TLS) and a KDC from bash, use them, stop them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export WARD_TEST_SERVICE=$1
source "$here/services.sh"

ward_service_start slapd --tls
slapd_dir=$WARD_SLAPD_DIR
LDAPTLS_CACERT=$WARD_SLAPD_CA LDAPCONF=/dev/null LDAPRC=/dev/null \
  ldapwhoami -x -ZZ -H "$WARD_SLAPD_URI" -D "$WARD_SLAPD_ROOT_DN" -y <(printf %s "$WARD_SLAPD_ROOT_PASSWORD") \
  | grep -qx "dn:$WARD_SLAPD_ROOT_DN"

keytab_dir=$(mktemp -d)
ward_service_start kdc --principal "host/shell.ward.test=$keytab_dir/host.keytab"
KRB5CCNAME=MEMORY:shell-test kinit -k -t "$keytab_dir/host.keytab" "host/shell.ward.test@$WARD_KDC_REALM"
kdc_dir=$WARD_KDC_DIR

ward_services_stop
rm -rf "$keytab_dir"
[[ ! -e $slapd_dir && ! -e $kdc_dir ]] || { echo "service dirs left behind" >&2; exit 1; }
echo "services.sh: slapd and kdc started, used and stopped"
