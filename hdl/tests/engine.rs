//! The whole engine under rust-hdl's simulator: small networks of every topology, one strip
//! and several, against the golden model (bytes) and the reference model (cycle counters).

use bbcu_arch::strips::run_image;
use bbcu_arch::{compile, Device, RefDevice};
use bbcu_hdl::device::{simulated, test_config};
use bbcu_sim::fixed::{forward, FixedNetwork};
use bbcu_sim::synth::{Rng, Topology};
use bbcu_sim::Planes;
use std::time::Instant;

fn image(c: usize, h: usize, w: usize, seed: u64) -> Planes {
    let mut rng = Rng::new(seed);
    Planes::from_vec(c, h, w, (0..c * h * w).map(|_| (rng.next_u64() % 256) as u8).collect())
}

/// Runs a network through the simulated engine and the reference model; both must give the
/// golden bytes, and the same per-op cycle and busy counts.
fn check(t: Topology, h: usize, w: usize, max_width: usize, seed: u64) {
    let mut cfg = test_config();
    cfg.max_width = max_width;
    let net = t.build(seed);
    let q = FixedNetwork::compile(&net, None).unwrap();
    let c = compile(&q, &cfg).unwrap_or_else(|e| panic!("{e}"));
    let bytes = c.image.to_bytes(&cfg);
    let input = image(net.in_ch, h, w, seed + 1);
    let want = forward(&q, &input);

    let mut dev = simulated(&cfg).unwrap();
    dev.load(&bytes).unwrap();
    let t0 = Instant::now();
    let mut hw_counts = Vec::new();
    let got =
        run_image(dev.as_mut(), &input, c.halo, c.width_cap, net.scale(), net.out_ch, |_, k| hw_counts.push(k.clone()))
            .unwrap_or_else(|e| panic!("{e}"));
    let secs = t0.elapsed().as_secs_f64();
    let cycles: u64 = hw_counts.iter().map(|k| k.total_cycles).sum();
    eprintln!(
        "{:?} ×{} {h}×{w}: {cycles} cycles in {secs:.1} s ({:.0} cycles/s), {} strips",
        net.arch,
        net.scale(),
        cycles as f64 / secs,
        hw_counts.len()
    );
    let diff = want.data.iter().zip(&got.data).filter(|(a, b)| a != b).count();
    assert_eq!(diff, 0, "{diff} of {} bytes differ from the golden model", want.data.len());

    let mut refdev = RefDevice::new(cfg.clone());
    refdev.load(&bytes).unwrap();
    let mut ref_counts = Vec::new();
    run_image(&mut refdev, &input, c.halo, c.width_cap, net.scale(), net.out_ch, |_, k| ref_counts.push(k.clone()))
        .unwrap();
    for (hw, rf) in hw_counts.iter().zip(&ref_counts) {
        eprintln!(
            "hw cycles {:?} total {} stall {}\nref cycles {:?} total {}",
            hw.layer_cycles, hw.total_cycles, hw.stall_cycles, rf.layer_cycles, rf.total_cycles
        );
        assert_eq!(hw.layer_busy, rf.layer_busy[..hw.layer_busy.len()], "busy PE-cycles per op");
    }
}

#[test]
fn denoise_one_strip() {
    check(Topology::denoise(8, 3), 4, 5, 64, 1);
}

#[test]
fn deblock_with_biases_and_strips() {
    check(Topology::deblock(8, 3), 3, 13, 11, 2);
}

#[test]
fn bbcu_m_x2() {
    check(Topology::bbcu_m(8, 1, 2), 3, 4, 64, 3);
}

#[test]
fn bbcu_m_x3() {
    check(Topology::bbcu_m(8, 1, 3), 2, 3, 64, 4);
}

#[test]
fn bbcu_m_x4() {
    check(Topology::bbcu_m(8, 1, 4), 2, 3, 64, 5);
}

#[test]
fn bbcu_l_x2() {
    check(Topology::bbcu_l(8, 1, 2), 3, 4, 64, 6);
}

#[test]
fn bbcu_l_x3() {
    check(Topology::bbcu_l(8, 1, 3), 2, 3, 64, 7);
}

#[test]
fn bbcu_l_x4() {
    check(Topology::bbcu_l(8, 1, 4), 2, 2, 64, 8);
}
