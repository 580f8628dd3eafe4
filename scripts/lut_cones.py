#!/usr/bin/env python3
"""Which registers an iCE40 netlist's LUTs serve: `lut_cones.py NETLIST.json [PREFIX] [ROWS]`.

Yosys's per-module statistics cannot split one flat module (the engine's glue is one), so
this follows every SB_LUT4's output forward through other LUTs and carry cells to the first
sequential elements it reaches (flip-flops by register name, block RAMs, SPRAMs and
multipliers by instance) and splits the LUT's cost evenly among them. A register's row is
then the logic of its input cone (its multiplexers, adders, decodes) plus its own
flip-flops. Shared logic is split, so the rows add up to the LUT total. A row tells where to
look, not what removing a register would save. `scripts/measure-board.sh` writes it to
`OUT/cones.txt`, and counts `OUT/ffs.txt`'s flip-flops by register with the same naming.
"""
import collections
import json
import re
import sys


def register_namer(top, depth):
    """A function from a flip-flop's Q bit to its register's name: `core.engine.rec$12.q` ->
    `engine.rec` at depth 2 (array elements summed); flip-flops Yosys left without a name
    count as their block's `(unnamed)`."""
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
        # The PLL shell's instance of the design is `core` (the control core below it is too).
        parts = n.split(".")
        parts = [p for p in parts[parts[0] == "core" :] if p not in ("q", "d")]
        if any("_SB_" in p or "_D_Q" in p for p in parts):
            return re.split(r"[$.]", parts[0])[0] + ".(unnamed)"
        return re.sub(r"\$\d+$", "", ".".join(parts[:depth]))

    return register


def flip_flops(top, register):
    """Flip-flops per register name."""
    ffs = collections.Counter()
    for c in top["cells"].values():
        if c["type"].startswith("SB_DFF"):
            ffs[register(c["connections"]["Q"][0])] += 1
    return ffs


def is_seq(t):
    return t.startswith("SB_DFF") or t in ("SB_RAM40_4K", "SB_SPRAM256KA", "SB_MAC16")


def lut_cones(top, register):
    """LUTs per register or memory they feed, a LUT shared evenly among its destinations."""
    cells = top["cells"]

    def label(name):
        c = cells[name]
        if c["type"].startswith("SB_DFF"):
            return register(c["connections"]["Q"][0])
        base = re.sub(r"\$.*$|\.(mem|bank|ram)\b.*$", "", name.replace("core.", "", 1))
        return f"{base}:{c['type'][3:]}"

    sinks = collections.defaultdict(list)
    for name, c in cells.items():
        for port, bits in c["connections"].items():
            if c.get("port_directions", {}).get(port) == "input":
                for b in bits:
                    if isinstance(b, int):
                        sinks[b].append(name)
    reach = {}

    def dests(name):
        if name in reach:
            return reach[name]
        reach[name] = frozenset()  # a combinational loop ends here
        c = cells[name]
        out = set()
        for port, bits in c["connections"].items():
            if c.get("port_directions", {}).get(port) != "output":
                continue
            for b in bits:
                for s in sinks.get(b, []):
                    t = cells[s]["type"]
                    if is_seq(t):
                        out.add(label(s))
                    elif t in ("SB_LUT4", "SB_CARRY"):
                        out |= dests(s)
                    else:
                        out.add(t)
        reach[name] = frozenset(out)
        return reach[name]

    luts = collections.Counter()
    for name, c in cells.items():
        if c["type"] == "SB_LUT4":
            d = dests(name) or {"(no sequential sink)"}
            for x in d:
                luts[x] += 1 / len(d)
    return luts


def main():
    sys.setrecursionlimit(200000)
    top = json.load(open(sys.argv[1]))["modules"]["top"]
    prefix = sys.argv[2] if len(sys.argv) > 2 else ""
    rows = int(sys.argv[3]) if len(sys.argv) > 3 else 80
    register = register_namer(top, 3)
    luts, ffs = lut_cones(top, register), flip_flops(top, register)
    keys = sorted(set(luts) | set(ffs), key=lambda k: (-(luts[k] + ffs[k]), k))
    by_block = collections.Counter()
    for k in keys:
        by_block[k.split(".")[0].split(":")[0]] += luts[k] + ffs[k]
    print("LUT + FF by block: " + ", ".join(f"{k} {v:.0f}" for k, v in by_block.most_common()))
    print("    LUT     FF  register (or memory:primitive) the LUTs feed")
    for k in [k for k in keys if k.startswith(prefix)][:rows]:
        print(f"{luts[k]:7.0f} {ffs[k]:6d}  {k}")


if __name__ == "__main__":
    main()
