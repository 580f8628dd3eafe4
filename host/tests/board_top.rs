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
