//! A BBCU network as a flat list of layers, independent of where the weights came from.
//!
//! The checkpoint importer (in `bbcu-host`) builds this from an official state_dict; the float
//! reference, the fixed-point compiler and the CPU engine all read it. Every convolution is 3×3,
//! stride 1, zero padding 1, as in the released code.

use ndarray::{Array1, Array4};
use serde::Serialize;

/// The in-bounds taps of the 3×3 window centred on `(y, x)` in an `h × w` map, as
/// `(ky, kx, sy, sx)` in row-major kernel order. Zero padding is applied after the sign in the
/// released code, so padded taps contribute nothing and are simply absent here.
pub fn valid_taps(y: usize, x: usize, h: usize, w: usize) -> impl Iterator<Item = (usize, usize, usize, usize)> {
    (0..9).filter_map(move |t| {
        let (ky, kx) = (t / 3, t % 3);
        let sy = (y + ky).checked_sub(1)?;
        let sx = (x + kx).checked_sub(1)?;
        (sy < h && sx < w).then_some((ky, kx, sy, sx))
    })
}

/// Which released architecture a network follows (`bbcu-reference.md` §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Arch {
    /// BBCU-L: binary body, full-precision upsampler and `conv_hr`.
    BbcuL,
    /// BBCU-M: binary body, binary upsampler (BBCU-U) and binary `conv_hr`.
    BbcuM,
    /// Binary DnCNN (colour denoiser, or grey deblocker when biases are present).
    DnCnn,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::BbcuL => "BBCU-L",
            Arch::BbcuM => "BBCU-M",
            Arch::DnCnn => "binary DnCNN",
        }
    }
}

/// Activation fused after a full-precision convolution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Act {
    None,
    /// `max(0,x) + slope·min(0,x)`; ReLU is slope 0, the SR nets use 0.1.
    Leaky(f32),
}

/// A full-precision 3×3 convolution.
#[derive(Debug, Clone)]
pub struct Conv {
    pub name: String,
    /// `[Cout, Cin, 3, 3]`.
    pub weight: Array4<f32>,
    pub bias: Option<Array1<f32>>,
}

impl Conv {
    pub fn cin(&self) -> usize {
        self.weight.shape()[1]
    }
    pub fn cout(&self) -> usize {
        self.weight.shape()[0]
    }
}

/// One binary convolution unit: BBCU-B (`upscale == 1`, identity residual) or BBCU-U
/// (`upscale == r`, pixel shuffle then nearest-neighbour residual).
#[derive(Debug, Clone)]
pub struct BinaryConv {
    pub name: String,
    /// Per input channel, added before the sign: `move0.bias`.
    pub move0: Array1<f32>,
    /// Latent real-valued weights `[Cout, Cin, 3, 3]`; only their signs and mean |W| matter.
    pub weight: Array4<f32>,
    /// Full-precision bias after the α-scaled conv (deblocking model only).
    pub bias: Option<Array1<f32>>,
    pub pr_bias0: Array1<f32>,
    pub pr_prelu: Array1<f32>,
    pub pr_bias1: Array1<f32>,
    pub upscale: usize,
}

impl BinaryConv {
    pub fn cin(&self) -> usize {
        self.weight.shape()[1]
    }
    pub fn cout(&self) -> usize {
        self.weight.shape()[0]
    }
    /// α per output channel: nested means of |W| over kw, kh, then Cin, as the released code
    /// does; computed in f64 and rounded once so that every consumer sees the same value.
    pub fn alpha(&self) -> Vec<f32> {
        let (co, ci) = (self.cout(), self.cin());
        (0..co)
            .map(|o| {
                let mut s_i = 0f64;
                for i in 0..ci {
                    let mut s_h = 0f64;
                    for kh in 0..3 {
                        let mut s_w = 0f64;
                        for kw in 0..3 {
                            s_w += self.weight[[o, i, kh, kw]].abs() as f64;
                        }
                        s_h += s_w / 3.0;
                    }
                    s_i += s_h / 3.0;
                }
                (s_i / ci as f64) as f32
            })
            .collect()
    }
    /// Latent weights that are exactly zero: `sign(0) = 0` in the float model, +1 in fixed point.
    pub fn zero_weights(&self) -> usize {
        self.weight.iter().filter(|w| **w == 0.0).count()
    }
}

#[derive(Debug, Clone)]
pub enum Layer {
    Conv {
        conv: Conv,
        act: Act,
    },
    /// `out[c, h·r+i, w·r+j] = in[c·r² + i·r + j, h, w]`.
    PixelShuffle(usize),
    Binary(BinaryConv),
    /// A standalone LeakyReLU (BBCU-M's activation between the binary `conv_hr` and the tail).
    Leaky(f32),
}

/// What the tail's output is added to before `/k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Global {
    /// SR: `tail + bilinear(x·k, r, align_corners=False)`.
    Bilinear(usize),
    /// DnCNN: `x·k - tail`.
    SubtractInput,
}

#[derive(Debug, Clone)]
pub struct Network {
    pub arch: Arch,
    pub in_ch: usize,
    pub out_ch: usize,
    pub num_feat: usize,
    /// Residual alignment factor: the input is multiplied by k, the output divided by it.
    pub k: f32,
    /// Everything between the input and the tail, in order.
    pub layers: Vec<Layer>,
    /// Last full-precision convolution; its raw output goes to the global residual.
    pub tail: Conv,
    pub global: Global,
}

/// Parameter and operation counts by the paper's convention (`bbcu-reference.md` §4.1).
#[derive(Debug, Clone, Serialize)]
pub struct Counts {
    /// Binary weights, in bits (= latent weights in binary convs).
    pub binary_weights: usize,
    /// Full-precision conv weights (biases and per-channel vectors excluded, as in the paper).
    pub fp_weights: usize,
    /// Per-channel constants and biases (move0, RPReLU, conv biases).
    pub per_channel: usize,
    /// Binary MACs per input (LR) pixel.
    pub binary_macs_per_pixel: f64,
    /// Full-precision MACs per input (LR) pixel.
    pub fp_macs_per_pixel: f64,
}

impl Counts {
    /// Paper Params: FP weights + binary weights / 32.
    pub fn paper_params(&self) -> f64 {
        self.fp_weights as f64 + self.binary_weights as f64 / 32.0
    }
    /// Paper OPs for an LR input of `pixels` pixels: FP MACs + binary MACs / 64.
    pub fn paper_ops(&self, pixels: f64) -> f64 {
        (self.fp_macs_per_pixel + self.binary_macs_per_pixel / 64.0) * pixels
    }
}

impl Network {
    /// Upscaling factor of the whole network (1 for denoise/deblock).
    pub fn scale(&self) -> usize {
        match self.global {
            Global::Bilinear(r) => r,
            Global::SubtractInput => 1,
        }
    }

    /// A short name of the task: `sr`, `denoise` (colour DnCNN) or `jpeg` (grey DnCNN).
    pub fn task(&self) -> &'static str {
        match (self.global, self.in_ch) {
            (Global::Bilinear(_), _) => "sr",
            (Global::SubtractInput, 1) => "jpeg",
            _ => "denoise",
        }
    }

    pub fn counts(&self) -> Counts {
        let mut c = Counts {
            binary_weights: 0,
            fp_weights: 0,
            per_channel: 0,
            binary_macs_per_pixel: 0.0,
            fp_macs_per_pixel: 0.0,
        };
        // Pixels at the current resolution per LR input pixel.
        let mut area = 1.0f64;
        let fp = |conv: &Conv, area: f64, c: &mut Counts| {
            c.fp_weights += conv.weight.len();
            c.per_channel += conv.bias.as_ref().map_or(0, |b| b.len());
            c.fp_macs_per_pixel += conv.weight.len() as f64 * area;
        };
        for layer in &self.layers {
            match layer {
                Layer::Conv { conv, .. } => fp(conv, area, &mut c),
                Layer::PixelShuffle(r) => area *= (r * r) as f64,
                Layer::Leaky(_) => {}
                Layer::Binary(b) => {
                    c.binary_weights += b.weight.len();
                    c.per_channel += b.move0.len()
                        + b.pr_bias0.len()
                        + b.pr_prelu.len()
                        + b.pr_bias1.len()
                        + b.bias.as_ref().map_or(0, |x| x.len());
                    c.binary_macs_per_pixel += b.weight.len() as f64 * area;
                    area *= (b.upscale * b.upscale) as f64;
                }
            }
        }
        fp(&self.tail, area, &mut c);
        c
    }

    /// The feature-map shapes `(channels, height, width)` after each layer for an input of
    /// `h × w`, ending with the tail's output.
    pub fn shapes(&self, h: usize, w: usize) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::new();
        let (mut c, mut h, mut w) = (self.in_ch, h, w);
        for layer in &self.layers {
            match layer {
                Layer::Conv { conv, .. } => c = conv.cout(),
                Layer::PixelShuffle(r) => {
                    c /= r * r;
                    h *= r;
                    w *= r;
                }
                Layer::Leaky(_) => {}
                Layer::Binary(b) => {
                    c = b.cout() / (b.upscale * b.upscale);
                    h *= b.upscale;
                    w *= b.upscale;
                }
            }
            out.push((c, h, w));
        }
        out.push((self.tail.cout(), h, w));
        out
    }

    /// Checks the internal consistency that every forward relies on (channel counts chain,
    /// residual shapes match, pixel shuffles divide). The importer builds networks that pass.
    pub fn validate(&self) -> Result<(), String> {
        let mut c = self.in_ch;
        for layer in &self.layers {
            match layer {
                Layer::Conv { conv, .. } => {
                    if conv.cin() != c {
                        return Err(format!("{}: expects {} input channels, gets {c}", conv.name, conv.cin()));
                    }
                    check_vec(&conv.name, "bias", conv.bias.as_ref(), conv.cout())?;
                    c = conv.cout();
                }
                Layer::PixelShuffle(r) => {
                    if *r == 0 || !c.is_multiple_of(r * r) {
                        return Err(format!("pixel shuffle ×{r} of {c} channels"));
                    }
                    c /= r * r;
                }
                Layer::Leaky(s) => {
                    if !s.is_finite() {
                        return Err("a LeakyReLU slope is not finite".into());
                    }
                }
                Layer::Binary(b) => {
                    let n = &b.name;
                    if b.cin() != c {
                        return Err(format!("{n}: expects {} input channels, gets {c}", b.cin()));
                    }
                    let r = b.upscale;
                    if r == 0 || b.cout() != c * r * r {
                        return Err(format!("{n}: {} outputs cannot form a residual with {c} inputs ×{r}²", b.cout()));
                    }
                    check_vec(n, "move0", Some(&b.move0), b.cin())?;
                    check_vec(n, "bias", b.bias.as_ref(), b.cout())?;
                    check_vec(n, "pr_bias0", Some(&b.pr_bias0), b.cout())?;
                    check_vec(n, "pr_prelu", Some(&b.pr_prelu), b.cout())?;
                    check_vec(n, "pr_bias1", Some(&b.pr_bias1), b.cout())?;
                }
            }
        }
        if self.tail.cin() != c {
            return Err(format!("{}: expects {} input channels, gets {c}", self.tail.name, self.tail.cin()));
        }
        check_vec(&self.tail.name, "bias", self.tail.bias.as_ref(), self.tail.cout())?;
        if self.tail.cout() != self.out_ch || self.out_ch != self.in_ch {
            return Err(format!(
                "the tail gives {} channels but the global residual needs {}",
                self.tail.cout(),
                self.in_ch
            ));
        }
        if !(self.k.is_finite() && self.k > 0.0) {
            return Err(format!("k must be a positive number, got {}", self.k));
        }
        let finite = |name: &str, it: &mut dyn Iterator<Item = &f32>| -> Result<(), String> {
            for v in it {
                if !v.is_finite() {
                    return Err(format!("{name}: contains NaN or infinity"));
                }
            }
            Ok(())
        };
        for layer in &self.layers {
            match layer {
                Layer::Conv { conv, .. } => {
                    finite(&conv.name, &mut conv.weight.iter().chain(conv.bias.iter().flatten()))?
                }
                Layer::Binary(b) => finite(
                    &b.name,
                    &mut b
                        .weight
                        .iter()
                        .chain(b.move0.iter())
                        .chain(b.bias.iter().flatten())
                        .chain(b.pr_bias0.iter())
                        .chain(b.pr_prelu.iter())
                        .chain(b.pr_bias1.iter()),
                )?,
                Layer::PixelShuffle(_) | Layer::Leaky(_) => {}
            }
        }
        finite(&self.tail.name, &mut self.tail.weight.iter().chain(self.tail.bias.iter().flatten()))
    }
}

fn check_vec(layer: &str, what: &str, v: Option<&Array1<f32>>, n: usize) -> Result<(), String> {
    match v {
        Some(v) if v.len() != n => Err(format!("{layer}: {what} has {} entries, expected {n}", v.len())),
        _ => Ok(()),
    }
}
