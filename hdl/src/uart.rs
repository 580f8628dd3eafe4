//! An 8N1 UART: receiver, transmitter, and the pair behind byte FIFOs ([`Uart`]).
//!
//! Both directions run on a tick from a clock divider, with `ticks` ticks per bit (16 by
//! default, 8..=31 allowed); divisor and ticks are generator parameters ([`Baud`]):
//! baud = f_clk / (ticks · divisor), e.g. 48 MHz / (16 · 1) = 3 Mbaud, and 36 MHz / (12 · 1) =
//! 3 Mbaud — fewer ticks per bit let a slower engine clock reach the FTDI's 3 Mbaud. Both are
//! [`Constant`]s (fpga-notes §3.2), so one netlist serves one baud rate.
//!
//! Receiver ([`UartRx`]):
//! - the line goes through two flip-flops (it is asynchronous to the clock) stored inverted,
//!   so that the all-zero power-up state of iCE40/ECP5 flip-flops reads as an idle (high) line
//!   and no false start bit is seen after configuration;
//! - a low sample on a tick starts a frame; every bit is then decided by the majority of three
//!   samples at its centre (ticks 7, 8, 9 of 16; 5, 6, 7 of 12), which filters single-tick
//!   spikes;
//! - a start bit that is not low at its centre is a glitch: the receiver goes back to idle;
//! - a stop bit that is low at its centre is a framing error: the byte is dropped,
//!   `frame_error` pulses, and the receiver waits for the line to go high again before it looks
//!   for a new start bit (so a break, a long low, is one error and not a stream of 0x00 bytes);
//! - after a good stop bit's centre the receiver is idle at once, so a sender up to ~4 % faster
//!   (whose next start bit comes early) is still followed.
//!
//! Transmitter ([`UartTx`]): loads on a tick, sends start, 8 data bits LSB first and a stop bit
//! of 16 ticks each, and accepts the next byte on the tick that ends the stop bit, so a stream
//! of bytes leaves back to back at exactly the baud rate. Its line register is also stored
//! inverted, so the line is high (idle) from power-up.
//!
//! rust-hdl 0.46 has no reset; every register here relies on the zero power-up state that
//! iCE40 and ECP5 flip-flops have after configuration and that both simulators start from.

use crate::bram::Bram;
use rust_hdl::prelude::*;

/// Ticks per bit by default.
pub const OVERSAMPLE: u32 = 16;
/// Fewest and most ticks per bit: three centre samples need room around them, and the phase
/// counters are 5 bits.
pub const MIN_TICKS: u32 = 8;
pub const MAX_TICKS: u32 = 31;
/// Width of the divider counter: divisors up to 4096 (e.g. 9600 baud from 100 MHz needs 651).
pub const DIVIDER_BITS: usize = 12;

/// A UART's timing: a tick every `divisor` clocks, `ticks` ticks per bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Baud {
    pub divisor: u32,
    pub ticks: u32,
}

impl Baud {
    /// 16 ticks per bit.
    pub fn divisor(divisor: u32) -> Baud {
        Baud { divisor, ticks: OVERSAMPLE }
    }

    /// Clock cycles per bit.
    pub fn bit_cycles(self) -> u64 {
        (self.divisor * self.ticks) as u64
    }

    /// The timing that gives `baud` from `clock_hz` most closely, if within `tolerance`
    /// (relative); among equally close ones the one nearest 16 ticks per bit.
    pub fn for_rate(clock_hz: u64, baud: u64, tolerance: f64) -> Option<Baud> {
        (MIN_TICKS..=MAX_TICKS)
            .filter_map(|ticks| {
                let d = (clock_hz as f64 / (ticks as f64 * baud as f64)).round().max(1.0);
                let err = (clock_hz as f64 / (ticks as f64 * d) / baud as f64 - 1.0).abs();
                (err <= tolerance && d <= (1u64 << DIVIDER_BITS) as f64)
                    .then_some((Baud { divisor: d as u32, ticks }, (err * 1e9).round() as u64))
            })
            .min_by_key(|(b, err)| (*err, b.ticks.abs_diff(OVERSAMPLE)))
            .map(|(b, _)| b)
    }

    fn check(self) {
        assert!(
            (1..=1 << DIVIDER_BITS).contains(&self.divisor),
            "UART divisor {} is outside 1..={}",
            self.divisor,
            1 << DIVIDER_BITS
        );
        assert!(
            (MIN_TICKS..=MAX_TICKS).contains(&self.ticks),
            "UART ticks per bit {} is outside {MIN_TICKS}..={MAX_TICKS}",
            self.ticks
        );
    }
}

/// The clock divisor that gives `baud` from `clock_hz` at 16× oversampling, if the rate it gives
/// is within `tolerance` (relative) of `baud`.
pub fn divisor_for(clock_hz: u64, baud: u64, tolerance: f64) -> Option<u32> {
    let ideal = clock_hz as f64 / (OVERSAMPLE as f64 * baud as f64);
    let d = ideal.round().max(1.0);
    let actual = clock_hz as f64 / (OVERSAMPLE as f64 * d);
    ((actual / baud as f64 - 1.0).abs() <= tolerance && d <= (1u64 << DIVIDER_BITS) as f64).then_some(d as u32)
}

fn check_divisor(divisor: u32) {
    Baud::divisor(divisor).check();
}

/// One-cycle `tick` every `divisor` clocks (every clock for divisor 1).
#[derive(LogicBlock)]
pub struct BaudTick {
    pub clock: Signal<In, Clock>,
    pub tick: Signal<Out, Bit>,
    count: DFF<Bits<DIVIDER_BITS>>,
    pulse: DFF<Bit>,
    last: Constant<Bits<DIVIDER_BITS>>,
    /// The counter's bits the divisor needs (`2^⌈log2 divisor⌉ − 1`): synthesis drops the
    /// rest, and all of it at divisor 1 (the boards' 3 Mbaud), where `tick` is always high.
    mask: Constant<Bits<DIVIDER_BITS>>,
}

impl BaudTick {
    pub fn new(divisor: u32) -> Self {
        check_divisor(divisor);
        Self {
            clock: Default::default(),
            tick: Default::default(),
            count: Default::default(),
            pulse: Default::default(),
            last: Constant::new(bits::<DIVIDER_BITS>(divisor as u64 - 1)),
            mask: Constant::new(bits::<DIVIDER_BITS>(divisor.next_power_of_two() as u64 - 1)),
        }
    }
}

impl Logic for BaudTick {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, count, pulse);
        if (self.count.q.val() & self.mask.val()) == self.last.val() {
            self.count.d.next = 0.into();
            self.pulse.d.next = true;
        } else {
            self.count.d.next = (self.count.q.val() + 1) & self.mask.val();
            self.pulse.d.next = false;
        }
        self.tick.next = self.pulse.q.val();
    }
}

/// UART receiver, 8N1. `data` is valid in the cycle `valid` is high; `frame_error` is high for
/// one cycle when a frame's stop bit was low (that byte is dropped).
#[derive(LogicBlock)]
pub struct UartRx {
    pub clock: Signal<In, Clock>,
    pub rx: Signal<In, Bit>,
    pub data: Signal<Out, Bits<8>>,
    pub valid: Signal<Out, Bit>,
    pub frame_error: Signal<Out, Bit>,
    baud: BaudTick,
    /// The line, synchronised and inverted (high = line low).
    low0: DFF<Bit>,
    low1: DFF<Bit>,
    /// The (inverted) line at the last three ticks, newest first.
    s0: DFF<Bit>,
    s1: DFF<Bit>,
    s2: DFF<Bit>,
    /// IDLE, START, DATA, STOP, or BREAK (after a framing error: wait for a high line). Plain
    /// bits rather than a `LogicState` enum, whose Verilog declares its state names in every
    /// register that holds one and fails the lint (UNUSEDPARAM).
    state: DFF<Bits<3>>,
    /// Ticks since the start of the current bit.
    phase: DFF<Bits<5>>,
    nbits: DFF<Bits<3>>,
    shift: DFF<Bits<8>>,
    out: DFF<Bits<8>>,
    vld: DFF<Bit>,
    ferr: DFF<Bit>,
    /// Majority of the three samples says the line is low.
    low: Signal<Local, Bit>,
    /// This tick decides the current bit: samples 7, 8, 9 of it are in s2, s1, s0.
    decide: Signal<Local, Bit>,
    decide_phase: Constant<Bits<5>>,
    last_tick: Constant<Bits<5>>,
    last_bit: Constant<Bits<3>>,
    st_start: Constant<Bits<3>>,
    st_data: Constant<Bits<3>>,
    st_stop: Constant<Bits<3>>,
    st_break: Constant<Bits<3>>,
    msb: Constant<Bits<8>>,
}

impl UartRx {
    pub fn new(divisor: u32) -> Self {
        Self::with_baud(Baud::divisor(divisor))
    }

    pub fn with_baud(baud: Baud) -> Self {
        baud.check();
        Self {
            clock: Default::default(),
            rx: Default::default(),
            data: Default::default(),
            valid: Default::default(),
            frame_error: Default::default(),
            baud: BaudTick::new(baud.divisor),
            low0: Default::default(),
            low1: Default::default(),
            s0: Default::default(),
            s1: Default::default(),
            s2: Default::default(),
            state: Default::default(),
            phase: Default::default(),
            nbits: Default::default(),
            shift: Default::default(),
            out: Default::default(),
            vld: Default::default(),
            ferr: Default::default(),
            low: Default::default(),
            decide: Default::default(),
            // The tick after the third centre sample (16 ticks: samples 7, 8, 9).
            decide_phase: Constant::new(bits::<5>((baud.ticks / 2 + 1) as u64)),
            last_tick: Constant::new(bits::<5>((baud.ticks - 1) as u64)),
            last_bit: Constant::new(bits::<3>(7)),
            st_start: Constant::new(bits::<3>(1)),
            st_data: Constant::new(bits::<3>(2)),
            st_stop: Constant::new(bits::<3>(3)),
            st_break: Constant::new(bits::<3>(4)),
            msb: Constant::new(bits::<8>(0x80)),
        }
    }
}

impl Logic for UartRx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, low0, low1, s0, s1, s2, state, phase, nbits, shift, out, vld, ferr);
        clock!(self, clock, baud);
        self.low0.d.next = !self.rx.val();
        self.low1.d.next = self.low0.q.val();
        self.vld.d.next = false;
        self.ferr.d.next = false;
        if self.baud.tick.val() {
            self.s0.d.next = self.low1.q.val();
            self.s1.d.next = self.s0.q.val();
            self.s2.d.next = self.s1.q.val();
            if self.phase.q.val() == self.last_tick.val() {
                self.phase.d.next = 0.into();
            } else {
                self.phase.d.next = self.phase.q.val() + 1;
            }
        }
        self.low.next = (self.s0.q.val() & self.s1.q.val())
            | (self.s0.q.val() & self.s2.q.val())
            | (self.s1.q.val() & self.s2.q.val());
        self.decide.next = self.baud.tick.val() & (self.phase.q.val() == self.decide_phase.val());
        // State 0 is idle.
        if self.state.q.val() == self.st_start.val() {
            if self.decide.val() {
                if self.low.val() {
                    self.state.d.next = self.st_data.val();
                    self.nbits.d.next = 0.into();
                } else {
                    self.state.d.next = 0.into();
                }
            }
        } else if self.state.q.val() == self.st_data.val() {
            if self.decide.val() {
                if self.low.val() {
                    self.shift.d.next = self.shift.q.val() >> 1;
                } else {
                    self.shift.d.next = (self.shift.q.val() >> 1) | self.msb.val();
                }
                self.nbits.d.next = self.nbits.q.val() + 1;
                if self.nbits.q.val() == self.last_bit.val() {
                    self.state.d.next = self.st_stop.val();
                }
            }
        } else if self.state.q.val() == self.st_stop.val() {
            if self.decide.val() {
                if self.low.val() {
                    self.ferr.d.next = true;
                    self.state.d.next = self.st_break.val();
                } else {
                    self.out.d.next = self.shift.q.val();
                    self.vld.d.next = true;
                    self.state.d.next = 0.into();
                }
            }
        } else if self.state.q.val() == self.st_break.val() {
            if self.baud.tick.val() & !self.low1.q.val() {
                self.state.d.next = 0.into();
            }
        } else if self.baud.tick.val() & self.low1.q.val() {
            self.state.d.next = self.st_start.val();
            self.phase.d.next = 0.into();
        }
        self.data.next = self.out.q.val();
        self.valid.next = self.vld.q.val();
        self.frame_error.next = self.ferr.q.val();
    }
}

/// UART transmitter, 8N1. A byte on `data` is taken in a cycle where `ready` and `load` are
/// both high; `ready` is high for one cycle per tick while the transmitter is idle or ending a
/// stop bit, so `load` may simply be "a byte is waiting".
#[derive(LogicBlock)]
pub struct UartTx {
    pub clock: Signal<In, Clock>,
    pub data: Signal<In, Bits<8>>,
    pub load: Signal<In, Bit>,
    pub ready: Signal<Out, Bit>,
    pub busy: Signal<Out, Bit>,
    pub tx: Signal<Out, Bit>,
    baud: BaudTick,
    /// The line, inverted (high = line low), so it idles high from power-up.
    line_low: DFF<Bit>,
    active: DFF<Bit>,
    /// Data bits still to send, then the stop bit (a 1), LSB first.
    shift: DFF<Bits<9>>,
    phase: DFF<Bits<5>>,
    /// Bits sent so far in this frame: 0 = start bit … 9 = stop bit.
    nbits: DFF<Bits<4>>,
    bit_end: Signal<Local, Bit>,
    rdy: Signal<Local, Bit>,
    last_phase: Constant<Bits<5>>,
    stop_bit: Constant<Bits<4>>,
    stop_one: Constant<Bits<9>>,
}

impl UartTx {
    pub fn new(divisor: u32) -> Self {
        Self::with_baud(Baud::divisor(divisor))
    }

    pub fn with_baud(baud: Baud) -> Self {
        baud.check();
        Self {
            clock: Default::default(),
            data: Default::default(),
            load: Default::default(),
            ready: Default::default(),
            busy: Default::default(),
            tx: Default::default(),
            baud: BaudTick::new(baud.divisor),
            line_low: Default::default(),
            active: Default::default(),
            shift: Default::default(),
            phase: Default::default(),
            nbits: Default::default(),
            bit_end: Default::default(),
            rdy: Default::default(),
            last_phase: Constant::new(bits::<5>((baud.ticks - 1) as u64)),
            stop_bit: Constant::new(bits::<4>(9)),
            stop_one: Constant::new(bits::<9>(0x100)),
        }
    }
}

impl Logic for UartTx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, line_low, active, shift, phase, nbits);
        clock!(self, clock, baud);
        self.bit_end.next = self.active.q.val() & self.baud.tick.val() & (self.phase.q.val() == self.last_phase.val());
        self.rdy.next = self.baud.tick.val()
            & (!self.active.q.val() | (self.bit_end.val() & (self.nbits.q.val() == self.stop_bit.val())));
        if self.bit_end.val() {
            self.phase.d.next = 0.into();
        } else if self.active.q.val() & self.baud.tick.val() {
            self.phase.d.next = self.phase.q.val() + 1;
        }
        if self.bit_end.val() {
            if self.nbits.q.val() == self.stop_bit.val() {
                self.active.d.next = false;
            } else {
                self.line_low.d.next = !self.shift.q.val().get_bit(0);
                self.shift.d.next = self.shift.q.val() >> 1;
                self.nbits.d.next = self.nbits.q.val() + 1;
            }
        }
        if self.rdy.val() & self.load.val() {
            self.active.d.next = true;
            self.line_low.d.next = true;
            self.shift.d.next = bit_cast::<9, 8>(self.data.val()) | self.stop_one.val();
            self.phase.d.next = 0.into();
            self.nbits.d.next = 0.into();
        }
        self.ready.next = self.rdy.val();
        self.busy.next = self.active.q.val();
        self.tx.next = !self.line_low.q.val();
    }
}

/// A first-word-fall-through FIFO of `2^A` bytes (`A1 = A + 1`, fpga-notes §3.5) on one
/// [`RAM`] (one iCE40 EBR up to 512 bytes):
///
/// - `data_out` is the oldest byte while `empty` is low; `read` pops it;
/// - `write` pushes `data_in` unless `full` (a write while full is dropped, a read while empty
///   is ignored);
/// - `empty` and `full` come straight from flip-flops, so a writer or reader whose strobes
///   depend on them closes no combinational loop (Verilator's UNOPTFLAT fires on rust-hdl's
///   `SynchronousFIFO` used that way, whose flags are combinational).
///
/// A byte written on one rising edge can be read from the second edge on: the RAM reads
/// before it writes, so the read pointer may only reach a slot one edge after its write.
#[derive(LogicBlock)]
pub struct ByteFifo<const A: usize, const A1: usize> {
    pub clock: Signal<In, Clock>,
    pub data_in: Signal<In, Bits<8>>,
    pub write: Signal<In, Bit>,
    pub full: Signal<Out, Bit>,
    pub data_out: Signal<Out, Bits<8>>,
    pub read: Signal<In, Bit>,
    pub empty: Signal<Out, Bit>,
    // Not `mem`: that is the array inside `RAM`'s Verilog, and the instance would hide it.
    ram: Bram<Bits<8>, A>,
    wr: DFF<Bits<A1>>,
    rd: DFF<Bits<A1>>,
    nonempty: DFF<Bit>,
    is_full: DFF<Bit>,
    wr_next: Signal<Local, Bits<A1>>,
    rd_next: Signal<Local, Bits<A1>>,
    /// 2^A: pointers that differ by exactly this are a full FIFO.
    wrap: Constant<Bits<A1>>,
}

impl<const A: usize, const A1: usize> Default for ByteFifo<A, A1> {
    fn default() -> Self {
        assert_eq!(A + 1, A1, "FIFO pointers are one bit wider than addresses");
        Self {
            clock: Default::default(),
            data_in: Default::default(),
            write: Default::default(),
            full: Default::default(),
            data_out: Default::default(),
            read: Default::default(),
            empty: Default::default(),
            ram: Default::default(),
            wr: Default::default(),
            rd: Default::default(),
            nonempty: Default::default(),
            is_full: Default::default(),
            wr_next: Default::default(),
            rd_next: Default::default(),
            wrap: Constant::new(bits::<A1>(1 << A)),
        }
    }
}

impl<const A: usize, const A1: usize> Logic for ByteFifo<A, A1> {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, wr, rd, nonempty, is_full);
        self.ram.write_clock.next = self.clock.val();
        self.ram.read_clock.next = self.clock.val();
        self.wr_next.next = self.wr.q.val();
        if self.write.val() & !self.is_full.q.val() {
            self.wr_next.next = self.wr.q.val() + 1;
        }
        self.rd_next.next = self.rd.q.val();
        if self.read.val() & self.nonempty.q.val() {
            self.rd_next.next = self.rd.q.val() + 1;
        }
        self.ram.write_enable.next = self.write.val() & !self.is_full.q.val();
        self.ram.write_address.next = bit_cast::<A, A1>(self.wr.q.val());
        self.ram.write_data.next = self.data_in.val();
        self.ram.read_address.next = bit_cast::<A, A1>(self.rd_next.val());
        self.wr.d.next = self.wr_next.val();
        self.rd.d.next = self.rd_next.val();
        // Compared with `wr` before this edge's write, so a slot becomes readable one edge
        // after it is written.
        self.nonempty.d.next = self.rd_next.val() != self.wr.q.val();
        self.is_full.d.next = (self.wr_next.val() ^ self.rd_next.val()) == self.wrap.val();
        self.full.next = self.is_full.q.val();
        self.empty.next = !self.nonempty.q.val();
        self.data_out.next = self.ram.read_data.val();
    }
}

/// A UART behind byte FIFOs: `2^A` entries to receive, `2^T` to send (`A1 = A + 1`,
/// `T1 = T + 1`, fpga-notes §3.5).
///
/// - Receive: `rx_data` is the oldest byte while `rx_empty` is low; `rx_read` pops it.
/// - Send: `tx_write` pushes `tx_data` unless `tx_full`.
/// - `frame_error` (a frame with a low stop bit arrived) and `rx_overflow` (a byte arrived while
///   the receive FIFO was full, and was lost) are sticky until `clear_errors`.
/// - `tx_idle`: nothing queued and the line idle.
#[derive(LogicBlock)]
pub struct Uart<const A: usize, const A1: usize, const T: usize, const T1: usize> {
    pub clock: Signal<In, Clock>,
    pub rx: Signal<In, Bit>,
    pub tx: Signal<Out, Bit>,
    pub rx_data: Signal<Out, Bits<8>>,
    pub rx_empty: Signal<Out, Bit>,
    pub rx_read: Signal<In, Bit>,
    pub tx_data: Signal<In, Bits<8>>,
    pub tx_write: Signal<In, Bit>,
    pub tx_full: Signal<Out, Bit>,
    pub tx_idle: Signal<Out, Bit>,
    pub frame_error: Signal<Out, Bit>,
    pub rx_overflow: Signal<Out, Bit>,
    pub clear_errors: Signal<In, Bit>,
    receiver: UartRx,
    transmitter: UartTx,
    rx_fifo: ByteFifo<A, A1>,
    tx_fifo: ByteFifo<T, T1>,
    ferr: DFF<Bit>,
    ovf: DFF<Bit>,
}

impl<const A: usize, const A1: usize, const T: usize, const T1: usize> Uart<A, A1, T, T1> {
    /// Receive FIFO entries.
    pub const DEPTH: usize = 1 << A;

    pub fn new(divisor: u32) -> Self {
        Self::with_baud(Baud::divisor(divisor))
    }

    pub fn with_baud(baud: Baud) -> Self {
        assert!(A + 1 == A1 && T + 1 == T1, "FIFO pointers are one bit wider than addresses");
        Self {
            clock: Default::default(),
            rx: Default::default(),
            tx: Default::default(),
            rx_data: Default::default(),
            rx_empty: Default::default(),
            rx_read: Default::default(),
            tx_data: Default::default(),
            tx_write: Default::default(),
            tx_full: Default::default(),
            tx_idle: Default::default(),
            frame_error: Default::default(),
            rx_overflow: Default::default(),
            clear_errors: Default::default(),
            receiver: UartRx::with_baud(baud),
            transmitter: UartTx::with_baud(baud),
            rx_fifo: Default::default(),
            tx_fifo: Default::default(),
            ferr: Default::default(),
            ovf: Default::default(),
        }
    }
}

impl<const A: usize, const A1: usize, const T: usize, const T1: usize> Logic for Uart<A, A1, T, T1> {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, receiver, transmitter, rx_fifo, tx_fifo, ferr, ovf);
        self.receiver.rx.next = self.rx.val();
        self.rx_fifo.data_in.next = self.receiver.data.val();
        // The FIFO drops a write while full, and `rx_overflow` records it.
        self.rx_fifo.write.next = self.receiver.valid.val();
        self.rx_fifo.read.next = self.rx_read.val();
        self.rx_data.next = self.rx_fifo.data_out.val();
        self.rx_empty.next = self.rx_fifo.empty.val();

        self.tx_fifo.data_in.next = self.tx_data.val();
        self.tx_fifo.write.next = self.tx_write.val();
        self.tx_full.next = self.tx_fifo.full.val();
        self.transmitter.data.next = self.tx_fifo.data_out.val();
        self.transmitter.load.next = !self.tx_fifo.empty.val();
        // The FIFO ignores a read while empty.
        self.tx_fifo.read.next = self.transmitter.ready.val();
        self.tx.next = self.transmitter.tx.val();
        self.tx_idle.next = self.tx_fifo.empty.val() & !self.transmitter.busy.val();

        self.ferr.d.next = (self.ferr.q.val() | self.receiver.frame_error.val()) & !self.clear_errors.val();
        self.ovf.d.next =
            (self.ovf.q.val() | (self.receiver.valid.val() & self.rx_fifo.full.val())) & !self.clear_errors.val();
        self.frame_error.next = self.ferr.q.val();
        self.rx_overflow.next = self.ovf.q.val();
    }
}

/// The UART without FIFOs, for a design that keeps its byte buffers elsewhere (the UP5K's
/// board keeps them in an SPRAM beside the protocol engine's, `crate::linkmem`): the
/// receiver's byte strobe and the transmitter's handshake as ports, and the sticky
/// `frame_error` of [`Uart`]. A receiver's byte must be taken in the cycle `rx_valid` is high;
/// `tx_data` is taken when `tx_ready` and `tx_load` are both high.
#[derive(LogicBlock)]
pub struct UartCore {
    pub clock: Signal<In, Clock>,
    pub rx: Signal<In, Bit>,
    pub tx: Signal<Out, Bit>,
    pub rx_data: Signal<Out, Bits<8>>,
    pub rx_valid: Signal<Out, Bit>,
    pub tx_data: Signal<In, Bits<8>>,
    pub tx_load: Signal<In, Bit>,
    pub tx_ready: Signal<Out, Bit>,
    /// A byte is on the line.
    pub tx_busy: Signal<Out, Bit>,
    pub frame_error: Signal<Out, Bit>,
    pub clear_errors: Signal<In, Bit>,
    receiver: UartRx,
    transmitter: UartTx,
    ferr: DFF<Bit>,
}

impl UartCore {
    pub fn with_baud(baud: Baud) -> Self {
        Self {
            clock: Default::default(),
            rx: Default::default(),
            tx: Default::default(),
            rx_data: Default::default(),
            rx_valid: Default::default(),
            tx_data: Default::default(),
            tx_load: Default::default(),
            tx_ready: Default::default(),
            tx_busy: Default::default(),
            frame_error: Default::default(),
            clear_errors: Default::default(),
            receiver: UartRx::with_baud(baud),
            transmitter: UartTx::with_baud(baud),
            ferr: Default::default(),
        }
    }
}

impl Logic for UartCore {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, receiver, transmitter, ferr);
        self.receiver.rx.next = self.rx.val();
        self.rx_data.next = self.receiver.data.val();
        self.rx_valid.next = self.receiver.valid.val();
        self.transmitter.data.next = self.tx_data.val();
        self.transmitter.load.next = self.tx_load.val();
        self.tx_ready.next = self.transmitter.ready.val();
        self.tx_busy.next = self.transmitter.busy.val();
        self.tx.next = self.transmitter.tx.val();
        self.ferr.d.next = (self.ferr.q.val() | self.receiver.frame_error.val()) & !self.clear_errors.val();
        self.frame_error.next = self.ferr.q.val();
    }
}

macro_rules! clocked {
    ($($t:ty),*) => {$(
        impl crate::sim::Clocked for $t {
            fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
                &mut self.clock
            }
        }
    )*};
}
clocked!(BaudTick, UartRx, UartTx, UartCore);

impl<const A: usize, const A1: usize, const T: usize, const T1: usize> crate::sim::Clocked for Uart<A, A1, T, T1> {
    fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}
