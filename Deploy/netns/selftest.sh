#!/usr/bin/env bash
# Checks netns.sh on this machine: 3 hosts, ping between two, a UDP echo, cut a host off and restore
# it, kill a host's processes, tear down, and confirm nothing is left behind (no namespaces, no
# interfaces in the machine's own namespace). Prints one line per check and "N passed, N failed".
# Without root or network namespaces it prints why and exits 0 (skipped).
set -Euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
netns="$here/netns.sh"

if [[ $(id -u) -ne 0 ]]; then echo "netns selftest skipped: needs root"; exit 0; fi
if ! command -v ip >/dev/null || ! ip netns add "lmst$$" 2>/dev/null; then
    echo "netns selftest skipped: 'ip netns' does not work here"; exit 0
fi
ip netns del "lmst$$"
# The interpreter itself, not a version manager's shim (slow to start, may depend on $HOME).
python=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || true)

LICMESH_NETNS_PREFIX="st$(printf '%04x' $(( $$ & 0xffff )))"
export LICMESH_NETNS_PREFIX
root_links_before=$(ip -o link show | wc -l)
passed=0 failed=0

cleanup() { "$netns" down >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

check() {
    local name="$1"; shift
    if "$@" >/dev/null 2>&1; then echo "ok   $name"; passed=$((passed + 1)); else echo "FAIL $name"; failed=$((failed + 1)); fi
}
fails() { ! "$@"; }
processes_on() { ip netns pids "$LICMESH_NETNS_PREFIX-h$1" | wc -l; }

# A UDP echo server, started on every host: the reachability check when ping is not installed,
# and a stand-in for an agent's gossip port.
echo_server='
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("{ip}", 7946))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(data, peer)'
udp_echo() {
    "$netns" exec "$1" -- "$python" -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
for attempt in range(10):  # the server may still be starting
    s.sendto(b'hello', ('$("$netns" ip "$2")', 7946))
    try:
        sys.exit(0 if s.recvfrom(2048)[0] == b'hello' else 1)
    except socket.timeout:
        pass
sys.exit(1)"
}
if command -v ping >/dev/null; then
    reach() { "$netns" exec "$1" -- ping -c 1 -W 1 "$("$netns" ip "$2")"; }
    reach_from_outside() { ping -c 1 -W 1 "$("$netns" ip "$1")"; }
elif [[ -n "$python" ]]; then
    echo "(ping is not installed: reachability is checked with a UDP echo)"
    reach() { udp_echo "$1" "$2"; }
    reach_from_outside() { "$python" -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
s.sendto(b'x', ('$("$netns" ip "$1")', 7946))
s.recvfrom(16)"; }
else
    echo "netns selftest skipped: neither ping nor python3 is installed"; exit 0
fi

check "create 3 hosts" "$netns" up 3
if [[ -n "$python" ]]; then
    for host in 1 2 3; do "$netns" start "$host" -- "$python" -c "$echo_server"; done
    check "UDP echo from host 2 to host 1" udp_echo 2 1
fi
check "host 1 reaches host 2" reach 1 2
check "host 3 reaches host 1" reach 3 1
check "the machine's own namespace cannot reach the hosts" fails reach_from_outside 1
check "no interface was added to the machine's own namespace" test "$(ip -o link show | wc -l)" -eq "$root_links_before"

"$netns" start 2 -- sleep "600.$$"
"$netns" start 3 -- sleep "600.$$"
check "cut host 2 off" "$netns" cut 2
check "host 1 no longer reaches host 2" fails reach 1 2
check "host 3 still reaches host 1" reach 3 1
check "list shows host 2's link down" bash -c "'$netns' list | awk '\$1 == 2 {print \$4}' | grep -qx down"
check "restore host 2" "$netns" restore 2
check "host 1 reaches host 2 again" reach 1 2
check "kill host 3" "$netns" kill 3
check "host 3 has no processes left" test "$(processes_on 3)" -eq 0
check "host 2 keeps its processes" test "$(processes_on 2)" -ge 1
"$netns" list
check "tear down" "$netns" down
check "no namespace with the prefix remains" fails bash -c "ip netns list | grep -q '^$LICMESH_NETNS_PREFIX-'"
check "no process of the test remains" fails pgrep -f "sleep 600.$$"
check "state directory removed" test ! -e "${LICMESH_NETNS_STATE_ROOT:-/tmp}/licmesh-netns-$LICMESH_NETNS_PREFIX"

echo "netns selftest: $passed passed, $failed failed"
(( failed == 0 ))
