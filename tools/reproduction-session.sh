#!/usr/bin/env bash
# One reproduction session for docs/reproduction.md: the book's settings, one worker (gentle
# on a shared machine), a hard wall-clock budget for everything (default 35 minutes):
#
#   tools/reproduction-session.sh [SECONDS]
#   alzza reproduce --all --markdown-doc docs/reproduction.md --out runs/reproduce
#
# A: chapters 1-5 (tabular data, the chapter 5 flower MLPs) with two extra seeds for the seed
#    spread; B: chapters 6, 9, 10, 13, 14, 15; C: the rest; B and C cheapest first by the
#    book's train time, each starting nothing new when its budget is spent and stopped
#    (SIGTERM: running tasks end, the report is written) at the session's limit.
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export ALZZA_DATA="${ALZZA_DATA:-$(cd .. && pwd)/shared/data}" MPLBACKEND=Agg
TOTAL="${1:-2100}"
OUT=runs/reproduce
START=$(date +%s)
left() { echo $(( TOTAL - ($(date +%s) - START) )); }
stage() {  # stage NAME SECONDS-OF-BUDGET ARGS...: run one reproduce call inside what is left
  local name=$1 budget=$2; shift 2
  local L; L=$(left)
  if [ "$L" -le 400 ]; then echo "== $name: skipped, $L s left"; return; fi
  [ "$budget" -gt $((L - 330)) ] && budget=$((L - 330))
  echo "== $name: $(date -u +%H:%M:%S), $L s left, budget $budget s"
  timeout --signal=TERM --kill-after=30 $((L - 30)) python -m alzza.cli reproduce "$@" --workers 1 \
    --budget "$budget" --out "$OUT"
}
stage A 600 --chapter 1 2 3 4 5 --seeds 1 2 --resume --task-timeout 240
stage B "$TOTAL" --chapter 6 9 10 13 14 15 --cheapest-first --resume --task-timeout 300
stage C "$TOTAL" --all --cheapest-first --resume --task-timeout 300
echo "== end: $(date -u +%H:%M:%S), $(left) s left"
