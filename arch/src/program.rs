//! The layer program: what the engine's sequencer reads from its program memory.
//!
//! A program is a header and one fixed-size record per operation, all in 16-bit words, so
//! that the hardware decodes it with plain counters. Operations are *row* operations: in
//! every step of the row wavefront (scheduled by [`crate::compile`](mod@crate::compile)) each operation computes at most one
//! output row of its destination buffer, reading a 3×3 window of rows of its source buffer.

use crate::device::FORMAT_VERSION;

pub const MAGIC: u16 = 0xBBC1;
pub const HEADER_WORDS: usize = 32;
pub const OP_WORDS: usize = 48;
/// The constant memory is read one 8-word (128-bit) record per output channel:
/// binary `[A, O lo, O hi, slope, B1 lo, B1 hi, T lo, T hi]`, conv and tail
/// `[bias (48 bits, 3 words), 0, 0, 0, T lo, T hi]`, where T is the threshold of the next
/// binary layer for the destination channel (its bit). One more record holds the bilinear
/// phase table `[offset, w1] × 4`.
pub const RECORD_WORDS: usize = 8;

/// A ring of rows in the feature memory (16-bit words, channel-fastest) and, when a binary
/// layer reads it, in the bit memory (`lanes`-bit words, one word per `lanes` channels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ring {
    pub ch: usize,
    /// Resolution relative to the LR input (1, 2, 3 or 4).
    pub scale: usize,
    pub f_rows: usize,
    pub f_base: usize,
    /// 0 when no binary layer reads this ring.
    pub b_rows: usize,
    pub b_base: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// BBCU-B / BBCU-U: XNOR-popcount on the array, then the post datapath and the residual.
    Binary,
    /// Full-precision conv on the MAC lanes (head, BBCU-L upsampler and conv_hr).
    Conv,
    /// The last full-precision conv, fused with the global residual and the 8-bit output.
    Tail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    pub kind: OpKind,
    pub src: Ring,
    /// The destination ring (unused for the tail, which streams pixels out).
    pub dst: Ring,
    pub cin: usize,
    /// Channels of the destination after the pixel shuffle (the tail: output channels).
    pub cout: usize,
    /// Pixel-shuffle factor folded into this op (1: none).
    pub up: usize,
    /// First wavefront step that runs this op, and the steps between its rows.
    pub delay: usize,
    pub period: usize,
    /// Base of this op's weights (per PE bank, or per FP lane bank).
    pub w_base: usize,
    /// First constant record of this op (record index, not word address); the record of
    /// output channel `o` (before the shuffle) is `c_base + o`.
    pub c_base: usize,
    pub shift: u32,
    /// Conv: the fused activation's Q12 slope.
    pub slope: Option<i16>,
    /// Binary: a LeakyReLU after the residual add (BBCU-M's conv_hr), Q12.
    pub post_slope: Option<i16>,
    /// The destination ring also gets sign bits (the next layer is binary; the thresholds
    /// are in the constant records).
    pub bits_out: bool,
    /// Output groups: `ceil(cout / P)` (binary) or `ceil(cout / M)` (conv, tail).
    pub groups: usize,
    /// Cycles of one output group: `9 · ceil(cin / S)` (binary) or `9 · cin` (conv, tail).
    pub inner: usize,
    /// Input words per pixel in the source bit ring (binary): `ceil(cin / S)`.
    pub q_src: usize,
    /// Valid lanes of the last input word (binary): `cin − (q_src − 1) · S`.
    pub last_lanes: usize,
    /// Bit words per pixel of the destination: `ceil(cout / S)`.
    pub q_dst: usize,
    /// Row pitches in words: source features and bits, destination features and bits.
    pub src_pitch_f: usize,
    pub src_pitch_b: usize,
    pub dst_pitch_f: usize,
    pub dst_pitch_b: usize,
    /// Weight words per pixel-shuffle set: `groups · inner`.
    pub per_set: usize,
    /// Constant records between successive output groups: `(P or M) · up²`.
    pub rec_step: usize,
    /// The source is the input ring (the head conv).
    pub from_input: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobalKind {
    Bilinear,
    SubtractInput,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub n_ops: usize,
    pub in_ch: usize,
    pub out_ch: usize,
    /// Upscaling factor r of the whole network.
    pub scale: usize,
    /// Widest strip this program's rings were sized for, in LR pixels.
    pub width_cap: usize,
    pub halo: usize,
    pub global: GlobalKind,
    pub frac: u32,
    pub k_in: u32,
    pub k_out: u32,
    /// The input ring (k-scaled input words), read by the head and the global residual.
    pub input: Ring,
    /// The record of the bilinear phase table: per phase, the row offset (signed) and the
    /// Q8 weight of the second tap.
    pub bilinear_rec: usize,
    /// Row pitch of the input ring, in words.
    pub input_pitch: usize,
    /// The bilinear phase table again, for the sequencer firmware, which reads the program
    /// memory and not the constants: per phase (`scale` of them, one for r = 1) the row offset
    /// and the second tap's Q8 weight. Stored after the op records; header word 25 has its
    /// address.
    pub bilinear: Vec<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub header: Header,
    pub ops: Vec<Op>,
}

struct Writer(Vec<u16>);

impl Writer {
    fn w(&mut self, v: usize) {
        assert!(v <= u16::MAX as usize, "program field {v} does not fit 16 bits");
        self.0.push(v as u16);
    }
    fn w32(&mut self, v: usize) {
        assert!(v <= u32::MAX as usize, "program field {v} does not fit 32 bits");
        self.0.push(v as u16);
        self.0.push((v >> 16) as u16);
    }
    fn ring(&mut self, r: &Ring) {
        self.w(r.ch);
        self.w(r.scale);
        self.w(r.f_rows);
        self.w32(r.f_base);
        self.w(r.b_rows);
        self.w32(r.b_base);
    }
    fn pad_to(&mut self, n: usize) {
        assert!(self.0.len() <= n, "record overflows its {n} words");
        self.0.resize(n, 0);
    }
}

struct Reader<'a> {
    words: &'a [u16],
    at: usize,
}

impl Reader<'_> {
    fn r(&mut self) -> Result<usize, String> {
        let v = *self.words.get(self.at).ok_or("program ends early")?;
        self.at += 1;
        Ok(v as usize)
    }
    fn r32(&mut self) -> Result<usize, String> {
        Ok(self.r()? | (self.r()? << 16))
    }
    fn ring(&mut self) -> Result<Ring, String> {
        Ok(Ring {
            ch: self.r()?,
            scale: self.r()?,
            f_rows: self.r()?,
            f_base: self.r32()?,
            b_rows: self.r()?,
            b_base: self.r32()?,
        })
    }
}

const FLAG_SLOPE: usize = 1 << 4;
const FLAG_POST_SLOPE: usize = 1 << 5;
const FLAG_BITS: usize = 1 << 6;
const FLAG_FROM_INPUT: usize = 1 << 7;

impl Program {
    pub fn encode(&self) -> Vec<u16> {
        let h = &self.header;
        let mut out = Writer(Vec::new());
        out.w(MAGIC as usize);
        out.w(FORMAT_VERSION as usize);
        out.w(h.n_ops);
        out.w(h.in_ch);
        out.w(h.out_ch);
        out.w(h.scale);
        out.w(h.width_cap);
        out.w(h.halo);
        out.w(match h.global {
            GlobalKind::Bilinear => 0,
            GlobalKind::SubtractInput => 1,
        });
        out.w(h.frac as usize);
        out.w32(h.k_in as usize);
        out.w32(h.k_out as usize);
        out.ring(&h.input);
        out.w(h.bilinear_rec);
        out.w32(h.input_pitch);
        out.w(HEADER_WORDS + self.ops.len() * OP_WORDS);
        out.pad_to(HEADER_WORDS);
        for op in &self.ops {
            let mut rec = Writer(Vec::new());
            let kind = match op.kind {
                OpKind::Binary => 1,
                OpKind::Conv => 2,
                OpKind::Tail => 3,
            };
            let flags = kind
                | if op.slope.is_some() { FLAG_SLOPE } else { 0 }
                | if op.post_slope.is_some() { FLAG_POST_SLOPE } else { 0 }
                | if op.bits_out { FLAG_BITS } else { 0 }
                | if op.from_input { FLAG_FROM_INPUT } else { 0 };
            rec.w(flags);
            rec.w(op.cin);
            rec.w(op.cout);
            rec.w(op.up);
            rec.w(op.delay);
            rec.w(op.period);
            rec.w32(op.w_base);
            rec.w32(op.c_base);
            rec.w(op.shift as usize);
            rec.0.push(op.slope.unwrap_or(0) as u16);
            rec.0.push(op.post_slope.unwrap_or(0) as u16);
            rec.ring(&op.src);
            rec.ring(&op.dst);
            rec.w(op.groups);
            rec.w(op.inner);
            rec.w(op.q_src);
            rec.w(op.last_lanes);
            rec.w(op.q_dst);
            rec.w32(op.src_pitch_f);
            rec.w32(op.src_pitch_b);
            rec.w32(op.dst_pitch_f);
            rec.w32(op.dst_pitch_b);
            rec.w32(op.per_set);
            rec.w(op.rec_step);
            rec.pad_to(OP_WORDS);
            out.0.extend(rec.0);
        }
        out.0.extend(&h.bilinear);
        out.0
    }

    /// Decodes a program as the sequencer does; every field is range-checked, so a corrupt
    /// program memory is an error, never an out-of-bounds access.
    pub fn decode(words: &[u16]) -> Result<Program, String> {
        let mut r = Reader { words, at: 0 };
        if r.r()? != MAGIC as usize {
            return Err("program memory holds no program (bad magic)".into());
        }
        let version = r.r()?;
        if version != FORMAT_VERSION as usize {
            return Err(format!("program format {version}, this engine runs {FORMAT_VERSION}"));
        }
        let n_ops = r.r()?;
        let in_ch = r.r()?;
        let out_ch = r.r()?;
        let scale = r.r()?;
        let width_cap = r.r()?;
        let halo = r.r()?;
        let global = match r.r()? {
            0 => GlobalKind::Bilinear,
            1 => GlobalKind::SubtractInput,
            g => return Err(format!("unknown global residual kind {g}")),
        };
        let frac = r.r()? as u32;
        let k_in = r.r32()? as u32;
        let k_out = r.r32()? as u32;
        let input = r.ring()?;
        let bilinear_rec = r.r()?;
        let input_pitch = r.r32()?;
        let table_at = r.r()?;
        if !(1..=4).contains(&scale) || in_ch == 0 || out_ch == 0 || width_cap == 0 || n_ops == 0 || frac > 12 {
            return Err("program header out of range".into());
        }
        // The table follows the records (a program from before it had 0 here).
        if table_at != HEADER_WORDS + n_ops * OP_WORDS {
            return Err("program has no bilinear table where its records end".into());
        }
        let bilinear = words.get(table_at..table_at + 2 * scale).ok_or("program ends early")?.to_vec();
        let header = Header {
            n_ops,
            in_ch,
            out_ch,
            scale,
            width_cap,
            halo,
            global,
            frac,
            k_in,
            k_out,
            input,
            bilinear_rec,
            input_pitch,
            bilinear,
        };
        let mut ops = Vec::with_capacity(n_ops);
        for i in 0..n_ops {
            let start = HEADER_WORDS + i * OP_WORDS;
            let mut r = Reader { words, at: start };
            let flags = r.r()?;
            let kind = match flags & 0xf {
                1 => OpKind::Binary,
                2 => OpKind::Conv,
                3 => OpKind::Tail,
                k => return Err(format!("op {i}: unknown kind {k}")),
            };
            let cin = r.r()?;
            let cout = r.r()?;
            let up = r.r()?;
            let delay = r.r()?;
            let period = r.r()?;
            let w_base = r.r32()?;
            let c_base = r.r32()?;
            let shift = r.r()? as u32;
            let slope = r.r()? as u16 as i16;
            let post_slope = r.r()? as u16 as i16;
            let src = r.ring()?;
            let dst = r.ring()?;
            let groups = r.r()?;
            let inner = r.r()?;
            let q_src = r.r()?;
            let last_lanes = r.r()?;
            let q_dst = r.r()?;
            let src_pitch_f = r.r32()?;
            let src_pitch_b = r.r32()?;
            let dst_pitch_f = r.r32()?;
            let dst_pitch_b = r.r32()?;
            let per_set = r.r32()?;
            let rec_step = r.r()?;
            if cin == 0 || cout == 0 || !(1..=4).contains(&up) || period == 0 || shift > 40 || groups == 0 || inner == 0
            {
                return Err(format!("op {i}: field out of range"));
            }
            ops.push(Op {
                kind,
                src,
                dst,
                cin,
                cout,
                up,
                delay,
                period,
                w_base,
                c_base,
                shift,
                slope: (flags & FLAG_SLOPE != 0).then_some(slope),
                post_slope: (flags & FLAG_POST_SLOPE != 0).then_some(post_slope),
                bits_out: flags & FLAG_BITS != 0,
                groups,
                inner,
                q_src,
                last_lanes,
                q_dst,
                src_pitch_f,
                src_pitch_b,
                dst_pitch_f,
                dst_pitch_b,
                per_set,
                rec_step,
                from_input: flags & FLAG_FROM_INPUT != 0,
            });
        }
        Ok(Program { header, ops })
    }
}
