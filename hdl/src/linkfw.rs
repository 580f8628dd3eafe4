//! The device side of the link protocol's hardware profile (`docs/protocol.md`) as firmware
//! for the control core (`bbcu_arch::ctl`), and a Rust model of the link I/O block it drives.
//! The firmware does what `crate::proto::Proto` does in hand-built logic: the receiver (hunt
//! for a header, CRC-8, the payload's fields into registers and the rest into the frame
//! buffer, CRC-32, the partial-frame timeout), HELLO, model uploads (in order, parsed and
//! written through the load port, valid only after COMMIT's checks), strips (the job check,
//! start, input through the feeder with the credit rule's QUERY states, results streamed per
//! whole chunk, RESULT_END), FETCH, COUNTERS, RESET (draining a strip in flight), and every
//! error with `Proto`'s messages, named by index (`crate::proto::board_message`).
//!
//! Where it runs: `tests/linkfw.rs` runs it on the instruction-level model beside
//! [`IoModel`] (every byte-level case of `tests/proto.rs`, result streaming, RESET's drain,
//! the paced line); `crate::linkio::LinkIo` is the core running it beside the I/O block in
//! Rust-HDL, on the UP5K's board top-level, tested under rust-hdl (`tests/linkio.rs`) and
//! Verilator (`tests/board_verilator.rs`, `::firmware`). docs/architecture.md, "The protocol
//! engine as firmware", has its size against the UP5K's block RAM and its ~80 cycles a
//! model-image byte against 120 at 3 Mbaud and 36 MHz.
//!
//! Size: the core's link register is one deep, so code that is itself called (`results`,
//! `mul`) stays flat, and what repeats in the top-level code is a call whose arguments are
//! the word after it (`reply`, `error_inline`, `perr`: read with `lra` and `lpm`, the return
//! past them with `jpa`), which fits the program in `PA = 11`. A reply's fields are a list of
//! registers and literal bytes after a call to `send`, two bytes a word, where unrolled code
//! took two to four words a byte; small tables (memory capacities, the parser's states) sit
//! below address 256, where `alui.add` reaches them. The per-byte paths (payload receive, the
//! parser's words) gained no calls.
//!
//! Ports (the I/O block's side of the core's `in` / `out`; the numbers in [`pin`], [`pout`]):
//! - receive: `RXS` (1 when a byte waits), `RX` (the byte; the read pops it), `CRC8` and
//!   `RX32L/H` (the receive CRC units, fed by `out CRC8` / `out RX32` with bit 8 = clear first);
//! - frame buffer: `FBP` sets its pointer, `FBW` writes a byte there and `FB` reads one (both
//!   advance the pointer);
//! - timer: `out TMR` starts a countdown of A × 256 cycles, `in TMR` is non-zero while it runs;
//! - sender: the firmware writes a frame's bytes into the send FIFO (`SSTART` the first,
//!   `SHDR` the rest of the header, also through the CRC-8 unit, whose value is the header's
//!   CRC, `SBYTE` the others), then `SGO` ends it: A bytes from the result FIFO (through the
//!   result CRC), then the CRC-32; `in SND`: bit 0 until the frame's own bytes are in the send
//!   FIFO, bit 1 while that FIFO holds anything, bit 2 once half its size has been written
//!   since it was last idle;
//! - the receive CRC-32 also serves the upload: `X32L` / `X32H` load its value (the
//!   firmware keeps the upload's while a frame comes in), and the feeder feeds it;
//! - load port `LMEM`, `LADRL` (a 16-bit address: memories of at most 64 Ki words),
//!   `LD..LD+3`, `LGO` (writes the word and advances the address);
//! - engine: `JOB..JOB+3` and `START`, `ENG` (busy, error), `DONE` (once per finished strip),
//!   `CNTSEL` / `CNTL/H` (its counters), the feeder `FEED` / `FEEDZ` (frame-buffer bytes or
//!   zeros to the pixel input as the engine takes them; `in FEED` counts what is left), the
//!   result FIFO `RCNT` / `RES`, and `RES32L/H`.

use bbcu_arch::ctl::{Alu, Asm, Cpu, Io, Shift};
use bbcu_arch::image::Mem;
use bbcu_arch::{DesignInfo, HwConfig};
use std::collections::VecDeque;

/// Input ports.
pub mod pin {
    /// Bytes the feeder has still to move.
    pub const FEED: u8 = 13;
    /// Result FIFO fill level.
    pub const RCNT: u8 = 14;
    /// A result byte (the read pops it; RESET drops the rest of a strip's output).
    pub const RES: u8 = 15;
    pub const RES32L: u8 = 16;
    pub const RES32H: u8 = 17;
    /// Non-zero once after the engine finished a strip (the read clears it).
    pub const DONE: u8 = 18;
    /// Engine: bit 0 busy, bit 1 done since the last read (the read clears it), bit 2 error,
    /// bit 3 it holds result bytes it has not given yet.
    pub const ENG: u8 = 8;
    pub const CNTL: u8 = 9;
    pub const CNTH: u8 = 10;
    pub const RXS: u8 = 0;
    pub const RX: u8 = 1;
    pub const CRC8: u8 = 2;
    pub const RX32L: u8 = 3;
    pub const RX32H: u8 = 4;
    pub const TMR: u8 = 5;
    pub const SND: u8 = 6;
    pub const FB: u8 = 7;
}

/// Output ports.
pub mod pout {
    /// Job fields and start of the engine.
    pub const JOB: u8 = 40;
    pub const START: u8 = 44;
    /// Feeder: move A bytes from the frame buffer (at its pointer) to the engine's pixel input
    /// through the upload CRC, as the engine takes them; `FEEDZ`: A zero bytes, no CRC.
    pub const FEED: u8 = 45;
    pub const FEEDZ: u8 = 46;
    /// Result CRC: clear.
    pub const RES32: u8 = 47;
    /// The receive CRC-32's value, low and high half.
    pub const X32L: u8 = 10;
    pub const X32H: u8 = 11;
    pub const LMEM: u8 = 32;
    pub const LADRL: u8 = 33;
    /// LD .. LD + 3: the load word in 16-bit pieces, low first.
    pub const LD: u8 = 35;
    pub const LGO: u8 = 39;
    pub const CNTSEL: u8 = 5;
    pub const MODEL: u8 = 6;
    pub const CRC8: u8 = 0;
    pub const RX32: u8 = 1;
    pub const FBP: u8 = 2;
    pub const FBW: u8 = 3;
    pub const TMR: u8 = 4;
    /// Sender: a frame's first byte (its CRC-32 and the CRC-8 unit start over with it).
    pub const SSTART: u8 = 8;
    /// A header byte: also into the CRC-8 unit (`in CRC8` then has the header's CRC).
    pub const SHDR: u8 = 9;
    /// The frame's end: A bytes from the result FIFO (through the result CRC), then the
    /// frame's CRC-32.
    pub const SGO: u8 = 12;
    /// Any other byte of the frame.
    pub const SBYTE: u8 = 13;
}

/// Program address bits of the firmware's memory.
pub const PA: u32 = 11;

use crate::proto::{FRAME_START, MESSAGES};

/// Message indices (`MESSAGES`).
mod msg {
    pub const BAD_FRAME: u8 = 0;
    pub const UNKNOWN_CMD: u8 = 1;
    pub const BAD_REQUEST: u8 = 2;
    pub const NO_MODEL: u8 = 3;
    pub const MAGIC: u8 = 4;
    pub const VERSION: u8 = 5;
    pub const DESIGN: u8 = 6;
    pub const MEMORY: u8 = 7;
    pub const OVERFLOW: u8 = 8;
    pub const IMAGE_CRC: u8 = 9;
    pub const STRAY: u8 = 10;
    pub const EARLY: u8 = 11;
    pub const HEADER: u8 = 12;
    pub const BUSY: u8 = 14;
    pub const NOT_KEPT: u8 = 15;
    pub const UNKNOWN: u8 = 16;
    pub const STRIP_CRC: u8 = 17;
    pub const NO_PROGRAM: u8 = 18;
    pub const BAD_JOB: u8 = 13;
}

// Registers.
const W: u8 = 0; // W..W+7: the header window, oldest first
const LEN: u8 = 9; // payload length of the frame being received
const LEFT: u8 = 10;
const CODE: u8 = W + 3;
const SEQ: u8 = W + 4;
const T0: u8 = 13;
const T1: u8 = 14;
const CNT: u8 = 15;
const ADDR: u8 = 16;
const EKIND: u8 = 17;
const EID: u8 = 20; // the id an ERROR names
const FTGT: u8 = 21; // payload fields: target, id
const FID: u8 = 22;
const MVALID: u8 = 23; // a verified model is loaded
const MLEN: u8 = 24; // MLEN, MLEN+1: its length; MCRC, MCRC+1: its CRC-32
const MCRC: u8 = 26;
const STRIPS: u8 = 29; // STRIPS, STRIPS+1: strips computed since power-up
                       // The upload in progress (32-bit values in two registers, low half first).
const UACT: u8 = 30;
const USTRIP: u8 = 31;
const UID: u8 = 32;
const UTOT: u8 = 33;
const UCHUNK: u8 = 35;
const UCRC: u8 = 36;
const UNEXT: u8 = 38;
// BEGIN's fields (one run of registers: they are read in payload order), DATA's offset and
// size.
const BTOT: u8 = 40;
const BCHUNK: u8 = 42;
const BCRC: u8 = 43;
const BJOB: u8 = 45; // width, height, keep_x0, keep_w: 45, 47, 49, 51
const DOFF: u8 = BTOT; // DATA's offset: where BEGIN's total is, as both are payload bytes 3..6
const DN: u8 = 55;
// The model image parser.
const IST: u8 = 56; // 0 header, 1 section, 2 words, 3 tail, 4 done, 5 error
const IK: u8 = 57;
const ISH: u8 = 58;
const INSEC: u8 = 60;
const IMEM: u8 = 62;
const IADDR: u8 = 63;
const ICNT: u8 = 65;
const IWB: u8 = 67;
const IW: u8 = 68; // IW..IW+3: the word, a 64-bit shift register (low half first)
const IERR: u8 = 72;
const IBYTE: u8 = 73;
const ICAP: u8 = 74;
const IWLAST: u8 = 75;
const NOPS: u8 = 76; // the program header's fields at addresses 2..=6, in order: op count,
const HIN: u8 = 77; // input and output channels, scale, width cap
const HOUT: u8 = 78;
const HSCALE: u8 = 79;
const HWCAP: u8 = 80;
const T2: u8 = 81;
const T3: u8 = 82;
// The strip: its input upload is UACT/USTRIP above; its result stream here.
const SHAVE: u8 = 83;
const SID: u8 = 84;
const SINDONE: u8 = 85;
const SCRCOK: u8 = 86;
const SFAIL: u8 = 87;
const RACT: u8 = 88;
const RID: u8 = 89;
const ROFF: u8 = 90;
const RLEN: u8 = 92;
const RCHUNK: u8 = 94;
const RENDSENT: u8 = 95;
const RFCRC: u8 = 96;
const BSEQ: u8 = 98; // the board's own frame counter
const PA0: u8 = 99; // multiplier: PA0..PA0+2 × PB → PP0..PP0+2 (48 bits)
const PB: u8 = 102;
const PP: u8 = 103;
const DLEFT: u8 = 106; // RESET: input bytes the engine still takes (32 bits)
const RN: u8 = 108;
const RT: u8 = 109;
const RKEEP: u8 = 110;
const RLR: u8 = 111; // `rxb`'s return, less one: the call it repeats once a byte is there
const P: u8 = 112; // P..P+6: a frame's first seven payload bytes (its fields)
const PEND: u8 = 119; // LEFT's value after the last of them
const HCODE: u8 = 120; // the header of a frame to send: code, length, sequence number
const HLEN: u8 = 121;
const HSEQ: u8 = 122;
const HRET: u8 = 123; // `reply`'s return
const RRET: u8 = 124; // `results`' return
const UPS: u8 = 125; // UPS, UPS+1: the upload's CRC-32 so far

/// Jumps to `ne` unless the 32-bit values at `x` and `y` are equal.
fn ne32(a: &mut Asm, x: u8, y: u8, ne: &str) {
    a.ld(x).alu(Alu::Xor, y).jnz(ne).ld(x + 1).alu(Alu::Xor, y + 1).jnz(ne);
}

/// `d` ← `x` − `y` (32-bit); C is the borrow.
fn sub32(a: &mut Asm, d: u8, x: u8, y: u8) {
    a.ld(x).alu(Alu::Sub, y).st(d).ld(x + 1).alu(Alu::Sbc, y + 1).st(d + 1);
}

fn mov32(a: &mut Asm, d: u8, x: u8) {
    a.ld(x).st(d).ld(x + 1).st(d + 1);
}

/// Jumps to `ne` unless register `r` holds `v`.
fn ne16(a: &mut Asm, r: u8, v: u16, ne: &str) {
    if v < 256 {
        a.ld(r).alui(Alu::Xor, v as u8).jnz(ne);
    } else {
        a.li(v).alu(Alu::Xor, r).jnz(ne);
    }
}

/// The 32-bit value at `lo` shifted right by a byte, the byte in `b` on top.
fn shift_in32(a: &mut Asm, lo: u8, b: u8) {
    a.ld(lo).sh(Shift::Hi).st(lo).ld(lo + 1).sh(Shift::Swap).alui(Alu::And, 0xFF).st(T3);
    a.ld(lo + 1).sh(Shift::Lo).sh(Shift::Swap).alu(Alu::Or, lo).st(lo);
    a.ld(b).sh(Shift::Swap).alu(Alu::Or, T3).st(lo + 1);
}

/// A MISSING reply: target FTGT, id FID, one range `[UNEXT, UTOT)`.
fn missing(a: &mut Asm) {
    a.label("missing_next");
    sub32(a, T2, UTOT, UNEXT);
    reply(a, 0x85, 12);
    send(a, &[S::B(FTGT), S::W(FID), S::Lit(&[1]), S::W(UNEXT), S::W(UNEXT + 1), S::W(T2), S::W(T3)]);
}

/// BEGIN's chunk size is 1 ..= 1024: one less is below 1024 (0 wraps to 0xFFFF).
fn chunk_check(a: &mut Asm) {
    a.ld(BCHUNK).alui(Alu::Sub, 1).sh(Shift::Hi).alui(Alu::And, 0xFC).jnz("bad_request");
}

/// BEGIN, DATA and COMMIT of the model: the upload taken in order, parsed and written through
/// the load port as it arrives, and valid only once COMMIT has checked the whole.
fn upload(a: &mut Asm, cfg: &HwConfig, t: &Tables) {
    let info = DesignInfo::of(cfg);
    let wbytes = (cfg.lanes / 8) as u16;
    // ---- BEGIN target id total chunk crc width height keep_x0 keep_w
    a.label("begin");
    a.ld(LEN).alui(Alu::Xor, 29).jnz("bad_request");
    a.call("fields_tid");
    // chunk, crc and the job, from the frame buffer: eleven little-endian halves into
    // BCHUNK .. BJOB + 7 (the total came with the fields).
    a.li(BCHUNK as u16).tax().li(11).st(CNT);
    a.label("begin_fields");
    a.inp(pin::FB).st(T0).inp(pin::FB).sh(Shift::Swap).alu(Alu::Or, T0).stx();
    a.ld(CNT).alui(Alu::Sub, 1).st(CNT).jnz("begin_fields");
    a.ld(FTGT).jnz("begin_strip");
    a.ld(FID).jnz("bad_request");
    // The checks both kinds of upload share (a strip's own come first, below).
    a.label("begin_check");
    a.inp(pin::ENG).alui(Alu::And, 1).jnz("busy");
    a.ld(UACT).alu(Alu::And, USTRIP).jnz("busy");
    chunk_check(a);
    a.ld(FTGT).jnz("begin_job");
    // A repeated BEGIN keeps what has arrived.
    a.ld(UACT).jz("begin_model");
    a.ld(USTRIP).jnz("begin_model");
    ne32(a, BTOT, UTOT, "begin_model");
    ne32(a, BCRC, UCRC, "begin_model");
    a.ld(BCHUNK).alu(Alu::Xor, UCHUNK).jnz("begin_model");
    a.jmp("hunt_clear");
    a.label("begin_model");
    a.call("forget").st(USTRIP).st(UID).st(IST).st(IK).st(IERR);
    // Either upload: from offset 0, of BEGIN's total, CRC and chunk.
    a.label("begin_upload");
    a.li(0).st(UNEXT).st(UNEXT + 1).st(UPS).st(UPS + 1).li(1).st(UACT);
    mov32(a, UTOT, BTOT);
    mov32(a, UCRC, BCRC);
    a.ld(BCHUNK).st(UCHUNK).jmp("hunt_clear");
    // forget: no model (A is 0 after).
    a.label("forget");
    a.li(0).st(MVALID).out(pout::MODEL).st(MLEN).st(MLEN + 1).st(MCRC).st(MCRC + 1).ret();
    // A strip: checked as `StripJob::check` does, then the engine starts at once and the
    // strip's input is an upload into it.
    a.label("begin_strip");
    a.ld(MVALID).jz("no_model");
    a.ld(UACT).alu(Alu::And, USTRIP).jz("begin_busy");
    a.ld(FID).alu(Alu::Xor, UID).jz("hunt_clear"); // a repeated BEGIN of this strip
    a.label("begin_busy");
    a.ld(RENDSENT).alui(Alu::Xor, 1).alu(Alu::And, RACT).jnz("busy");
    a.jmp("begin_check");
    a.label("begin_job");
    // width, height, keep_x0, keep_w below 2^16; width 1..=width cap, height and keep_w not
    // 0, keep_x0 + keep_w ≤ width.
    a.ld(BJOB + 1).alu(Alu::Or, BJOB + 3).alu(Alu::Or, BJOB + 5).alu(Alu::Or, BJOB + 7).jnz("bad_job");
    a.ld(BJOB).jz("bad_job");
    a.ld(HWCAP).alu(Alu::Cmp, BJOB).jc("bad_job");
    a.ld(BJOB + 2).jz("bad_job");
    a.ld(BJOB + 6).jz("bad_job");
    a.ld(BJOB + 4).alu(Alu::Add, BJOB + 6).jc("bad_job");
    a.st(T0).ld(BJOB).alu(Alu::Cmp, T0).jc("bad_job");
    // Input bytes w·h·in_ch must be `total`; the result's length kw·h·out_ch·r² below 2^32.
    a.ld(BJOB).call("mul_h");
    a.ld(HIN).call("mul_again");
    a.ld(PP + 2).jnz("bad_job");
    ne32(a, PP, BTOT, "bad_job");
    a.ld(BJOB + 6).call("mul_h");
    a.ld(HOUT).call("mul_again");
    a.ld(HSCALE).call("mul_again");
    a.ld(HSCALE).call("mul_again");
    a.ld(PP + 2).jnz("bad_job");
    // Start.
    for k in 0..4 {
        a.ld(BJOB + 2 * k).out(pout::JOB + k);
    }
    a.out(pout::START);
    a.li(1).st(USTRIP).st(SHAVE).st(RACT).li(0).st(SINDONE).st(SCRCOK).st(SFAIL);
    a.st(ROFF).st(ROFF + 1).st(RENDSENT).st(RFCRC).st(RFCRC + 1).out(pout::RES32);
    a.ld(FID).st(UID).st(SID).st(RID);
    a.ld(BCHUNK).st(RCHUNK);
    mov32(a, RLEN, PP);
    a.jmp("begin_upload");
    a.label("bad_job");
    err(a, 6, msg::BAD_JOB);
    // mul_h: PP ← A × the height; mul_again: PP ← PP × A (48 × 16 bits, kept to 48, through
    // PA0 and PB).
    a.label("mul_h");
    a.st(PP).li(0).st(PP + 1).st(PP + 2).ld(BJOB + 2);
    a.label("mul_again");
    a.st(PB);
    mov32(a, PA0, PP);
    a.ld(PP + 2).st(PA0 + 2).li(0).st(PP).st(PP + 1).st(PP + 2);
    a.label("mul_loop");
    a.ld(PB).jz("mul_done").sh(Shift::Shr).st(PB).jnc("mul_shift");
    a.ld(PP).alu(Alu::Add, PA0).st(PP).ld(PP + 1).alu(Alu::Adc, PA0 + 1).st(PP + 1);
    a.ld(PP + 2).alu(Alu::Adc, PA0 + 2).st(PP + 2);
    a.label("mul_shift");
    a.ld(PA0).sh(Shift::Shl).st(PA0).ld(PA0 + 1).sh(Shift::Rlc).st(PA0 + 1);
    a.ld(PA0 + 2).sh(Shift::Rlc).st(PA0 + 2).jmp("mul_loop");
    a.label("mul_done");
    a.ret();
    // up_load: the receive CRC-32 takes the upload's value, to go on with a payload's bytes;
    // up_keep: the upload's value from it, before the next frame's header clears it.
    a.label("up_load");
    a.ld(UPS).out(pout::X32L).ld(UPS + 1).out(pout::X32H).ret();
    a.label("up_keep");
    a.inp(pin::RX32L).st(UPS).inp(pin::RX32H).st(UPS + 1).ret();

    // ---- DATA target id offset bytes: only the next expected chunk is taken.
    a.label("data");
    // 8 ≤ LEN < 1032: LEN − 8 below 1024, its high byte below 4.
    a.ld(LEN).alui(Alu::Sub, 8).sh(Shift::Hi).alui(Alu::And, 0xFC).jnz("bad_request");
    a.call("fields_tid");
    a.ld(LEN).alui(Alu::Sub, 7).st(DN);
    a.ld(UACT).jz("hunt_clear");
    a.ld(USTRIP).alu(Alu::Xor, FTGT).jnz("hunt_clear");
    a.ld(FID).alu(Alu::Xor, UID).jnz("hunt_clear");
    ne32(a, DOFF, UNEXT, "hunt_clear");
    // Expected size: min(chunk, total − next). T0:T1 keeps total − next until `data_done`
    // (`results` leaves it).
    sub32(a, T0, UTOT, UNEXT);
    a.ld(T1).jnz("data_chunk");
    a.ld(T0).alu(Alu::Cmp, UCHUNK).jc("data_exp");
    a.label("data_chunk");
    a.ld(UCHUNK);
    a.label("data_exp");
    a.alu(Alu::Xor, DN).jnz("hunt_clear");
    a.ld(USTRIP).jz("model_feed");
    // A strip's pixels: the feeder moves them to the engine as it takes them (from the frame
    // buffer's start, where the pointer still is).
    a.call("up_load").ld(DN).out(pout::FEED);
    a.label("strip_feed");
    a.inp(pin::ENG).alui(Alu::And, 4).jnz("strip_fail");
    a.inp(pin::FEED).jz("data_done");
    a.call("results").jmp("strip_feed");
    a.label("strip_fail");
    // No program the engine accepts: it will take no input.
    a.li(0).out(pout::FEED).st(UACT).st(RACT).li(1).st(SFAIL).jmp("hunt_clear");
    // The chunk is in (either kind): the upload's CRC and offset go on; a strip's input is
    // whole after its last chunk.
    a.label("data_done");
    a.call("up_keep");
    a.ld(UNEXT).alu(Alu::Add, DN).st(UNEXT).ld(UNEXT + 1).alui(Alu::Adc, 0).st(UNEXT + 1);
    a.ld(USTRIP).jz("hunt_clear");
    a.ld(T1).jnz("hunt_clear");
    a.ld(T0).alu(Alu::Xor, DN).jnz("hunt_clear");
    a.li(0).st(UACT).st(SCRCOK).li(1).st(SINDONE);
    ne32(a, UPS, UCRC, "hunt_clear");
    a.li(1).st(SCRCOK).jmp("hunt_clear");
    a.label("model_feed");
    // Feed the model parser, byte by byte, through the upload CRC.
    a.call("up_load").ld(DN).st(LEFT).jmp("feed");
    a.label("parsed");
    a.ld(LEFT).alui(Alu::Sub, 1).st(LEFT).jz("data_done");
    a.label("feed");
    a.inp(pin::FB).st(IBYTE).out(pout::RX32);

    // ---- The parser (`feed` falls into it): one byte in IBYTE, then back to `parsed`.
    // Words come first and skip the byte count and the field shift register, which only the
    // header, section and tail states read: the common byte is the short path.
    a.label("parse");
    a.ld(IST).alui(Alu::Xor, 2).jz("p_words");
    shift_in32(a, ISH, IBYTE);
    a.ld(IK).st(T2).alui(Alu::Add, 1).st(IK);
    a.ld(IST).alui(Alu::Add, t.states).jpa();
    let perr = |a: &mut Asm, m: u8| {
        a.call("perr").data(&[err_word(5, m)]);
    };
    // Header: magic, format version, design hash, section count.
    a.label("p_hdr");
    let magic = u32::from_le_bytes(*b"BBCI");
    for (k, v, m) in [(3, magic, msg::MAGIC), (7, info.format_version, msg::VERSION), (11, info.hash, msg::DESIGN)] {
        let next = format!("p_hdr_{k}");
        a.ld(T2).alui(Alu::Xor, k).jnz(&next);
        let bad = format!("p_hdr_bad_{k}");
        ne16(a, ISH, v as u16, &bad);
        ne16(a, ISH + 1, (v >> 16) as u16, &bad);
        a.jmp("parsed");
        a.label(&bad);
        perr(a, m);
        a.label(&next);
    }
    a.ld(T2).alui(Alu::Xor, 15).jnz("parsed");
    mov32(a, INSEC, ISH);
    a.jmp("p_sec_next");
    // Section: memory (1 byte), address, count.
    a.label("p_sec");
    a.ld(T2).jnz("p_sec_1");
    // Memories 1 ..= 4: one less is below 4 (0 wraps).
    a.ld(IBYTE).st(IMEM).alui(Alu::Sub, 1).alui(Alu::Cmp, 4).jnc("p_sec_mem");
    // The memory's capacity in words, and its word's last byte index, from `caps`.
    a.sh(Shift::Shl).alui(Alu::Add, t.caps).st(T3).lpm().st(ICAP);
    a.ld(T3).alui(Alu::Add, 1).lpm().st(IWLAST).jmp("parsed");
    a.label("p_sec_mem");
    perr(a, msg::MEMORY);
    a.label("p_sec_1");
    a.ld(T2).alui(Alu::Xor, 4).jnz("p_sec_2");
    mov32(a, IADDR, ISH);
    a.jmp("parsed");
    a.label("p_sec_2");
    a.ld(T2).alui(Alu::Xor, 8).jnz("parsed");
    a.ld(ISH).st(ICNT).li(0).st(IWB);
    // addr ≤ cap and count ≤ cap − addr (capacities are below 2^16, so the address and the
    // count are 16-bit from here on).
    a.ld(IADDR + 1).jnz("p_overflow");
    a.ld(ISH + 1).jnz("p_overflow");
    a.ld(ICAP).alu(Alu::Sub, IADDR).jc("p_overflow").alu(Alu::Cmp, ICNT).jc("p_overflow");
    // The load port's memory and address once per section; each word advances the address.
    a.ld(IMEM).out(pout::LMEM).ld(IADDR).out(pout::LADRL);
    a.li(2).st(IST);
    a.ld(ICNT).jnz("parsed");
    a.jmp("p_sec_end");
    a.label("p_overflow");
    perr(a, msg::OVERFLOW);
    // Words: bytes shift into IW from the top; a word is complete after IWLAST + 1 bytes.
    // Words. Two-byte words (every memory's but the wide weights') take the short path: the
    // first byte into IW+3, the second on top of it.
    a.label("p_words");
    if wbytes > 2 {
        a.ld(IWLAST).alui(Alu::Xor, 1).jnz("p_words_wide");
    }
    a.ld(IWB).jnz("p_w2");
    a.ld(IBYTE).st(IW + 3).li(1).st(IWB).jmp("parsed");
    a.label("p_w2");
    a.ld(IBYTE).sh(Shift::Swap).alu(Alu::Or, IW + 3).st(IW + 3).li(0).st(IWB);
    if wbytes > 2 {
        a.li(0).out(pout::LD + 1).out(pout::LD + 2).out(pout::LD + 3);
    }
    a.ld(IW + 3).out(pout::LD).jmp("p_word");
    if wbytes > 2 {
        // Wide words shift into IW from the top; complete after IWLAST + 1 bytes.
        a.label("p_words_wide");
        for i in 0..3 {
            a.ld(IW + i).sh(Shift::Hi).st(IW + i).ld(IW + i + 1).sh(Shift::Lo).sh(Shift::Swap).alu(Alu::Or, IW + i);
            a.st(IW + i);
        }
        a.ld(IW + 3).sh(Shift::Hi).st(IW + 3).ld(IBYTE).sh(Shift::Swap).alu(Alu::Or, IW + 3).st(IW + 3);
        a.ld(IWB).alu(Alu::Xor, IWLAST).jz("p_wide_word");
        a.ld(IWB).alui(Alu::Add, 1).st(IWB).jmp("parsed");
        a.label("p_wide_word");
        a.li(0).st(IWB);
        let top = 4 - wbytes / 2;
        for k in 0..wbytes / 2 {
            a.ld(IW + (top + k) as u8).out(pout::LD + k as u8);
        }
    }
    a.label("p_word");
    a.out(pout::LGO);
    // The program header's fields, as the engine will read them (only the program memory's
    // words count their address): words 2 ..= 6 into NOPS ..= HWCAP.
    a.ld(IMEM).alui(Alu::Xor, Mem::Program as u8).jnz("p_word_next");
    a.ld(IADDR).alui(Alu::Sub, 2).alui(Alu::Cmp, 5).jnc("p_word_addr");
    a.alui(Alu::Add, NOPS).tax().ld(IW + 3).stx();
    a.label("p_word_addr");
    a.ld(IADDR).alui(Alu::Add, 1).st(IADDR);
    a.label("p_word_next");
    a.ld(ICNT).alui(Alu::Sub, 1).st(ICNT).jnz("parsed");
    // The end of a section: the next one, or the tail after the last.
    a.label("p_sec_end");
    a.ld(INSEC).alui(Alu::Sub, 1).st(INSEC).ld(INSEC + 1).alui(Alu::Sbc, 0).st(INSEC + 1);
    a.label("p_sec_next");
    a.li(0).st(IK).li(1).st(IST);
    a.ld(INSEC).alu(Alu::Or, INSEC + 1).jnz("parsed");
    a.li(3).st(IST).jmp("parsed");
    // Tail: the image's CRC (checked at COMMIT on the whole upload), then nothing more.
    a.label("p_tail");
    a.ld(T2).alui(Alu::Xor, 3).jnz("parsed");
    a.li(4).st(IST).jmp("parsed");
    a.label("p_done");
    perr(a, msg::STRAY);
    // perr: the parser stops with the error (kind and message) in the word after the call.
    a.label("perr");
    a.lra().lpm().st(IERR).li(5).st(IST).jmp("parsed");

    // ---- COMMIT target id.
    a.label("commit");
    a.ld(LEN).alui(Alu::Xor, 3).jnz("bad_request");
    a.call("fields_tid");
    a.ld(FTGT).jnz("commit_strip");
    a.ld(UACT).jz("commit_idle");
    a.ld(USTRIP).jnz("commit_idle");
    // Missing [next, total)?
    ne32(a, UNEXT, UTOT, "commit_missing");
    // Every byte is there: the whole upload's CRC, then the image's own checks (the
    // parser's error first: IST 5).
    ne32(a, UPS, UCRC, "commit_redo");
    a.li(0).st(UACT);
    a.ld(IST).alui(Alu::Xor, 4).jz("commit_res").alui(Alu::Xor, 4 ^ 5).jnz("commit_early");
    a.ld(IERR).jmp("error_word");
    a.label("commit_early");
    err(a, 5, msg::EARLY);
    a.label("commit_res");
    // The image ends with its own CRC, so the CRC of the whole is the CRC-32 residue: checked
    // in the receive CRC unit, which the next frame's header starts over.
    a.call("up_load").call("residue").jnz("commit_imgcrc");
    // Scale 1 ..= 4: one less is below 4.
    a.ld(HSCALE).alui(Alu::Sub, 1).alui(Alu::Cmp, 4).jnc("commit_hdr");
    for r in [HIN, HOUT, HWCAP, NOPS] {
        a.ld(r).jz("commit_hdr");
    }
    a.li(1).st(MVALID).out(pout::MODEL);
    mov32(a, MLEN, UTOT);
    mov32(a, MCRC, UCRC);
    a.jmp("committed");
    a.label("commit_imgcrc");
    err(a, 5, msg::IMAGE_CRC);
    a.label("commit_hdr");
    err(a, 5, msg::HEADER);
    a.label("commit_missing");
    missing(a);
    a.label("commit_redo");
    // Everything is missing: the upload starts over.
    a.li(0).st(UNEXT).st(UNEXT + 1).st(UPS).st(UPS + 1).st(IST).st(IK).st(IERR).jmp("missing_next");
    a.label("commit_idle");
    a.ld(MVALID).jz("unknown_upload");
    a.label("committed");
    reply(a, 0x84, 3);
    send(a, &[S::B(FTGT), S::W(FID)]);
    a.label("commit_strip");
    a.ld(MVALID).jz("no_model");
    a.ld(SHAVE).jz("unknown_upload");
    a.ld(FID).alu(Alu::Xor, SID).jnz("unknown_upload");
    a.ld(SFAIL).jnz("strip_failed");
    a.ld(SINDONE).jz("missing_next");
    a.label("commit_in");
    a.ld(SCRCOK).jnz("committed");
    err(a, 9, msg::STRIP_CRC);
    a.label("strip_failed");
    err(a, 9, msg::NO_PROGRAM);
    a.label("unknown_upload");
    err(a, 8, msg::UNKNOWN);
    a.label("no_model");
    err(a, 4, msg::NO_MODEL);
}

/// An ERROR reply of `kind` with message `m` (the id is `EID`): both in the word after the
/// call, which `error_inline` reads and never returns to.
fn err(a: &mut Asm, kind: u8, m: u8) {
    a.call("error_inline").data(&[err_word(kind, m)]);
}

/// The whole error in a word, as `error_word` sends it: the kind in bits 0..=6, the
/// message index's tens in bit 7 and its ones as a digit in the high byte.
fn err_word(kind: u8, m: u8) -> u16 {
    assert!(kind < 0x80 && m < 20);
    ((b'0' + m % 10) as u16) << 8 | ((m / 10) as u16) << 7 | kind as u16
}

/// INFO's payload after its 16 header bytes: slots and the board's name. The design's JSON
/// is left to the host, which checks the hash and format version before it (docs/protocol.md).
pub fn info_tail(cfg: &HwConfig) -> Vec<u8> {
    let mut t = crate::proto::info_tail(cfg);
    t.truncate(2 + t[1] as usize);
    t
}

/// A reply's header: waits for the sender and an empty send FIFO, then writes the header of
/// the code and length in the word after the call.
fn reply(a: &mut Asm, code: u8, len: u8) {
    a.call("reply").data(&[(len as u16) << 8 | code as u16]);
}

/// An item of a `send` list.
#[derive(Clone, Copy)]
enum S<'a> {
    /// A register's low byte.
    B(u8),
    /// A register's high byte.
    H(u8),
    /// A register's 16 bits, low byte first.
    W(u8),
    /// Bytes as they are.
    Lit(&'a [u8]),
}

// `send` list codes past the registers' (2·r + 1 for a high byte, r < 126).
const S_LIT: u8 = 0xFE;
const S_END: u8 = 0xFF;

/// The rest of a frame through `send`, listed in the words after the call, two bytes a word:
/// a register's low byte as 2·r, its high byte as 2·r + 1, `S_LIT` n and n bytes as they
/// are, `S_END` the frame's end (its CRC; `send` does not return).
fn send(a: &mut Asm, items: &[S]) {
    let reg = |r: u8| {
        assert!(r < S_LIT / 2, "register {r} past what a send list names");
        2 * r
    };
    let mut b = Vec::new();
    for it in items {
        match *it {
            S::B(r) => b.push(reg(r)),
            S::H(r) => b.push(reg(r) + 1),
            S::W(r) => b.extend([reg(r), reg(r) + 1]),
            S::Lit(l) => {
                for c in l.chunks(255) {
                    b.extend([S_LIT, c.len() as u8]);
                    b.extend(c);
                }
            }
        }
    }
    b.push(S_END);
    a.call("send");
    pack(a, &b);
}

fn pack(a: &mut Asm, bytes: &[u8]) {
    let words: Vec<u16> = bytes.chunks(2).map(|c| c[0] as u16 | (*c.get(1).unwrap_or(&0) as u16) << 8).collect();
    a.data(&words);
}

/// Where the tables are: below 256, so that `alui.add` of an index reaches an entry.
struct Tables {
    caps: u8,
    states: u8,
    cmds: u8,
}

fn tables(a: &mut Asm, cfg: &HwConfig) -> Tables {
    // caps: each memory's capacity in words and its word's last byte index, memories 1 ..= 4.
    let caps = a.here();
    for m in [Mem::Program, Mem::Weight, Mem::FpWeight, Mem::Const] {
        let (bytes, cap) = m.geometry(cfg);
        a.data(&[cap as u16, bytes as u16 - 1]);
    }
    // states: the parser's handler of a byte by its state (2, words, is dispatched before).
    let states = a.here();
    for l in ["p_hdr", "p_sec", "parsed", "p_tail", "p_done", "parsed"] {
        a.jmp(l);
    }
    // cmds: the commands 1 ..= 8.
    let cmds = a.here();
    for l in ["hello", "begin", "data", "commit", "query", "fetch", "counters", "reset"] {
        a.jmp(l);
    }
    assert!(a.here() <= 256, "the tables end past 256");
    Tables { caps: caps as u8, states: states as u8, cmds: cmds as u8 }
}

/// The firmware for a design; `stale_units` is the partial-frame timeout in 256-cycle units.
pub fn firmware(cfg: &HwConfig, stale_units: u16) -> Vec<u16> {
    assemble(cfg, stale_units).finish(PA).unwrap_or_else(|e| panic!("link firmware: {e}"))
}

/// The firmware's map: each label's address, in order, and the program's length.
pub fn firmware_map(cfg: &HwConfig, stale_units: u16) -> (Vec<(usize, String)>, usize) {
    let a = assemble(cfg, stale_units);
    (a.map(), a.here())
}

fn assemble(cfg: &HwConfig, stale_units: u16) -> Asm {
    let info = DesignInfo::of(cfg);
    let mut a = Asm::new();
    // The tables first, where an 8-bit index reaches them. An ERROR's message is `#` and its
    // index in `MESSAGES` in two digits, which the host reads as the text.
    assert!(MESSAGES.len() <= 20, "message indices past two digits");
    a.jmp("hunt_clear");
    let t = tables(&mut a, cfg);

    // ---- Hunt: slide an 8-byte window over the line until it holds a header whose CRC-8 is
    // right; a failed check leaves the window as it was, so the hunt goes on one byte later.
    // A cleared window fails the check at its first byte, so `hunt_clear` may fall into it.
    a.label("hunt_clear");
    a.li(0);
    for i in 0..8 {
        a.st(W + i);
    }
    a.label("hunt");
    for (k, b) in FRAME_START.into_iter().enumerate() {
        a.ld(W + k as u8).alui(Alu::Xor, b).jnz("hunt_wait");
    }
    // len = W5 | W6 << 8 ≤ 4096
    a.ld(W + 6).sh(Shift::Swap).alu(Alu::Or, W + 5).st(LEN);
    a.li(4096).alu(Alu::Cmp, LEN).jc("hunt_wait");
    // CRC-8 of the first seven bytes against the eighth; the frame's CRC-32 starts over the
    // same bytes (a failed check starts it again).
    a.ld(W).ldh(1).out(pout::CRC8).out(pout::RX32).li(W as u16 + 1).tax().li(6).st(CNT);
    a.label("hunt_crc");
    a.ldx().out(pout::CRC8).out(pout::RX32).ld(CNT).alui(Alu::Sub, 1).st(CNT).jnz("hunt_crc");
    a.inp(pin::CRC8).alu(Alu::Xor, W + 7).jnz("hunt_wait");
    a.ld(W + 7).out(pout::RX32).jmp("frame");
    a.label("hunt_wait");
    a.inp(pin::RXS).jnz("hunt_byte");
    a.call("results").jmp("hunt_wait");
    a.label("hunt_byte");
    for i in 0..7 {
        a.ld(W + i + 1).st(W + i);
    }
    a.inp(pin::RX).st(W + 7).jmp("hunt");

    // ---- A header: the frame's CRC-32 has its eight bytes (the window stays until the next
    // hunt, so CODE and SEQ are its bytes); the payload's first seven
    // bytes (every command's fields) go to registers and the rest to the frame buffer from its
    // start, so a DATA chunk of `MAX_CHUNK` bytes fills the buffer without overwriting its
    // fields; then four CRC bytes; a line silent for the timeout gives the frame up.
    a.label("frame");
    a.li(0).out(pout::FBP).st(EID).li(P as u16).tax();
    // Below seven bytes LEN − 7 wraps past anything LEFT counts down through.
    a.ld(LEN).st(LEFT).jz("crc").alui(Alu::Sub, 7).st(PEND);
    a.label("pay_f");
    a.call("rxb").out(pout::RX32).stx();
    a.ld(LEFT).alui(Alu::Sub, 1).st(LEFT).jz("crc").alu(Alu::Xor, PEND).jnz("pay_f");
    a.label("pay");
    a.call("rxb").out(pout::RX32).out(pout::FBW);
    a.ld(LEFT).alui(Alu::Sub, 1).st(LEFT).jnz("pay");
    // The CRC-32 through the same unit: a frame and its CRC leave the residue.
    a.label("crc");
    a.li(4).st(CNT);
    a.label("crc_byte");
    a.call("rxb").out(pout::RX32);
    a.ld(CNT).alui(Alu::Sub, 1).st(CNT).jnz("crc_byte");
    a.call("residue").jnz("bad_frame");

    // ---- The frame is good: act on it.
    // Codes 1 ..= 8 through the table `cmds` (code 0 wraps past its end).
    a.li(0).out(pout::FBP);
    a.ld(CODE).alui(Alu::Sub, 1).alui(Alu::Cmp, 8).jnc("unknown_cmd").alui(Alu::Add, t.cmds).jpa();
    a.label("unknown_cmd");
    err(&mut a, 2, msg::UNKNOWN_CMD);

    // Payload fields from P: `target u8, id u16` and a u32 (DATA's offset, BEGIN's total);
    // FETCH and QUERY start at the id.
    // fields_tid checks the target (0 or 1) once an ERROR would name the id.
    a.label("fields_tid");
    a.ld(P + 4).sh(Shift::Swap).alu(Alu::Or, P + 3).st(DOFF);
    a.ld(P + 6).sh(Shift::Swap).alu(Alu::Or, P + 5).st(DOFF + 1);
    a.ld(P + 2).sh(Shift::Swap).alu(Alu::Or, P + 1).st(FID).st(EID);
    a.ld(P).st(FTGT).alui(Alu::Cmp, 2).jnc("bad_request").ret();
    a.label("fields_id");
    a.ld(P + 1).sh(Shift::Swap).alu(Alu::Or, P).st(FID).st(EID).ret();
    // residue: A = 0 when the receive CRC-32 has a message and its CRC (the residue).
    a.label("residue");
    a.li(0xDF1C).st(T0).inp(pin::RX32L).alu(Alu::Xor, T0).jnz("residue_ret");
    a.li(0x2144).st(T0).inp(pin::RX32H).alu(Alu::Xor, T0);
    a.label("residue_ret");
    a.ret();

    // rxb: A ← the next received byte. Waiting is the rare case and calls `results`, so it
    // keeps its return address, less one: the `call rxb` it repeats once a byte is there.
    // The timeout counts from the first empty look, which keeps the timer off the byte path.
    a.label("rxb");
    a.inp(pin::RXS).jz("rxb_idle").inp(pin::RX).ret();
    a.label("rxb_idle");
    a.lra().alui(Alu::Sub, 1).st(RLR).li(stale_units).out(pout::TMR);
    a.label("rxb_wait");
    a.call("results").inp(pin::RXS).jnz("rxb_again");
    a.inp(pin::TMR).jnz("rxb_wait").jmp("hunt_clear");
    a.label("rxb_again");
    a.ld(RLR).jpa();

    // ---- QUERY id: the state of that strip (none is kept yet: unknown).
    a.label("query");
    a.ld(LEN).alui(Alu::Xor, 2).jnz("bad_request");
    a.call("fields_id");
    reply(&mut a, 0x86, 11);
    // state (T2), len (T0:T1), crc (T3, RT)
    a.li(0).st(T2).st(T0).st(T1).st(T3).st(RT);
    a.ld(SHAVE).jz("q_send");
    a.ld(FID).alu(Alu::Xor, SID).jnz("q_send");
    mov32(&mut a, T0, RLEN);
    a.li(6).st(T2).ld(SFAIL).jnz("q_send");
    a.li(1).st(T2).ld(SINDONE).jnz("q_in");
    // Receiving: `len` is the input taken so far, the host's credit.
    mov32(&mut a, T0, UNEXT);
    a.jmp("q_send");
    a.label("q_in");
    a.li(4).st(T2);
    ne32(&mut a, ROFF, RLEN, "q_running");
    a.ld(RENDSENT).jz("q_send");
    a.li(5).st(T2).ld(RFCRC).st(T3).ld(RFCRC + 1).st(RT).jmp("q_send");
    a.label("q_running");
    a.inp(pin::ENG).alui(Alu::And, 1).jz("q_send");
    a.li(3).st(T2);
    a.label("q_send");
    send(&mut a, &[S::W(FID), S::B(T2), S::W(T0), S::W(T1), S::W(T3), S::W(RT)]);

    // ---- FETCH: a hardware board keeps no results.
    a.label("fetch");
    a.ld(LEN).alui(Alu::Xor, 10).jnz("bad_request");
    a.call("fields_id");
    err(&mut a, 8, msg::NOT_KEPT);

    upload(&mut a, cfg, &t);

    // ---- RESET keep_model: (no strip can be in flight yet) forget the model unless kept.
    // A strip in flight is run to its end on zeros and its output dropped (the engine has no
    // abort), before RESET_DONE.
    a.label("reset");
    a.ld(LEN).alui(Alu::Xor, 1).jnz("bad_request");
    a.ld(P).st(RKEEP);
    a.li(0).st(RACT).st(DLEFT).st(DLEFT + 1);
    a.ld(UACT).alu(Alu::And, USTRIP).jz("reset_drain");
    a.ld(SFAIL).jnz("reset_drain");
    sub32(&mut a, DLEFT, UTOT, UNEXT);
    a.label("reset_drain");
    a.li(0).st(UACT);
    a.label("drain");
    a.inp(pin::RCNT).jz("drain_zeros");
    a.inp(pin::RES).jmp("drain");
    a.label("drain_zeros");
    a.inp(pin::FEED).jnz("drain");
    a.ld(DLEFT).alu(Alu::Or, DLEFT + 1).jz("drain_wait");
    // At most 4096 zeros at a time.
    a.li(4096).st(T2).ld(DLEFT + 1).jnz("drain_n");
    a.ld(DLEFT).alu(Alu::Cmp, T2).jnc("drain_n").st(T2);
    a.label("drain_n");
    a.ld(T2).out(pout::FEEDZ);
    a.ld(DLEFT).alu(Alu::Sub, T2).st(DLEFT).ld(DLEFT + 1).alui(Alu::Sbc, 0).st(DLEFT + 1).jmp("drain");
    // The engine may still be emitting after it goes idle: wait until it holds no result
    // byte (`ENG` bit 3) and the result FIFO is empty.
    a.label("drain_wait");
    a.inp(pin::ENG).alui(Alu::And, 9).jnz("drain");
    a.inp(pin::SND).jnz("drain");
    a.inp(pin::RCNT).jnz("drain");
    a.label("reset_done");
    a.inp(pin::DONE);
    a.li(0).st(SHAVE);
    a.ld(RKEEP).jnz("reset_keep");
    a.call("forget").st(NOPS);
    a.label("reset_keep");
    reply(&mut a, 0x88, 0);
    a.jmp("send_end");

    // ---- COUNTERS: total, stall, strips, n, then per op cycles and busy; every value is a
    // 32-bit counter sent as u64. The engine's counters are readable while it is idle.
    a.label("counters");
    a.ld(LEN).jnz("bad_request");
    a.inp(pin::ENG).alui(Alu::And, 1).jnz("busy");
    if cfg.op_counters() {
        a.ld(NOPS).sh(Shift::Shl).sh(Shift::Shl).sh(Shift::Shl).sh(Shift::Shl).alui(Alu::Add, 26).st(HLEN);
    } else {
        a.li(26).st(HLEN);
    }
    a.li(0x87).st(HCODE).call("reply_r");
    a.li(0).call("send_counter").li(1).call("send_counter");
    a.ld(STRIPS).st(T0).ld(STRIPS + 1).st(T1).call("send_u64");
    if cfg.op_counters() {
        a.ld(NOPS).call("send16");
        a.li(2).st(CNT);
        a.label("counters_op");
        // CNT runs over the engine's selects 2 .. 2 + 2·n.
        a.ld(NOPS).sh(Shift::Shl).alui(Alu::Add, 2).alu(Alu::Xor, CNT).jz("send_end");
        a.ld(CNT).call("send_counter");
        a.ld(CNT).alui(Alu::Add, 1).st(CNT).jmp("counters_op");
    } else {
        // An engine without per-op counters (`HwConfig::op_counters`): n = 0.
        a.li(0).out(pout::SBYTE).out(pout::SBYTE).jmp("send_end");
    }
    a.label("busy");
    err(&mut a, 7, msg::BUSY);
    // send_counter: the engine's counter A as u64; send_u64: T1:T0 as u64.
    a.label("send_counter");
    a.out(pout::CNTSEL).inp(pin::CNTL).st(T0).inp(pin::CNTH).st(T1);
    a.label("send_u64");
    // COUNTERS can outgrow the FIFO: each value waits until it is less than half full.
    a.inp(pin::SND).alui(Alu::And, 4).jnz("send_u64");
    a.ld(T0).out(pout::SBYTE).sh(Shift::Hi).out(pout::SBYTE);
    a.ld(T1).out(pout::SBYTE).sh(Shift::Hi).out(pout::SBYTE);
    a.li(0).out(pout::SBYTE).out(pout::SBYTE).out(pout::SBYTE).out(pout::SBYTE).ret();

    a.label("hello");
    a.ld(LEN).jnz("bad_request");
    let tail = info_tail(cfg);
    let info_len = 16 + tail.len();
    assert!(info_len < 256, "INFO's {info_len} bytes past a reply's inline length");
    reply(&mut a, 0x81, info_len as u8);
    let design: Vec<u8> = [info.format_version, info.hash].iter().flat_map(|v| v.to_le_bytes()).collect();
    let regs = [S::W(MLEN), S::W(MLEN + 1), S::W(MCRC), S::W(MCRC + 1)];
    send(&mut a, &[&[S::Lit(&design)][..], &regs, &[S::Lit(&tail)]].concat());
    a.label("bad_request");
    err(&mut a, 3, msg::BAD_REQUEST);
    a.label("bad_frame");
    err(&mut a, 1, msg::BAD_FRAME);

    // ---- ERROR: kind, id, then `#` and the message's index in two digits; the error's word
    // (`err_word`) is after the call, or in A at `error_word`.
    a.label("error_inline");
    a.lra().lpm();
    a.label("error_word");
    // T1: the tens digit, from bit 7.
    a.st(T0).alui(Alu::And, 0x7F).st(EKIND);
    a.ld(T0).sh(Shift::Shl).sh(Shift::Hi).alui(Alu::And, 1).alui(Alu::Add, b'0').st(T1);
    reply(&mut a, 0xFF, 6);
    send(&mut a, &[S::B(EKIND), S::W(EID), S::Lit(b"#"), S::B(T1), S::H(T0)]);

    // ---- send: the rest of a frame from the list after the call (`send`'s encoding).
    a.label("send");
    a.lra().sh(Shift::Shl).st(ADDR);
    a.label("s_next");
    a.call("text_byte").alui(Alu::Cmp, S_LIT).jnc("s_code");
    a.sh(Shift::Shr).tax().ldx().jnc("s_out").sh(Shift::Hi);
    a.label("s_out");
    a.out(pout::SBYTE).jmp("s_next");
    a.label("s_code");
    a.alui(Alu::Xor, S_LIT).jnz("send_end");
    a.call("text_byte").st(CNT);
    a.label("s_lit");
    a.call("text_byte").out(pout::SBYTE).ld(CNT).alui(Alu::Sub, 1).st(CNT).jnz("s_lit").jmp("s_next");
    // text_byte: A ← the program-memory byte at ADDR (a byte address), which advances.
    a.label("text_byte");
    a.ld(ADDR).alui(Alu::Add, 1).st(ADDR).alui(Alu::Sub, 1).sh(Shift::Shr).lpm().jnc("text_lo");
    a.sh(Shift::Hi);
    a.label("text_lo");
    a.sh(Shift::Lo).ret();
    // A frame's end: its CRC-32.
    a.label("send_end");
    a.li(0).out(pout::SGO).jmp("hunt_clear");

    // reply: the header of the code and length in the word after the call, whose return
    // skips it; reply_r: of HCODE and HLEN. Both wait for the sender and for an empty send
    // FIFO (a result frame may be on its way), so that the reply the firmware writes (INFO's
    // 44 bytes, COUNTERS' first values) fits the FIFO without a check per byte.
    a.label("reply");
    a.lra().lpm().st(HCODE).sh(Shift::Hi).st(HLEN);
    a.lra().alui(Alu::Add, 1).st(HRET).call("reply_r").ld(HRET).jpa();
    a.label("reply_r");
    a.inp(pin::SND).jnz("reply_r");
    a.ld(SEQ).st(HSEQ);
    // head: a header of HCODE, HSEQ, HLEN, its CRC-8 from the CRC-8 unit.
    a.label("head");
    a.li(FRAME_START[0] as u16).out(pout::SSTART);
    for b in &FRAME_START[1..] {
        a.li(*b as u16).out(pout::SHDR);
    }
    a.ld(HCODE).out(pout::SHDR).ld(HSEQ).out(pout::SHDR).ld(HLEN).out(pout::SHDR).sh(Shift::Hi).out(pout::SHDR);
    a.inp(pin::CRC8).out(pout::SBYTE).ret();

    // results: called from every wait loop. Counts finished strips; starts a RESULT_DATA frame
    // once the result FIFO holds its whole chunk (so that a reply never waits behind a frame
    // that waits for the engine), and RESULT_END after the last.
    a.label("results");
    a.inp(pin::DONE).jz("r_nodone");
    a.ld(RACT).jz("r_nodone");
    a.ld(STRIPS).alui(Alu::Add, 1).st(STRIPS).ld(STRIPS + 1).alui(Alu::Adc, 0).st(STRIPS + 1);
    a.label("r_nodone");
    a.ld(RACT).jz("r_ret");
    // The sender idle, and room for a header and fields in the send FIFO.
    a.inp(pin::SND).alui(Alu::And, 5).jnz("r_ret");
    ne32(&mut a, ROFF, RLEN, "r_data");
    a.ld(RENDSENT).jnz("r_ret");
    a.li(0x91).st(HCODE).li(10).st(HLEN).jmp("r_go");
    a.label("r_data");
    // rn = min(chunk, len − off)
    a.ld(RLEN).alu(Alu::Sub, ROFF).st(RN).ld(RLEN + 1).alu(Alu::Sbc, ROFF + 1).jnz("r_full");
    a.ld(RN).alu(Alu::Cmp, RCHUNK).jc("r_have");
    a.label("r_full");
    a.ld(RCHUNK).st(RN);
    a.label("r_have");
    a.inp(pin::RCNT).alu(Alu::Cmp, RN).jc("r_ret");
    a.li(0x90).st(HCODE).ld(RN).alui(Alu::Add, 6).st(HLEN);
    // Both result frames: the board's sequence number, the strip id; `head` is called, so
    // the return is kept.
    a.label("r_go");
    a.lra().st(RRET).ld(BSEQ).st(HSEQ).alui(Alu::Add, 1).st(BSEQ).call("head");
    a.ld(RID).call("send16");
    a.ld(HCODE).alui(Alu::Xor, 0x91).jz("r_end");
    a.ld(ROFF).call("send16").ld(ROFF + 1).call("send16");
    a.ld(ROFF).alu(Alu::Add, RN).st(ROFF).ld(ROFF + 1).alui(Alu::Adc, 0).st(ROFF + 1);
    a.ld(RN).out(pout::SGO).ld(RRET).jpa();
    a.label("r_end");
    a.ld(RLEN).call("send16").ld(RLEN + 1).call("send16");
    a.inp(pin::RES32L).st(RFCRC).call("send16").inp(pin::RES32H).st(RFCRC + 1).call("send16");
    a.li(1).st(RENDSENT).li(0).out(pout::SGO).ld(RRET).jpa();
    a.label("r_ret");
    a.ret();
    // send16: A's two bytes, low first (a call that does not nest: `results` keeps its own
    // return, and `send` lists need the index register, which `rxb` callers keep).
    a.label("send16");
    a.out(pout::SBYTE).sh(Shift::Hi).out(pout::SBYTE).ret();
    a
}

/// The link I/O block, modelled: what the firmware's ports do, cycle by cycle.
pub struct IoModel {
    pub rx: VecDeque<u8>,
    pub tx: Vec<u8>,
    fb: Vec<u8>,
    fbp: usize,
    crc8: crc::Digest<'static, u8>,
    /// The receive CRC-32's value (the upload's too, `pout::X32L`).
    rx32: u32,
    timer: u64,
    // Sender: result-FIFO bytes still to go into the frame (its CRC-32 follows them).
    s_left: u16,
    s_busy: bool,
    /// Bytes written to the send FIFO since the line was last idle (saturating at 256): all
    /// the I/O block can know of the FIFO's fill level (`crate::linkio`).
    since: u16,
    tx32: crc::Digest<'static, u32>,
    // The engine, as the tests drive it.
    pub eng_busy: bool,
    pub eng_error: bool,
    /// The engine's counters by select (0 total, 1 stall, 2 + 2l and 3 + 2l op l's).
    pub counters: Vec<u32>,
    cnt_sel: usize,
    pub model_ok: bool,
    l_mem: u8,
    l_addr: u32,
    l_data: [u16; 4],
    /// Every load-port write: memory, address, word.
    pub loads: Vec<(u8, u32, u64)>,
    job: [u16; 4],
    /// Every strip start: width, height, keep_x0, keep_w.
    pub starts: Vec<[u16; 4]>,
    /// The engine takes pixels (the tests drive it).
    pub in_ready: bool,
    /// The pixels the engine took.
    pub pix: Vec<u8>,
    /// Result bytes the engine will give as the result FIFO has room.
    pub out: VecDeque<u8>,
    done: bool,
    rfifo: VecDeque<u8>,
    res32: crc::Digest<'static, u32>,
    feed_left: u16,
    feed_zeros: bool,
    /// Cycles a byte takes on the wire (10 bit times); 0: an instant line, bytes go straight
    /// between the tests and the FIFOs.
    pub line: u64,
    /// With a paced line: bytes on their way to the receive FIFO, one per `line` cycles.
    pub wire_in: VecDeque<u8>,
    /// Bytes that arrived to a full receive FIFO (lost).
    pub rx_overflow: u64,
    txf: VecDeque<u8>,
    rx_phase: u64,
    tx_phase: u64,
    /// Cycles the send wire was busy.
    pub tx_busy: u64,
    /// Bytes the firmware wrote while the send FIFO was full or a frame's tail was going out:
    /// lost or out of place in hardware.
    pub fed_overrun: u64,
}

/// The result FIFO's (`linkio`'s), the receive FIFO's and the send FIFO's (`board_top`'s) sizes.
const RFIFO: usize = 1024;
const RXF: usize = 2048;
const TXF: usize = 512;
/// The frame buffer's size (`linkio`'s): a DATA chunk's bytes and no more, so that firmware
/// that kept anything else there would see it overwritten here too.
const FB: usize = crate::proto::MAX_CHUNK;

pub(crate) const CRC8: crc::Crc<u8> = crc::Crc::<u8>::new(&crc::CRC_8_SMBUS);
const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// The CRC-32 (`CRC32`'s) of a message whose CRC so far is `crc` and one more byte: a value
/// that can be loaded, as the hardware's receive CRC is.
fn crc32_byte(crc: u32, b: u8) -> u32 {
    let mut c = !crc ^ b as u32;
    for _ in 0..8 {
        c = if c & 1 != 0 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
    }
    !c
}

impl Default for IoModel {
    fn default() -> Self {
        IoModel {
            rx: VecDeque::new(),
            tx: Vec::new(),
            fb: vec![0; FB],
            fbp: 0,
            crc8: CRC8.digest(),
            rx32: 0,
            timer: 0,
            s_left: 0,
            s_busy: false,
            since: 0,
            tx32: CRC32.digest(),
            eng_busy: false,
            eng_error: false,
            counters: Vec::new(),
            cnt_sel: 0,
            model_ok: false,
            l_mem: 0,
            l_addr: 0,
            l_data: [0; 4],
            loads: Vec::new(),
            job: [0; 4],
            starts: Vec::new(),
            in_ready: false,
            pix: Vec::new(),
            out: VecDeque::new(),
            done: false,
            rfifo: VecDeque::new(),
            res32: CRC32.digest(),
            feed_left: 0,
            feed_zeros: false,
            line: 0,
            wire_in: VecDeque::new(),
            rx_overflow: 0,
            txf: VecDeque::new(),
            rx_phase: 0,
            tx_phase: 0,
            tx_busy: 0,
            fed_overrun: 0,
        }
    }
}

impl IoModel {
    /// A byte into the send FIFO (straight to the line when it is instant).
    fn emit(&mut self, b: u8) {
        if self.line == 0 {
            self.tx.push(b);
        } else {
            self.txf.push_back(b);
        }
        self.tx32.update(&[b]);
        self.since = (self.since + 1).min(256);
    }

    /// A byte the firmware writes.
    fn emit_fed(&mut self, b: u8) {
        if (self.line > 0 && self.txf.len() >= TXF) || self.s_busy {
            self.fed_overrun += 1;
        }
        self.emit(b);
    }

    fn finish_frame(&mut self) {
        let c = self.tx32.clone().finalize();
        for b in c.to_le_bytes() {
            self.emit(b);
        }
        self.s_busy = false;
    }

    /// Nothing left on either wire or in the send FIFO.
    pub fn wires_idle(&self) -> bool {
        self.wire_in.is_empty() && self.txf.is_empty()
    }

    /// A port access by the core.
    pub fn io(&mut self, e: Io) -> u16 {
        match e {
            Io::In(p) => match p {
                pin::RXS => !self.rx.is_empty() as u16,
                pin::RX => self.rx.pop_front().unwrap_or(0) as u16,
                pin::CRC8 => self.crc8.clone().finalize() as u16,
                pin::RX32L => self.rx32 as u16,
                pin::RX32H => (self.rx32 >> 16) as u16,
                pin::TMR => (self.timer > 0) as u16,
                // Bit 0: the sender is busy (until its own bytes are in the send FIFO); bit 1: the
                // send side is not idle (bytes queued or on the line); bit 2: at least half the
                // FIFO's worth written since it was last idle.
                pin::SND => {
                    self.s_busy as u16
                        | ((!self.txf.is_empty() || self.tx_phase > 0) as u16) << 1
                        | ((self.since as usize >= TXF / 2) as u16) << 2
                }
                pin::FEED => self.feed_left,
                pin::RCNT => self.rfifo.len() as u16,
                pin::RES => self.rfifo.pop_front().unwrap_or(0) as u16,
                pin::RES32L => self.res32.clone().finalize() as u16,
                pin::RES32H => (self.res32.clone().finalize() >> 16) as u16,
                pin::DONE => std::mem::take(&mut self.done) as u16,
                pin::ENG => self.eng_busy as u16 | (self.eng_error as u16) << 2 | (!self.out.is_empty() as u16) << 3,
                pin::CNTL => *self.counters.get(self.cnt_sel).unwrap_or(&0) as u16,
                pin::CNTH => (*self.counters.get(self.cnt_sel).unwrap_or(&0) >> 16) as u16,
                pin::FB => {
                    let b = self.fb[self.fbp % self.fb.len()];
                    self.fbp += 1;
                    b as u16
                }
                _ => 0,
            },
            Io::Out(p, v) => {
                let byte = v as u8;
                match p {
                    pout::CRC8 => {
                        if v & 0x100 != 0 {
                            self.crc8 = CRC8.digest();
                        }
                        self.crc8.update(&[byte]);
                    }
                    pout::RX32 => {
                        if v & 0x100 != 0 {
                            self.rx32 = 0;
                        }
                        self.rx32 = crc32_byte(self.rx32, byte);
                    }
                    pout::X32L => self.rx32 = (self.rx32 & 0xFFFF_0000) | v as u32,
                    pout::X32H => self.rx32 = (self.rx32 & 0xFFFF) | (v as u32) << 16,
                    pout::FBP => self.fbp = v as usize % FB,
                    pout::FBW => {
                        let n = self.fb.len();
                        self.fb[self.fbp % n] = byte;
                        self.fbp += 1;
                    }
                    pout::TMR => self.timer = 256 * v as u64,
                    pout::CNTSEL => self.cnt_sel = v as usize,
                    p if (pout::JOB..pout::JOB + 4).contains(&p) => self.job[(p - pout::JOB) as usize] = v,
                    pout::START => {
                        self.starts.push(self.job);
                    }
                    pout::FEED | pout::FEEDZ => {
                        self.feed_left = v;
                        self.feed_zeros = p == pout::FEEDZ;
                    }
                    pout::RES32 => self.res32 = CRC32.digest(),
                    pout::LMEM => self.l_mem = byte,
                    pout::LADRL => self.l_addr = v as u32,
                    p if (pout::LD..pout::LD + 4).contains(&p) => self.l_data[(p - pout::LD) as usize] = v,
                    pout::LGO => {
                        let d = self.l_data.iter().rev().fold(0u64, |acc, w| acc << 16 | *w as u64);
                        self.loads.push((self.l_mem, self.l_addr, d));
                        self.l_addr += 1;
                    }
                    pout::MODEL => self.model_ok = v & 1 != 0,
                    pout::SSTART => {
                        self.crc8 = CRC8.digest();
                        self.crc8.update(&[byte]);
                        self.tx32 = CRC32.digest();
                        self.emit_fed(byte);
                    }
                    pout::SHDR => {
                        self.crc8.update(&[byte]);
                        self.emit_fed(byte);
                    }
                    pout::SBYTE => self.emit_fed(byte),
                    pout::SGO => {
                        self.s_left = v & 0x7FF;
                        if self.s_left == 0 {
                            self.finish_frame();
                        } else {
                            self.s_busy = true;
                        }
                    }
                    _ => {}
                }
                0
            }
        }
    }

    /// The engine finished a strip.
    pub fn engine_done(&mut self) {
        self.done = true;
    }

    /// Time passes: the feeder, the engine's output into the result FIFO and the sender's
    /// FIFO tail move a byte a cycle each.
    pub fn tick(&mut self, cycles: u64) {
        self.timer = self.timer.saturating_sub(cycles);
        for _ in 0..cycles {
            if self.line > 0 {
                if self.rx_phase == 0 {
                    if let Some(b) = self.wire_in.pop_front() {
                        if self.rx.len() < RXF {
                            self.rx.push_back(b);
                        } else {
                            self.rx_overflow += 1;
                        }
                        self.rx_phase = self.line;
                    }
                }
                self.rx_phase = self.rx_phase.saturating_sub(1);
                if self.tx_phase == 0 {
                    if let Some(b) = self.txf.pop_front() {
                        self.tx.push(b);
                        self.tx_phase = self.line;
                    }
                }
                if self.tx_phase > 0 {
                    self.tx_busy += 1;
                    self.tx_phase -= 1;
                }
            }
            if self.feed_left > 0 && self.in_ready {
                let b = if self.feed_zeros {
                    0
                } else {
                    let b = self.fb[self.fbp % self.fb.len()];
                    self.fbp += 1;
                    self.rx32 = crc32_byte(self.rx32, b);
                    b
                };
                self.pix.push(b);
                self.feed_left -= 1;
            }
            if self.rfifo.len() < RFIFO {
                if let Some(b) = self.out.pop_front() {
                    self.rfifo.push_back(b);
                }
            }
            let room = self.line == 0 || self.txf.len() < TXF;
            let mut emitted = false;
            if self.s_busy && room {
                if let Some(b) = self.rfifo.pop_front() {
                    self.res32.update(&[b]);
                    self.emit(b);
                    emitted = true;
                    self.s_left -= 1;
                    if self.s_left == 0 {
                        self.finish_frame();
                    }
                }
            }
            if !emitted && self.txf.is_empty() && self.tx_phase == 0 {
                self.since = 0;
            }
        }
    }
}

/// The core running the firmware beside the I/O block model.
pub struct FwBoard {
    pub cpu: Cpu,
    pub io: IoModel,
    rom: Vec<u16>,
}

impl FwBoard {
    pub fn new(cfg: &HwConfig, stale_units: u16) -> FwBoard {
        FwBoard { cpu: Cpu::new(PA), io: IoModel::default(), rom: firmware(cfg, stale_units) }
    }

    /// One instruction; answers the cycles it took.
    pub fn step(&mut self) -> u64 {
        let before = self.cpu.cycles;
        let io = &mut self.io;
        self.cpu.step(&self.rom, &mut |e| io.io(e));
        let n = self.cpu.cycles - before;
        self.io.tick(n);
        n
    }
}
