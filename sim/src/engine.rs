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
    /// Rows holding such a zero: only output rows next to them take the masked path.
    pub zero_rows: Vec<bool>,
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
    /// `value(c, pixel)` returns -1, 0 or +1. Rows are packed in parallel, channel by
    /// channel, so each task reads contiguous plane rows.
    fn pack(cin: usize, h: usize, w: usize, value: impl Fn(usize, usize) -> i32 + Sync) -> Self {
        let nw = words(cin);
        let rows: Vec<(Vec<u64>, Vec<u64>, bool)> = (0..h)
            .into_par_iter()
            .map(|y| {
                let mut sign = vec![0u64; w * nw];
                let mut nz = vec![0u64; w * nw];
                let mut any_zero = false;
                for c in 0..cin {
                    let (word, bit) = (c / 64, 1u64 << (c % 64));
                    for x in 0..w {
                        let v = value(c, y * w + x);
                        if v > 0 {
                            sign[x * nw + word] |= bit;
                        }
                        if v != 0 {
                            nz[x * nw + word] |= bit;
                        } else {
                            any_zero = true;
                        }
                    }
                }
                (sign, nz, any_zero)
            })
            .collect();
        let zero_rows: Vec<bool> = rows.iter().map(|r| r.2).collect();
        let any_zero = zero_rows.iter().any(|z| *z);
        let mut sign = Vec::with_capacity(h * w * nw);
        let mut nonzero = Vec::with_capacity(if any_zero { h * w * nw } else { 0 });
        for (s, z, _) in rows {
            sign.extend_from_slice(&s);
            if any_zero {
                nonzero.extend_from_slice(&z);
            }
        }
        PackedActs { h, w, nw, sign, nonzero: any_zero.then_some(nonzero), zero_rows }
    }

    /// Fixed point has no zero activations, so packing is a branch-free compare per word.
    pub fn from_fixed(x: &Fmap, threshold: &[i32]) -> Self {
        let (h, w, nw) = (x.h, x.w, words(x.c));
        let mut sign = vec![0u64; h * w * nw];
        sign.par_chunks_mut(w * nw).enumerate().for_each(|(y, row)| {
            for (c, t) in threshold.iter().enumerate() {
                let src = &x.data[(c * h + y) * w..(c * h + y + 1) * w];
                let (word, bit) = (c / 64, c % 64);
                for (xx, v) in src.iter().enumerate() {
                    row[xx * nw + word] |= ((*v as i32 > *t) as u64) << bit;
                }
            }
        });
        PackedActs { h, w, nw, sign, nonzero: None, zero_rows: vec![false; h] }
    }

    pub fn from_float(x: &Array3<f32>, move0: &[f32]) -> Self {
        let (c, h, w) = x.dim();
        let xs = x.as_slice().expect("feature maps are contiguous");
        Self::pack(c, h, w, |ch, p| float::sign(xs[ch * h * w + p] + move0[ch]))
    }
}

/// The ternary dot product `P[o·w + x]` for every pixel of output row `y`.
///
/// The portable build targets baseline x86-64, where `count_ones` is a dozen instructions;
/// on CPUs with POPCNT (all current ones) the same code is compiled with it enabled.
pub fn dot_row(a: &PackedActs, wt: &PackedWeights, y: usize, out: &mut [i32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("popcnt") && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the features the function is compiled for were just detected.
        unsafe { dot_row_popcnt(a, wt, y, out) };
        return;
    }
    dot_row_body(a, wt, y, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt,avx2")]
unsafe fn dot_row_popcnt(a: &PackedActs, wt: &PackedWeights, y: usize, out: &mut [i32]) {
    dot_row_body(a, wt, y, out)
}

#[inline(always)]
fn dot_row_body(a: &PackedActs, wt: &PackedWeights, y: usize, out: &mut [i32]) {
    let (h, w, nw, cout) = (a.h, a.w, a.nw, wt.cout);
    debug_assert_eq!(nw, wt.nw);
    let mut taps = vec![0u64; 9 * nw];
    let mut tmask = vec![0u64; 9 * nw];
    let mut valid = [false; 9];
    let plain = wt.nonzero.is_none() && !(y.saturating_sub(1)..(y + 2).min(h)).any(|r| a.zero_rows[r]);
    let interior_row = y > 0 && y + 1 < h;
    let mut x = 0;
    while x < w {
        if plain && nw == 1 && interior_row && x >= 1 && x + 2 < w {
            // Two interior pixels at once with ≤ 64 channels: each weight word is loaded once
            // for both, and the nine XOR + popcounts per pixel unroll on fixed-size arrays.
            let tap = |px: usize| -> [u64; 9] { std::array::from_fn(|t| a.sign[(y + t / 3 - 1) * w + px + t % 3 - 1]) };
            let (t0, t1) = (tap(x), tap(x + 1));
            let n_valid = 9 * wt.cin as i32;
            for (o, ws) in wt.sign.chunks_exact(9).enumerate() {
                let (mut d0, mut d1) = (0u32, 0u32);
                for k in 0..9 {
                    d0 += (t0[k] ^ ws[k]).count_ones();
                    d1 += (t1[k] ^ ws[k]).count_ones();
                }
                out[o * w + x] = n_valid - 2 * d0 as i32;
                out[o * w + x + 1] = n_valid - 2 * d1 as i32;
            }
            x += 2;
            continue;
        }
        for t in 0..9 {
            let sy = y as isize + (t / 3) as isize - 1;
            let sx = x as isize + (t % 3) as isize - 1;
            valid[t] = sy >= 0 && sy < h as isize && sx >= 0 && sx < w as isize;
            let base = if valid[t] { (sy as usize * w + sx as usize) * nw } else { 0 };
            for k in 0..nw {
                taps[t * nw + k] = if valid[t] { a.sign[base + k] } else { 0 };
                // The tap mask only feeds the ternary path; plain pixels skip building it.
                if !plain {
                    tmask[t * nw + k] = match (&a.nonzero, valid[t]) {
                        (_, false) => 0,
                        (Some(nz), true) => nz[base + k],
                        (None, true) => u64::MAX,
                    };
                }
            }
        }
        if plain {
            // The common case: only padded taps are masked, and they are skipped whole.
            let n_valid = valid.iter().filter(|v| **v).count() as i32 * wt.cin as i32;
            let all = valid.iter().all(|v| *v);
            if all && nw == 1 {
                // Interior pixels with ≤ 64 channels: nine XOR + popcount per output channel,
                // fully unrolled on fixed-size arrays.
                let t: [u64; 9] = taps[..9].try_into().expect("nine taps");
                for (o, ws) in wt.sign.chunks_exact(9).enumerate() {
                    let mut diff = 0u32;
                    for k in 0..9 {
                        diff += (t[k] ^ ws[k]).count_ones();
                    }
                    out[o * w + x] = n_valid - 2 * diff as i32;
                }
                x += 1;
                continue;
            }
            for o in 0..cout {
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
                out[o * w + x] = n_valid - 2 * diff as i32;
            }
        } else {
            for o in 0..cout {
                let ws = &wt.sign[o * 9 * nw..(o + 1) * 9 * nw];
                let mut acc = 0i32;
                for j in 0..9 * nw {
                    let mut m = tmask[j] & channel_mask(j % nw, wt.cin);
                    if let Some(wnz) = &wt.nonzero {
                        m &= wnz[o * 9 * nw + j];
                    }
                    acc += m.count_ones() as i32 - 2 * ((taps[j] ^ ws[j]) & m).count_ones() as i32;
                }
                out[o * w + x] = acc;
            }
        }
        x += 1;
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

/// The XNOR-popcount layer driver: computes `P` for every output row in parallel, applies
/// `post(o, P, residual)` per output channel, and lays the results out pixel-shuffled
/// (identity for `r = 1`) in a CHW map of `cout/r²` channels. `residual` is the layer's
/// input map (`cout/r²` channels, `h × w`), read at the nearest-neighbour position.
fn binary_rows<T: Copy + Default + Send + Sync>(
    a: &PackedActs,
    wt: &PackedWeights,
    r: usize,
    residual: &[T],
    post: impl Fn(usize, i32, T) -> T + Sync,
) -> (usize, usize, usize, Vec<T>) {
    let (h, w, cout) = (a.h, a.w, wt.cout);
    let (co, ho, wo) = (cout / (r * r), h * r, w * r);
    // Where output channel o lands: row offset inside a (c2, i) band, column phase, and the
    // residual plane — precomputed so the inner loop has no divisions.
    let band: Vec<usize> = (0..cout).map(|o| (o / (r * r)) * r + (o % (r * r)) / r).collect();
    let phase: Vec<usize> = (0..cout).map(|o| o % r).collect();
    let res_plane: Vec<usize> = (0..cout).map(|o| (o / (r * r)) * h * w).collect();
    let rows: Vec<Vec<T>> = (0..h)
        .into_par_iter()
        .map(|y| {
            let mut p = vec![0i32; w * cout];
            dot_row(a, wt, y, &mut p);
            let mut local = vec![T::default(); co * r * wo];
            // Channel by channel, so that P, the residual and the output are all read and
            // written along contiguous rows.
            for o in 0..cout {
                let (pr, res) = (&p[o * w..(o + 1) * w], &residual[res_plane[o] + y * w..res_plane[o] + (y + 1) * w]);
                let dst = &mut local[band[o] * wo..(band[o] + 1) * wo];
                for x in 0..w {
                    dst[x * r + phase[o]] = post(o, pr[x], res[x]);
                }
            }
            local
        })
        .collect();
    let mut out = vec![T::default(); co * ho * wo];
    for (y, local) in rows.iter().enumerate() {
        for (b, seg) in local.chunks_exact(wo).enumerate() {
            let (c2, i) = (b / r, b % r);
            let dst = (c2 * ho + y * r + i) * wo;
            out[dst..dst + wo].copy_from_slice(seg);
        }
    }
    (co, ho, wo, out)
}

/// Rows per task of a full-precision conv: enough work per task, enough tasks per core.
const BAND: usize = 8;

/// Accumulates a 3×3 conv over CHW planes in bands of rows, in the reference order (input
/// channel, kernel row, kernel column) so float results match the reference bit for bit; the
/// innermost loop runs along a row and vectorises. Returns one accumulator plane per output.
fn conv_planes<X, W, A>(
    x: &[X],
    cin: usize,
    h: usize,
    w: usize,
    cout: usize,
    weight: &[W],
    mul: impl Fn(W, X) -> A + Sync,
) -> Vec<Vec<A>>
where
    X: Copy + Sync,
    W: Copy + Sync,
    A: Copy + Send + Default + AddAssign,
{
    let bands = h.div_ceil(BAND);
    let parts: Vec<Vec<A>> = (0..cout * bands)
        .into_par_iter()
        .map(|task| {
            let (o, y0) = (task / bands, (task % bands) * BAND);
            let y1 = (y0 + BAND).min(h);
            let mut acc = vec![A::default(); (y1 - y0) * w];
            for i in 0..cin {
                let plane = &x[i * h * w..(i + 1) * h * w];
                for ky in 0..3 {
                    for kx in 0..3 {
                        let wv = weight[((o * cin + i) * 3 + ky) * 3 + kx];
                        let (x0, x1) = (if kx == 0 { 1 } else { 0 }, if kx == 2 { w - 1 } else { w });
                        for y in y0..y1 {
                            let sy = y as isize + ky as isize - 1;
                            if sy < 0 || sy >= h as isize || x0 >= x1 {
                                continue;
                            }
                            let src = &plane[sy as usize * w + x0 + kx - 1..sy as usize * w + x1 + kx - 1];
                            let dst = &mut acc[(y - y0) * w + x0..(y - y0) * w + x1];
                            for (d, s) in dst.iter_mut().zip(src) {
                                *d += mul(wv, *s);
                            }
                        }
                    }
                }
            }
            acc
        })
        .collect();
    parts.chunks(bands).map(|ch| ch.concat()).collect()
}

// ------------------------------------------------------------------------------------------
// Fixed point
// ------------------------------------------------------------------------------------------

/// The integer conv sums, computed in f64: every product is below 2^30 and every sum below
/// 2^41, so f64 holds them exactly (integers up to 2^53) and the loops vectorise.
fn fixed_conv_acc(c: &QConv, x: &Fmap) -> Vec<Vec<i64>> {
    let wf: Vec<f64> = c.weight.iter().map(|v| *v as f64).collect();
    conv_planes(&x.data, c.cin, x.h, x.w, c.cout, &wf, |w, v| w * v as f64)
        .into_iter()
        .map(|p| p.into_iter().map(|a| a as i64).collect())
        .collect()
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
    let (c, h, w, data) = binary_rows(&a, wt, r, &x.data, |o, p, res| sat16(b.post(o, p) + res as i64));
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
        self.run_timed(input).0
    }

    /// Runs and reports the wall time of each step (layer names, then the tail and `output`).
    pub fn run_timed(&self, input: &Planes) -> (Planes, Vec<(String, f64)>) {
        let q = self.net;
        let mut laps = Laps::new();
        let xk = fixed::input_map(q, input);
        let mut feat = xk.clone();
        for (l, pw) in q.layers.iter().zip(&self.packed) {
            feat = match (l, pw) {
                (QLayer::Conv(c), _) => fixed_conv(c, &feat),
                (QLayer::Binary(b), Some(wt)) => fixed_binary(b, wt, &feat),
                (other, _) => fixed::apply_layer(other, &feat),
            };
            laps.lap(layer_name(l));
        }
        let tail: Vec<i64> = fixed_conv_acc(&q.tail, &feat)
            .into_iter()
            .enumerate()
            .flat_map(|(o, p)| p.into_iter().map(move |acc| rshift_round(acc + q.tail.bias[o], q.tail.shift)))
            .collect();
        laps.lap(q.tail.name.clone());
        let out = fixed::finish(q, &xk, &tail, feat.h, feat.w);
        laps.lap("output".into());
        (out, laps.0)
    }
}

/// Wall time per step of a run, for `bbcu-host bench` with `BBCU_PROFILE` set.
struct Laps(Vec<(String, f64)>, std::time::Instant);

impl Laps {
    fn new() -> Self {
        Laps(Vec::new(), std::time::Instant::now())
    }
    fn lap(&mut self, name: String) {
        self.0.push((name, self.1.elapsed().as_secs_f64()));
        self.1 = std::time::Instant::now();
    }
}

fn layer_name(l: &QLayer) -> String {
    match l {
        QLayer::Conv(c) => c.name.clone(),
        QLayer::Binary(b) => b.name.clone(),
        QLayer::PixelShuffle(r) => format!("pixel shuffle x{r}"),
        QLayer::Leaky(_) => "leaky relu".into(),
    }
}

// ------------------------------------------------------------------------------------------
// Float
// ------------------------------------------------------------------------------------------

fn float_conv(c: &Conv, x: &Array3<f32>, act: Act) -> Array3<f32> {
    let (ci, h, w) = x.dim();
    let xs = x.as_slice().expect("contiguous");
    let weight = c.weight.as_slice().expect("contiguous");
    let planes = conv_planes(xs, ci, h, w, c.cout(), weight, |w, v| w * v);
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
    let xs = x.as_slice().expect("contiguous");
    let (c, h, w, data) = binary_rows(&a, wt, r, xs, |o, p, res| {
        let mut v = alpha[o] * p as f32;
        if let Some(bias) = &b.bias {
            v += bias[o];
        }
        float::rprelu(v, b.pr_bias0[o], b.pr_prelu[o], b.pr_bias1[o]) + res
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
        self.run_timed(input).0
    }

    /// Runs and reports the wall time of each step, as [`FixedEngine::run_timed`].
    pub fn run_timed(&self, input: &Planes) -> (Array3<f32>, Vec<(String, f64)>) {
        let net = self.net;
        let mut laps = Laps::new();
        let xk = float::scaled_input(input, net.k);
        let mut feat = xk.clone();
        for (i, (l, pw)) in net.layers.iter().zip(&self.packed).enumerate() {
            feat = match (l, pw) {
                (Layer::Conv { conv, act }, _) => float_conv(conv, &feat, *act),
                (Layer::Binary(b), Some((alpha, wt))) => float_binary(b, alpha, wt, &feat),
                (other, _) => float::apply_layer(other, &feat),
            };
            laps.lap(format!("layer {i}"));
        }
        let tail = float_conv(&net.tail, &feat, Act::None);
        laps.lap(net.tail.name.clone());
        let k = net.k;
        let out = match net.global {
            Global::Bilinear(r) => (&tail + &float::bilinear(&xk, r)).mapv(|v| v / k),
            Global::SubtractInput => (&tail - &xk).mapv(|v| -v / k),
        };
        laps.lap("output".into());
        (out, laps.0)
    }
}
