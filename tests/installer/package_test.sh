#!/usr/bin/env bash
# Builds Ward's Debian packages with cpack from the binaries already in the build tree (nothing is
# compiled), installs them with dpkg into a throwaway root (dpkg --root, maintainer scripts run
# chrootless against that root through DPKG_ROOT), and checks what a Debian admin would see:
# control fields, the file list, modes, the conffile, the postinst's group and directories, that
# every installed program starts on the host's libraries, and remove/purge.
#
#   package_test.sh BUILD_DIR SOURCE_DIR
#
# Needs root (dpkg, groupadd --prefix), dpkg-dev (dpkg-shlibdeps) and the packaged programs built.
# Exit 77 (skipped) when not root or a tool is missing. Nothing outside its temp dir is written.
set -euo pipefail

build_dir=${1:?usage: package_test.sh BUILD_DIR SOURCE_DIR}
source_dir=${2:?usage: package_test.sh BUILD_DIR SOURCE_DIR}
readonly SKIP=77

if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: needs root (dpkg --root and groupadd --prefix)"
  exit $SKIP
fi
for tool in cpack dpkg dpkg-deb dpkg-query dpkg-shlibdeps groupadd; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not found"; exit $SKIP; }
done
[[ -f $build_dir/CPackConfig.cmake ]] || { echo "FAIL: $build_dir/CPackConfig.cmake missing (configure first)"; exit 1; }

work=$(mktemp -d -t ward-package-test.XXXXXX)
trap 'rm -rf -- "$work"' EXIT
failures=0
check() {  # check DESCRIPTION COMMAND... — runs COMMAND, counts a failure
  local what=$1
  shift
  if "$@"; then
    echo "ok    $what"
  else
    echo "FAIL  $what"
    failures=$((failures + 1))
  fi
}

host_groups=$(cat /etc/group /etc/gshadow 2>/dev/null | md5sum)

# --- build ---------------------------------------------------------------------------------------
started=$SECONDS
if ! cpack --config "$build_dir/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1; then
  echo "FAIL: cpack (are wardd, wardctl, ward-dir, ward-policy-ldif and ward-editor built?)"
  tail -30 "$work/cpack.log"
  exit 1
fi
echo "cpack took $((SECONDS - started)) s"
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$build_dir/CPackConfig.cmake")
arch=$(dpkg --print-architecture)
declare -A deb
for package in ward-agent ward-directory-tools ward-editor; do
  deb[$package]=$work/out/${package}_${version}-1_${arch}.deb
  check "$package: ${deb[$package]##*/} built" test -f "${deb[$package]}"
  echo "      size $(stat -c %s "${deb[$package]}") bytes"
done
((failures == 0)) || exit 1

field() { dpkg-deb -f "${deb[$1]}" "$2"; }
contains() { [[ $1 == *"$2"* ]]; }
check "ward-agent Depends has shlibdeps' libssl3, libnetfilter-queue1 and libnftnl11, and no iptables" \
  bash -c '[[ $0 == *libssl3* && $0 == *libnetfilter-queue1* && $0 == *libnftnl11* && $0 != *iptables* ]]' "$(field ward-agent Depends)"
check "ward-directory-tools Depends has libldap and ldap-utils" \
  bash -c '[[ $0 == *libldap* && $0 == *ldap-utils* ]]' "$(field ward-directory-tools Depends)"
check "ward-editor Depends has Qt 6 Widgets and the platform plugins" \
  bash -c '[[ $0 == *libqt6widgets6* && $0 == *qt6-qpa-plugins* ]]' "$(field ward-editor Depends)"
check "versions are the project's ($version-1)" \
  bash -c '[[ $0 == "$1-1" && $2 == "$1-1" && $3 == "$1-1" ]]' "$(field ward-agent Version)" "$version" \
  "$(field ward-directory-tools Version)" "$(field ward-editor Version)"
check "each package's first description line is its own summary" \
  bash -c '[[ $0 == "Ward IPsec policy agent" && $1 == "Ward IPsec policy editor (Qt 6)" ]]' \
  "$(field ward-agent Description | head -1)" "$(field ward-editor Description | head -1)"

# --- install into a throwaway root ---------------------------------------------------------------
root=$work/root
admin=$root/var/lib/dpkg
mkdir -p "$admin/info" "$admin/updates" "$admin/triggers" "$root/etc"
touch "$admin/status" "$admin/available"
printf 'root:x:0:\n' >"$root/etc/group"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
dpkg_root() {
  dpkg --root="$root" --admindir="$admin" --log="$work/dpkg.log" --force-script-chrootless \
    --force-depends --force-confdef --force-confold --path-include='*' "$@"
}
if ! dpkg_root -i "${deb[ward-agent]}" "${deb[ward-directory-tools]}" "${deb[ward-editor]}" >"$work/install.log" 2>&1; then
  echo "FAIL: dpkg -i into $root"
  cat "$work/install.log"
  exit 1
fi
check "all three packages are installed" bash -c \
  '[[ $(dpkg-query --admindir="$0" -W -f="\${db:Status-Status} " ward-agent ward-directory-tools ward-editor) == "installed installed installed " ]]' "$admin"

# The exact file list of each package (directories left out).
files_of() {
  dpkg-query --admindir="$admin" -L "$1" | while IFS= read -r path; do
    [[ -d $root$path ]] || echo "$path"
  done | sort
}
expect_files() {
  local package=$1
  shift
  local expected actual
  expected=$(printf '%s\n' "$@" | sort)
  actual=$(files_of "$package")
  if [[ $expected == "$actual" ]]; then
    return 0
  fi
  diff <(echo "$expected") <(echo "$actual") | sed 's/^/      /'
  return 1
}
check "ward-agent's files" expect_files ward-agent \
  /etc/ward/ward.conf /lib/systemd/system/wardd.service /usr/bin/wardctl /usr/sbin/wardd \
  /usr/lib/tmpfiles.d/ward.conf /usr/share/doc/ward/README.md /usr/share/doc/ward-agent/changelog.Debian.gz \
  /usr/share/doc/ward-agent/copyright /usr/share/man/man8/wardd.8.gz /usr/share/man/man8/wardctl.8.gz \
  /usr/share/man/man5/ward.conf.5.gz
check "ward-directory-tools' files" expect_files ward-directory-tools \
  /usr/bin/ward-dir /usr/bin/ward-policy-ldif /usr/sbin/ward-bootstrap-directory \
  /usr/share/ward/schema/ward-ad-ipsec.ldif /usr/share/ward/examples/legal.ldif \
  /usr/share/ward/examples/legal-policy.json /usr/share/ward/examples/domain-policy.json \
  /usr/share/doc/ward-directory-tools/changelog.Debian.gz /usr/share/doc/ward-directory-tools/copyright \
  /usr/share/man/man8/ward-dir.8.gz
check "ward-editor's files" expect_files ward-editor \
  /usr/bin/ward-editor /usr/share/applications/ward-editor.desktop /usr/share/doc/ward-editor/changelog.Debian.gz \
  /usr/share/doc/ward-editor/copyright

# copyright: Debian's machine-readable format (DEP-5), Apache-2.0, pointing at common-licenses.
copyright_is_dep5_apache() {
  local file
  for file in "$@"; do
    file=$root$file
    if ! head -1 "$file" | grep -qx 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' ||
       ! grep -qx 'Files: \*' "$file" || ! grep -qx 'License: Apache-2.0' "$file" ||
       ! grep -q '/usr/share/common-licenses/Apache-2.0' "$file"; then
      echo "      $file is not a DEP-5 Apache-2.0 copyright file"
      return 1
    fi
  done
}
check "each package's copyright is DEP-5 with License: Apache-2.0" copyright_is_dep5_apache \
  /usr/share/doc/ward-agent/copyright /usr/share/doc/ward-directory-tools/copyright /usr/share/doc/ward-editor/copyright
# man pages: gzip -9n (no name, no time stamp), and each renders with its NAME line and no
# groff warning.
man_page_renders() {  # man_page_renders NAME SECTION
  local page=$root/usr/share/man/man$2/$1.$2.gz text
  if [[ $(od -An -tu1 -j4 -N4 "$page" | tr -d ' ') != "0000" ]]; then
    echo "      $page is not gzip -n (it carries a time stamp)"
    return 1
  fi
  text=$(zcat "$page" | groff -man -Tascii -P-cbou -ww 2>"$work/groff-$1.err") || return 1
  [[ ! -s $work/groff-$1.err ]] || { echo "      $1($2): $(head -3 "$work/groff-$1.err")"; return 1; }
  grep -Eq -- "^ *$1 +- " <<<"$text" || { echo "      $1($2) has no NAME line"; return 1; }
}
for page in wardd:8 wardctl:8 ward.conf:5 ward-dir:8; do
  check "man page ${page%:*}(${page#*:}) is installed and renders" man_page_renders "${page%:*}" "${page#*:}"
done
check "the man pages describe what the programs' --help does (every wardctl command in wardctl(8))" bash -c '
  for word in "show policy" "show filters" explain "show sa" "show events" refresh flush; do
    zcat "$0/usr/share/man/man8/wardctl.8.gz" | grep -q "$word" || { echo "      wardctl(8) lacks $word"; exit 1; }
  done' "$root"

mode_is() {  # mode_is OCTAL PATH...
  local want=$1 path have
  shift
  for path in "$@"; do
    have=$(stat -c %a "$root$path")
    if [[ $have != "$want" ]]; then
      echo "      $path has mode $have, not $want"
      return 1
    fi
  done
}
owned_by_root() {
  local bad
  bad=$(find "$root" -path "$admin" -prune -o \( ! -user 0 -o ! -group 0 \) ! -path "$root/run/ward" -print)
  [[ -z $bad ]] || { echo "      not root:root: $bad"; return 1; }
}
check "the unit, config, tmpfiles.d, data and .desktop are 0644" mode_is 644 \
  /lib/systemd/system/wardd.service /etc/ward/ward.conf /usr/lib/tmpfiles.d/ward.conf \
  /usr/share/ward/schema/ward-ad-ipsec.ldif /usr/share/ward/examples/legal.ldif \
  /usr/share/applications/ward-editor.desktop /usr/share/doc/ward/README.md \
  /usr/share/doc/ward-agent/changelog.Debian.gz /usr/share/doc/ward-agent/copyright \
  /usr/share/man/man8/wardd.8.gz /usr/share/man/man5/ward.conf.5.gz
check "programs are 0755" mode_is 755 /usr/sbin/wardd /usr/bin/wardctl /usr/bin/ward-dir \
  /usr/bin/ward-policy-ldif /usr/sbin/ward-bootstrap-directory /usr/bin/ward-editor
check "no world-writable file or directory" \
  bash -c '[[ -z $(find "$0" ! -type l -perm -o+w -print) ]]' "$root"
check "every packaged file is owned by root:root" owned_by_root
check "the programs carry no RUNPATH and no debug info" bash -c '
  for p in "$@"; do
    if readelf -d "$p" | grep -q "R\(UN\)\?PATH" || readelf -S "$p" | grep -q "\.debug_info"; then
      echo "      $p"; exit 1; fi
  done' _ "$root/usr/sbin/wardd" "$root/usr/bin/wardctl" "$root/usr/bin/ward-dir" \
  "$root/usr/bin/ward-policy-ldif" "$root/usr/bin/ward-editor"

# Conffile and maintainer scripts.
check "/etc/ward/ward.conf is a conffile of ward-agent" bash -c \
  '[[ $(dpkg-query --admindir="$0" -W -f="\${Conffiles}" ward-agent) == *"/etc/ward/ward.conf "* ]]' "$admin"
check "ward.conf is the shipped example" cmp -s "$root/etc/ward/ward.conf" \
  "$source_dir/agent/config/ward.conf.example"
ward_gid=$(awk -F: '$1 == "ward" { print $3 }' "$root/etc/group")
check "postinst made the system group ward in the root (gid $ward_gid)" \
  bash -c '[[ -n $0 && $0 -lt 1000 ]]' "$ward_gid"
check "postinst made the system user _ward with a group of its own and no shell" bash -c \
  '[[ $(awk -F: '"'"'$1 == "_ward" { print ($3 < 1000) ":" $7 }'"'"' "$0/etc/passwd") == "1:/usr/sbin/nologin" ]] && grep -q "^_ward:" "$0/etc/group"' "$root"
check "postinst made /var/lib/ward 0700 root:root" bash -c \
  '[[ $(stat -c "%a %u %g" "$0/var/lib/ward") == "700 0 0" ]]' "$root"
check "postinst made /run/ward 0750 root:ward" bash -c \
  '[[ $(stat -c "%a %u %g" "$0/run/ward") == "750 0 $1" ]]' "$root" "$ward_gid"
check "the host's /etc/group and /etc/gshadow were not touched" bash -c '[[ $(cat /etc/group /etc/gshadow 2>/dev/null | md5sum) == "$0" ]]' "$host_groups"

# Every program starts on the host's libraries.
starts() {  # starts PROGRAM ARGS... — exit 0 and some output
  local out
  if ! out=$(QT_QPA_PLATFORM=offscreen "$@" 2>&1); then
    echo "      $* failed: ${out:0:300}"
    return 1
  fi
  [[ -n $out ]]
}
no_missing_libraries() {
  local p
  for p in "$@"; do
    if ldd "$p" | grep -q "not found"; then
      ldd "$p" | grep "not found" | sed "s|^|      $p: |"
      return 1
    fi
  done
}
check "no library is missing (ldd)" no_missing_libraries "$root/usr/sbin/wardd" "$root/usr/bin/wardctl" \
  "$root/usr/bin/ward-dir" "$root/usr/bin/ward-policy-ldif" "$root/usr/bin/ward-editor"
check "wardd --help" starts "$root/usr/sbin/wardd" --help
check "wardctl --help" starts "$root/usr/bin/wardctl" --help
check "ward-dir --help" starts "$root/usr/bin/ward-dir" --help
check "ward-editor --help (offscreen)" starts "$root/usr/bin/ward-editor" --help
check "ward-bootstrap-directory --help" starts "$root/usr/sbin/ward-bootstrap-directory" --help
check "ward-policy-ldif turns the installed Legal example into LDIF" bash -c \
  '"$0/usr/bin/ward-policy-ldif" DC=example,DC=test "$0/usr/share/ward/examples/legal-policy.json" | grep -q "^dn: CN=ipsecPolicy{"' "$root"

# A reinstall (postinst configure with the old version: the upgrade path) keeps a local edit of
# the conffile and makes no second group.
echo "# local edit by the package test" >>"$root/etc/ward/ward.conf"
dpkg_root -i "${deb[ward-agent]}" >"$work/reinstall.log" 2>&1 || { cat "$work/reinstall.log"; failures=$((failures + 1)); }
check "reinstall: the local edit of ward.conf is kept" grep -q "^# local edit by the package test" "$root/etc/ward/ward.conf"
check "reinstall: one group ward" bash -c '[[ $(grep -c "^ward:" "$0/etc/group") == 1 ]]' "$root"

# Remove keeps the conffile, purge takes it and the cache directory.
dpkg_root -r ward-agent >"$work/remove.log" 2>&1 || { cat "$work/remove.log"; failures=$((failures + 1)); }
check "remove: programs gone, ward.conf kept" bash -c \
  '[[ ! -e $0/usr/sbin/wardd && -f $0/etc/ward/ward.conf ]]' "$root"
dpkg_root -P ward-agent >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; failures=$((failures + 1)); }
check "purge: ward.conf, /etc/ward and /var/lib/ward gone" bash -c \
  '[[ ! -e $0/etc/ward/ward.conf && ! -e $0/etc/ward && ! -e $0/var/lib/ward ]]' "$root"

echo "package test took $((SECONDS - started)) s"
if ((failures > 0)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
