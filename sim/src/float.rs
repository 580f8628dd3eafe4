//! The float32 reference forward: the released PyTorch semantics, written plainly.
//!
//! Canonical choices where PyTorch itself is not reproducible bit for bit
//! (`bbcu-reference.md` §2.3, §10.12): a binary conv is `α_o · P_o` with `P_o` the exact
//! integer ternary dot product; a full-precision conv accumulates in f32 over
//! (input channel, kernel row, kernel column) and adds the bias last. The fast engine follows
//! the same order, so the two agree exactly.

use crate::network::{valid_taps, Act, BinaryConv, Conv, Global, Layer, Network};
use crate::planes::Planes;
use ndarray::Array3;

/// `torch.sign`: -1, 0 or +1.
#[inline]
pub fn sign(v: f32) -> i32 {
    if v > 0.0 {
        1
    } else if v < 0.0 {
        -1
    } else {
        0
    }
}

/// The network input as PyTorch sees it: `(p / 255) · k` in f32.
pub fn scaled_input(input: &Planes, k: f32) -> Array3<f32> {
    Array3::from_shape_fn((input.channels, input.height, input.width), |(c, y, x)| {
        (input.get(c, y, x) as f32 / 255.0) * k
    })
}

/// Runs the whole network; returns the output in image units (`/k` applied, not clamped).
pub fn forward(net: &Network, input: &Planes) -> Array3<f32> {
    let xk = scaled_input(input, net.k);
    let mut feat = xk.clone();
    for layer in &net.layers {
        feat = apply_layer(layer, &feat);
    }
    let tail = conv(&net.tail, &feat, Act::None);
    let base = match net.global {
        Global::Bilinear(r) => bilinear(&xk, r),
        Global::SubtractInput => xk.mapv(|v| -v),
    };
    let k = net.k;
    match net.global {
        Global::Bilinear(_) => (&tail + &base).mapv(|v| v / k),
        // DnCNN returns (x·k − n)/k; `base` holds −x·k, so negate the sum.
        Global::SubtractInput => (&tail + &base).mapv(|v| -v / k),
    }
}

pub fn apply_layer(layer: &Layer, feat: &Array3<f32>) -> Array3<f32> {
    match layer {
        Layer::Conv { conv: c, act } => conv(c, feat, *act),
        Layer::PixelShuffle(r) => pixel_shuffle(feat, *r),
        Layer::Binary(b) => binary_conv(b, feat),
        Layer::Leaky(s) => feat.mapv(|v| leaky(v, *s)),
    }
}

/// BasicSR's `tensor2img`: clamp to [0, 1], ×255, round half to even (numpy), to bytes.
pub fn to_bytes(out: &Array3<f32>) -> Planes {
    let (c, h, w) = out.dim();
    let data = out.iter().map(|v| (v.clamp(0.0, 1.0) * 255.0).round_ties_even() as u8).collect();
    Planes::from_vec(c, h, w, data)
}

#[inline]
pub fn leaky(v: f32, slope: f32) -> f32 {
    if v >= 0.0 {
        v
    } else {
        v * slope
    }
}

pub fn conv(c: &Conv, x: &Array3<f32>, act: Act) -> Array3<f32> {
    let (ci, h, w) = x.dim();
    assert_eq!(ci, c.cin());
    let co = c.cout();
    let mut out = Array3::<f32>::zeros((co, h, w));
    for o in 0..co {
        for y in 0..h {
            for xx in 0..w {
                let mut acc = 0f32;
                for i in 0..ci {
                    for (ky, kx, sy, sx) in valid_taps(y, xx, h, w) {
                        acc += c.weight[[o, i, ky, kx]] * x[[i, sy, sx]];
                    }
                }
                if let Some(b) = &c.bias {
                    acc += b[o];
                }
                out[[o, y, xx]] = match act {
                    Act::None => acc,
                    Act::Leaky(s) => leaky(acc, s),
                };
            }
        }
    }
    out
}

pub fn pixel_shuffle(x: &Array3<f32>, r: usize) -> Array3<f32> {
    let (c, h, w) = x.dim();
    let co = c / (r * r);
    Array3::from_shape_fn((co, h * r, w * r), |(o, y, xx)| x[[o * r * r + (y % r) * r + (xx % r), y / r, xx / r]])
}

/// BBCU-B / BBCU-U: `RPReLU(α·P + bias)` (pixel-shuffled for BBCU-U) plus the residual.
pub fn binary_conv(b: &BinaryConv, x: &Array3<f32>) -> Array3<f32> {
    let (ci, h, w) = x.dim();
    assert_eq!(ci, b.cin());
    let co = b.cout();
    let alpha = b.alpha();
    // sign(x + move0), computed as PyTorch does: the add is rounded to f32 first.
    let act = Array3::from_shape_fn((ci, h, w), |(c, y, xx)| sign(x[[c, y, xx]] + b.move0[c]));
    let wsign = b.weight.mapv(sign);
    let mut y_pre = Array3::<f32>::zeros((co, h, w));
    for o in 0..co {
        for y in 0..h {
            for xx in 0..w {
                let p = ternary_dot(&act, &wsign, o, y, xx);
                let mut v = alpha[o] * p as f32;
                if let Some(bias) = &b.bias {
                    v += bias[o];
                }
                y_pre[[o, y, xx]] = rprelu(v, b.pr_bias0[o], b.pr_prelu[o], b.pr_bias1[o]);
            }
        }
    }
    let r = b.upscale;
    if r == 1 {
        y_pre + x
    } else {
        let shuffled = pixel_shuffle(&y_pre, r);
        let (c2, h2, w2) = shuffled.dim();
        Array3::from_shape_fn((c2, h2, w2), |(c, yy, xx)| shuffled[[c, yy, xx]] + x[[c, yy / r, xx / r]])
    }
}

#[inline]
pub fn rprelu(v: f32, b0: f32, a: f32, b1: f32) -> f32 {
    let z = v + b0;
    // PyTorch's PReLU: max(0,z) + a·min(0,z).
    let z = if z >= 0.0 { z } else { a * z };
    z + b1
}

/// The ternary 3×3 dot product at one output pixel; padded taps contribute 0.
pub fn ternary_dot(act: &Array3<i32>, wsign: &ndarray::Array4<i32>, o: usize, y: usize, x: usize) -> i32 {
    let (ci, h, w) = act.dim();
    let mut p = 0;
    for (ky, kx, sy, sx) in valid_taps(y, x, h, w) {
        for i in 0..ci {
            p += act[[i, sy, sx]] * wsign[[o, i, ky, kx]];
        }
    }
    p
}

/// One output coordinate of a bilinear resize (`align_corners=False`): the two source
/// indices and the weight of the second, as PyTorch computes them in f32.
#[derive(Debug, Clone, Copy)]
pub struct BilinearTap {
    pub i0: usize,
    pub i1: usize,
    pub lambda1: f32,
}

pub fn bilinear_taps(n_in: usize, r: usize) -> Vec<BilinearTap> {
    let scale = (1.0f64 / r as f64) as f32;
    (0..n_in * r)
        .map(|d| {
            let src = (scale * (d as f32 + 0.5) - 0.5).max(0.0);
            let i0 = (src as usize).min(n_in - 1);
            let i1 = if i0 < n_in - 1 { i0 + 1 } else { i0 };
            BilinearTap { i0, i1, lambda1: src - i0 as f32 }
        })
        .collect()
}

pub fn bilinear(x: &Array3<f32>, r: usize) -> Array3<f32> {
    let (c, h, w) = x.dim();
    let ty = bilinear_taps(h, r);
    let tx = bilinear_taps(w, r);
    Array3::from_shape_fn((c, h * r, w * r), |(ch, yy, xx)| {
        let (a, b) = (ty[yy], tx[xx]);
        let (l1h, l0h) = (a.lambda1, 1.0 - a.lambda1);
        let (l1w, l0w) = (b.lambda1, 1.0 - b.lambda1);
        l0h * (l0w * x[[ch, a.i0, b.i0]] + l1w * x[[ch, a.i0, b.i1]])
            + l1h * (l0w * x[[ch, a.i1, b.i0]] + l1w * x[[ch, a.i1, b.i1]])
    })
}
