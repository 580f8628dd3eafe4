//! The framed link protocol between the host and a board (`docs/protocol.md`).
//!
//! Kept simple enough for the hardware protocol engine: a fixed 8-byte header with its own
//! CRC-8 (so a corrupted length is refused before the receiver waits for its payload), a
//! payload of at most [`MAX_PAYLOAD`] bytes, and a CRC-32 over header and payload. Every field
//! is little-endian. The receiver resynchronises on the two sync bytes.

use bbcu_arch::{Counters, DesignInfo, StripJob};
use crc::{Crc, CRC_32_ISO_HDLC, CRC_8_SMBUS};

pub const SYNC: [u8; 2] = [0xBB, 0xC5];
pub const VERSION: u8 = 1;
pub const HEADER: usize = 8;
/// Largest payload of one frame. Small, so that a board needs only a 4 KiB frame buffer and a
/// corrupted frame costs little to resend.
pub const MAX_PAYLOAD: usize = 4096;
pub const MAX_FRAME: usize = HEADER + MAX_PAYLOAD + 4;
/// Chunk of image and result data per frame the host asks for (see `docs/protocol.md`).
pub const DEFAULT_CHUNK: usize = 1024;

pub const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);
const CRC8: Crc<u8> = Crc::<u8>::new(&CRC_8_SMBUS);

pub fn crc32(data: &[u8]) -> u32 {
    CRC32.checksum(data)
}

/// Command and status codes. Host → board below 0x80, board → host from 0x80.
pub mod code {
    pub const HELLO: u8 = 0x01;
    pub const BEGIN: u8 = 0x02;
    pub const DATA: u8 = 0x03;
    pub const COMMIT: u8 = 0x04;
    pub const QUERY: u8 = 0x05;
    pub const FETCH: u8 = 0x06;
    pub const COUNTERS: u8 = 0x07;
    pub const RESET: u8 = 0x08;

    pub const INFO: u8 = 0x81;
    pub const COMMITTED: u8 = 0x84;
    pub const MISSING: u8 = 0x85;
    pub const STATE: u8 = 0x86;
    pub const COUNTERS_REPLY: u8 = 0x87;
    pub const RESET_DONE: u8 = 0x88;
    pub const RESULT_DATA: u8 = 0x90;
    pub const RESULT_END: u8 = 0x91;
    pub const ERROR: u8 = 0xFF;
}

/// One frame as it travels: code, sequence number, payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub code: u8,
    pub seq: u8,
    pub payload: Vec<u8>,
}

impl Frame {
    pub fn encode(&self) -> Vec<u8> {
        encode(self.code, self.seq, &self.payload)
    }
}

pub fn encode(code: u8, seq: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() <= MAX_PAYLOAD, "frame payload of {} bytes", payload.len());
    let mut f = Vec::with_capacity(HEADER + payload.len() + 4);
    f.extend_from_slice(&SYNC);
    f.push(VERSION);
    f.push(code);
    f.push(seq);
    f.extend_from_slice(&(payload.len() as u16).to_le_bytes());
    f.push(CRC8.checksum(&f[..7]));
    f.extend_from_slice(payload);
    let c = crc32(&f);
    f.extend_from_slice(&c.to_le_bytes());
    f
}

/// What the parser found besides good frames; the board answers corrupt frames with an error
/// status, the host counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A well-formed header whose frame failed its CRC-32.
    BadCrc { code: u8, seq: u8 },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseStats {
    pub frames: u64,
    /// Bytes thrown away while looking for a frame (garbage, broken headers and frames).
    pub skipped: u64,
    pub bad_header: u64,
    pub bad_crc: u64,
}

/// Incremental frame parser: push bytes as they arrive, take frames out. After garbage, a
/// dropped or a flipped byte it rescans from the byte after the broken frame's first sync
/// byte, so a good frame that followed (or hid inside) a broken one is still found.
#[derive(Default)]
pub struct Parser {
    buf: Vec<u8>,
    start: usize,
    pub stats: ParseStats,
}

impl Parser {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, data: &[u8]) {
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Bytes held that are not yet a frame.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    fn skip(&mut self, n: usize) {
        self.start += n;
        self.stats.skipped += n as u64;
    }

    /// The line has been quiet: whatever partial frame is held will never complete (its
    /// length was corrupted or bytes were dropped), so give up on it and rescan what
    /// follows its first byte. Returns whether anything was dropped.
    pub fn stale(&mut self) -> bool {
        if self.pending() == 0 {
            return false;
        }
        self.skip(1);
        true
    }

    /// The next frame or corruption event, or `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Result<Frame, Event>> {
        loop {
            let avail = &self.buf[self.start..];
            match avail.windows(2).position(|w| w == SYNC) {
                Some(0) => {}
                Some(p) => {
                    self.skip(p);
                    continue;
                }
                None => {
                    // Keep a trailing first sync byte: its partner may come next.
                    let keep = usize::from(avail.last() == Some(&SYNC[0]));
                    self.skip(avail.len() - keep);
                    return None;
                }
            }
            if avail.len() < HEADER {
                return None;
            }
            let len = u16::from_le_bytes([avail[5], avail[6]]) as usize;
            if avail[2] != VERSION || CRC8.checksum(&avail[..7]) != avail[7] || len > MAX_PAYLOAD {
                self.stats.bad_header += 1;
                self.skip(1);
                continue;
            }
            let total = HEADER + len + 4;
            if avail.len() < total {
                return None;
            }
            let want = u32::from_le_bytes(avail[total - 4..total].try_into().unwrap());
            let (code, seq) = (avail[3], avail[4]);
            if crc32(&avail[..total - 4]) != want {
                self.stats.bad_crc += 1;
                self.skip(1);
                return Some(Err(Event::BadCrc { code, seq }));
            }
            let payload = avail[HEADER..HEADER + len].to_vec();
            self.start += total;
            self.stats.frames += 1;
            return Some(Ok(Frame { code, seq, payload }));
        }
    }
}

/// What a blob transfer (BEGIN … DATA … COMMIT) fills on the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The model image; the board loads it at COMMIT, whole or not at all.
    Model = 0,
    /// The input pixels of one strip.
    Strip = 1,
}

impl Target {
    fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Target::Model),
            1 => Some(Target::Strip),
            _ => None,
        }
    }
}

/// Where a strip is on the board (the answer to QUERY).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StripState {
    Unknown = 0,
    Receiving = 1,
    Queued = 2,
    Computing = 3,
    /// Computed; the result is still being sent.
    Sending = 4,
    /// Computed and every result frame written to the link.
    Sent = 5,
    Failed = 6,
}

impl StripState {
    fn from_u8(v: u8) -> Option<Self> {
        use StripState::*;
        Some(match v {
            0 => Unknown,
            1 => Receiving,
            2 => Queued,
            3 => Computing,
            4 => Sending,
            5 => Sent,
            6 => Failed,
            _ => return None,
        })
    }
}

/// Error kinds of the ERROR status frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A frame failed its CRC (its sequence number is in the reply's).
    BadFrame = 1,
    UnknownCommand = 2,
    /// A payload of the wrong size or with impossible fields.
    BadRequest = 3,
    NoModel = 4,
    /// The model image was refused (does not decode, does not fit).
    BadImage = 5,
    /// The strip was refused by the engine.
    BadJob = 6,
    /// No free strip slot.
    Busy = 7,
    UnknownStrip = 8,
    Failed = 9,
}

impl ErrorKind {
    fn from_u8(v: u8) -> Self {
        use ErrorKind::*;
        match v {
            1 => BadFrame,
            2 => UnknownCommand,
            3 => BadRequest,
            4 => NoModel,
            5 => BadImage,
            6 => BadJob,
            7 => Busy,
            8 => UnknownStrip,
            _ => Failed,
        }
    }
}

/// What HELLO answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Hello {
    /// The model-image format and the design hash the board was built for.
    pub format_version: u32,
    pub hash: u32,
    /// The design's description, when the board sends it (a hardware board with the protocol
    /// firmware does not: the hash is the check).
    pub design: Option<DesignInfo>,
    /// What the board is (a board name, or the simulator standing in for one).
    pub name: String,
    /// Length and CRC-32 of the model image loaded (0, 0 when none): lets the host skip the
    /// upload, and notice a board that lost its model.
    pub model_len: u32,
    pub model_crc: u32,
    /// Strips the board can hold at once (receiving, queued, computing).
    pub slots: u8,
}

/// Every message of the protocol, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Hello,
    Begin {
        target: Target,
        id: u16,
        total: u32,
        chunk: u16,
        crc: u32,
        job: StripJob,
    },
    Data {
        target: Target,
        id: u16,
        offset: u32,
        bytes: Vec<u8>,
    },
    Commit {
        target: Target,
        id: u16,
    },
    Query {
        id: u16,
    },
    Fetch {
        id: u16,
        offset: u32,
        len: u32,
    },
    Counters,
    /// `keep_model`: abort every strip and drop queued output but keep the model (what the
    /// host does at the start of a session); otherwise forget everything.
    Reset {
        keep_model: bool,
    },

    Info(Box<Hello>),
    Committed {
        target: Target,
        id: u16,
    },
    Missing {
        target: Target,
        id: u16,
        ranges: Vec<(u32, u32)>,
    },
    State {
        id: u16,
        state: StripState,
        len: u32,
        crc: u32,
    },
    CountersReply(Counters),
    ResetDone,
    ResultData {
        id: u16,
        offset: u32,
        bytes: Vec<u8>,
    },
    ResultEnd {
        id: u16,
        len: u32,
        crc: u32,
    },
    Error {
        kind: ErrorKind,
        id: u16,
        message: String,
    },
}

/// Most ranges one MISSING frame lists; the host asks again for the rest.
pub const MAX_RANGES: usize = 64;
/// Longest error message sent.
pub const MAX_MESSAGE: usize = 240;

struct W(Vec<u8>);
impl W {
    fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
}

struct R<'a>(&'a [u8]);
impl<'a> R<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("payload too short".into());
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()))
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.0)
    }
    fn end(&self) -> Result<(), String> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(format!("{} unexpected trailing bytes", self.0.len()))
        }
    }
    fn target(&mut self) -> Result<Target, String> {
        let v = self.u8()?;
        Target::from_u8(v).ok_or_else(|| format!("unknown target {v}"))
    }
}

fn utf8(b: &[u8], what: &str) -> Result<String, String> {
    String::from_utf8(b.to_vec()).map_err(|_| format!("{what} is not UTF-8"))
}

fn job_bytes(w: &mut W, j: &StripJob) {
    for v in [j.width, j.height, j.keep_x0, j.keep_w] {
        w.u32(v as u32);
    }
}

impl Msg {
    pub fn code(&self) -> u8 {
        use Msg::*;
        match self {
            Hello => code::HELLO,
            Begin { .. } => code::BEGIN,
            Data { .. } => code::DATA,
            Commit { .. } => code::COMMIT,
            Query { .. } => code::QUERY,
            Fetch { .. } => code::FETCH,
            Counters => code::COUNTERS,
            Reset { .. } => code::RESET,
            Info(_) => code::INFO,
            Committed { .. } => code::COMMITTED,
            Missing { .. } => code::MISSING,
            State { .. } => code::STATE,
            CountersReply(_) => code::COUNTERS_REPLY,
            ResetDone => code::RESET_DONE,
            ResultData { .. } => code::RESULT_DATA,
            ResultEnd { .. } => code::RESULT_END,
            Error { .. } => code::ERROR,
        }
    }

    pub fn payload(&self) -> Vec<u8> {
        use Msg::*;
        let mut w = W(Vec::new());
        match self {
            Hello | Counters | ResetDone => {}
            Begin { target, id, total, chunk, crc, job } => {
                w.u8(*target as u8).u16(*id).u32(*total).u16(*chunk).u32(*crc);
                job_bytes(&mut w, job);
            }
            Data { target, id, offset, bytes } => {
                w.u8(*target as u8).u16(*id).u32(*offset).bytes(bytes);
            }
            Commit { target, id } => {
                w.u8(*target as u8).u16(*id);
            }
            Query { id } => {
                w.u16(*id);
            }
            Fetch { id, offset, len } => {
                w.u16(*id).u32(*offset).u32(*len);
            }
            Reset { keep_model } => {
                w.u8(*keep_model as u8);
            }
            Info(h) => {
                let json = h.design.as_ref().map(|d| serde_json::to_vec(d).expect("design info serialises"));
                let mut end = h.name.len().min(255);
                while !h.name.is_char_boundary(end) {
                    end -= 1;
                }
                let name = &h.name.as_bytes()[..end];
                w.u32(h.format_version).u32(h.hash).u32(h.model_len).u32(h.model_crc).u8(h.slots);
                w.u8(name.len() as u8).bytes(name).bytes(json.as_deref().unwrap_or_default());
            }
            Committed { target, id } => {
                w.u8(*target as u8).u16(*id);
            }
            Missing { target, id, ranges } => {
                w.u8(*target as u8).u16(*id).u8(ranges.len().min(MAX_RANGES) as u8);
                for (o, l) in ranges.iter().take(MAX_RANGES) {
                    w.u32(*o).u32(*l);
                }
            }
            State { id, state, len, crc } => {
                w.u16(*id).u8(*state as u8).u32(*len).u32(*crc);
            }
            CountersReply(c) => {
                w.u64(c.total_cycles).u64(c.stall_cycles).u64(c.strips).u16(c.layer_cycles.len() as u16);
                for (a, b) in c.layer_cycles.iter().zip(&c.layer_busy) {
                    w.u64(*a).u64(*b);
                }
            }
            ResultData { id, offset, bytes } => {
                w.u16(*id).u32(*offset).bytes(bytes);
            }
            ResultEnd { id, len, crc } => {
                w.u16(*id).u32(*len).u32(*crc);
            }
            Error { kind, id, message } => {
                let mut end = message.len().min(MAX_MESSAGE);
                while !message.is_char_boundary(end) {
                    end -= 1;
                }
                w.u8(*kind as u8).u16(*id).bytes(&message.as_bytes()[..end]);
            }
        }
        w.0
    }

    pub fn frame(&self, seq: u8) -> Vec<u8> {
        encode(self.code(), seq, &self.payload())
    }

    /// Decodes a frame's payload; a well-framed message with impossible contents is an error
    /// (the board answers it with `BadRequest`).
    pub fn decode(f: &Frame) -> Result<Msg, String> {
        let mut r = R(&f.payload);
        let job = |r: &mut R| -> Result<StripJob, String> {
            Ok(StripJob {
                width: r.u32()? as usize,
                height: r.u32()? as usize,
                keep_x0: r.u32()? as usize,
                keep_w: r.u32()? as usize,
            })
        };
        let m = match f.code {
            code::HELLO => Msg::Hello,
            code::COUNTERS => Msg::Counters,
            code::RESET_DONE => Msg::ResetDone,
            code::BEGIN => Msg::Begin {
                target: r.target()?,
                id: r.u16()?,
                total: r.u32()?,
                chunk: r.u16()?,
                crc: r.u32()?,
                job: job(&mut r)?,
            },
            code::DATA => {
                let (target, id, offset) = (r.target()?, r.u16()?, r.u32()?);
                Msg::Data { target, id, offset, bytes: r.rest().to_vec() }
            }
            code::COMMIT => Msg::Commit { target: r.target()?, id: r.u16()? },
            code::QUERY => Msg::Query { id: r.u16()? },
            code::FETCH => Msg::Fetch { id: r.u16()?, offset: r.u32()?, len: r.u32()? },
            code::RESET => Msg::Reset { keep_model: r.u8()? != 0 },
            code::INFO => {
                let (format_version, hash, model_len, model_crc, slots) =
                    (r.u32()?, r.u32()?, r.u32()?, r.u32()?, r.u8()?);
                let n = r.u8()? as usize;
                let name = utf8(r.take(n)?, "board name")?;
                let rest = r.rest();
                let design = if rest.is_empty() {
                    None
                } else {
                    let d: DesignInfo = serde_json::from_slice(rest).map_err(|e| format!("design description: {e}"))?;
                    if d.format_version != format_version || d.hash != hash {
                        return Err("design description disagrees with its header".into());
                    }
                    Some(d)
                };
                Msg::Info(Box::new(Hello { format_version, hash, design, name, model_len, model_crc, slots }))
            }
            code::COMMITTED => Msg::Committed { target: r.target()?, id: r.u16()? },
            code::MISSING => {
                let (target, id, n) = (r.target()?, r.u16()?, r.u8()? as usize);
                if n > MAX_RANGES {
                    return Err(format!("{n} ranges (at most {MAX_RANGES})"));
                }
                let mut ranges = Vec::with_capacity(n);
                for _ in 0..n {
                    ranges.push((r.u32()?, r.u32()?));
                }
                Msg::Missing { target, id, ranges }
            }
            code::STATE => {
                let id = r.u16()?;
                let s = r.u8()?;
                let state = StripState::from_u8(s).ok_or_else(|| format!("unknown strip state {s}"))?;
                Msg::State { id, state, len: r.u32()?, crc: r.u32()? }
            }
            code::COUNTERS_REPLY => {
                let (total_cycles, stall_cycles, strips, n) = (r.u64()?, r.u64()?, r.u64()?, r.u16()? as usize);
                let (mut layer_cycles, mut layer_busy) = (Vec::new(), Vec::new());
                for _ in 0..n {
                    layer_cycles.push(r.u64()?);
                    layer_busy.push(r.u64()?);
                }
                Msg::CountersReply(Counters { total_cycles, stall_cycles, layer_cycles, layer_busy, strips })
            }
            code::RESULT_DATA => {
                let (id, offset) = (r.u16()?, r.u32()?);
                Msg::ResultData { id, offset, bytes: r.rest().to_vec() }
            }
            code::RESULT_END => Msg::ResultEnd { id: r.u16()?, len: r.u32()?, crc: r.u32()? },
            code::ERROR => {
                let (kind, id) = (ErrorKind::from_u8(r.u8()?), r.u16()?);
                let rest = r.rest();
                if rest.len() > MAX_MESSAGE {
                    return Err(format!("error message of {} bytes (at most {MAX_MESSAGE})", rest.len()));
                }
                Msg::Error { kind, id, message: bbcu_hdl::proto::board_message(&utf8(rest, "error message")?) }
            }
            c => return Err(format!("unknown code 0x{c:02x}")),
        };
        r.end()?;
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn all_frames(p: &mut Parser) -> Vec<Frame> {
        let mut v = Vec::new();
        while let Some(r) = p.next_frame() {
            if let Ok(f) = r {
                v.push(f);
            }
        }
        v
    }

    fn sample_msgs() -> Vec<Msg> {
        let job = StripJob { width: 70, height: 33, keep_x0: 3, keep_w: 60 };
        let design = DesignInfo::of(&bbcu_arch::HwConfig::preset("ice40").unwrap());
        vec![
            Msg::Hello,
            Msg::Begin { target: Target::Strip, id: 7, total: 6930, chunk: 1024, crc: 0xdead_beef, job },
            Msg::Data { target: Target::Model, id: 0, offset: 2048, bytes: (0..=255).collect() },
            Msg::Commit { target: Target::Strip, id: 65535 },
            Msg::Query { id: 3 },
            Msg::Fetch { id: 3, offset: 1024, len: 99 },
            Msg::Counters,
            Msg::Reset { keep_model: true },
            Msg::Info(Box::new(Hello {
                format_version: design.format_version,
                hash: design.hash,
                design: Some(design.clone()),
                name: "test board".into(),
                model_len: 12,
                model_crc: 34,
                slots: 3,
            })),
            Msg::Info(Box::new(Hello {
                format_version: design.format_version,
                hash: design.hash,
                design: None,
                name: "bbcu ice40-up5k (hardware)".into(),
                model_len: 0,
                model_crc: 0,
                slots: 1,
            })),
            Msg::Committed { target: Target::Model, id: 0 },
            Msg::Missing { target: Target::Strip, id: 9, ranges: vec![(0, 1024), (4096, 10)] },
            Msg::State { id: 9, state: StripState::Sent, len: 100, crc: 5 },
            Msg::CountersReply(Counters {
                total_cycles: 1 << 40,
                stall_cycles: 3,
                layer_cycles: vec![1, 2],
                layer_busy: vec![3, 4],
                strips: 2,
            }),
            Msg::ResetDone,
            Msg::ResultData { id: 1, offset: 0, bytes: vec![1, 2, 3] },
            Msg::ResultEnd { id: 1, len: 3, crc: crc32(&[1, 2, 3]) },
            Msg::Error { kind: ErrorKind::NoModel, id: 4, message: "no model loaded".into() },
        ]
    }

    #[test]
    fn every_message_round_trips() {
        for (i, m) in sample_msgs().into_iter().enumerate() {
            let bytes = m.frame(i as u8);
            let mut p = Parser::new();
            p.push(&bytes);
            let f = p.next_frame().unwrap().unwrap();
            assert_eq!(f.seq, i as u8);
            assert_eq!(Msg::decode(&f).unwrap(), m);
            assert!(p.next_frame().is_none());
            assert_eq!(p.pending(), 0);
        }
    }

    /// The protocol firmware names its error messages by index, and INFO without the design's
    /// JSON; a description that disagrees with the header is refused.
    #[test]
    fn firmware_messages_and_info_decode() {
        let f = Frame { code: code::ERROR, seq: 1, payload: vec![4, 9, 0, b'#', b'0', b'3'] };
        assert_eq!(
            Msg::decode(&f).unwrap(),
            Msg::Error { kind: ErrorKind::NoModel, id: 9, message: "no model loaded".into() }
        );
        let f = Frame { code: code::ERROR, seq: 1, payload: vec![4, 9, 0, b'#', b'9', b'9'] };
        assert_eq!(Msg::decode(&f).unwrap(), Msg::Error { kind: ErrorKind::NoModel, id: 9, message: "#99".into() });
        let design = DesignInfo::of(&bbcu_arch::HwConfig::preset("ice40").unwrap());
        let h = Hello {
            format_version: design.format_version,
            hash: design.hash ^ 1,
            design: Some(design),
            name: "x".into(),
            model_len: 0,
            model_crc: 0,
            slots: 1,
        };
        let bytes = Msg::Info(Box::new(h)).frame(2);
        let mut p = Parser::new();
        p.push(&bytes);
        assert!(Msg::decode(&p.next_frame().unwrap().unwrap()).is_err());
    }

    #[test]
    fn the_header_layout_is_fixed() {
        let f = encode(code::QUERY, 0x42, &[0x34, 0x12]);
        assert_eq!(&f[..7], &[0xBB, 0xC5, 1, 0x05, 0x42, 2, 0]);
        assert_eq!(f.len(), 8 + 2 + 4);
        assert_eq!(u32::from_le_bytes(f[10..14].try_into().unwrap()), crc32(&f[..10]));
        // CRC-32/ISO-HDLC check value, as the hardware computes it.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn byte_at_a_time_and_garbage_between_frames() {
        let msgs = sample_msgs();
        let mut stream = vec![0xBB, 0x00, 0xBB];
        for m in &msgs {
            stream.extend(m.frame(1));
            stream.extend([0x13, 0xBB, 0xC5, 0xBB]);
        }
        let mut p = Parser::new();
        let mut got = Vec::new();
        for b in stream {
            p.push(&[b]);
            got.extend(all_frames(&mut p));
        }
        let decoded: Vec<Msg> = got.iter().map(|f| Msg::decode(f).unwrap()).collect();
        assert_eq!(decoded, msgs);
    }

    #[test]
    fn a_corrupt_frame_is_reported_and_the_next_one_survives() {
        let a = Msg::Query { id: 1 }.frame(1);
        let b = Msg::Query { id: 2 }.frame(2);
        let mut bad = a.clone();
        bad[9] ^= 0x10; // payload bit
        let mut p = Parser::new();
        p.push(&bad);
        p.push(&b);
        assert_eq!(p.next_frame(), Some(Err(Event::BadCrc { code: code::QUERY, seq: 1 })));
        assert_eq!(Msg::decode(&p.next_frame().unwrap().unwrap()).unwrap(), Msg::Query { id: 2 });
        assert_eq!(p.stats.bad_crc, 1);
    }

    #[test]
    fn a_dropped_byte_loses_only_its_frame() {
        let a = Msg::Data { target: Target::Strip, id: 1, offset: 0, bytes: vec![7; 300] }.frame(1);
        let b = Msg::Commit { target: Target::Strip, id: 1 }.frame(2);
        let mut s = a.clone();
        s.remove(100);
        s.extend(&b);
        let mut p = Parser::new();
        p.push(&s);
        let got = all_frames(&mut p);
        assert_eq!(got.len(), 1);
        assert_eq!(Msg::decode(&got[0]).unwrap(), Msg::Commit { target: Target::Strip, id: 1 });
    }

    #[test]
    fn a_corrupted_length_is_caught_by_the_header_check() {
        let mut a = Msg::Query { id: 1 }.frame(1);
        a[6] = 0x0f; // length 0x0f02: would swallow the next frame without the header CRC
        let b = Msg::Query { id: 2 }.frame(2);
        let mut p = Parser::new();
        p.push(&a);
        p.push(&b);
        let got = all_frames(&mut p);
        assert_eq!(got.len(), 1);
        assert_eq!(p.stats.bad_header, 1);
    }

    #[test]
    fn a_stale_partial_frame_is_given_up_when_the_line_goes_quiet() {
        let full = Msg::Data { target: Target::Strip, id: 1, offset: 0, bytes: vec![1; 500] }.frame(1);
        let hello = Msg::Hello.frame(9);
        let mut p = Parser::new();
        p.push(&full[..200]); // the rest was lost
        p.push(&hello); // absorbed as payload of the broken frame
        assert!(all_frames(&mut p).is_empty());
        assert!(p.stale());
        let got = all_frames(&mut p);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].seq, 9);
        assert_eq!(p.pending(), 0);
    }

    #[test]
    fn random_corruption_never_yields_a_frame_that_was_not_sent() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let sent: Vec<Vec<u8>> = (0..300)
            .map(|i| {
                let n = rng.random_range(0..600);
                Msg::ResultData { id: i, offset: 0, bytes: (0..n).map(|_| rng.random()).collect() }.frame(i as u8)
            })
            .collect();
        let mut stream = Vec::new();
        let mut damaged = 0;
        for f in &sent {
            let before = damaged;
            for &b in f {
                match rng.random_range(0..4000) {
                    0 => damaged += 1,
                    1 => {
                        damaged += 1;
                        stream.push(b ^ (1 << rng.random_range(0..8)))
                    }
                    2 => {
                        damaged += 1;
                        stream.extend([b, b])
                    }
                    _ => stream.push(b),
                }
            }
            damaged = before + usize::from(damaged > before);
        }
        let mut p = Parser::new();
        for piece in stream.chunks(37) {
            p.push(piece);
        }
        let got = all_frames(&mut p);
        assert!(damaged > 20, "{damaged} frames damaged");
        // Every undamaged frame is found despite its damaged neighbours.
        assert_eq!(got.len(), sent.len() - damaged);
        for f in got {
            assert!(sent.iter().any(|s| s[..] == f.encode()[..]), "invented a frame");
        }
    }

    #[test]
    fn malformed_payloads_are_errors_not_panics() {
        for code in [code::BEGIN, code::INFO, code::MISSING, code::STATE, code::COUNTERS_REPLY, 0x42] {
            let f = Frame { code, seq: 0, payload: vec![1, 2, 3] };
            assert!(Msg::decode(&f).is_err());
        }
        let f = Frame { code: code::HELLO, seq: 0, payload: vec![0] };
        assert!(Msg::decode(&f).unwrap_err().contains("trailing"));
    }
}
