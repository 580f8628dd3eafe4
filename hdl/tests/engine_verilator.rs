//! The whole engine's emitted Verilog: linted (`verilator --lint-only -Wall`), and run under
//! Verilator as a `Device` on every topology against the golden model, byte for byte, with
//! the counters of small cases compared cycle for cycle with rust-hdl's simulation of the same
//! engine (fpga-notes §3.9: never trust one simulator alone).
//!
//! The first test to need an engine instance compiles it (10–60 s on two cores); the binary is
//! cached under `target/verilator/` and reused while the Verilog is unchanged.

// Only the lint helpers of the shared Verilator module are used here.
#[allow(dead_code)]
mod verilator;

use bbcu_arch::strips::run_image;
use bbcu_arch::{compile, Counters, Device, HwConfig};
use bbcu_hdl::device::{simulated, test_config};
use bbcu_hdl::verilator::{engine_verilog, verilated};
use bbcu_sim::fixed::{forward, FixedNetwork};
use bbcu_sim::synth::{Rng, Topology};
use bbcu_sim::Planes;
use std::time::Instant;
use verilator::{lint, out_dir};

fn image(c: usize, h: usize, w: usize, seed: u64) -> Planes {
    let mut rng = Rng::new(seed);
    Planes::from_vec(c, h, w, (0..c * h * w).map(|_| (rng.next_u64() % 256) as u8).collect())
}

/// The engine-specific lint waivers, each matched on its message so that a new warning of a
/// waived class still fails:
/// - UNUSEDPARAM on the `Phase` enum's localparams, which rust-hdl declares inside the module
///   of the `DFF<Phase>` that only passes the state through;
/// - VARHIDDEN on `q`: the engine's register `q` becomes instance `q` of module `top$q`,
///   whose output port is also `q` (same name in different modules, no hiding in fact);
/// - UNUSEDSIGNAL on `pe$k$done` for k ≥ 1 (the array reads PE 0's), on `load_data[63:32]` /
///   `[63:16]` of 32- / 16-lane instances (the load port is 64 bits for every lane count);
/// - for the firmware-sequenced engine, its enums' localparams as above and the control
///   core's outputs it leaves unused.
fn lint_config() -> String {
    let mut c = String::from("`verilator_config\n");
    let mut off = |rule: &str, msg: &str| c += &format!("lint_off -rule {rule} -file \"*\" -match \"{msg}\"\n");
    off("UNUSEDPARAM", "*Parameter is not used: 'Phase$*");
    off("VARHIDDEN", "*hides declaration in upper scope: 'q'*");
    off("UNUSEDSIGNAL", "*Signal is not used: 'pe$*$done'*");
    off("UNUSEDSIGNAL", "*Bits of signal are not used: 'load_data'[63:32]*");
    off("UNUSEDSIGNAL", "*Bits of signal are not used: 'load_data'[63:16]*");
    // The firmware-sequenced engine (the UP5K's): its row loop's and its core's state enums,
    // and the core's outputs it does not need (it registers `in` values from `port_next` but
    // takes its strobes in the execute cycle, runs on thread 0 alone, and has no trace).
    off("UNUSEDPARAM", "*Parameter is not used: 'RowPhase$*");
    off("UNUSEDPARAM", "*Parameter is not used: 'Cs$*");
    for sig in ["exec", "xth", "out_next$*", "in_next$*", "pwr$1", "prd$1"] {
        off("UNUSEDSIGNAL", &format!("*Signal is not used: 'core${sig}'*"));
    }
    // Constant bank 7 holds a threshold's 17th bit (bit 0).
    off("UNUSEDSIGNAL", "*Bits of signal are not used: 'cmem$7$read_data'[15:1]*");
    c
}

fn lint_instance(cfg: &HwConfig) {
    let v = engine_verilog(cfg).unwrap_or_else(|e| panic!("{e}"));
    let path = out_dir().join(format!("engine-{}.v", v.instance));
    std::fs::write(&path, &v.text).unwrap();
    let vlt = out_dir().join(format!("engine-{}.vlt", v.instance));
    std::fs::write(&vlt, lint_config()).unwrap();
    eprintln!("{}: {} bytes of Verilog", v.instance, v.text.len());
    lint(&path, &[vlt]);
}

#[test]
fn engine_verilog_lints() {
    lint_instance(&test_config());
    lint_instance(&HwConfig::preset("ice40-up5k").unwrap());
    lint_instance(&HwConfig::preset("ecp5-85k").unwrap());
}

struct Run {
    out: Planes,
    counts: Vec<Counters>,
    secs: f64,
}

fn run(dev: &mut dyn Device, bytes: &[u8], input: &Planes, halo: usize, cap: usize, r: usize, oc: usize) -> Run {
    dev.load(bytes).unwrap();
    let t0 = Instant::now();
    let mut counts = Vec::new();
    let out = run_image(dev, input, halo, cap, r, oc, |_, k| counts.push(k.clone())).unwrap_or_else(|e| panic!("{e}"));
    Run { out, counts, secs: t0.elapsed().as_secs_f64() }
}

/// Runs a network through the Verilated engine: the golden bytes, and with `cross` the same
/// counters as rust-hdl's simulation of the engine, strip by strip. Answers the cycle rate.
fn check(t: Topology, h: usize, w: usize, max_width: usize, seed: u64, cross: bool) -> f64 {
    let mut cfg = test_config();
    cfg.max_width = max_width;
    let net = t.build(seed);
    let q = FixedNetwork::compile(&net, None).unwrap();
    let c = compile(&q, &cfg).unwrap_or_else(|e| panic!("{e}"));
    let bytes = c.image.to_bytes(&cfg);
    let input = image(net.in_ch, h, w, seed + 1);
    let want = forward(&q, &input);
    let (r, oc) = (net.scale(), net.out_ch);

    let mut dev = verilated(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let vl = run(dev.as_mut(), &bytes, &input, c.halo, c.width_cap, r, oc);
    let cycles: u64 = vl.counts.iter().map(|k| k.total_cycles).sum();
    let rate = cycles as f64 / vl.secs;
    eprintln!(
        "{:?} ×{r} {h}×{w}: {cycles} cycles in {:.2} s under Verilator ({rate:.0} cycles/s), {} strips",
        net.arch,
        vl.secs,
        vl.counts.len()
    );
    let diff = want.data.iter().zip(&vl.out.data).filter(|(a, b)| a != b).count();
    assert_eq!(diff, 0, "{diff} of {} bytes differ from the golden model", want.data.len());
    assert!(vl.counts.iter().all(|k| k.layer_busy.iter().sum::<u64>() > 0), "busy counters all zero");

    if cross {
        let mut hdl = simulated(&cfg).unwrap();
        let rh = run(hdl.as_mut(), &bytes, &input, c.halo, c.width_cap, r, oc);
        assert_eq!(rh.out, vl.out, "rust-hdl and Verilator outputs");
        assert_eq!(rh.counts.len(), vl.counts.len());
        for (s, (a, b)) in rh.counts.iter().zip(&vl.counts).enumerate() {
            assert_eq!(a, b, "strip {s}: rust-hdl counters (left) and Verilator counters (right)");
        }
        eprintln!("  rust-hdl: same counters, {:.1} s ({:.0}× slower)", rh.secs, rh.secs / vl.secs);
    }
    rate
}

// Each Verilator case below runs 0.3–1.5 M cycles (about a second); the two cross-checks
// cost a few seconds of rust-hdl simulation each.

#[test]
fn deblock_with_biases_and_strips_agrees_with_rust_hdl() {
    check(Topology::deblock(8, 3), 3, 13, 11, 2, true);
}

#[test]
fn bbcu_m_x2_agrees_with_rust_hdl() {
    check(Topology::bbcu_m(8, 1, 2), 2, 3, 64, 3, true);
}

#[test]
fn denoise_odd_size() {
    check(Topology::denoise(8, 3), 23, 31, 64, 1, false);
}

#[test]
fn deblock_with_biases_several_strips() {
    check(Topology::deblock(8, 3), 21, 45, 16, 2, false);
}

#[test]
fn bbcu_m_x2() {
    check(Topology::bbcu_m(8, 1, 2), 15, 21, 64, 3, false);
}

#[test]
fn bbcu_m_x3_strips() {
    check(Topology::bbcu_m(8, 1, 3), 11, 50, 24, 4, false);
}

#[test]
fn bbcu_m_x4() {
    check(Topology::bbcu_m(8, 1, 4), 9, 13, 64, 5, false);
}

#[test]
fn bbcu_l_x2_strips() {
    check(Topology::bbcu_l(8, 1, 2), 6, 29, 14, 6, false);
}

#[test]
fn bbcu_l_x3() {
    check(Topology::bbcu_l(8, 1, 3), 7, 13, 64, 7, false);
}

#[test]
fn bbcu_l_x4() {
    check(Topology::bbcu_l(8, 1, 4), 5, 9, 64, 8, false);
}

/// The throughput figure of issue 4 (≥ 1 M cycles/s): a wider network on a larger image.
/// `cargo test --release -p bbcu-hdl --test engine_verilator -- --ignored --nocapture`
#[test]
#[ignore]
fn throughput_denoise_64x64() {
    let rate = check(Topology::denoise(32, 6), 64, 64, 64, 9, false);
    eprintln!("Verilator: {rate:.0} cycles/s");
}
