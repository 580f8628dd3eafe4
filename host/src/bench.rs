//! `bbcu-host bench`: the CPU engine against a PyTorch float forward of the same model and
//! input on the same machine, and the raw XNOR-popcount rate of one body convolution.

use anyhow::{Context, Result};
use bbcu_sim::engine::{dot_row, FixedEngine, FloatEngine, PackedActs, PackedWeights};
use bbcu_sim::fixed::{FixedNetwork, Fmap, QLayer};
use bbcu_sim::synth::{Rng, Topology};
use bbcu_sim::Planes;
use std::fmt;
use std::process::Command;
use std::time::Instant;

pub struct BenchArgs {
    pub feat: usize,
    pub blocks: usize,
    pub scale: usize,
    pub width: usize,
    pub height: usize,
    pub reps: usize,
    pub torch: bool,
}

pub struct BenchReport {
    pub machine: String,
    pub threads: usize,
    pub model: String,
    pub float_s: f64,
    pub fixed_s: f64,
    pub body_macs_per_s_1core: f64,
    pub body_macs_per_s_all: f64,
    pub torch: Result<(f64, String), String>,
}

fn best<T>(reps: usize, mut f: impl FnMut() -> T) -> f64 {
    (0..reps.max(1))
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!(
        "{cpu}, {} logical cores, {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        std::env::consts::ARCH
    )
}

/// Seconds for one body conv's XNOR-popcount over the whole image, on `threads` threads.
fn body_rate(q: &FixedNetwork, h: usize, w: usize, reps: usize, threads: usize) -> Result<f64> {
    let b = q
        .layers
        .iter()
        .find_map(|l| if let QLayer::Binary(b) = l { Some(b) } else { None })
        .context("model has no binary layer")?;
    let mut rng = Rng::new(5);
    let x = Fmap { c: b.cin, h, w, data: (0..b.cin * h * w).map(|_| rng.uniform(-200.0, 200.0) as i16).collect() };
    let a = PackedActs::from_fixed(&x, &b.threshold);
    let wt = PackedWeights::from_fixed(b);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    let secs = pool.install(|| {
        best(reps, || {
            use rayon::prelude::*;
            (0..h)
                .into_par_iter()
                .map(|y| {
                    let mut p = vec![0i32; w * b.cout];
                    dot_row(&a, &wt, y, &mut p);
                    p[0]
                })
                .sum::<i32>()
        })
    });
    Ok((b.cin * b.cout * 9 * h * w) as f64 / secs)
}

fn torch_time(a: &BenchArgs) -> Result<(f64, String), String> {
    let script = ["train/bench_torch.py", concat!(env!("CARGO_MANIFEST_DIR"), "/../train/bench_torch.py")]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .ok_or("train/bench_torch.py not found")?;
    let out = Command::new("python3")
        .args([
            script,
            "--feat",
            &a.feat.to_string(),
            "--blocks",
            &a.blocks.to_string(),
            "--scale",
            &a.scale.to_string(),
        ])
        .args(["--width", &a.width.to_string(), "--height", &a.height.to_string(), "--reps", &a.reps.to_string()])
        .output()
        .map_err(|e| format!("python3 not runnable ({e})"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err.lines().last().unwrap_or("PyTorch benchmark failed").to_owned());
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("bad output from bench_torch.py: {e}"))?;
    let secs = v["seconds"].as_f64().ok_or("bench_torch.py printed no seconds")?;
    Ok((secs, format!("torch {} on {} threads", v["torch"].as_str().unwrap_or("?"), v["threads"])))
}

pub fn run(a: &BenchArgs) -> Result<BenchReport> {
    let net = Topology::bbcu_m(a.feat, a.blocks, a.scale).build(1);
    let q = FixedNetwork::compile(&net, None)?;
    let mut rng = Rng::new(9);
    let img = Planes::from_vec(
        3,
        a.height,
        a.width,
        (0..3 * a.width * a.height).map(|_| rng.uniform(0.0, 255.0) as u8).collect(),
    );
    let fe = FloatEngine::new(&net);
    let xe = FixedEngine::new(&q);
    let float_s = best(a.reps, || fe.run(&img));
    let fixed_s = best(a.reps, || xe.run(&img));
    if std::env::var_os("BBCU_PROFILE").is_some() {
        for (name, secs) in xe.run_timed(&img).1 {
            eprintln!("fixed {name:<20} {secs:.3} s");
        }
        for (name, secs) in fe.run_timed(&img).1 {
            eprintln!("float {name:<20} {secs:.3} s");
        }
    }
    let threads = rayon::current_num_threads();
    let body_macs_per_s_1core = body_rate(&q, a.height, a.width, a.reps, 1)?;
    let body_macs_per_s_all = body_rate(&q, a.height, a.width, a.reps, threads)?;
    let torch = if a.torch { torch_time(a) } else { Err("skipped (--no-torch)".into()) };
    Ok(BenchReport {
        machine: machine(),
        threads,
        model: format!(
            "BBCU-M x{} ({} features, {} blocks), {}x{} RGB input",
            a.scale, a.feat, a.blocks, a.width, a.height
        ),
        float_s,
        fixed_s,
        body_macs_per_s_1core,
        body_macs_per_s_all,
        torch,
    })
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        writeln!(f, "machine          {}", self.machine)?;
        writeln!(f, "model            {}", self.model)?;
        writeln!(f, "cpu engine float {:.3} s ({} threads)", self.float_s, self.threads)?;
        writeln!(f, "cpu engine fixed {:.3} s ({} threads)", self.fixed_s, self.threads)?;
        writeln!(
            f,
            "body conv        {:.1} G binary MACs/s on 1 core, {:.1} G on {} threads",
            self.body_macs_per_s_1core / 1e9,
            self.body_macs_per_s_all / 1e9,
            self.threads
        )?;
        match &self.torch {
            Ok((s, what)) => {
                writeln!(f, "pytorch float    {s:.3} s ({what})")?;
                writeln!(
                    f,
                    "speed-up         {:.2}x (float engine), {:.2}x (fixed engine) over PyTorch float",
                    s / self.float_s,
                    s / self.fixed_s
                )?;
            }
            Err(why) => writeln!(f, "pytorch float    not measured: {why}")?,
        }
        Ok(())
    }
}

/// The virtual-board row: a whole image through `board serve`'s board (CPU engine, strips
/// paced to the design clock by the cycle model) over a pseudo-terminal pair paced to `baud`
/// both ways, against the time the busier direction's bytes need at that rate.
pub struct BoardBench {
    pub machine: String,
    pub what: String,
    /// Per run: seconds of image transfer, bytes sent, bytes received, the bound in seconds.
    pub runs: Vec<(f64, u64, u64, f64)>,
    pub identical: bool,
    /// Strips of the plan and the seconds the host's pipeline model predicts for them.
    pub planned: (usize, f64),
    /// Load average of the machine over the last minute when the runs ended.
    pub load: String,
}

pub fn board_link(
    model: &std::path::Path,
    preset: &str,
    clock_mhz: Option<f64>,
    (width, height): (usize, usize),
    baud: u32,
    reps: usize,
) -> Result<BoardBench> {
    use crate::board::client::LinkStats;
    use crate::board::drive::{Session, SessionOptions};
    use crate::board::serve::Board;
    let mut cfg = crate::accel::config(preset)?;
    if let Some(mhz) = clock_mhz {
        if !(mhz > 0.0 && mhz.is_finite()) {
            anyhow::bail!("--clock-mhz {mhz}: give a clock in MHz");
        }
        cfg.clock_mhz = mhz;
    }
    let m = crate::model::Model::load(model, crate::default_k(model)?, None)?;
    let compiled = bbcu_arch::compile(&m.fixed, &cfg).map_err(|e| anyhow::anyhow!("{}: {e}", model.display()))?;
    let mut rng = Rng::new(11);
    let img = Planes::from_vec(
        m.fixed.in_ch,
        height,
        width,
        (0..m.fixed.in_ch * width * height).map(|_| rng.uniform(0.0, 255.0) as u8).collect(),
    );
    let want = FixedEngine::new(&m.fixed).run(&img);
    let board = Board::with_clock(
        crate::accel::device(crate::accel::SimKind::Cpu, &cfg)?,
        "bench board",
        3,
        Some(cfg.clock_mhz),
    );
    let (host, dev) = crate::link::serial::pty_pair().context("cannot open a pseudo-terminal pair")?;
    let server = {
        let b = board.clone();
        let dev = dev.paced(baud);
        std::thread::spawn(move || b.serve(dev))
    };
    let mut session =
        Session::open(host.paced(baud), &cfg, &m.fixed, &compiled, &SessionOptions { baud, strip_width: None })?;
    let bar = indicatif::ProgressBar::hidden();
    let rate = crate::link::bytes_per_second(baud);
    let planned = session.planned(width, height)?;
    let mut runs = Vec::new();
    let mut identical = true;
    for _ in 0..reps.max(1) {
        session.restart_clock();
        let out = session.run(&img, &bar)?;
        identical &= out == want;
        let s = &session.client.stats;
        let (sent, recv) = (LinkStats::get(&s.sent), LinkStats::get(&s.received));
        runs.push((session.on_link().as_secs_f64(), sent, recv, sent.max(recv) as f64 / rate));
    }
    drop(session);
    let _ = server.join();
    Ok(BoardBench {
        machine: machine(),
        what: format!(
            "{} x{} on a virtual {} board ({} MHz, cycle model) at {baud} baud, {width}x{height} input",
            model.display(),
            crate::board::scale(&m.fixed),
            cfg.name,
            cfg.clock_mhz
        ),
        runs,
        identical,
        planned,
        load: std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next().map(str::to_owned))
            .unwrap_or_else(|| "unknown".into()),
    })
}

impl fmt::Display for BoardBench {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        writeln!(f, "machine          {}", self.machine)?;
        writeln!(f, "virtual board    {}", self.what)?;
        let bound = self.runs.first().map_or(0.0, |r| r.3);
        writeln!(
            f,
            "  plan           {} strips; the pipeline model predicts {:.3} s ({:.1} % of the bound)",
            self.planned.0,
            self.planned.1,
            100.0 * bound / self.planned.1
        )?;
        for (t, sent, recv, bound) in &self.runs {
            writeln!(
                f,
                "  run            {t:.3} s ({:.3} frames/s); {sent} B sent, {recv} B received; link bound {bound:.3} s: {:.1} % of the bound",
                1.0 / t,
                100.0 * bound / t
            )?;
        }
        writeln!(f, "  load average   {} (1 min) on this machine when the runs ended", self.load)?;
        writeln!(
            f,
            "  output         {}",
            if self.identical { "identical to the CPU engine" } else { "DIFFERS from the CPU engine" }
        )
    }
}
