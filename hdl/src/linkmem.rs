//! The link's byte buffers in one iCE40 UP5K SPRAM: the UART's receive FIFO (2 KiB) and send
//! FIFO (512 B), and `LinkIo`'s result FIFO (1 KiB) and frame buffer (1 KiB), which took 9 of
//! the UP5K's 30 block RAMs while the engine leaves one of the four SPRAMs free.
//!
//! One `SB_SPRAM256KA` ([`SpRamBytes`]) does one access a cycle, a read or a write of one
//! 16-bit word (bytes may be written alone). The streams it serves: the UART's two at a byte
//! per ~120 cycles (3 Mbaud at 36 MHz), the firmware's at a byte per a few instructions, and
//! three that may run faster in bursts — the feeder (frame buffer → engine), the engine's output
//! into the result FIFO, and the sender (result FIFO → send FIFO) — each of which can wait and
//! each of which ends at the line's pace. The FIFOs store and fetch a byte an access (their
//! stages are two bytes in and one out, [`SpFifo`]); the frame buffer reads words, two bytes for
//! the feeder. A fixed-priority arbiter picks one request a cycle. The read requests come from
//! flip-flops, set a cycle ahead, and a write request is a flip-flop and the region's full flag,
//! so the path to the SPRAM is the arbiter and one multiplexer (with the requests decoded from
//! the clients' pointers in that path, `LinkIo` alone reached 30–32 MHz of its 36).
//!
//! Priority, highest first, and why each is safe:
//! 1. receive FIFO write: the only stream that cannot wait (the line does not stop). It is
//!    never refused, so a byte reaches the memory the cycle after it arrives;
//! 2. frame buffer write: the firmware's `out FBW`, posted in one register; at most one cycle
//!    behind (1), and `out`s come at least two cycles apart, so the register is free again;
//! 3. send FIFO read, 4. receive FIFO read: a byte at line rate or the firmware's pace, rare by
//!    nature, so they cost the others little;
//! 5. frame buffer read: the feeder and the firmware's `in FB` (which cannot wait: the value
//!    must be there when the instruction is fetched, see [`SpFrame`]). It asks at most every
//!    third cycle, so it goes before the send FIFO's writes, which come a byte a cycle in a
//!    frame's CRC and which would otherwise keep it out;
//! 6. send FIFO write: the sender's bytes, the firmware's at most every other cycle through a
//!    one-byte holding register that must not overrun. While the firmware writes it
//!    reads nothing, so (1)–(4) are rare and (5) asks at most every third cycle; the FIFO's
//!    two-byte write queue absorbs a late grant. It goes before the streams that can wait;
//! 7. result FIFO read (the sender's tail), 8. result FIFO write (the engine's output): both
//!    wait (`empty` / `full`), and what they carry leaves at line rate.
//!
//! A burst of (1)–(7) ends (the sender's at the send FIFO's `full`, the feeder's at its frame),
//! so they cannot keep (8) out for long; what the result FIFO needs is the line's byte per 120
//! cycles.
//!
//! Layout (word addresses): receive FIFO 0x0000–0x03FF, send FIFO 0x0400–0x04FF, result FIFO
//! 0x0800–0x09FF, frame buffer 0x0C00–0x0DFF; the rest is free.
//!
//! The SPRAM is not initialised by the bitstream: nothing here reads a word it has not written,
//! except the frame buffer's read-ahead past what the firmware wrote, which nothing consumes.

use crate::spram::SpRamBytes;
use rust_hdl::prelude::*;

/// A byte FIFO of `2^B` bytes (`B1 = B + 1`) in a region of `2^(B−1)` 16-bit words of a shared
/// memory starting at word `base`, with the byte-side ports of [`crate::uart::ByteFifo`] (first
/// word fall-through, `empty` and `full` from flip-flops) and a request/grant memory side.
///
/// Every byte goes through the memory on its own: a write stores one byte of a word (its byte
/// enable) and a read takes one byte of the word it reads. The streams these FIFOs carry need a
/// byte per ~120 cycles (the line) where the memory gives one access a cycle, so packing bytes
/// into words, which took a three-byte write stage and a two-byte read stage on each FIFO, bought
/// bandwidth nothing here uses; on the UP5K those stages cost logic cells the part does not have.
///
/// Two stages around the memory: a write queue of one or two bytes (`h0` its oldest, asking for
/// the memory while it holds a byte; with two, a writer goes on at a byte a cycle while the
/// memory takes a byte a cycle, and the second byte absorbs a cycle's wait for the grant; with
/// one, `full` is the byte waiting, so a write every other cycle at most), and a read stage of
/// one byte (`data_out`), refilled by a read asked for on the edge it empties, or on the edge
/// the memory gets a byte while the stage is empty. A byte written on one edge can be read from
/// the fourth edge after it when nothing else asks for the memory; a reader that pops as soon
/// as it can gets a byte per three cycles, and `data_out` keeps the byte popped for the cycle
/// after the pop (`LinkIo`'s CRC-32 units take it then).
///
/// Capacity is `2^B + 1 + q` bytes: the memory region, the write queue of `q` bytes and the
/// read stage (`full` may come earlier while other clients hold the memory, never for the
/// receive FIFO, whose writes nothing outranks). A queue of one byte takes a write every
/// other cycle at most.
#[derive(LogicBlock)]
pub struct SpFifo<const B: usize, const B1: usize> {
    pub clock: Signal<In, Clock>,
    pub data_in: Signal<In, Bits<8>>,
    pub write: Signal<In, Bit>,
    pub full: Signal<Out, Bit>,
    pub data_out: Signal<Out, Bits<8>>,
    pub read: Signal<In, Bit>,
    pub empty: Signal<Out, Bit>,
    /// Nothing in any stage or on its way between them.
    pub idle: Signal<Out, Bit>,
    /// The write queue has a byte for the memory, and the memory has room.
    pub wreq: Signal<Out, Bit>,
    /// The read stage wants the memory's oldest byte.
    pub rreq: Signal<Out, Bit>,
    pub waddr: Signal<Out, Bits<14>>,
    pub raddr: Signal<Out, Bits<14>>,
    pub wdata: Signal<Out, Bits<8>>,
    /// A write stores the word's high byte (else its low byte).
    pub whi: Signal<Out, Bit>,
    /// The memory writes `wdata` at `waddr` on this edge.
    pub wgrant: Signal<In, Bit>,
    /// The memory reads `raddr` on this edge; the word is on `rdata` in the next cycle.
    pub rgrant: Signal<In, Bit>,
    pub rdata: Signal<In, Bits<16>>,
    /// The write queue, oldest byte first, and which of its places hold a byte (`v1` only
    /// with `v0`).
    h0: DFF<Bits<8>>,
    h1: DFF<Bits<8>>,
    v0: DFF<Bit>,
    v1: DFF<Bit>,
    /// The read stage.
    r: DFF<Bits<8>>,
    rv: DFF<Bit>,
    /// Byte pointers into the region, one bit wider than its byte address.
    wp: DFF<Bits<B1>>,
    rp: DFF<Bits<B1>>,
    /// A read was granted on the last edge: its word is on `rdata` now, and `rhi` says which
    /// byte of it is the FIFO's.
    rinf: DFF<Bit>,
    rhi: DFF<Bit>,
    /// The read request, from a flip-flop (the arbiter's path to the SPRAM starts here).
    rreq_r: DFF<Bit>,
    /// The memory region holds a byte, and is full: flags kept beside the pointers (stored so
    /// that the power-up zeros are an empty region), so that no pointer compare is in front of
    /// the requests.
    s_some: DFF<Bit>,
    s_full: DFF<Bit>,
    /// The pointers one ahead.
    wp1: Signal<Local, Bits<B1>>,
    rp1: Signal<Local, Bits<B1>>,
    push: Signal<Local, Bit>,
    pop: Signal<Local, Bit>,
    /// The write queue's first place is taken after this edge's grant.
    v0_a: Signal<Local, Bit>,
    base: Constant<Bits<14>>,
    /// The word-address bits of a byte pointer, as a mask on the pointer shifted by one.
    wmask_a: Constant<Bits<14>>,
    /// 2^B: pointers that differ by exactly this are a full memory region.
    wrap: Constant<Bits<B1>>,
    /// The write queue has its second place (`h1`); without it the queue is one byte.
    two: Constant<Bit>,
}

impl<const B: usize, const B1: usize> SpFifo<B, B1> {
    /// A FIFO whose words are at `base .. base + 2^(B−1)`, with a write queue of `queue` bytes
    /// (1 or 2).
    pub fn new(base: u16, queue: usize) -> Self {
        assert!(queue == 1 || queue == 2, "a write queue of one or two bytes");
        assert_eq!(B + 1, B1, "FIFO pointers are one bit wider than byte addresses");
        let words = 1usize << (B - 1);
        assert!((base as usize).is_multiple_of(words) && base as usize + words <= 1 << 14, "region outside the SPRAM");
        Self {
            clock: Default::default(),
            data_in: Default::default(),
            write: Default::default(),
            full: Default::default(),
            data_out: Default::default(),
            read: Default::default(),
            empty: Default::default(),
            idle: Default::default(),
            wreq: Default::default(),
            rreq: Default::default(),
            waddr: Default::default(),
            raddr: Default::default(),
            wdata: Default::default(),
            whi: Default::default(),
            wgrant: Default::default(),
            rgrant: Default::default(),
            rdata: Default::default(),
            h0: Default::default(),
            h1: Default::default(),
            v0: Default::default(),
            v1: Default::default(),
            r: Default::default(),
            rv: Default::default(),
            wp: Default::default(),
            rp: Default::default(),
            rinf: Default::default(),
            rhi: Default::default(),
            rreq_r: Default::default(),
            s_some: Default::default(),
            s_full: Default::default(),
            wp1: Default::default(),
            rp1: Default::default(),
            push: Default::default(),
            pop: Default::default(),
            v0_a: Default::default(),
            base: Constant::new(bits::<14>(base as u64)),
            wmask_a: Constant::new(bits::<14>(words as u64 - 1)),
            wrap: Constant::new(bits::<B1>(1 << B)),
            two: Constant::new(queue == 2),
        }
    }

    /// Bytes it holds at least before `full`, with a write queue of `queue` bytes.
    pub const fn capacity(queue: usize) -> usize {
        (1 << B) + 1 + queue
    }
}

impl<const B: usize, const B1: usize> Logic for SpFifo<B, B1> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, h0, h1, v0, v1, r, rv, wp, rp, rinf, rhi, rreq_r, s_some, s_full);
        // `full`'s expression again, not `full` itself: the writer's `write` depends on it,
        // and Verilator sees a loop through an output read back in its own block.
        self.push.next = self.write.val() & !self.v1.q.val() & (self.two.val() | !self.v0.q.val());
        self.pop.next = self.read.val() & self.rv.q.val();
        // One access a cycle, so a write and a read of the region never meet: a write makes it
        // non-empty and full if one byte was free, a read makes it non-full and empty if it
        // held one byte.
        self.wp1.next = self.wp.q.val() + 1;
        self.rp1.next = self.rp.q.val() + 1;
        if self.wgrant.val() {
            self.wp.d.next = self.wp1.val();
            self.s_some.d.next = true;
            self.s_full.d.next = (self.wp1.val() ^ self.rp.q.val()) == self.wrap.val();
        }
        if self.rgrant.val() {
            self.rp.d.next = self.rp1.val();
            self.s_full.d.next = false;
            self.s_some.d.next = self.rp1.val() != self.wp.q.val();
        }
        self.wreq.next = self.v0.q.val() & !self.s_full.q.val();
        // Read: after this edge the read stage is empty (or is being emptied) and the memory
        // has a byte (or gets one on this edge). A pending request stays until granted: only
        // this client empties its region and its read stage.
        if !self.rreq_r.q.val()
            & !self.rinf.q.val()
            & (self.s_some.q.val() | self.wgrant.val())
            & (!self.rv.q.val() | self.pop.val())
        {
            self.rreq_r.d.next = true;
        }
        if self.rgrant.val() {
            self.rreq_r.d.next = false;
            self.rhi.d.next = self.rp.q.val().get_bit(0);
        }
        self.rreq.next = self.rreq_r.q.val();
        self.waddr.next = self.base.val() | ((bit_cast::<14, B1>(self.wp.q.val()) >> 1) & self.wmask_a.val());
        self.raddr.next = self.base.val() | ((bit_cast::<14, B1>(self.rp.q.val()) >> 1) & self.wmask_a.val());
        self.wdata.next = self.h0.q.val();
        self.whi.next = self.wp.q.val().get_bit(0);

        // ---- Write queue: the oldest byte leaves to the memory, the new byte joins behind
        // what stays. `h0` updates under two flat conditions, never nested (Yosys then folds
        // its enable into the flip-flop).
        self.v0_a.next = self.v0.q.val();
        if self.wgrant.val() {
            self.h0.d.next = self.h1.q.val();
            self.v0.d.next = self.v1.q.val();
            self.v1.d.next = false;
            self.v0_a.next = self.v1.q.val();
        }
        if self.push.val() & !self.v0_a.val() {
            self.h0.d.next = self.data_in.val();
            self.v0.d.next = true;
        }
        if self.push.val() & self.v0_a.val() & self.two.val() {
            self.h1.d.next = self.data_in.val();
            self.v1.d.next = true;
        }

        // ---- Read stage: filled only when empty, so a fill and a pop never meet.
        if self.pop.val() {
            self.rv.d.next = false;
        }
        if self.rinf.q.val() {
            self.r.d.next = self.rdata.val().get_bits::<8>(0);
            if self.rhi.q.val() {
                self.r.d.next = self.rdata.val().get_bits::<8>(8);
            }
            self.rv.d.next = true;
        }
        self.rinf.d.next = self.rgrant.val();

        self.full.next = self.v1.q.val();
        if !self.two.val() {
            self.full.next = self.v0.q.val();
        }
        self.empty.next = !self.rv.q.val();
        self.data_out.next = self.r.q.val();
        // From flip-flops only, as the requests: the sender's write depends on it.
        self.idle.next = !self.v0.q.val() & !self.rv.q.val() & !self.s_some.q.val() & !self.rinf.q.val();
    }
}

/// The frame buffer: 1 KiB (512 words at `base`) behind the I/O block's byte pointer, which
/// the firmware sets (`FBP`), writes through (`FBW`) and reads through (`FB`), and the feeder
/// reads through, each access advancing it.
///
/// A write is posted in a register and written alone (its byte enable) when granted. Reads
/// come from a read-ahead of two words, the pointer's word and the next, refilled one read at
/// a time (request, grant, word: a read per three cycles, the feeder's two bytes per three
/// cycles); setting the pointer or writing empties it (writes are ordered before the reads
/// that follow). `valid` says the byte at the pointer is in `data_out`: the feeder waits for
/// it. The firmware's `in FB` cannot wait; with the frame buffer's read sixth in priority the
/// word at a new pointer is there four cycles after `FBP` unless the five above are busy, and
/// the next word by the time two reads have used the current one (the firmware reads the
/// buffer tens of cycles after `FBP`, and at most a byte per two instructions).
#[derive(LogicBlock)]
pub struct SpFrame {
    pub clock: Signal<In, Clock>,
    /// The pointer before this edge.
    pub ptr: Signal<In, Bits<10>>,
    /// The pointer advances by one on this edge.
    pub adv: Signal<In, Bit>,
    /// The pointer is set, or a byte written, on this edge: the read-ahead is stale.
    pub inval: Signal<In, Bit>,
    /// Write `data_in` at `ptr` on this edge.
    pub write: Signal<In, Bit>,
    pub data_in: Signal<In, Bits<8>>,
    pub data_out: Signal<Out, Bits<8>>,
    pub valid: Signal<Out, Bit>,
    pub wreq: Signal<Out, Bit>,
    pub rreq: Signal<Out, Bit>,
    pub waddr: Signal<Out, Bits<14>>,
    pub raddr: Signal<Out, Bits<14>>,
    pub wdata: Signal<Out, Bits<8>>,
    pub whi: Signal<Out, Bit>,
    pub wgrant: Signal<In, Bit>,
    pub rgrant: Signal<In, Bit>,
    pub rdata: Signal<In, Bits<16>>,
    /// The read-ahead: slot 0 is the pointer's word, slot 1 the next.
    c0: DFF<Bits<16>>,
    c1: DFF<Bits<16>>,
    v0: DFF<Bit>,
    v1: DFF<Bit>,
    /// A read is on `rdata` now, for slot `rslot` (as the pointer stands after the grant's
    /// edge), or for nothing (`rkill`: the read-ahead was emptied or moved past it).
    rinf: DFF<Bit>,
    rslot: DFF<Bit>,
    rkill: DFF<Bit>,
    /// The posted write.
    fw_v: DFF<Bit>,
    fw_a: DFF<Bits<9>>,
    fw_hi: DFF<Bit>,
    fw_d: DFF<Bits<8>>,
    /// The read request, from a flip-flop (as `SpFifo`'s).
    rreq_r: DFF<Bit>,
    shift: Signal<Local, Bit>,
    wptr: Signal<Local, Bits<9>>,
    ra: Signal<Local, Bits<9>>,
    arrive: Signal<Local, Bit>,
    to0: Signal<Local, Bit>,
    to1: Signal<Local, Bit>,
    base: Constant<Bits<14>>,
}

impl SpFrame {
    pub fn new(base: u16) -> Self {
        assert!((base as usize).is_multiple_of(512) && base as usize + 512 <= 1 << 14, "region outside the SPRAM");
        Self {
            clock: Default::default(),
            ptr: Default::default(),
            adv: Default::default(),
            inval: Default::default(),
            write: Default::default(),
            data_in: Default::default(),
            data_out: Default::default(),
            valid: Default::default(),
            wreq: Default::default(),
            rreq: Default::default(),
            waddr: Default::default(),
            raddr: Default::default(),
            wdata: Default::default(),
            whi: Default::default(),
            wgrant: Default::default(),
            rgrant: Default::default(),
            rdata: Default::default(),
            c0: Default::default(),
            c1: Default::default(),
            v0: Default::default(),
            v1: Default::default(),
            rinf: Default::default(),
            rslot: Default::default(),
            rkill: Default::default(),
            fw_v: Default::default(),
            fw_a: Default::default(),
            fw_hi: Default::default(),
            fw_d: Default::default(),
            rreq_r: Default::default(),
            shift: Default::default(),
            wptr: Default::default(),
            ra: Default::default(),
            arrive: Default::default(),
            to0: Default::default(),
            to1: Default::default(),
            base: Constant::new(bits::<14>(base as u64)),
        }
    }
}

impl Logic for SpFrame {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, c0, c1, v0, v1, rinf, rslot, rkill, fw_v, fw_a, fw_hi, fw_d, rreq_r);
        // Leaving a word's high byte moves the read-ahead by a word.
        self.shift.next = self.adv.val() & self.ptr.val().get_bit(0);
        self.wptr.next = self.ptr.val().get_bits::<9>(1);

        // ---- Read-ahead: slot 0 first, then slot 1, one read at a time, asked for a cycle
        // ahead; which slot, and so the address, is decided when it is granted. A waiting
        // write goes first (its priority is higher), so that a read never returns a word older
        // than a write before it; a read granted as a write is posted is dropped (`inval`).
        if !self.rreq_r.q.val() & !self.rinf.q.val() & !(self.v0.q.val() & self.v1.q.val()) {
            self.rreq_r.d.next = true;
        }
        if self.rgrant.val() {
            self.rreq_r.d.next = false;
        }
        self.rreq.next = self.rreq_r.q.val();
        self.ra.next = self.wptr.val() + bit_cast::<9, 1>(self.v0.q.val().into());
        self.raddr.next = self.base.val() | bit_cast::<14, 9>(self.ra.val());
        self.rinf.d.next = self.rgrant.val();
        if self.rgrant.val() {
            self.rkill.d.next = self.inval.val() | (self.shift.val() & !self.v0.q.val());
            self.rslot.d.next = self.v0.q.val() & !self.shift.val();
        }
        // The arriving word's slot as the pointer stands after this edge.
        self.arrive.next = self.rinf.q.val() & !self.rkill.q.val() & !self.inval.val();
        self.to0.next = self.arrive.val() & !(self.rslot.q.val() ^ self.shift.val());
        self.to1.next = self.arrive.val() & self.rslot.q.val() & !self.shift.val();
        if self.shift.val() {
            self.c0.d.next = self.c1.q.val();
            self.v0.d.next = self.v1.q.val();
            self.v1.d.next = false;
        }
        if self.to0.val() {
            self.c0.d.next = self.rdata.val();
            self.v0.d.next = true;
        }
        if self.to1.val() {
            self.c1.d.next = self.rdata.val();
            self.v1.d.next = true;
        }
        if self.inval.val() {
            self.v0.d.next = false;
            self.v1.d.next = false;
        }

        // ---- The posted write.
        if self.wgrant.val() {
            self.fw_v.d.next = false;
        }
        if self.write.val() {
            self.fw_v.d.next = true;
            self.fw_a.d.next = self.wptr.val();
            self.fw_hi.d.next = self.ptr.val().get_bit(0);
            self.fw_d.d.next = self.data_in.val();
        }
        self.wreq.next = self.fw_v.q.val();
        self.waddr.next = self.base.val() | bit_cast::<14, 9>(self.fw_a.q.val());
        self.wdata.next = self.fw_d.q.val();
        self.whi.next = self.fw_hi.q.val();

        self.data_out.next = self.c0.q.val().get_bits::<8>(0);
        if self.ptr.val().get_bit(0) {
            self.data_out.next = self.c0.q.val().get_bits::<8>(8);
        }
        self.valid.next = self.v0.q.val();
    }
}

/// Receive FIFO: 2 KiB (the strip input rule keeps at most one DATA frame and two QUERY frames
/// in it while the frame before is fed, `crate::board_top`).
pub type RxFifo = SpFifo<11, 12>;
/// Send FIFO: 512 bytes (the sender waits while it is full; the line sets the pace).
pub type TxFifo = SpFifo<9, 10>;
/// Result FIFO: one chunk of `proto::MAX_CHUNK` bytes (`crate::linkio`).
pub type ResFifo = SpFifo<10, 11>;

/// The four buffers on one SPRAM under the arbiter (module docs), with each buffer's byte-side
/// ports: `rx_*` the receive FIFO, `tx_*` the send FIFO, `rf_*` the result FIFO, `fb_*` the
/// frame buffer (ports of [`SpFifo`] and [`SpFrame`]).
#[derive(LogicBlock)]
pub struct LinkMem {
    pub clock: Signal<In, Clock>,
    pub rx_in: Signal<In, Bits<8>>,
    pub rx_push: Signal<In, Bit>,
    pub rx_full: Signal<Out, Bit>,
    pub rx_out: Signal<Out, Bits<8>>,
    pub rx_pop: Signal<In, Bit>,
    pub rx_empty: Signal<Out, Bit>,
    pub tx_in: Signal<In, Bits<8>>,
    pub tx_push: Signal<In, Bit>,
    pub tx_full: Signal<Out, Bit>,
    pub tx_out: Signal<Out, Bits<8>>,
    pub tx_pop: Signal<In, Bit>,
    pub tx_empty: Signal<Out, Bit>,
    /// Nothing in the send FIFO.
    pub tx_idle: Signal<Out, Bit>,
    pub rf_in: Signal<In, Bits<8>>,
    pub rf_push: Signal<In, Bit>,
    pub rf_full: Signal<Out, Bit>,
    pub rf_out: Signal<Out, Bits<8>>,
    pub rf_pop: Signal<In, Bit>,
    pub rf_empty: Signal<Out, Bit>,
    pub fb_ptr: Signal<In, Bits<10>>,
    pub fb_adv: Signal<In, Bit>,
    pub fb_inval: Signal<In, Bit>,
    pub fb_write: Signal<In, Bit>,
    pub fb_in: Signal<In, Bits<8>>,
    pub fb_out: Signal<Out, Bits<8>>,
    pub fb_valid: Signal<Out, Bit>,
    ram: SpRamBytes,
    rx: RxFifo,
    tx: TxFifo,
    rf: ResFifo,
    fb: SpFrame,
    /// Grants, in priority order (module docs).
    g_rxw: Signal<Local, Bit>,
    g_fbw: Signal<Local, Bit>,
    g_txr: Signal<Local, Bit>,
    g_rxr: Signal<Local, Bit>,
    g_txw: Signal<Local, Bit>,
    g_fbr: Signal<Local, Bit>,
    g_rfr: Signal<Local, Bit>,
    g_rfw: Signal<Local, Bit>,
    /// Some request above the one named is asking.
    above_fbr: Signal<Local, Bit>,
    above_txr: Signal<Local, Bit>,
    above_txw: Signal<Local, Bit>,
    above_rfr: Signal<Local, Bit>,
    /// Each granted request's address and write data, zero if not granted.
    am: [Signal<Local, Bits<14>>; 8],
    dm: [Signal<Local, Bits<8>>; 4],
    wbyte: Signal<Local, Bits<8>>,
    /// The granted write stores the word's high byte.
    whi: Signal<Local, Bit>,
}

impl Default for LinkMem {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            rx_in: Default::default(),
            rx_push: Default::default(),
            rx_full: Default::default(),
            rx_out: Default::default(),
            rx_pop: Default::default(),
            rx_empty: Default::default(),
            tx_in: Default::default(),
            tx_push: Default::default(),
            tx_full: Default::default(),
            tx_out: Default::default(),
            tx_pop: Default::default(),
            tx_empty: Default::default(),
            tx_idle: Default::default(),
            rf_in: Default::default(),
            rf_push: Default::default(),
            rf_full: Default::default(),
            rf_out: Default::default(),
            rf_pop: Default::default(),
            rf_empty: Default::default(),
            fb_ptr: Default::default(),
            fb_adv: Default::default(),
            fb_inval: Default::default(),
            fb_write: Default::default(),
            fb_in: Default::default(),
            fb_out: Default::default(),
            fb_valid: Default::default(),
            ram: Default::default(),
            rx: SpFifo::new(Self::RX_BASE, Self::RX_QUEUE),
            tx: SpFifo::new(Self::TX_BASE, Self::TX_QUEUE),
            rf: SpFifo::new(Self::RF_BASE, Self::RF_QUEUE),
            fb: SpFrame::new(Self::FB_BASE),
            g_rxw: Default::default(),
            g_fbw: Default::default(),
            g_txr: Default::default(),
            g_rxr: Default::default(),
            g_txw: Default::default(),
            g_fbr: Default::default(),
            g_rfr: Default::default(),
            g_rfw: Default::default(),
            above_fbr: Default::default(),
            above_txr: Default::default(),
            above_txw: Default::default(),
            above_rfr: Default::default(),
            am: Default::default(),
            dm: Default::default(),
            wbyte: Default::default(),
            whi: Default::default(),
        }
    }
}

impl LinkMem {
    pub const RX_BASE: u16 = 0x0000;
    pub const TX_BASE: u16 = 0x0400;
    pub const RF_BASE: u16 = 0x0800;
    pub const FB_BASE: u16 = 0x0C00;
    /// Bytes each FIFO holds at least before it is full (its memory region and its register
    /// stages).
    pub const RX_CAPACITY: usize = RxFifo::capacity(Self::RX_QUEUE);
    pub const TX_CAPACITY: usize = TxFifo::capacity(Self::TX_QUEUE);
    pub const RF_CAPACITY: usize = ResFifo::capacity(Self::RF_QUEUE);
    /// Write queues: one byte where a byte is written at most every other cycle or can wait
    /// (the receive FIFO's writes outrank everything and come a byte per ~120 cycles; the
    /// result FIFO's writer waits on `full`), two for the send FIFO, which takes the
    /// firmware's bytes through a one-byte holding register that must not overrun when a
    /// grant comes late.
    const RX_QUEUE: usize = 1;
    const TX_QUEUE: usize = 2;
    const RF_QUEUE: usize = 1;
}

impl LinkMem {
    /// Simulation only: the receive FIFO holds nothing (a test harness that paces bytes in
    /// knows they were all read).
    pub fn rx_idle(&self) -> bool {
        self.rx.idle.val()
    }
}

impl Logic for LinkMem {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, ram, rx, tx, rf, fb);
        self.rx.data_in.next = self.rx_in.val();
        self.rx.write.next = self.rx_push.val();
        self.rx_full.next = self.rx.full.val();
        self.rx_out.next = self.rx.data_out.val();
        self.rx.read.next = self.rx_pop.val();
        self.rx_empty.next = self.rx.empty.val();
        self.tx.data_in.next = self.tx_in.val();
        self.tx.write.next = self.tx_push.val();
        self.tx_full.next = self.tx.full.val();
        self.tx_out.next = self.tx.data_out.val();
        self.tx.read.next = self.tx_pop.val();
        self.tx_empty.next = self.tx.empty.val();
        self.tx_idle.next = self.tx.idle.val();
        self.rf.data_in.next = self.rf_in.val();
        self.rf.write.next = self.rf_push.val();
        self.rf_full.next = self.rf.full.val();
        self.rf_out.next = self.rf.data_out.val();
        self.rf.read.next = self.rf_pop.val();
        self.rf_empty.next = self.rf.empty.val();
        self.fb.ptr.next = self.fb_ptr.val();
        self.fb.adv.next = self.fb_adv.val();
        self.fb.inval.next = self.fb_inval.val();
        self.fb.write.next = self.fb_write.val();
        self.fb.data_in.next = self.fb_in.val();
        self.fb_out.next = self.fb.data_out.val();
        self.fb_valid.next = self.fb.valid.val();

        // ---- The arbiter: fixed priority (module docs).
        self.g_rxw.next = self.rx.wreq.val();
        self.g_fbw.next = self.fb.wreq.val() & !self.rx.wreq.val();
        self.above_txr.next = self.rx.wreq.val() | self.fb.wreq.val();
        self.g_txr.next = self.tx.rreq.val() & !self.above_txr.val();
        self.g_rxr.next = self.rx.rreq.val() & !self.above_txr.val() & !self.tx.rreq.val();
        self.above_fbr.next = self.above_txr.val() | self.tx.rreq.val() | self.rx.rreq.val();
        self.g_fbr.next = self.fb.rreq.val() & !self.above_fbr.val();
        self.above_txw.next = self.above_fbr.val() | self.fb.rreq.val();
        self.g_txw.next = self.tx.wreq.val() & !self.above_txw.val();
        self.above_rfr.next = self.above_txw.val() | self.tx.wreq.val();
        self.g_rfr.next = self.rf.rreq.val() & !self.above_rfr.val();
        self.g_rfw.next = self.rf.wreq.val() & !self.above_rfr.val() & !self.rf.rreq.val();
        self.rx.wgrant.next = self.g_rxw.val();
        self.rx.rgrant.next = self.g_rxr.val();
        self.tx.wgrant.next = self.g_txw.val();
        self.tx.rgrant.next = self.g_txr.val();
        self.rf.wgrant.next = self.g_rfw.val();
        self.rf.rgrant.next = self.g_rfr.val();
        self.fb.wgrant.next = self.g_fbw.val();
        self.fb.rgrant.next = self.g_fbr.val();

        // One-hot grants: the address and the write data are AND-OR multiplexers (a chain of
        // `if`s would be a priority multiplexer as deep as the list).
        self.am[0].next = 0.into();
        if self.g_rxw.val() {
            self.am[0].next = self.rx.waddr.val();
        }
        self.am[1].next = 0.into();
        if self.g_fbw.val() {
            self.am[1].next = self.fb.waddr.val();
        }
        self.am[2].next = 0.into();
        if self.g_txr.val() {
            self.am[2].next = self.tx.raddr.val();
        }
        self.am[3].next = 0.into();
        if self.g_rxr.val() {
            self.am[3].next = self.rx.raddr.val();
        }
        self.am[4].next = 0.into();
        if self.g_txw.val() {
            self.am[4].next = self.tx.waddr.val();
        }
        self.am[5].next = 0.into();
        if self.g_fbr.val() {
            self.am[5].next = self.fb.raddr.val();
        }
        self.am[6].next = 0.into();
        if self.g_rfr.val() {
            self.am[6].next = self.rf.raddr.val();
        }
        self.am[7].next = 0.into();
        if self.g_rfw.val() {
            self.am[7].next = self.rf.waddr.val();
        }
        self.ram.address.next = self.am[0].val()
            | self.am[1].val()
            | self.am[2].val()
            | self.am[3].val()
            | self.am[4].val()
            | self.am[5].val()
            | self.am[6].val()
            | self.am[7].val();
        self.ram.write.next = self.g_rxw.val() | self.g_fbw.val() | self.g_txw.val() | self.g_rfw.val();
        self.dm[0].next = 0.into();
        if self.g_rxw.val() {
            self.dm[0].next = self.rx.wdata.val();
        }
        self.dm[1].next = 0.into();
        if self.g_fbw.val() {
            self.dm[1].next = self.fb.wdata.val();
        }
        self.dm[2].next = 0.into();
        if self.g_txw.val() {
            self.dm[2].next = self.tx.wdata.val();
        }
        self.dm[3].next = 0.into();
        if self.g_rfw.val() {
            self.dm[3].next = self.rf.wdata.val();
        }
        // Every write stores one byte: the byte on both halves, the half chosen by its enable.
        self.wbyte.next = self.dm[0].val() | self.dm[1].val() | self.dm[2].val() | self.dm[3].val();
        self.ram.data_in.next = (bit_cast::<16, 8>(self.wbyte.val()) << 8) | bit_cast::<16, 8>(self.wbyte.val());
        // The half: the granted writer's, as one bit through the grants (only a write uses
        // the enables).
        self.whi.next = (self.g_rxw.val() & self.rx.whi.val())
            | (self.g_fbw.val() & self.fb.whi.val())
            | (self.g_txw.val() & self.tx.whi.val())
            | (self.g_rfw.val() & self.rf.whi.val());
        self.ram.byte_en.next = 1.into();
        if self.whi.val() {
            self.ram.byte_en.next = 2.into();
        }
        self.rx.rdata.next = self.ram.data_out.val();
        self.tx.rdata.next = self.ram.data_out.val();
        self.rf.rdata.next = self.ram.data_out.val();
        self.fb.rdata.next = self.ram.data_out.val();
    }
}

impl crate::sim::Clocked for LinkMem {
    fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}
