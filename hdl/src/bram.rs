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
    /// Words the Verilog has (`2^N` unless [`Bram::set_depth`] gave fewer).
    _depth: usize,
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
            _depth: 1 << N,
        }
    }
}

impl<D: Synth, const N: usize> Bram<D, N> {
    /// A memory of `words` (a multiple of an iCE40 block RAM's 256, at most `2^N`) in the
    /// Verilog: one memory per power of two in the depth, largest first, and a multiplexer
    /// after them on the read's registered address, as [`Rom`] builds its regions. Why: a
    /// 2,816-word memory that Yosys maps whole takes 12 block RAMs (512 × 8 blocks, 6 deep),
    /// as 2,048 + 512 + 256 it takes 11. Addresses past `words` are never written or read by
    /// a user that sets it (the simulation model keeps `2^N` words; the Verilog reads the last
    /// memory's word at their low bits).
    pub fn set_depth(&mut self, words: usize) {
        assert!(words.is_multiple_of(256) && words > 0 && words <= 1 << N, "{words} words in {N} address bits");
        self._depth = words;
    }

    /// The Verilog of a memory of fewer than `2^N` words: per piece the memory (with the
    /// same collision rule as the whole memory's), its write enable from the address's high
    /// bits, its read register; then the multiplexer.
    fn hdl_pieces(&self) -> Verilog {
        let pieces = self.pieces();
        let d = D::BITS - 1;
        let mut v = String::new();
        for (j, &(base, k)) in pieces.iter().enumerate() {
            let sel = |a: &str| format!("{a}[{}:{k}] == {}'d{}", N - 1, N - k, base >> k);
            v += &format!(
                "\
`ifdef SYNTHESIS
`ifdef BBCU_NO_RW_CHECK
(* no_rw_check *) reg [{d}:0] m{j} [0:{last}];
`else
reg [{d}:0] m{j} [0:{last}];
`endif
`else
reg [{d}:0] m{j} [0:{last}];
`endif
wire w{j} = write_enable && {wsel};
always @(posedge write_clock) if (w{j}) m{j}[write_address[{kk}:0]] <= write_data;
reg [{d}:0] q{j};
`ifdef SYNTHESIS
always @(posedge read_clock) q{j} <= m{j}[read_address[{kk}:0]];
`else
always @(posedge read_clock)
    q{j} <= (w{j} && write_address == read_address) ? write_data : m{j}[read_address[{kk}:0]];
`endif
",
                last = (1usize << k) - 1,
                wsel = sel("write_address"),
                kk = k - 1,
            );
        }
        v += &read_mux(&pieces, N, "q");
        Verilog::Custom(v)
    }

    /// The memories of [`Bram::set_depth`]: each its base and address bits.
    fn pieces(&self) -> Vec<(usize, usize)> {
        powers(self._depth, N)
    }
}

/// The powers of two in `depth` (a multiple of 256, at most `2^n` words), largest first, each
/// as its offset and address bits: one memory each, every one at a multiple of its size so
/// that it takes the address's low bits.
fn powers(depth: usize, n: usize) -> Vec<(usize, usize)> {
    let mut at = 0;
    let mut v = Vec::new();
    for k in (8..=n).rev() {
        if depth & (1 << k) != 0 {
            v.push((at, k));
            at += 1 << k;
        }
    }
    v
}

/// The multiplexer after memories `(base, address bits)` whose registered words are
/// `{prefix}0`, `{prefix}1`, …, on the read's registered address (`ra`). With one memory it
/// is the memory's word, and the address bits above it are marked unused.
fn read_mux(pieces: &[(usize, usize)], n: usize, prefix: &str) -> String {
    let mut v = String::new();
    if pieces.len() == 1 {
        v += &format!("always @(*) read_data = {prefix}0;\n");
        let k = pieces[0].1;
        if k < n {
            // The address bits above the one memory (Verilator ignores `*unused*` names).
            v += &format!("wire _unused_hi = &{{1'b0, read_address[{}:{k}], 1'b0}};\n", n - 1);
        }
        return v;
    }
    // Only the bits the tests below read (the last memory is what remains).
    let last = pieces.len() - 1;
    let low = pieces[..last].iter().map(|p| p.1).min().unwrap_or(n);
    v += &format!("reg [{m}:{low}] ra;\nalways @(posedge read_clock) ra <= read_address[{m}:{low}];\n", m = n - 1);
    v += "always @(*) begin\n";
    for (j, &(base, k)) in pieces.iter().enumerate() {
        let cond = format!("ra[{}:{k}] == {}'d{}", n - 1, n - k, base >> k);
        v += &if j == 0 {
            format!("    if ({cond}) read_data = {prefix}{j};\n")
        } else if j < last {
            format!("    else if ({cond}) read_data = {prefix}{j};\n")
        } else {
            format!("    else read_data = {prefix}{j};\n")
        };
    }
    v += "end\n";
    v
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
        if self._depth != 1 << N {
            return self.hdl_pieces();
        }
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

/// A program memory: read-only, `N` address bits, holding one or more regions (a base and
/// its words; the control core's two threads each have one), each as deep as its words
/// rounded up to an iCE40 block RAM's 256 words.
///
/// Why: rust-hdl's `RAM` is `2^N` words deep, so a 1,452-word program took the block RAMs of
/// 2,048: 8 where 6 suffice, and the second thread's program would take the gap below it.
/// Each region is one memory per power of two in its depth, largest first (each at a multiple
/// of its size, so it takes the address's low bits), and a multiplexer after them on the
/// read's registered address: a memory of 1,536 words that Yosys maps whole becomes three of
/// 512 (512 × 8 blocks) and a 3:1 multiplexer, two LUT levels on the path from the program to
/// the decode; as 1,024 + 512 it is one. An address outside every region reads the last
/// memory's word at its low bits, in the Verilog and in the simulation model alike (a program
/// does not run off its end).
#[derive(LogicBlock)]
pub struct Rom<const N: usize> {
    pub read_address: Signal<In, Bits<N>>,
    pub read_clock: Signal<In, Clock>,
    pub read_data: Signal<Out, Bits<16>>,
    /// The memories: each its base, address bits and words.
    _pieces: Vec<(usize, usize, Vec<u16>)>,
}

impl<const N: usize> Rom<N> {
    pub fn new(words: &[u16]) -> Self {
        Self::regions(&[(0, words)])
    }

    /// Regions at the given bases (each a multiple of the largest power of two in its depth,
    /// in increasing order, not overlapping).
    pub fn regions(regions: &[(usize, &[u16])]) -> Self {
        let mut pieces = Vec::new();
        let mut end = 0;
        for &(base, words) in regions {
            assert!(base >= end, "ROM regions overlap or are out of order at {base}");
            let depth = words.len().div_ceil(256).max(1) * 256;
            assert!(base + depth <= 1 << N, "{} words at {base} do not fit {N} address bits", words.len());
            for (at, k) in powers(depth, N) {
                assert!(
                    (base + at) % (1 << k) == 0,
                    "ROM region at {base} is not aligned to its {}-word memory",
                    1 << k
                );
                let w: Vec<u16> = (at..at + (1 << k)).map(|i| words.get(i).copied().unwrap_or(0)).collect();
                pieces.push((base + at, k, w));
            }
            end = base + depth;
        }
        Self {
            read_address: Default::default(),
            read_clock: Default::default(),
            read_data: Default::default(),
            _pieces: pieces,
        }
    }

    /// The word the Verilog reads at `addr`.
    fn word(&self, addr: usize) -> u16 {
        let last = self._pieces.len() - 1;
        let j =
            (0..last).find(|&j| addr >> self._pieces[j].1 == self._pieces[j].0 >> self._pieces[j].1).unwrap_or(last);
        let (_, k, w) = &self._pieces[j];
        w[addr & ((1 << k) - 1)]
    }
}

impl<const N: usize> Logic for Rom<N> {
    fn update(&mut self) {
        if self.read_clock.pos_edge() {
            let w = self.word(self.read_address.val().index());
            self.read_data.next = bits::<16>(w as u64);
        }
    }

    fn connect(&mut self) {
        self.read_data.connect();
    }

    fn hdl(&self) -> Verilog {
        let mut v = String::new();
        for (j, (_, k, words)) in self._pieces.iter().enumerate() {
            v += &format!("reg [15:0] m{j} [0:{}];\nreg [15:0] d{j};\ninitial begin\n", (1 << k) - 1);
            for (i, w) in words.iter().enumerate() {
                v += &format!("    m{j}[{i}] = 16'h{w:04x};\n");
            }
            v += "end\n";
            let index = if *k == N { "read_address".to_string() } else { format!("read_address[{}:0]", k - 1) };
            v += &format!("always @(posedge read_clock) d{j} <= m{j}[{index}];\n");
        }
        let pieces: Vec<(usize, usize)> = self._pieces.iter().map(|p| (p.0, p.1)).collect();
        v += &read_mux(&pieces, N, "d");
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
