#!/usr/bin/env bash
# Area and timing of the generated engine alone, for the memory/resource table of
# docs/architecture.md: `scripts/measure-engine.sh PRESET OUT [up5k|hx8k]`.
#
# 1. Yosys with the datapath blocks kept as modules: a per-block LUT/FF/RAM/DSP breakdown
#    (`OUT/blocks.txt`); the remainder in `top` is the sequencer, address generation and glue.
# 2. The flat netlist through nextpnr-ice40 (timing-driven, seed 1) inside the measurement
#    wrapper of scripts/meas_wrap.py (the engine has ~230 port bits, the sg48 package 39 I/O).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
preset=${1:?preset}
out=${2:?out dir}
dev=${3:-up5k}
mkdir -p "$out"
cargo run -q -p bbcu-hdl --example emit -- "$preset" "$out"
cd "$out"
case $dev in
up5k) dsp="-dsp"; pnr=(--up5k --package sg48) ;;
hx8k) dsp=""; pnr=(--hx8k --package ct256) ;;
*) echo "device up5k or hx8k" >&2; exit 2 ;;
esac

# The blocks whose cost is worth seeing apart (PEs, post datapaths, MAC lanes, output stage).
keep=$(grep -o '^module top\$\(arr\$pe\$[0-9]*\|post\|slope\|mac\|cpost\|outpx\|inword\|fmem\|xmem\)(' engine.v | sed 's/^module //; s/($//' | tr '\n' ' ')
# As the iCE40 flow reads it (bbcu_boards::flow): block RAMs without read-during-write logic.
yosys -q -l yosys_blocks.log -p "read_verilog -DBBCU_NO_RW_CHECK engine.v; hierarchy -top top; setattr -mod -set keep_hierarchy 1 $keep; synth_ice40 $dsp -top top; tee -q -o blocks.txt stat"

python3 "$here/meas_wrap.py" engine.v
yosys -q -l yosys_flat.log -p "read_verilog -DBBCU_NO_RW_CHECK engine.v meas_top.v; synth_ice40 $dsp -top meas_top -json flat.json; tee -q -o flat.txt stat"
nextpnr-ice40 "${pnr[@]}" --json flat.json --freq 36 --seed 1 --timing-allow-fail --asc flat.asc -l nextpnr.log >/dev/null 2>&1 || true
grep -E "ICESTORM_(LC|RAM|SPRAM|DSP)|Max frequency|ERROR" nextpnr.log | tail -8 || true
