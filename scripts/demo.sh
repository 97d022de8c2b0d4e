#!/usr/bin/env bash
# The README's demo command (`make demo`): installs what it needs, builds and installs
# jobkeeper, starts a local cluster with it preloaded, and runs scripts/demo.sql.
# `make demo-stop` (this script with "stop") stops the cluster and removes it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

dir=${JK_DEMO_DIR:-/tmp/jobkeeper-demo}
port=${JK_DEMO_PORT:-55432}

if [ "${1:-}" = stop ]; then
  jk_cluster_destroy "$dir"
  jk_log "demo cluster stopped and removed"
  exit 0
fi

jk_install_deps
jk_use_pg_path
jk_build_install
# A second run starts over from a new cluster.
jk_cluster_destroy "$dir"
jk_log "starting demo cluster in $dir on port $port"
jk_cluster_start "$dir" "$port"
jk_as_postgres "$JK_PG_BIN/createdb" -h "$dir/sock" -p "$port" demo
jk_log "running scripts/demo.sql"
jk_as_postgres "$JK_PG_BIN/psql" -X -h "$dir/sock" -p "$port" -d demo -v ON_ERROR_STOP=1 \
  -f - <scripts/demo.sql
cat <<MSG

The demo cluster is still running.
  connect:  runuser -u postgres -- psql -h $dir/sock -p $port demo
  stop:     make demo-stop
MSG
