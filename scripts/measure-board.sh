#!/usr/bin/env bash
# Where a board top-level's logic goes, for the iCE40 budget in docs/architecture.md:
# `scripts/measure-board.sh BOARD OUT` (BOARD: an iCE40 board, icebreaker or ice40-hx8k).
#
# 1. `bbcu-host build --board BOARD --out OUT`: the whole flow; on a design that does not fit,
#    its one-line error with the used/available cells is the result (`OUT/build.txt`).
# 2. The flow's own Yosys command (from its log) on the same Verilog, with the UART, the protocol
#    engine, the engine and its datapath blocks kept as modules: LUT/carry/FF/RAM/DSP per block (`OUT/blocks.txt`); `top$engine`
#    alone is the sequencer, address generation, memories' glue and counters.
# 3. The flow's flat netlist: flip-flops by the register they belong to (`OUT/ffs.txt`). A
#    logic cell holds one LUT and one flip-flop, so the flip-flops are a floor under the cells.
# 4. The same netlist's block RAMs, SPRAMs and multipliers by the memory or register they
#    implement (`OUT/hard.txt`): the EBR budget in docs/architecture.md.
# 5. The same netlist's LUTs by the registers and memories they feed (`OUT/cones.txt`,
#    `scripts/lut_cones.py`): where the logic of one flat module, the engine's glue, goes.
set -euo pipefail
board=${1:?board}
out=$(realpath -m "${2:?out dir}")
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
mkdir -p "$out"
cargo build -q -p bbcu-host
set +e
target/debug/bbcu-host build --board "$board" --out "$out" >"$out/build.txt" 2>&1
rc=$?
set -e
echo "build: exit $rc: $(tail -1 "$out/build.txt")"
flow="$out/work/flow"
[ -f "$flow/top.json" ] || { echo "no netlist in $flow" >&2; exit 1; }

cd "$flow"
# The flow's synthesis as it ran (the family's command, `-dsp` where the part has multipliers)
# and its read of the design (with the flow's defines).
synth=$(grep -o -m1 'synth_ice40[^;]*-top top' yosys.log) ||
    { echo "$board: not an iCE40 build (the breakdown reads SB_* cells)" >&2; exit 1; }
read=$(grep -o -m1 'read_verilog[^;]*design\.v' yosys.log)
keep=$(grep -o '^module top\$\(engine\|proto\|uart\|core\|engine\$\(arr\|post\|slope\|mac\|cpost\|outpx\|inword\)\)(' design.v |
    sed 's/^module //; s/($//' | tr '\n' ' ')
yosys -q -l blocks.log -p "$read; hierarchy -top top; setattr -mod -set keep_hierarchy 1 $keep; $synth; tee -q -o $out/blocks.txt stat" >/dev/null

python3 - "$out" "$here" <<'PY'
import collections, json, re, sys
out = sys.argv[1]

# Per-block table from the hierarchical run (the "design hierarchy" section is the sum).
text = open(f"{out}/blocks.txt").read()
table = "| block | LUT | carry | FF | RAM | SPRAM | DSP |\n|---|---|---|---|---|---|---|\n"
for name, body in re.findall(r"=== (\S+) ===\n(.*?)(?====|\Z)", text, re.S):
    if name in ("top", "design"):
        continue
    cells = {k: int(v) for k, v in re.findall(r"^\s+(\w+)\s+(\d+)$", body, re.M)}
    ff = sum(v for k, v in cells.items() if k.startswith("SB_DFF"))
    row = [cells.get(k, 0) for k in ("SB_LUT4", "SB_CARRY")] + [ff]
    row += [cells.get(k, 0) for k in ("SB_RAM40_4K", "SB_SPRAM256KA", "SB_MAC16")]
    table += f"| {name.replace('top$', '').replace('$', '.')} | " + " | ".join(map(str, row)) + " |\n"
open(f"{out}/blocks.md", "w").write(table)
print(table)

# Flip-flops by register, from the flat netlist the flow placed (named as lut_cones.py names
# them, two levels deep: the block's sub-blocks kept, arrays summed).
sys.path.insert(0, sys.argv[2])
from lut_cones import flip_flops, register_namer
net = json.load(open(f"{out}/work/flow/top.json"))
top = net["modules"]["top"]
ffs = flip_flops(top, register_namer(top, 2))
by_top = collections.Counter()
for k, v in ffs.items():
    by_top[k.split(".")[0]] += v
lines = [f"flip-flops: {sum(ffs.values())} ({', '.join(f'{k} {v}' for k, v in by_top.most_common())})\n"]
lines += [f"{v:6d} {k}\n" for k, v in ffs.most_common()]
open(f"{out}/ffs.txt", "w").writelines(lines)
print("".join(lines[:25]))

# Hard blocks by what they implement: `core.engine.wmem$2.mem.0.0` -> engine.wmem.
hard = collections.Counter()
for name, c in top["cells"].items():
    if c["type"] in ("SB_RAM40_4K", "SB_SPRAM256KA", "SB_MAC16"):
        n = re.sub(r"\.(mem|bank)\b.*$|_SB_.*$|\$.*$", "", name)
        n = re.sub(r"\.(d|q|ram)$", "", n.replace("core.", "", 1))
        hard[(c["type"], n)] += 1
lines = []
for kind in ("SB_RAM40_4K", "SB_SPRAM256KA", "SB_MAC16"):
    rows = sorted(((n, v) for (k, n), v in hard.items() if k == kind), key=lambda r: (-r[1], r[0]))
    lines.append(f"{kind}: {sum(v for _, v in rows)}\n")
    lines += [f"{v:6d} {n}\n" for n, v in rows]
open(f"{out}/hard.txt", "w").writelines(lines)
print("".join(lines))
PY
python3 "$here/lut_cones.py" "$flow/top.json" "" 150 >"$out/cones.txt"
head -25 "$out/cones.txt"
