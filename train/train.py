#!/usr/bin/env python3
"""Train small BBCU-family models (iCE40 UP5K sized) and export official-format checkpoints.

  python3 train/train.py --model sr_x2 --iters N [--data DIR] [--device auto|cpu|cuda] [--out models/]

Models (k = 130*C/64 = 65 for C = 32):
  sr_x2    BBCUM num_feat 32, num_block 4, upscale 2   -> models/sr_x2.pth   {'params': sd}
  sr_x4    BBCUM num_feat 32, num_block 4, upscale 4   -> models/sr_x4.pth   {'params': sd}
  denoise  binary DnCNN colour nc 32 nb 10 bias=False  -> models/denoise.pth bare sd
  deblock  binary DnCNN-3 grey nc 32 nb 10 bias=True   -> models/deblock.pth bare sd

State is checkpointed atomically to train/runs/<name>/state.pt and training resumes from it
by default (--no-resume to start over).  Validation rows go to train/runs/<name>/log.csv.
"""

import argparse
import csv
import io
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bbcu_torch as B  # noqa: E402

B.FAST_TRAIN_STE = True  # same forward values/gradients as the official STE, fewer kernels

IMG_EXT = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")

MODELS = {
    # name: arch, constructor kwargs, task, scale, default patch (LR side for SR)
    "sr_x2": ("bbcum", dict(num_in_ch=3, num_out_ch=3, num_feat=32, num_block=4, upscale=2), "sr", 2, 32),
    "sr_x4": ("bbcum", dict(num_in_ch=3, num_out_ch=3, num_feat=32, num_block=4, upscale=4), "sr", 4, 24),
    "denoise": ("dncnn", dict(in_nc=3, out_nc=3, nc=32, nb=10, bias=False), "denoise", 1, 48),
    "deblock": ("dncnn3", dict(in_nc=1, out_nc=1, nc=32, nb=10, bias=True), "deblock", 1, 40),
    # iCE40-sized variants: 16 channels and fewer binary units, so that weights, constants
    # and feature rings fit the UP5K's 30 EBR and 4 SPRAM (see arch/presets/ice40-up5k.toml).
    "sr_x2_small": ("bbcum", dict(num_in_ch=3, num_out_ch=3, num_feat=16, num_block=2, upscale=2), "sr", 2, 32),
    "sr_x4_small": ("bbcum", dict(num_in_ch=3, num_out_ch=3, num_feat=16, num_block=2, upscale=4), "sr", 4, 24),
    "denoise_small": ("dncnn", dict(in_nc=3, out_nc=3, nc=16, nb=6, bias=False), "denoise", 1, 48),
    "deblock_small": ("dncnn3", dict(in_nc=1, out_nc=1, nc=16, nb=6, bias=True), "deblock", 1, 40),
}
CHANNELS = 32
K = 130.0 * CHANNELS / 64.0  # 65


def channels(name):
    kw = MODELS[name][1]
    return kw.get("num_feat", kw.get("nc"))


def k_of(name):
    """Residual-alignment factor k = 130 * C / 64 (the official value for C = 64 is 130)."""
    return 130.0 * channels(name) / 64.0


class UserError(Exception):
    pass


def die(msg):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(1)


# ---------------------------------------------------------------------------------------
# image utilities
# ---------------------------------------------------------------------------------------
def list_images(folder):
    if not os.path.isdir(folder):
        raise UserError(f"data folder not found: {folder}")
    files = []
    for root, _dirs, names in os.walk(folder):
        for n in names:
            if n.lower().endswith(IMG_EXT):
                files.append(os.path.join(root, n))
    files.sort()
    if not files:
        raise UserError(f"no images ({', '.join(IMG_EXT)}) in data folder: {folder}")
    return files


def read_image(path, mode="RGB"):
    try:
        with Image.open(path) as im:
            im.load()
            return np.asarray(im.convert(mode), dtype=np.uint8).copy()
    except Exception as e:  # noqa: BLE001 - any decode failure is a user-facing error
        raise UserError(f"cannot read image {path}: {e.__class__.__name__}: {e}") from None


def rgb2y_u8(rgb):
    """MATLAB rgb2ycbcr Y of a uint8 RGB image, rounded to uint8."""
    y = rgb.astype(np.float64) @ np.array([65.481, 128.553, 24.966]) / 255.0 + 16.0
    return np.clip(np.round(y), 0, 255).astype(np.uint8)


def y_float(rgb_u8):
    """BasicSR test_y_channel Y (0-255 units, not rounded)."""
    return (rgb_u8.astype(np.float64) / 255.0) @ np.array([65.481, 128.553, 24.966]) + 16.0


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10.0 * math.log10(255.0 ** 2 / mse)


def jpeg_roundtrip(gray_u8, quality):
    buf = io.BytesIO()
    Image.fromarray(gray_u8, mode="L").save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("L"), dtype=np.uint8).copy()


# MATLAB imresize (bicubic, a = -0.5, antialiasing when downscaling) ----------------------
def _cubic(x):
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2)))


def imresize_matrix(in_len, out_len, scale):
    """Dense (out_len x in_len) matrix of MATLAB's imresize weights along one axis."""
    kernel_width = 4.0
    if scale < 1:
        def h(x):
            return scale * _cubic(scale * x)
        kernel_width = kernel_width / scale
    else:
        h = _cubic
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - kernel_width / 2.0)
    p = int(math.ceil(kernel_width)) + 2
    idx = left[:, None] + np.arange(p, dtype=np.float64)[None, :]  # 1-based
    w = h(u[:, None] - idx)
    w = w / w.sum(axis=1, keepdims=True)
    # symmetric boundary (MATLAB "symmetric" padding): mirror 1..n, n..1
    aux = np.concatenate([np.arange(1, in_len + 1), np.arange(in_len, 0, -1)])
    idx = aux[np.mod(idx.astype(np.int64) - 1, aux.size)] - 1
    m = np.zeros((out_len, in_len), dtype=np.float64)
    rows = np.repeat(np.arange(out_len), p)
    np.add.at(m, (rows, idx.ravel()), w.ravel())
    return m


def _round_u8(x):
    """MATLAB uint8 conversion: round half away from zero, saturate."""
    return np.clip(np.floor(x + 0.5), 0, 255)


def imresize_down(img_u8, s):
    """MATLAB imresize(img, 1/s, 'bicubic') of an HWC/HW uint8 image whose sides divide by s.

    Like MATLAB for uint8 input: the height pass runs first and its result is rounded to
    uint8 before the width pass.  This reproduces shared/data/Set5/LR_bicubic/X{2,3,4}
    exactly (0 differing pixels)."""
    h, w = img_u8.shape[:2]
    mh = imresize_matrix(h, h // s, 1.0 / s)
    mw = imresize_matrix(w, w // s, 1.0 / s)
    x = img_u8.astype(np.float64)
    if x.ndim == 2:
        out = _round_u8(mh @ x) @ mw.T
    else:
        c = x.shape[2]
        out = _round_u8(mh @ x.reshape(h, w * c)).reshape(h // s, w, c)  # height pass (BLAS)
        out = (mw @ out.transpose(1, 0, 2).reshape(w, -1)).reshape(w // s, h // s, c)
        out = out.transpose(1, 0, 2)
    return _round_u8(out).astype(np.uint8)


# ---------------------------------------------------------------------------------------
# training data
# ---------------------------------------------------------------------------------------
def augment(arrs, rng):
    hflip, vflip, rot = rng.random() < 0.5, rng.random() < 0.5, rng.random() < 0.5
    out = []
    for a in arrs:
        if hflip:
            a = a[:, ::-1]
        if vflip:
            a = a[::-1, :]
        if rot:
            a = a.swapaxes(0, 1)
        out.append(a)
    return out


class Sampler:
    """Makes training batches on the fly from images held in RAM as uint8.

    All randomness comes from the global numpy RNG (crops, flips, JPEG quality) and the global
    torch RNG (noise), so saving/restoring those states makes resume exact."""

    def __init__(self, task, scale, patch, batch, files):
        self.task, self.s, self.p, self.batch = task, scale, patch, batch
        hr_need = patch * scale if task == "sr" else (patch + 8 if task == "deblock" else patch)
        self.imgs, self.lrs, skipped = [], [], 0
        for f in files:
            im = read_image(f, "RGB")
            if min(im.shape[:2]) < hr_need:
                skipped += 1
                continue
            if task == "sr":
                h, w = (im.shape[0] // scale) * scale, (im.shape[1] // scale) * scale
                im = np.ascontiguousarray(im[:h, :w])
                self.lrs.append(imresize_down(im, scale))
            elif task == "deblock":
                im = rgb2y_u8(im)
            self.imgs.append(im)
        if not self.imgs:
            raise UserError(f"no training image is at least {hr_need}x{hr_need} pixels")
        self.skipped = skipped
        self.rng = np.random  # global numpy RNG (state saved in checkpoints)

    def batch_tensors(self):
        lq, gt = [], []
        for _ in range(self.batch):
            i = self.rng.randint(len(self.imgs))
            hr = self.imgs[i]
            if self.task == "sr":
                lr = self.lrs[i]
                y = self.rng.randint(lr.shape[0] - self.p + 1)
                x = self.rng.randint(lr.shape[1] - self.p + 1)
                a = lr[y:y + self.p, x:x + self.p]
                b = hr[y * self.s:(y + self.p) * self.s, x * self.s:(x + self.p) * self.s]
                a, b = augment([a, b], self.rng)
            elif self.task == "denoise":
                y = self.rng.randint(hr.shape[0] - self.p + 1)
                x = self.rng.randint(hr.shape[1] - self.p + 1)
                (b,) = augment([hr[y:y + self.p, x:x + self.p]], self.rng)
                a = None
            else:  # deblock: compress a (p+8)^2 crop, then take a p^2 crop of it
                q = self.p + 8
                y = self.rng.randint(hr.shape[0] - q + 1)
                x = self.rng.randint(hr.shape[1] - q + 1)
                (c,) = augment([hr[y:y + q, x:x + q]], self.rng)
                c = np.ascontiguousarray(c)
                j = jpeg_roundtrip(c, self.rng.randint(10, 51))
                oy, ox = self.rng.randint(9), self.rng.randint(9)
                a = j[oy:oy + self.p, ox:ox + self.p]
                b = c[oy:oy + self.p, ox:ox + self.p]
            gt.append(np.ascontiguousarray(b))
            if a is not None:
                lq.append(np.ascontiguousarray(a))
        gt_t = _to_tensor(np.stack(gt))
        if self.task == "denoise":
            sigma = torch.rand(self.batch, 1, 1, 1) * (75.0 / 255.0)
            lq_t = gt_t + torch.randn(gt_t.shape) * sigma  # not clipped
        else:
            lq_t = _to_tensor(np.stack(lq))
        return lq_t, gt_t


def _to_tensor(u8):
    """N,H,W[,C] uint8 -> N,C,H,W float32 in [0,1]."""
    t = torch.from_numpy(u8).float().div_(255.0)
    if t.dim() == 3:
        return t.unsqueeze(1)
    return t.permute(0, 3, 1, 2).contiguous()


# ---------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------
class Validator:
    def __init__(self, task, scale, root):
        self.task, self.s = task, scale
        self.items = []
        if task == "sr":
            hr_dir = os.path.join(root, "Set5", "HR")
            lr_dir = os.path.join(root, "Set5", "LR_bicubic", f"X{scale}")
            for f in list_images(hr_dir):
                name = os.path.splitext(os.path.basename(f))[0]
                lr_path = os.path.join(lr_dir, f"{name}x{scale}.png")
                if not os.path.isfile(lr_path):
                    raise UserError(f"missing validation LR image: {lr_path}")
                lr = read_image(lr_path, "RGB")
                hr = read_image(f, "RGB")[:lr.shape[0] * scale, :lr.shape[1] * scale]
                self.items.append((name, lr, hr))
            self.desc = f"Set5 x{scale} PSNR-Y crop {scale}"
        elif task == "denoise":
            files = list_images(os.path.join(root, "Kodak24"))[:4]
            for f in files:
                hr = read_image(f, "RGB")
                h, w = hr.shape[:2]
                y0, x0 = (h - 256) // 2, (w - 256) // 2
                hr = np.ascontiguousarray(hr[y0:y0 + 256, x0:x0 + 256])
                rs = np.random.RandomState(0)  # KAIR: np.random.seed(0) per image
                lq = hr.astype(np.float64) / 255.0 + rs.normal(0, 25 / 255.0, hr.shape)
                self.items.append((os.path.basename(f), lq.astype(np.float32), hr))
            self.desc = "Kodak24[0:4] centre 256x256 sigma 25 PSNR-RGB"
        else:
            # compress the whole image (JPEG grid as in the real test), then score the centre
            # 256x256 (offset a multiple of 8) to keep validation cheap on one CPU thread
            for f in list_images(os.path.join(root, "classic5")):
                hr = read_image(f, "L")
                lq = jpeg_roundtrip(hr, 20)
                h, w = hr.shape
                y0, x0 = ((h - 256) // 2) // 8 * 8, ((w - 256) // 2) // 8 * 8
                crop = (slice(y0, y0 + 256), slice(x0, x0 + 256))
                self.items.append((os.path.basename(f), np.ascontiguousarray(lq[crop]),
                                   np.ascontiguousarray(hr[crop])))
            self.desc = "classic5 q20 (Pillow JPEG of full image) centre 256x256 PSNR-Y"

    @torch.no_grad()
    def run(self, model, device):
        model.eval()
        scores = []
        for _name, lq, hr in self.items:
            if lq.dtype == np.uint8:
                x = _to_tensor(lq[None])
            else:
                x = torch.from_numpy(lq).permute(2, 0, 1)[None].contiguous()
            out = model(x.to(device)).clamp_(0, 1).mul_(255.0).round_().byte().cpu()[0]
            out = out.permute(1, 2, 0).numpy()
            if self.task == "sr":
                c = self.s
                scores.append(psnr(y_float(out)[c:-c, c:-c], y_float(hr)[c:-c, c:-c]))
            elif self.task == "denoise":
                scores.append(psnr(out, hr))
            else:
                scores.append(psnr(out[..., 0], hr))
        model.train()
        return float(np.mean(scores))


# ---------------------------------------------------------------------------------------
# checkpointing
# ---------------------------------------------------------------------------------------
def atomic_save(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def rng_state():
    st = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def set_rng_state(st):
    torch.set_rng_state(st["torch"])
    np.random.set_state(st["numpy"])
    random.setstate(st["python"])
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda"])


LOG_FIELDS = ["iter", "loss", "val_psnr", "seconds", "lr"]


def trim_log(path, max_iter):
    """Drop log rows written after the checkpoint we resume from."""
    if not os.path.isfile(path):
        return
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if int(r["iter"]) <= max_iter]
    with open(path + ".tmp", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=LOG_FIELDS)
        w.writeheader()
        w.writerows(rows)
    os.replace(path + ".tmp", path)


def append_log(path, row):
    new = not os.path.isfile(path)
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=LOG_FIELDS)
        if new:
            w.writeheader()
        w.writerow(row)
        f.flush()


# ---------------------------------------------------------------------------------------
def build(name):
    arch, kw, _task, _s, _p = MODELS[name]
    return B.build_model(arch, k=k_of(name), **kw)


def main():
    ap = argparse.ArgumentParser(description="Train a small BBCU model (official checkpoint format).")
    ap.add_argument("--model", required=True, choices=sorted(MODELS))
    ap.add_argument("--iters", type=int, required=False, default=None,
                    help="total training iterations (required unless --bench)")
    ap.add_argument("--data", default="/work/shared/data/train",
                    help="folder searched recursively for training images")
    ap.add_argument("--val-data", default="/work/shared/data",
                    help="folder holding Set5/, Kodak24/, classic5/")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--out", default=os.path.join(REPO, "models"), help="export folder")
    ap.add_argument("--runs", default=os.path.join(HERE, "runs"), help="state/log folder")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--patch", type=int, default=None,
                    help="patch size (LR side for SR); default 32 (x2), 24 (x4), 48 denoise, 40 deblock")
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--eta-min", type=float, default=1e-6, help="final cosine learning rate")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--val-every", type=int, default=None, help="default: iters/20 (min 100)")
    ap.add_argument("--save-every", type=int, default=250)
    ap.add_argument("--print-every", type=int, default=100)
    ap.add_argument("--resume", dest="resume", action="store_true", default=True)
    ap.add_argument("--no-resume", dest="resume", action="store_false")
    ap.add_argument("--bench", type=float, default=None, metavar="SECONDS",
                    help="only measure training it/s for SECONDS (no state, no export)")
    args = ap.parse_args()
    try:
        return run(args)
    except UserError as e:
        die(str(e))


def run(args):
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    if args.iters is None and args.bench is None:
        raise UserError("--iters N is required")
    if args.iters is not None and args.iters <= 0:
        raise UserError("--iters must be positive")
    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    elif args.device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda requested but CUDA is not available")
    else:
        device = torch.device(args.device)

    name = args.model
    arch, kw, task, scale, default_patch = MODELS[name]
    patch = args.patch or default_patch

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    t0 = time.time()
    files = list_images(args.data)
    sampler = Sampler(task, scale, patch, args.batch, files)
    validator = Validator(task, scale, args.val_data)
    print(f"[{name}] {len(sampler.imgs)} training images ({sampler.skipped} too small skipped) "
          f"from {args.data}; val: {validator.desc}; data ready in {time.time() - t0:.1f}s; "
          f"device {device}, threads {args.threads}", flush=True)

    model = build(name).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.99), weight_decay=0)

    if args.bench is not None:
        return bench(args, model, opt, sampler, validator, device)

    total = args.iters
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total, eta_min=args.eta_min)
    val_every = args.val_every or max(100, total // 20)
    run_dir = os.path.join(args.runs, name)
    os.makedirs(run_dir, exist_ok=True)
    state_path = os.path.join(run_dir, "state.pt")
    log_path = os.path.join(run_dir, "log.csv")

    it, elapsed = 0, 0.0
    if args.resume and os.path.isfile(state_path):
        st = torch.load(state_path, map_location="cpu", weights_only=False)
        if st["total_iters"] != total:
            raise UserError(f"{state_path} was made with --iters {st['total_iters']}, not {total}; "
                            f"use the same --iters or --no-resume")
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["optimizer"])
        sched.load_state_dict(st["scheduler"])
        set_rng_state(st["rng"])
        it, elapsed = st["iter"], st["elapsed"]
        trim_log(log_path, it)
        print(f"[{name}] resumed from {state_path} at iter {it} ({elapsed:.0f}s trained)", flush=True)
    else:
        if os.path.isfile(log_path):
            os.remove(log_path)
        psnr0 = validator.run(model, device)
        append_log(log_path, dict(iter=0, loss="", val_psnr=f"{psnr0:.4f}", seconds="0.0",
                                  lr=f"{opt.param_groups[0]['lr']:.3e}"))
        print(f"[{name}] iter 0 val {psnr0:.3f} dB ({validator.desc})", flush=True)

    def save_state():
        atomic_save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                     "scheduler": sched.state_dict(), "rng": rng_state(), "iter": it,
                     "elapsed": elapsed, "total_iters": total, "name": name,
                     "args": vars(args), "patch": patch, "k": k_of(name)}, state_path)

    model.train()
    loss_sum, loss_n = 0.0, 0
    seg_start = time.time()
    base_elapsed = elapsed
    last_print = time.time()
    while it < total:
        lq, gt = sampler.batch_tensors()
        lq, gt = lq.to(device, non_blocking=True), gt.to(device, non_blocking=True)
        out = model(lq)
        loss = F.l1_loss(out, gt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        it += 1
        lv = float(loss.detach())
        loss_sum += lv
        loss_n += 1
        elapsed = base_elapsed + (time.time() - seg_start)
        if not math.isfinite(lv):
            raise SystemExit(f"error: non-finite loss at iter {it}")
        if it % args.print_every == 0:
            now = time.time()
            print(f"[{name}] iter {it}/{total} loss {loss_sum / max(loss_n, 1):.5f} "
                  f"lr {opt.param_groups[0]['lr']:.2e} {args.print_every / (now - last_print):.2f} it/s "
                  f"elapsed {elapsed / 60:.1f} min", flush=True)
            last_print = now
        if it % val_every == 0 or it == total:
            v = validator.run(model, device)
            elapsed = base_elapsed + (time.time() - seg_start)
            append_log(log_path, dict(iter=it, loss=f"{loss_sum / max(loss_n, 1):.6f}",
                                      val_psnr=f"{v:.4f}", seconds=f"{elapsed:.1f}",
                                      lr=f"{opt.param_groups[0]['lr']:.3e}"))
            print(f"[{name}] iter {it} val {v:.3f} dB", flush=True)
            loss_sum, loss_n = 0.0, 0
            save_state()
        elif it % args.save_every == 0:
            save_state()

    if not os.path.isfile(state_path):
        save_state()
    export(name, model, args, it, elapsed, log_path, validator.desc, patch)
    return 0


def export(name, model, args, it, elapsed, log_path, val_desc, patch):
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"{name}.pth")
    model = model.to("cpu").eval()
    arch, kw, task, scale, _ = MODELS[name]
    tmp = path + ".tmp"
    B.save_official(model, tmp, B.container_kind(model))
    os.replace(tmp, path)
    # strict reload check in a fresh module
    fresh = build(name)
    B.load_official(fresh, path, strict=True)
    last = None
    if os.path.isfile(log_path):
        with open(log_path, newline="") as f:
            rows = list(csv.DictReader(f))
        last = rows[-1] if rows else None
    card = {"name": name, "arch": arch, **kw, "k": k_of(name), "task": task, "scale": scale,
            "container": "basicsr_params" if task == "sr" else "kair_bare_state_dict",
            "iters": it, "train_seconds": round(elapsed, 1), "batch": args.batch,
            "patch": patch, "lr": args.lr, "seed": args.seed,
            "final_val": {"metric": val_desc, "psnr": float(last["val_psnr"]) if last else None},
            "torch_version": torch.__version__}
    with open(os.path.join(args.out, f"{name}.json"), "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    print(f"[{name}] exported {path} (iter {it}, {elapsed / 60:.1f} min)", flush=True)


def bench(args, model, opt, sampler, validator, device):
    model.train()

    def step():
        lq, gt = sampler.batch_tensors()
        loss = F.l1_loss(model(lq.to(device)), gt.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    t = time.time()
    n = 0
    while time.time() - t < args.bench:
        step()
        n += 1
    ips = n / (time.time() - t)
    tb = time.time()
    for _ in range(10):
        sampler.batch_tensors()
    data_s = (time.time() - tb) / 10
    tv = time.time()
    validator.run(model, device)
    val_s = time.time() - tv
    print(f"BENCH {args.model}: {ips:.3f} it/s ({n} iters in {args.bench:.0f}s, batch {args.batch}), "
          f"data {data_s * 1000:.1f} ms/batch, validation {val_s:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
