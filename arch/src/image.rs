//! The model image: everything a device needs to run a model, as writes into its memories.
//!
//! The hardware's protocol engine copies each section into the memory it names, so the format
//! is plain: a header with the design hash, then `(memory, address, words)` sections, then a
//! CRC-32 of everything before it. Words are little-endian, 2 bytes for the 16-bit memories
//! and `lanes / 8` bytes for the weight memory.

use crate::config::HwConfig;
use crate::device::FORMAT_VERSION;

const MAGIC: &[u8; 4] = b"BBCI";
const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mem {
    /// 16-bit program words.
    Program = 1,
    /// Binary weights, `lanes` bits per word; bank k starts at `k · weight_words`.
    Weight = 2,
    /// Full-precision weights, 16-bit; bank k starts at `k · fp_weight_words`.
    FpWeight = 3,
    /// Per-channel constants, 16-bit.
    Const = 4,
}

impl Mem {
    fn from_id(id: u8) -> Option<Mem> {
        Some(match id {
            1 => Mem::Program,
            2 => Mem::Weight,
            3 => Mem::FpWeight,
            4 => Mem::Const,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Mem::Program => "program",
            Mem::Weight => "weight",
            Mem::FpWeight => "fp_weight",
            Mem::Const => "const",
        }
    }

    /// Bytes per word and capacity in words for a design.
    pub fn geometry(self, c: &HwConfig) -> (usize, usize) {
        match self {
            Mem::Program => (2, c.memory.program_words),
            Mem::Weight => (c.lanes / 8, c.memory.weight_words * c.pes),
            Mem::FpWeight => (2, c.memory.fp_weight_words * c.fp_lanes),
            Mem::Const => (2, c.memory.const_words),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub mem: Mem,
    pub addr: usize,
    pub words: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelImage {
    pub design_hash: u32,
    pub sections: Vec<Section>,
}

impl ModelImage {
    /// The layer program the image writes into a program memory of `words` words, decoded
    /// as the sequencer would read it.
    pub fn program(&self, words: usize) -> Result<crate::program::Program, String> {
        let mut prog = vec![0u16; words];
        for s in self.sections.iter().filter(|s| s.mem == Mem::Program) {
            prog[s.addr..s.addr + s.words.len()].iter_mut().zip(&s.words).for_each(|(d, v)| *d = *v as u16);
        }
        crate::program::Program::decode(&prog)
    }

    pub fn to_bytes(&self, c: &HwConfig) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&self.design_hash.to_le_bytes());
        out.extend_from_slice(&(self.sections.len() as u32).to_le_bytes());
        for s in &self.sections {
            let (bytes, _) = s.mem.geometry(c);
            out.push(s.mem as u8);
            out.extend_from_slice(&(s.addr as u32).to_le_bytes());
            out.extend_from_slice(&(s.words.len() as u32).to_le_bytes());
            for w in &s.words {
                out.extend_from_slice(&w.to_le_bytes()[..bytes]);
            }
        }
        let crc = CRC.checksum(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Parses and checks an image against a design: CRC, design hash, and every section
    /// inside its memory. Errors name the problem in one line.
    pub fn from_bytes(b: &[u8], c: &HwConfig) -> Result<ModelImage, String> {
        if b.len() < 20 || &b[..4] != MAGIC {
            return Err("not a bbcu model image".into());
        }
        let (body, tail) = b.split_at(b.len() - 4);
        if CRC.checksum(body) != u32::from_le_bytes(tail.try_into().unwrap()) {
            return Err("model image CRC mismatch (corrupt or truncated)".into());
        }
        let u32_at = |at: usize| -> Result<u32, String> {
            body.get(at..at + 4).map(|s| u32::from_le_bytes(s.try_into().unwrap())).ok_or("image ends early".into())
        };
        let version = u32_at(4)?;
        if version != FORMAT_VERSION {
            return Err(format!("image format {version}, this device reads {FORMAT_VERSION}"));
        }
        let design_hash = u32_at(8)?;
        if design_hash != c.design_hash() {
            return Err(format!(
                "image compiled for design {design_hash:08x}, this device is {:08x} ({})",
                c.design_hash(),
                c.name
            ));
        }
        let n = u32_at(12)? as usize;
        let mut at = 16;
        let mut sections = Vec::new();
        for i in 0..n {
            let id = *body.get(at).ok_or("image ends early")?;
            let mem = Mem::from_id(id).ok_or(format!("section {i}: unknown memory {id}"))?;
            let addr = u32_at(at + 1)? as usize;
            let count = u32_at(at + 5)? as usize;
            at += 9;
            let (bytes, cap) = mem.geometry(c);
            if addr.checked_add(count).is_none_or(|end| end > cap) {
                return Err(format!(
                    "section {i}: {} words at {addr} overflow the {} memory ({cap} words)",
                    count,
                    mem.name()
                ));
            }
            let data = body.get(at..at + count * bytes).ok_or("image ends early")?;
            at += count * bytes;
            let words = data
                .chunks_exact(bytes)
                .map(|w| {
                    let mut v = [0u8; 8];
                    v[..bytes].copy_from_slice(w);
                    u64::from_le_bytes(v)
                })
                .collect();
            sections.push(Section { mem, addr, words });
        }
        if at != body.len() {
            return Err(format!("{} stray bytes after the last section", body.len() - at));
        }
        Ok(ModelImage { design_hash, sections })
    }
}
