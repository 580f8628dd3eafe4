#!/usr/bin/env python3
"""Write models/README.md (model cards) from train/runs/<name>/log.csv and models/<name>.json.

    python3 train/make_cards.py [--out models] [--runs train/runs]

run_all.sh calls it after every run, so the cards always show the latest state.
"""

import argparse
import csv
import os
import re
import sys
import time

import torch

torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import train as T  # noqa: E402
import bbcu_torch as B  # noqa: E402

MACHINE = "2-core AMD EPYC VM, CPU only, 1 thread"

def planned_iters():
    p = os.path.join(HERE, "run_all.sh")
    out = {}
    with open(p) as f:
        for line in f:
            if line.startswith("RUNS="):
                for n, i in re.findall(r"(\w+):(\d+)", line):
                    out[n] = int(i)
    return out


def counts(model):
    fp_w = bin_w = per_ch = 0
    for k, v in model.state_dict().items():
        if k.endswith("binary_conv.weight"):
            bin_w += v.numel()
        elif k.endswith(".weight") and v.dim() == 4:
            fp_w += v.numel()
        else:
            per_ch += v.numel()
    return fp_w, bin_w, per_ch


TOPO = {
    "sr_x2": "BBCU-M (`BBCUM`), x2: FP conv_first 3→32 + LeakyReLU(0.1); 4 `BinaryBlock`s = 8 BBCU-B "
             "units 32→32; BBCU-U upconv1 32→128 + PixelShuffle(2) + nearest residual; BBCU-B conv_hr "
             "at HR; LeakyReLU(0.1); FP conv_last 32→3; + bilinear(k·x); ÷k",
    "sr_x4": "BBCU-M (`BBCUM`), x4: as sr_x2 but two BBCU-U units (upconv1, upconv2: 32→128, r=2 each)",
    "denoise": "binary DnCNN colour (`dncnn_b`, bias=False): FP conv 3→32 + ReLU; 8 BBCU-B units 32→32; "
               "FP conv 32→3; output (k·x − model(k·x))/k",
    "deblock": "binary DnCNN-3 grey (`dncnn3_b`, bias=True, every conv incl. binary convs has a bias): "
               "FP conv 1→32 + ReLU; 8 BBCU-B units; FP conv 32→1; output (k·x − model(k·x))/k",
    "sr_x2_small": "BBCU-M x2 for the iCE40: FP conv_first 3→16 + LeakyReLU(0.1); 2 `BinaryBlock`s = 4 "
                   "BBCU-B units 16→16; BBCU-U 16→64 + PixelShuffle(2); BBCU-B conv_hr; FP conv_last 16→3; "
                   "+ bilinear(k·x); ÷k",
    "sr_x4_small": "BBCU-M x4 for the iCE40: as sr_x2_small with two BBCU-U units (16→64, r=2 each)",
    "denoise_small": "binary DnCNN colour for the iCE40: FP conv 3→16 + ReLU; 4 BBCU-B units 16→16; "
                     "FP conv 16→3; output (k·x − model(k·x))/k",
    "deblock_small": "binary DnCNN-3 grey for the iCE40 (bias=True): FP conv 1→16 + ReLU; 4 BBCU-B units; "
                     "FP conv 16→1; output (k·x − model(k·x))/k",
}
DATA = {
    "sr": "T91 + BSD200 (291 images, `shared/data/train`), HR mod-cropped, LR by MATLAB-style "
          "bicubic `imresize` (a=-0.5, antialias, height pass first, uint8 rounding; reproduces "
          "Set5 `LR_bicubic` exactly); random LR crops {p}×{p} (HR {hp}×{hp}); flips + transpose",
    "denoise": "T91 + BSD200; random {p}×{p} RGB crops; flips + transpose; AWGN σ ~ U(0,75)/255 per "
               "patch, not clipped",
    "deblock": "T91 + BSD200, Y channel (MATLAB rgb2ycbcr, rounded uint8); random {q}×{q} crop, "
               "flips + transpose, Pillow JPEG at quality ~ U{{10..50}}, then a random {p}×{p} crop "
               "(offset 0..8) of the pair",
}


def read_log(path):
    if not os.path.isfile(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def score_table(out_dir):
    """The table of scripts/quality.sh (models/eval/*.json), or how to make it."""
    folder = os.path.join(out_dir, "eval")
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "quality_table.py")
    if not os.path.isdir(folder) or not os.listdir(folder):
        return "_Not measured yet: run `scripts/quality.sh`._"
    import subprocess
    table = subprocess.run([sys.executable, script, folder], capture_output=True, text=True, check=True).stdout
    return ("Made by `scripts/quality.sh` (`bbcu-host eval` in float and in fixed point; "
            "baseline = bicubic for SR, the degraded input otherwise; PSNR in dB; SR on Y with crop = scale, "
            "denoising on RGB with u8-quantised noisy input, JPEG on Y with the `image` crate's encoder).\n\n" + table)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(REPO, "models"))
    ap.add_argument("--runs", default=os.path.join(HERE, "runs"))
    args = ap.parse_args()
    plan = planned_iters()
    lines = [
        "# Trained BBCU models",
        "",
        "Made by `train/run_all.sh` → `train/train.py` (see `train/README.md`). The checkpoints use the",
        "official containers and key names (`shared/docs/bbcu-reference.md` §5), so an importer reads",
        "them like official checkpoints: SR models are `{'params': state_dict}` (BasicSR), and DnCNN",
        "models are a bare state_dict (KAIR). Binary conv weights are stored as latent FP32 values.",
        "Binarise them at import (`alpha_o = mean|W|` over Cin×3×3, `sign(W)`).",
        "The four 32-channel models fit the ECP5 preset (`ecp5-85k`); the `_small` ones (16 channels,",
        "fewer binary units) are sized for the iCE40 boards. With C feature channels the",
        "residual-alignment factor is **k = 130·C/64** (65 for C = 32, 32.5 for C = 16; the image is",
        "multiplied by k at the input and divided by k at the output).",
        "",
        f"Training machine: {MACHINE}. Training details common to all models: L1 loss; Adam",
        "(lr 2e-4, betas 0.9/0.99, no weight decay); cosine decay to 1e-6 over the run; batch 16; seed 0;",
        "default init as in the reference (kaiming_normal ×0.1 on the SR head, upsampler, conv_hr and tail;",
        "PyTorch default elsewhere; LearnableBias 0; PReLU 0.25). Training is CPU-deterministic and",
        "resumes bit-identically.",
        "",
        "Each `<name>.json` next to a checkpoint holds the same facts in machine-readable form.",
        "",
        f"_Cards generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `python3 train/make_cards.py`._",
        "",
    ]
    summary = ["| model | file | status | iterations | wall time | validation | PSNR at init | final val PSNR |",
               "|---|---|---|---|---|---|---|---|"]
    cards = []
    for name, (arch, kw, task, scale, patch) in T.MODELS.items():
        log = read_log(os.path.join(args.runs, name, "log.csv"))
        done = os.path.isfile(os.path.join(args.out, f"{name}.pth")) and \
            os.path.isfile(os.path.join(args.runs, name, "done"))
        n_plan = plan.get(name, "?")
        last = log[-1] if log else None
        init = log[0] if log else None
        status = "trained" if done else (f"training ({last['iter']}/{n_plan})" if last else "not started")
        wall = f"{float(last['seconds']) / 60:.1f} min" if last else "-"
        vdesc = {"sr": f"Set5 x{scale}, Y, crop {scale}", "denoise": "Kodak24 01-04 centre 256², σ=25, RGB",
                 "deblock": "classic5 q20 (Pillow), centre 256², Y"}[task]
        summary.append(f"| {name} | `models/{name}.pth` | {status} | {last['iter'] if last else 0} / {n_plan} | "
                       f"{wall} | {vdesc} | {init['val_psnr'] if init else '-'} | "
                       f"{last['val_psnr'] if last else '-'} |")
        m = T.build(name)
        fp_w, bin_w, per_ch = counts(m)
        p = patch
        data = DATA[task].format(p=p, hp=p * scale, q=p + 8)
        units = kw.get("num_block", 0) * 2 if task == "sr" else kw["nb"] - 2
        cards += [
            f"## `{name}`",
            "",
            f"- **Topology:** {TOPO[name]}.",
            f"- **Channels:** {T.channels(name)}; **blocks:** "
            + (f"num_block {kw['num_block']} ({units} BBCU-B body units) + conv_hr"
               + (" + 2 BBCU-U" if scale == 4 else " + 1 BBCU-U") if task == "sr"
               else f"nb {kw['nb']} (head + {units} BBCU-B + tail)")
            + f"; **k:** {T.k_of(name):g}; **scale:** {scale}.",
            f"- **Tensors:** {len(m.state_dict())} keys; {bin_w} binary weights ({bin_w / 8 / 1024:.1f} KiB as bits); "
            f"{fp_w} FP conv weights; {per_ch} per-channel constants (biases, move0, RPReLU).",
            f"- **Container:** {'`{params: state_dict}` (BasicSR)' if task == 'sr' else 'bare state_dict (KAIR)'}.",
            f"- **Training data:** {data}.",
            f"- **Iterations:** {n_plan} planned, {last['iter'] if last else 0} done; batch 16; "
            f"**wall time:** {wall} ({MACHINE}).",
            f"- **Validation ({vdesc}):** {init['val_psnr'] if init else '-'} dB at init → "
            f"{last['val_psnr'] if last else '-'} dB at iteration {last['iter'] if last else '-'} "
            f"(from `train/runs/{name}/log.csv`).",
            "",
        ]
    lines += ["## Summary", ""] + summary + [""] + cards
    lines += ["## Scores (full test sets)", "", score_table(args.out), ""]
    lines += [
        "These are short CPU-only runs (tens of minutes rather than the paper's 300k GPU iterations on",
        "DIV2K, with 32 or 16 instead of 64 channels), sized for small FPGAs.",
        "",
    ]
    os.makedirs(args.out, exist_ok=True)
    tmp = os.path.join(args.out, "README.md.tmp")
    with open(tmp, "w") as f:
        f.write("\n".join(lines))
    os.replace(tmp, os.path.join(args.out, "README.md"))
    print(f"wrote {os.path.join(args.out, 'README.md')}")


if __name__ == "__main__":
    main()
