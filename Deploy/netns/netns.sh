#!/usr/bin/env bash
# Simulated hosts on one Linux machine, for multi-host tests of licmesh without VMs.
#
# Each host is a network namespace with one interface (eth0, 10.77.0.<i>/24 by default) and its own
# loopback. All hosts hang off one Linux bridge that lives in a namespace of its own (the "switch"),
# so nothing is added to the machine's own network namespace: no interface, no address, no route,
# and no traffic leaves the namespaces. Every resource is named with a prefix (default: random),
# so parallel runs never clash.
#
#   netns.sh up N                 create hosts 1..N and the switch; prints the prefix
#   netns.sh run N -- CMD ...     up N, start CMD on every host (output tagged [h<i>]), wait; tears
#                                 everything down when CMD exits everywhere or on Ctrl-C / SIGTERM
#   netns.sh start I -- CMD ...   start CMD in the background on host I (log: STATE/h<I>.log)
#   netns.sh exec I -- CMD ...    run CMD on host I in the foreground
#   netns.sh kill I               SIGKILL every process on host I (a crash)
#   netns.sh cut I                unplug host I: its switch port goes down
#   netns.sh restore I            plug it back in
#   netns.sh list                 hosts, addresses, link state and process count
#   netns.sh ip I                 host I's address
#   netns.sh down                 kill everything on every host and delete all namespaces
#
# In CMD, {index}, {ip} and {name} are replaced by the host's number, address and namespace name;
# the same values are in the environment as HOST_INDEX, HOST_IP, HOST_NAME. Example:
#   netns.sh run 5 -- licmesh agent --config /tmp/agents/agent-{index}.json
#
# Commands after `up` need the prefix: pass --prefix P or set LICMESH_NETNS_PREFIX=P.
# Options (before the command): --prefix P (1-8 of [a-z0-9]), --subnet 10.77.0 (a /24, first three
# octets). State (prefix, host count, logs) lives in ${LICMESH_NETNS_STATE_ROOT:-/tmp}/licmesh-netns-P.
#
# Every command that creates something removes what it created if it fails or is interrupted
# (trap on EXIT, INT and TERM); `run` removes everything when it ends, however it ends.
set -Eeuo pipefail

die() { echo "netns.sh: $*" >&2; exit 1; }

prefix="${LICMESH_NETNS_PREFIX:-}"
subnet="${LICMESH_NETNS_SUBNET:-10.77.0}"
state_root="${LICMESH_NETNS_STATE_ROOT:-/tmp}"

while [[ $# -gt 0 ]]; do
    case "$1" in
        --prefix) prefix="${2:-}"; shift 2 ;;
        --subnet) subnet="${2:-}"; shift 2 ;;
        -h|--help) sed -n '2,/^set -E/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        --) shift; break ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) break ;;
    esac
done
[[ $# -ge 1 ]] || die "no command given (see --help)"
command="$1"; shift

[[ "$subnet" =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || die "--subnet '$subnet' must be the first three octets of a /24, e.g. 10.77.0"

# --- preconditions -------------------------------------------------------------------------------

require_root() {
    [[ $(id -u) -eq 0 ]] || die "must run as root (ip netns needs CAP_SYS_ADMIN and CAP_NET_ADMIN); try: sudo $0 $command ..."
    command -v ip >/dev/null || die "the 'ip' command (iproute2) is missing; install it (apt-get install iproute2)"
    ip netns list >/dev/null 2>&1 || die "'ip netns' does not work here (iproute2 too old, or no network namespace support)"
    # Creating one is the only real test: containers often forbid it even to root.
    local probe="lmprobe$$"
    if ! ip netns add "$probe" 2>/dev/null; then
        die "cannot create network namespaces here (kernel without CONFIG_NET_NS, or a container without CAP_SYS_ADMIN)"
    fi
    ip netns del "$probe" 2>/dev/null || true
}

require_prefix() {
    [[ -n "$prefix" ]] || die "which hosts? pass --prefix P or set LICMESH_NETNS_PREFIX (printed by 'up')"
    check_prefix
    [[ -f "$(state_dir)/count" ]] || die "no hosts with prefix '$prefix' (no $(state_dir)/count); create them with 'up'"
}

check_prefix() {
    # Interface names are at most 15 bytes: prefix (8) + "s" + index (3) leaves room.
    [[ "$prefix" =~ ^[a-z0-9]{1,8}$ ]] || die "prefix '$prefix' must be 1 to 8 characters of a-z and 0-9"
}

state_dir() { echo "$state_root/licmesh-netns-$prefix"; }
host_count() { cat "$(state_dir)/count"; }
host_ns() { echo "$prefix-h$1"; }
switch_ns() { echo "$prefix-sw"; }
switch_port() { echo "${prefix}s$1"; }
host_ip() { echo "$subnet.$1"; }

check_index() {
    local index="$1"
    [[ "$index" =~ ^[0-9]+$ ]] || die "host '$index' is not a number"
    (( index >= 1 && index <= $(host_count) )) || die "no host $index: hosts are 1..$(host_count)"
}

# --- building and tearing down -------------------------------------------------------------------

teardown() {
    local ns
    # Hosts first (their processes), then the switch. Deleting a namespace deletes its interfaces,
    # and with them the veth peers on the other side.
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${prefix}-(h[0-9]+|sw)$" || true); do
        kill_namespace_processes "$ns"
        ip netns del "$ns" 2>/dev/null || true
    done
    rm -rf "$(state_dir)"
}

kill_namespace_processes() {
    local ns="$1" pids
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    if [[ -n "$pids" ]]; then
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
        # Wait (bounded) until the kernel has reaped them, so the namespace can go.
        for _ in $(seq 50); do
            [[ -z "$(ip netns pids "$ns" 2>/dev/null || true)" ]] && break
            sleep 0.1
        done
    fi
}

build() {
    local count="$1" index ns port
    if ! [[ "$count" =~ ^[0-9]+$ ]] || (( count < 1 || count > 250 )); then die "host count '$count' must be 1 to 250"; fi
    if [[ -z "$prefix" ]]; then
        prefix="lm$(printf '%04x' $(( $$ & 0xffff )))$(printf '%02x' $(( RANDOM & 0xff )))"
    fi
    check_prefix
    if [[ -e "$(state_dir)" ]] || ip netns list 2>/dev/null | awk '{print $1}' | grep -qE "^${prefix}-"; then
        die "prefix '$prefix' is already in use; pick another or run: $0 --prefix $prefix down"
    fi
    # Only now is everything with this prefix ours to remove if we fail.
    cleanup_on_failure=1
    mkdir -p "$(state_dir)"
    echo "$count" > "$(state_dir)/count"
    echo "$subnet" > "$(state_dir)/subnet"

    ns=$(switch_ns)
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$ns" link add br0 type bridge || die "cannot create a Linux bridge (is the 'bridge' kernel module available?)"
    ip -n "$ns" link set br0 up
    for index in $(seq 1 "$count"); do
        ns=$(host_ns "$index")
        port=$(switch_port "$index")
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        # Create the pair inside the host namespace, then move the switch end: no interface ever
        # appears in the machine's own namespace.
        ip -n "$ns" link add eth0 type veth peer name "$port"
        ip -n "$ns" link set "$port" netns "$(switch_ns)"
        ip -n "$ns" addr add "$(host_ip "$index")/24" dev eth0
        ip -n "$ns" link set eth0 up
        ip -n "$(switch_ns)" link set "$port" master br0
        ip -n "$(switch_ns)" link set "$port" up
    done
}

# Removes what a failed or interrupted command created. Set by commands that create things.
cleanup_on_failure=0
stream_output=0
on_exit() {
    local status=$?
    if (( cleanup_on_failure )) && [[ -n "$prefix" ]]; then
        trap - EXIT INT TERM
        disown -a 2>/dev/null || true # no "Killed" report for each host's command
        teardown
        (( status != 0 )) && echo "netns.sh: cleaned up hosts with prefix $prefix" >&2
    fi
    exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_on_host() {
    local index="$1"; shift
    [[ $# -ge 1 ]] || die "start: no command given"
    local ns ip_address log arguments=() argument
    ns=$(host_ns "$index")
    ip_address=$(host_ip "$index")
    log="$(state_dir)/h$index.log"
    for argument in "$@"; do
        argument="${argument//\{index\}/$index}"
        argument="${argument//\{ip\}/$ip_address}"
        argument="${argument//\{name\}/$ns}"
        arguments+=("$argument")
    done
    # setsid: its own session, so a Ctrl-C meant for this script does not reach it directly;
    # teardown kills everything in the namespace anyway. `run` shows every host's output on its
    # own output, each line tagged with the host; `start` appends it to the host's log file.
    if (( stream_output )); then
        HOST_INDEX="$index" HOST_IP="$ip_address" HOST_NAME="$ns" \
            setsid ip netns exec "$ns" "${arguments[@]}" > >(sed -u "s/^/[h$index] /") 2>&1 < /dev/null &
    else
        HOST_INDEX="$index" HOST_IP="$ip_address" HOST_NAME="$ns" \
            setsid ip netns exec "$ns" "${arguments[@]}" >>"$log" 2>&1 < /dev/null &
    fi
    echo $! >> "$(state_dir)/h$index.pids"
}

# --- commands ------------------------------------------------------------------------------------

case "$command" in
    up)
        [[ $# -eq 1 ]] || die "usage: up N"
        require_root
        build "$1"
        cleanup_on_failure=0
        echo "$prefix"
        ;;
    run)
        [[ $# -ge 3 && "$2" == "--" ]] || die "usage: run N -- CMD ..."
        require_root
        count="$1"; shift 2
        build "$count" # from here on, whatever happens, everything goes
        echo "netns.sh: prefix $prefix, hosts 1..$count on $subnet.0/24; Ctrl-C stops and removes everything" >&2
        stream_output=1
        for index in $(seq 1 "$count"); do start_on_host "$index" "$@"; done
        wait || true
        ;;
    start)
        [[ $# -ge 3 && "$2" == "--" ]] || die "usage: start I -- CMD ..."
        require_prefix; check_index "$1"
        index="$1"; shift 2
        start_on_host "$index" "$@"
        ;;
    exec)
        [[ $# -ge 3 && "$2" == "--" ]] || die "usage: exec I -- CMD ..."
        require_prefix; check_index "$1"
        index="$1"; shift 2
        HOST_INDEX="$index" HOST_IP="$(host_ip "$index")" HOST_NAME="$(host_ns "$index")" \
            exec ip netns exec "$(host_ns "$index")" "$@"
        ;;
    kill)
        [[ $# -eq 1 ]] || die "usage: kill I"
        require_prefix; check_index "$1"
        kill_namespace_processes "$(host_ns "$1")"
        rm -f "$(state_dir)/h$1.pids"
        ;;
    cut)
        [[ $# -eq 1 ]] || die "usage: cut I"
        require_prefix; check_index "$1"
        ip -n "$(switch_ns)" link set "$(switch_port "$1")" down
        ;;
    restore)
        [[ $# -eq 1 ]] || die "usage: restore I"
        require_prefix; check_index "$1"
        ip -n "$(switch_ns)" link set "$(switch_port "$1")" up
        ;;
    ip)
        [[ $# -eq 1 ]] || die "usage: ip I"
        require_prefix; check_index "$1"
        host_ip "$1"
        ;;
    list)
        require_prefix
        printf '%-5s %-14s %-15s %-5s %s\n' HOST NAMESPACE ADDRESS LINK PROCESSES
        for index in $(seq 1 "$(host_count)"); do
            link=$(ip -n "$(switch_ns)" -o link show "$(switch_port "$index")" 2>/dev/null || true)
            state=down
            [[ "$link" == *"state UP"* ]] && state=up
            processes=$(ip netns pids "$(host_ns "$index")" 2>/dev/null | wc -l)
            printf '%-5s %-14s %-15s %-5s %s\n' "$index" "$(host_ns "$index")" "$(host_ip "$index")" "$state" "$processes"
        done
        ;;
    down)
        [[ -n "$prefix" ]] || die "which hosts? pass --prefix P or set LICMESH_NETNS_PREFIX"
        check_prefix
        [[ $(id -u) -eq 0 ]] || die "must run as root"
        teardown
        ;;
    *)
        die "unknown command '$command' (see --help)"
        ;;
esac
