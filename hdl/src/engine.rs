//! The whole engine: memories, the row-wavefront sequencer, the XNOR-popcount array with its
//! post datapath, the full-precision MAC lanes, the input and output stages, and the
//! performance counters. It runs the layer program of `bbcu_arch::program` exactly as the
//! reference model `bbcu_arch::refmodel` does (same memories, same addresses, same order).
//!
//! Per strip the sequencer walks the wavefront: in step `u` it takes one input row (every
//! `r` steps), then visits every op; an op whose countdown has run out computes one row of
//! its destination ring. A row is a loop over output pixels × output groups × taps × input
//! words (binary) or input channels (full precision), one word per cycle into the array or the
//! MAC lanes. When a group's sum is complete its outputs go through the post datapath (one per
//! cycle, while the next group is counted) and are written back by a counter that replays
//! the same order, so no address travels down the pipelines.
//!
//! Ports:
//! - load: `load_we`, `load_mem` (1 program, 2 weight, 3 fp weight, 4 const; `bbcu_arch::image::Mem`),
//!   `load_addr` (flat word address as in the image), `load_data` (the word, low bits);
//! - strip: `start` with `strip_w`, `strip_h`, `keep_x0`, `keep_w`; `busy`, `done` (one cycle),
//!   `error` (no valid program);
//! - `in_data`/`in_valid`/`in_ready`: input pixels, row-major, channels fastest (HWC);
//! - `out_data`/`out_valid`/`out_ready`: output pixels of the kept columns, HWC per row;
//! - `cnt_sel` → `cnt_data`: 0 total cycles, 1 stall cycles, 2 + 2l cycles of op l,
//!   3 + 2l busy PE- (or lane-) cycles of op l (valid while idle).

use crate::bram::Bram;
use crate::fp::{ConvPost, InWord, MacLanes, OutPixel, Slope};
use crate::post::Post;
use crate::spram::SpRam;
use crate::{PeArray16, PeArray32, PeArray64};
use rust_hdl::prelude::*;

#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum Phase {
    Idle,
    Hdr,
    Bil,
    InitOps,
    Step,
    InRow,
    InDrain,
    OpFetch,
    OpDecide,
    TailWait,
    Setup,
    RowRun,
    RowDrain,
    RowEnd,
    Next,
    Done,
}

/// Words of the program header and of one op record (`bbcu_arch::program`).
pub const HEADER_WORDS: usize = 32;
pub const OP_WORDS: usize = 48;
/// Header and record words the sequencer keeps.
const HDR_KEEP: usize = 25;
const REC_KEEP: usize = 45;
/// Latency of the delay lines beside the post datapaths.
pub(crate) const BIN_LAT: usize = Post::LATENCY + Slope::LATENCY;
pub(crate) const CONV_LAT: usize = ConvPost::LATENCY;

macro_rules! engine {
    ($(#[$meta:meta])* $name:ident, $array:ident, $lanes:literal, $ring:ident) => {
        $(#[$meta])*
        #[derive(LogicBlock)]
        pub struct $name<
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
            pub cnt_sel: Signal<In, Bits<8>>,
            pub cnt_data: Signal<Out, Bits<32>>,

            // Memories.
            prog: Bram<Bits<16>, PA>,
            wmem: [Bram<Bits<$lanes>, WA>; P],
            fpw: [Bram<Signed<16>, FWA>; M],
            cmem: [Bram<Bits<16>, CA>; 8],
            // The feature and input rings: `SpRam` (UP5K SPRAM) or `RAM` (EBR).
            fmem: $ring<Signed<16>, FA>,
            xmem: $ring<Signed<16>, XA>,
            bmem: Bram<Bits<$lanes>, BA>,
            obuf: Bram<Bits<8>, OA>,
            // Op state, two 48-bit halves per op (address 2l + h): half 0 holds the countdown,
            // row and aux fields, half 1 the sub-row and ring slots. 48 bits are three EBR
            // where one 88-bit word took six; each half is written on its own cycle.
            opst: Bram<Bits<48>, 6>,
            cnts: Bram<Bits<32>, 7>,

            // Datapaths.
            arr: $array<P>,
            post: Post,
            slope: Slope,
            mac: MacLanes<M>,
            cpost: ConvPost,
            outpx: OutPixel,
            inword: InWord,

            // Sequencer state.
            phase: DFF<Phase>,
            fi: DFF<Bits<16>>,
            hdr: [DFF<Bits<16>>; HDR_KEEP],
            rec: [DFF<Bits<16>>; REC_KEEP],
            bil: [DFF<Bits<16>>; 8],
            sw: DFF<Bits<16>>,
            sh: DFF<Bits<16>>,
            kx0: DFF<Bits<16>>,
            kw: DFF<Bits<16>>,
            l: DFF<Bits<8>>,
            opbase: DFF<Bits<16>>,
            tail_delay: DFF<Bits<16>>,
            u: DFF<Bits<32>>,
            u_last: DFF<Bits<32>>,
            u_sub: DFF<Bits<4>>,
            y_in: DFF<Bits<16>>,
            x_slot: DFF<Bits<8>>,
            in_x: DFF<Bits<16>>,
            in_c: DFF<Bits<8>>,
            in_left: DFF<Bits<32>>,
            xw_ptr: DFF<Bits<32>>,
            // x_slot · input pitch, kept as x_slot moves (the input ring's row offset).
            x_off: DFF<Bits<32>>,
            // The setup multiplier's operands, registered: a product is ready the cycle after
            // its operands are chosen, and the op-state decode never feeds the multiplier in
            // the same cycle (the path that limited the ECP5 build to 30.85 MHz).
            mop_a: DFF<Bits<16>>,
            mop_b: DFF<Bits<32>>,
            // The window and bilinear ring slots, registered (the op state is stable for the
            // whole row setup).
            wsl: [DFF<Bits<8>>; 3],
            tsl: [DFF<Bits<8>>; 2],
            st: DFF<Bits<88>>,
            // The op state after this row, registered while the row runs (the op state and
            // record are stable from the row setup on), so RowDrain writes a register instead
            // of the ring-slot arithmetic (the ECP5 build's critical path at 41 MHz).
            st_row: DFF<Bits<88>>,
            row_out_bytes: DFF<Bits<32>>,
            shr: DFF<Bits<32>>,
            kwr: DFF<Bits<32>>,
            // Row setup results.
            res_base: DFF<Bits<32>>,
            wb_fbase: DFF<Bits<32>>,
            wb_bbase: DFF<Bits<32>>,
            iu: DFF<Bits<32>>,
            wrow: DFF<Bits<32>>,
            rec_row: DFF<Bits<32>>,
            xr: [DFF<Bits<32>>; 2],
            t_a1: DFF<Bits<16>>,
            xo_end: DFF<Bits<32>>,
            lastmask: DFF<Bits<$lanes>>,
            // Issue loop.
            issue_done: DFF<Bit>,
            xo: DFF<Bits<32>>,
            x: DFF<Bits<32>>,
            j: DFF<Bits<4>>,
            g: DFF<Bits<16>>,
            cg: DFF<Bits<16>>,
            ty: DFF<Bits<2>>,
            dx: DFF<Bits<2>>,
            q: DFF<Bits<16>>,
            // The issue address in two registered halves, kept as the loop moves, so the
            // address is one mux and one add (it was window row + column + word ± stride,
            // three adders before the feature memory's address fan-out: the ECP5 critical
            // path at 40.5 MHz): for each tap row t its window row's base plus the column's
            // offset (x · words per pixel), and q + (dx − 1)·qstride.
            rp: [DFF<Bits<32>>; 3],
            qoff: DFF<Bits<32>>,
            pxr: DFF<Bits<32>>,
            waddr: DFF<Bits<32>>,
            recj: DFF<Bits<32>>,
            recg: DFF<Bits<32>>,
            xdiv: DFF<Bits<16>>,
            xmod: DFF<Bits<4>>,
            iss_v: DFF<Bit>,
            iss_ok: DFF<Bit>,
            iss_first: DFF<Bit>,
            iss_last: DFF<Bit>,
            iss_lastq: DFF<Bit>,
            // The group whose last word is in the array / MAC pipeline.
            pend: DFF<Bit>,
            pend_pxr: DFF<Bits<32>>,
            pend_rec: DFF<Bits<32>>,
            pend_cg: DFF<Bits<16>>,
            pend_live: DFF<Bits<16>>,
            pend_xdiv: DFF<Bits<16>>,
            pend_xmod: DFF<Bits<4>>,
            // Post issue.
            pb: DFF<Bit>,
            pk: DFF<Bits<16>>,
            plive: DFF<Bits<16>>,
            prec: DFF<Bits<32>>,
            pres: DFF<Bits<32>>,
            psub: DFF<Bits<4>>,
            pxc: [DFF<Bits<32>>; 2],
            pb1: DFF<Bits<16>>,
            sums: [DFF<Signed<16>>; P],
            accs: [DFF<Bits<48>>; M],
            pv: DFF<Bit>,
            psel: DFF<Signed<16>>,
            pacc: DFF<Bits<48>>,
            px00: DFF<Signed<16>>,
            px01: DFF<Signed<16>>,
            px10: DFF<Signed<16>>,
            pbias: DFF<Bits<48>>,
            tline: [DFF<Bits<17>>; BIN_LAT],
            outstanding: DFF<Bits<16>>,
            // Write-back.
            wbf: DFF<Bits<32>>,
            wbb: DFF<Bits<32>>,
            wbc: DFF<Bits<16>>,
            bitreg: DFF<Bits<$lanes>>,
            // Output buffer.
            owp: DFF<Bits<32>>,
            orp: DFF<Bits<32>>,
            ocount: DFF<Bits<32>>,
            o_have: DFF<Bit>,
            o_pend: DFF<Bit>,
            o_byte: DFF<Bits<8>>,
            // Counters.
            total: DFF<Bits<32>>,
            stall: DFF<Bits<32>>,
            row_cyc: DFF<Bits<32>>,
            row_busy: DFF<Bits<32>>,
            err: DFF<Bit>,

            // Constants (fpga-notes §3.2: no const generics inside kernels).
            wa_sh: Constant<Bits<8>>,
            fwa_sh: Constant<Bits<8>>,
            p_c: Constant<Bits<16>>,
            m_c: Constant<Bits<16>>,
            lanes_c: Constant<Bits<16>>,
            lane_mask: Constant<Bits<16>>,
            ones: Constant<Bits<$lanes>>,
            obuf_cap: Constant<Bits<32>>,
            unit_slope: Constant<Signed<16>>,
            magic: Constant<Bits<16>>,
            hdr_words: Constant<Bits<16>>,
            hdr_keep: Constant<Bits<16>>,
            rec_keep: Constant<Bits<16>>,
            in_lat: Constant<Bits<16>>,
            op_words: Constant<Bits<16>>,
            mul_wide: Constant<Bit>,

            // Combinational locals.
            is_bin: Signal<Local, Bit>,
            is_tail: Signal<Local, Bit>,
            f_bits: Signal<Local, Bit>,
            f_input: Signal<Local, Bit>,
            f_cout: Signal<Local, Bits<16>>,
            f_up: Signal<Local, Bits<16>>,
            f_period: Signal<Local, Bits<16>>,
            f_wbase: Signal<Local, Bits<32>>,
            f_cbase: Signal<Local, Bits<32>>,
            f_src_ch: Signal<Local, Bits<16>>,
            f_src_scale: Signal<Local, Bits<16>>,
            f_src_frows: Signal<Local, Bits<16>>,
            f_src_fbase: Signal<Local, Bits<32>>,
            f_src_brows: Signal<Local, Bits<16>>,
            f_src_bbase: Signal<Local, Bits<32>>,
            f_dst_frows: Signal<Local, Bits<16>>,
            f_dst_fbase: Signal<Local, Bits<32>>,
            f_dst_brows: Signal<Local, Bits<16>>,
            f_dst_bbase: Signal<Local, Bits<32>>,
            f_groups: Signal<Local, Bits<16>>,
            f_qsrc: Signal<Local, Bits<16>>,
            f_lastl: Signal<Local, Bits<16>>,
            f_spf: Signal<Local, Bits<32>>,
            f_spb: Signal<Local, Bits<32>>,
            f_dpf: Signal<Local, Bits<32>>,
            f_dpb: Signal<Local, Bits<32>>,
            f_perset: Signal<Local, Bits<32>>,
            f_recstep: Signal<Local, Bits<32>>,
            h_nops: Signal<Local, Bits<16>>,
            h_inch: Signal<Local, Bits<16>>,
            h_outch: Signal<Local, Bits<16>>,
            h_r: Signal<Local, Bits<16>>,
            h_sub: Signal<Local, Bit>,
            h_frac: Signal<Local, Bits<4>>,
            h_kin: Signal<Local, Bits<32>>,
            h_kout: Signal<Local, Bits<32>>,
            h_xfrows: Signal<Local, Bits<16>>,
            h_xfbase: Signal<Local, Bits<32>>,
            h_bil: Signal<Local, Bits<16>>,
            h_xpitch: Signal<Local, Bits<32>>,
            s_cd: Signal<Local, Bits<16>>,
            s_nu: Signal<Local, Bits<16>>,
            s_aux: Signal<Local, Bits<16>>,
            s_isub: Signal<Local, Bits<4>>,
            s_sb: Signal<Local, Bits<8>>,
            s_sf: Signal<Local, Bits<8>>,
            s_df: Signal<Local, Bits<8>>,
            s_db: Signal<Local, Bits<8>>,
            hs: Signal<Local, Bits<32>>,
            hd: Signal<Local, Bits<32>>,
            ws: Signal<Local, Bits<32>>,
            rho: Signal<Local, Bits<16>>,
            qn: Signal<Local, Bits<16>>,
            qstride: Signal<Local, Bits<32>>,
            gsize: Signal<Local, Bits<16>>,
            mul_a: Signal<Local, Bits<16>>,
            mul_b: Signal<Local, Bits<32>>,
            mul_p: Signal<Local, Bits<32>>,
            wslot: [Signal<Local, Bits<8>>; 3],
            wrows: Signal<Local, Bits<16>>,
            wbase_l: Signal<Local, Bits<32>>,
            wpitch: Signal<Local, Bits<32>>,
            toff: Signal<Local, Bits<16>>,
            tw1: Signal<Local, Bits<16>>,
            ty0: Signal<Local, Bits<16>>,
            tsl0: Signal<Local, Bits<8>>,
            tsl1: Signal<Local, Bits<8>>,
            rowbase: Signal<Local, Bits<32>>,
            iaddr: Signal<Local, Bits<32>>,
            tap_ok: Signal<Local, Bit>,
            live: Signal<Local, Bits<16>>,
            last_word: Signal<Local, Bit>,
            last_group: Signal<Local, Bit>,
            last_j: Signal<Local, Bit>,
            last_pix: Signal<Local, Bit>,
            cx0: Signal<Local, Bits<16>>,
            cx1: Signal<Local, Bits<16>>,
            cb1: Signal<Local, Bits<16>>,
            coff: Signal<Local, Bits<16>>,
            wb_valid: Signal<Local, Bit>,
            wb_val: Signal<Local, Signed<16>>,
            wb_t: Signal<Local, Bits<17>>,
            wb_bit: Signal<Local, Bit>,
            wb_tl: Signal<Local, Bits<16>>,
            wb_word: Signal<Local, Bits<$lanes>>,
            wb_wend: Signal<Local, Bit>,
            o_push: Signal<Local, Bit>,
            o_pop: Signal<Local, Bit>,
            st_next: Signal<Local, Bits<88>>,
            opst_hi: Signal<Local, Bit>,
            inc_isub: Signal<Local, Bits<4>>,
            isub_wrap: Signal<Local, Bit>,
            n_sb: Signal<Local, Bits<8>>,
            n_sf: Signal<Local, Bits<8>>,
            n_df: Signal<Local, Bits<8>>,
            n_db: Signal<Local, Bits<8>>,
            n_aux: Signal<Local, Bits<16>>,
            sets_l: Signal<Local, Bits<16>>,
            tmul: [Signal<Local, Bits<32>>; 2],
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
            > Default for $name<P, M, FA, XA, BA, WA, FWA, CA, PA, OA>
        {
            fn default() -> Self {
                assert!(P >= 1 && P <= 9 && M >= 1 && M <= 16);
                // The threshold delay line is tapped at these literal indices in the kernel.
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
                    cnt_sel: Default::default(),
                    cnt_data: Default::default(),
                    prog: Default::default(),
                    wmem: std::array::from_fn(|_| Default::default()),
                    fpw: std::array::from_fn(|_| Default::default()),
                    cmem: std::array::from_fn(|_| Default::default()),
                    fmem: Default::default(),
                    xmem: Default::default(),
                    bmem: Default::default(),
                    obuf: Default::default(),
                    opst: Default::default(),
                    cnts: Default::default(),
                    arr: Default::default(),
                    post: Default::default(),
                    slope: Default::default(),
                    mac: Default::default(),
                    cpost: Default::default(),
                    outpx: Default::default(),
                    inword: Default::default(),
                    phase: Default::default(),
                    fi: Default::default(),
                    hdr: std::array::from_fn(|_| Default::default()),
                    rec: std::array::from_fn(|_| Default::default()),
                    bil: std::array::from_fn(|_| Default::default()),
                    sw: Default::default(),
                    sh: Default::default(),
                    kx0: Default::default(),
                    kw: Default::default(),
                    l: Default::default(),
                    opbase: Default::default(),
                    tail_delay: Default::default(),
                    u: Default::default(),
                    u_last: Default::default(),
                    u_sub: Default::default(),
                    y_in: Default::default(),
                    x_slot: Default::default(),
                    x_off: Default::default(),
                    mop_a: Default::default(),
                    mop_b: Default::default(),
                    wsl: std::array::from_fn(|_| Default::default()),
                    tsl: std::array::from_fn(|_| Default::default()),
                    in_x: Default::default(),
                    in_c: Default::default(),
                    in_left: Default::default(),
                    xw_ptr: Default::default(),
                    st: Default::default(),
                    st_row: Default::default(),
                    row_out_bytes: Default::default(),
                    shr: Default::default(),
                    kwr: Default::default(),
                    res_base: Default::default(),
                    wb_fbase: Default::default(),
                    wb_bbase: Default::default(),
                    iu: Default::default(),
                    wrow: Default::default(),
                    rec_row: Default::default(),
                    xr: std::array::from_fn(|_| Default::default()),
                    t_a1: Default::default(),
                    xo_end: Default::default(),
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
                    rp: Default::default(),
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
                    pxc: std::array::from_fn(|_| Default::default()),
                    pb1: Default::default(),
                    sums: std::array::from_fn(|_| Default::default()),
                    accs: std::array::from_fn(|_| Default::default()),
                    pv: Default::default(),
                    psel: Default::default(),
                    pacc: Default::default(),
                    px00: Default::default(),
                    px01: Default::default(),
                    px10: Default::default(),
                    pbias: Default::default(),
                    tline: std::array::from_fn(|_| Default::default()),
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
                    err: Default::default(),
                    wa_sh: Constant::new(bits::<8>(WA as u64)),
                    fwa_sh: Constant::new(bits::<8>(FWA as u64)),
                    p_c: Constant::new(bits::<16>(P as u64)),
                    m_c: Constant::new(bits::<16>(M as u64)),
                    lanes_c: Constant::new(bits::<16>($lanes)),
                    lane_mask: Constant::new(bits::<16>($lanes - 1)),
                    ones: Constant::new(!Bits::<$lanes>::default()),
                    obuf_cap: Constant::new(bits::<32>(1 << OA)),
                    unit_slope: Constant::new(signed::<16>(4096)),
                    magic: Constant::new(bits::<16>(0xBBC1)),
                    hdr_words: Constant::new(bits::<16>(HEADER_WORDS as u64)),
                    hdr_keep: Constant::new(bits::<16>(HDR_KEEP as u64)),
                    rec_keep: Constant::new(bits::<16>(REC_KEEP as u64)),
                    in_lat: Constant::new(bits::<16>(InWord::LATENCY as u64)),
                    op_words: Constant::new(bits::<16>(OP_WORDS as u64)),
                    // The setup multiplier's upper 16×16 product only reaches address bits
                    // 16 and up (its 32-bit operand exceeds 16 bits only for pitches and
                    // weight strides); with every ring and weight memory at most 2^16 words
                    // those bits are cut off, and the product needs one SB_MAC16, not two.
                    mul_wide: Constant::new([FA, XA, BA, WA, FWA].into_iter().max().unwrap() > 16),
                    is_bin: Default::default(),
                    is_tail: Default::default(),
                    f_bits: Default::default(),
                    f_input: Default::default(),
                    f_cout: Default::default(),
                    f_up: Default::default(),
                    f_period: Default::default(),
                    f_wbase: Default::default(),
                    f_cbase: Default::default(),
                    f_src_ch: Default::default(),
                    f_src_scale: Default::default(),
                    f_src_frows: Default::default(),
                    f_src_fbase: Default::default(),
                    f_src_brows: Default::default(),
                    f_src_bbase: Default::default(),
                    f_dst_frows: Default::default(),
                    f_dst_fbase: Default::default(),
                    f_dst_brows: Default::default(),
                    f_dst_bbase: Default::default(),
                    f_groups: Default::default(),
                    f_qsrc: Default::default(),
                    f_lastl: Default::default(),
                    f_spf: Default::default(),
                    f_spb: Default::default(),
                    f_dpf: Default::default(),
                    f_dpb: Default::default(),
                    f_perset: Default::default(),
                    f_recstep: Default::default(),
                    h_nops: Default::default(),
                    h_inch: Default::default(),
                    h_outch: Default::default(),
                    h_r: Default::default(),
                    h_sub: Default::default(),
                    h_frac: Default::default(),
                    h_kin: Default::default(),
                    h_kout: Default::default(),
                    h_xfrows: Default::default(),
                    h_xfbase: Default::default(),
                    h_bil: Default::default(),
                    h_xpitch: Default::default(),
                    s_cd: Default::default(),
                    s_nu: Default::default(),
                    s_aux: Default::default(),
                    s_isub: Default::default(),
                    s_sb: Default::default(),
                    s_sf: Default::default(),
                    s_df: Default::default(),
                    s_db: Default::default(),
                    hs: Default::default(),
                    hd: Default::default(),
                    ws: Default::default(),
                    rho: Default::default(),
                    qn: Default::default(),
                    qstride: Default::default(),
                    gsize: Default::default(),
                    mul_a: Default::default(),
                    mul_b: Default::default(),
                    mul_p: Default::default(),
                    wslot: std::array::from_fn(|_| Default::default()),
                    wrows: Default::default(),
                    wbase_l: Default::default(),
                    wpitch: Default::default(),
                    toff: Default::default(),
                    tw1: Default::default(),
                    ty0: Default::default(),
                    tsl0: Default::default(),
                    tsl1: Default::default(),
                    rowbase: Default::default(),
                    iaddr: Default::default(),
                    tap_ok: Default::default(),
                    live: Default::default(),
                    last_word: Default::default(),
                    last_group: Default::default(),
                    last_j: Default::default(),
                    last_pix: Default::default(),
                    cx0: Default::default(),
                    cx1: Default::default(),
                    cb1: Default::default(),
                    coff: Default::default(),
                    wb_valid: Default::default(),
                    wb_val: Default::default(),
                    wb_t: Default::default(),
                    wb_bit: Default::default(),
                    wb_tl: Default::default(),
                    wb_word: Default::default(),
                    wb_wend: Default::default(),
                    o_push: Default::default(),
                    o_pop: Default::default(),
                    st_next: Default::default(),
                    opst_hi: Default::default(),
                    inc_isub: Default::default(),
                    isub_wrap: Default::default(),
                    n_sb: Default::default(),
                    n_sf: Default::default(),
                    n_df: Default::default(),
                    n_db: Default::default(),
                    n_aux: Default::default(),
                    sets_l: Default::default(),
                    tmul: std::array::from_fn(|_| Default::default()),
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
            > crate::sim::Clocked for $name<P, M, FA, XA, BA, WA, FWA, CA, PA, OA>
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
            > Logic for $name<P, M, FA, XA, BA, WA, FWA, CA, PA, OA>
        {
            #[hdl_gen]
            fn update(&mut self) {
                dff_setup!(
                    self, clock, phase, fi, sw, sh, kx0, kw, l, opbase, tail_delay, u, u_last, u_sub, y_in, x_slot, x_off, mop_a, mop_b,
                    in_x, in_c, in_left, xw_ptr, st, st_row, row_out_bytes, kwr, shr, res_base, wb_fbase, wb_bbase, iu, wrow, rec_row,
                    t_a1, xo_end, lastmask, issue_done, xo, x, j, g, cg, ty, dx, q, qoff, pxr, waddr, recj, recg, xdiv,
                    xmod, iss_v, iss_ok, iss_first, iss_last, iss_lastq, pend, pend_pxr, pend_rec, pend_cg, pend_live,
                    pend_xdiv, pend_xmod, pb, pk, plive, prec, pres, psub, pb1, pv, psel, pacc, px00, px01, px10,
                    pbias, outstanding, wbf, wbb, wbc, bitreg, owp, orp, ocount, o_have, o_pend, o_byte, total,
                    stall, row_cyc, row_busy, err
                );
                for i in 0..HDR_KEEP {
                    self.hdr[i].clock.next = self.clock.val();
                    self.hdr[i].d.next = self.hdr[i].q.val();
                }
                for i in 0..REC_KEEP {
                    self.rec[i].clock.next = self.clock.val();
                    self.rec[i].d.next = self.rec[i].q.val();
                }
                for i in 0..8 {
                    self.bil[i].clock.next = self.clock.val();
                    self.bil[i].d.next = self.bil[i].q.val();
                }
                for i in 0..3 {
                    self.rp[i].clock.next = self.clock.val();
                    self.wsl[i].clock.next = self.clock.val();
                    self.rp[i].d.next = self.rp[i].q.val();
                }
                for i in 0..2 {
                    self.xr[i].clock.next = self.clock.val();
                    self.tsl[i].clock.next = self.clock.val();
                    self.xr[i].d.next = self.xr[i].q.val();
                    self.pxc[i].clock.next = self.clock.val();
                    self.pxc[i].d.next = self.pxc[i].q.val();
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
                    self.tline[i].clock.next = self.clock.val();
                }
                self.tline[0].d.next = self.tline[0].q.val();
                for i in 1..BIN_LAT {
                    self.tline[i].d.next = self.tline[i - 1].q.val();
                }
                clock!(self, clock, arr, post, slope, mac, cpost, outpx, inword);
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
                self.opst.read_clock.next = self.clock.val();
                self.opst.write_clock.next = self.clock.val();
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

                // ---- Decoded fields of the header and of the current op record.
                self.h_nops.next = self.hdr[2].q.val();
                self.h_inch.next = self.hdr[3].q.val();
                self.h_outch.next = self.hdr[4].q.val();
                self.h_r.next = self.hdr[5].q.val();
                self.h_sub.next = self.hdr[8].q.val().get_bit(0);
                self.h_frac.next = self.hdr[9].q.val().get_bits::<4>(0);
                self.h_kin.next = bit_cast::<32, 16>(self.hdr[10].q.val()) | (bit_cast::<32, 16>(self.hdr[11].q.val()) << 16);
                self.h_kout.next = bit_cast::<32, 16>(self.hdr[12].q.val()) | (bit_cast::<32, 16>(self.hdr[13].q.val()) << 16);
                self.h_xfrows.next = self.hdr[16].q.val();
                self.h_xfbase.next = bit_cast::<32, 16>(self.hdr[17].q.val()) | (bit_cast::<32, 16>(self.hdr[18].q.val()) << 16);
                self.h_bil.next = self.hdr[22].q.val();
                self.h_xpitch.next = bit_cast::<32, 16>(self.hdr[23].q.val()) | (bit_cast::<32, 16>(self.hdr[24].q.val()) << 16);

                self.is_bin.next = self.rec[0].q.val().get_bits::<4>(0) == 1;
                self.is_tail.next = self.rec[0].q.val().get_bits::<4>(0) == 3;
                self.f_bits.next = self.rec[0].q.val().get_bit(6);
                self.f_input.next = self.rec[0].q.val().get_bit(7);
                self.f_cout.next = self.rec[2].q.val();
                self.f_up.next = self.rec[3].q.val();
                self.f_period.next = self.rec[5].q.val();
                self.f_wbase.next = bit_cast::<32, 16>(self.rec[6].q.val()) | (bit_cast::<32, 16>(self.rec[7].q.val()) << 16);
                self.f_cbase.next = bit_cast::<32, 16>(self.rec[8].q.val()) | (bit_cast::<32, 16>(self.rec[9].q.val()) << 16);
                self.f_src_ch.next = self.rec[13].q.val();
                self.f_src_scale.next = self.rec[14].q.val();
                self.f_src_frows.next = self.rec[15].q.val();
                self.f_src_fbase.next = bit_cast::<32, 16>(self.rec[16].q.val()) | (bit_cast::<32, 16>(self.rec[17].q.val()) << 16);
                self.f_src_brows.next = self.rec[18].q.val();
                self.f_src_bbase.next = bit_cast::<32, 16>(self.rec[19].q.val()) | (bit_cast::<32, 16>(self.rec[20].q.val()) << 16);
                self.f_dst_frows.next = self.rec[23].q.val();
                self.f_dst_fbase.next = bit_cast::<32, 16>(self.rec[24].q.val()) | (bit_cast::<32, 16>(self.rec[25].q.val()) << 16);
                self.f_dst_brows.next = self.rec[26].q.val();
                self.f_dst_bbase.next = bit_cast::<32, 16>(self.rec[27].q.val()) | (bit_cast::<32, 16>(self.rec[28].q.val()) << 16);
                self.f_groups.next = self.rec[29].q.val();
                self.f_qsrc.next = self.rec[31].q.val();
                self.f_lastl.next = self.rec[32].q.val();
                self.f_spf.next = bit_cast::<32, 16>(self.rec[34].q.val()) | (bit_cast::<32, 16>(self.rec[35].q.val()) << 16);
                self.f_spb.next = bit_cast::<32, 16>(self.rec[36].q.val()) | (bit_cast::<32, 16>(self.rec[37].q.val()) << 16);
                self.f_dpf.next = bit_cast::<32, 16>(self.rec[38].q.val()) | (bit_cast::<32, 16>(self.rec[39].q.val()) << 16);
                self.f_dpb.next = bit_cast::<32, 16>(self.rec[40].q.val()) | (bit_cast::<32, 16>(self.rec[41].q.val()) << 16);
                self.f_perset.next = bit_cast::<32, 16>(self.rec[42].q.val()) | (bit_cast::<32, 16>(self.rec[43].q.val()) << 16);
                self.f_recstep.next = bit_cast::<32, 16>(self.rec[44].q.val());

                // Op state word: countdown, row, aux (source row, or h / r for the tail),
                // sub-row, and the ring slots of the source bits / features and the
                // destination features / bits (the tail keeps the input ring's slot in `db`).
                self.s_cd.next = self.st.q.val().get_bits::<16>(0);
                self.s_nu.next = self.st.q.val().get_bits::<16>(16);
                self.s_aux.next = self.st.q.val().get_bits::<16>(32);
                self.s_isub.next = self.st.q.val().get_bits::<4>(48);
                self.s_sb.next = self.st.q.val().get_bits::<8>(52);
                self.s_sf.next = self.st.q.val().get_bits::<8>(60);
                self.s_df.next = self.st.q.val().get_bits::<8>(68);
                self.s_db.next = self.st.q.val().get_bits::<8>(76);

                // Heights and widths at the source resolution (scale ≤ 4: shifts and adds).
                self.hs.next = bit_cast::<32, 16>(self.sh.q.val());
                if self.f_src_scale.val() == 2 {
                    self.hs.next = bit_cast::<32, 16>(self.sh.q.val()) << 1;
                }
                if self.f_src_scale.val() == 3 {
                    self.hs.next = (bit_cast::<32, 16>(self.sh.q.val()) << 1) + bit_cast::<32, 16>(self.sh.q.val());
                }
                if self.f_src_scale.val() == 4 {
                    self.hs.next = bit_cast::<32, 16>(self.sh.q.val()) << 2;
                }
                self.ws.next = bit_cast::<32, 16>(self.sw.q.val());
                if self.f_src_scale.val() == 2 {
                    self.ws.next = bit_cast::<32, 16>(self.sw.q.val()) << 1;
                }
                if self.f_src_scale.val() == 3 {
                    self.ws.next = (bit_cast::<32, 16>(self.sw.q.val()) << 1) + bit_cast::<32, 16>(self.sw.q.val());
                }
                if self.f_src_scale.val() == 4 {
                    self.ws.next = bit_cast::<32, 16>(self.sw.q.val()) << 2;
                }
                self.hd.next = self.hs.val();
                if self.f_up.val() == 2 {
                    self.hd.next = self.hs.val() << 1;
                }
                if self.f_up.val() == 3 {
                    self.hd.next = (self.hs.val() << 1) + self.hs.val();
                }
                if self.f_up.val() == 4 {
                    self.hd.next = self.hs.val() << 2;
                }
                self.rho.next = self.s_aux.val();
                if self.is_tail.val() {
                    self.rho.next = self.s_nu.val();
                }
                self.qn.next = self.rec[1].q.val();
                self.qstride.next = bit_cast::<32, 16>(self.f_src_ch.val());
                self.gsize.next = self.m_c.val();
                if self.is_bin.val() {
                    self.qn.next = self.f_qsrc.val();
                    self.qstride.next = bit_cast::<32, 16>(self.f_qsrc.val());
                    self.gsize.next = self.p_c.val();
                }


                // The source window ring: bits for a binary op, features otherwise.
                self.wrows.next = self.f_src_frows.val();
                self.wbase_l.next = self.f_src_fbase.val();
                self.wpitch.next = self.f_spf.val();
                self.wslot[1].next = self.s_sf.val();
                if self.is_bin.val() {
                    self.wrows.next = self.f_src_brows.val();
                    self.wbase_l.next = self.f_src_bbase.val();
                    self.wpitch.next = self.f_spb.val();
                    self.wslot[1].next = self.s_sb.val();
                }
                if self.f_input.val() {
                    self.wrows.next = self.h_xfrows.val();
                    self.wbase_l.next = self.h_xfbase.val();
                    self.wpitch.next = self.h_xpitch.val();
                    self.wslot[1].next = self.s_sf.val();
                }
                self.wslot[0].next = self.wslot[1].val() - 1;
                if self.wslot[1].val() == 0 {
                    self.wslot[0].next = bit_cast::<8, 16>(self.wrows.val()) - 1;
                }
                self.wslot[2].next = self.wslot[1].val() + 1;
                if bit_cast::<16, 8>(self.wslot[1].val() + 1) == self.wrows.val() {
                    self.wslot[2].next = 0.into();
                }

                // The tail's bilinear row taps (phase = h mod r, kept in the sub-row field).
                self.toff.next = 0.into();
                self.tw1.next = 0.into();
                for ph in 0..4 {
                    if self.s_isub.val().index() == ph {
                        self.toff.next = self.bil[2 * ph].q.val();
                        self.tw1.next = self.bil[2 * ph + 1].q.val();
                    }
                }
                self.ty0.next = self.s_aux.val();
                self.tsl0.next = self.s_db.val();
                if self.toff.val() == 0xFFFF {
                    if self.s_aux.val() == 0 {
                        self.tw1.next = 0.into();
                    } else {
                        self.ty0.next = self.s_aux.val() - 1;
                        self.tsl0.next = self.s_db.val() - 1;
                        if self.s_db.val() == 0 {
                            self.tsl0.next = bit_cast::<8, 16>(self.h_xfrows.val()) - 1;
                        }
                    }
                }
                self.tsl1.next = self.tsl0.val() + 1;
                if bit_cast::<16, 8>(self.tsl0.val() + 1) == self.h_xfrows.val() {
                    self.tsl1.next = 0.into();
                }
                if self.ty0.val() + 1 == self.sh.q.val() {
                    self.tsl1.next = self.tsl0.val();
                }
                for i in 0..3 {
                    self.wsl[i].d.next = self.wslot[i].val();
                }
                self.tsl[0].d.next = self.tsl0.val();
                self.tsl[1].d.next = self.tsl1.val();

                // ---- The issue loop: one word per cycle into the array or the MAC lanes.
                self.rowbase.next = self.rp[1].q.val();
                if self.ty.q.val() == 0 {
                    self.rowbase.next = self.rp[0].q.val();
                }
                if self.ty.q.val() == 2 {
                    self.rowbase.next = self.rp[2].q.val();
                }
                self.iaddr.next = self.rowbase.val() + self.qoff.q.val();
                self.tap_ok.next = true;
                if (self.ty.q.val() == 0) & (self.rho.val() == 0) {
                    self.tap_ok.next = false;
                }
                if (self.ty.q.val() == 2) & (bit_cast::<32, 16>(self.rho.val()) + 1 >= self.hs.val()) {
                    self.tap_ok.next = false;
                }
                if (self.dx.q.val() == 0) & (self.x.q.val() == 0) {
                    self.tap_ok.next = false;
                }
                if (self.dx.q.val() == 2) & (self.x.q.val() + 1 >= self.ws.val()) {
                    self.tap_ok.next = false;
                }
                self.live.next = self.f_cout.val() - self.cg.q.val();
                if self.f_cout.val() - self.cg.q.val() >= self.gsize.val() {
                    self.live.next = self.gsize.val();
                }
                self.last_word.next = (self.ty.q.val() == 2) & (self.dx.q.val() == 2) & (self.q.q.val() + 1 == self.qn.val());
                self.last_group.next = self.g.q.val() + 1 == self.f_groups.val();
                self.last_j.next = (bit_cast::<16, 4>(self.j.q.val()) + 1 == self.f_up.val()) | self.is_tail.val();
                self.last_pix.next = self.xo.q.val() + 1 == self.xo_end.q.val();
                // ---- Write-back: a counter replays the output order (pixel, channel).
                self.wb_valid.next = self.cpost.valid_out.val();
                self.wb_val.next = self.cpost.result.val();
                self.wb_t.next = self.tline[5].q.val();
                if self.is_bin.val() {
                    self.wb_valid.next = self.slope.valid_out.val();
                    self.wb_val.next = self.slope.z.val();
                    self.wb_t.next = self.tline[8].q.val();
                }
                // v > T: T = −32769 (17 bits 0x17FFF) passes everything; otherwise T fits 16
                // bits and the signed compare is unsigned with the sign bits flipped.
                self.wb_tl.next = self.wb_t.val().get_bits::<16>(0);
                self.wb_bit.next = (self.wb_t.val() == 0x17FFF)
                    | ((unsigned_cast(self.wb_val.val()) ^ bits::<16>(0x8000)) > (self.wb_tl.val() ^ bits::<16>(0x8000)));
                self.wb_word.next = self.bitreg.q.val() | (bit_cast::<$lanes, 1>(self.wb_bit.val().into()) << (self.wbc.q.val() & self.lane_mask.val()));
                self.wb_wend.next = ((self.wbc.q.val() & self.lane_mask.val()) == self.lane_mask.val())
                    | (self.wbc.q.val() + 1 == self.f_cout.val());
                // ---- Next op state after a row (registered in st_row for RowDrain).
                self.inc_isub.next = self.s_isub.val() + 1;
                self.isub_wrap.next = bit_cast::<16, 4>(self.s_isub.val() + 1) == self.f_up.val();
                if self.is_tail.val() {
                    self.isub_wrap.next = bit_cast::<16, 4>(self.s_isub.val() + 1) == self.h_r.val();
                }
                if self.isub_wrap.val() {
                    self.inc_isub.next = 0.into();
                }
                self.n_aux.next = self.s_aux.val();
                self.n_sb.next = self.s_sb.val();
                self.n_sf.next = self.s_sf.val();
                self.n_db.next = self.s_db.val();
                if self.isub_wrap.val() {
                    self.n_aux.next = self.s_aux.val() + 1;
                    self.n_sb.next = self.s_sb.val() + 1;
                    if bit_cast::<16, 8>(self.s_sb.val() + 1) == self.f_src_brows.val() {
                        self.n_sb.next = 0.into();
                    }
                }
                if self.isub_wrap.val() | self.is_tail.val() {
                    self.n_sf.next = self.s_sf.val() + 1;
                    if bit_cast::<16, 8>(self.s_sf.val() + 1) == self.f_src_frows.val() {
                        self.n_sf.next = 0.into();
                    }
                }
                self.n_df.next = self.s_df.val() + 1;
                if bit_cast::<16, 8>(self.s_df.val() + 1) == self.f_dst_frows.val() {
                    self.n_df.next = 0.into();
                }
                if self.is_tail.val() {
                    if self.isub_wrap.val() {
                        self.n_db.next = self.s_db.val() + 1;
                        if bit_cast::<16, 8>(self.s_db.val() + 1) == self.h_xfrows.val() {
                            self.n_db.next = 0.into();
                        }
                    }
                } else {
                    self.n_db.next = self.s_db.val() + 1;
                    if bit_cast::<16, 8>(self.s_db.val() + 1) == self.f_dst_brows.val() {
                        self.n_db.next = 0.into();
                    }
                }
                self.st_row.d.next = bit_cast::<88, 16>(self.f_period.val() - 1)
                    | (bit_cast::<88, 16>(self.s_nu.val() + 1) << 16)
                    | (bit_cast::<88, 16>(self.n_aux.val()) << 32)
                    | (bit_cast::<88, 4>(self.inc_isub.val()) << 48)
                    | (bit_cast::<88, 8>(self.n_sb.val()) << 52)
                    | (bit_cast::<88, 8>(self.n_sf.val()) << 60)
                    | (bit_cast::<88, 8>(self.n_df.val()) << 68)
                    | (bit_cast::<88, 8>(self.n_db.val()) << 76);

                // ---- Defaults.
                self.busy.next = self.phase.q.val() != Phase::Idle;
                self.done.next = false;
                self.error.next = self.err.q.val();
                self.in_ready.next = false;
                self.prog.write_enable.next = false;
                self.prog.write_address.next = bit_cast::<PA, 32>(self.load_addr.val());
                self.prog.write_data.next = self.load_data.val().get_bits::<16>(0);
                self.prog.read_address.next = bit_cast::<PA, 16>(self.opbase.q.val() + self.fi.q.val());
                for k in 0..P {
                    self.wmem[k].write_enable.next = false;
                    self.wmem[k].write_address.next = bit_cast::<WA, 32>(self.load_addr.val());
                    self.wmem[k].write_data.next = self.load_data.val().get_bits::<$lanes>(0);
                    self.wmem[k].read_address.next = bit_cast::<WA, 32>(self.waddr.q.val());
                }
                for k in 0..M {
                    self.fpw[k].write_enable.next = false;
                    self.fpw[k].write_address.next = bit_cast::<FWA, 32>(self.load_addr.val());
                    self.fpw[k].write_data.next = signed_cast(self.load_data.val().get_bits::<16>(0));
                    self.fpw[k].read_address.next = bit_cast::<FWA, 32>(self.waddr.q.val());
                }
                for k in 0..8 {
                    self.cmem[k].write_enable.next = false;
                    self.cmem[k].write_address.next = bit_cast::<CA, 32>(self.load_addr.val() >> 3);
                    self.cmem[k].write_data.next = self.load_data.val().get_bits::<16>(0);
                    self.cmem[k].read_address.next = bit_cast::<CA, 32>(self.prec.q.val());
                }
                if self.load_we.val() & (self.phase.q.val() == Phase::Idle) {
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
                self.fmem.write_address.next = bit_cast::<FA, 32>(self.wbf.q.val());
                self.fmem.write_data.next = self.wb_val.val();
                self.fmem.read_address.next = bit_cast::<FA, 32>(self.iaddr.val());
                self.xmem.write_enable.next = false;
                self.xmem.write_address.next = bit_cast::<XA, 32>(self.xw_ptr.q.val());
                self.xmem.write_data.next = self.inword.x.val();
                self.xmem.read_address.next = bit_cast::<XA, 32>(self.iaddr.val());
                self.bmem.write_enable.next = false;
                self.bmem.write_address.next = bit_cast::<BA, 32>(self.wbb.q.val());
                self.bmem.write_data.next = self.wb_word.val();
                self.bmem.read_address.next = bit_cast::<BA, 32>(self.iaddr.val());
                self.opst.write_enable.next = false;
                self.opst.write_address.next = bit_cast::<6, 8>(self.l.q.val() << 1);
                self.opst.read_address.next = bit_cast::<6, 8>(self.l.q.val() << 1);
                self.opst_hi.next = false;
                self.cnts.write_enable.next = false;
                self.cnts.write_address.next = bit_cast::<7, 8>(self.l.q.val() << 1) + 2;
                self.cnts.write_data.next = self.cnts.read_data.val() + self.row_cyc.q.val();
                self.cnts.read_address.next = bit_cast::<7, 8>(self.cnt_sel.val());
                self.cnt_data.next = self.cnts.read_data.val();
                if self.cnt_sel.val() == 0 {
                    self.cnt_data.next = self.total.q.val();
                }
                if self.cnt_sel.val() == 1 {
                    self.cnt_data.next = self.stall.q.val();
                }
                self.inword.valid_in.next = false;
                self.inword.p.next = self.in_data.val();
                self.inword.k_in.next = self.h_kin.val();
                self.st_next.next = self.st.q.val();

                // Datapath inputs default to idle.
                self.arr.act.next = self.bmem.read_data.val();
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
                self.mac.valid_in.next = self.iss_v.q.val() & !self.is_bin.val();
                self.mac.clear.next = self.iss_first.q.val();
                self.mac.last.next = self.iss_last.q.val();
                self.iss_v.d.next = false;

                // A 16×32 multiplier from two 16×16 ones, shared by the setup steps. Its
                // operands are chosen here from the phase and step counter, registered, and
                // their product is `mul_p` one cycle later: each step below picks the operands
                // of the product the next step stores.
                self.mul_a.next = 0.into();
                self.mul_b.next = 0.into();
                if self.phase.q.val() == Phase::Bil {
                    if self.fi.q.val() == 1 {
                        // Rows of the whole output: H · r.
                        self.mul_a.next = self.sh.q.val();
                        self.mul_b.next = bit_cast::<32, 16>(self.h_r.val());
                    }
                    if self.fi.q.val() == 2 {
                        // Output columns of one tail row: keep_w · r.
                        self.mul_a.next = self.kw.q.val();
                        self.mul_b.next = bit_cast::<32, 16>(self.h_r.val());
                    }
                    if self.fi.q.val() == 4 {
                        // ... and its bytes (keep_w · r is stored at step 3).
                        self.mul_a.next = self.h_outch.val();
                        self.mul_b.next = self.kwr.q.val();
                    }
                }
                if self.phase.q.val() == Phase::Setup {
                    if self.fi.q.val() == 0 {
                        self.mul_a.next = bit_cast::<16, 8>(self.wsl[0].q.val());
                        self.mul_b.next = self.wpitch.val();
                    }
                    if self.fi.q.val() == 1 {
                        self.mul_a.next = bit_cast::<16, 8>(self.wsl[1].q.val());
                        self.mul_b.next = self.wpitch.val();
                    }
                    if self.fi.q.val() == 2 {
                        self.mul_a.next = bit_cast::<16, 8>(self.wsl[2].q.val());
                        self.mul_b.next = self.wpitch.val();
                    }
                    if self.fi.q.val() == 3 {
                        self.mul_a.next = bit_cast::<16, 8>(self.s_sf.val());
                        self.mul_b.next = self.f_spf.val();
                    }
                    if self.fi.q.val() == 4 {
                        self.mul_a.next = bit_cast::<16, 8>(self.s_df.val());
                        self.mul_b.next = self.f_dpf.val();
                    }
                    if self.fi.q.val() == 5 {
                        self.mul_a.next = bit_cast::<16, 8>(self.s_db.val());
                        self.mul_b.next = self.f_dpb.val();
                    }
                    if self.fi.q.val() == 6 {
                        self.mul_a.next = bit_cast::<16, 4>(self.s_isub.val());
                        self.mul_b.next = bit_cast::<32, 16>(self.f_up.val());
                    }
                    if self.fi.q.val() == 7 {
                        self.mul_a.next = bit_cast::<16, 8>(self.tsl[0].q.val());
                        self.mul_b.next = self.h_xpitch.val();
                    }
                    if self.fi.q.val() == 8 {
                        // iu is stored at step 7.
                        self.mul_a.next = self.iu.q.val().get_bits::<16>(0);
                        self.mul_b.next = self.f_perset.val();
                    }
                    if self.fi.q.val() == 9 {
                        self.mul_a.next = self.kx0.q.val();
                        self.mul_b.next = bit_cast::<32, 16>(self.h_r.val());
                    }
                    if self.fi.q.val() == 10 {
                        self.mul_a.next = bit_cast::<16, 8>(self.tsl[1].q.val());
                        self.mul_b.next = self.h_xpitch.val();
                    }
                    if self.fi.q.val() == 11 {
                        // x is stored at step 10.
                        self.mul_a.next = self.x.q.val().get_bits::<16>(0);
                        self.mul_b.next = self.qstride.val();
                    }
                    if self.fi.q.val() == 12 {
                        self.mul_a.next = self.x.q.val().get_bits::<16>(0);
                        self.mul_b.next = bit_cast::<32, 16>(self.f_src_ch.val());
                    }
                }
                self.mop_a.d.next = self.mul_a.val();
                self.mop_b.d.next = self.mul_b.val();
                self.tmul[0].next = self.mop_a.q.val() * self.mop_b.q.val().get_bits::<16>(0);
                self.tmul[1].next = self.mop_a.q.val() * self.mop_b.q.val().get_bits::<16>(16);
                self.mul_p.next = self.tmul[0].val();
                if self.mul_wide.val() {
                    self.mul_p.next = self.tmul[0].val() + (self.tmul[1].val() << 16);
                }

                // ---- Phases.
                self.total.d.next = self.total.q.val() + 1;
                self.row_cyc.d.next = self.row_cyc.q.val() + 1;
                match self.phase.q.val() {
                    Phase::Idle => {
                        self.total.d.next = self.total.q.val();
                        self.row_cyc.d.next = self.row_cyc.q.val();
                        self.fi.d.next = 0.into();
                        self.opbase.d.next = 0.into();
                        if self.start.val() {
                            self.sw.d.next = self.strip_w.val();
                            self.sh.d.next = self.strip_h.val();
                            self.kx0.d.next = self.keep_x0.val();
                            self.kw.d.next = self.keep_w.val();
                            self.total.d.next = 0.into();
                            self.stall.d.next = 0.into();
                            self.err.d.next = false;
                            self.phase.d.next = Phase::Hdr;
                        }
                    }
                    Phase::Hdr => {
                        // Word fi is addressed now and arrives one edge later.
                        self.fi.d.next = self.fi.q.val() + 1;
                        for i in 0..HDR_KEEP {
                            if self.fi.q.val().index() == i + 1 {
                                self.hdr[i].d.next = self.prog.read_data.val();
                            }
                        }
                        if self.fi.q.val() == self.hdr_keep.val() {
                            self.phase.d.next = Phase::Bil;
                            self.fi.d.next = 0.into();
                            if self.hdr[0].q.val() != self.magic.val() {
                                self.err.d.next = true;
                                self.phase.d.next = Phase::Idle;
                            }
                        }
                    }
                    Phase::Bil => {
                        self.prec.d.next = bit_cast::<32, 16>(self.h_bil.val());
                        self.fi.d.next = self.fi.q.val() + 1;
                        // Two edges: the address settles into `prec`, then the read.
                        if self.fi.q.val() == 2 {
                            for i in 0..8 {
                                self.bil[i].d.next = self.cmem[i].read_data.val();
                            }
                            self.shr.d.next = self.mul_p.val();
                        }
                        if self.fi.q.val() == 3 {
                            self.kwr.d.next = self.mul_p.val();
                        }
                        if self.fi.q.val() == 5 {
                            self.row_out_bytes.d.next = self.mul_p.val();
                            self.fi.d.next = 0.into();
                            self.l.d.next = 0.into();
                            self.opbase.d.next = self.hdr_words.val();
                            self.phase.d.next = Phase::InitOps;
                        }
                    }
                    Phase::InitOps => {
                        // Read each op's delay (record word 4) and reset its state.
                        self.prog.read_address.next = bit_cast::<PA, 16>(self.opbase.q.val() + 4);
                        self.fi.d.next = self.fi.q.val() + 1;
                        self.cnts.write_enable.next = true;
                        self.cnts.write_address.next = bit_cast::<7, 8>(self.l.q.val() << 1) + 2 + bit_cast::<7, 16>(self.fi.q.val());
                        self.cnts.write_data.next = 0.into();
                        // Half 1 (sub-row and slots) is cleared while the delay is read, then
                        // half 0 gets the delay as its countdown, row and aux zero.
                        self.opst.write_enable.next = true;
                        self.opst_hi.next = true;
                        self.st_next.next = 0.into();
                        if self.fi.q.val() == 1 {
                            self.opst_hi.next = false;
                            self.st_next.next = bit_cast::<88, 16>(self.prog.read_data.val());
                            self.tail_delay.d.next = self.prog.read_data.val();
                            self.fi.d.next = 0.into();
                            self.l.d.next = self.l.q.val() + 1;
                            self.opbase.d.next = self.opbase.q.val() + self.op_words.val();
                            if bit_cast::<16, 8>(self.l.q.val() + 1) == self.h_nops.val() {
                                self.phase.d.next = Phase::Step;
                                self.u.d.next = 0.into();
                                self.u_sub.d.next = 0.into();
                                self.y_in.d.next = 0.into();
                                self.x_slot.d.next = 0.into();
                                self.x_off.d.next = 0.into();
                            }
                        }
                    }
                    Phase::Step => {
                        // Last step: the tail's delay plus its rows (H·r).
                        self.u_last.d.next = self.shr.q.val() + bit_cast::<32, 16>(self.tail_delay.q.val()) - 1;
                        self.l.d.next = 0.into();
                        self.fi.d.next = 0.into();
                        self.opbase.d.next = self.hdr_words.val();
                        self.phase.d.next = Phase::OpFetch;
                        if (self.u_sub.q.val() == 0) & (self.y_in.q.val() < self.sh.q.val()) {
                            self.phase.d.next = Phase::InRow;
                            self.in_x.d.next = 0.into();
                            self.in_c.d.next = 0.into();
                            self.xw_ptr.d.next = self.h_xfbase.val() + self.x_off.q.val();
                            self.in_left.d.next = 0.into();
                        }
                    }
                    Phase::InRow => {
                        self.in_ready.next = true;
                        if self.in_valid.val() {
                            self.inword.valid_in.next = true;
                            self.in_c.d.next = self.in_c.q.val() + 1;
                            if bit_cast::<16, 8>(self.in_c.q.val() + 1) == self.h_inch.val() {
                                self.in_c.d.next = 0.into();
                                self.in_x.d.next = self.in_x.q.val() + 1;
                                if self.in_x.q.val() + 1 == self.sw.q.val() {
                                    self.phase.d.next = Phase::InDrain;
                                    self.fi.d.next = 0.into();
                                }
                            }
                        } else {
                            self.stall.d.next = self.stall.q.val() + 1;
                        }
                    }
                    Phase::InDrain => {
                        self.fi.d.next = self.fi.q.val() + 1;
                        if self.fi.q.val() == self.in_lat.val() {
                            self.y_in.d.next = self.y_in.q.val() + 1;
                            self.x_slot.d.next = self.x_slot.q.val() + 1;
                            self.x_off.d.next = self.x_off.q.val() + self.h_xpitch.val();
                            if bit_cast::<16, 8>(self.x_slot.q.val() + 1) == self.h_xfrows.val() {
                                self.x_slot.d.next = 0.into();
                                self.x_off.d.next = 0.into();
                            }
                            self.fi.d.next = 0.into();
                            self.phase.d.next = Phase::OpFetch;
                        }
                    }
                    Phase::OpFetch => {
                        self.fi.d.next = self.fi.q.val() + 1;
                        if self.fi.q.val() == 0 {
                            self.row_cyc.d.next = 1.into();
                            self.row_busy.d.next = 0.into();
                        }
                        // Half 0 of the op state arrives at fi = 1, half 1 (addressed then) at 2.
                        if self.fi.q.val() == 1 {
                            self.opst.read_address.next = bit_cast::<6, 8>(self.l.q.val() << 1) + 1;
                            self.st.d.next = bit_cast::<88, 48>(self.opst.read_data.val());
                        }
                        if self.fi.q.val() == 2 {
                            self.st.d.next = self.st.q.val() | (bit_cast::<88, 48>(self.opst.read_data.val()) << 48);
                        }
                        for i in 0..REC_KEEP {
                            if self.fi.q.val().index() == i + 1 {
                                self.rec[i].d.next = self.prog.read_data.val();
                            }
                        }
                        if self.fi.q.val() == self.rec_keep.val() {
                            self.phase.d.next = Phase::OpDecide;
                        }
                    }
                    Phase::OpDecide => {
                        self.fi.d.next = 0.into();
                        if bit_cast::<32, 16>(self.s_nu.val()) >= self.hd.val() {
                            self.phase.d.next = Phase::RowEnd;
                        } else if self.s_cd.val() != 0 {
                            // The countdown is not zero here: decrement its 16 bits alone
                            // rather than carry through all 88.
                            self.st_next.next = (self.st.q.val() & !bits::<88>(0xFFFF))
                                | bit_cast::<88, 16>(self.s_cd.val() - 1);
                            self.opst.write_enable.next = true;
                            self.phase.d.next = Phase::RowEnd;
                        } else if self.is_tail.val() {
                            self.phase.d.next = Phase::TailWait;
                        } else {
                            self.phase.d.next = Phase::Setup;
                        }
                    }
                    Phase::TailWait => {
                        if self.ocount.q.val() + self.row_out_bytes.q.val() <= self.obuf_cap.val() {
                            self.phase.d.next = Phase::Setup;
                        } else {
                            self.stall.d.next = self.stall.q.val() + 1;
                        }
                    }
                    Phase::Setup => {
                        // Step k stores the product whose operands step k − 1 chose (see the
                        // multiplier above); step 0 only chooses.
                        self.fi.d.next = self.fi.q.val() + 1;
                        if self.fi.q.val() == 1 {
                            self.rp[0].d.next = self.wbase_l.val() + self.mul_p.val();
                        }
                        if self.fi.q.val() == 2 {
                            self.rp[1].d.next = self.wbase_l.val() + self.mul_p.val();
                        }
                        if self.fi.q.val() == 3 {
                            self.rp[2].d.next = self.wbase_l.val() + self.mul_p.val();
                        }
                        if self.fi.q.val() == 4 {
                            self.res_base.d.next = self.f_src_fbase.val() + self.mul_p.val();
                        }
                        if self.fi.q.val() == 5 {
                            self.wb_fbase.d.next = self.f_dst_fbase.val() + self.mul_p.val();
                            self.wbf.d.next = self.f_dst_fbase.val() + self.mul_p.val();
                        }
                        if self.fi.q.val() == 6 {
                            self.wb_bbase.d.next = self.f_dst_bbase.val() + self.mul_p.val();
                            self.wbb.d.next = self.f_dst_bbase.val() + self.mul_p.val();
                        }
                        if self.fi.q.val() == 7 {
                            self.iu.d.next = self.mul_p.val();
                            if self.is_tail.val() {
                                self.iu.d.next = 0.into();
                            }
                        }
                        if self.fi.q.val() == 8 {
                            self.xr[0].d.next = self.h_xfbase.val() + self.mul_p.val();
                            self.t_a1.d.next = self.tw1.val();
                        }
                        if self.fi.q.val() == 9 {
                            self.wrow.d.next = self.f_wbase.val() + self.mul_p.val();
                            self.waddr.d.next = self.f_wbase.val() + self.mul_p.val();
                            self.rec_row.d.next = self.f_cbase.val() + self.iu.q.val();
                            self.recj.d.next = self.f_cbase.val() + self.iu.q.val();
                            self.recg.d.next = self.f_cbase.val() + self.iu.q.val();
                        }
                        if self.fi.q.val() == 10 {
                            // First output column: keep_x0·r for the tail, 0 otherwise.
                            self.xo.d.next = 0.into();
                            self.x.d.next = 0.into();
                            self.xdiv.d.next = 0.into();
                            if self.is_tail.val() {
                                self.xo.d.next = self.mul_p.val();
                                self.x.d.next = self.mul_p.val();
                                self.xdiv.d.next = self.kx0.q.val();
                            }
                        }
                        if self.fi.q.val() == 11 {
                            self.xr[1].d.next = self.h_xfbase.val() + self.mul_p.val();
                        }
                        if self.fi.q.val() == 12 {
                            // End column, and x · (input words per pixel) for the addresses.
                            // The window rows' bases (steps 1–3) plus the first column's offset.
                            for i in 0..3 {
                                self.rp[i].d.next = self.rp[i].q.val() + self.mul_p.val();
                            }
                            self.xo_end.d.next = self.ws.val();
                            if self.f_up.val() == 2 {
                                self.xo_end.d.next = self.ws.val() << 1;
                            }
                            if self.f_up.val() == 3 {
                                self.xo_end.d.next = (self.ws.val() << 1) + self.ws.val();
                            }
                            if self.f_up.val() == 4 {
                                self.xo_end.d.next = self.ws.val() << 2;
                            }
                            if self.is_tail.val() {
                                self.xo_end.d.next = self.x.q.val() + self.kwr.q.val();
                            }
                        }
                        if self.fi.q.val() == 13 {
                            self.pxr.d.next = self.mul_p.val();
                            self.lastmask.d.next = self.ones.val() >> (self.lanes_c.val() - self.f_lastl.val());
                            self.j.d.next = 0.into();
                            self.g.d.next = 0.into();
                            self.cg.d.next = 0.into();
                            self.ty.d.next = 0.into();
                            self.dx.d.next = 0.into();
                            self.q.d.next = 0.into();
                            self.qoff.d.next = bits::<32>(0) - self.qstride.val();
                            self.xmod.d.next = 0.into();
                            self.wbc.d.next = 0.into();
                            self.bitreg.d.next = 0.into();
                            self.issue_done.d.next = false;
                            self.phase.d.next = Phase::RowRun;
                        }
                    }
                    Phase::RowRun => {
                        // Every output of the row is written: nothing issued, pending, in the post issue,
                        // entering the post (pv) or inside it (outstanding).
                        if self.issue_done.q.val()
                            & !self.pend.q.val()
                            & !self.pb.q.val()
                            & !self.pv.q.val()
                            & (self.outstanding.q.val() == 0)
                            & !self.iss_v.q.val()
                        {
                            self.phase.d.next = Phase::RowDrain;
                            self.fi.d.next = 0.into();
                        }
                    }
                    Phase::RowDrain => {
                        // The last outputs leave the write-back; update the op state, half 0
                        // now and half 1 on the next cycle.
                        self.fi.d.next = self.fi.q.val() + 1;
                        self.opst.write_enable.next = true;
                        self.st_next.next = self.st_row.q.val();
                        if self.fi.q.val() == 1 {
                            self.opst_hi.next = true;
                            self.phase.d.next = Phase::RowEnd;
                            self.fi.d.next = 0.into();
                        }
                    }
                    Phase::RowEnd => {
                        // Accumulate this op's cycles and busy count into the counter memory.
                        self.fi.d.next = self.fi.q.val() + 1;
                        self.cnts.read_address.next = bit_cast::<7, 8>(self.l.q.val() << 1) + 2;
                        if self.fi.q.val() == 1 {
                            self.cnts.write_enable.next = true;
                            self.cnts.read_address.next = bit_cast::<7, 8>(self.l.q.val() << 1) + 3;
                        }
                        if self.fi.q.val() == 2 {
                            self.cnts.write_enable.next = true;
                            self.cnts.write_address.next = bit_cast::<7, 8>(self.l.q.val() << 1) + 3;
                            self.cnts.write_data.next = self.cnts.read_data.val() + self.row_busy.q.val();
                            self.cnts.read_address.next = bit_cast::<7, 8>(self.l.q.val() << 1) + 3;
                            self.phase.d.next = Phase::Next;
                        }
                    }
                    Phase::Next => {
                        self.fi.d.next = 0.into();
                        self.l.d.next = self.l.q.val() + 1;
                        self.opbase.d.next = self.opbase.q.val() + self.op_words.val();
                        self.phase.d.next = Phase::OpFetch;
                        if bit_cast::<16, 8>(self.l.q.val() + 1) == self.h_nops.val() {
                            self.u.d.next = self.u.q.val() + 1;
                            self.u_sub.d.next = self.u_sub.q.val() + 1;
                            if bit_cast::<16, 4>(self.u_sub.q.val() + 1) == self.h_r.val() {
                                self.u_sub.d.next = 0.into();
                            }
                            self.phase.d.next = Phase::Step;
                            if self.u.q.val() == self.u_last.q.val() {
                                self.phase.d.next = Phase::Done;
                            }
                        }
                    }
                    Phase::Done => {
                        self.done.next = true;
                        self.phase.d.next = Phase::Idle;
                    }
                    _ => {
                        self.phase.d.next = Phase::Idle;
                    }
                }
                self.opst.write_data.next = bit_cast::<48, 88>(self.st_next.val());
                if self.opst_hi.val() {
                    self.opst.write_address.next = bit_cast::<6, 8>(self.l.q.val() << 1) + 1;
                    self.opst.write_data.next = bit_cast::<48, 88>(self.st_next.val() >> 48);
                }

                if (self.phase.q.val() == Phase::RowRun) & !self.issue_done.q.val() {
                    self.iss_v.d.next = true;
                    self.iss_ok.d.next = self.tap_ok.val();
                    self.iss_first.d.next = (self.ty.q.val() == 0) & (self.dx.q.val() == 0) & (self.q.q.val() == 0);
                    self.iss_last.d.next = self.last_word.val();
                    self.iss_lastq.d.next = self.q.q.val() + 1 == self.qn.val();
                    if self.tap_ok.val() {
                        self.row_busy.d.next = self.row_busy.q.val() + bit_cast::<32, 16>(self.live.val());
                    }
                    self.waddr.d.next = self.waddr.q.val() + 1;
                    self.q.d.next = self.q.q.val() + 1;
                    self.qoff.d.next = self.qoff.q.val() + 1;
                    if self.q.q.val() + 1 == self.qn.val() {
                        self.q.d.next = 0.into();
                        self.dx.d.next = self.dx.q.val() + 1;
                        // The next tap column's first word: 0, then +qstride, then −qstride.
                        self.qoff.d.next = 0.into();
                        if self.dx.q.val() == 1 {
                            self.qoff.d.next = self.qstride.val();
                        }
                        if self.dx.q.val() == 2 {
                            self.qoff.d.next = bits::<32>(0) - self.qstride.val();
                            self.dx.d.next = 0.into();
                            self.ty.d.next = self.ty.q.val() + 1;
                            if self.ty.q.val() == 2 {
                                // The group's last word: its outputs follow it through the post.
                                self.ty.d.next = 0.into();
                                self.pend.d.next = true;
                                self.pend_pxr.d.next = self.pxr.q.val();
                                self.pend_rec.d.next = self.recg.q.val();
                                self.pend_cg.d.next = self.cg.q.val();
                                self.pend_live.d.next = self.live.val();
                                self.pend_xdiv.d.next = self.xdiv.q.val();
                                self.pend_xmod.d.next = self.xmod.q.val();
                                self.g.d.next = self.g.q.val() + 1;
                                self.cg.d.next = self.cg.q.val() + self.gsize.val();
                                self.recg.d.next = self.recg.q.val() + self.f_recstep.val();
                                if self.last_group.val() {
                                    self.g.d.next = 0.into();
                                    self.cg.d.next = 0.into();
                                    self.xo.d.next = self.xo.q.val() + 1;
                                    self.j.d.next = self.j.q.val() + 1;
                                    self.recj.d.next = self.recj.q.val() + 1;
                                    self.recg.d.next = self.recj.q.val() + 1;
                                    if self.last_j.val() {
                                        self.j.d.next = 0.into();
                                        self.x.d.next = self.x.q.val() + 1;
                                        for i in 0..3 {
                                            self.rp[i].d.next = self.rp[i].q.val() + self.qstride.val();
                                        }
                                        self.pxr.d.next = self.pxr.q.val() + bit_cast::<32, 16>(self.f_src_ch.val());
                                        self.waddr.d.next = self.wrow.q.val();
                                        self.recj.d.next = self.rec_row.q.val();
                                        self.recg.d.next = self.rec_row.q.val();
                                        self.xmod.d.next = self.xmod.q.val() + 1;
                                        if bit_cast::<16, 4>(self.xmod.q.val() + 1) == self.h_r.val() {
                                            self.xmod.d.next = 0.into();
                                            self.xdiv.d.next = self.xdiv.q.val() + 1;
                                        }
                                    }
                                    if self.last_pix.val() {
                                        self.issue_done.d.next = true;
                                    }
                                }
                            }
                        }
                    }
                }

                // ---- Post issue: one output per cycle (four input reads per tail output).
                self.coff.next = 0.into();
                self.cb1.next = 0.into();
                for ph in 0..4 {
                    if self.pend_xmod.q.val().index() == ph {
                        self.coff.next = self.bil[2 * ph].q.val();
                        self.cb1.next = self.bil[2 * ph + 1].q.val();
                    }
                }
                self.cx0.next = self.pend_xdiv.q.val();
                if self.coff.val() == 0xFFFF {
                    if self.pend_xdiv.q.val() == 0 {
                        self.cb1.next = 0.into();
                    } else {
                        self.cx0.next = self.pend_xdiv.q.val() - 1;
                    }
                }
                self.cx1.next = self.cx0.val() + 1;
                if self.cx0.val() + 1 == self.sw.q.val() {
                    self.cx1.next = self.cx0.val();
                }
                self.pv.d.next = false;
                // The threshold (in −32769..=32767) travels beside its output in 17 bits.
                self.tline[0].d.next = bit_cast::<17, 16>(self.cmem[6].read_data.val());
                if self.cmem[7].read_data.val().get_bit(0) {
                    self.tline[0].d.next = bit_cast::<17, 16>(self.cmem[6].read_data.val()) | bits::<17>(0x10000);
                }
                if (self.is_bin.val() & self.arr.done.val()) | (!self.is_bin.val() & self.mac.done.val()) {
                    self.pend.d.next = false;
                    self.pb.d.next = true;
                    self.pk.d.next = 0.into();
                    self.psub.d.next = 0.into();
                    self.plive.d.next = self.pend_live.q.val();
                    self.prec.d.next = self.pend_rec.q.val();
                    self.pres.d.next = self.res_base.q.val() + self.pend_pxr.q.val() + bit_cast::<32, 16>(self.pend_cg.q.val());
                    if self.is_tail.val() {
                        self.pres.d.next = bit_cast::<32, 16>(self.pend_cg.q.val());
                    }
                    self.pb1.d.next = self.cb1.val();
                    self.pxc[0].d.next = bit_cast::<32, 16>(self.cx0.val());
                    self.pxc[1].d.next = bit_cast::<32, 16>(self.cx1.val());
                    if self.h_inch.val() == 2 {
                        self.pxc[0].d.next = bit_cast::<32, 16>(self.cx0.val()) << 1;
                        self.pxc[1].d.next = bit_cast::<32, 16>(self.cx1.val()) << 1;
                    }
                    if self.h_inch.val() == 3 {
                        self.pxc[0].d.next = (bit_cast::<32, 16>(self.cx0.val()) << 1) + bit_cast::<32, 16>(self.cx0.val());
                        self.pxc[1].d.next = (bit_cast::<32, 16>(self.cx1.val()) << 1) + bit_cast::<32, 16>(self.cx1.val());
                    }
                    if self.h_inch.val() == 4 {
                        self.pxc[0].d.next = bit_cast::<32, 16>(self.cx0.val()) << 2;
                        self.pxc[1].d.next = bit_cast::<32, 16>(self.cx1.val()) << 2;
                    }
                    for k in 0..P {
                        self.sums[k].d.next = self.arr.sum[k].val();
                    }
                    for k in 0..M {
                        self.accs[k].d.next = self.mac.acc[k].val();
                    }
                }
                // Records of successive outputs of a group are `up²` apart.
                self.sets_l.next = bits::<16>(1);
                if self.f_up.val() == 2 {
                    self.sets_l.next = bits::<16>(4);
                }
                if self.f_up.val() == 3 {
                    self.sets_l.next = bits::<16>(9);
                }
                if self.f_up.val() == 4 {
                    self.sets_l.next = bits::<16>(16);
                }
                if self.pb.q.val() & !self.is_tail.val() {
                    // Only a binary op reads its residual; a conv's issue loop owns the port.
                    if self.is_bin.val() {
                        self.fmem.read_address.next = bit_cast::<FA, 32>(self.pres.q.val());
                    }
                    self.pv.d.next = true;
                    self.psel.d.next = self.sums[0].q.val();
                    for k in 0..P {
                        if self.pk.q.val().index() == k {
                            self.psel.d.next = self.sums[k].q.val();
                        }
                    }
                    self.pacc.d.next = self.accs[0].q.val();
                    for k in 0..M {
                        if self.pk.q.val().index() == k {
                            self.pacc.d.next = self.accs[k].q.val();
                        }
                    }
                    self.pk.d.next = self.pk.q.val() + 1;
                    self.prec.d.next = self.prec.q.val() + bit_cast::<32, 16>(self.sets_l.val());
                    self.pres.d.next = self.pres.q.val() + 1;
                    if self.pk.q.val() + 1 == self.plive.q.val() {
                        self.pb.d.next = false;
                    }
                }
                if self.pb.q.val() & self.is_tail.val() {
                    self.psub.d.next = self.psub.q.val() + 1;
                    self.xmem.read_address.next =
                        bit_cast::<XA, 32>(self.xr[0].q.val() + self.pxc[0].q.val() + self.pres.q.val());
                    if self.psub.q.val() == 1 {
                        self.xmem.read_address.next =
                            bit_cast::<XA, 32>(self.xr[0].q.val() + self.pxc[1].q.val() + self.pres.q.val());
                        self.px00.d.next = self.xmem.read_data.val();
                        self.pbias.d.next = bit_cast::<48, 16>(self.cmem[0].read_data.val())
                            | (bit_cast::<48, 16>(self.cmem[1].read_data.val()) << 16)
                            | (bit_cast::<48, 16>(self.cmem[2].read_data.val()) << 32);
                    }
                    if self.psub.q.val() == 2 {
                        self.xmem.read_address.next =
                            bit_cast::<XA, 32>(self.xr[1].q.val() + self.pxc[0].q.val() + self.pres.q.val());
                        self.px01.d.next = self.xmem.read_data.val();
                    }
                    if self.psub.q.val() == 3 {
                        self.xmem.read_address.next =
                            bit_cast::<XA, 32>(self.xr[1].q.val() + self.pxc[1].q.val() + self.pres.q.val());
                        self.px10.d.next = self.xmem.read_data.val();
                        self.pv.d.next = true;
                        self.pacc.d.next = self.accs[0].q.val();
                        for k in 0..M {
                            if self.pk.q.val().index() == k {
                                self.pacc.d.next = self.accs[k].q.val();
                            }
                        }
                        self.psub.d.next = 0.into();
                        self.pk.d.next = self.pk.q.val() + 1;
                        self.prec.d.next = self.prec.q.val() + 1;
                        self.pres.d.next = self.pres.q.val() + 1;
                        if self.pk.q.val() + 1 == self.plive.q.val() {
                            self.pb.d.next = false;
                        }
                    }
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
                self.post.shift.next = self.rec[10].q.val().get_bits::<5>(0);
                self.slope.valid_in.next = self.post.valid_out.val();
                self.slope.v.next = self.post.result.val();
                self.slope.s.next = self.unit_slope.val();
                if self.rec[0].q.val().get_bit(5) {
                    self.slope.s.next = signed_cast(self.rec[12].q.val());
                }
                self.cpost.valid_in.next = self.pv.q.val() & !self.is_bin.val() & !self.is_tail.val();
                self.cpost.acc.next = self.pacc.q.val();
                self.cpost.bias.next = bit_cast::<48, 16>(self.cmem[0].read_data.val())
                    | (bit_cast::<48, 16>(self.cmem[1].read_data.val()) << 16)
                    | (bit_cast::<48, 16>(self.cmem[2].read_data.val()) << 32);
                self.cpost.shift.next = self.rec[10].q.val().get_bits::<6>(0);
                self.cpost.slope.next = signed_cast(self.rec[11].q.val());
                self.cpost.slope_en.next = self.rec[0].q.val().get_bit(4);
                self.outpx.valid_in.next = self.pv.q.val() & self.is_tail.val();
                self.outpx.acc.next = self.pacc.q.val();
                self.outpx.bias.next = self.pbias.q.val();
                self.outpx.shift.next = self.rec[10].q.val().get_bits::<6>(0);
                self.outpx.subtract.next = self.h_sub.val();
                self.outpx.x00.next = self.px00.q.val();
                self.outpx.x01.next = self.px01.q.val();
                self.outpx.x10.next = self.px10.q.val();
                self.outpx.x11.next = self.xmem.read_data.val();
                self.outpx.a1.next = self.t_a1.q.val().get_bits::<9>(0);
                self.outpx.b1.next = self.pb1.q.val().get_bits::<9>(0);
                self.outpx.k_out.next = self.h_kout.val();
                self.outpx.frac.next = self.h_frac.val();

                if self.wb_valid.val() {
                    self.fmem.write_enable.next = true;
                    self.wbf.d.next = self.wbf.q.val() + 1;
                    self.wbc.d.next = self.wbc.q.val() + 1;
                    if self.wbc.q.val() + 1 == self.f_cout.val() {
                        self.wbc.d.next = 0.into();
                    }
                    if self.f_bits.val() {
                        self.bitreg.d.next = self.wb_word.val();
                        if self.wb_wend.val() {
                            self.bmem.write_enable.next = true;
                            self.wbb.d.next = self.wbb.q.val() + 1;
                            self.bitreg.d.next = 0.into();
                        }
                    }
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
                    self.xw_ptr.d.next = self.xw_ptr.q.val() + 1;
                }

                // ---- Output buffer: a ring of bytes drained through a one-byte register.
                self.obuf.write_enable.next = self.o_push.val();
                self.obuf.write_address.next = bit_cast::<OA, 32>(self.owp.q.val());
                self.obuf.write_data.next = self.outpx.pixel.val();
                self.obuf.read_address.next = bit_cast::<OA, 32>(self.orp.q.val());
                if self.o_push.val() {
                    self.owp.d.next = self.owp.q.val() + 1;
                }
                self.o_pop.next = self.o_have.q.val() & self.out_ready.val();
                if self.o_pend.q.val() {
                    self.o_byte.d.next = self.obuf.read_data.val();
                    self.o_have.d.next = true;
                    self.o_pend.d.next = false;
                } else if !self.o_have.q.val() & (self.owp.q.val() != self.orp.q.val()) {
                    self.o_pend.d.next = true;
                    self.orp.d.next = self.orp.q.val() + 1;
                }
                if self.o_pop.val() {
                    self.o_have.d.next = false;
                }
                if self.o_push.val() & !self.o_pop.val() {
                    self.ocount.d.next = self.ocount.q.val() + 1;
                }
                if !self.o_push.val() & self.o_pop.val() {
                    self.ocount.d.next = self.ocount.q.val() - 1;
                }
                self.out_valid.next = self.o_have.q.val();
                self.out_data.next = self.o_byte.q.val();

            }
        }
    };
}

engine!(
    /// The engine with 16-lane PEs (the UP5K's 16-channel models: no lane idles), its
    /// feature and input rings in iCE40 UP5K SPRAM (the compiler's `feature_banks = 2`
    /// layout keeps every op's reads and writes in different RAMs).
    Engine16,
    PeArray16,
    16,
    SpRam
);
engine!(
    /// The engine with 32-lane PEs, every memory in block RAM.
    Engine32,
    PeArray32,
    32,
    RAM
);
engine!(
    /// The engine with 64-lane PEs, every memory in block RAM.
    Engine64,
    PeArray64,
    64,
    RAM
);
