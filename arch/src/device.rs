//! The device side of the accelerator as the host driver sees it, whatever runs it: the
//! instruction-level reference model ([`crate::refmodel`]), the rust-hdl or Verilator
//! simulation of the engine, or a board behind a link.
//!
//! A run is: [`Device::load`] a model image (the compiler's output, [`crate::ModelImage`]),
//! then [`Device::run_strip`] once per vertical strip of the image (the host cuts strips with
//! [`crate::strips::plan`]), then [`Device::counters`].

use crate::config::HwConfig;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Version of the model-image format and of the engine's instruction set.
pub const FORMAT_VERSION: u32 = 1;

/// What a device answers to HELLO: enough for the host to check that a model image compiled
/// for one design is not sent to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesignInfo {
    /// [`HwConfig::design_hash`] of the configuration the device was built from.
    pub hash: u32,
    pub format_version: u32,
    pub config: HwConfig,
}

impl DesignInfo {
    pub fn of(config: &HwConfig) -> Self {
        DesignInfo { hash: config.design_hash(), format_version: FORMAT_VERSION, config: config.clone() }
    }
}

/// One vertical strip: `width` input columns × `height` rows in, the output columns that
/// correspond to input columns `[keep_x0, keep_x0 + keep_w)` (of the strip) out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StripJob {
    pub width: usize,
    pub height: usize,
    pub keep_x0: usize,
    pub keep_w: usize,
}

/// Hardware performance counters of the last strip (and totals since reset).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Cycles from the start of the strip to its last output word.
    pub total_cycles: u64,
    /// Cycles the engine waited for input words or output space.
    pub stall_cycles: u64,
    /// Per program layer: cycles spent executing it.
    pub layer_cycles: Vec<u64>,
    /// Per program layer: PE-cycles doing useful XNOR-popcount work (binary layers) or MACs
    /// (full-precision layers), to compute utilisation.
    pub layer_busy: Vec<u64>,
    /// Strips run since reset.
    pub strips: u64,
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DeviceError {
    #[error("no model loaded")]
    NoModel,
    #[error("model image: {0}")]
    BadImage(String),
    #[error("strip: {0}")]
    BadJob(String),
    #[error("device: {0}")]
    Failed(String),
}

pub trait Device: Send {
    fn info(&self) -> DesignInfo;
    /// Loads a model image; on error the device holds no model (never half of one).
    fn load(&mut self, image: &[u8]) -> Result<(), DeviceError>;
    /// Runs one strip: `input` is the strip's 8-bit pixels, channel-major (CHW, `in_ch ×
    /// height × width`); the answer is the kept output pixels, CHW (`out_ch × height·r ×
    /// keep_w·r`).
    fn run_strip(&mut self, job: &StripJob, input: &[u8]) -> Result<Vec<u8>, DeviceError>;
    fn counters(&self) -> Counters;
    /// Forgets the model and the counters.
    fn reset(&mut self);
}
