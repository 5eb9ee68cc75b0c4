#!/usr/bin/env bash
# The cluster benchmark of docs/benchmarks.md: three `podium serve` processes clustered over
# their in-process nats-servers, and `podium load` spreading its participants over the three
# (the first, the publisher, through node 1). As root it runs in a private network namespace,
# like bench.sh.
#
#   loadtest/cluster-bench.sh OUTDIR [podium load flags...]   default: 1 publisher, 300 subscribers
#
# Environment: DURATION (default 20s) is the measured window.
set -euo pipefail

out=${1:?usage: $0 OUTDIR [podium load flags...]}
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
go build -o "$bin" ./cmd/podium
secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT # no node outlives the script
urls=()
for i in 1 2 3; do
	http=$((7980 + 10 * i))
	routes=()
	[[ $i != 1 ]] && routes=(--nats-routes nats://127.0.0.1:6201)
	"$bin" serve --keys "bench:$secret" --node-id "n$i" --http-port "$http" --udp-port $((http + 2)) \
		--tcp-port -1 --max-participants 1000 --max-conns-per-ip 0 --log-level warn \
		--nats-listen "127.0.0.1:$((4200 + i))" --nats-cluster-listen "127.0.0.1:$((6200 + i))" \
		"${routes[@]}" 2>"$out/n$i.serve.log" &
	pids+=($!)
	urls+=("ws://127.0.0.1:$http")
	for _ in $(seq 50); do
		curl -sf "http://127.0.0.1:$http/healthz" >/dev/null 2>&1 && break
		sleep 0.1
	done
done
sleep 2 # the nodes find each other (heartbeats every second)
flags=("$@")
((${#flags[@]})) || flags=(--publishers 1 --subscribers 300)
echo "=== cluster: podium load --url ${urls[*]} ${flags[*]}"
IFS=,
"$bin" load --url "${urls[*]}" --key bench --secret "$secret" --duration "${DURATION:-20s}" \
	--join-timeout 60s --json "$out/cluster.json" "${flags[@]}" | tee "$out/cluster.txt"
