#!/usr/bin/env bash
# make bench, Weaviate part: fill time and query latency of the local exact
# store and of local Weaviate clusters (1 node; 3 nodes with 3 shards × 3
# replicas) on the same 57,637-face dataset as scripts/bench.sh, written as
# the "Weaviate" section of docs/BENCHMARKS.md (replaced between markers).
#
#   scripts/bench-weaviate.sh            57,637 faces
#   BENCH_QUICK=1 scripts/bench-weaviate.sh   5,000 faces
#
# Needs FACESEARCH_HOME/bin/weaviate-server (scripts/cluster.sh build; make
# bench builds it). The clusters run in a private network namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
log() { printf 'bench-weaviate: %s\n' "$*" >&2; }
quick=${BENCH_QUICK:-0}
[[ "$quick" == 0 || "$quick" == "" ]] && quick=0 || quick=1
cache=${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/facesearch-bench}
out=${BENCH_OUT:-docs/BENCHMARKS.md}
if ((quick)); then people=440 faces=5000 split=20; else people=5000 faces=57637 split=200; fi

scripts/cluster.sh build
W=$(mktemp -d "${TMPDIR:-/tmp}/facesearch-bench-weaviate.XXXXXX")
trap 'rm -rf "$W"' EXIT
go build -o bin/facesearch ./cmd/facesearch
go build -o "$W/vectorbench" ./bench/vectorbench
D=$cache/data-f$faces-p$people-s1-split$split
if [[ ! -f "$D/.complete" ]]; then
	log "generating the dataset into $D"
	rm -rf "$D" && mkdir -p "$cache"
	go run ./bench/gen -out "$D" -people "$people" -faces "$faces" -seed 1 -split "$split" >&2
	touch "$D/.complete"
fi
log "importing $D"
bin/facesearch import-npz --library "$W/lib" "$D" >/dev/null
load0=$(cut -d' ' -f1-3 /proc/loadavg)
log "measuring (a few minutes)"
"$W/vectorbench" -lib "$W/lib" -queries "$D/queries.npy" -nodes 1,3 >"$W/table.md"
load1=$(cut -d' ' -f1-3 /proc/loadavg)
cat "$W/table.md" >&2

section=$W/section.md
{
	echo "<!-- weaviate:begin (scripts/bench-weaviate.sh) -->"
	echo "## Weaviate cluster vs the local exact store"
	echo
	echo "Measured $(date -u +%Y-%m-%d) with \`scripts/bench-weaviate.sh\` (part of \`make bench\`): \`go run ./bench/gen -out \$D -people $people -faces $faces -seed 1 -split $split\`,"
	echo "\`facesearch import-npz\`, then \`bench/vectorbench -lib \$L -queries \$D/queries.npy -nodes 1,3\`. \"Fill\" is the"
	echo "library's \`Rebuild\` from the catalog: for the local store writing \`vectors.f32\`, for Weaviate the whole"
	echo "sync (read the catalog, list the collection, send batches of 500 over REST, 2 in flight, count). Queries"
	echo "are single \`Searcher.Search\` calls (k=10, all faces), Weaviate's including the health check before"
	echo "each. All nodes run on this machine ($(nproc) cores, load average $load0 before, $load1 after): a"
	echo "3-node cluster here shares the cores, so it shows the cost of replication, not a speed-up."
	echo
	cat "$W/table.md"
	echo
	echo "<!-- weaviate:end -->"
} >"$section"
if grep -q '<!-- weaviate:begin' "$out" 2>/dev/null; then
	awk -v f="$section" '/<!-- weaviate:begin/{while((getline l < f)>0) print l; skip=1; next} /<!-- weaviate:end/{skip=0; next} !skip' "$out" >"$W/new.md"
	cp "$W/new.md" "$out"
else
	{ echo; cat "$section"; } >>"$out"
fi
log "wrote the Weaviate section of $out"
