//! Pipelined XNOR-popcount trees.
//!
//! Each lane contributes `u = 2·hit + pad ∈ {0, 1, 2}` where `hit = valid & (a == w)` and
//! `pad = !valid`, so that `u − 1` is the ±1/0 contribution of the contract
//! (`docs/arithmetic.md` §4) and `Σu − S = P`. Counting `u` in one tree that is one bit wider
//! costs far less than two trees (matches and valid lanes), and the `− S` folds into the
//! accumulator adder of the PE.
//!
//! Every adder level is registered: the project's measurements on iCE40 UP5K show the
//! popcount tree is the critical path (27 MHz unpipelined, 82 MHz with a register per level for
//! 576 lanes) while the registers are nearly free (each logic cell has a flip-flop).
//! Latency: one cycle per level, `log2(S)` in all ([`Popcount32::LATENCY`]).

use rust_hdl::prelude::*;

/// First level: forms `u` for every lane and adds lane pairs (`0..=4`, 3 bits), registered.
#[derive(LogicBlock)]
pub struct LeafLevel<const S: usize, const NO: usize> {
    pub clock: Signal<In, Clock>,
    pub act: Signal<In, Bits<S>>,
    pub wgt: Signal<In, Bits<S>>,
    pub lane: Signal<In, Bits<S>>,
    pub s: [Signal<Out, Bits<3>>; NO],
    hit: Signal<Local, Bits<S>>,
    pad: Signal<Local, Bits<S>>,
    r: [DFF<Bits<3>>; NO],
}

impl<const S: usize, const NO: usize> Default for LeafLevel<S, NO> {
    fn default() -> Self {
        assert_eq!(S, 2 * NO, "a leaf level halves the lane count");
        Self {
            clock: Default::default(),
            act: Default::default(),
            wgt: Default::default(),
            lane: Default::default(),
            s: std::array::from_fn(|_| Default::default()),
            hit: Default::default(),
            pad: Default::default(),
            r: std::array::from_fn(|_| Default::default()),
        }
    }
}

impl<const S: usize, const NO: usize> Logic for LeafLevel<S, NO> {
    #[hdl_gen]
    fn update(&mut self) {
        self.hit.next = self.lane.val() & !(self.act.val() ^ self.wgt.val());
        self.pad.next = !self.lane.val();
        for i in 0..NO {
            self.r[i].clock.next = self.clock.val();
            self.r[i].d.next = ((self.hit.val().get_bits::<1>(2 * i).index().to_bits::<3>()
                + self.hit.val().get_bits::<1>(2 * i + 1).index().to_bits::<3>())
                << 1_u64)
                + self.pad.val().get_bits::<1>(2 * i).index().to_bits::<3>()
                + self.pad.val().get_bits::<1>(2 * i + 1).index().to_bits::<3>();
            self.s[i].next = self.r[i].q.val();
        }
    }
}

/// One adder level: `NI` inputs of `WI` bits to `NO = NI/2` registered sums of `WO = WI+1` bits
/// (separate parameters because derived widths need `generic_const_exprs`).
#[derive(LogicBlock)]
pub struct AddLevel<const NI: usize, const NO: usize, const WI: usize, const WO: usize> {
    pub clock: Signal<In, Clock>,
    pub a: [Signal<In, Bits<WI>>; NI],
    pub s: [Signal<Out, Bits<WO>>; NO],
    r: [DFF<Bits<WO>>; NO],
}

impl<const NI: usize, const NO: usize, const WI: usize, const WO: usize> Default for AddLevel<NI, NO, WI, WO> {
    fn default() -> Self {
        assert_eq!(NI, 2 * NO, "an adder level halves the operand count");
        assert_eq!(WO, WI + 1, "a sum of two WI-bit operands needs WI + 1 bits");
        Self {
            clock: Default::default(),
            a: std::array::from_fn(|_| Default::default()),
            s: std::array::from_fn(|_| Default::default()),
            r: std::array::from_fn(|_| Default::default()),
        }
    }
}

impl<const NI: usize, const NO: usize, const WI: usize, const WO: usize> Logic for AddLevel<NI, NO, WI, WO> {
    #[hdl_gen]
    fn update(&mut self) {
        for i in 0..NO {
            self.r[i].clock.next = self.clock.val();
            self.r[i].d.next =
                self.a[2 * i].val().index().to_bits::<WO>() + self.a[2 * i + 1].val().index().to_bits::<WO>();
            self.s[i].next = self.r[i].q.val();
        }
    }
}

/// `Σu` over 32 lanes (`0..=64`, 7 bits), valid [`Popcount32::LATENCY`] cycles after the inputs.
#[derive(LogicBlock, Default)]
pub struct Popcount16 {
    pub clock: Signal<In, Clock>,
    pub act: Signal<In, Bits<16>>,
    pub wgt: Signal<In, Bits<16>>,
    pub lane: Signal<In, Bits<16>>,
    pub s: Signal<Out, Bits<6>>,
    l1: LeafLevel<16, 8>,
    l2: AddLevel<8, 4, 3, 4>,
    l3: AddLevel<4, 2, 4, 5>,
    l4: AddLevel<2, 1, 5, 6>,
}

impl Popcount16 {
    pub const LANES: usize = 16;
    pub const LATENCY: usize = 4;
}

impl Logic for Popcount16 {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, l1, l2, l3, l4);
        self.l1.act.next = self.act.val();
        self.l1.wgt.next = self.wgt.val();
        self.l1.lane.next = self.lane.val();
        for i in 0..8 {
            self.l2.a[i].next = self.l1.s[i].val();
        }
        for i in 0..4 {
            self.l3.a[i].next = self.l2.s[i].val();
        }
        for i in 0..2 {
            self.l4.a[i].next = self.l3.s[i].val();
        }
        self.s.next = self.l4.s[0].val();
    }
}

#[derive(LogicBlock, Default)]
pub struct Popcount32 {
    pub clock: Signal<In, Clock>,
    pub act: Signal<In, Bits<32>>,
    pub wgt: Signal<In, Bits<32>>,
    pub lane: Signal<In, Bits<32>>,
    pub s: Signal<Out, Bits<7>>,
    l1: LeafLevel<32, 16>,
    l2: AddLevel<16, 8, 3, 4>,
    l3: AddLevel<8, 4, 4, 5>,
    l4: AddLevel<4, 2, 5, 6>,
    l5: AddLevel<2, 1, 6, 7>,
}

impl Popcount32 {
    pub const LANES: usize = 32;
    pub const LATENCY: usize = 5;
}

impl Logic for Popcount32 {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, l1, l2, l3, l4, l5);
        self.l1.act.next = self.act.val();
        self.l1.wgt.next = self.wgt.val();
        self.l1.lane.next = self.lane.val();
        for i in 0..16 {
            self.l2.a[i].next = self.l1.s[i].val();
        }
        for i in 0..8 {
            self.l3.a[i].next = self.l2.s[i].val();
        }
        for i in 0..4 {
            self.l4.a[i].next = self.l3.s[i].val();
        }
        for i in 0..2 {
            self.l5.a[i].next = self.l4.s[i].val();
        }
        self.s.next = self.l5.s[0].val();
    }
}

/// `Σu` over 64 lanes (`0..=128`, 8 bits), valid [`Popcount64::LATENCY`] cycles after the inputs.
#[derive(LogicBlock, Default)]
pub struct Popcount64 {
    pub clock: Signal<In, Clock>,
    pub act: Signal<In, Bits<64>>,
    pub wgt: Signal<In, Bits<64>>,
    pub lane: Signal<In, Bits<64>>,
    pub s: Signal<Out, Bits<8>>,
    l1: LeafLevel<64, 32>,
    l2: AddLevel<32, 16, 3, 4>,
    l3: AddLevel<16, 8, 4, 5>,
    l4: AddLevel<8, 4, 5, 6>,
    l5: AddLevel<4, 2, 6, 7>,
    l6: AddLevel<2, 1, 7, 8>,
}

impl Popcount64 {
    pub const LANES: usize = 64;
    pub const LATENCY: usize = 6;
}

impl Logic for Popcount64 {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, l1, l2, l3, l4, l5, l6);
        self.l1.act.next = self.act.val();
        self.l1.wgt.next = self.wgt.val();
        self.l1.lane.next = self.lane.val();
        for i in 0..32 {
            self.l2.a[i].next = self.l1.s[i].val();
        }
        for i in 0..16 {
            self.l3.a[i].next = self.l2.s[i].val();
        }
        for i in 0..8 {
            self.l4.a[i].next = self.l3.s[i].val();
        }
        for i in 0..4 {
            self.l5.a[i].next = self.l4.s[i].val();
        }
        for i in 0..2 {
            self.l6.a[i].next = self.l5.s[i].val();
        }
        self.s.next = self.l6.s[0].val();
    }
}
