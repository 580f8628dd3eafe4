//! `P` processing elements side by side: one activation word (and its lane-valid mask and
//! flags) broadcast to all of them, one weight word per element, so `P` output channels are
//! counted in parallel. Every element sees the same flags, so element 0's `done` stands for all.

use crate::pe::{Pe16, Pe32, Pe64};
use rust_hdl::prelude::*;

macro_rules! pe_array {
    ($(#[$meta:meta])* $name:ident, $pe:ident, $lanes:literal) => {
        $(#[$meta])*
        #[derive(LogicBlock)]
        pub struct $name<const P: usize> {
            pub clock: Signal<In, Clock>,
            pub act: Signal<In, Bits<$lanes>>,
            pub lane: Signal<In, Bits<$lanes>>,
            pub wgt: [Signal<In, Bits<$lanes>>; P],
            pub valid_in: Signal<In, Bit>,
            pub clear: Signal<In, Bit>,
            pub last: Signal<In, Bit>,
            pub sum: [Signal<Out, Signed<16>>; P],
            pub done: Signal<Out, Bit>,
            pe: [$pe; P],
        }

        impl<const P: usize> $name<P> {
            pub const LANES: usize = $lanes;
            pub const LATENCY: usize = $pe::LATENCY;
        }

        impl<const P: usize> Default for $name<P> {
            fn default() -> Self {
                assert!(P >= 1);
                Self {
                    clock: Default::default(),
                    act: Default::default(),
                    lane: Default::default(),
                    wgt: std::array::from_fn(|_| Default::default()),
                    valid_in: Default::default(),
                    clear: Default::default(),
                    last: Default::default(),
                    sum: std::array::from_fn(|_| Default::default()),
                    done: Default::default(),
                    pe: std::array::from_fn(|_| Default::default()),
                }
            }
        }

        impl<const P: usize> Logic for $name<P> {
            #[hdl_gen]
            fn update(&mut self) {
                for p in 0..P {
                    self.pe[p].clock.next = self.clock.val();
                    self.pe[p].act.next = self.act.val();
                    self.pe[p].lane.next = self.lane.val();
                    self.pe[p].wgt.next = self.wgt[p].val();
                    self.pe[p].valid_in.next = self.valid_in.val();
                    self.pe[p].clear.next = self.clear.val();
                    self.pe[p].last.next = self.last.val();
                    self.sum[p].next = self.pe[p].sum.val();
                }
                self.done.next = self.pe[0].done.val();
            }
        }

        impl<const P: usize> crate::sim::Clocked for $name<P> {
            fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
                &mut self.clock
            }
        }
    };
}

pe_array!(
    /// `P` 16-lane PEs sharing the activation word.
    PeArray16,
    Pe16,
    16
);
pe_array!(
    /// `P` 32-lane PEs sharing the activation word.
    PeArray32,
    Pe32,
    32
);
pe_array!(
    /// `P` 64-lane PEs sharing the activation word.
    PeArray64,
    Pe64,
    64
);
