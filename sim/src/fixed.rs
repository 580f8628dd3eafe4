//! The fixed-point golden model: the integer arithmetic the accelerator implements, bit for
//! bit. `docs/arithmetic.md` is the prose version of this file; keep them in step.
//!
//! Features are `i16` with `frac` fractional bits. Every rounding is "add half, shift right"
//! ([`rshift_round`]); every store to a feature map saturates to `i16` ([`sat16`]).

use crate::float::bilinear_taps;
use crate::network::{valid_taps, Act, BinaryConv, Conv, Global, Layer, Network};
use crate::planes::Planes;
use serde::Serialize;
use thiserror::Error;

/// Fractional bits of the slope constants (PReLU, LeakyReLU).
pub const SLOPE_FRAC: u32 = 12;
/// Fractional bits of the bilinear weights.
pub const BILINEAR_FRAC: u32 = 8;
/// Fractional bits of the input (`k/255`) and output (`255/k`) scale constants.
pub const SCALE_FRAC: u32 = 16;
/// Largest magnitude of a binary unit's offset constant `O` (see `docs/arithmetic.md` §4).
pub const OFFSET_LIMIT: f64 = (1u64 << 30) as f64;
/// Largest shift a per-layer scale may use (keeps every product inside i64 with margin).
pub const MAX_SHIFT: u32 = 24;

#[derive(Debug, Error, PartialEq)]
pub enum FixedError {
    #[error("{layer}: {what} is too large for the fixed-point format (frac = {frac})")]
    OutOfRange { layer: String, what: &'static str, frac: u32 },
    #[error("feature fraction bits {0} out of range (0..=12)")]
    BadFrac(u32),
    #[error("k = {k} is too large for {frac} fraction bits: 255·k·2^frac must stay below 2^15·255")]
    BadK { k: f32, frac: u32 },
}

/// Round-half-up right shift of a signed value (`floor(v / 2^s + 1/2)`).
#[inline]
pub fn rshift_round(v: i64, s: u32) -> i64 {
    if s == 0 {
        v
    } else {
        (v + (1i64 << (s - 1))) >> s
    }
}

#[inline]
pub fn sat16(v: i64) -> i16 {
    v.clamp(i16::MIN as i64, i16::MAX as i64) as i16
}

/// Negative-side slope: `v ≥ 0 ? v : round(v·slope / 2^12)`.
#[inline]
pub fn apply_slope(v: i16, slope: i16) -> i16 {
    if v >= 0 {
        v
    } else {
        // |v·slope| ≤ 2^30: the result always fits i16 again after the shift when |slope| ≤ 1;
        // larger slopes saturate.
        sat16(rshift_round(v as i64 * slope as i64, SLOPE_FRAC))
    }
}

fn quant_slope(s: f32) -> i16 {
    sat16((s as f64 * (1u64 << SLOPE_FRAC) as f64).round() as i64)
}

/// A full-precision conv in integers: `Y = round((Σ W·X + B) / 2^shift)`, then the slope.
#[derive(Debug, Clone, Serialize)]
pub struct QConv {
    pub name: String,
    pub cin: usize,
    pub cout: usize,
    /// `[Cout][Cin][3][3]`, value `W·2^shift`.
    pub weight: Vec<i16>,
    pub shift: u32,
    /// Per output channel, value `b·2^(frac+shift)`.
    pub bias: Vec<i64>,
    /// Q12 negative slope, `None` for no activation.
    pub slope: Option<i16>,
}

impl QConv {
    #[inline]
    pub fn w(&self, o: usize, i: usize, ky: usize, kx: usize) -> i16 {
        self.weight[((o * self.cin + i) * 3 + ky) * 3 + kx]
    }
}

/// A binary conv unit in integers (see `docs/arithmetic.md` §4).
#[derive(Debug, Clone, Serialize)]
pub struct QBinary {
    pub name: String,
    pub cin: usize,
    pub cout: usize,
    /// Per input channel: the activation bit is +1 iff `X > threshold`.
    pub threshold: Vec<i32>,
    /// `[Cout][Cin][3][3]`, true for +1 (a zero latent weight counts as +1).
    pub weight: Vec<bool>,
    /// Per output channel: `α·2^(frac+shift)`, at most 32767.
    pub alpha: Vec<i32>,
    pub shift: u32,
    /// Per output channel: `(bias + pr_bias0)·2^(frac+shift)`.
    pub offset: Vec<i64>,
    /// Per output channel: PReLU slope, Q12.
    pub slope: Vec<i16>,
    /// Per output channel: `pr_bias1·2^frac`.
    pub bias1: Vec<i32>,
    pub upscale: usize,
}

impl QBinary {
    #[inline]
    pub fn w(&self, o: usize, i: usize, ky: usize, kx: usize) -> bool {
        self.weight[((o * self.cin + i) * 3 + ky) * 3 + kx]
    }

    /// The post-popcount datapath of one output channel: α scale, offset, saturate, PReLU,
    /// `pr_bias1`. The residual is added by the caller (it depends on the unit type).
    #[inline]
    pub fn post(&self, o: usize, p: i32) -> i64 {
        let y = sat16(rshift_round(self.alpha[o] as i64 * p as i64 + self.offset[o], self.shift));
        apply_slope(y, self.slope[o]) as i64 + self.bias1[o] as i64
    }
}

#[derive(Debug, Clone, Serialize)]
pub enum QLayer {
    Conv(QConv),
    PixelShuffle(usize),
    Binary(QBinary),
    /// Q12 negative slope applied elementwise.
    Leaky(i16),
}

#[derive(Debug, Clone, Serialize)]
pub struct FixedNetwork {
    pub in_ch: usize,
    pub out_ch: usize,
    /// Fractional bits of every feature word.
    pub frac: u32,
    /// `X = round(p · k_in / 2^16)`, `k_in = round(k·2^(frac+16)/255)`.
    pub k_in: i64,
    /// `pixel = round(S · k_out / 2^(16+frac))`, `k_out = round(255·2^16/k)`.
    pub k_out: i64,
    pub layers: Vec<QLayer>,
    pub tail: QConv,
    pub global: Global,
    /// Latent weights that were exactly zero (mapped to +1 here, 0 in the float model).
    pub zero_weights: usize,
}

/// The default feature format: as many fraction bits as leave 8·k of headroom in an i16,
/// since residual alignment keeps features on the scale of the k-scaled input.
pub fn default_frac(k: f32) -> u32 {
    let mut f = 0;
    while f < 12 && 8.0 * k as f64 * (1u64 << (f + 1)) as f64 <= i16::MAX as f64 {
        f += 1;
    }
    f
}

/// Largest shift in `0..=MAX_SHIFT` with `max_abs · 2^(base + shift) ≤ 32767`.
fn pick_shift(max_abs: f64, base: u32) -> Option<u32> {
    if max_abs == 0.0 {
        return Some(MAX_SHIFT);
    }
    (0..=MAX_SHIFT).rev().find(|s| max_abs * 2f64.powi((base + s) as i32) <= i16::MAX as f64)
}

fn round_i64(v: f64) -> i64 {
    v.round() as i64
}

fn quant_conv(c: &Conv, act: Option<Act>, frac: u32) -> Result<QConv, FixedError> {
    let max = c.weight.iter().fold(0f64, |m, w| m.max(w.abs() as f64));
    let shift = pick_shift(max, 0).ok_or(FixedError::OutOfRange { layer: c.name.clone(), what: "a weight", frac })?;
    let scale = 2f64.powi(shift as i32);
    let weight = c.weight.iter().map(|w| round_i64(*w as f64 * scale) as i16).collect();
    let bscale = 2f64.powi((frac + shift) as i32);
    let bias = (0..c.cout()).map(|o| round_i64(c.bias.as_ref().map_or(0.0, |b| b[o] as f64) * bscale)).collect();
    let slope = match act {
        None | Some(Act::None) => None,
        Some(Act::Leaky(s)) => Some(quant_slope(s)),
    };
    Ok(QConv { name: c.name.clone(), cin: c.cin(), cout: c.cout(), weight, shift, bias, slope })
}

fn quant_binary(b: &BinaryConv, frac: u32) -> Result<QBinary, FixedError> {
    let f = 2f64.powi(frac as i32);
    let threshold = b
        .move0
        .iter()
        .map(|m| {
            // sign(x + m) > 0  ⇔  X > −m·2^frac; the tie X = −m·2^frac gives −1 here
            // (0 in the float model).
            let t = (-(*m as f64) * f).floor();
            t.clamp(i16::MIN as f64 - 1.0, i16::MAX as f64) as i32
        })
        .collect();
    let weight = b.weight.iter().map(|w| *w >= 0.0).collect();
    let alpha_f = b.alpha();
    let max_alpha = alpha_f.iter().fold(0f64, |m, a| m.max(*a as f64));
    let offset_f: Vec<f64> =
        (0..b.cout()).map(|o| b.bias.as_ref().map_or(0.0, |v| v[o] as f64) + b.pr_bias0[o] as f64).collect();
    let max_offset = offset_f.iter().fold(0f64, |m, v| m.max(v.abs()));
    let range = || FixedError::OutOfRange { layer: b.name.clone(), what: "α or the offset", frac };
    let shift = pick_shift(max_alpha, frac).ok_or_else(range)?;
    // The offset must also stay within ±2^30, so that A·P + O fits a 32-bit adder in hardware
    // (|A·P| < 2^25 for Cin ≤ 64, < 2^28 for Cin ≤ 512).
    let shift =
        (0..=shift).rev().find(|s| max_offset * 2f64.powi((frac + s) as i32) <= OFFSET_LIMIT).ok_or_else(range)?;
    let ascale = 2f64.powi((frac + shift) as i32);
    let alpha = alpha_f.iter().map(|a| round_i64(*a as f64 * ascale) as i32).collect();
    let offset = offset_f.iter().map(|v| round_i64(v * ascale)).collect();
    let slope = b.pr_prelu.iter().map(|s| quant_slope(*s)).collect();
    let bias1 = b
        .pr_bias1
        .iter()
        .map(|v| round_i64(*v as f64 * f).clamp(i32::MIN as i64 / 2, i32::MAX as i64 / 2) as i32)
        .collect();
    Ok(QBinary {
        name: b.name.clone(),
        cin: b.cin(),
        cout: b.cout(),
        threshold,
        weight,
        alpha,
        shift,
        offset,
        slope,
        bias1,
        upscale: b.upscale,
    })
}

impl FixedNetwork {
    /// Compiles a network to integers with `frac` fractional bits (default: [`default_frac`]).
    pub fn compile(net: &Network, frac: Option<u32>) -> Result<Self, FixedError> {
        let frac = frac.unwrap_or_else(|| default_frac(net.k));
        if frac > 12 {
            return Err(FixedError::BadFrac(frac));
        }
        let k = net.k as f64;
        let k_in = round_i64(k * 2f64.powi((frac + SCALE_FRAC) as i32) / 255.0);
        if 255 * k_in > (i16::MAX as i64) << SCALE_FRAC {
            return Err(FixedError::BadK { k: net.k, frac });
        }
        let k_out = round_i64(255.0 * 2f64.powi(SCALE_FRAC as i32) / k);
        let mut layers = Vec::new();
        let mut zero_weights = 0;
        for l in &net.layers {
            layers.push(match l {
                Layer::Conv { conv, act } => QLayer::Conv(quant_conv(conv, Some(*act), frac)?),
                Layer::PixelShuffle(r) => QLayer::PixelShuffle(*r),
                Layer::Leaky(s) => QLayer::Leaky(quant_slope(*s)),
                Layer::Binary(b) => {
                    zero_weights += b.zero_weights();
                    QLayer::Binary(quant_binary(b, frac)?)
                }
            });
        }
        Ok(FixedNetwork {
            in_ch: net.in_ch,
            out_ch: net.out_ch,
            frac,
            k_in,
            k_out,
            layers,
            tail: quant_conv(&net.tail, None, frac)?,
            global: net.global,
            zero_weights,
        })
    }

    /// The k-scaled input in feature format.
    #[inline]
    pub fn input_word(&self, p: u8) -> i16 {
        rshift_round(p as i64 * self.k_in, SCALE_FRAC) as i16
    }

    /// Final output stage: `S` is tail + global residual in feature format (wide).
    #[inline]
    pub fn output_pixel(&self, s: i64) -> u8 {
        rshift_round(s * self.k_out, SCALE_FRAC + self.frac).clamp(0, 255) as u8
    }
}

/// Q8 bilinear weights for one axis: `(i0, i1, w0, w1)` with `w0 + w1 = 256`.
pub fn bilinear_weights(n_in: usize, r: usize) -> Vec<(usize, usize, i64, i64)> {
    bilinear_taps(n_in, r)
        .into_iter()
        .map(|t| {
            let w1 = (t.lambda1 as f64 * (1 << BILINEAR_FRAC) as f64).round() as i64;
            (t.i0, t.i1, (1 << BILINEAR_FRAC) - w1, w1)
        })
        .collect()
}

/// A feature map `[C][H][W]` of i16 words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fmap {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub data: Vec<i16>,
}

impl Fmap {
    pub fn zeros(c: usize, h: usize, w: usize) -> Self {
        Fmap { c, h, w, data: vec![0; c * h * w] }
    }
    #[inline]
    pub fn at(&self, c: usize, y: usize, x: usize) -> i16 {
        self.data[(c * self.h + y) * self.w + x]
    }
    #[inline]
    pub fn set(&mut self, c: usize, y: usize, x: usize, v: i16) {
        self.data[(c * self.h + y) * self.w + x] = v;
    }
}

/// The golden forward: plain loops, no packing, no threads. Every other implementation
/// (CPU engine, rust-hdl simulation, Verilator, boards) must produce exactly these bytes.
pub fn forward(q: &FixedNetwork, input: &Planes) -> Planes {
    let xk = input_map(q, input);
    let mut feat = xk.clone();
    for l in &q.layers {
        feat = apply_layer(l, &feat);
    }
    let tail = conv_wide(&q.tail, &feat);
    finish(q, &xk, &tail, feat.h, feat.w)
}

pub fn input_map(q: &FixedNetwork, input: &Planes) -> Fmap {
    Fmap {
        c: input.channels,
        h: input.height,
        w: input.width,
        data: input.data.iter().map(|p| q.input_word(*p)).collect(),
    }
}

pub fn apply_layer(l: &QLayer, x: &Fmap) -> Fmap {
    match l {
        QLayer::Conv(c) => conv(c, x),
        QLayer::PixelShuffle(r) => pixel_shuffle(x, *r),
        QLayer::Binary(b) => binary(b, x),
        QLayer::Leaky(s) => Fmap { data: x.data.iter().map(|v| apply_slope(*v, *s)).collect(), ..*x },
    }
}

/// Adds the global residual to the tail output and produces output pixels.
pub fn finish(q: &FixedNetwork, xk: &Fmap, tail: &[i64], h: usize, w: usize) -> Planes {
    let c = q.out_ch;
    let mut out = Planes::new(c, h, w);
    match q.global {
        Global::Bilinear(r) => {
            let wy = bilinear_weights(xk.h, r);
            let wx = bilinear_weights(xk.w, r);
            for ch in 0..c {
                for (y, &(y0, y1, a0, a1)) in wy.iter().enumerate() {
                    for (x, &(x0, x1, b0, b1)) in wx.iter().enumerate() {
                        let s = a0 * (b0 * xk.at(ch, y0, x0) as i64 + b1 * xk.at(ch, y0, x1) as i64)
                            + a1 * (b0 * xk.at(ch, y1, x0) as i64 + b1 * xk.at(ch, y1, x1) as i64);
                        let base = rshift_round(s, 2 * BILINEAR_FRAC);
                        out.set(ch, y, x, q.output_pixel(tail[(ch * h + y) * w + x] + base));
                    }
                }
            }
        }
        Global::SubtractInput => {
            for (i, (t, x)) in tail.iter().zip(&xk.data).enumerate() {
                out.data[i] = q.output_pixel(*x as i64 - t);
            }
        }
    }
    out
}

/// The conv accumulator before rounding: `Σ W·X + B` over valid taps.
#[inline]
fn conv_acc(c: &QConv, x: &Fmap, o: usize, y: usize, xx: usize) -> i64 {
    let mut acc = c.bias[o];
    for i in 0..c.cin {
        for (ky, kx, sy, sx) in valid_taps(y, xx, x.h, x.w) {
            acc += c.w(o, i, ky, kx) as i64 * x.at(i, sy, sx) as i64;
        }
    }
    acc
}

pub fn conv(c: &QConv, x: &Fmap) -> Fmap {
    let mut out = Fmap::zeros(c.cout, x.h, x.w);
    for o in 0..c.cout {
        for y in 0..x.h {
            for xx in 0..x.w {
                let v = sat16(rshift_round(conv_acc(c, x, o, y, xx), c.shift));
                out.set(o, y, xx, c.slope.map_or(v, |s| apply_slope(v, s)));
            }
        }
    }
    out
}

/// The tail conv: rounded to the feature format but not saturated.
pub fn conv_wide(c: &QConv, x: &Fmap) -> Vec<i64> {
    let mut out = Vec::with_capacity(c.cout * x.h * x.w);
    for o in 0..c.cout {
        for y in 0..x.h {
            for xx in 0..x.w {
                out.push(rshift_round(conv_acc(c, x, o, y, xx), c.shift));
            }
        }
    }
    out
}

pub fn pixel_shuffle(x: &Fmap, r: usize) -> Fmap {
    let co = x.c / (r * r);
    let mut out = Fmap::zeros(co, x.h * r, x.w * r);
    for o in 0..co {
        for y in 0..x.h * r {
            for xx in 0..x.w * r {
                out.set(o, y, xx, x.at(o * r * r + (y % r) * r + xx % r, y / r, xx / r));
            }
        }
    }
    out
}

/// XNOR-popcount over the valid taps, in ±1 arithmetic: padded taps contribute 0.
#[inline]
pub fn popcount_dot(b: &QBinary, bits: &[bool], h: usize, w: usize, o: usize, y: usize, x: usize) -> i32 {
    let mut p = 0;
    for (ky, kx, sy, sx) in valid_taps(y, x, h, w) {
        for i in 0..b.cin {
            let a = bits[(i * h + sy) * w + sx];
            p += if a == b.w(o, i, ky, kx) { 1 } else { -1 };
        }
    }
    p
}

pub fn binarize(b: &QBinary, x: &Fmap) -> Vec<bool> {
    let n = x.h * x.w;
    x.data.iter().enumerate().map(|(idx, v)| *v as i32 > b.threshold[idx / n]).collect()
}

pub fn binary(b: &QBinary, x: &Fmap) -> Fmap {
    let bits = binarize(b, x);
    let r = b.upscale;
    let mut out = Fmap::zeros(b.cout / (r * r), x.h * r, x.w * r);
    for o in 0..b.cout {
        for y in 0..x.h {
            for xx in 0..x.w {
                let v = b.post(o, popcount_dot(b, &bits, x.h, x.w, o, y, xx));
                // Pixel shuffle (identity for r = 1), then the nearest-neighbour residual.
                let (c2, y2, x2) = (o / (r * r), y * r + (o % (r * r)) / r, xx * r + o % r);
                out.set(c2, y2, x2, sat16(v + x.at(c2, y, xx) as i64));
            }
        }
    }
    out
}
