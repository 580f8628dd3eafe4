//! The board top-level: UART (with its byte FIFOs), a protocol engine and the engine, for
//! each engine instance this build generates (`crate::device`): [`BoardTest`] around the
//! simulation tests' engine, [`BoardUp5k`] and [`BoardEcp5`] around the board presets' shapes.
//! The protocol engine is the hand-built [`Proto`] or the firmware on the control core
//! ([`FwLink`], [`Link`]): the UP5K has the logic cells only for the second, and its engine's
//! sequencer is firmware too (`crate::enginefw`); the ULX3S's committed bitstream has the
//! hand-built protocol engine and the hardware sequencer. The test engine's board comes as
//! either ([`BoardTest`], [`BoardTestFw`]).
//!
//! Ports are named as in the board files (`bitstreams/boards/*.toml`), as [`crate::top_echo`]
//! names them: `clock`, `uart_rx`, `uart_tx`, `led` (bit 0: a verified model is loaded; bit 1:
//! lit while bytes are sent, and for good once a framing error or a receive overflow was seen).
//! `led_active_low` inverts them.
//!
//! The receive FIFO holds 2 KiB: the strip input rule of the hardware profile (at most two DATA
//! frames of up to [`crate::proto::MAX_CHUNK`] bytes unacknowledged, `docs/protocol.md`) keeps
//! at most one such frame and two QUERY frames in it while the frame before is fed to the
//! engine. The send FIFO holds 512 bytes: the protocol engine's sender waits while it is full,
//! and the line, not the FIFO, sets how soon a frame has left (3 EBR fewer than 2 KiB). With
//! [`Proto`] they are the [`BoardUart`]'s block RAMs; with the firmware ([`BoardUp5k`],
//! [`BoardTestFw`]) the UART is a [`UartCore`] and the FIFOs, of the same sizes, are in the
//! SPRAM that [`FwLink`] shares with its frame buffer and result FIFO (`crate::linkmem`):
//! 9 block RAMs fewer on the UP5K, whose engine leaves one of its four SPRAMs free.

use crate::device::{Ecp5Engine, TestEngine, TestEngineFw, Up5kEngine};
use crate::linkio::FwLink;
use crate::proto::Proto;
use crate::uart::{Uart, UartCore};
use bbcu_arch::HwConfig;
use rust_hdl::prelude::*;

/// The firmware boards' one control core: the protocol firmware on thread 0, the engine's
/// sequencer firmware on thread 1 (each thread's program address bits: the protocol's).
pub type SharedCore = crate::ctl::Ctl<{ crate::linkfw::PA as usize }>;

/// UART with a 2 KiB receive FIFO and a 512-byte send FIFO.
pub type BoardUart = Uart<11, 12, 9, 10>;

/// ROM address bits of each instance: the INFO tail (the design description) and the error
/// messages; [`crate::proto::rom_image`] is checked against it at construction.
pub const ROM_BITS: usize = 10;

/// Which protocol engine a board top-level has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// [`Proto`]: hand-built logic.
    Hand,
    /// [`FwLink`]: firmware on the control core beside the link I/O block (the boards with
    /// it have the firmware-sequenced engine too, as the UP5K does).
    Firmware,
}

/// `board_top!(meta, Name, Engine, Link, UartType, fifo uart | line uart, status)`: `fifo`
/// wires a protocol engine to a [`Uart`]'s FIFOs, `line` wires one that holds the FIFOs
/// itself ([`FwLink`]) to a [`UartCore`]; `status` names the block with `rx_overflow` and
/// `tx_idle` for the LEDs.
macro_rules! board_top {
    (@link $link:ty, $cfg:expr, $stale:expr) => { <$link>::new($cfg, $stale) };
    (@link $link:ty, $cfg:expr, $stale:expr, $core:ident) => { <$link>::external($cfg, $stale) };
    (@engine $engine:ty, $cfg:expr) => { Default::default() };
    (@engine $engine:ty, $cfg:expr, $core:ident) => { <$engine>::external().configure($cfg) };
    ($(#[$meta:meta])* $name:ident, $engine:ty, $link:ty, $uart:ty, $(fifo $fifo:ident)? $(line $line:ident)?, $st:ident $(, shared $core:ident)?) => {
        $(#[$meta])*
        #[derive(LogicBlock)]
        pub struct $name {
            pub clock: Signal<In, Clock>,
            pub uart_rx: Signal<In, Bit>,
            pub uart_tx: Signal<Out, Bit>,
            pub led: Signal<Out, Bits<2>>,
            uart: $uart,
            proto: $link,
            engine: $engine,
            $($core: SharedCore,)?
            leds: Signal<Local, Bits<2>>,
            led_invert: Constant<Bits<2>>,
        }

        impl $name {
            /// `divisor`: the UART's clock divisor (`crate::uart::divisor_for`);
            /// `stale_cycles`: clocks after which a partial frame is given up (the protocol's
            /// 200 ms).
            pub fn new(cfg: &HwConfig, divisor: u32, stale_cycles: u32, led_active_low: bool) -> Self {
                Self::with_baud(cfg, crate::uart::Baud::divisor(divisor), stale_cycles, led_active_low)
            }

            /// As [`Self::new`] with any UART timing (`crate::uart::Baud::for_rate`: 3 Mbaud
            /// from 36 MHz takes 12 clocks a bit).
            pub fn with_baud(cfg: &HwConfig, baud: crate::uart::Baud, stale_cycles: u32, led_active_low: bool) -> Self {
                Self {
                    clock: Default::default(),
                    uart_rx: Default::default(),
                    uart_tx: Default::default(),
                    led: Default::default(),
                    uart: <$uart>::with_baud(baud),
                    proto: board_top!(@link $link, cfg, stale_cycles $(, $core)?),
                    engine: board_top!(@engine $engine, cfg $(, $core)?),
                    $($core: SharedCore::dual(&<$link>::program(cfg, stale_cycles), &<$engine>::program()),)?
                    leds: Default::default(),
                    led_invert: Constant::new(bits::<2>(if led_active_low { 3 } else { 0 })),
                }
            }
        }

        impl Logic for $name {
            #[hdl_gen]
            fn update(&mut self) {
                clock!(self, clock, uart, proto, engine);
                $(
                    // The shared core: the protocol firmware on thread 0, the sequencer's on 1.
                    self.$core.clock.next = self.clock.val();
                    self.proto.x_port_next.next = self.$core.port_next.val();
                    self.proto.x_port.next = self.$core.port.val();
                    self.proto.x_pout.next = self.$core.pout.val();
                    self.proto.x_out_next.next = self.$core.out_next[0].val();
                    self.proto.x_in_next.next = self.$core.in_next[0].val();
                    self.$core.pin[0].next = self.proto.x_pin.val();
                    self.engine.x_port_next.next = self.$core.port_next.val();
                    self.engine.x_port.next = self.$core.port.val();
                    self.engine.x_pout.next = self.$core.pout.val();
                    self.engine.x_wr.next = self.$core.pwr[1].val();
                    self.engine.x_rd.next = self.$core.prd[1].val();
                    self.$core.pin[1].next = self.engine.x_pin.val();
                    // Only the firmware engine and protocol engine have it (RESET's drain).
                    self.proto.eng_out.next = self.engine.out_pending.val();
                )?
                self.uart.rx.next = self.uart_rx.val();
                self.uart_tx.next = self.uart.tx.val();
                self.uart.clear_errors.next = false;
                $(
                    self.proto.rx_data.next = self.$fifo.rx_data.val();
                    self.proto.rx_empty.next = self.$fifo.rx_empty.val();
                    self.$fifo.rx_read.next = self.proto.rx_read.val();
                    self.$fifo.tx_data.next = self.proto.tx_data.val();
                    self.$fifo.tx_write.next = self.proto.tx_write.val();
                    self.proto.tx_full.next = self.$fifo.tx_full.val();
                )?
                $(
                    self.proto.rx_data.next = self.$line.rx_data.val();
                    self.proto.rx_valid.next = self.$line.rx_valid.val();
                    self.$line.tx_data.next = self.proto.tx_data.val();
                    self.$line.tx_load.next = self.proto.tx_load.val();
                    self.proto.tx_ready.next = self.$line.tx_ready.val();
                    self.proto.tx_busy.next = self.$line.tx_busy.val();
                )?

                self.engine.load_we.next = self.proto.load_we.val();
                self.engine.load_mem.next = self.proto.load_mem.val();
                self.engine.load_addr.next = self.proto.load_addr.val();
                self.engine.load_data.next = self.proto.load_data.val();
                self.engine.start.next = self.proto.start.val();
                self.engine.strip_w.next = self.proto.strip_w.val();
                self.engine.strip_h.next = self.proto.strip_h.val();
                self.engine.keep_x0.next = self.proto.keep_x0.val();
                self.engine.keep_w.next = self.proto.keep_w.val();
                self.proto.eng_busy.next = self.engine.busy.val();
                self.proto.eng_done.next = self.engine.done.val();
                self.proto.eng_error.next = self.engine.error.val();
                self.engine.in_data.next = self.proto.in_data.val();
                self.engine.in_valid.next = self.proto.in_valid.val();
                self.proto.in_ready.next = self.engine.in_ready.val();
                self.proto.out_data.next = self.engine.out_data.val();
                self.proto.out_valid.next = self.engine.out_valid.val();
                self.engine.out_ready.next = self.proto.out_ready.val();
                self.engine.cnt_sel.next = self.proto.cnt_sel.val();
                self.proto.cnt_data.next = self.engine.cnt_data.val();

                // No read-back of `leds` (a local read in its own kernel simulates as a latch).
                self.leds.next = 0.into();
                if self.uart.frame_error.val() | self.$st.rx_overflow.val() | !self.$st.tx_idle.val() {
                    self.leds.next = 2.into();
                    if self.proto.model_ok.val() {
                        self.leds.next = 3.into();
                    }
                } else if self.proto.model_ok.val() {
                    self.leds.next = 1.into();
                }
                self.led.next = self.leds.val() ^ self.led_invert.val();
            }
        }

        impl crate::sim::Clocked for $name {
            fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
                &mut self.clock
            }
        }
    };
}

board_top!(
    /// The board top-level around the simulation tests' engine (`hdl/sim-test.toml`).
    BoardTest,
    TestEngine,
    Proto<ROM_BITS>,
    BoardUart,
    fifo uart,
    uart
);
board_top!(
    /// [`BoardTest`] as the UP5K has it: the protocol engine and the engine's sequencer as
    /// firmware.
    BoardTestFw,
    TestEngineFw,
    FwLink,
    UartCore,
    line uart,
    proto,
    shared core
);
board_top!(
    /// The board top-level around the `ice40-up5k` engine shape, with the protocol engine as
    /// firmware.
    BoardUp5k,
    Up5kEngine,
    FwLink,
    UartCore,
    line uart,
    proto,
    shared core
);
board_top!(
    /// The board top-level around the `ecp5-85k` engine shape.
    BoardEcp5,
    Ecp5Engine,
    Proto<ROM_BITS>,
    BoardUart,
    fifo uart,
    uart
);
