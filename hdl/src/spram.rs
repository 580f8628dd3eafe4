//! A 16-bit memory built from iCE40 UP5K single-port RAMs (`SB_SPRAM256KA`, 16 K × 16 each),
//! with the port names of rust-hdl's `RAM` widget so that the engine can use either.
//!
//! Why a block of its own: Yosys maps rust-hdl's `RAM` (a read every cycle beside the write)
//! to EBR only, never to SPRAM (fpga-notes §3.10), and the UP5K has 120 kbit of EBR against
//! 1 Mbit of SPRAM. The primitive is instantiated directly under `ifdef SYNTHESIS` (Yosys
//! defines it); simulators get a behavioural model of the same cycle behaviour, which the Rust
//! `update` below mirrors.
//!
//! Behaviour: `2^(N-14)` physical banks (one if `N ≤ 14`), the top address bits choose the
//! bank. On a rising edge a bank that is written does not read (one port); every other bank
//! reads the read address. `read_data` is the last read of the bank the previous read address
//! chose. So a read and a write in the same cycle work only in different banks: the compiler
//! keeps an op's source and destination feature rings in different halves of the memory
//! (`feature_banks = 2`), and the input ring is never read while it is written.
//! `write_clock` must be the same clock as `read_clock`; it exists for port compatibility.

use rust_hdl::core::timing::TimingInfo;
use rust_hdl::prelude::*;

/// Words of one `SB_SPRAM256KA`.
const BANK_BITS: usize = 14;

/// The simulation state: every bank's words and output register.
struct SpState<D> {
    mem: Vec<Vec<D>>,
    q: Vec<D>,
}

#[derive(LogicBlock)]
pub struct SpRam<D: Synth, const N: usize> {
    pub read_address: Signal<In, Bits<N>>,
    pub read_clock: Signal<In, Clock>,
    pub read_data: Signal<Out, D>,
    pub write_address: Signal<In, Bits<N>>,
    pub write_clock: Signal<In, Clock>,
    pub write_data: Signal<In, D>,
    pub write_enable: Signal<In, bool>,
    _sim: Box<SpState<D>>,
}

impl<D: Synth, const N: usize> SpRam<D, N> {
    /// Physical `SB_SPRAM256KA` instances.
    pub const BANKS: usize = if N > BANK_BITS { 1 << (N - BANK_BITS) } else { 1 };
}

impl<D: Synth, const N: usize> Default for SpRam<D, N> {
    fn default() -> Self {
        assert_eq!(D::BITS, 16, "SB_SPRAM256KA words are 16 bits");
        assert!((1..=BANK_BITS + 3).contains(&N), "at most 8 banks");
        let depth = 1 << N.min(BANK_BITS);
        Self {
            read_address: Default::default(),
            read_clock: Default::default(),
            read_data: Default::default(),
            write_address: Default::default(),
            write_clock: Default::default(),
            write_data: Default::default(),
            write_enable: Default::default(),
            _sim: Box::new(SpState {
                mem: vec![vec![D::default(); depth]; Self::BANKS],
                q: vec![D::default(); Self::BANKS],
            }),
        }
    }
}

impl<D: Synth, const N: usize> Logic for SpRam<D, N> {
    fn update(&mut self) {
        if self.read_clock.pos_edge() {
            let lo = N.min(BANK_BITS);
            let mask = (1usize << lo) - 1;
            let (ra, wa) = (self.read_address.val().index(), self.write_address.val().index());
            let st = &mut self._sim;
            let wbank = if self.write_enable.val() { Some(wa >> lo) } else { None };
            let rbank = ra >> lo;
            if let Some(b) = wbank {
                st.mem[b][wa & mask] = self.write_data.val();
            }
            if wbank != Some(rbank) {
                st.q[rbank] = st.mem[rbank][ra & mask];
            }
            self.read_data.next = st.q[rbank];
        }
    }

    fn connect(&mut self) {
        self.read_data.connect();
    }

    fn hdl(&self) -> Verilog {
        let lo = N.min(BANK_BITS);
        let banks = Self::BANKS;
        // One bank: no bank select. More: the bank bits of the last read address pick the output.
        let (sel_decl, sel_update, bank_we, out) = if banks == 1 {
            (String::new(), String::new(), "write_enable".to_string(), "qf".to_string())
        } else {
            (
                format!("reg [{}:0] rsel;\n", N - lo - 1),
                format!("always @(posedge read_clock) rsel <= read_address[{}:{lo}];\n", N - 1),
                format!("write_enable && (write_address[{}:{lo}] == b)", N - 1),
                "qf[16 * rsel +: 16]".to_string(),
            )
        };
        // Addresses narrower than a bank are zero-extended to its 14 bits.
        let pad = if lo < BANK_BITS { format!("{}'d0, ", BANK_BITS - lo) } else { String::new() };
        Verilog::Custom(format!(
            "\
wire [{qbits}:0] qf;
{sel_decl}{sel_update}
genvar b;
generate for (b = 0; b < {banks}; b = b + 1) begin : bank
    wire we = {bank_we};
    wire [13:0] a = we ? {{{pad}write_address[{lo1}:0]}} : {{{pad}read_address[{lo1}:0]}};
`ifdef SYNTHESIS
    SB_SPRAM256KA ram (
        .ADDRESS(a), .DATAIN(write_data), .MASKWREN(4'b1111), .WREN(we), .CHIPSELECT(1'b1),
        .CLOCK(read_clock), .STANDBY(1'b0), .SLEEP(1'b0), .POWEROFF(1'b1), .DATAOUT(qf[16 * b +: 16]));
`else
    // Behavioural model: a written bank does not read (one port).
    reg [15:0] mem [0:16383];
    reg [15:0] r;
    always @(posedge write_clock) if (we) mem[a] <= write_data;
    always @(posedge read_clock) if (!we) r <= mem[a];
    assign qf[16 * b +: 16] = r;
`endif
end endgenerate
always @(*) read_data = {out};
",
            qbits = 16 * banks - 1,
            lo1 = lo - 1,
        ))
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "spram".into(),
            clock: "read_clock".into(),
            inputs: vec!["read_address".into(), "write_address".into(), "write_data".into(), "write_enable".into()],
            outputs: vec!["read_data".into()],
        }]
    }
}

/// One `SB_SPRAM256KA` (16 K × 16) with a write enable per byte, for memories shared by byte
/// streams (`crate::linkmem`): a byte is written without reading its word first.
///
/// Behaviour as [`SpRam`]'s with one bank: on a rising edge a write (`write`, the bytes chosen
/// by `byte_en`, bit 0 the low byte) does not read, so `data_out` keeps the last read's word;
/// any other edge reads `address`, and `data_out` has that word from the edge on. The
/// primitive's `MASKWREN` enables nibbles, two per byte.
#[derive(LogicBlock)]
pub struct SpRamBytes {
    pub clock: Signal<In, Clock>,
    pub address: Signal<In, Bits<14>>,
    pub data_in: Signal<In, Bits<16>>,
    pub write: Signal<In, Bit>,
    pub byte_en: Signal<In, Bits<2>>,
    pub data_out: Signal<Out, Bits<16>>,
    _sim: Box<SpState<u16>>,
}

impl Default for SpRamBytes {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            address: Default::default(),
            data_in: Default::default(),
            write: Default::default(),
            byte_en: Default::default(),
            data_out: Default::default(),
            _sim: Box::new(SpState { mem: vec![vec![0; 1 << BANK_BITS]], q: vec![0] }),
        }
    }
}

impl Logic for SpRamBytes {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            let a = self.address.val().index();
            let st = &mut self._sim;
            if self.write.val() {
                let (d, en) = (self.data_in.val().index() as u16, self.byte_en.val().index());
                let keep = if en & 1 == 0 { 0x00FF } else { 0 } | if en & 2 == 0 { 0xFF00 } else { 0 };
                st.mem[0][a] = (st.mem[0][a] & keep) | (d & !keep);
            } else {
                st.q[0] = st.mem[0][a];
            }
            self.data_out.next = (st.q[0] as u64).into();
        }
    }

    fn connect(&mut self) {
        self.data_out.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(
            "\
wire [15:0] q;
`ifdef SYNTHESIS
SB_SPRAM256KA ram (
    .ADDRESS(address), .DATAIN(data_in), .MASKWREN({byte_en[1], byte_en[1], byte_en[0], byte_en[0]}),
    .WREN(write), .CHIPSELECT(1'b1), .CLOCK(clock), .STANDBY(1'b0), .SLEEP(1'b0), .POWEROFF(1'b1),
    .DATAOUT(q));
`else
// Behavioural model: a write does not read (one port).
reg [15:0] mem [0:16383];
reg [15:0] r;
always @(posedge clock)
    if (write) begin
        if (byte_en[0]) mem[address][7:0] <= data_in[7:0];
        if (byte_en[1]) mem[address][15:8] <= data_in[15:8];
    end else r <= mem[address];
assign q = r;
`endif
always @(*) data_out = q;
"
            .into(),
        )
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "spram_bytes".into(),
            clock: "clock".into(),
            inputs: vec!["address".into(), "data_in".into(), "write".into(), "byte_en".into()],
            outputs: vec!["data_out".into()],
        }]
    }
}
