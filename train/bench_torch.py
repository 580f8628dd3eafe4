"""Times a PyTorch float forward of BBCU-M for `bbcu-host bench` (prints one JSON line).

Same model shape and input size as the Rust benchmark; weights are the default init (the
timing does not depend on their values). Uses every core, as the Rust engine does.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import torch
except ImportError:
    sys.exit("PyTorch is not installed")

from bbcu_torch import BBCUM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--feat", type=int, default=64)
    ap.add_argument("--blocks", type=int, default=16)
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--height", type=int, default=180)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    torch.manual_seed(0)
    net = BBCUM(num_in_ch=3, num_out_ch=3, num_feat=a.feat, num_block=a.blocks, upscale=a.scale, k=130.0).eval()
    x = torch.rand(1, 3, a.height, a.width)
    best = float("inf")
    with torch.inference_mode():
        net(x)  # warm-up: allocator and kernel selection
        for _ in range(max(1, a.reps)):
            t = time.perf_counter()
            net(x)
            best = min(best, time.perf_counter() - t)
    print(json.dumps({"seconds": best, "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
