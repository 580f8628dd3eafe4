//! The accelerator's architecture, independent of the HDL that implements it.
//!
//! - [`ctl`]: the control core's instruction set, assembler and instruction-level model;
//! - [`config`]: hardware configurations (array shape, memory sizes) and the presets;
//! - [`program`]: the layer program the engine's sequencer decodes;
//! - [`compile`](mod@compile): network + configuration → model image, with the row-wavefront schedule,
//!   the ring sizes, the memory layout and the fit check;
//! - [`image`]: the model image (writes into the device's memories);
//! - [`device`]: the interface every device implements (reference model, simulators, boards);
//! - [`refmodel`]: the instruction-level reference model of the engine, and its cycle model;
//! - [`seqfw`]: the sequencer as control-core firmware (on the model, beside the row loop);
//! - [`strips`]: cutting images into strips the engine can hold, and stitching them back.

pub mod compile;
pub mod config;
pub mod ctl;
pub mod device;
pub mod image;
pub mod program;
pub mod refmodel;
pub mod seqfw;
pub mod strips;

pub use bbcu_sim::fixed::MAX_SHIFT;
pub use compile::{compile, CompileError, Compiled, MemUse};
pub use config::HwConfig;
pub use device::{Counters, DesignInfo, Device, DeviceError, StripJob};
pub use image::ModelImage;
pub use refmodel::RefDevice;
