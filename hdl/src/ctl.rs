//! The control core (`bbcu_arch::ctl` defines it: instruction set, assembler, model) in
//! Rust-HDL: two threads on one datapath. Its program is a [`Rom`] (each thread's region as
//! deep as its program, in 256-word steps) and its registers a [`Bram`] (256 a thread; the
//! register read in an execute cycle that stores is never used): block RAMs, so the core
//! itself is each thread's accumulator, carry, program counter, link and index registers, one
//! instruction register with its decode, and one ALU. The UP5K's board runs the protocol
//! firmware on thread 0 and the engine's sequencer firmware on thread 1 (`crate::board_top`):
//! one core's logic where two cores took 800 LUTs.
//!
//! Each thread takes two cycles an instruction. *Fetch*: the program memory's output is the
//! instruction; it is latched, decoded (branches decide here: the thread's A and C are
//! stable), and its operand field addresses the register file. *Execute*: the register's
//! value is there; the instruction acts, the program memory is addressed with the next PC, and
//! a store writes the register file (read back correctly by the thread's next fetch, one edge
//! later). The threads interleave: in every cycle one executes (`th`) while the other fetches,
//! so the program memory is read once a cycle and each thread keeps the timing of a core of
//! its own, its first fetch in cycle 1 (thread 0) or 2 (thread 1). `lpm` addresses the program
//! memory with A instead; the word arrives in the thread's next fetch slot, and the slot after
//! that (an execute slot with nothing to execute) addresses the next instruction: four cycles.
//! `ldx` / `stx` address the register file with the index register X instead of the operand
//! field; `lra` puts the link register through the accumulator's AND-OR, and `jpa` addresses
//! the program memory with A as `lpm` does (and loads PC from it).
//!
//! A thread's state lives in two sets of registers that trade places every cycle: `*e` holds
//! the executing thread's, `*f` the fetching thread's. What an execute cycle computes goes to
//! the `*f` side (that thread fetches next) and what a fetch cycle holds goes to the `*e` side,
//! so no multiplexer picks a thread's A in front of the ALU.
//!
//! Ports: `port` is the executing instruction's operand field, `pout` its thread's
//! accumulator; `pwr[t]` / `prd[t]` are one-cycle strobes in the execute cycle of thread t's
//! `out` / `in`, and `pin[t]` is sampled then; `exec` marks a cycle in which an instruction
//! executes and `xth` is its thread. For an I/O block that must meet the clock with a wide port
//! decode, `port_next`, `out_next[t]` and `in_next[t]` give the port and the kind of the
//! instruction thread t is fetching, so it can register its strobes and the value an `in` will
//! read one cycle ahead.

use crate::bram::{Bram, Rom};
use rust_hdl::prelude::*;

/// Program-memory address bits: a thread's region starts at `thread · 2^11`.
pub const ROM_BITS: usize = 12;

const _: () = assert!(ROM_BITS == 12, "thread 1's region is at bit 11");

/// What a thread's next fetch slot does.
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum Cs {
    /// Nothing (before the thread's first instruction, or for ever on a core with one
    /// thread): its next execute slot addresses the instruction at PC.
    Skip,
    /// Fetches an instruction.
    Run,
    /// Takes `lpm`'s word into A, then as `Skip`.
    Data,
}

/// The core with `PA` program address bits a thread (PA ≤ 11).
#[derive(LogicBlock)]
pub struct Ctl<const PA: usize> {
    pub clock: Signal<In, Clock>,
    pub port: Signal<Out, Bits<8>>,
    /// In a fetch cycle, the port the instruction being fetched names: an I/O block can
    /// register what an `in` will read one cycle early, so that its input multiplexer is off
    /// the path from the instruction register to the accumulator.
    pub port_next: Signal<Out, Bits<8>>,
    /// High when thread t fetches an `out`: with `port_next`, an I/O block can register a
    /// port's write strobe for the execute cycle.
    pub out_next: [Signal<Out, Bit>; 2],
    /// The same for an `in` (its read strobe).
    pub in_next: [Signal<Out, Bit>; 2],
    pub pout: Signal<Out, Bits<16>>,
    pub pwr: [Signal<Out, Bit>; 2],
    pub prd: [Signal<Out, Bit>; 2],
    pub pin: [Signal<In, Bits<16>>; 2],
    /// High in every cycle in which an instruction executes (for traces and cycle checks).
    pub exec: Signal<Out, Bit>,
    /// The thread executing in this cycle.
    pub xth: Signal<Out, Bit>,
    rom: Rom<ROM_BITS>,
    rf: Bram<Bits<16>, 9>,
    th: DFF<Bit>,
    stf: DFF<Cs>,
    pce: DFF<Bits<PA>>,
    pcf: DFF<Bits<PA>>,
    lre: DFF<Bits<PA>>,
    lrf: DFF<Bits<PA>>,
    ae: DFF<Bits<16>>,
    af: DFF<Bits<16>>,
    ce: DFF<Bit>,
    cf: DFF<Bit>,
    /// The index registers of `ldx` / `stx`.
    xe: DFF<Bits<8>>,
    xf: DFF<Bits<8>>,
    ir: DFF<Bits<16>>,
    // The instruction decoded at fetch, so that the execute cycle starts from flip-flops;
    // `d_run` is low for a slot with nothing to execute.
    d_run: DFF<Bit>,
    d_imm: DFF<Bit>,
    d_sub: DFF<Bit>,
    d_ld: DFF<Bit>,
    d_ar: DFF<Bit>,
    d_lg: DFF<Bit>,
    d_im: DFF<Bit>,
    d_in0: DFF<Bit>,
    d_in1: DFF<Bit>,
    d_sh: DFF<Bit>,
    d_csum: DFF<Bit>,
    d_ceq: DFF<Bit>,
    d_ctst: DFF<Bit>,
    d_csh: DFF<Bit>,
    d_lpm: DFF<Bit>,
    d_ldx: DFF<Bit>,
    d_stx: DFF<Bit>,
    d_tax: DFF<Bit>,
    d_lra: DFF<Bit>,
    d_jpa: DFF<Bit>,
    d_jump: DFF<Bit>,
    d_ret: DFF<Bit>,
    d_st: DFF<Bit>,
    d_wr: DFF<Bit>,
    d_call: DFF<Bit>,
    /// Whether thread 1 runs (a core with one program leaves it in `Skip`).
    two: Constant<Bit>,
    run_f: Signal<Local, Bit>,
    /// `!th` in a signal of its own: a negation inside a widening is widened first in Verilog.
    nth: Signal<Local, Bit>,
    iop: Signal<Local, Bits<4>>,
    ifx: Signal<Local, Bits<4>>,
    ialu: Signal<Local, Bit>,
    fx: Signal<Local, Bits<3>>,
    imm: Signal<Local, Bits<16>>,
    b: Signal<Local, Bits<16>>,
    ci: Signal<Local, Bits<17>>,
    sum: Signal<Local, Bits<17>>,
    bx: Signal<Local, Bits<16>>,
    subm: Signal<Local, Bits<16>>,
    sh_v: Signal<Local, Bits<16>>,
    lg_v: Signal<Local, Bits<16>>,
    im_v: Signal<Local, Bits<16>>,
    m_ld: Signal<Local, Bits<16>>,
    m_lg: Signal<Local, Bits<16>>,
    m_im: Signal<Local, Bits<16>>,
    m_in0: Signal<Local, Bits<16>>,
    m_in1: Signal<Local, Bits<16>>,
    m_sh: Signal<Local, Bits<16>>,
    m_lr: Signal<Local, Bits<16>>,
    m_hold: Signal<Local, Bits<16>>,
    an: Signal<Local, Bits<16>>,
    cn: Signal<Local, Bit>,
    c_we: Signal<Local, Bit>,
    target: Signal<Local, Bits<PA>>,
    pc_next: Signal<Local, Bits<PA>>,
    raddr: Signal<Local, Bits<ROM_BITS>>,
}

impl<const PA: usize> Ctl<PA> {
    /// A core running `program` on thread 0 (at most `2^PA` words); thread 1 stays idle.
    pub fn new(program: &[u16]) -> Self {
        Self::build(program, None)
    }

    /// A core running `p0` on thread 0 and `p1` on thread 1.
    pub fn dual(p0: &[u16], p1: &[u16]) -> Self {
        Self::build(p0, Some(p1))
    }

    fn build(p0: &[u16], p1: Option<&[u16]>) -> Self {
        assert!((1..=11).contains(&PA), "program address bits {PA}: 1..=11");
        for p in std::iter::once(p0).chain(p1) {
            assert!(p.len() <= 1 << PA, "program of {} words does not fit {}", p.len(), 1 << PA);
        }
        let rom = match p1 {
            None => Rom::new(p0),
            Some(p1) => Rom::regions(&[(0, p0), (1 << (ROM_BITS - 1), p1)]),
        };
        Self {
            clock: Default::default(),
            port: Default::default(),
            port_next: Default::default(),
            out_next: Default::default(),
            in_next: Default::default(),
            pout: Default::default(),
            pwr: Default::default(),
            prd: Default::default(),
            pin: Default::default(),
            exec: Default::default(),
            xth: Default::default(),
            rom,
            rf: Default::default(),
            th: Default::default(),
            stf: Default::default(),
            pce: Default::default(),
            pcf: Default::default(),
            lre: Default::default(),
            lrf: Default::default(),
            ae: Default::default(),
            af: Default::default(),
            ce: Default::default(),
            cf: Default::default(),
            xe: Default::default(),
            xf: Default::default(),
            ir: Default::default(),
            d_run: Default::default(),
            d_imm: Default::default(),
            d_sub: Default::default(),
            d_ld: Default::default(),
            d_ar: Default::default(),
            d_lg: Default::default(),
            d_im: Default::default(),
            d_in0: Default::default(),
            d_in1: Default::default(),
            d_sh: Default::default(),
            d_csum: Default::default(),
            d_ceq: Default::default(),
            d_ctst: Default::default(),
            d_csh: Default::default(),
            d_lpm: Default::default(),
            d_ldx: Default::default(),
            d_stx: Default::default(),
            d_tax: Default::default(),
            d_lra: Default::default(),
            d_jpa: Default::default(),
            d_jump: Default::default(),
            d_ret: Default::default(),
            d_st: Default::default(),
            d_wr: Default::default(),
            d_call: Default::default(),
            two: Constant::new(p1.is_some()),
            run_f: Default::default(),
            nth: Default::default(),
            iop: Default::default(),
            ifx: Default::default(),
            ialu: Default::default(),
            fx: Default::default(),
            imm: Default::default(),
            b: Default::default(),
            ci: Default::default(),
            sum: Default::default(),
            bx: Default::default(),
            subm: Default::default(),
            sh_v: Default::default(),
            lg_v: Default::default(),
            im_v: Default::default(),
            m_ld: Default::default(),
            m_lg: Default::default(),
            m_im: Default::default(),
            m_in0: Default::default(),
            m_in1: Default::default(),
            m_sh: Default::default(),
            m_lr: Default::default(),
            m_hold: Default::default(),
            an: Default::default(),
            cn: Default::default(),
            c_we: Default::default(),
            target: Default::default(),
            pc_next: Default::default(),
            raddr: Default::default(),
        }
    }
}

impl<const PA: usize> Logic for Ctl<PA> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, th, stf, pce, pcf, lre, lrf, ae, af, ce, cf, xe, xf, ir, d_run, d_imm, d_sub, d_ld, d_ar,
            d_lg, d_im, d_in0, d_in1, d_sh, d_csum, d_ceq, d_ctst, d_csh, d_lpm, d_ldx, d_stx, d_tax, d_lra, d_jpa,
            d_jump, d_ret, d_st, d_wr, d_call
        );
        self.rom.read_clock.next = self.clock.val();
        self.rf.write_clock.next = self.clock.val();
        self.rf.read_clock.next = self.clock.val();
        self.th.d.next = !self.th.q.val();

        // ---- The executing thread (`th`): the ALU on the `*e` registers.
        self.fx.next = self.ir.q.val().get_bits::<3>(8);
        self.imm.next = bit_cast::<16, 8>(self.ir.q.val().get_bits::<8>(0));
        self.subm.next = 0.into();
        if self.d_sub.q.val() {
            self.subm.next = 0xFFFF.into();
        }
        self.b.next = self.rf.read_data.val();
        if self.d_imm.q.val() {
            self.b.next = self.imm.val();
        }
        // One adder for both: A − B − borrow is A + !B + !borrow, and the carry out is the
        // inverted borrow. Only `adc` and `sbc` (x 1, 3) have x bit 0 set among the codes
        // that use it (`cmp` is x 8).
        self.bx.next = self.rf.read_data.val() ^ self.subm.val();
        if self.d_imm.q.val() {
            self.bx.next = self.imm.val() ^ self.subm.val();
        }
        self.ci.next = 0.into();
        if self.fx.val().get_bit(0) & self.ce.q.val() {
            self.ci.next = 1.into();
        }
        if self.d_sub.q.val() {
            self.ci.next = 1.into();
            if self.fx.val().get_bit(0) & self.ce.q.val() {
                self.ci.next = 0.into();
            }
        }
        self.sum.next = bit_cast::<17, 16>(self.ae.q.val()) + bit_cast::<17, 16>(self.bx.val()) + self.ci.val();
        self.target.next = bit_cast::<PA, 12>(self.ir.q.val().get_bits::<12>(0));

        self.port.next = self.ir.q.val().get_bits::<8>(0);
        self.pout.next = self.ae.q.val();
        self.exec.next = self.d_run.q.val();
        self.xth.next = self.th.q.val();
        self.pwr[0].next = self.d_wr.q.val() & !self.th.q.val();
        self.pwr[1].next = self.d_wr.q.val() & self.th.q.val();
        self.prd[0].next = self.d_in0.q.val();
        self.prd[1].next = self.d_in1.q.val();
        self.rf.write_enable.next = self.d_st.q.val() | self.d_stx.q.val();
        self.rf.write_address.next =
            bit_cast::<9, 8>(self.ir.q.val().get_bits::<8>(0)) | (bit_cast::<9, 1>(self.th.q.val().into()) << 8);
        if self.d_stx.q.val() {
            self.rf.write_address.next =
                bit_cast::<9, 8>(self.xe.q.val()) | (bit_cast::<9, 1>(self.th.q.val().into()) << 8);
        }
        self.rf.write_data.next = self.ae.q.val();

        // The next A as one AND-OR of value groups under decoded selects (a chain of `if`s
        // is a priority mux eight LUTs deep: 21 MHz on the UP5K); `m_hold` keeps A.
        self.sh_v.next = self.ae.q.val();
        if self.fx.val() == 0 {
            self.sh_v.next = self.ae.q.val() >> 1;
        }
        if self.fx.val() == 1 {
            self.sh_v.next = self.ae.q.val() << 1;
        }
        if self.fx.val() == 2 {
            self.sh_v.next = (self.ae.q.val() >> 1) | (bit_cast::<16, 1>(self.ce.q.val().into()) << 15);
        }
        if self.fx.val() == 3 {
            self.sh_v.next = (self.ae.q.val() << 1) | bit_cast::<16, 1>(self.ce.q.val().into());
        }
        if self.fx.val() == 4 {
            self.sh_v.next = (self.ae.q.val() << 8) | (self.ae.q.val() >> 8);
        }
        if self.fx.val() == 5 {
            self.sh_v.next = self.ae.q.val() & 0xFF;
        }
        if self.fx.val() == 6 {
            self.sh_v.next = self.ae.q.val() >> 8;
        }
        if self.fx.val() == 7 {
            self.sh_v.next = !self.ae.q.val();
        }
        self.lg_v.next = self.ae.q.val() & self.b.val();
        if self.fx.val().get_bits::<2>(0) == 1 {
            self.lg_v.next = self.ae.q.val() | self.b.val();
        }
        if self.fx.val().get_bits::<2>(0) == 2 {
            self.lg_v.next = self.ae.q.val() ^ self.b.val();
        }
        if self.fx.val().get_bits::<2>(0) == 3 {
            self.lg_v.next = self.b.val();
        }
        self.im_v.next = self.imm.val();
        if self.fx.val().get_bit(0) {
            self.im_v.next = (self.imm.val() << 8) | (self.ae.q.val() & 0xFF);
        }
        self.m_ld.next = 0.into();
        self.m_lg.next = 0.into();
        self.m_im.next = 0.into();
        self.m_in0.next = 0.into();
        self.m_in1.next = 0.into();
        self.m_sh.next = 0.into();
        self.m_lr.next = 0.into();
        if self.d_ld.q.val() | self.d_ldx.q.val() {
            self.m_ld.next = 0xFFFF.into();
        }
        if self.d_lg.q.val() {
            self.m_lg.next = 0xFFFF.into();
        }
        if self.d_im.q.val() {
            self.m_im.next = 0xFFFF.into();
        }
        if self.d_in0.q.val() {
            self.m_in0.next = 0xFFFF.into();
        }
        if self.d_in1.q.val() {
            self.m_in1.next = 0xFFFF.into();
        }
        if self.d_sh.q.val() {
            self.m_sh.next = 0xFFFF.into();
        }
        if self.d_lra.q.val() {
            self.m_lr.next = 0xFFFF.into();
        }
        self.m_hold.next = 0xFFFF.into();
        if self.d_ld.q.val()
            | self.d_ldx.q.val()
            | self.d_lra.q.val()
            | self.d_ar.q.val()
            | self.d_lg.q.val()
            | self.d_im.q.val()
            | self.d_in0.q.val()
            | self.d_in1.q.val()
            | self.d_sh.q.val()
        {
            self.m_hold.next = 0.into();
        }
        // The adder's result enters last, so that one LUT follows the carry chain.
        self.an.next = (self.m_ld.val() & self.rf.read_data.val())
            | (self.m_lg.val() & self.lg_v.val())
            | (self.m_im.val() & self.im_v.val())
            | (self.m_in0.val() & self.pin[0].val())
            | (self.m_in1.val() & self.pin[1].val())
            | (self.m_sh.val() & self.sh_v.val())
            | (self.m_lr.val() & bit_cast::<16, PA>(self.lre.q.val()))
            | (self.m_hold.val() & self.ae.q.val());
        if self.d_ar.q.val() {
            self.an.next = self.sum.val().get_bits::<16>(0);
        }
        self.af.d.next = self.an.val();
        // The carry: `add`/`adc`, `sub`/`sbc`/`cmp`, `ceq`, `test`, and the four shifts (bit 0
        // out to the right, bit 15 to the left).
        self.cn.next = (self.d_csum.q.val() & self.sum.val().get_bit(16))
            | (self.d_sub.q.val() & !self.sum.val().get_bit(16))
            | (self.d_ceq.q.val() & (self.ae.q.val() == self.b.val()))
            | (self.d_ctst.q.val() & ((self.ae.q.val() & self.b.val()) != 0))
            | (self.d_csh.q.val() & !self.fx.val().get_bit(0) & self.ae.q.val().get_bit(0))
            | (self.d_csh.q.val() & self.fx.val().get_bit(0) & self.ae.q.val().get_bit(15));
        self.c_we.next =
            self.d_csum.q.val() | self.d_sub.q.val() | self.d_ceq.q.val() | self.d_ctst.q.val() | self.d_csh.q.val();
        self.cf.d.next = self.ce.q.val();
        if self.c_we.val() {
            self.cf.d.next = self.cn.val();
        }
        self.xf.d.next = self.xe.q.val();
        if self.d_ldx.q.val() | self.d_stx.q.val() {
            self.xf.d.next = self.xe.q.val() + 1;
        }
        if self.d_tax.q.val() {
            self.xf.d.next = self.ae.q.val().get_bits::<8>(0);
        }
        self.lrf.d.next = self.lre.q.val();
        if self.d_call.q.val() {
            self.lrf.d.next = self.pce.q.val() + 1;
        }
        // The next PC; a slot with nothing to execute addresses the instruction at PC.
        self.pc_next.next = self.pce.q.val() + 1;
        if self.d_jump.q.val() {
            self.pc_next.next = self.target.val();
        }
        if self.d_ret.q.val() {
            self.pc_next.next = self.lre.q.val();
        }
        if !self.d_run.q.val() {
            self.pc_next.next = self.pce.q.val();
        }
        self.pcf.d.next = self.pc_next.val();
        self.raddr.next = bit_cast::<ROM_BITS, PA>(self.pc_next.val());
        // `jpa` shares `lpm`'s address from A, so that the path from the branch decode to the
        // program memory gains no input.
        if self.d_lpm.q.val() | self.d_jpa.q.val() {
            self.raddr.next = bit_cast::<ROM_BITS, PA>(self.ae.q.val().get_bits::<PA>(0));
        }
        if self.d_jpa.q.val() {
            self.pcf.d.next = self.ae.q.val().get_bits::<PA>(0);
        }
        self.rom.read_address.next = self.raddr.val() | (bit_cast::<ROM_BITS, 1>(self.th.q.val().into()) << 11);
        self.stf.d.next = Cs::Run;
        if self.d_lpm.q.val() {
            self.stf.d.next = Cs::Data;
        }
        if self.th.q.val() & !self.two.val() {
            self.stf.d.next = Cs::Skip;
        }

        // ---- The fetching thread (`!th`): the program memory's word on the `*f` registers,
        // which move to the `*e` side.
        self.pce.d.next = self.pcf.q.val();
        self.lre.d.next = self.lrf.q.val();
        self.ce.d.next = self.cf.q.val();
        self.xe.d.next = self.xf.q.val();
        self.ae.d.next = self.af.q.val();
        if self.stf.q.val() == Cs::Data {
            self.ae.d.next = self.rom.read_data.val();
        }
        self.run_f.next = self.stf.q.val() == Cs::Run;
        self.nth.next = !self.th.q.val();
        self.iop.next = self.rom.read_data.val().get_bits::<4>(12);
        self.ifx.next = self.rom.read_data.val().get_bits::<4>(8);
        self.ialu.next = (self.iop.val() == 2) | (self.iop.val() == 3);
        self.port_next.next = self.rom.read_data.val().get_bits::<8>(0);
        self.out_next[0].next = self.run_f.val() & self.th.q.val() & (self.iop.val() == 6);
        self.out_next[1].next = self.run_f.val() & !self.th.q.val() & (self.iop.val() == 6);
        self.in_next[0].next = self.run_f.val() & self.th.q.val() & (self.iop.val() == 5);
        self.in_next[1].next = self.run_f.val() & !self.th.q.val() & (self.iop.val() == 5);
        // The register a fetch reads: the instruction's operand, or X for `ldx`, in the
        // fetching thread's half. Only a fetch's read is used (B in the execute cycle), so the
        // address needs no state in it, which keeps a LUT level off the path from the program
        // memory to the register file.
        self.rf.read_address.next = bit_cast::<9, 8>(self.rom.read_data.val().get_bits::<8>(0))
            | (bit_cast::<9, 1>(self.nth.val().into()) << 8);
        if (self.iop.val() == 15) & (self.ifx.val() == 2) {
            self.rf.read_address.next =
                bit_cast::<9, 8>(self.xf.q.val()) | (bit_cast::<9, 1>(self.nth.val().into()) << 8);
        }
        self.ir.d.next = self.rom.read_data.val();
        self.d_run.d.next = self.run_f.val();
        self.d_imm.d.next = self.run_f.val() & (self.iop.val() == 3);
        self.d_sub.d.next =
            self.run_f.val() & self.ialu.val() & ((self.ifx.val().get_bits::<3>(1) == 1) | (self.ifx.val() == 8));
        self.d_ld.d.next = self.run_f.val() & (self.iop.val() == 0);
        self.d_st.d.next = self.run_f.val() & (self.iop.val() == 1);
        self.d_ar.d.next = self.run_f.val() & self.ialu.val() & (self.ifx.val().get_bits::<2>(2) == 0);
        self.d_lg.d.next = self.run_f.val() & self.ialu.val() & (self.ifx.val().get_bits::<2>(2) == 1);
        self.d_im.d.next = self.run_f.val() & (self.iop.val() == 4);
        self.d_in0.d.next = self.run_f.val() & (self.iop.val() == 5) & self.th.q.val();
        self.d_in1.d.next = self.run_f.val() & (self.iop.val() == 5) & !self.th.q.val();
        self.d_wr.d.next = self.run_f.val() & (self.iop.val() == 6);
        self.d_sh.d.next = self.run_f.val() & (self.iop.val() == 7);
        self.d_csum.d.next = self.run_f.val() & self.ialu.val() & (self.ifx.val().get_bits::<3>(1) == 0);
        self.d_ceq.d.next = self.run_f.val() & self.ialu.val() & (self.ifx.val() == 9);
        self.d_ctst.d.next = self.run_f.val() & self.ialu.val() & (self.ifx.val() == 11);
        self.d_csh.d.next = self.run_f.val() & (self.iop.val() == 7) & !self.ifx.val().get_bit(2);
        self.d_lpm.d.next = self.run_f.val() & (self.iop.val() == 15) & (self.ifx.val() == 1);
        self.d_ldx.d.next = self.run_f.val() & (self.iop.val() == 15) & (self.ifx.val() == 2);
        self.d_stx.d.next = self.run_f.val() & (self.iop.val() == 15) & (self.ifx.val() == 3);
        self.d_tax.d.next = self.run_f.val() & (self.iop.val() == 15) & (self.ifx.val() == 4);
        self.d_lra.d.next = self.run_f.val() & (self.iop.val() == 15) & (self.ifx.val() == 5);
        self.d_jpa.d.next = self.run_f.val() & (self.iop.val() == 15) & (self.ifx.val() == 6);
        self.d_call.d.next = self.run_f.val() & (self.iop.val() == 13);
        // Branches decide here: the thread's A and C do not change between its execute cycle
        // and its next fetch, and the test of A against zero then stays off the path from A
        // to the program memory's address.
        self.d_jump.d.next = self.run_f.val()
            & ((self.iop.val() == 8)
                | ((self.iop.val() == 9) & (self.af.q.val() == 0))
                | ((self.iop.val() == 10) & (self.af.q.val() != 0))
                | ((self.iop.val() == 11) & self.cf.q.val())
                | ((self.iop.val() == 12) & !self.cf.q.val())
                | (self.iop.val() == 13));
        self.d_ret.d.next = self.run_f.val() & (self.iop.val() == 14);
    }
}

impl<const PA: usize> crate::sim::Clocked for Ctl<PA> {
    fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}
