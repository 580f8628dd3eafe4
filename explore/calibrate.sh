#!/usr/bin/env bash
# Produces the Yosys numbers in explore/calibration.json: the engine Verilog of every preset
# this build generates an instance for, synthesised whole and block by block (the PE array,
# the MAC lanes) with synth_ice40, so that `bbcu-host explore` can split a design's cost into
# per-PE, per-lane and fixed parts. Run from the repository root:
#   bash explore/calibrate.sh OUT_DIR
# It writes one `stat -json` file per run into OUT_DIR; explore/calibrate.py turns them
# into explore/calibration.json.
set -euo pipefail
out=${1:?usage: calibrate.sh OUT_DIR}
mkdir -p "$out"
cargo build -q -p bbcu-hdl --example emit
for p in ice40-up5k ecp5-85k; do
  target/debug/examples/emit "$p" "$out/$p"
  v="$out/$p/engine.v"
  # Whole engine, DSP multipliers (UP5K style), and block by block.
  yosys -q -p "read_verilog $v; synth_ice40 -dsp -top top; tee -o $out/$p/top.stat.json stat -json" > "$out/$p/top.log" 2>&1
  yosys -q -p "read_verilog $v; synth_ice40 -dsp -top top\$arr; tee -o $out/$p/arr.stat.json stat -json" > "$out/$p/arr.log" 2>&1
  yosys -q -p "read_verilog $v; synth_ice40 -dsp -top top\$mac; tee -o $out/$p/mac.stat.json stat -json" > "$out/$p/mac.log" 2>&1
  # The MAC lanes without DSPs: what they cost on a part that has none (HX8K).
  yosys -q -p "read_verilog $v; synth_ice40 -top top\$mac; tee -o $out/$p/mac_nodsp.stat.json stat -json" > "$out/$p/mac_nodsp.log" 2>&1
done
# The UP5K engine with every multiplier in LUTs: what a part without DSPs (HX8K) pays.
yosys -q -p "read_verilog $out/ice40-up5k/engine.v; synth_ice40 -top top; tee -o $out/ice40-up5k/top_nodsp.stat.json stat -json" > "$out/ice40-up5k/top_nodsp.log" 2>&1
yosys -V > "$out/yosys.version"
