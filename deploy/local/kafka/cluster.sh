#!/usr/bin/env bash
# deploy/local/kafka/cluster.sh — a three-broker Apache Kafka cluster for
# tests and the local stack, from the same Maven Central jars as engine.sh:
# KRaft, three nodes that are each broker and controller (a quorum of three
# voters), each with its own data directory and its own broker and
# controller ports on 127.0.0.1. Plaintext only.
#
#   up              start the nodes that are not running, wait until each
#                   answers Kafka requests, print on stdout
#                   KAFKA=127.0.0.1:<port1>,127.0.0.1:<port2>,127.0.0.1:<port3>
#   down            stop every node (SIGTERM, SIGKILL after a timeout)
#   status          one line per node, "kafka-cluster: node N running
#                   127.0.0.1:<port> (pid P)" or "... node N stopped"; exit 3
#                   when any node is stopped
#   node start N    start node N (1-3) again, on its ports and data, and wait
#                   until it answers
#   node stop N     stop node N (SIGTERM)
#   node kill N     SIGKILL node N and wait until it is gone: a crash
#   node pid N      print node N's pid (exit 3 when it is not running)
#   node port N     print node N's broker port
#
# Node N has node.id N. Topics created without a replication factor get 3,
# and min.insync.replicas is 2, so acks=all writes go on with one node down.
#
# Environment as engine.sh (TONGXIN_CACHE_DIR, TONGXIN_ENGINES_DIR,
# TONGXIN_KAFKA_VERSION, TONGXIN_KAFKA_START_TIMEOUT,
# TONGXIN_ENGINES_OWNER_PID); the state lives in
# $TONGXIN_ENGINES_DIR/kafka-cluster/node-N, each node's log in
# .../node-N/logs/server.log. TONGXIN_KAFKA_CLUSTER_HEAP_OPTS sets each
# node's JVM heap (default -Xms96m -Xmx384m: three JVMs share the machine).
set -euo pipefail

# The single broker's functions (fetch, java_bin, free_port, answers,
# stop_pid, ...); they work on the globals state, marker, pidfile, logdir.
# shellcheck source=engine.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/engine.sh"

if [ -n "${TONGXIN_KAFKA_TLS_DIR:-}" ]; then
  echo "kafka-cluster: TONGXIN_KAFKA_TLS_DIR is ignored: the cluster listens in plaintext only" >&2
fi
tls_dir=""
heap=${TONGXIN_KAFKA_CLUSTER_HEAP_OPTS:--Xms96m -Xmx384m}
nodes=(1 2 3)
declare -A node_retried=()
start_timeout=${TONGXIN_KAFKA_START_TIMEOUT:-240}
root=$(realpath -m "$engines/kafka-cluster")
cluster_ports=$root/ports

say() { echo "kafka-cluster: $*" >&2; }

# Three JVMs on a small shared machine: the serial collector and the quick
# JIT only, which start faster and spend less CPU than G1 and C2.
jvm_opts() {
  # shellcheck disable=SC2086
  printf '%s\n' $heap -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Djava.awt.headless=true "-Dlog4j2.configurationFile=$here/log4j2.xml" \
    "-Dkafka.logs.dir=$logdir"
}

# node N: points the engine.sh globals at node N.
node() {
  n=$1
  state=$root/node-$n
  marker="-Dtongxin.engine.dir=$state"
  pidfile=$state/kafka.pid
  props=$state/server.properties
  logdir=$state/logs
  local bp=node${n}_broker cp=node${n}_controller
  broker_port=${!bp:-} controller_port=${!cp:-}
}

# Reads every node's ports; fails when they were never chosen.
read_cluster_ports() {
  [ -f "$cluster_ports" ] || return 1
  # shellcheck disable=SC1090
  . "$cluster_ports"
  local i v
  for i in "${nodes[@]}"; do
    for v in broker controller; do
      v=node${i}_$v
      [ -n "${!v:-}" ] || return 1
    done
  done
}

choose_cluster_ports() {
  local i taken=() b c
  : >"$cluster_ports.new"
  for i in "${nodes[@]}"; do
    b=$(free_port "${taken[@]}"); taken+=("$b")
    c=$(free_port "${taken[@]}"); taken+=("$c")
    printf 'node%s_broker=%s\nnode%s_controller=%s\n' "$i" "$b" "$i" "$c" >>"$cluster_ports.new"
  done
  mv "$cluster_ports.new" "$cluster_ports"
  read_cluster_ports
}

# addrs broker|controller: every node's address of that listener, comma
# separated; controllers as quorum voters (N@host:port).
addrs() {
  local i port out="" id=""
  for i in "${nodes[@]}"; do
    port=node${i}_$1
    [ "$1" = controller ] && id="$i@"
    out+="${out:+,}${id}127.0.0.1:${!port}"
  done
  echo "$out"
}

# Node n's server.properties: the single broker's, with its node id, a
# static quorum of the three controllers, and three replicas.
render_node_props() {
  sed -e "s|@BROKER_PORT@|$broker_port|g" -e "s|@CONTROLLER_PORT@|$controller_port|g" \
      -e "s|@DATA_DIR@|$state/data|g" \
      -e "s|^node.id=.*|node.id=$n|" \
      -e "s|^controller.quorum.bootstrap.servers=.*|controller.quorum.voters=$(addrs controller)|" \
      -e "s|^# Dynamic quorum.*|# Static quorum: the three nodes are the voters.|" \
      -e "s|^# One node: .*|# Three nodes: three replicas, two in sync for acks=all.|" \
      -e "s|^default.replication.factor=.*|default.replication.factor=3|" \
      -e "s|^min.insync.replicas=.*|min.insync.replicas=2|" \
      -e "s|^offsets.topic.replication.factor=.*|offsets.topic.replication.factor=3|" \
      -e "s|^transaction.state.log.replication.factor=.*|transaction.state.log.replication.factor=3|" \
      -e "s|^transaction.state.log.min.isr=.*|transaction.state.log.min.isr=2|" \
      -e "s|^share.coordinator.state.topic.replication.factor=.*|share.coordinator.state.topic.replication.factor=3|" \
      -e "s|^share.coordinator.state.topic.min.isr=.*|share.coordinator.state.topic.min.isr=2|" \
      "$here/server.properties.in" >"$props"
  cat >>"$props" <<'PROPS'

# A killed node is fenced, and its partitions get new leaders, within
# seconds (defaults: heartbeat 2 s, session 9 s).
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=6000
# Three nodes starting together on a loaded machine may take a while to
# elect a leader: a broker waits longer than 60 s before giving up.
initial.broker.registration.timeout.ms=300000
PROPS
}

format_node() {
  local java=$1 id
  id=$(cat "$root/cluster.id")
  mapfile -t opts < <(jvm_opts)
  # With a static quorum (controller.quorum.voters) the storage is formatted
  # without --standalone or --initial-controllers.
  if ! "$java" "${opts[@]}" -cp "$libs/*" kafka.tools.StorageTool \
      format "--cluster-id=$id" --config "$props" >"$logdir/format.log" 2>&1 </dev/null; then
    cat "$logdir/format.log" >&2
    die "formatting node $n's storage failed"
  fi
}

# Starts node n's JVM unless it runs; sets started_pid.
launch_node() {
  local java=$1 pid
  mkdir -p "$logdir"
  if pid=$(running_pid); then
    started_pid=$pid
    return 0
  fi
  render_node_props
  [ -f "$state/data/meta.properties" ] || format_node "$java"
  say "starting node $n on 127.0.0.1:$broker_port (controller :$controller_port)"
  mapfile -t opts < <(jvm_opts)
  (cd "$state" && exec nohup "$java" "${opts[@]}" "$marker" -cp "$libs/*" kafka.Kafka "$props") \
    >"$state/kafka.out" 2>&1 </dev/null 8>&- 9>&- &
  started_pid=$!
  echo "$started_pid" >"$pidfile"
  watch_owner "$started_pid"
}

# how_ended PID: how a node this shell started ended ("exit status 1",
# "killed by SIGKILL"), from wait; a JVM that crashed leaves hs_err_pidN.log
# in its state directory.
how_ended() {
  local st=0
  wait "$1" 2>/dev/null || st=$?
  if [ "$st" -gt 128 ]; then
    echo "killed by SIG$(kill -l $((st - 128)) 2>/dev/null || echo $((st - 128)))"
  else
    echo "exit status $st"
  fi
}

# Waits until node n answers; on failure shows its log and fails. A node
# that dies while starting is started once more: a CI run once lost a node
# 20 s into startup with no error in its log and no output (killed from
# outside), and one lost node must not fail a whole test run. The first
# death is reported on stderr all the same.
await_node() {
  local pid=$1 rc=0 java how
  wait_ready "$pid" || rc=$?
  [ $rc -eq 0 ] && return 0
  log_start=0 log_tail
  [ $rc -eq 2 ] || die "node $n did not answer within ${start_timeout}s"
  how=$(how_ended "$pid")
  ls "$state"/hs_err_pid*.log >/dev/null 2>&1 && how+=", JVM crash report: $(ls "$state"/hs_err_pid*.log | head -n1)"
  if [ "${node_retried[$n]:-}" = 1 ]; then
    die "node $n exited during startup ($how)"
  fi
  node_retried[$n]=1
  say "node $n exited during startup ($how); starting it once more"
  java=$(java_bin)
  log_start=$(stat -c %s "$logdir/server.log" 2>/dev/null || echo 0)
  launch_node "$java"
  await_node "$started_pid"
}

lock_cluster() {
  mkdir -p "$root"
  exec 9>"$root/.lock"
  flock -w 600 9 || die "timed out waiting for another up/down of $root"
}

cluster_up() {
  lock_cluster
  fetch
  local java i pids=()
  java=$(java_bin)
  if ! read_cluster_ports; then
    # First up: the ports and the cluster id this cluster keeps from now on.
    rm -rf "$root"/node-*
    choose_cluster_ports
    new_cluster_id >"$root/cluster.id"
  fi
  # The storage of new nodes formatted side by side (a JVM each).
  local fmt=()
  for i in "${nodes[@]}"; do
    node "$i"
    mkdir -p "$logdir"
    running_pid >/dev/null && continue
    [ -f "$state/data/meta.properties" ] && continue
    render_node_props
    format_node "$java" &
    fmt+=($!)
  done
  for i in "${fmt[@]}"; do wait "$i" || die "formatting failed"; done
  # All at once: a broker answers only once the quorum has a leader.
  for i in "${nodes[@]}"; do
    node "$i"
    launch_node "$java"
    pids+=("$started_pid")
  done
  for i in "${nodes[@]}"; do
    node "$i"
    await_node "${pids[$((i - 1))]}"
  done
  say "ready"
  echo "KAFKA=$(addrs broker)"
}

cluster_down() {
  [ -d "$root" ] || { say "stopped"; return 0; }
  lock_cluster
  read_cluster_ports || true
  local i pid
  for i in "${nodes[@]}"; do
    node "$i"
    for pid in $(instance_pids); do
      say "stopping node $i (pid $pid)"
      stop_pid "$pid" &
    done
  done
  wait
  rm -f "$root"/node-*/kafka.pid
  say "stopped"
}

cluster_status() {
  local i pid rc=0
  read_cluster_ports || { echo "kafka-cluster: stopped"; return 3; }
  for i in "${nodes[@]}"; do
    node "$i"
    if pid=$(running_pid); then
      echo "kafka-cluster: node $i running 127.0.0.1:$broker_port (pid $pid)"
    else
      echo "kafka-cluster: node $i stopped"; rc=3
    fi
  done
  return $rc
}

node_cmd() {
  local verb=${1:-} i=${2:-} pid java
  case "$i" in 1|2|3) ;; *) echo "usage: $0 node start|stop|kill|pid|port 1|2|3" >&2; exit 2 ;; esac
  read_cluster_ports || die "the cluster was never started (engines up kafka-cluster)"
  node "$i"
  case "$verb" in
    start)
      lock_cluster
      java=$(java_bin)
      launch_node "$java"
      await_node "$started_pid"
      say "node $i ready (pid $started_pid)"
      ;;
    stop)
      lock_cluster
      for pid in $(instance_pids); do stop_pid "$pid"; done
      rm -f "$pidfile"
      ;;
    kill)
      lock_cluster
      for pid in $(instance_pids); do
        say "SIGKILL node $i (pid $pid)"
        kill -KILL "$pid" 2>/dev/null || true
        while ! gone "$pid"; do sleep 0.1; done
      done
      rm -f "$pidfile"
      ;;
    pid) running_pid || exit 3 ;;
    port) echo "$broker_port" ;;
    *) echo "usage: $0 node start|stop|kill|pid|port 1|2|3" >&2; exit 2 ;;
  esac
}

case "${1:-}" in
  up) cluster_up ;;
  down) cluster_down ;;
  status) cluster_status ;;
  node) shift; node_cmd "$@" ;;
  *) echo "usage: $0 up|down|status|node start|stop|kill|pid|port N" >&2; exit 2 ;;
esac
