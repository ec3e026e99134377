#!/usr/bin/env bash
# clickhouse/engine.sh — the ClickHouse engine of tongxin's local stack: chDB
# (ClickHouse in-process, PyPI `chdb`) behind ClickHouse's HTTP interface
# (chhttp.py beside this file), listening on 127.0.0.1 only.
#
#   engine.sh up       start (idempotent); prints CLICKHOUSE=<clickhouse-go DSN>,
#                      http://default:TOKEN@127.0.0.1:PORT/tongxin
#   engine.sh down     stop (TERM, then KILL); idempotent
#   engine.sh status   "clickhouse: running http://127.0.0.1:PORT (pid N)" (exit 0)
#                      or "clickhouse: stopped" (exit 3)
#
# Environment:
#   TONGXIN_CACHE_DIR    download cache (default ~/.cache/tongxin); the venv with
#                        the pinned chdb lives in $TONGXIN_CACHE_DIR/chdb-<version>/
#   TONGXIN_ENGINES_DIR  state of this instance (default <repo>/.engines); this
#                        engine keeps data/, port, pid and server.log in clickhouse/
#   TONGXIN_PYTHON       the Python (>= 3.9) to build the venv with (default python3)
#   TONGXIN_CLICKHOUSE_START_TIMEOUT  seconds `up` waits for an answer (default 120)
#   TONGXIN_ENGINES_OWNER_PID  if set at `up`, the server stops by itself once that
#                        process is gone (a test binary that died without cleaning up)
#
# The DSN names database `tongxin`, which the server does not create: `tongxin
# migrate` does. Only `up` prints on stdout; progress goes to stderr.
#
# The server answers only who knows the token in the DSN: a random one made
# when this instance's state directory is new, kept with its data across
# restarts (a server restart does not change its password, so clients that
# hold the DSN reconnect), owner-only in clickhouse/token and never on a
# command line. It
# refuses requests from browsers and statements that reach the host's files or
# network (file(), url(), ...); see chhttp.py.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cache=${TONGXIN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tongxin}
engines=${TONGXIN_ENGINES_DIR:-$repo/.engines}
state=$engines/clickhouse
requirements=$here/requirements.txt
chdb_version=$(sed -n 's/^chdb==\([^[:space:]]*\).*/\1/p' "$requirements")
venv=$cache/chdb-$chdb_version
py=$venv/bin/python
start_timeout=${TONGXIN_CLICKHOUSE_START_TIMEOUT:-120}

say() { echo "clickhouse: $*" >&2; }
die() { say "$*"; exit 1; }

# The venv, made once per chdb version and reused: a second `up` does not touch
# the network. A marker holding the requirements' checksum says it is complete.
ensure_venv() {
  local want
  want=$(cksum <"$requirements" | cut -d' ' -f1)
  if [ -x "$py" ] && [ "$(cat "$venv/.tongxin-ready" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  mkdir -p "$cache"
  exec 8>"$cache/chdb-$chdb_version.lock"
  flock 8
  if [ -x "$py" ] && [ "$(cat "$venv/.tongxin-ready" 2>/dev/null)" = "$want" ]; then
    exec 8>&-
    return 0
  fi
  local base=${TONGXIN_PYTHON:-python3}
  command -v "$base" >/dev/null || die "needs $base (Python >= 3.9) to install chdb"
  "$base" -c 'import sys; sys.exit(sys.version_info < (3, 9))' || die "$base is older than Python 3.9"
  say "installing chdb $chdb_version into $venv (once; about 600 MB)"
  rm -rf "$venv"
  if ! "$base" -m venv "$venv" >&2; then
    # Debian's python3 without python3-venv: a venv without pip, filled by the base pip.
    rm -rf "$venv"
    "$base" -m venv --without-pip "$venv" >&2 || die "cannot create a venv with $base"
  fi
  local pip=("$py" -m pip)
  "$py" -m pip --version >/dev/null 2>&1 || pip=("$base" -m pip --python "$py")
  local opts=(install --no-deps --disable-pip-version-check --no-input --progress-bar off)
  "${pip[@]}" "${opts[@]}" "$(grep -E '^chdb==' "$requirements")" "$(grep -E '^chdb-core==' "$requirements")" >&2 \
    || die "pip could not install chdb $chdb_version"
  # Compression libraries: used when present, so a platform without a wheel for
  # one of them still gets a working engine.
  local lib
  for lib in $(grep -vE '^(#|chdb==|chdb-core==|$)' "$requirements"); do
    "${pip[@]}" "${opts[@]}" --only-binary=:all: "$lib" >&2 || say "warning: $lib not installed (optional)"
  done
  "$py" -c 'import chdb' >&2 || die "chdb $chdb_version does not import"
  echo "$want" >"$venv/.tongxin-ready"
  exec 8>&-
}

# The pid of this instance's server, if it runs: the pid file's process when its
# command line is chhttp.py serving this state directory.
server_pid() {
  local pid
  pid=$(cat "$state/pid" 2>/dev/null || true)
  if [ -n "$pid" ] && is_ours "$pid"; then echo "$pid"; return 0; fi
  # A server whose pid file was lost: found by its command line, never by name alone.
  local p
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    if is_ours "$p"; then echo "$p"; return 0; fi
  done
  return 1
}

is_ours() {
  local args=()
  [ -r "/proc/$1/cmdline" ] || return 1
  mapfile -d '' args <"/proc/$1/cmdline" 2>/dev/null || return 1
  local cmd=" ${args[*]-} "
  [[ $cmd == *"/chhttp.py serve "* && $cmd == *" --data $state/data "* ]]
}

url() { echo "http://127.0.0.1:$(cat "$state/port")"; }

# The clickhouse-go DSN, with this start's token as the password.
dsn() { echo "http://default:$(cat "$state/token")@127.0.0.1:$(cat "$state/port")/tongxin"; }

# new_token: a random token for this instance, owner-only; kept if it exists.
new_token() {
  [ -s "$state/token" ] && return 0
  (umask 077 && "$py" -c 'import secrets; print(secrets.token_urlsafe(32))' >"$state/token.tmp")
  chmod 600 "$state/token.tmp"
  mv -f "$state/token.tmp" "$state/token"
}

# answers [--ping-only]: the server answers /ping and (unless --ping-only) SELECT 1.
answers() {
  [ -x "$py" ] && "$py" "$here/chhttp.py" check --url "$(url)" --token-file "$state/token" --timeout 5 "$@" >/dev/null 2>&1
}

free_port() {
  "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

log_tail() {
  if [ -f "$state/server.log" ]; then
    say "last lines of $state/server.log:"
    tail -n 40 "$state/server.log" >&2
  fi
}

cmd_up() {
  mkdir -p "$state"
  ensure_venv
  exec 9>"$state/lock"
  flock 9
  local pid
  if pid=$(server_pid); then
    # /ping needs no engine lock: a server busy with a long query still counts.
    if [ -s "$state/token" ] && { answers --ping-only || { sleep 1; answers --ping-only; }; }; then
      echo "CLICKHOUSE=$(dsn)"
      return 0
    fi
    say "pid $pid does not answer; restarting it"
    stop_pid "$pid"
  fi
  local fresh=false port tries
  if [ ! -s "$state/port" ]; then
    free_port >"$state/port"
    fresh=true
  fi
  for tries in 1 2 3; do
    port=$(cat "$state/port")
    if launch "$port"; then break; fi
    # A port chosen just now that someone took meanwhile: choose another. A port
    # used before is kept (the DSN printed earlier must stay valid): fail.
    if $fresh && [ $tries -lt 3 ] && grep -q "cannot listen" <(tail -n 5 "$state/server.log"); then
      say "port $port was taken meanwhile; choosing another"
      free_port >"$state/port"
      continue
    fi
    log_tail
    die "the server did not come up on port $port"
  done
  pid=$(server_pid) || die "the server answers but its pid is unknown"
  echo "$pid" >"$state/pid"
  say "running http://127.0.0.1:$port (pid $pid; token in $state/token)"
  echo "CLICKHOUSE=$(dsn)"
}

# launch PORT: start the server and wait until it answers; 1 when it does not.
launch() {
  local port=$1 owner=()
  [ -z "${TONGXIN_ENGINES_OWNER_PID:-}" ] || owner=(--owner-pid "$TONGXIN_ENGINES_OWNER_PID")
  rm -f "$state/pid"
  new_token
  say "starting chDB $chdb_version on 127.0.0.1:$port (data $state/data)"
  echo "---- $(date '+%Y-%m-%d %H:%M:%S') up" >>"$state/server.log"
  (
    cd "$state"
    exec setsid "$py" "$here/chhttp.py" serve --port "$port" --data "$state/data" \
      --log "$state/server.log" --pidfile "$state/pid" --token-file "$state/token" "${owner[@]}" \
      </dev/null >>"$state/server.log" 2>&1 8>&- 9>&-
  ) &
  local launched=$! deadline=$((SECONDS + start_timeout)) pid
  while ! answers; do
    if ! kill -0 "$launched" 2>/dev/null && ! server_pid >/dev/null; then
      say "the server exited before it answered"
      return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      say "no answer on port $port after ${start_timeout}s"
      if pid=$(server_pid); then stop_pid "$pid"; fi
      return 1
    fi
    sleep 0.2
  done
}

stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    is_ours "$pid" || return 0
    sleep 0.1
  done
  say "pid $pid ignored TERM for 15s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    is_ours "$pid" || return 0
    sleep 0.1
  done
  die "pid $pid survived KILL"
}

cmd_down() {
  [ -d "$state" ] || return 0
  exec 9>"$state/lock"
  flock 9
  local pid
  while pid=$(server_pid); do
    say "stopping pid $pid"
    stop_pid "$pid"
  done
  rm -f "$state/pid"
}

cmd_status() {
  local pid
  if [ -d "$state" ] && pid=$(server_pid); then
    echo "clickhouse: running $(url) (pid $pid)"
    return 0
  fi
  echo "clickhouse: stopped"
  return 3
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
