//! `bbcu-host build --board B`: the board top-level (UART, protocol engine, engine of the
//! board's preset) behind a PLL at the preset's clock, through Yosys, nextpnr and the packer,
//! into `bitstreams/<board>/`: the bitstream, `report.json` (resources, Fmax per clock, tool
//! versions, seed, run times) and `board.json` (what the host needs to talk to it, and the
//! command that rebuilds it). A design that misses timing or does not fit fails with the
//! numbers, and leaves the committed files alone.

use anyhow::{anyhow, bail, Context, Result};
use bbcu_arch::{DesignInfo, HwConfig};
use bbcu_boards::board::{ports, Family};
use bbcu_boards::{flow, pll, Board, Report};
use bbcu_hdl::uart::Baud;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The rate the boards' USB-serial bridges all reach and the host uses by default.
pub const DEFAULT_BAUD: u64 = 3_000_000;
/// A frame with bytes missing is given up after this long (docs/protocol.md).
const STALE_SECONDS: f64 = 0.2;
/// The engine's Verilog module name inside the shell.
const CORE: &str = "bbcu_board";

/// `board.json`, next to the bitstream: how the host talks to this build.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BoardBuild {
    pub board: String,
    pub preset: String,
    pub design_hash: String,
    pub clock_mhz: f64,
    pub baud: u64,
    pub uart_divisor: u32,
    pub uart_ticks_per_bit: u32,
    pub seed: u64,
    pub bitstream: String,
    /// CRC-32 of the Verilog the flow built (board top, engine, PLL shell): the design hash
    /// covers the configuration, this the HDL, so a test can tell that an engine change
    /// needs the folder rebuilt without running the flow.
    #[serde(default)]
    pub verilog_crc32: String,
    /// The command that rebuilt this folder, from the repository root.
    pub command: String,
}

/// What `build` hands the flow, decided before any tool runs.
pub struct Design {
    pub board: Board,
    pub cfg: HwConfig,
    pub preset: String,
    pub baud: u64,
    /// The PLL's clock (may sit a little off the preset's round number).
    pub clock_mhz: f64,
    pub timing: Baud,
    /// The whole design: board top-level and engine (module `core`) and the PLL shell (`top`).
    pub verilog: String,
}

impl Design {
    pub fn verilog_crc32(&self) -> String {
        format!("{:08x}", crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(self.verilog.as_bytes()))
    }
}

pub struct BuildOptions {
    pub board: String,
    pub preset: Option<String>,
    pub seed: u64,
    pub baud: Option<u64>,
    pub out: Option<PathBuf>,
}

/// Where `build` writes a board's files unless told otherwise.
pub fn default_dir(board: &Board) -> PathBuf {
    PathBuf::from("bitstreams").join(&board.name)
}

/// The board's bitstream file name.
pub fn bitstream_name(board: &Board) -> &'static str {
    match board.fpga.family {
        Family::Ice40 => "top.bin",
        Family::Ecp5 => "top.bit",
    }
}

/// The UART timing for `baud` at `clock_mhz`, within 1 % (a UART tolerates ~4 % in total).
pub fn uart_timing(clock_mhz: f64, baud: u64) -> Result<Baud> {
    Baud::for_rate((clock_mhz * 1e6).round() as u64, baud, 0.01).ok_or_else(|| {
        anyhow!(
            "{baud} baud cannot be made from {clock_mhz} MHz (needs at least {} clocks per bit within 1 %)",
            bbcu_hdl::uart::MIN_TICKS
        )
    })
}

/// The Verilog `build` would hand the flow, and the settings it follows from.
pub fn design(opts: &BuildOptions) -> Result<Design> {
    let board = Board::find(&opts.board)?;
    let preset = opts.preset.clone().unwrap_or_else(|| board.preset.clone());
    let cfg: HwConfig = crate::accel::config(&preset)?;
    let baud = opts.baud.unwrap_or(DEFAULT_BAUD.min(board.uart.max_baud));
    if baud > board.uart.max_baud {
        bail!("--baud {baud}: board {}'s USB-serial bridge tops out at {} baud", board.name, board.uart.max_baud);
    }
    // The PLL's clock, which may sit a little off the preset's round number.
    let clock_mhz = reachable(&board, cfg.clock_mhz).map_err(|e| anyhow!(e))?;
    if (clock_mhz / cfg.clock_mhz - 1.0).abs() > 0.005 {
        bail!(
            "preset {}: its {} MHz clock is not reachable from board {}'s {} MHz oscillator (closest {clock_mhz:.3} MHz)",
            cfg.name,
            cfg.clock_mhz,
            board.name,
            board.clock.mhz
        );
    }
    let timing = uart_timing(clock_mhz, baud)?;
    let stale = (STALE_SECONDS * clock_mhz * 1e6) as u32;
    let core = bbcu_hdl::generate::board_verilog_at(&cfg, timing, stale, board.leds.active_low)
        .map_err(|e| anyhow!(e))?
        .replacen("module top(", &format!("module {CORE}("), 1);
    let core_ports = ports(&core, CORE)?;
    let (shell, _) = pll::shell(&board, CORE, &core_ports, cfg.clock_mhz).map_err(|e| anyhow!(e))?;
    Ok(Design { board, cfg, preset, baud, clock_mhz, timing, verilog: format!("{core}\n{shell}") })
}

/// Builds the board's bitstream; returns the report and `board.json`'s contents.
pub fn build(opts: &BuildOptions) -> Result<(Report, BoardBuild, PathBuf)> {
    let d = design(opts)?;
    let crc32 = d.verilog_crc32();
    let Design { board, cfg, preset, baud, clock_mhz, timing, verilog } = d;
    let out = opts.out.clone().unwrap_or_else(|| default_dir(&board));
    let work = out.join("work");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let design = work.join("board.v");
    std::fs::write(&design, verilog).with_context(|| format!("writing {}", design.display()))?;
    let report =
        flow::build(&design, "top", &board, &work.join("flow"), &flow::Options { seed: opts.seed, target_mhz: None })?;

    let mut command = format!("bbcu-host build --board {} --seed {}", board.name, opts.seed);
    if opts.preset.is_some() {
        command += &format!(" --preset {preset}");
    }
    if opts.baud.is_some() {
        command += &format!(" --baud {baud}");
    }
    let info = BoardBuild {
        board: board.name.clone(),
        preset: cfg.name.clone(),
        design_hash: format!("{:08x}", DesignInfo::of(&cfg).hash),
        clock_mhz,
        baud,
        uart_divisor: timing.divisor,
        uart_ticks_per_bit: timing.ticks,
        seed: opts.seed,
        bitstream: bitstream_name(&board).into(),
        verilog_crc32: crc32,
        command,
    };
    // Only a complete build replaces the folder's files.
    let flow_dir = work.join("flow");
    let constraints = match board.fpga.family {
        Family::Ice40 => "top.pcf",
        Family::Ecp5 => "top.lpf",
    };
    for name in [bitstream_name(&board), "report.json", constraints] {
        crate::imageio::write_atomic(&out.join(name), &std::fs::read(flow_dir.join(name))?)?;
    }
    let json = serde_json::to_string_pretty(&info)? + "\n";
    crate::imageio::write_atomic(&out.join("board.json"), json.as_bytes())?;
    Ok((report, info, out))
}

fn reachable(board: &Board, mhz: f64) -> Result<f64, String> {
    let none = || format!("no PLL setting makes {mhz} MHz from {} MHz", board.clock.mhz);
    if (mhz - board.clock.mhz).abs() < 1e-9 {
        return Ok(mhz);
    }
    match board.fpga.family {
        Family::Ice40 => pll::ice40(board.clock.mhz, mhz).map(|p| p.f_out_mhz).ok_or_else(none),
        Family::Ecp5 => pll::ecp5(board.clock.mhz, mhz).map(|p| p.f_out_mhz).ok_or_else(none),
    }
}

/// `board.json` of a built board, if there is one.
pub fn load_board_build(dir: &Path) -> Result<BoardBuild> {
    let p = dir.join("board.json");
    let text = std::fs::read_to_string(&p).with_context(|| format!("{}: cannot read", p.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not a board description", p.display()))
}

/// The one-paragraph summary `build` prints.
pub fn summary(r: &Report, b: &BoardBuild, out: &Path) -> String {
    let mut s = format!("{} ({}, preset {}, design {}):", r.board, r.device, b.preset, b.design_hash);
    for (k, u) in &r.resources {
        s += &format!(" {k} {}/{} ({:.0} %),", u.used, u.available, u.percent());
    }
    for c in &r.clocks {
        s += &format!(" clock {} Fmax {:.2} MHz (target {:.2}),", c.name, c.fmax_mhz, c.target_mhz);
    }
    s += &format!(
        " UART {} baud ({} clocks/bit); {} written to {}",
        b.baud,
        b.uart_divisor * b.uart_ticks_per_bit,
        b.bitstream,
        out.display()
    );
    s
}
