#!/usr/bin/env bash
# A PipelineCluster of N nodes on loopback, without containers: the way to try a cluster on one machine.
#
#   deploy/local-cluster.sh start [N]   build once, start N nodes (default 3), wait until all are Up
#   deploy/local-cluster.sh status      the members as the first node sees them
#   deploy/local-cluster.sh kill I      kill -9 node I (1-based): a crash, to watch the cluster recover
#   deploy/local-cluster.sh stop        stop every node started here
#
# Node I listens for Akka.Remote on 127.0.0.1:(4052+I) and serves its management API on
# http://127.0.0.1:(8557+I); nodes 1 and 2 are the seeds. State (pids, logs) lives in ./data/local-cluster.
# Extra configuration reaches every node through the environment (Pipeline__...), e.g. a PostgreSQL journal.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${PIPELINE_CLUSTER_STATE:-$ROOT/data/local-cluster}"
SYSTEM="${PIPELINE_SYSTEM:-pipeline}"
BIN="$STATE/bin"

remote_port() { echo $((4052 + $1)); }
mgmt_port() { echo $((8557 + $1)); }

members() { curl -fsS "http://127.0.0.1:$(mgmt_port 1)/cluster/members"; }

up_count() {
  members 2>/dev/null | python3 -c 'import json,sys; print(sum(m["status"]=="Up" for m in json.load(sys.stdin)["members"]))' 2>/dev/null || echo 0
}

case "${1:-}" in
  start)
    n="${2:-3}"
    mkdir -p "$STATE"
    echo "building the pipeline into $BIN"
    dotnet publish "$ROOT/src/Pipeline.Host" -c Release -o "$BIN" -v quiet -nologo >/dev/null
    for i in $(seq 1 "$n"); do
      (
        export Pipeline__Node__SystemName="$SYSTEM" Pipeline__Node__Port="$(remote_port "$i")" \
          Pipeline__Management__Urls="http://127.0.0.1:$(mgmt_port "$i")" \
          Pipeline__Node__SeedNodes__0="akka.tcp://$SYSTEM@127.0.0.1:$(remote_port 1)" \
          Pipeline__Node__SeedNodes__1="akka.tcp://$SYSTEM@127.0.0.1:$(remote_port 2)"
        # Each node its own journal (unless a shared PostgreSQL is configured), cache and dead letters.
        export Pipeline__Persistence__DataDirectory="${Pipeline__Persistence__DataDirectory:-$STATE/node$i}" \
          Pipeline__Ingest__DataDirectory="$STATE/node$i"
        mkdir -p "$STATE/node$i"
        nohup dotnet "$BIN/pipeline.dll" serve >"$STATE/node$i.log" 2>&1 &
        echo $! >"$STATE/node$i.pid"
      )
      echo "node $i: akka.tcp://$SYSTEM@127.0.0.1:$(remote_port "$i"), management http://127.0.0.1:$(mgmt_port "$i")"
    done
    for _ in $(seq 1 180); do
      [ "$(up_count)" = "$n" ] && { echo "$n members Up"; exit 0; }
      sleep 1
    done
    echo "the cluster did not reach $n Up members in 180 s; logs in $STATE" >&2; exit 1 ;;
  status)
    members | python3 -m json.tool ;;
  kill)
    pid_file="$STATE/node${2:?node number}.pid"
    kill -9 "$(cat "$pid_file")" && rm -f "$pid_file" && echo "node $2 killed" ;;
  stop)
    for f in "$STATE"/node*.pid; do
      [ -e "$f" ] || continue
      kill "$(cat "$f")" 2>/dev/null || true
      rm -f "$f"
    done
    echo "stopped" ;;
  *)
    sed -n '2,13p' "$0"; exit 2 ;;
esac
