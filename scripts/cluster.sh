#!/usr/bin/env bash
# Local Weaviate cluster for facesearch's optional vector backend (docs/SCALE.md).
#
#   scripts/cluster.sh build            build weaviate-server into $FACESEARCH_HOME/bin (once; ~10 min)
#   scripts/cluster.sh run [N] [CMD…]   start N nodes (default 3) in a private network namespace
#                                       and run CMD there (default: an interactive shell);
#                                       the cluster stops when CMD ends
#   scripts/cluster.sh start [N]        start N nodes in the current network namespace
#   scripts/cluster.sh stop             stop the nodes started by 'start'
#
# Node i serves REST on 127.0.0.1:$((8080+i)) (WEAVIATE_PORT sets 8080). Data and logs go
# to $WEAVIATE_DIR (default $FACESEARCH_HOME/cluster). weaviate-server binds gRPC
# (50051+i), its cluster data port and pprof to ALL interfaces whatever --host says, and
# heap profiles hold embeddings: 'start' refuses to run where any interface but loopback
# exists unless FACESEARCH_CLUSTER_HOST_NETWORK=1 (for a machine whose firewall already
# keeps those ports private); 'run' puts the cluster (and CMD) in new network and PID
# namespaces with nothing but loopback, so every node dies with it.
# Needs unshare and flock (util-linux), ip (iproute2) and curl.
set -euo pipefail
VERSION=v1.35.2
HOME_DIR=${FACESEARCH_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/facesearch}
BIN=$HOME_DIR/bin/weaviate-server
DIR=${WEAVIATE_DIR:-$HOME_DIR/cluster}
PORT=${WEAVIATE_PORT:-8080}

build() {
	if [[ -x $BIN ]]; then return; fi
	echo "building weaviate-server $VERSION into $HOME_DIR/bin (about 10 minutes and 170 MB the first time)" >&2
	mkdir -p "$HOME_DIR/bin"
	GOBIN=$HOME_DIR/bin go install "github.com/weaviate/weaviate/cmd/weaviate-server@$VERSION"
}

node_env() { # node_env I N
	local i=$1 n=$2
	echo PERSISTENCE_DATA_PATH="$DIR/node$i" AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=true \
		DEFAULT_VECTORIZER_MODULE=none DISABLE_TELEMETRY=true CLUSTER_HOSTNAME="node$i" \
		CLUSTER_IN_LOCALHOST=true CLUSTER_BIND_ADDR=127.0.0.1 GRPC_PORT=$((50051 + i)) \
		RAFT_TIMEOUTS_MULTIPLIER=1 GO_PROFILING_PORT=$((6060 + i)) LOG_LEVEL=warning
	if ((n > 1)); then
		local join="" j
		for ((j = 0; j < n; j++)); do join+="${join:+,}node$j:$((8300 + 2 * j))"; done
		local seed=""
		((i > 0)) && seed=127.0.0.1:7100
		echo CLUSTER_GOSSIP_BIND_PORT=$((7100 + 3 * i)) CLUSTER_DATA_BIND_PORT=$((7101 + 3 * i)) \
			CLUSTER_JOIN=$seed RAFT_PORT=$((8300 + 2 * i)) RAFT_INTERNAL_RPC_PORT=$((8301 + 2 * i)) \
			RAFT_JOIN=$join RAFT_BOOTSTRAP_EXPECT=$n
	fi
}

wait_tcp() { # wait_tcp PORT SECONDS
	local t=0
	until (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; do
		sleep 0.2
		t=$((t + 1))
		((t < $2 * 5)) || { echo "port $1 not listening after $2 s" >&2; return 1; }
	done
}

only_loopback() { # true when the current network namespace has no interface but lo
	[[ $(awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }' /proc/net/dev) == lo ]]
}

start() {
	local n=${1:-3} i
	[[ -x $BIN ]] || { echo "$BIN missing: run 'scripts/cluster.sh build' (or 'make cluster')" >&2; exit 1; }
	if ! only_loopback && [[ ${FACESEARCH_CLUSTER_HOST_NETWORK:-} != 1 ]]; then
		echo "refusing to start: weaviate-server binds gRPC, its data port and pprof to every interface of this" >&2
		echo "network namespace ($(awk -F: 'NR > 2 { gsub(/ /, "", $1); printf "%s ", $1 }' /proc/net/dev)). Use 'scripts/cluster.sh run'" >&2
		echo "(a private namespace), or set FACESEARCH_CLUSTER_HOST_NETWORK=1 if a firewall keeps those ports private." >&2
		exit 1
	fi
	mkdir -p "$DIR"
	# The nodes inherit fd 9, so the lock is held until the last of them exits.
	exec 9>>"$DIR/.lock"
	flock -n 9 || { echo "a cluster already runs from $DIR (run 'scripts/cluster.sh stop' first)" >&2; exit 1; }
	stop # pid files left by a killed run (only processes that are still $BIN are signalled)
	for ((i = 0; i < n; i++)); do
		mkdir -p "$DIR/node$i"
		# shellcheck disable=SC2046
		env $(node_env "$i" "$n") "$BIN" --scheme http --host 127.0.0.1 --port $((PORT + i)) >>"$DIR/node$i.log" 2>&1 &
		echo $! >"$DIR/node$i.pid"
		((i == 0 && n > 1)) && wait_tcp 7100 60
	done
	for ((i = 0; i < n; i++)); do
		local t=0
		until curl --noproxy '*' -fsS "http://127.0.0.1:$((PORT + i))/v1/.well-known/ready" >/dev/null 2>&1; do
			sleep 0.2
			t=$((t + 1))
			((t < 600)) || { echo "node$i not ready after 120 s; log: $DIR/node$i.log" >&2; stop; exit 1; }
		done
	done
	echo "weaviate cluster of $n node(s) ready: REST on 127.0.0.1:$PORT..$((PORT + n - 1)), data in $DIR" >&2
}

ours() { # ours PID: true when PID is a running weaviate-server from $BIN (not a reused PID)
	[[ $1 =~ ^[0-9]+$ && /proc/$1/exe -ef $BIN ]]
}

stop() {
	local f pid
	for f in "$DIR"/node*.pid; do
		[[ -e $f ]] || continue
		pid=$(cat "$f")
		if ours "$pid"; then kill "$pid" 2>/dev/null || true; fi
	done
	for f in "$DIR"/node*.pid; do
		[[ -e $f ]] || continue
		local t=0
		pid=$(cat "$f")
		while ours "$pid" && ((t < 100)); do sleep 0.1; t=$((t + 1)); done
		if ours "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
		rm -f "$f"
	done
}

cmd=${1:-run}
shift || true
case $cmd in
build) build ;;
start) start "${1:-3}" ;;
stop) stop ;;
run)
	n=${1:-3}
	shift || true
	if [[ ${FACESEARCH_PRIVATE_NETNS:-} != 1 ]]; then
		build
		# --pid --kill-child: the nodes live in a PID namespace whose init is
		# this script, so they die with it even when it is SIGKILLed.
		flags=(-n --pid --fork --kill-child --mount-proc)
		((EUID == 0)) || flags=(-r "${flags[@]}")
		exec unshare "${flags[@]}" env FACESEARCH_PRIVATE_NETNS=1 "$0" run "$n" "$@"
	fi
	ip link set lo up 2>/dev/null || { echo "cannot bring loopback up (is iproute2 installed?)" >&2; exit 1; }
	trap stop EXIT
	start "$n"
	if (($# == 0)); then
		echo "shell in the cluster's network namespace; exit to stop the cluster" >&2
		"${SHELL:-bash}" -i
	else
		"$@"
	fi
	;;
*)
	sed -n '2,19p' "$0" >&2
	exit 2
	;;
esac
