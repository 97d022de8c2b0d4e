#!/usr/bin/env bash
# The Debian package (`make deb`; make test runs it too): builds postgresql-15-jobkeeper with
# PostgreSQL's packaging helpers (debian/, pg_buildext) from a copy of the tree, checks it with
# lintian (no errors), installs it, runs CREATE EXTENSION in a fresh cluster with the packaged
# library preloaded, and removes it again, putting back the library `make install` had placed.
# Ends with "N passed, M failed". JK_DEB_KEEP=dir keeps the .deb files there.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
JK_PACKAGES+=(debhelper dpkg-dev lintian postgresql-server-dev-all)
jk_install_deps || { echo "dependency installation failed"; echo "0 passed, 1 failed"; exit 1; }
jk_use_pg_path

work=$(mktemp -d /tmp/jobkeeper-deb.XXXXXX)
chmod 755 "$work"
installed=0
cleanup() {
  jk_cluster_destroy "$work/cluster"
  if [ "$installed" = 1 ]; then
    dpkg -r postgresql-15-jobkeeper >/dev/null 2>&1
    jk_build_install >/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
passed=0 failed=0
check() {  # check NAME COMMAND...: one counted test
  if "${@:2}" >"$work/step.log" 2>&1; then
    echo "ok - $1"; passed=$((passed + 1))
  else
    echo "not ok - $1"; tail -30 "$work/step.log"; failed=$((failed + 1))
  fi
}

mkdir -p "$work/src/jobkeeper"
git ls-files --cached --others --exclude-standard | tar -cf - -T - | tar -xf - -C "$work/src/jobkeeper"
build() { (cd "$work/src/jobkeeper" && dpkg-buildpackage -us -uc -b); }
check "dpkg-buildpackage builds postgresql-15-jobkeeper" build
deb=$(ls "$work"/src/postgresql-15-jobkeeper_*_amd64.deb 2>/dev/null | head -1)
version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" jobkeeper.control)
no_lintian_errors() {
  lintian "$work"/src/jobkeeper_*.changes >"$work/lintian.log" 2>&1
  cat "$work/lintian.log"
  ! grep -q '^E:' "$work/lintian.log"
}
check "lintian reports no errors" no_lintian_errors
install_deb() { [ -n "$deb" ] && dpkg -i "$deb" && installed=1; }
check "the package installs" install_deb
[ -n "${JK_DEB_KEEP:-}" ] && [ -n "$deb" ] && cp "$work"/src/*.deb "$JK_DEB_KEEP"/
create_extension() {
  [ "$installed" = 1 ] || return 1
  dpkg -S "$("$JK_PG_BIN/pg_config" --pkglibdir)/jobkeeper.so" | grep -q postgresql-15-jobkeeper ||
    return 1
  jk_cluster_start "$work/cluster" $((57000 + RANDOM % 1000)) || return 1
  local port
  port=$(sed -n 's/^port = //p' "$work/cluster/data/postgresql.conf" | tail -1)
  local got
  got=$(jk_as_postgres "$JK_PG_BIN/psql" -X -At -h "$work/cluster/sock" -p "$port" -d postgres \
    -c "CREATE EXTENSION jobkeeper" \
    -c "SELECT jobkeeper.version() || ' ' || extversion FROM pg_extension WHERE extname = 'jobkeeper'")
  echo "$got"
  [ "$(tail -1 <<<"$got")" = "$version $version" ]
}
check "CREATE EXTENSION jobkeeper in a fresh cluster, with the packaged library preloaded" create_extension
remove_deb() {
  jk_cluster_destroy "$work/cluster"
  dpkg -r postgresql-15-jobkeeper && installed=0 && jk_build_install
}
check "the package removes cleanly, and make install's library is back" remove_deb
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
