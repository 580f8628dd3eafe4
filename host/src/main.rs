//! `bbcu-host`: the command-line front door.

use anyhow::{bail, Context, Result};
use bbcu_host::model::{Model, Precision};
use bbcu_host::{bench, eval, imageio, info};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "bbcu-host",
    version,
    about = "Run binarized image-restoration networks (BBCU) on the CPU, a simulator or an FPGA"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Board {
    /// The bit-packed CPU engine (this machine).
    Cpu,
    /// The simulated accelerator.
    Sim,
    /// iCEBreaker (iCE40 UP5K) over UART.
    Ice40,
    /// iCE40-HX8K breakout over UART.
    Ice40Hx8k,
    /// ULX3S (ECP5-85F) over UART.
    Ecp5,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BenchKind {
    /// The CPU engine against PyTorch float.
    Cpu,
    /// The virtual board end to end: frames/s and the share of the link bound reached.
    Board,
}

#[derive(clap::Args)]
struct ModelArgs {
    /// Checkpoint (.pth, official BBCU format). Default: the bundled ×2 SR model.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Residual-alignment factor k (not stored in checkpoints).
    #[arg(long)]
    k: Option<f32>,
    /// Fraction bits of the fixed-point feature words (default: chosen from k).
    #[arg(long)]
    frac: Option<u32>,
}

#[derive(clap::Args)]
struct LinkArgs {
    /// Serial port of the board (or of a virtual board: `bbcu-host board serve --pty`), or an
    /// XDMA device for PCIe (`/dev/xdma0`: frames go to /dev/xdma0_h2c_0 and come from
    /// /dev/xdma0_c2h_0; untested on hardware).
    #[arg(long)]
    port: Option<PathBuf>,
    /// UART baud rate; also sets the timeouts.
    #[arg(long, default_value_t = 3_000_000)]
    baud: u32,
}

#[derive(Subcommand)]
enum BoardCmd {
    /// Serve the board protocol behind a pseudo-terminal, printing its device path. The board
    /// runs the preset's design at its clock: each strip is answered when the engine's cycles
    /// for it would have passed, and the link runs at --baud.
    Serve {
        /// Serve behind a pseudo-terminal (a board's UART).
        #[arg(long)]
        pty: bool,
        /// Serve an emulated XDMA (PCIe) endpoint instead: named pipes PREFIX_h2c_0 and
        /// PREFIX_c2h_0, made when missing; the host then runs with --port PREFIX.
        #[arg(long, value_name = "PREFIX", conflicts_with_all = ["pty", "link"])]
        xdma: Option<PathBuf>,
        /// Also make a symlink at PATH to the pseudo-terminal (removed at exit).
        #[arg(long)]
        link: Option<PathBuf>,
        /// Link rate to model: the board sends no faster than a UART at this rate would
        /// (0: as fast as the pseudo-terminal goes).
        #[arg(long, default_value_t = 3_000_000)]
        baud: u32,
        /// Hardware preset the virtual board reports (ice40-up5k, ice40-hx8k, ecp5-85k, or a
        /// TOML file).
        #[arg(long, default_value = "ice40-up5k")]
        preset: String,
        /// Strips held at once (receiving, queued or computing).
        #[arg(long, default_value_t = 3)]
        slots: usize,
        /// What computes the strips: the CPU engine with the exact cycle model (as fast as the
        /// hardware), the instruction-level reference model, the engine's Verilog under
        /// Verilator, or rust-hdl's simulator (slow) — all the same bytes and counters; or
        /// board-top: the whole hardware board (UART, protocol engine, engine) under Verilator,
        /// speaking the streaming profile (the preset must be one of the engine's instances:
        /// sim-test, ice40-up5k, ecp5-85k).
        #[arg(long, value_enum, default_value = "cpu")]
        sim: ServeSim,
        /// Engine clock in MHz the strips are paced to (default: the preset's clock; 0: answer
        /// as soon as this computer has computed a strip).
        #[arg(long)]
        clock_mhz: Option<f64>,
    },
}

/// What stands behind `board serve`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ServeSim {
    Cpu,
    Ref,
    Verilator,
    Rust,
    BoardTop,
}

#[derive(Subcommand)]
enum Cmd {
    /// Restore one or more images.
    Run {
        #[arg(long, value_enum, default_value = "cpu")]
        board: Board,
        #[command(flatten)]
        model: ModelArgs,
        /// Input image(s), PNG or JPEG. Default: the bundled sample.
        #[arg(long)]
        image: Vec<PathBuf>,
        /// Output PNG (one input).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Output folder (several inputs); files keep their names with a .png extension.
        #[arg(long)]
        out_dir: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "fixed")]
        precision: Precision,
        #[command(flatten)]
        link: LinkArgs,
        /// Widest strip sent to a board, in input columns (default: a quarter of the image
        /// plus the halo, at most what the design allows).
        #[arg(long)]
        strip_width: Option<usize>,
        /// With --board sim: which simulator runs the accelerator.
        #[arg(long, value_enum, default_value = "verilator")]
        sim: bbcu_host::accel::SimKind,
        /// The hardware configuration (a preset name or a TOML file): with --board sim, the
        /// one simulated (default ecp5-85k); with a board, the design it was built from when
        /// not the board's preset (a virtual board of another configuration).
        #[arg(long)]
        preset: Option<String>,
    },
    /// A virtual board, for testing the host driver without hardware.
    #[command(subcommand)]
    Board(BoardCmd),
    /// Write the accelerator's Verilog and JSON description for a hardware configuration,
    /// after checking that the model (if given) fits it.
    Generate {
        /// A preset name (ice40-up5k, ice40-hx8k, ecp5-85k) or a TOML file.
        #[arg(long, default_value = "ecp5-85k")]
        preset: String,
        /// Check that this checkpoint fits and print its memory plan.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Residual-alignment factor of the model (default: its card, else 130).
        #[arg(long)]
        k: Option<f32>,
        /// Output folder for engine.v and design.json.
        #[arg(long, default_value = "generated")]
        out: PathBuf,
    },
    /// Build a board's bitstream: the board top-level (UART, protocol engine, the engine of
    /// the board's preset) behind a PLL, through Yosys, nextpnr and icepack/ecppack, into
    /// bitstreams/<board>/ with report.json and board.json. Fails with the numbers when the
    /// design misses timing or does not fit.
    Build {
        /// A board name or alias (ice40 = icebreaker, ice40-hx8k, ecp5 = ulx3s).
        #[arg(long)]
        board: String,
        /// The accelerator preset (default: the board's, e.g. ice40-up5k for the iCEBreaker).
        #[arg(long)]
        preset: Option<String>,
        /// nextpnr's placement seed (a fixed seed rebuilds the same bitstream).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// UART baud rate (default 3,000,000 or the board's USB-serial limit if lower).
        #[arg(long)]
        baud: Option<u64>,
        /// Output folder (default bitstreams/<board>).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Program a board with its bitstream (iceprog for the iCE40 boards, openFPGALoader for
    /// the ULX3S), into the configuration flash or, with --sram, only until power-off.
    Flash {
        /// A board name or alias (ice40 = icebreaker, ice40-hx8k, ecp5 = ulx3s).
        #[arg(long)]
        board: String,
        /// The bitstream (default: bitstreams/<board>/top.bin, .bit for ECP5).
        #[arg(long)]
        bitstream: Option<PathBuf>,
        /// Load the FPGA's SRAM only (quick; the flash keeps its old design).
        #[arg(long)]
        sram: bool,
    },
    /// PSNR/SSIM of a model on a folder of images, beside the bicubic or degraded baseline.
    Eval {
        #[command(flatten)]
        model: ModelArgs,
        /// Folder of HR images (BasicSR `HR/` + `LR_bicubic/X{s}/` layout used when present).
        #[arg(long)]
        data: PathBuf,
        #[arg(long, value_enum)]
        task: Option<eval::Task>,
        #[arg(long)]
        scale: Option<usize>,
        /// Noise levels (denoise), on the 0–255 scale.
        #[arg(long, value_delimiter = ',')]
        sigma: Vec<f64>,
        /// JPEG qualities (deblock).
        #[arg(long, value_delimiter = ',')]
        quality: Vec<u8>,
        #[arg(long, value_enum, default_value = "fixed")]
        precision: Precision,
        /// Only the first N images.
        #[arg(long)]
        limit: Option<usize>,
        /// Print the report as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Topology, parameter counts and operations of a model.
    Info {
        #[command(flatten)]
        model: ModelArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Time the CPU engine (and PyTorch float, when installed) on the same model and input.
    Bench {
        /// BBCU-M channels and blocks of the synthetic benchmark model.
        #[arg(long, default_value_t = 64)]
        feat: usize,
        #[arg(long, default_value_t = 16)]
        blocks: usize,
        #[arg(long, default_value_t = 4)]
        scale: usize,
        /// LR input size WxH.
        #[arg(long, default_value = "320x180")]
        size: String,
        /// Repetitions (the best time is reported).
        #[arg(long, default_value_t = 3)]
        reps: usize,
        /// Skip the PyTorch comparison.
        #[arg(long)]
        no_torch: bool,
        /// Which measurement: the CPU engine (against PyTorch), or a whole image through the
        /// virtual board over a link paced to --baud (frames/s against the link bound).
        #[arg(long, value_enum, default_value = "cpu")]
        only: BenchKind,
        /// Virtual board: the model (default: the bundled ×2 SR model).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Virtual board: the hardware preset it runs.
        #[arg(long, default_value = "ecp5-85k")]
        preset: String,
        /// Virtual board: the link rate.
        #[arg(long, default_value_t = 3_000_000)]
        baud: u32,
        /// Virtual board: LR input size WxH.
        #[arg(long, default_value = "256x256")]
        board_size: String,
        /// Virtual board: run the engine at this clock instead of the preset's (a what-if: the
        /// design hash changes with it, as for a bitstream built at that clock).
        #[arg(long)]
        clock_mhz: Option<f64>,
    },
    // --- profile / explore (issue 7) ---
    /// Per-layer cycles, utilisation, MACs and link bytes from the hardware counters of a
    /// simulator or a board, the bound of the run, and an HTML report with charts.
    Profile {
        #[arg(long, value_enum, default_value = "sim")]
        board: Board,
        #[command(flatten)]
        model: ModelArgs,
        /// Input image, PNG or JPEG.
        #[arg(long)]
        image: PathBuf,
        #[command(flatten)]
        link: LinkArgs,
        /// With --board sim: which simulator runs the accelerator.
        #[arg(long, value_enum, default_value = "ref")]
        sim: bbcu_host::accel::SimKind,
        /// With --board sim: the hardware configuration (a preset name or a TOML file).
        #[arg(long, default_value = "ecp5-85k")]
        preset: String,
        /// A build report (bitstreams' report.json): frames/s at its Fmax instead of the
        /// preset's clock.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Write the profile as JSON.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Write a self-contained HTML report with SVG charts.
        #[arg(long)]
        html: Option<PathBuf>,
    },
    /// Sweep array shapes for a board: estimated LUTs, FFs, memory blocks, DSPs and Fmax
    /// (calibrated on Yosys runs), frames/s from the cycle model, and the Pareto front.
    Explore {
        #[arg(long, value_enum)]
        board: Board,
        #[command(flatten)]
        model: ModelArgs,
        /// LR input size WxH the frames/s are computed for.
        #[arg(long, default_value = "320x180")]
        size: String,
        /// Print every candidate, not only the Pareto front.
        #[arg(long)]
        all: bool,
        /// Write every candidate as JSON (and, with --synth, the synthesis results).
        #[arg(long)]
        json: Option<PathBuf>,
        /// Elaborate the N fastest candidates of the front and synthesise them with Yosys,
        /// in parallel; needs this source tree (cargo builds their engines in hdl/shapes).
        #[arg(long, default_value_t = 0)]
        synth: usize,
        /// Where --synth keeps each candidate's Verilog and Yosys log.
        #[arg(long, default_value = "explore-synth")]
        synth_out: PathBuf,
        /// Yosys runs at a time (default: the machine's cores).
        #[arg(long)]
        jobs: Option<usize>,
    },
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = dispatch(cli) {
        // Ctrl-C: the message says what became of the board; 128 + SIGINT, as shells report.
        if e.downcast_ref::<bbcu_host::board::client::Interrupted>().is_some() {
            eprintln!("error: {e}");
            std::process::exit(130);
        }
        // One line: the chain of causes joined, never a backtrace.
        let msg = e.chain().map(|c| c.to_string()).collect::<Vec<_>>().join(": ");
        eprintln!("error: {msg}");
        std::process::exit(1);
    }
}

/// Finds a bundled file (model or sample image): beside the current directory, or in the
/// source tree this binary was built from.
fn bundled(rel: &str) -> Result<PathBuf> {
    let here = PathBuf::from(rel);
    if here.exists() {
        return Ok(here);
    }
    let tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel);
    if tree.exists() {
        return Ok(tree);
    }
    bail!("{rel}: bundled file not found (run from the repository root or pass the path)")
}

/// Writes a result to stdout; a reader that went away (`| head`) is not an error.
/// The line printed per image: `in (w×h) -> out (w×h) in t s [tag]`.
fn result_line(src: &Path, img: &bbcu_sim::Planes, dst: &Path, out: &bbcu_sim::Planes, secs: f64, tag: &str) -> String {
    format!(
        "{} ({}x{}) -> {} ({}x{}) in {secs:.3} s [{tag}]",
        src.display(),
        img.width,
        img.height,
        dst.display(),
        out.width,
        out.height
    )
}

fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", text.trim_end()).and_then(|_| out.flush());
}

fn load_model(m: &ModelArgs) -> Result<(PathBuf, Model)> {
    let path = match &m.model {
        Some(p) => p.clone(),
        None => bundled(bbcu_host::DEFAULT_MODEL)?,
    };
    let k = match m.k {
        Some(k) => k,
        None => bbcu_host::default_k(&path)?,
    };
    let model = Model::load(&path, k, m.frac)?;
    Ok((path, model))
}

#[allow(clippy::too_many_arguments)]
fn run_on_board(
    preset: &str,
    port: &Path,
    baud: u32,
    strip_width: Option<usize>,
    model_path: &Path,
    model: &Model,
    inputs: &[bbcu_sim::Planes],
    images: &[PathBuf],
    targets: &[PathBuf],
) -> Result<()> {
    use bbcu_host::board::drive::{Session, SessionOptions};
    if baud == 0 {
        bail!("--baud 0: give the board's UART rate");
    }
    let want = bbcu_host::accel::config(preset)?;
    // Compiled before the port is opened: a model that cannot run on the design is refused
    // without a board.
    let compiled = bbcu_arch::compile(&model.fixed, &want)
        .map_err(|e| anyhow::anyhow!("{}: unsupported model for --board {preset}: {e}", model_path.display()))?;
    let link = bbcu_host::link::open(port, baud).map_err(anyhow::Error::msg)?;
    // Ctrl-C stops the run between chunks; the board is then reset below. A second Ctrl-C
    // does not wait for the board.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || {
            if stop.swap(true, std::sync::atomic::Ordering::SeqCst) {
                eprintln!("error: interrupted twice; the board was not reset");
                std::process::exit(130);
            }
        })
        .context("cannot install the Ctrl-C handler")?;
    }
    let t = Instant::now();
    let mut session = Session::open(link, &want, &model.fixed, &compiled, &SessionOptions { baud, strip_width })?;
    session.client.cancel = stop;
    eprintln!(
        "board: {} on {}; model ready in {:.2} s",
        session.hello.name,
        session.client.name,
        t.elapsed().as_secs_f64()
    );
    session.restart_clock();
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}").unwrap());
    for (n, ((img, src), dst)) in inputs.iter().zip(images).zip(targets).enumerate() {
        let t = Instant::now();
        let out = match session.run(img, &bar) {
            Err(e) if e.is::<bbcu_host::board::client::Interrupted>() => {
                bar.finish_and_clear();
                let reset = if session.client.reset_after_interrupt(std::time::Duration::from_secs(1)) {
                    "the board was reset and keeps its model"
                } else {
                    "the board did not confirm its reset within 1 s"
                };
                return Err(e.context(format!(
                    "interrupted during {} ({} of {} images written); {reset}; no output written for it",
                    src.display(),
                    n,
                    inputs.len()
                )));
            }
            r => r?,
        };
        imageio::write_png(dst, &out)?;
        bar.suspend(|| {
            emit(&result_line(
                src,
                img,
                dst,
                &out,
                t.elapsed().as_secs_f64(),
                &format!("board {preset}, image {}/{}", n + 1, inputs.len()),
            ))
        });
    }
    bar.finish_and_clear();
    eprintln!("{}", session.summary(inputs.len()));
    Ok(())
}

/// `run --board sim`: the simulated accelerator, with its cycle counters reported.
fn run_on_sim(
    kind: bbcu_host::accel::SimKind,
    preset: &str,
    model_path: &Path,
    model: &Model,
    inputs: &[bbcu_sim::Planes],
    images: &[PathBuf],
    targets: &[PathBuf],
) -> Result<()> {
    use bbcu_host::accel::{config, SimRun};
    let cfg = config(preset)?;
    let mut sim = SimRun::new(kind, cfg, &model.fixed, &model_path.display().to_string())?;
    for ((img, src), dst) in inputs.iter().zip(images).zip(targets) {
        let t = Instant::now();
        let strips = bbcu_arch::strips::plan(img.width, img.height, sim.compiled.width_cap, sim.compiled.halo)
            .map_err(anyhow::Error::msg)?
            .len();
        let bar = ProgressBar::new(strips as u64);
        bar.set_style(ProgressStyle::with_template("{bar:30} strip {pos}/{len} {elapsed}").unwrap());
        let (out, rep) = sim.run(img, model.net.scale(), model.net.out_ch, || bar.inc(1))?;
        bar.finish_and_clear();
        imageio::write_png(dst, &out)?;
        emit(&result_line(src, img, dst, &out, t.elapsed().as_secs_f64(), &format!("sim {kind:?}")));
        eprint!("{}", sim.describe(&rep, img.width * img.height));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn serve(
    pty: bool,
    link: Option<PathBuf>,
    baud: u32,
    preset: &str,
    slots: usize,
    sim: ServeSim,
    clock_mhz: Option<f64>,
    xdma: Option<PathBuf>,
) -> Result<()> {
    use bbcu_host::accel::SimKind;
    use bbcu_host::board::serve::Board;
    if !pty && xdma.is_none() {
        bail!("board serve: give --pty (a virtual board behind a pseudo-terminal) or --xdma PREFIX");
    }
    let config = bbcu_host::accel::config(preset)?;
    let clock = clock_mhz.unwrap_or(config.clock_mhz);
    if !(clock >= 0.0 && clock.is_finite()) {
        bail!("--clock-mhz {clock}: give a clock in MHz, or 0 for no pacing");
    }
    let kind = match sim {
        ServeSim::Cpu => Some(SimKind::Cpu),
        ServeSim::Ref => Some(SimKind::Ref),
        ServeSim::Verilator => Some(SimKind::Verilator),
        ServeSim::Rust => Some(SimKind::Rust),
        ServeSim::BoardTop => None,
    };
    // INFO's `slots = 1` announces a hardware board's streaming profile, which the software
    // board does not speak.
    if kind.is_some() && slots < 2 {
        bail!("--slots {slots}: a software board holds 2 or more (1 announces a hardware board; use --sim board-top)");
    }
    let board = match kind {
        Some(k) => {
            let what = match k {
                SimKind::Cpu => "CPU engine with the engine's cycle model",
                SimKind::Ref => "instruction-level reference model of the engine",
                SimKind::Verilator => "the engine's Verilog under Verilator",
                SimKind::Rust => "the engine under rust-hdl's simulator",
                SimKind::Seqfw => "reference row loop sequenced by the control-core firmware",
            };
            let paced = if clock > 0.0 { format!(", paced at {clock} MHz") } else { String::new() };
            let name = format!("virtual {} ({what}{paced})", config.name);
            Some(Board::with_clock(bbcu_host::accel::device(k, &config)?, name, slots, Some(clock)))
        }
        // Built before the pseudo-terminal is offered, so a first build (about a minute) does
        // not eat into the host's timeouts.
        None => {
            if xdma.is_some() {
                bail!("--xdma serves a software board; --sim board-top runs behind a pseudo-terminal");
            }
            bbcu_hdl::board_sim::simulator(&config, bbcu_host::board::board_top::STALE_CYCLES)
                .map_err(anyhow::Error::msg)?;
            None
        }
    };
    if let (Some(prefix), Some(board)) = (&xdma, &board) {
        let (link, _made) = bbcu_host::link::xdma::endpoint(prefix)?;
        emit(&prefix.display().to_string());
        let link = if baud > 0 { link.paced(baud) } else { link };
        board.serve(link).context("board serve: the emulated XDMA endpoint failed")?;
        return Ok(());
    }
    let p = bbcu_host::link::serial::Pty::open().context("cannot open a pseudo-terminal")?;
    let _guard = match &link {
        Some(path) => {
            if path.symlink_metadata().is_ok() {
                std::fs::remove_file(path).with_context(|| format!("{}: cannot replace", path.display()))?;
            }
            std::os::unix::fs::symlink(&p.path, path)
                .with_context(|| format!("{}: cannot create the link", path.display()))?;
            Some(RemoveOnDrop(path.clone()))
        }
        None => None,
    };
    emit(&p.path.display().to_string());
    // The pseudo-terminal's other end stays open in `p` for as long as this serves.
    let Some(board) = board else {
        // The simulated UART paces itself.
        return bbcu_host::board::board_top::serve(&config, p.link, baud);
    };
    let link = if baud > 0 { p.link.paced(baud) } else { p.link };
    board.serve(link).context("board serve: the pseudo-terminal failed")?;
    Ok(())
}

/// Removes the `--link` symlink when the server ends.
struct RemoveOnDrop(PathBuf);
impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Where `build` leaves a board's bitstream and where `flash` looks for it.
fn default_bitstream(board: &bbcu_boards::Board) -> PathBuf {
    bbcu_host::build::default_dir(board).join(bbcu_host::build::bitstream_name(board))
}

fn dispatch(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Board(BoardCmd::Serve { pty, link, baud, preset, slots, sim, clock_mhz, xdma }) => {
            serve(pty, link, baud, &preset, slots, sim, clock_mhz, xdma)
        }
        Cmd::Build { board, preset, seed, baud, out } => {
            let opts = bbcu_host::build::BuildOptions { board, preset, seed, baud, out };
            let (report, info, out) = bbcu_host::build::build(&opts)?;
            eprintln!("{}", bbcu_host::build::summary(&report, &info, &out));
            Ok(())
        }
        Cmd::Flash { board, bitstream, sram } => {
            let board = bbcu_boards::Board::find(&board)?;
            let file = bitstream.unwrap_or_else(|| default_bitstream(&board));
            let said = bbcu_boards::flash::program(&board, &file, sram)?;
            eprintln!(
                "{}: {} programmed with {} ({said})",
                board.name,
                if sram { "SRAM" } else { "flash" },
                file.display()
            );
            Ok(())
        }
        Cmd::Generate { preset, model, k, out } => {
            let cfg = bbcu_host::accel::config(&preset)?;
            let loaded = match &model {
                Some(p) => {
                    let k = match k {
                        Some(k) => k,
                        None => bbcu_host::default_k(p)?,
                    };
                    Some((p.display().to_string(), Model::load(p, k, None)?))
                }
                None => None,
            };
            let report = bbcu_host::accel::generate(&cfg, &out, loaded.as_ref().map(|(n, m)| (n.as_str(), &m.fixed)))?;
            eprint!("{report}");
            Ok(())
        }
        Cmd::Run { board, model, image, out, out_dir, precision, link, strip_width, sim, preset: sim_preset } => {
            let board_preset = match board {
                Board::Cpu | Board::Sim => None,
                Board::Ice40 => Some("ice40-up5k"),
                Board::Ice40Hx8k => Some("ice40-hx8k"),
                Board::Ecp5 => Some("ecp5-85k"),
            };
            let preset = board_preset.map(|p| sim_preset.as_deref().unwrap_or(p));
            let sim_preset = sim_preset.as_deref().unwrap_or("ecp5-85k");
            let board_name = board.to_possible_value().unwrap().get_name().to_string();
            if preset.is_some() && precision != Precision::Fixed {
                bail!("--board {board_name} computes in fixed point; --precision float runs only on --board cpu");
            }
            if board == Board::Sim && precision != Precision::Fixed {
                bail!("--board sim computes in fixed point; --precision float runs only on --board cpu");
            }
            if preset.is_none() && link.port.is_some() {
                bail!("--port is for a board; --board {board_name} runs on this machine");
            }
            let (model_path, model) = load_model(&model)?;
            let images = if image.is_empty() { vec![bundled(bbcu_host::DEFAULT_IMAGE)?] } else { image };
            let targets: Vec<PathBuf> = match (&out, &out_dir, images.len()) {
                (Some(_), Some(_), _) => bail!("give either --out or --out-dir, not both"),
                (Some(o), None, 1) => vec![o.clone()],
                (Some(_), None, n) => bail!("--out names one file but {n} images were given; use --out-dir"),
                (None, Some(d), _) => {
                    if !d.is_dir() {
                        bail!("{}: the output folder does not exist", d.display());
                    }
                    images
                        .iter()
                        .map(|i| d.join(Path::new(i.file_name().unwrap_or_default()).with_extension("png")))
                        .collect()
                }
                (None, None, 1) => vec![PathBuf::from("out.png")],
                (None, None, _) => bail!("several images need --out-dir"),
            };
            // Read and check every input before computing anything.
            let mut inputs = Vec::new();
            for p in &images {
                let img = imageio::read(p)?;
                let adapted = bbcu_host::model::to_channels(&img, model.net.in_ch);
                if adapted.channels != img.channels {
                    eprintln!(
                        "note: {}: {} converted to {} for a {}-channel model",
                        p.display(),
                        if img.channels == 1 { "grey" } else { "RGB" },
                        if adapted.channels == 1 { "grey (luma)" } else { "RGB" },
                        model.net.in_ch
                    );
                }
                model.check_input(&adapted, &p.display().to_string())?;
                inputs.push(adapted);
            }
            if let Some(preset) = preset {
                let port = link.port.as_ref().with_context(|| {
                    format!("--board {board_name} needs --port DEV (the board's serial port, or the one `bbcu-host board serve --pty` prints)")
                })?;
                return run_on_board(
                    preset,
                    port,
                    link.baud,
                    strip_width,
                    &model_path,
                    &model,
                    &inputs,
                    &images,
                    &targets,
                );
            }
            if board == Board::Sim {
                return run_on_sim(sim, sim_preset, &model_path, &model, &inputs, &images, &targets);
            }
            let runner = model.runner(precision);
            let bar = if images.len() > 1 { ProgressBar::new(images.len() as u64) } else { ProgressBar::hidden() };
            bar.set_style(ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").unwrap());
            for ((img, src), dst) in inputs.iter().zip(&images).zip(&targets) {
                let t = Instant::now();
                let out = runner.run(img);
                imageio::write_png(dst, &out)?;
                bar.inc(1);
                bar.suspend(|| {
                    emit(&result_line(src, img, dst, &out, t.elapsed().as_secs_f64(), &format!("{precision:?}")))
                });
            }
            bar.finish_and_clear();
            Ok(())
        }
        Cmd::Eval { model, data, task, scale, sigma, quality, precision, limit, json } => {
            let (path, m) = load_model(&model)?;
            let args = eval::EvalArgs {
                model: path,
                data,
                task,
                scale,
                sigma,
                quality,
                precision,
                k: m.net.k,
                frac: Some(m.fixed.frac),
                limit,
            };
            let report = eval::eval_model(&m, &args)?;
            if json {
                emit(&serde_json::to_string_pretty(&report)?);
            } else {
                eval::print_table(&report);
            }
            Ok(())
        }
        Cmd::Info { model, json } => {
            let (path, m) = load_model(&model)?;
            let info = info::Info::of(&path, &m);
            if json {
                emit(&serde_json::to_string_pretty(&info)?);
            } else {
                emit(&info.to_string());
            }
            Ok(())
        }
        Cmd::Profile { board, model, image, link, sim, preset, report, json, html } => {
            profile_cmd(board, &model, &image, &link, sim, &preset, report.as_deref(), json.as_deref(), html.as_deref())
        }
        Cmd::Explore { board, model, size, all, json, synth, synth_out, jobs } => {
            let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            if jobs == 0 {
                bail!("--jobs 0: at least one Yosys run must go at a time");
            }
            explore_cmd(board, &model, &size, all, json.as_deref(), (synth, &synth_out, jobs))
        }
        Cmd::Bench { feat, blocks, scale, size, reps, no_torch, only, model, preset, baud, board_size, clock_mhz } => {
            let parse = |flag: &str, size: &str| {
                size.split_once('x')
                    .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)))
                    .filter(|(w, h)| *w > 0 && *h > 0)
                    .with_context(|| format!("{flag} {size}: expected WxH, e.g. 320x180"))
            };
            if only == BenchKind::Board {
                if baud == 0 {
                    bail!("--baud 0: give the link's baud rate");
                }
                let (w, h) = parse("--board-size", &board_size)?;
                let model = match model {
                    Some(p) => p,
                    None => bundled(bbcu_host::DEFAULT_MODEL)?,
                };
                emit(&bench::board_link(&model, &preset, clock_mhz, (w, h), baud, reps)?.to_string());
                return Ok(());
            }
            let (w, h) = parse("--size", &size)?;
            let report =
                bench::run(&bench::BenchArgs { feat, blocks, scale, width: w, height: h, reps, torch: !no_torch })?;
            emit(&report.to_string());
            Ok(())
        }
    }
}

// --- profile / explore (issue 7) ---

fn board_preset(board: Board) -> Option<&'static str> {
    match board {
        Board::Cpu | Board::Sim => None,
        Board::Ice40 => Some("ice40-up5k"),
        Board::Ice40Hx8k => Some("ice40-hx8k"),
        Board::Ecp5 => Some("ecp5-85k"),
    }
}

#[allow(clippy::too_many_arguments)]
fn profile_cmd(
    board: Board,
    m: &ModelArgs,
    image: &Path,
    link: &LinkArgs,
    sim: bbcu_host::accel::SimKind,
    preset: &str,
    report: Option<&Path>,
    json: Option<&Path>,
    html: Option<&Path>,
) -> Result<()> {
    use bbcu_host::profile;
    if board == Board::Cpu {
        bail!("--board cpu has no hardware counters; profile --board sim or a board");
    }
    if link.baud == 0 {
        bail!("--baud 0: give the link's baud rate");
    }
    let cfg = match board_preset(board) {
        Some(p) => bbcu_arch::HwConfig::preset(p)?,
        None => bbcu_host::accel::config(preset)?,
    };
    if board == Board::Sim && link.port.is_some() {
        bail!("--port is for a board; --board sim runs on this machine");
    }
    let (model_path, model) = load_model(m)?;
    let name = model_path.display().to_string();
    let img = bbcu_host::model::to_channels(&imageio::read(image)?, model.net.in_ch);
    model.check_input(&img, &image.display().to_string())?;
    let compiled = profile::compile_for(&model.fixed, &cfg, &name)?;
    let (clock_mhz, clock_from) = profile::clock(&cfg, report)?;
    let measured = match board_preset(board) {
        None => profile::measure_sim(sim, &cfg, &compiled, &model.fixed, &img)?,
        Some(_) => {
            let port = link.port.as_ref().with_context(|| {
                "--board needs --port DEV (the board's serial port, or the one `bbcu-host board serve --pty` prints)"
            })?;
            let l = bbcu_host::link::open(port, link.baud).map_err(anyhow::Error::msg)?;
            profile::measure_link(l, &cfg, &compiled, &model.fixed, &img, link.baud)?
        }
    };
    let input = profile::ProfileInput {
        model: &name,
        cfg: &cfg,
        compiled: &compiled,
        net: &model.fixed,
        width: img.width,
        height: img.height,
        clock_mhz,
        clock_from,
        baud: link.baud,
    };
    let p = profile::Profile::build(&input, measured)?;
    emit(&p.table());
    if let Some(path) = json {
        std::fs::write(path, serde_json::to_string_pretty(&p)?)
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    if let Some(path) = html {
        std::fs::write(path, profile::html(&p)?).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    Ok(())
}

fn explore_cmd(
    board: Board,
    m: &ModelArgs,
    size: &str,
    all: bool,
    json: Option<&Path>,
    (synth, synth_out, jobs): (usize, &Path, usize),
) -> Result<()> {
    use bbcu_host::explore;
    let preset = board_preset(board).with_context(|| "explore: --board must be ice40, ice40-hx8k or ecp5")?;
    let (w, h) = size
        .split_once('x')
        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
        .with_context(|| format!("--size {size}: expected WxH, e.g. 320x180"))?;
    let (model_path, model) = load_model(m)?;
    let cands = explore::sweep(preset, &model.fixed, &model_path.display().to_string(), w, h)?;
    emit(&explore::describe(&cands, preset, all));
    let mut rows = Vec::new();
    if synth > 0 {
        let name = board.to_possible_value().expect("a board name").get_name().to_string();
        rows = explore::synth::run(&explore::synth::top(&cands, synth), &name, synth_out, jobs)?;
        emit(&explore::synth::describe(&rows, &name));
    }
    if let Some(path) = json {
        let doc = serde_json::json!({ "candidates": cands, "synthesised": rows });
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_string_pretty(&doc)?)
            .and_then(|_| std::fs::rename(&tmp, path))
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    // The table and JSON show every result; a synthesis that failed still fails the command.
    let failed: Vec<&str> = rows.iter().filter_map(|r| r.error.as_deref()).collect();
    if let Some(first) = failed.first() {
        bail!("explore --synth: {} of {} syntheses failed (first: {first})", failed.len(), rows.len());
    }
    Ok(())
}
