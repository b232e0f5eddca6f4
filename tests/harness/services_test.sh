#!/usr/bin/env bash
# services.sh end to end: start slapd (TLS), a KDC and a Samba AD DC from bash, use them, stop them.
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

# A Samba AD DC: a computer account's keytab binds over GSSAPI to the DC by its name, inside the
# DC's network namespace with its hosts file over /etc/hosts.
ward_service_start samba --ou "OU=Shell,DC=ward,DC=test" --computer "shell-pc=$keytab_dir/shell-pc.keytab@OU=Shell,DC=ward,DC=test"
ad_dir=$WARD_AD_DIR
nsenter --net="/run/netns/$WARD_AD_NETNS" -- unshare --mount --propagation private -- sh -c \
  'mount --bind "$0" /etc/hosts && KRB5CCNAME="FILE:$1.cc" kinit -k -t "$1" "shell-pc\$@$2" &&
   KRB5CCNAME="FILE:$1.cc" LDAPNOINIT=1 ldapsearch -Q -LLL -N -Y GSSAPI -H "$3" -b "$4" "(sAMAccountName=shell-pc\$)" dn' \
  "$WARD_AD_HOSTS" "$keytab_dir/shell-pc.keytab" "$WARD_AD_REALM" "$WARD_AD_URI" "$WARD_AD_DOMAIN_DN" \
  | grep -qix "dn: CN=shell-pc,OU=Shell,$WARD_AD_DOMAIN_DN"

ward_services_stop
rm -rf "$keytab_dir"
[[ ! -e $slapd_dir && ! -e $kdc_dir && ! -e $ad_dir ]] || { echo "service dirs left behind" >&2; exit 1; }
echo "services.sh: slapd, kdc and samba started, used and stopped"
