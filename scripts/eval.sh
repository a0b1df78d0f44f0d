#!/usr/bin/env bash
# facesearch accuracy evaluation (make eval): runs the standard LFW protocol on
# ../shared/faces/lfw with the default model and writes docs/roc.png,
# docs/hist.png and docs/eval-lfw.json (the figures quoted in docs/MODEL.md),
# then the open-set verdicts (docs/eval-verdicts.json, docs/VERDICTS.md).
#
#   scripts/eval.sh [extra 'facesearch eval lfw' flags]
#
# Embeddings are cached in $FACESEARCH_HOME/eval/lfw-<model> (a facesearch
# library): the first run embeds all 13,233 images (about 4-6 minutes on 2
# idle cores), later runs only recompute the statistics. LFW=DIR overrides the
# dataset location.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
lfw=${LFW:-../shared/faces/lfw}
die() { printf 'eval: error: %s\n' "$*" >&2; exit 1; }

[[ -f "$lfw/pairs.txt" ]] || die "no LFW at $lfw (expected $lfw/<name>/<name>_NNNN.jpg and $lfw/pairs.txt); set LFW=DIR"
go build -o bin/facesearch ./cmd/facesearch
mkdir -p docs
bin/facesearch eval lfw --out docs "$@" "$lfw"
# Open-set verdicts on the same cached embeddings (docs/VERDICTS.md): the
# operating points fitted on half the people, measured on the other half and
# on the 4,068 single-photo people; writes docs/eval-verdicts.json.
exec bin/facesearch eval verdicts --out docs
