# Shared by scripts/test.sh and scripts/demo.sh: dependencies and throwaway clusters.
# Sourced, not run. Everything here works as root on a fresh Debian 12 machine.

JK_PG_MAJOR=${JK_PG_MAJOR:-15}
JK_PG_BIN=/usr/lib/postgresql/$JK_PG_MAJOR/bin
JK_PACKAGES=(
  "postgresql-$JK_PG_MAJOR" "postgresql-server-dev-$JK_PG_MAJOR" postgresql-contrib
  libipc-run-perl build-essential g++ make cmake libgtest-dev libssl-dev
  "postgresql-$JK_PG_MAJOR-plpgsql-check" prometheus-postgres-exporter
  python3-psycopg python3-asyncpg pgbouncer openjdk-17-jdk-headless libpostgresql-jdbc-java
  gnuplot-nox
)

jk_log() { printf '==> %s\n' "$*"; }
# A long command's progress, on stderr (so that `| tee log` keeps only the results), with the
# seconds since the command started.
jk_step() { printf '  [%5d s] %s\n' "$SECONDS" "$*" >&2; }

# Installs the Debian packages that are missing; does nothing (and needs no network) when all
# are present, so a second run is quick.
jk_install_deps() {
  local missing=() p
  for p in "${JK_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  # The Node client tests need node and npm; any Node will do (NodeSource's bundles npm, and
  # Debian's npm package would conflict with it), so Debian's only when there is none.
  command -v npm >/dev/null && command -v node >/dev/null || missing+=(nodejs npm)
  [ ${#missing[@]} -eq 0 ] && return 0
  jk_log "installing ${missing[*]}"
  local sudo=
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
  # Debian's postgresql package starts a "main" cluster on 5432; ours use private ports.
}

# Puts PostgreSQL's tools first in PATH so pg_config, initdb and pg_ctl are version $JK_PG_MAJOR.
jk_use_pg_path() { export PATH="$JK_PG_BIN:$PATH"; }

# Builds and installs the extension into the server's directories.
jk_build_install() {
  jk_log "building and installing jobkeeper"
  make -s -j"$(nproc)" JK_WERROR=1 PG_CONFIG="$JK_PG_BIN/pg_config"
  make -s install PG_CONFIG="$JK_PG_BIN/pg_config" >/dev/null
}

# Runs a command as the postgres user (PostgreSQL refuses to run as root).
jk_as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

# Creates and starts a cluster in directory $1 listening only on a socket in $1/sock, port $2,
# with jobkeeper preloaded. Extra postgresql.conf lines may follow as further arguments.
# Variables in the array JK_SERVER_ENV (NAME=value) are given to the server only.
jk_cluster_start() {
  local dir=$1 port=$2
  shift 2
  mkdir -p "$dir"
  chown postgres: "$dir" 2>/dev/null || true
  chmod 755 "$dir"
  jk_as_postgres "$JK_PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
    --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; return 1; }
  jk_as_postgres mkdir -p "$dir/sock"
  {
    echo "port = $port"
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$dir/sock'"
    echo "shared_preload_libraries = 'jobkeeper'"
    echo "max_prepared_transactions = 10"
    local line
    for line in "$@"; do echo "$line"; done
  } | jk_as_postgres tee -a "$dir/data/postgresql.conf" >/dev/null
  jk_as_postgres env ${JK_SERVER_ENV[@]+"${JK_SERVER_ENV[@]}"} \
    "$JK_PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
    || { cat "$dir/server.log"; return 1; }
}

# Stops the cluster in directory $1 (if running) and removes the directory.
jk_cluster_destroy() {
  local dir=$1
  [ -n "$dir" ] && [ -d "$dir" ] || return 0
  if [ -f "$dir/data/postmaster.pid" ]; then
    jk_as_postgres "$JK_PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}
