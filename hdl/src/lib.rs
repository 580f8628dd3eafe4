//! Rust-HDL blocks of the BBCU accelerator (`docs/arithmetic.md` §4 is the contract).
//!
//! - [`popcount`]: pipelined adder trees that count XNOR matches over 32 or 64 lanes;
//! - [`pe`]: an XNOR-popcount processing element with a lane-valid mask and an accumulator
//!   over successive input words ([`Pe32`], [`Pe64`]);
//! - [`array`](mod@array): P such elements sharing one activation word ([`PeArray32`], [`PeArray64`]);
//! - [`fp`]: the full-precision leaf blocks (MAC lanes, conv rounding and slope, input word,
//!   output pixel; `docs/arithmetic.md` §2, §3, §6);
//! - [`uart`]: an 8N1 UART (16× oversampling receiver, transmitter, byte FIFOs);
//! - [`ctl`]: the control core (`bbcu_arch::ctl`) with its program and registers in block RAM;
//! - [`bram`]: a block RAM without read-during-write logic, for memories that never need it;
//! - [`crc`]: byte-per-cycle CRC-32 and CRC-8 for the link protocol;
//! - [`proto`]: the device side of the link protocol (`docs/protocol.md`, "Hardware boards")
//!   between the UART's FIFOs and the engine's ports;
//! - [`linkfw`]: the same protocol as firmware for the control core, with its I/O block modelled;
//! - [`linkio`]: that firmware on the control core beside the link I/O block, in hardware;
//! - [`linkmem`]: the link's byte buffers (UART FIFOs, frame buffer, result FIFO) in one SPRAM;
//! - [`board_top`]: the board top-level (UART, protocol engine, engine) per engine instance;
//! - [`board_sim`]: the board top-level's Verilog under Verilator, spoken to on its serial pins;
//! - [`top_echo`]: a UART echo board design that tests the board flow;
//! - [`spram`]: a memory of iCE40 UP5K single-port RAMs with the `RAM` widget's ports;
//! - [`engine`]: the whole accelerator engine (sequencer, memories, datapaths, counters);
//! - [`device`]: the engine under rust-hdl's simulator as a `bbcu_arch::Device`;
//! - [`sim`]: a thread-free driver for rust-hdl's simulator;
//! - [`verilator`]: the engine's emitted Verilog under Verilator as a `bbcu_arch::Device`.
//!
//! rust-hdl 0.46 cannot translate `let`, const generics inside index expressions, or loop
//! variables inside `bit_cast` (the cast width is evaluated outside the unrolled loop), so the
//! trees are written as arrays of registers with literal-indexed levels, and widening inside
//! loops goes through `.index().to_bits::<W>()`, which the Verilog generator passes through
//! untouched (Verilog widens by context).
//!
//! Two more rules the engine follows: every `Local` signal is written before it is read in
//! program order (rust-hdl's loop check refuses the Verilog otherwise, and Verilator would see
//! an always-block reading its own output), and a Rust `const` compared inside a kernel
//! (`x.index() == N`) is emitted by name into the Verilog, so such values are `Constant`
//! fields. A `const` as a `for` range or a literal array index is fine.

pub mod array;
pub mod board_sim;
pub mod board_top;
pub mod bram;
pub mod crc;
pub mod ctl;
pub mod device;
pub mod engine;
pub mod enginefw;
pub mod fp;
pub mod generate;
pub mod linkfw;
pub mod linkio;
pub mod linkmem;
pub mod pe;
pub mod popcount;
pub mod post;
pub mod proto;
pub mod sim;
pub mod spram;
pub mod top_echo;
pub mod uart;
pub mod verilator;

pub use array::{PeArray16, PeArray32, PeArray64};
pub use pe::{Pe16, Pe32, Pe64};
pub use popcount::{Popcount16, Popcount32, Popcount64};
