//! A loaded model, ready to run in either precision on the CPU engine.

use crate::checkpoint;
use anyhow::{bail, Result};
use bbcu_sim::engine::{FixedEngine, FloatEngine};
use bbcu_sim::{float, FixedNetwork, Network, Planes};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub enum Precision {
    /// float32, the released PyTorch semantics.
    Float,
    /// The bit-exact fixed-point golden model (what the hardware computes).
    Fixed,
}

pub struct Model {
    pub net: Network,
    pub fixed: FixedNetwork,
}

impl Model {
    pub fn load(path: &Path, k: f32, frac: Option<u32>) -> Result<Self> {
        let net = checkpoint::load(path, k)?;
        Self::new(net, frac).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    pub fn new(net: Network, frac: Option<u32>) -> Result<Self> {
        let fixed = FixedNetwork::compile(&net, frac)?;
        Ok(Model { net, fixed })
    }

    /// Smallest input side the model accepts (its convolutions need at least one pixel).
    pub fn check_input(&self, img: &Planes, what: &str) -> Result<()> {
        if img.channels != self.net.in_ch {
            bail!(
                "{what}: has {} channel(s) but the model takes {} ({})",
                img.channels,
                self.net.in_ch,
                if self.net.in_ch == 1 { "grey" } else { "RGB" }
            );
        }
        if img.width == 0 || img.height == 0 {
            bail!("{what}: the image is empty");
        }
        Ok(())
    }

    /// Runs the CPU engine. Build one engine per batch with [`Model::runner`] to pack the
    /// weights once.
    pub fn run(&self, img: &Planes, precision: Precision) -> Planes {
        self.runner(precision).run(img)
    }

    pub fn runner(&self, precision: Precision) -> Runner<'_> {
        match precision {
            Precision::Float => Runner::Float(FloatEngine::new(&self.net)),
            Precision::Fixed => Runner::Fixed(FixedEngine::new(&self.fixed)),
        }
    }
}

/// Brings an image to a model's channel count: grey into an RGB model is replicated (as
/// OpenCV's colour read does), RGB into a grey model becomes its MATLAB-style luma, rounded
/// (the convention the grey JPEG models are trained and tested with). Other counts are left
/// for [`Model::check_input`] to refuse.
pub fn to_channels(p: &Planes, channels: usize) -> Planes {
    match (p.channels, channels) {
        (1, 3) => Planes::from_vec(3, p.height, p.width, p.data.repeat(3)),
        (3, 1) => crate::metrics::rgb_to_y_u8(p),
        _ => p.clone(),
    }
}

pub enum Runner<'a> {
    Float(FloatEngine<'a>),
    Fixed(FixedEngine<'a>),
}

impl Runner<'_> {
    pub fn run(&self, img: &Planes) -> Planes {
        match self {
            Runner::Float(e) => float::to_bytes(&e.run(img)),
            Runner::Fixed(e) => e.run(img),
        }
    }
}
