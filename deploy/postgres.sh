#!/usr/bin/env bash
# Run a throwaway local PostgreSQL cluster on this machine, without Docker or a system service:
# Debian's server binaries (/usr/lib/postgresql/<version>/bin), one data folder, the Unix socket
# in the run dir, listening on 127.0.0.1 only, trust authentication (no password).
#
#   deploy/postgres.sh start    install the server if missing (root + apt-get), initdb once, start,
#                               wait until ready, create the database `pdl` if missing; prints the
#                               DSN (postgresql://postgres@127.0.0.1:PORT/pdl) as the last stdout line
#   deploy/postgres.sh stop     pg_ctl fast shutdown, waits; no process is left behind
#   deploy/postgres.sh status   exit 0 if the server is running and accepts connections
#
# Environment (all optional):
#   PG_RUN_DIR               data (data/), log (postgres.log), socket   (default deploy/postgres/run)
#   PG_PORT                  TCP port on 127.0.0.1                      (default 15432)
#   PG_FAST                  1: fsync, synchronous_commit and full_page_writes off. For tests only:
#                            a crash may corrupt the cluster; never for benchmarks (default: durable)
#   PG_MAX_CONNECTIONS       max_connections; tests start several servers (default 300)
#   PG_START_TIMEOUT         seconds to wait for readiness              (default 60)
#   PG_STOP_TIMEOUT          seconds to wait for the fast shutdown      (default 60)
#   PG_BIN                   folder with initdb, pg_ctl, psql   (default: newest /usr/lib/postgresql/*/bin)
#   PG_OS_USER               the unprivileged user that runs the server when this script runs as
#                            root, which initdb and postgres refuse     (default pdl-postgres)
#
# Progress and errors go to stderr; stdout carries only the results (DSN, status).
set -euo pipefail

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

PG_PORT="${PG_PORT:-15432}"
PG_FAST="${PG_FAST:-0}"
PG_MAX_CONNECTIONS="${PG_MAX_CONNECTIONS:-300}"
PG_START_TIMEOUT="${PG_START_TIMEOUT:-60}"
PG_STOP_TIMEOUT="${PG_STOP_TIMEOUT:-60}"
PG_OS_USER="${PG_OS_USER:-pdl-postgres}"
DATABASE="pdl"
SUPERUSER="postgres"

log() { echo "postgres.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

for v in PG_PORT PG_MAX_CONNECTIONS PG_START_TIMEOUT PG_STOP_TIMEOUT; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a number, got '${!v}'"
done
[[ "$PG_FAST" == 0 || "$PG_FAST" == 1 ]] || die "PG_FAST must be 0 or 1, got '$PG_FAST'"

# The run dir must be absolute: it is the socket folder and is matched against the
# postmaster's command line to recognise our own server.
RUN_DIR="${PG_RUN_DIR:-$DEPLOY_DIR/postgres/run}"
mkdir -p "$RUN_DIR"
RUN_DIR="$(cd "$RUN_DIR" && pwd)"
# pg_ctl passes the server options through a shell: keep the path free of quoting trouble.
[[ "$RUN_DIR" =~ ^[A-Za-z0-9._/+-]+$ ]] || die "PG_RUN_DIR may hold only letters, digits and ._/+- (got '$RUN_DIR')"
# A Unix socket path is limited to 107 bytes (sun_path).
SOCKET="$RUN_DIR/.s.PGSQL.$PG_PORT"
((${#SOCKET} <= 107)) || die "PG_RUN_DIR is too long for the socket path $SOCKET (at most 107 bytes)"
DATA_DIR="$RUN_DIR/data"
SERVER_LOG="$RUN_DIR/postgres.log"
DSN="postgresql://$SUPERUSER@127.0.0.1:$PG_PORT/$DATABASE"

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

is_our_server() {  # is_our_server PID: a live postmaster running on this run dir's data folder
  local cmd
  alive "$1" || return 1
  cmd="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)" || return 1
  [[ "$cmd" == *"postgres -D $DATA_DIR "* ]]
}

# Print the pid of the postmaster that uses this run dir, or fail. Trusts postmaster.pid only if
# the process really is that server (a stale file after kill -9 or a reboot may name another
# process); falls back to scanning /proc.
running_pid() {
  local pid p
  if [[ -f "$DATA_DIR/postmaster.pid" ]]; then
    pid="$(head -n 1 "$DATA_DIR/postmaster.pid" | tr -dc '0-9')"
    if [[ -n "$pid" ]] && is_our_server "$pid"; then echo "$pid"; return 0; fi
  fi
  for p in $(grep -lsaF -- "$DATA_DIR" /proc/[0-9]*/cmdline 2>/dev/null || true); do
    pid="${p#/proc/}"; pid="${pid%/cmdline}"
    if is_our_server "$pid"; then echo "$pid"; return 0; fi
  done
  return 1
}

running_port() {  # the port the running server listens on (line 4 of postmaster.pid)
  sed -n 4p "$DATA_DIR/postmaster.pid" 2>/dev/null | tr -dc '0-9'
}

as_root() { [[ "$(id -u)" == 0 ]]; }

# Run a server command as the owner of the cluster: directly, or through su when we are root.
# The arguments travel as "$@" of the inner shell, so nothing is re-quoted; the `--` keeps su
# from taking them (pg_ctl's -w, -l, ...) for its own options.
as_owner() {
  if as_root; then
    su -s /bin/sh -c 'exec "$@"' -- "$PG_OS_USER" sh "$@"
  else
    "$@"
  fi
}

now_ms() { local us="${EPOCHREALTIME//[!0-9]/}"; echo $((10#$us / 1000)); }
since() { local ms=$(($(now_ms) - $1)); printf '%d.%02d s' $((ms / 1000)) $((ms % 1000 / 10)); }

# The newest installed server, installed with apt-get when there is none (and we may).
find_bin() {
  if [[ -n "${PG_BIN:-}" ]]; then
    [[ -x "$PG_BIN/pg_ctl" ]] || die "PG_BIN=$PG_BIN has no pg_ctl"
    return 0
  fi
  PG_BIN="$(newest_bin)"
  if [[ -z "$PG_BIN" ]] && as_root && command -v apt-get >/dev/null 2>&1; then
    log "no PostgreSQL server found; installing the Debian package 'postgresql' (apt-get)"
    apt-get update -qq 9>&- >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql 9>&- >/dev/null
    PG_BIN="$(newest_bin)"
  fi
  [[ -n "$PG_BIN" ]] || die "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin: install the package 'postgresql' (apt-get install postgresql, as root) or set PG_BIN"
}

newest_bin() {
  local dir
  dir="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]] && echo "$dir"
  return 0
}

# As root: the unprivileged user owns the run dir (initdb and postgres refuse to run as root).
prepare_owner() {
  as_root || return 0
  if ! id -u "$PG_OS_USER" >/dev/null 2>&1; then
    log "creating the unprivileged user $PG_OS_USER (initdb and postgres refuse to run as root)"
    useradd -M -s /bin/sh "$PG_OS_USER" 2>/dev/null || id -u "$PG_OS_USER" >/dev/null 2>&1 \
      || die "could not create the user $PG_OS_USER"   # a concurrent call may have created it
  fi
  [[ "$(stat -c %U "$RUN_DIR")" == "$PG_OS_USER" ]] || chown -R "$PG_OS_USER": "$RUN_DIR"
  as_owner test -w "$RUN_DIR" 9>&- \
    || die "$PG_OS_USER cannot write $RUN_DIR: is a parent folder closed to other users (mode 700)? Choose a run dir such as \$(mktemp -d /tmp/pdl-pg.XXXXXX)"
}

tail_log() {
  [[ -s "$SERVER_LOG" ]] || return 0
  log "---- last lines of $SERVER_LOG ----"
  tail -n 40 "$SERVER_LOG" >&2
}

psql_quiet() {  # psql_quiet SQL: run one statement in the maintenance database, print the result
  "$PG_BIN/psql" -X -q -t -A -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$SUPERUSER" \
    -d postgres -c "$1" 9>&- </dev/null
}

# ---------------------------------------------------------------------------------------------
# start

init_cluster() {
  [[ -f "$DATA_DIR/PG_VERSION" ]] && return 0
  log "initdb in $DATA_DIR"
  rm -rf "$DATA_DIR"                         # a half-made folder from an interrupted initdb
  if ! as_owner "$PG_BIN/initdb" -D "$DATA_DIR" -U "$SUPERUSER" --auth=trust -E UTF8 \
      --locale=C.UTF-8 9>&- </dev/null >"$RUN_DIR/initdb.log" 2>&1; then
    cat "$RUN_DIR/initdb.log" >&2
    die "initdb failed"
  fi
}

server_options() {
  local options="-p $PG_PORT -k $RUN_DIR -c listen_addresses=127.0.0.1"
  options+=" -c max_connections=$PG_MAX_CONNECTIONS"
  if [[ "$PG_FAST" == 1 ]]; then
    options+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  fi
  echo "$options"
}

ensure_database() {
  [[ "$(psql_quiet "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" == 1 ]] && return 0
  "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U "$SUPERUSER" "$DATABASE" 9>&- </dev/null \
    || die "could not create the database $DATABASE"
}

# After a kill -9 the dead postmaster may linger as a zombie until it is reaped, and postgres
# refuses to start while the pid in postmaster.pid exists: wait (briefly) for it to go.
wait_for_dead_server() {
  local pid deadline=$((SECONDS + 10))
  pid="$(head -n 1 "$DATA_DIR/postmaster.pid" 2>/dev/null | tr -dc '0-9')" || return 0
  [[ -n "$pid" ]] || return 0
  while [[ -e "/proc/$pid" ]] && ! alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
}

cmd_start() {
  lock "$RUN_DIR/.lock"
  find_bin
  local pid t0
  t0="$(now_ms)"
  if pid="$(running_pid)"; then
    [[ "$(running_port)" == "$PG_PORT" ]] \
      || die "a server (pid $pid) already runs from $RUN_DIR on port $(running_port), not $PG_PORT (other PG_PORT?); stop it first"
    log "already running (pid $pid)"
    ensure_database
    echo "$DSN"
    return 0
  fi
  port_open "$PG_PORT" && die "127.0.0.1:$PG_PORT is already in use by another process (another cluster? try: ss -ltnp | grep :$PG_PORT)"

  prepare_owner
  init_cluster
  wait_for_dead_server
  [[ -f "$SERVER_LOG" ]] && mv -f "$SERVER_LOG" "$RUN_DIR/postgres-previous.log"
  local durability="durable"
  [[ "$PG_FAST" == 1 ]] && durability="PG_FAST: not durable"
  log "starting PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT" \
      "(run dir $RUN_DIR, $durability)"
  # pg_ctl detaches the postmaster into its own session with stdin/stdout/stderr on the log,
  # so it survives the caller's Ctrl-C and holds no pipe of the caller's open.
  if ! as_owner "$PG_BIN/pg_ctl" -D "$DATA_DIR" -l "$SERVER_LOG" -s -w -t "$PG_START_TIMEOUT" \
      -o "$(server_options)" start 9>&- </dev/null >&2; then
    tail_log
    if running_pid >/dev/null; then
      as_owner "$PG_BIN/pg_ctl" -D "$DATA_DIR" -m immediate -w stop 9>&- >&2 || true
    fi
    die "the server did not start within $PG_START_TIMEOUT s (log: $SERVER_LOG)"
  fi
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t "$PG_START_TIMEOUT" 9>&- \
    || { tail_log; die "pg_ctl started the server but 127.0.0.1:$PG_PORT does not accept connections"; }
  ensure_database
  log "ready after $(since "$t0") (pid $(running_pid), log $SERVER_LOG)"
  echo "$DSN"
}

# ---------------------------------------------------------------------------------------------
# stop

cmd_stop() {
  lock "$RUN_DIR/.lock"
  local pid t0
  if ! pid="$(running_pid)"; then
    log "not running"
    return 0
  fi
  find_bin
  t0="$(now_ms)"
  log "stopping the server (pid $pid)"
  # Fast: roll back open transactions, disconnect clients, checkpoint. Immediate only as a last
  # resort (the next start then replays the WAL).
  if ! as_owner "$PG_BIN/pg_ctl" -D "$DATA_DIR" -s -m fast -w -t "$PG_STOP_TIMEOUT" stop 9>&- >&2; then
    log "fast shutdown did not finish in $PG_STOP_TIMEOUT s; immediate shutdown"
    as_owner "$PG_BIN/pg_ctl" -D "$DATA_DIR" -m immediate -w -t 30 stop 9>&- >&2 || true
  fi
  alive "$pid" && die "the server (pid $pid) is still running"
  log "stopped after $(since "$t0")"
}

# ---------------------------------------------------------------------------------------------
# status

cmd_status() {
  local pid
  if ! pid="$(running_pid)"; then
    echo "not running (run dir $RUN_DIR)"
    return 3
  fi
  if ! port_open "$(running_port)"; then
    echo "process $pid is up but 127.0.0.1:$(running_port) does not accept connections (starting or stuck; see $SERVER_LOG)"
    return 1
  fi
  echo "running (pid $pid) on 127.0.0.1:$(running_port), run dir $RUN_DIR"
}

case "${1:-}" in
  start)  cmd_start ;;
  stop)   cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 {start|stop|status}   (see the comments at the top of this file)" >&2; exit 2 ;;
esac
