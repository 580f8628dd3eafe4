//! The fast CPU engine (`bbcu-host run --board cpu`): bit-packed activations and weights in
//! `u64` words, XOR + `count_ones` instead of multiply-accumulate, rows in parallel.
//!
//! It computes exactly what the references compute: in fixed point the same bytes as
//! [`crate::fixed::forward`], in float the same f32 values as [`crate::float::forward`]
//! (same operations in the same order). Tests hold it to that.

use crate::fixed::{self, apply_slope, rshift_round, sat16, FixedNetwork, Fmap, QBinary, QConv, QLayer};
use crate::float;
use crate::network::{Act, BinaryConv, Conv, Global, Layer, Network};
use crate::planes::Planes;
use ndarray::Array3;
use rayon::prelude::*;
use std::ops::AddAssign;

/// Per-pixel channel bits: word `(y·w + x)·nw + k` holds channels `64k..64k+63`.
pub struct PackedActs {
    pub h: usize,
    pub w: usize,
    pub nw: usize,
    pub sign: Vec<u64>,
    /// Non-zero mask, only when some activation is exactly 0 (float mode's `sign(0) = 0`).
    pub nonzero: Option<Vec<u64>>,
}

/// Weight bits `[o][tap][word]`, tap = `ky·3 + kx`.
pub struct PackedWeights {
    pub cout: usize,
    pub cin: usize,
    pub nw: usize,
    pub sign: Vec<u64>,
    pub nonzero: Option<Vec<u64>>,
}

fn words(cin: usize) -> usize {
    cin.div_ceil(64)
}

impl PackedWeights {
    /// `bit(o, i, ky, kx)` = +1; `zero(...)` marks ternary zeros (float mode only).
    fn pack(
        cout: usize,
        cin: usize,
        bit: impl Fn(usize, usize, usize, usize) -> bool,
        zero: Option<&dyn Fn(usize, usize, usize, usize) -> bool>,
    ) -> Self {
        let nw = words(cin);
        let mut sign = vec![0u64; cout * 9 * nw];
        let mut nonzero = zero.map(|_| vec![0u64; cout * 9 * nw]);
        for o in 0..cout {
            for t in 0..9 {
                for i in 0..cin {
                    let idx = (o * 9 + t) * nw + i / 64;
                    let (ky, kx) = (t / 3, t % 3);
                    if bit(o, i, ky, kx) {
                        sign[idx] |= 1 << (i % 64);
                    }
                    if let (Some(nz), Some(z)) = (nonzero.as_mut(), zero) {
                        if !z(o, i, ky, kx) {
                            nz[idx] |= 1 << (i % 64);
                        }
                    }
                }
            }
        }
        PackedWeights { cout, cin, nw, sign, nonzero }
    }

    pub fn from_fixed(b: &QBinary) -> Self {
        Self::pack(b.cout, b.cin, |o, i, ky, kx| b.w(o, i, ky, kx), None)
    }

    pub fn from_float(b: &BinaryConv) -> Self {
        let wt = &b.weight;
        let has_zero = b.zero_weights() > 0;
        let zero = |o, i, ky, kx| wt[[o, i, ky, kx]] == 0.0;
        Self::pack(
            b.cout(),
            b.cin(),
            |o, i, ky, kx| wt[[o, i, ky, kx]] > 0.0,
            if has_zero { Some(&zero) } else { None },
        )
    }
}

impl PackedActs {
    fn pack(cin: usize, h: usize, w: usize, value: impl Fn(usize, usize) -> i32 + Sync) -> Self {
        // `value(c, pixel)` returns -1, 0 or +1.
        let nw = words(cin);
        let n = h * w;
        let per_pixel: Vec<(Vec<u64>, bool)> = (0..n)
            .into_par_iter()
            .map(|p| {
                let mut s = vec![0u64; 2 * nw];
                let mut any_zero = false;
                for c in 0..cin {
                    let v = value(c, p);
                    if v > 0 {
                        s[c / 64] |= 1 << (c % 64);
                    }
                    if v != 0 {
                        s[nw + c / 64] |= 1 << (c % 64);
                    } else {
                        any_zero = true;
                    }
                }
                (s, any_zero)
            })
            .collect();
        let any_zero = per_pixel.iter().any(|(_, z)| *z);
        let mut sign = Vec::with_capacity(n * nw);
        let mut nz = Vec::with_capacity(if any_zero { n * nw } else { 0 });
        for (s, _) in &per_pixel {
            sign.extend_from_slice(&s[..nw]);
            if any_zero {
                nz.extend_from_slice(&s[nw..]);
            }
        }
        PackedActs { h, w, nw, sign, nonzero: any_zero.then_some(nz) }
    }

    pub fn from_fixed(x: &Fmap, threshold: &[i32]) -> Self {
        let n = x.h * x.w;
        Self::pack(x.c, x.h, x.w, |c, p| if x.data[c * n + p] as i32 > threshold[c] { 1 } else { -1 })
    }

    pub fn from_float(x: &Array3<f32>, move0: &[f32]) -> Self {
        let (c, h, w) = x.dim();
        let xs = x.as_slice().expect("feature maps are contiguous");
        Self::pack(c, h, w, |ch, p| float::sign(xs[ch * h * w + p] + move0[ch]))
    }
}

/// The ternary dot product `P[x·cout + o]` for every pixel of output row `y`.
pub fn dot_row(a: &PackedActs, wt: &PackedWeights, y: usize, out: &mut [i32]) {
    let (h, w, nw, cout) = (a.h, a.w, a.nw, wt.cout);
    debug_assert_eq!(nw, wt.nw);
    let mut taps = vec![0u64; 9 * nw];
    let mut tmask = vec![0u64; 9 * nw];
    let mut valid = [false; 9];
    for x in 0..w {
        for t in 0..9 {
            let sy = y as isize + (t / 3) as isize - 1;
            let sx = x as isize + (t % 3) as isize - 1;
            valid[t] = sy >= 0 && sy < h as isize && sx >= 0 && sx < w as isize;
            let base = if valid[t] { (sy as usize * w + sx as usize) * nw } else { 0 };
            for k in 0..nw {
                taps[t * nw + k] = if valid[t] { a.sign[base + k] } else { 0 };
                tmask[t * nw + k] = match (&a.nonzero, valid[t]) {
                    (_, false) => 0,
                    (Some(nz), true) => nz[base + k],
                    (None, true) => u64::MAX,
                };
            }
        }
        let row = &mut out[x * cout..(x + 1) * cout];
        if a.nonzero.is_none() && wt.nonzero.is_none() {
            // The common case: only padded taps are masked, and they are skipped whole.
            let n_valid = valid.iter().filter(|v| **v).count() as i32 * wt.cin as i32;
            let all = valid.iter().all(|v| *v);
            for (o, p) in row.iter_mut().enumerate() {
                let ws = &wt.sign[o * 9 * nw..(o + 1) * 9 * nw];
                let mut diff = 0u32;
                if all {
                    for (aw, ww) in taps.iter().zip(ws) {
                        diff += (aw ^ ww).count_ones();
                    }
                } else {
                    for t in 0..9 {
                        if valid[t] {
                            for k in 0..nw {
                                diff += (taps[t * nw + k] ^ ws[t * nw + k]).count_ones();
                            }
                        }
                    }
                }
                *p = n_valid - 2 * diff as i32;
            }
        } else {
            for (o, p) in row.iter_mut().enumerate() {
                let ws = &wt.sign[o * 9 * nw..(o + 1) * 9 * nw];
                let mut acc = 0i32;
                for j in 0..9 * nw {
                    let mut m = tmask[j] & channel_mask(j % nw, wt.cin);
                    if let Some(wnz) = &wt.nonzero {
                        m &= wnz[o * 9 * nw + j];
                    }
                    acc += m.count_ones() as i32 - 2 * ((taps[j] ^ ws[j]) & m).count_ones() as i32;
                }
                *p = acc;
            }
        }
    }
}

fn channel_mask(word: usize, cin: usize) -> u64 {
    let lo = word * 64;
    let n = cin.saturating_sub(lo).min(64);
    if n == 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// Runs `row(y, P)` for every output row in parallel and scatters each row's per-channel
/// values into a CHW map of `cout/r²` channels, pixel-shuffled.
fn binary_rows<T: Copy + Default + Send>(
    a: &PackedActs,
    wt: &PackedWeights,
    r: usize,
    post: impl Fn(usize, usize, usize, i32) -> T + Sync,
) -> (usize, usize, usize, Vec<T>) {
    let (h, w, cout) = (a.h, a.w, wt.cout);
    let rows: Vec<Vec<T>> = (0..h)
        .into_par_iter()
        .map(|y| {
            let mut p = vec![0i32; w * cout];
            dot_row(a, wt, y, &mut p);
            p.iter().enumerate().map(|(j, v)| post(j % cout, y, j / cout, *v)).collect()
        })
        .collect();
    let (co, ho, wo) = (cout / (r * r), h * r, w * r);
    let mut out = vec![T::default(); co * ho * wo];
    for (y, row) in rows.iter().enumerate() {
        for x in 0..w {
            for o in 0..cout {
                let (c2, y2, x2) = (o / (r * r), y * r + (o % (r * r)) / r, x * r + o % r);
                out[(c2 * ho + y2) * wo + x2] = row[x * cout + o];
            }
        }
    }
    (co, ho, wo, out)
}

/// Accumulates a 3×3 conv over CHW planes, one output plane per task, in the reference
/// order (input channel, kernel row, kernel column) so float results match bit for bit.
fn conv_planes<X, W, A>(
    x: &[X],
    cin: usize,
    h: usize,
    w: usize,
    cout: usize,
    weight: &[W],
    init: impl Fn(usize) -> A + Sync,
    mul: impl Fn(W, X) -> A + Sync,
) -> Vec<Vec<A>>
where
    X: Copy + Sync,
    W: Copy + Sync,
    A: Copy + Send + AddAssign,
{
    (0..cout)
        .into_par_iter()
        .map(|o| {
            let mut acc = vec![init(o); h * w];
            for i in 0..cin {
                let plane = &x[i * h * w..(i + 1) * h * w];
                for ky in 0..3 {
                    for kx in 0..3 {
                        let wv = weight[((o * cin + i) * 3 + ky) * 3 + kx];
                        let (x0, x1) = (if kx == 0 { 1 } else { 0 }, if kx == 2 { w - 1 } else { w });
                        for y in 0..h {
                            let sy = y as isize + ky as isize - 1;
                            if sy < 0 || sy >= h as isize {
                                continue;
                            }
                            let src = &plane[sy as usize * w..(sy as usize + 1) * w];
                            let dst = &mut acc[y * w..(y + 1) * w];
                            for xx in x0..x1 {
                                dst[xx] += mul(wv, src[xx + kx - 1]);
                            }
                        }
                    }
                }
            }
            acc
        })
        .collect()
}

// ------------------------------------------------------------------------------------------
// Fixed point
// ------------------------------------------------------------------------------------------

fn fixed_conv_acc(c: &QConv, x: &Fmap) -> Vec<Vec<i64>> {
    conv_planes(&x.data, c.cin, x.h, x.w, c.cout, &c.weight, |_| 0i64, |w, v| w as i64 * v as i64)
}

fn fixed_conv(c: &QConv, x: &Fmap) -> Fmap {
    let planes = fixed_conv_acc(c, x);
    let data = planes
        .into_iter()
        .enumerate()
        .flat_map(|(o, p)| {
            p.into_iter().map(move |acc| {
                let v = sat16(rshift_round(acc + c.bias[o], c.shift));
                c.slope.map_or(v, |s| apply_slope(v, s))
            })
        })
        .collect();
    Fmap { c: c.cout, h: x.h, w: x.w, data }
}

fn fixed_binary(b: &QBinary, wt: &PackedWeights, x: &Fmap) -> Fmap {
    let a = PackedActs::from_fixed(x, &b.threshold);
    let r = b.upscale;
    let (c, h, w, data) = binary_rows(&a, wt, r, |o, y, xx, p| {
        let res = x.at(o / (r * r), y, xx) as i64;
        sat16(b.post(o, p) + res)
    });
    Fmap { c, h, w, data }
}

/// A fixed-point network with its weights packed once, ready to run many images.
pub struct FixedEngine<'a> {
    pub net: &'a FixedNetwork,
    packed: Vec<Option<PackedWeights>>,
}

impl<'a> FixedEngine<'a> {
    pub fn new(net: &'a FixedNetwork) -> Self {
        let packed = net
            .layers
            .iter()
            .map(|l| match l {
                QLayer::Binary(b) => Some(PackedWeights::from_fixed(b)),
                _ => None,
            })
            .collect();
        FixedEngine { net, packed }
    }

    pub fn run(&self, input: &Planes) -> Planes {
        let q = self.net;
        let xk = fixed::input_map(q, input);
        let mut feat = xk.clone();
        for (l, pw) in q.layers.iter().zip(&self.packed) {
            feat = match (l, pw) {
                (QLayer::Conv(c), _) => fixed_conv(c, &feat),
                (QLayer::Binary(b), Some(wt)) => fixed_binary(b, wt, &feat),
                (other, _) => fixed::apply_layer(other, &feat),
            };
        }
        let tail: Vec<i64> = fixed_conv_acc(&q.tail, &feat)
            .into_iter()
            .enumerate()
            .flat_map(|(o, p)| p.into_iter().map(move |acc| rshift_round(acc + q.tail.bias[o], q.tail.shift)))
            .collect();
        fixed::finish(q, &xk, &tail, feat.h, feat.w)
    }
}

// ------------------------------------------------------------------------------------------
// Float
// ------------------------------------------------------------------------------------------

fn float_conv(c: &Conv, x: &Array3<f32>, act: Act) -> Array3<f32> {
    let (ci, h, w) = x.dim();
    let xs = x.as_slice().expect("contiguous");
    let weight = c.weight.as_slice().expect("contiguous");
    let planes = conv_planes(xs, ci, h, w, c.cout(), weight, |_| 0f32, |w, v| w * v);
    let data: Vec<f32> = planes
        .into_iter()
        .enumerate()
        .flat_map(|(o, p)| {
            let bias = c.bias.as_ref().map(|b| b[o]);
            p.into_iter().map(move |mut v| {
                if let Some(b) = bias {
                    v += b;
                }
                match act {
                    Act::None => v,
                    Act::Leaky(s) => float::leaky(v, s),
                }
            })
        })
        .collect();
    Array3::from_shape_vec((c.cout(), h, w), data).expect("shape")
}

fn float_binary(b: &BinaryConv, alpha: &[f32], wt: &PackedWeights, x: &Array3<f32>) -> Array3<f32> {
    let move0 = b.move0.as_slice().expect("contiguous");
    let a = PackedActs::from_float(x, move0);
    let r = b.upscale;
    let (c, h, w, data) = binary_rows(&a, wt, r, |o, y, xx, p| {
        let mut v = alpha[o] * p as f32;
        if let Some(bias) = &b.bias {
            v += bias[o];
        }
        float::rprelu(v, b.pr_bias0[o], b.pr_prelu[o], b.pr_bias1[o]) + x[[o / (r * r), y, xx]]
    });
    Array3::from_shape_vec((c, h, w), data).expect("shape")
}

/// A float network with its binary weights packed once.
pub struct FloatEngine<'a> {
    pub net: &'a Network,
    packed: Vec<Option<(Vec<f32>, PackedWeights)>>,
}

impl<'a> FloatEngine<'a> {
    pub fn new(net: &'a Network) -> Self {
        let packed = net
            .layers
            .iter()
            .map(|l| match l {
                Layer::Binary(b) => Some((b.alpha(), PackedWeights::from_float(b))),
                _ => None,
            })
            .collect();
        FloatEngine { net, packed }
    }

    /// Output in image units, before clamping (as [`float::forward`]).
    pub fn run(&self, input: &Planes) -> Array3<f32> {
        let net = self.net;
        let xk = float::scaled_input(input, net.k);
        let mut feat = xk.clone();
        for (l, pw) in net.layers.iter().zip(&self.packed) {
            feat = match (l, pw) {
                (Layer::Conv { conv, act }, _) => float_conv(conv, &feat, *act),
                (Layer::Binary(b), Some((alpha, wt))) => float_binary(b, alpha, wt, &feat),
                (other, _) => float::apply_layer(other, &feat),
            };
        }
        let tail = float_conv(&net.tail, &feat, Act::None);
        let k = net.k;
        match net.global {
            Global::Bilinear(r) => (&tail + &float::bilinear(&xk, r)).mapv(|v| v / k),
            Global::SubtractInput => (&tail - &xk).mapv(|v| -v / k),
        }
    }
}
