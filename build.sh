#!/usr/bin/env bash
# PipelineCluster build and test harness.
#
#   ./build.sh build              build the solution (Release)
#   ./build.sh test [ARGS...]     install what is missing, start RabbitMQ, Mosquitto, PostgreSQL and s3rver on
#                                 free loopback ports in a temporary directory, run `dotnet test` over the
#                                 solution (extra ARGS go to dotnet test, e.g. --filter), print one summary
#                                 line, and stop everything it started, whatever happens (Ctrl-C included)
#   ./build.sh services           the same services, left running until Ctrl-C; prints the variables to export
#   ./build.sh install            only install the Debian packages and s3rver that the tests need
#
# The tests find the services through these variables (documented in README.md):
#   PIPELINE_TEST_HARNESS=1       a test that needs a service runs and fails if it cannot reach it
#   PIPELINE_TEST_AMQP_URI        amqp://guest:guest@127.0.0.1:PORT/
#   PIPELINE_TEST_RABBITMQ_CTL    a command that takes stop|start to restart the broker mid-test
#   PIPELINE_TEST_MQTT            127.0.0.1:PORT (Mosquitto)
#   PIPELINE_TEST_MOSQUITTO_CTL   a command that takes stop|start to restart Mosquitto mid-test
#   PIPELINE_TEST_POSTGRES        Npgsql connection string
#   PIPELINE_TEST_S3_ENDPOINT     http://127.0.0.1:PORT (s3rver; access key and secret S3RVER)
#   PIPELINE_TEST_PYTHON          Debian's python3 with ecCodes, xarray, zarr, cfgrib, netCDF4
#   PIPELINE_TEST_CHROMIUM        Debian's headless Chromium, for the status page test
#   PIPELINE_TEST_WORK            a scratch directory removed at the end
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

APT_PACKAGES=(rabbitmq-server mosquitto mosquitto-clients amqp-tools postgresql libeccodes-tools python3-eccodes
  python3-xarray python3-zarr python3-cfgrib python3-netcdf4 python3-fsspec python3-jsonschema python3-h5py python3-dask libaec0 libopenjp2-7 chromium)
PY=/usr/bin/python3
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# No MSBuild or compiler server may outlive the run.
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0

log() { printf '[harness] %s\n' "$*" >&2; }
die() { printf '[harness] error: %s\n' "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

install_missing() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing: ${missing[*]}"
    # Debian's maintainer scripts must not start the services system-wide: the harness starts its own.
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [ ! -e "$policy" ]; then
      as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"; created_policy=1
    fi
    as_root apt-get update -qq >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
    [ "$created_policy" = 1 ] && as_root rm -f "$policy"
  else
    log "Debian packages present"
  fi
  if [ ! -x tools/s3rver/node_modules/.bin/s3rver ]; then
    command -v npm >/dev/null || die "npm is needed to install s3rver (tools/s3rver)"
    log "installing s3rver from tools/s3rver/package-lock.json"
    (cd tools/s3rver && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci in tools/s3rver failed"
  fi
}

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_port() { # port seconds what
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  die "$3 did not listen on 127.0.0.1:$1 within $2 s"
}

WORK=""
PIDS=()
RABBIT_NODE=""
PG_DATA=""
PG_BIN=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  if [ -n "$RABBIT_NODE" ]; then
    log "stopping RabbitMQ"
    "$WORK/rabbitmq/ctl" stop >/dev/null 2>&1
  fi
  if [ -n "$PG_DATA" ]; then
    log "stopping PostgreSQL"
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate stop >/dev/null 2>&1
  fi
  [ -n "$WORK" ] && [ -f "$WORK/mosquitto/ctl" ] && "$WORK/mosquitto/ctl" stop >/dev/null 2>&1
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  if [ -n "$WORK" ]; then
    # Anything still holding a file in the work directory (a beam, epmd, a stray test host) goes too.
    pkill -f "$WORK" 2>/dev/null
    sleep 0.2
    pkill -9 -f "$WORK" 2>/dev/null
    rm -rf "$WORK"
  fi
  dotnet build-server shutdown >/dev/null 2>&1
  exit "$rc"
}

start_rabbitmq() {
  local dir="$WORK/rabbitmq" port dist epmd
  port=$(free_port); dist=$(free_port); epmd=$(free_port)
  mkdir -p "$dir/mnesia" "$dir/log" "$dir/home"
  : > "$dir/enabled_plugins"
  # Our own cookie, read by both the broker and rabbitmqctl (Debian's wrappers would use /var/lib/rabbitmq's).
  head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/home/.erlang.cookie"
  chmod 400 "$dir/home/.erlang.cookie"
  chown -R rabbitmq:rabbitmq "$dir"
  RABBIT_NODE="pipeline-test-$$@localhost"
  # One script both starts and stops this broker; the tests call it to restart the broker mid-stream.
  cat > "$dir/ctl" <<EOF
#!/usr/bin/env bash
set -u
export HOME="$dir/home" RABBITMQ_NODENAME="$RABBIT_NODE" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \\
  RABBITMQ_NODE_PORT=$port RABBITMQ_DIST_PORT=$dist ERL_EPMD_PORT=$epmd ERL_EPMD_ADDRESS=127.0.0.1 \\
  RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \\
  RABBITMQ_PID_FILE="$dir/rabbit.pid"
case "\${1:-}" in
  start)
    runuser -u rabbitmq -m -- /usr/lib/rabbitmq/bin/rabbitmq-server -detached >>"$dir/log/start.out" 2>&1
    runuser -u rabbitmq -m -- /usr/lib/rabbitmq/bin/rabbitmqctl -n "$RABBIT_NODE" wait --timeout 90 "$dir/rabbit.pid" >/dev/null 2>&1 ;;
  stop)
    # Graceful and patient: a hard kill could lose messages a test published without confirms.
    runuser -u rabbitmq -m -- /usr/lib/rabbitmq/bin/rabbitmqctl -n "$RABBIT_NODE" --timeout 180 stop "$dir/rabbit.pid" >/dev/null 2>&1
    for i in \$(seq 1 600); do pgrep -u rabbitmq -f "$dir/mnesia" >/dev/null || break; sleep 0.1; done
    pkill -9 -u rabbitmq -f "$dir/mnesia" 2>/dev/null
    /usr/bin/epmd -port $epmd -kill >/dev/null 2>&1
    true ;;
  *) echo "usage: \$0 start|stop" >&2; exit 2 ;;
esac
EOF
  chmod 755 "$dir/ctl"
  log "starting RabbitMQ on 127.0.0.1:$port"
  "$dir/ctl" start || die "RabbitMQ did not start (logs in $dir/log)"
  wait_port "$port" 90 RabbitMQ
  export PIPELINE_TEST_AMQP_URI="amqp://guest:guest@127.0.0.1:$port/"
  export PIPELINE_TEST_RABBITMQ_CTL="$dir/ctl"
}

start_mosquitto() {
  local dir="$WORK/mosquitto" port
  port=$(free_port)
  mkdir -p "$dir"
  cat > "$dir/mosquitto.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $dir/
max_inflight_messages 1000
max_queued_messages 100000
log_dest file $dir/mosquitto.log
EOF
  chown -R mosquitto:mosquitto "$dir" 2>/dev/null || true
  cat > "$dir/ctl" <<EOF
#!/usr/bin/env bash
set -u
case "\${1:-}" in
  start) mosquitto -c "$dir/mosquitto.conf" -d
         for i in \$(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && exit 0; sleep 0.1; done; exit 1 ;;
  stop)  pkill -f "mosquitto -c $dir/mosquitto.conf"
         for i in \$(seq 1 100); do pgrep -f "mosquitto -c $dir/mosquitto.conf" >/dev/null || exit 0; sleep 0.1; done
         pkill -9 -f "mosquitto -c $dir/mosquitto.conf"; true ;;
  *) echo "usage: \$0 start|stop" >&2; exit 2 ;;
esac
EOF
  chmod 755 "$dir/ctl"
  log "starting Mosquitto on 127.0.0.1:$port"
  "$dir/ctl" start || die "Mosquitto did not start (log in $dir/mosquitto.log)"
  export PIPELINE_TEST_MQTT="127.0.0.1:$port"
  export PIPELINE_TEST_MOSQUITTO_CTL="$dir/ctl"
}

start_postgres() {
  local port
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -x "$PG_BIN/initdb" ] || die "PostgreSQL's initdb not found under /usr/lib/postgresql"
  port=$(free_port)
  mkdir -p "$WORK/postgres"
  chown postgres:postgres "$WORK/postgres"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$WORK/postgres/data" -U postgres --auth=trust -E UTF8 >"$WORK/postgres/initdb.log" 2>&1 ||
    die "initdb failed (see $WORK/postgres/initdb.log)"
  log "starting PostgreSQL on 127.0.0.1:$port"
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/postgres/data" -l "$WORK/postgres/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $WORK/postgres -c fsync=off -c max_connections=200" start >/dev/null ||
    die "PostgreSQL did not start (see $WORK/postgres/server.log)"
  PG_DATA="$WORK/postgres/data"
  export PIPELINE_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres;Pooling=true"
}

start_s3rver() {
  local port
  port=$(free_port)
  mkdir -p "$WORK/s3"
  log "starting s3rver on 127.0.0.1:$port"
  # s3rver's ListObjectsV2 continuation tokens are DES-encrypted, which OpenSSL 3 (Node 17+) keeps in its legacy
  # provider: without it a listing of more than 1000 keys fails on its second page with an internal error.
  node --openssl-legacy-provider "$ROOT/tools/s3rver/node_modules/s3rver/bin/s3rver.js" --address 127.0.0.1 --port "$port" \
    --directory "$WORK/s3" --silent >"$WORK/s3rver.log" 2>&1 &
  PIDS+=($!)
  wait_port "$port" 30 s3rver
  export PIPELINE_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
}

check_python() {
  "$PY" -c 'import eccodes, xarray, zarr, cfgrib, netCDF4, fsspec, h5py, jsonschema, dask' 2>/dev/null ||
    die "$PY cannot import eccodes, xarray, zarr, cfgrib, netCDF4, fsspec, h5py, jsonschema and dask"
  export PIPELINE_TEST_PYTHON="$PY"
  [ -x /usr/bin/chromium ] || die "/usr/bin/chromium is missing (Debian package chromium)"
  export PIPELINE_TEST_CHROMIUM=/usr/bin/chromium
}

start_all() {
  [ "$(id -u)" = 0 ] || die "the harness starts services as their own users and needs root (CI runs as root)"
  install_missing
  WORK=$(mktemp -d /tmp/pipeline-test.XXXXXX)
  chmod 755 "$WORK"
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  export PIPELINE_TEST_WORK="$WORK/scratch"
  mkdir -p "$PIPELINE_TEST_WORK"
  check_python
  start_rabbitmq
  start_mosquitto
  start_postgres
  start_s3rver
  export PIPELINE_TEST_HARNESS=1
}

# Counts the results of every .trx file and prints the one summary line.
summarize() {
  "$PY" - "$1" <<'EOF'
import sys, glob, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
passed = failed = skipped = 0
for f in glob.glob(sys.argv[1] + "/**/*.trx", recursive=True):
    c = ET.parse(f).getroot().find("t:ResultSummary/t:Counters", ns)
    if c is None:
        continue
    passed += int(c.get("passed", 0))
    failed += int(c.get("failed", 0)) + int(c.get("error", 0)) + int(c.get("timeout", 0)) + int(c.get("aborted", 0))
    skipped += int(c.get("notExecuted", 0))
    # Name every failed test with the start of its message, so the tail of a CI log says what broke.
    for r in ET.parse(f).getroot().iter("{%s}UnitTestResult" % ns["t"]):
        if r.get("outcome") not in ("Passed", "NotExecuted"):
            msg = r.find("t:Output/t:ErrorInfo/t:Message", ns)
            text = (msg.text or "").strip().replace("\n", " ")[:600] if msg is not None else ""
            print(f"FAILED {r.get('testName')} ({r.get('duration')}): {text}")
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
EOF
}

cmd="${1:-test}"
shift || true
case "$cmd" in
  build)
    dotnet build PipelineCluster.sln -c Release "$@" ;;
  install)
    install_missing ;;
  services)
    start_all
    for v in $(compgen -e | grep '^PIPELINE_TEST_'); do printf 'export %s=%q\n' "$v" "${!v}"; done
    log "services running; Ctrl-C stops them"
    while true; do sleep 3600 & wait $!; done ;;
  test)
    start_all
    results="$WORK/results"
    log "building"
    dotnet build PipelineCluster.sln -c Release -v quiet -nologo -clp:ErrorsOnly || die "build failed"
    log "running tests"
    set +e
    run_tests() { # results-dir filter(or empty) target
      local filter=()
      [ -n "$2" ] && filter=(--filter "$2")
      dotnet test "$3" -c Release --no-build --results-directory "$1" "${filter[@]}" \
        --logger "trx" --logger "console;verbosity=normal" "${extra[@]}" 2>&1 |
        grep -v -E '^\s*$' | grep -E -v '^(Test run for|VSTest version|A total of|Starting test execution|Results File:)'
      return "${PIPESTATUS[0]}"
    }
    extra=("$@")
    if [ ${#extra[@]} -gt 0 ]; then
      # The caller chose what to run (e.g. --filter): one run, as asked.
      run_tests "$results/main" "" PipelineCluster.sln
      status=$?
    else
      # Tests that restart a shared broker run alone, after the rest, so they cannot disturb another assembly.
      run_tests "$results/main" "Category!=BrokerRestart" PipelineCluster.sln
      status=$?
      # One assembly at a time: dotnet test runs a solution's test projects in parallel, and two of them restarting
      # the same RabbitMQ at once fail each other (a connection refused mid-restart).
      log "running the broker-restart tests on their own, one assembly at a time"
      for project in $(grep -l -r --include='*.cs' 'TestCategories.BrokerRestart' tests | cut -d/ -f2 | sort -u); do
        [ -f "tests/$project/$project.csproj" ] || continue
        grep -q '<IsTestProject>false' "tests/$project/$project.csproj" && continue
        run_tests "$results/restart-$project" "Category=BrokerRestart" "tests/$project/$project.csproj"
        restart_status=$?
        [ "$status" = 0 ] && status=$restart_status
      done
    fi
    set -e
    [ -d "$results" ] || die "dotnet test produced no results"
    summarize "$results"
    exit "$status" ;;
  *)
    sed -n '2,23p' "$0"; exit 2 ;;
esac
