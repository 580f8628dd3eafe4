//! The host's side of the link protocol (`docs/protocol.md`) for the hardware tests: frames
//! built and parsed here independently of the hardware, with the `crc` crate's CRCs.

#![allow(dead_code)]

pub mod cases;
pub mod hw;

pub const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
pub const CRC8: crc::Crc<u8> = crc::Crc::<u8>::new(&crc::CRC_8_SMBUS);

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

pub fn frame(code: u8, seq: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0xBB, 0xC5, 1, code, seq];
    f.extend_from_slice(&(payload.len() as u16).to_le_bytes());
    f.push(CRC8.checksum(&f));
    f.extend_from_slice(payload);
    let c = CRC32.checksum(&f);
    f.extend_from_slice(&c.to_le_bytes());
    f
}

pub fn begin(target: u8, id: u16, total: u32, chunk: u16, crc: u32, job: [u32; 4]) -> Vec<u8> {
    let mut p = vec![target];
    p.extend_from_slice(&id.to_le_bytes());
    p.extend_from_slice(&total.to_le_bytes());
    p.extend_from_slice(&chunk.to_le_bytes());
    p.extend_from_slice(&crc.to_le_bytes());
    for v in job {
        p.extend_from_slice(&v.to_le_bytes());
    }
    p
}

pub fn data(target: u8, id: u16, offset: u32, bytes: &[u8]) -> Vec<u8> {
    let mut p = vec![target];
    p.extend_from_slice(&id.to_le_bytes());
    p.extend_from_slice(&offset.to_le_bytes());
    p.extend_from_slice(bytes);
    p
}

pub fn commit(target: u8, id: u16) -> Vec<u8> {
    let mut p = vec![target];
    p.extend_from_slice(&id.to_le_bytes());
    p
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub code: u8,
    pub seq: u8,
    pub payload: Vec<u8>,
}

impl Frame {
    pub fn u8(&self, at: usize) -> u8 {
        self.payload[at]
    }
    pub fn u16(&self, at: usize) -> u16 {
        u16::from_le_bytes(self.payload[at..at + 2].try_into().unwrap())
    }
    pub fn u32(&self, at: usize) -> u32 {
        u32::from_le_bytes(self.payload[at..at + 4].try_into().unwrap())
    }
    pub fn u64(&self, at: usize) -> u64 {
        u64::from_le_bytes(self.payload[at..at + 8].try_into().unwrap())
    }
    /// ERROR's kind and message (a message the firmware names by index, as text).
    pub fn error(&self) -> (u8, String) {
        assert_eq!(self.code, ERROR, "not an ERROR: {self:?}");
        let m = String::from_utf8(self.payload[3..].to_vec()).unwrap();
        (self.payload[0], bbcu_hdl::proto::board_message(&m))
    }
}

/// Parses a byte stream from the board strictly: every byte must belong to a well-formed
/// frame (a board never sends anything else). Answers the frames and the bytes left over
/// (a frame not yet complete).
pub fn parse(bytes: &[u8]) -> (Vec<Frame>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < 8 {
            break;
        }
        assert_eq!(&rest[..3], &[0xBB, 0xC5, 1], "board sent a bad header at byte {at}: {:02x?}", &rest[..8]);
        assert_eq!(CRC8.checksum(&rest[..7]), rest[7], "board sent a bad header CRC at byte {at}");
        let len = u16::from_le_bytes([rest[5], rest[6]]) as usize;
        assert!(len <= 4096, "board sent a frame of {len} bytes");
        if rest.len() < 12 + len {
            break;
        }
        let crc = u32::from_le_bytes(rest[8 + len..12 + len].try_into().unwrap());
        assert_eq!(CRC32.checksum(&rest[..8 + len]), crc, "board sent a bad frame CRC at byte {at}");
        out.push(Frame { code: rest[3], seq: rest[4], payload: rest[8..8 + len].to_vec() });
        at += 12 + len;
    }
    (out, bytes.len() - at)
}
