//! BBCU networks in software: the network description, the float32 reference, the
//! bit-exact fixed-point golden model (the contract for every simulator and board) and the
//! fast bit-packed CPU engine.

pub mod engine;
pub mod fixed;
pub mod float;
pub mod network;
pub mod planes;
pub mod synth;

pub use fixed::FixedNetwork;
pub use network::{Act, Arch, BinaryConv, Conv, Global, Layer, Network};
pub use planes::Planes;
