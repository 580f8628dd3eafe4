#!/usr/bin/env bash
# LUT / FF / SB_MAC16 of the engine's full-precision datapath blocks on the UP5K, measured the way
# scripts/measure-engine.sh keeps them: the ice40-up5k engine Verilog through Yosys 0.23
# `synth_ice40 -dsp` with the blocks kept as modules (`keep_hierarchy`), read as the iCE40 flow
# reads it (-DBBCU_NO_RW_CHECK). `scripts/measure-blocks.sh OUT [ENGINE.v]`: OUT/blocks.txt is
# Yosys's report, OUT/table.txt the summary; with ENGINE.v given, that file is measured instead
# of a fresh emit.
set -euo pipefail
out=${1:?out dir}
mkdir -p "$out"
if [ -n "${2:-}" ]; then
  cp "$2" "$out/engine.v"
else
  cargo run -q -p bbcu-hdl --example emit -- ice40-up5k "$out"
fi
cd "$out"
keep=$(grep -o '^module top\$\(post\|slope\|mac\|cpost\|outpx\|inword\)(' engine.v | sed 's/^module //; s/($//' | tr '\n' ' ')
yosys -q -l yosys_blocks.log -p "read_verilog -DBBCU_NO_RW_CHECK engine.v; hierarchy -top top; setattr -mod -set keep_hierarchy 1 $keep; synth_ice40 -dsp -top top; tee -q -o blocks.txt stat"
# One row per kept module: LUTs, flip-flops (every SB_DFF* flavour), SB_MAC16.
awk '
  /^=== / { m = $2; sub(/^top\$/, "", m); if (m == "design") m = ""; next }
  m == "" { next }
  $1 == "SB_LUT4" { lut[m] = $2 }
  $1 ~ /^SB_DFF/ { ff[m] += $2 }
  $1 == "SB_MAC16" { dsp[m] = $2 }
  END {
    printf "%-8s %6s %6s %4s\n", "block", "LUT", "FF", "DSP"
    n = split("outpx cpost post slope mac inword top", order, " ")
    for (i = 1; i <= n; i++) { b = order[i]; printf "%-8s %6d %6d %4d\n", b, lut[b], ff[b], dsp[b]; if (b != "top") { tl += lut[b]; tf += ff[b]; td += dsp[b] } }
    printf "%-8s %6d %6d %4d\n", "blocks", tl, tf, td
  }' blocks.txt | tee table.txt
