//! `run --board sim`: the image through a simulated accelerator, strip by strip, with the
//! hardware's own cycle counters turned into a per-layer report and the throughput the design
//! would reach at its target clock.

use anyhow::{anyhow, Result};
use bbcu_arch::strips::run_image;
use bbcu_arch::{compile, Compiled, Counters, Device, HwConfig, RefDevice};
use bbcu_sim::Planes;
use clap::ValueEnum;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SimKind {
    /// The emitted Verilog under Verilator (fast; needs `apt-get install verilator`).
    Verilator,
    /// rust-hdl's own cycle-accurate simulator (slow: small images).
    Rust,
    /// The instruction-level reference model (the engine's specification).
    Ref,
    /// The fastest: bytes from the CPU engine, counters from the engine's exact cycle model
    /// (`board::modelled`); the same bytes and counters as `ref`.
    Cpu,
    /// The reference model's row loop sequenced by the control-core firmware
    /// (`bbcu_arch::seqfw`, the iCE40 redesign's sequencer, on the model): the same bytes;
    /// the cycles such an engine would take (memories of at most 64 Ki words: the iCE40
    /// presets).
    Seqfw,
}

/// A hardware configuration by preset name or TOML file.
pub fn config(preset: &str) -> Result<HwConfig> {
    let path = std::path::Path::new(preset);
    if preset.ends_with(".toml") || path.exists() {
        Ok(HwConfig::load(path)?)
    } else {
        Ok(HwConfig::preset(preset)?)
    }
}

pub fn device(kind: SimKind, cfg: &HwConfig) -> Result<Box<dyn Device>> {
    Ok(match kind {
        SimKind::Ref => Box::new(RefDevice::new(cfg.clone())),
        SimKind::Cpu => Box::new(crate::board::modelled::ModelledDevice::new(cfg.clone())),
        SimKind::Rust => bbcu_hdl::device::simulated(cfg).map_err(|e| anyhow!(e))?,
        SimKind::Verilator => bbcu_hdl::verilator::verilated(cfg).map_err(|e| anyhow!(e))?,
        SimKind::Seqfw => Box::new(bbcu_arch::seqfw::SeqBoard::empty(cfg).map_err(|e| anyhow!(e))?),
    })
}

/// The counters of every strip of one image, added up.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    pub strips: usize,
    pub total_cycles: u64,
    pub stall_cycles: u64,
    /// Per op: (layer name, cycles, busy PE- or lane-cycles).
    pub layers: Vec<(String, u64, u64)>,
}

impl RunReport {
    fn add(&mut self, names: &[String], k: &Counters) {
        self.strips += 1;
        self.total_cycles += k.total_cycles;
        self.stall_cycles += k.stall_cycles;
        if self.layers.is_empty() {
            self.layers = names.iter().map(|n| (n.clone(), 0, 0)).collect();
        }
        for (l, row) in self.layers.iter_mut().enumerate() {
            row.1 += k.layer_cycles.get(l).copied().unwrap_or(0);
            row.2 += k.layer_busy.get(l).copied().unwrap_or(0);
        }
    }
}

pub struct SimRun {
    pub cfg: HwConfig,
    pub compiled: Compiled,
    dev: Box<dyn Device>,
}

impl SimRun {
    pub fn new(kind: SimKind, cfg: HwConfig, fixed: &bbcu_sim::FixedNetwork, model: &str) -> Result<Self> {
        let compiled = compile(fixed, &cfg).map_err(|e| anyhow!("{model}: {e}"))?;
        let mut dev = device(kind, &cfg)?;
        dev.load(&compiled.image.to_bytes(&cfg)).map_err(|e| anyhow!("{}: {e}", cfg.name))?;
        Ok(SimRun { cfg, compiled, dev })
    }

    pub fn run(
        &mut self,
        img: &Planes,
        scale: usize,
        out_ch: usize,
        mut each: impl FnMut(),
    ) -> Result<(Planes, RunReport)> {
        let mut rep = RunReport::default();
        let names = self.compiled.names.clone();
        let out =
            run_image(self.dev.as_mut(), img, self.compiled.halo, self.compiled.width_cap, scale, out_ch, |_, k| {
                rep.add(&names, k);
                each();
            })
            .map_err(|e| anyhow!("{}: {e}", self.cfg.name))?;
        Ok((out, rep))
    }

    /// The report printed after a run: cycles, per-layer cycles and utilisation, and what the
    /// design would do at its clock.
    pub fn describe(&self, rep: &RunReport, pixels_in: usize) -> String {
        let mhz = self.cfg.clock_mhz;
        let secs = rep.total_cycles as f64 / (mhz * 1e6);
        let mut s = format!(
            "{}: {} cycles in {} strip(s), {} stall; at {mhz} MHz {:.4} s per image ({:.2} frames/s, {:.0} input pixels/s)\n",
            self.cfg.name,
            rep.total_cycles,
            rep.strips,
            rep.stall_cycles,
            secs,
            1.0 / secs,
            pixels_in as f64 / secs
        );
        s += &format!("  {:<20} {:>12} {:>7} {:>11}\n", "layer", "cycles", "share", "utilisation");
        for (name, cyc, busy) in &rep.layers {
            let share = *cyc as f64 / rep.total_cycles.max(1) as f64;
            s += &format!(
                "  {:<20} {:>12} {:>6.1}% {:>10.1}%\n",
                name,
                cyc,
                100.0 * share,
                100.0 * utilisation(&self.cfg, &self.compiled, name, *cyc, *busy)
            );
        }
        s
    }
}

/// Busy unit-cycles over available unit-cycles of one layer: PEs for binary layers, MAC lanes
/// for full-precision ones.
pub fn utilisation(cfg: &HwConfig, c: &Compiled, name: &str, cycles: u64, busy: u64) -> f64 {
    let units = match c.names.iter().position(|n| n == name).map(|i| c.program.ops[i].kind) {
        Some(bbcu_arch::program::OpKind::Binary) => cfg.pes,
        _ => cfg.fp_lanes,
    };
    busy as f64 / (cycles.max(1) * units as u64) as f64
}

/// `bbcu-host generate`: the engine's Verilog and JSON description for a configuration, after
/// checking (when a model is given) that the model fits it. Nothing is written when it does
/// not fit.
pub fn generate(
    cfg: &HwConfig,
    out: &std::path::Path,
    model: Option<(&str, &bbcu_sim::FixedNetwork)>,
) -> Result<String> {
    let mut report = String::new();
    if let Some((name, fixed)) = model {
        let c = compile(fixed, cfg).map_err(|e| anyhow!("{name}: {e}"))?;
        report += &format!("{name} fits {}: strips up to {} columns, halo {}\n", cfg.name, c.width_cap, c.halo);
        for u in &c.usage {
            report += &format!(
                "  {:<10} {:>8} of {:>8} words ({} bits each)\n",
                u.memory, u.used_words, u.capacity_words, u.word_bits
            );
        }
    }
    let verilog = bbcu_hdl::generate::verilog(cfg).map_err(|e| anyhow!(e))?;
    let desc = serde_json::to_string_pretty(&bbcu_hdl::generate::description(cfg))?;
    std::fs::create_dir_all(out).map_err(|e| anyhow!("{}: cannot create the folder: {e}", out.display()))?;
    for (file, text) in [("engine.v", &verilog), ("design.json", &desc)] {
        crate::imageio::write_atomic(&out.join(file), text.as_bytes())?;
    }
    report += &format!(
        "wrote {}/engine.v ({} kB, top module `top`) and design.json (design {:08x})\n",
        out.display(),
        verilog.len() / 1000,
        cfg.design_hash()
    );
    Ok(report)
}
