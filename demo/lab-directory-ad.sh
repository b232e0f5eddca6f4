# shellcheck shell=bash
# The Legal lab's domain on Active Directory (sourced by demo/ward-lab.sh --directory ad).
#
# A Samba AD DC (ward_test_service samba: provisioned in a temp dir, running in a network
# namespace of its own on its loopback) is the domain EXAMPLE.TEST with OU=Legal and OU=Sales and
# the computer accounts LEGAL-PC1$ and SALES-PC1$, as `adcli join` would make them: their keys in
# each host's keytab under NAME$ (the client name) and host/<fqdn> (the service name IKE asks
# for). Everything of the Legal scenario is then made with Ward's own tool, ward-dir, as the
# domain administrator over Kerberos: the two policies imported, GPOs "Legal IPsec" (OU=Legal) and
# "Domain IPsec" (the domain) created, linked and assigned. The site HQ and its subnets
# (10.20.1.0/24, 10.20.2.0/24) are made with samba-tool, as an AD administrator would with the
# Sites tool, with a GPO "HQ Site" linked to the site, which the hosts find from their addresses.
# Read access for computers on CN=IP Security: `ward-dir directory grant-read`.
#
# The hosts reach the DC as the OpenLDAP lab's hosts reach slapd: socat relays the DC's LDAP (389)
# and Kerberos (88, TCP) ports from its namespace to Unix sockets, and from them to each host
# namespace's loopback, where /etc/hosts names it dc1.example.test.
#
# Defines: lab_directory_start, lab_host_conf HOST DIR, lab_host_relays NS, lab_host_keytab HOST,
# lab_directory_stop_pid, ward_dir, lab_in_dc, and sets realm/domain_dn.

readonly lab_dc_fqdn=dc1.example.test

lab_in_dc() {  # lab_in_dc argv...: in the DC's network, its hosts file over /etc/hosts
  nsenter --net="/run/netns/$WARD_AD_NETNS" unshare --mount \
    sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$WARD_AD_HOSTS" "$@"
}

ward_dir() {
  lab_in_dc "$ward_dir_bin" --uri "$WARD_AD_URI" --keytab "$WARD_AD_ADMIN_KEYTAB" \
    --principal "$WARD_AD_ADMIN_PRINCIPAL" --domain "$domain_dn" "$@"
}

samba_tool() { lab_in_dc samba-tool "$@" -s "$WARD_AD_SMB_CONF"; }

# ldapsearch/ldapmodify as the domain administrator (a ticket from the admin keytab), in the DC's
# network.
lab_admin_ldap() {  # lab_admin_ldap ldapsearch|ldapmodify|ldapadd args...
  local tool=$1
  shift
  [[ -s $work/admin.cc ]] || lab_in_dc env KRB5CCNAME="FILE:$work/admin.cc" \
    kinit -k -t "$WARD_AD_ADMIN_KEYTAB" "$WARD_AD_ADMIN_PRINCIPAL"
  lab_in_dc env KRB5CCNAME="FILE:$work/admin.cc" "$tool" -Q -N -Y GSSAPI -H "$WARD_AD_URI" "$@"
}
# samba-tool over LDAP as the administrator: its change goes through the DC's LDAP server, which
# notifies watchers at once (samba-tool on sam.ldb directly reaches them only seconds later).
samba_tool_ldap() {
  [[ -s $work/admin.cc ]] || lab_in_dc env KRB5CCNAME="FILE:$work/admin.cc" \
    kinit -k -t "$WARD_AD_ADMIN_KEYTAB" "$WARD_AD_ADMIN_PRINCIPAL"
  lab_in_dc samba-tool "$@" -H "$WARD_AD_URI" --use-kerberos=required --use-krb5-ccache="FILE:$work/admin.cc"
}
gpo_sd() {  # gpo_sd DN: its whole nTSecurityDescriptor (the administrator reads the SACL too), base64
  lab_admin_ldap ldapsearch -LLL -o ldif-wrap=no -b "$1" -s base nTSecurityDescriptor |
    sed -n 's/^nTSecurityDescriptor:: //p'
}
set_gpo_sd() {  # set_gpo_sd DN BASE64: puts a descriptor read by gpo_sd back
  printf 'dn: %s\nchangetype: modify\nreplace: nTSecurityDescriptor\nnTSecurityDescriptor:: %s\n-\n' "$1" "$2" |
    lab_admin_ldap ldapmodify >/dev/null
}

lab_directory_start() {
  say "Active Directory domain $realm: Samba AD DC $lab_dc_fqdn (private, in its own namespace)"
  local started=$SECONDS
  ward_service_start samba --realm "$realm" \
    --ou "OU=Legal,$domain_dn" --ou "OU=Sales,$domain_dn" \
    --computer "LEGAL-PC1=$work/legal-pc1/host.keytab@OU=Legal,$domain_dn" \
    --computer "SALES-PC1=$work/sales-pc1/host.keytab@OU=Sales,$domain_dn"
  arm_cleanup
  directory_service_pid=${WARD_SERVICE_PIDS[0]}
  dc_seconds=$((SECONDS - started))
  note "DC provisioned and serving in ${dc_seconds} s (pid $WARD_AD_PID, netns $WARD_AD_NETNS)"
  # What `adcli join` adds beside NAME$: the host/ service principals, and their keys in the keytab.
  local host account
  for host in legal-pc1 sales-pc1; do
    account=${host^^}\$
    samba_tool spn add "host/$host.example.test" "$account" >/dev/null
    samba_tool spn add "host/${host^^}" "$account" >/dev/null
    samba_tool domain exportkeytab "$work/$host/host.keytab" --principal="host/$host.example.test" >/dev/null 2>&1
  done
  # The relays: the DC's LDAP and Kerberos ports to Unix sockets, from its namespace.
  start_bg "$work/ad-ldap-relay.log" nsenter --net="/run/netns/$WARD_AD_NETNS" \
    socat "UNIX-LISTEN:$work/ad-ldap.sock,fork,mode=0600" "TCP:127.0.0.1:389"
  start_bg "$work/ad-kdc-relay.log" nsenter --net="/run/netns/$WARD_AD_NETNS" \
    socat "UNIX-LISTEN:$work/ad-kdc.sock,fork,mode=0600" "TCP:127.0.0.1:88"
  wait_for 10 test -S "$work/ad-ldap.sock"
  wait_for 10 test -S "$work/ad-kdc.sock"
  # The hosts' krb5.conf: the KDC on their loopback (the relay), TCP only (udp_preference_limit),
  # no DNS.
  printf '[libdefaults]\n default_realm = %s\n dns_lookup_kdc = false\n dns_lookup_realm = false\n rdns = false\n udp_preference_limit = 1\n[realms]\n %s = {\n  kdc = 127.0.0.1:88\n }\n[domain_realm]\n .example.test = %s\n example.test = %s\n' \
    "$realm" "$realm" "$realm" "$realm" >"$work/hosts-krb5.conf"
  lab_hosts_krb5_config=$work/hosts-krb5.conf

  say "The Legal scenario, written with ward-dir (Kerberos, as the domain administrator)"
  ward_dir policy import "$root/schemas/examples/legal-policy.json" >/dev/null
  ward_dir policy import "$root/schemas/examples/domain-policy.json" >/dev/null
  ward_dir gpo create "Legal IPsec" >/dev/null
  ward_dir gpo link "Legal IPsec" "OU=Legal,$domain_dn" >/dev/null
  ward_dir gpo assign "Legal IPsec" "Communication for the Legal Department" >/dev/null
  ward_dir gpo create "Domain IPsec" >/dev/null
  ward_dir gpo link "Domain IPsec" "$domain_dn" >/dev/null
  ward_dir gpo assign "Domain IPsec" "Domain IPsec: secure traffic to Legal" >/dev/null
  # AD's default ACL lets computers list the IPsec policies, not read them (Windows 2000 domains
  # granted Authenticated Users read): grant it, inheritable, on CN=IP Security.
  ward_dir directory grant-read >/dev/null
  samba_tool sites create HQ >/dev/null
  samba_tool sites subnet create 10.20.1.0/24 HQ >/dev/null
  samba_tool sites subnet create 10.20.2.0/24 HQ >/dev/null
  ward_dir gpo create "HQ Site" >/dev/null
  ward_dir gpo link "HQ Site" "CN=HQ,CN=Sites,CN=Configuration,$domain_dn" >/dev/null
  ward_dir policy list | sed 's/^/   /'
}

lab_host_relays() {  # lab_host_relays HOST NS: the DC's ports on the host's loopback
  local dir="$work/$1" ns=$2
  start_bg "$dir/ldap-relay.log" ip netns exec "$ns" \
    socat "TCP-LISTEN:389,bind=127.0.0.1,fork,reuseaddr" "UNIX-CONNECT:$work/ad-ldap.sock"
  start_bg "$dir/kdc-relay.log" ip netns exec "$ns" \
    socat "TCP-LISTEN:88,bind=127.0.0.1,fork,reuseaddr" "UNIX-CONNECT:$work/ad-kdc.sock"
}

lab_host_conf() {  # lab_host_conf HOST DIR: [directory] as for a host joined with adcli
  cat <<CONF
[directory]
uri = ldap://$lab_dc_fqdn
realm = $realm
keytab = $2/host.keytab
CONF
}
