//! Boards behind a link: the device-side protocol server ([`serve`]), the simulated hardware
//! board top-level ([`board_top`]) and the host's driver ([`client`], [`drive`]).

pub mod board_top;
pub mod client;
pub mod drive;
pub mod modelled;
pub mod plan;
pub mod serve;

use bbcu_sim::{FixedNetwork, Global};

/// Upscaling factor of a compiled network.
pub fn scale(net: &FixedNetwork) -> usize {
    match net.global {
        Global::Bilinear(r) => r,
        Global::SubtractInput => 1,
    }
}
