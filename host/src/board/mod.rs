//! Boards behind a link: the device-side protocol server ([`serve`]), the host's driver
//! ([`client`]), and the device that stands in for the accelerator until the engine's
//! reference model lands ([`cpu`]).

pub mod client;
pub mod cpu;
pub mod drive;
pub mod serve;

use bbcu_sim::fixed::QLayer;
use bbcu_sim::{FixedNetwork, Global};

/// Upscaling factor of a compiled network.
pub fn scale(net: &FixedNetwork) -> usize {
    match net.global {
        Global::Bilinear(r) => r,
        Global::SubtractInput => 1,
    }
}

/// Columns (in input pixels) a strip must carry beyond those it keeps so that the kept
/// outputs equal the whole image's: every 3×3 layer reaches one pixel further (one pixel at
/// high resolution is less than one input pixel, so counting it as one is safe), the tail
/// one more, and the bilinear residual one more.
pub fn halo(net: &FixedNetwork) -> usize {
    let convs = net.layers.iter().filter(|l| matches!(l, QLayer::Conv(_) | QLayer::Binary(_))).count();
    convs + 1 + usize::from(matches!(net.global, Global::Bilinear(_)))
}

/// Widest feature map of a network, in channels (what a design's `max_channels` bounds). A
/// conv followed by a pixel shuffle is counted after the shuffle: the engine writes its
/// output channels out as pixels, never holding `r²·C` channels of one pixel.
pub fn max_channels(net: &FixedNetwork) -> usize {
    let mut m = net.in_ch.max(net.out_ch).max(net.tail.cin);
    for (i, l) in net.layers.iter().enumerate() {
        let shuffle = match net.layers.get(i + 1) {
            Some(QLayer::PixelShuffle(r)) => r * r,
            _ => 1,
        };
        match l {
            QLayer::Conv(c) => m = m.max(c.cin).max(c.cout / shuffle),
            QLayer::Binary(b) => m = m.max(b.cin).max(b.cout / (shuffle * b.upscale * b.upscale)),
            _ => {}
        }
    }
    m
}
