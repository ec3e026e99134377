#!/usr/bin/env bash
# deploy/local/kafka/engine.sh up|down|status — one Apache Kafka broker for
# tests and the local stack: KRaft, a single node that is both broker and
# controller, run straight from its Maven Central jars on the machine's JDK
# (17 or newer), listening only on 127.0.0.1.
#
#   up      start it (or find it running), wait until it answers Kafka
#           requests, print on stdout KAFKA=127.0.0.1:<port> (and, with
#           TONGXIN_KAFKA_TLS_DIR, KAFKA_SSL=127.0.0.1:<port> and
#           KAFKA_SASL_SSL=127.0.0.1:<port>)
#   down    stop it (SIGTERM, SIGKILL after a timeout); no java is left behind
#   status  print "kafka: running 127.0.0.1:<port> (pid N)" (exit 0) or
#           "kafka: stopped" (exit 3)
#
# Environment:
#   TONGXIN_CACHE_DIR    download cache (default ~/.cache/tongxin); the jars
#                        go to $TONGXIN_CACHE_DIR/kafka-<version>/libs, fetched
#                        once with Maven (its local repo: $TONGXIN_CACHE_DIR/m2)
#   TONGXIN_ENGINES_DIR  state of this instance (default <repo>/.engines); this
#                        engine keeps ports, data, pid and logs in .../kafka
#   TONGXIN_KAFKA_VERSION      Kafka version (default below)
#   TONGXIN_KAFKA_HEAP_OPTS    JVM heap options (default -Xms128m -Xmx768m)
#   TONGXIN_KAFKA_START_TIMEOUT seconds up waits for the broker (default 90)
#   TONGXIN_ENGINES_OWNER_PID  if set, the broker is stopped once that process
#                        is gone (a test binary that dies without cleaning up)
#
# Transport security, to try TLS and SASL locally (off by default):
#   TONGXIN_KAFKA_TLS_DIR  a directory holding ca.pem (the CA that signed the
#                        certificates), server.pem (the broker's certificate,
#                        for 127.0.0.1) and server.key (its PKCS#8 PEM key,
#                        unencrypted). The broker then also listens with TLS
#                        (listener SSL) and with SASL over TLS (SASL_SSL).
#   TONGXIN_KAFKA_TLS_CLIENT_AUTH  none (default), requested or required: whether
#                        the SSL listener asks clients for a certificate signed
#                        by ca.pem
#   TONGXIN_KAFKA_SASL_USER, TONGXIN_KAFKA_SASL_PASSWORD  the one SASL user of
#                        the SASL_SSL listener (default tongxin / tongxin-local),
#                        for PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512. The SCRAM
#                        credentials are stored when the instance is first
#                        formatted; PLAIN reads them on every up.
#
# Progress goes to stderr; the broker's own log is
# $TONGXIN_ENGINES_DIR/kafka/logs/server.log.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
version=${TONGXIN_KAFKA_VERSION:-4.4.0}
cache=${TONGXIN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tongxin}
engines=${TONGXIN_ENGINES_DIR:-$repo/.engines}
heap=${TONGXIN_KAFKA_HEAP_OPTS:--Xms128m -Xmx768m}
start_timeout=${TONGXIN_KAFKA_START_TIMEOUT:-90}
stop_timeout=30
tls_dir=${TONGXIN_KAFKA_TLS_DIR:-}
client_auth=${TONGXIN_KAFKA_TLS_CLIENT_AUTH:-none}
sasl_user=${TONGXIN_KAFKA_SASL_USER:-tongxin}
sasl_password=${TONGXIN_KAFKA_SASL_PASSWORD:-tongxin-local}

# Absolute and normalized: the JVM of this instance is found by its state
# directory, whatever the cwd of the caller.
cache=$(realpath -m "$cache")
state=$(realpath -m "$engines/kafka")
dist=$cache/kafka-$version
libs=$dist/libs
marker="-Dtongxin.engine.dir=$state" # identifies this instance's JVM
pidfile=$state/kafka.pid
portsfile=$state/ports
props=$state/server.properties
logdir=$state/logs

say() { echo "kafka: $*" >&2; }
die() { say "$*"; exit 1; }

# --- the jars, fetched once ---------------------------------------------------

fetch() {
  [ -f "$dist/.complete" ] && return 0
  mkdir -p "$cache"
  exec 8>"$cache/.kafka-$version.lock"
  flock -w 900 8 || die "timed out waiting for another fetch of Kafka $version"
  if [ ! -f "$dist/.complete" ]; then
    command -v mvn >/dev/null || die "Maven (mvn) is needed once to fetch Kafka $version"
    say "fetching Apache Kafka $version from Maven Central into $dist (once) ..."
    local tmp
    tmp=$(mktemp -d "$cache/.kafka-$version.XXXXXX")
    # (Maven 3.8 prints colour codes even when quiet and in batch mode.)
    if ! mvn -q -B -f "$here/pom.xml" -Dkafka.version="$version" \
        -Dmaven.repo.local="$cache/m2" -Dstyle.color=never \
        dependency:copy-dependencies -DoutputDirectory="$tmp/libs" 2>&1 </dev/null \
        | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' >&2 \
       || [ ! -f "$tmp/libs/kafka_2.13-$version.jar" ]; then
      rm -rf "$tmp"
      die "fetching Kafka $version with Maven failed"
    fi
    touch "$tmp/.complete"
    rm -rf "$dist"
    mv "$tmp" "$dist"
    say "fetched $(ls "$libs" | wc -l) jars"
  fi
  exec 8>&-
}

java_bin() {
  local j=java
  [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ] && j=$JAVA_HOME/bin/java
  command -v "$j" >/dev/null || die "no java found (Kafka $version needs a JDK 17 or newer)"
  local v
  v=$("$j" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
  case "$v" in 1.*|9|1[0-6]) die "Kafka $version needs Java 17 or newer, $j is $v" ;; esac
  echo "$j"
}

# --- the instance -------------------------------------------------------------

# pids of JVMs of this instance (found by their command line).
instance_pids() {
  local f
  for f in $(grep -lxFz -e "$marker" /proc/[0-9]*/cmdline 2>/dev/null); do
    f=${f#/proc/}; echo "${f%/cmdline}"
  done
}

# The pid of this instance's broker if it runs; fails otherwise.
running_pid() {
  local pid=""
  [ -f "$pidfile" ] && pid=$(cat "$pidfile" 2>/dev/null || true)
  if [ -n "$pid" ] && grep -qxFz -e "$marker" "/proc/$pid/cmdline" 2>/dev/null; then
    echo "$pid"; return 0
  fi
  pid=$(instance_pids | head -n1)
  [ -n "$pid" ] && { echo "$pid"; return 0; }
  return 1
}

read_ports() {
  broker_port="" controller_port="" ssl_port="" sasl_port=""
  # shellcheck disable=SC1090
  [ -f "$portsfile" ] && . "$portsfile"
  [ -n "$broker_port" ] && [ -n "$controller_port" ]
}

# TCP ports in use on this machine (any state), from /proc.
used_ports() {
  local sl local_addr rest
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | while read -r sl local_addr rest; do
    [ "$sl" = sl ] && continue
    echo $((16#${local_addr##*:}))
  done
}

# A free port below the kernel's ephemeral range, so that no outgoing
# connection takes it between two ups.
free_port() {
  local lo=20000 hi eph used p i
  eph=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  hi=$((eph - 1)); [ "$hi" -gt "$lo" ] || { lo=10000; hi=19999; }
  used=" $(used_ports | tr '\n' ' ') $* "
  for i in $(seq 200); do
    p=$(( lo + ((RANDOM << 15) | RANDOM) % (hi - lo + 1) ))
    case "$used" in *" $p "*) continue ;; esac
    echo "$p"; return 0
  done
  die "found no free port"
}

# Sends an ApiVersions request (v0) and checks for an answer without error:
# the broker is up, unfenced and processing requests.
answers() {
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    # size=12, api_key=18 (ApiVersions), api_version=0, correlation_id=7, client_id="tx"
    printf "\x00\x00\x00\x0c\x00\x12\x00\x00\x00\x00\x00\x07\x00\x02tx" >&3
    r=$(head -c 10 <&3 | od -An -tx1 | tr -d " \n")
    # size(4) correlation_id=7 error_code=0
    [ "${r:8:12}" = "000000070000" ]
  ' _ "$1" 2>/dev/null
}

log_start=0 # size of server.log when this up started the JVM

# What went wrong: the errors and the last lines this start logged.
log_tail() {
  local run
  run=$(tail -c +$((log_start + 1)) "$logdir/server.log" 2>/dev/null || true)
  {
    echo "---- errors in $logdir/server.log ----"
    grep -E '^\[[^]]*\] (ERROR|FATAL)|^Caused by:' <<<"$run" | awk '!seen[$0]++' | head -n 15 || true
    echo "---- last lines ----"
    tail -n 15 <<<"$run"
    if [ -s "$state/kafka.out" ]; then
      echo "---- $state/kafka.out ----"; tail -n 20 "$state/kafka.out"
    fi
  } >&2
}

render_props() {
  sed -e "s|@BROKER_PORT@|$broker_port|g" -e "s|@CONTROLLER_PORT@|$controller_port|g" \
      -e "s|@DATA_DIR@|$state/data|g" "$here/server.properties.in" >"$props"
  [ -n "$tls_dir" ] && render_tls_props
  return 0
}

# With TONGXIN_KAFKA_TLS_DIR: checks its files and the SASL user, and
# makes sure the instance has ports for the SSL and SASL_SSL listeners.
check_tls() {
  [ -n "$tls_dir" ] || return 0
  tls_dir=$(realpath -m "$tls_dir")
  local f
  for f in ca.pem server.pem server.key; do
    [ -r "$tls_dir/$f" ] || die "TONGXIN_KAFKA_TLS_DIR=$tls_dir has no readable $f"
  done
  grep -q -- '-----BEGIN PRIVATE KEY-----' "$tls_dir/server.key" \
    || die "$tls_dir/server.key is not an unencrypted PKCS#8 PEM key (BEGIN PRIVATE KEY); convert it with: openssl pkcs8 -topk8 -nocrypt"
  case "$client_auth" in none|requested|required) ;;
    *) die "TONGXIN_KAFKA_TLS_CLIENT_AUTH=$client_auth: want none, requested or required" ;; esac
  # They go into a JAAS line and a --add-scram argument unquoted.
  [[ $sasl_user =~ ^[A-Za-z0-9._~+-]+$ ]] || die "TONGXIN_KAFKA_SASL_USER: use letters, digits and ._~+- only"
  [[ $sasl_password =~ ^[A-Za-z0-9._~+-]+$ ]] || die "TONGXIN_KAFKA_SASL_PASSWORD: use letters, digits and ._~+- only"
}

tls_ports() {
  [ -n "$tls_dir" ] || return 0
  [ -n "$ssl_port" ] || ssl_port=$(free_port "$broker_port" "$controller_port")
  [ -n "$sasl_port" ] || sasl_port=$(free_port "$broker_port" "$controller_port" "$ssl_port")
}

render_tls_props() {
  local tls=$state/tls
  mkdir -p "$tls"
  # A PEM keystore is one file: the key, then the certificate chain.
  (umask 077; cat "$tls_dir/server.key" "$tls_dir/server.pem" >"$tls/keystore.pem")
  local l="PLAINTEXT://127.0.0.1:$broker_port,SSL://127.0.0.1:$ssl_port,SASL_SSL://127.0.0.1:$sasl_port"
  sed -i -e "s|^listeners=.*|listeners=$l,CONTROLLER://127.0.0.1:$controller_port|" \
      -e "s|^advertised.listeners=.*|advertised.listeners=$l|" \
      -e "s|^listener.security.protocol.map=.*|listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL|" \
      "$props"
  cat >>"$props" <<PROPS

# TLS and SASL (TONGXIN_KAFKA_TLS_DIR=$tls_dir)
ssl.keystore.type=PEM
ssl.keystore.location=$tls/keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$tls_dir/ca.pem
listener.name.ssl.ssl.client.auth=$client_auth
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$sasl_user="$sasl_password";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
PROPS
  chmod 600 "$props"
}

# The lines up prints.
print_addrs() {
  echo "KAFKA=127.0.0.1:$broker_port"
  if [ -n "$tls_dir" ]; then
    echo "KAFKA_SSL=127.0.0.1:$ssl_port"
    echo "KAFKA_SASL_SSL=127.0.0.1:$sasl_port"
  fi
}

write_ports() {
  printf 'broker_port=%s\ncontroller_port=%s\n' "$broker_port" "$controller_port" >"$portsfile"
  if [ -n "$ssl_port" ]; then
    printf 'ssl_port=%s\nsasl_port=%s\n' "$ssl_port" "$sasl_port" >>"$portsfile"
  fi
}

jvm_opts() {
  # shellcheck disable=SC2086
  printf '%s\n' $heap -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
    -Djava.awt.headless=true "-Dlog4j2.configurationFile=$here/log4j2.xml" \
    "-Dkafka.logs.dir=$logdir"
}

# A random cluster id: 16 random bytes, base64url without padding. One that
# begins with '-' is drawn again, as Kafka's own Uuid.randomUuid does: a
# command line would read it as an option.
new_cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    case "$id" in -*) ;; *) echo "$id"; return 0 ;; esac
  done
}

format_storage() {
  local java=$1 id scram=()
  id=$(new_cluster_id)
  say "formatting $state/data (cluster id $id)"
  if [ -n "$tls_dir" ]; then
    scram=(--add-scram "SCRAM-SHA-256=[name=$sasl_user,password=$sasl_password]"
           --add-scram "SCRAM-SHA-512=[name=$sasl_user,password=$sasl_password]")
  fi
  mapfile -t opts < <(jvm_opts)
  # --cluster-id=ID, in one word, is read as the id whatever it begins with.
  if ! "$java" "${opts[@]}" -cp "$libs/*" kafka.tools.StorageTool \
      format "--cluster-id=$id" --config "$props" --standalone "${scram[@]}" >"$logdir/format.log" 2>&1 </dev/null; then
    cat "$logdir/format.log" >&2
    die "formatting the storage failed"
  fi
  echo "$id" >"$state/cluster.id"
}

watch_owner() {
  local owner=${TONGXIN_ENGINES_OWNER_PID:-} pid=$1
  [ -n "$owner" ] || return 0
  nohup bash -c '
    owner=$1 pid=$2 marker="-Dtongxin.engine.dir=$3" t=$4
    alive() { grep -qxFz -e "$marker" "/proc/$pid/cmdline" 2>/dev/null; }
    while kill -0 "$owner" 2>/dev/null && alive; do sleep 2; done
    alive || exit 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq "$t"); do alive || exit 0; sleep 1; done
    kill -KILL "$pid" 2>/dev/null
  ' _ "$owner" "$pid" "$state" "$stop_timeout" >/dev/null 2>&1 </dev/null 8>&- 9>&- &
}

wait_ready() {
  local pid=$1 deadline=$((SECONDS + start_timeout))
  while [ $SECONDS -lt $deadline ]; do
    gone "$pid" && return 2 # died
    answers "$broker_port" && return 0
    sleep 0.3
  done
  return 1
}

up() {
  mkdir -p "$logdir"
  exec 9>"$state/.lock"
  flock -w 600 9 || die "timed out waiting for another up/down of $state"
  local pid
  if pid=$(running_pid); then
    read_ports || die "broker runs (pid $pid) but $portsfile is missing"
    if ! wait_ready "$pid"; then
      log_tail; die "broker (pid $pid) runs but does not answer on 127.0.0.1:$broker_port"
    fi
    say "already running (pid $pid)"
    if [ -n "$tls_dir" ] && [ -z "$ssl_port" ]; then
      say "warning: it runs without TLS listeners; TONGXIN_KAFKA_TLS_DIR applies after a restart"
      tls_dir=""
    fi
    print_addrs
    return 0
  fi
  check_tls
  fetch
  local java fresh rc bind_failed
  java=$(java_bin)
  for _ in 1 2 3; do
    fresh=false
    if ! read_ports; then
      # First up of this instance: choose the ports it keeps from now on.
      fresh=true
      broker_port=$(free_port)
      controller_port=$(free_port "$broker_port")
      rm -rf "$state/data"
    fi
    tls_ports
    render_props
    [ -f "$state/data/meta.properties" ] || format_storage "$java"
    write_ports

    say "starting Kafka $version on 127.0.0.1:$broker_port (controller :$controller_port)"
    mapfile -t opts < <(jvm_opts)
    log_start=$(stat -c %s "$logdir/server.log" 2>/dev/null || echo 0)
    # Detached from our stdout/stderr (the caller may wait for them to close)
    # and from the lock descriptors; in the state directory, so that it holds
    # on to no one's working directory and a JVM crash report lands there.
    (cd "$state" && exec nohup "$java" "${opts[@]}" "$marker" -cp "$libs/*" kafka.Kafka "$props") \
      >"$state/kafka.out" 2>&1 </dev/null 8>&- 9>&- &
    pid=$!
    echo "$pid" >"$pidfile"
    rc=0; wait_ready "$pid" || rc=$?
    if [ $rc -eq 0 ]; then
      watch_owner "$pid"
      say "ready (pid $pid, log $logdir/server.log)"
      print_addrs
      return 0
    fi
    bind_failed=false
    if [ $rc -eq 2 ] && grep -q "Address already in use" <<<"$(tail -c +$((log_start + 1)) "$logdir/server.log" 2>/dev/null)"; then
      bind_failed=true
    fi
    if $bind_failed && $fresh; then
      say "port taken meanwhile, choosing others"
      rm -f "$portsfile" "$pidfile"
      continue
    fi
    log_tail
    stop_pid "$pid"
    if $bind_failed; then
      die "port $broker_port or $controller_port (kept since this instance's first up, in $portsfile) is taken by another process"
    fi
    if [ $rc -eq 2 ]; then die "the broker exited during startup"; fi
    die "the broker did not answer within ${start_timeout}s"
  done
  die "could not find free ports"
}

# True once pid has exited for good: gone, or a zombie. (While a process
# exits, its command line is already empty but it may still hold its
# sockets and the data directory's lock.)
gone() {
  local st
  st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  st=${st##*) }
  case "${st%% *}" in Z|X) return 0 ;; esac
  return 1
}

stop_pid() {
  local pid=$1 i
  grep -qxFz -e "$marker" "/proc/$pid/cmdline" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < stop_timeout * 10; i++)); do
    gone "$pid" && return 0
    sleep 0.1
  done
  say "pid $pid did not stop within ${stop_timeout}s, killing it"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    gone "$pid" && return 0
    sleep 0.1
  done
  die "pid $pid is still there after SIGKILL"
}

down() {
  if [ ! -d "$state" ]; then say "stopped"; return 0; fi
  exec 9>"$state/.lock"
  flock -w 600 9 || die "timed out waiting for another up/down of $state"
  local pids pid
  pids=$(instance_pids)
  if [ -z "$pids" ]; then
    rm -f "$pidfile"
    say "stopped"
    return 0
  fi
  for pid in $pids; do
    say "stopping pid $pid"
    stop_pid "$pid"
  done
  rm -f "$pidfile"
  say "stopped"
}

status() {
  local pid
  if pid=$(running_pid) && read_ports; then
    echo "kafka: running 127.0.0.1:$broker_port (pid $pid)"
  else
    echo "kafka: stopped"
    return 3 # as LSB init scripts (and clickhouse/engine.sh) do
  fi
}

# cluster.sh sources this file for its functions; run, it is the engine.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
  esac
fi
