#!/usr/bin/env bash
# Runs the scenarios of docs/benchmarks.md the way they were measured: `podium serve` as its own
# process (with its profiler on), `podium load` against it, one scenario at a time. As root it
# re-runs itself in a private network namespace (unshare -n): everything stays on loopback and
# the kernel's UDP drop counters in the report count these two processes only.
#
#   loadtest/bench.sh OUTDIR [scenario...]        scenarios: meeting4 meeting25 fanout200 fanout3x50 capped
#   loadtest/bench.sh OUTDIR custom -- FLAGS...    any `podium load` flags
#
# capped: a viewer of six publishers behind an 800 kbps downlink, lifted to 2.5 Mbps 15 s into
# a 25 s window (whatever DURATION says), after 10 s of warm-up for the estimate to settle.
#
# Environment: DURATION (default 20s) is each measured window; SERVE_FLAGS are added to
# `podium serve` (e.g. SERVE_FLAGS=--bwe=false for an A/B run); SERVE_BIN runs a prebuilt
# podium binary instead of building this tree (an A/B run between two commits).
set -euo pipefail

out=${1:?usage: $0 OUTDIR [scenario...]}
shift
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ ${PODIUM_BENCH_NS:-} != 1 && $(id -u) == 0 ]] && command -v unshare >/dev/null; then
	exec unshare -n env PODIUM_BENCH_NS=1 "$0" "$out" "$@"
fi
if [[ ${PODIUM_BENCH_NS:-} == 1 ]]; then
	ip link set lo up
fi

mkdir -p "$out"
bin=$(mktemp -d)/lt-bench # a name without "podium": test suites here clean up processes by that name
if [[ -n ${SERVE_BIN:-} ]]; then
	cp "$SERVE_BIN" "$bin" # an A/B run: the server (and load generator) of another build
else
	go build -o "$bin" ./cmd/podium
fi
secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
duration=${DURATION:-20s}

# run NAME FLAGS...: one scenario against a fresh server.
run() {
	local name=$1
	shift
	"$bin" serve --keys "bench:$secret" --http-port 7990 --udp-port 7992 --tcp-port -1 \
		--max-participants 1000 --max-conns-per-ip 0 --pprof 127.0.0.1:7996 --log-level warn ${SERVE_FLAGS:-} 2>"$out/$name.serve.log" &
	local pid=$!
	for _ in $(seq 50); do
		curl -sf http://127.0.0.1:7990/healthz >/dev/null 2>&1 && break
		sleep 0.1
	done
	echo "=== $name: podium load $*"
	trap "kill $pid 2>/dev/null || true" EXIT # the server never outlives the script
	local status=0
	"$bin" load --url ws://127.0.0.1:7990 --key bench --secret "$secret" --server-pid "$pid" \
		--server-pprof http://127.0.0.1:7996 --server-profile "$out/$name.pprof" \
		--duration "$duration" --json "$out/$name.json" "$@" | tee "$out/$name.txt" || status=$?
	kill "$pid"
	wait "$pid" || true
	trap - EXIT
	if ((status != 0)); then
		echo "=== $name: podium load exited with status $status" >&2
	fi
	sleep 2 # let the sockets and the machine settle
}

if [[ ${1:-} == custom ]]; then
	shift
	[[ ${1:-} == -- ]] && shift
	run custom "$@"
	exit
fi
for s in "${@:-meeting4 meeting25 fanout200 fanout3x50}"; do
	for name in $s; do
		case $name in
		meeting4) run meeting4 --publishers 4 ;;
		meeting25) run meeting25 --publishers 25 --speakers 3s --view speaker ;;
		fanout200) run fanout200 --publishers 1 --subscribers 200 ;;
		fanout3x50) run fanout3x50 --publishers 3 --subscribers 50 ;;
		capped) run capped --publishers 6 --subscribers 1 --warmup 10s --duration 25s \
			--downlink-cap 800k --cap-lift-after 15s --cap-lift-to 2.5M ;;
		*) echo "unknown scenario $name" >&2; exit 2 ;;
		esac
	done
done
