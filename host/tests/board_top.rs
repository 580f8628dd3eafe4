//! The host driver against the hardware board's own logic: `bbcu-host board serve --sim
//! board-top` puts the board top-level's Verilog (UART, protocol engine, engine of the
//! sim-test instance) under Verilator behind a pseudo-terminal, and `bbcu-host run` drives it
//! in the streaming profile (INFO `slots = 1`: input in HWC order under the two-frame credit,
//! results streamed and never fetched). The image must equal the CPU's fixed-point run.
//!
//! The first run builds the board simulator (about a minute on two cores) into the cargo
//! target folder; later runs reuse it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bbcu-host"))
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A board server; killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn run_on_the_simulated_board_top_equals_the_cpu_fixed_point_run() {
    let d = std::env::temp_dir().join(format!("bbcu-board-top-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let preset = root().join("hdl/sim-test.toml");
    let model = root().join("models/denoise_small.pth");
    let baud = "921600";
    let link = d.join("board");
    let mut child = bin()
        .args(["board", "serve", "--pty", "--sim", "board-top", "--baud", baud, "--preset"])
        .arg(&preset)
        .arg("--link")
        .arg(&link)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The server prints its device path once the simulator is built and it listens.
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let _server = Server(child);
    assert!(line.starts_with("/dev/pts/"), "{line}");

    // Wide enough for several strips (the default plan cuts about eight).
    let input = d.join("in.png");
    let img =
        image::RgbImage::from_fn(24, 10, |x, y| image::Rgb([(x * 7 + y) as u8, (x * y * 5) as u8, (y * 13) as u8]));
    img.save(&input).unwrap();
    let board_out = d.join("board.png");
    let t = Instant::now();
    let o = bin()
        .args(["run", "--board", "ice40", "--preset"])
        .arg(&preset)
        .arg("--model")
        .arg(&model)
        .arg("--image")
        .arg(&input)
        .arg("--out")
        .arg(&board_out)
        .arg("--port")
        .arg(&link)
        .args(["--baud", baud])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{log}");
    eprintln!("board run in {:.1} s:\n{log}", t.elapsed().as_secs_f64());
    assert!(log.contains("link:"), "{log}");

    let cpu_out = d.join("cpu.png");
    let o = bin()
        .args(["run", "--board", "cpu", "--precision", "fixed", "--model"])
        .arg(&model)
        .arg("--image")
        .arg(&input)
        .arg("--out")
        .arg(&cpu_out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        std::fs::read(&board_out).unwrap() == std::fs::read(&cpu_out).unwrap(),
        "the board's image differs from the CPU's"
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// The streaming profile's recovery paths against the board's own logic: host ↔ pty ↔ fault
/// proxy ↔ pipe ↔ the Verilated board top-level. Dropped, flipped, duplicated and delayed
/// bytes cost lost DATA frames (re-sent after QUERY), result chunks lost or damaged (the strip
/// is run again under a new id), and partial frames the board must give up; every run must
/// still give exactly the CPU's fixed-point image.
#[test]
fn the_streaming_profile_recovers_from_a_damaged_line() {
    use bbcu_host::board::drive::{Session, SessionOptions};
    use bbcu_host::link::fault::FaultProxy;
    use bbcu_host::link::{pipe::pipe, serial::pty_pair};
    use bbcu_sim::engine::FixedEngine;
    use bbcu_sim::Planes;

    let cfg = bbcu_arch::HwConfig::load(&root().join("hdl/sim-test.toml")).unwrap();
    let path = root().join("models/denoise_small.pth");
    let model = bbcu_host::model::Model::load(&path, bbcu_host::default_k(&path).unwrap(), None).unwrap();
    let compiled = bbcu_arch::compile(&model.fixed, &cfg).unwrap();
    let (h, w) = (16, 32);
    let img = Planes::from_vec(3, h, w, (0..3 * h * w).map(|i| (i * 37 % 251) as u8).collect());
    let want = FixedEngine::new(&model.fixed).run(&img);
    let baud = 921_600;
    // Build (or find) the board simulator first: built inside the board thread, it would take
    // longer than the host's HELLO retries.
    drop(bbcu_hdl::board_sim::BoardSim::new(&cfg, bbcu_host::board::board_top::STALE_CYCLES).unwrap());
    let mut faults = 0;
    let mut retries = 0;
    for seed in 0..3 {
        let (host, proxy_host_side) = pty_pair().unwrap();
        let (proxy_board_side, dev) = pipe();
        let board_cfg = cfg.clone();
        let server = std::thread::spawn(move || bbcu_host::board::board_top::serve(&board_cfg, dev, baud));
        // A clean line for the handshake and the model, then the damage: the model upload's
        // own recovery is the software profile's, tested in tests/board.rs.
        let proxy = FaultProxy::spawn(proxy_host_side, proxy_board_side, 0.0, seed);
        let opts = SessionOptions { baud, strip_width: None };
        let mut s = Session::open(host, &cfg, &model.fixed, &compiled, &opts).unwrap();
        assert!(s.client.streaming(), "the board top-level should speak the streaming profile");
        // One fault per kB: ten times the rate the software profile is held to.
        proxy.set_rate(1e-3);
        let t = Instant::now();
        let got = s.run(&img, &indicatif::ProgressBar::hidden());
        let n = proxy.to_board.faults() + proxy.to_host.faults();
        let r = bbcu_host::board::client::LinkStats::get(&s.client.stats.retries);
        eprintln!("seed {seed}: {n} faults, {r} retries, {:.1} s", t.elapsed().as_secs_f64());
        assert_eq!(got.unwrap(), want, "seed {seed}");
        faults += n;
        retries += r;
        drop(s);
        proxy.join();
        // The board ends when the host has gone: on reading the closed link, or on a write
        // to it (`broken pipe`), whichever it meets first.
        let _ = server.join().expect("the board thread panicked");
    }
    assert!(faults >= 3 && retries >= 1, "the runs met too little damage: {faults} faults, {retries} retries");
}
