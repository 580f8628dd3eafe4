//! The firmware-sequenced engine (`bbcu_hdl::enginefw`) under rust-hdl's simulator: small
//! networks of every topology, one strip and several, against the golden model (bytes) and
//! the firmware's cycle model `bbcu_arch::seqfw::SeqBoard` (every counter of every strip).

use bbcu_arch::seqfw::SeqBoard;
use bbcu_arch::strips::run_image;
use bbcu_arch::{compile, Counters, Device};
use bbcu_hdl::device::{test_config, HdlDevice, TestEngineFw};
use bbcu_sim::fixed::{forward, FixedNetwork};
use bbcu_sim::synth::{Rng, Topology};
use bbcu_sim::Planes;
use std::time::Instant;

fn image(c: usize, h: usize, w: usize, seed: u64) -> Planes {
    let mut rng = Rng::new(seed);
    Planes::from_vec(c, h, w, (0..c * h * w).map(|_| (rng.next_u64() % 256) as u8).collect())
}

fn check(t: Topology, h: usize, w: usize, max_width: usize, seed: u64) {
    let mut cfg = test_config();
    cfg.max_width = max_width;
    let net = t.build(seed);
    let q = FixedNetwork::compile(&net, None).unwrap();
    let c = compile(&q, &cfg).unwrap_or_else(|e| panic!("{e}"));
    let bytes = c.image.to_bytes(&cfg);
    let input = image(net.in_ch, h, w, seed + 1);
    let want = forward(&q, &input);
    let run = |dev: &mut dyn Device| {
        dev.load(&bytes).unwrap();
        let mut counts: Vec<Counters> = Vec::new();
        let got = run_image(dev, &input, c.halo, c.width_cap, net.scale(), net.out_ch, |_, k| counts.push(k.clone()))
            .unwrap_or_else(|e| panic!("{e}"));
        (got, counts)
    };
    let t0 = Instant::now();
    let (got, hw) = run(&mut HdlDevice::<TestEngineFw>::new(cfg.clone()));
    let secs = t0.elapsed().as_secs_f64();
    let cycles: u64 = hw.iter().map(|k| k.total_cycles).sum();
    eprintln!("{:?} ×{} {h}×{w}: {cycles} cycles in {secs:.1} s, {} strips", net.arch, net.scale(), hw.len());
    let diff = want.data.iter().zip(&got.data).filter(|(a, b)| a != b).count();
    assert_eq!(diff, 0, "{diff} of {} bytes differ from the golden model", want.data.len());
    let (_, model) = run(&mut SeqBoard::empty(&cfg).unwrap());
    assert_eq!(hw.len(), model.len());
    for (k, (hw, m)) in hw.iter().zip(&model).enumerate() {
        assert_eq!(hw.total_cycles, m.total_cycles, "strip {k}: total cycles\nhw {hw:?}\nmodel {m:?}");
        assert_eq!(hw.stall_cycles, 0, "strip {k}: stall cycles");
        assert_eq!(hw.layer_cycles, m.layer_cycles, "strip {k}: cycles per op");
        assert_eq!(hw.layer_busy, m.layer_busy, "strip {k}: busy PE-cycles per op");
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
