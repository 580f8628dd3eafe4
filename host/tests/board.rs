//! The host driver against a virtual board over in-process links: pseudo-terminal pairs,
//! pipes, and a proxy that damages bytes. Every finished run must equal the CPU fixed-point
//! engine byte for byte; a run that cannot finish must fail with a message.

use bbcu_arch::{Compiled, HwConfig, RefDevice};
use bbcu_host::board::drive::{Session, SessionOptions};
use bbcu_host::board::serve::Board;
use bbcu_host::link::fault::FaultProxy;
use bbcu_host::link::{pipe::pipe, serial::pty_pair, Link};
use bbcu_host::model::Model;
use bbcu_sim::engine::FixedEngine;
use bbcu_sim::Planes;
use indicatif::ProgressBar;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Duration;

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models").join(format!("{name}.pth"))
}

struct Fixture {
    model: Model,
    compiled: Compiled,
}

/// A shipped model compiled for the ECP5 design (the one they fit today).
fn fixture(name: &str) -> Fixture {
    let path = shipped(name);
    let model = Model::load(&path, bbcu_host::default_k(&path).unwrap(), None).unwrap();
    let compiled = bbcu_arch::compile(&model.fixed, &HwConfig::preset("ecp5-85k").unwrap()).unwrap();
    Fixture { model, compiled }
}

fn random_image(ch: usize, h: usize, w: usize, seed: u64) -> Planes {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Planes::from_vec(ch, h, w, (0..ch * h * w).map(|_| rng.random()).collect())
}

fn board(preset: &str) -> Board {
    Board::new(Box::new(RefDevice::new(HwConfig::preset(preset).unwrap())), "test board", 3)
}

fn serve(b: &Board, link: Link) -> JoinHandle<()> {
    let b = b.clone();
    std::thread::spawn(move || b.serve(link).unwrap())
}

fn opts(strip_width: Option<usize>) -> SessionOptions {
    SessionOptions { baud: 3_000_000, strip_width }
}

fn open(link: Link, f: &Fixture, preset: &str, strip_width: Option<usize>) -> anyhow::Result<Session> {
    Session::open(link, &HwConfig::preset(preset).unwrap(), &f.model.fixed, &f.compiled, &opts(strip_width))
}

#[test]
fn strips_over_a_pty_equal_the_cpu_engine() {
    let f = fixture("sr_x2");
    let (host, dev) = pty_pair().unwrap();
    let b = board("ecp5-85k");
    let server = serve(&b, dev);
    let halo = f.compiled.halo;
    let mut s = open(host, &f, "ecp5-85k", Some(2 * halo + 5)).unwrap();
    let bar = ProgressBar::hidden();
    for (seed, (h, w)) in [(1, (9, 40)), (2, (5, 13)), (3, (17, 2 * halo + 5))].into_iter() {
        let img = random_image(3, h, w, seed);
        let got = s.run(&img, &bar).unwrap();
        assert_eq!(got, FixedEngine::new(&f.model.fixed).run(&img), "{w}×{h}");
    }
    // The second session finds the model loaded and does not send it again.
    drop(s);
    server.join().unwrap();
    let (host, dev) = pty_pair().unwrap();
    let server = serve(&b, dev);
    let mut s = open(host, &f, "ecp5-85k", None).unwrap();
    assert!(bbcu_host::board::client::LinkStats::get(&s.client.stats.sent) < 1000, "model uploaded twice");
    let img = random_image(3, 6, 30, 9);
    assert_eq!(s.run(&img, &bar).unwrap(), FixedEngine::new(&f.model.fixed).run(&img));
    let c = s.client.counters().unwrap();
    assert!(c.strips >= 1);
    drop(s);
    server.join().unwrap();
}

/// Host ↔ pty ↔ fault proxy ↔ pipe ↔ board; the run starts at `rate` and continues at
/// `run_rate` once the model is loaded.
fn faulty_run(f: &Fixture, rate: f64, run_rate: f64, seed: u64, img: &Planes) -> (anyhow::Result<Planes>, u64) {
    let (host, proxy_host_side) = pty_pair().unwrap();
    let (proxy_board_side, dev) = pipe();
    let b = board("ecp5-85k");
    let server = serve(&b, dev);
    let proxy = FaultProxy::spawn(proxy_host_side, proxy_board_side, rate, seed);
    let halo = f.compiled.halo;
    let r = open(host, f, "ecp5-85k", Some(2 * halo + 8)).and_then(|mut s| {
        proxy.set_rate(run_rate);
        s.run(img, &ProgressBar::hidden())
    });
    let faults = proxy.to_board.faults() + proxy.to_host.faults();
    proxy.join();
    server.join().unwrap();
    (r, faults)
}

#[test]
fn one_error_per_10_kb_still_gives_the_exact_image() {
    let f = fixture("sr_x2");
    let img = random_image(3, 48, 96, 4);
    let want = FixedEngine::new(&f.model.fixed).run(&img);
    let mut faults = 0;
    for seed in 0..3 {
        let (got, n) = faulty_run(&f, 1e-4, 1e-4, seed, &img);
        assert_eq!(got.unwrap(), want, "seed {seed}");
        faults += n;
    }
    // ~3 × 170 kB crossed the proxy: the runs must have met damage, not a clean line.
    assert!(faults >= 20, "only {faults} faults injected");
}

#[test]
fn a_link_too_noisy_to_finish_fails_with_a_message() {
    let f = fixture("sr_x2");
    let img = random_image(3, 16, 32, 5);
    // Too noisy to say HELLO; then a clean start and a line that degrades mid-run.
    for (rate, run_rate) in [(0.02, 0.02), (0.0, 0.01)] {
        let (got, faults) = faulty_run(&f, rate, run_rate, 7, &img);
        let e = format!("{:#}", got.unwrap_err());
        eprintln!("rate {rate}: {faults} faults: {e}");
        assert!(faults > 20, "{faults}");
        assert!(e.contains("no answer from the board") && e.contains("noisy"), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }
}

#[test]
fn a_board_reset_mid_run_is_recovered_by_reloading_the_model() {
    let f = fixture("sr_x2");
    let (host, dev) = pipe();
    let b = board("ecp5-85k");
    // Paced so that the run lasts long enough to be interrupted.
    let server = serve(&b, dev.paced(1_000_000));
    let mut s = open(host.paced(1_000_000), &f, "ecp5-85k", Some(40)).unwrap();
    let img = random_image(3, 40, 120, 6);
    let want = FixedEngine::new(&f.model.fixed).run(&img);
    let b2 = b.clone();
    let resetter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        b2.power_cycle();
    });
    let got = s.run(&img, &ProgressBar::hidden()).unwrap();
    resetter.join().unwrap();
    assert_eq!(got, want);
    assert_eq!(bbcu_host::board::client::LinkStats::get(&s.client.stats.reuploads), 1);
    drop(s);
    server.join().unwrap();
}

#[test]
fn a_board_with_another_design_is_refused_with_the_difference() {
    let f = fixture("sr_x2");
    let (host, dev) = pipe();
    let server = serve(&board("ice40-hx8k"), dev);
    let e = open(host, &f, "ecp5-85k", None).err().unwrap().to_string();
    assert!(e.contains("another design") && e.contains("max_width 128 on the board, 512 expected"), "{e}");
    server.join().unwrap();
}

#[test]
fn the_board_refuses_a_model_image_it_cannot_decode() {
    // An image compiled for another design's hash: the board must not load it.
    let mut f = fixture("denoise");
    f.compiled.image.design_hash ^= 1;
    let (host, dev) = pipe();
    let server = serve(&board("ecp5-85k"), dev);
    let e = open(host, &f, "ecp5-85k", None).err().unwrap().to_string();
    assert!(e.starts_with("the board refused the model: model image: ") && e.contains("design"), "{e}");
    server.join().unwrap();
}

#[test]
fn silence_is_no_answer() {
    // A pseudo-terminal with nobody behind it.
    let (host, _quiet) = pty_pair().unwrap();
    let t = std::time::Instant::now();
    let e = bbcu_host::board::client::Client::new(host, 3_000_000).hello().unwrap_err().to_string();
    assert!(e.contains("no answer from the board to HELLO"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(10));
}
