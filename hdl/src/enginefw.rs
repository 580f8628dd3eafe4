//! The engine with its sequencer as firmware (`bbcu_arch::seqfw`) on the control core: the
//! iCE40 UP5K's engine. The core walks the row wavefront and hands the row loop one command
//! per computed row through its ports; the row loop, the datapaths, the input and output
//! stages and the memories are [`crate::engine`]'s, fed from the command instead of the
//! hardware sequencer's op state and 45-word record copy.
//!
//! What the row loop keeps of an op is 12 record words (`seqfw::ROW_RECORD_WORDS`), read from
//! the program memory by the hardware when the firmware writes the command's op field, while
//! the firmware writes the other 18 command ports (it does not read the program memory
//! meanwhile: the firmware's model checks that). The command and the strip's constants stay
//! in their port registers while a row runs, because the firmware writes them only while the
//! row loop is idle; so the row needs no setup cycles, and its addresses are 16 bits (the
//! firmware serves memories of at most 64 Ki words).
//!
//! Ports: [`crate::engine`]'s, except that the strip's fields (`strip_w`, `strip_h`,
//! `keep_x0`, `keep_w`) are read while the strip runs, not latched at `start`: they must hold
//! from `start` to `done`. The link's job registers do (its firmware writes them only while
//! the engine is idle), and a second copy here was 64 flip-flops of the UP5K's logic cells.
//! Cycle model: `bbcu_arch::seqfw::SeqBoard` (the firmware on
//! the core's model beside the reference model's row loop), which the tests hold this engine
//! to counter for counter. `cnt_sel` 0 total cycles (from the firmware taking the strip to
//! its end), 1 stall cycles (the input stage waiting for bytes), 2 + 2l the row loop's cycles
//! for op l, 3 + 2l its busy PE- (or lane-) cycles.

use crate::bram::Bram;
use crate::ctl::Ctl;
use crate::engine::{BIN_LAT, CONV_LAT};
use crate::fp::{InWordB, MacLanes, OutPixel2, RoundSat, Slope};
use crate::post::Post;
use crate::spram::SpRam;
use crate::PeArray16;
use bbcu_arch::seqfw::{self, pin, pout, rc};
use bbcu_arch::HwConfig;
use rust_hdl::prelude::*;

/// The firmware's program address bits (`seqfw::PA`).
pub const SEQ_PA: usize = 10;
const _: () = assert!(SEQ_PA == seqfw::PA as usize);

/// Record words kept (`seqfw::ROW_RECORD_WORDS`), by their index in `rw`: 0 kind and flags,
/// 1 input channels, 2 output channels, 3 up, 4 shift, 5 the op's slope (a conv's slope or a
/// binary op's post slope, by the kind word 0 brought: one register for the two), 6 source
/// channels, 7 source scale, 8 groups, 9 source words per pixel, 10 lanes of the last word,
/// 11 record step.
const RW_N: usize = 12;
const _: () = assert!(RoundSat::LATENCY + Slope::LATENCY == CONV_LAT);
const _: () = assert!(bbcu_arch::MAX_SHIFT < 32);
const _: () = assert!(seqfw::ROW_RECORD_WORDS.len() == RW_N);
// The kernel names ports and record words by number (rust-hdl's Verilog cannot name Rust
// constants): these are the numbers it uses.
const _: () = {
    assert!(pin::GO == 0 && pin::PW == 1 && pin::JOB == 2);
    assert!(pin::BUSY == 8 && pin::ROOM == 9);
    assert!(pout::PP == 0 && pout::IBASE == 4);
    assert!(pout::IGO == 5 && pout::RC == 16 && pout::RGO == 48 && pout::DONE == 49);
    assert!(pout::H_R == 64 && pout::H_INCH == 65 && pout::H_GLOB == 66 && pout::H_FRAC == 67);
    assert!(pout::H_KIN == 68 && pout::H_KOUT == 70 && pout::ROWB == 72 && pout::BIL == 73);
    assert!(rc::OP == 0 && rc::WIN_F == 2 && rc::WIN_B == 5 && rc::VALID == 8 && rc::DST_F == 9);
    assert!(rc::DST_B == 10 && rc::XIN == 11 && rc::A1 == 13 && rc::W_ROW == 14 && rc::C_ROW == 15);
    assert!(rc::X0 == 16 && rc::X_END == 17 && rc::XOFF == 18);
    assert!(bbcu_arch::program::HEADER_WORDS == 32);
    let w = seqfw::ROW_RECORD_WORDS;
    assert!(w[0] == 0 && w[1] == 1 && w[2] == 2 && w[3] == 3 && w[4] == 10 && w[5] == 11);
    assert!(w[6] == 13 && w[7] == 14 && w[8] == 29 && w[9] == 31 && w[10] == 32 && w[11] == 44);
};

#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum RowPhase {
    Idle,
    InRow,
    InDrain,
    RowRun,
    RowEnd,
}

/// The firmware-sequenced engine with 16-lane PEs and SPRAM rings (`crate::engine::Engine16`'s
/// datapath and memories; the parameters are its).
#[derive(LogicBlock)]
pub struct EngineFw16<
    const P: usize,
    const M: usize,
    const FA: usize,
    const XA: usize,
    const BA: usize,
    const WA: usize,
    const FWA: usize,
    const CA: usize,
    const PA: usize,
    const OA: usize,
> {
    pub clock: Signal<In, Clock>,
    pub load_we: Signal<In, Bit>,
    pub load_mem: Signal<In, Bits<3>>,
    pub load_addr: Signal<In, Bits<32>>,
    pub load_data: Signal<In, Bits<64>>,
    pub start: Signal<In, Bit>,
    pub strip_w: Signal<In, Bits<16>>,
    pub strip_h: Signal<In, Bits<16>>,
    pub keep_x0: Signal<In, Bits<16>>,
    pub keep_w: Signal<In, Bits<16>>,
    pub busy: Signal<Out, Bit>,
    pub done: Signal<Out, Bit>,
    pub error: Signal<Out, Bit>,
    pub in_data: Signal<In, Bits<8>>,
    pub in_valid: Signal<In, Bit>,
    pub in_ready: Signal<Out, Bit>,
    pub out_data: Signal<Out, Bits<8>>,
    pub out_valid: Signal<Out, Bit>,
    pub out_ready: Signal<In, Bit>,
    /// Result bytes are in the output buffer or its output register (from flip-flops): a
    /// protocol engine resetting mid-strip waits for them once `busy` has fallen.
    pub out_pending: Signal<Out, Bit>,
    pub cnt_sel: Signal<In, Bits<8>>,
    pub cnt_data: Signal<Out, Bits<32>>,
    /// A shared core's side (`Ctl::dual`'s thread 1: its port fields, accumulator and this
    /// thread's strobes in, what an `in` reads out), used in place of this block's own core
    /// when it is built with [`EngineFw16::external`]: the UP5K's board runs the protocol and
    /// the sequencer firmware on one core. The own core is then dead logic, which synthesis
    /// removes.
    pub x_port_next: Signal<In, Bits<8>>,
    pub x_port: Signal<In, Bits<8>>,
    pub x_pout: Signal<In, Bits<16>>,
    pub x_wr: Signal<In, Bit>,
    pub x_rd: Signal<In, Bit>,
    pub x_pin: Signal<Out, Bits<16>>,

    core: Ctl<SEQ_PA>,
    ext: Constant<Bit>,
    k_port_next: Signal<Local, Bits<8>>,

    // Memories.
    prog: Bram<Bits<16>, PA>,
    wmem: [Bram<Bits<16>, WA>; P],
    fpw: [Bram<Signed<16>, FWA>; M],
    cmem: [Bram<Bits<16>, CA>; 8],
    fmem: SpRam<Signed<16>, FA>,
    xmem: SpRam<Signed<16>, XA>,
    bmem: Bram<Bits<16>, BA>,
    obuf: Bram<Bits<8>, OA>,
    cnts: Bram<Bits<32>, 5>,

    // Datapaths.
    arr: PeArray16<P>,
    post: Post,
    slope: Slope,
    mac: MacLanes<M>,
    // Three multipliers for these two and `slope` where `crate::engine` has nine (the part has
    // 8): the conv's slope runs on `slope` and its rounding on the output pixel's (one op at a
    // time: a conv's post is `ConvPost`'s `RoundSat` then `Slope`, and neither has a copy of
    // its own), the output pixel on two (the post issue reads a tail output's four input words
    // one a cycle, so it gives `outpx` a value every 4 cycles at most, `OutPixel2::SPACING`),
    // the input word on the second of those.
    outpx: OutPixel2,
    inword: InWordB,

    // The strip and the core's ports.
    run: DFF<Bit>,
    go: DFF<Bit>,
    counting: DFF<Bit>,
    err: DFF<Bit>,
    pp: DFF<Bits<16>>,
    pin_r: DFF<Bits<16>>,
    done_r: DFF<Bit>,
    h_r: DFF<Bits<16>>,
    h_inch: DFF<Bits<16>>,
    h_sub: DFF<Bit>,
    h_frac: DFF<Bits<4>>,
    h_kin: [DFF<Bits<16>>; 2],
    h_kout: [DFF<Bits<16>>; 2],
    rowb: DFF<Bits<16>>,
    // The bilinear table by phase: whether the row offset is −1 (the only other is 0), and
    // the second tap's Q8 weight (the output pixel takes 9 bits of it).
    bil_m1: [DFF<Bit>; 4],
    bil_w1: [DFF<Bits<9>>; 4],
    // The row command (`seqfw::rc`): window rows features 0–2, bits 3–5.
    c_op: DFF<Bits<8>>,
    c_win: [DFF<Bits<16>>; 6],
    c_valid: DFF<Bits<3>>,
    c_dstf: DFF<Bits<16>>,
    c_dstb: DFF<Bits<16>>,
    c_xin: [DFF<Bits<16>>; 2],
    c_a1: DFF<Bits<16>>,
    c_wrow: DFF<Bits<16>>,
    c_crow: DFF<Bits<16>>,
    c_x0: DFF<Bits<16>>,
    c_xend: DFF<Bits<16>>,
    c_xoff: DFF<Bits<16>>,
    // The op's record words and their fetch: `fk` the word addressed now, `fslot` the one
    // arriving.
    rw: [DFF<Bits<16>>; RW_N],
    fetching: DFF<Bit>,
    fk: DFF<Bits<4>>,
    fpend: DFF<Bit>,
    fslot: DFF<Bits<4>>,

    phase: DFF<RowPhase>,
    fi: DFF<Bits<4>>,
    // Input stage.
    in_x: DFF<Bits<16>>,
    in_c: DFF<Bits<8>>,
    // Issue loop (see `crate::engine`): the address of a tap is its window row's base (the
    // command's) plus the pixel's offset (`col`) plus the word offset: one address path for
    // the three window rows.
    lastmask: DFF<Bits<16>>,
    issue_done: DFF<Bit>,
    xo: DFF<Bits<16>>,
    x: DFF<Bits<16>>,
    j: DFF<Bits<4>>,
    g: DFF<Bits<16>>,
    cg: DFF<Bits<16>>,
    ty: DFF<Bits<2>>,
    dx: DFF<Bits<2>>,
    q: DFF<Bits<16>>,
    col: DFF<Bits<16>>,
    qoff: DFF<Bits<16>>,
    pxr: DFF<Bits<16>>,
    waddr: DFF<Bits<16>>,
    recj: DFF<Bits<16>>,
    recg: DFF<Bits<16>>,
    xdiv: DFF<Bits<16>>,
    xmod: DFF<Bits<4>>,
    iss_v: DFF<Bit>,
    iss_ok: DFF<Bit>,
    iss_first: DFF<Bit>,
    iss_last: DFF<Bit>,
    iss_lastq: DFF<Bit>,
    pend: DFF<Bit>,
    pend_pxr: DFF<Bits<16>>,
    pend_rec: DFF<Bits<16>>,
    pend_cg: DFF<Bits<16>>,
    // A group's live outputs: at most 16 (`P`, `M` ≤ 16).
    pend_live: DFF<Bits<5>>,
    pend_xdiv: DFF<Bits<16>>,
    pend_xmod: DFF<Bits<4>>,
    // Post issue.
    pb: DFF<Bit>,
    pk: DFF<Bits<5>>,
    plive: DFF<Bits<5>>,
    prec: DFF<Bits<16>>,
    pres: DFF<Bits<16>>,
    psub: DFF<Bits<2>>,
    // The tail's first column's word offset, and whether the second column is one pixel on.
    pxc: DFF<Bits<16>>,
    pstep: DFF<Bit>,
    pb1: DFF<Bits<16>>,
    sums: [DFF<Signed<16>>; P],
    accs: [DFF<Bits<48>>; M],
    pv: DFF<Bit>,
    psel: DFF<Signed<16>>,
    pacc: DFF<Bits<48>>,
    px00: DFF<Signed<16>>,
    px01: DFF<Signed<16>>,
    px10: DFF<Signed<16>>,
    // The post issue's constant address, delayed to the write-back, where the threshold is
    // read (banks 6 and 7) in place of travelling beside its output in 17 bits.
    tadr: [DFF<Bits<CA>>; BIN_LAT],
    // Outputs in flight: at most the deepest post pipeline's latency.
    outstanding: DFF<Bits<8>>,
    // Write-back. `wbb`, the bit words' address, is also the input row's (from `IBASE`).
    wbf: DFF<Bits<16>>,
    wbb: DFF<Bits<16>>,
    wbc: DFF<Bits<16>>,
    bitreg: DFF<Bits<16>>,
    // Output buffer.
    owp: DFF<Bits<16>>,
    orp: DFF<Bits<16>>,
    ocount: DFF<Bits<16>>,
    o_have: DFF<Bit>,
    o_pend: DFF<Bit>,
    o_byte: DFF<Bits<8>>,
    // Counters. `clr` zeroes the per-op words at a strip's start, one a cycle while its bit 5
    // is set, so that a row always adds to its op's words (the firmware's first `RGO` comes
    // `seqfw::COUNTERS_CLEARED` cycles after the start at the earliest).
    total: DFF<Bits<32>>,
    stall: DFF<Bits<32>>,
    row_cyc: DFF<Bits<32>>,
    row_busy: DFF<Bits<32>>,
    clr: DFF<Bits<6>>,

    wa_sh: Constant<Bits<8>>,
    fwa_sh: Constant<Bits<8>>,
    p_c: Constant<Bits<16>>,
    m_c: Constant<Bits<16>>,
    /// One PE and one FP lane (the UP5K): a group is one output, and the compiler makes a
    /// group's inner loop at least 9 cycles (`inner` is 9 taps times words or channels), so
    /// one output's post issue and write-back end before the next output is issued. The
    /// post issue then takes its operand straight from the array or the MAC lane into
    /// `psel` / `pacc` (no `sums` / `accs` snapshot), and the threshold banks read a copy of
    /// the output's record address held until the next output (no `tadr` delay line);
    /// synthesis drops the registers this leaves without readers. This engine also keeps no
    /// per-op counters (`HwConfig::op_counters`, the same rule): nothing then reads `cnts`,
    /// `row_cyc` or `row_busy`, and synthesis drops them; the row end keeps its cycles, so the
    /// firmware model's counts are unchanged.
    single: Constant<Bit>,
    /// Masks a group's live count below the group size: `2^⌈log2 max(P, M)⌉ − 1`, so that
    /// with one PE and one lane the count is one bit.
    live_mask: Constant<Bits<16>>,
    thold: DFF<Bits<CA>>,
    /// An op's output channels (and so its groups) are at most `2^CA`: each has a record at
    /// its own address of the constant banks. So the output-channel and group counts and
    /// counters keep `CA + 1` bits, and so do the input and source channel counts (an op's
    /// input is the previous op's output, or the image's 1..=4 channels).
    kmask: Constant<Bits<16>>,
    sw: Signal<Local, Bits<16>>,
    /// The group's `pk`-th snapshot, from the array and from the MAC lanes.
    sum_pk: Signal<Local, Signed<16>>,
    acc_pk: Signal<Local, Bits<48>>,
    kx0: Signal<Local, Bits<16>>,
    kw: Signal<Local, Bits<16>>,
    ones: Constant<Bits<16>>,
    obuf_cap: Constant<Bits<17>>,
    /// `OA + 1` bits. The output buffer's pointers and count run modulo 2^(OA + 1), so a full
    /// ring (2^OA bytes) still differs from an empty one. Columns (of the strip, at any op's
    /// scale) and a tail row's byte count are at most `2^OA`: the compiler sizes strips so
    /// that an output row, `width · r · out_ch` bytes, fits the output buffer, and the link
    /// refuses a job wider than that. So the column registers, the strip's column fields and
    /// the row's byte count keep these bits too, and synthesis drops the rest.
    omask: Constant<Bits<16>>,
    unit_slope: Constant<Signed<16>>,
    in_lat: Constant<Bits<4>>,
    // Bit rings in the input memory's upper half (`Memories::bits_in_input`): a bit address
    // with bit XA − 1 set (this mask) is that memory's word. Possible only when the bit
    // memory's own addresses stay below that bit (BA < XA; else the mask is 0); `bsel`
    // remembers which memory a read went to.
    xhalf: Constant<Bits<16>>,
    bsel: DFF<Bit>,

    // Combinational locals.
    wr: Signal<Local, Bit>,
    rgo: Signal<Local, Bit>,
    in_acc: Signal<Local, Bit>,
    in_pix: Signal<Local, Bit>,
    iss: Signal<Local, Bit>,
    c_q: Signal<Local, Bit>,
    c_dx2: Signal<Local, Bit>,
    c_grp: Signal<Local, Bit>,
    c_pix: Signal<Local, Bit>,
    c_j: Signal<Local, Bit>,
    rd: Signal<Local, Bit>,
    port: Signal<Local, Bits<8>>,
    v: Signal<Local, Bits<16>>,
    pin_v: Signal<Local, Bits<16>>,
    pp_n: Signal<Local, Bits<16>>,
    fbase: Signal<Local, Bits<16>>,
    woff: Signal<Local, Bits<16>>,
    is_bin: Signal<Local, Bit>,
    is_tail: Signal<Local, Bit>,
    f_bits: Signal<Local, Bit>,
    f_input: Signal<Local, Bit>,
    qn: Signal<Local, Bits<16>>,
    qstride: Signal<Local, Bits<16>>,
    gsize: Signal<Local, Bits<16>>,
    ws: Signal<Local, Bits<16>>,
    ws_a: Signal<Local, Bits<16>>,
    ws_b: Signal<Local, Bits<16>>,
    rowbase: Signal<Local, Bits<16>>,
    iaddr: Signal<Local, Bits<16>>,
    tap_ok: Signal<Local, Bit>,
    left: Signal<Local, Bits<16>>,
    live: Signal<Local, Bits<16>>,
    last_word: Signal<Local, Bit>,
    last_group: Signal<Local, Bit>,
    last_j: Signal<Local, Bit>,
    last_pix: Signal<Local, Bit>,
    xa_row: Signal<Local, Bits<16>>,
    xa_col: Signal<Local, Bits<16>>,
    cx0: Signal<Local, Bits<16>>,
    px_a: Signal<Local, Bits<16>>,
    px_b: Signal<Local, Bits<16>>,
    px_step: Signal<Local, Bit>,
    xa_step: Signal<Local, Bits<16>>,
    cb1: Signal<Local, Bits<16>>,
    coff: Signal<Local, Bit>,
    cw1: Signal<Local, Bits<9>>,
    sets_l: Signal<Local, Bits<16>>,
    pres_base: Signal<Local, Bits<16>>,
    wb_valid: Signal<Local, Bit>,
    wb_val: Signal<Local, Signed<16>>,
    wb_t: Signal<Local, Bits<17>>,
    wb_bit: Signal<Local, Bit>,
    wb_tl: Signal<Local, Bits<16>>,
    wb_pos: Signal<Local, Bits<16>>,
    wb_word: Signal<Local, Bits<16>>,
    wb_wend: Signal<Local, Bit>,
    o_push: Signal<Local, Bit>,
    o_pop: Signal<Local, Bit>,
    cnt_a: Signal<Local, Bits<5>>,
    cnt_add: Signal<Local, Bits<32>>,
}

impl<
        const P: usize,
        const M: usize,
        const FA: usize,
        const XA: usize,
        const BA: usize,
        const WA: usize,
        const FWA: usize,
        const CA: usize,
        const PA: usize,
        const OA: usize,
    > Default for EngineFw16<P, M, FA, XA, BA, WA, FWA, CA, PA, OA>
{
    fn default() -> Self {
        assert!((1..=9).contains(&P) && (1..=16).contains(&M));
        // 16-bit addresses; the output buffer's pointers tell full from empty below 2^16.
        assert!([FA, XA, BA, WA, FWA, CA, PA].into_iter().all(|a| a <= 16) && OA < 16);
        assert_eq!((BIN_LAT, CONV_LAT), (9, 6));
        Self {
            clock: Default::default(),
            load_we: Default::default(),
            load_mem: Default::default(),
            load_addr: Default::default(),
            load_data: Default::default(),
            start: Default::default(),
            strip_w: Default::default(),
            strip_h: Default::default(),
            keep_x0: Default::default(),
            keep_w: Default::default(),
            busy: Default::default(),
            done: Default::default(),
            error: Default::default(),
            in_data: Default::default(),
            in_valid: Default::default(),
            in_ready: Default::default(),
            out_data: Default::default(),
            out_valid: Default::default(),
            out_ready: Default::default(),
            out_pending: Default::default(),
            cnt_sel: Default::default(),
            cnt_data: Default::default(),
            x_port_next: Default::default(),
            x_port: Default::default(),
            x_pout: Default::default(),
            x_wr: Default::default(),
            x_rd: Default::default(),
            x_pin: Default::default(),
            core: Ctl::new(&seqfw::firmware_words()),
            ext: Constant::new(false),
            k_port_next: Default::default(),
            prog: Default::default(),
            wmem: std::array::from_fn(|_| Default::default()),
            fpw: std::array::from_fn(|_| Default::default()),
            cmem: std::array::from_fn(|_| Default::default()),
            fmem: Default::default(),
            xmem: Default::default(),
            bmem: Default::default(),
            obuf: Default::default(),
            cnts: Default::default(),
            arr: Default::default(),
            post: if P == 1 && M == 1 { Post::one_at_a_time() } else { Post::default() },
            slope: Default::default(),
            mac: Default::default(),
            outpx: Default::default(),
            inword: Default::default(),
            run: Default::default(),
            go: Default::default(),
            counting: Default::default(),
            err: Default::default(),
            pp: Default::default(),
            pin_r: Default::default(),
            done_r: Default::default(),
            h_r: Default::default(),
            h_inch: Default::default(),
            h_sub: Default::default(),
            h_frac: Default::default(),
            h_kin: std::array::from_fn(|_| Default::default()),
            h_kout: std::array::from_fn(|_| Default::default()),
            rowb: Default::default(),
            bil_m1: std::array::from_fn(|_| Default::default()),
            bil_w1: std::array::from_fn(|_| Default::default()),
            c_op: Default::default(),
            c_win: std::array::from_fn(|_| Default::default()),
            c_valid: Default::default(),
            c_dstf: Default::default(),
            c_dstb: Default::default(),
            c_xin: std::array::from_fn(|_| Default::default()),
            c_a1: Default::default(),
            c_wrow: Default::default(),
            c_crow: Default::default(),
            c_x0: Default::default(),
            c_xend: Default::default(),
            c_xoff: Default::default(),
            rw: std::array::from_fn(|_| Default::default()),
            fetching: Default::default(),
            fk: Default::default(),
            fpend: Default::default(),
            fslot: Default::default(),
            phase: Default::default(),
            fi: Default::default(),
            in_x: Default::default(),
            in_c: Default::default(),
            lastmask: Default::default(),
            issue_done: Default::default(),
            xo: Default::default(),
            x: Default::default(),
            j: Default::default(),
            g: Default::default(),
            cg: Default::default(),
            ty: Default::default(),
            dx: Default::default(),
            q: Default::default(),
            col: Default::default(),
            qoff: Default::default(),
            pxr: Default::default(),
            waddr: Default::default(),
            recj: Default::default(),
            recg: Default::default(),
            xdiv: Default::default(),
            xmod: Default::default(),
            iss_v: Default::default(),
            iss_ok: Default::default(),
            iss_first: Default::default(),
            iss_last: Default::default(),
            iss_lastq: Default::default(),
            pend: Default::default(),
            pend_pxr: Default::default(),
            pend_rec: Default::default(),
            pend_cg: Default::default(),
            pend_live: Default::default(),
            pend_xdiv: Default::default(),
            pend_xmod: Default::default(),
            pb: Default::default(),
            pk: Default::default(),
            plive: Default::default(),
            prec: Default::default(),
            pres: Default::default(),
            psub: Default::default(),
            pxc: Default::default(),
            pstep: Default::default(),
            pb1: Default::default(),
            sums: std::array::from_fn(|_| Default::default()),
            accs: std::array::from_fn(|_| Default::default()),
            pv: Default::default(),
            psel: Default::default(),
            pacc: Default::default(),
            px00: Default::default(),
            px01: Default::default(),
            px10: Default::default(),
            tadr: std::array::from_fn(|_| Default::default()),
            outstanding: Default::default(),
            wbf: Default::default(),
            wbb: Default::default(),
            wbc: Default::default(),
            bitreg: Default::default(),
            owp: Default::default(),
            orp: Default::default(),
            ocount: Default::default(),
            o_have: Default::default(),
            o_pend: Default::default(),
            o_byte: Default::default(),
            total: Default::default(),
            stall: Default::default(),
            row_cyc: Default::default(),
            row_busy: Default::default(),
            clr: Default::default(),
            wa_sh: Constant::new(bits::<8>(WA as u64)),
            fwa_sh: Constant::new(bits::<8>(FWA as u64)),
            p_c: Constant::new(bits::<16>(P as u64)),
            m_c: Constant::new(bits::<16>(M as u64)),
            single: Constant::new(P == 1 && M == 1),
            live_mask: Constant::new(bits::<16>(P.max(M).next_power_of_two() as u64 - 1)),
            thold: Default::default(),
            kmask: Constant::new(bits::<16>((1u64 << (CA + 1)) - 1)),
            sw: Default::default(),
            sum_pk: Default::default(),
            acc_pk: Default::default(),
            kx0: Default::default(),
            kw: Default::default(),
            ones: Constant::new(bits::<16>(0xFFFF)),
            obuf_cap: Constant::new(bits::<17>(1 << OA)),
            omask: Constant::new(bits::<16>((2 << OA) - 1)),
            unit_slope: Constant::new(signed::<16>(4096)),
            in_lat: Constant::new(bits::<4>(InWordB::LATENCY as u64)),
            xhalf: Constant::new(bits::<16>(if BA < XA && XA <= 16 { 1 << (XA - 1) } else { 0 })),
            bsel: Default::default(),
            wr: Default::default(),
            rgo: Default::default(),
            in_acc: Default::default(),
            in_pix: Default::default(),
            iss: Default::default(),
            c_q: Default::default(),
            c_dx2: Default::default(),
            c_grp: Default::default(),
            c_pix: Default::default(),
            c_j: Default::default(),
            rd: Default::default(),
            port: Default::default(),
            v: Default::default(),
            pin_v: Default::default(),
            pp_n: Default::default(),
            fbase: Default::default(),
            woff: Default::default(),
            is_bin: Default::default(),
            is_tail: Default::default(),
            f_bits: Default::default(),
            f_input: Default::default(),
            qn: Default::default(),
            qstride: Default::default(),
            gsize: Default::default(),
            ws: Default::default(),
            ws_a: Default::default(),
            ws_b: Default::default(),
            rowbase: Default::default(),
            iaddr: Default::default(),
            tap_ok: Default::default(),
            left: Default::default(),
            live: Default::default(),
            last_word: Default::default(),
            last_group: Default::default(),
            last_j: Default::default(),
            last_pix: Default::default(),
            xa_row: Default::default(),
            xa_col: Default::default(),
            cx0: Default::default(),
            px_a: Default::default(),
            px_b: Default::default(),
            px_step: Default::default(),
            xa_step: Default::default(),
            cb1: Default::default(),
            coff: Default::default(),
            cw1: Default::default(),
            sets_l: Default::default(),
            pres_base: Default::default(),
            wb_valid: Default::default(),
            wb_val: Default::default(),
            wb_t: Default::default(),
            wb_bit: Default::default(),
            wb_tl: Default::default(),
            wb_pos: Default::default(),
            wb_word: Default::default(),
            wb_wend: Default::default(),
            o_push: Default::default(),
            o_pop: Default::default(),
            cnt_a: Default::default(),
            cnt_add: Default::default(),
        }
    }
}

impl<
        const P: usize,
        const M: usize,
        const FA: usize,
        const XA: usize,
        const BA: usize,
        const WA: usize,
        const FWA: usize,
        const CA: usize,
        const PA: usize,
        const OA: usize,
    > EngineFw16<P, M, FA, XA, BA, WA, FWA, CA, PA, OA>
{
    /// The engine on a shared core's thread (the `x_*` ports), which runs
    /// [`EngineFw16::program`].
    pub fn external() -> Self {
        Self { ext: Constant::new(true), ..Default::default() }
    }

    /// Sizes the memories whose depth the type cannot carry from `cfg`: a weight memory that
    /// holds the FP weights too (`Memories::fp_in_weights`) has `weight_words`, which need not
    /// be a power of two. What the simulators run does not change (no address past it is
    /// used); the Verilog's block RAMs do.
    pub fn configure(mut self, cfg: &HwConfig) -> Self {
        if cfg.memory.fp_in_weights {
            for m in &mut self.wmem {
                m.set_depth(cfg.memory.weight_words);
            }
        }
        self
    }

    /// The sequencer firmware.
    pub fn program() -> Vec<u16> {
        seqfw::firmware_words()
    }
}

impl<
        const P: usize,
        const M: usize,
        const FA: usize,
        const XA: usize,
        const BA: usize,
        const WA: usize,
        const FWA: usize,
        const CA: usize,
        const PA: usize,
        const OA: usize,
    > crate::sim::Clocked for EngineFw16<P, M, FA, XA, BA, WA, FWA, CA, PA, OA>
{
    fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}

impl<
        const P: usize,
        const M: usize,
        const FA: usize,
        const XA: usize,
        const BA: usize,
        const WA: usize,
        const FWA: usize,
        const CA: usize,
        const PA: usize,
        const OA: usize,
    > Logic for EngineFw16<P, M, FA, XA, BA, WA, FWA, CA, PA, OA>
{
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            run,
            go,
            counting,
            err,
            pp,
            pin_r,
            done_r,
            h_r,
            h_inch,
            h_sub,
            h_frac,
            rowb,
            c_op,
            c_valid,
            c_dstf,
            c_dstb,
            c_a1,
            c_wrow,
            c_crow,
            c_x0,
            c_xend,
            c_xoff,
            fetching,
            fk,
            fpend,
            fslot,
            phase,
            fi,
            in_x,
            in_c,
            lastmask,
            issue_done,
            xo,
            x,
            j,
            g,
            cg,
            ty,
            dx,
            q,
            qoff,
            col,
            pxr,
            waddr,
            recj,
            recg,
            xdiv,
            xmod,
            iss_v,
            iss_ok,
            iss_first,
            iss_last,
            iss_lastq,
            pend,
            pend_pxr,
            pend_rec,
            pend_cg,
            pend_live,
            pend_xdiv,
            pend_xmod,
            pb,
            pk,
            plive,
            prec,
            pres,
            psub,
            pb1,
            pxc,
            pstep,
            pv,
            psel,
            pacc,
            px00,
            px01,
            px10,
            outstanding,
            wbf,
            wbb,
            wbc,
            bitreg,
            owp,
            orp,
            ocount,
            o_have,
            o_pend,
            o_byte,
            total,
            stall,
            row_cyc,
            row_busy,
            clr,
            bsel,
            thold
        );
        for i in 0..4 {
            self.bil_m1[i].clock.next = self.clock.val();
            self.bil_m1[i].d.next = self.bil_m1[i].q.val();
            self.bil_w1[i].clock.next = self.clock.val();
            self.bil_w1[i].d.next = self.bil_w1[i].q.val();
        }
        for i in 0..6 {
            self.c_win[i].clock.next = self.clock.val();
            self.c_win[i].d.next = self.c_win[i].q.val();
        }
        for i in 0..2 {
            self.h_kin[i].clock.next = self.clock.val();
            self.h_kin[i].d.next = self.h_kin[i].q.val();
            self.h_kout[i].clock.next = self.clock.val();
            self.h_kout[i].d.next = self.h_kout[i].q.val();
            self.c_xin[i].clock.next = self.clock.val();
            self.c_xin[i].d.next = self.c_xin[i].q.val();
        }
        for i in 0..RW_N {
            self.rw[i].clock.next = self.clock.val();
            self.rw[i].d.next = self.rw[i].q.val();
        }
        for k in 0..P {
            self.sums[k].clock.next = self.clock.val();
            self.sums[k].d.next = self.sums[k].q.val();
        }
        for k in 0..M {
            self.accs[k].clock.next = self.clock.val();
            self.accs[k].d.next = self.accs[k].q.val();
        }
        for i in 0..BIN_LAT {
            self.tadr[i].clock.next = self.clock.val();
        }
        self.tadr[0].d.next = bit_cast::<CA, 16>(self.prec.q.val());
        for i in 1..BIN_LAT {
            self.tadr[i].d.next = self.tadr[i - 1].q.val();
        }
        clock!(self, clock, core, arr, post, slope, mac, outpx, inword);
        // The core's side: this block's own core, or a shared core's thread (`external`).
        self.k_port_next.next = self.core.port_next.val();
        self.wr.next = self.core.pwr[0].val();
        self.rd.next = self.core.prd[0].val();
        self.port.next = self.core.port.val();
        self.v.next = self.core.pout.val();
        if self.ext.val() {
            self.k_port_next.next = self.x_port_next.val();
            self.wr.next = self.x_wr.val();
            self.rd.next = self.x_rd.val();
            self.port.next = self.x_port.val();
            self.v.next = self.x_pout.val();
        }
        self.prog.read_clock.next = self.clock.val();
        self.prog.write_clock.next = self.clock.val();
        self.fmem.read_clock.next = self.clock.val();
        self.fmem.write_clock.next = self.clock.val();
        self.xmem.read_clock.next = self.clock.val();
        self.xmem.write_clock.next = self.clock.val();
        self.bmem.read_clock.next = self.clock.val();
        self.bmem.write_clock.next = self.clock.val();
        self.obuf.read_clock.next = self.clock.val();
        self.obuf.write_clock.next = self.clock.val();
        self.cnts.read_clock.next = self.clock.val();
        self.cnts.write_clock.next = self.clock.val();
        for k in 0..P {
            self.wmem[k].read_clock.next = self.clock.val();
            self.wmem[k].write_clock.next = self.clock.val();
        }
        for k in 0..M {
            self.fpw[k].read_clock.next = self.clock.val();
            self.fpw[k].write_clock.next = self.clock.val();
        }
        for k in 0..8 {
            self.cmem[k].read_clock.next = self.clock.val();
            self.cmem[k].write_clock.next = self.clock.val();
        }

        self.sw.next = self.strip_w.val() & self.omask.val();
        self.kx0.next = self.keep_x0.val() & self.omask.val();
        self.kw.next = self.keep_w.val() & self.omask.val();

        // ---- The op's record fields.
        self.is_bin.next = self.rw[0].q.val().get_bits::<4>(0) == 1;
        self.is_tail.next = self.rw[0].q.val().get_bits::<4>(0) == 3;
        self.f_bits.next = self.rw[0].q.val().get_bit(6);
        self.f_input.next = self.rw[0].q.val().get_bit(7);
        self.qn.next = self.rw[1].q.val();
        self.qstride.next = self.rw[6].q.val();
        self.gsize.next = self.m_c.val();
        if self.is_bin.val() {
            self.qn.next = self.rw[9].q.val();
            self.qstride.next = self.rw[9].q.val();
            self.gsize.next = self.p_c.val();
        }
        // The source width: width · scale (1..=4) as the sum of two terms picked by the
        // scale's bits (bits 0 and 2 are never both set).
        self.ws_a.next = 0.into();
        if self.rw[7].q.val().get_bit(0) {
            self.ws_a.next = self.sw.val();
        }
        if self.rw[7].q.val().get_bit(2) {
            self.ws_a.next = self.sw.val() << 2;
        }
        self.ws_b.next = 0.into();
        if self.rw[7].q.val().get_bit(1) {
            self.ws_b.next = self.sw.val() << 1;
        }
        self.ws.next = self.ws_a.val() + self.ws_b.val();

        // ---- The core's ports. What an `in` reads is chosen by the port of the instruction
        // being fetched and registered (`pin_r`), so that the port multiplexer is off the
        // core's accumulator path and the core's input comes from a flip-flop; the memory
        // behind `PW` is addressed with its pointer's next value, so that what is registered
        // at fetch is as fresh as a read in the execute cycle would be.
        self.pin_v.next = 0.into();
        if self.k_port_next.val() == 0 {
            self.pin_v.next = bit_cast::<16, 1>(self.go.q.val().into());
        }
        if self.k_port_next.val() == 1 {
            self.pin_v.next = self.prog.read_data.val();
        }
        if self.k_port_next.val() == 2 {
            self.pin_v.next = self.sw.val();
        }
        if self.k_port_next.val() == 3 {
            self.pin_v.next = self.strip_h.val();
        }
        if self.k_port_next.val() == 4 {
            self.pin_v.next = self.kx0.val();
        }
        if self.k_port_next.val() == 5 {
            self.pin_v.next = self.kw.val();
        }
        if self.k_port_next.val() == 8 {
            self.pin_v.next = bit_cast::<16, 1>((self.phase.q.val() != RowPhase::Idle).into());
        }
        if self.k_port_next.val() == 9 {
            self.pin_v.next = bit_cast::<16, 1>(
                (bit_cast::<17, 16>(self.ocount.q.val()) + bit_cast::<17, 16>(self.rowb.q.val())
                    <= self.obuf_cap.val())
                .into(),
            );
        }
        self.pin_r.d.next = self.pin_v.val();
        self.core.pin[0].next = self.pin_r.q.val();
        self.core.pin[1].next = 0.into();
        self.x_pin.next = self.pin_r.q.val();
        self.pp_n.next = self.pp.q.val();
        if self.rd.val() & (self.port.val() == 1) {
            self.pp_n.next = self.pp.q.val() + 1;
        }
        if self.wr.val() & (self.port.val() == 0) {
            self.pp_n.next = self.v.val();
        }
        self.pp.d.next = self.pp_n.val();

        if self.rd.val() & (self.port.val() == 0) & self.pin_r.q.val().get_bit(0) {
            // The firmware takes the strip: the total counts from here, as the firmware's model
            // does from this instruction's fetch (one cycle back) to the end of `DONE`'s
            // execute cycle.
            self.go.d.next = false;
            self.counting.d.next = true;
            self.total.d.next = 2.into();
        }
        if self.wr.val() {
            if self.port.val() == 4 {
                // The input row's pointer is the bit write-back's: an input row and a row
                // op never run together, and `IBASE` comes while the row loop is idle.
                self.wbb.d.next = self.v.val();
            }
            if self.port.val() == 5 {
                self.phase.d.next = RowPhase::InRow;
                self.in_x.d.next = 0.into();
                self.in_c.d.next = 0.into();
            }
            // The scale and the input channels are 1..=4 and k_in < 2^23 (`FixedNetwork`):
            // the bits above are kept at 0, so synthesis drops their flip-flops.
            if self.port.val() == 64 {
                self.h_r.d.next = self.v.val() & bits::<16>(7);
            }
            if self.port.val() == 65 {
                self.h_inch.d.next = self.v.val() & bits::<16>(7);
            }
            if self.port.val() == 66 {
                self.h_sub.d.next = self.v.val().get_bit(0);
            }
            if self.port.val() == 67 {
                self.h_frac.d.next = self.v.val().get_bits::<4>(0);
            }
            for i in 0..2 {
                if self.port.val().index() == 68 + i {
                    self.h_kin[i].d.next = self.v.val();
                    if i == 1 {
                        self.h_kin[i].d.next = self.v.val() & bits::<16>(0xFF);
                    }
                }
                if self.port.val().index() == 70 + i {
                    self.h_kout[i].d.next = self.v.val();
                }
            }
            if self.port.val() == 72 {
                // A tail row's bytes fit the output buffer (the compiler's check).
                self.rowb.d.next = self.v.val() & self.omask.val();
            }
            for i in 0..4 {
                if self.port.val().index() == 73 + 2 * i {
                    self.bil_m1[i].d.next = self.v.val() == 0xFFFF;
                }
                if self.port.val().index() == 74 + 2 * i {
                    self.bil_w1[i].d.next = self.v.val().get_bits::<9>(0);
                }
            }
            if self.port.val() == 16 {
                // Read the op's record words while the firmware writes the rest.
                self.c_op.d.next = self.v.val().get_bits::<8>(0);
                self.fetching.d.next = true;
                self.fk.d.next = 0.into();
            }
            for i in 0..3 {
                if self.port.val().index() == 18 + i {
                    self.c_win[i].d.next = self.v.val();
                }
                if self.port.val().index() == 21 + i {
                    self.c_win[3 + i].d.next = self.v.val();
                }
            }
            if self.port.val() == 24 {
                self.c_valid.d.next = self.v.val().get_bits::<3>(0);
            }
            if self.port.val() == 25 {
                self.c_dstf.d.next = self.v.val();
            }
            if self.port.val() == 26 {
                self.c_dstb.d.next = self.v.val();
            }
            if self.port.val() == 27 {
                self.c_xin[0].d.next = self.v.val();
            }
            if self.port.val() == 28 {
                self.c_xin[1].d.next = self.v.val();
            }
            if self.port.val() == 29 {
                self.c_a1.d.next = self.v.val();
            }
            if self.port.val() == 30 {
                self.c_wrow.d.next = self.v.val();
            }
            if self.port.val() == 31 {
                self.c_crow.d.next = self.v.val();
            }
            if self.port.val() == 32 {
                self.c_x0.d.next = self.v.val() & self.omask.val();
            }
            if self.port.val() == 33 {
                self.c_xend.d.next = self.v.val() & self.omask.val();
            }
            if self.port.val() == 34 {
                self.c_xoff.d.next = self.v.val();
            }
        }

        // ---- The record fetch: word fk of `seqfw::ROW_RECORD_WORDS` is addressed now and
        // arrives one edge later.
        self.fbase.next =
            bits::<16>(32) + (bit_cast::<16, 8>(self.c_op.q.val()) << 5) + (bit_cast::<16, 8>(self.c_op.q.val()) << 4);
        self.woff.next = bit_cast::<16, 4>(self.fk.q.val());
        if self.fk.q.val() == 4 {
            self.woff.next = bits::<16>(10);
        }
        if self.fk.q.val() == 5 {
            // Word 0 (the kind) arrived four cycles ago.
            self.woff.next = bits::<16>(11);
            if self.is_bin.val() {
                self.woff.next = bits::<16>(12);
            }
        }
        if self.fk.q.val() == 6 {
            self.woff.next = bits::<16>(13);
        }
        if self.fk.q.val() == 7 {
            self.woff.next = bits::<16>(14);
        }
        if self.fk.q.val() == 8 {
            self.woff.next = bits::<16>(29);
        }
        if self.fk.q.val() == 9 {
            self.woff.next = bits::<16>(31);
        }
        if self.fk.q.val() == 10 {
            self.woff.next = bits::<16>(32);
        }
        if self.fk.q.val() == 11 {
            self.woff.next = bits::<16>(44);
        }
        self.prog.read_address.next = bit_cast::<PA, 16>(self.pp_n.val());
        self.fpend.d.next = self.fetching.q.val();
        self.fslot.d.next = self.fk.q.val();
        if self.fetching.q.val() {
            self.prog.read_address.next = bit_cast::<PA, 16>(self.fbase.val() + self.woff.val());
            self.fk.d.next = self.fk.q.val() + 1;
            if self.fk.q.val() == 11 {
                self.fetching.d.next = false;
            }
        }
        if self.fpend.q.val() {
            for i in 0..RW_N {
                if self.fslot.q.val().index() == i {
                    self.rw[i].d.next = self.prog.read_data.val();
                }
            }
            // Up and the source scale are 1..=4 and the last word's lanes 1..=16: only their
            // low bits are kept (the flip-flops above them stay 0 and go).
            if self.fslot.q.val() == 3 {
                self.rw[3].d.next = self.prog.read_data.val() & bits::<16>(7);
            }
            if self.fslot.q.val() == 7 {
                self.rw[7].d.next = self.prog.read_data.val() & bits::<16>(7);
            }
            if self.fslot.q.val() == 2 {
                self.rw[2].d.next = self.prog.read_data.val() & self.kmask.val();
            }
            if self.fslot.q.val() == 8 {
                self.rw[8].d.next = self.prog.read_data.val() & self.kmask.val();
            }
            if self.fslot.q.val() == 1 {
                self.rw[1].d.next = self.prog.read_data.val() & self.kmask.val();
            }
            if self.fslot.q.val() == 6 {
                self.rw[6].d.next = self.prog.read_data.val() & self.kmask.val();
            }
            if self.fslot.q.val() == 9 {
                self.rw[9].d.next = self.prog.read_data.val() & self.kmask.val();
            }
            if self.fslot.q.val() == 10 {
                self.rw[10].d.next = self.prog.read_data.val() & bits::<16>(31);
            }
        }

        // ---- The issue loop: one word per cycle into the array or the MAC lanes.
        self.rowbase.next = self.c_win[1].q.val();
        if self.ty.q.val() == 0 {
            self.rowbase.next = self.c_win[0].q.val();
        }
        if self.ty.q.val() == 2 {
            self.rowbase.next = self.c_win[2].q.val();
        }
        if self.is_bin.val() {
            self.rowbase.next = self.c_win[4].q.val();
            if self.ty.q.val() == 0 {
                self.rowbase.next = self.c_win[3].q.val();
            }
            if self.ty.q.val() == 2 {
                self.rowbase.next = self.c_win[5].q.val();
            }
        }
        self.iaddr.next = self.rowbase.val() + self.col.q.val() + self.qoff.q.val();
        self.tap_ok.next = true;
        if (self.ty.q.val() == 0) & !self.c_valid.q.val().get_bit(0) {
            self.tap_ok.next = false;
        }
        if (self.ty.q.val() == 2) & !self.c_valid.q.val().get_bit(2) {
            self.tap_ok.next = false;
        }
        if (self.dx.q.val() == 0) & (self.x.q.val() == 0) {
            self.tap_ok.next = false;
        }
        if (self.dx.q.val() == 2) & (self.x.q.val() + 1 >= self.ws.val()) {
            self.tap_ok.next = false;
        }
        // The group's live outputs: min(channels left, group size) ≤ 16.
        self.left.next = self.rw[2].q.val() - self.cg.q.val();
        self.live.next = self.left.val() & self.live_mask.val();
        if self.left.val() >= self.gsize.val() {
            self.live.next = self.gsize.val();
        }
        // A group of one output always has it: channels left ≥ 1 while the loop issues.
        if self.single.val() {
            self.live.next = bits::<16>(1);
        }
        self.last_word.next = (self.ty.q.val() == 2) & (self.dx.q.val() == 2) & (self.q.q.val() + 1 == self.qn.val());
        // Records of successive outputs of a group are `up²` apart.
        self.sets_l.next = bits::<16>(1);
        if self.rw[3].q.val() == 2 {
            self.sets_l.next = bits::<16>(4);
        }
        if self.rw[3].q.val() == 3 {
            self.sets_l.next = bits::<16>(9);
        }
        if self.rw[3].q.val() == 4 {
            self.sets_l.next = bits::<16>(16);
        }
        self.last_group.next = self.g.q.val() + 1 == self.rw[8].q.val();
        if self.single.val() {
            // Groups of one: as many groups as output channels (`rw[8]` then has no reader).
            self.last_group.next = self.g.q.val() + 1 == self.rw[2].q.val();
        }
        self.last_j.next = (bit_cast::<16, 4>(self.j.q.val()) + 1 == self.rw[3].q.val()) | self.is_tail.val();
        self.last_pix.next = self.xo.q.val() + 1 == self.c_xend.q.val();
        // ---- Write-back: a counter replays the output order (pixel, channel).
        // Both paths end in the shared slope (one op runs at a time).
        self.wb_valid.next = self.slope.valid_out.val();
        self.wb_val.next = self.slope.z.val();
        // The threshold (in −32769..=32767) in 17 bits.
        self.wb_t.next = bit_cast::<17, 16>(self.cmem[6].read_data.val());
        if self.cmem[7].read_data.val().get_bit(0) {
            self.wb_t.next = bit_cast::<17, 16>(self.cmem[6].read_data.val()) | bits::<17>(0x10000);
        }
        // v > T: T = −32769 (17 bits 0x17FFF) passes everything; otherwise T fits 16 bits and
        // the signed compare is unsigned with the sign bits flipped.
        self.wb_tl.next = self.wb_t.val().get_bits::<16>(0);
        self.wb_bit.next = (self.wb_t.val() == 0x17FFF)
            | ((unsigned_cast(self.wb_val.val()) ^ bits::<16>(0x8000)) > (self.wb_tl.val() ^ bits::<16>(0x8000)));
        self.wb_pos.next = bits::<16>(1) << self.wbc.q.val().get_bits::<4>(0);
        self.wb_word.next = self.bitreg.q.val();
        if self.wb_bit.val() {
            self.wb_word.next = self.bitreg.q.val() | self.wb_pos.val();
        }
        self.wb_wend.next = (self.wbc.q.val().get_bits::<4>(0) == 15) | (self.wbc.q.val() + 1 == self.rw[2].q.val());

        // ---- Defaults.
        self.busy.next = self.run.q.val();
        self.error.next = self.err.q.val();
        self.in_ready.next = false;
        self.prog.write_enable.next = false;
        self.prog.write_address.next = bit_cast::<PA, 32>(self.load_addr.val());
        self.prog.write_data.next = self.load_data.val().get_bits::<16>(0);
        for k in 0..P {
            self.wmem[k].write_enable.next = false;
            self.wmem[k].write_address.next = bit_cast::<WA, 32>(self.load_addr.val());
            self.wmem[k].write_data.next = self.load_data.val().get_bits::<16>(0);
            self.wmem[k].read_address.next = bit_cast::<WA, 16>(self.waddr.q.val());
        }
        for k in 0..M {
            self.fpw[k].write_enable.next = false;
            self.fpw[k].write_address.next = bit_cast::<FWA, 32>(self.load_addr.val());
            self.fpw[k].write_data.next = signed_cast(self.load_data.val().get_bits::<16>(0));
            self.fpw[k].read_address.next = bit_cast::<FWA, 16>(self.waddr.q.val());
        }
        for k in 0..8 {
            self.cmem[k].write_enable.next = false;
            self.cmem[k].write_address.next = bit_cast::<CA, 32>(self.load_addr.val() >> 3);
            self.cmem[k].write_data.next = self.load_data.val().get_bits::<16>(0);
            self.cmem[k].read_address.next = bit_cast::<CA, 16>(self.prec.q.val());
        }
        // The threshold banks read what the post issue addressed CONV_LAT (BIN_LAT) + 1 cycles
        // before, so that its word arrives with the write-back of that output.
        if self.phase.q.val() != RowPhase::Idle {
            self.cmem[6].read_address.next = self.tadr[5].q.val();
            self.cmem[7].read_address.next = self.tadr[5].q.val();
            if self.is_bin.val() {
                self.cmem[6].read_address.next = self.tadr[8].q.val();
                self.cmem[7].read_address.next = self.tadr[8].q.val();
            }
            if self.single.val() {
                self.cmem[6].read_address.next = self.thold.q.val();
                self.cmem[7].read_address.next = self.thold.q.val();
            }
        }
        if self.load_we.val() & !self.run.q.val() {
            if self.load_mem.val() == 1 {
                self.prog.write_enable.next = true;
            }
            for k in 0..P {
                if (self.load_mem.val() == 2) & ((self.load_addr.val() >> self.wa_sh.val()).index() == k) {
                    self.wmem[k].write_enable.next = true;
                }
            }
            for k in 0..M {
                if (self.load_mem.val() == 3) & ((self.load_addr.val() >> self.fwa_sh.val()).index() == k) {
                    self.fpw[k].write_enable.next = true;
                }
            }
            for k in 0..8 {
                if (self.load_mem.val() == 4) & (self.load_addr.val().get_bits::<3>(0).index() == k) {
                    self.cmem[k].write_enable.next = true;
                }
            }
        }
        self.fmem.write_enable.next = false;
        self.fmem.write_address.next = bit_cast::<FA, 16>(self.wbf.q.val());
        self.fmem.write_data.next = self.wb_val.val();
        self.fmem.read_address.next = bit_cast::<FA, 16>(self.iaddr.val());
        self.xmem.write_enable.next = false;
        self.xmem.write_address.next = bit_cast::<XA, 16>(self.wbb.q.val());
        self.xmem.write_data.next = self.inword.x.val();
        self.xmem.read_address.next = bit_cast::<XA, 16>(self.iaddr.val());
        self.bmem.write_enable.next = false;
        self.bmem.write_address.next = bit_cast::<BA, 16>(self.wbb.q.val());
        self.bmem.write_data.next = self.wb_word.val();
        self.bmem.read_address.next = bit_cast::<BA, 16>(self.iaddr.val());
        self.bsel.d.next = (self.iaddr.val() & self.xhalf.val()) != 0;

        // Counters: 0 total, 1 stall, then per op its cycles and busy count.
        self.cnt_a.next = bit_cast::<5, 8>(self.c_op.q.val() << 1) + 2;
        self.cnts.write_enable.next = false;
        self.cnts.write_address.next = self.cnt_a.val();
        // One adder for both words of the row (its cycles at fi = 1, its busy count at 2).
        self.cnt_add.next = self.row_cyc.q.val();
        if self.fi.q.val() == 2 {
            self.cnt_add.next = self.row_busy.q.val();
        }
        self.cnts.write_data.next = self.cnts.read_data.val() + self.cnt_add.val();
        if self.clr.q.val().get_bit(5) {
            self.cnts.write_data.next = 0.into();
        }
        self.cnts.read_address.next = bit_cast::<5, 8>(self.cnt_sel.val());
        self.cnt_data.next = 0.into();
        if !self.single.val() {
            self.cnt_data.next = self.cnts.read_data.val();
        }
        if self.cnt_sel.val() == 0 {
            self.cnt_data.next = self.total.q.val();
        }
        if self.cnt_sel.val() == 1 {
            self.cnt_data.next = self.stall.q.val();
        }
        if self.counting.q.val() {
            self.total.d.next = self.total.q.val() + 1;
        }
        self.inword.valid_in.next = false;
        self.inword.p.next = self.in_data.val();
        self.inword.k_in.next =
            bit_cast::<32, 16>(self.h_kin[0].q.val()) | (bit_cast::<32, 16>(self.h_kin[1].q.val()) << 16);

        // Datapath inputs default to idle.
        self.arr.act.next = self.bmem.read_data.val();
        if self.bsel.q.val() {
            self.arr.act.next = unsigned_cast(self.xmem.read_data.val());
        }
        self.arr.lane.next = 0.into();
        for k in 0..P {
            self.arr.wgt[k].next = self.wmem[k].read_data.val();
        }
        self.arr.valid_in.next = self.iss_v.q.val() & self.is_bin.val();
        self.arr.clear.next = self.iss_first.q.val();
        self.arr.last.next = self.iss_last.q.val();
        if self.iss_ok.q.val() {
            self.arr.lane.next = self.ones.val();
            if self.iss_lastq.q.val() {
                self.arr.lane.next = self.lastmask.q.val();
            }
        }
        self.mac.x.next = 0.into();
        if self.iss_ok.q.val() {
            self.mac.x.next = self.fmem.read_data.val();
            if self.f_input.val() {
                self.mac.x.next = self.xmem.read_data.val();
            }
        }
        for k in 0..M {
            self.mac.w[k].next = self.fpw[k].read_data.val();
        }
        if self.single.val() {
            // One PE and one FP lane keep the FP weights in the weight memory
            // (`Memories::fp_in_weights`, which `generate::check_kind` ties to this shape); the
            // FP memory is then never read, and synthesis drops it.
            self.mac.w[0].next = signed_cast(self.wmem[0].read_data.val());
        }
        self.mac.valid_in.next = self.iss_v.q.val() & !self.is_bin.val();
        self.mac.clear.next = self.iss_first.q.val();
        self.mac.last.next = self.iss_last.q.val();
        self.iss_v.d.next = false;

        // ---- The strip.
        if self.start.val() & !self.run.q.val() {
            self.run.d.next = true;
            self.go.d.next = true;
            self.err.d.next = false;
            self.total.d.next = 0.into();
            self.stall.d.next = 0.into();
            self.clr.d.next = bits::<6>(32);
        }
        if self.wr.val() & (self.port.val() == 49) {
            self.run.d.next = false;
            self.counting.d.next = false;
            if self.v.val() != 0 {
                self.err.d.next = true;
            }
        }
        // `done` leaves from a flip-flop (a cycle after `DONE`): the protocol engine's `start`
        // depends on it, and an output of this block's logic would close a loop with `start`.
        self.done_r.d.next = self.wr.val() & (self.port.val() == 49) & (self.v.val() == 0);
        self.done.next = self.done_r.q.val();

        // ---- Phases of the row loop and the input stage. Every register is updated under
        // flat conditions (`rgo`, `iss`, `c_q` ...), never by an `if` nested under an earlier
        // update of the same register: Yosys then finds each register's enable and folds it
        // into the flip-flop, where a nested update (or one inside the phase `match`) leaves a
        // hold multiplexer in a LUT on every bit.
        self.rgo.next = (self.phase.q.val() == RowPhase::Idle) & self.wr.val() & (self.port.val() == 48);
        self.in_acc.next = (self.phase.q.val() == RowPhase::InRow) & self.in_valid.val();
        self.in_pix.next = self.in_acc.val() & (bit_cast::<16, 8>(self.in_c.q.val() + 1) == self.h_inch.q.val());
        if self.phase.q.val() != RowPhase::Idle {
            self.row_cyc.d.next = self.row_cyc.q.val() + 1;
        }
        if self.rgo.val() {
            // Everything the row needs is in the command and record registers, which the
            // firmware leaves alone until the row is done.
            self.col.d.next = self.c_xoff.q.val();
            self.wbf.d.next = self.c_dstf.q.val();
            self.wbb.d.next = self.c_dstb.q.val();
            self.waddr.d.next = self.c_wrow.q.val();
            self.recj.d.next = self.c_crow.q.val();
            self.recg.d.next = self.c_crow.q.val();
            self.xo.d.next = self.c_x0.q.val();
            self.x.d.next = self.c_x0.q.val();
            self.xdiv.d.next = 0.into();
            if self.is_tail.val() {
                self.xdiv.d.next = self.kx0.val();
            }
            self.pxr.d.next = self.c_xoff.q.val();
            // The last word's lanes (1..=16) as a mask: the complement of ones shifted by
            // their count, all ones for 16.
            self.lastmask.d.next = !(self.ones.val() << self.rw[10].q.val().get_bits::<4>(0));
            if self.rw[10].q.val().get_bit(4) {
                self.lastmask.d.next = self.ones.val();
            }
            self.j.d.next = 0.into();
            self.g.d.next = 0.into();
            self.cg.d.next = 0.into();
            self.ty.d.next = 0.into();
            self.dx.d.next = 0.into();
            self.q.d.next = 0.into();
            self.qoff.d.next = bits::<16>(0) - self.qstride.val();
            self.xmod.d.next = 0.into();
            self.wbc.d.next = 0.into();
            self.bitreg.d.next = 0.into();
            self.issue_done.d.next = false;
            // A row's count, as the firmware's model has it: from `RGO`'s fetch (one cycle
            // back) to the last fetch whose `BUSY` reads 1, RowEnd's last cycle (`BUSY` is
            // registered at fetch: it reads the phase of the cycle after).
            self.row_cyc.d.next = 4.into();
            self.row_busy.d.next = 0.into();
        }
        if self.in_acc.val() {
            self.in_c.d.next = self.in_c.q.val() + 1;
            if self.in_pix.val() {
                self.in_c.d.next = 0.into();
            }
        }
        if self.in_pix.val() {
            self.in_x.d.next = (self.in_x.q.val() + 1) & self.omask.val();
        }
        if (self.phase.q.val() == RowPhase::InRow) & !self.in_valid.val() {
            self.stall.d.next = self.stall.q.val() + 1;
        }
        match self.phase.q.val() {
            RowPhase::Idle => {
                if self.rgo.val() {
                    self.phase.d.next = RowPhase::RowRun;
                }
            }
            RowPhase::InRow => {
                self.in_ready.next = true;
                if self.in_valid.val() {
                    self.inword.valid_in.next = true;
                }
                if self.in_pix.val() & (self.in_x.q.val() + 1 == self.sw.val()) {
                    self.phase.d.next = RowPhase::InDrain;
                    self.fi.d.next = 0.into();
                }
            }
            RowPhase::InDrain => {
                self.fi.d.next = self.fi.q.val() + 1;
                if self.fi.q.val() == self.in_lat.val() {
                    self.phase.d.next = RowPhase::Idle;
                }
            }
            RowPhase::RowRun => {
                // Every output of the row is written: nothing issued, pending, in the post
                // issue, entering the post (pv) or inside it (outstanding).
                if self.issue_done.q.val()
                    & !self.pend.q.val()
                    & !self.pb.q.val()
                    & !self.pv.q.val()
                    & (self.outstanding.q.val() == 0)
                    & !self.iss_v.q.val()
                {
                    self.phase.d.next = RowPhase::RowEnd;
                    self.fi.d.next = 0.into();
                }
            }
            RowPhase::RowEnd => {
                // Add this row's cycles and busy count to its op's counters.
                self.fi.d.next = self.fi.q.val() + 1;
                self.cnts.read_address.next = self.cnt_a.val();
                if self.fi.q.val() == 1 {
                    self.cnts.write_enable.next = true;
                    self.cnts.read_address.next = self.cnt_a.val() | bits::<5>(1);
                }
                if self.fi.q.val() == 2 {
                    self.cnts.write_enable.next = true;
                    self.cnts.write_address.next = self.cnt_a.val() | bits::<5>(1);
                    self.phase.d.next = RowPhase::Idle;
                }
            }
            _ => {
                self.phase.d.next = RowPhase::Idle;
            }
        }
        if self.clr.q.val().get_bit(5) {
            self.cnts.write_enable.next = true;
            self.cnts.write_address.next = self.clr.q.val().get_bits::<5>(0);
            self.clr.d.next = self.clr.q.val() + 1;
        }

        // The issue loop's steps, each implying the one before: a word (`iss`), the last word
        // of a tap column (`c_q`), of a window row (`c_dx2`), of a group (`c_grp`), of an
        // output pixel (`c_pix`), of a source pixel (`c_j`).
        self.iss.next = (self.phase.q.val() == RowPhase::RowRun) & !self.issue_done.q.val();
        self.c_q.next = self.iss.val() & (self.q.q.val() + 1 == self.qn.val());
        self.c_dx2.next = self.c_q.val() & (self.dx.q.val() == 2);
        self.c_grp.next = self.c_dx2.val() & (self.ty.q.val() == 2);
        self.c_pix.next = self.c_grp.val() & self.last_group.val();
        self.c_j.next = self.c_pix.val() & self.last_j.val();
        if self.iss.val() {
            self.iss_v.d.next = true;
            self.iss_ok.d.next = self.tap_ok.val();
            self.iss_first.d.next = (self.ty.q.val() == 0) & (self.dx.q.val() == 0) & (self.q.q.val() == 0);
            self.iss_last.d.next = self.last_word.val();
            self.iss_lastq.d.next = self.q.q.val() + 1 == self.qn.val();
            self.waddr.d.next = self.waddr.q.val() + 1;
            self.q.d.next = self.q.q.val() + 1;
            self.qoff.d.next = self.qoff.q.val() + 1;
        }
        if self.iss.val() & self.tap_ok.val() {
            self.row_busy.d.next = self.row_busy.q.val() + bit_cast::<32, 16>(self.live.val());
        }
        if self.c_q.val() {
            self.q.d.next = 0.into();
            self.dx.d.next = self.dx.q.val() + 1;
            // The next tap column's first word: 0, then +qstride, then −qstride.
            self.qoff.d.next = 0.into();
            if self.dx.q.val() == 1 {
                self.qoff.d.next = self.qstride.val();
            }
            if self.dx.q.val() == 2 {
                self.qoff.d.next = bits::<16>(0) - self.qstride.val();
            }
        }
        if self.c_dx2.val() {
            self.dx.d.next = 0.into();
            self.ty.d.next = self.ty.q.val() + 1;
        }
        if self.c_grp.val() {
            // The group's last word: its outputs follow it through the post.
            self.ty.d.next = 0.into();
            self.pend.d.next = true;
            self.pend_pxr.d.next = self.pxr.q.val();
            self.pend_rec.d.next = self.recg.q.val();
            self.pend_cg.d.next = self.cg.q.val();
            if self.single.val() {
                // Groups of one: the group's first channel is its index (`cg` then has no
                // reader and goes).
                self.pend_cg.d.next = self.g.q.val();
            }
            self.pend_live.d.next = self.live.val().get_bits::<5>(0);
            self.pend_xdiv.d.next = self.xdiv.q.val();
            self.pend_xmod.d.next = self.xmod.q.val();
            self.g.d.next = (self.g.q.val() + 1) & self.kmask.val();
            self.cg.d.next = (self.cg.q.val() + self.gsize.val()) & self.kmask.val();
            self.recg.d.next = self.recg.q.val() + self.rw[11].q.val();
            if self.single.val() {
                // The record step is the group size times up²: up² itself here (`rw[11]` then
                // has no reader).
                self.recg.d.next = self.recg.q.val() + self.sets_l.val();
            }
        }
        if self.c_pix.val() {
            self.g.d.next = 0.into();
            self.cg.d.next = 0.into();
            self.xo.d.next = (self.xo.q.val() + 1) & self.omask.val();
            self.j.d.next = self.j.q.val() + 1;
            self.recj.d.next = self.recj.q.val() + 1;
            self.recg.d.next = self.recj.q.val() + 1;
        }
        if self.c_pix.val() & self.last_pix.val() {
            self.issue_done.d.next = true;
        }
        if self.c_j.val() {
            self.j.d.next = 0.into();
            self.x.d.next = (self.x.q.val() + 1) & self.omask.val();
            self.col.d.next = self.col.q.val() + self.qstride.val();
            self.pxr.d.next = self.pxr.q.val() + self.rw[6].q.val();
            self.waddr.d.next = self.c_wrow.q.val();
            self.recj.d.next = self.c_crow.q.val();
            self.recg.d.next = self.c_crow.q.val();
            self.xmod.d.next = self.xmod.q.val() + 1;
            if bit_cast::<16, 4>(self.xmod.q.val() + 1) == self.h_r.q.val() {
                self.xmod.d.next = 0.into();
            }
        }
        if self.c_j.val() & (bit_cast::<16, 4>(self.xmod.q.val() + 1) == self.h_r.q.val()) {
            self.xdiv.d.next = (self.xdiv.q.val() + 1) & self.omask.val();
        }

        // ---- Post issue: one output per cycle (four input reads per tail output).
        self.coff.next = false;
        self.cw1.next = 0.into();
        for ph in 0..4 {
            if self.pend_xmod.q.val().index() == ph {
                self.coff.next = self.bil_m1[ph].q.val();
                self.cw1.next = self.bil_w1[ph].q.val();
            }
        }
        self.cb1.next = bit_cast::<16, 9>(self.cw1.val());
        self.cx0.next = self.pend_xdiv.q.val();
        if self.coff.val() {
            if self.pend_xdiv.q.val() == 0 {
                self.cb1.next = 0.into();
            } else {
                self.cx0.next = self.pend_xdiv.q.val() - 1;
            }
        }
        // The first column's word offset, cx0 · input channels (1..=4, as two terms like `ws`);
        // the second column is one pixel on unless cx0 is the last column.
        self.px_a.next = 0.into();
        if self.h_inch.q.val().get_bit(0) {
            self.px_a.next = self.cx0.val();
        }
        if self.h_inch.q.val().get_bit(2) {
            self.px_a.next = self.cx0.val() << 2;
        }
        self.px_b.next = 0.into();
        if self.h_inch.q.val().get_bit(1) {
            self.px_b.next = self.cx0.val() << 1;
        }
        self.px_step.next = self.cx0.val() + 1 != self.sw.val();
        self.pv.d.next = false;
        // A binary op's residual: its pixel in the source's centre row; the tail's input
        // words are addressed from its channel alone.
        self.pres_base.next = self.c_win[1].q.val() + self.pend_pxr.q.val();
        if self.is_tail.val() {
            self.pres_base.next = 0.into();
        }
        if (self.is_bin.val() & self.arr.done.val()) | (!self.is_bin.val() & self.mac.done.val()) {
            self.pend.d.next = false;
            self.pb.d.next = true;
            self.pk.d.next = 0.into();
            self.psub.d.next = 0.into();
            self.plive.d.next = self.pend_live.q.val();
            self.prec.d.next = self.pend_rec.q.val();
            self.pres.d.next = self.pres_base.val() + self.pend_cg.q.val();
            self.pb1.d.next = self.cb1.val();
            self.pxc.d.next = self.px_a.val() + self.px_b.val();
            self.pstep.d.next = self.px_step.val();
            for k in 0..P {
                self.sums[k].d.next = self.arr.sum[k].val();
            }
            for k in 0..M {
                self.accs[k].d.next = self.mac.acc[k].val();
            }
            if self.single.val() {
                self.psel.d.next = self.arr.sum[0].val();
                self.pacc.d.next = self.mac.acc[0].val();
            }
        }
        self.sum_pk.next = self.sums[0].q.val();
        for k in 0..P {
            if self.pk.q.val().index() == k {
                self.sum_pk.next = self.sums[k].q.val();
            }
        }
        self.acc_pk.next = self.accs[0].q.val();
        for k in 0..M {
            if self.pk.q.val().index() == k {
                self.acc_pk.next = self.accs[k].q.val();
            }
        }
        if self.pb.q.val() {
            self.thold.d.next = bit_cast::<CA, 16>(self.prec.q.val());
        }
        if self.pb.q.val() & !self.is_tail.val() {
            // Only a binary op reads its residual; a conv's issue loop owns the port.
            if self.is_bin.val() {
                self.fmem.read_address.next = bit_cast::<FA, 16>(self.pres.q.val());
            }
            self.pv.d.next = true;
            if !self.single.val() {
                self.psel.d.next = self.sum_pk.val();
                self.pacc.d.next = self.acc_pk.val();
            }
            self.pk.d.next = self.pk.q.val() + 1;
            self.prec.d.next = self.prec.q.val() + self.sets_l.val();
            self.pres.d.next = self.pres.q.val() + 1;
            if self.pk.q.val() + 1 == self.plive.q.val() {
                self.pb.d.next = false;
            }
        }
        // The tail's four reads (x00, x01, x10, x11): psub's bit 1 picks the row, bit 0 adds
        // the step to the second column (none at the last column), so one address path serves
        // all four.
        self.xa_row.next = self.c_xin[0].q.val();
        if self.psub.q.val().get_bit(1) {
            self.xa_row.next = self.c_xin[1].q.val();
        }
        self.xa_step.next = 0.into();
        if self.psub.q.val().get_bit(0) & self.pstep.q.val() {
            self.xa_step.next = self.h_inch.q.val();
        }
        self.xa_col.next = self.pxc.q.val() + self.xa_step.val();
        if self.pb.q.val() & self.is_tail.val() {
            self.psub.d.next = self.psub.q.val() + 1;
            self.xmem.read_address.next = bit_cast::<XA, 16>(self.xa_row.val() + self.xa_col.val() + self.pres.q.val());
            if self.psub.q.val() == 1 {
                self.px00.d.next = self.xmem.read_data.val();
            }
            if self.psub.q.val() == 2 {
                self.px01.d.next = self.xmem.read_data.val();
            }
            if self.psub.q.val() == 3 {
                self.px10.d.next = self.xmem.read_data.val();
                self.pv.d.next = true;
                self.psub.d.next = 0.into();
                if self.pk.q.val() + 1 == self.plive.q.val() {
                    self.pb.d.next = false;
                }
            }
        }
        if self.pb.q.val() & self.is_tail.val() & (self.psub.q.val() == 3) {
            if !self.single.val() {
                self.pacc.d.next = self.acc_pk.val();
            }
            self.pk.d.next = self.pk.q.val() + 1;
            self.prec.d.next = self.prec.q.val() + 1;
            self.pres.d.next = self.pres.q.val() + 1;
        }

        // ---- The post datapaths.
        self.post.valid_in.next = self.pv.q.val() & self.is_bin.val();
        self.post.pop.next = self.psel.q.val();
        self.post.resid.next = self.fmem.read_data.val();
        self.post.alpha.next = signed_cast(self.cmem[0].read_data.val());
        self.post.offset.next = signed_cast(
            bit_cast::<32, 16>(self.cmem[1].read_data.val()) | (bit_cast::<32, 16>(self.cmem[2].read_data.val()) << 16),
        );
        self.post.slope.next = signed_cast(self.cmem[3].read_data.val());
        self.post.bias1.next = signed_cast(
            bit_cast::<32, 16>(self.cmem[4].read_data.val()) | (bit_cast::<32, 16>(self.cmem[5].read_data.val()) << 16),
        );
        self.post.shift.next = self.rw[4].q.val().get_bits::<5>(0);
        // A conv's rounded outputs (the tail's never reach the slope).
        self.slope.valid_in.next = self.post.valid_out.val() | (self.outpx.t_valid.val() & !self.is_tail.val());
        self.slope.v.next = self.post.result.val();
        // The op's slope, if its record enables one: a binary op's post slope, a conv's slope
        // (the record does not change while outputs are in flight, so neither needs a delay).
        self.slope.s.next = self.unit_slope.val();
        if (self.is_bin.val() & self.rw[0].q.val().get_bit(5)) | (!self.is_bin.val() & self.rw[0].q.val().get_bit(4)) {
            self.slope.s.next = signed_cast(self.rw[5].q.val());
        }
        if !self.is_bin.val() {
            self.slope.v.next = self.outpx.t.val();
        }
        // Both a conv's output and a tail pixel enter the output pixel's rounding in the cycle
        // after the post issue addressed their constants (`prec`), so the bias is the
        // constant memory's output as it stands.
        self.outpx.valid_in.next = self.pv.q.val() & self.is_tail.val();
        self.outpx.t_only.next = self.pv.q.val() & !self.is_bin.val() & !self.is_tail.val();
        self.outpx.acc.next = self.pacc.q.val();
        self.outpx.bias.next = bit_cast::<48, 16>(self.cmem[0].read_data.val())
            | (bit_cast::<48, 16>(self.cmem[1].read_data.val()) << 16)
            | (bit_cast::<48, 16>(self.cmem[2].read_data.val()) << 32);
        // Conv and tail shifts are at most `MAX_SHIFT` (< 32, the compiler refuses more), so
        // the rounding's step by 32 is never taken: with bit 5 at 0 synthesis drops it.
        self.outpx.shift.next = bit_cast::<6, 5>(self.rw[4].q.val().get_bits::<5>(0));
        self.outpx.subtract.next = self.h_sub.q.val();
        self.outpx.x00.next = self.px00.q.val();
        self.outpx.x01.next = self.px01.q.val();
        self.outpx.x10.next = self.px10.q.val();
        self.outpx.x11.next = self.xmem.read_data.val();
        self.outpx.a1.next = self.c_a1.q.val().get_bits::<9>(0);
        self.outpx.b1.next = self.pb1.q.val().get_bits::<9>(0);
        self.outpx.k_out.next =
            bit_cast::<32, 16>(self.h_kout[0].q.val()) | (bit_cast::<32, 16>(self.h_kout[1].q.val()) << 16);
        if self.single.val() {
            // The tail's records carry k_out in their threshold words (no layer follows it),
            // read at `thold`: within a tail row every record held there is the tail's, all
            // with the same k_out, and a row's pixels are out before the next row's first post
            // issue. The header's copy then has no reader.
            self.outpx.k_out.next = bit_cast::<32, 16>(self.cmem[6].read_data.val())
                | (bit_cast::<32, 16>(self.cmem[7].read_data.val()) << 16);
        }
        self.outpx.frac.next = self.h_frac.q.val();
        // A row's pixels are all out before the input stage runs (RowRun waits for them).
        self.outpx.ext_x.next = self.inword.mx.val();
        self.outpx.ext_y.next = self.inword.my.val();
        self.outpx.ext_add.next = self.inword.madd.val();
        self.inword.mp.next = self.outpx.ext_p.val();

        if self.wb_valid.val() {
            self.fmem.write_enable.next = true;
            self.wbf.d.next = self.wbf.q.val() + 1;
            self.wbc.d.next = (self.wbc.q.val() + 1) & self.kmask.val();
            if self.wbc.q.val() + 1 == self.rw[2].q.val() {
                self.wbc.d.next = 0.into();
            }
        }
        if self.wb_valid.val() & self.f_bits.val() {
            self.bitreg.d.next = self.wb_word.val();
            if self.wb_wend.val() {
                // The compiler keeps an op that writes bits to the input memory from reading
                // it in the same row, and the input stage runs between rows.
                if (self.wbb.q.val() & self.xhalf.val()) != 0 {
                    self.xmem.write_enable.next = true;
                    self.xmem.write_data.next = signed_cast(self.wb_word.val());
                } else {
                    self.bmem.write_enable.next = true;
                }
                self.bitreg.d.next = 0.into();
            }
        }
        if self.wb_valid.val() & self.f_bits.val() & self.wb_wend.val() {
            self.wbb.d.next = self.wbb.q.val() + 1;
        }
        self.o_push.next = self.outpx.valid_out.val();
        // Outputs in flight between the post issue and the write-back / output buffer.
        if self.pv.q.val() & !(self.wb_valid.val() | self.o_push.val()) {
            self.outstanding.d.next = self.outstanding.q.val() + 1;
        }
        if !self.pv.q.val() & (self.wb_valid.val() | self.o_push.val()) {
            self.outstanding.d.next = self.outstanding.q.val() - 1;
        }

        // ---- Input words into the input ring, in arrival order.
        if self.inword.valid_out.val() {
            self.xmem.write_enable.next = true;
            self.wbb.d.next = self.wbb.q.val() + 1;
        }

        // ---- Output buffer: a ring of bytes drained through a one-byte register.
        self.obuf.write_enable.next = self.o_push.val();
        self.obuf.write_address.next = bit_cast::<OA, 16>(self.owp.q.val());
        self.obuf.write_data.next = self.outpx.pixel.val();
        self.obuf.read_address.next = bit_cast::<OA, 16>(self.orp.q.val());
        if self.o_push.val() {
            self.owp.d.next = (self.owp.q.val() + 1) & self.omask.val();
        }
        self.o_pop.next = self.o_have.q.val() & self.out_ready.val();
        if self.o_pend.q.val() {
            self.o_byte.d.next = self.obuf.read_data.val();
            self.o_have.d.next = true;
            self.o_pend.d.next = false;
        } else if !self.o_have.q.val() & (self.owp.q.val() != self.orp.q.val()) {
            self.o_pend.d.next = true;
            self.orp.d.next = (self.orp.q.val() + 1) & self.omask.val();
        }
        if self.o_pop.val() {
            self.o_have.d.next = false;
        }
        if self.o_push.val() & !self.o_pop.val() {
            self.ocount.d.next = (self.ocount.q.val() + 1) & self.omask.val();
        }
        if !self.o_push.val() & self.o_pop.val() {
            self.ocount.d.next = (self.ocount.q.val() - 1) & self.omask.val();
        }
        self.out_valid.next = self.o_have.q.val();
        self.out_pending.next = self.o_have.q.val() | self.o_pend.q.val() | (self.owp.q.val() != self.orp.q.val());
        self.out_data.next = self.o_byte.q.val();
    }
}
