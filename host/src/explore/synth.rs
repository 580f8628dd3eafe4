//! `explore --synth N`: the N fastest candidates of the Pareto front, elaborated and run
//! through Yosys with the script a board build uses, so the estimate of each can be checked
//! against what synthesis makes of it.
//!
//! Rust-HDL fixes the array shape and memory widths at compile time, so each candidate's engine
//! is a type of its own: the candidates' configurations go to `hdl/shapes` (built with cargo
//! from this source tree), which writes their Verilog; the Yosys runs then go in parallel.

use super::{capacity, shown_front, Candidate};
use anyhow::{bail, Context, Result};
use bbcu_boards::board::Board;
use bbcu_boards::flow::{synthesise, Synthesis};
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One candidate: the estimate beside the synthesis (or why synthesis failed).
#[derive(Debug, Clone, Serialize)]
pub struct SynthRow {
    pub name: String,
    pub pes: usize,
    pub lanes: usize,
    pub fp_lanes: usize,
    pub frames_per_s: f64,
    pub estimate_lut: u64,
    pub estimate_ff: u64,
    pub estimate_ram_blocks: u64,
    pub estimate_dsp: u64,
    pub synthesis: Option<Synthesis>,
    pub error: Option<String>,
    /// Within the device's LUTs, RAM blocks, SPRAMs and DSPs after synthesis (before
    /// place-and-route, which can still fail on routing or timing).
    pub fits_after_synthesis: Option<bool>,
}

/// The candidates `--synth` takes: the front `describe` prints (the fitting ones when any fit),
/// fastest first.
pub fn top(cands: &[Candidate], n: usize) -> Vec<&Candidate> {
    shown_front(cands).0.into_iter().rev().take(n).collect()
}

/// The workspace this binary was built from: `hdl/shapes` elaborates the candidates.
fn source_root() -> Result<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if !root.join("hdl/shapes/Cargo.toml").is_file() {
        bail!(
            "explore --synth: each candidate's engine is compiled from the bbcu source tree, and {} has no hdl/shapes",
            root.display()
        );
    }
    Ok(root)
}

/// Writes every candidate's Verilog to `out/<name>/engine.v` by building `hdl/shapes` for
/// their configurations (with this binary's profile, so its build is reused).
fn elaborate(cands: &[&Candidate], out: &Path) -> Result<()> {
    let root = source_root()?;
    let configs = out.join("configs");
    std::fs::create_dir_all(&configs).with_context(|| format!("{}: cannot create", configs.display()))?;
    let configs = configs.canonicalize().with_context(|| format!("{}", configs.display()))?;
    let mut paths = Vec::new();
    for c in cands {
        c.config.engine_shape().with_context(|| format!("candidate {}", c.config.name))?;
        let p = configs.join(format!("{}.toml", c.config.name));
        std::fs::write(&p, c.config.to_toml()).with_context(|| format!("{}: cannot write", p.display()))?;
        paths.push(p);
    }
    let shapes = std::env::join_paths(&paths).context("a configuration path holds the path separator")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.args(["run", "-q", "-p", "bbcu-shapes"]);
    if !cfg!(debug_assertions) {
        cmd.arg("--release");
    }
    let out_abs = out.canonicalize().with_context(|| format!("{}", out.display()))?;
    cmd.arg("--").arg(&out_abs).current_dir(&root).env("BBCU_SHAPES", shapes);
    eprintln!("explore: elaborating {} engine(s) with cargo (hdl/shapes)...", cands.len());
    let o = cmd
        .output()
        .with_context(|| format!("explore --synth: running {} (it builds hdl/shapes)", Path::new(&cargo).display()))?;
    if !o.status.success() {
        let err = String::from_utf8_lossy(&o.stderr);
        let last = err.lines().rev().find(|l| l.contains("error")).unwrap_or("no error line").trim().to_string();
        bail!("explore --synth: building hdl/shapes failed ({}): {last}", o.status);
    }
    Ok(())
}

/// Elaborates and synthesises `cands` for `board`, `jobs` Yosys runs at a time; results in
/// `out/<name>/` (engine.v, design.json, synth/yosys.log).
pub fn run(cands: &[&Candidate], board: &str, out: &Path, jobs: usize) -> Result<Vec<SynthRow>> {
    let board = Board::find(board)?;
    let cap = capacity(&board.preset)?;
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    elaborate(cands, out)?;
    // Each Yosys run is a process; the pool only bounds how many go at once.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs.max(1)).build().context("starting the Yosys jobs")?;
    Ok(pool.install(|| {
        cands
            .par_iter()
            .map(|c| {
                let dir = out.join(&c.config.name);
                let r = synthesise(&dir.join("engine.v"), "top", &board, &dir.join("synth"));
                let fits = r.as_ref().ok().map(|y| {
                    y.luts <= cap.lut && y.ram_blocks <= cap.ram_blocks && y.spram <= cap.spram && y.dsp <= cap.dsp
                });
                let (synthesis, error) = match r {
                    Ok(y) => (Some(y), None),
                    Err(e) => (None, Some(e.to_string())),
                };
                SynthRow {
                    name: c.config.name.clone(),
                    pes: c.pes,
                    lanes: c.lanes,
                    fp_lanes: c.fp_lanes,
                    frames_per_s: c.frames_per_s,
                    estimate_lut: c.lut,
                    estimate_ff: c.ff,
                    estimate_ram_blocks: c.ram_blocks,
                    estimate_dsp: c.dsp,
                    synthesis,
                    error,
                    fits_after_synthesis: fits,
                }
            })
            .collect()
    }))
}

/// The table `--synth` prints: estimate / synthesised, and the LUT estimate's error.
pub fn describe(rows: &[SynthRow], board: &str) -> String {
    let mut s = format!(
        "synthesised with Yosys as `bbcu-host build --board {board}` would (before place-and-route):\n  {:>2} {:>3} {:>2} {:>15} {:>7} {:>15} {:>11} {:>9} {:>6} {:>8}  {}\n",
        "P", "S", "M", "LUT4 est/synth", "LUT err", "FF est/synth", "RAM est/syn", "DSP e/s", "SPRAM", "yosys s", "fits"
    );
    for r in rows {
        match (&r.synthesis, &r.error) {
            (Some(y), _) => {
                let err = 100.0 * (r.estimate_lut as f64 - y.luts as f64) / y.luts.max(1) as f64;
                s += &format!(
                    "  {:>2} {:>3} {:>2} {:>7}/{:<7} {:>+6.1}% {:>7}/{:<7} {:>5}/{:<5} {:>4}/{:<4} {:>6} {:>8.0}  {}\n",
                    r.pes,
                    r.lanes,
                    r.fp_lanes,
                    r.estimate_lut,
                    y.luts,
                    err,
                    r.estimate_ff,
                    y.ffs,
                    r.estimate_ram_blocks,
                    y.ram_blocks,
                    r.estimate_dsp,
                    y.dsp,
                    y.spram,
                    y.seconds,
                    if r.fits_after_synthesis == Some(true) { "yes" } else { "no" }
                );
            }
            (None, e) => {
                s += &format!(
                    "  {:>2} {:>3} {:>2} synthesis failed: {}\n",
                    r.pes,
                    r.lanes,
                    r.fp_lanes,
                    e.as_deref().unwrap_or("?")
                )
            }
        }
    }
    s
}
