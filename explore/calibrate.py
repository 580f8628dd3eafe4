#!/usr/bin/env python3
"""Turns the Yosys `stat -json` files of explore/calibrate.sh into explore/calibration.json.

usage: python3 explore/calibrate.py OUT_DIR > explore/calibration.json
"""
import json, os, subprocess, sys, tomllib

out = sys.argv[1]
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def cells_of(path):
    """Cells by type of a Yosys `stat -json` file."""
    d = json.load(open(path))
    return d["design"]["num_cells_by_type"] if "design" in d else next(iter(d["modules"].values()))["num_cells_by_type"]

def stat(preset, run):
    cells = cells_of(f"{out}/{preset}/{run}.stat.json")
    ff = sum(v for k, v in cells.items() if k.startswith("SB_DFF"))
    return {"lut": cells.get("SB_LUT4", 0), "ff": ff, "carry": cells.get("SB_CARRY", 0),
            "ram": cells.get("SB_RAM40_4K", 0), "dsp": cells.get("SB_MAC16", 0)}

def preset(name):
    path = f"{root}/arch/presets/{name}.toml"
    return tomllib.load(open(path if os.path.exists(path) else f"{out}/configs/{name}.toml", "rb"))

def ice40_blocks(w, d):
    return min(-(-w // cw) * -(-d // cd) for cw, cd in [(16, 256), (8, 512), (4, 1024), (2, 2048)])

def analytic_ram(c):
    m, s = c["memory"], c["lanes"]
    # The 16-lane engine keeps its feature and input rings in SPRAM, not block RAM.
    rings = [] if s == 16 else [(16, m["feature_words"], 1), (16, m["input_words"], 1)]
    mems = rings + [(s, m["bit_words"], 1),
            (s, m["weight_words"], c["pes"]), (16, m["fp_weight_words"], c["fp_lanes"]),
            (16, m["const_words"], 1), (16, m["program_words"], 1), (8, m["output_bytes"], 1)]
    return sum(n * ice40_blocks(w, d) for w, d, n in mems)

runs, pe, rest, ratios = {}, [], [], []
lane_dsp, lane_lut = [], []
for name in ["ice40-up5k", "ice40-hx8k", "ecp5-85k"]:
    c = preset(name)
    r = {k: stat(name, k) for k in ["top", "arr", "mac", "mac_nodsp"]}
    runs[name] = {"pes": c["pes"], "lanes": c["lanes"], "fp_lanes": c["fp_lanes"], **r,
                  "analytic_ram_blocks": analytic_ram(c)}
    pe.append({"lanes": c["lanes"], "lut": r["arr"]["lut"] / c["pes"], "ff": r["arr"]["ff"] / c["pes"]})
    rest.append({"lanes": c["lanes"], "lut": r["top"]["lut"] - r["arr"]["lut"] - r["mac"]["lut"],
                 "ff": r["top"]["ff"] - r["arr"]["ff"] - r["mac"]["ff"]})
    lane_dsp.append((r["mac"]["lut"] / c["fp_lanes"], r["mac"]["ff"] / c["fp_lanes"]))
    lane_lut.append((r["mac_nodsp"]["lut"] / c["fp_lanes"], r["mac_nodsp"]["ff"] / c["fp_lanes"]))
    ratios.append(r["top"]["ram"] / analytic_ram(c))
    if name == "ice40-up5k":
        rest_dsp = r["top"]["dsp"] - r["mac"]["dsp"]
# The rest grows with the MAC lanes too (their accumulators' muxes and the selection of a
# lane's sum): the slope from each lane width's second point, then every width's rest taken
# back to zero lanes.
slopes = []
for name, other in [("ice40-hx8k", "ice40-hx8k-m8"), ("ecp5-85k", "ecp5-85k-m1")]:
    c = preset(name)
    m2 = {"ice40-hx8k-m8": 8, "ecp5-85k-m1": 1}[other]
    t, mac = stat(other, "top"), stat(other, "mac")
    arr = runs[name]["arr"]
    rest2 = {k: t[k] - arr[k] - mac[k] for k in ["lut", "ff"]}
    runs[other] = {"pes": c["pes"], "lanes": c["lanes"], "fp_lanes": m2, "top": t, "mac": mac}
    r1 = next(x for x in rest if x["lanes"] == c["lanes"])
    slopes.append({k: (rest2[k] - r1[k]) / (m2 - c["fp_lanes"]) for k in ["lut", "ff"]})
per_lane = {k: sum(x[k] for x in slopes) / len(slopes) for k in ["lut", "ff"]}
for x, name in zip(rest, ["ice40-up5k", "ice40-hx8k", "ecp5-85k"]):
    m = preset(name)["fp_lanes"]
    x["lut"] -= per_lane["lut"] * m
    x["ff"] -= per_lane["ff"] * m
up = preset("ice40-up5k")
nodsp = stat("ice40-up5k", "top_nodsp")
runs["ice40-up5k"]["top_nodsp"] = nodsp
# LUTs the multipliers outside the MAC lanes cost when no DSP takes them.
extra = nodsp["lut"] - runs["ice40-up5k"]["top"]["lut"] - up["fp_lanes"] * (lane_lut[0][0] - lane_dsp[0][0])
mean = lambda xs: sum(xs) / len(xs)
commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
cal = {
    "command": "bash explore/calibrate.sh /tmp/cal && python3 explore/calibrate.py /tmp/cal > explore/calibration.json",
    "yosys": open(f"{out}/yosys.version").read().strip() if os.path.exists(f"{out}/yosys.version") else "",
    "commit": commit,
    "synthesis": "synth_ice40 [-dsp] -top <module>; stat -json (cells by type); LUTs are SB_LUT4, FFs all SB_DFF*",
    "runs": runs,
    "pe": pe,
    "mac_lane_dsp": {"lut": mean([l for l, _ in lane_dsp]), "ff": mean([f for _, f in lane_dsp])},
    "mac_lane_lut": {"lut": mean([l for l, _ in lane_lut]), "ff": mean([f for _, f in lane_lut])},
    "rest": rest,
    "rest_per_fp_lane": per_lane,
    "rest_dsp": rest_dsp,
    "rest_nodsp_extra_lut": round(max(extra, 0)),
    "ram_factor": mean(ratios),
    "fmax_source": "docs: /work/shared/docs/fpga-notes.md section 2 (n x 64-lane PEs, Yosys 0.23 + nextpnr-ice40 0.4, seed 1; ECP5 with newer tools)",
    "fmax": [
        {"device": "UP5K", "pes": 1, "mhz": 26.9}, {"device": "UP5K", "pes": 8, "mhz": 25.6},
        {"device": "HX8K", "pes": 1, "mhz": 76.4}, {"device": "HX8K", "pes": 8, "mhz": 69.4},
        {"device": "ECP5-85F", "pes": 1, "mhz": 93.4}, {"device": "ECP5-85F", "pes": 8, "mhz": 85.9},
        {"device": "ECP5-85F", "pes": 32, "mhz": 76.6},
    ],
}
# The ECP5 coefficients, from synth_ecp5 (when calibrate.sh found the ECP5 Yosys): LUTs are
# LUT4 plus two per CCU2C (a CCU2C holds two adder bits' LUTs), RAM blocks DP16KD.
def estat(name, run):
    path = f"{out}/{name}/ecp5_{run}.stat.json"
    if not os.path.exists(path):
        return None
    cells = cells_of(path)
    return {"lut": cells.get("LUT4", 0) + 2 * cells.get("CCU2C", 0), "ff": cells.get("TRELLIS_FF", 0),
            "ram": cells.get("DP16KD", 0), "dsp": cells.get("MULT18X18D", 0)}

def ecp5_blocks(w, d):
    return min(-(-w // cw) * -(-d // cd) for cw, cd in [(36, 512), (18, 1024), (9, 2048), (4, 4096), (2, 8192), (1, 16384)])

pairs = [("ice40-hx8k", "ice40-hx8k-m8"), ("ecp5-85k", "ecp5-85k-m1")]
if all(estat(n, r) for a, b in pairs for n, r in [(a, "top"), (a, "arr"), (a, "mac"), (b, "top"), (b, "mac")]):
    e_runs, e_pe, e_rest, e_slopes, e_lane, e_ratio = {}, [], [], [], [], []
    for name, other in pairs:
        c = preset(name)
        r = {k: estat(name, k) for k in ["top", "arr", "mac"]}
        e_runs[name] = {"pes": c["pes"], "lanes": c["lanes"], "fp_lanes": c["fp_lanes"], **r}
        e_pe.append({"lanes": c["lanes"], "lut": r["arr"]["lut"] / c["pes"], "ff": r["arr"]["ff"] / c["pes"]})
        rest1 = {k: r["top"][k] - r["arr"][k] - r["mac"][k] for k in ["lut", "ff"]}
        m2 = preset(other)["fp_lanes"]
        t2, mac2 = estat(other, "top"), estat(other, "mac")
        e_runs[other] = {"pes": c["pes"], "lanes": c["lanes"], "fp_lanes": m2, "top": t2, "mac": mac2}
        rest2 = {k: t2[k] - r["arr"][k] - mac2[k] for k in ["lut", "ff"]}
        e_slopes.append({k: (rest2[k] - rest1[k]) / (m2 - c["fp_lanes"]) for k in ["lut", "ff"]})
        e_rest.append((c, rest1))
        e_lane.append((r["mac"]["lut"] / c["fp_lanes"], r["mac"]["ff"] / c["fp_lanes"]))
        e_lane.append((mac2["lut"] / m2, mac2["ff"] / m2))
        m = c["memory"]
        analytic = sum(n * ecp5_blocks(w, d) for w, d, n in [
            (16, m["feature_words"], 1), (16, m["input_words"], 1), (c["lanes"], m["bit_words"], 1),
            (c["lanes"], m["weight_words"], c["pes"]), (16, m["fp_weight_words"], c["fp_lanes"]),
            (16, m["const_words"], 1), (16, m["program_words"], 1), (8, m["output_bytes"], 1)])
        e_runs[name]["analytic_ram_blocks"] = analytic
        e_ratio.append(r["top"]["ram"] / analytic)
        e_rest_dsp = r["top"]["dsp"] - r["mac"]["dsp"]
    e_per = {k: mean([x[k] for x in e_slopes]) for k in ["lut", "ff"]}
    cal["ecp5"] = {
        "yosys": open(f"{out}/yosys_ecp5.version").read().strip() if os.path.exists(f"{out}/yosys_ecp5.version") else "",
        "synthesis": "synth_ecp5 -top <module>; stat -json; LUTs are LUT4 + 2 x CCU2C, FFs TRELLIS_FF, RAM DP16KD, DSP MULT18X18D",
        "runs": e_runs,
        "pe": e_pe,
        "mac_lane_dsp": {"lut": mean([l for l, _ in e_lane]), "ff": mean([f for _, f in e_lane])},
        "rest": [{"lanes": c["lanes"], "lut": r["lut"] - e_per["lut"] * c["fp_lanes"],
                  "ff": r["ff"] - e_per["ff"] * c["fp_lanes"]} for c, r in e_rest],
        "rest_per_fp_lane": e_per,
        "rest_dsp": e_rest_dsp,
        "ram_factor": mean(e_ratio),
    }

json.dump(cal, sys.stdout, indent=2)
print()
