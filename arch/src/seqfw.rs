//! The engine's sequencer as firmware for the control core ([`crate::ctl`]), and a model of
//! the hardware beside it: the first step of the iCE40 redesign's second half
//! (`docs/architecture.md`, "The whole iCEBreaker top-level": the sequencer is 5,151 LUT and
//! 2,631 flip-flops of the UP5K's 13,110 cells).
//!
//! The split. The firmware walks the row wavefront — a countdown per op, the input rows, the
//! ring slots — and for every computed row hands the row loop a [`RowCmd`]: where the three
//! source rows, the destination row and the tail's residual rows lie in the memories.
//! Everything per pixel stays in hardware (the issue loop over pixels × groups × taps ×
//! words, the datapaths, the write-back), and so does the input stage. The firmware's state
//! lives in the core's registers, the op records stay in the program memory, read through an
//! auto-incrementing port; ring addresses are `base + slot · pitch`, multiplied in firmware
//! (shift and add over the small factor's bits: a multiplier port's operand and product
//! registers cost the UP5K 48 flip-flops and a DSP, and a row's products take a few hundred
//! cycles of the thousands the row before runs).
//!
//! What is here: the firmware, and [`SeqBoard`], the core's instruction-level model running it
//! beside a [`RefDevice`] whose `run_row` is the row loop. `tests/seqfw.rs` holds it to the
//! reference model: every row command equal to [`RowCmd::plan`]'s, the strip's bytes equal,
//! and the cycles compared. The hardware is `bbcu_hdl::enginefw` (the UP5K's engine), whose
//! cycles and counters [`SeqBoard`] gives exactly: each op its rows' cycles and busy count in
//! the row loop, the rest of the strip (input rows, the firmware's own time) one more entry.
//! Not modelled: the output buffer's back-pressure (the model's buffer always has room).

use crate::ctl::{Alu, Asm, Cpu, Io, Shift};
use crate::device::{Counters, DesignInfo, Device, DeviceError, StripJob};
use crate::program::{Program, HEADER_WORDS, MAGIC, OP_WORDS};
use crate::refmodel::{cycles, RowCmd};
use crate::{HwConfig, RefDevice};

/// Input ports.
pub mod pin {
    /// 1 once when a strip starts (the read clears it).
    pub const GO: u8 = 0;
    /// The program word at the pointer (the read advances it).
    pub const PW: u8 = 1;
    /// The strip: width, height, keep_x0, keep_w.
    pub const JOB: u8 = 2;
    /// Non-zero while the row loop or the input stage works.
    pub const BUSY: u8 = 8;
    /// Non-zero when the output buffer has room for a tail row.
    pub const ROOM: u8 = 9;
}

/// Output ports.
pub mod pout {
    pub const PP: u8 = 0;
    /// The next input row goes to the input memory from `IBASE` (`IGO` starts it).
    pub const IBASE: u8 = 4;
    pub const IGO: u8 = 5;
    /// The row command's fields (`rc::*`), then `RGO`.
    pub const RC: u8 = 16;
    pub const RGO: u8 = 48;
    /// The strip is done; non-zero: an error (1 more ops than the firmware holds, 4 no
    /// valid program).
    pub const DONE: u8 = 49;
    /// The strip's constants the row loop and the input stage use, written once a strip:
    /// the header's scale, input channels, global-residual kind, output fraction, k_in and
    /// k_out (low, high), the bytes of one tail row, and the bilinear table's 8 words.
    pub const H_R: u8 = 64;
    pub const H_INCH: u8 = 65;
    pub const H_GLOB: u8 = 66;
    pub const H_FRAC: u8 = 67;
    pub const H_KIN: u8 = 68;
    pub const H_KOUT: u8 = 70;
    pub const ROWB: u8 = 72;
    pub const BIL: u8 = 73;
}

/// The op-record words the row loop keeps (`crate::program`'s encoding: kind and flags,
/// inner count, output channels, up, shift, the slope, source channels, source scale, groups,
/// source words per pixel, lanes of the last word, record step; the slope is word 11, a
/// conv's, or for a binary op word 12, its post slope: the hardware picks by the kind word 0
/// brought). Writing `pout::RC + rc::OP` makes the hardware read them from the program memory
/// itself, one a cycle, while the firmware writes the other command ports: the firmware must
/// not read `PW` until `RGO` (the model checks it).
pub const ROW_RECORD_WORDS: [u16; 12] = [0, 1, 2, 3, 10, 11, 13, 14, 29, 31, 32, 44];

/// The row command's fields, at `pout::RC + k`.
pub mod rc {
    pub const OP: u8 = 0;
    pub const NU: u8 = 1;
    pub const WIN_F: u8 = 2;
    pub const WIN_B: u8 = 5;
    /// Bit ty: source row rho − 1 + ty is inside the image.
    pub const VALID: u8 = 8;
    pub const DST_F: u8 = 9;
    pub const DST_B: u8 = 10;
    pub const XIN: u8 = 11;
    pub const A1: u8 = 13;
    pub const W_ROW: u8 = 14;
    pub const C_ROW: u8 = 15;
    pub const X0: u8 = 16;
    pub const X_END: u8 = 17;
    /// The first column's offset in words (`x0 · source channels`: the tail's kept columns;
    /// 0 for the other ops, which start at column 0).
    pub const XOFF: u8 = 18;
    pub const N: usize = 19;
}

/// The hardware zeroes its per-op counters in the strip's first 32 cycles (one word a cycle),
/// so the firmware's first `RGO` must not come earlier; it comes after the header's reads, well
/// after (the model holds the firmware to it).
pub const COUNTERS_CLEARED: u64 = 32;

/// Program address bits of the firmware's memory.
pub const PA: u32 = 10;
/// Ops whose state the registers hold.
pub const MAX_OPS: usize = 14;

// Registers: the strip's globals.
const NOPS: u8 = 0;
const R: u8 = 1;
const WW: u8 = 2;
const HH: u8 = 3;
const KX0: u8 = 4;
const KW: u8 = 5;
const U: u8 = 6;
const ULAST: u8 = 7;
const USUB: u8 = 8;
const Y: u8 = 9;
const IN_BASE: u8 = 10;
const IN_PITCH: u8 = 11;
const IN_ROWS: u8 = 12;
const IN_SLOT: u8 = 13;
/// The tail's row nu as nu / r, nu % r, and (nu / r) mod the input ring's rows.
const TQ: u8 = 14;
const TR: u8 = 15;
const TQS: u8 = 16;
const GLOB: u8 = 17;
/// The bilinear table's address in the program memory (header word 25).
const TBL_AT: u8 = 18;
/// The bilinear table: (row offset, Q8 weight) per phase.
const TBL: u8 = 20;
const L: u8 = 28;
const OPB: u8 = 29;
const BLK: u8 = 30;
const T0: u8 = 32;
const T1: u8 = 33;
const T2: u8 = 34;
const Y0: u8 = 35;
/// The record fields of the op being computed (`load_rings`).
const SFR: u8 = 40;
const SFB: u8 = 41;
const SBR: u8 = 42;
const SBB: u8 = 43;
const DFR: u8 = 44;
const DFB: u8 = 45;
const DBR: u8 = 46;
const DBB: u8 = 47;
const SPF: u8 = 48;
const SPB: u8 = 49;
const DPF: u8 = 50;
const DPB: u8 = 51;
/// The op's kind XOR 3: zero for the tail (the only test the firmware makes of it).
const NOT_TAIL: u8 = 36;
const WB: u8 = 37;
const CB: u8 = 38;
const SSC: u8 = 39;
const PST: u8 = 31;
/// The op state being worked on, copied from its block (the fields below, in block order).
const C: u8 = 52;
/// Per-op state blocks: `BLOCK` words from `OPS` + `BLOCK · l`.
const OPS: u8 = 64;
const BLOCK: u8 = 12;
/// The next row's command, built while the row before runs (`rc::*` order).
const CMD: u8 = 232;
/// The `mul` subroutine's factors and sum.
const MX: u8 = 251;
const MY: u8 = 252;
const MP: u8 = 253;
const _: () = assert!(C + BLOCK <= OPS && OPS as usize + BLOCK as usize * MAX_OPS <= CMD as usize);
const _: () = assert!(CMD as usize + rc::N <= MX as usize);

/// Op state fields (offsets in a block and in the copy at `C`).
mod f {
    pub const CD: u8 = 0;
    pub const NU: u8 = 1;
    pub const TOTAL: u8 = 2;
    pub const ISUB: u8 = 3;
    pub const RHO: u8 = 4;
    pub const HS: u8 = 5;
    pub const SF: u8 = 6;
    pub const SB: u8 = 7;
    pub const DFS: u8 = 8;
    pub const DBS: u8 = 9;
    pub const UP: u8 = 10;
    pub const PERIOD: u8 = 11;
}

/// Header word offsets (`crate::program`'s encoding); each read starts a run the pointer
/// walks: magic, version, ops, input and output channels, scale; global kind, fraction, k_in,
/// k_out, the input ring (channels, scale, rows, base); the bilinear record, the input pitch,
/// the bilinear table's address.
mod hdr {
    pub const GLOBAL: u16 = 8;
    /// The input pitch's low word; the high word, then the bilinear table's address follow.
    pub const INPUT_PITCH: u16 = 23;
}

/// Record word offsets (`crate::program`'s encoding).
mod rec {
    pub const UP: u16 = 3;
    pub const SRC_CH: u16 = 13;
    pub const SRC_SCALE: u16 = 14;
    pub const SRC_F_ROWS: u16 = 15;
    pub const DST_F_ROWS: u16 = 23;
    pub const SRC_PITCH_F: u16 = 34;
    pub const W_BASE: u16 = 6;
    pub const C_BASE: u16 = 8;
    pub const PER_SET: u16 = 42;
}

/// `d ← x · y` (low half) for the registers `x` and `y`, by the `mul` subroutine's shift and
/// add: one pass per bit of `y`, so `y` is the small factor (a scale, a ring slot, a phase).
fn mul(a: &mut Asm, x: u8, y: u8, d: u8) {
    a.ld(x).st(MX).ld(y).call("mul").st(d);
}

/// `r ← r + 1`, back to 0 at `n` (a ring slot or a phase counter).
fn wrap_inc(a: &mut Asm, r: u8, n: u8, label: &str) {
    a.ld(r).alui(Alu::Add, 1).st(r).alu(Alu::Xor, n).jnz(label).st(r).label(label);
}

/// The sequencer firmware for `cfg`'s engine, whose memories must be addressable in 16 bits.
pub fn firmware(cfg: &HwConfig) -> Result<Vec<u16>, String> {
    let m = &cfg.memory;
    let widest = [m.feature_words, m.input_words, m.bit_words, m.const_words, m.program_words];
    if widest.iter().any(|&n| n > 1 << 16) {
        return Err(format!("{}: the sequencer firmware addresses memories of at most 64 Ki words", cfg.name));
    }
    Ok(firmware_words())
}

/// The firmware itself: the same for every engine it serves (the configuration only bounds
/// the memories, [`firmware`]).
pub fn firmware_words() -> Vec<u16> {
    let mut a = Asm::new();
    let c = |k: u8| C + k;
    a.label("idle");
    a.inp(pin::GO).jz("idle");

    // ---- The header: magic, ops, scale, the input ring, the bilinear record; the row
    // loop's and input stage's constants go to their ports as they pass.
    a.li(0).out(pout::PP).inp(pin::PW).st(T0).li(MAGIC).alu(Alu::Xor, T0).jnz("no_program");
    a.inp(pin::PW).inp(pin::PW).st(NOPS);
    a.li(MAX_OPS as u16 + 1).st(T0).ld(NOPS).alu(Alu::Cmp, T0).jnc("too_many");
    a.inp(pin::PW).out(pout::H_INCH).inp(pin::PW).st(T2).inp(pin::PW).st(R).out(pout::H_R);
    a.li(hdr::GLOBAL).out(pout::PP).inp(pin::PW).st(GLOB).out(pout::H_GLOB).inp(pin::PW).out(pout::H_FRAC);
    for k in 0..4 {
        a.inp(pin::PW).out(if k < 2 { pout::H_KIN + k } else { pout::H_KOUT + k - 2 });
    }
    // The input ring's channels and scale, then its rows and base.
    a.inp(pin::PW).inp(pin::PW).inp(pin::PW).st(IN_ROWS).inp(pin::PW).st(IN_BASE);
    a.li(hdr::INPUT_PITCH).out(pout::PP).inp(pin::PW).st(IN_PITCH).inp(pin::PW).inp(pin::PW).st(TBL_AT);
    a.inp(pin::JOB).st(WW).inp(pin::JOB + 1).st(HH).inp(pin::JOB + 2).st(KX0).inp(pin::JOB + 3).st(KW);
    // A tail row's bytes: output channels · keep_w · r.
    mul(&mut a, KW, R, T1);
    mul(&mut a, T1, T2, T1);
    a.ld(T1).out(pout::ROWB);
    // The table: 2r words after the op records, to registers and to the row loop's ports.
    a.ld(TBL_AT).out(pout::PP);
    a.li(TBL as u16).tax().ld(R).sh(Shift::Shl).st(T0);
    a.label("tbl");
    a.inp(pin::PW).stx().ld(T0).alui(Alu::Sub, 1).st(T0).jnz("tbl");
    for k in 0..8 {
        a.ld(TBL + k).out(pout::BIL + k);
    }

    // ---- Each op's state: countdown = delay, rows = H · src.scale · up, the rest 0.
    a.call("first_op");
    a.label("init");
    a.ld(OPB).alui(Alu::Add, rec::UP as u8).out(pout::PP).inp(pin::PW).st(c(f::UP));
    a.inp(pin::PW).st(c(f::CD)).inp(pin::PW).st(c(f::PERIOD));
    a.ld(OPB).alui(Alu::Add, rec::SRC_SCALE as u8).out(pout::PP).inp(pin::PW).st(T0);
    mul(&mut a, HH, T0, c(f::HS));
    mul(&mut a, c(f::HS), c(f::UP), c(f::TOTAL));
    a.li(0);
    for k in [f::NU, f::ISUB, f::RHO, f::SF, f::SB, f::DFS, f::DBS] {
        a.st(c(k));
    }
    a.call("store_state");
    a.call("next_op").jnz("init");
    // The last step: the tail's delay + (H · r − 1) · period (its state is the last copied).
    mul(&mut a, HH, R, T0);
    a.ld(T0).alui(Alu::Sub, 1).st(T0);
    mul(&mut a, T0, c(f::PERIOD), T0);
    a.ld(T0).alu(Alu::Add, c(f::CD)).st(ULAST);
    a.li(0).st(U).st(USUB).st(Y).st(IN_SLOT).st(TQ).st(TR).st(TQS);

    // ---- A wavefront step: the input row if one is due, then every op.
    a.label("step");
    a.ld(USUB).jnz("ops");
    a.ld(Y).alu(Alu::Cmp, HH).jnc("ops");
    a.call("wait");
    a.ld(IN_SLOT).call("in_row").out(pout::IBASE).out(pout::IGO);
    a.ld(Y).alui(Alu::Add, 1).st(Y);
    wrap_inc(&mut a, IN_SLOT, IN_ROWS, "in_w");
    a.label("ops");
    a.call("first_op");
    a.label("visit");
    // The countdown, the row and the rows in all: skip a finished op, count down a waiting one.
    a.ld(BLK).tax().ldx().st(c(f::CD)).ldx().st(c(f::NU)).ldx().alu(Alu::Xor, c(f::NU)).jz("visited");
    a.ld(c(f::CD)).jz("row");
    a.alui(Alu::Sub, 1).st(T0).ld(BLK).tax().ld(T0).stx();
    a.label("visited");
    a.call("next_op").jnz("visit");
    a.ld(U).alu(Alu::Xor, ULAST).jz("done");
    a.ld(U).alui(Alu::Add, 1).st(U);
    wrap_inc(&mut a, USUB, R, "usub_w");
    a.jmp("step");
    a.label("done");
    a.call("wait");
    a.li(0).out(pout::DONE).jmp("idle");
    a.label("too_many");
    a.li(1).out(pout::DONE).jmp("idle");
    a.label("no_program");
    a.li(4).out(pout::DONE).jmp("idle");

    // ---- A row of op L.
    a.label("row");
    a.ld(BLK).tax();
    for k in 0..BLOCK {
        a.ldx().st(c(k));
    }
    a.call("load_rings");
    a.ld(L).st(CMD + rc::OP).ld(c(f::NU)).st(CMD + rc::NU);
    // Which window rows are inside the image: rho − 1 ≥ 0 and rho + 1 < hs.
    a.li(2).st(T2);
    a.ld(c(f::RHO)).jz("v0");
    a.li(3).st(T2);
    a.label("v0");
    a.ld(c(f::RHO)).alui(Alu::Add, 1).alu(Alu::Cmp, c(f::HS)).jnc("v2");
    a.ld(T2).alui(Alu::Or, 4).st(T2);
    a.label("v2");
    a.ld(T2).st(CMD + rc::VALID);
    // The window in the feature ring: slots sf − 1, sf, sf + 1 (wrapping).
    ring_window(&mut a, c(f::SF), SFR, SFB, SPF, CMD + rc::WIN_F, "wf");
    // ... and in the bit ring, where the source has one.
    a.ld(SBR).jnz("wb");
    for k in 0..3 {
        a.st(CMD + rc::WIN_B + k);
    }
    a.jmp("wb_done");
    a.label("wb");
    ring_window(&mut a, c(f::SB), SBR, SBB, SPB, CMD + rc::WIN_B, "wbr");
    a.label("wb_done");
    // The row's first weight word and constant record (pixel-shuffle row i's sets start at
    // i·up; the tail has one set), and its output columns.
    a.li(0).st(T0);
    a.ld(NOT_TAIL).jz("iu0");
    mul(&mut a, c(f::ISUB), c(f::UP), T0);
    a.label("iu0");
    mul(&mut a, PST, T0, T1);
    a.ld(T1).alu(Alu::Add, WB).st(CMD + rc::W_ROW);
    a.ld(T0).alu(Alu::Add, CB).st(CMD + rc::C_ROW);
    a.ld(NOT_TAIL).jz("cols_tail");
    mul(&mut a, WW, SSC, T1);
    mul(&mut a, T1, c(f::UP), T1);
    a.ld(T1).st(CMD + rc::X_END).li(0).st(CMD + rc::X0).st(CMD + rc::XOFF).jmp("cols_done");
    a.label("cols_tail");
    mul(&mut a, KX0, R, T1);
    a.ld(T1).st(CMD + rc::X0).ld(KX0).alu(Alu::Add, KW).st(T1);
    mul(&mut a, T1, R, T1);
    a.ld(T1).st(CMD + rc::X_END);
    a.ld(OPB).alui(Alu::Add, rec::SRC_CH as u8).out(pout::PP).inp(pin::PW).st(T1);
    mul(&mut a, CMD + rc::X0, T1, CMD + rc::XOFF);
    a.label("cols_done");
    a.ld(NOT_TAIL).jz("tail");
    // The destination row nu.
    mul(&mut a, DPF, c(f::DFS), T0);
    a.ld(T0).alu(Alu::Add, DFB).st(CMD + rc::DST_F);
    a.ld(DBR).jz("db0");
    mul(&mut a, DPB, c(f::DBS), T0);
    a.ld(T0).alu(Alu::Add, DBB);
    a.label("db0");
    a.st(CMD + rc::DST_B);
    a.li(0).st(CMD + rc::XIN).st(CMD + rc::XIN + 1).st(CMD + rc::A1);
    a.jmp("go");

    // The tail: no destination; the residual's input rows.
    a.label("tail");
    a.li(0).st(CMD + rc::DST_F).st(CMD + rc::DST_B);
    a.ld(GLOB).jz("bil");
    // Subtract: row nu (r = 1) twice.
    a.ld(TQS).call("in_row").st(CMD + rc::XIN).st(CMD + rc::XIN + 1);
    a.li(0).st(CMD + rc::A1).jmp("tail_phase");
    a.label("bil");
    // Phase TR's (offset, weight); the offset is 0 or −1 (half-pixel centres).
    // y0 = TQ + offset (T0 its slot, Y0 the row), y1 = y0 + 1 unless y0 is the last row;
    // above the first row (TQ = 0, offset −1) both taps start at row 0 with weight 0.
    a.ld(TR).sh(Shift::Shl).alui(Alu::Add, TBL).tax().ldx().st(T1).ldx().st(T2);
    a.ld(TQS).st(T0).ld(TQ).st(Y0);
    a.ld(T1).jz("bil_y0");
    a.ld(TQ).jnz("bil_dec");
    a.li(0).st(T2).jmp("bil_y0");
    a.label("bil_dec");
    a.ld(Y0).alui(Alu::Sub, 1).st(Y0);
    a.ld(T0).jnz("bil_sub");
    a.ld(IN_ROWS).st(T0);
    a.label("bil_sub");
    a.ld(T0).alui(Alu::Sub, 1).st(T0);
    a.label("bil_y0");
    a.ld(T0).call("in_row").st(CMD + rc::XIN);
    a.ld(T2).st(CMD + rc::A1);
    a.ld(Y0).alui(Alu::Add, 1).alu(Alu::Xor, HH).jz("bil_y1");
    wrap_inc(&mut a, T0, IN_ROWS, "bil_w");
    a.label("bil_y1");
    a.ld(T0).call("in_row").st(CMD + rc::XIN + 1);
    // The tail's phase counters.
    a.label("tail_phase");
    wrap_inc(&mut a, TR, R, "tr_w");
    a.ld(TR).jnz("go");
    a.ld(TQ).alui(Alu::Add, 1).st(TQ);
    wrap_inc(&mut a, TQS, IN_ROWS, "tqs_w");

    // ---- Start the row once the one before has finished (its command was built meanwhile;
    // a tail row also waits for room in the output buffer), then update the op's state while
    // it runs.
    a.label("go");
    a.call("wait");
    a.ld(NOT_TAIL).jnz("go_now");
    a.label("tail_room");
    a.inp(pin::ROOM).jz("tail_room");
    a.label("go_now");
    for k in 0..rc::N as u8 {
        a.ld(CMD + k).out(pout::RC + k);
    }
    a.out(pout::RGO);
    a.ld(c(f::NU)).alui(Alu::Add, 1).st(c(f::NU));
    a.ld(c(f::PERIOD)).alui(Alu::Sub, 1).st(c(f::CD));
    wrap_inc(&mut a, c(f::DFS), DFR, "dfs_w");
    a.ld(DBR).jz("dbs_w");
    wrap_inc(&mut a, c(f::DBS), DBR, "dbs_w2");
    a.label("dbs_w");
    wrap_inc(&mut a, c(f::ISUB), c(f::UP), "isub_w");
    a.ld(c(f::ISUB)).jnz("row_state");
    a.ld(c(f::RHO)).alui(Alu::Add, 1).st(c(f::RHO));
    wrap_inc(&mut a, c(f::SF), SFR, "sf_w");
    a.ld(SBR).jz("row_state");
    wrap_inc(&mut a, c(f::SB), SBR, "sb_w");
    a.label("row_state");
    a.call("store_state");
    a.jmp("visited");

    // ---- Subroutines.
    // store_state: the copy at C back into op L's block.
    a.label("store_state");
    a.ld(BLK).tax();
    for k in 0..BLOCK {
        a.ld(c(k)).stx();
    }
    a.ret();
    // next_op: L, OPB, BLK to the next op; A = 0 after the last.
    a.label("next_op");
    a.ld(OPB).alui(Alu::Add, OP_WORDS as u8).st(OPB);
    a.ld(BLK).alui(Alu::Add, BLOCK).st(BLK);
    a.ld(L).alui(Alu::Add, 1).st(L).alu(Alu::Xor, NOPS).ret();
    // first_op: L, OPB, BLK at op 0.
    a.label("first_op");
    a.li(0).st(L).li(HEADER_WORDS as u16).st(OPB).li(OPS as u16).st(BLK).ret();
    // in_row: A ← the input ring's row in slot A (its address: IN_BASE + A · IN_PITCH), as
    // `mul` with the sum starting at IN_BASE.
    a.label("in_row");
    a.st(MY).ld(IN_PITCH).st(MX).ld(IN_BASE).jmp("mul_acc");
    // mul: A ← MX · A, shifting MX left and A (in MY) right; no port or multiplier of the
    // engine's (a block of 48 flip-flops the UP5K's cells cannot spare), and the products are
    // per row, while a row runs for thousands of cycles.
    a.label("mul");
    a.st(MY).li(0);
    a.label("mul_acc");
    a.st(MP);
    a.label("mul_l");
    a.ld(MY).jz("mul_end").sh(Shift::Shr).st(MY).jnc("mul_sk");
    a.ld(MP).alu(Alu::Add, MX).st(MP);
    a.label("mul_sk");
    a.ld(MX).sh(Shift::Shl).st(MX).jmp("mul_l");
    a.label("mul_end");
    a.ld(MP).ret();
    // wait: until the row loop and the input stage are idle.
    a.label("wait");
    a.inp(pin::BUSY).jnz("wait");
    a.ret();
    // load_rings: the op's kind, its rings' rows and bases, and their pitches (low halves:
    // the firmware serves memories of at most 64 Ki words).
    a.label("load_rings");
    a.ld(OPB).out(pout::PP).inp(pin::PW).alui(Alu::And, 15).alui(Alu::Xor, 3).st(NOT_TAIL);
    a.ld(OPB).alui(Alu::Add, rec::W_BASE as u8).out(pout::PP).inp(pin::PW).st(WB);
    a.ld(OPB).alui(Alu::Add, rec::C_BASE as u8).out(pout::PP).inp(pin::PW).st(CB);
    a.ld(OPB).alui(Alu::Add, rec::SRC_SCALE as u8).out(pout::PP).inp(pin::PW).st(SSC);
    a.ld(OPB).alui(Alu::Add, rec::PER_SET as u8).out(pout::PP).inp(pin::PW).st(PST);
    a.ld(OPB).alui(Alu::Add, rec::SRC_F_ROWS as u8).out(pout::PP);
    a.inp(pin::PW).st(SFR).inp(pin::PW).st(SFB).inp(pin::PW).inp(pin::PW).st(SBR).inp(pin::PW).st(SBB);
    a.ld(OPB).alui(Alu::Add, rec::DST_F_ROWS as u8).out(pout::PP);
    a.inp(pin::PW).st(DFR).inp(pin::PW).st(DFB).inp(pin::PW).inp(pin::PW).st(DBR).inp(pin::PW).st(DBB);
    a.ld(OPB).alui(Alu::Add, rec::SRC_PITCH_F as u8).out(pout::PP);
    a.inp(pin::PW).st(SPF).inp(pin::PW).inp(pin::PW).st(SPB).inp(pin::PW);
    a.inp(pin::PW).st(DPF).inp(pin::PW).inp(pin::PW).st(DPB);
    a.ret();

    a.finish(PA).expect("the sequencer firmware fits its program memory")
}

/// The three window rows of a ring at slots `s − 1`, `s`, `s + 1` (wrapping at `rows`), as
/// `base + slot · pitch`, into registers `d .. d + 3`.
fn ring_window(a: &mut Asm, s: u8, rows: u8, base: u8, pitch: u8, d: u8, lbl: &str) {
    a.ld(s).jnz(&format!("{lbl}_dec"));
    a.ld(rows).st(T1);
    a.jmp(&format!("{lbl}_m"));
    a.label(&format!("{lbl}_dec"));
    a.ld(s).st(T1);
    a.label(&format!("{lbl}_m"));
    a.ld(T1).alui(Alu::Sub, 1).st(T1);
    for k in 0..3 {
        mul(a, pitch, T1, T0);
        a.ld(T0).alu(Alu::Add, base).st(d + k);
        if k < 2 {
            wrap_inc(a, T1, rows, &format!("{lbl}_w{k}"));
        }
    }
}

/// The firmware on the core's model beside a reference device whose `run_row` is the row
/// loop and whose input memory the input stage fills.
pub struct SeqBoard {
    pub cpu: Cpu,
    rom: Vec<u16>,
    pub dev: RefDevice,
    /// Every row command the firmware gave, in order.
    pub rows: Vec<RowCmd>,
    counters: Counters,
}

/// What the hardware beside the core holds for one strip.
struct SeqIo<'a> {
    dev: &'a mut RefDevice,
    p: &'a Program,
    cfg: &'a HwConfig,
    job: &'a StripJob,
    input: &'a [u8],
    out: &'a mut Vec<u8>,
    rows: &'a mut Vec<RowCmd>,
    /// Per op: the row loop's cycles and busy count for its rows.
    op_cycles: Vec<u64>,
    op_busy: Vec<u64>,
    go: bool,
    /// The cycle the strip started (the hardware starts zeroing its per-op counters then).
    start: u64,
    pp: usize,
    rc: [u16; rc::N],
    ibase: u16,
    in_row: usize,
    busy_until: u64,
    busy: u64,
    done: Option<u16>,
    /// Between `RC + OP` and `RGO`: the hardware reads the op's record words (`PW` is not the
    /// firmware's then).
    fetching: bool,
    /// The strip constants' ports (`pout::H_R ..= pout::BIL + 7`), and what they must hold
    /// ([`strip_consts`], worked out once a strip).
    consts: [u16; 17],
    want_consts: ([u16; 17], usize),
}

impl SeqIo<'_> {
    fn io(&mut self, e: Io, now: u64) -> u16 {
        match e {
            Io::In(p) => match p {
                pin::GO => std::mem::take(&mut self.go) as u16,
                pin::PW => {
                    if self.fetching {
                        self.done = Some(3);
                    }
                    let w = self.dev.program_word(self.pp);
                    self.pp += 1;
                    w
                }
                p if (pin::JOB..pin::JOB + 4).contains(&p) => {
                    let j = self.job;
                    [j.width, j.height, j.keep_x0, j.keep_w][(p - pin::JOB) as usize] as u16
                }
                pin::BUSY => (now < self.busy_until) as u16,
                pin::ROOM => 1,
                _ => 0,
            },
            Io::Out(p, v) => {
                match p {
                    pout::PP => self.pp = v as usize,
                    pout::IBASE => self.ibase = v,
                    pout::IGO => {
                        let h = &self.p.header;
                        self.dev.take_input_row(h, self.job, self.input, self.in_row, self.ibase as usize);
                        self.in_row += 1;
                        let n = cycles::input_row(h.in_ch, self.job.width) + INPUT_ROW_EXTRA;
                        self.busy_until = now + n;
                        self.busy += n;
                    }
                    p if (pout::RC..pout::RC + rc::N as u8).contains(&p) => {
                        self.fetching |= p == pout::RC + rc::OP;
                        self.rc[(p - pout::RC) as usize] = v;
                    }
                    p if (pout::H_R..pout::BIL + 8).contains(&p) => self.consts[(p - pout::H_R) as usize] = v,
                    pout::RGO => {
                        let (want, n) = &self.want_consts;
                        if !self.fetching || self.consts[..*n] != want[..*n] || now < self.start + COUNTERS_CLEARED {
                            self.done = Some(3);
                            return 0;
                        }
                        self.fetching = false;
                        let r = |k: u8| self.rc[k as usize] as usize;
                        let valid = r(rc::VALID);
                        let win = |k0: u8| [0, 1, 2].map(|t| (valid >> t & 1 != 0).then(|| r(k0 + t as u8)));
                        let cmd = RowCmd {
                            op: r(rc::OP),
                            nu: r(rc::NU),
                            win_f: win(rc::WIN_F),
                            win_b: win(rc::WIN_B),
                            dst_f: r(rc::DST_F),
                            dst_b: r(rc::DST_B),
                            xin: [r(rc::XIN), r(rc::XIN + 1)],
                            a1: r(rc::A1) as i64,
                            w_row: r(rc::W_ROW),
                            c_row: r(rc::C_ROW),
                            x0: r(rc::X0),
                            x_end: r(rc::X_END),
                        };
                        self.rows.push(cmd);
                        let Some(op) = self.p.ops.get(cmd.op) else {
                            self.done = Some(2);
                            return 0;
                        };
                        if r(rc::XOFF) != cmd.x0 * op.src.ch {
                            self.done = Some(3);
                            return 0;
                        }
                        self.op_busy[cmd.op] += self.dev.run_row(self.p, self.job, &cmd, self.out);
                        // The row's cycles less the setup the firmware now does.
                        let wait = if op.kind == crate::program::OpKind::Tail { cycles::TAIL_WAIT } else { 0 };
                        let n =
                            cycles::row(self.cfg, op, self.job.width, self.job.keep_w) - SETUP_DONE_BY_FIRMWARE - wait;
                        self.busy_until = now + n;
                        self.busy += n;
                        self.op_cycles[cmd.op] += n;
                    }
                    pout::DONE => self.done = Some(v),
                    _ => {}
                }
                0
            }
        }
    }
}

/// What the strip-constant ports must hold (`pout::H_R ..= pout::BIL + 7`), and how many of
/// them count: the table's words past its `2r` are whatever the registers held.
fn strip_consts(p: &Program, job: &StripJob, table: &[(i64, i64)]) -> ([u16; 17], usize) {
    let h = &p.header;
    let mut c = [0u16; 17];
    c[0] = h.scale as u16;
    c[1] = h.in_ch as u16;
    c[2] = (h.global == crate::program::GlobalKind::SubtractInput) as u16;
    c[3] = h.frac as u16;
    c[4..6].copy_from_slice(&[h.k_in as u16, (h.k_in >> 16) as u16]);
    c[6..8].copy_from_slice(&[h.k_out as u16, (h.k_out >> 16) as u16]);
    c[8] = (h.out_ch * job.keep_w * h.scale) as u16;
    for (i, &(off, w)) in table.iter().enumerate().take(4) {
        c[9 + 2 * i] = off as u16;
        c[10 + 2 * i] = w as u16;
    }
    (c, 9 + 2 * table.len().min(4))
}

/// Cycles of `cycles::row` the firmware-sequenced row loop (`bbcu_hdl::enginefw`) does not
/// spend: the hardware sequencer's 14-cycle row setup (the firmware writes a command with
/// every address worked out) and its 3 cycles of drain and write-back, less the 3 of its
/// counter update and 2 for the `RGO` that starts it (counted from its fetch). The tail's wait
/// for room is the firmware's too.
const SETUP_DONE_BY_FIRMWARE: u64 = 11;

/// The input stage's busy time beyond `cycles::input_row` (its bytes and the input-word
/// pipeline's drain): the cycle of `IGO` itself, which the hardware sequencer's count did
/// not see.
const INPUT_ROW_EXTRA: u64 = 2;

/// What a strip cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StripCycles {
    /// From the strip's start to `DONE`.
    pub total: u64,
    /// Of which the row loop or the input stage was busy.
    pub busy: u64,
}

impl SeqBoard {
    /// A board running the firmware for `cfg`, with `image` loaded into its memories.
    pub fn new(cfg: &HwConfig, image: &[u8]) -> Result<SeqBoard, String> {
        use crate::device::Device;
        let mut b = SeqBoard::empty(cfg)?;
        b.load(image).map_err(|e| e.to_string())?;
        Ok(b)
    }

    /// A board with no model.
    pub fn empty(cfg: &HwConfig) -> Result<SeqBoard, String> {
        let rom = firmware(cfg)?;
        Ok(SeqBoard {
            cpu: Cpu::new(PA),
            rom,
            dev: RefDevice::new(cfg.clone()),
            rows: Vec::new(),
            counters: Counters::default(),
        })
    }

    /// Runs one strip (CHW bytes) to the firmware's `DONE`; answers the output (CHW, kept
    /// columns) and the cycles.
    pub fn strip(&mut self, job: &StripJob, input: &[u8]) -> Result<(Vec<u8>, StripCycles), String> {
        let p = self.dev.program().cloned().ok_or("no model")?;
        job.check(&p.header, input.len()).map_err(|e| e.to_string())?;
        let h = &p.header;
        let mut out = vec![0u8; h.out_ch * job.height * h.scale * job.keep_w * h.scale];
        let cfg = self.dev.config().clone();
        let t0 = self.cpu.cycles;
        let want_consts = strip_consts(&p, job, self.dev.bilinear_table());
        let mut io = SeqIo {
            dev: &mut self.dev,
            p: &p,
            cfg: &cfg,
            job,
            input,
            out: &mut out,
            rows: &mut self.rows,
            op_cycles: vec![0; p.ops.len()],
            op_busy: vec![0; p.ops.len()],
            go: true,
            start: t0,
            pp: 0,
            rc: [0; rc::N],
            ibase: 0,
            in_row: 0,
            busy_until: 0,
            busy: 0,
            done: None,
            fetching: false,
            consts: [0; 17],
            want_consts,
        };
        let limit = t0 + 4_000_000_000;
        while io.done.is_none() {
            let now = self.cpu.cycles;
            self.cpu.step(&self.rom, &mut |e| io.io(e, now));
            if self.cpu.cycles > limit {
                return Err("the sequencer firmware did not finish the strip".into());
            }
        }
        let total = self.cpu.cycles - t0;
        // Back to the idle loop's `GO` poll (the jump after `DONE`), where the next strip's
        // count starts, as the hardware's does.
        while self.cpu.pc != 0 {
            let now = self.cpu.cycles;
            self.cpu.step(&self.rom, &mut |e| io.io(e, now));
        }
        match io.done {
            Some(1) => return Err(format!("the program has more than {MAX_OPS} ops")),
            Some(2) => return Err("the firmware named an op the program does not have".into()),
            Some(3) => return Err("the firmware broke the row loop's port contract".into()),
            Some(4) => return Err("no valid program".into()),
            _ => {}
        }
        // Per op its rows' cycles in the row loop; the last entry the rest (input rows and
        // the firmware's own work), so that they add up to the total.
        let mut layer_cycles = io.op_cycles;
        layer_cycles.push(total - layer_cycles.iter().sum::<u64>());
        let mut layer_busy = io.op_busy;
        layer_busy.push(0);
        let busy = io.busy;
        self.counters = Counters {
            total_cycles: total,
            stall_cycles: 0,
            layer_cycles,
            layer_busy,
            strips: self.counters.strips + 1,
        };
        Ok((out, StripCycles { total, busy }))
    }
}

/// The firmware-sequenced engine as a device (a model: the row loop is the reference
/// model's). Its counters give each op the row loop's cycles for its rows and put the
/// firmware's own time with the input rows in the last entry.
impl Device for SeqBoard {
    fn info(&self) -> DesignInfo {
        self.dev.info()
    }

    fn load(&mut self, image: &[u8]) -> Result<(), DeviceError> {
        self.dev.load(image)?;
        self.counters = Counters::default();
        Ok(())
    }

    fn run_strip(&mut self, job: &StripJob, input: &[u8]) -> Result<Vec<u8>, DeviceError> {
        let p = self.dev.program().ok_or(DeviceError::NoModel)?;
        job.check(&p.header, input.len())?;
        self.strip(job, input).map(|(out, _)| out).map_err(DeviceError::Failed)
    }

    fn counters(&self) -> Counters {
        self.counters.clone()
    }

    fn reset(&mut self) {
        self.dev.reset();
        self.counters = Counters::default();
    }
}
