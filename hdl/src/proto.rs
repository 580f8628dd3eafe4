//! The device side of the link protocol (`docs/protocol.md`, "Hardware boards") between the
//! UART's byte FIFOs and the engine's ports. It keeps nothing a board cannot afford: one frame
//! buffer for a DATA payload, a result FIFO, and a ROM for the constant part of INFO and the
//! error messages. Uploads are streamed: a model image is parsed and written through the
//! engine's load port as it arrives, a strip's pixels go to `in_data` as they arrive, and its
//! result leaves as RESULT_DATA frames while it is computed.
//!
//! Three machines in one kernel:
//! - the receiver/executor (`ps`): hunts for a header in a sliding 8-byte window, checks its
//!   CRC-8 serially (rotating the window, so a failed check leaves the window as it was and the
//!   hunt goes on one byte later), takes the payload (DATA bytes into the frame buffer, fixed
//!   fields into registers as they pass), checks the CRC-32, and only then acts on the frame;
//!   nothing of a frame reaches the engine before its CRC is good;
//! - the sender (`ss`): writes one frame into the TX FIFO, header, up to 16 bytes from a shift
//!   register, then a tail from the ROM, the result FIFO or the engine's counters, then CRC-32;
//! - the result streamer: starts a RESULT_DATA frame only when the whole chunk is already in
//!   the result FIFO, so a reply (which goes first, at frame boundaries) never waits behind a
//!   frame that waits for the engine, which may wait for input the host sends only after
//!   that reply.
//!
//! Ports: `rx_*` and `tx_*` face the UART's FIFOs (first-word-fall-through receive side); the
//! rest are the engine's ports (`hdl/src/engine.rs`) seen from outside.

use crate::bram::Bram;
use crate::crc::{Crc32, Crc8};
use crate::uart::ByteFifo;
use bbcu_arch::image::Mem;
use bbcu_arch::{DesignInfo, HwConfig};
use rust_hdl::prelude::*;
use std::collections::BTreeMap;

/// CRC-32/ISO-HDLC of any message followed by its own CRC (little-endian).
const CRC32_RESIDUE: u32 = 0x2144_DF1C;
/// A frame header's first bytes: the magic and the protocol version (`docs/protocol.md`).
pub(crate) const FRAME_START: [u8; 3] = [0xBB, 0xC5, 1];
/// Largest DATA chunk a hardware board takes (its frame buffer).
pub const MAX_CHUNK: usize = 1024;
/// Frame buffer address bits (`MAX_CHUNK` bytes).
const FB_BITS: usize = 10;
/// Strips a hardware board holds at once (INFO `slots`); 1 also tells the host it speaks the
/// hardware profile.
pub const SLOTS: u8 = 1;
/// Bytes each error message slot takes in the ROM (a length byte, then the text); `e_addr`
/// in the kernel shifts by its log2.
const MSG_SLOT: usize = 32;

/// Error messages, in ROM slot order; the kernel names them by index (`e_msg`), with the
/// message's name beside the number. The protocol firmware (`crate::linkfw`) sends `#` and
/// the index in two digits instead of the text (docs/protocol.md), which [`board_message`]
/// reads back.
pub const MESSAGES: &[&str] = &[
    "frame CRC mismatch",
    "unknown command",
    "bad payload size or field",
    "no model loaded",
    "not a bbcu model image",
    "image format version differs",
    "image is for another design",
    "image names unknown memory",
    "image section overflows memory",
    "model image CRC mismatch",
    "stray bytes after last section",
    "model image ends early",
    "program header out of range",
    "strip job outside model limits",
    "busy: one strip at a time",
    "results not kept: run again",
    "unknown strip or upload",
    "strip input CRC mismatch",
    "engine found no valid program",
];

/// An ERROR message as a hardware board sent it, as text: `#` and two digits name one of
/// [`MESSAGES`]; anything else is the text itself.
pub fn board_message(m: &str) -> String {
    let b = m.as_bytes();
    if b.len() == 3 && b[0] == b'#' && b[1].is_ascii_digit() && b[2].is_ascii_digit() {
        if let Some(t) = MESSAGES.get(((b[1] - b'0') * 10 + (b[2] - b'0')) as usize) {
            return t.to_string();
        }
    }
    m.to_string()
}

/// The receiver/executor's states.
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum Ps {
    Hunt,
    HChk,
    Pay,
    FCrc,
    Exec,
    Feed,
    FeedEnd,
    JobChk,
    MulSet,
    Mul,
    MulDone,
    StartStrip,
    Drain,
    ResetDo,
    ErrLen,
    ErrLen2,
    Reply,
}

/// The sender's states.
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum Ss {
    Idle,
    Hdr,
    Pay,
    Crc,
}

/// Where a frame's payload continues after its register bytes.
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum Tk {
    Rom,
    Fifo,
    Cnt,
}

/// The model image parser's states.
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum Is {
    Hdr,
    Sec,
    Words,
    Tail,
    Done,
    Err,
}

/// The reply the executor has chosen.
#[derive(Copy, Clone, PartialEq, Eq, Debug, LogicState)]
pub enum Rk {
    Info,
    Committed,
    Missing,
    State,
    ResetDone,
    Error,
    Counters,
}

/// The protocol engine; `RA` is the ROM's address width (INFO tail and messages).
#[derive(LogicBlock)]
pub struct Proto<const RA: usize> {
    pub clock: Signal<In, Clock>,
    pub rx_data: Signal<In, Bits<8>>,
    pub rx_empty: Signal<In, Bit>,
    pub rx_read: Signal<Out, Bit>,
    pub tx_data: Signal<Out, Bits<8>>,
    pub tx_write: Signal<Out, Bit>,
    pub tx_full: Signal<In, Bit>,
    pub load_we: Signal<Out, Bit>,
    pub load_mem: Signal<Out, Bits<3>>,
    pub load_addr: Signal<Out, Bits<32>>,
    pub load_data: Signal<Out, Bits<64>>,
    pub start: Signal<Out, Bit>,
    pub strip_w: Signal<Out, Bits<16>>,
    pub strip_h: Signal<Out, Bits<16>>,
    pub keep_x0: Signal<Out, Bits<16>>,
    pub keep_w: Signal<Out, Bits<16>>,
    pub eng_busy: Signal<In, Bit>,
    pub eng_done: Signal<In, Bit>,
    pub eng_error: Signal<In, Bit>,
    pub in_data: Signal<Out, Bits<8>>,
    pub in_valid: Signal<Out, Bit>,
    pub in_ready: Signal<In, Bit>,
    pub out_data: Signal<In, Bits<8>>,
    pub out_valid: Signal<In, Bit>,
    pub out_ready: Signal<Out, Bit>,
    pub cnt_sel: Signal<Out, Bits<8>>,
    pub cnt_data: Signal<In, Bits<32>>,
    /// A model is loaded and verified.
    pub model_ok: Signal<Out, Bit>,

    fbuf: Bram<Bits<8>, FB_BITS>,
    rom: RAM<Bits<8>, RA>,
    rfifo: ByteFifo<11, 12>,
    rx8: Crc8,
    rx32: Crc32,
    up32: Crc32,
    tx8: Crc8,
    tx32: Crc32,
    res32: Crc32,

    // Receiver.
    ps: DFF<Ps>,
    win: [DFF<Bits<8>>; 8],
    fresh: DFF<Bit>,
    k: DFF<Bits<4>>,
    f_code: DFF<Bits<8>>,
    f_seq: DFF<Bits<8>>,
    f_len: DFF<Bits<16>>,
    pos: DFF<Bits<16>>,
    stale: DFF<Bits<32>>,
    sh: DFF<Bits<32>>,
    rcrc: DFF<Bits<32>>,
    f_target: DFF<Bits<8>>,
    f_id: DFF<Bits<16>>,
    f_a: DFF<Bits<32>>,
    f_chunk: DFF<Bits<16>>,
    f_crc: DFF<Bits<32>>,
    f_w: DFF<Bits<32>>,
    f_h: DFF<Bits<32>>,
    f_x0: DFF<Bits<32>>,
    f_kw: DFF<Bits<32>>,
    fp: DFF<Bits<16>>,
    // Upload in progress (model or strip input).
    u_act: DFF<Bit>,
    u_strip: DFF<Bit>,
    u_id: DFF<Bits<16>>,
    u_total: DFF<Bits<32>>,
    u_chunk: DFF<Bits<16>>,
    u_crcx: DFF<Bits<32>>,
    u_next: DFF<Bits<32>>,
    // Model.
    m_valid: DFF<Bit>,
    m_len: DFF<Bits<32>>,
    m_crc: DFF<Bits<32>>,
    h_nops: DFF<Bits<16>>,
    h_inch: DFF<Bits<16>>,
    h_outch: DFF<Bits<16>>,
    h_scale: DFF<Bits<16>>,
    h_wcap: DFF<Bits<16>>,
    // Image parser.
    i_st: DFF<Is>,
    i_k: DFF<Bits<4>>,
    i_sh: DFF<Bits<32>>,
    i_nsec: DFF<Bits<32>>,
    i_mem: DFF<Bits<3>>,
    i_addr: DFF<Bits<32>>,
    i_cnt: DFF<Bits<32>>,
    i_wb: DFF<Bits<4>>,
    i_w: DFF<Bits<64>>,
    i_err: DFF<Bits<5>>,
    l_we: DFF<Bit>,
    l_mem: DFF<Bits<3>>,
    l_addr: DFF<Bits<32>>,
    l_data: DFF<Bits<64>>,
    // Strip.
    s_have: DFF<Bit>,
    s_id: DFF<Bits<16>>,
    s_indone: DFF<Bit>,
    s_crcok: DFF<Bit>,
    s_fail: DFF<Bit>,
    st_pulse: DFF<Bit>,
    strips: DFF<Bits<32>>,
    js: DFF<Bits<3>>,
    m_a: DFF<Bits<48>>,
    m_b: DFF<Bits<16>>,
    m_p: DFF<Bits<48>>,
    d_left: DFF<Bits<32>>,
    /// Result bytes the engine has given for the current strip.
    r_got: DFF<Bits<32>>,
    // Results.
    r_act: DFF<Bit>,
    r_id: DFF<Bits<16>>,
    r_off: DFF<Bits<32>>,
    r_len: DFF<Bits<32>>,
    r_chunk: DFF<Bits<16>>,
    r_endsent: DFF<Bit>,
    r_fcrc: DFF<Bits<32>>,
    rcount: DFF<Bits<12>>,
    b_seq: DFF<Bits<8>>,
    // Reply.
    rk: DFF<Rk>,
    v_c8: DFF<Bits<8>>,
    v_id: DFF<Bits<16>>,
    v_a: DFF<Bits<32>>,
    v_b: DFF<Bits<32>>,
    e_msg: DFF<Bits<5>>,
    e_len: DFF<Bits<8>>,
    // Sender.
    ss: DFF<Ss>,
    s_k: DFF<Bits<4>>,
    s_code: DFF<Bits<8>>,
    s_seq: DFF<Bits<8>>,
    s_len: DFF<Bits<16>>,
    s_regs: [DFF<Bits<8>>; 16],
    s_nreg: DFF<Bits<5>>,
    s_tk: DFF<Tk>,
    s_rom: DFF<Bits<RA>>,
    c_f: DFF<Bits<8>>,
    c_b: DFF<Bits<3>>,
    c_val: DFF<Bits<32>>,
    c_wait: DFF<Bits<2>>,

    // Combinational helpers.
    shn: Signal<Local, Bits<32>>,
    wlen: Signal<Local, Bits<16>>,
    fofs: Signal<Local, Bits<16>>,
    crc_ok: Signal<Local, Bit>,
    fn_n: Signal<Local, Bits<16>>,
    u_rem: Signal<Local, Bits<32>>,
    u_exp: Signal<Local, Bits<32>>,
    take: Signal<Local, Bit>,
    fb_byte: Signal<Local, Bits<8>>,
    fp_next: Signal<Local, Bits<16>>,
    ishn: Signal<Local, Bits<32>>,
    iwn: Signal<Local, Bits<64>>,
    i_cap: Signal<Local, Bits<32>>,
    wlast: Signal<Local, Bits<4>>,
    w16: Signal<Local, Bits<16>>,
    busy_strip: Signal<Local, Bit>,
    m_repeat: Signal<Local, Bit>,
    hdr_bad: Signal<Local, Bit>,
    e_addr: Signal<Local, Bits<RA>>,
    r_rem: Signal<Local, Bits<32>>,
    rn: Signal<Local, Bits<16>>,
    s_go: Signal<Local, Bit>,
    s_avail: Signal<Local, Bit>,
    tb: Signal<Local, Bits<8>>,
    rom_next: Signal<Local, Bits<RA>>,
    fifo_pop: Signal<Local, Bit>,
    fifo_push: Signal<Local, Bit>,
    c_src: Signal<Local, Bits<32>>,
    c_last: Signal<Local, Bit>,
    rep_wait: Signal<Local, Bit>,

    // Parameters.
    img_magic: Constant<Bits<32>>,
    fver: Constant<Bits<32>>,
    dhash: Constant<Bits<32>>,
    w32: Constant<Bit>,
    /// 16-lane engines: a weight word is 16 bits, like every other memory's.
    w16w: Constant<Bit>,
    wlast_w: Constant<Bits<4>>,
    cap_p: Constant<Bits<32>>,
    cap_w: Constant<Bits<32>>,
    cap_f: Constant<Bits<32>>,
    cap_c: Constant<Bits<32>>,
    info_len: Constant<Bits<16>>,
    msg_base: Constant<Bits<RA>>,
    stale_max: Constant<Bits<32>>,
    residue: Constant<Bits<32>>,
}

/// The ROM's contents for a configuration: the INFO payload after its 16 register bytes
/// (slots, board name, design description), then the error messages in 32-byte slots.
/// Answers the bytes and where the messages start.
pub fn rom_image(cfg: &HwConfig) -> (Vec<u8>, usize) {
    let mut rom = info_tail(cfg);
    let base = rom.len().div_ceil(MSG_SLOT) * MSG_SLOT;
    rom.resize(base, 0);
    for m in MESSAGES {
        assert!(m.len() < MSG_SLOT, "{m}: message longer than its slot");
        let mut slot = vec![m.len() as u8];
        slot.extend_from_slice(m.as_bytes());
        slot.resize(MSG_SLOT, 0);
        rom.extend_from_slice(&slot);
    }
    (rom, base)
}

/// The INFO payload after its 16 register bytes: slots, the board's name, the design JSON
/// (also the firmware's, `crate::linkfw`).
pub fn info_tail(cfg: &HwConfig) -> Vec<u8> {
    let json = serde_json::to_vec(&DesignInfo::of(cfg)).expect("design info serialises");
    let name = format!("bbcu {} (hardware)", cfg.name);
    let mut t = vec![SLOTS, name.len() as u8];
    t.extend_from_slice(name.as_bytes());
    t.extend_from_slice(&json);
    t
}

impl<const RA: usize> Proto<RA> {
    /// The protocol engine of a design; a partial frame that sees no byte for `stale_cycles`
    /// clocks is given up.
    pub fn new(cfg: &HwConfig, stale_cycles: u32) -> Self {
        let (rom, msg_base) = rom_image(cfg);
        assert!(rom.len() <= 1 << RA, "ROM of {} bytes does not fit {RA} address bits", rom.len());
        let rom_map: BTreeMap<Bits<RA>, Bits<8>> =
            rom.iter().enumerate().map(|(i, b)| (bits::<RA>(i as u64), bits::<8>(*b as u64))).collect();
        let wbytes = cfg.lanes / 8;
        assert!(matches!(wbytes, 2 | 4 | 8), "weight words of {} lanes", cfg.lanes);
        let cap = |m: Mem| Constant::new(bits::<32>(m.geometry(cfg).1 as u64));
        let info_len = 16 + info_tail(cfg).len();
        assert!(info_len <= 4096, "INFO payload of {info_len} bytes exceeds a frame");
        Self {
            clock: Default::default(),
            rx_data: Default::default(),
            rx_empty: Default::default(),
            rx_read: Default::default(),
            tx_data: Default::default(),
            tx_write: Default::default(),
            tx_full: Default::default(),
            load_we: Default::default(),
            load_mem: Default::default(),
            load_addr: Default::default(),
            load_data: Default::default(),
            start: Default::default(),
            strip_w: Default::default(),
            strip_h: Default::default(),
            keep_x0: Default::default(),
            keep_w: Default::default(),
            eng_busy: Default::default(),
            eng_done: Default::default(),
            eng_error: Default::default(),
            in_data: Default::default(),
            in_valid: Default::default(),
            in_ready: Default::default(),
            out_data: Default::default(),
            out_valid: Default::default(),
            out_ready: Default::default(),
            cnt_sel: Default::default(),
            cnt_data: Default::default(),
            model_ok: Default::default(),
            fbuf: Default::default(),
            rom: RAM::new(rom_map),
            rfifo: Default::default(),
            rx8: Default::default(),
            rx32: Default::default(),
            up32: Default::default(),
            tx8: Default::default(),
            tx32: Default::default(),
            res32: Default::default(),
            ps: Default::default(),
            win: Default::default(),
            fresh: Default::default(),
            k: Default::default(),
            f_code: Default::default(),
            f_seq: Default::default(),
            f_len: Default::default(),
            pos: Default::default(),
            stale: Default::default(),
            sh: Default::default(),
            rcrc: Default::default(),
            f_target: Default::default(),
            f_id: Default::default(),
            f_a: Default::default(),
            f_chunk: Default::default(),
            f_crc: Default::default(),
            f_w: Default::default(),
            f_h: Default::default(),
            f_x0: Default::default(),
            f_kw: Default::default(),
            fp: Default::default(),
            u_act: Default::default(),
            u_strip: Default::default(),
            u_id: Default::default(),
            u_total: Default::default(),
            u_chunk: Default::default(),
            u_crcx: Default::default(),
            u_next: Default::default(),
            m_valid: Default::default(),
            m_len: Default::default(),
            m_crc: Default::default(),
            h_nops: Default::default(),
            h_inch: Default::default(),
            h_outch: Default::default(),
            h_scale: Default::default(),
            h_wcap: Default::default(),
            i_st: Default::default(),
            i_k: Default::default(),
            i_sh: Default::default(),
            i_nsec: Default::default(),
            i_mem: Default::default(),
            i_addr: Default::default(),
            i_cnt: Default::default(),
            i_wb: Default::default(),
            i_w: Default::default(),
            i_err: Default::default(),
            l_we: Default::default(),
            l_mem: Default::default(),
            l_addr: Default::default(),
            l_data: Default::default(),
            s_have: Default::default(),
            s_id: Default::default(),
            s_indone: Default::default(),
            s_crcok: Default::default(),
            s_fail: Default::default(),
            st_pulse: Default::default(),
            strips: Default::default(),
            js: Default::default(),
            m_a: Default::default(),
            m_b: Default::default(),
            m_p: Default::default(),
            d_left: Default::default(),
            r_got: Default::default(),
            r_act: Default::default(),
            r_id: Default::default(),
            r_off: Default::default(),
            r_len: Default::default(),
            r_chunk: Default::default(),
            r_endsent: Default::default(),
            r_fcrc: Default::default(),
            rcount: Default::default(),
            b_seq: Default::default(),
            rk: Default::default(),
            v_c8: Default::default(),
            v_id: Default::default(),
            v_a: Default::default(),
            v_b: Default::default(),
            e_msg: Default::default(),
            e_len: Default::default(),
            ss: Default::default(),
            s_k: Default::default(),
            s_code: Default::default(),
            s_seq: Default::default(),
            s_len: Default::default(),
            s_regs: Default::default(),
            s_nreg: Default::default(),
            s_tk: Default::default(),
            s_rom: Default::default(),
            c_f: Default::default(),
            c_b: Default::default(),
            c_val: Default::default(),
            c_wait: Default::default(),
            shn: Default::default(),
            wlen: Default::default(),
            fofs: Default::default(),
            crc_ok: Default::default(),
            fn_n: Default::default(),
            u_rem: Default::default(),
            u_exp: Default::default(),
            take: Default::default(),
            fb_byte: Default::default(),
            fp_next: Default::default(),
            ishn: Default::default(),
            iwn: Default::default(),
            i_cap: Default::default(),
            wlast: Default::default(),
            w16: Default::default(),
            busy_strip: Default::default(),
            m_repeat: Default::default(),
            hdr_bad: Default::default(),
            e_addr: Default::default(),
            r_rem: Default::default(),
            rn: Default::default(),
            s_go: Default::default(),
            s_avail: Default::default(),
            tb: Default::default(),
            rom_next: Default::default(),
            fifo_pop: Default::default(),
            fifo_push: Default::default(),
            c_src: Default::default(),
            c_last: Default::default(),
            rep_wait: Default::default(),
            img_magic: Constant::new(bits::<32>(u32::from_le_bytes(*b"BBCI") as u64)),
            fver: Constant::new(bits::<32>(bbcu_arch::device::FORMAT_VERSION as u64)),
            dhash: Constant::new(bits::<32>(cfg.design_hash() as u64)),
            w32: Constant::new(wbytes == 4),
            w16w: Constant::new(wbytes == 2),
            wlast_w: Constant::new(bits::<4>(wbytes as u64 - 1)),
            cap_p: cap(Mem::Program),
            cap_w: cap(Mem::Weight),
            cap_f: cap(Mem::FpWeight),
            cap_c: cap(Mem::Const),
            info_len: Constant::new(bits::<16>(info_len as u64)),
            msg_base: Constant::new(bits::<RA>(msg_base as u64)),
            stale_max: Constant::new(bits::<32>(stale_cycles as u64)),
            residue: Constant::new(bits::<32>(CRC32_RESIDUE as u64)),
        }
    }
}

impl<const RA: usize> Logic for Proto<RA> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, ps, fresh, k, f_code, f_seq, f_len, pos, stale, sh, rcrc, f_target, f_id, f_a, f_chunk, f_crc,
            f_w, f_h, f_x0, f_kw, fp, u_act, u_strip, u_id, u_total, u_chunk, u_crcx, u_next, m_valid, m_len, m_crc,
            h_nops, h_inch, h_outch, h_scale, h_wcap, i_st, i_k, i_sh, i_nsec, i_mem, i_addr, i_cnt, i_wb, i_w, i_err,
            l_we, l_mem, l_addr, l_data, s_have, s_id, s_indone, s_crcok, s_fail, st_pulse, strips, js, m_a, m_b, m_p,
            d_left, r_got, r_act, r_id, r_off, r_len, r_chunk, r_endsent, r_fcrc, rcount, b_seq, rk, v_c8, v_id, v_a,
            v_b, e_msg, e_len, ss, s_k, s_code, s_seq, s_len, s_nreg, s_tk, s_rom, c_f, c_b, c_val, c_wait
        );
        for i in 0..8 {
            self.win[i].clock.next = self.clock.val();
            self.win[i].d.next = self.win[i].q.val();
        }
        for i in 0..16 {
            self.s_regs[i].clock.next = self.clock.val();
            self.s_regs[i].d.next = self.s_regs[i].q.val();
        }
        clock!(self, clock, rfifo, rx8, rx32, up32, tx8, tx32, res32);
        self.fbuf.write_clock.next = self.clock.val();
        self.fbuf.read_clock.next = self.clock.val();
        self.rom.write_clock.next = self.clock.val();
        self.rom.read_clock.next = self.clock.val();

        // ---- Combinational helpers (each written before it is read).
        self.shn.next = (self.sh.q.val() >> 8) | (bit_cast::<32, 8>(self.rx_data.val()) << 24);
        self.wlen.next = (bit_cast::<16, 8>(self.win[6].q.val()) << 8) | bit_cast::<16, 8>(self.win[5].q.val());
        self.fofs.next = self.pos.q.val() - 7;
        self.crc_ok.next = self.rcrc.q.val() == self.rx32.crc.val();
        self.fn_n.next = self.f_len.q.val() - 7;
        self.u_rem.next = self.u_total.q.val() - self.u_next.q.val();
        self.u_exp.next = bit_cast::<32, 16>(self.u_chunk.q.val());
        if self.u_rem.val() < bit_cast::<32, 16>(self.u_chunk.q.val()) {
            self.u_exp.next = self.u_rem.val();
        }
        self.fb_byte.next = self.fbuf.read_data.val();
        self.take.next = false;
        if (self.ps.q.val() == Ps::Feed) & (self.fp.q.val() < self.fn_n.val()) {
            self.take.next = !self.u_strip.q.val() | self.in_ready.val();
        }
        self.fp_next.next = self.fp.q.val();
        if self.take.val() {
            self.fp_next.next = self.fp.q.val() + 1;
        }
        if self.ps.q.val() == Ps::Exec {
            self.fp_next.next = 0.into();
        }
        self.ishn.next = (self.i_sh.q.val() >> 8) | (bit_cast::<32, 8>(self.fb_byte.val()) << 24);
        self.iwn.next = (self.i_w.q.val() >> 8) | (bit_cast::<64, 8>(self.fb_byte.val()) << 56);
        self.w16.next = bit_cast::<16, 64>(self.iwn.val() >> 48);
        self.i_cap.next = self.cap_c.val();
        if self.i_mem.q.val() == 1 {
            self.i_cap.next = self.cap_p.val();
        }
        if self.i_mem.q.val() == 2 {
            self.i_cap.next = self.cap_w.val();
        }
        if self.i_mem.q.val() == 3 {
            self.i_cap.next = self.cap_f.val();
        }
        self.wlast.next = 1.into();
        if self.i_mem.q.val() == 2 {
            self.wlast.next = self.wlast_w.val();
        }
        self.busy_strip.next = self.eng_busy.val()
            | self.st_pulse.q.val()
            | (self.u_act.q.val() & self.u_strip.q.val())
            | (self.r_act.q.val() & !self.r_endsent.q.val());
        self.m_repeat.next = self.u_act.q.val()
            & !self.u_strip.q.val()
            & (self.f_a.q.val() == self.u_total.q.val())
            & (self.f_crc.q.val() == self.u_crcx.q.val())
            & (self.f_chunk.q.val() == self.u_chunk.q.val());
        self.hdr_bad.next = (self.h_scale.q.val() == 0)
            | (self.h_scale.q.val() > 4)
            | (self.h_inch.q.val() == 0)
            | (self.h_outch.q.val() == 0)
            | (self.h_wcap.q.val() == 0)
            | (self.h_nops.q.val() == 0);
        self.e_addr.next = self.msg_base.val() + (bit_cast::<RA, 5>(self.e_msg.q.val()) << 5);
        self.r_rem.next = self.r_len.q.val() - self.r_off.q.val();
        self.rn.next = self.r_chunk.q.val();
        if self.r_rem.val() < bit_cast::<32, 16>(self.r_chunk.q.val()) {
            self.rn.next = bit_cast::<16, 32>(self.r_rem.val());
        }
        self.rep_wait.next =
            (self.ps.q.val() == Ps::ErrLen) | (self.ps.q.val() == Ps::ErrLen2) | (self.ps.q.val() == Ps::Reply);

        // ---- Sender: byte available, byte value, advance.
        self.s_avail.next = true;
        if (self.ss.q.val() == Ss::Pay) & (self.s_nreg.q.val() == 0) {
            if self.s_tk.q.val() == Tk::Fifo {
                self.s_avail.next = !self.rfifo.empty.val();
            }
            if self.s_tk.q.val() == Tk::Cnt {
                self.s_avail.next = (self.c_b.q.val() != 0) | (self.c_wait.q.val() == 2);
            }
        }
        self.s_go.next = (self.ss.q.val() != Ss::Idle) & !self.tx_full.val() & self.s_avail.val();
        self.c_src.next = self.cnt_data.val();
        if self.c_f.q.val() == 2 {
            self.c_src.next = self.strips.q.val();
        }
        if self.c_f.q.val() == 3 {
            self.c_src.next = bit_cast::<32, 16>(self.h_nops.q.val());
        }
        self.c_last.next = self.c_b.q.val() == 7;
        if self.c_f.q.val() == 3 {
            self.c_last.next = self.c_b.q.val() == 1;
        }
        self.tb.next = self.s_regs[0].q.val();
        if self.ss.q.val() == Ss::Hdr {
            self.tb.next = self.tx8.crc.val();
            if self.s_k.q.val() == 0 {
                self.tb.next = 0xBB.into();
            }
            if self.s_k.q.val() == 1 {
                self.tb.next = 0xC5.into();
            }
            if self.s_k.q.val() == 2 {
                self.tb.next = 1.into();
            }
            if self.s_k.q.val() == 3 {
                self.tb.next = self.s_code.q.val();
            }
            if self.s_k.q.val() == 4 {
                self.tb.next = self.s_seq.q.val();
            }
            if self.s_k.q.val() == 5 {
                self.tb.next = self.s_len.q.val().get_bits::<8>(0);
            }
            if self.s_k.q.val() == 6 {
                self.tb.next = self.s_len.q.val().get_bits::<8>(8);
            }
        }
        if (self.ss.q.val() == Ss::Pay) & (self.s_nreg.q.val() == 0) {
            if self.s_tk.q.val() == Tk::Rom {
                self.tb.next = self.rom.read_data.val();
            }
            if self.s_tk.q.val() == Tk::Fifo {
                self.tb.next = self.rfifo.data_out.val();
            }
            if self.s_tk.q.val() == Tk::Cnt {
                self.tb.next = self.c_val.q.val().get_bits::<8>(0);
                if self.c_b.q.val() == 0 {
                    self.tb.next = self.c_src.val().get_bits::<8>(0);
                }
            }
        }
        if self.ss.q.val() == Ss::Crc {
            self.tb.next = self.tx32.crc.val().get_bits::<8>(24);
            if self.s_k.q.val() == 0 {
                self.tb.next = self.tx32.crc.val().get_bits::<8>(0);
            }
            if self.s_k.q.val() == 1 {
                self.tb.next = self.tx32.crc.val().get_bits::<8>(8);
            }
            if self.s_k.q.val() == 2 {
                self.tb.next = self.tx32.crc.val().get_bits::<8>(16);
            }
        }
        self.fifo_pop.next = self.s_go.val()
            & (self.ss.q.val() == Ss::Pay)
            & (self.s_nreg.q.val() == 0)
            & (self.s_tk.q.val() == Tk::Fifo);
        if (self.ps.q.val() == Ps::Drain) & (self.ss.q.val() == Ss::Idle) {
            self.fifo_pop.next = !self.rfifo.empty.val();
        }
        self.fifo_push.next = self.out_valid.val() & !self.rfifo.full.val();
        self.rom_next.next = self.e_addr.val();
        if self.ss.q.val() != Ss::Idle {
            self.rom_next.next = self.s_rom.q.val();
            if self.s_go.val()
                & (self.ss.q.val() == Ss::Pay)
                & (self.s_nreg.q.val() == 0)
                & (self.s_tk.q.val() == Tk::Rom)
            {
                self.rom_next.next = self.s_rom.q.val() + 1;
            }
        }

        // ---- Fixed connections and defaults.
        self.rx_read.next = false;
        self.tx_data.next = self.tb.val();
        self.tx_write.next = self.s_go.val();
        self.load_we.next = self.l_we.q.val();
        self.load_mem.next = self.l_mem.q.val();
        self.load_addr.next = self.l_addr.q.val();
        self.load_data.next = self.l_data.q.val();
        self.l_we.d.next = false;
        self.start.next = self.st_pulse.q.val();
        self.st_pulse.d.next = false;
        self.strip_w.next = self.f_w.q.val().get_bits::<16>(0);
        self.strip_h.next = self.f_h.q.val().get_bits::<16>(0);
        self.keep_x0.next = self.f_x0.q.val().get_bits::<16>(0);
        self.keep_w.next = self.f_kw.q.val().get_bits::<16>(0);
        self.in_data.next = self.fb_byte.val();
        self.in_valid.next = (self.ps.q.val() == Ps::Feed) & self.u_strip.q.val() & (self.fp.q.val() < self.fn_n.val());
        if self.ps.q.val() == Ps::Drain {
            self.in_data.next = 0.into();
            self.in_valid.next = self.d_left.q.val() != 0;
        }
        self.out_ready.next = !self.rfifo.full.val();
        self.cnt_sel.next = self.c_f.q.val();
        if self.c_f.q.val() > 3 {
            self.cnt_sel.next = self.c_f.q.val() - 2;
        }
        self.model_ok.next = self.m_valid.q.val();

        self.fbuf.write_enable.next = false;
        self.fbuf.write_address.next = bit_cast::<10, 16>(self.fofs.val());
        self.fbuf.write_data.next = self.rx_data.val();
        self.fbuf.read_address.next = bit_cast::<10, 16>(self.fp_next.val());
        self.rom.write_enable.next = false;
        self.rom.write_address.next = 0.into();
        self.rom.write_data.next = 0.into();
        self.rom.read_address.next = self.rom_next.val();
        self.rfifo.data_in.next = self.out_data.val();
        self.rfifo.write.next = self.fifo_push.val();
        self.rfifo.read.next = self.fifo_pop.val();
        if self.fifo_push.val() & !self.fifo_pop.val() {
            self.rcount.d.next = self.rcount.q.val() + 1;
        }
        if !self.fifo_push.val() & self.fifo_pop.val() {
            self.rcount.d.next = self.rcount.q.val() - 1;
        }

        self.rx8.clear.next = false;
        self.rx8.valid.next = false;
        self.rx8.data.next = self.win[0].q.val();
        self.rx32.clear.next = false;
        self.rx32.valid.next = false;
        self.rx32.data.next = self.win[0].q.val();
        self.up32.clear.next = false;
        self.up32.valid.next = self.take.val();
        self.up32.data.next = self.fb_byte.val();
        self.tx8.clear.next = (self.ss.q.val() == Ss::Hdr) & (self.s_k.q.val() == 0);
        self.tx8.valid.next = self.s_go.val() & (self.ss.q.val() == Ss::Hdr) & (self.s_k.q.val() < 7);
        self.tx8.data.next = self.tb.val();
        self.tx32.clear.next = (self.ss.q.val() == Ss::Hdr) & (self.s_k.q.val() == 0);
        self.tx32.valid.next = self.s_go.val() & ((self.ss.q.val() == Ss::Hdr) | (self.ss.q.val() == Ss::Pay));
        self.tx32.data.next = self.tb.val();
        self.res32.clear.next = false;
        self.res32.valid.next = self.fifo_pop.val() & (self.ps.q.val() != Ps::Drain);
        self.res32.data.next = self.tb.val();
        // The CRC units are never reloaded here.
        self.rx32.load_lo.next = false;
        self.rx32.load_hi.next = false;
        self.rx32.load_data.next = 0.into();
        self.up32.load_lo.next = false;
        self.up32.load_hi.next = false;
        self.up32.load_data.next = 0.into();
        self.tx32.load_lo.next = false;
        self.tx32.load_hi.next = false;
        self.tx32.load_data.next = 0.into();
        self.res32.load_lo.next = false;
        self.res32.load_hi.next = false;
        self.res32.load_data.next = 0.into();

        if self.c_wait.q.val() != 2 {
            self.c_wait.d.next = self.c_wait.q.val() + 1;
        }
        if self.fifo_push.val() {
            self.r_got.d.next = self.r_got.q.val() + 1;
        }
        if self.eng_done.val() & self.r_act.q.val() {
            self.strips.d.next = self.strips.q.val() + 1;
        }

        // ---- Receiver / executor.
        match self.ps.q.val() {
            Ps::Hunt => {
                if self.fresh.q.val()
                    & (self.win[0].q.val() == 0xBB)
                    & (self.win[1].q.val() == 0xC5)
                    & (self.win[2].q.val() == 1)
                    & (self.wlen.val() <= 4096)
                {
                    self.ps.d.next = Ps::HChk;
                    self.k.d.next = 0.into();
                    self.fresh.d.next = false;
                    self.f_code.d.next = self.win[3].q.val();
                    self.f_seq.d.next = self.win[4].q.val();
                    self.f_len.d.next = self.wlen.val();
                } else if !self.rx_empty.val() {
                    self.rx_read.next = true;
                    for i in 0..7 {
                        self.win[i].d.next = self.win[i + 1].q.val();
                    }
                    self.win[7].d.next = self.rx_data.val();
                    self.fresh.d.next = true;
                } else {
                    self.fresh.d.next = false;
                }
            }
            Ps::HChk => {
                // Seven bytes into the CRC-8, all eight into the frame's CRC-32; the window
                // rotates so that after eight steps it is as it was.
                self.rx8.clear.next = self.k.q.val() == 0;
                self.rx8.valid.next = self.k.q.val() < 7;
                self.rx32.clear.next = self.k.q.val() == 0;
                self.rx32.valid.next = true;
                for i in 0..7 {
                    self.win[i].d.next = self.win[i + 1].q.val();
                }
                self.win[7].d.next = self.win[0].q.val();
                self.k.d.next = self.k.q.val() + 1;
                if self.k.q.val() == 7 {
                    if self.rx8.crc.val() == self.win[0].q.val() {
                        for i in 0..8 {
                            self.win[i].d.next = 0.into();
                        }
                        self.pos.d.next = 0.into();
                        self.stale.d.next = 0.into();
                        self.k.d.next = 0.into();
                        self.ps.d.next = Ps::Pay;
                        if self.f_len.q.val() == 0 {
                            self.ps.d.next = Ps::FCrc;
                        }
                    } else {
                        self.ps.d.next = Ps::Hunt;
                    }
                }
            }
            Ps::Pay => {
                self.stale.d.next = self.stale.q.val() + 1;
                if self.stale.q.val() == self.stale_max.val() {
                    self.ps.d.next = Ps::Hunt;
                } else if !self.rx_empty.val() {
                    self.rx_read.next = true;
                    self.stale.d.next = 0.into();
                    self.rx32.valid.next = true;
                    self.rx32.data.next = self.rx_data.val();
                    self.sh.d.next = self.shn.val();
                    self.pos.d.next = self.pos.q.val() + 1;
                    if (self.f_code.q.val() == 3) & (self.pos.q.val() >= 7) & (self.fofs.val() < 1024) {
                        self.fbuf.write_enable.next = true;
                    }
                    if self.pos.q.val() == 0 {
                        self.f_target.d.next = self.rx_data.val();
                    }
                    if (self.f_code.q.val() == 5) | (self.f_code.q.val() == 6) {
                        if self.pos.q.val() == 1 {
                            self.f_id.d.next = self.shn.val().get_bits::<16>(16);
                        }
                    } else if self.pos.q.val() == 2 {
                        self.f_id.d.next = self.shn.val().get_bits::<16>(16);
                    }
                    if self.pos.q.val() == 6 {
                        self.f_a.d.next = self.shn.val();
                    }
                    if self.pos.q.val() == 8 {
                        self.f_chunk.d.next = self.shn.val().get_bits::<16>(16);
                    }
                    if self.pos.q.val() == 12 {
                        self.f_crc.d.next = self.shn.val();
                    }
                    if self.pos.q.val() == 16 {
                        self.f_w.d.next = self.shn.val();
                    }
                    if self.pos.q.val() == 20 {
                        self.f_h.d.next = self.shn.val();
                    }
                    if self.pos.q.val() == 24 {
                        self.f_x0.d.next = self.shn.val();
                    }
                    if self.pos.q.val() == 28 {
                        self.f_kw.d.next = self.shn.val();
                    }
                    if self.pos.q.val() + 1 == self.f_len.q.val() {
                        self.ps.d.next = Ps::FCrc;
                        self.k.d.next = 0.into();
                    }
                }
            }
            Ps::FCrc => {
                self.stale.d.next = self.stale.q.val() + 1;
                if self.stale.q.val() == self.stale_max.val() {
                    self.ps.d.next = Ps::Hunt;
                } else if !self.rx_empty.val() {
                    self.rx_read.next = true;
                    self.stale.d.next = 0.into();
                    self.rcrc.d.next = (self.rcrc.q.val() >> 8) | (bit_cast::<32, 8>(self.rx_data.val()) << 24);
                    self.k.d.next = self.k.q.val() + 1;
                    if self.k.q.val() == 3 {
                        self.ps.d.next = Ps::Exec;
                    }
                }
            }
            Ps::Exec => {
                self.ps.d.next = Ps::Hunt;
                self.fp.d.next = 0.into();
                self.v_id.d.next = 0.into();
                self.v_c8.d.next = self.f_target.q.val();
                if !self.crc_ok.val() {
                    self.v_c8.d.next = 1.into();
                    self.e_msg.d.next = 0.into() /* BAD_FRAME */;
                    self.ps.d.next = Ps::ErrLen;
                } else if self.f_code.q.val() == 1 {
                    // HELLO
                    if self.f_len.q.val() == 0 {
                        self.rk.d.next = Rk::Info;
                        self.ps.d.next = Ps::Reply;
                    } else {
                        self.v_c8.d.next = 3.into();
                        self.e_msg.d.next = 2.into() /* BAD_REQUEST */;
                        self.ps.d.next = Ps::ErrLen;
                    }
                } else if self.f_code.q.val() == 2 {
                    // BEGIN
                    self.v_id.d.next = self.f_id.q.val();
                    if (self.f_len.q.val() != 29) | (self.f_target.q.val() > 1) {
                        self.v_c8.d.next = 3.into();
                        self.e_msg.d.next = 2.into() /* BAD_REQUEST */;
                        self.ps.d.next = Ps::ErrLen;
                    } else if self.f_target.q.val() == 0 {
                        if self.f_id.q.val() != 0 {
                            self.v_c8.d.next = 3.into();
                            self.e_msg.d.next = 2.into() /* BAD_REQUEST */;
                            self.ps.d.next = Ps::ErrLen;
                        } else if self.busy_strip.val() {
                            self.v_c8.d.next = 7.into();
                            self.e_msg.d.next = 14.into() /* BUSY */;
                            self.ps.d.next = Ps::ErrLen;
                        } else if (self.f_chunk.q.val() == 0) | (self.f_chunk.q.val() > 1024) {
                            self.v_c8.d.next = 3.into();
                            self.e_msg.d.next = 2.into() /* BAD_REQUEST */;
                            self.ps.d.next = Ps::ErrLen;
                        } else if !self.m_repeat.val() {
                            // A repeated BEGIN keeps what has arrived; a new one means there is no
                            // model from here until COMMIT has checked the whole.
                            self.m_valid.d.next = false;
                            self.m_len.d.next = 0.into();
                            self.m_crc.d.next = 0.into();
                            self.u_act.d.next = true;
                            self.u_strip.d.next = false;
                            self.u_id.d.next = 0.into();
                            self.u_total.d.next = self.f_a.q.val();
                            self.u_chunk.d.next = self.f_chunk.q.val();
                            self.u_crcx.d.next = self.f_crc.q.val();
                            self.u_next.d.next = 0.into();
                            self.up32.clear.next = true;
                            self.i_st.d.next = Is::Hdr;
                            self.i_k.d.next = 0.into();
                            self.i_err.d.next = 0.into();
                            self.s_have.d.next = false;
                        }
                    } else if !self.m_valid.q.val() {
                        self.v_c8.d.next = 4.into();
                        self.e_msg.d.next = 3.into() /* NO_MODEL */;
                        self.ps.d.next = Ps::ErrLen;
                    } else if !(self.u_act.q.val() & self.u_strip.q.val() & (self.f_id.q.val() == self.u_id.q.val())) {
                        // (A repeated BEGIN of the strip being received is ignored.)
                        if self.busy_strip.val() {
                            self.v_c8.d.next = 7.into();
                            self.e_msg.d.next = 14.into() /* BUSY */;
                            self.ps.d.next = Ps::ErrLen;
                        } else {
                            self.ps.d.next = Ps::JobChk;
                        }
                    }
                } else if self.f_code.q.val() == 3 {
                    // DATA: only the next expected chunk of the upload in progress is taken.
                    if (self.f_len.q.val() < 8) | (self.f_len.q.val() > 1031) | (self.f_target.q.val() > 1) {
                        self.v_c8.d.next = 3.into();
                        self.e_msg.d.next = 2.into() /* BAD_REQUEST */;
                        self.ps.d.next = Ps::ErrLen;
                    } else if self.u_act.q.val()
                        & (self.u_strip.q.val() == self.f_target.q.val().get_bit(0))
                        & (self.f_id.q.val() == self.u_id.q.val())
                        & (self.f_a.q.val() == self.u_next.q.val())
                        & (bit_cast::<32, 16>(self.fn_n.val()) == self.u_exp.val())
                    {
                        self.ps.d.next = Ps::Feed;
                    }
                } else if self.f_code.q.val() == 4 {
                    // COMMIT
                    self.v_id.d.next = self.f_id.q.val();
                    if (self.f_len.q.val() != 3) | (self.f_target.q.val() > 1) {
                        self.v_c8.d.next = 3.into();
                        self.e_msg.d.next = 2.into() /* BAD_REQUEST */;
                        self.ps.d.next = Ps::ErrLen;
                    } else if self.f_target.q.val() == 0 {
                        if self.u_act.q.val() & !self.u_strip.q.val() {
                            if self.u_next.q.val() != self.u_total.q.val() {
                                self.v_a.d.next = self.u_next.q.val();
                                self.v_b.d.next = self.u_rem.val();
                                self.rk.d.next = Rk::Missing;
                                self.ps.d.next = Ps::Reply;
                            } else if self.up32.crc.val() != self.u_crcx.q.val() {
                                // Everything is missing: the upload starts over.
                                self.v_a.d.next = 0.into();
                                self.v_b.d.next = self.u_total.q.val();
                                self.rk.d.next = Rk::Missing;
                                self.ps.d.next = Ps::Reply;
                                self.u_next.d.next = 0.into();
                                self.up32.clear.next = true;
                                self.i_st.d.next = Is::Hdr;
                                self.i_k.d.next = 0.into();
                                self.i_err.d.next = 0.into();
                            } else {
                                self.u_act.d.next = false;
                                self.v_c8.d.next = 5.into();
                                self.ps.d.next = Ps::ErrLen;
                                if self.i_st.q.val() == Is::Err {
                                    self.e_msg.d.next = self.i_err.q.val();
                                } else if self.i_st.q.val() != Is::Done {
                                    self.e_msg.d.next = 11.into() /* EARLY */;
                                } else if self.up32.crc.val() != self.residue.val() {
                                    // The image ends with its CRC (the parser saw the tail
                                    // last): the CRC of the whole is then the CRC-32 residue.
                                    self.e_msg.d.next = 9.into() /* IMAGE_CRC */;
                                } else if self.hdr_bad.val() {
                                    self.e_msg.d.next = 12.into() /* HEADER */;
                                } else {
                                    self.m_valid.d.next = true;
                                    self.m_len.d.next = self.u_total.q.val();
                                    self.m_crc.d.next = self.u_crcx.q.val();
                                    self.rk.d.next = Rk::Committed;
                                    self.ps.d.next = Ps::Reply;
                                }
                            }
                        } else if self.m_valid.q.val() {
                            self.rk.d.next = Rk::Committed;
                            self.ps.d.next = Ps::Reply;
                        } else {
                            self.v_c8.d.next = 8.into();
                            self.e_msg.d.next = 16.into() /* UNKNOWN */;
                            self.ps.d.next = Ps::ErrLen;
                        }
                    } else if !self.m_valid.q.val() {
                        self.v_c8.d.next = 4.into();
                        self.e_msg.d.next = 3.into() /* NO_MODEL */;
                        self.ps.d.next = Ps::ErrLen;
                    } else if self.s_have.q.val() & (self.f_id.q.val() == self.s_id.q.val()) {
                        if self.s_fail.q.val() {
                            self.v_c8.d.next = 9.into();
                            self.e_msg.d.next = 18.into() /* NO_PROGRAM */;
                            self.ps.d.next = Ps::ErrLen;
                        } else if !self.s_indone.q.val() {
                            self.v_a.d.next = self.u_next.q.val();
                            self.v_b.d.next = self.u_rem.val();
                            self.rk.d.next = Rk::Missing;
                            self.ps.d.next = Ps::Reply;
                        } else if !self.s_crcok.q.val() {
                            self.v_c8.d.next = 9.into();
                            self.e_msg.d.next = 17.into() /* STRIP_CRC */;
                            self.ps.d.next = Ps::ErrLen;
                        } else {
                            self.rk.d.next = Rk::Committed;
                            self.ps.d.next = Ps::Reply;
                        }
                    } else {
                        self.v_c8.d.next = 8.into();
                        self.e_msg.d.next = 16.into() /* UNKNOWN */;
                        self.ps.d.next = Ps::ErrLen;
                    }
                } else if self.f_code.q.val() == 5 {
                    // QUERY
                    self.v_id.d.next = self.f_id.q.val();
                    if self.f_len.q.val() != 2 {
                        self.v_c8.d.next = 3.into();
                        self.e_msg.d.next = 2.into() /* BAD_REQUEST */;
                        self.ps.d.next = Ps::ErrLen;
                    } else {
                        self.rk.d.next = Rk::State;
                        self.ps.d.next = Ps::Reply;
                        self.v_c8.d.next = 0.into();
                        self.v_a.d.next = 0.into();
                        self.v_b.d.next = 0.into();
                        if self.s_have.q.val() & (self.f_id.q.val() == self.s_id.q.val()) {
                            self.v_a.d.next = self.r_len.q.val();
                            if self.s_fail.q.val() {
                                self.v_c8.d.next = 6.into();
                            } else if !self.s_indone.q.val() {
                                // Receiving: `len` is the input taken so far, the host's credit.
                                self.v_c8.d.next = 1.into();
                                self.v_a.d.next = self.u_next.q.val();
                            } else if self.r_off.q.val() != self.r_len.q.val() {
                                self.v_c8.d.next = 4.into();
                                if self.eng_busy.val() {
                                    self.v_c8.d.next = 3.into();
                                }
                            } else if !self.r_endsent.q.val() {
                                self.v_c8.d.next = 4.into();
                            } else {
                                self.v_c8.d.next = 5.into();
                                self.v_b.d.next = self.r_fcrc.q.val();
                            }
                        }
                    }
                } else if self.f_code.q.val() == 6 {
                    // FETCH: nothing is kept to fetch.
                    self.v_id.d.next = self.f_id.q.val();
                    self.v_c8.d.next = 8.into();
                    self.e_msg.d.next = 15.into() /* NOT_KEPT */;
                    if self.f_len.q.val() != 10 {
                        self.v_c8.d.next = 3.into();
                        self.e_msg.d.next = 2.into() /* BAD_REQUEST */;
                    }
                    self.ps.d.next = Ps::ErrLen;
                } else if self.f_code.q.val() == 7 {
                    // COUNTERS: the engine's counters are readable while it is idle.
                    if self.f_len.q.val() != 0 {
                        self.v_c8.d.next = 3.into();
                        self.e_msg.d.next = 2.into() /* BAD_REQUEST */;
                        self.ps.d.next = Ps::ErrLen;
                    } else if self.eng_busy.val() | self.st_pulse.q.val() {
                        self.v_c8.d.next = 7.into();
                        self.e_msg.d.next = 14.into() /* BUSY */;
                        self.ps.d.next = Ps::ErrLen;
                    } else {
                        self.rk.d.next = Rk::Counters;
                        self.ps.d.next = Ps::Reply;
                    }
                } else if self.f_code.q.val() == 8 {
                    // RESET: a strip in flight is run to its end on zeros, its output dropped.
                    if self.f_len.q.val() != 1 {
                        self.v_c8.d.next = 3.into();
                        self.e_msg.d.next = 2.into() /* BAD_REQUEST */;
                        self.ps.d.next = Ps::ErrLen;
                    } else {
                        self.r_act.d.next = false;
                        self.d_left.d.next = 0.into();
                        if self.u_act.q.val() & self.u_strip.q.val() & !self.s_fail.q.val() {
                            self.d_left.d.next = self.u_rem.val();
                        }
                        self.u_act.d.next = false;
                        self.ps.d.next = Ps::Drain;
                    }
                } else {
                    self.v_c8.d.next = 2.into();
                    self.e_msg.d.next = 1.into() /* UNKNOWN_CMD */;
                    self.ps.d.next = Ps::ErrLen;
                }
            }
            Ps::Feed => {
                if self.u_strip.q.val() & self.eng_error.val() {
                    // No program the engine accepts: it will take no input.
                    self.s_fail.d.next = true;
                    self.u_act.d.next = false;
                    self.r_act.d.next = false;
                    self.ps.d.next = Ps::Hunt;
                }
                if self.take.val() {
                    self.fp.d.next = self.fp.q.val() + 1;
                    if self.fp.q.val() + 1 == self.fn_n.val() {
                        self.ps.d.next = Ps::FeedEnd;
                    }
                }
                if self.take.val() & !self.u_strip.q.val() {
                    // The model image parser, one byte per cycle.
                    self.i_sh.d.next = self.ishn.val();
                    self.i_k.d.next = self.i_k.q.val() + 1;
                    match self.i_st.q.val() {
                        Is::Hdr => {
                            if (self.i_k.q.val() == 3) & (self.ishn.val() != self.img_magic.val()) {
                                self.i_st.d.next = Is::Err;
                                self.i_err.d.next = 4.into() /* MAGIC */;
                            }
                            if (self.i_k.q.val() == 7) & (self.ishn.val() != self.fver.val()) {
                                self.i_st.d.next = Is::Err;
                                self.i_err.d.next = 5.into() /* VERSION */;
                            }
                            if (self.i_k.q.val() == 11) & (self.ishn.val() != self.dhash.val()) {
                                self.i_st.d.next = Is::Err;
                                self.i_err.d.next = 6.into() /* DESIGN */;
                            }
                            if self.i_k.q.val() == 15 {
                                self.i_nsec.d.next = self.ishn.val();
                                self.i_k.d.next = 0.into();
                                self.i_st.d.next = Is::Sec;
                                if self.ishn.val() == 0 {
                                    self.i_st.d.next = Is::Tail;
                                }
                            }
                        }
                        Is::Sec => {
                            if self.i_k.q.val() == 0 {
                                self.i_mem.d.next = bit_cast::<3, 8>(self.fb_byte.val());
                                if (self.fb_byte.val() == 0) | (self.fb_byte.val() > 4) {
                                    self.i_st.d.next = Is::Err;
                                    self.i_err.d.next = 7.into() /* MEMORY */;
                                }
                            }
                            if self.i_k.q.val() == 4 {
                                self.i_addr.d.next = self.ishn.val();
                            }
                            if self.i_k.q.val() == 8 {
                                self.i_cnt.d.next = self.ishn.val();
                                self.i_wb.d.next = 0.into();
                                if (self.i_addr.q.val() > self.i_cap.val())
                                    | (self.ishn.val() > self.i_cap.val() - self.i_addr.q.val())
                                {
                                    self.i_st.d.next = Is::Err;
                                    self.i_err.d.next = 8.into() /* OVERFLOW */;
                                } else if self.ishn.val() != 0 {
                                    self.i_st.d.next = Is::Words;
                                } else {
                                    self.i_k.d.next = 0.into();
                                    self.i_nsec.d.next = self.i_nsec.q.val() - 1;
                                    if self.i_nsec.q.val() == 1 {
                                        self.i_st.d.next = Is::Tail;
                                    }
                                }
                            }
                        }
                        Is::Words => {
                            self.i_w.d.next = self.iwn.val();
                            self.i_wb.d.next = self.i_wb.q.val() + 1;
                            if self.i_wb.q.val() == self.wlast.val() {
                                self.i_wb.d.next = 0.into();
                                self.l_we.d.next = true;
                                self.l_mem.d.next = self.i_mem.q.val();
                                self.l_addr.d.next = self.i_addr.q.val();
                                self.l_data.d.next = bit_cast::<64, 16>(self.w16.val());
                                if self.i_mem.q.val() == 2 {
                                    self.l_data.d.next = self.iwn.val();
                                    if self.w32.val() {
                                        self.l_data.d.next = self.iwn.val() >> 32;
                                    }
                                    if self.w16w.val() {
                                        self.l_data.d.next = bit_cast::<64, 16>(self.w16.val());
                                    }
                                }
                                if self.i_mem.q.val() == 1 {
                                    if self.i_addr.q.val() == 2 {
                                        self.h_nops.d.next = self.w16.val();
                                    }
                                    if self.i_addr.q.val() == 3 {
                                        self.h_inch.d.next = self.w16.val();
                                    }
                                    if self.i_addr.q.val() == 4 {
                                        self.h_outch.d.next = self.w16.val();
                                    }
                                    if self.i_addr.q.val() == 5 {
                                        self.h_scale.d.next = self.w16.val();
                                    }
                                    if self.i_addr.q.val() == 6 {
                                        self.h_wcap.d.next = self.w16.val();
                                    }
                                }
                                self.i_addr.d.next = self.i_addr.q.val() + 1;
                                self.i_cnt.d.next = self.i_cnt.q.val() - 1;
                                if self.i_cnt.q.val() == 1 {
                                    self.i_k.d.next = 0.into();
                                    self.i_st.d.next = Is::Sec;
                                    self.i_nsec.d.next = self.i_nsec.q.val() - 1;
                                    if self.i_nsec.q.val() == 1 {
                                        self.i_st.d.next = Is::Tail;
                                    }
                                }
                            }
                        }
                        Is::Tail => {
                            // The image's own CRC is checked at COMMIT, on the whole upload.
                            if self.i_k.q.val() == 3 {
                                self.i_st.d.next = Is::Done;
                            }
                        }
                        Is::Done => {
                            self.i_st.d.next = Is::Err;
                            self.i_err.d.next = 10.into() /* STRAY */;
                        }
                        Is::Err => {
                            self.i_st.d.next = Is::Err;
                        }
                    }
                }
            }
            Ps::FeedEnd => {
                self.ps.d.next = Ps::Hunt;
                self.u_next.d.next = self.u_next.q.val() + bit_cast::<32, 16>(self.fn_n.val());
                if self.u_strip.q.val() & (self.u_rem.val() == bit_cast::<32, 16>(self.fn_n.val())) {
                    self.u_act.d.next = false;
                    self.s_indone.d.next = true;
                    self.s_crcok.d.next = self.up32.crc.val() == self.u_crcx.q.val();
                }
            }
            Ps::JobChk => {
                // StripJob::check, in hardware; the products follow in MulSet/Mul/MulDone.
                self.v_c8.d.next = 6.into();
                self.e_msg.d.next = 13.into() /* BAD_JOB */;
                self.ps.d.next = Ps::ErrLen;
                if (self.f_chunk.q.val() == 0) | (self.f_chunk.q.val() > 1024) {
                    self.v_c8.d.next = 3.into();
                    self.e_msg.d.next = 2.into() /* BAD_REQUEST */;
                } else if (self.f_w.q.val() != 0)
                    & (self.f_w.q.val() <= bit_cast::<32, 16>(self.h_wcap.q.val()))
                    & (self.f_h.q.val() != 0)
                    & (self.f_h.q.val() < 0x10000)
                    & (self.f_kw.q.val() != 0)
                    & (self.f_kw.q.val() < 0x10000)
                    & (self.f_x0.q.val() < 0x10000)
                    & (self.f_x0.q.val() + self.f_kw.q.val() <= self.f_w.q.val())
                {
                    self.js.d.next = 0.into();
                    self.ps.d.next = Ps::MulSet;
                }
            }
            Ps::MulSet => {
                // Input bytes w·h·in_ch (checked against `total`), then the result's length
                // kw·h·out_ch·r·r.
                self.m_p.d.next = 0.into();
                self.m_a.d.next = self.m_p.q.val();
                self.ps.d.next = Ps::Mul;
                if self.js.q.val() == 0 {
                    self.m_a.d.next = bit_cast::<48, 32>(self.f_w.q.val());
                    self.m_b.d.next = self.f_h.q.val().get_bits::<16>(0);
                }
                if self.js.q.val() == 1 {
                    self.m_b.d.next = self.h_inch.q.val();
                }
                if self.js.q.val() == 2 {
                    self.m_a.d.next = bit_cast::<48, 32>(self.f_kw.q.val());
                    self.m_b.d.next = self.f_h.q.val().get_bits::<16>(0);
                }
                if self.js.q.val() == 3 {
                    self.m_b.d.next = self.h_outch.q.val();
                }
                if self.js.q.val() > 3 {
                    self.m_b.d.next = self.h_scale.q.val();
                }
            }
            Ps::Mul => {
                if self.m_b.q.val() == 0 {
                    self.ps.d.next = Ps::MulDone;
                } else {
                    if self.m_b.q.val().get_bit(0) {
                        self.m_p.d.next = self.m_p.q.val() + self.m_a.q.val();
                    }
                    self.m_a.d.next = self.m_a.q.val() << 1;
                    self.m_b.d.next = self.m_b.q.val() >> 1;
                }
            }
            Ps::MulDone => {
                self.js.d.next = self.js.q.val() + 1;
                self.ps.d.next = Ps::MulSet;
                if (self.js.q.val() == 1) & (self.m_p.q.val() != bit_cast::<48, 32>(self.f_a.q.val())) {
                    self.v_c8.d.next = 6.into();
                    self.e_msg.d.next = 13.into() /* BAD_JOB */;
                    self.ps.d.next = Ps::ErrLen;
                }
                if self.js.q.val() == 5 {
                    self.ps.d.next = Ps::StartStrip;
                    if self.m_p.q.val().get_bits::<16>(32) != 0 {
                        self.v_c8.d.next = 6.into();
                        self.e_msg.d.next = 13.into() /* BAD_JOB */;
                        self.ps.d.next = Ps::ErrLen;
                    }
                }
            }
            Ps::StartStrip => {
                self.st_pulse.d.next = true;
                self.u_act.d.next = true;
                self.u_strip.d.next = true;
                self.u_id.d.next = self.f_id.q.val();
                self.u_total.d.next = self.f_a.q.val();
                self.u_chunk.d.next = self.f_chunk.q.val();
                self.u_crcx.d.next = self.f_crc.q.val();
                self.u_next.d.next = 0.into();
                self.up32.clear.next = true;
                self.s_have.d.next = true;
                self.s_id.d.next = self.f_id.q.val();
                self.s_indone.d.next = false;
                self.s_crcok.d.next = false;
                self.s_fail.d.next = false;
                self.r_act.d.next = true;
                self.r_id.d.next = self.f_id.q.val();
                self.r_off.d.next = 0.into();
                self.r_len.d.next = bit_cast::<32, 48>(self.m_p.q.val());
                self.r_chunk.d.next = self.f_chunk.q.val();
                self.r_endsent.d.next = false;
                self.r_fcrc.d.next = 0.into();
                self.r_got.d.next = 0.into();
                self.res32.clear.next = true;
                self.ps.d.next = Ps::Hunt;
            }
            Ps::Drain => {
                if self.in_ready.val() & (self.d_left.q.val() != 0) {
                    self.d_left.d.next = self.d_left.q.val() - 1;
                }
                // The engine may still be emitting after it goes idle: wait for all of the
                // strip's output (none when it failed or there is no strip).
                if !self.eng_busy.val()
                    & !self.st_pulse.q.val()
                    & (!self.s_have.q.val() | self.s_fail.q.val() | (self.r_got.q.val() == self.r_len.q.val()))
                    & self.rfifo.empty.val()
                    & (self.ss.q.val() == Ss::Idle)
                    & (self.rcount.q.val() == 0)
                {
                    self.ps.d.next = Ps::ResetDo;
                }
            }
            Ps::ResetDo => {
                self.s_have.d.next = false;
                if self.f_target.q.val() == 0 {
                    self.m_valid.d.next = false;
                    self.m_len.d.next = 0.into();
                    self.m_crc.d.next = 0.into();
                }
                self.rk.d.next = Rk::ResetDone;
                self.ps.d.next = Ps::Reply;
            }
            Ps::ErrLen => {
                // The ROM is the executor's while the sender is idle: fetch the message length.
                self.rk.d.next = Rk::Error;
                if self.ss.q.val() == Ss::Idle {
                    self.ps.d.next = Ps::ErrLen2;
                }
            }
            Ps::ErrLen2 => {
                self.e_len.d.next = self.rom.read_data.val();
                self.ps.d.next = Ps::Reply;
            }
            Ps::Reply => {
                if self.ss.q.val() == Ss::Idle {
                    self.ps.d.next = Ps::Hunt;
                    self.ss.d.next = Ss::Hdr;
                    self.s_k.d.next = 0.into();
                    self.s_seq.d.next = self.f_seq.q.val();
                    self.s_tk.d.next = Tk::Rom;
                    self.s_regs[0].d.next = self.v_id.q.val().get_bits::<8>(0);
                    self.s_regs[1].d.next = self.v_id.q.val().get_bits::<8>(8);
                    match self.rk.q.val() {
                        Rk::Info => {
                            self.s_code.d.next = 0x81.into();
                            self.s_len.d.next = self.info_len.val();
                            self.s_nreg.d.next = 16.into();
                            self.s_rom.d.next = 0.into();
                            self.s_regs[0].d.next = self.fver.val().get_bits::<8>(0);
                            self.s_regs[1].d.next = self.fver.val().get_bits::<8>(8);
                            self.s_regs[2].d.next = self.fver.val().get_bits::<8>(16);
                            self.s_regs[3].d.next = self.fver.val().get_bits::<8>(24);
                            self.s_regs[4].d.next = self.dhash.val().get_bits::<8>(0);
                            self.s_regs[5].d.next = self.dhash.val().get_bits::<8>(8);
                            self.s_regs[6].d.next = self.dhash.val().get_bits::<8>(16);
                            self.s_regs[7].d.next = self.dhash.val().get_bits::<8>(24);
                            self.s_regs[8].d.next = self.m_len.q.val().get_bits::<8>(0);
                            self.s_regs[9].d.next = self.m_len.q.val().get_bits::<8>(8);
                            self.s_regs[10].d.next = self.m_len.q.val().get_bits::<8>(16);
                            self.s_regs[11].d.next = self.m_len.q.val().get_bits::<8>(24);
                            self.s_regs[12].d.next = self.m_crc.q.val().get_bits::<8>(0);
                            self.s_regs[13].d.next = self.m_crc.q.val().get_bits::<8>(8);
                            self.s_regs[14].d.next = self.m_crc.q.val().get_bits::<8>(16);
                            self.s_regs[15].d.next = self.m_crc.q.val().get_bits::<8>(24);
                        }
                        Rk::Committed => {
                            self.s_code.d.next = 0x84.into();
                            self.s_len.d.next = 3.into();
                            self.s_nreg.d.next = 3.into();
                            self.s_regs[0].d.next = self.v_c8.q.val();
                            self.s_regs[1].d.next = self.v_id.q.val().get_bits::<8>(0);
                            self.s_regs[2].d.next = self.v_id.q.val().get_bits::<8>(8);
                        }
                        Rk::Missing => {
                            self.s_code.d.next = 0x85.into();
                            self.s_len.d.next = 12.into();
                            self.s_nreg.d.next = 12.into();
                            self.s_regs[0].d.next = self.v_c8.q.val();
                            self.s_regs[1].d.next = self.v_id.q.val().get_bits::<8>(0);
                            self.s_regs[2].d.next = self.v_id.q.val().get_bits::<8>(8);
                            self.s_regs[3].d.next = 1.into();
                            self.s_regs[4].d.next = self.v_a.q.val().get_bits::<8>(0);
                            self.s_regs[5].d.next = self.v_a.q.val().get_bits::<8>(8);
                            self.s_regs[6].d.next = self.v_a.q.val().get_bits::<8>(16);
                            self.s_regs[7].d.next = self.v_a.q.val().get_bits::<8>(24);
                            self.s_regs[8].d.next = self.v_b.q.val().get_bits::<8>(0);
                            self.s_regs[9].d.next = self.v_b.q.val().get_bits::<8>(8);
                            self.s_regs[10].d.next = self.v_b.q.val().get_bits::<8>(16);
                            self.s_regs[11].d.next = self.v_b.q.val().get_bits::<8>(24);
                        }
                        Rk::State => {
                            self.s_code.d.next = 0x86.into();
                            self.s_len.d.next = 11.into();
                            self.s_nreg.d.next = 11.into();
                            self.s_regs[2].d.next = self.v_c8.q.val();
                            self.s_regs[3].d.next = self.v_a.q.val().get_bits::<8>(0);
                            self.s_regs[4].d.next = self.v_a.q.val().get_bits::<8>(8);
                            self.s_regs[5].d.next = self.v_a.q.val().get_bits::<8>(16);
                            self.s_regs[6].d.next = self.v_a.q.val().get_bits::<8>(24);
                            self.s_regs[7].d.next = self.v_b.q.val().get_bits::<8>(0);
                            self.s_regs[8].d.next = self.v_b.q.val().get_bits::<8>(8);
                            self.s_regs[9].d.next = self.v_b.q.val().get_bits::<8>(16);
                            self.s_regs[10].d.next = self.v_b.q.val().get_bits::<8>(24);
                        }
                        Rk::ResetDone => {
                            self.s_code.d.next = 0x88.into();
                            self.s_len.d.next = 0.into();
                            self.s_nreg.d.next = 0.into();
                        }
                        Rk::Error => {
                            self.s_code.d.next = 0xFF.into();
                            self.s_len.d.next = bit_cast::<16, 8>(self.e_len.q.val()) + 3;
                            self.s_nreg.d.next = 3.into();
                            self.s_rom.d.next = self.e_addr.val() + 1;
                            self.s_regs[0].d.next = self.v_c8.q.val();
                            self.s_regs[1].d.next = self.v_id.q.val().get_bits::<8>(0);
                            self.s_regs[2].d.next = self.v_id.q.val().get_bits::<8>(8);
                        }
                        Rk::Counters => {
                            self.s_code.d.next = 0x87.into();
                            self.s_len.d.next = (self.h_nops.q.val() << 4) + 26;
                            self.s_nreg.d.next = 0.into();
                            self.s_tk.d.next = Tk::Cnt;
                            self.c_f.d.next = 0.into();
                            self.c_b.d.next = 0.into();
                            self.c_wait.d.next = 0.into();
                        }
                    }
                }
            }
        }

        // ---- Result streamer: starts frames only while no reply waits for the sender.
        if (self.ss.q.val() == Ss::Idle) & !self.rep_wait.val() & self.r_act.q.val() {
            if self.r_off.q.val() != self.r_len.q.val() {
                if bit_cast::<16, 12>(self.rcount.q.val()) >= self.rn.val() {
                    self.ss.d.next = Ss::Hdr;
                    self.s_k.d.next = 0.into();
                    self.s_code.d.next = 0x90.into();
                    self.s_seq.d.next = self.b_seq.q.val();
                    self.b_seq.d.next = self.b_seq.q.val() + 1;
                    self.s_len.d.next = self.rn.val() + 6;
                    self.s_nreg.d.next = 6.into();
                    self.s_tk.d.next = Tk::Fifo;
                    self.s_regs[0].d.next = self.r_id.q.val().get_bits::<8>(0);
                    self.s_regs[1].d.next = self.r_id.q.val().get_bits::<8>(8);
                    self.s_regs[2].d.next = self.r_off.q.val().get_bits::<8>(0);
                    self.s_regs[3].d.next = self.r_off.q.val().get_bits::<8>(8);
                    self.s_regs[4].d.next = self.r_off.q.val().get_bits::<8>(16);
                    self.s_regs[5].d.next = self.r_off.q.val().get_bits::<8>(24);
                    self.r_off.d.next = self.r_off.q.val() + bit_cast::<32, 16>(self.rn.val());
                }
            } else if !self.r_endsent.q.val() {
                self.ss.d.next = Ss::Hdr;
                self.s_k.d.next = 0.into();
                self.s_code.d.next = 0x91.into();
                self.s_seq.d.next = self.b_seq.q.val();
                self.b_seq.d.next = self.b_seq.q.val() + 1;
                self.s_len.d.next = 10.into();
                self.s_nreg.d.next = 10.into();
                self.s_tk.d.next = Tk::Rom;
                self.s_regs[0].d.next = self.r_id.q.val().get_bits::<8>(0);
                self.s_regs[1].d.next = self.r_id.q.val().get_bits::<8>(8);
                self.s_regs[2].d.next = self.r_len.q.val().get_bits::<8>(0);
                self.s_regs[3].d.next = self.r_len.q.val().get_bits::<8>(8);
                self.s_regs[4].d.next = self.r_len.q.val().get_bits::<8>(16);
                self.s_regs[5].d.next = self.r_len.q.val().get_bits::<8>(24);
                self.s_regs[6].d.next = self.res32.crc.val().get_bits::<8>(0);
                self.s_regs[7].d.next = self.res32.crc.val().get_bits::<8>(8);
                self.s_regs[8].d.next = self.res32.crc.val().get_bits::<8>(16);
                self.s_regs[9].d.next = self.res32.crc.val().get_bits::<8>(24);
                self.r_fcrc.d.next = self.res32.crc.val();
                self.r_endsent.d.next = true;
            }
        }

        // ---- Sender.
        if self.s_go.val() {
            match self.ss.q.val() {
                Ss::Hdr => {
                    self.s_k.d.next = self.s_k.q.val() + 1;
                    if self.s_k.q.val() == 7 {
                        self.s_k.d.next = 0.into();
                        self.ss.d.next = Ss::Pay;
                        if self.s_len.q.val() == 0 {
                            self.ss.d.next = Ss::Crc;
                        }
                    }
                }
                Ss::Pay => {
                    self.s_len.d.next = self.s_len.q.val() - 1;
                    if self.s_nreg.q.val() != 0 {
                        for i in 0..15 {
                            self.s_regs[i].d.next = self.s_regs[i + 1].q.val();
                        }
                        self.s_nreg.d.next = self.s_nreg.q.val() - 1;
                    } else {
                        if self.s_tk.q.val() == Tk::Rom {
                            self.s_rom.d.next = self.s_rom.q.val() + 1;
                        }
                        if self.s_tk.q.val() == Tk::Cnt {
                            self.c_b.d.next = self.c_b.q.val() + 1;
                            self.c_val.d.next = self.c_val.q.val() >> 8;
                            if self.c_b.q.val() == 0 {
                                self.c_val.d.next = self.c_src.val() >> 8;
                            }
                            if self.c_last.val() {
                                self.c_b.d.next = 0.into();
                                self.c_f.d.next = self.c_f.q.val() + 1;
                                self.c_wait.d.next = 0.into();
                            }
                        }
                    }
                    if self.s_len.q.val() == 1 {
                        self.ss.d.next = Ss::Crc;
                    }
                }
                Ss::Crc => {
                    self.s_k.d.next = self.s_k.q.val() + 1;
                    if self.s_k.q.val() == 3 {
                        self.ss.d.next = Ss::Idle;
                    }
                }
                Ss::Idle => {
                    self.s_k.d.next = 0.into();
                }
            }
        }
    }
}

impl<const RA: usize> crate::sim::Clocked for Proto<RA> {
    fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_instance_rom_fits() {
        // The instances built with this protocol engine (the UP5K's board has the firmware,
        // `crate::generate::default_link`).
        for c in [crate::device::test_config(), HwConfig::preset("ecp5-85k").unwrap()] {
            let (rom, base) = rom_image(&c);
            assert!(rom.len() <= 1 << crate::board_top::ROM_BITS, "{}: ROM of {} bytes", c.name, rom.len());
            assert_eq!(base % MSG_SLOT, 0);
            assert_eq!(rom[base + MSG_SLOT * 3] as usize, MESSAGES[3].len());
        }
    }
}
