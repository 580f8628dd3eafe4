//! The accelerator's architecture, independent of the HDL that implements it.
//!
//! - [`config`]: hardware configurations (array shape, memory sizes) and the presets;
//! - [`device`]: the interface every device implements (reference model, simulators, boards);
//! - [`strips`]: cutting images into strips the engine can hold.

pub mod config;
pub mod device;
pub mod strips;

pub use config::HwConfig;
pub use device::{Counters, DesignInfo, Device, DeviceError, StripJob};
