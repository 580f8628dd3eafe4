#!/usr/bin/env bash
# Area and timing of the generated engine alone, for the memory/resource table of
# docs/architecture.md: `scripts/measure-engine.sh PRESET OUT [up5k|hx8k]`.
#
# 1. Yosys with the datapath blocks kept as modules: a per-block LUT/FF/RAM/DSP breakdown
#    (`OUT/blocks.txt`); the remainder in `top` is the sequencer, address generation and glue.
# 2. The flat netlist through nextpnr-ice40 (timing-driven, seed 1) inside a measurement
#    wrapper: the engine has ~230 port bits and the sg48 package 39 I/O, so the wrapper feeds
#    every input from a shift register on one pin and XOR-reduces every (registered) output to
#    another. The wrapper costs one FF per input bit and ~1 LUT per 3 output bits; its own
#    figures are in `OUT/wrapper.txt` so they can be subtracted.
set -euo pipefail
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

python3 - <<'PY'
import re
src = open("engine.v").read()
head = re.search(r"module top\((.*?)\);(.*?)endmodule", src, re.S)
decls = re.findall(r"^\s*(input|output)\s+(?:wire|reg)\s*(?:signed\s*)?(?:\[(\d+):0\])?\s*(\w+);", head.group(2), re.M)
ins = [(n, int(w) + 1 if w else 1) for d, w, n in decls if d == "input" and n != "clock"]
outs = [(n, int(w) + 1 if w else 1) for d, w, n in decls if d == "output"]
win = sum(w for _, w in ins)
wout = sum(w for _, w in outs)
v = ["module meas_top(input wire clk, input wire sin, output reg sout);",
     f"    reg [{win - 1}:0] sh;", f"    reg [{wout - 1}:0] o;"]
v += [f"    wire [{w - 1}:0] o_{n};" for n, w in outs]
conns = [".clock(clk)"]
pos = 0
for n, w in ins:
    conns.append(f".{n}(sh[{pos + w - 1}:{pos}])")
    pos += w
conns += [f".{n}(o_{n})" for n, _ in outs]
v.append("    top engine(" + ", ".join(conns) + ");")
v.append(f"    always @(posedge clk) begin sh <= {{sh[{win - 2}:0], sin}}; o <= {{{', '.join('o_' + n for n, _ in outs)}}}; sout <= ^o; end")
v.append("endmodule")
open("meas_top.v", "w").write("\n".join(v) + "\n")
open("wrapper.txt", "w").write(f"wrapper: {win} input FFs, {wout} output FFs, XOR of {wout} bits\n")
PY
yosys -q -l yosys_flat.log -p "read_verilog -DBBCU_NO_RW_CHECK engine.v meas_top.v; synth_ice40 $dsp -top meas_top -json flat.json; tee -q -o flat.txt stat"
nextpnr-ice40 "${pnr[@]}" --json flat.json --freq 36 --seed 1 --timing-allow-fail --asc flat.asc -l nextpnr.log >/dev/null 2>&1 || true
grep -E "ICESTORM_(LC|RAM|SPRAM|DSP)|Max frequency|ERROR" nextpnr.log | tail -8 || true
