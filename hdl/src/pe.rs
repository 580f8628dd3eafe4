//! The XNOR-popcount processing element.
//!
//! Per input word: `S` activation bits, `S` weight bits and `S` lane-valid bits (a padded tap
//! or an unused lane is invalid and contributes 0). The element adds
//! `Σ_valid (a == w ? +1 : −1)` of each word to a signed accumulator:
//!
//! - `valid_in`: the word on `act`/`wgt`/`lane` is to be counted;
//! - `clear`: start a new sum with this word (with `valid_in` low: just zero the accumulator);
//! - `last`: this word ends the sum; `done` is high for one cycle, `LATENCY` rising edges
//!   later, while `sum` holds the finished total (it keeps holding it until the next word
//!   arrives at the accumulator).
//!
//! Words may arrive back to back, one per cycle, and a new sum may start right behind the
//! previous one: the flags travel beside the popcount tree in a pipeline of the same depth.
//! The 16-bit accumulator bounds a sum to |P| ≤ 32767, i.e. 9·Cin with Cin ≤ 3640; the
//! contract's Cin ≤ 256 needs 13 bits, and 16 is the operand width of the α multiplier.

use crate::popcount::{Popcount16, Popcount32, Popcount64};
use rust_hdl::prelude::*;

// A macro rather than a generic, because the tree's depth differs per lane count and
// rust-hdl's kernels cannot reach fields through a generic type parameter.
macro_rules! xnor_pe {
    ($(#[$meta:meta])* $name:ident, $tree:ident, $lanes:literal, $width:literal, $depth:literal) => {
        $(#[$meta])*
        #[derive(LogicBlock)]
        pub struct $name {
            pub clock: Signal<In, Clock>,
            pub act: Signal<In, Bits<$lanes>>,
            pub wgt: Signal<In, Bits<$lanes>>,
            pub lane: Signal<In, Bits<$lanes>>,
            pub valid_in: Signal<In, Bit>,
            pub clear: Signal<In, Bit>,
            pub last: Signal<In, Bit>,
            pub sum: Signal<Out, Signed<16>>,
            pub done: Signal<Out, Bit>,
            tree: $tree,
            vld: [DFF<Bit>; $depth],
            clr: [DFF<Bit>; $depth],
            lst: [DFF<Bit>; $depth],
            acc: DFF<Signed<16>>,
            fin: DFF<Bit>,
            // A Constant, not a literal: a const inside an HDL kernel leaks its Rust name
            // into the Verilog (fpga-notes §3.2).
            lanes: Constant<Signed<16>>,
            word: Signal<Local, Signed<16>>,
        }

        impl $name {
            pub const LANES: usize = $lanes;
            /// Rising edges from a word at the inputs to its effect on `sum` / `done`.
            pub const LATENCY: usize = $tree::LATENCY + 1;
        }

        impl Default for $name {
            fn default() -> Self {
                assert_eq!($tree::LANES, $lanes);
                assert_eq!($tree::LATENCY, $depth);
                Self {
                    clock: Default::default(),
                    act: Default::default(),
                    wgt: Default::default(),
                    lane: Default::default(),
                    valid_in: Default::default(),
                    clear: Default::default(),
                    last: Default::default(),
                    sum: Default::default(),
                    done: Default::default(),
                    tree: Default::default(),
                    vld: std::array::from_fn(|_| Default::default()),
                    clr: std::array::from_fn(|_| Default::default()),
                    lst: std::array::from_fn(|_| Default::default()),
                    acc: Default::default(),
                    fin: Default::default(),
                    lanes: Constant::new(signed::<16>($lanes)),
                    word: Default::default(),
                }
            }
        }

        impl Logic for $name {
            #[hdl_gen]
            fn update(&mut self) {
                clock!(self, clock, tree, acc, fin);
                self.tree.act.next = self.act.val();
                self.tree.wgt.next = self.wgt.val();
                self.tree.lane.next = self.lane.val();
                for i in 0..$depth {
                    self.vld[i].clock.next = self.clock.val();
                    self.clr[i].clock.next = self.clock.val();
                    self.lst[i].clock.next = self.clock.val();
                }
                self.vld[0].d.next = self.valid_in.val();
                self.clr[0].d.next = self.clear.val();
                self.lst[0].d.next = self.last.val();
                for i in 1..$depth {
                    self.vld[i].d.next = self.vld[i - 1].q.val();
                    self.clr[i].d.next = self.clr[i - 1].q.val();
                    self.lst[i].d.next = self.lst[i - 1].q.val();
                }
                // Σu − S = Σ_valid ±1 (see the popcount module).
                self.word.next = signed_cast(bit_cast::<16, $width>(self.tree.s.val())) - self.lanes.val();
                self.acc.d.next = self.acc.q.val();
                self.fin.d.next = false;
                if self.vld[$depth - 1].q.val() {
                    if self.clr[$depth - 1].q.val() {
                        self.acc.d.next = self.word.val();
                    } else {
                        self.acc.d.next = self.acc.q.val() + self.word.val();
                    }
                    self.fin.d.next = self.lst[$depth - 1].q.val();
                } else if self.clr[$depth - 1].q.val() {
                    self.acc.d.next = 0.into();
                }
                self.sum.next = self.acc.q.val();
                self.done.next = self.fin.q.val();
            }
        }

        impl crate::sim::Clocked for $name {
            fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
                &mut self.clock
            }
        }
    };
}

xnor_pe!(
    /// 16-lane XNOR-popcount PE; latency 5 (the UP5K's: its models have 16 channels).
    Pe16,
    Popcount16,
    16,
    6,
    4
);
xnor_pe!(
    /// 32-lane XNOR-popcount PE; latency 6.
    Pe32,
    Popcount32,
    32,
    7,
    5
);
xnor_pe!(
    /// 64-lane XNOR-popcount PE; latency 7.
    Pe64,
    Popcount64,
    64,
    8,
    6
);
