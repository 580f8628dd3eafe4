#!/usr/bin/env bash
# Reproduces the quality table (README, models/README.md): every shipped model on its test
# sets, in float and in fixed point. Writes models/eval/*.json and prints the Markdown table.
#   scripts/quality.sh [DATA_DIR]      (default ../shared/data)
#   ONLY="sr_x2_small denoise_small" scripts/quality.sh    re-evaluates some models only
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data}
cargo build --release -q -p bbcu-host
B=target/release/bbcu-host
mkdir -p models/eval/info
only=${ONLY:-}
run() { # model set extra-args...
  local m=$1 set=$2; shift 2
  if [ -n "$only" ] && [[ " $only " != *" $m "* ]]; then return; fi
  for p in float fixed; do
    echo "eval $m on $set ($p)" >&2
    out="models/eval/${m}_${set}_$p.json"
    $B eval --model "models/$m.pth" --data "$data/$set" --precision $p --json "$@" > "$out.tmp"
    mv "$out.tmp" "$out"
  done
}
run sr_x2 Set5;   run sr_x2 Set14
run sr_x4 Set5;   run sr_x4 Set14
run denoise Kodak24 --sigma 15,25,50
run deblock LIVE1 --quality 10,20,30,40
run deblock classic5 --quality 10,20,30,40
# The 16-channel iCE40 models.
run sr_x2_small Set5;   run sr_x2_small Set14
run sr_x4_small Set5;   run sr_x4_small Set14
run denoise_small Kodak24 --sigma 15,25,50
run deblock_small LIVE1 --quality 10,20,30,40
run deblock_small classic5 --quality 10,20,30,40
for m in sr_x2 sr_x4 denoise deblock sr_x2_small sr_x4_small denoise_small deblock_small; do $B info --json --model "models/$m.pth" > "models/eval/info/$m.json"; done
python3 scripts/quality_table.py models/eval
