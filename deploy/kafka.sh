#!/usr/bin/env bash
# Run a real single-node Apache Kafka 4.x broker (KRaft, no ZooKeeper) on this machine, without
# Docker: the jars come from Maven Central (deploy/kafka/pom.xml), the broker runs as a plain
# background `java` process listening on 127.0.0.1 only.
#
#   deploy/kafka.sh fetch    resolve the broker jars into deploy/kafka/lib (only if missing)
#   deploy/kafka.sh start    fetch if needed, format storage once, start, wait until ready;
#                            prints the bootstrap address (127.0.0.1:PORT) as the last stdout line
#   deploy/kafka.sh stop     SIGTERM, wait, SIGKILL as a last resort; no process is left behind
#   deploy/kafka.sh status   exit 0 if the broker is running and its port accepts connections
#   deploy/kafka.sh console-consumer ARGS...
#                            Kafka's console consumer (what kafka-console-consumer.sh runs), e.g.
#                            --bootstrap-server 127.0.0.1:9092 --topic pdl.feature.v1 --from-beginning;
#                            fetches the kafka-tools jar of the same version into deploy/kafka/tools
#
# Environment (all optional):
#   KAFKA_RUN_DIR            data, logs, pid file, rendered config  (default deploy/kafka/run)
#   KAFKA_PORT               client (PLAINTEXT) port                (default 9092)
#   KAFKA_CONTROLLER_PORT    KRaft controller port                  (default 9093)
#   KAFKA_START_TIMEOUT      seconds to wait for readiness          (default 120)
#   KAFKA_STOP_TIMEOUT       seconds to wait after SIGTERM          (default 30)
#   KAFKA_HEAP_OPTS          JVM heap flags                         (default -Xmx512m)
#   KAFKA_OPTS               extra JVM flags, appended
#   JAVA_HOME                Java 17+ to use (default: `java` on PATH)
#
# Progress and errors go to stderr; stdout carries only the results (bootstrap address, status).
set -euo pipefail

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_DIR="$DEPLOY_DIR/kafka"
LIB_DIR="$KAFKA_DIR/lib"
POM="$KAFKA_DIR/pom.xml"
STAMP="$LIB_DIR/.complete"          # written only after a successful Maven run
TOOLS_DIR="$KAFKA_DIR/tools"        # the kafka-tools jar (the console clients), beside lib/

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx512m}"
KAFKA_OPTS="${KAFKA_OPTS:-}"
# The G1 settings of Kafka's own kafka-run-class.sh.
KAFKA_JVM_PERFORMANCE_OPTS="-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20
  -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15
  -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true"

JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
READY_LINE="Kafka Server started"   # logged by kafka.server.KafkaRaftServer once broker+controller are up

log() { echo "kafka.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

for v in KAFKA_PORT KAFKA_CONTROLLER_PORT KAFKA_START_TIMEOUT KAFKA_STOP_TIMEOUT; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a number, got '${!v}'"
done
[[ "$KAFKA_PORT" != "$KAFKA_CONTROLLER_PORT" ]] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ"

# The run dir must be absolute: it is written into server.properties and matched against
# the broker's command line to recognise our own process.
RUN_DIR="${KAFKA_RUN_DIR:-$KAFKA_DIR/run}"
mkdir -p "$RUN_DIR"
RUN_DIR="$(cd "$RUN_DIR" && pwd)"
CONFIG="$RUN_DIR/server.properties"
PID_FILE="$RUN_DIR/kafka.pid"
LOG_DIR="$RUN_DIR/logs"
SERVER_LOG="$LOG_DIR/server.log"
OUT_LOG="$LOG_DIR/kafka.out"        # the JVM's stdout/stderr (crashes before log4j starts)

# ---------------------------------------------------------------------------------------------
# helpers

# Take an exclusive lock on FILE (fd 9) so that concurrent calls do not race; no-op without flock.
# Every process started while fd 9 is open must get `9>&-`, or it would hold the lock forever.
lock() {
  command -v flock >/dev/null 2>&1 || return 0
  exec 9>"$1"
  flock -w 300 9 || die "timed out waiting for lock $1"
}

port_open() {  # port_open PORT: does something accept TCP connections on 127.0.0.1:PORT?
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

alive() {  # alive PID: exists and is not a zombie
  local state
  state="$(sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
  [[ -n "$state" && "$state" != Z ]]
}

is_our_broker() {  # is_our_broker PID: a live kafka.Kafka running with this run dir's config
  local cmd
  alive "$1" || return 1
  cmd="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)" || return 1
  [[ "$cmd" == *" kafka.Kafka $CONFIG"* ]]
}

# Print the pid of the broker that uses this run dir, or fail. Trusts the pid file only if the
# process really is that broker (a stale pid file after kill -9 or a reboot may name another
# process); falls back to scanning /proc in case the pid file was lost.
running_pid() {
  local pid p
  if [[ -f "$PID_FILE" ]]; then
    pid="$(tr -dc '0-9' <"$PID_FILE")"
    if [[ -n "$pid" ]] && is_our_broker "$pid"; then echo "$pid"; return 0; fi
  fi
  # One grep over all command lines, then the exact check on the few candidates.
  for p in $(grep -lsaF -- "$CONFIG" /proc/[0-9]*/cmdline 2>/dev/null || true); do
    pid="${p#/proc/}"; pid="${pid%/cmdline}"
    if is_our_broker "$pid"; then echo "$pid"; return 0; fi
  done
  return 1
}

classpath() { echo "$LIB_DIR/*"; }

java_major() {
  "$JAVA" -version 2>&1 | sed -n -E '1s/.*version "(1\.)?([0-9]+).*/\2/p'
}

check_java() {
  command -v "$JAVA" >/dev/null 2>&1 || die "java not found (install a JDK 17+ or set JAVA_HOME)"
  local major
  major="$(java_major)"
  [[ -n "$major" && "$major" -ge 17 ]] || die "Kafka 4.x brokers need Java 17+, found: $("$JAVA" -version 2>&1 | head -1)"
}

tail_logs() {
  local f
  for f in "$OUT_LOG" "$SERVER_LOG"; do
    [[ -s "$f" ]] || continue
    log "---- last lines of $f ----"
    tail -n 40 "$f" >&2
  done
}

# ---------------------------------------------------------------------------------------------
# fetch: resolve the jars with Maven, only when lib/ is missing, incomplete or from another pom

pom_hash() { sha256sum "$POM" | cut -d' ' -f1; }

lib_complete() {
  [[ -f "$STAMP" ]] || return 1
  [[ "$(head -n 1 "$STAMP")" == "$(pom_hash)" ]] || return 1   # pom changed: other versions
  local jar
  while IFS= read -r jar; do
    [[ -s "$LIB_DIR/$jar" ]] || return 1
  done < <(tail -n +2 "$STAMP")
}

cmd_fetch() {
  lib_complete && return 0
  mkdir -p "$KAFKA_DIR/target"
  (
    lock "$KAFKA_DIR/target/.fetch.lock"
    lib_complete && exit 0                    # another caller fetched while we waited
    command -v mvn >/dev/null 2>&1 || die "mvn not found: Maven is needed once to fetch the Kafka jars"
    log "fetching Kafka broker jars from Maven Central into $LIB_DIR ..."
    local t0=$SECONDS
    rm -rf "$LIB_DIR"                         # never mix jars of two Kafka versions on the classpath
    if ! mvn -q -B -f "$POM" package 9>&- >"$KAFKA_DIR/target/fetch.log" 2>&1; then
      tail -n 40 "$KAFKA_DIR/target/fetch.log" >&2
      die "Maven failed to resolve the Kafka jars (full output: $KAFKA_DIR/target/fetch.log)"
    fi
    compgen -G "$LIB_DIR/kafka_2.13-*.jar" >/dev/null || die "Maven ran but $LIB_DIR has no kafka_2.13 jar"
    { pom_hash; (cd "$LIB_DIR" && ls -1 -- *.jar); } >"$STAMP.tmp"
    mv "$STAMP.tmp" "$STAMP"
    log "fetched $(($(wc -l <"$STAMP") - 1)) jars in $((SECONDS - t0)) s"
  )
}

# ---------------------------------------------------------------------------------------------
# start

render_config() {
  sed -e "s|@RUN_DIR@|$RUN_DIR|g" \
      -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
      -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
      "$KAFKA_DIR/server.properties.template" >"$CONFIG.tmp"
  mv "$CONFIG.tmp" "$CONFIG"
}

# A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (22 chars). Like Kafka's
# Uuid.randomUuid(), avoid a leading '-', which command-line parsers take for an option.
new_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$id" != -* ]] && { echo "$id"; return; }
  done
}

# Format the storage once per run dir (a wiped run dir is formatted afresh).
format_storage() {
  [[ -f "$RUN_DIR/data/meta.properties" ]] && return 0
  [[ -s "$RUN_DIR/cluster.id" ]] || new_cluster_id >"$RUN_DIR/cluster.id"
  local cid
  cid="$(cat "$RUN_DIR/cluster.id")"
  log "formatting storage in $RUN_DIR/data (cluster id $cid)"
  if ! "$JAVA" -Xmx256m -cp "$(classpath)" \
      -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" -Dkafka.logs.dir="$LOG_DIR" \
      kafka.tools.StorageTool format -t "$cid" -c "$CONFIG" --ignore-formatted \
      9>&- </dev/null >"$LOG_DIR/format.out" 2>&1; then
    cat "$LOG_DIR/format.out" >&2
    die "formatting the storage failed"
  fi
}

# Wait until the log says the server started AND the client port accepts connections.
wait_ready() {
  local pid="$1" deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! alive "$pid"; then
      tail_logs
      rm -f "$PID_FILE"
      die "the broker exited during start-up (logs: $LOG_DIR)"
    fi
    if grep -q "$READY_LINE" "$SERVER_LOG" 2>/dev/null && port_open "$KAFKA_PORT"; then
      return 0
    fi
    sleep 0.25
  done
  tail_logs
  log "error: the broker was not ready after ${KAFKA_START_TIMEOUT} s; stopping it"
  stop_pid "$pid"
  exit 1
}

cmd_start() {
  lock "$RUN_DIR/.lock"
  local pid
  if pid="$(running_pid)"; then
    if ! port_open "$KAFKA_PORT"; then
      if grep -q "$READY_LINE" "$SERVER_LOG" 2>/dev/null; then
        die "a broker (pid $pid) already runs from $RUN_DIR but not on port $KAFKA_PORT (other KAFKA_PORT?); stop it first"
      fi
      log "broker (pid $pid) is starting; waiting for it"   # e.g. started by a concurrent call
      wait_ready "$pid"
    fi
    log "already running (pid $pid)"
    echo "$pid" >"$PID_FILE"
    echo "127.0.0.1:$KAFKA_PORT"
    return 0
  fi
  rm -f "$PID_FILE"                          # stale (kill -9, reboot) or absent

  cmd_fetch
  check_java
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    port_open "$p" && die "127.0.0.1:$p is already in use by another process (another broker? try: ss -ltnp | grep :$p)"
  done

  mkdir -p "$LOG_DIR" "$RUN_DIR/data"
  render_config
  format_storage

  # A fresh server.log per start, so that the readiness check cannot match an older run's line.
  [[ -f "$SERVER_LOG" ]] && mv -f "$SERVER_LOG" "$LOG_DIR/server-previous.log"
  [[ -f "$OUT_LOG" ]] && mv -f "$OUT_LOG" "$LOG_DIR/kafka-previous.out"

  log "starting Kafka on 127.0.0.1:$KAFKA_PORT (controller :$KAFKA_CONTROLLER_PORT, run dir $RUN_DIR)"
  # setsid: own session, so the broker survives the caller's terminal and Ctrl-C. No fd of ours
  # may leak into it (fd 9 is the lock; stdout could be a $(...) pipe the caller waits on).
  # shellcheck disable=SC2086  # the *_OPTS are word lists
  setsid "$JAVA" $KAFKA_HEAP_OPTS $KAFKA_JVM_PERFORMANCE_OPTS $KAFKA_OPTS \
    -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" -Dkafka.logs.dir="$LOG_DIR" \
    -cp "$(classpath)" kafka.Kafka "$CONFIG" \
    9>&- </dev/null >"$OUT_LOG" 2>&1 &
  pid=$!
  echo "$pid" >"$PID_FILE"

  local t0=$SECONDS
  wait_ready "$pid"
  log "ready after $((SECONDS - t0)) s (pid $pid, logs in $LOG_DIR)"
  echo "127.0.0.1:$KAFKA_PORT"
}

# ---------------------------------------------------------------------------------------------
# stop

stop_pid() {  # SIGTERM (controlled shutdown), then SIGKILL after KAFKA_STOP_TIMEOUT seconds
  local pid="$1" deadline
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + KAFKA_STOP_TIMEOUT))
  while alive "$pid" && ((SECONDS < deadline)); do sleep 0.25; done
  if alive "$pid"; then
    log "still running after ${KAFKA_STOP_TIMEOUT} s; sending SIGKILL to $pid"
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    alive "$pid" && die "could not kill pid $pid"
  fi
  rm -f "$PID_FILE"
}

cmd_stop() {
  lock "$RUN_DIR/.lock"
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  log "stopping broker (pid $pid)"
  stop_pid "$pid"
  log "stopped"
}

# ---------------------------------------------------------------------------------------------
# status

cmd_status() {
  local pid
  if ! pid="$(running_pid)"; then
    echo "not running (run dir $RUN_DIR)"
    return 3
  fi
  if ! port_open "$KAFKA_PORT"; then
    echo "process $pid is up but 127.0.0.1:$KAFKA_PORT does not accept connections (starting or stuck; see $SERVER_LOG)"
    return 1
  fi
  echo "running (pid $pid) on 127.0.0.1:$KAFKA_PORT, run dir $RUN_DIR"
}

# ---------------------------------------------------------------------------------------------
# console-consumer: Kafka's own console consumer, run from the broker's jars plus kafka-tools
# (which the broker does not need, so lib/ stays as it is)

kafka_version() { sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM"; }

cmd_fetch_tools() {
  local version jar
  version="$(kafka_version)"
  jar="$TOOLS_DIR/kafka-tools-$version.jar"
  [[ -s "$jar" ]] && return 0
  mkdir -p "$KAFKA_DIR/target"
  (
    lock "$KAFKA_DIR/target/.fetch.lock"
    [[ -s "$jar" ]] && exit 0
    command -v mvn >/dev/null 2>&1 || die "mvn not found: Maven is needed once to fetch kafka-tools"
    log "fetching kafka-tools $version from Maven Central into $TOOLS_DIR ..."
    rm -rf "$TOOLS_DIR"
    mkdir -p "$TOOLS_DIR"
    # Outside any project (cd): only this one jar; its dependencies are the broker's, in lib/.
    if ! (cd "$TOOLS_DIR" && mvn -q -B org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
            -Dartifact="org.apache.kafka:kafka-tools:$version" -DoutputDirectory="$TOOLS_DIR" \
            9>&- >"$KAFKA_DIR/target/fetch-tools.log" 2>&1); then
      tail -n 40 "$KAFKA_DIR/target/fetch-tools.log" >&2
      rm -rf "$TOOLS_DIR"
      die "Maven failed to fetch kafka-tools (full output: $KAFKA_DIR/target/fetch-tools.log)"
    fi
  )
}

cmd_console_consumer() {
  cmd_fetch
  cmd_fetch_tools
  check_java
  exec "$JAVA" -Xmx256m -Dlog4j2.configurationFile="$KAFKA_DIR/tools-log4j2.properties" \
    -cp "$(classpath):$TOOLS_DIR/*" org.apache.kafka.tools.consumer.ConsoleConsumer "$@"
}

case "${1:-}" in
  fetch)  cmd_fetch ;;
  start)  cmd_start ;;
  stop)   cmd_stop ;;
  status) cmd_status ;;
  console-consumer) shift; cmd_console_consumer "$@" ;;
  *) echo "usage: $0 {start|stop|status|fetch|console-consumer}   (see the comments at the top of this file)" >&2; exit 2 ;;
esac
