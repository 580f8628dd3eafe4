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
