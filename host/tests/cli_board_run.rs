//! The command-line program against `board serve` in another process: every shipped model
//! on the boards it fits, Ctrl-C in the middle of a run, and the XDMA (PCIe) link against an
//! emulated endpoint.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bbcu-host"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("bbcu-cli-board-run-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A board server; killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `board serve` with `args`; returns once it printed the path it serves.
fn serve(args: &[&str], path: &Path) -> Server {
    let mut child = bin().args(["board", "serve"]).args(args).arg(path).stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(!line.trim().is_empty(), "board serve printed nothing");
    Server(child)
}

fn serve_pty(link: &Path, preset: &str, baud: &str) -> Server {
    serve(&["--pty", "--baud", baud, "--preset", preset, "--link"], link)
}

fn run(model: &Path, board: &str, image: &Path, out: &Path, port: Option<&Path>) -> Output {
    let mut c = bin();
    c.args(["run", "--board", board, "--precision", "fixed", "--model"])
        .arg(model)
        .arg("--image")
        .arg(image)
        .arg("--out")
        .arg(out);
    if let Some(p) = port {
        c.arg("--port").arg(p);
    }
    c.output().unwrap()
}

fn ok(o: &Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn test_image(dir: &Path, w: u32, h: u32) -> PathBuf {
    let p = dir.join(format!("in-{w}x{h}.png"));
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 7 + y * 3) as u8, (x * y + 40) as u8, (y * 13 + x / 2) as u8])
    });
    img.save(&p).unwrap();
    p
}

/// The CPU fixed-point engine's PNG for `model` and `image`.
fn cpu_bytes(model: &Path, image: &Path, dir: &Path) -> Vec<u8> {
    let out = dir.join("cpu.png");
    ok(&run(model, "cpu", image, &out, None));
    std::fs::read(&out).unwrap()
}

/// Every shipped model, and those in the folders named by `BBCU_EXTRA_MODELS` (':'-separated;
/// for models that have not landed in `models/` yet).
fn models() -> Vec<PathBuf> {
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../models")];
    if let Ok(extra) = std::env::var("BBCU_EXTRA_MODELS") {
        dirs.extend(extra.split(':').filter(|s| !s.is_empty()).map(PathBuf::from));
    }
    let mut v = Vec::new();
    for d in dirs {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "pth") {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}

/// Whether a model fits a preset, and if not the compiler's reason.
fn fits(model: &Path, preset: &str) -> Result<(), String> {
    let m = bbcu_host::model::Model::load(model, bbcu_host::default_k(model).unwrap(), None).unwrap();
    bbcu_arch::compile(&m.fixed, &bbcu_arch::HwConfig::preset(preset).unwrap()).map(|_| ()).map_err(|e| e.to_string())
}

#[test]
fn every_model_runs_byte_identically_on_a_board_it_fits_and_is_refused_by_one_it_does_not() {
    let d = tmp("models");
    let image = test_image(&d, 43, 21);
    let boards = [("ice40", "ice40-up5k"), ("ecp5", "ecp5-85k")];
    let servers: Vec<(PathBuf, Server)> = boards
        .iter()
        .map(|(_, preset)| {
            let link = d.join(preset);
            let s = serve_pty(&link, preset, "0");
            (link, s)
        })
        .collect();
    let all = models();
    assert!(all.len() >= 4, "expected the shipped models, found {all:?}");
    let mut unfit = Vec::new();
    for model in &all {
        let stem = model.file_stem().unwrap().to_string_lossy().into_owned();
        let want = cpu_bytes(model, &image, &d);
        let mut ran_on = Vec::new();
        for ((board, preset), (link, _)) in boards.iter().zip(&servers) {
            let out = d.join(format!("{stem}-{board}.png"));
            let o = run(model, board, &image, &out, Some(link));
            match fits(model, preset) {
                Ok(()) => {
                    ok(&o);
                    assert_eq!(std::fs::read(&out).unwrap(), want, "{stem} on --board {board}");
                    ran_on.push(*board);
                }
                Err(why) => {
                    let log = String::from_utf8_lossy(&o.stderr);
                    assert!(!o.status.success(), "{stem} does not fit {preset} ({why}) but ran");
                    // Notes (a colour image made grey for a grey model) may come first.
                    let errors: Vec<&str> = log.lines().filter(|l| !l.starts_with("note: ")).collect();
                    assert_eq!(errors.len(), 1, "{stem}: the error must be one line: {log}");
                    let err = errors[0];
                    assert!(err.starts_with("error: "), "{err}");
                    assert!(
                        err.contains(&format!("does not fit {preset}")) && err.contains("memory needs"),
                        "{stem}: the error must name the memory that overflows: {err}"
                    );
                    assert!(!out.exists(), "{stem}: output written for a refused model");
                }
            }
        }
        assert!(!ran_on.is_empty(), "{stem} runs on no board");
        // The 16-channel models exist to run on the iCE40 boards (issue 6: byte-identical
        // output on --board ice40 for every shipped model).
        if stem.ends_with("_small") {
            if let Err(why) = fits(model, "ice40-up5k") {
                unfit.push(format!("{stem}: {why}"));
            }
        }
    }
    assert!(unfit.is_empty(), "iCE40-sized models that do not fit arch/presets/ice40-up5k.toml:\n{}", unfit.join("\n"));
}

/// A child's stderr, line by line, from a thread, so that the test can wait for a line.
fn lines(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines() {
            let Ok(l) = l else { return };
            if tx.send(l).is_err() {
                return;
            }
        }
    });
    rx
}

#[test]
fn ctrl_c_resets_the_board_writes_nothing_and_exits_130() {
    let d = tmp("ctrlc");
    let link = d.join("board");
    let _server = serve_pty(&link, "ecp5-85k", "3000000");
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/sr_x2.pth");
    // About 1.3 s of results at 3 Mbaud: long enough to interrupt in the middle.
    let big = test_image(&d, 256, 128);
    let out = d.join("big.png");
    let mut child = bin()
        .args(["run", "--board", "ecp5", "--model"])
        .arg(&model)
        .arg("--image")
        .arg(&big)
        .arg("--out")
        .arg(&out)
        .arg("--port")
        .arg(&link)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // The session is open (handler installed, model on the board) once the CLI says so; the
    // strips follow at once, so interrupt a moment later, in the middle of the run.
    let rx = lines(&mut child);
    let mut err = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let l = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("the run never started");
        let open = l.starts_with("board:");
        err.push(l);
        if open {
            break;
        }
    }
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: signalling a child this test spawned and has not reaped.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let status = child.wait().unwrap();
    err.extend(rx.iter().filter(|l| !l.trim().is_empty()));
    assert_eq!(status.code(), Some(130), "exit status after Ctrl-C ({:?} in): {err:?}", started.elapsed());
    let errors: Vec<&String> = err.iter().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{err:?}");
    assert!(
        errors[0].contains("interrupted during") && errors[0].contains("the board was reset and keeps its model"),
        "{err:?}"
    );
    assert!(!out.exists(), "an interrupted run wrote its output");
    let leftovers: Vec<_> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(
        leftovers.iter().all(|n| !n.to_string_lossy().contains("big") || n.to_string_lossy().ends_with("256x128.png")),
        "temporary output left behind: {leftovers:?}"
    );
    // The board serves the next run, with the model it kept.
    let small = test_image(&d, 40, 20);
    let out = d.join("after.png");
    let o = run(&model, "ecp5", &small, &out, Some(&link));
    ok(&o);
    assert_eq!(std::fs::read(&out).unwrap(), cpu_bytes(&model, &small, &d));
}

#[test]
fn xdma_link_to_an_emulated_endpoint_equals_the_cpu_run() {
    let d = tmp("xdma");
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/denoise.pth");
    let image = test_image(&d, 50, 18);
    let want = cpu_bytes(&model, &image, &d);

    // No device: a message about XDMA, not about serial ports.
    let out = d.join("o.png");
    let o = run(&model, "ecp5", &image, &out, Some(&d.join("xdma7")));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("no XDMA device") && err.contains("xdma7_h2c_0 is missing"), "{err}");

    let prefix = d.join("xdma0");
    {
        let _server = serve(&["--baud", "0", "--preset", "ecp5-85k", "--xdma"], &prefix);
        assert!(d.join("xdma0_h2c_0").exists() && d.join("xdma0_c2h_0").exists());
        // Two sessions in a row: the endpoint outlives the host's.
        for n in 0..2 {
            let out = d.join(format!("xdma-{n}.png"));
            let o = run(&model, "ecp5", &image, &out, Some(&prefix));
            ok(&o);
            assert!(String::from_utf8_lossy(&o.stderr).contains("(XDMA)"));
            assert_eq!(std::fs::read(&out).unwrap(), want, "session {n}");
        }
    }
    // The pipes exist but nobody serves them: refused at once, not a hang.
    let (h2c, c2h) = (d.join("xdma1_h2c_0"), d.join("xdma1_c2h_0"));
    for p in [&h2c, &c2h] {
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }
    let o = run(&model, "ecp5", &image, &out, Some(&d.join("xdma1")));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("nobody serves"), "{err}");
    assert!(!out.exists());
}
