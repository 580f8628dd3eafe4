//! A device that answers like the engine at its design clock without simulating it: the bytes
//! come from the bit-packed CPU engine (`bbcu_sim`), the counters from the engine's exact cycle
//! model (`bbcu_arch::refmodel::cycles`), so a virtual board built on it is as fast as the
//! modelled hardware rather than as slow as an instruction-level model on this CPU.
//!
//! The board learns its model only from the image it is sent, as hardware does: [`decode`]
//! rebuilds the fixed-point network from the image's memories, and the device accepts it for
//! the CPU engine only if compiling that network for the same design gives back the very
//! same image bytes. The reference model computes exactly the golden model of such a network
//! (`arch/tests/refmodel.rs`), and the CPU engine too (`sim/tests/golden.rs`), so both agree
//! byte for byte; an image that does not round-trip is computed by the reference model.

use crate::profile::predict_strip;
use bbcu_arch::image::Mem;
use bbcu_arch::program::{GlobalKind, OpKind, Program, RECORD_WORDS};
use bbcu_arch::refmodel::cycles;
use bbcu_arch::{compile, Counters, DesignInfo, Device, DeviceError, HwConfig, ModelImage, RefDevice, StripJob};
use bbcu_sim::engine::FixedEngine;
use bbcu_sim::fixed::{QBinary, QConv, QLayer};
use bbcu_sim::{FixedNetwork, Global, Planes};

/// The memories an image writes, laid out as the engine's.
struct Mems {
    wmem: Vec<u64>,
    fpw: Vec<i16>,
    cmem: Vec<u16>,
}

impl Mems {
    fn c16(&self, rec: usize, i: usize) -> Result<u16, String> {
        self.cmem.get(rec * RECORD_WORDS + i).copied().ok_or_else(|| format!("constant record {rec} outside memory"))
    }
    fn c32(&self, rec: usize, i: usize) -> Result<i32, String> {
        Ok((self.c16(rec, i)? as u32 | (self.c16(rec, i + 1)? as u32) << 16) as i32)
    }
    fn c48(&self, rec: usize) -> Result<i64, String> {
        let u = self.c16(rec, 0)? as u64 | (self.c16(rec, 1)? as u64) << 16 | (self.c16(rec, 2)? as u64) << 32;
        Ok(((u << 16) as i64) >> 16)
    }
}

fn get<T: Copy>(v: &[T], i: usize, what: &str) -> Result<T, String> {
    v.get(i).copied().ok_or_else(|| format!("{what} word {i} outside memory"))
}

/// The fixed-point network an image's memories hold, read the way the engine reads them
/// (constants as the hardware interprets their bits). `Err` for a program the engine would
/// run but this decoder does not understand; the caller then falls back to the reference
/// model.
pub fn decode(image: &ModelImage, program: &Program, cfg: &HwConfig) -> Result<FixedNetwork, String> {
    let m = &cfg.memory;
    let mut mems = Mems {
        wmem: vec![0; m.weight_words * cfg.pes],
        fpw: vec![0; m.fp_weight_words * cfg.fp_lanes],
        cmem: vec![0; m.const_words],
    };
    for s in &image.sections {
        let range = s.addr..s.addr + s.words.len();
        match s.mem {
            Mem::Program => {}
            Mem::Weight => mems.wmem[range].copy_from_slice(&s.words),
            Mem::FpWeight => mems.fpw[range].iter_mut().zip(&s.words).for_each(|(d, v)| *d = *v as u16 as i16),
            Mem::Const => mems.cmem[range].iter_mut().zip(&s.words).for_each(|(d, v)| *d = *v as u16),
        }
    }
    if m.fp_in_weights {
        // The convs' words are in the weight memory (`HwConfig::memory.fp_in_weights`).
        mems.fpw = mems.wmem.iter().map(|&w| w as u16 as i16).collect();
    }
    let h = &program.header;
    let (p, mlanes, s) = (cfg.pes, cfg.fp_lanes, cfg.lanes);
    let mut layers = Vec::new();
    let mut tail = None;
    for (l, op) in program.ops.iter().enumerate() {
        let sets = op.up * op.up;
        let cout = op.cout * sets;
        let name = format!("op{l}");
        match op.kind {
            OpKind::Binary => {
                // The threshold of a binary layer's inputs sits in the records of the op that
                // wrote them, one record per channel before that op's shuffle.
                let prev = l.checked_sub(1).map(|i| program.ops[i]).ok_or("a binary first op")?;
                let threshold =
                    (0..op.cin).map(|c| mems.c32(prev.c_base + c * prev.up * prev.up, 6)).collect::<Result<_, _>>()?;
                let (g_n, q_n) = (op.cout.div_ceil(p), op.cin.div_ceil(s));
                let mut weight = vec![false; cout * op.cin * 9];
                for set in 0..sets {
                    for g in 0..g_n {
                        for t in 0..9 {
                            for qq in 0..q_n {
                                for k in 0..p {
                                    let c2 = g * p + k;
                                    if c2 >= op.cout {
                                        continue;
                                    }
                                    let o = c2 * sets + set;
                                    let wa = op.w_base + ((set * g_n + g) * 9 + t) * q_n + qq;
                                    let word = get(&mems.wmem, k * m.weight_words + wa, "weight")?;
                                    for i in 0..s.min(op.cin - qq * s) {
                                        weight[(o * op.cin + qq * s + i) * 9 + t] = word >> i & 1 == 1;
                                    }
                                }
                            }
                        }
                    }
                }
                let rec = |o: usize| op.c_base + o;
                layers.push(QLayer::Binary(QBinary {
                    name,
                    cin: op.cin,
                    cout,
                    threshold,
                    weight,
                    // The engine reads α as an unsigned word.
                    alpha: (0..cout).map(|o| mems.c16(rec(o), 0).map(|v| v as i32)).collect::<Result<_, _>>()?,
                    shift: op.shift,
                    offset: (0..cout).map(|o| mems.c32(rec(o), 1).map(|v| v as i64)).collect::<Result<_, _>>()?,
                    slope: (0..cout).map(|o| mems.c16(rec(o), 3).map(|v| v as i16)).collect::<Result<_, _>>()?,
                    bias1: (0..cout).map(|o| mems.c32(rec(o), 4)).collect::<Result<_, _>>()?,
                    upscale: op.up,
                }));
                if let Some(ps) = op.post_slope {
                    layers.push(QLayer::Leaky(ps));
                }
            }
            OpKind::Conv | OpKind::Tail => {
                let g_n = op.cout.div_ceil(mlanes);
                let mut weight = vec![0i16; cout * op.cin * 9];
                for set in 0..sets {
                    for g in 0..g_n {
                        for t in 0..9 {
                            for ci in 0..op.cin {
                                for k in 0..mlanes {
                                    let c2 = g * mlanes + k;
                                    if c2 >= op.cout {
                                        continue;
                                    }
                                    let o = c2 * sets + set;
                                    let wa = op.w_base + ((set * g_n + g) * 9 + t) * op.cin + ci;
                                    weight[(o * op.cin + ci) * 9 + t] =
                                        get(&mems.fpw, k * m.fp_weight_words + wa, "FP weight")?;
                                }
                            }
                        }
                    }
                }
                let bias = (0..cout).map(|o| mems.c48(op.c_base + o)).collect::<Result<_, _>>()?;
                let conv = QConv { name, cin: op.cin, cout, weight, shift: op.shift, bias, slope: op.slope };
                if op.kind == OpKind::Tail {
                    tail = Some(conv);
                } else {
                    layers.push(QLayer::Conv(conv));
                    if op.up > 1 {
                        layers.push(QLayer::PixelShuffle(op.up));
                    }
                }
            }
        }
    }
    Ok(FixedNetwork {
        in_ch: h.in_ch,
        out_ch: h.out_ch,
        frac: h.frac,
        k_in: h.k_in as i64,
        k_out: h.k_out as i64,
        layers,
        tail: tail.ok_or("a program without a tail")?,
        global: match h.global {
            GlobalKind::Bilinear => Global::Bilinear(h.scale),
            GlobalKind::SubtractInput => Global::SubtractInput,
        },
        zero_weights: 0,
    })
}

/// The hardware counters of one strip, from the cycle model: per op its cycles and its busy
/// PE-cycles (binary) or MAC-cycles (full precision), exactly as the reference model and the
/// HDL count them.
pub fn strip_counters(cfg: &HwConfig, program: &Program, job: &StripJob, strips: u64) -> Counters {
    let (layer_cycles, _) = predict_strip(cfg, program, job);
    let n = program.ops.len();
    let mut layer_busy = vec![0u64; n + 1];
    let r = program.header.scale;
    for (l, op) in program.ops.iter().enumerate() {
        let hs = job.height * op.src.scale;
        let ws = job.width * op.src.scale;
        // Output columns of a row, each with the source column its 3×3 window is centred on.
        let cols: Vec<usize> = match op.kind {
            OpKind::Tail => (job.keep_x0 * r..(job.keep_x0 + job.keep_w) * r).collect(),
            _ => (0..ws * op.up).map(|xo| xo / op.up).collect(),
        };
        let per_tap = match op.kind {
            OpKind::Binary => (op.cout * op.cin.div_ceil(cfg.lanes)) as u64,
            _ => (op.cout * op.cin) as u64,
        };
        let col_taps: u64 = cols.iter().map(|&x| span(x, ws)).sum();
        for nu in 0..hs * op.up {
            let rho = if op.kind == OpKind::Tail { nu } else { nu / op.up };
            layer_busy[l] += per_tap * span(rho, hs) * col_taps;
        }
    }
    Counters { total_cycles: layer_cycles.iter().sum(), stall_cycles: 0, layer_cycles, layer_busy, strips }
}

/// Taps of a 3-wide window centred on `i` that fall inside `0..n`.
fn span(i: usize, n: usize) -> u64 {
    (3 - (i == 0) as usize - (i + 1 >= n) as usize).min(n) as u64
}

/// The loaded model: the program (for checks and the cycle model) and, when the image
/// round-trips, the network the CPU engine runs.
struct Loaded {
    program: Program,
    net: Option<FixedNetwork>,
}

/// Bytes from the CPU engine, counters from the cycle model (see the module comment).
pub struct ModelledDevice {
    cfg: HwConfig,
    /// Validates images exactly as the other devices do, and computes any image the decoder
    /// does not round-trip.
    reference: RefDevice,
    loaded: Option<Loaded>,
    counters: Counters,
}

impl ModelledDevice {
    pub fn new(cfg: HwConfig) -> Self {
        ModelledDevice { reference: RefDevice::new(cfg.clone()), cfg, loaded: None, counters: Counters::default() }
    }

    /// Whether the loaded model runs on the CPU engine (false: on the reference model).
    pub fn on_cpu_engine(&self) -> bool {
        self.loaded.as_ref().is_some_and(|l| l.net.is_some())
    }
}

impl Device for ModelledDevice {
    fn info(&self) -> DesignInfo {
        DesignInfo::of(&self.cfg)
    }

    fn load(&mut self, image: &[u8]) -> Result<(), DeviceError> {
        self.loaded = None;
        self.reference.load(image)?;
        let img = ModelImage::from_bytes(image, &self.cfg).map_err(DeviceError::BadImage)?;
        let program = img.program(self.cfg.memory.program_words).map_err(DeviceError::BadImage)?;
        let net = decode(&img, &program, &self.cfg)
            .ok()
            .filter(|net| compile(net, &self.cfg).is_ok_and(|c| c.image.to_bytes(&self.cfg).as_slice() == image));
        self.loaded = Some(Loaded { program, net });
        Ok(())
    }

    fn run_strip(&mut self, job: &StripJob, input: &[u8]) -> Result<Vec<u8>, DeviceError> {
        let l = self.loaded.as_ref().ok_or(DeviceError::NoModel)?;
        let Some(net) = &l.net else {
            let out = self.reference.run_strip(job, input)?;
            self.counters = self.reference.counters();
            return Ok(out);
        };
        let h = &l.program.header;
        job.check(h, input.len())?;
        // A strip is an image of its own to the engine (zero padding and bilinear clamping at
        // its edges); the kept columns are the ones the halo makes exact.
        let strip = Planes::from_vec(h.in_ch, job.height, job.width, input.to_vec());
        let full = FixedEngine::new(net).run(&strip);
        let r = h.scale;
        let out = full.crop(0, job.keep_x0 * r, job.height * r, job.keep_w * r);
        self.counters = strip_counters(&self.cfg, &l.program, job, self.counters.strips + 1);
        Ok(out.data)
    }

    fn counters(&self) -> Counters {
        self.counters.clone()
    }

    fn output_rows(&self, job: &StripJob) -> Option<Vec<u64>> {
        Some(cycles::output_rows(&self.cfg, &self.loaded.as_ref()?.program, job))
    }

    fn reset(&mut self) {
        self.loaded = None;
        self.reference.reset();
        self.counters = Counters::default();
    }
}
