//! The device side of the accelerator as the host driver sees it, whatever runs it: the
//! instruction-level reference model ([`crate::refmodel`]), the rust-hdl or Verilator
//! simulation of the engine, or a board behind a link.
//!
//! A run is: [`Device::load`] a model image (the compiler's output, [`crate::ModelImage`]),
//! then [`Device::run_strip`] once per vertical strip of the image (the host cuts strips with
//! [`crate::strips::plan`]), then [`Device::counters`].

use crate::config::HwConfig;
use crate::program::Header;
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

impl StripJob {
    /// Checks a strip against the loaded program before any device touches it: every device
    /// (reference model, simulators, boards) refuses the same jobs with the same one-line errors.
    pub fn check(&self, h: &Header, input_len: usize) -> Result<(), DeviceError> {
        let bad = |m: String| Err(DeviceError::BadJob(m));
        if self.width == 0 || self.height == 0 || self.width > h.width_cap {
            return bad(format!("width {} outside 1..={} of this model", self.width, h.width_cap));
        }
        if self.keep_w == 0 || self.keep_x0 + self.keep_w > self.width {
            return bad(format!("kept columns {}+{} outside the strip of {}", self.keep_x0, self.keep_w, self.width));
        }
        // The engine counts rows in 16 bits.
        if self.height > u16::MAX as usize {
            return bad(format!("height {} exceeds the row counter ({})", self.height, u16::MAX));
        }
        if input_len != h.in_ch * self.height * self.width {
            return bad(format!("{input_len} input bytes for {}×{}×{}", h.in_ch, self.height, self.width));
        }
        Ok(())
    }
}

/// Channel-major (`c × h × w`, the `Device` interface) to the order the engine streams
/// pixels in: rows, pixels, channels fastest.
pub fn chw_to_hwc(data: &[u8], c: usize, h: usize, w: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    for y in 0..h {
        for x in 0..w {
            for ch in 0..c {
                out.push(data[(ch * h + y) * w + x]);
            }
        }
    }
    out
}

/// The inverse of [`chw_to_hwc`].
pub fn hwc_to_chw(data: &[u8], c: usize, h: usize, w: usize) -> Vec<u8> {
    let mut out = vec![0u8; data.len()];
    for y in 0..h {
        for x in 0..w {
            for ch in 0..c {
                out[(ch * h + y) * w + x] = data[(y * w + x) * c + ch];
            }
        }
    }
    out
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

impl Counters {
    /// The strip's totals alone, as an engine without per-op counters
    /// (`HwConfig::op_counters`) reports them.
    pub fn totals(&self) -> Counters {
        Counters { layer_cycles: Vec::new(), layer_busy: Vec::new(), ..self.clone() }
    }
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
    /// The cycle (from the strip's start) by which each output row of `job` is complete, as
    /// the engine's wavefront produces them, when the device knows it: a board that streams
    /// results can send a row from then on.
    fn output_rows(&self, _job: &StripJob) -> Option<Vec<u64>> {
        None
    }
    /// Forgets the model and the counters.
    fn reset(&mut self);
}
