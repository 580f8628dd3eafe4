//! The protocol engine (`bbcu_hdl::proto::Proto`) under rust-hdl's simulator at byte level:
//! bytes go in through a model of the UART's receive FIFO, replies are parsed from what it
//! writes to the send FIFO, and the engine's load port is recorded. Frames are built and
//! checked by the independent host-side code in `tests/link`.

mod link;

use bbcu_arch::HwConfig;
use bbcu_hdl::proto::Proto;
use link::cases::LinkDut;
use link::*;

/// A short partial-frame timeout, so that the tests can wait it out.
const STALE: u32 = 400;
/// Cycles of silence after which a test takes it that no more replies come.
const QUIET: u64 = 1500;

hw_dut!(Proto<10>, |cfg| Proto::<10>::new(cfg, STALE), 2 * STALE as u64, QUIET);

// The byte-level cases every protocol engine passes (`tests/link/cases.rs`).
link_cases!(Dut::new);

/// Writes the protocol engine's Verilog alone for a size estimate:
/// `cargo test -p bbcu-hdl --test proto -- --ignored proto_verilog`, then
/// `yosys -q -p 'synth_ice40 -top top; stat' target/tmp/proto-up5k.v`.
#[test]
#[ignore]
fn proto_verilog() {
    let mut p = Proto::<10>::new(&HwConfig::preset("ice40-up5k").unwrap(), 9_600_000);
    rust_hdl::prelude::Block::connect_all(&mut p);
    let v = rust_hdl::prelude::generate_verilog(&p);
    std::fs::write(concat!(env!("CARGO_TARGET_TMPDIR"), "/proto-up5k.v"), v).unwrap();
}
