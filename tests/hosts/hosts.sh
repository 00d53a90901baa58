#!/usr/bin/env bash
# Simulated cluster hosts on this machine, for tests of what crosses a
# network: each host is a network namespace with its own address on a
# bridge, and its own host name (a UTS namespace per command). Nothing of it
# touches this machine's own network: the bridge lives in a namespace of its
# own too. Needs root (ip netns, unshare).
#
# usage: tests/hosts/hosts.sh up ID N       make hosts node1..nodeN (ID: a short tag, e.g. the
#                                           test's pid, so that two runs never share a host)
#        tests/hosts/hosts.sh down ID       remove them (every process on them is killed first)
#        tests/hosts/hosts.sh exec ID HOST CMD [ARG...]   run CMD on HOST
#        tests/hosts/hosts.sh address ID HOST              HOST's address
#        tests/hosts/hosts.sh loss ID HOST PCT             drop PCT% of HOST's outgoing packets (nftables)
#        tests/hosts/hosts.sh link ID HOST up|down         HOST's network link
#        tests/hosts/hosts.sh kill ID HOST                 SIGKILL every process on HOST
#        tests/hosts/hosts.sh delay ID HOST MS RELAY       hold every chunk of the TCP connections HOST
#                                           opens to the other hosts MS ms each way (RELAY: the
#                                           prlm_delay_relay binary); MS 0 removes it. Its log:
#                                           /tmp/prlm-hosts-ID-HOST-delay.log
#
# Hosts: node1..nodeN, addresses 10.211.0.11.. on 10.211.0.0/24; each sees
# the others by name (its /etc/hosts: /etc/netns/NS/hosts bound over it).
# Open MPI reaches a host the way ssh reaches a cluster node, through
# tests/hosts/rsh_agent (plm_rsh_agent), which runs its command on the host.
# This kernel has no netem module: latency comes from a relay (delay), which
# nftables hands the host's outgoing connections to (tests/hosts/delay_relay.cc).
set -euo pipefail

ns() { echo "prlm-$1-$2"; }  # the namespace of host $2 (or of "switch")
address() { echo "10.211.0.$((10 + ${2#node}))"; }

up() {
  local id=$1 n=$2 sw i host
  sw=$(ns "$id" switch)
  ip netns add "$sw"
  ip netns exec "$sw" ip link add br0 type bridge
  ip netns exec "$sw" ip link set br0 up
  mkdir -p "/etc/netns"
  for ((i = 1; i <= n; i++)); do
    host=node$i
    ip netns add "$(ns "$id" $host)"
    ip link add eth0 netns "$(ns "$id" $host)" type veth peer name port$i netns "$sw"
    ip netns exec "$sw" ip link set port$i master br0 up
    ip netns exec "$(ns "$id" $host)" ip addr add "$(address "$id" $host)/24" dev eth0
    ip netns exec "$(ns "$id" $host)" ip link set eth0 up
    ip netns exec "$(ns "$id" $host)" ip link set lo up
  done
  # Every host's /etc/hosts names them all (ip netns exec binds it over /etc/hosts).
  for ((i = 1; i <= n; i++)); do
    mkdir -p "/etc/netns/$(ns "$id" node$i)"
    {
      echo "127.0.0.1 localhost"
      for ((j = 1; j <= n; j++)); do echo "$(address "$id" node$j) node$j"; done
    } > "/etc/netns/$(ns "$id" node$i)/hosts"
  done
}

down() {
  local id=$1 name
  for name in $(ip netns list | awk '{print $1}' | grep "^prlm-$id-" || true); do
    ip netns pids "$name" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$name" 2>/dev/null || true
    rm -rf "/etc/netns/$name"
  done
  rm -f /tmp/prlm-hosts-"$id"-*-delay.{log,pid}
}

on_host() {  # ID HOST CMD...: CMD in HOST's network namespace, under HOST's name
  local id=$1 host=$2
  shift 2
  # nsenter, not `ip netns exec`: that remounts /sys, hiding the cgroup
  # mounts slurmd needs; the host's /etc/hosts is bound here instead.
  exec nsenter --net="/run/netns/$(ns "$id" "$host")" unshare --mount --uts sh -c \
    'mount --bind "$1" /etc/hosts && hostname "$0" && shift && exec "$@"' \
    "$host" "/etc/netns/$(ns "$id" "$host")/hosts" "$@"
}

[[ $# -ge 2 ]] || { sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
what=$1 id=$2
shift 2
case "$what" in
  up) up "$id" "$1" ;;
  down) down "$id" ;;
  exec) on_host "$id" "$@" ;;
  address) address "$id" "$1" ;;
  loss)
    ip netns exec "$(ns "$id" "$1")" nft -f - <<EOF
table inet prlm_loss
delete table inet prlm_loss
table inet prlm_loss {
  chain out { type filter hook output priority 0; policy accept; meta l4proto tcp numgen random mod 100 lt $2 counter drop; }
}
EOF
    ;;
  link) ip netns exec "$(ns "$id" "$1")" ip link set eth0 "$2" ;;
  kill) ip netns pids "$(ns "$id" "$1")" | xargs -r kill -9 ;;
  delay)
    host=$1 ms=$2 relay=${3:-} port=7999 mark=42
    log=/tmp/prlm-hosts-$id-$host-delay.log pidfile=/tmp/prlm-hosts-$id-$host-delay.pid
    ip netns exec "$(ns "$id" "$host")" nft delete table ip prlm_delay 2>/dev/null || true
    [[ -f $pidfile ]] && { kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; }
    ((ms > 0)) || exit 0
    [[ -x $relay ]] || { echo "hosts.sh delay: no relay binary '$relay'" >&2; exit 2; }
    nsenter --net="/run/netns/$(ns "$id" "$host")" setsid "$relay" $port "$ms" $mark > "$log" 2>&1 &
    echo $! > "$pidfile"
    for _ in $(seq 50); do grep -qs "on port" "$log" && break; sleep 0.1; done
    grep -qs "on port" "$log" || { cat "$log" >&2; exit 1; }
    # New connections to the other hosts go to the relay; its own (fwmark) do not.
    ip netns exec "$(ns "$id" "$host")" nft -f - <<EOF
table ip prlm_delay {
  chain out {
    type nat hook output priority -100; policy accept;
    meta mark != $mark ip daddr 10.211.0.0/24 ip daddr != $(address "$id" "$host") tcp dport != $port counter redirect to :$port;
  }
}
EOF
    ;;
  *) echo "hosts.sh: unknown command $what" >&2; exit 2 ;;
esac
