//! The protocol engine as firmware in hardware (`bbcu_hdl::linkio::LinkIo`: the control core
//! running `linkfw`'s firmware beside the link I/O block) under rust-hdl's simulator at byte
//! level, through the same harness and cases as the hand-built engine (`tests/proto.rs`).
//! Its model (`tests/linkfw.rs`) runs the same cases on the instruction-level core and the I/O
//! block's model; this is the check that the two agree in hardware.

mod link;

use bbcu_hdl::linkio::FwLink;
use link::cases::LinkDut;
use link::*;

/// A short partial-frame timeout (two of the countdown's 256-cycle units).
const STALE: u32 = 512;
/// Cycles of silence after which no more replies come: a frame is acted on in a few
/// thousand cycles by the firmware.
const QUIET: u64 = 3000;

hw_dut!(FwLink, |cfg| FwLink::new(cfg, STALE), 4 * STALE as u64, QUIET, tx_idle);

link_cases!(Dut::new);
