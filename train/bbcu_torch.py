"""PyTorch re-implementation of the BBCU networks (ICLR 2023, Zj-BinXia/BBCU).

Written from `shared/docs/bbcu-reference.md` (sections 2, 3 and 5), not copied from
the official repository.  Module and attribute names follow the official code so
that `state_dict()` keys match the released checkpoints exactly:

* SR (BasicSR container ``{'params': state_dict}``): ``BBCUL``, ``BBCUM``
* denoise / deblock (KAIR container, bare state_dict): ``DnCNN``

Forward semantics (all reproduced here):
* ``BinaryActivation``: forward = torch.sign (ternary, sign(0)=0); backward = ApproxSign
  through the STE expression ``sign(x).detach() - q.detach() + q``.
* ``HardBinaryConv``: alpha[o] = mean|W| over dims 3, 2, 1 (nested, detached);
  Wb = alpha*sign(W) with STE through clamp(W,-1,1); zero padding of the binarised input.
* ``BinaryConv2d`` (BBCU-B): relu(binary_conv(binary_activation(move0(x)))) + x, relu = RPReLU.
* ``BinaryUpConv2d`` (BBCU-U): PixelShuffle(RPReLU(HBConv(sign(x+move0)))) + nearest(x).
* networks multiply the [0,1] input by k and divide the output by k.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "LearnableBias", "RPReLU", "BinaryActivation", "HardBinaryConv", "BinaryConv2d",
    "BinaryUpConv2d", "BinaryBlock", "BBCUL", "BBCUM", "DnCNN", "build_model",
    "save_official", "load_official", "container_kind",
]


# ---------------------------------------------------------------------------------------
# building blocks (reference section 2)
# ---------------------------------------------------------------------------------------
class LearnableBias(nn.Module):
    """Per-channel additive bias, parameter ``bias`` of shape [1, C, 1, 1] (init 0)."""

    def __init__(self, out_chn):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, out_chn, 1, 1), requires_grad=True)

    def forward(self, x):
        return x + self.bias.expand_as(x)


class RPReLU(nn.Module):
    """y = PReLU_c(x + pr_bias0) + pr_bias1 (PReLU slopes init 0.25)."""

    def __init__(self, hidden_size):
        super().__init__()
        self.pr_bias0 = LearnableBias(hidden_size)
        self.pr_prelu = nn.PReLU(hidden_size)
        self.pr_bias1 = LearnableBias(hidden_size)

    def forward(self, x):
        x = self.pr_bias0(x)
        x = self.pr_prelu(x)
        x = self.pr_bias1(x)
        return x


# Training speed-up (off by default).  When True, modules in *training* mode use custom
# autograd functions with the same forward values (sign(x); alpha*sign(W)) and the same
# gradients as the official STE expressions, but far fewer element-wise kernels.  The only
# difference: the official weight expression (alpha*s - Wc) + Wc can differ from alpha*s by
# 1 ulp in ~1% of elements (reference section 2.3).  Eval mode always runs the official code.
FAST_TRAIN_STE = False


class _SignApproxSign(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sign(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        # d/dx of q(x): 2+2x on [-1,0), 2-2x on [0,1), 0 elsewhere  ==  max(0, 2-2|x|)
        return g * torch.clamp(2.0 - 2.0 * x.abs(), min=0.0)


class _ScaledSignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w, alpha):
        ctx.save_for_backward(w)
        return alpha * torch.sign(w)

    @staticmethod
    def backward(ctx, g):
        (w,) = ctx.saved_tensors
        # gradient of clamp(w, -1, 1) (inclusive bounds, as torch.clamp)
        return g * (w.abs() <= 1.0).to(g.dtype), None


class BinaryActivation(nn.Module):
    """Ternary torch.sign in the forward pass, ApproxSign gradient in the backward pass."""

    def forward(self, x):
        if FAST_TRAIN_STE and self.training:
            return _SignApproxSign.apply(x)
        s = torch.sign(x)
        lt_m1 = (x < -1).to(x.dtype)
        lt_0 = (x < 0).to(x.dtype)
        lt_p1 = (x < 1).to(x.dtype)
        # piecewise polynomial q(x): -1 | x^2+2x | -x^2+2x | 1
        q = -1.0 * lt_m1 + (x * x + 2 * x) * (1 - lt_m1)
        q = q * lt_0 + (-x * x + 2 * x) * (1 - lt_0)
        q = q * lt_p1 + 1.0 * (1 - lt_p1)
        return s.detach() - q.detach() + q


class HardBinaryConv(nn.Conv2d):
    """nn.Conv2d whose latent FP32 weight is binarised as alpha_o * sign(W) on every forward."""

    def __init__(self, in_chn, out_chn, kernel_size=3, stride=1, padding=1, bias=False):
        super().__init__(in_chn, out_chn, kernel_size, stride=stride, padding=padding, bias=bias)

    def binary_weight(self):
        w = self.weight
        alpha = w.abs().mean(dim=3, keepdim=True).mean(dim=2, keepdim=True).mean(dim=1, keepdim=True)
        alpha = alpha.detach()
        if FAST_TRAIN_STE and self.training:
            return _ScaledSignSTE.apply(w, alpha)
        wb_ng = alpha * torch.sign(w)
        wc = torch.clamp(w, -1.0, 1.0)
        return wb_ng.detach() - wc.detach() + wc

    def forward(self, x):
        return F.conv2d(x, self.binary_weight(), self.bias, stride=self.stride, padding=self.padding)


class BinaryConv2d(nn.Module):
    """BBCU-B: out = RPReLU(HBConv(sign(x + move0))) + x."""

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, bias=False):
        super().__init__()
        self.move0 = LearnableBias(in_channels)
        self.binary_activation = BinaryActivation()
        self.binary_conv = HardBinaryConv(in_channels, out_channels, kernel_size, stride=stride,
                                          padding=kernel_size // 2, bias=bias)
        self.relu = RPReLU(out_channels)

    def forward(self, x):
        out = self.move0(x)
        out = self.binary_activation(out)
        out = self.binary_conv(out)
        out = self.relu(out)
        return out + x


class BinaryUpConv2d(nn.Module):
    """BBCU-U: PixelShuffle(RPReLU(HBConv(sign(x + move0)))) + nearest_upsample(x)."""

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, bias=False, upscale=2):
        super().__init__()
        self.move0 = LearnableBias(in_channels)
        self.binary_activation = BinaryActivation()
        self.binary_conv = HardBinaryConv(in_channels, out_channels, kernel_size, stride=stride,
                                          padding=kernel_size // 2, bias=bias)
        self.relu = RPReLU(out_channels)
        self.r = 3 if upscale == 3 else 2  # upscale=4 maps to a x2 unit (never used by BBCUM)
        self.pixel_shuffle = nn.PixelShuffle(self.r)

    def forward(self, x):
        out = self.move0(x)
        out = self.binary_activation(out)
        out = self.binary_conv(out)
        out = self.relu(out)
        out = self.pixel_shuffle(out)
        return out + F.interpolate(x, scale_factor=self.r, mode="nearest")


class BinaryBlock(nn.Module):
    """Two sequential BBCU-B units, registered as ``.body`` (no block-level residual)."""

    def __init__(self, num_feat=64, bias=False):
        super().__init__()
        self.body = nn.Sequential(
            BinaryConv2d(num_feat, num_feat, 3, bias=bias),
            BinaryConv2d(num_feat, num_feat, 3, bias=bias),
        )

    def forward(self, x):
        return self.body(x)


# ---------------------------------------------------------------------------------------
# init helper (BasicSR default_init_weights: kaiming_normal * scale, bias 0)
# ---------------------------------------------------------------------------------------
@torch.no_grad()
def default_init_weights(module_list, scale=1.0):
    if not isinstance(module_list, (list, tuple)):
        module_list = [module_list]
    for module in module_list:
        for m in module.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
                m.weight.mul_(scale)
                if m.bias is not None:
                    m.bias.fill_(0)


def _check_upscale(upscale):
    if upscale not in (2, 3, 4):
        raise ValueError(f"upscale must be 2, 3 or 4 (got {upscale})")


# ---------------------------------------------------------------------------------------
# networks (reference section 3)
# ---------------------------------------------------------------------------------------
class BBCUL(nn.Module):
    """BBCU-L: FP head, binary body (2*num_block BBCU-B), FP upsampler, FP conv_hr, FP tail."""

    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=64, num_block=16, upscale=4, k=130.0):
        super().__init__()
        _check_upscale(upscale)
        self.upscale = upscale
        self.k = float(k)
        self.conv_first = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[BinaryBlock(num_feat) for _ in range(num_block)])
        if upscale in (2, 3):
            self.upconv1 = nn.Conv2d(num_feat, num_feat * upscale * upscale, 3, 1, 1)
            self.pixel_shuffle = nn.PixelShuffle(upscale)
        else:
            self.upconv1 = nn.Conv2d(num_feat, num_feat * 4, 3, 1, 1)
            self.upconv2 = nn.Conv2d(num_feat, num_feat * 4, 3, 1, 1)
            self.pixel_shuffle = nn.PixelShuffle(2)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)
        init = [self.conv_first, self.upconv1, self.conv_hr, self.conv_last]
        if upscale == 4:
            init.append(self.upconv2)
        default_init_weights(init, 0.1)

    def forward(self, x):
        x = x * self.k
        feat = self.lrelu(self.conv_first(x))
        out = self.body(feat)
        if self.upscale == 4:
            out = self.lrelu(self.pixel_shuffle(self.upconv1(out)))
            out = self.lrelu(self.pixel_shuffle(self.upconv2(out)))
        else:
            out = self.lrelu(self.pixel_shuffle(self.upconv1(out)))
        out = self.conv_last(self.lrelu(self.conv_hr(out)))
        base = F.interpolate(x, scale_factor=self.upscale, mode="bilinear", align_corners=False)
        out = out + base
        return out / self.k


class BBCUM(nn.Module):
    """BBCU-M: FP head, binary body, binary upsampler (BBCU-U), binary conv_hr, FP tail."""

    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=64, num_block=16, upscale=4, k=130.0):
        super().__init__()
        _check_upscale(upscale)
        self.upscale = upscale
        self.k = float(k)
        self.conv_first = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[BinaryBlock(num_feat) for _ in range(num_block)])
        if upscale in (2, 3):
            self.upconv1 = BinaryUpConv2d(num_feat, num_feat * upscale * upscale, 3,
                                          bias=False, upscale=upscale)
        else:
            self.upconv1 = BinaryUpConv2d(num_feat, num_feat * 4, 3, bias=False, upscale=2)
            self.upconv2 = BinaryUpConv2d(num_feat, num_feat * 4, 3, bias=False, upscale=2)
        self.conv_hr = BinaryConv2d(num_feat, num_feat, 3, bias=False)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)
        init = [self.conv_first, self.upconv1, self.conv_hr, self.conv_last]
        if upscale == 4:
            init.append(self.upconv2)
        default_init_weights(init, 0.1)

    def forward(self, x):
        x = x * self.k
        feat = self.lrelu(self.conv_first(x))
        out = self.body(feat)
        if self.upscale == 4:
            out = self.upconv1(out)
            out = self.upconv2(out)
        else:
            out = self.upconv1(out)
        out = self.conv_last(self.lrelu(self.conv_hr(out)))
        base = F.interpolate(x, scale_factor=self.upscale, mode="bilinear", align_corners=False)
        out = out + base
        return out / self.k


class DnCNN(nn.Module):
    """Binary DnCNN (KAIR flattening): model.0 conv, model.1 ReLU, model.2..model.{nb-1}
    BBCU-B, model.{nb} tail conv.  ``nb`` counts all conv layers (>= 3).

    bias=False, 3 channels: colour denoiser (``dncnn_b``).
    bias=True, 1 channel: grey JPEG deblocker (``dncnn3_b``); every conv including every
    HardBinaryConv then carries a bias.
    forward: (x*k - model(x*k)) / k
    """

    def __init__(self, in_nc=3, out_nc=3, nc=64, nb=20, k=130.0, bias=False):
        super().__init__()
        if nb < 3:
            raise ValueError(f"nb must be >= 3 (got {nb})")
        self.k = float(k)
        layers = [nn.Conv2d(in_nc, nc, 3, 1, 1, bias=bias), nn.ReLU(inplace=True)]
        layers += [BinaryConv2d(nc, nc, 3, bias=bias) for _ in range(nb - 2)]
        layers += [nn.Conv2d(nc, out_nc, 3, 1, 1, bias=bias)]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        x = x * self.k
        n = self.model(x)
        return (x - n) / self.k


# ---------------------------------------------------------------------------------------
# construction / containers (reference section 5.4)
# ---------------------------------------------------------------------------------------
def build_model(arch, **kw):
    """arch: 'bbcul' | 'bbcum' | 'dncnn' (colour denoise, bias False) | 'dncnn3' (deblock)."""
    arch = arch.lower()
    if arch == "bbcul":
        return BBCUL(**kw)
    if arch == "bbcum":
        return BBCUM(**kw)
    if arch in ("dncnn", "dncnn_b", "denoise"):
        kw.setdefault("in_nc", 3)
        kw.setdefault("out_nc", 3)
        kw.setdefault("bias", False)
        return DnCNN(**kw)
    if arch in ("dncnn3", "dncnn3_b", "deblock"):
        kw.setdefault("in_nc", 1)
        kw.setdefault("out_nc", 1)
        kw.setdefault("bias", True)
        return DnCNN(**kw)
    raise ValueError(f"unknown arch {arch!r}")


def container_kind(model_or_kind):
    """'sr' for BasicSR models ({'params': sd}), 'dncnn' for KAIR models (bare sd)."""
    if isinstance(model_or_kind, str):
        k = model_or_kind.lower()
        if k in ("sr", "bbcul", "bbcum") or k.startswith("bbcu") or k.startswith("sr_"):
            return "sr"
        if k in ("dncnn", "kair", "denoise", "deblock", "dncnn_b", "dncnn3", "dncnn3_b"):
            return "dncnn"
        raise ValueError(f"unknown container kind {model_or_kind!r}")
    if isinstance(model_or_kind, (BBCUL, BBCUM)):
        return "sr"
    if isinstance(model_or_kind, DnCNN):
        return "dncnn"
    raise ValueError(f"cannot infer container kind of {type(model_or_kind).__name__}")


def save_official(model, path, kind=None):
    """torch.save in the official container: {'params': sd} (SR) or a bare sd (DnCNN)."""
    kind = container_kind(model if kind is None else kind)
    sd = {k: v.detach().cpu().clone().float() for k, v in model.state_dict().items()}
    obj = {"params": sd} if kind == "sr" else sd
    torch.save(obj, path)


def load_official(model, path, strict=True):
    """Load an official-container checkpoint into ``model`` (strict by default)."""
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, dict) and "params" in obj and isinstance(obj["params"], dict):
        obj = obj["params"]
    model.load_state_dict(obj, strict=strict)
    return model


if __name__ == "__main__":  # quick key/shape self-check against reference section 5
    torch.set_num_threads(1)
    m = BBCUM(num_feat=64, num_block=16, upscale=4)
    sd = m.state_dict()
    assert len(sd) == 179, len(sd)
    assert list(sd)[2] == "body.0.body.0.move0.bias"
    assert BBCUM(upscale=2).state_dict().__len__() == 174
    assert len(BBCUL(upscale=4).state_dict()) == 170
    assert len(BBCUL(upscale=2).state_dict()) == 168
    assert len(DnCNN(3, 3, 64, 20, bias=False).state_dict()) == 92
    assert len(DnCNN(1, 1, 64, 20, bias=True).state_dict()) == 112
    assert tuple(BBCUM(upscale=3).state_dict()["upconv1.binary_conv.weight"].shape) == (576, 64, 3, 3)
    print("key counts OK")
