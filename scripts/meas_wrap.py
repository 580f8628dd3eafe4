"""Measurement wrapper for a generated module `top` with more port bits than a package has
pins: every input from a shift register on one pin, every output registered and XOR-reduced
to another (one FF per input bit, ~1 LUT per 3 output bits; its own figures go to
wrapper.txt so they can be subtracted). Usage: python3 meas_wrap.py DESIGN.v (writes
meas_top.v and wrapper.txt in the current folder)."""
import re
import sys

src = open(sys.argv[1]).read()
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
v.append("    top dut(" + ", ".join(conns) + ");")
v.append(f"    always @(posedge clk) begin sh <= {{sh[{win - 2}:0], sin}}; o <= {{{', '.join('o_' + n for n, _ in outs)}}}; sout <= ^o; end")
v.append("endmodule")
open("meas_top.v", "w").write("\n".join(v) + "\n")
open("wrapper.txt", "w").write(f"wrapper: {win} input FFs, {wout} output FFs, XOR of {wout} bits\n")
