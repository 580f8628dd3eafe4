//! The emitted Verilog: generated for the P = 4 arrays, linted by Verilator, and (for the
//! 32-lane array) cross-simulated under Verilator on the same seeded vectors as the rust-hdl
//! simulation, because rust-hdl's simulator and its Verilog have disagreed before
//! (fpga-notes §3.9).

mod common;

use bbcu_hdl::{PeArray32, PeArray64};
use common::random_groups;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::*;
use std::path::PathBuf;
use std::process::Command;

fn out_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bbcu-hdl");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn emit<B: Block>(mut uut: B, name: &str) -> PathBuf {
    uut.connect_all();
    let v = generate_verilog(&uut);
    assert!(v.contains("module top("), "top module missing");
    let path = out_dir().join(format!("{name}.v"));
    std::fs::write(&path, v).unwrap();
    path
}

/// Warning classes waived in the lint, each a property of rust-hdl's generator, not of the
/// design (Verilator 5.006 finds no others with `-Wall`):
/// - WIDTH: every literal is emitted 32 bits wide and widening is left to Verilog's context
///   rules (`hit[i+:1] + hit[j+:1]` into a 3-bit sum, `(x & 16'hffff)` for `bit_cast`), so
///   about 260 assignments per P = 4 array mix widths on purpose;
/// - DECLFILENAME: the whole design is one file, so module names never match the file name.
///
/// `lint.vlt` also waives one UNUSEDSIGNAL: the array reads `done` from PE 0 only.
const WAIVED: &[&str] = &["WIDTH", "DECLFILENAME"];

fn verilator() -> Command {
    let ok = Command::new("verilator").arg("--version").output().map(|o| o.status.success()).unwrap_or(false);
    assert!(ok, "verilator is not installed (scripts/test.sh installs it: apt-get install verilator)");
    Command::new("verilator")
}

fn lint(path: &PathBuf) {
    let mut cmd = verilator();
    let vlt = out_dir().join("lint.vlt");
    std::fs::write(&vlt, "`verilator_config\nlint_off -rule UNUSEDSIGNAL -file \"*\" -match \"*pe$*$done*\"\n")
        .unwrap();
    cmd.args(["--lint-only", "-Wall", "--top-module", "top"]).arg(&vlt);
    for w in WAIVED {
        cmd.arg(format!("-Wno-{w}"));
    }
    let out = cmd.arg(path).output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !log.contains("%Warning"), "verilator lint of {}:\n{log}", path.display());
}

#[test]
fn array32x4_verilog_lints() {
    lint(&emit(PeArray32::<4>::default(), "pe_array32x4"));
}

#[test]
fn array64x4_verilog_lints() {
    lint(&emit(PeArray64::<4>::default(), "pe_array64x4"));
}

/// A C++ testbench for the P = 4 array: reads one cycle per line (`act lane w0..w3 valid
/// clear last`, hex), clocks the model, and prints the four sums at every `done`.
const TB: &str = r#"
#include "Vtop.h"
#include <cstdio>
#include <cstdint>
int main(int argc, char** argv) {
    Vtop* t = new Vtop;
    FILE* f = fopen(argv[1], "r");
    unsigned long long a, l, w0, w1, w2, w3, v, c, e;
    t->clock = 0; t->eval();
    while (fscanf(f, "%llx %llx %llx %llx %llx %llx %llx %llx %llx", &a, &l, &w0, &w1, &w2, &w3, &v, &c, &e) == 9) {
        t->act = a; t->lane = l;
        t->wgt__0240 = w0; t->wgt__0241 = w1; t->wgt__0242 = w2; t->wgt__0243 = w3;
        t->valid_in = v; t->clear = c; t->last = e;
        t->eval();
        t->clock = 1; t->eval();
        if (t->done)
            printf("%d %d %d %d\n", (int16_t)t->sum__0240, (int16_t)t->sum__0241, (int16_t)t->sum__0242, (int16_t)t->sum__0243);
        t->clock = 0; t->eval();
    }
    delete t;
    return 0;
}
"#;

/// The same seeded groups as the rust-hdl test, through the Verilog under Verilator, against the
/// same expected sums. The Verilator build takes about 20–40 s on two cores.
fn cross_simulate<B: Block + Default>(name: &str, lanes: usize, latency: usize) {
    let dir = out_dir().join(format!("{name}-vl"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let v = emit(B::default(), name);
    let tb = dir.join("tb.cpp");
    std::fs::write(&tb, TB).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (sched, want) = random_groups(&mut rng, lanes, 4, 200);
    let mut vec = String::new();
    for c in sched.iter().chain(std::iter::repeat_n(&Default::default(), latency + 2)) {
        let w = |p: usize| c.wgt.get(p).copied().unwrap_or(0);
        vec += &format!(
            "{:x} {:x} {:x} {:x} {:x} {:x} {:x} {:x} {:x}\n",
            c.act,
            c.lane,
            w(0),
            w(1),
            w(2),
            w(3),
            c.valid as u8,
            c.clear as u8,
            c.last as u8
        );
    }
    let vectors = dir.join("vectors.txt");
    std::fs::write(&vectors, vec).unwrap();
    let out = verilator()
        .args(["--cc", "--exe", "--build", "-j", "2", "-Wno-fatal", "-Wno-WIDTH", "--top-module", "top", "-O1"])
        .arg("--Mdir")
        .arg(&dir)
        .args(["-o", "vtb"])
        .arg(&v)
        .arg(&tb)
        .output()
        .unwrap();
    assert!(out.status.success(), "verilator build:\n{}", String::from_utf8_lossy(&out.stderr));
    let run = Command::new(dir.join("vtb")).arg(&vectors).output().unwrap();
    assert!(run.status.success());
    let got: Vec<Vec<i32>> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(|l| l.split_whitespace().map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(got.len(), want.len(), "one done per group");
    for (g, (a, b)) in got.iter().zip(&want).enumerate() {
        assert_eq!(a, b, "group {g}");
    }
}

#[test]
fn array32x4_verilator_matches_model() {
    cross_simulate::<PeArray32<4>>("pe_array32x4_xsim", 32, PeArray32::<4>::LATENCY);
}

#[test]
fn array64x4_verilator_matches_model() {
    cross_simulate::<PeArray64<4>>("pe_array64x4_xsim", 64, PeArray64::<4>::LATENCY);
}
