//! Verilator plumbing shared by the hardware tests: emit a block's Verilog, lint it, and build
//! and run a C++ testbench over a vector file.

use rust_hdl::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Warning classes waived in every lint, each a property of rust-hdl's generator, not of the
/// design (Verilator 5.006 finds no others with `-Wall`):
/// - WIDTH: every literal is emitted 32 bits wide and widening is left to Verilog's context
///   rules (`hit[i+:1] + hit[j+:1]` into a 3-bit sum, `(x & 16'hffff)` for `bit_cast`), so
///   about 260 assignments per P = 4 array mix widths on purpose;
/// - DECLFILENAME: the whole design is one file, so module names never match the file name.
///
/// The whole engine (`tests/engine_verilator.rs`, `lint_config`) also waives, by exact
/// message in a `.vlt` file so that any other warning of these classes still fails:
/// UNUSEDPARAM for the `Phase` enum's localparams (rust-hdl declares them in the `DFF<Phase>`
/// module, which only passes the state through); VARHIDDEN for `q` (the engine's register `q`
/// is instance `q` of module `top$q`, whose port is also `q`); UNUSEDSIGNAL for `pe$k$done`
/// (k ≥ 1) and `load_data[63:32]` of 32-lane instances (one 64-bit load port for every lane
/// count).
pub const WAIVED: &[&str] = &["WIDTH", "DECLFILENAME"];

pub fn out_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bbcu-hdl");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes the block's Verilog to `<out_dir>/<name>.v`.
pub fn emit<B: Block>(mut uut: B, name: &str) -> PathBuf {
    uut.connect_all();
    let v = generate_verilog(&uut);
    assert!(v.contains("module top("), "top module missing");
    let path = out_dir().join(format!("{name}.v"));
    std::fs::write(&path, v).unwrap();
    path
}

pub fn verilator() -> Command {
    let ok = Command::new("verilator").arg("--version").output().map(|o| o.status.success()).unwrap_or(false);
    assert!(ok, "verilator is not installed (scripts/test.sh installs it: apt-get install verilator)");
    Command::new("verilator")
}

/// `verilator --lint-only -Wall` with [`WAIVED`] and any extra arguments; fails on a warning.
pub fn lint(path: &Path, extra: &[PathBuf]) {
    let mut cmd = verilator();
    cmd.args(["--lint-only", "-Wall", "--top-module", "top"]);
    for w in WAIVED {
        cmd.arg(format!("-Wno-{w}"));
    }
    let out = cmd.args(extra).arg(path).output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !log.contains("%Warning"), "verilator lint of {}:\n{log}", path.display());
}

/// Builds `verilog` with the C++ testbench `tb` in a fresh folder `<out_dir>/<name>-vl`, runs it
/// on `vectors` (written to a file passed as its only argument) and returns what it printed.
pub fn build_and_run(name: &str, verilog: &Path, tb: &str, vectors: &str) -> String {
    let dir = out_dir().join(format!("{name}-vl"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let tb_path = dir.join("tb.cpp");
    std::fs::write(&tb_path, tb).unwrap();
    let vectors_path = dir.join("vectors.txt");
    std::fs::write(&vectors_path, vectors).unwrap();
    let out = verilator()
        .args(["--cc", "--exe", "--build", "-j", "2", "-Wno-fatal", "-Wno-WIDTH", "--top-module", "top", "-O1"])
        .arg("--Mdir")
        .arg(&dir)
        .args(["-o", "vtb"])
        .arg(verilog)
        .arg(&tb_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "verilator build:\n{}", String::from_utf8_lossy(&out.stderr));
    let run = Command::new(dir.join("vtb")).arg(&vectors_path).output().unwrap();
    assert!(run.status.success(), "testbench failed:\n{}", String::from_utf8_lossy(&run.stderr));
    String::from_utf8_lossy(&run.stdout).into_owned()
}
