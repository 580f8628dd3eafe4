//! The protocol engine as firmware, in hardware: the control core ([`Ctl`]) running
//! [`crate::linkfw::firmware`] beside the link I/O block, with the engine-side ports of the
//! hand-built [`crate::proto::Proto`] and, on the line side, a FIFO-less UART
//! ([`crate::uart::UartCore`]): the UART's receive and send FIFOs are here, with the frame
//! buffer and the result FIFO, in one SPRAM ([`crate::linkmem`]), because the UP5K's block
//! RAMs are short and its fourth SPRAM is free.
//!
//! The I/O block is what `linkfw::IoModel` models, port for port (`linkfw::pin`, `pout`):
//! the byte streams that must move while the single-threaded firmware is elsewhere stay in
//! hardware — the frame sender's tail from the result FIFO and its CRC-32 (the firmware
//! writes a frame's header and fields itself, through the CRC units), the feeder from the
//! frame buffer to the engine's pixel input, the result FIFO, the CRC units, the frame buffer
//! behind an auto-incrementing pointer, a countdown, and the engine's load port and job
//! fields.
//!
//! Where hardware and model had to agree on timing (the model does the same):
//! - a written byte passes a one-byte holding register into the send FIFO, which the
//!   firmware knows has room (it waits for an idle send side before a reply, and for fewer
//!   than half the FIFO's bytes written before a result frame or a counter);
//! - `SND`'s bit 1 is "not idle" (bytes queued or the line busy, or written in the last
//!   cycles) and bit 2 counts bytes written since the send side was last idle, a bound on the
//!   fill level that only ever makes the firmware wait longer.
//!
//! What the SPRAM changes for the firmware is only when things show, never what: the model
//! needs no change. A received byte shows in `RXS` four edges after the receiver's strobe at
//! the earliest (through the SPRAM: written, then read); a byte behind others shows three
//! cycles after the one before it was read (the receive FIFO's one-byte read stage refills
//! from the SPRAM; the firmware polls `RXS` anyway).
//! An `in RES` finding the result FIFO's read stage refilling pops nothing and `RCNT` stays
//! (the firmware only pops while draining, and reads `RCNT` again). The FIFOs hold a few bytes
//! more than the model's (register stages). The byte an `in FB` reads is the frame buffer's
//! read-ahead, there a few cycles after `FBP` and after the read before (`linkmem::SpFrame`):
//! the firmware reads the buffer tens of cycles after setting the pointer and at most a byte
//! per two instructions; the feeder waits for it (`in_valid`).
//!
//! The send and result CRC-32 units take a byte in two cycles (`crc::Crc32Nib`, half the XOR
//! network of a byte a cycle: 51 logic cells on the iCEBreaker), which again changes only
//! when a value shows, two edges after its last byte instead of one: `RES32L` / `RES32H`
//! after the sender's tail, which the firmware waits out on `SND`; the sender's CRC bytes wait
//! for the unit. The receive unit stays a byte a cycle: the feeder gives it two bytes per
//! three cycles, and paced to one per two beside a two-cycle unit the board measured 11 logic
//! cells more, not fewer (its loads and clear-with-byte keep most of the unit's logic).
//!
//! For the UP5K's 36 MHz every strobe and the value an `in` reads are registered from the
//! instruction being fetched (`Ctl::port_next`, `out_next`, `in_next`), and the bytes the
//! sender writes come from registers (docs/architecture.md has the measurements).

use crate::crc::{Crc32, Crc32Nib, Crc8};
use crate::ctl::Ctl;
use crate::linkfw::{pin, pout};
use crate::linkmem::LinkMem;
use bbcu_arch::HwConfig;
use rust_hdl::prelude::*;

/// Frame buffer address bits: a DATA chunk of up to `proto::MAX_CHUNK` bytes (the firmware
/// keeps a payload's first seven bytes, the fields, in its registers).
const FB_BITS: usize = 10;

/// The kernel decodes port numbers as literals (hdl_gen cannot translate a path constant);
/// these are the numbers it uses, checked against the firmware's tables at compile time.
const _: () = assert!(
    pin::RXS == 0
        && pin::RX == 1
        && pin::CRC8 == 2
        && pin::RX32L == 3
        && pin::RX32H == 4
        && pin::TMR == 5
        && pin::SND == 6
        && pin::FB == 7
        && pin::ENG == 8
        && pin::CNTL == 9
        && pin::CNTH == 10
        && pin::FEED == 13
        && pin::RCNT == 14
        && pin::RES == 15
        && pin::RES32L == 16
        && pin::RES32H == 17
        && pin::DONE == 18
);
const _: () = assert!(
    pout::CRC8 == 0
        && pout::RX32 == 1
        && pout::FBP == 2
        && pout::FBW == 3
        && pout::TMR == 4
        && pout::CNTSEL == 5
        && pout::MODEL == 6
        && pout::X32L == 10
        && pout::X32H == 11
        && pout::SSTART == 8
        && pout::SHDR == 9
        && pout::SGO == 12
        && pout::SBYTE == 13
        && pout::LMEM == 32
        && pout::LADRL == 33
        && pout::LD == 35
        && pout::LGO == 39
        && pout::JOB == 40
        && pout::START == 44
        && pout::FEED == 45
        && pout::FEEDZ == 46
        && pout::RES32 == 47
);

/// The protocol engine as firmware with the program memory the firmware needs.
pub type FwLink = LinkIo<{ crate::linkfw::PA as usize }>;

/// The sender's phases (the bytes before the tail are the firmware's, through `pend`).
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum Snd {
    Idle,
    /// Bytes from the result FIFO.
    Tail,
    Crc,
}

/// The protocol engine as firmware on the control core, with `2^PA` words of program memory.
#[derive(LogicBlock)]
pub struct LinkIo<const PA: usize> {
    pub clock: Signal<In, Clock>,
    /// The UART receiver's byte, in the cycle `rx_valid` is high.
    pub rx_data: Signal<In, Bits<8>>,
    pub rx_valid: Signal<In, Bit>,
    /// The UART transmitter's handshake: it takes `tx_data` when `tx_ready` and `tx_load`.
    pub tx_data: Signal<Out, Bits<8>>,
    pub tx_load: Signal<Out, Bit>,
    pub tx_ready: Signal<In, Bit>,
    /// The transmitter has a byte on the line.
    pub tx_busy: Signal<In, Bit>,
    /// The send side is idle: nothing queued, the line quiet.
    pub tx_idle: Signal<Out, Bit>,
    /// A byte arrived while the receive FIFO was full, and was lost (sticky).
    pub rx_overflow: Signal<Out, Bit>,
    pub load_we: Signal<Out, Bit>,
    pub load_mem: Signal<Out, Bits<3>>,
    pub load_addr: Signal<Out, Bits<32>>,
    pub load_data: Signal<Out, Bits<64>>,
    pub start: Signal<Out, Bit>,
    pub strip_w: Signal<Out, Bits<16>>,
    pub strip_h: Signal<Out, Bits<16>>,
    pub keep_x0: Signal<Out, Bits<16>>,
    pub keep_w: Signal<Out, Bits<16>>,
    pub eng_busy: Signal<In, Bit>,
    pub eng_done: Signal<In, Bit>,
    pub eng_error: Signal<In, Bit>,
    /// The engine holds result bytes it has not given yet (`EngineFw16::out_pending`): RESET's
    /// drain waits for it to clear once the engine is idle.
    pub eng_out: Signal<In, Bit>,
    pub in_data: Signal<Out, Bits<8>>,
    pub in_valid: Signal<Out, Bit>,
    pub in_ready: Signal<In, Bit>,
    pub out_data: Signal<In, Bits<8>>,
    pub out_valid: Signal<In, Bit>,
    pub out_ready: Signal<Out, Bit>,
    pub cnt_sel: Signal<Out, Bits<8>>,
    pub cnt_data: Signal<In, Bits<32>>,
    /// A model is loaded and verified.
    pub model_ok: Signal<Out, Bit>,
    /// A shared core's side (`Ctl::dual`'s thread 0: its port fields, accumulator and this
    /// thread's fetch-time strobes in, what an `in` reads out), used in place of this block's
    /// own core when it is built with [`LinkIo::external`]: the UP5K's board runs the protocol
    /// and the sequencer firmware on one core. The own core is then dead logic, which
    /// synthesis removes.
    pub x_port_next: Signal<In, Bits<8>>,
    pub x_port: Signal<In, Bits<8>>,
    pub x_pout: Signal<In, Bits<16>>,
    pub x_out_next: Signal<In, Bit>,
    pub x_in_next: Signal<In, Bit>,
    pub x_pin: Signal<Out, Bits<16>>,

    core: Ctl<PA>,
    ext: Constant<Bit>,
    k_port_next: Signal<Local, Bits<8>>,
    k_out_next: Signal<Local, Bit>,
    k_in_next: Signal<Local, Bit>,
    /// The UART's FIFOs, the frame buffer and the result FIFO (one chunk of at most
    /// `proto::MAX_CHUNK` bytes, which a RESULT_DATA frame waits for whole before it starts:
    /// the engine waits meanwhile if it is faster than the line, which then stays busy), in
    /// one SPRAM.
    mem: LinkMem,
    ovf: DFF<Bit>,
    /// The send side is idle (FIFO empty, transmitter quiet).
    tx_idle_i: Signal<Local, Bit>,
    rx8: Crc8,
    /// The receive CRC-32, and the upload's between frames (the firmware keeps the upload's
    /// value while a frame comes in, and loads it back to feed the payload).
    rx32: Crc32,
    tx32: Crc32Nib,
    /// The strip's result CRC: fed by the sender's pops, three cycles apart at least, with
    /// the byte popped still in the result FIFO's read stage in the next cycle
    /// (`linkmem::SpFifo`'s read stage refills through the SPRAM); cleared alone (`RES32`).
    res32: Crc32Nib,

    fbp: DFF<Bits<FB_BITS>>,
    tmr: DFF<Bits<24>>,
    csel: DFF<Bits<8>>,
    model: DFF<Bit>,
    // Sender: the firmware's bytes pass `pend` (so that the write strobe's decode stays off
    // the path into the send FIFO and the CRC units); `sk` counts the CRC's bytes.
    ss: DFF<Snd>,
    sk: DFF<Bits<2>>,
    s_left: DFF<Bits<11>>,
    pend: DFF<Bits<8>>,
    pend_v: DFF<Bit>,
    /// `pend` was written on the last edge: the CRC-32 takes it in this cycle and the next,
    /// while it holds (the firmware's next byte comes two cycles after this one at the
    /// earliest).
    pend_new: DFF<Bit>,
    /// The strobes on the paths into the CRC units, the sender, the frame buffer's pointer and
    /// the FIFOs, registered from the instruction being fetched (high in its execute cycle).
    hit_crc8: DFF<Bit>,
    hit_rx32: DFF<Bit>,
    hit_sbyte: DFF<Bit>,
    hit_sstart: DFF<Bit>,
    hit_shdr: DFF<Bit>,
    hit_res32: DFF<Bit>,
    /// Any `out` / `in` in its execute cycle (the core's strobes, from a register).
    wen: DFF<Bit>,
    ren: DFF<Bit>,
    hit_fbp: DFF<Bit>,
    hit_fbw: DFF<Bit>,
    hit_fb: DFF<Bit>,
    hit_rx: DFF<Bit>,
    hit_res: DFF<Bit>,
    /// Bytes written to the send FIFO since the UART was last seen idle (saturates at 256).
    since: DFF<Bits<9>>,
    /// Writes in the last three cycles, which the UART's idle flag does not show yet.
    wrote: DFF<Bits<3>>,
    // Load port and job.
    l_mem: DFF<Bits<3>>,
    /// The load port's address: the firmware serves memories of at most 64 Ki words.
    l_addr: DFF<Bits<16>>,
    l_d: [DFF<Bits<16>>; 4],
    job: [DFF<Bits<16>>; 4],
    // Feeder, results.
    feed_left: DFF<Bits<16>>,
    feed_z: DFF<Bit>,
    /// `feed_left != 0`, kept as a flag so the feeder's handshake starts from a register.
    feed_nz: DFF<Bit>,
    done_f: DFF<Bit>,
    rcnt: DFF<Bits<12>>,
    /// What an `in` reads, registered in its fetch cycle (`Ctl::port_next`).
    pin_r: DFF<Bits<16>>,

    wr: Signal<Local, Bit>,
    rd: Signal<Local, Bit>,
    port: Signal<Local, Bits<8>>,
    v: Signal<Local, Bits<16>>,
    vb: Signal<Local, Bits<8>>,
    pin_v: Signal<Local, Bits<16>>,
    // One-bit values read into wider ones: a negation inside the widening would be widened
    // first in Verilog (`~x & 16'hffff` is 0xfffe for x = 1).
    rxs: Signal<Local, Bit>,
    unidle: Signal<Local, Bit>,
    fbp_n: Signal<Local, Bits<FB_BITS>>,
    take: Signal<Local, Bit>,
    push: Signal<Local, Bit>,
    pop: Signal<Local, Bit>,
    emit: Signal<Local, Bit>,
    txd: Signal<Local, Bits<8>>,
    crcb: Signal<Local, Bits<8>>,
}

impl<const PA: usize> LinkIo<PA> {
    /// The firmware [`LinkIo::new`] runs.
    pub fn program(cfg: &HwConfig, stale_cycles: u32) -> Vec<u16> {
        let units = stale_cycles.div_ceil(256);
        assert!(units <= 0xFFFF, "partial-frame timeout of {stale_cycles} cycles exceeds the countdown");
        crate::linkfw::firmware(cfg, units as u16)
    }

    /// As [`LinkIo::new`], on a shared core's thread (the `x_*` ports).
    pub fn external(cfg: &HwConfig, stale_cycles: u32) -> Self {
        let mut s = Self::new(cfg, stale_cycles);
        s.ext = Constant::new(true);
        s
    }

    /// The firmware for `cfg`, with a partial-frame timeout of `stale_cycles` clocks (rounded
    /// up to the countdown's 256-cycle units).
    pub fn new(cfg: &HwConfig, stale_cycles: u32) -> Self {
        let program = Self::program(cfg, stale_cycles);
        Self {
            clock: Default::default(),
            rx_data: Default::default(),
            rx_valid: Default::default(),
            tx_data: Default::default(),
            tx_load: Default::default(),
            tx_ready: Default::default(),
            tx_busy: Default::default(),
            tx_idle: Default::default(),
            rx_overflow: Default::default(),
            load_we: Default::default(),
            load_mem: Default::default(),
            load_addr: Default::default(),
            load_data: Default::default(),
            start: Default::default(),
            strip_w: Default::default(),
            strip_h: Default::default(),
            keep_x0: Default::default(),
            keep_w: Default::default(),
            eng_busy: Default::default(),
            eng_done: Default::default(),
            eng_error: Default::default(),
            eng_out: Default::default(),
            in_data: Default::default(),
            in_valid: Default::default(),
            in_ready: Default::default(),
            out_data: Default::default(),
            out_valid: Default::default(),
            out_ready: Default::default(),
            cnt_sel: Default::default(),
            cnt_data: Default::default(),
            model_ok: Default::default(),
            x_port_next: Default::default(),
            x_port: Default::default(),
            x_pout: Default::default(),
            x_out_next: Default::default(),
            x_in_next: Default::default(),
            x_pin: Default::default(),
            core: Ctl::new(&program),
            ext: Constant::new(false),
            k_port_next: Default::default(),
            k_out_next: Default::default(),
            k_in_next: Default::default(),
            mem: Default::default(),
            ovf: Default::default(),
            tx_idle_i: Default::default(),
            rx8: Default::default(),
            rx32: Default::default(),
            tx32: Crc32Nib::new(false, false),
            res32: Crc32Nib::new(false, false),
            fbp: Default::default(),
            tmr: Default::default(),
            csel: Default::default(),
            model: Default::default(),
            ss: Default::default(),
            sk: Default::default(),
            s_left: Default::default(),
            pend: Default::default(),
            pend_v: Default::default(),
            pend_new: Default::default(),
            hit_crc8: Default::default(),
            hit_rx32: Default::default(),
            hit_sbyte: Default::default(),
            hit_sstart: Default::default(),
            hit_shdr: Default::default(),
            hit_res32: Default::default(),
            wen: Default::default(),
            ren: Default::default(),
            hit_fbp: Default::default(),
            hit_fbw: Default::default(),
            hit_fb: Default::default(),
            hit_rx: Default::default(),
            hit_res: Default::default(),
            since: Default::default(),
            wrote: Default::default(),
            l_mem: Default::default(),
            l_addr: Default::default(),
            l_d: Default::default(),
            job: Default::default(),
            feed_left: Default::default(),
            feed_z: Default::default(),
            feed_nz: Default::default(),
            done_f: Default::default(),
            rcnt: Default::default(),
            pin_r: Default::default(),
            wr: Default::default(),
            rd: Default::default(),
            port: Default::default(),
            v: Default::default(),
            vb: Default::default(),
            pin_v: Default::default(),
            rxs: Default::default(),
            unidle: Default::default(),
            fbp_n: Default::default(),
            take: Default::default(),
            push: Default::default(),
            pop: Default::default(),
            emit: Default::default(),
            txd: Default::default(),
            crcb: Default::default(),
        }
    }
}

impl<const PA: usize> LinkIo<PA> {
    /// Simulation only: every received byte has been read by the firmware.
    pub fn rx_idle(&self) -> bool {
        self.mem.rx_idle()
    }
}

impl<const PA: usize> Logic for LinkIo<PA> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, fbp, tmr, csel, model, ss, sk, s_left, pend, pend_v, pend_new, hit_crc8, hit_rx32, hit_sbyte,
            hit_sstart, hit_shdr, hit_res32, wen, ren, hit_fbp, hit_fbw, hit_fb, hit_rx, hit_res, since, wrote, l_mem,
            l_addr, feed_left, feed_z, feed_nz, done_f, rcnt, pin_r, ovf
        );
        for i in 0..4 {
            self.l_d[i].clock.next = self.clock.val();
            self.l_d[i].d.next = self.l_d[i].q.val();
            self.job[i].clock.next = self.clock.val();
            self.job[i].d.next = self.job[i].q.val();
        }
        clock!(self, clock, core, mem, rx8, rx32, tx32, res32);
        // The core's side: this block's own core, or a shared core's thread (`external`).
        self.k_port_next.next = self.core.port_next.val();
        self.k_out_next.next = self.core.out_next[0].val();
        self.k_in_next.next = self.core.in_next[0].val();
        self.port.next = self.core.port.val();
        self.v.next = self.core.pout.val();
        if self.ext.val() {
            self.k_port_next.next = self.x_port_next.val();
            self.k_out_next.next = self.x_out_next.val();
            self.k_in_next.next = self.x_in_next.val();
            self.port.next = self.x_port.val();
            self.v.next = self.x_pout.val();
        }

        self.wen.d.next = self.k_out_next.val();
        self.ren.d.next = self.k_in_next.val();
        self.wr.next = self.wen.q.val();
        self.rd.next = self.ren.q.val();
        self.vb.next = self.v.val().get_bits::<8>(0);
        self.hit_crc8.d.next = self.k_out_next.val() & (self.k_port_next.val() == 0);
        self.hit_rx32.d.next = self.k_out_next.val() & (self.k_port_next.val() == 1);
        self.hit_sbyte.d.next = self.k_out_next.val() & (self.k_port_next.val() == 13);
        self.hit_sstart.d.next = self.k_out_next.val() & (self.k_port_next.val() == 8);
        self.hit_shdr.d.next = self.k_out_next.val() & (self.k_port_next.val() == 9);
        self.hit_res32.d.next = self.k_out_next.val() & (self.k_port_next.val() == 47);
        self.hit_fbp.d.next = self.k_out_next.val() & (self.k_port_next.val() == 2);
        self.hit_fbw.d.next = self.k_out_next.val() & (self.k_port_next.val() == 3);
        self.hit_fb.d.next = self.k_in_next.val() & (self.k_port_next.val() == 7);
        self.hit_rx.d.next = self.k_in_next.val() & (self.k_port_next.val() == 1);
        self.hit_res.d.next = self.k_in_next.val() & (self.k_port_next.val() == 15);

        // ---- Frame buffer and feeder. The frame buffer's read-ahead has the byte at the
        // pointer when `fb_valid` (`linkmem::SpFrame`); the feeder waits for it.
        self.take.next = self.feed_nz.q.val() & (self.feed_z.q.val() | self.mem.fb_valid.val()) & self.in_ready.val();
        self.in_valid.next = self.feed_nz.q.val() & (self.feed_z.q.val() | self.mem.fb_valid.val());
        self.in_data.next = self.mem.fb_out.val();
        if self.feed_z.q.val() {
            self.in_data.next = 0.into();
        }
        self.fbp_n.next = self.fbp.q.val();
        if (self.take.val() & !self.feed_z.q.val()) | self.hit_fb.q.val() | self.hit_fbw.q.val() {
            self.fbp_n.next = self.fbp.q.val() + 1;
        }
        if self.hit_fbp.q.val() {
            self.fbp_n.next = self.v.val().get_bits::<FB_BITS>(0);
        }
        self.fbp.d.next = self.fbp_n.val();
        self.mem.fb_ptr.next = self.fbp.q.val();
        self.mem.fb_adv.next = (self.take.val() & !self.feed_z.q.val()) | self.hit_fb.q.val() | self.hit_fbw.q.val();
        self.mem.fb_inval.next = self.hit_fbp.q.val() | self.hit_fbw.q.val();
        self.mem.fb_write.next = self.hit_fbw.q.val();
        self.mem.fb_in.next = self.vb.val();
        if self.take.val() {
            self.feed_left.d.next = self.feed_left.q.val() - 1;
            self.feed_nz.d.next = self.feed_left.q.val() != 1;
        }
        if self.wr.val() & ((self.port.val() == 45) | (self.port.val() == 46)) {
            self.feed_left.d.next = self.v.val();
            self.feed_nz.d.next = self.v.val() != 0;
            self.feed_z.d.next = self.port.val() == 46;
        }

        // ---- CRC units: the receive ones fed by the firmware (bit 8 of the value clears
        // first), the CRC-32 also by the feeder and loaded by the firmware (`X32L`, `X32H`).
        // The receive CRC-8 is also the sender's header CRC (`SSTART`, `SHDR`): the firmware
        // never sends while it checks a header.
        self.rx8.data.next = self.vb.val();
        self.rx8.valid.next = self.hit_crc8.q.val() | self.hit_sstart.q.val() | self.hit_shdr.q.val();
        self.rx8.clear.next = (self.hit_crc8.q.val() & self.v.val().get_bit(8)) | self.hit_sstart.q.val();
        self.rx32.data.next = self.vb.val();
        self.rx32.valid.next = self.hit_rx32.q.val();
        self.rx32.clear.next = self.hit_rx32.q.val() & self.v.val().get_bit(8);
        if self.take.val() & !self.feed_z.q.val() {
            self.rx32.data.next = self.mem.fb_out.val();
            self.rx32.valid.next = true;
            self.rx32.clear.next = false;
        }
        self.rx32.load_data.next = self.v.val();
        self.rx32.load_lo.next = self.wr.val() & (self.port.val() == 10);
        self.rx32.load_hi.next = self.wr.val() & (self.port.val() == 11);

        // ---- Countdown, counters' select, model flag, engine status.
        if self.tmr.q.val() != 0 {
            self.tmr.d.next = self.tmr.q.val() - 1;
        }
        if self.wr.val() & (self.port.val() == 4) {
            self.tmr.d.next = bit_cast::<24, 16>(self.v.val()) << 8;
        }
        if self.wr.val() & (self.port.val() == 5) {
            self.csel.d.next = self.vb.val();
        }
        if self.wr.val() & (self.port.val() == 6) {
            self.model.d.next = self.v.val().get_bit(0);
        }
        self.cnt_sel.next = self.csel.q.val();
        self.model_ok.next = self.model.q.val();
        // Read-to-clear clears only what the read returned (it was sampled a cycle earlier).
        self.done_f.d.next =
            self.done_f.q.val() & !(self.rd.val() & (self.port.val() == 18) & self.pin_r.q.val().get_bit(0));
        if self.eng_done.val() {
            self.done_f.d.next = true;
        }

        // ---- Load port and job: the word goes out with the write strobe, and the address
        // advances after it.
        self.load_we.next = self.wr.val() & (self.port.val() == 39);
        self.load_mem.next = self.l_mem.q.val();
        self.load_addr.next = bit_cast::<32, 16>(self.l_addr.q.val());
        self.load_data.next = (bit_cast::<64, 16>(self.l_d[3].q.val()) << 48)
            | (bit_cast::<64, 16>(self.l_d[2].q.val()) << 32)
            | (bit_cast::<64, 16>(self.l_d[1].q.val()) << 16)
            | bit_cast::<64, 16>(self.l_d[0].q.val());
        if self.wr.val() & (self.port.val() == 32) {
            self.l_mem.d.next = self.v.val().get_bits::<3>(0);
        }
        if self.wr.val() & (self.port.val() == 33) {
            self.l_addr.d.next = self.v.val();
        }
        if self.wr.val() & (self.port.val() == 39) {
            self.l_addr.d.next = self.l_addr.q.val() + 1;
        }
        for i in 0..4 {
            if self.wr.val() & (self.port.val().index() == 35 + i) {
                self.l_d[i].d.next = self.v.val();
            }
            if self.wr.val() & (self.port.val().index() == 40 + i) {
                self.job[i].d.next = self.v.val();
            }
        }
        self.start.next = self.wr.val() & (self.port.val() == 44);
        self.strip_w.next = self.job[0].q.val();
        self.strip_h.next = self.job[1].q.val();
        self.keep_x0.next = self.job[2].q.val();
        self.keep_w.next = self.job[3].q.val();

        // ---- The sender: the firmware writes a frame's bytes (`SSTART` its first, `SHDR` the
        // header's, through the CRC-8 unit as well, `SBYTE` the rest), at most one every other
        // cycle, into a send FIFO it knows has room; `SGO` then appends A bytes of the result
        // FIFO and the frame's CRC-32.
        self.crcb.next = self.tx32.crc.val().get_bits::<8>(0);
        match self.sk.q.val().index() {
            1 => self.crcb.next = self.tx32.crc.val().get_bits::<8>(8),
            2 => self.crcb.next = self.tx32.crc.val().get_bits::<8>(16),
            3 => self.crcb.next = self.tx32.crc.val().get_bits::<8>(24),
            _ => {}
        }
        self.emit.next = false;
        self.txd.next = self.pend.q.val();
        self.pop.next = false;
        if self.pend_v.q.val() {
            if !self.mem.tx_full.val() {
                self.emit.next = true;
                self.pend_v.d.next = false;
            }
        } else if self.ss.q.val() == Snd::Tail {
            self.txd.next = self.mem.rf_out.val();
            if !self.mem.tx_full.val() & !self.mem.rf_empty.val() {
                self.emit.next = true;
                self.pop.next = true;
                self.s_left.d.next = self.s_left.q.val() - 1;
                if self.s_left.q.val() == 1 {
                    self.ss.d.next = Snd::Crc;
                }
            }
        } else if self.ss.q.val() == Snd::Crc {
            self.txd.next = self.crcb.val();
            // The CRC is there once the last byte's second half is in.
            if !self.mem.tx_full.val() & !self.tx32.busy.val() {
                self.emit.next = true;
                self.sk.d.next = self.sk.q.val() + 1;
                if self.sk.q.val() == 3 {
                    self.ss.d.next = Snd::Idle;
                }
            }
        }
        self.pend_new.d.next = self.hit_sbyte.q.val() | self.hit_sstart.q.val() | self.hit_shdr.q.val();
        if self.hit_sbyte.q.val() | self.hit_sstart.q.val() | self.hit_shdr.q.val() {
            self.pend.d.next = self.vb.val();
            self.pend_v.d.next = true;
        }
        if self.wr.val() & (self.port.val() == 12) {
            self.sk.d.next = 0.into();
            self.s_left.d.next = self.v.val().get_bits::<11>(0);
            if self.v.val().get_bits::<11>(0) != 0 {
                self.ss.d.next = Snd::Tail;
            } else {
                self.ss.d.next = Snd::Crc;
            }
        }
        self.mem.tx_push.next = self.emit.val();
        self.mem.tx_in.next = self.txd.val();
        // The transmitter takes the send FIFO's first byte when it is ready (a pop of an empty
        // FIFO is ignored).
        self.tx_data.next = self.mem.tx_out.val();
        self.tx_load.next = !self.mem.tx_empty.val();
        self.mem.tx_pop.next = self.tx_ready.val();
        self.tx_idle_i.next = self.mem.tx_idle.val() & !self.tx_busy.val();
        self.tx_idle.next = self.tx_idle_i.val();
        // The CRC-32 takes every byte but its own, in the order they are sent, each from a
        // register that holds it for the unit's two cycles: the firmware's from `pend` as they
        // are written (one every other cycle at most, whatever the send FIFO's grants do to
        // `pend`'s emission), cleared by `SSTART` a cycle before its byte; the tail's from the
        // result FIFO's read stage as they are popped (three cycles apart at least, the stage
        // refilled through the SPRAM). The firmware writes a frame only while the sender is
        // idle and starts its tail after the bytes it wrote, so the sender's phase tells which.
        self.tx32.data.next = self.mem.rf_out.val();
        if self.ss.q.val() == Snd::Idle {
            self.tx32.data.next = self.pend.q.val();
        }
        self.tx32.clear.next = self.hit_sstart.q.val();
        self.tx32.valid.next = self.pend_new.q.val() | self.pop.val();
        // The send FIFO's state as far as it can be known here (module docs).
        self.wrote.d.next = (self.wrote.q.val() << 1) | bit_cast::<3, 1>(self.emit.val().into());
        if self.emit.val() {
            if !self.since.q.val().get_bit(8) {
                self.since.d.next = self.since.q.val() + 1;
            }
        } else if self.tx_idle_i.val() & (self.wrote.q.val() == 0) {
            self.since.d.next = 0.into();
        }

        // ---- Result FIFO: the engine's output in, the sender's tail or the firmware out.
        self.mem.rf_in.next = self.out_data.val();
        self.mem.rf_push.next = self.out_valid.val();
        self.out_ready.next = !self.mem.rf_full.val();
        self.push.next = self.out_valid.val() & !self.mem.rf_full.val();
        self.mem.rf_pop.next = self.pop.val() | self.hit_res.q.val();
        self.res32.data.next = self.mem.rf_out.val();
        self.res32.valid.next = self.pop.val();
        self.res32.clear.next = self.hit_res32.q.val();
        // Only the receive unit is ever reloaded.
        self.tx32.load_lo.next = false;
        self.tx32.load_hi.next = false;
        self.tx32.load_data.next = 0.into();
        self.res32.load_lo.next = false;
        self.res32.load_hi.next = false;
        self.res32.load_data.next = 0.into();
        // A pop of an empty FIFO is ignored: the count stays, and the firmware reads again.
        if self.push.val() & !((self.pop.val() | self.hit_res.q.val()) & !self.mem.rf_empty.val()) {
            self.rcnt.d.next = self.rcnt.q.val() + 1;
        }
        if !self.push.val() & (self.pop.val() | self.hit_res.q.val()) & !self.mem.rf_empty.val() {
            self.rcnt.d.next = self.rcnt.q.val() - 1;
        }

        // ---- The receive side: the receiver's bytes into the receive FIFO, which the firmware
        // reads.
        self.mem.rx_in.next = self.rx_data.val();
        self.mem.rx_push.next = self.rx_valid.val();
        self.mem.rx_pop.next = self.hit_rx.q.val();
        self.ovf.d.next = self.ovf.q.val() | (self.rx_valid.val() & self.mem.rx_full.val());
        self.rx_overflow.next = self.ovf.q.val();

        // ---- What an `in` reads: selected by the port of the instruction being fetched and
        // registered, so the value is the one at the end of its fetch cycle (a status a cycle
        // old, which polling does not mind; anything an earlier instruction's strobe changed
        // is already in it: the frame buffer is read at the pointer's next value).
        self.rxs.next = !self.mem.rx_empty.val();
        self.unidle.next = !self.tx_idle_i.val() | (self.since.q.val() != 0) | (self.wrote.q.val() != 0);
        self.pin_v.next = 0.into();
        match self.k_port_next.val().index() {
            0 => self.pin_v.next = bit_cast::<16, 1>(self.rxs.val().into()),
            1 => self.pin_v.next = bit_cast::<16, 8>(self.mem.rx_out.val()),
            2 => self.pin_v.next = bit_cast::<16, 8>(self.rx8.crc.val()),
            3 => self.pin_v.next = self.rx32.crc.val().get_bits::<16>(0),
            4 => self.pin_v.next = self.rx32.crc.val().get_bits::<16>(16),
            5 => self.pin_v.next = bit_cast::<16, 1>((self.tmr.q.val() != 0).into()),
            6 => {
                self.pin_v.next = bit_cast::<16, 3>(
                    (bit_cast::<3, 1>(self.since.q.val().get_bit(8).into()) << 2)
                        | (bit_cast::<3, 1>(self.unidle.val().into()) << 1)
                        | bit_cast::<3, 1>((self.ss.q.val() != Snd::Idle).into()),
                )
            }
            7 => self.pin_v.next = bit_cast::<16, 8>(self.mem.fb_out.val()),
            8 => {
                self.pin_v.next = (bit_cast::<16, 1>(self.eng_out.val().into()) << 3)
                    | (bit_cast::<16, 1>(self.eng_error.val().into()) << 2)
                    | bit_cast::<16, 1>(self.eng_busy.val().into())
            }
            9 => self.pin_v.next = self.cnt_data.val().get_bits::<16>(0),
            10 => self.pin_v.next = self.cnt_data.val().get_bits::<16>(16),
            13 => self.pin_v.next = self.feed_left.q.val(),
            14 => self.pin_v.next = bit_cast::<16, 12>(self.rcnt.q.val()),
            15 => self.pin_v.next = bit_cast::<16, 8>(self.mem.rf_out.val()),
            16 => self.pin_v.next = self.res32.crc.val().get_bits::<16>(0),
            17 => self.pin_v.next = self.res32.crc.val().get_bits::<16>(16),
            18 => self.pin_v.next = bit_cast::<16, 1>(self.done_f.q.val().into()),
            _ => {}
        }
        self.pin_r.d.next = self.pin_v.val();
        self.core.pin[0].next = self.pin_r.q.val();
        self.core.pin[1].next = 0.into();
        self.x_pin.next = self.pin_r.q.val();
    }
}

impl<const PA: usize> crate::sim::Clocked for LinkIo<PA> {
    fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}
