//! `bbcu-host info`: what a checkpoint contains, counted the way the paper counts.

use crate::model::Model;
use bbcu_sim::fixed::QLayer;
use bbcu_sim::network::{Counts, Layer};
use serde::Serialize;
use std::fmt;
use std::path::Path;

/// The paper's OPs are quoted for a 320×180 LR input.
pub const PAPER_PIXELS: f64 = 320.0 * 180.0;

#[derive(Serialize)]
pub struct LayerInfo {
    pub name: String,
    pub kind: String,
    pub cin: usize,
    pub cout: usize,
}

#[derive(Serialize)]
pub struct Info {
    pub file: String,
    pub arch: String,
    pub task: String,
    pub in_channels: usize,
    pub num_feat: usize,
    pub binary_units: usize,
    pub scale: usize,
    pub k: f32,
    pub counts: Counts,
    pub paper_params: f64,
    pub paper_ops_320x180: f64,
    pub fixed_frac_bits: u32,
    pub zero_latent_weights: usize,
    pub layers: Vec<LayerInfo>,
}

impl Info {
    pub fn of(path: &Path, m: &Model) -> Self {
        let net = &m.net;
        let counts = net.counts();
        let layers = net
            .layers
            .iter()
            .map(|l| match l {
                Layer::Conv { conv, .. } => {
                    LayerInfo { name: conv.name.clone(), kind: "fp conv".into(), cin: conv.cin(), cout: conv.cout() }
                }
                Layer::Binary(b) => LayerInfo {
                    name: b.name.clone(),
                    kind: if b.upscale == 1 { "BBCU-B".into() } else { format!("BBCU-U x{}", b.upscale) },
                    cin: b.cin(),
                    cout: b.cout(),
                },
                Layer::PixelShuffle(r) => {
                    LayerInfo { name: String::new(), kind: format!("pixel shuffle x{r}"), cin: 0, cout: 0 }
                }
                Layer::Leaky(s) => LayerInfo { name: String::new(), kind: format!("LeakyReLU({s})"), cin: 0, cout: 0 },
            })
            .chain(std::iter::once(LayerInfo {
                name: net.tail.name.clone(),
                kind: "fp conv (tail)".into(),
                cin: net.tail.cin(),
                cout: net.tail.cout(),
            }))
            .collect();
        Info {
            file: path.display().to_string(),
            arch: net.arch.name().into(),
            task: net.task().into(),
            in_channels: net.in_ch,
            num_feat: net.num_feat,
            binary_units: m.fixed.layers.iter().filter(|l| matches!(l, QLayer::Binary(_))).count(),
            scale: net.scale(),
            k: net.k,
            paper_params: counts.paper_params(),
            paper_ops_320x180: counts.paper_ops(PAPER_PIXELS),
            counts,
            fixed_frac_bits: m.fixed.frac,
            zero_latent_weights: m.fixed.zero_weights,
            layers,
        }
    }
}

impl fmt::Display for Info {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let c = &self.counts;
        writeln!(f, "model        {}", self.file)?;
        writeln!(
            f,
            "topology     {} ({}), {} input channel(s), {} features, {} binary units, x{}",
            self.arch, self.task, self.in_channels, self.num_feat, self.binary_units, self.scale
        )?;
        writeln!(f, "k            {}", self.k)?;
        writeln!(
            f,
            "weights      {} binary ({:.1} kbit), {} full-precision, {} per-channel constants",
            c.binary_weights,
            c.binary_weights as f64 / 1024.0,
            c.fp_weights,
            c.per_channel
        )?;
        writeln!(f, "MACs / LR px {:.0} binary, {:.0} full-precision", c.binary_macs_per_pixel, c.fp_macs_per_pixel)?;
        writeln!(f, "paper Params {:.1} K  (FP weights + binary weights / 32)", self.paper_params / 1e3)?;
        writeln!(
            f,
            "paper OPs    {:.4} G at 320x180 (FP MACs + binary MACs / 64; the paper rounds to {:.2} G)",
            self.paper_ops_320x180 / 1e9,
            paper_round(self.paper_ops_320x180 / 1e9)
        )?;
        writeln!(f, "fixed point  features i16 with {} fraction bits", self.fixed_frac_bits)?;
        if self.zero_latent_weights > 0 {
            writeln!(
                f,
                "note         {} latent weights are exactly 0: sign 0 in float, +1 in fixed point",
                self.zero_latent_weights
            )?;
        }
        writeln!(f, "layers")?;
        for l in &self.layers {
            if l.cin > 0 {
                writeln!(f, "  {:<22} {:<16} {:>4} -> {:<4}", l.name, l.kind, l.cin, l.cout)?;
            } else {
                writeln!(f, "  {:<22} {}", "", l.kind)?;
            }
        }
        Ok(())
    }
}

/// The paper's table shows OPs rounded to three decimals, then to two, half up
/// (BBCU-M x2: 1.8248 → 1.825 → 1.83).
pub fn paper_round(g: f64) -> f64 {
    let three = (g * 1000.0).round() / 1000.0;
    ((three * 100.0) + 1e-9).round() / 100.0
}
