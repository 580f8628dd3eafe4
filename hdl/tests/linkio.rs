//! The protocol engine as firmware in hardware (`bbcu_hdl::linkio::LinkIo`: the control core
//! running `linkfw`'s firmware beside the link I/O block) under rust-hdl's simulator at byte
//! level, through the same harness and cases as the hand-built engine (`tests/proto.rs`).
//! Its model (`tests/linkfw.rs`) runs the same cases on the instruction-level core and the I/O
//! block's model; this is the check that the two agree in hardware. `LinkIo` holds the UART's
//! FIFOs with its own buffers in one SPRAM (`linkmem`), so bytes come in as the UART's receiver
//! gives them, paced like a line.

mod link;

use bbcu_hdl::linkio::FwLink;
use link::cases::LinkDut;
use link::*;

/// A short partial-frame timeout (two of the countdown's 256-cycle units).
const STALE: u32 = 512;
/// Cycles of silence after which no more replies come: a frame is acted on in a few
/// thousand cycles by the firmware.
const QUIET: u64 = 3000;

/// Cycles between received bytes: a line a little faster than 3 Mbaud at 36 MHz (120), the
/// one the firmware is built for (~80 cycles a model-image byte all in), so the receive FIFO
/// in the SPRAM fills while a frame is parsed and drains between frames.
const GAP: u64 = 100;

hw_dut_line!(FwLink, |cfg| FwLink::new(cfg, STALE), 4 * STALE as u64, QUIET, GAP);

link_cases!(Dut::new);

/// Writes the protocol engine's Verilog alone for a size and speed estimate:
/// `cargo test -p bbcu-hdl --test linkio -- --ignored linkio_verilog` writes
/// `target/tmp/linkio-up5k.v` (top module `top`), which `scripts/measure-linkio.sh` places
/// on the UP5K behind serial pins.
#[test]
#[ignore]
fn linkio_verilog() {
    let mut p = FwLink::new(&bbcu_arch::HwConfig::preset("ice40-up5k").unwrap(), 9_600_000);
    rust_hdl::prelude::Block::connect_all(&mut p);
    let v = rust_hdl::prelude::generate_verilog(&p);
    std::fs::write(concat!(env!("CARGO_TARGET_TMPDIR"), "/linkio-up5k.v"), v).unwrap();
}
