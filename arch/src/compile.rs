//! The compiler: a fixed-point network and a hardware configuration in, a model image out.
//!
//! It lowers the network to row operations, schedules the row wavefront (each op's delay and
//! period), sizes every row ring by replaying the schedule, picks the widest strip the
//! feature and bit memories hold, lays out weights and constants, and refuses a model that
//! does not fit, naming each memory that overflows and by how much.

use crate::config::HwConfig;
use crate::image::{Mem, ModelImage, Section};
use crate::program::*;
use crate::MAX_SHIFT;
use bbcu_sim::fixed::{bilinear_weights, FixedNetwork, QLayer};
use bbcu_sim::Global;
use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum CompileError {
    #[error("{0}")]
    Unsupported(String),
    #[error("the model does not fit {design}: {}", .overflows.join("; "))]
    DoesNotFit { design: String, overflows: Vec<String> },
}

/// One memory's use by a compiled model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MemUse {
    pub memory: &'static str,
    pub used_words: usize,
    pub capacity_words: usize,
    pub word_bits: usize,
}

#[derive(Debug, Clone)]
pub struct Compiled {
    pub program: Program,
    pub image: ModelImage,
    /// Columns each strip must overlap its neighbour by (LR pixels).
    pub halo: usize,
    /// Widest strip (LR pixels) the rings were sized for.
    pub width_cap: usize,
    pub usage: Vec<MemUse>,
    /// Per op, the network layer it came from (for reports).
    pub names: Vec<String>,
}

/// A network layer lowered to a row operation, before memory is assigned.
struct Lowered<'a> {
    kind: OpKind,
    name: String,
    cin: usize,
    cout: usize,
    up: usize,
    src_scale: usize,
    slope: Option<i16>,
    post_slope: Option<i16>,
    layer: LayerRef<'a>,
}

#[derive(Clone, Copy)]
enum LayerRef<'a> {
    Binary(&'a bbcu_sim::fixed::QBinary),
    Conv(&'a bbcu_sim::fixed::QConv),
}

fn lower(q: &FixedNetwork) -> Result<Vec<Lowered<'_>>, CompileError> {
    let unsupported = |m: String| Err(CompileError::Unsupported(m));
    let mut ops: Vec<Lowered> = Vec::new();
    let mut scale = 1;
    let mut i = 0;
    while i < q.layers.len() {
        match &q.layers[i] {
            QLayer::Conv(c) => {
                let up = match q.layers.get(i + 1) {
                    Some(QLayer::PixelShuffle(r)) => {
                        i += 1;
                        *r
                    }
                    _ => 1,
                };
                if c.cout % (up * up) != 0 {
                    return unsupported(format!("{}: {} outputs do not shuffle ×{up}", c.name, c.cout));
                }
                ops.push(Lowered {
                    kind: OpKind::Conv,
                    name: c.name.clone(),
                    cin: c.cin,
                    cout: c.cout / (up * up),
                    up,
                    src_scale: scale,
                    slope: c.slope,
                    post_slope: None,
                    layer: LayerRef::Conv(c),
                });
                scale *= up;
            }
            QLayer::Binary(b) => {
                if ops.is_empty() {
                    return unsupported(format!("{}: the engine needs a full-precision first layer", b.name));
                }
                let up = b.upscale;
                ops.push(Lowered {
                    kind: OpKind::Binary,
                    name: b.name.clone(),
                    cin: b.cin,
                    cout: b.cout / (up * up),
                    up,
                    src_scale: scale,
                    slope: None,
                    post_slope: None,
                    layer: LayerRef::Binary(b),
                });
                scale *= up;
            }
            QLayer::Leaky(s) => match ops.last_mut() {
                Some(op) if op.kind == OpKind::Binary && op.post_slope.is_none() => op.post_slope = Some(*s),
                _ => return unsupported("a LeakyReLU that does not follow a binary unit".into()),
            },
            QLayer::PixelShuffle(_) => {
                return unsupported("a pixel shuffle that does not follow a full-precision conv".into())
            }
        }
        i += 1;
    }
    if ops.is_empty() {
        return unsupported("a network with no layer before the tail".into());
    }
    ops.push(Lowered {
        kind: OpKind::Tail,
        name: q.tail.name.clone(),
        cin: q.tail.cin,
        cout: q.tail.cout,
        up: 1,
        src_scale: scale,
        slope: None,
        post_slope: None,
        layer: LayerRef::Conv(&q.tail),
    });
    let want = match q.global {
        Global::Bilinear(r) => r,
        Global::SubtractInput => 1,
    };
    if scale != want || !(1..=4).contains(&scale) {
        return unsupported(format!("the layers upscale ×{scale} but the global residual is ×{want}"));
    }
    Ok(ops)
}

/// Per phase `p = d mod r` of an output coordinate `d`: the first source index is
/// `d / r + offset` (clamped at 0 with weight 0 below), the second weight `w1` (Q8).
pub fn bilinear_table(r: usize) -> Result<Vec<(i64, i64)>, CompileError> {
    let probe = bilinear_weights(64, r);
    let table: Vec<(i64, i64)> = (0..r).map(|p| (probe[32 * r + p].0 as i64 - 32, probe[32 * r + p].3)).collect();
    // The table must reproduce the golden model's taps for every strip size.
    for n in 1..=64 {
        for (d, &(i0, i1, _, w1)) in bilinear_weights(n, r).iter().enumerate() {
            let (t0, t1, tw) = bilinear_tap(&table, r, d, n);
            if t0 != i0 || t1 != i1 || (i0 != i1 && tw != w1) {
                return Err(CompileError::Unsupported(format!("bilinear ×{r} does not tabulate (n = {n}, d = {d})")));
            }
        }
    }
    Ok(table)
}

/// The hardware's bilinear tap for output coordinate `d` of `n` source samples.
#[inline]
pub fn bilinear_tap(table: &[(i64, i64)], r: usize, d: usize, n: usize) -> (usize, usize, i64) {
    let (off, w1) = table[d % r];
    let i0 = (d / r) as i64 + off;
    if i0 < 0 {
        return (0, 1.min(n - 1), 0);
    }
    let i0 = (i0 as usize).min(n - 1);
    (i0, (i0 + 1).min(n - 1), w1)
}

/// Rows each ring must hold, found by replaying the wavefront: the distance between the
/// newest row written and the oldest row still read, over every read.
struct RingNeeds {
    f_rows: Vec<usize>,
    b_rows: Vec<usize>,
}

fn ring_needs(lw: &[Lowered], delays: &[usize], periods: &[usize], r: usize, table: &[(i64, i64)]) -> RingNeeds {
    let n_rings = lw.len(); // ring 0: input; ring l+1: output of op l (the tail has none)
    let h = 2 * (delays[lw.len() - 1] / r) + 40;
    let mut latest: Vec<Option<usize>> = vec![None; n_rings];
    let mut f_rows = vec![0usize; n_rings];
    let mut b_rows = vec![0usize; n_rings];
    let read = |need: &mut Vec<usize>, latest: &[Option<usize>], ring: usize, row: usize| {
        let l = latest[ring].expect("schedule reads a ring before its first row");
        assert!(l >= row, "schedule reads row {row} of ring {ring} before it is written");
        need[ring] = need[ring].max(l - row + 1);
    };
    let last = delays[lw.len() - 1] + h * r;
    for u in 0..=last {
        if u % r == 0 && u / r < h {
            latest[0] = Some(u / r);
        }
        for (l, op) in lw.iter().enumerate() {
            if u < delays[l] || !(u - delays[l]).is_multiple_of(periods[l]) {
                continue;
            }
            let nu = (u - delays[l]) / periods[l];
            let hs = h * op.src_scale;
            if nu >= hs * op.up {
                continue;
            }
            let rho = nu / op.up;
            let window = rho.saturating_sub(1)..=(rho + 1).min(hs - 1);
            for row in window {
                match op.kind {
                    OpKind::Binary => read(&mut b_rows, &latest, l, row),
                    OpKind::Conv | OpKind::Tail => read(&mut f_rows, &latest, l, row),
                }
            }
            if op.kind == OpKind::Binary {
                read(&mut f_rows, &latest, l, rho);
            }
            if op.kind == OpKind::Tail {
                if r == 1 {
                    read(&mut f_rows, &latest, 0, nu);
                } else {
                    let (i0, i1, _) = bilinear_tap(table, r, nu, h);
                    read(&mut f_rows, &latest, 0, i0.min(i1));
                    read(&mut f_rows, &latest, 0, i0.max(i1));
                }
            } else {
                latest[l + 1] = Some(nu);
            }
        }
    }
    RingNeeds { f_rows, b_rows }
}

fn program_ops_names<'a>(ops: &'a [Op], lw: &'a [Lowered]) -> impl Iterator<Item = (&'a Op, &'a str)> {
    ops.iter().zip(lw.iter().map(|l| l.name.as_str()))
}

fn words32(v: i64) -> [u64; 2] {
    let u = v as i32 as u32;
    [(u & 0xffff) as u64, (u >> 16) as u64]
}

pub fn compile(q: &FixedNetwork, c: &HwConfig) -> Result<Compiled, CompileError> {
    let lw = lower(q)?;
    let r = lw.last().unwrap().src_scale;
    let design = c.name.clone();
    for op in &lw {
        if op.cin > c.max_channels || op.cout > c.max_channels {
            return Err(CompileError::DoesNotFit {
                design,
                overflows: vec![format!(
                    "{} has {}→{} channels, the design allows {}",
                    op.name, op.cin, op.cout, c.max_channels
                )],
            });
        }
    }
    let table = if r > 1 { bilinear_table(r)? } else { vec![(0, 0)] };

    // Schedule: an op may run a row once its source holds the row below its window; the
    // input ring gets one LR row every r steps.
    let mut delays = Vec::new();
    let mut periods = Vec::new();
    let (mut src_delay, mut src_period) = (0, r);
    for op in &lw {
        let d = src_delay + src_period;
        let p = r / (op.src_scale * op.up);
        delays.push(d);
        periods.push(p);
        (src_delay, src_period) = (d, p);
    }
    let needs = ring_needs(&lw, &delays, &periods, r, &table);

    // Halo: every 3×3 window widens the wrong border by one pixel of its source resolution,
    // the bilinear base by one LR pixel.
    let hr_px: usize = lw.iter().map(|op| r / op.src_scale).sum::<usize>() + if r > 1 { r } else { 0 };
    let halo = hr_px.div_ceil(r);

    // Rings: ring 0 is the input, ring l+1 the output of op l.
    let mut rings: Vec<Ring> = Vec::new();
    rings.push(Ring { ch: q.in_ch, scale: 1, f_rows: needs.f_rows[0], ..Default::default() });
    for (l, op) in lw[..lw.len() - 1].iter().enumerate() {
        let has_bits = lw[l + 1].kind == OpKind::Binary;
        rings.push(Ring {
            ch: op.cout,
            scale: op.src_scale * op.up,
            f_rows: needs.f_rows[l + 1],
            b_rows: if has_bits { needs.b_rows[l + 1] } else { 0 },
            ..Default::default()
        });
    }
    // The input ring has a memory of its own (ring 0); the others share the feature memory.
    let per_w_x = rings[0].f_rows * rings[0].ch;
    // Bit rings lent the input memory's upper half (`bits_in_input`): the op writing ring l
    // (op l − 1) must read nothing from that single-port memory meanwhile, so ring 1 (the
    // head reads the input ring) stays in the bit memory, and two rings in a row may go there
    // only when the first has no bits (its reader is not binary). Of the sets that obey this,
    // the heaviest leaves the bit memory the fewest words (a path's maximum-weight
    // independent set, by dynamic programming).
    let bit_words = |g: &Ring| g.b_rows * g.scale * g.ch.div_ceil(c.lanes);
    let mut in_x = vec![false; rings.len()];
    if c.memory.bits_in_input && rings.len() > 2 {
        // best[l] = (heaviest with ring l out, heaviest with ring l in), rings 2..=l.
        let mut best = vec![(0usize, None::<usize>); rings.len()];
        for l in 2..rings.len() {
            let (out_prev, in_prev) = best[l - 1];
            let any_prev = in_prev.map_or(out_prev, |v| v.max(out_prev));
            let with = (rings[l].b_rows > 0)
                .then(|| bit_words(&rings[l]) + if rings[l - 1].b_rows > 0 { out_prev } else { any_prev });
            best[l] = (any_prev, with);
        }
        // Back from the last ring; a ring taken with bits below it keeps its predecessor out.
        let mut allowed = true;
        for l in (2..rings.len()).rev() {
            let (out_w, in_w) = best[l];
            in_x[l] = allowed && in_w.is_some_and(|v| v >= out_w);
            allowed = !(in_x[l] && rings[l - 1].b_rows > 0);
        }
    }
    let per_w_b: usize = rings.iter().zip(&in_x).filter(|(_, &x)| !x).map(|(g, _)| bit_words(g)).sum();
    let per_w_bx: usize = rings.iter().zip(&in_x).filter(|(_, &x)| x).map(|(g, _)| bit_words(g)).sum();
    let (input_cap, lent) = c.memory.input_split();
    // Feature words per column in each bank: with two banks (a single-port feature memory)
    // ring l goes to bank l mod 2, so that op l reads one bank while it writes the other;
    // a strip column then costs the fuller bank's words in both.
    let banks = c.memory.feature_banks;
    let mut per_bank = vec![0usize; banks];
    for (l, g) in rings.iter().enumerate().skip(1) {
        per_bank[l % banks] += g.f_rows * g.scale * g.ch;
    }
    let per_w_f = banks * per_bank.iter().copied().max().unwrap_or(0).max(1);
    let mut width_cap = c
        .max_width
        .min(c.memory.feature_words / per_w_f)
        .min(input_cap / per_w_x)
        .min(c.memory.output_bytes / (r * q.out_ch));
    if let Some(w) = c.memory.bit_words.checked_div(per_w_b) {
        width_cap = width_cap.min(w);
    }
    if let Some(w) = lent.checked_div(per_w_bx) {
        width_cap = width_cap.min(w);
    }
    let bank_words = c.memory.feature_words / banks;
    let (mut fb, mut bb, mut bx) = ((0..banks).map(|k| k * bank_words).collect::<Vec<_>>(), 0, input_cap);
    for (l, g) in rings.iter_mut().enumerate().skip(1) {
        g.f_base = fb[l % banks];
        fb[l % banks] += g.f_rows * g.scale * g.ch * width_cap;
        let b = if in_x[l] { &mut bx } else { &mut bb };
        g.b_base = *b;
        *b += bit_words(g) * width_cap;
    }

    // Weights and constants.
    let (p, m, s) = (c.pes, c.fp_lanes, c.lanes);
    let mut wbanks: Vec<Vec<u64>> = vec![Vec::new(); p];
    let mut fbanks: Vec<Vec<u64>> = vec![Vec::new(); m];
    let mut consts: Vec<u64> = Vec::new();
    let mut ops = Vec::new();
    for (l, op) in lw.iter().enumerate() {
        let sets = op.up * op.up;
        let w_base;
        // The next binary layer's threshold for destination channel c2, if any.
        let thresholds: Option<&[i32]> = match lw.get(l + 1).map(|n| n.layer) {
            Some(LayerRef::Binary(next)) => Some(&next.threshold),
            _ => None,
        };
        let thr = |c2: usize| thresholds.map_or([0, 0], |t| words32(t[c2] as i64));
        let c_base = consts.len() / RECORD_WORDS;
        match op.layer {
            LayerRef::Binary(b) => {
                let (g_n, q_n) = (op.cout.div_ceil(p), op.cin.div_ceil(s));
                w_base = wbanks[0].len();
                for set in 0..sets {
                    for g in 0..g_n {
                        for t in 0..9 {
                            for qq in 0..q_n {
                                for (k, bank) in wbanks.iter_mut().enumerate() {
                                    let c2 = g * p + k;
                                    let mut word = 0u64;
                                    if c2 < op.cout {
                                        let o = c2 * sets + set;
                                        for i in 0..s.min(op.cin - qq * s) {
                                            if b.w(o, qq * s + i, t / 3, t % 3) {
                                                word |= 1 << i;
                                            }
                                        }
                                    }
                                    bank.push(word);
                                }
                            }
                        }
                    }
                }
                for o in 0..b.cout {
                    consts.push(b.alpha[o] as u16 as u64);
                    consts.extend(words32(b.offset[o]));
                    consts.push(b.slope[o] as u16 as u64);
                    consts.extend(words32(b.bias1[o] as i64));
                    consts.extend(thr(o / sets));
                }
            }
            LayerRef::Conv(cv) => {
                let g_n = op.cout.div_ceil(m);
                // With `fp_in_weights` the FP weights follow the binary ones in their memory.
                let fbanks = if c.memory.fp_in_weights { &mut wbanks } else { &mut fbanks };
                w_base = fbanks[0].len();
                for set in 0..sets {
                    for g in 0..g_n {
                        for t in 0..9 {
                            for ci in 0..op.cin {
                                for (k, bank) in fbanks.iter_mut().enumerate() {
                                    let c2 = g * m + k;
                                    let v = if c2 < op.cout { cv.w(c2 * sets + set, ci, t / 3, t % 3) } else { 0 };
                                    bank.push(v as u16 as u64);
                                }
                            }
                        }
                    }
                }
                for (o, &bias) in cv.bias.iter().enumerate() {
                    if bias.abs() >= 1 << 47 {
                        return Err(CompileError::Unsupported(format!("{}: a bias exceeds 48 bits", cv.name)));
                    }
                    let u = bias as u64;
                    consts.extend([u & 0xffff, (u >> 16) & 0xffff, (u >> 32) & 0xffff, 0, 0, 0]);
                    if op.kind == OpKind::Tail {
                        // No layer follows the tail, so its threshold words carry k_out: the
                        // one-output engine reads it there instead of keeping the header's copy
                        // in 32 flip-flops (every record of the tail holds the same k_out).
                        consts.extend(words32(q.k_out));
                    } else {
                        consts.extend(thr(o / sets));
                    }
                }
            }
        }
        let shift = match op.layer {
            LayerRef::Binary(b) => b.shift,
            LayerRef::Conv(cv) => cv.shift,
        };
        // The quantiser keeps every shift within MAX_SHIFT; the UP5K's rounding of conv and
        // tail sums shifts by less than 32 only (`bbcu_hdl::enginefw`), so a hand-made network
        // with more is refused here rather than rounded wrong.
        if shift > MAX_SHIFT {
            return Err(CompileError::Unsupported(format!("{}: shift {shift} exceeds {MAX_SHIFT}", op.name)));
        }
        let (src, dst) = (rings[l], if op.kind == OpKind::Tail { Ring::default() } else { rings[l + 1] });
        let binary = op.kind == OpKind::Binary;
        let q_src = if binary { op.cin.div_ceil(s) } else { 0 };
        let (gsize, inner) = if binary { (p, 9 * q_src) } else { (m, 9 * op.cin) };
        let groups = op.cout.div_ceil(gsize);
        ops.push(Op {
            kind: op.kind,
            src,
            dst,
            cin: op.cin,
            cout: op.cout,
            up: op.up,
            delay: delays[l],
            period: periods[l],
            w_base,
            c_base,
            shift,
            slope: op.slope,
            post_slope: op.post_slope,
            bits_out: thresholds.is_some(),
            groups,
            inner,
            q_src,
            last_lanes: if binary { op.cin - (q_src - 1) * s } else { 0 },
            q_dst: op.cout.div_ceil(s),
            src_pitch_f: width_cap * src.scale * src.ch,
            src_pitch_b: width_cap * src.scale * src.ch.div_ceil(s),
            dst_pitch_f: width_cap * dst.scale * dst.ch,
            dst_pitch_b: width_cap * dst.scale * dst.ch.div_ceil(s),
            per_set: groups * inner,
            rec_step: gsize * sets,
            from_input: l == 0,
        });
    }
    let bilinear_rec = consts.len() / RECORD_WORDS;
    for ph in 0..4 {
        let (off, w1) = table.get(ph).copied().unwrap_or((0, 0));
        consts.push(off as i16 as u16 as u64);
        consts.push(w1 as u64);
    }
    let input = rings[0];
    let header = Header {
        n_ops: ops.len(),
        in_ch: q.in_ch,
        out_ch: q.out_ch,
        scale: r,
        width_cap,
        halo,
        global: match q.global {
            Global::Bilinear(_) => GlobalKind::Bilinear,
            Global::SubtractInput => GlobalKind::SubtractInput,
        },
        frac: q.frac,
        k_in: q.k_in as u32,
        k_out: q.k_out as u32,
        input,
        bilinear_rec,
        input_pitch: width_cap * input.ch,
        bilinear: table.iter().flat_map(|&(off, w1)| [off as i16 as u16, w1 as u16]).collect(),
    };
    let program = Program { header, ops };
    for (op, name) in program_ops_names(&program.ops, &lw) {
        let post = match op.kind {
            OpKind::Binary => p,
            OpKind::Conv => m,
            OpKind::Tail => 4 * m,
        };
        if post > op.inner {
            return Err(CompileError::Unsupported(format!(
                "{name}: its {post} post cycles per output group outrun the {} cycles of the group on {}",
                op.inner, c.name
            )));
        }
    }
    let prog_words: Vec<u64> = program.encode().into_iter().map(|w| w as u64).collect();

    let min_w = 2 * halo + 1;
    let mut usage = vec![
        MemUse {
            memory: "feature",
            used_words: per_w_f * width_cap.max(min_w),
            capacity_words: c.memory.feature_words,
            word_bits: 16,
        },
        MemUse {
            memory: "input",
            used_words: per_w_x * width_cap.max(min_w),
            capacity_words: input_cap,
            word_bits: 16,
        },
        MemUse {
            memory: "bit",
            used_words: per_w_b * width_cap.max(min_w),
            capacity_words: c.memory.bit_words,
            word_bits: s,
        },
        MemUse { memory: "weight", used_words: wbanks[0].len(), capacity_words: c.memory.weight_words, word_bits: s },
        MemUse {
            memory: "fp_weight",
            used_words: fbanks[0].len(),
            capacity_words: c.memory.fp_weight_words,
            word_bits: 16,
        },
        MemUse { memory: "const", used_words: consts.len(), capacity_words: c.memory.const_words, word_bits: 16 },
        MemUse {
            memory: "program",
            used_words: prog_words.len(),
            capacity_words: c.memory.program_words,
            word_bits: 16,
        },
        MemUse {
            memory: "output",
            used_words: width_cap.max(min_w) * r * q.out_ch,
            capacity_words: c.memory.output_bytes,
            word_bits: 8,
        },
    ];
    if lent > 0 {
        let used_words = per_w_bx * width_cap.max(min_w);
        usage.insert(3, MemUse { memory: "bit_in_input", used_words, capacity_words: lent, word_bits: s });
    }
    if c.memory.fp_in_weights {
        // No FP memory: its words are in "weight".
        usage.retain(|u| u.memory != "fp_weight");
    }
    let mut overflows: Vec<String> = usage
        .iter()
        .filter(|u| u.used_words > u.capacity_words)
        .map(|u| {
            let what = if matches!(u.memory, "feature" | "input" | "bit" | "bit_in_input") {
                format!(" for the narrowest strip ({min_w} columns)")
            } else {
                String::new()
            };
            format!(
                "{} memory needs {} words{what}, has {} (short by {})",
                u.memory,
                u.used_words,
                u.capacity_words,
                u.used_words - u.capacity_words
            )
        })
        .collect();
    if width_cap < min_w && overflows.is_empty() {
        overflows.push(format!("strips would be {width_cap} columns, the halo needs {min_w}"));
    }
    if !overflows.is_empty() {
        return Err(CompileError::DoesNotFit { design, overflows });
    }

    let mut sections = vec![Section { mem: Mem::Program, addr: 0, words: prog_words }];
    for (k, bank) in wbanks.into_iter().enumerate() {
        if !bank.is_empty() {
            sections.push(Section { mem: Mem::Weight, addr: k * c.memory.weight_words, words: bank });
        }
    }
    for (k, bank) in fbanks.into_iter().enumerate() {
        if !bank.is_empty() {
            sections.push(Section { mem: Mem::FpWeight, addr: k * c.memory.fp_weight_words, words: bank });
        }
    }
    sections.push(Section { mem: Mem::Const, addr: 0, words: consts });
    let names = lw.iter().map(|o| o.name.clone()).collect();
    Ok(Compiled {
        program,
        image: ModelImage { design_hash: c.design_hash(), sections },
        halo,
        width_cap,
        usage,
        names,
    })
}
