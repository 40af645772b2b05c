#!/usr/bin/env bash
# A real Spark standalone cluster on this machine, on 127.0.0.1 only: one master and N workers
# (1 core and a memory limit each), started from the spark-class launcher that ships inside the
# pyspark package. For tests, and for trying `kedro run --env cluster` on one machine.
#
#   scripts/local_spark_cluster.sh start      # start, wait until every worker has registered
#   scripts/local_spark_cluster.sh status     # master URL and registered workers
#   scripts/local_spark_cluster.sh stop       # stop everything this script started
#   scripts/local_spark_cluster.sh run CMD... # start, run CMD with SPARK_MASTER_URL set, stop
#                                             # (also when CMD fails or is interrupted)
#   scripts/local_spark_cluster.sh kill-worker N  # SIGKILL worker N and its executors, as if
#                                             # its machine died (fault-tolerance tests)
#
# Settings (environment): SPARK_CLUSTER_DIR (logs, pids, work dirs; default a folder under
# $TMPDIR), SPARK_CLUSTER_WORKERS (2), SPARK_WORKER_MEMORY (2g), SPARK_MASTER_PORT (7077),
# SPARK_MASTER_WEBUI_PORT (8080), SPARK_CLUSTER_TIMEOUT (seconds to wait, 90).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
project=$(cd "$here/.." && pwd)
python=${PYTHON:-$project/.venv/bin/python}
cluster_dir=${SPARK_CLUSTER_DIR:-${TMPDIR:-/tmp}/sparkify-local-cluster}
workers=${SPARK_CLUSTER_WORKERS:-2}
worker_memory=${SPARK_WORKER_MEMORY:-2g}
master_port=${SPARK_MASTER_PORT:-7077}
webui_port=${SPARK_MASTER_WEBUI_PORT:-8080}
timeout=${SPARK_CLUSTER_TIMEOUT:-90}
host=127.0.0.1
master_url="spark://$host:$master_port"

spark_home() {
  "$python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))'
}

registered_workers() {
  "$python" - "$host" "$webui_port" <<'EOF'
import json, sys, urllib.request
try:
    with urllib.request.urlopen(f"http://{sys.argv[1]}:{sys.argv[2]}/json/", timeout=2) as r:
        state = json.load(r)
    print(sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE"))
except Exception:
    print(0)
EOF
}

launch() {  # launch NAME CLASS ARGS...: a daemon whose pid and log live in $cluster_dir
  local name=$1 class=$2
  shift 2
  SPARK_HOME=$SPARK_HOME setsid "$SPARK_HOME/bin/spark-class" "$class" "$@" \
    >"$cluster_dir/logs/$name.log" 2>&1 < /dev/null &
  echo $! >"$cluster_dir/pids/$name.pid"
}

start() {
  if [ -d "$cluster_dir/pids" ] && [ -n "$(ls -A "$cluster_dir/pids" 2>/dev/null)" ]; then
    echo "A cluster started by this script is already running (pids in $cluster_dir/pids)." >&2
    echo "Run '$0 stop' first." >&2
    exit 1
  fi
  mkdir -p "$cluster_dir/logs" "$cluster_dir/pids" "$cluster_dir/work"
  SPARK_HOME=$(spark_home)
  export SPARK_HOME
  # Everything on loopback; executors run the project's interpreter and packages.
  export SPARK_LOCAL_IP=$host SPARK_MASTER_HOST=$host
  export PYSPARK_PYTHON=${PYSPARK_PYTHON:-$python}
  export SPARK_LOG_DIR=$cluster_dir/logs SPARK_PID_DIR=$cluster_dir/pids

  launch master org.apache.spark.deploy.master.Master \
    --host "$host" --port "$master_port" --webui-port "$webui_port"
  for i in $(seq 1 "$workers"); do
    launch "worker-$i" org.apache.spark.deploy.worker.Worker "$master_url" \
      --host "$host" --cores 1 --memory "$worker_memory" --webui-port 0 \
      --work-dir "$cluster_dir/work/worker-$i"
  done

  local waited=0
  until [ "$(registered_workers)" -ge "$workers" ]; do
    if [ "$waited" -ge "$timeout" ]; then
      echo "The cluster did not come up within ${timeout}s; logs in $cluster_dir/logs:" >&2
      tail -n 20 "$cluster_dir"/logs/*.log >&2 || true
      stop
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  echo "Spark standalone cluster up: $master_url, $workers workers (1 core, $worker_memory each)."
  echo "Logs and pids: $cluster_dir"
  echo "export SPARK_MASTER_URL=$master_url"
}

stop() {
  local pid_file pid
  for pid_file in "$cluster_dir"/pids/*.pid; do
    [ -e "$pid_file" ] || continue
    pid=$(cat "$pid_file")
    # each daemon leads its own process group (setsid): end the group, JVM included
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    rm -f "$pid_file"
  done
  sleep 1
  pkill -KILL -f "deploy\.(master\.Master|worker\.Worker).*$host:$master_port" 2>/dev/null || true
  echo "Spark standalone cluster stopped."
}

status() {
  echo "master: $master_url, registered workers: $(registered_workers)"
}

kill_worker() {  # the worker JVM leads its own process group; its executors are in it too
  local pid_file="$cluster_dir/pids/worker-$1.pid" pid
  [ -e "$pid_file" ] || { echo "no worker $1 in $cluster_dir/pids" >&2; exit 1; }
  pid=$(cat "$pid_file")
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"
  rm -f "$pid_file"
  echo "worker-$1 (process group $pid) killed."
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  kill-worker)
    [ "$#" -eq 2 ] || { echo "usage: $0 kill-worker N" >&2; exit 2; }
    kill_worker "$2"
    ;;
  run)
    shift
    [ "$#" -gt 0 ] || { echo "usage: $0 run COMMAND [ARGS...]" >&2; exit 2; }
    trap stop EXIT INT TERM
    start
    SPARK_MASTER_URL=$master_url "$@"  # start exported SPARK_LOCAL_IP: the driver stays on loopback too
    ;;
  *)
    echo "usage: $0 start|stop|status|kill-worker N|run COMMAND..." >&2
    exit 2
    ;;
esac
