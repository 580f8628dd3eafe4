//! The device side of the link protocol as firmware for the control core (`bbcu_arch::ctl`),
//! with a Rust model of the link I/O block it drives — **work in progress** (branch
//! `linkfw`): the receiver (hunt, header CRC-8, payload into the frame buffer, CRC-32, the
//! partial-frame timeout) and HELLO, bad frames, unknown commands and bad requests. Not yet:
//! uploads, strips, results, COUNTERS, RESET, and the hardware I/O block. The plan is in
//! docs/architecture.md ("Next: the protocol engine as firmware").
//!
//! Ports (the I/O block's side of the core's `in` / `out`):
//! - receive: `RXS` (1 when a byte waits), `RX` (the byte; the read pops it), `CRC8` and
//!   `RX32L/H` (the receive CRC units, fed by `out CRC8` / `out RX32` with bit 8 = clear first);
//! - frame buffer: `FBP` sets its pointer, `FBW` writes a byte there and `FB` reads one (both
//!   advance the pointer);
//! - timer: `out TMR` starts a countdown of A × 256 cycles, `in TMR` is non-zero while it runs;
//! - sender: `SCODE`, `SSEQ`, `SLEN`, `SNREG`, `SREG + k` (k < 16) describe a frame, `SGO`
//!   starts it: the sender writes the header with its CRC-8 and the register bytes, then takes
//!   the rest of the payload from `SBYTE` (the firmware's tail, e.g. text read with `lpm`),
//!   then writes the CRC-32; `in SND` is non-zero until the frame is complete.

use bbcu_arch::ctl::{Alu, Asm, Cpu, Io, Shift};
use bbcu_arch::{DesignInfo, HwConfig};
use std::collections::VecDeque;

/// Input ports.
pub mod pin {
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
    pub const CNTSEL: u8 = 5;
    pub const MODEL: u8 = 6;
    pub const CRC8: u8 = 0;
    pub const RX32: u8 = 1;
    pub const FBP: u8 = 2;
    pub const FBW: u8 = 3;
    pub const TMR: u8 = 4;
    pub const SCODE: u8 = 8;
    pub const SSEQ: u8 = 9;
    pub const SLEN: u8 = 10;
    pub const SNREG: u8 = 11;
    pub const SGO: u8 = 12;
    pub const SBYTE: u8 = 13;
    pub const SREG: u8 = 16;
}

/// Program address bits of the firmware's memory.
pub const PA: u32 = 11;

use crate::proto::MESSAGES;

/// Message indices (`MESSAGES`).
mod msg {
    pub const BAD_FRAME: u8 = 0;
    pub const UNKNOWN_CMD: u8 = 1;
    pub const BAD_REQUEST: u8 = 2;
    pub const NO_MODEL: u8 = 3;
    pub const BUSY: u8 = 14;
    pub const NOT_KEPT: u8 = 15;
    pub const UNKNOWN: u8 = 16;
}

// Registers.
const W: u8 = 0; // W..W+7: the header window, oldest first
const FRESH: u8 = 8; // a byte entered the window since the last check
const LEN: u8 = 9; // payload length of the frame being received
const LEFT: u8 = 10;
const CODE: u8 = 11;
const SEQ: u8 = 12;
const T0: u8 = 13;
const T1: u8 = 14;
const CNT: u8 = 15;
const ADDR: u8 = 16;
const EKIND: u8 = 17;
const EMSG: u8 = 18;
const STALE: u8 = 19; // the timeout, in units of 256 cycles
const EID: u8 = 20; // the id an ERROR names
const FTGT: u8 = 21; // payload fields: target, id
const FID: u8 = 22;
const MVALID: u8 = 23; // a verified model is loaded
const MLEN: u8 = 24; // MLEN, MLEN+1: its length; MCRC, MCRC+1: its CRC-32
const MCRC: u8 = 26;
const NOPS: u8 = 28; // its op count
const STRIPS: u8 = 29; // STRIPS, STRIPS+1: strips computed since power-up

/// Where the text lives in the program memory: the INFO tail, then each message, two bytes a
/// word.
struct Text {
    info: (u16, u16),
    messages: Vec<(u16, u16)>,
}

/// An ERROR reply of `kind` with message `m` (the id is `EID`).
fn err(a: &mut Asm, kind: u8, m: u8) {
    a.li(kind as u16).st(EKIND).li(m as u16).st(EMSG).jmp("error");
}

fn pack(a: &mut Asm, bytes: &[u8]) -> (u16, u16) {
    let at = a.here() as u16;
    let words: Vec<u16> = bytes.chunks(2).map(|c| c[0] as u16 | (*c.get(1).unwrap_or(&0) as u16) << 8).collect();
    a.data(&words);
    (at, bytes.len() as u16)
}

/// The INFO payload after its 16 register bytes: slots, the board's name, the design JSON.
pub fn info_tail(cfg: &HwConfig) -> Vec<u8> {
    let json = serde_json::to_vec(&DesignInfo::of(cfg)).expect("design info serialises");
    let name = format!("bbcu {} (hardware)", cfg.name);
    let mut t = vec![crate::proto::SLOTS, name.len() as u8];
    t.extend_from_slice(name.as_bytes());
    t.extend_from_slice(&json);
    t
}

/// The firmware for a design; `stale_units` is the partial-frame timeout in 256-cycle units.
pub fn firmware(cfg: &HwConfig, stale_units: u16) -> Vec<u16> {
    let info = DesignInfo::of(cfg);
    let mut a = Asm::new();
    a.li(stale_units).st(STALE).jmp("hunt_clear");

    // ---- Hunt: slide an 8-byte window over the line until it holds a header whose CRC-8 is
    // right; a failed check leaves the window as it was, so the hunt goes on one byte later.
    a.label("hunt_clear");
    for i in 0..8 {
        a.li(0).st(W + i);
    }
    a.st(FRESH);
    a.label("hunt");
    a.ld(FRESH).jz("hunt_wait");
    a.li(0).st(FRESH);
    a.ld(W).alui(Alu::Xor, 0xBB).jnz("hunt_wait");
    a.ld(W + 1).alui(Alu::Xor, 0xC5).jnz("hunt_wait");
    a.ld(W + 2).alui(Alu::Xor, 1).jnz("hunt_wait");
    // len = W5 | W6 << 8 ≤ 4096
    a.ld(W + 6).sh(Shift::Swap).alu(Alu::Or, W + 5).st(LEN);
    a.li(4097).st(T0).ld(LEN).alu(Alu::Cmp, T0).jnc("hunt_wait");
    // CRC-8 of the first seven bytes against the eighth.
    a.ld(W).alui(Alu::Or, 0).st(T0).li(0x100).alu(Alu::Or, T0).out(pout::CRC8);
    for i in 1..7 {
        a.ld(W + i).out(pout::CRC8);
    }
    a.inp(pin::CRC8).alu(Alu::Xor, W + 7).jnz("hunt_wait");
    a.jmp("frame");
    a.label("hunt_wait");
    a.inp(pin::RXS).jz("hunt_wait");
    for i in 0..7 {
        a.ld(W + i + 1).st(W + i);
    }
    a.inp(pin::RX).st(W + 7).li(1).st(FRESH).jmp("hunt");

    // ---- A header: the frame's CRC-32 starts over its eight bytes, the payload goes to the
    // frame buffer, then four CRC bytes; a line silent for the timeout gives the frame up.
    a.label("frame");
    a.ld(W + 3).st(CODE).ld(W + 4).st(SEQ);
    a.ld(W).st(T0).li(0x100).alu(Alu::Or, T0).out(pout::RX32);
    for i in 1..8 {
        a.ld(W + i).out(pout::RX32);
    }
    a.li(0).out(pout::FBP);
    a.ld(LEN).st(LEFT).jz("crc");
    a.label("pay");
    a.ld(STALE).out(pout::TMR);
    a.label("pay_wait");
    a.inp(pin::RXS).jnz("pay_byte");
    a.inp(pin::TMR).jnz("pay_wait");
    a.jmp("hunt_clear");
    a.label("pay_byte");
    a.inp(pin::RX).out(pout::RX32).out(pout::FBW);
    a.ld(LEFT).alui(Alu::Sub, 1).st(LEFT).jnz("pay");
    // The CRC-32, little-endian, into T0 (low half) and T1 (high half).
    a.label("crc");
    a.li(4).st(CNT);
    a.label("crc_byte");
    a.ld(STALE).out(pout::TMR);
    a.label("crc_wait");
    a.inp(pin::RXS).jnz("crc_take");
    a.inp(pin::TMR).jnz("crc_wait");
    a.jmp("hunt_clear");
    a.label("crc_take");
    // Shift the 32-bit T1:T0 right by 8 and put the byte on top.
    a.ld(T0).sh(Shift::Hi).st(T0).ld(T1).sh(Shift::Swap).alui(Alu::And, 0xFF).st(ADDR);
    a.ld(T1).sh(Shift::Lo).sh(Shift::Swap).alu(Alu::Or, T0).st(T0);
    a.ld(ADDR).st(T1);
    a.inp(pin::RX).sh(Shift::Swap).alu(Alu::Or, T1).st(T1);
    a.ld(CNT).alui(Alu::Sub, 1).st(CNT).jnz("crc_byte");
    a.inp(pin::RX32L).alu(Alu::Xor, T0).jnz("bad_frame");
    a.inp(pin::RX32H).alu(Alu::Xor, T1).jnz("bad_frame");

    // ---- The frame is good: act on it.
    a.li(0).st(EID).out(pout::FBP);
    for (code, l) in [(1, "hello"), (5, "query"), (6, "fetch"), (4, "commit"), (7, "counters"), (8, "reset")] {
        a.ld(CODE).alui(Alu::Xor, code).jz(l);
    }
    err(&mut a, 2, msg::UNKNOWN_CMD);

    // Payload fields: `target u8, id u16` (FETCH and QUERY start at the id).
    a.label("fields_tid");
    a.inp(pin::FB).st(FTGT);
    a.label("fields_id");
    a.inp(pin::FB).st(FID).inp(pin::FB).sh(Shift::Swap).alu(Alu::Or, FID).st(FID).st(EID).ret();

    // ---- QUERY id: the state of that strip (none is kept yet: unknown).
    a.label("query");
    a.ld(LEN).alui(Alu::Xor, 2).jnz("bad_request");
    a.call("fields_id");
    a.li(0x86).out(pout::SCODE).ld(SEQ).out(pout::SSEQ).li(11).out(pout::SLEN).out(pout::SNREG);
    a.ld(FID).out(pout::SREG).sh(Shift::Hi).out(pout::SREG + 1);
    a.li(0);
    for k in 2..11 {
        a.out(pout::SREG + k);
    }
    a.out(pout::SGO).jmp("send_done");

    // ---- FETCH: a hardware board keeps no results.
    a.label("fetch");
    a.ld(LEN).alui(Alu::Xor, 10).jnz("bad_request");
    a.call("fields_id");
    err(&mut a, 8, msg::NOT_KEPT);

    // ---- COMMIT target, id.
    a.label("commit");
    a.ld(LEN).alui(Alu::Xor, 3).jnz("bad_request");
    a.call("fields_tid");
    a.ld(FTGT).alui(Alu::Cmp, 2).jnc("bad_request");
    a.ld(FTGT).jnz("commit_strip");
    a.ld(MVALID).jz("unknown_upload");
    a.li(0x84).out(pout::SCODE).ld(SEQ).out(pout::SSEQ).li(3).out(pout::SLEN).out(pout::SNREG);
    a.ld(FTGT).out(pout::SREG).ld(FID).out(pout::SREG + 1).sh(Shift::Hi).out(pout::SREG + 2);
    a.out(pout::SGO).jmp("send_done");
    a.label("commit_strip");
    a.ld(MVALID).jz("no_model");
    a.label("unknown_upload");
    err(&mut a, 8, msg::UNKNOWN);
    a.label("no_model");
    err(&mut a, 4, msg::NO_MODEL);

    // ---- RESET keep_model: (no strip can be in flight yet) forget the model unless kept.
    a.label("reset");
    a.ld(LEN).alui(Alu::Xor, 1).jnz("bad_request");
    a.inp(pin::FB).jnz("reset_keep");
    a.li(0).st(MVALID).out(pout::MODEL).st(MLEN).st(MLEN + 1).st(MCRC).st(MCRC + 1).st(NOPS);
    a.label("reset_keep");
    a.li(0x88).out(pout::SCODE).ld(SEQ).out(pout::SSEQ).li(0).out(pout::SLEN).out(pout::SNREG);
    a.out(pout::SGO).jmp("send_done");

    // ---- COUNTERS: total, stall, strips, n, then per op cycles and busy; every value is a
    // 32-bit counter sent as u64. The engine's counters are readable while it is idle.
    a.label("counters");
    a.ld(LEN).jnz("bad_request");
    a.inp(pin::ENG).alui(Alu::And, 1).jnz("busy");
    a.ld(NOPS).sh(Shift::Shl).sh(Shift::Shl).sh(Shift::Shl).sh(Shift::Shl).alui(Alu::Add, 26);
    a.out(pout::SLEN);
    a.li(0x87).out(pout::SCODE).ld(SEQ).out(pout::SSEQ).li(0).out(pout::SNREG).out(pout::SGO);
    a.li(0).call("send_counter").li(1).call("send_counter");
    a.ld(STRIPS).st(T0).ld(STRIPS + 1).st(T1).call("send_u64");
    a.ld(NOPS).out(pout::SBYTE).sh(Shift::Hi).out(pout::SBYTE);
    a.li(2).st(CNT);
    a.label("counters_op");
    // CNT runs over the engine's selects 2 .. 2 + 2·n.
    a.ld(NOPS).sh(Shift::Shl).alui(Alu::Add, 2).alu(Alu::Xor, CNT).jz("send_done");
    a.ld(CNT).call("send_counter");
    a.ld(CNT).alui(Alu::Add, 1).st(CNT).jmp("counters_op");
    a.label("busy");
    err(&mut a, 7, msg::BUSY);
    // send_counter: the engine's counter A as u64; send_u64: T1:T0 as u64.
    a.label("send_counter");
    a.out(pout::CNTSEL).inp(pin::CNTL).st(T0).inp(pin::CNTH).st(T1);
    a.label("send_u64");
    a.ld(T0).out(pout::SBYTE).sh(Shift::Hi).out(pout::SBYTE);
    a.ld(T1).out(pout::SBYTE).sh(Shift::Hi).out(pout::SBYTE);
    a.li(0).out(pout::SBYTE).out(pout::SBYTE).out(pout::SBYTE).out(pout::SBYTE).ret();

    a.label("hello");
    a.ld(LEN).jnz("bad_request");
    let info_len = 16 + info_tail(cfg).len() as u16;
    a.li(0x81).out(pout::SCODE).ld(SEQ).out(pout::SSEQ).li(info_len).out(pout::SLEN);
    a.li(16).out(pout::SNREG);
    let regs: Vec<u8> = [info.format_version, info.hash].iter().flat_map(|v| v.to_le_bytes()).collect();
    for (k, b) in regs.iter().enumerate() {
        a.li(*b as u16).out(pout::SREG + k as u8);
    }
    for (k, r) in [MLEN, MLEN + 1, MCRC, MCRC + 1].into_iter().enumerate() {
        let k = 8 + 2 * k as u8;
        a.ld(r).out(pout::SREG + k).sh(Shift::Hi).out(pout::SREG + k + 1);
    }
    a.out(pout::SGO);
    a.jmp("info_text");
    a.label("bad_request");
    err(&mut a, 3, msg::BAD_REQUEST);
    a.label("bad_frame");
    a.li(0).st(EID);
    err(&mut a, 1, msg::BAD_FRAME);

    // ---- ERROR: kind, id 0, then the message text.
    a.label("error");
    a.li(0xFF).out(pout::SCODE).ld(SEQ).out(pout::SSEQ);
    a.ld(EKIND).out(pout::SREG).ld(EID).out(pout::SREG + 1).sh(Shift::Hi).out(pout::SREG + 2);
    a.li(3).out(pout::SNREG);
    // The message's (address, length) pair from the table after the text.
    a.call("msg_table").out(pout::SGO);
    a.jmp("send_text");

    // ---- The rest of a frame from program-memory text: ADDR (word address), CNT bytes.
    a.label("send_text");
    a.ld(CNT).jz("send_done");
    a.ld(ADDR).lpm().st(T1).out(pout::SBYTE);
    a.ld(CNT).alui(Alu::Sub, 1).st(CNT).jz("send_done");
    a.ld(T1).sh(Shift::Hi).out(pout::SBYTE);
    a.ld(ADDR).alui(Alu::Add, 1).st(ADDR);
    a.ld(CNT).alui(Alu::Sub, 1).st(CNT).jmp("send_text");
    a.label("send_done");
    a.inp(pin::SND).jnz("send_done");
    a.jmp("hunt_clear");

    // Text, and the tables that find it.
    let mut text = Text { info: (0, 0), messages: Vec::new() };
    text.info = pack(&mut a, &info_tail(cfg));
    for m in MESSAGES {
        text.messages.push(pack(&mut a, m.as_bytes()));
    }
    // msg_table: the message EMSG's text → ADDR, CNT, and SLEN = 3 + its length.
    a.label("msg_table");
    for (i, (at, n)) in text.messages.iter().enumerate() {
        let skip = format!("msg_{i}");
        a.ld(EMSG).alui(Alu::Xor, i as u8).jnz(&skip);
        a.li(*at).st(ADDR).li(*n).st(CNT).alui(Alu::Add, 3).out(pout::SLEN).ret();
        a.label(&skip);
    }
    a.ret();
    a.label("info_text");
    a.li(text.info.0).st(ADDR).li(text.info.1).st(CNT).jmp("send_text");
    a.finish(PA).unwrap_or_else(|e| panic!("link firmware: {e}"))
}

/// The link I/O block, modelled: what the firmware's ports do, cycle by cycle.
pub struct IoModel {
    pub rx: VecDeque<u8>,
    pub tx: Vec<u8>,
    fb: Vec<u8>,
    fbp: usize,
    crc8: crc::Digest<'static, u8>,
    rx32: crc::Digest<'static, u32>,
    timer: u64,
    // Sender.
    s_code: u8,
    s_seq: u8,
    s_len: u16,
    s_nreg: u8,
    s_regs: [u8; 16],
    s_left: u16,
    s_busy: bool,
    tx32: crc::Digest<'static, u32>,
    // The engine, as the tests drive it.
    pub eng_busy: bool,
    pub eng_error: bool,
    /// The engine's counters by select (0 total, 1 stall, 2 + 2l and 3 + 2l op l's).
    pub counters: Vec<u32>,
    cnt_sel: usize,
    pub model_ok: bool,
}

const CRC8: crc::Crc<u8> = crc::Crc::<u8>::new(&crc::CRC_8_SMBUS);
const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

impl Default for IoModel {
    fn default() -> Self {
        IoModel {
            rx: VecDeque::new(),
            tx: Vec::new(),
            fb: vec![0; crate::proto::MAX_CHUNK + 16],
            fbp: 0,
            crc8: CRC8.digest(),
            rx32: CRC32.digest(),
            timer: 0,
            s_code: 0,
            s_seq: 0,
            s_len: 0,
            s_nreg: 0,
            s_regs: [0; 16],
            s_left: 0,
            s_busy: false,
            tx32: CRC32.digest(),
            eng_busy: false,
            eng_error: false,
            counters: Vec::new(),
            cnt_sel: 0,
            model_ok: false,
        }
    }
}

impl IoModel {
    fn emit(&mut self, b: u8) {
        self.tx.push(b);
        self.tx32.update(&[b]);
    }

    fn finish_frame(&mut self) {
        let c = self.tx32.clone().finalize();
        self.tx.extend_from_slice(&c.to_le_bytes());
        self.s_busy = false;
    }

    /// A port access by the core.
    pub fn io(&mut self, e: Io) -> u16 {
        match e {
            Io::In(p) => match p {
                pin::RXS => !self.rx.is_empty() as u16,
                pin::RX => self.rx.pop_front().unwrap_or(0) as u16,
                pin::CRC8 => self.crc8.clone().finalize() as u16,
                pin::RX32L => self.rx32.clone().finalize() as u16,
                pin::RX32H => (self.rx32.clone().finalize() >> 16) as u16,
                pin::TMR => (self.timer > 0) as u16,
                pin::SND => self.s_busy as u16,
                pin::ENG => self.eng_busy as u16 | (self.eng_error as u16) << 2,
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
                            self.rx32 = CRC32.digest();
                        }
                        self.rx32.update(&[byte]);
                    }
                    pout::FBP => self.fbp = v as usize,
                    pout::FBW => {
                        let n = self.fb.len();
                        self.fb[self.fbp % n] = byte;
                        self.fbp += 1;
                    }
                    pout::TMR => self.timer = 256 * v as u64,
                    pout::CNTSEL => self.cnt_sel = v as usize,
                    pout::MODEL => self.model_ok = v & 1 != 0,
                    pout::SCODE => self.s_code = byte,
                    pout::SSEQ => self.s_seq = byte,
                    pout::SLEN => self.s_len = v,
                    pout::SNREG => self.s_nreg = byte,
                    pout::SGO => {
                        let mut h = vec![0xBB, 0xC5, 1, self.s_code, self.s_seq];
                        h.extend_from_slice(&self.s_len.to_le_bytes());
                        h.push(CRC8.checksum(&h));
                        self.tx32 = CRC32.digest();
                        for b in h {
                            self.emit(b);
                        }
                        for k in 0..self.s_nreg as usize {
                            self.emit(self.s_regs[k]);
                        }
                        self.s_left = self.s_len - self.s_nreg as u16;
                        self.s_busy = true;
                        if self.s_left == 0 {
                            self.finish_frame();
                        }
                    }
                    pout::SBYTE if self.s_busy && self.s_left > 0 => {
                        self.emit(byte);
                        self.s_left -= 1;
                        if self.s_left == 0 {
                            self.finish_frame();
                        }
                    }
                    p if (pout::SREG..pout::SREG + 16).contains(&p) => self.s_regs[(p - pout::SREG) as usize] = byte,
                    _ => {}
                }
                0
            }
        }
    }

    /// Time passes.
    pub fn tick(&mut self, cycles: u64) {
        self.timer = self.timer.saturating_sub(cycles);
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
