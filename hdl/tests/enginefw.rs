//! The firmware-sequenced engine (`bbcu_hdl::enginefw`) under rust-hdl's simulator and its
//! emitted Verilog under Verilator: small networks of every topology, one strip and several,
//! against the golden model (bytes) and the firmware's cycle model
//! `bbcu_arch::seqfw::SeqBoard` (every counter of every strip), and the two simulators
//! against each other.

use bbcu_arch::seqfw::SeqBoard;
use bbcu_arch::strips::run_image;
use bbcu_arch::{compile, Counters, Device};
use bbcu_hdl::device::{test_config, HdlDevice, TestEngineFw, Up5kEngineFw};
use bbcu_hdl::generate::EngineKind;
use bbcu_hdl::verilator::verilated_of;
use bbcu_sim::fixed::{forward, FixedNetwork};
use bbcu_sim::synth::{Rng, Topology};
use bbcu_sim::Planes;
use std::time::Instant;

fn image(c: usize, h: usize, w: usize, seed: u64) -> Planes {
    let mut rng = Rng::new(seed);
    Planes::from_vec(c, h, w, (0..c * h * w).map(|_| (rng.next_u64() % 256) as u8).collect())
}

/// Which simulators a case runs: rust-hdl (slow: tiny images), Verilator, or both.
#[derive(Clone, Copy, PartialEq)]
enum Sims {
    RustHdl,
    Verilator,
    Both,
}

fn check(t: Topology, h: usize, w: usize, max_width: usize, seed: u64, sims: Sims) {
    let mut cfg = test_config();
    cfg.max_width = max_width;
    // As on the UP5K: bit rings in the input memory's upper half, where the compiler can.
    cfg.memory.bits_in_input = true;
    let net = t.build(seed);
    let q = FixedNetwork::compile(&net, None).unwrap();
    let c = compile(&q, &cfg).unwrap_or_else(|e| panic!("{e}"));
    let lent = cfg.memory.input_words / 2;
    let in_input = c.program.ops.iter().filter(|op| op.dst.b_rows > 0 && op.dst.b_base >= lent).count();
    let binary = c.program.ops.iter().filter(|op| op.kind == bbcu_arch::program::OpKind::Binary).count();
    assert!(binary < 2 || in_input > 0, "no bit ring went to the input memory");
    let bytes = c.image.to_bytes(&cfg);
    let input = image(net.in_ch, h, w, seed + 1);
    let want = forward(&q, &input);
    let run = |dev: &mut dyn Device, what: &str| {
        dev.load(&bytes).unwrap();
        let mut counts: Vec<Counters> = Vec::new();
        let t0 = Instant::now();
        let got = run_image(dev, &input, c.halo, c.width_cap, net.scale(), net.out_ch, |_, k| counts.push(k.clone()))
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let cycles: u64 = counts.iter().map(|k| k.total_cycles).sum();
        let secs = t0.elapsed().as_secs_f64();
        eprintln!(
            "{what}: {:?} ×{} {h}×{w}: {cycles} cycles in {secs:.1} s, {} strips",
            net.arch,
            net.scale(),
            counts.len()
        );
        let diff = want.data.iter().zip(&got.data).filter(|(a, b)| a != b).count();
        assert_eq!(diff, 0, "{what}: {diff} of {} bytes differ from the golden model", want.data.len());
        counts
    };
    let model = run(&mut SeqBoard::empty(&cfg).unwrap(), "firmware model");
    let mut sims_run = Vec::new();
    if sims != Sims::Verilator {
        sims_run.push(("rust-hdl", run(&mut HdlDevice::<TestEngineFw>::new(cfg.clone()), "rust-hdl")));
    }
    if sims != Sims::RustHdl {
        let mut dev = verilated_of(&cfg, EngineKind::Firmware).unwrap_or_else(|e| panic!("{e}"));
        sims_run.push(("Verilator", run(dev.as_mut(), "Verilator")));
    }
    for (what, hw) in sims_run {
        assert_eq!(hw.len(), model.len());
        for (k, (hw, m)) in hw.iter().zip(&model).enumerate() {
            assert_eq!(hw.total_cycles, m.total_cycles, "{what}, strip {k}: total cycles\nhw {hw:?}\nmodel {m:?}");
            assert_eq!(hw.stall_cycles, 0, "{what}, strip {k}: stall cycles");
            assert_eq!(hw.layer_cycles, m.layer_cycles, "{what}, strip {k}: cycles per op");
            assert_eq!(hw.layer_busy, m.layer_busy, "{what}, strip {k}: busy PE-cycles per op");
        }
    }
}

#[test]
fn denoise_one_strip() {
    check(Topology::denoise(8, 3), 4, 5, 64, 1, Sims::Both);
}

#[test]
fn deblock_with_biases_and_strips() {
    check(Topology::deblock(8, 3), 3, 13, 11, 2, Sims::Both);
}

#[test]
fn bbcu_m_x2() {
    check(Topology::bbcu_m(8, 1, 2), 3, 4, 64, 3, Sims::Both);
}

#[test]
fn bbcu_m_x3() {
    check(Topology::bbcu_m(8, 1, 3), 2, 3, 64, 4, Sims::Both);
}

#[test]
fn bbcu_m_x4() {
    check(Topology::bbcu_m(8, 1, 4), 2, 3, 64, 5, Sims::Both);
}

#[test]
fn bbcu_l_x2() {
    check(Topology::bbcu_l(8, 1, 2), 3, 4, 64, 6, Sims::Both);
}

#[test]
fn bbcu_l_x3() {
    check(Topology::bbcu_l(8, 1, 3), 2, 3, 64, 7, Sims::Both);
}

#[test]
fn bbcu_l_x4() {
    check(Topology::bbcu_l(8, 1, 4), 2, 2, 64, 8, Sims::Both);
}

// Larger images under Verilator alone (rust-hdl would take minutes).

#[test]
fn verilator_denoise_odd_size() {
    check(Topology::denoise(8, 3), 23, 31, 64, 1, Sims::Verilator);
}

#[test]
fn verilator_deblock_several_strips() {
    check(Topology::deblock(8, 3), 21, 45, 16, 2, Sims::Verilator);
}

#[test]
fn verilator_bbcu_m_x3_strips() {
    check(Topology::bbcu_m(8, 1, 3), 11, 50, 24, 4, Sims::Verilator);
}

#[test]
fn verilator_bbcu_l_x2_strips() {
    check(Topology::bbcu_l(8, 1, 2), 6, 29, 14, 6, Sims::Verilator);
}

#[test]
fn verilator_bbcu_l_x4() {
    check(Topology::bbcu_l(8, 1, 4), 5, 9, 64, 8, Sims::Verilator);
}

/// The UP5K's own engine instance (its memories and its one PE and one FP lane, `Up5kEngine`,
/// where a group is one output: `EngineFw16`'s `single`): the golden bytes and the firmware
/// model's counters, strip for strip.
fn check_up5k(dev: &mut dyn Device, t: Topology, h: usize, w: usize) {
    let cfg = bbcu_arch::HwConfig::preset("ice40-up5k").unwrap();
    let net = t.build(11);
    let q = FixedNetwork::compile(&net, None).unwrap();
    let c = compile(&q, &cfg).unwrap_or_else(|e| panic!("{e}"));
    let bytes = c.image.to_bytes(&cfg);
    let input = image(net.in_ch, h, w, 12);
    let want = forward(&q, &input);
    let run = |dev: &mut dyn Device| {
        dev.load(&bytes).unwrap();
        let mut counts: Vec<Counters> = Vec::new();
        let got = run_image(dev, &input, c.halo, c.width_cap, net.scale(), net.out_ch, |_, k| counts.push(k.clone()))
            .unwrap();
        let diff = want.data.iter().zip(&got.data).filter(|(a, b)| a != b).count();
        assert_eq!(diff, 0, "{diff} of {} bytes differ from the golden model", want.data.len());
        counts
    };
    let hw = run(dev);
    let model = run(&mut SeqBoard::empty(&cfg).unwrap());
    // The one-output engine keeps the strip's totals only (`HwConfig::op_counters`).
    assert!(!cfg.op_counters());
    assert_eq!(hw, model.iter().map(|k| Counters { stall_cycles: 0, ..k.totals() }).collect::<Vec<_>>());
}

/// Under Verilator, with strips: the shapes of the shipped models (`sr_x2_small`: 16 channels,
/// two blocks, ×2; the 16-channel denoiser and deblocker) and a small BBCU-L ×2.
#[test]
fn verilator_up5k_instance_shipped_shapes() {
    let cfg = bbcu_arch::HwConfig::preset("ice40-up5k").unwrap();
    let c = compile(&FixedNetwork::compile(&Topology::bbcu_m(16, 2, 2).build(11), None).unwrap(), &cfg).unwrap();
    assert!(c.width_cap < 60, "several strips");
    let cases = [
        (Topology::bbcu_m(16, 2, 2), 10, 60),
        (Topology::denoise(16, 4), 7, 100),
        (Topology::deblock(16, 5), 5, 90),
        (Topology::bbcu_l(4, 1, 2), 4, 11),
    ];
    for (t, h, w) in cases {
        // A fresh device for each: its strip count runs from its reset, as the model's does.
        let mut dev = bbcu_hdl::verilator::verilated(&cfg).unwrap_or_else(|e| panic!("{e}"));
        check_up5k(dev.as_mut(), t, h, w);
    }
}

/// Under rust-hdl's simulator (a tiny image: it is slow).
#[test]
fn rust_hdl_up5k_instance_sr_x2_small_shape() {
    let cfg = bbcu_arch::HwConfig::preset("ice40-up5k").unwrap();
    check_up5k(&mut HdlDevice::<Up5kEngineFw>::new(cfg), Topology::bbcu_m(16, 2, 2), 3, 4);
}
