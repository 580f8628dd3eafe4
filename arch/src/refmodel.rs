//! The instruction-level reference model of the engine: the same memories, the same program
//! decoding, the same address arithmetic and the same wavefront as the hardware, in plain Rust.
//!
//! It is the specification the HDL engine is held to (memory contents and cycle counts), the
//! cost model of the profiler, and a [`Device`] the host can talk to. It must produce the
//! golden model's bytes: `arch/tests/refmodel.rs` checks it on every topology.

use crate::compile::bilinear_tap;
use crate::config::HwConfig;
use crate::device::{Counters, DesignInfo, Device, DeviceError, StripJob};
use crate::image::{Mem, ModelImage};
use crate::program::*;
use bbcu_sim::fixed::{apply_slope, rshift_round, sat16, BILINEAR_FRAC, SCALE_FRAC};

/// The engine's cycle model (`hdl/src/engine.rs`), exact when the host keeps up with the
/// streams (no stall cycles). `hdl/tests/engine.rs` holds the simulated counters to it.
pub mod cycles {
    use super::*;

    /// Every visit of an op in a wavefront step: fetch its record (46), decide (1), and the
    /// first cycle of the counter write-back, which is where the per-op count is taken.
    pub const VISIT: u64 = 48;
    /// The rest of a visit, outside the per-op counters: two write-back cycles and `Next`.
    pub const VISIT_REST: u64 = 3;
    /// A computed row's fixed cost: address setup (14: thirteen products through the shared,
    /// operand-registered multiplier, one cycle behind their operands), drain (2), write-back (1).
    pub const ROW: u64 = 17;
    /// The tail first checks the output buffer has room for its row (one cycle when it has).
    pub const TAIL_WAIT: u64 = 1;
    /// Per strip: read the header (26), the bilinear table and the strip's products (6), done
    /// (1), plus 2 per op to reset its state and counters.
    pub const STRIP: u64 = 33;
    /// Per wavefront step: deciding whether an input row is due.
    pub const STEP: u64 = 1;
    /// Per input row, after its bytes: the input-word pipeline drains.
    pub const INPUT_DRAIN: u64 = 3;
    /// Pipeline latencies of the hardware blocks (checked against `bbcu_hdl` by its tests).
    /// A PE's latency: its popcount tree has log2(lanes) levels, plus the accumulator.
    pub fn pe_latency(lanes: usize) -> u64 {
        lanes.trailing_zeros() as u64 + 1
    }
    pub const MAC_LATENCY: u64 = 3;
    pub const BINARY_POST_LATENCY: u64 = 9;
    pub const CONV_POST_LATENCY: u64 = 6;
    pub const OUT_PIXEL_LATENCY: u64 = 12;
    /// Cycles from a group's result to its post datapath input.
    pub const POST_ENTRY: u64 = 2;

    /// Output pixels of one row of `op` (the tail computes only the kept columns).
    pub fn row_pixels(op: &Op, width: usize, keep_w: usize) -> usize {
        match op.kind {
            OpKind::Tail => keep_w * op.src.scale,
            _ => width * op.src.scale * op.up,
        }
    }

    /// Cycles of one computed row: one per (pixel, output group, tap, input word or channel)
    /// issued, then the last group's drain through the array or MAC lanes and the post.
    pub fn row(c: &HwConfig, op: &Op, width: usize, keep_w: usize) -> u64 {
        let issue = (row_pixels(op, width, keep_w) * op.groups * op.inner) as u64;
        let gsize = if op.kind == OpKind::Binary { c.pes } else { c.fp_lanes };
        let live_last = (op.cout - (op.groups - 1) * gsize) as u64;
        let drain = match op.kind {
            OpKind::Binary => pe_latency(c.lanes) + live_last + POST_ENTRY + BINARY_POST_LATENCY,
            OpKind::Conv => MAC_LATENCY + live_last + POST_ENTRY + CONV_POST_LATENCY,
            OpKind::Tail => MAC_LATENCY + 4 * live_last + POST_ENTRY + OUT_PIXEL_LATENCY,
        };
        ROW + issue + drain + if op.kind == OpKind::Tail { TAIL_WAIT } else { 0 }
    }

    /// Cycles to take one input row in: one byte per cycle, then the drain.
    pub fn input_row(in_ch: usize, width: usize) -> u64 {
        (in_ch * width) as u64 + INPUT_DRAIN
    }

    /// One step of a strip's wavefront: the input row taken in (if one is due) and, in program
    /// order, the rows the ops compute (`(op index, row)`).
    pub struct Step {
        pub input_row: Option<usize>,
        pub rows: Vec<(usize, usize)>,
    }

    /// The wavefront of a strip step by step, as the sequencer walks it: an input row every
    /// `scale` steps, op `l` computing its row `(u - delay) / period` on the steps that are
    /// due, until the tail's last row.
    pub fn wavefront<'a>(p: &'a Program, job: &StripJob) -> impl Iterator<Item = Step> + 'a {
        let (r, hh) = (p.header.scale, job.height);
        let tail = p.ops[p.ops.len() - 1];
        let last = tail.delay + (hh * r - 1) * tail.period;
        (0..=last).map(move |u| Step {
            input_row: (u.is_multiple_of(r) && u / r < hh).then_some(u / r),
            rows: p
                .ops
                .iter()
                .enumerate()
                .filter(|(_, op)| u >= op.delay && (u - op.delay).is_multiple_of(op.period))
                .map(|(l, op)| (l, (u - op.delay) / op.period))
                .filter(|&(l, nu)| nu < hh * p.ops[l].src.scale * p.ops[l].up)
                .collect(),
        })
    }

    /// Cycles of a step outside the rows it computes: the input row, deciding, and every
    /// op's visit.
    pub fn step_overhead(p: &Program, job: &StripJob, step: &Step) -> u64 {
        let input = step.input_row.map_or(0, |_| input_row(p.header.in_ch, job.width));
        input + STEP + (VISIT + VISIT_REST) * p.ops.len() as u64
    }

    /// The cycle (from the strip's start) by which each output row of the strip is complete:
    /// the tail finishes row `y` in the step that computes it. A board streams a row's bytes
    /// out from then on.
    pub fn output_rows(c: &HwConfig, p: &Program, job: &StripJob) -> Vec<u64> {
        let n = p.ops.len();
        let mut at = vec![0u64; job.height * p.header.scale];
        // The strip's setup (header, tables) comes first.
        let mut t = STRIP + 2 * n as u64;
        for step in wavefront(p, job) {
            t += step_overhead(p, job, &step);
            for &(l, nu) in &step.rows {
                t += row(c, &p.ops[l], job.width, job.keep_w);
                if l == n - 1 {
                    at[nu] = t;
                }
            }
        }
        at
    }
}

/// One computed row as the engine's row loop takes it: the op, the row, and where the rows it
/// reads and writes lie in the memories. That is everything in a row that depends on the
/// wavefront and the ring slots, which a sequencer works out (`RowCmd::plan` from the ring
/// formulas; the control-core firmware of `crate::seqfw` incrementally); the rest (shapes,
/// weight and constant bases) is the op's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowCmd {
    pub op: usize,
    pub nu: usize,
    /// Source rows rho − 1, rho, rho + 1 (rho = nu / up): the address of their pixel 0 in the
    /// feature memory (the input memory when the op reads the input), None outside the image.
    pub win_f: [Option<usize>; 3],
    /// The same rows in the bit memory (binary ops; 0 where the source has no bit ring).
    pub win_b: [Option<usize>; 3],
    /// Row nu of the destination: pixel 0 in the feature and bit memories (0 for the tail
    /// and where there is no bit ring).
    pub dst_f: usize,
    pub dst_b: usize,
    /// The tail: input-memory addresses of pixel 0 of the global residual's rows (bilinear:
    /// y0 and y1; subtract: row nu twice), and the second row's Q8 weight.
    pub xin: [usize; 2],
    pub a1: i64,
    /// The row's first weight word and constant record: the op's bases plus pixel-shuffle
    /// row i's sets (`i·up`, `i = nu mod up`) — `w_base + i·up·per_set`, `c_base + i·up`.
    pub w_row: usize,
    pub c_row: usize,
    /// Output columns `x0 .. x_end`: all `W·scale·up` of them, or the tail's kept ones.
    pub x0: usize,
    pub x_end: usize,
}

impl RowCmd {
    /// Row `nu` of op `l` from the ring formulas.
    pub fn plan(p: &Program, cfg: &HwConfig, job: &StripJob, table: &[(i64, i64)], l: usize, nu: usize) -> RowCmd {
        let (h, op) = (&p.header, &p.ops[l]);
        let (wc, lanes) = (h.width_cap, cfg.lanes);
        let hs = job.height * op.src.scale;
        let rho = if op.kind == OpKind::Tail { nu } else { nu / op.up };
        let row = |ty: usize| (rho + ty).checked_sub(1).filter(|&sy| sy < hs);
        let win_f = [0, 1, 2].map(|ty| row(ty).map(|sy| RefDevice::f_addr(&op.src, wc, sy, 0, 0)));
        let win_b = [0, 1, 2].map(|ty| {
            row(ty).map(|sy| if op.src.b_rows > 0 { RefDevice::b_addr(&op.src, wc, lanes, sy, 0, 0) } else { 0 })
        });
        let (mut dst_f, mut dst_b, mut xin, mut a1) = (0, 0, [0; 2], 0);
        let iu = if op.kind == OpKind::Tail { 0 } else { nu % op.up * op.up };
        let (w_row, c_row) = (op.w_base + iu * op.per_set, op.c_base + iu);
        let (x0, x_end) = match op.kind {
            OpKind::Tail => (job.keep_x0 * h.scale, (job.keep_x0 + job.keep_w) * h.scale),
            _ => (0, job.width * op.src.scale * op.up),
        };
        if op.kind == OpKind::Tail {
            let at = |y: usize| RefDevice::f_addr(&h.input, wc, y, 0, 0);
            match h.global {
                GlobalKind::SubtractInput => xin = [at(nu); 2],
                GlobalKind::Bilinear => {
                    let (y0, y1, w1) = bilinear_tap(table, h.scale, nu, job.height);
                    (xin, a1) = ([at(y0), at(y1)], w1);
                }
            }
        } else {
            dst_f = RefDevice::f_addr(&op.dst, wc, nu, 0, 0);
            if op.dst.b_rows > 0 {
                dst_b = RefDevice::b_addr(&op.dst, wc, lanes, nu, 0, 0);
            }
        }
        RowCmd { op: l, nu, win_f, win_b, dst_f, dst_b, xin, a1, w_row, c_row, x0, x_end }
    }
}

pub struct RefDevice {
    cfg: HwConfig,
    prog: Vec<u16>,
    wmem: Vec<u64>,
    fpw: Vec<i16>,
    cmem: Vec<u16>,
    fmem: Vec<i16>,
    xmem: Vec<i16>,
    bmem: Vec<u64>,
    program: Option<Program>,
    /// The loaded program's bilinear phase table (its constant record, read once at load).
    table: Vec<(i64, i64)>,
    counters: Counters,
}

impl RefDevice {
    pub fn new(cfg: HwConfig) -> Self {
        let m = cfg.memory.clone();
        RefDevice {
            prog: vec![0; m.program_words],
            wmem: vec![0; m.weight_words * cfg.pes],
            fpw: vec![0; m.fp_weight_words * cfg.fp_lanes],
            cmem: vec![0; m.const_words],
            fmem: vec![0; m.feature_words],
            xmem: vec![0; m.input_words],
            // Bit addresses in the input memory's lent half (`bits_in_input`) index the same
            // vector: the compiler keeps them clear of the input ring's half.
            bmem: vec![0; if m.bits_in_input { m.input_words } else { m.bit_words }],
            program: None,
            counters: Counters::default(),
            table: Vec::new(),
            cfg,
        }
    }

    pub fn program(&self) -> Option<&Program> {
        self.program.as_ref()
    }

    pub fn config(&self) -> &HwConfig {
        &self.cfg
    }

    /// A program-memory word (0 outside it), as the sequencer reads it.
    pub fn program_word(&self, a: usize) -> u16 {
        self.prog.get(a).copied().unwrap_or(0)
    }

    /// Word `i` of constant record `rec`.
    fn c16(&self, rec: usize, i: usize) -> u16 {
        self.cmem[rec * RECORD_WORDS + i]
    }
    fn c32(&self, rec: usize, i: usize) -> i32 {
        (self.c16(rec, i) as u32 | (self.c16(rec, i + 1) as u32) << 16) as i32
    }
    fn c48(&self, rec: usize) -> i64 {
        let u = self.c16(rec, 0) as u64 | (self.c16(rec, 1) as u64) << 16 | (self.c16(rec, 2) as u64) << 32;
        ((u << 16) as i64) >> 16
    }

    /// Checks that every ring of the program lies inside the memories for its width cap.
    fn check(&self, p: &Program) -> Result<(), String> {
        let wc = p.header.width_cap;
        if wc > self.cfg.max_width {
            return Err(format!("program strips of {wc} columns exceed the design's {}", self.cfg.max_width));
        }
        let x = &p.header.input;
        let m = &self.cfg.memory;
        // With `bits_in_input` the input memory's upper half holds bit rings: the input ring
        // has the lower half, and a bit ring lies in one memory or the other.
        let (x_len, lent) = m.input_split();
        if x.f_base + x.f_rows * wc * x.ch > x_len {
            return Err("the input ring lies outside the input memory".into());
        }
        let mut rings = vec![];
        for (l, op) in p.ops.iter().enumerate() {
            if l > 0 {
                rings.push(op.src);
            }
            if op.kind != OpKind::Tail {
                rings.push(op.dst);
            }
            let limit = match op.kind {
                OpKind::Binary => op.cin.max(op.cout),
                _ => op.cin.max(op.cout),
            };
            if limit > self.cfg.max_channels {
                return Err(format!("an op has {limit} channels, the design allows {}", self.cfg.max_channels));
            }
        }
        for g in rings {
            let b_end = g.b_base + g.b_rows * g.scale * wc * g.ch.div_ceil(self.cfg.lanes);
            let b_ok = if lent > 0 && g.b_base >= x_len { b_end <= m.input_words } else { b_end <= m.bit_words };
            if g.f_base + g.f_rows * g.scale * wc * g.ch > self.fmem.len() || !b_ok {
                return Err("a row ring lies outside the feature or bit memory".into());
            }
        }
        Ok(())
    }

    #[inline]
    fn f_addr(g: &Ring, wc: usize, row: usize, x: usize, c: usize) -> usize {
        g.f_base + ((row % g.f_rows) * wc * g.scale + x) * g.ch + c
    }
    #[inline]
    fn b_addr(g: &Ring, wc: usize, lanes: usize, row: usize, x: usize, q: usize) -> usize {
        let qn = g.ch.div_ceil(lanes);
        g.b_base + ((row % g.b_rows) * wc * g.scale + x) * qn + q
    }

    /// Writes one output word of a row op and, when the next layer is binary, its bit.
    fn write_out(&mut self, op: &Op, cmd: &RowCmd, x: usize, c2: usize, rec: usize, v: i16) {
        let a = cmd.dst_f + x * op.dst.ch + c2;
        self.fmem[a] = v;
        if op.bits_out {
            let lanes = self.cfg.lanes;
            let a = cmd.dst_b + x * op.dst.ch.div_ceil(lanes) + c2 / lanes;
            let bit = 1u64 << (c2 % lanes);
            if (v as i32) > self.c32(rec, 6) {
                self.bmem[a] |= bit;
            } else {
                self.bmem[a] &= !bit;
            }
        }
    }

    fn run_binary(&mut self, op: &Op, cmd: &RowCmd, w: usize) -> u64 {
        let (p, lanes) = (self.cfg.pes, self.cfg.lanes);
        let (up, sets) = (op.up, op.up * op.up);
        let (g_n, q_n) = (op.cout.div_ceil(p), op.cin.div_ceil(lanes));
        let ws = w * op.src.scale;
        let mut busy = 0u64;
        let mut acc = vec![0i32; p];
        for xo in cmd.x0..cmd.x_end {
            let (x, j) = (xo / up, xo % up);
            for g in 0..g_n {
                acc.iter_mut().for_each(|a| *a = 0);
                let live = (op.cout - g * p).min(p) as u64;
                for t in 0..9 {
                    let sx = x as isize + t as isize % 3 - 1;
                    let row = cmd.win_b[t / 3].filter(|_| sx >= 0 && sx < ws as isize);
                    if row.is_some() {
                        busy += live * q_n as u64;
                    }
                    for q in 0..q_n {
                        let n = lanes.min(op.cin - q * lanes);
                        let Some(row) = row else {
                            continue; // padded tap: every lane masked, contributes 0
                        };
                        let act = self.bmem[row + sx as usize * q_n + q];
                        let mask = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
                        let wa = cmd.w_row + j * op.per_set + (g * 9 + t) * q_n + q;
                        for (k, a) in acc.iter_mut().enumerate() {
                            let wt = self.wmem[k * self.cfg.memory.weight_words + wa];
                            let agree = (!(act ^ wt) & mask).count_ones() as i32;
                            *a += 2 * agree - n as i32;
                        }
                    }
                }
                for (k, &pc) in acc.iter().enumerate() {
                    let c2 = g * p + k;
                    if c2 >= op.cout {
                        continue;
                    }
                    let cb = cmd.c_row + j + c2 * sets;
                    let (a, o) = (self.c16(cb, 0) as i64, self.c32(cb, 1) as i64);
                    let (s, b1) = (self.c16(cb, 3) as i16, self.c32(cb, 4) as i64);
                    let y = apply_slope(sat16(rshift_round(a * pc as i64 + o, op.shift)), s) as i64 + b1;
                    let center = cmd.win_f[1].expect("a row's own source row is inside the image");
                    let res = self.fmem[center + x * op.src.ch + c2] as i64;
                    let mut v = sat16(y + res);
                    if let Some(ps) = op.post_slope {
                        v = apply_slope(v, ps);
                    }
                    self.write_out(op, cmd, xo, c2, cb, v);
                }
            }
        }
        busy
    }

    /// A full-precision conv row: the accumulators of one output group, before rounding.
    /// `j`: the pixel-shuffle column of the output (its set within the row's).
    fn conv_acc(&self, op: &Op, cmd: &RowCmd, ws: usize, x: usize, j: usize, g: usize) -> Vec<i64> {
        let from_input = op.from_input;
        let m = self.cfg.fp_lanes;
        let mut acc: Vec<i64> = (0..m)
            .map(|k| {
                let c2 = g * m + k;
                if c2 < op.cout {
                    self.c48(cmd.c_row + j + c2 * op.up * op.up)
                } else {
                    0
                }
            })
            .collect();
        let fw = self.cfg.memory.fp_weight_words;
        for t in 0..9 {
            let sx = x as isize + t as isize % 3 - 1;
            let Some(row) = cmd.win_f[t / 3].filter(|_| sx >= 0 && sx < ws as isize) else {
                continue;
            };
            // A pixel's channels are consecutive words, and so are a tap's weights per lane.
            let a0 = row + sx as usize * op.src.ch;
            let xs = if from_input { &self.xmem[a0..a0 + op.cin] } else { &self.fmem[a0..a0 + op.cin] };
            let wa = cmd.w_row + j * op.per_set + (g * 9 + t) * op.cin;
            for (k, a) in acc.iter_mut().enumerate() {
                let ws = &self.fpw[k * fw + wa..k * fw + wa + op.cin];
                *a += ws.iter().zip(xs).map(|(w, x)| *w as i64 * *x as i64).sum::<i64>();
            }
        }
        acc
    }

    fn run_conv(&mut self, op: &Op, cmd: &RowCmd, w: usize) -> u64 {
        let m = self.cfg.fp_lanes;
        let up = op.up;
        let ws = w * op.src.scale;
        let mut busy = 0;
        for xo in cmd.x0..cmd.x_end {
            let (x, j) = (xo / up, xo % up);
            for g in 0..op.cout.div_ceil(m) {
                let acc = self.conv_acc(op, cmd, ws, x, j, g);
                let live = (op.cout - g * m).min(m);
                busy += (live * op.cin * valid_taps(&cmd.win_f, x, ws)) as u64;
                for (k, a) in acc.iter().take(live).enumerate() {
                    let v = sat16(rshift_round(*a, op.shift));
                    let v = op.slope.map_or(v, |s| apply_slope(v, s));
                    self.write_out(op, cmd, xo, g * m + k, cmd.c_row + j + (g * m + k) * up * up, v);
                }
            }
        }
        busy
    }

    /// Input row `y` of a strip (CHW bytes) into the input memory from `base`, scaled by
    /// k_in, channels fastest.
    pub fn take_input_row(&mut self, h: &Header, job: &StripJob, input: &[u8], y: usize, base: usize) {
        let (w, hh) = (job.width, job.height);
        for c in 0..h.in_ch {
            for x in 0..w {
                let px = input[(c * hh + y) * w + x] as i64;
                self.xmem[base + x * h.input.ch + c] = rshift_round(px * h.k_in as i64, SCALE_FRAC) as i16;
            }
        }
    }

    /// Computes one row as the engine's row loop does, reading and writing where `cmd` says;
    /// answers its busy PE- (or lane-) cycles. The tail's pixels go to `out` (CHW, kept
    /// columns).
    pub fn run_row(&mut self, p: &Program, job: &StripJob, cmd: &RowCmd, out: &mut [u8]) -> u64 {
        let op = p.ops[cmd.op];
        match op.kind {
            OpKind::Binary => self.run_binary(&op, cmd, job.width),
            OpKind::Conv => self.run_conv(&op, cmd, job.width),
            OpKind::Tail => self.run_tail(p, &op, job, cmd, out),
        }
    }

    /// The loaded program's bilinear phase table: per phase, the row offset and the Q8 weight.
    pub fn bilinear_table(&self) -> &[(i64, i64)] {
        &self.table
    }

    fn run_tail(&mut self, p: &Program, op: &Op, job: &StripJob, cmd: &RowCmd, out: &mut [u8]) -> u64 {
        let h = &p.header;
        let (m, r, nu) = (self.cfg.fp_lanes, h.scale, cmd.nu);
        let ws = job.width * op.src.scale;
        let kw = job.keep_w * r;
        let (x_lo, x_hi) = (cmd.x0, cmd.x_end);
        let table = &self.table;
        let a1 = cmd.a1;
        let mut busy = 0;
        for xo in x_lo..x_hi {
            for g in 0..op.cout.div_ceil(m) {
                let acc = self.conv_acc(op, cmd, ws, xo, 0, g);
                let live = (op.cout - g * m).min(m);
                busy += (live * op.cin * valid_taps(&cmd.win_f, xo, ws)) as u64;
                for (k, a) in acc.iter().take(live).enumerate() {
                    let ch = g * m + k;
                    let t = rshift_round(*a, op.shift);
                    let xin = |row: usize, col: usize| self.xmem[cmd.xin[row] + col * h.input.ch + ch] as i64;
                    let s = match h.global {
                        GlobalKind::SubtractInput => xin(0, xo) - t,
                        GlobalKind::Bilinear => {
                            let (x0, x1, b1) = bilinear_tap(table, r, xo, job.width);
                            let (a0, b0) = (256 - a1, 256 - b1);
                            let g = a0 * (b0 * xin(0, x0) + b1 * xin(0, x1)) + a1 * (b0 * xin(1, x0) + b1 * xin(1, x1));
                            t + rshift_round(g, 2 * BILINEAR_FRAC)
                        }
                    };
                    let px = rshift_round(s * h.k_out as i64, SCALE_FRAC + h.frac).clamp(0, 255) as u8;
                    out[(ch * job.height * r + nu) * kw + xo - x_lo] = px;
                }
            }
        }
        busy
    }
}

/// Taps of pixel `x` inside the image, for a window whose rows outside it are None.
fn valid_taps(win: &[Option<usize>; 3], x: usize, w: usize) -> usize {
    let rows = win.iter().filter(|r| r.is_some()).count();
    let cols = 3 - (x == 0) as usize - (x + 1 >= w) as usize;
    rows * cols.min(w)
}

impl Device for RefDevice {
    fn info(&self) -> DesignInfo {
        DesignInfo::of(&self.cfg)
    }

    fn load(&mut self, image: &[u8]) -> Result<(), DeviceError> {
        self.program = None;
        let img = ModelImage::from_bytes(image, &self.cfg).map_err(DeviceError::BadImage)?;
        let mut prog = vec![0u16; self.prog.len()];
        let mut wmem = vec![0u64; self.wmem.len()];
        let mut fpw = vec![0i16; self.fpw.len()];
        let mut cmem = vec![0u16; self.cmem.len()];
        for s in &img.sections {
            let range = s.addr..s.addr + s.words.len();
            match s.mem {
                Mem::Program => prog[range].iter_mut().zip(&s.words).for_each(|(d, v)| *d = *v as u16),
                Mem::Weight => wmem[range].copy_from_slice(&s.words),
                Mem::FpWeight => fpw[range].iter_mut().zip(&s.words).for_each(|(d, v)| *d = *v as u16 as i16),
                Mem::Const => cmem[range].iter_mut().zip(&s.words).for_each(|(d, v)| *d = *v as u16),
            }
        }
        let p = Program::decode(&prog).map_err(DeviceError::BadImage)?;
        self.check(&p).map_err(DeviceError::BadImage)?;
        if self.cfg.memory.fp_in_weights {
            // One memory: a conv reads the weight memory's words as signed 16-bit.
            fpw = wmem.iter().map(|&w| w as u16 as i16).collect();
        }
        (self.prog, self.wmem, self.fpw, self.cmem) = (prog, wmem, fpw, cmem);
        let h = &p.header;
        self.table = (0..h.scale)
            .map(|ph| (self.c16(h.bilinear_rec, 2 * ph) as i16 as i64, self.c16(h.bilinear_rec, 2 * ph + 1) as i64))
            .collect();
        self.program = Some(p);
        Ok(())
    }

    fn run_strip(&mut self, job: &StripJob, input: &[u8]) -> Result<Vec<u8>, DeviceError> {
        let p = self.program.clone().ok_or(DeviceError::NoModel)?;
        let h = &p.header;
        job.check(h, input.len())?;
        let (r, wc, hh, w) = (h.scale, h.width_cap, job.height, job.width);
        let mut out = vec![0u8; h.out_ch * hh * r * job.keep_w * r];
        let n_ops = p.ops.len();
        let mut layer_cycles = vec![0u64; n_ops + 1];
        let mut layer_busy = vec![0u64; n_ops + 1];
        for step in cycles::wavefront(&p, job) {
            if let Some(y) = step.input_row {
                self.take_input_row(h, job, input, y, Self::f_addr(&h.input, wc, y, 0, 0));
                layer_cycles[n_ops] += cycles::input_row(h.in_ch, w);
            }
            layer_cycles[n_ops] += cycles::STEP + cycles::VISIT_REST * n_ops as u64;
            for c in layer_cycles.iter_mut().take(n_ops) {
                *c += cycles::VISIT;
            }
            for &(l, nu) in &step.rows {
                let op = &p.ops[l];
                let cmd = RowCmd::plan(&p, &self.cfg, job, &self.table, l, nu);
                let busy = self.run_row(&p, job, &cmd, &mut out);
                layer_cycles[l] += cycles::row(&self.cfg, op, w, job.keep_w);
                layer_busy[l] += busy;
            }
        }
        layer_cycles[n_ops] += cycles::STRIP + 2 * n_ops as u64;
        self.counters = Counters {
            total_cycles: layer_cycles.iter().sum(),
            stall_cycles: 0,
            layer_cycles,
            layer_busy,
            strips: self.counters.strips + 1,
        };
        Ok(out)
    }

    fn counters(&self) -> Counters {
        self.counters.clone()
    }

    fn output_rows(&self, job: &StripJob) -> Option<Vec<u64>> {
        Some(cycles::output_rows(&self.cfg, self.program.as_ref()?, job))
    }

    fn reset(&mut self) {
        self.program = None;
        self.table.clear();
        self.counters = Counters::default();
    }
}
