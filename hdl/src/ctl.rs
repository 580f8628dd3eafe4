//! The control core (`bbcu_arch::ctl` defines it: instruction set, assembler, model) in
//! Rust-HDL. Its program is a [`Rom`] (as deep as the program, in 256-word steps) and its 256
//! registers a [`Bram`] (the register read in an execute cycle that stores is never used):
//! both block RAMs, so the core itself is the accumulator, the carry, two program-address
//! registers, the instruction register, the decoded instruction and one ALU — about 80
//! flip-flops whatever the firmware does.
//!
//! Two cycles an instruction, after one boot cycle. *Fetch*: the program memory's output is
//! the instruction; it is latched, decoded (branches decide here: A and C are stable), and its
//! operand field addresses the register file. *Execute*: the register's value is there; the
//! instruction acts, the program memory is addressed with the next PC, and a store writes the
//! register file (read back correctly by the next fetch, one edge later). `lpm` addresses the
//! program memory with A instead and takes the word in a third cycle, *Data*. `ldx` / `stx`
//! address the register file with the index register X instead of the operand field; `lra`
//! puts the link register through the accumulator's AND-OR, and `jpa` addresses the program
//! memory with A as `lpm` does (and loads PC from it). Ports: `port` is
//! the operand field, `pout` the accumulator; `pwr` / `prd` are one-cycle strobes in the
//! execute cycle of an `out` / `in`, `pin` is sampled then, and `exec` marks execute cycles.
//! For an I/O block that must meet the clock with a wide port decode, `port_next`, `out_next`
//! and `in_next` give the port and the kind of the instruction being fetched, so it can
//! register its strobes and the value an `in` will read one cycle ahead.

use crate::bram::{Bram, Rom};
use rust_hdl::prelude::*;

#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum Cs {
    Boot,
    Fetch,
    Exec,
    /// The third cycle of `lpm`: the program word arrives.
    Data,
}

/// The core with `PA` program address bits (PA ≤ 12) and a program memory as deep as its program.
#[derive(LogicBlock)]
pub struct Ctl<const PA: usize> {
    pub clock: Signal<In, Clock>,
    pub port: Signal<Out, Bits<8>>,
    /// In a fetch cycle, the port the instruction being fetched names: an I/O block can
    /// register what an `in` will read one cycle early, so that its input multiplexer is off
    /// the path from the instruction register to the accumulator.
    pub port_next: Signal<Out, Bits<8>>,
    /// High in a fetch cycle whose instruction is an `out`: with `port_next`, an I/O block
    /// can register a port's write strobe for the execute cycle.
    pub out_next: Signal<Out, Bit>,
    /// The same for an `in` (its read strobe).
    pub in_next: Signal<Out, Bit>,
    pub pout: Signal<Out, Bits<16>>,
    pub pwr: Signal<Out, Bit>,
    pub prd: Signal<Out, Bit>,
    pub pin: Signal<In, Bits<16>>,
    /// High in every instruction's execute cycle (for traces and cycle checks).
    pub exec: Signal<Out, Bit>,
    rom: Rom<PA>,
    rf: Bram<Bits<16>, 8>,
    st: DFF<Cs>,
    pc: DFF<Bits<PA>>,
    lr: DFF<Bits<PA>>,
    ir: DFF<Bits<16>>,
    a: DFF<Bits<16>>,
    c: DFF<Bit>,
    // The instruction decoded at fetch, so that the execute cycle starts from flip-flops.
    d_imm: DFF<Bit>,
    d_sub: DFF<Bit>,
    d_ld: DFF<Bit>,
    d_ar: DFF<Bit>,
    d_lg: DFF<Bit>,
    d_im: DFF<Bit>,
    d_in: DFF<Bit>,
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
    /// The index register of `ldx` / `stx`.
    xr: DFF<Bits<8>>,
    d_jump: DFF<Bit>,
    d_ret: DFF<Bit>,
    iop: Signal<Local, Bits<4>>,
    ifx: Signal<Local, Bits<4>>,
    ialu: Signal<Local, Bit>,
    op: Signal<Local, Bits<4>>,
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
    m_in: Signal<Local, Bits<16>>,
    m_sh: Signal<Local, Bits<16>>,
    m_lp: Signal<Local, Bits<16>>,
    m_lr: Signal<Local, Bits<16>>,
    an: Signal<Local, Bits<16>>,
    a_we: Signal<Local, Bit>,
    cn: Signal<Local, Bit>,
    c_we: Signal<Local, Bit>,
    target: Signal<Local, Bits<PA>>,
    pc_next: Signal<Local, Bits<PA>>,
}

impl<const PA: usize> Ctl<PA> {
    /// A core running `program` (at most `2^PA` words; the rest of the memory reads 0).
    pub fn new(program: &[u16]) -> Self {
        assert!((1..=12).contains(&PA), "program address bits {PA}: 1..=12");
        assert!(program.len() <= 1 << PA, "program of {} words does not fit {}", program.len(), 1 << PA);
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
            rom: Rom::new(program),
            rf: Default::default(),
            st: Default::default(),
            pc: Default::default(),
            lr: Default::default(),
            ir: Default::default(),
            a: Default::default(),
            c: Default::default(),
            d_imm: Default::default(),
            d_sub: Default::default(),
            d_ld: Default::default(),
            d_ar: Default::default(),
            d_lg: Default::default(),
            d_im: Default::default(),
            d_in: Default::default(),
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
            xr: Default::default(),
            d_jump: Default::default(),
            d_ret: Default::default(),
            iop: Default::default(),
            ifx: Default::default(),
            ialu: Default::default(),
            op: Default::default(),
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
            m_in: Default::default(),
            m_sh: Default::default(),
            m_lp: Default::default(),
            m_lr: Default::default(),
            an: Default::default(),
            a_we: Default::default(),
            cn: Default::default(),
            c_we: Default::default(),
            target: Default::default(),
            pc_next: Default::default(),
        }
    }
}

impl<const PA: usize> Logic for Ctl<PA> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, st, pc, lr, ir, a, c, d_imm, d_sub, d_ld, d_ar, d_lg, d_im, d_in, d_sh, d_csum, d_ceq, d_ctst,
            d_csh, d_lpm, d_jump, d_ret, d_ldx, d_stx, d_tax, d_lra, d_jpa, xr
        );
        self.rom.read_clock.next = self.clock.val();
        self.rf.write_clock.next = self.clock.val();
        self.rf.read_clock.next = self.clock.val();

        self.op.next = self.ir.q.val().get_bits::<4>(12);
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
        if self.fx.val().get_bit(0) & self.c.q.val() {
            self.ci.next = 1.into();
        }
        if self.d_sub.q.val() {
            self.ci.next = 1.into();
            if self.fx.val().get_bit(0) & self.c.q.val() {
                self.ci.next = 0.into();
            }
        }
        self.sum.next = bit_cast::<17, 16>(self.a.q.val()) + bit_cast::<17, 16>(self.bx.val()) + self.ci.val();
        self.target.next = bit_cast::<PA, 12>(self.ir.q.val().get_bits::<12>(0));

        self.port.next = self.ir.q.val().get_bits::<8>(0);
        self.port_next.next = self.rom.read_data.val().get_bits::<8>(0);
        self.out_next.next = (self.st.q.val() == Cs::Fetch) & (self.rom.read_data.val().get_bits::<4>(12) == 6);
        self.in_next.next = (self.st.q.val() == Cs::Fetch) & (self.rom.read_data.val().get_bits::<4>(12) == 5);
        self.pout.next = self.a.q.val();
        self.exec.next = self.st.q.val() == Cs::Exec;
        self.pwr.next = false;
        self.prd.next = false;
        self.rf.write_enable.next = false;
        self.rf.write_address.next = self.ir.q.val().get_bits::<8>(0);
        self.rf.write_data.next = self.a.q.val();
        self.pc_next.next = self.pc.q.val() + 1;
        self.rom.read_address.next = self.pc.q.val();

        // The next A as one AND-OR of value groups under decoded selects (a chain of `if`s
        // is a priority mux eight LUTs deep: 21 MHz on the UP5K).
        self.sh_v.next = self.a.q.val();
        if self.fx.val() == 0 {
            self.sh_v.next = self.a.q.val() >> 1;
        }
        if self.fx.val() == 1 {
            self.sh_v.next = self.a.q.val() << 1;
        }
        if self.fx.val() == 2 {
            self.sh_v.next = (self.a.q.val() >> 1) | (bit_cast::<16, 1>(self.c.q.val().into()) << 15);
        }
        if self.fx.val() == 3 {
            self.sh_v.next = (self.a.q.val() << 1) | bit_cast::<16, 1>(self.c.q.val().into());
        }
        if self.fx.val() == 4 {
            self.sh_v.next = (self.a.q.val() << 8) | (self.a.q.val() >> 8);
        }
        if self.fx.val() == 5 {
            self.sh_v.next = self.a.q.val() & 0xFF;
        }
        if self.fx.val() == 6 {
            self.sh_v.next = self.a.q.val() >> 8;
        }
        if self.fx.val() == 7 {
            self.sh_v.next = !self.a.q.val();
        }
        self.lg_v.next = self.a.q.val() & self.b.val();
        if self.fx.val().get_bits::<2>(0) == 1 {
            self.lg_v.next = self.a.q.val() | self.b.val();
        }
        if self.fx.val().get_bits::<2>(0) == 2 {
            self.lg_v.next = self.a.q.val() ^ self.b.val();
        }
        if self.fx.val().get_bits::<2>(0) == 3 {
            self.lg_v.next = self.b.val();
        }
        self.im_v.next = self.imm.val();
        if self.fx.val().get_bit(0) {
            self.im_v.next = (self.imm.val() << 8) | (self.a.q.val() & 0xFF);
        }
        self.m_ld.next = 0.into();
        self.m_lg.next = 0.into();
        self.m_im.next = 0.into();
        self.m_in.next = 0.into();
        self.m_sh.next = 0.into();
        if self.d_ld.q.val() | self.d_ldx.q.val() {
            self.m_ld.next = 0xFFFF.into();
        }
        if self.d_lg.q.val() {
            self.m_lg.next = 0xFFFF.into();
        }
        if self.d_im.q.val() {
            self.m_im.next = 0xFFFF.into();
        }
        if self.d_in.q.val() {
            self.m_in.next = 0xFFFF.into();
        }
        if self.d_sh.q.val() {
            self.m_sh.next = 0xFFFF.into();
        }
        // `lpm` writes A in its third cycle, from the program memory.
        self.m_lp.next = 0.into();
        if self.d_lpm.q.val() {
            self.m_lp.next = 0xFFFF.into();
        }
        self.m_lr.next = 0.into();
        if self.d_lra.q.val() {
            self.m_lr.next = 0xFFFF.into();
        }
        // The adder's result enters last, so that one LUT follows the carry chain.
        self.an.next = (self.m_ld.val() & self.rf.read_data.val())
            | (self.m_lg.val() & self.lg_v.val())
            | (self.m_im.val() & self.im_v.val())
            | (self.m_in.val() & self.pin.val())
            | (self.m_sh.val() & self.sh_v.val())
            | (self.m_lp.val() & self.rom.read_data.val())
            | (self.m_lr.val() & bit_cast::<16, PA>(self.lr.q.val()));
        if self.d_ar.q.val() {
            self.an.next = self.sum.val().get_bits::<16>(0);
        }
        self.a_we.next = ((self.st.q.val() == Cs::Exec)
            & (self.d_ld.q.val()
                | self.d_ldx.q.val()
                | self.d_lra.q.val()
                | self.d_ar.q.val()
                | self.d_lg.q.val()
                | self.d_im.q.val()
                | self.d_in.q.val()
                | self.d_sh.q.val()))
            | (self.st.q.val() == Cs::Data);
        // The carry: `add`/`adc`, `sub`/`sbc`/`cmp`, `ceq`, `test`, and the four shifts (bit 0
        // out to the right, bit 15 to the left).
        self.cn.next = (self.d_csum.q.val() & self.sum.val().get_bit(16))
            | (self.d_sub.q.val() & !self.sum.val().get_bit(16))
            | (self.d_ceq.q.val() & (self.a.q.val() == self.b.val()))
            | (self.d_ctst.q.val() & ((self.a.q.val() & self.b.val()) != 0))
            | (self.d_csh.q.val() & !self.fx.val().get_bit(0) & self.a.q.val().get_bit(0))
            | (self.d_csh.q.val() & self.fx.val().get_bit(0) & self.a.q.val().get_bit(15));
        self.c_we.next = (self.st.q.val() == Cs::Exec)
            & (self.d_csum.q.val()
                | self.d_sub.q.val()
                | self.d_ceq.q.val()
                | self.d_ctst.q.val()
                | self.d_csh.q.val());

        // Decode of the instruction arriving from the program memory (latched at fetch).
        self.iop.next = self.rom.read_data.val().get_bits::<4>(12);
        self.ifx.next = self.rom.read_data.val().get_bits::<4>(8);
        self.ialu.next = (self.iop.val() == 2) | (self.iop.val() == 3);
        // The register a fetch reads: the instruction's operand, or X for `ldx`. Only a fetch's
        // read is used (B in the execute cycle), so the address needs no state in it, which
        // keeps a LUT level off the path from the program memory to the register file.
        self.rf.read_address.next = self.rom.read_data.val().get_bits::<8>(0);
        if (self.iop.val() == 15) & (self.ifx.val() == 2) {
            self.rf.read_address.next = self.xr.q.val();
        }

        match self.st.q.val() {
            Cs::Boot => {
                self.st.d.next = Cs::Fetch;
            }
            Cs::Fetch => {
                self.ir.d.next = self.rom.read_data.val();
                self.d_imm.d.next = self.iop.val() == 3;
                self.d_sub.d.next = self.ialu.val() & ((self.ifx.val().get_bits::<3>(1) == 1) | (self.ifx.val() == 8));
                self.d_ld.d.next = self.iop.val() == 0;
                self.d_ar.d.next = self.ialu.val() & (self.ifx.val().get_bits::<2>(2) == 0);
                self.d_lg.d.next = self.ialu.val() & (self.ifx.val().get_bits::<2>(2) == 1);
                self.d_im.d.next = self.iop.val() == 4;
                self.d_in.d.next = self.iop.val() == 5;
                self.d_sh.d.next = self.iop.val() == 7;
                self.d_csum.d.next = self.ialu.val() & (self.ifx.val().get_bits::<3>(1) == 0);
                self.d_ceq.d.next = self.ialu.val() & (self.ifx.val() == 9);
                self.d_ctst.d.next = self.ialu.val() & (self.ifx.val() == 11);
                self.d_csh.d.next = (self.iop.val() == 7) & !self.ifx.val().get_bit(2);
                self.d_lpm.d.next = (self.iop.val() == 15) & (self.ifx.val() == 1);
                self.d_ldx.d.next = (self.iop.val() == 15) & (self.ifx.val() == 2);
                self.d_stx.d.next = (self.iop.val() == 15) & (self.ifx.val() == 3);
                self.d_tax.d.next = (self.iop.val() == 15) & (self.ifx.val() == 4);
                self.d_lra.d.next = (self.iop.val() == 15) & (self.ifx.val() == 5);
                self.d_jpa.d.next = (self.iop.val() == 15) & (self.ifx.val() == 6);
                // Branches decide here: A and C do not change between an instruction's execute
                // cycle and the next one's fetch, and the test of A against zero then stays off
                // the path from A to the program memory's address.
                self.d_jump.d.next = (self.iop.val() == 8)
                    | ((self.iop.val() == 9) & (self.a.q.val() == 0))
                    | ((self.iop.val() == 10) & (self.a.q.val() != 0))
                    | ((self.iop.val() == 11) & self.c.q.val())
                    | ((self.iop.val() == 12) & !self.c.q.val())
                    | (self.iop.val() == 13);
                self.d_ret.d.next = self.iop.val() == 14;
                self.st.d.next = Cs::Exec;
            }
            Cs::Exec => {
                self.st.d.next = Cs::Fetch;
                if (self.op.val() == 1) | self.d_stx.q.val() {
                    self.rf.write_enable.next = true;
                }
                if self.d_stx.q.val() {
                    self.rf.write_address.next = self.xr.q.val();
                }
                if self.d_ldx.q.val() | self.d_stx.q.val() {
                    self.xr.d.next = self.xr.q.val() + 1;
                }
                if self.d_tax.q.val() {
                    self.xr.d.next = self.a.q.val().get_bits::<8>(0);
                }
                if self.op.val() == 5 {
                    self.prd.next = true;
                }
                if self.op.val() == 6 {
                    self.pwr.next = true;
                }
                if self.a_we.val() {
                    self.a.d.next = self.an.val();
                }
                if self.c_we.val() {
                    self.c.d.next = self.cn.val();
                }
                if self.d_jump.q.val() {
                    self.pc_next.next = self.target.val();
                }
                if self.op.val() == 13 {
                    self.lr.d.next = self.pc.q.val() + 1;
                }
                if self.d_ret.q.val() {
                    self.pc_next.next = self.lr.q.val();
                }
                self.pc.d.next = self.pc_next.val();
                self.rom.read_address.next = self.pc_next.val();
                // `jpa` shares `lpm`'s address from A, so that the path from the branch decode
                // to the program memory gains no input.
                if self.d_lpm.q.val() | self.d_jpa.q.val() {
                    self.rom.read_address.next = bit_cast::<PA, 16>(self.a.q.val());
                }
                if self.d_jpa.q.val() {
                    self.pc.d.next = bit_cast::<PA, 16>(self.a.q.val());
                }
                if self.d_lpm.q.val() {
                    // The program memory reads the word at A now, the next instruction after.
                    self.st.d.next = Cs::Data;
                }
            }
            Cs::Data => {
                if self.a_we.val() {
                    self.a.d.next = self.an.val();
                }
                self.st.d.next = Cs::Fetch;
            }
        }
    }
}

impl<const PA: usize> crate::sim::Clocked for Ctl<PA> {
    fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}
