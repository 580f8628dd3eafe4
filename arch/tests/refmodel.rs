//! The reference model against the golden model: whole networks of every topology, cut into
//! strips, must give the golden model's bytes on the whole image.

mod common;

use bbcu_arch::config::HwConfig;
use bbcu_arch::strips::run_image;
use bbcu_arch::{compile, Device, RefDevice};
use bbcu_sim::fixed::{forward, FixedNetwork};
use bbcu_sim::synth::Topology;
use common::{config, image};

fn check(t: Topology, cfg: &HwConfig, h: usize, w: usize, seed: u64) {
    let net = t.build(seed);
    let q = FixedNetwork::compile(&net, None).unwrap();
    let compiled = compile(&q, cfg).unwrap_or_else(|e| panic!("{e}"));
    let mut dev = RefDevice::new(cfg.clone());
    dev.load(&compiled.image.to_bytes(cfg)).unwrap();
    let input = image(net.in_ch, h, w, seed + 1);
    let want = forward(&q, &input);
    let mut last_strip = None;
    let got = run_image(&mut dev, &input, compiled.halo, compiled.width_cap, net.scale(), net.out_ch, |s, _| {
        last_strip = Some(s.job)
    })
    .unwrap();
    // The cycle each output row is done: one per row, rising, within the strip's cycles.
    let job = last_strip.expect("no strip ran");
    let rows = dev.output_rows(&job).unwrap();
    let total = dev.counters().total_cycles;
    assert_eq!(rows.len(), job.height * net.scale());
    assert!(
        rows[0] > 0 && rows.windows(2).all(|w| w[0] < w[1]) && *rows.last().unwrap() <= total,
        "{rows:?} of {total}"
    );
    let diff = want.data.iter().zip(&got.data).filter(|(a, b)| a != b).count();
    assert_eq!(
        diff,
        0,
        "{:?} on {}: {diff} of {} bytes differ (halo {}, strips of {})",
        net.arch,
        cfg.name,
        want.data.len(),
        compiled.halo,
        compiled.width_cap
    );
}

#[test]
fn bbcu_m_every_scale() {
    for (r, seed) in [(2, 1), (3, 2), (4, 3)] {
        check(Topology::bbcu_m(8, 1, r), &config(4, 32, 2, 13, 1 << 20), 7, 29, seed);
    }
}

#[test]
fn bbcu_l_every_scale() {
    for (r, seed) in [(2, 4), (3, 5), (4, 6)] {
        check(Topology::bbcu_l(8, 1, r), &config(3, 32, 3, 15, 1 << 20), 6, 37, seed);
    }
}

#[test]
fn denoise_and_deblock() {
    check(Topology::denoise(12, 5), &config(5, 64, 4, 16, 1 << 20), 9, 41, 7);
    check(Topology::deblock(12, 5), &config(4, 32, 2, 16, 1 << 20), 11, 37, 8);
}

#[test]
fn more_channels_than_lanes_and_one_strip() {
    // 40 channels: two input words per tap on 32 lanes, a partial last word and PE group.
    check(Topology::bbcu_m(40, 1, 2), &config(6, 32, 4, 64, 1 << 20), 5, 9, 9);
    check(Topology::denoise(40, 4), &config(8, 32, 5, 64, 1 << 20), 4, 7, 10);
}

#[test]
fn tiny_images() {
    check(Topology::bbcu_m(8, 1, 2), &config(4, 32, 2, 64, 1 << 20), 1, 1, 11);
    check(Topology::denoise(8, 3), &config(4, 32, 2, 64, 1 << 20), 2, 1, 12);
    check(Topology::bbcu_l(8, 1, 3), &config(4, 32, 2, 64, 1 << 20), 1, 3, 13);
}
