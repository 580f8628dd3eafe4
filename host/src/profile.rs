//! `bbcu-host profile`: where an accelerator's cycles go, layer by layer, and what bounds a
//! run (the PE array, the on-chip memories or the host link), from the hardware's own
//! counters (a simulator, or a board over its link), with a self-contained HTML report.
//!
//! The analytic side is [`predict`]: the engine's exact cycle model (`bbcu_arch::refmodel::
//! cycles`) replayed over the compiled schedule, from shapes alone. `host/tests/profile.rs`
//! holds it to the simulators.

use crate::accel::{self, SimKind};
use crate::board::client::{LinkStats, StripWork};
use crate::board::drive::{Session, SessionOptions};
use crate::link::{bytes_per_second, Link};
use anyhow::{anyhow, bail, Context, Result};
use bbcu_arch::program::{Op, OpKind, Program};
use bbcu_arch::refmodel::cycles;
use bbcu_arch::strips::{plan, run_image, Strip};
use bbcu_arch::{compile, Compiled, Counters, HwConfig, StripJob};
use bbcu_sim::{FixedNetwork, Planes};
use serde::Serialize;
use std::path::Path;

/// Cycles (and on-chip bytes read) the cycle model predicts for one image, per program op plus
/// one last entry for the sequencer's own cycles (input rows, wavefront steps, strip setup),
/// the same layout as the hardware's `Counters::layer_cycles`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    pub strips: usize,
    pub layer_cycles: Vec<u64>,
    pub layer_read_bytes: Vec<u64>,
    pub total_cycles: u64,
}

/// Bytes one computed row of `op` reads from the on-chip memories: per issued cycle, the
/// activation word and one weight word per PE (binary) or a feature word and one weight per
/// MAC lane; per output value, its constant record (8 words), and the residual (binary) or
/// the global-residual input taps (tail).
fn row_read_bytes(c: &HwConfig, op: &Op, width: usize, keep_w: usize, bilinear: bool) -> u64 {
    let px = cycles::row_pixels(op, width, keep_w) as u64;
    let issue = px * (op.groups * op.inner) as u64;
    let outs = px * op.cout as u64;
    let record = 16;
    match op.kind {
        OpKind::Binary => issue * ((1 + c.pes) * c.lanes / 8) as u64 + outs * (record + 2),
        OpKind::Conv => issue * (2 + 2 * c.fp_lanes) as u64 + outs * record,
        OpKind::Tail => issue * (2 + 2 * c.fp_lanes) as u64 + outs * (record + if bilinear { 8 } else { 2 }),
    }
}

/// The cycle model over one strip: the wavefront replayed step by step, each op charged its
/// visit and, on the steps it computes a row, the row's cycles.
pub fn predict_strip(c: &HwConfig, p: &Program, job: &StripJob) -> (Vec<u64>, Vec<u64>) {
    let n = p.ops.len();
    let bilinear = p.header.global == bbcu_arch::program::GlobalKind::Bilinear;
    let mut lc = vec![0u64; n + 1];
    let mut lb = vec![0u64; n + 1];
    for step in cycles::wavefront(p, job) {
        if step.input_row.is_some() {
            lc[n] += cycles::input_row(p.header.in_ch, job.width);
        }
        lc[n] += cycles::STEP + cycles::VISIT_REST * n as u64;
        lc.iter_mut().take(n).for_each(|c| *c += cycles::VISIT);
        for &(l, _) in &step.rows {
            let op = &p.ops[l];
            lc[l] += cycles::row(c, op, job.width, job.keep_w);
            lb[l] += row_read_bytes(c, op, job.width, job.keep_w, bilinear);
        }
    }
    lc[n] += cycles::STRIP + 2 * n as u64;
    (lc, lb)
}

/// Predicted cycles for a `width × height` image cut into the strips the host would send
/// (the compiled model's widest strip and halo).
pub fn predict(c: &HwConfig, compiled: &Compiled, width: usize, height: usize) -> Result<Prediction> {
    let strips = plan(width, height, compiled.width_cap, compiled.halo).map_err(|e| anyhow!(e))?;
    predict_strips(c, &compiled.program, &strips)
}

fn predict_strips(c: &HwConfig, p: &Program, strips: &[Strip]) -> Result<Prediction> {
    let n = p.ops.len();
    let mut pr = Prediction {
        strips: strips.len(),
        layer_cycles: vec![0; n + 1],
        layer_read_bytes: vec![0; n + 1],
        total_cycles: 0,
    };
    for s in strips {
        let (lc, lb) = predict_strip(c, p, &s.job);
        for l in 0..=n {
            pr.layer_cycles[l] += lc[l];
            pr.layer_read_bytes[l] += lb[l];
        }
    }
    pr.total_cycles = pr.layer_cycles.iter().sum();
    Ok(pr)
}

/// Host-link seconds to move `bytes` at `baud` (8N1: ten bit times per byte).
pub fn link_seconds(bytes: u64, baud: u32) -> f64 {
    bytes as f64 / bytes_per_second(baud)
}

/// Pixels a strip sends and receives: its input, and the kept columns of its output.
fn strip_link_bytes(net: &FixedNetwork, r: usize, job: &StripJob) -> (u64, u64) {
    ((net.in_ch * job.height * job.width) as u64, (net.out_ch * job.height * r * job.keep_w * r) as u64)
}

/// What a set of strips measured: each strip's job and the counters the hardware returned.
pub struct Measured {
    pub source: String,
    pub strips: Vec<(StripJob, Counters)>,
    /// Over a real link: bytes sent and received (framing and retries included) and seconds.
    pub link: Option<MeasuredLink>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MeasuredLink {
    pub sent_bytes: u64,
    pub received_bytes: u64,
    pub seconds: f64,
}

/// The image through a simulator; every strip's counters kept.
pub fn measure_sim(
    kind: SimKind,
    cfg: &HwConfig,
    compiled: &Compiled,
    net: &FixedNetwork,
    img: &Planes,
) -> Result<Measured> {
    let mut dev = accel::device(kind, cfg)?;
    dev.load(&compiled.image.to_bytes(cfg)).map_err(|e| anyhow!("{}: {e}", cfg.name))?;
    let mut strips = Vec::new();
    run_image(dev.as_mut(), img, compiled.halo, compiled.width_cap, crate::board::scale(net), net.out_ch, |s, k| {
        strips.push((s.job, k.clone()))
    })
    .map_err(|e| anyhow!("{}: {e}", cfg.name))?;
    Ok(Measured { source: format!("simulator ({kind:?})"), strips, link: None })
}

/// The image through a board (or a virtual one) over `link`: one strip at a time, because a
/// board's counters describe its last strip only, and the counters read after each.
pub fn measure_link(
    link: Link,
    want: &HwConfig,
    compiled: &Compiled,
    net: &FixedNetwork,
    img: &Planes,
    baud: u32,
) -> Result<Measured> {
    if img.channels != net.in_ch {
        bail!("the image has {} channels, the model takes {}", img.channels, net.in_ch);
    }
    let mut session = Session::open(link, want, net, compiled, &SessionOptions { baud, strip_width: None })?;
    session.restart_clock();
    let r = crate::board::scale(net);
    let mut strips = Vec::new();
    for s in plan(img.width, img.height, compiled.width_cap, compiled.halo).map_err(|e| anyhow!(e))? {
        let (_, out_len) = strip_link_bytes(net, r, &s.job);
        let work =
            StripWork { job: s.job, input: img.crop(0, s.x0, img.height, s.job.width).data, out_len: out_len as usize };
        let mut got = None;
        session.client.run_strips(std::slice::from_ref(&work), |_, bytes| got = Some(bytes.len()))?;
        if got != Some(out_len as usize) {
            bail!("{}: a strip came back with {got:?} bytes, {out_len} expected", session.client.name);
        }
        strips.push((s.job, session.client.counters()?));
    }
    let st = &session.client.stats;
    let link = MeasuredLink {
        sent_bytes: LinkStats::get(&st.sent),
        received_bytes: LinkStats::get(&st.received),
        seconds: session.elapsed().as_secs_f64(),
    };
    Ok(Measured { source: format!("board: {}", session.client.name), strips, link: Some(link) })
}

#[derive(Debug, Clone, Serialize)]
pub struct LayerProfile {
    pub name: String,
    /// binary, conv, tail, or sequencer (input rows, wavefront steps, strip setup).
    pub kind: &'static str,
    pub cycles: u64,
    pub predicted_cycles: u64,
    /// Busy PE-cycles (binary) or MAC-lane-cycles (full precision), from the counters.
    pub busy: u64,
    pub share: f64,
    /// Busy unit-cycles over the layer's unit-cycles (PEs or MAC lanes).
    pub utilisation: f64,
    /// Binary layers: binary MACs over the array's P·S lane-cycles in the layer's cycles.
    pub lane_utilisation: Option<f64>,
    /// Binary MACs (XNOR-popcount lanes) or 16×16 MACs, by `mac_kind`.
    pub macs: u64,
    pub mac_kind: &'static str,
    /// Bytes the layer reads from on-chip memory (cost model, see `row_read_bytes`).
    pub onchip_read_bytes: u64,
    /// Strip pixels this layer moves over the host link (the head takes the input, the tail
    /// gives the output).
    pub link_bytes: u64,
    /// MACs per on-chip byte.
    pub intensity: Option<f64>,
    /// MACs per second at the design clock.
    pub macs_per_s: f64,
    /// Which roof is lower at this layer's intensity: array or memory.
    pub roof: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub model: String,
    pub design: String,
    pub source: String,
    pub width: usize,
    pub height: usize,
    pub strips: usize,
    pub clock_mhz: f64,
    /// Where the clock comes from: the preset's target, or a build report's Fmax.
    pub clock_from: String,
    pub total_cycles: u64,
    pub stall_cycles: u64,
    pub predicted_cycles: u64,
    /// (measured − predicted) / predicted.
    pub model_error: f64,
    pub engine_seconds: f64,
    pub frames_per_s: f64,
    pub link_bytes_in: u64,
    pub link_bytes_out: u64,
    pub baud: u32,
    pub link_seconds: f64,
    /// Frames per second when link and engine overlap (the slower of the two sets the pace).
    pub frames_per_s_with_link: f64,
    pub measured_link: Option<MeasuredLink>,
    pub bound: &'static str,
    pub bound_reason: String,
    pub peak_binary_macs_per_s: f64,
    pub peak_fp_macs_per_s: f64,
    pub onchip_read_bytes_per_s: f64,
    pub link_bytes_per_s: f64,
    pub layers: Vec<LayerProfile>,
    /// Whether the measurement had per-op counters (an engine without them,
    /// `HwConfig::op_counters`, gives the strip's totals only: its layers' cycles are then 0
    /// and the sequencer row holds the whole).
    pub per_op_counters: bool,
}

/// Bytes per second the memories can deliver: one read per port per cycle, each memory as
/// wide as this design makes it.
pub fn onchip_read_bandwidth(c: &HwConfig) -> f64 {
    let bits = 16 + 16 + c.lanes + c.pes * c.lanes + 16 * c.fp_lanes + 16 + 16 + 8;
    bits as f64 / 8.0 * c.clock_mhz * 1e6
}

/// The clock a report uses: a build report's worst Fmax when given (bitstreams' report.json),
/// else the preset's target.
pub fn clock(cfg: &HwConfig, report: Option<&Path>) -> Result<(f64, String)> {
    let Some(path) = report else {
        return Ok((cfg.clock_mhz, format!("the {} preset's target clock", cfg.name)));
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not a build report (JSON)", path.display()))?;
    let fmax = v
        .get("clocks")
        .and_then(|c| c.as_array())
        .map(|cs| cs.iter().filter_map(|c| c.get("fmax_mhz")?.as_f64()).fold(f64::INFINITY, f64::min))
        .filter(|f| f.is_finite() && *f > 0.0)
        .with_context(|| format!("{}: no clocks[].fmax_mhz in the build report", path.display()))?;
    Ok((fmax, format!("Fmax of {}", path.display())))
}

pub struct ProfileInput<'a> {
    pub model: &'a str,
    pub cfg: &'a HwConfig,
    pub compiled: &'a Compiled,
    pub net: &'a FixedNetwork,
    pub width: usize,
    pub height: usize,
    pub clock_mhz: f64,
    pub clock_from: String,
    pub baud: u32,
}

impl Profile {
    pub fn build(i: &ProfileInput, m: Measured) -> Result<Profile> {
        let (cfg, c) = (i.cfg, i.compiled);
        let n = c.program.ops.len();
        if m.strips.is_empty() {
            bail!("no strip was run");
        }
        let strips: Vec<Strip> = plan(i.width, i.height, c.width_cap, c.halo).map_err(|e| anyhow!(e))?;
        let pred = predict_strips(cfg, &c.program, &strips)?;
        let r = crate::board::scale(i.net);
        let (mut cyc, mut busy) = (vec![0u64; n + 1], vec![0u64; n + 1]);
        let (mut total, mut stall, mut bin, mut bout) = (0, 0, 0, 0);
        let per_op_counters = m.strips.iter().all(|(_, k)| !k.layer_cycles.is_empty());
        for (job, k) in &m.strips {
            total += k.total_cycles;
            stall += k.stall_cycles;
            for l in 0..=n {
                cyc[l] += k.layer_cycles.get(l).copied().unwrap_or(0);
                busy[l] += k.layer_busy.get(l).copied().unwrap_or(0);
            }
            // Some devices (Verilator) count the ops only: the sequencer has the rest.
            if k.layer_cycles.len() <= n {
                cyc[n] += k.total_cycles.saturating_sub(k.layer_cycles.iter().take(n).sum());
            }
            let (a, b) = strip_link_bytes(i.net, r, job);
            bin += a;
            bout += b;
        }
        let f = i.clock_mhz * 1e6;
        let clocked = HwConfig { clock_mhz: i.clock_mhz, ..cfg.clone() };
        let (peak_b, peak_fp) = (clocked.peak_binary_macs(), cfg.fp_lanes as f64 * f);
        let bw = onchip_read_bandwidth(&clocked);
        let mut layers = Vec::new();
        let (mut array_cycles, mut memory_cycles) = (0u64, 0u64);
        for l in 0..=n {
            let op = c.program.ops.get(l);
            let (kind, name) = match op.map(|o| o.kind) {
                Some(OpKind::Binary) => ("binary", c.names[l].clone()),
                Some(OpKind::Conv) => ("conv", c.names[l].clone()),
                Some(OpKind::Tail) => ("tail", c.names[l].clone()),
                None => ("sequencer", "(sequencer)".to_string()),
            };
            let (macs, mac_kind, units, peak) = match op {
                // Every valid tap of a binary op issues `q_src` words covering `cin` lanes.
                Some(o) if o.kind == OpKind::Binary => {
                    (busy[l] * o.cin as u64 / o.q_src as u64, "binary", cfg.pes, peak_b)
                }
                Some(_) => (busy[l], "fp", cfg.fp_lanes, peak_fp),
                None => (0, "-", 1, 0.0),
            };
            let secs = cyc[l] as f64 / f;
            let read = pred.layer_read_bytes[l];
            let intensity = (read > 0 && macs > 0).then(|| macs as f64 / read as f64);
            let roof = match intensity {
                Some(x) if bw * x < peak => "memory",
                Some(_) => "array",
                None => "-",
            };
            match roof {
                "memory" => memory_cycles += cyc[l],
                "array" => array_cycles += cyc[l],
                _ => {}
            }
            let link_bytes = match op.map(|o| o.kind) {
                _ if l == 0 => bin,
                Some(OpKind::Tail) => bout,
                _ => 0,
            };
            layers.push(LayerProfile {
                name,
                kind,
                cycles: cyc[l],
                predicted_cycles: pred.layer_cycles[l],
                busy: busy[l],
                share: cyc[l] as f64 / total.max(1) as f64,
                utilisation: if op.is_some() { busy[l] as f64 / (cyc[l].max(1) * units as u64) as f64 } else { 0.0 },
                lane_utilisation: (mac_kind == "binary")
                    .then(|| macs as f64 / (cyc[l].max(1) * (cfg.pes * cfg.lanes) as u64) as f64),
                macs,
                mac_kind,
                onchip_read_bytes: read,
                link_bytes,
                intensity,
                macs_per_s: if secs > 0.0 { macs as f64 / secs } else { 0.0 },
                roof,
            });
        }
        let engine_seconds = total as f64 / f;
        let link_s = link_seconds(bin + bout, i.baud);
        let overhead: u64 = layers.iter().filter(|l| l.roof == "-").map(|l| l.cycles).sum();
        let (bound, bound_reason) = if link_s > engine_seconds {
            (
                "link",
                format!(
                    "the link needs {link_s:.4} s per frame at {} baud ({} bytes), the engine {engine_seconds:.4} s",
                    i.baud,
                    bin + bout
                ),
            )
        } else if memory_cycles > array_cycles {
            (
                "memory",
                format!(
                    "the engine ({engine_seconds:.4} s) outlasts the link ({link_s:.4} s); layers under the memory roof hold {:.0} % of the cycles, under the array roof {:.0} %",
                    100.0 * memory_cycles as f64 / total.max(1) as f64,
                    100.0 * array_cycles as f64 / total.max(1) as f64
                ),
            )
        } else {
            (
                "array",
                format!(
                    "the engine ({engine_seconds:.4} s) outlasts the link ({link_s:.4} s); layers under the array roof hold {:.0} % of the cycles, under the memory roof {:.0} %, sequencer {:.0} %",
                    100.0 * array_cycles as f64 / total.max(1) as f64,
                    100.0 * memory_cycles as f64 / total.max(1) as f64,
                    100.0 * overhead as f64 / total.max(1) as f64
                ),
            )
        };
        Ok(Profile {
            model: i.model.to_string(),
            design: cfg.name.clone(),
            source: m.source,
            width: i.width,
            height: i.height,
            strips: m.strips.len(),
            clock_mhz: i.clock_mhz,
            clock_from: i.clock_from.clone(),
            total_cycles: total,
            stall_cycles: stall,
            predicted_cycles: pred.total_cycles,
            model_error: (total as f64 - pred.total_cycles as f64) / pred.total_cycles.max(1) as f64,
            engine_seconds,
            frames_per_s: 1.0 / engine_seconds,
            link_bytes_in: bin,
            link_bytes_out: bout,
            baud: i.baud,
            link_seconds: link_s,
            frames_per_s_with_link: 1.0 / engine_seconds.max(link_s),
            measured_link: m.link,
            bound,
            bound_reason,
            peak_binary_macs_per_s: peak_b,
            peak_fp_macs_per_s: peak_fp,
            onchip_read_bytes_per_s: bw,
            link_bytes_per_s: bytes_per_second(i.baud),
            layers,
            per_op_counters,
        })
    }

    /// Totals of a kind of layer: (cycles, macs, lane-cycles available).
    pub fn binary_lane_utilisation(&self, cfg: &HwConfig) -> f64 {
        let (macs, cyc) = self
            .layers
            .iter()
            .filter(|l| l.kind == "binary")
            .fold((0u64, 0u64), |(m, c), l| (m + l.macs, c + l.cycles));
        macs as f64 / (cyc.max(1) * (cfg.pes * cfg.lanes) as u64) as f64
    }

    pub fn table(&self) -> String {
        let mut s = format!(
            "{} on {} ({}), {}x{} in {} strip(s)\n",
            self.model, self.design, self.source, self.width, self.height, self.strips
        );
        s += &format!(
            "  {:<22} {:>9} {:>12} {:>6} {:>6} {:>6} {:>14} {:>12} {:>10} {:>7}\n",
            "layer", "kind", "cycles", "share", "util", "lanes", "MACs", "on-chip B", "link B", "roof"
        );
        for l in &self.layers {
            let lanes = l.lane_utilisation.map_or("-".into(), |u| format!("{:.1}%", 100.0 * u));
            let util = if l.kind == "sequencer" { "-".into() } else { format!("{:.1}%", 100.0 * l.utilisation) };
            let macs = if l.macs > 0 {
                format!("{} {}", l.macs, if l.mac_kind == "binary" { "b" } else { "fp" })
            } else {
                "-".into()
            };
            s += &format!(
                "  {:<22} {:>9} {:>12} {:>5.1}% {:>6} {:>6} {:>14} {:>12} {:>10} {:>7}\n",
                l.name,
                l.kind,
                l.cycles,
                100.0 * l.share,
                util,
                lanes,
                macs,
                l.onchip_read_bytes,
                l.link_bytes,
                l.roof
            );
        }
        s += &format!(
            "total: {} cycles ({} stall; cycle model {}, {:+.3} %); at {:.2} MHz ({}) {:.4} s per frame, {:.2} frames/s\n",
            self.total_cycles,
            self.stall_cycles,
            self.predicted_cycles,
            100.0 * self.model_error,
            self.clock_mhz,
            self.clock_from,
            self.engine_seconds,
            self.frames_per_s
        );
        s += &format!(
            "link: {} bytes in + {} out at {} baud = {:.4} s per frame; with the link {:.2} frames/s\n",
            self.link_bytes_in, self.link_bytes_out, self.baud, self.link_seconds, self.frames_per_s_with_link
        );
        if let Some(m) = &self.measured_link {
            s += &format!(
                "measured on the link: {} bytes sent, {} received in {:.2} s (strips one at a time, counters read after each)\n",
                m.sent_bytes, m.received_bytes, m.seconds
            );
        }
        if !self.per_op_counters {
            s += &format!(
                "per-op counters: none on {} (it counts the strip's totals only); `--sim seqfw` gives them, cycle for cycle\n",
                self.design
            );
        }
        s += &format!("bound: {} ({})\n", self.bound, self.bound_reason);
        s
    }
}

/// Compiles `net` for `cfg`, with the one-line error the CLI prints.
pub fn compile_for(net: &FixedNetwork, cfg: &HwConfig, model: &str) -> Result<Compiled> {
    compile(net, cfg).map_err(|e| anyhow!("{model}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// HTML report

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn chart_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("chart: {e:?}")
}

fn kind_colour(kind: &str) -> plotters::style::RGBColor {
    use plotters::style::RGBColor;
    match kind {
        "binary" => RGBColor(31, 119, 180),
        "conv" | "tail" => RGBColor(255, 127, 14),
        _ => RGBColor(127, 127, 127),
    }
}

/// Per-layer cycles as horizontal bars (layer names read across), coloured by kind.
pub fn cycle_chart(p: &Profile) -> Result<String> {
    use plotters::prelude::*;
    let mut svg = String::new();
    {
        let n = p.layers.len();
        let height = (90 + 24 * n).max(260) as u32;
        let root = SVGBackend::with_string(&mut svg, (960, height)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let xmax = p.layers.iter().map(|l| l.cycles).max().unwrap_or(1).max(1) * 11 / 10;
        let names: Vec<String> = p.layers.iter().map(|l| l.name.clone()).collect();
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("Cycles per layer: {} on {}", p.model, p.design), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(170)
            .build_cartesian_2d(0u64..xmax, (0..n).into_segmented())
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .y_labels(n)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .x_desc("cycles")
            .draw()
            .map_err(chart_err)?;
        chart
            .draw_series(p.layers.iter().enumerate().map(|(i, l)| {
                let mut bar = Rectangle::new(
                    [(0, SegmentValue::Exact(i)), (l.cycles, SegmentValue::Exact(i + 1))],
                    kind_colour(l.kind).filled(),
                );
                bar.set_margin(3, 3, 0, 0);
                bar
            }))
            .map_err(chart_err)?;
        root.present().map_err(chart_err)?;
    }
    Ok(svg)
}

/// A roof of the roofline: its legend, its line, its colour.
type Roof = (String, Vec<(f64, f64)>, plotters::style::RGBColor);

/// The roofline: MACs/s against MACs per byte on log axes, the array and MAC-lane peaks, the
/// on-chip read bandwidth and the host link as roofs; each layer a point at its on-chip
/// intensity, the whole run a point at its intensity on the link.
pub fn roofline_chart(p: &Profile) -> Result<String> {
    use plotters::prelude::*;
    let pts: Vec<(&LayerProfile, f64)> = p.layers.iter().filter_map(|l| l.intensity.map(|x| (l, x))).collect();
    let total_macs: u64 = p.layers.iter().map(|l| l.macs).sum();
    let link_bytes = (p.link_bytes_in + p.link_bytes_out).max(1);
    let run_x = total_macs as f64 / link_bytes as f64;
    let run_y = total_macs as f64 / p.engine_seconds.max(p.link_seconds);
    let xs = pts.iter().map(|(_, x)| *x).chain([run_x]);
    let (xmin, xmax) = xs.fold((f64::INFINITY, 0f64), |(a, b), x| (a.min(x), b.max(x)));
    let (xmin, xmax) = ((xmin / 4.0).max(1e-3), (xmax * 4.0).max(1.0));
    let ys = pts.iter().map(|(l, _)| l.macs_per_s).chain([run_y, p.peak_fp_macs_per_s]).filter(|y| *y > 0.0);
    let ymin = ys.fold(f64::INFINITY, f64::min) / 4.0;
    let ymax = p.peak_binary_macs_per_s * 4.0;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("Roofline at {:.1} MHz: {} on {}", p.clock_mhz, p.model, p.design), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(90)
            .build_cartesian_2d((xmin..xmax).log_scale(), (ymin..ymax).log_scale())
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .x_desc("arithmetic intensity (MACs per byte)")
            .y_desc("MACs per second")
            .light_line_style(WHITE)
            .y_label_formatter(&|y| format!("{y:.1e}"))
            .x_label_formatter(&|x| format!("{x:.3}"))
            .draw()
            .map_err(chart_err)?;
        // A slope roof y = k·x, cut to the plotted window.
        let slope = |k: f64| -> Vec<(f64, f64)> {
            let (a, b) = (xmin.max(ymin / k), xmax.min(ymax / k));
            if a < b {
                vec![(a, k * a), (b, k * b)]
            } else {
                vec![]
            }
        };
        let roofs: [Roof; 4] = [
            (
                format!("array peak P·S·f = {:.2e} binary MACs/s", p.peak_binary_macs_per_s),
                vec![(xmin, p.peak_binary_macs_per_s), (xmax, p.peak_binary_macs_per_s)],
                RGBColor(31, 119, 180),
            ),
            (
                format!("MAC lanes M·f = {:.2e} MACs/s", p.peak_fp_macs_per_s),
                vec![(xmin, p.peak_fp_macs_per_s), (xmax, p.peak_fp_macs_per_s)],
                RGBColor(255, 127, 14),
            ),
            (
                format!("on-chip reads {:.2e} B/s", p.onchip_read_bytes_per_s),
                slope(p.onchip_read_bytes_per_s),
                RGBColor(44, 160, 44),
            ),
            (format!("host link {:.2e} B/s", p.link_bytes_per_s), slope(p.link_bytes_per_s), RGBColor(214, 39, 40)),
        ];
        for (label, line, colour) in roofs {
            if line.is_empty() {
                continue;
            }
            chart
                .draw_series(LineSeries::new(line, colour.stroke_width(2)))
                .map_err(chart_err)?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        }
        // Layers of the same shape land on one spot: one marker, one label naming them all.
        let mut spots: Vec<(f64, f64, &str, Vec<&str>)> = Vec::new();
        for (l, x) in &pts {
            match spots.iter_mut().find(|s| s.0 == *x && s.1 == l.macs_per_s && s.2 == l.mac_kind) {
                Some(s) => s.3.push(&l.name),
                None => spots.push((*x, l.macs_per_s, l.mac_kind, vec![&l.name])),
            }
        }
        for kind in ["binary", "fp"] {
            let colour = kind_colour(if kind == "binary" { "binary" } else { "conv" });
            chart
                .draw_series(spots.iter().filter(|s| s.2 == kind).map(|(x, y, _, names)| {
                    let label = match names.len() {
                        1 => names[0].to_string(),
                        k => format!("{} (+{} alike)", names[0], k - 1),
                    };
                    EmptyElement::at((*x, *y))
                        + Circle::new((0, 0), 4, colour.filled())
                        + Text::new(label, (6, -6), ("sans-serif", 10))
                }))
                .map_err(chart_err)?
                .label(if kind == "binary" { "binary layers (on-chip intensity)" } else { "full-precision layers" })
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, colour.filled()));
        }
        let red = RGBColor(214, 39, 40);
        chart
            .draw_series(std::iter::once(TriangleMarker::new((run_x, run_y), 7, red.filled())))
            .map_err(chart_err)?
            .label("whole run (all MACs per link byte)")
            .legend(move |(x, y)| TriangleMarker::new((x + 10, y), 6, red.filled()));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(chart_err)?;
        root.present().map_err(chart_err)?;
    }
    Ok(svg)
}

/// The whole report as one HTML file: summary, per-layer table, the two charts inline. It
/// references nothing outside itself, and is well-formed XML (the test parses it so).
pub fn html(p: &Profile) -> Result<String> {
    let bars = cycle_chart(p)?;
    let roof = roofline_chart(p)?;
    let mut rows = String::new();
    for l in &p.layers {
        rows += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1} %</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&l.name),
            l.kind,
            l.cycles,
            l.predicted_cycles,
            100.0 * l.share,
            if l.kind == "sequencer" { "-".to_string() } else { format!("{:.1} %", 100.0 * l.utilisation) },
            l.lane_utilisation.map_or("-".into(), |u| format!("{:.1} %", 100.0 * u)),
            if l.macs > 0 { format!("{} ({})", l.macs, l.mac_kind) } else { "-".into() },
            l.onchip_read_bytes,
            l.link_bytes,
            l.roof
        );
    }
    let link = p.measured_link.as_ref().map_or(String::new(), |m| {
        format!(
            "<tr><th>measured on the link</th><td>{} bytes sent, {} received in {:.2} s (one strip at a time)</td></tr>",
            m.sent_bytes, m.received_bytes, m.seconds
        )
    });
    Ok(format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<title>bbcu profile: {model} on {design}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }}
th {{ background: #f0f0f0; text-align: left; }}
td:first-child {{ text-align: left; }}
</style>
</head>
<body>
<h1>{model} on {design}</h1>
<table>
<tr><th>counters from</th><td>{source}</td></tr>
<tr><th>image</th><td>{w}×{h}, {strips} strip(s)</td></tr>
<tr><th>cycles</th><td>{total} ({stall} stall); cycle model {pred} ({err:+.3} %)</td></tr>
<tr><th>clock</th><td>{mhz:.2} MHz ({clock_from})</td></tr>
<tr><th>engine</th><td>{secs:.4} s per frame, {fps:.2} frames/s</td></tr>
<tr><th>host link</th><td>{bin} bytes in + {bout} out at {baud} baud: {lsecs:.4} s per frame; {fpsl:.2} frames/s with the link</td></tr>
{link}
<tr><th>bound</th><td><b>{bound}</b>: {reason}</td></tr>
</table>
<h2>Layers</h2>
<p>util: busy PE-cycles (binary) or MAC-lane-cycles (full precision) over the layer's cycles
times the units; lanes: binary MACs over P·S lane-cycles. On-chip bytes are the cost model's
reads (activation and weight words per issued cycle, constants and residuals per output);
link bytes are the strip pixels (input at the head, output at the tail). The sequencer row is
the engine's own time: input rows, wavefront steps, strip setup.</p>
<table>
<tr><th>layer</th><th>kind</th><th>cycles</th><th>model</th><th>share</th><th>util</th><th>lanes</th><th>MACs</th><th>on-chip B</th><th>link B</th><th>roof</th></tr>
{rows}</table>
<h2>Cycles per layer</h2>
{bars}
<h2>Roofline</h2>
<p>Roofs: the array's P·S binary MACs per cycle, the M full-precision MAC lanes, the on-chip
memories' read bandwidth (one read per memory port per cycle) and the host link. A layer is
memory-bound when the memory roof at its intensity lies below its peak. The run is link-bound
when moving its pixels takes longer than computing them.</p>
{roof}
</body>
</html>
"#,
        model = esc(&p.model),
        design = esc(&p.design),
        source = esc(&p.source),
        w = p.width,
        h = p.height,
        strips = p.strips,
        total = p.total_cycles,
        stall = p.stall_cycles,
        pred = p.predicted_cycles,
        err = 100.0 * p.model_error,
        mhz = p.clock_mhz,
        clock_from = esc(&p.clock_from),
        secs = p.engine_seconds,
        fps = p.frames_per_s,
        bin = p.link_bytes_in,
        bout = p.link_bytes_out,
        baud = p.baud,
        lsecs = p.link_seconds,
        fpsl = p.frames_per_s_with_link,
        bound = p.bound,
        reason = esc(&p.bound_reason),
    ))
}
