//! `bbcu-host explore`: array shapes for a board, each with its estimated logic, memory
//! blocks, multipliers and clock, its frames/s on a model from the exact cycle model, and
//! whether it fits; then the Pareto front of frames/s against LUTs.
//!
//! The logic estimate is linear in the array shape, its coefficients measured with Yosys on
//! the engine Verilog this build generates (`explore/calibration.json`, made by
//! `explore/calibrate.sh`): per PE (by lane width), per MAC lane (with and without DSPs), and
//! the rest of the engine. The clock scales the preset's target by how the array's Fmax falls
//! with its size in the place-and-route results of `docs/fpga-notes.md` §2.

use crate::profile::predict;
use anyhow::{anyhow, Result};
use bbcu_arch::{compile, CompileError, HwConfig};
use bbcu_sim::fixed::FixedNetwork;
use serde::{Deserialize, Serialize};

pub mod synth;

pub const CALIBRATION: &str = include_str!("../../explore/calibration.json");

/// The linear model's coefficients for one family's synthesis.
#[derive(Debug, Clone, Deserialize)]
pub struct Coefficients {
    /// Per lane width: LUT4 and FFs of one PE (the array run divided by its P).
    pub pe: Vec<PerUnit>,
    /// One MAC lane with its multiplier in a DSP block.
    pub mac_lane_dsp: Cost,
    /// The engine less its array and MAC lanes, per lane width, with DSPs, taken back to zero
    /// MAC lanes by `rest_per_fp_lane`.
    pub rest: Vec<PerUnit>,
    /// What the rest grows by per MAC lane (accumulator muxes, the lane selection).
    pub rest_per_fp_lane: Cost,
    /// Multipliers outside the MAC lanes (post datapath, bilinear, output scaling).
    pub rest_dsp: u64,
    /// Yosys' RAM block count over this module's count for the same memories (read ports
    /// Yosys duplicates).
    pub ram_factor: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Calibration {
    /// From `synth_ice40 -dsp` (LUTs are SB_LUT4).
    #[serde(flatten)]
    pub ice40: Coefficients,
    /// From `synth_ecp5` (LUT4 + 2 per CCU2C, DP16KD, MULT18X18D), 32- and 64-lane engines.
    pub ecp5: Option<Coefficients>,
    /// One MAC lane built from LUTs (iCE40 parts without DSPs).
    pub mac_lane_lut: Cost,
    /// Extra LUTs the rest needs when its multipliers are built from LUTs.
    pub rest_nodsp_extra_lut: u64,
    /// Place-and-route Fmax (MHz) of n × 64-lane PEs, per device, from the notes.
    pub fmax: Vec<FmaxPoint>,
}

impl Calibration {
    /// The coefficients for a device's RAM kind (the ECP5's when calibrated, else iCE40's).
    pub fn for_kind(&self, kind: RamKind) -> &Coefficients {
        match (kind, &self.ecp5) {
            (RamKind::Ecp5, Some(e)) => e,
            _ => &self.ice40,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Cost {
    pub lut: f64,
    pub ff: f64,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct PerUnit {
    pub lanes: usize,
    pub lut: f64,
    pub ff: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FmaxPoint {
    pub device: String,
    pub pes: usize,
    pub mhz: f64,
}

pub fn calibration() -> Result<Calibration> {
    serde_json::from_str(CALIBRATION).map_err(|e| anyhow!("explore/calibration.json: {e}"))
}

/// What a board offers.
#[derive(Debug, Clone, Copy)]
pub struct Capacity {
    pub lut: u64,
    pub ff: u64,
    pub ram_blocks: u64,
    pub ram_kind: RamKind,
    pub dsp: u64,
    /// iCE40 UP5K SPRAM blocks (16K × 16), where the 16-lane engine keeps its rings.
    pub spram: u64,
    /// Device name in the calibration's Fmax table.
    pub fmax_device: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RamKind {
    /// iCE40 SB_RAM40_4K.
    Ice40,
    /// ECP5 DP16KD.
    Ecp5,
}

pub fn capacity(preset: &str) -> Result<Capacity> {
    Ok(match preset {
        "ice40-up5k" => Capacity {
            lut: 5280,
            ff: 5280,
            ram_blocks: 30,
            ram_kind: RamKind::Ice40,
            dsp: 8,
            spram: 4,
            fmax_device: "UP5K",
        },
        "ice40-hx8k" => Capacity {
            lut: 7680,
            ff: 7680,
            ram_blocks: 32,
            ram_kind: RamKind::Ice40,
            dsp: 0,
            spram: 0,
            fmax_device: "HX8K",
        },
        "ecp5-85k" => Capacity {
            lut: 83640,
            ff: 83640,
            ram_blocks: 208,
            ram_kind: RamKind::Ecp5,
            dsp: 156,
            spram: 0,
            fmax_device: "ECP5-85F",
        },
        _ => return Err(anyhow!("explore: no device figures for preset {preset}")),
    })
}

/// Blocks one `width × depth` memory takes: the block's best aspect ratio.
pub fn ram_blocks(kind: RamKind, width: usize, depth: usize) -> u64 {
    let shapes: &[(usize, usize)] = match kind {
        RamKind::Ice40 => &[(16, 256), (8, 512), (4, 1024), (2, 2048)],
        RamKind::Ecp5 => &[(36, 512), (18, 1024), (9, 2048), (4, 4096), (2, 8192), (1, 16384)],
    };
    shapes.iter().map(|&(w, d)| (width.div_ceil(w) * depth.div_ceil(d)) as u64).min().unwrap_or(0)
}

/// The 16-lane engine (`Engine16`) keeps its feature and input rings in UP5K SPRAM.
pub fn rings_in_spram(c: &HwConfig) -> bool {
    c.lanes == 16
}

/// SPRAM blocks (16K × 16) a design's rings take.
pub fn spram_blocks(c: &HwConfig) -> u64 {
    if !rings_in_spram(c) {
        return 0;
    }
    (c.memory.feature_words.div_ceil(16384) + c.memory.input_words.div_ceil(16384)) as u64
}

/// Every block-RAM memory of a design, as (width, depth, copies).
pub fn memories(c: &HwConfig) -> Vec<(usize, usize, usize)> {
    let m = &c.memory;
    let rings = if rings_in_spram(c) { vec![] } else { vec![(16, m.feature_words, 1), (16, m.input_words, 1)] };
    rings
        .into_iter()
        .chain([
            (c.lanes, m.bit_words, 1),
            (c.lanes, m.weight_words, c.pes),
            (16, m.fp_weight_words, c.fp_lanes),
            (16, m.const_words, 1),
            (16, m.program_words, 1),
            (8, m.output_bytes, 1),
        ])
        .collect()
}

pub fn design_ram_blocks(kind: RamKind, c: &HwConfig) -> u64 {
    memories(c).iter().map(|&(w, d, n)| n as u64 * ram_blocks(kind, w, d)).sum()
}

/// Least-squares line through (log2 P, MHz) for a device: the array's Fmax as it grows.
fn fmax_fit(cal: &Calibration, device: &str) -> Result<(f64, f64)> {
    let pts: Vec<(f64, f64)> =
        cal.fmax.iter().filter(|p| p.device == device).map(|p| ((p.pes as f64).log2(), p.mhz)).collect();
    if pts.len() < 2 {
        return Err(anyhow!("explore/calibration.json: fewer than two Fmax points for {device}"));
    }
    let n = pts.len() as f64;
    let (sx, sy) = pts.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let sxx: f64 = pts.iter().map(|(x, _)| (x - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let b = sxy / sxx;
    Ok((my - b * mx, b))
}

#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub pes: usize,
    pub lanes: usize,
    pub fp_lanes: usize,
    pub lut: u64,
    pub ff: u64,
    pub ram_blocks: u64,
    pub dsp: u64,
    pub clock_mhz: f64,
    /// Widest strip the memories hold for this model (0 when it does not compile).
    pub width_cap: usize,
    pub cycles: u64,
    pub frames_per_s: f64,
    pub fits: bool,
    /// Why it does not fit (empty when it does).
    pub why: String,
    /// The configuration, its memories sized for the model (what `--synth` elaborates).
    pub config: HwConfig,
}

/// The preset with another array shape, its memories keeping their total bits (banks split or
/// merged), and the channel cap widened to the model's, so that memory decides the fit.
pub fn shaped(base: &HwConfig, pes: usize, lanes: usize, fp_lanes: usize, channels: usize) -> HwConfig {
    let mut c = base.clone();
    let per = |words: usize, old: usize, new: usize| {
        let w = (words * old / new).max(1);
        // Powers of two (the engine splits addresses into bank and word): round down.
        1usize << (usize::BITS - 1 - w.leading_zeros())
    };
    // A shared weight memory (`fp_in_weights`) counts as its binary and FP parts: the largest
    // power of two in it, and the largest in the rest. The new shape shares one again only
    // if it too has one PE of 16 lanes and one FP lane.
    let (bw, fw) = if base.memory.fp_in_weights {
        let bw = 1usize << (usize::BITS - 1 - base.memory.weight_words.leading_zeros());
        (bw, (base.memory.weight_words - bw).max(1))
    } else {
        (base.memory.weight_words, base.memory.fp_weight_words)
    };
    c.memory.weight_words = per(bw, base.pes * base.lanes, pes * lanes);
    c.memory.fp_weight_words = per(fw, base.fp_lanes, fp_lanes);
    c.memory.fp_in_weights = base.memory.fp_in_weights && pes == 1 && lanes == 16 && fp_lanes == 1;
    if c.memory.fp_in_weights {
        (c.memory.weight_words, c.memory.fp_weight_words) = (base.memory.weight_words, 0);
    }
    c.memory.bit_words = per(base.memory.bit_words, base.lanes, lanes);
    (c.pes, c.lanes, c.fp_lanes) = (pes, lanes, fp_lanes);
    c.max_channels = c.max_channels.max(channels);
    c.name = format!("{}-p{pes}-s{lanes}-m{fp_lanes}", base.name);
    c
}

fn max_channels(net: &FixedNetwork) -> usize {
    use bbcu_sim::fixed::QLayer;
    let mut m = net.in_ch.max(net.out_ch).max(net.tail.cin);
    for l in &net.layers {
        match l {
            QLayer::Conv(c) => m = m.max(c.cin).max(c.cout),
            QLayer::Binary(b) => m = m.max(b.cin).max(b.cout),
            _ => {}
        }
    }
    m
}

/// LUT4s, FFs and DSPs of an engine with this array: the measured rest of the engine, plus
/// each PE and MAC lane (in DSPs when the part has them, else in LUTs with the engine's other
/// multipliers).
pub fn logic(
    cal: &Calibration,
    kind: RamKind,
    dsps: bool,
    pes: usize,
    lanes: usize,
    fp_lanes: usize,
) -> Result<(u64, u64, u64)> {
    let k = cal.for_kind(kind);
    let pe = k.pe.iter().find(|u| u.lanes == lanes).ok_or_else(|| anyhow!("no PE cost for S = {lanes}"))?;
    let rest = k.rest.iter().find(|u| u.lanes == lanes).ok_or_else(|| anyhow!("no engine cost for S = {lanes}"))?;
    let lane = if dsps { k.mac_lane_dsp } else { cal.mac_lane_lut };
    let extra = if dsps { 0.0 } else { cal.rest_nodsp_extra_lut as f64 };
    let m = fp_lanes as f64;
    let lut = rest.lut + extra + pes as f64 * pe.lut + m * (lane.lut + k.rest_per_fp_lane.lut);
    let ff = rest.ff + pes as f64 * pe.ff + m * (lane.ff + k.rest_per_fp_lane.ff);
    let dsp = if dsps { k.rest_dsp + fp_lanes as u64 } else { 0 };
    Ok((lut.round() as u64, ff.round() as u64, dsp))
}

fn ram_estimate(cal: &Calibration, cap: Capacity, c: &HwConfig) -> u64 {
    (design_ram_blocks(cap.ram_kind, c) as f64 * cal.for_kind(cap.ram_kind).ram_factor).ceil() as u64
}

/// Memories sized for the model on this shape, not taken from the preset: first every memory
/// large, to learn what the model uses at the widest strip the preset allows; then each cut
/// to the next power of two of that use; then the strip memories (features, input, bits,
/// output) halved together (narrower strips, more halo) until the RAM blocks fit the device
/// or the model no longer compiles. If none fit, the smallest memories are reported.
fn fit_memories(
    net: &FixedNetwork,
    c: &HwConfig,
    cap: Capacity,
) -> Result<(HwConfig, bbcu_arch::Compiled), CompileError> {
    let cal = calibration().expect("calibration parsed by sweep");
    let mut c = c.clone();
    let big = 1 << 20;
    let m = &mut c.memory;
    for w in [
        &mut m.feature_words,
        &mut m.input_words,
        &mut m.bit_words,
        &mut m.weight_words,
        &mut m.fp_weight_words,
        &mut m.const_words,
        &mut m.program_words,
        &mut m.output_bytes,
    ] {
        *w = (*w).max(big);
    }
    let first = compile(net, &c)?;
    for u in &first.usage {
        let words = u.used_words.max(1).next_power_of_two();
        let m = &mut c.memory;
        match u.memory {
            "feature" => m.feature_words = words,
            "bit" => m.bit_words = words,
            "weight" => m.weight_words = words,
            "fp_weight" => m.fp_weight_words = words,
            "const" => m.const_words = words,
            "program" => m.program_words = words,
            _ => {}
        }
    }
    if c.memory.fp_in_weights {
        // Its FP words are in "weight".
        c.memory.fp_weight_words = 0;
    }
    // The input ring and output buffer are not in the usage list: halve them while the
    // strips stay as wide.
    fn input(m: &mut bbcu_arch::config::Memories) -> &mut usize {
        &mut m.input_words
    }
    fn output(m: &mut bbcu_arch::config::Memories) -> &mut usize {
        &mut m.output_bytes
    }
    for pick in [input, output] {
        loop {
            let mut next = c.clone();
            *pick(&mut next.memory) /= 2;
            match compile(net, &next) {
                Ok(comp) if comp.width_cap == first.width_cap => c = next,
                _ => break,
            }
        }
    }
    let mut best = (c.clone(), compile(net, &c)?);
    while ram_estimate(&cal, cap, &best.0) > cap.ram_blocks || spram_blocks(&best.0) > cap.spram {
        let mut next = best.0.clone();
        let m = &mut next.memory;
        m.feature_words /= 2;
        m.input_words /= 2;
        m.bit_words = (m.bit_words / 2).max(1);
        m.output_bytes /= 2;
        match compile(net, &next) {
            Ok(comp) => best = (next, comp),
            Err(_) => break,
        }
    }
    Ok(best)
}

/// The sweep: P ∈ 1..=9, S ∈ {32, 64} (and 16 where the preset's engine is the 16-lane SPRAM
/// one), M ∈ {1, 2, 4, 8}.
pub fn sweep(preset: &str, net: &FixedNetwork, model: &str, width: usize, height: usize) -> Result<Vec<Candidate>> {
    let cal = calibration()?;
    let cap = capacity(preset)?;
    let base = HwConfig::preset(preset)?;
    let (a, b) = fmax_fit(&cal, cap.fmax_device)?;
    let fmax = |p: usize| a + b * (p as f64).log2();
    let ch = max_channels(net);
    let mut out = Vec::new();
    for pes in 1..=9 {
        let widths: &[usize] = if base.lanes == 16 { &[16, 32, 64] } else { &[32, 64] };
        for &lanes in widths {
            for fp_lanes in [1, 2, 4, 8] {
                let c = shaped(&base, pes, lanes, fp_lanes, ch);
                let (lut, ff, dsp) = logic(&cal, cap.ram_kind, cap.dsp > 0, pes, lanes, fp_lanes)?;
                // Anchored at the preset: its shape runs at its target clock, others by the
                // notes' trend of array Fmax with size.
                let clock = base.clock_mhz * fmax(pes) / fmax(base.pes);
                let mut why = Vec::new();
                let (mut width_cap, mut cycles, mut fps, mut ram) = (0, 0, 0.0, 0);
                let mut config = c.clone();
                match fit_memories(net, &c, cap) {
                    Ok((sized, comp)) => {
                        config = sized.clone();
                        let pr = predict(&HwConfig { clock_mhz: clock, ..sized.clone() }, &comp, width, height)?;
                        width_cap = comp.width_cap;
                        cycles = pr.total_cycles;
                        fps = clock * 1e6 / cycles as f64;
                        ram = ram_estimate(&cal, cap, &sized);
                        if ram > cap.ram_blocks {
                            why.push(format!("{ram} RAM blocks of {} even with the smallest memories", cap.ram_blocks));
                        }
                        let spram = spram_blocks(&sized);
                        if spram > cap.spram {
                            why.push(format!("{spram} SPRAM of {}", cap.spram));
                        }
                    }
                    Err(CompileError::DoesNotFit { overflows, .. }) => why.push(overflows.join("; ")),
                    Err(e) => why.push(format!("{model}: {e}")),
                }
                if lut > cap.lut {
                    why.push(format!("{lut} LUTs of {}", cap.lut));
                }
                if dsp > cap.dsp && cap.dsp > 0 {
                    why.push(format!("{dsp} DSPs of {}", cap.dsp));
                }
                out.push(Candidate {
                    pes,
                    lanes,
                    fp_lanes,
                    lut,
                    ff,
                    ram_blocks: ram,
                    dsp,
                    clock_mhz: clock,
                    width_cap,
                    cycles,
                    frames_per_s: fps,
                    fits: why.is_empty(),
                    why: why.join("; "),
                    config,
                });
            }
        }
    }
    Ok(out)
}

/// Candidates no other beats on both frames/s (higher) and LUTs (fewer), by LUTs.
pub fn pareto<'a>(cands: impl IntoIterator<Item = &'a Candidate>) -> Vec<&'a Candidate> {
    let mut v: Vec<&Candidate> = cands.into_iter().filter(|c| c.cycles > 0).collect();
    v.sort_by(|a, b| a.lut.cmp(&b.lut).then(b.frames_per_s.total_cmp(&a.frames_per_s)));
    let mut front: Vec<&Candidate> = Vec::new();
    for c in v {
        if front.last().is_none_or(|l| c.frames_per_s > l.frames_per_s) {
            front.push(c);
        }
    }
    front
}

/// The front `describe` prints and `--synth` draws from, by LUTs: over the candidates that fit
/// when any do (with how many), else over all that compile.
pub fn shown_front(cands: &[Candidate]) -> (Vec<&Candidate>, usize) {
    let fitting: Vec<&Candidate> = cands.iter().filter(|c| c.fits).collect();
    match fitting.len() {
        0 => (pareto(cands), 0),
        n => (pareto(fitting), n),
    }
}

pub fn describe(cands: &[Candidate], preset: &str, all: bool) -> String {
    let head = format!(
        "  {:>2} {:>3} {:>2} {:>7} {:>7} {:>5} {:>4} {:>7} {:>6} {:>12} {:>9}  {}\n",
        "P", "S", "M", "LUT4", "FF", "RAM", "DSP", "MHz", "strip", "cycles", "frames/s", "fit"
    );
    let row = |c: &Candidate| {
        format!(
            "  {:>2} {:>3} {:>2} {:>7} {:>7} {:>5} {:>4} {:>7.1} {:>6} {:>12} {:>9.3}  {}\n",
            c.pes,
            c.lanes,
            c.fp_lanes,
            c.lut,
            c.ff,
            c.ram_blocks,
            c.dsp,
            c.clock_mhz,
            c.width_cap,
            c.cycles,
            c.frames_per_s,
            if c.fits { "yes".to_string() } else { format!("no: {}", c.why) }
        )
    };
    let (front, fitting) = shown_front(cands);
    let mut s = String::new();
    if all {
        s += &format!("all {} candidates on {preset}:\n{head}", cands.len());
        cands.iter().for_each(|c| s += &row(c));
    }
    if cands.iter().all(|c| c.cycles == 0) {
        let c =
            cands.last().map_or(String::new(), |c| format!("P={} S={} M={}: {}", c.pes, c.lanes, c.fp_lanes, c.why));
        s += &format!("no candidate can hold this model on {preset} (e.g. {c})\n");
    } else {
        s += &if fitting == 0 {
            format!(
                "no candidate fits {preset}; the Pareto front of frames/s against LUTs over all candidates that compile (ignoring the device's limits):\n{head}"
            )
        } else {
            format!(
                "Pareto front on {preset} ({fitting} of {} candidates fit): frames/s against LUTs\n{head}",
                cands.len()
            )
        };
        front.into_iter().for_each(|c| s += &row(c));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ram_blocks_pick_the_best_aspect() {
        assert_eq!(ram_blocks(RamKind::Ice40, 16, 256), 1);
        assert_eq!(ram_blocks(RamKind::Ice40, 32, 512), 4);
        assert_eq!(ram_blocks(RamKind::Ice40, 8, 2048), 4);
        assert_eq!(ram_blocks(RamKind::Ecp5, 64, 1024), 4);
        assert_eq!(ram_blocks(RamKind::Ecp5, 16, 131072), 128);
    }

    #[test]
    fn pareto_keeps_only_undominated() {
        let c = |lut, fps| cand(lut as usize, lut, fps, true);
        let v = vec![c(100, 1.0), c(200, 0.5), c(150, 2.0), c(300, 3.0), c(120, 1.0)];
        let f: Vec<(u64, f64)> = pareto(&v).iter().map(|c| (c.lut, c.frames_per_s)).collect();
        assert_eq!(f, vec![(100, 1.0), (150, 2.0), (300, 3.0)]);
    }

    /// A candidate told apart by `pes`.
    fn cand(pes: usize, lut: u64, fps: f64, fits: bool) -> Candidate {
        Candidate {
            pes,
            lanes: 32,
            fp_lanes: 1,
            lut,
            ff: 0,
            ram_blocks: 0,
            dsp: 0,
            clock_mhz: 1.0,
            width_cap: 1,
            cycles: 1,
            frames_per_s: fps,
            fits,
            why: String::new(),
            config: HwConfig::preset("ecp5-85k").unwrap(),
        }
    }

    #[test]
    fn synth_takes_the_fastest_of_the_front_and_prefers_what_fits() {
        let v =
            vec![cand(1, 100, 1.0, true), cand(2, 150, 2.0, true), cand(3, 300, 3.0, false), cand(4, 200, 0.5, true)];
        let pes = |n| synth::top(&v, n).iter().map(|c| c.pes).collect::<Vec<_>>();
        assert_eq!(pes(2), [2, 1]);
        assert_eq!(pes(9), [2, 1]);
        let none_fit: Vec<Candidate> = v.iter().map(|c| Candidate { fits: false, ..c.clone() }).collect();
        assert_eq!(synth::top(&none_fit, 1).iter().map(|c| c.pes).collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn shaping_keeps_memory_bits_and_validates() {
        let base = HwConfig::preset("ecp5-85k").unwrap();
        let c = shaped(&base, 4, 64, 4, 64);
        c.validate().unwrap();
        assert_eq!(c.memory.weight_words * 4, base.memory.weight_words * 8);
        assert_eq!(c.memory.fp_weight_words * 4, base.memory.fp_weight_words * 8);
        let c = shaped(&base, 3, 32, 1, 64);
        c.validate().unwrap();
        assert!(c.memory.weight_words * 3 * 32 <= base.memory.weight_words * 8 * 64);
    }

    #[test]
    fn the_logic_model_reproduces_the_synthesised_engines() {
        let cal = calibration().unwrap();
        let runs: serde_json::Value = serde_json::from_str(CALIBRATION).unwrap();
        let runs = runs["runs"].as_object().unwrap();
        assert_eq!(runs.len(), 5, "three presets and two other MAC-lane counts");
        for (name, r) in runs {
            let n = |k: &str| r[k].as_u64().unwrap() as usize;
            // Within 2 %: the per-PE, per-lane and per-lane-rest costs are each a mean over
            // runs, so no run is met exactly.
            let near = |got: u64, key: &str, run: &str| {
                let want = r[run][key].as_u64().unwrap();
                assert!(got.abs_diff(want) * 50 <= want, "{name} {run}: {key} {got} estimated, {want} synthesised");
            };
            let (lut, ff, dsp) = logic(&cal, RamKind::Ice40, true, n("pes"), n("lanes"), n("fp_lanes")).unwrap();
            near(lut, "lut", "top");
            near(ff, "ff", "top");
            assert!(dsp.abs_diff(r["top"]["dsp"].as_u64().unwrap()) <= 1, "{name}: {dsp} DSPs estimated");
            // Without DSPs (HX8K): the UP5K engine synthesised with every multiplier in LUTs.
            if name == "ice40-up5k" {
                let (lut, _, dsp) = logic(&cal, RamKind::Ice40, false, n("pes"), n("lanes"), n("fp_lanes")).unwrap();
                near(lut, "lut", "top_nodsp");
                assert_eq!(dsp, 0);
            }
        }
    }

    #[test]
    fn the_ecp5_logic_model_reproduces_synth_ecp5() {
        let cal = calibration().unwrap();
        assert!(cal.ecp5.is_some(), "explore/calibration.json has no synth_ecp5 coefficients");
        let doc: serde_json::Value = serde_json::from_str(CALIBRATION).unwrap();
        let runs = doc["ecp5"]["runs"].as_object().unwrap();
        assert_eq!(runs.len(), 4, "the 32- and 64-lane presets and their other MAC-lane counts");
        for (name, r) in runs {
            let n = |k: &str| r[k].as_u64().unwrap() as usize;
            let (lut, ff, dsp) = logic(&cal, RamKind::Ecp5, true, n("pes"), n("lanes"), n("fp_lanes")).unwrap();
            for (got, key) in [(lut, "lut"), (ff, "ff")] {
                let want = r["top"][key].as_u64().unwrap();
                assert!(got.abs_diff(want) * 50 <= want, "{name}: {key} {got} estimated, {want} synthesised");
            }
            assert!(dsp.abs_diff(r["top"]["dsp"].as_u64().unwrap()) <= 1, "{name}: {dsp} DSPs estimated");
        }
    }

    #[test]
    fn calibration_parses_and_fits_each_device() {
        let cal = calibration().unwrap();
        for d in ["UP5K", "HX8K", "ECP5-85F"] {
            let (_, slope) = fmax_fit(&cal, d).unwrap();
            assert!(slope < 0.0, "{d}: a bigger array should not be faster");
        }
    }
}
