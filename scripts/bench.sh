#!/usr/bin/env bash
# make bench: measure facesearch against the original FACE01 method and write
# docs/BENCHMARKS.md (overwritten). One command, one run; see bench/README.md.
#
#   scripts/bench.sh                 full run: 57,637-face dataset (about 15-25 min on 2 idle cores)
#   BENCH_QUICK=1 scripts/bench.sh   5,000 faces, fewer runs, short load test (a few minutes)
#
# Environment (all optional):
#   BENCH_CACHE   where generated datasets are kept between runs
#                 (default ${XDG_CACHE_HOME:-~/.cache}/facesearch-bench)
#   BENCH_OUT     the markdown written (default docs/BENCHMARKS.md)
#   BENCH_KEEP=1  keep the work directory (libraries, outputs) for inspection
#
# Nothing special is exported for facesearch: the binary picks its OpenBLAS
# kernels itself (internal/blasenv). The Python side gets OPENBLAS_CORETYPE
# only when facesearch itself sets it on this CPU (OpenBLAS 0.3.21 falls back
# to Prescott kernels on CPUs it does not know), so both sides use the same
# BLAS kernels; the value is printed in the report.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

quick=${BENCH_QUICK:-0}
[[ "$quick" == 0 || "$quick" == "" ]] && quick=0 || quick=1
cache=${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/facesearch-bench}
out=${BENCH_OUT:-docs/BENCHMARKS.md}
t_start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# Sizes. The full dataset is the one bench/README.md measures (seed 1, 200 split people).
if ((quick)); then
  people=440 faces=5000 split=20
  orig_runs=2 fs_runs=3 fs_warmup=1 passes=1 lfw_n=100 load_s=5 stage_time=300ms
else
  people=5000 faces=57637 split=200
  orig_runs=3 fs_runs=10 fs_warmup=2 passes=5 lfw_n=500 load_s=30 stage_time=3s
fi
threshold=0.7 # the original cleansing script's level (bench/README.md)

for c in go jq hyperfine /usr/bin/time; do
  command -v "$c" >/dev/null || die "$c is missing: run scripts/setup.sh --bench (make bench does)"
done
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
$PY -c 'import faiss, numpy' 2>/dev/null || die "$PY lacks faiss/numpy: run scripts/setup.sh --bench"

W=$(mktemp -d "${TMPDIR:-/tmp}/facesearch-bench.XXXXXX")
if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
  log "work directory kept: $W"
else
  trap 'rm -rf "$W"' EXIT
fi

# --- build -------------------------------------------------------------------
log "building bin/facesearch and bench/faissbench"
mkdir -p bin
go build -o bin/facesearch ./cmd/facesearch
go build -o "$W/faissbench" ./bench/faissbench
FS=$here/bin/facesearch
FB=$W/faissbench

# BLAS: what OpenBLAS picks by itself, what facesearch sets, what runs.
declare -A blas
while IFS='=' read -r k v; do blas[$k]=$v; done < <("$FB" env)
if [[ -n "${blas[coretype_set]}" ]]; then
  PY="env OPENBLAS_CORETYPE=${blas[coretype_set]} $PY"
fi
export D L W PY FS FB Q1 # the commands below are shell strings using these

# --- dataset -----------------------------------------------------------------
D=$cache/data-f$faces-p$people-s1-split$split
if [[ ! -f "$D/.complete" ]]; then
  log "generating the dataset into $D"
  rm -rf "$D" && mkdir -p "$cache"
  go run ./bench/gen -out "$D" -people "$people" -faces "$faces" -seed 1 -split "$split" >&2
  touch "$D/.complete"
fi
gen_cmd="go run ./bench/gen -out \$D -people $people -faces $faces -seed 1 -split $split"
folders=$(find "$D" -mindepth 1 -maxdepth 1 -type d | wc -l)
nq=$($PY -c 'import numpy, sys; print(numpy.load(sys.argv[1]).shape[0])' "$D/queries.npy")
Q1=$W/q1.npy
$PY -c 'import numpy, sys; numpy.save(sys.argv[2], numpy.load(sys.argv[1])[:1])' "$D/queries.npy" "$Q1"
L=$W/lib

# --- helpers -----------------------------------------------------------------
declare -A CMD WALL RSS MED LO HI
# run NAME CMD: run the shell string CMD once under /usr/bin/time; its stdout
# goes to $W/NAME.out, stderr to $W/NAME.err. Sets WALL[NAME] (s), RSS[NAME] (MB).
run() {
  local name=$1 cmd=$2
  log "$name: $cmd"
  if ! /usr/bin/time -f '%e %M' -o "$W/$name.time" bash -c "$cmd" >"$W/$name.out" 2>"$W/$name.err"; then
    tail -20 "$W/$name.err" >&2
    die "$name failed: $cmd"
  fi
  CMD[$name]=$cmd
  local wall rss
  read -r wall rss < <(tail -1 "$W/$name.time")
  WALL[$name]=$wall
  RSS[$name]=$(awk -v k="$rss" 'BEGIN{printf "%.0f", k/1024}')
}
# hf NAME RUNS WARMUP CMD: time CMD with hyperfine; sets MED/LO/HI[NAME] (s).
hf() {
  local name=$1 runs=$2 warm=$3 cmd=$4
  log "$name: hyperfine --runs $runs --warmup $warm '$cmd'"
  if ! hyperfine --style none --runs "$runs" --warmup "$warm" --export-json "$W/$name.json" "$cmd" >"$W/$name.out" 2>"$W/$name.err"; then
    cat "$W/$name.err" >&2
    die "$name failed: $cmd"
  fi
  CMD[$name]="hyperfine --runs $runs --warmup $warm '$cmd'"
  MED[$name]=$(jq '.results[0].median' "$W/$name.json")
  LO[$name]=$(jq '.results[0].min' "$W/$name.json")
  HI[$name]=$(jq '.results[0].max' "$W/$name.json")
}
# f DIGITS X: format a number.
f() { awk -v d="$1" -v x="$2" 'BEGIN{printf "%.*f", d, x}'; }
# calc EXPR: floating-point arithmetic.
calc() { awk "BEGIN{print $1}"; }
# ms SECONDS: "12.3 ms" / "1.23 s".
ms() { awk -v x="$1" 'BEGIN{ if (x < 1) printf "%.1f ms", x*1000; else printf "%.2f s", x }'; }
# jf NAME FIELD: a field of the JSON line step NAME printed.
jf() { jq -r ".$2" "$W/$1.out"; }
c() { printf '`%s`' "${CMD[$1]}"; }
load() { cut -d' ' -f1 /proc/loadavg; }

# --- 1. search: the original method vs facesearch ---------------------------
log "part 1: search"
load1=$(load)
hf orig_cold "$orig_runs" 0 '$PY bench/original_search.py "$D" --query "$D/queries.npy" --row 0 --out /dev/null'
hf orig_fixed_cold "$orig_runs" 0 '$PY bench/original_search.py "$D" --query "$D/queries.npy" --row 0 --fixed --out /dev/null'
run orig_all '$PY bench/original_search.py "$D" --query "$D/queries.npy" --out "$W/orig_search.json"'
run exact_search '$PY bench/exact_reference.py search "$D" --query "$D/queries.npy" --out "$W/exact_search.json"'
run orig_recall '$PY bench/exact_reference.py recall --exact "$W/exact_search.json" --got "$W/orig_search.json"'
# Parts 1-3 measure the raw cosine: the library's similarity is set to raw
# before the import, which would otherwise fit an adaptation (part 8).
"$FS" adapt --library "$L" --similarity raw >/dev/null 2>&1
run import '"$FS" import-npz --library "$L" "$D"'
hf fs_cold "$fs_runs" "$fs_warmup" '"$FS" search --library "$L" --vector "$Q1" --json'
hf fs_batch "$orig_runs" 1 '"$FS" search --library "$L" --vector "$D/queries.npy" --json'
run fs_search '"$FS" search --library "$L" --vector "$Q1" --json'
run fs_all '"$FS" search --library "$L" --vector "$D/queries.npy" --json >"$W/fs_search_raw.json" && $PY bench/convert.py search "$W/fs_search_raw.json" "$W/fs_search.json"'
run fs_recall '$PY bench/exact_reference.py recall --exact "$W/exact_search.json" --got "$W/fs_search.json"'
# Open-set calibration of the verdicts (docs/VERDICTS.md): import-npz above
# ran it once already (its time is in the import); here it is timed alone.
run fs_verdicts '"$FS" calibrate --library "$L" --verdicts-only --dry-run'
verdict_nm=$(jq '.non_mated_searches' "$L/verdict.json")
verdict_sample=$(jq '.sample_seconds' "$L/verdict.json")
run fs_warm '"$FB" flat -vectors "$L/vectors.f32" -queries "$D/queries.npy" -passes '"$passes"
declare -A warm
while IFS='=' read -r k v; do warm[$k]=$v; done <"$W/fs_warm.out"
orig_load=$(jq '.seconds.load_normalise' "$W/orig_search.json")
orig_train=$(jq '.seconds.train + .seconds.add' "$W/orig_search.json")
orig_q=$(jq '.seconds.search / .queries' "$W/orig_search.json")
batch_per_q=$(calc "(${MED[fs_batch]} - ${MED[fs_cold]}) / ($nq - 1)")
ratio=$(calc "${MED[orig_cold]} / ${MED[fs_cold]}")
ratio_fixed=$(calc "${MED[orig_fixed_cold]} / ${MED[fs_cold]}")
r_orig=$(f 3 "$(jf orig_recall recall_at_k)")
r_fs=$(f 3 "$(jf fs_recall recall_at_k)")
lib_index=$(jq -r '.resolved' "$L/index.json" 2>/dev/null || echo '?')
index_bytes=$(stat -c %s "$L/vectors.f32")

# --- 2. cleansing --------------------------------------------------------------
log "part 2: cleansing"
load2=$(load)
run exact_pairs '$PY bench/exact_reference.py pairs "$D" --threshold '"$threshold"' --out "$W/pairs_exact.csv"'
run orig_pairs '$PY bench/original_pairs.py "$D" --threshold '"$threshold"' --out "$W/pairs_orig.csv"'
run orig_pairs_recall '$PY bench/exact_reference.py recall --exact "$W/pairs_exact.csv" --got "$W/pairs_orig.csv" --planted "$D/planted.csv"'
run fs_pairs '"$FS" pairs --library "$L" --faces --min '"$threshold"' >"$W/pairs_fs_raw.csv"'
run fs_pairs_conv '$PY bench/convert.py pairs "$W/pairs_fs_raw.csv" "$W/pairs_fs.csv"'
run fs_pairs_recall '$PY bench/exact_reference.py recall --exact "$W/pairs_exact.csv" --got "$W/pairs_fs.csv" --planted "$D/planted.csv"'
pairs_row() { # NAME RECALLNAME LABEL
  printf '| %s | %s | %s | %s | %s / %s | %s |\n' "$3" "$(f 1 "${WALL[$1]}") s" "$(jf "$2" found_pairs)" \
    "$(f 3 "$(jf "$2" recall)")" "$(jf "$2" planted_found)" "$(jf "$2" planted)" "$(c "$1")"
}

# --- 3. search modes -------------------------------------------------------------
log "part 3: search modes"
load3=$(load)
run modes '"$FB" modes -data "$D" -passes '"$passes"
# Real embeddings: the LFW library `make eval` caches, if there is one (optional).
home=${FACESEARCH_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/facesearch}
LFWLIB=$home/eval/lfw-faceplugin-v1
export LFWLIB
lfwmodes=0
if [[ -f "$LFWLIB/catalog.db" ]]; then
  lfwmodes=1
  run modes_lfw '"$FB" modes -library "$LFWLIB" -holdout 200 -passes '"$passes"
fi

# --- 4. ingest -------------------------------------------------------------------
log "part 4: ingest"
load4=$(load)
faces_dir=$(cd "$here/.." && pwd)/shared/faces
ingest=0
if [[ -d "$faces_dir/lfw" ]]; then
  ingest=1
  # An LFW subset: every step-th image of the sorted list, as symlinks.
  find "$faces_dir/lfw" -mindepth 2 -maxdepth 2 -name '*.jpg' | LC_ALL=C sort >"$W/lfw_all.txt"
  total=$(wc -l <"$W/lfw_all.txt")
  step=$((total / lfw_n))
  awk -v s="$step" -v n="$lfw_n" '(NR-1) % s == 0 && c < n {print; c++}' "$W/lfw_all.txt" | while read -r p; do
    person=$(basename "$(dirname "$p")")
    mkdir -p "$W/lfw/$person"
    ln -s "$p" "$W/lfw/$person/"
  done
  lfw_people=$(find "$W/lfw" -mindepth 1 -maxdepth 1 -type d | wc -l)
  for w in 1 2; do
    run "index_w$w" '"$FS" index --library "$W/lib_lfw'"$w"'" --workers '"$w"' "$W/lfw"'
  done
  run stages "go test -run XXX -bench BenchmarkStages -benchtime $stage_time ./internal/embed"
  run decode "go test -run XXX -bench 'BenchmarkDecode/Aaron_Eckhart_0001.jpg/imgio' -benchtime $stage_time ./internal/imgio"
fi
stage_ms() { # FILE NAME -> ms per op
  # exact sub-benchmark name: "embed" must not also match "embed-flip"
  awk -v n="$2" '$1 ~ ("/" n "(-[0-9]+)?$") && $4 == "ns/op" {printf "%.1f", $3/1e6; exit}' "$W/$1.out"
}

# --- 6. server load ----------------------------------------------------------------
log "part 6: server load"
load6=$(load)
run serve_load "FACESEARCH_LOAD_SECONDS=$load_s go test -run XXX -bench BenchmarkServerLoad -benchtime 1x ./e2e"
# --- 7. integrity checks (docs/RELIABILITY.md) -------------------------------------
log "part 7: integrity checks"
run open_flat "go test -run XXX -bench BenchmarkOpenFlatVerified -benchtime 20x ./internal/library"
open_ms() { awk -v n="$1" '$1 ~ ("/" n "(-[0-9]+)?$") && $4 == "ns/op" {printf "%.1f", $3/1e6; exit}' "$W/open_flat.out"; }
metric() { awk -v u="$1" '/^BenchmarkServerLoad/ {for (i = 3; i < NF; i++) if ($(i+1) == u) print $i}' "$W/serve_load.out"; }

if ((ingest)); then
  i1=$(calc "$lfw_n / ${WALL[index_w1]}")
  i2=$(calc "$lfw_n / ${WALL[index_w2]}")
  ingest_line="- Ingest (\`index\`, $lfw_n LFW photos, model loading included): $(f 1 "$i1") images/s with 1 worker, $(f 1 "$i2") with 2."
else
  ingest_line="- Ingest: skipped (no \`../shared/faces/lfw\`)."
fi
# --- 7. similarity adaptation (docs/ADAPTATION.md) ---------------------------------
log "part 8: similarity adaptation"
load8=$(load)
LA=$W/lib-adapted
export LA
cp -r "$L" "$LA"
run adapt_fit '"$FS" adapt --library "$LA" --similarity auto --refit --min-gain -1 --json'
run adapt_rewrite 'rm "$LA/vectors.adapted.f32" && "$FS" adapt --library "$LA" --json'
hf adapt_raw "$fs_runs" "$fs_warmup" '"$FS" search --library "$L" --vector "$Q1" --json'
hf adapt_search "$fs_runs" "$fs_warmup" '"$FS" search --library "$LA" --vector "$Q1" --json'
adapt_sim=$(jq -r '.similarity' "$W/adapt_fit.out")
adapt_keep=$(jq -r '.selection.reason' "$W/adapt_fit.out")
adapt_nm=$(jq -r '.calibration_non_mated' "$W/adapt_fit.out")

load_end=$(cut -d' ' -f1-3 /proc/loadavg)
t_total=$(($(date +%s) - t_start))

# --- the report --------------------------------------------------------------------
log "writing $out"
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
flags=$(grep -m1 '^flags' /proc/cpuinfo)
simd=$(for x in avx512f avx2 fma; do [[ " $flags " == *" $x "* ]] && printf '%s ' "$x"; done)
ram=$(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
os_name=$(. /etc/os-release && echo "$PRETTY_NAME")
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo '?'; }
ort=$(awk '/^onnxruntime-node@/ {split($1, a, "@"); print a[2]}' deps/npm.lock)
numpy_v=$($PY -c 'import numpy; print(numpy.__version__)')
pyfaiss_v=$($PY -c 'import faiss; print(faiss.__version__)')
commit=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
dirty=$(git status --porcelain 2>/dev/null | grep -q . && echo ' (working tree with uncommitted changes)' || true)

{
  cat <<EOF
# Benchmarks

Written by \`make bench\` (\`scripts/bench.sh\`) on $(date -u '+%Y-%m-%d %H:%M UTC'), commit \`$commit\`$dirty,
in $((t_total / 60)) min $((t_total % 60)) s.$( ((quick)) && printf ' **Quick run (`BENCH_QUICK=1`): %s faces, fewer repetitions — not the reference figures.**' "$faces")

## Machine

| | |
|---|---|
| CPU | $cpu ($(nproc) cores visible; ${simd:-no AVX2}) |
| RAM | $ram |
| OS | $os_name, kernel $(uname -r) |
| Go | $(go env GOVERSION) |
| faiss | libfaiss-dev $(pkgver libfaiss-dev) (${blas[faiss_compile]}); python3-faiss $pyfaiss_v |
| OpenBLAS | libopenblas0-pthread $(pkgver libopenblas0-pthread) |
| BLAS kernels | OpenBLAS's own choice: **${blas[native_core]}**; facesearch sets \`OPENBLAS_CORETYPE=${blas[coretype_set]:-}\`$([[ -z ${blas[coretype_set]} ]] && printf ' (nothing: not needed)'); in use: **${blas[core]}** (the Python runs get the same value) |
| onnxruntime | $ort (onnxruntime-node) |
| Python | $($PY -c 'import sys; print(sys.version.split()[0])'), numpy $numpy_v |
| hyperfine | $(hyperfine --version | awk '{print $2}') |
| load average (1, 5, 15 min) | at start $load_start; at the end $load_end |

The machine may be shared: the 1-minute load average when each part started
is given with it (it counts this benchmark's own processes too, up to about 2
right after a busy part). Wall times on a loaded machine are inflated.

In the commands: \`\$D\` is the generated dataset (\`$gen_cmd\`, $faces faces in $folders folders, $nq query
embeddings in \`\$D/queries.npy\`), \`\$L\` the library imported from it, \`\$Q1\` the first query
alone (a 1×512 \`.npy\`), \`\$W\` a work directory, \`\$FS\` = \`bin/facesearch\`, \`\$FB\` = \`bench/faissbench\` built,
\`\$PY\` = \`$PY\`.

## Summary

| | original method | facesearch | ratio |
|---|---|---|---|
| one query, process start to results (median) | $(ms "${MED[orig_cold]}") | $(ms "${MED[fs_cold]}") | **$(f 0 "$ratio")×** faster (target ≥ 100×$(awk -v r="$ratio" 'BEGIN{if (r < 100) printf ": not met"}')) |
| recall@10 vs exact search | $r_orig | **$r_fs** | |
| cleansing at cosine ≥ $threshold, wall time | $(f 1 "${WALL[orig_pairs]}") s | $(f 1 "${WALL[fs_pairs]}") s | $(f 1 "$(calc "${WALL[orig_pairs]} / ${WALL[fs_pairs]}")")× |
| cleansing: recall of all exact pairs | $(f 3 "$(jf orig_pairs_recall recall)") | **$(f 3 "$(jf fs_pairs_recall recall)")** | |
| cleansing: planted split people found | $(jf orig_pairs_recall planted_found) / $(jf orig_pairs_recall planted) | $(jf fs_pairs_recall planted_found) / $(jf fs_pairs_recall planted) | (exact search: $(jf fs_pairs_recall planted_found_exact)) |

- Warm query on the library's exact index (in process): p50 $(f 2 "${warm[p50_ms]}") ms, p99 $(f 2 "${warm[p99_ms]}") ms over $faces faces.
$ingest_line
- Server, 8 concurrent clients uploading photos: $(f 1 "$(metric req/s)") requests/s, p50 $(f 0 "$(metric p50-ms)") ms, p99 $(f 0 "$(metric p99-ms)") ms.
- Peak RSS on the $faces-face library: search ${RSS[fs_search]} MB, pairs ${RSS[fs_pairs]} MB, import ${RSS[import]} MB.

## 1. Search: the original method against facesearch

Load average at the start: $load1. The original (\`bench/original_search.py\`, a
line-by-line re-implementation of \`find_similarity.py\`) loads every
\`npKnown.npz\`, normalises per folder, trains and fills an \`IVF100,Flat\` index
and searches with nprobe 1 — on every query. facesearch reads its library
(\`$lib_index\` index, imported once with \`import-npz\`). "Cold" is a new
process per query (start to results, the file cache warm); hyperfine reports
the median of the runs.

| what | time | runs | command |
|---|---|---|---|
| original, one query (cold) | **$(ms "${MED[orig_cold]}")** (min $(ms "${LO[orig_cold]}"), max $(ms "${HI[orig_cold]}")) | $orig_runs | $(c orig_cold) |
| original with the per-folder normalisation fixed (\`--fixed\`), one query | $(ms "${MED[orig_fixed_cold]}") (min $(ms "${LO[orig_fixed_cold]}"), max $(ms "${HI[orig_fixed_cold]}")) | $orig_runs | $(c orig_fixed_cold) |
| original, $nq queries in one run: load + normalise / train + add / search per query | $(f 1 "$orig_load") s / $(f 1 "$orig_train") s / $(f 2 "$(calc "$orig_q * 1000")") ms (total $(f 1 "${WALL[orig_all]}") s) | 1 | $(c orig_all) |
| facesearch \`import-npz\` (once; includes the open-set calibration below) | $(f 1 "${WALL[import]}") s | 1 | $(c import) |
| facesearch open-set calibration of the verdicts ($verdict_nm non-mated searches by faiss BLAS k-NN, catalog read included; sampling alone $(f 1 "$verdict_sample") s during the import), peak RSS ${RSS[fs_verdicts]} MB | $(f 1 "${WALL[fs_verdicts]}") s | 1 | $(c fs_verdicts) |
| **facesearch, one query (cold)** | **$(ms "${MED[fs_cold]}")** (min $(ms "${LO[fs_cold]}"), max $(ms "${HI[fs_cold]}")) | $fs_runs | $(c fs_cold) |
| facesearch, $nq queries in one process | $(ms "${MED[fs_batch]}"): $(f 2 "$(calc "$batch_per_q * 1000")") ms per extra query | $orig_runs | $(c fs_batch) |
| facesearch warm query: faiss.KNN (BLAS) on the library's memory-mapped \`vectors.f32\` (mapped in $(f 3 "${warm[read_s]}") s) | p50 $(f 2 "${warm[p50_ms]}") ms, p99 $(f 2 "${warm[p99_ms]}") ms | ${warm[queries]} queries | $(c fs_warm) |
| exact reference (numpy, loading included) | $(f 1 "${WALL[exact_search]}") s | 1 | $(c exact_search) |

Cold query: facesearch is **$(f 0 "$ratio")×** faster than the original
($(f 0 "$ratio_fixed")× faster than the original with its normalisation fixed);
by the fastest runs, $(f 0 "$(calc "${LO[orig_cold]} / ${LO[fs_cold]}")")×. facesearch's exact index is the
$(f 0 "$(calc "$index_bytes / 1e6")") MB \`vectors.f32\`, memory-mapped (mapping it with MAP_POPULATE takes $(f 3 "${warm[read_s]}") s
from the page cache) rather than read into memory, so a cold query costs little more than process start and one BLAS search.

| recall@10 against exact search ($nq queries) | recall@10 | queries with all 10 | command |
|---|---|---|---|
| original (IVF100, nprobe 1) | $r_orig | $(jf orig_recall queries_with_full_recall) / $nq | $(c orig_recall) |
| facesearch (\`$lib_index\`) | **$r_fs** | $(jf fs_recall queries_with_full_recall) / $nq | $(c fs_all) then $(c fs_recall) |

## 2. Cleansing: pairs of faces from different folders

Load average at the start: $load2. Every pair of faces from different
folders with cosine ≥ $threshold (the original script's level), each pair
once. The dataset has $split planted split people (\`<name>\` and \`<name>_dup\`,
\`\$D/planted.csv\`); a planted person is found when at least one of its
cross-folder pairs is listed. The exact answer (numpy, all pairs) has
$(jf fs_pairs_recall exact_pairs) pairs and reaches $(jf fs_pairs_recall planted_found_exact) of the $split planted people (one without
any pair ≥ $threshold cannot be found at this level) in $(f 1 "${WALL[exact_pairs]}") s ($(c exact_pairs)).

| method | wall time | pairs listed | recall of exact pairs | planted found | command |
|---|---|---|---|---|---|
EOF
  pairs_row orig_pairs orig_pairs_recall "original (\`original_pairs.py\`: IVF100, nprobe 1, k = 10)"
  pairs_row fs_pairs fs_pairs_recall "**facesearch \`pairs\`** (exact, on the library)"
  cat <<EOF

Recall and planted counts: $(c orig_pairs_recall); for facesearch the CSV is
first converted to the same ids ($(c fs_pairs_conv)), then $(c fs_pairs_recall).
The original's breakdown: $(jq -r '.seconds | "load + normalise \(.load_normalise) s, train + add \(.train_add) s, search \(.search) s, pair loop \(.pairs) s"' "$W/orig_pairs.out").

## 3. Search modes (faiss indexes over the same $faces faces)

Load average at the start: $load3. Single queries (one \`Search\` call per
query, the way \`search\` and the server use the index) through
\`internal/faiss\`; recall@10 against the exact (Flat) index. \`build s\`
includes training. Command: $(c modes).

$(cat "$W/modes.out")

EOF
  if ((lfwmodes)); then
    cat <<EOF
The same on real embeddings: the LFW library \`make eval\` caches
(\`\$LFWLIB\` = \`\$FACESEARCH_HOME/eval/lfw-faceplugin-v1\`, every face of the
13,233 LFW images with the default model), with 200 primary faces held out
as queries. Recall@10 is harder here than on the generated data: most LFW
people have one or two images, so most of a query's true top 10 are other
people's faces from the tail of the different-person distribution, which
approximate indexes miss more easily than close same-person faces.
Command: $(c modes_lfw).

$(cat "$W/modes_lfw.out")

EOF
  fi
  cat <<EOF
## 4. Ingest: photos to embeddings

Load average at the start: $load4.
EOF
  if ((ingest)); then
    cat <<EOF
\`facesearch index\` on $lfw_n LFW images ($lfw_people people; one image in every $step of
\`../shared/faces/lfw\`, sorted by path, linked into \`\$W/lfw\`), a new library each
time, default model, 1 onnxruntime thread per worker. The wall time includes
starting the process and loading the models.

| workers | wall time | images/s | peak RSS | command |
|---|---|---|---|---|
| 1 | $(f 1 "${WALL[index_w1]}") s | **$(f 1 "$i1")** | ${RSS[index_w1]} MB | $(c index_w1) |
| 2 | $(f 1 "${WALL[index_w2]}") s | **$(f 1 "$i2")** | ${RSS[index_w2]} MB | $(c index_w2) |

Per stage, one LFW image (250×250), 1 thread (Go benchmarks):

| stage | ms per image | command |
|---|---|---|
| decode (JPEG) | $(stage_ms decode imgio) | $(c decode) |
| detect (resize + detector + NMS) | $(stage_ms stages detect) | $(c stages) |
| landmarks (68 points) | $(stage_ms stages landmark) | same |
| align (5-point similarity, 112×112 crop) | $(stage_ms stages align) | same |
| embed (512-d) | $(stage_ms stages embed) | same |
EOF
  else
    echo "Skipped: \`../shared/faces/lfw\` is absent."
  fi
  cat <<EOF

## 5. Memory (peak resident set size)

From \`/usr/bin/time -f '%e %M'\` (the same figure as \`/usr/bin/time -v\`'s
"Maximum resident set size") around the commands above.

| command | what | peak RSS | wall time |
|---|---|---|---|
| $(c import) | import the $faces-face dataset | ${RSS[import]} MB | $(f 1 "${WALL[import]}") s |
| $(c fs_search) | one query on the $faces-face library | ${RSS[fs_search]} MB | $(f 2 "${WALL[fs_search]}") s |
| $(c fs_pairs) | all pairs ≥ $threshold on the $faces-face library | ${RSS[fs_pairs]} MB | $(f 1 "${WALL[fs_pairs]}") s |
EOF
  if ((ingest)); then
    echo "| $(c index_w2) | index $lfw_n LFW photos, 2 workers | ${RSS[index_w2]} MB | $(f 1 "${WALL[index_w2]}") s |"
  fi
  cat <<EOF
| $(c orig_all) | the original search (for comparison) | ${RSS[orig_all]} MB | $(f 1 "${WALL[orig_all]}") s |
| $(c orig_pairs) | the original cleansing (for comparison) | ${RSS[orig_pairs]} MB | $(f 1 "${WALL[orig_pairs]}") s |

## 6. Server load

Load average at the start: $load6. \`e2e\`'s \`BenchmarkServerLoad\`:
it indexes \`../shared/faces/face_recognition\` into a temporary library, runs
\`facesearch serve\` in the test process on loopback and has 8 concurrent clients
upload photos to \`/api/search\` (detect + embed + search per request) for
$load_s s; the clients run in the same process and share the 2 cores.

| clients | duration | requests | throughput | p50 | p99 | errors | warm single query (server side) |
|---|---|---|---|---|---|---|---|
| 8 | $load_s s | $(f 0 "$(metric requests)") | **$(f 1 "$(metric req/s)") req/s** | $(f 0 "$(metric p50-ms)") ms | $(f 0 "$(metric p99-ms)") ms | $(f 0 "$(metric errors)") | $(f 1 "$(metric warm-server-ms)") ms |

Command: $(c serve_load).

## 7. Integrity checks

Opening (mapping) a vector file of 57,637 faces × 512-d (118 MB, the size of
the dataset above) with its CRC-32C checksum verified against \`index.json\`:
$(open_ms verified) ms, against $(open_ms unverified) ms without the check; with
the file's stamp unchanged since \`index\` wrote it (what a search sees; the
checksum pass is skipped, docs/RELIABILITY.md) $(open_ms stamped) ms (20 runs each;
the file is in the page cache). Command: $(c open_flat).

## 8. Similarity adaptation

Load average at the start: $load8. A copy of the $faces-face library with the
similarity adaptation fitted (\`--min-gain -1\` keeps the best transform so
that its cost is measured whatever it gains on this synthetic data; the
selection said: $adapt_keep). Method and accuracy: docs/ADAPTATION.md.

| step | wall time | peak RSS | command |
|---|---|---|---|
| fit (selection over 300 folders × 6 candidates × 5 folds; the leader certified against raw on the whole library, 20-fold cross-fitted (its $adapt_nm searches are the calibration) and raw leave-one-fold-out; final fit; adapted vectors written) | $(f 1 "${WALL[adapt_fit]}") s (fit $(f 1 "$(jf adapt_fit fit_seconds)") s, vectors $(f 1 "$(jf adapt_fit vectors_seconds)") s) | ${RSS[adapt_fit]} MB | $(c adapt_fit) |
| rewrite the adapted vectors after a change (same transform) | $(f 1 "${WALL[adapt_rewrite]}") s (vectors $(f 1 "$(jf adapt_rewrite vectors_seconds)") s) | ${RSS[adapt_rewrite]} MB | $(c adapt_rewrite) |
| one query, raw cosine (cold process) | $(ms "${MED[adapt_raw]}") ($(ms "${LO[adapt_raw]}")–$(ms "${HI[adapt_raw]}")) | | $(c adapt_raw) |
| one query, adapted ($adapt_sim, cold process) | $(ms "${MED[adapt_search]}") ($(ms "${LO[adapt_search]}")–$(ms "${HI[adapt_search]}")) | | $(c adapt_search) |

## Reproducing

\`make bench\` runs \`scripts/setup.sh --bench\` (Debian packages python3-faiss,
python3-numpy, hyperfine, time) then \`scripts/bench.sh\`, which builds the
binaries, generates the dataset once into \`\${BENCH_CACHE:-~/.cache/facesearch-bench}\`
(deterministic: same seed, same bytes), runs everything above in a temporary
directory and rewrites this file. \`BENCH_QUICK=1\` runs a 5,000-face version in a
few minutes. facesearch needs no environment variable; the Python runs get
\`OPENBLAS_CORETYPE\` only when facesearch would set it itself (see "BLAS
kernels" above), so that both sides use the same kernels.
EOF
} >"$W/BENCHMARKS.md"
mv "$W/BENCHMARKS.md" "$out"
log "done in $((t_total / 60)) min $((t_total % 60)) s: $out"
