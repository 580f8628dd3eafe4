//! Boards and the open FPGA flow for BBCU accelerators.
//!
//! - [`board`]: board definitions (`boards/*.toml`, embedded at build time) and the `.pcf` /
//!   `.lpf` pin constraints made from them for a design's top-level ports;
//! - [`flash`]: programming a board with the programmer its file names;
//! - [`flow`]: Yosys → nextpnr → icepack/ecppack with logs and `report.json`
//!   ([`flow::build`]);
//! - [`pll`]: PLL settings (iCE40, ECP5) and the shell that clocks a design through one;
//! - [`report`]: the report and the parsers of the tools' logs.

pub mod board;
pub mod flash;
pub mod flow;
pub mod pll;
pub mod report;

pub use board::Board;
pub use flow::{build, FlowError, Options};
pub use report::Report;
