//! The emitted Verilog: generated for the P = 4 arrays, linted by Verilator, and (for the
//! 32-lane array) cross-simulated under Verilator on the same seeded vectors as the rust-hdl
//! simulation, because rust-hdl's simulator and its Verilog have disagreed before
//! (fpga-notes §3.9).

mod common;
mod verilator;

use bbcu_hdl::{PeArray16, PeArray32, PeArray64};
use common::random_groups;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::*;
use verilator::{build_and_run, emit, lint, out_dir};

/// The array reads `done` from PE 0 only, so the other PEs' `done` outputs are unused.
fn lint_array(path: &std::path::Path) {
    let vlt = out_dir().join("lint.vlt");
    std::fs::write(&vlt, "`verilator_config\nlint_off -rule UNUSEDSIGNAL -file \"*\" -match \"*pe$*$done*\"\n")
        .unwrap();
    lint(path, &[vlt]);
}

#[test]
fn array16x4_verilog_lints() {
    lint_array(&emit(PeArray16::<4>::default(), "pe_array16x4"));
}

#[test]
fn array32x4_verilog_lints() {
    lint_array(&emit(PeArray32::<4>::default(), "pe_array32x4"));
}

#[test]
fn array64x4_verilog_lints() {
    lint_array(&emit(PeArray64::<4>::default(), "pe_array64x4"));
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
    let v = emit(B::default(), name);
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
    let stdout = build_and_run(name, &v, TB, &vec);
    let got: Vec<Vec<i32>> =
        stdout.lines().map(|l| l.split_whitespace().map(|x| x.parse().unwrap()).collect()).collect();
    assert_eq!(got.len(), want.len(), "one done per group");
    for (g, (a, b)) in got.iter().zip(&want).enumerate() {
        assert_eq!(a, b, "group {g}");
    }
}

#[test]
fn array16x4_verilator_matches_model() {
    cross_simulate::<PeArray16<4>>("pe_array16x4_xsim", 16, PeArray16::<4>::LATENCY);
}

#[test]
fn array32x4_verilator_matches_model() {
    cross_simulate::<PeArray32<4>>("pe_array32x4_xsim", 32, PeArray32::<4>::LATENCY);
}

#[test]
fn array64x4_verilator_matches_model() {
    cross_simulate::<PeArray64<4>>("pe_array64x4_xsim", 64, PeArray64::<4>::LATENCY);
}
