//! Networks of any released topology with deterministic pseudo-random, "trained-like"
//! parameters, for tests and benchmarks that must not depend on a checkpoint file.

use crate::network::{Act, Arch, BinaryConv, Conv, Global, Layer, Network};
use ndarray::{Array1, Array4};

/// Topology hyper-parameters, named as in the released configs.
#[derive(Debug, Clone, Copy)]
pub struct Topology {
    pub arch: Arch,
    pub channels: usize,
    pub num_feat: usize,
    /// SR: BasicSR `num_block` (each block = 2 binary units). DnCNN: `nb`, all convs.
    pub blocks: usize,
    pub scale: usize,
    /// Full-precision bias on every binary conv (the deblocking model).
    pub binary_bias: bool,
    pub k: f32,
}

/// SplitMix64: small, fast, and the same on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let u = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * u
    }
}

fn vec(rng: &mut Rng, n: usize, lo: f32, hi: f32) -> Array1<f32> {
    Array1::from_shape_fn(n, |_| rng.uniform(lo, hi))
}

fn conv(rng: &mut Rng, name: &str, cin: usize, cout: usize, bias: bool) -> Conv {
    // Scaled so features keep the magnitude of the k-scaled input.
    let s = 1.5 / ((cin * 9) as f32).sqrt();
    Conv {
        name: name.to_string(),
        weight: Array4::from_shape_fn((cout, cin, 3, 3), |_| rng.uniform(-s, s)),
        bias: bias.then(|| vec(rng, cout, -3.0, 3.0)),
    }
}

fn binary(rng: &mut Rng, name: &str, c: usize, r: usize, bias: bool) -> BinaryConv {
    let cout = c * r * r;
    BinaryConv {
        name: name.to_string(),
        move0: vec(rng, c, -3.0, 3.0),
        weight: Array4::from_shape_fn((cout, c, 3, 3), |_| rng.uniform(-0.1, 0.1)),
        bias: bias.then(|| vec(rng, cout, -2.0, 2.0)),
        pr_bias0: vec(rng, cout, -5.0, 5.0),
        pr_prelu: vec(rng, cout, -0.5, 0.8),
        pr_bias1: vec(rng, cout, -5.0, 5.0),
        upscale: r,
    }
}

impl Topology {
    pub fn bbcu_m(num_feat: usize, num_block: usize, scale: usize) -> Self {
        Topology { arch: Arch::BbcuM, channels: 3, num_feat, blocks: num_block, scale, binary_bias: false, k: 130.0 }
    }
    pub fn bbcu_l(num_feat: usize, num_block: usize, scale: usize) -> Self {
        Topology { arch: Arch::BbcuL, ..Self::bbcu_m(num_feat, num_block, scale) }
    }
    pub fn denoise(num_feat: usize, nb: usize) -> Self {
        Topology { arch: Arch::DnCnn, channels: 3, num_feat, blocks: nb, scale: 1, binary_bias: false, k: 130.0 }
    }
    pub fn deblock(num_feat: usize, nb: usize) -> Self {
        Topology { arch: Arch::DnCnn, channels: 1, num_feat, blocks: nb, scale: 1, binary_bias: true, k: 130.0 }
    }

    /// Builds the network with parameters drawn from `seed`.
    pub fn build(&self, seed: u64) -> Network {
        let mut rng = Rng::new(seed);
        let (c, f) = (self.channels, self.num_feat);
        let mut layers = Vec::new();
        match self.arch {
            Arch::BbcuL | Arch::BbcuM => {
                layers.push(Layer::Conv { conv: conv(&mut rng, "conv_first", c, f, true), act: Act::Leaky(0.1) });
                for i in 0..self.blocks {
                    for j in 0..2 {
                        layers.push(Layer::Binary(binary(&mut rng, &format!("body.{i}.body.{j}"), f, 1, false)));
                    }
                }
                let ups: Vec<usize> = if self.scale == 4 { vec![2, 2] } else { vec![self.scale] };
                for (n, r) in ups.iter().enumerate() {
                    let name = format!("upconv{}", n + 1);
                    if self.arch == Arch::BbcuM {
                        layers.push(Layer::Binary(binary(&mut rng, &name, f, *r, false)));
                    } else {
                        layers.push(Layer::Conv {
                            conv: conv(&mut rng, &name, f, f * r * r, true),
                            act: Act::Leaky(0.1),
                        });
                        layers.push(Layer::PixelShuffle(*r));
                    }
                }
                if self.arch == Arch::BbcuM {
                    layers.push(Layer::Binary(binary(&mut rng, "conv_hr", f, 1, false)));
                    layers.push(Layer::Leaky(0.1));
                } else {
                    layers.push(Layer::Conv { conv: conv(&mut rng, "conv_hr", f, f, true), act: Act::Leaky(0.1) });
                }
                Network {
                    arch: self.arch,
                    in_ch: c,
                    out_ch: c,
                    num_feat: f,
                    k: self.k,
                    layers,
                    tail: conv(&mut rng, "conv_last", f, c, true),
                    global: Global::Bilinear(self.scale),
                }
            }
            Arch::DnCnn => {
                layers.push(Layer::Conv {
                    conv: conv(&mut rng, "model.0", c, f, self.binary_bias),
                    act: Act::Leaky(0.0),
                });
                for i in 2..self.blocks {
                    layers.push(Layer::Binary(binary(&mut rng, &format!("model.{i}"), f, 1, self.binary_bias)));
                }
                Network {
                    arch: self.arch,
                    in_ch: c,
                    out_ch: c,
                    num_feat: f,
                    k: self.k,
                    layers,
                    tail: conv(&mut rng, &format!("model.{}", self.blocks), f, c, self.binary_bias),
                    global: Global::SubtractInput,
                }
            }
        }
    }
}
