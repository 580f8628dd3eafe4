//! The command-line program against a virtual board in another process, exactly as a user
//! meets a board: `bbcu-host board serve --pty --link PATH` in one process, `bbcu-host run
//! --board ecp5 --port PATH` in another (the shipped models fit the ECP5 preset).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bbcu-host"))
}

fn vec_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/vectors").join(name)
}

fn shipped_sr() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/sr_x2.pth")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("bbcu-cli-board-{}-{name}", std::process::id()));
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

fn serve(link: &Path, preset: &str) -> Server {
    let mut child = bin()
        .args(["board", "serve", "--pty", "--baud", "0", "--preset", preset, "--link"])
        .arg(link)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The server prints its device path once it is listening.
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("/dev/pts/"), "{line}");
    assert_eq!(std::fs::read_link(link).unwrap(), Path::new(line.trim()));
    Server(child)
}

fn run(board: &str, port: &Path, image: &Path, out: &Path, extra: &[&str]) -> Output {
    bin()
        .args(["run", "--board", board, "--model"])
        .arg(shipped_sr())
        .arg("--image")
        .arg(image)
        .arg("--out")
        .arg(out)
        .arg("--port")
        .arg(port)
        .args(extra)
        .output()
        .unwrap()
}

fn fails_with(out: Output, needle: &str) {
    assert!(!out.status.success(), "expected failure");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "error must be one line: {err}");
    assert!(err.starts_with("error: ") && err.contains(needle), "unexpected error: {err}");
}

#[test]
fn run_on_a_virtual_board_equals_the_cpu_fixed_point_run() {
    let d = tmp("equal");
    let link = d.join("board");
    let _server = serve(&link, "ecp5-85k");
    // Wider than the strips below, so that the image goes in several.
    let input = d.join("in.png");
    let img = image::RgbImage::from_fn(61, 23, |x, y| image::Rgb([(x * 7 + y) as u8, (x * y) as u8, (y * 13) as u8]));
    img.save(&input).unwrap();
    let board_out = d.join("board.png");
    let o = run("ecp5", &link, &input, &board_out, &["--strip-width", "40"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(log.contains("link:") && log.contains("retries"), "{log}");
    let cpu_out = d.join("cpu.png");
    let o = bin()
        .args(["run", "--board", "cpu", "--precision", "fixed", "--model"])
        .arg(shipped_sr())
        .arg("--image")
        .arg(&input)
        .arg("--out")
        .arg(&cpu_out)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(std::fs::read(&board_out).unwrap(), std::fs::read(&cpu_out).unwrap());

    // Another design than the one asked for: refused, and no output is written.
    let other = d.join("other");
    let _other_server = serve(&other, "ice40-hx8k");
    let none = d.join("none.png");
    fails_with(run("ecp5", &other, &input, &none, &[]), "the board runs another design");
    assert!(!none.exists());

    // The port held by another program.
    let held = serialport::new(link.to_str().unwrap(), 3_000_000).open_native().unwrap();
    fails_with(run("ecp5", &link, &input, &none, &[]), "port busy");
    drop(held);
    // And free again afterwards.
    let o = run("ecp5", &link, &input, &none, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn board_errors_are_one_line() {
    let d = tmp("errors");
    let input = vec_dir("bbcum_x2").join("input.png");
    let out = d.join("o.png");
    fails_with(run("ecp5", &d.join("no-such-tty"), &input, &out, &[]), "no-such-tty: no such port");
    let o = bin().args(["run", "--board", "ecp5", "--image"]).arg(&input).output().unwrap();
    fails_with(o, "--board ecp5 needs --port");
    // A model the design cannot hold: refused before the board is contacted.
    let o = bin()
        .args(["run", "--board", "ice40-hx8k", "--model"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/sr_x2.pth"))
        .arg("--image")
        .arg(&input)
        .arg("--port")
        .arg(d.join("no-such-tty"))
        .output()
        .unwrap();
    fails_with(o, "unsupported model for --board ice40-hx8k: the model does not fit");
    // Unreadable image: refused before the board is contacted.
    let bad = d.join("bad.png");
    std::fs::write(&bad, b"not a png").unwrap();
    fails_with(run("ecp5", &d.join("no-such-tty"), &bad, &out, &[]), "not a readable image");
    assert!(!out.exists());
}
