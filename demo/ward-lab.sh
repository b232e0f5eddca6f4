#!/usr/bin/env bash
# ward-lab: the Legal scenario on two hosts, end to end, with real components.
#
#   demo/ward-lab.sh [--check] [--build DIR] [--directory openldap|ad]
#
# --directory ad runs the same lab on Active Directory: a Samba AD DC instead of slapd + krb5kdc,
# the hosts joined as computer accounts (LEGAL-PC1$, SALES-PC1$), the Legal scenario written with
# ward-dir, change notification by AD's control, GPO security filtering and the site found from
# the subnet objects (demo/lab-directory-ad.sh says how).
#
# A private Kerberos realm (MIT krb5kdc) and directory (slapd, Ward's AD-layout schema, the Legal
# example: OUs Legal and Sales, GPOs "Legal IPsec" and "Domain IPsec") run on loopback in a
# temporary directory. Two hosts, legal-pc1 (10.20.1.10, OU=Legal) and sales-pc1 (10.20.2.10,
# OU=Sales), are network namespaces joined by a veth pair; each runs `wardd` with the nfqueue
# driver and privilege separation as packaged (`[privsep] user = nobody`: IKE, the keys and the
# directory fetch in unprivileged processes), binds to the directory with its host keytab, and
# gets its policy through Group Policy.
# The hosts reach the directory and the KDC as a domain member reaches its domain controller, on
# a link the IPsec policy does not cover: socat relays each namespace's loopback port to the
# service's Unix socket (slapd's ldapi) or to the KDC's loopback port through a Unix socket.
#
# Then: traffic between the hosts (ping, a TCP stream) is captured on the veth with tshark, the
# SAs are shown with `wardctl show sa`, a policy change made with `ward-dir` reaches both hosts,
# and with slapd stopped the hosts keep protecting traffic from their cache.
#
# --check turns every "expect" into an assertion (exit 1 on the first failure): this is the
# end-to-end test tests/e2e runs. Everything the lab starts is stopped by pid, and its
# namespaces and temp dir removed, on exit and on Ctrl-C.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$root/build/default"
check=false
directory=openldap
while (($#)); do
  case $1 in
    --check) check=true ;;
    --build) build=$2; shift ;;
    --directory)
      directory=$2
      shift
      [[ $directory == openldap || $directory == ad ]] || { echo "ward-lab: --directory openldap or ad" >&2; exit 2; }
      ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "ward-lab: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

readonly realm=EXAMPLE.TEST
readonly domain_dn="DC=example,DC=test"
readonly legal_addr=10.20.1.10 sales_addr=10.20.2.10
readonly wardd="$build/agent/daemon/wardd" wardctl="$build/agent/wardctl/wardctl"
readonly ward_dir_bin="$build/directory/cli/ward-dir" service="$build/tests/harness/ward_test_service"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }
failures=0
expect() {  # expect "what" command...: in --check mode a failure ends the lab
  local what=$1
  shift
  if "$@"; then
    note "ok: $what"
  else
    note "FAILED: $what"
    failures=$((failures + 1))
    if $check; then exit 1; fi
  fi
}

for tool in "$wardd" "$wardctl" "$ward_dir_bin" "$service"; do
  [[ -x $tool ]] || { echo "ward-lab: $tool is not built (scripts/build default)" >&2; exit 2; }
done
tools=(ip socat tshark jq ping iperf3 unshare)
[[ $directory == ad ]] && tools+=(nsenter samba samba-tool)
for tool in "${tools[@]}"; do
  command -v "$tool" >/dev/null || { echo "ward-lab: needs $tool (scripts/install-deps)" >&2; exit 2; }
done
if ((EUID != 0)); then
  echo "ward-lab: needs root for network namespaces and nfqueue (CAP_NET_ADMIN)" >&2
  exit 77
fi

work=$(mktemp -d /tmp/ward-lab-XXXXXX)
chmod 0700 "$work"
tag=wl$$
ns_legal=$tag-legal ns_sales=$tag-sales
pids=()

# shellcheck source=tests/harness/services.sh
source "$root/tests/harness/services.sh"
WARD_TEST_SERVICE=$service

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local pid
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[i]}
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  ward_services_stop
  ip netns del "$ns_legal" 2>/dev/null || true
  ip netns del "$ns_sales" 2>/dev/null || true
  rm -rf "/etc/netns/$ns_legal" "/etc/netns/$ns_sales"
  if [[ -n ${WARD_LAB_KEEP:-} ]]; then echo "ward-lab: kept $work" >&2; else rm -rf "$work"; fi
  exit "$status"
}
arm_cleanup() { trap cleanup EXIT; trap 'exit 130' INT TERM; }
arm_cleanup

start_bg() {  # start_bg LOG command...: remembers the pid for cleanup
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  pids+=($!)
}

wait_for() {  # wait_for SECONDS command...
  local limit=$1
  shift
  local deadline=$((SECONDS + limit))
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# ---- the domain: KDC and directory -------------------------------------------------------------
for host in legal-pc1 sales-pc1; do mkdir -m 0700 "$work/$host"; done
lab_hosts_krb5_config=""
if [[ $directory == ad ]]; then
  # shellcheck source=demo/lab-directory-ad.sh
  source "$root/demo/lab-directory-ad.sh"
  lab_directory_start
else
  say "Directory and Kerberos realm $realm (private, on loopback)"
  ward_service_start kdc --realm "$realm" \
    --principal ldap/localhost="$work/ldap.keytab" \
    --principal host/legal-pc1.example.test="$work/legal-pc1/host.keytab" \
    --principal host/sales-pc1.example.test="$work/sales-pc1/host.keytab"
  arm_cleanup
  ward_service_start slapd --suffix dc=example,dc=test --root-dn cn=admin,dc=example,dc=test --no-suffix-entry --syncprov \
    --schema "$root/schemas/openldap/ward-ad-ipsec.ldif" --ldif "$root/schemas/examples/legal.ldif" \
    --sasl-host localhost --sasl-realm "$realm" --sasl-keytab "$work/ldap.keytab" \
    --authz-regexp '^uid=host/([^,]+)(,cn=example\.test)?,cn=gssapi,cn=auth$' \
    'ldap:///dc=example,dc=test??sub?(dNSHostName=$1)'
  arm_cleanup
  directory_service_pid=${WARD_SERVICE_PIDS[1]}
  ldap_port=${WARD_SLAPD_URI##*:}
  ldapi_socket=$WARD_SLAPD_DIR/ldapi
  note "krb5kdc on 127.0.0.1:$WARD_KDC_PORT, slapd on $WARD_SLAPD_URI (Legal scenario loaded)"

  admin_password="$work/admin.password"
  printf '%s\n' "$WARD_SLAPD_ROOT_PASSWORD" >"$admin_password"
  chmod 0600 "$admin_password"
  ward_dir() { "$ward_dir_bin" --uri "$WARD_SLAPD_URI" --bind-dn cn=admin,dc=example,dc=test \
    --password-file "$admin_password" --domain "$domain_dn" "$@"; }
fi

# ---- two hosts ---------------------------------------------------------------------------------
say "Hosts legal-pc1 ($legal_addr, OU=Legal) and sales-pc1 ($sales_addr, OU=Sales)"
ip netns add "$ns_legal"
ip netns add "$ns_sales"
# Each host's /etc/hosts (ip netns exec mounts /etc/netns/<ns>/hosts over it): IKE's Kerberos
# asks for host/<the peer's DNS name>, as Windows does, and the lab has no DNS server.
for ns in "$ns_legal" "$ns_sales"; do
  mkdir -p "/etc/netns/$ns"
  printf '127.0.0.1 localhost\n127.0.0.1 dc1.example.test dc1\n%s legal-pc1.example.test legal-pc1\n%s sales-pc1.example.test sales-pc1\n' \
    "$legal_addr" "$sales_addr" >"/etc/netns/$ns/hosts"
done
ip link add "$tag-l" type veth peer name "$tag-s"
ip link set "$tag-l" netns "$ns_legal"
ip link set "$tag-s" netns "$ns_sales"
ip -n "$ns_legal" addr add "$legal_addr/24" dev "$tag-l"
ip -n "$ns_sales" addr add "$sales_addr/24" dev "$tag-s"
for pair in "$ns_legal:$tag-l:10.20.2.0/24" "$ns_sales:$tag-s:10.20.1.0/24"; do
  IFS=: read -r ns dev subnet <<<"$pair"
  ip -n "$ns" link set lo up
  ip -n "$ns" link set "$dev" up
  ip -n "$ns" route add "$subnet" dev "$dev"
done

if [[ $directory == openldap ]]; then
  # The KDC listens on the root namespace's loopback; relay it through a Unix socket.
  start_bg "$work/kdc-relay.log" socat "UNIX-LISTEN:$work/kdc.sock,fork,mode=0600" "TCP:127.0.0.1:$WARD_KDC_PORT"
  wait_for 10 test -S "$work/kdc.sock"
  lab_host_relays() {  # lab_host_relays HOST NS
    local dir="$work/$1" ns=$2
    start_bg "$dir/ldap-relay.log" ip netns exec "$ns" \
      socat "TCP-LISTEN:$ldap_port,bind=127.0.0.1,fork,reuseaddr" "UNIX-CONNECT:$ldapi_socket"
    start_bg "$dir/kdc-relay.log" ip netns exec "$ns" \
      socat "TCP-LISTEN:$WARD_KDC_PORT,bind=127.0.0.1,fork,reuseaddr" "UNIX-CONNECT:$work/kdc.sock"
  }
  lab_host_conf() {  # lab_host_conf HOST DIR: the lab KDC knows the hosts as host/<fqdn> only
    printf '[directory]\nuri = ldap://localhost:%s\nrealm = %s\nkeytab = %s/host.keytab\n' "$ldap_port" "$realm" "$2"
    printf 'principal = host/%s.example.test@%s\ncomputer_name = %s$\n' "$1" "$realm" "${1^^}"
  }
fi

start_host() {  # start_host NAME NS: wardd as a host named NAME.example.test
  local name=$1 ns=$2 dir="$work/$1"
  lab_host_relays "$name" "$ns"
  {
    lab_host_conf "$name" "$dir"
    cat <<EOF
[driver]
backend = nfqueue
[control]
socket = $dir/run/control.sock
[cache]
path = $dir/lib/ward.db
[log]
level = info
[privsep]
user = nobody
EOF
  } >"$dir/ward.conf"
  # On AD, its own host name (a UTS namespace): wardd derives its computer account (NAME$) and IKE
  # service principal (host/<fqdn>) from it, as on a joined host. (The OpenLDAP lab names its
  # principals in ward.conf and keeps the machine's name: with a dotted host name, MIT Kerberos
  # would qualify the URI's "localhost" with that domain.)
  local host_name=""
  [[ $directory == ad ]] && host_name="$name.example.test"
  start_bg "$dir/wardd.log" ip netns exec "$ns" unshare --uts \
    env KRB5_CONFIG="${lab_hosts_krb5_config:-$KRB5_CONFIG}" KRB5CCNAME="MEMORY:wardd" \
    sh -c '[ -z "$0" ] || hostname "$0"; exec "$@"' "$host_name" "$wardd" --config "$dir/ward.conf"
  eval "${name//-/_}_wardd_pid=\$!"
}
start_host legal-pc1 "$ns_legal"
start_host sales-pc1 "$ns_sales"

ctl() {  # ctl HOST args...: wardctl against that host's agent
  local host=$1
  shift
  "$wardctl" --socket "$work/$host/run/control.sock" "$@"
}
policy_name() { ctl "$1" --json show policy 2>/dev/null | jq -r '.policy.name // empty'; }
policy_state() { ctl "$1" --json show policy 2>/dev/null | jq -r '.state // empty'; }
has_policy() { [[ $(policy_state "$1") == applied ]]; }

expect "legal-pc1's agent applied a policy from the directory" wait_for 30 has_policy legal-pc1
expect "sales-pc1's agent applied a policy from the directory" wait_for 30 has_policy sales-pc1
for host in legal-pc1 sales-pc1; do
  ctl "$host" --json show policy | jq -r --arg h "$host" \
    '"   \($h): \"\(.policy.name // "none")\" from GPO \"\(.source.gpo_name)\" linked at \(.source.som_dn)"'
done
expect "legal-pc1 enforces the Legal department's policy" \
  test "$(policy_name legal-pc1)" = "Communication for the Legal Department"
expect "sales-pc1 enforces the domain's policy" \
  test "$(policy_name sales-pc1)" = "Domain IPsec: secure traffic to Legal"

say "wardd's unprivileged processes ([privsep] user = nobody; the package ships _ward)"
privsep_children() {  # privsep_children PID: "ROLE USER CAPEFF" per child of that wardd
  local child role
  for child in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    role=$(tr '\0' ' ' <"/proc/$child/cmdline" | sed -n 's/.*--privsep-child \([a-z]*\).*/\1/p')
    [[ -n $role ]] || continue
    echo "$role $(ps -o user= -p "$child") $(awk '/^CapEff:/ {print $2}' "/proc/$child/status")"
  done | sort
}
unprivileged_children() {  # unprivileged_children PID: IKE, keys and the fetch, as nobody, no capability
  local listing
  listing=$(privsep_children "$1")
  [[ $(awk '$2 == "nobody" && $3 == "0000000000000000" {print $1}' <<<"$listing" | tr '\n' ' ') == "fetch ike keys " ]]
}
for host in legal-pc1 sales-pc1; do
  pid_var=${host//-/_}_wardd_pid
  expect "$host's wardd runs IKE, its keys and the directory fetch as nobody, without capabilities" \
    wait_for 10 unprivileged_children "${!pid_var}"
  privsep_children "${!pid_var}" | while read -r role user caps; do note "$host: $role as $user, CapEff $caps"; done
done

# ---- traffic -------------------------------------------------------------------------------------
capture() {  # capture FILE SECONDS: tshark on legal-pc1's veth, in the background
  # A log of its own per capture: with one shared log, the previous capture's "Capturing on" could
  # be read before the new tshark truncated it, and the traffic sent before this one listened.
  local log=$1.log
  start_bg "$log" ip netns exec "$ns_legal" tshark -q -n -i "$tag-l" -a "duration:$2" -w "$1"
  capture_pid=${pids[-1]}
  # Said, not left to `set -e`: a bare failure here ended a loaded CI run's lab with no word of why
  # (tshark's start-up took over 10 s beside the ASan stage's other tests).
  if ! wait_for 30 grep -q "Capturing on" "$log"; then
    note "FAILED: tshark was not capturing on $tag-l within 30 s: $(tail -c 300 "$log" | tr '\n' ' ')"
    failures=$((failures + 1))
    if $check; then exit 1; fi
  fi
}
count_packets() {  # count_packets FILE DISPLAY-FILTER
  tshark -n -r "$1" -Y "$2" 2>/dev/null | wc -l
}
send_traffic() {
  ip netns exec "$ns_legal" ping -c 5 -i 0.2 -W 2 "$sales_addr" >"$work/ping.log" 2>&1
}
tcp_stream() {
  ip netns exec "$ns_sales" iperf3 -s -1 -B "$sales_addr" >"$work/iperf-server.log" 2>&1 &
  local server=$!
  pids+=("$server")
  sleep 0.5
  ip netns exec "$ns_legal" iperf3 -c "$sales_addr" -t 2 -f m >"$work/iperf.log" 2>&1
}

say "Traffic legal-pc1 -> sales-pc1, captured on the wire"
capture "$work/wire-1.pcap" 12
start=$(date +%s%N)
expect "ping legal-pc1 -> sales-pc1 answers (the first packet waits for IKE)" wait_for 20 send_traffic
note "5 pings answered $(( ($(date +%s%N) - start) / 1000000 )) ms after the first was sent (main mode + quick mode included)"
expect "a TCP stream passes" tcp_stream
note "$(grep -E 'receiver' "$work/iperf.log" | awk '{print "iperf3 through the nfqueue dataplane:", $(NF-2), $(NF-1)}')"
wait "$capture_pid" 2>/dev/null || true
esp=$(count_packets "$work/wire-1.pcap" esp)
isakmp=$(count_packets "$work/wire-1.pcap" isakmp)
clear=$(count_packets "$work/wire-1.pcap" "icmp or tcp")
note "on the wire: $isakmp ISAKMP, $esp ESP, $clear clear ICMP/TCP packets"
expect "the wire carries ESP" test "$esp" -gt 0
expect "no ICMP or TCP in clear on the wire" test "$clear" -eq 0

say "Security associations (wardctl show sa)"
for host in legal-pc1 sales-pc1; do
  note "$host:"
  ctl "$host" show sa | sed 's/^/     /'
done
sa_count() { ctl "$1" --json show sa | jq '[.quick_modes[]?] | length'; }
qm_ciphers() { ctl "$1" --json show sa | jq -r '[.quick_modes[]?.cipher] | unique | join(",")'; }
mm_auth() { ctl "$1" --json show sa | jq -r '[.main_modes[]?.auth_method] | unique | join(",")'; }
expect "legal-pc1 has quick mode SAs" test "$(sa_count legal-pc1)" -gt 0
expect "sales-pc1 has quick mode SAs" test "$(sa_count sales-pc1)" -gt 0
expect "the hosts authenticated each other with Kerberos" test "$(mm_auth legal-pc1)" = "Kerberos (GSS-API)"
expect "legal-pc1 <-> sales-pc1 is encrypted with the first method, AES-GCM-256" \
  test "$(qm_ciphers legal-pc1),$(qm_ciphers sales-pc1)" = "AES-GCM-256,AES-GCM-256"

# ---- a policy change through the directory -------------------------------------------------------
say "Policy change with ward-dir: traffic to and from Legal uses AES-CBC + HMAC-SHA-256 only"
stamp() { ctl "$1" --json show policy | jq -r '.source.change_stamp'; }
legal_before=$(stamp legal-pc1)
sales_before=$(stamp sales-pc1)
changed_at=$(date +%s%N)
ward_dir filteraction set "Communication for the Legal Department" "Secure traffic outside the Legal department" \
  --esp aes256-cbc:sha256 >/dev/null
ward_dir filteraction set "Domain IPsec: secure traffic to Legal" "Encrypt traffic to Legal" --esp aes256-cbc:sha256 >/dev/null
stamp_moved() { [[ $(stamp "$1") != "$2" ]]; }
expect "legal-pc1 applied the change" wait_for 30 stamp_moved legal-pc1 "$legal_before"
legal_ms=$((($(date +%s%N) - changed_at) / 1000000))
expect "sales-pc1 applied the change" wait_for 30 stamp_moved sales-pc1 "$sales_before"
sales_ms=$((($(date +%s%N) - changed_at) / 1000000))
note "change-to-applied: legal-pc1 within $legal_ms ms, sales-pc1 within $sales_ms ms"
capture "$work/wire-2.pcap" 20
expect "ping still answers under the new protection" wait_for 20 send_traffic
wait "$capture_pid" 2>/dev/null || true
expect "the new traffic is ESP" test "$(count_packets "$work/wire-2.pcap" esp)" -gt 0
expect "and no ICMP in clear" test "$(count_packets "$work/wire-2.pcap" icmp)" -eq 0
expect "the SAs agreed under the old terms are gone; the new ones are AES-CBC-256" \
  test "$(qm_ciphers legal-pc1),$(qm_ciphers sales-pc1)" = "AES-CBC-256,AES-CBC-256"
ctl legal-pc1 show sa | sed 's/^/     /'

# ---- Active Directory: the site from the subnets, GPO security filtering ----------------------------
if [[ $directory == ad ]]; then
  say "Site from the subnet objects, and GPO security filtering (Active Directory)"
  scope_of() { ctl "$1" --json show policy | jq -r "$2"; }
  gpo_field() { scope_of "$1" "[.scope.gpos[]? | select(.name == \"$2\") | .$3] | first // empty"; }
  expect "legal-pc1 found its site from the subnet 10.20.1.0/24 (no site configured, no msDS-SiteName)" \
    test "$(scope_of legal-pc1 '.scope.site.from')" = "subnet 10.20.1.0/24"
  expect "sales-pc1 found its site from the subnet 10.20.2.0/24" test "$(scope_of sales-pc1 '.scope.site.from')" = "subnet 10.20.2.0/24"
  expect "the GPO linked to site HQ applies to both" \
    test "$(gpo_field legal-pc1 'HQ Site' applied),$(gpo_field sales-pc1 'HQ Site' applied)" = "true,true"
  legal_sid=$(samba_tool computer show LEGAL-PC1 --attributes=objectSid | awk '/^objectSid:/ {print $2}')
  legal_gpo=$(gpo_field legal-pc1 "Legal IPsec" dn)
  legal_gpo_sd=$(gpo_sd "$legal_gpo")
  note "denying Apply Group Policy on GPO \"Legal IPsec\" to LEGAL-PC1\$ ($legal_sid)"
  samba_tool_ldap dsacl set --objectdn="$legal_gpo" \
    --sddl="(OD;;CR;edacfd8f-ffb3-11d1-b41d-00a0c968f939;;$legal_sid)" >/dev/null
  denied_at=$(date +%s%N)
  policy_is() { [[ $(policy_name "$1") == "$2" ]]; }
  expect "legal-pc1 drops the GPO denied to it: the domain's policy applies" \
    wait_for 30 policy_is legal-pc1 "Domain IPsec: secure traffic to Legal"
  note "security filtering change-to-applied: $((($(date +%s%N) - denied_at) / 1000000)) ms"
  expect "wardctl show policy says why" \
    grep -q "security filtering denies Apply Group Policy to EXAMPLE\\\\LEGAL-PC1\\$ itself" \
    <(gpo_field legal-pc1 "Legal IPsec" note)
  ctl legal-pc1 show policy | sed -n '1,/^$/p' | sed 's/^/     /'
  expect "sales-pc1 keeps the domain's policy" test "$(policy_name sales-pc1)" = "Domain IPsec: secure traffic to Legal"
  set_gpo_sd "$legal_gpo" "$legal_gpo_sd"
  restored_at=$(date +%s%N)
  expect "with the GPO's security descriptor restored, legal-pc1 applies the Legal policy again" \
    wait_for 30 policy_is legal-pc1 "Communication for the Legal Department"
  note "change-to-applied: $((($(date +%s%N) - restored_at) / 1000000)) ms"
  expect "and legal-pc1 -> sales-pc1 is protected again" wait_for 20 send_traffic
fi

# ---- the directory goes away -----------------------------------------------------------------------
legal_policy=$(policy_name legal-pc1)
say "The directory stopped: the hosts keep protecting from their cache"
kill -TERM "$directory_service_pid"
wait "$directory_service_pid" 2>/dev/null || true
ctl legal-pc1 refresh >/dev/null 2>&1 || true
ctl sales-pc1 refresh >/dev/null 2>&1 || true
unreachable_logged() { ctl "$1" --json show events | jq -e '[.events[] | select(.kind == "directory-unreachable")] | length > 0' >/dev/null; }
expect "legal-pc1 noticed the directory is unreachable" wait_for 20 unreachable_logged legal-pc1
expect "legal-pc1 still enforces its policy ($legal_policy)" test "$(policy_name legal-pc1)" = "$legal_policy"
capture "$work/wire-3.pcap" 8
expect "ping still answers" wait_for 20 send_traffic
wait "$capture_pid" 2>/dev/null || true
expect "and it is still ESP on the wire" test "$(count_packets "$work/wire-3.pcap" esp)" -gt 0
expect "with no ICMP in clear" test "$(count_packets "$work/wire-3.pcap" icmp)" -eq 0

# ---- figures ------------------------------------------------------------------------------------------
say "Figures"
for host in legal-pc1 sales-pc1; do
  pid_var=${host//-/_}_wardd_pid  # `ip netns exec` and `env` exec, so this is wardd itself
  agent_pid=${!pid_var}
  rss=$(awk '/VmRSS/ {print $2, $3}' "/proc/$agent_pid/status" 2>/dev/null || echo "?")
  first=$(grep 'event=directory-fetch' "$work/$host/wardd.log" | grep -o ' round_trips=[0-9]*' | head -1 | cut -d= -f2 || true)
  kept=$(grep 'event=directory-fetch' "$work/$host/wardd.log" | grep 'connection=kept' | grep 'result=policy' | grep -o ' round_trips=[0-9]*' |
    tail -1 | cut -d= -f2 || true)
  note "$host: wardd RSS $rss; LDAP round trips for a full policy fetch: ${first:-?} on a new connection (bind" \
    "included), ${kept:-?} on the kept one"
done
note "directory: $directory${dc_seconds:+ (Samba AD DC provisioned and serving in $dc_seconds s)}"

if ((failures > 0)); then
  say "$failures expectation(s) failed; logs in $work (kept)"
  WARD_LAB_KEEP=1
  exit 1
fi
say "Done: the Legal scenario holds end to end"
