//! A block RAM whose read of the word being written in the same cycle is left undefined, with
//! the ports of rust-hdl's `RAM` widget.
//!
//! Why: rust-hdl's `RAM` reads the old word on such a collision, and an iCE40 EBR does not
//! promise that, so Yosys builds it around every such memory: the write data, both addresses
//! and a compare in flip-flops, and a 2:1 multiplexer on every output bit (42 flip-flops and
//! 23 LUTs for a 256 × 16 memory). A memory whose reader never uses a colliding read needs
//! none of it; `(* no_rw_check *)` tells Yosys so. The iCE40 flows define `BBCU_NO_RW_CHECK`
//! to get it (`bbcu_boards::flow`); other flows get the plain memory, because an ECP5 block
//! RAM reads the old word natively and Yosys 0.70 maps some memories to more DP16KD under the
//! attribute (the ULX3S build needed 210 of 208).
//!
//! So that a design that does use one cannot pass its tests, the simulation models (the Rust
//! `update` and the Verilog under `ifndef SYNTHESIS`, for Verilator and Icarus) return the word
//! being written on a collision, where the old `RAM` returned the old word: a design that
//! relied on either gets different bytes in one of its simulators.

use rust_hdl::core::timing::TimingInfo;
use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct Bram<D: Synth, const N: usize> {
    pub read_address: Signal<In, Bits<N>>,
    pub read_clock: Signal<In, Clock>,
    pub read_data: Signal<Out, D>,
    pub write_address: Signal<In, Bits<N>>,
    pub write_clock: Signal<In, Clock>,
    pub write_data: Signal<In, D>,
    pub write_enable: Signal<In, bool>,
    _sim: Vec<D>,
}

impl<D: Synth, const N: usize> Default for Bram<D, N> {
    fn default() -> Self {
        Self {
            read_address: Default::default(),
            read_clock: Default::default(),
            read_data: Default::default(),
            write_address: Default::default(),
            write_clock: Default::default(),
            write_data: Default::default(),
            write_enable: Default::default(),
            _sim: vec![D::default(); 1 << N],
        }
    }
}

impl<D: Synth, const N: usize> Logic for Bram<D, N> {
    /// One clock for both ports (as every user here has): the read sees the memory before the
    /// edge's write, except on a collision, where it sees the word written.
    fn update(&mut self) {
        if self.read_clock.pos_edge() {
            let (ra, wa) = (self.read_address.val().index(), self.write_address.val().index());
            let we = self.write_enable.val();
            self.read_data.next = if we && ra == wa { self.write_data.val() } else { self._sim[ra] };
        }
        if self.write_clock.pos_edge() && self.write_enable.val() {
            self._sim[self.write_address.val().index()] = self.write_data.val();
        }
    }

    fn connect(&mut self) {
        self.read_data.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(format!(
            "\
`ifdef SYNTHESIS
`ifdef BBCU_NO_RW_CHECK
(* no_rw_check *) reg [{d}:0] mem [0:{last}];
`else
reg [{d}:0] mem [0:{last}];
`endif
always @(posedge read_clock) read_data <= mem[read_address];
`else
reg [{d}:0] mem [0:{last}];
always @(posedge read_clock)
    read_data <= (write_enable && write_address == read_address) ? write_data : mem[read_address];
`endif
always @(posedge write_clock) if (write_enable) mem[write_address] <= write_data;
",
            d = D::BITS - 1,
            last = (1usize << N) - 1,
        ))
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "bram".into(),
            clock: "read_clock".into(),
            inputs: vec!["read_address".into(), "write_address".into(), "write_data".into(), "write_enable".into()],
            outputs: vec!["read_data".into()],
        }]
    }
}
