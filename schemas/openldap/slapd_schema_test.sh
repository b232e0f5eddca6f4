#!/usr/bin/env bash
# Loads ward-ad-ipsec.ldif into a fresh slapd.d (with core, cosine, inetorgperson), checks it with
# slaptest, then runs that slapd on a unix socket in a temp dir, adds one entry of every class
# (the IPsec objects carry real Windows ipsecData blobs) and reads them back.
# Usage: slapd_schema_test.sh <source dir>. Exit 77 (skipped) only when slapd binaries are missing.
# KEEP=1 leaves the temp dir (config, logs, entries.ldif) for a look after a failure.
set -euo pipefail

src=${1:?source dir}
schema="$src/schemas/openldap/ward-ad-ipsec.ldif"
corpus="$src/tests/data/ad/corpus"
PATH="$PATH:/usr/sbin:/usr/lib/openldap"
for tool in slapd slapadd slaptest ldapadd ldapsearch; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool not installed (Debian packages slapd, ldap-utils)"
    exit 77
  fi
done
module_dir=/usr/lib/ldap
[ -e "$module_dir/back_mdb.so" ] || module_dir=""

work=$(mktemp -d /tmp/ward-slapd.XXXXXX)
slapd_pid=""
cleanup() {
  if [ -n "$slapd_pid" ] && kill -0 "$slapd_pid" 2>/dev/null; then
    kill "$slapd_pid"
    for _ in $(seq 50); do kill -0 "$slapd_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

suffix="dc=ward,dc=example"
root_dn="cn=admin,$suffix"
root_pw="ward-test-only"   # a throwaway directory that lives for this test
mkdir -p "$work/slapd.d" "$work/db"
{
  cat <<LDIF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $work/slapd.pid
LDIF
  if [ -n "$module_dir" ]; then
    cat <<LDIF

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: $module_dir
olcModuleLoad: back_mdb
LDIF
  fi
  cat <<LDIF

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif

include: file:///etc/ldap/schema/cosine.ldif

include: file:///etc/ldap/schema/inetorgperson.ldif

include: file://$schema

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $suffix
olcRootDN: $root_dn
olcRootPW: $root_pw
olcDbDirectory: $work/db
olcDbMaxSize: 16777216
olcDbNoSync: TRUE
LDIF
} > "$work/config.ldif"

gpo="CN={31B2F340-016D-11D2-945F-00C04FB984F9},CN=Policies,CN=System,$suffix"
cat > "$work/base.ldif" <<LDIF
dn: $suffix
objectClass: domain
objectClass: wardGroupPolicyLinks
dc: ward
gPLink: [LDAP://$gpo;0]
gPOptions: 0
LDIF
# The suffix entry goes in offline, which also creates the database slaptest then opens.
slapadd -n0 -F "$work/slapd.d" -l "$work/config.ldif" > "$work/slapadd.log" 2>&1 || { cat "$work/slapadd.log"; exit 1; }
slapadd -n1 -F "$work/slapd.d" -l "$work/base.ldif" >> "$work/slapadd.log" 2>&1 || { cat "$work/slapadd.log"; exit 1; }
slaptest -F "$work/slapd.d" > "$work/slaptest.log" 2>&1 || { cat "$work/slaptest.log"; exit 1; }
echo "slaptest: config with ward-ad-ipsec.ldif is valid"

socket="$work/ldapi"
uri="ldapi://$(printf '%s' "$socket" | sed 's|/|%2F|g')"
slapd -F "$work/slapd.d" -h "$uri" -s 0 2> "$work/slapd.log" || { cat "$work/slapd.log"; exit 1; }
# Until slapd answers on the socket, not until the socket file exists: the file appears at bind(),
# before listen(), and an ldapadd in between gets "Can't contact LDAP server" (a clean CI run did).
answers() { ldapsearch -H "$uri" -x -s base -b "" -LLL dn >/dev/null 2>&1; }
for _ in $(seq 100); do [ -s "$work/slapd.pid" ] && answers && break; sleep 0.1; done
[ -s "$work/slapd.pid" ] || { echo "slapd wrote no pid file"; cat "$work/slapd.log"; exit 1; }
slapd_pid=$(cat "$work/slapd.pid")
answers || { echo "slapd did not answer on $socket within 10 s"; cat "$work/slapd.log"; exit 1; }

ips="CN=IP Security,CN=System,$suffix"
policy_dn="CN=ipsecPolicy{7238523C-70FA-11D1-864C-14A300000000},$ips"
blob() { echo "file://$corpus/$1.bin"; }
cat > "$work/entries.ldif" <<LDIF
dn: CN=System,$suffix
objectClass: container
cn: System

dn: $ips
objectClass: container
cn: IP Security

dn: $policy_dn
objectClass: ipsecPolicy
cn: ipsecPolicy{7238523C-70FA-11D1-864C-14A300000000}
ipsecName: Secure Server (Require Security)
description: For all IP traffic, always require security using Kerberos trust.
ipsecID: {7238523C-70FA-11D1-864C-14A300000000}
ipsecDataType: 598
ipsecData:< $(blob ipsecpolicy-7238523c-70fa-11d1-864c-14a300000000)
ipsecISAKMPReference: CN=ipsecISAKMPPolicy{7238523D-70FA-11D1-864C-14A300000000},$ips
ipsecNFAReference: CN=ipsecNFA{7238523E-70FA-11D1-864C-14A300000000},$ips

dn: CN=ipsecISAKMPPolicy{7238523D-70FA-11D1-864C-14A300000000},$ips
objectClass: ipsecISAKMPPolicy
cn: ipsecISAKMPPolicy{7238523D-70FA-11D1-864C-14A300000000}
ipsecID: {7238523D-70FA-11D1-864C-14A300000000}
ipsecDataType: 598
ipsecData:< $(blob ipsecisakmppolicy-7238523d-70fa-11d1-864c-14a300000000)
ipsecOwnersReference: $policy_dn

dn: CN=ipsecNFA{7238523E-70FA-11D1-864C-14A300000000},$ips
objectClass: ipsecNFA
cn: ipsecNFA{7238523E-70FA-11D1-864C-14A300000000}
ipsecName: Require Security
ipsecID: {7238523E-70FA-11D1-864C-14A300000000}
ipsecDataType: 598
ipsecData:< $(blob ipsecnfa-7238523e-70fa-11d1-864c-14a300000000)
ipsecOwnersReference: $policy_dn
ipsecNegotiationPolicyReference: CN=ipsecNegotiationPolicy{7238523F-70FA-11D1-864C-14A300000000},$ips
ipsecFilterReference: CN=ipsecFilter{7238523A-70FA-11D1-864C-14A300000000},$ips

dn: CN=ipsecNegotiationPolicy{7238523F-70FA-11D1-864C-14A300000000},$ips
objectClass: ipsecNegotiationPolicy
cn: ipsecNegotiationPolicy{7238523F-70FA-11D1-864C-14A300000000}
ipsecName: Require Security
ipsecID: {7238523F-70FA-11D1-864C-14A300000000}
ipsecDataType: 598
ipsecData:< $(blob ipsecnegotiationpolicy-7238523f-70fa-11d1-864c-14a300000000)
ipsecOwnersReference: CN=ipsecNFA{7238523E-70FA-11D1-864C-14A300000000},$ips
iPSECNegotiationPolicyType: {62F49E10-6C37-11D1-864C-14A300000000}
iPSECNegotiationPolicyAction: {3F91A81A-7647-11D1-864D-D46A00000000}

dn: CN=ipsecFilter{7238523A-70FA-11D1-864C-14A300000000},$ips
objectClass: ipsecFilter
cn: ipsecFilter{7238523A-70FA-11D1-864C-14A300000000}
ipsecName: All IP Traffic
ipsecID: {7238523A-70FA-11D1-864C-14A300000000}
ipsecDataType: 598
ipsecData:< $(blob ipsecfilter-7238523a-70fa-11d1-864c-14a300000000)
ipsecOwnersReference: CN=ipsecNFA{7238523E-70FA-11D1-864C-14A300000000},$ips

dn: CN=Policies,CN=System,$suffix
objectClass: container
cn: Policies

dn: $gpo
objectClass: groupPolicyContainer
cn: {31B2F340-016D-11D2-945F-00C04FB984F9}
displayName: Default Domain Policy
versionNumber: 65537
flags: 0
gPCFunctionalityVersion: 2
gPCFileSysPath: \\\\ward.example\\sysvol\\ward.example\\Policies\\{31B2F340-016D-11D2-945F-00C04FB984F9}
gPCMachineExtensionNames: [{E437BC1C-AA7D-11D2-A382-00C04F991E27}{DEA8AFA0-CC85-11D0-9CE2-0080C7221EBD}]

dn: CN=Machine,$gpo
objectClass: container
cn: Machine

dn: CN=Microsoft,CN=Machine,$gpo
objectClass: container
cn: Microsoft

dn: CN=Windows,CN=Microsoft,CN=Machine,$gpo
objectClass: container
cn: Windows

dn: CN=IPSEC,CN=Windows,CN=Microsoft,CN=Machine,$gpo
objectClass: ipsecPolicy
cn: IPSEC
ipsecName: Secure Server (Require Security)
ipsecOwnersReference: $policy_dn

dn: ou=Legal,$suffix
objectClass: organizationalUnit
objectClass: wardGroupPolicyLinks
ou: Legal
gPLink: [LDAP://$gpo;2]
gPOptions: 1

dn: CN=LEGAL-PC1,ou=Legal,$suffix
objectClass: computer
cn: LEGAL-PC1
sAMAccountName: LEGAL-PC1\$
dNSHostName: legal-pc1.ward.example
msDS-SiteName: Default-First-Site-Name

dn: CN=Configuration,$suffix
objectClass: container
cn: Configuration

dn: CN=Sites,CN=Configuration,$suffix
objectClass: sitesContainer
cn: Sites

dn: CN=Default-First-Site-Name,CN=Sites,CN=Configuration,$suffix
objectClass: site
cn: Default-First-Site-Name
gPLink: [LDAP://$gpo;0]
gPOptions: 0

dn: CN=Subnets,CN=Sites,CN=Configuration,$suffix
objectClass: container
cn: Subnets

dn: CN=10.20.1.0/24,CN=Subnets,CN=Sites,CN=Configuration,$suffix
objectClass: subnet
cn: 10.20.1.0/24
siteObject: CN=Default-First-Site-Name,CN=Sites,CN=Configuration,$suffix
LDIF

ldapadd -H "$uri" -x -D "$root_dn" -w "$root_pw" -f "$work/entries.ldif" > "$work/ldapadd.log" 2>&1 || {
  cat "$work/ldapadd.log"; exit 1; }

search() { ldapsearch -H "$uri" -x -D "$root_dn" -w "$root_pw" -b "$suffix" -LLL -o ldif-wrap=no "$@"; }
failures=0
for class in ipsecPolicy ipsecISAKMPPolicy ipsecNFA ipsecNegotiationPolicy ipsecFilter groupPolicyContainer \
             wardGroupPolicyLinks computer sitesContainer site subnet container; do
  count=$(search "(objectClass=$class)" dn | grep -c '^dn:' || true)
  if [ "$count" -lt 1 ]; then
    echo "FAIL: no entry of class $class read back"
    failures=$((failures + 1))
  fi
done
# The Windows blob comes back byte for byte, and the references are searchable as DNs.
want=$(base64 -w0 "$corpus/ipsecisakmppolicy-7238523d-70fa-11d1-864c-14a300000000.bin")
got=$(search "(ipsecID={7238523D-70FA-11D1-864C-14A300000000})" ipsecData | sed -n 's/^ipsecData:: //p')
[ "$got" = "$want" ] || { echo "FAIL: ipsecData changed on its way through slapd"; failures=$((failures + 1)); }
owners=$(search "(ipsecOwnersReference=$policy_dn)" dn | grep -c '^dn:' || true)
[ "$owners" -eq 3 ] || { echo "FAIL: $owners objects name the policy as owner, expected 3"; failures=$((failures + 1)); }
links=$(search "(gPLink=*31B2F340*)" dn | grep -c '^dn:' || true)
[ "$links" -eq 3 ] || { echo "FAIL: $links entries link the GPO, expected 3"; failures=$((failures + 1)); }
site=$(search "(sAMAccountName=LEGAL-PC1\$)" msDS-SiteName | sed -n 's/^msDS-SiteName: //p')
[ "$site" = "Default-First-Site-Name" ] || { echo "FAIL: computer site is '$site'"; failures=$((failures + 1)); }

[ "$failures" -eq 0 ] || exit 1
echo "slapd: added and read back one entry of every class"
