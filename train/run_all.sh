#!/usr/bin/env bash
# Train the shipped BBCU models one after another (1 CPU thread each).
# RUNS="name:iters ..." picks a subset, e.g. RUNS="sr_x2_small:5000" bash train/run_all.sh
# Resumable: rerun it after an interruption; each run continues from
# train/runs/<name>/state.pt, and finished runs (train/runs/<name>/done) are skipped.
# models/README.md is regenerated (train/make_cards.py) after every run.
#   nohup setsid bash train/run_all.sh > train/runs/run_all.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p train/runs
exec 9> train/runs/run_all.lock
flock -n 9 || { echo "run_all.sh is already running" >&2; exit 1; }
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

# name:iterations (chosen from 30-second 1-thread benchmarks; see train/README.md)
RUNS=${RUNS:-"sr_x2:6300 sr_x4:1950 denoise:3600 deblock:4500 sr_x2_small:5000 sr_x4_small:2500 denoise_small:3000 deblock_small:3000"}

for spec in $RUNS; do
  name=${spec%%:*}; iters=${spec##*:}
  mkdir -p "train/runs/$name"
  if [ -f "train/runs/$name/done" ] && [ -f "models/$name.pth" ]; then
    echo "$(date -Is) $name already done, skipping"; continue
  fi
  echo "$(date -Is) start $name ($iters iterations)"
  python3 train/train.py --model "$name" --iters "$iters" --device auto --out models \
    >> "train/runs/$name/stdout.log" 2>&1
  date -Is > "train/runs/$name/done"
  echo "$(date -Is) finished $name"
  python3 train/make_cards.py || echo "make_cards.py failed (non-fatal)"
done
echo "$(date -Is) all runs finished"
