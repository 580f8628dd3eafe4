"""Formats the JSON reports of scripts/quality.sh as the Markdown quality table."""
import glob
import json
import os
import sys

# The paper's 64-channel numbers (shared/docs/bbcu-reference.md §9), for reference.
PAPER = {
    ("sr_x2", "Set5"): "37.44 / 37.58", ("sr_x2", "Set14"): "33.04 / 33.18",
    ("sr_x4", "Set5"): "31.54 / 31.79", ("sr_x4", "Set14"): "28.20 / 28.38",
    ("denoise", "Kodak24", "sigma=15"): "33.66", ("denoise", "Kodak24", "sigma=25"): "31.28",
    ("denoise", "Kodak24", "sigma=50"): "28.15",
    ("deblock", "LIVE1", "q=10"): "29.06", ("deblock", "LIVE1", "q=20"): "31.43",
    ("deblock", "LIVE1", "q=30"): "32.80", ("deblock", "LIVE1", "q=40"): "33.75",
    ("deblock", "classic5", "q=10"): "30.00", ("deblock", "classic5", "q=20"): "32.27",
    ("deblock", "classic5", "q=30"): "33.59", ("deblock", "classic5", "q=40"): "34.45",
}


def main(folder):
    reports = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        name = os.path.basename(path)[:-5]
        model, dataset, precision = name.rsplit("_", 2)
        with open(path) as f:
            reports[(model, dataset, precision)] = json.load(f)
    print("| model | test set | condition | baseline | float | fixed | fixed − float | paper BBCU (M / L) |")
    print("|---|---|---|---|---|---|---|---|")
    models = ["sr_x2", "sr_x4", "denoise", "deblock", "sr_x2_small", "sr_x4_small", "denoise_small", "deblock_small"]
    sets = ["Set5", "Set14", "Kodak24", "LIVE1", "classic5"]
    rank = lambda xs, v: xs.index(v) if v in xs else len(xs)
    keys = sorted({(m, d) for (m, d, _) in reports}, key=lambda k: (rank(models, k[0]), rank(sets, k[1]), k))
    for model, dataset in keys:
        fl, fx = reports.get((model, dataset, "float")), reports.get((model, dataset, "fixed"))
        if not fl or not fx:
            continue
        for cf, cx in zip(fl["conditions"], fx["conditions"]):
            cond = cf["condition"]
            base = f'{cf["mean"]["baseline_psnr"]:.2f} ({cf["baseline"]})'
            pf, px = cf["mean"]["psnr"], cx["mean"]["psnr"]
            paper = PAPER.get((model, dataset, cond)) or PAPER.get((model, dataset), "")
            print(f"| {model} | {dataset} | {cond} | {base} | {pf:.2f} | {px:.2f} | {px - pf:+.3f} | {paper} |")


def sizes(folder):
    """Model size and OPs by the paper's convention, from `bbcu-host info --json`."""
    rows = []
    for m in ["sr_x2", "sr_x4", "denoise", "deblock", "sr_x2_small", "sr_x4_small", "denoise_small", "deblock_small"]:
        path = os.path.join(folder, "info", m + ".json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            i = json.load(f)
        c = i["counts"]
        rows.append(f'| {m} | {i["arch"]} ×{i["scale"]} | {i["num_feat"]} | {i["binary_units"]} | {i["k"]:g} | '
                    f'{c["binary_weights"]:,} ({c["binary_weights"] / 8192:.1f} KiB) | {c["fp_weights"]:,} | '
                    f'{c["per_channel"]:,} | {i["paper_params"] / 1e3:.1f} K | {i["paper_ops_320x180"] / 1e9:.3f} G |')
    if rows:
        print()
        print("| model | topology | channels | binary units | k | binary weights (bits) | FP weights | "
              "per-channel constants | paper Params | paper OPs (320×180) |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        print("\n".join(rows))


if __name__ == "__main__":
    folder = sys.argv[1] if len(sys.argv) > 1 else "models/eval"
    main(folder)
    sizes(folder)
