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

/// A program memory: read-only, `N` address bits, as deep as its contents rounded up to an
/// iCE40 block RAM's 256 words (and no deeper than `2^N`).
///
/// Why: rust-hdl's `RAM` is `2^N` words deep, so a 1,452-word program took the block RAMs of
/// 2,048: 8 where 6 suffice. Words past the contents are never read (a program does not run
/// off its end) and read 0 in the simulation models.
#[derive(LogicBlock)]
pub struct Rom<const N: usize> {
    pub read_address: Signal<In, Bits<N>>,
    pub read_clock: Signal<In, Clock>,
    pub read_data: Signal<Out, Bits<16>>,
    _words: Vec<u16>,
}

impl<const N: usize> Rom<N> {
    pub fn new(words: &[u16]) -> Self {
        assert!(words.len() <= 1 << N, "{} words do not fit {N} address bits", words.len());
        Self {
            read_address: Default::default(),
            read_clock: Default::default(),
            read_data: Default::default(),
            _words: words.to_vec(),
        }
    }

    /// The memory's depth in words.
    pub fn depth(&self) -> usize {
        self._words.len().div_ceil(256).max(1).saturating_mul(256).min(1 << N)
    }
}

impl<const N: usize> Logic for Rom<N> {
    fn update(&mut self) {
        if self.read_clock.pos_edge() {
            let w = *self._words.get(self.read_address.val().index()).unwrap_or(&0);
            self.read_data.next = bits::<16>(w as u64);
        }
    }

    fn connect(&mut self) {
        self.read_data.connect();
    }

    /// One memory per power of two in the depth, largest first (each at a multiple of its
    /// size, so it takes the address's low bits), and a multiplexer after them on the read's
    /// registered address: a memory of 1,536 words that Yosys maps whole becomes three of 512
    /// (512 × 8 blocks) and a 3:1 multiplexer, two LUT levels on the path from the program to
    /// the decode; as 1,024 + 512 it is one.
    fn hdl(&self) -> Verilog {
        let depth = self.depth();
        let mut v = String::new();
        let mut pieces = Vec::new();
        let mut base = 0;
        for k in (8..=N).rev() {
            if depth & (1 << k) != 0 {
                pieces.push((base, k));
                base += 1 << k;
            }
        }
        for (j, &(base, k)) in pieces.iter().enumerate() {
            v += &format!("reg [15:0] m{j} [0:{}];\nreg [15:0] d{j};\ninitial begin\n", (1 << k) - 1);
            for (i, w) in self._words.iter().enumerate().skip(base).take(1 << k) {
                v += &format!("    m{j}[{}] = 16'h{w:04x};\n", i - base);
            }
            v += "end\n";
            let index = if k == N { "read_address".to_string() } else { format!("read_address[{}:0]", k - 1) };
            v += &format!("always @(posedge read_clock) d{j} <= m{j}[{index}];\n");
        }
        if pieces.len() == 1 {
            v += "always @(*) read_data = d0;\n";
        } else {
            // Only the bits the tests below read (the last piece is what remains).
            let low = pieces[pieces.len() - 2].1;
            v += &format!(
                "reg [{n}:{low}] ra;\nalways @(posedge read_clock) ra <= read_address[{n}:{low}];\n",
                n = N - 1
            );
            v += "always @(*) begin\n";
            for (j, &(base, k)) in pieces.iter().enumerate() {
                let cond = format!("ra[{}:{k}] == {}'d{}", N - 1, N - k, base >> k);
                v += &if j == 0 {
                    format!("    if ({cond}) read_data = d{j};\n")
                } else if j + 1 < pieces.len() {
                    format!("    else if ({cond}) read_data = d{j};\n")
                } else {
                    format!("    else read_data = d{j};\n")
                };
            }
            v += "end\n";
        }
        Verilog::Custom(v)
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "rom".into(),
            clock: "read_clock".into(),
            inputs: vec!["read_address".into()],
            outputs: vec!["read_data".into()],
        }]
    }
}
