//! The sequencer as firmware (`bbcu_arch::seqfw`) on the control core's model, beside the
//! reference model's row loop: for every topology, every row command the firmware gives is
//! the one the ring formulas give (`RowCmd::plan`, in the wavefront's order), the strip's
//! bytes are the reference model's, and the cycles are compared with its cycle model.

mod common;

use bbcu_arch::config::HwConfig;
use bbcu_arch::refmodel::{cycles, RowCmd};
use bbcu_arch::seqfw::SeqBoard;
use bbcu_arch::strips::run_image;
use bbcu_arch::{compile, Device, RefDevice, StripJob};
use bbcu_sim::fixed::FixedNetwork;
use bbcu_sim::synth::Topology;
use common::{config, image};

/// One strip of an `h × w` image through both; answers (firmware cycles, reference cycles).
fn check(t: Topology, cfg: &HwConfig, h: usize, w: usize, seed: u64) -> (u64, u64) {
    let net = t.build(seed);
    let q = FixedNetwork::compile(&net, None).unwrap();
    let compiled = compile(&q, cfg).unwrap_or_else(|e| panic!("{e}"));
    assert!(w <= compiled.width_cap, "one strip: {w} columns, cap {}", compiled.width_cap);
    let bytes = compiled.image.to_bytes(cfg);
    let input = image(net.in_ch, h, w, seed + 1).data;
    let job = StripJob { width: w, height: h, keep_x0: 0, keep_w: w };

    let mut dev = RefDevice::new(cfg.clone());
    dev.load(&bytes).unwrap();
    let want = dev.run_strip(&job, &input).unwrap();
    let ref_cycles = dev.counters().total_cycles;

    let mut b = SeqBoard::new(cfg, &bytes).unwrap();
    let (got, c) = b.strip(&job, &input).unwrap_or_else(|e| panic!("{e}"));
    let p = dev.program().unwrap().clone();
    let table = dev.bilinear_table();
    let planned: Vec<RowCmd> = cycles::wavefront(&p, &job)
        .flat_map(|s| s.rows)
        .map(|(l, nu)| RowCmd::plan(&p, cfg, &job, table, l, nu))
        .collect();
    for (k, (g, w)) in b.rows.iter().zip(&planned).enumerate() {
        assert_eq!(g, w, "{:?}: row command {k} of {}", net.arch, planned.len());
    }
    assert_eq!(b.rows.len(), planned.len(), "{:?}: rows computed", net.arch);
    let diff = want.iter().zip(&got).filter(|(a, b)| a != b).count();
    assert_eq!(diff, 0, "{:?}: {diff} of {} bytes differ from the reference model", net.arch, want.len());
    eprintln!(
        "{:?} {h}×{w} on {}: {} rows; firmware {} cycles ({} in the row loop and input), reference {} ({:+.1} %)",
        net.arch,
        cfg.name,
        planned.len(),
        c.total,
        c.busy,
        ref_cycles,
        100.0 * (c.total as f64 / ref_cycles as f64 - 1.0)
    );
    (c.total, ref_cycles)
}

#[test]
fn bbcu_m_every_scale() {
    for (r, seed) in [(2, 1), (3, 2), (4, 3)] {
        check(Topology::bbcu_m(8, 1, r), &config(4, 32, 2, 13, 1 << 16), 7, 13, seed);
    }
}

#[test]
fn bbcu_l_every_scale() {
    for (r, seed) in [(2, 4), (3, 5), (4, 6)] {
        check(Topology::bbcu_l(8, 1, r), &config(3, 32, 3, 15, 1 << 16), 6, 15, seed);
    }
}

#[test]
fn denoise_and_deblock() {
    check(Topology::denoise(12, 5), &config(5, 64, 4, 16, 1 << 16), 9, 16, 7);
    check(Topology::deblock(12, 5), &config(4, 32, 2, 16, 1 << 16), 11, 16, 8);
}

#[test]
fn tiny_images() {
    check(Topology::bbcu_m(8, 1, 2), &config(4, 32, 2, 64, 1 << 16), 1, 1, 11);
    check(Topology::denoise(8, 3), &config(4, 32, 2, 64, 1 << 16), 2, 1, 12);
    check(Topology::bbcu_l(8, 1, 3), &config(4, 32, 2, 64, 1 << 16), 1, 3, 13);
}

/// A firmware that cannot hold the program's ops says so instead of computing wrong rows.
#[test]
fn wide_memories_are_refused() {
    let mut cfg = config(4, 32, 2, 13, 1 << 16);
    cfg.memory.feature_words = 1 << 17;
    let err = bbcu_arch::seqfw::firmware(&cfg).unwrap_err();
    assert!(err.contains("64 Ki words"), "{err}");
}

/// The bundled sample's shape (sr_x2_small: BBCU-M, 16 channels, ×2; cycles depend on the
/// shape only) on the UP5K preset, a 160×120 image in strips: the same bytes as the
/// reference model, and the cycles side by side — the figure that decides whether two
/// cycles an instruction are fast enough for the sequencer.
#[test]
fn sample_shape_on_the_up5k_preset() {
    let cfg = HwConfig::preset("ice40-up5k").unwrap();
    let net = Topology::bbcu_m(16, 2, 2).build(1);
    let q = FixedNetwork::compile(&net, None).unwrap();
    let c = compile(&q, &cfg).unwrap();
    let bytes = c.image.to_bytes(&cfg);
    let input = image(3, 120, 160, 2);
    let run = |dev: &mut dyn Device| {
        dev.load(&bytes).unwrap();
        let mut total = 0;
        let img = run_image(dev, &input, c.halo, c.width_cap, 2, 3, |_, k| total += k.total_cycles).unwrap();
        (img, total)
    };
    let (want, ref_total) = run(&mut RefDevice::new(cfg.clone()));
    let (got, fw_total) = run(&mut SeqBoard::empty(&cfg).unwrap());
    assert!(got.data == want.data, "the firmware-sequenced strips differ from the reference model");
    eprintln!(
        "sr_x2_small's shape, 160×120 on ice40-up5k: firmware sequencer {fw_total} cycles, hardware sequencer {ref_total} ({:+.2} %)",
        100.0 * (fw_total as f64 / ref_total as f64 - 1.0)
    );
    assert!(fw_total < ref_total * 101 / 100, "the firmware sequencer costs more than 1 %");
}

/// The firmware's size, so that a change that grows it shows: up to 768 words its region of
/// the UP5K core's program memory is 512 + 256 words, 3 block RAMs (a fourth above).
#[test]
fn firmware_size_is_tracked() {
    let n = bbcu_arch::seqfw::firmware(&HwConfig::preset("ice40-up5k").unwrap()).unwrap().len();
    eprintln!("sequencer firmware: {n} words");
    assert!(n <= 768, "{n} words: over 768 the program memory takes a fourth block RAM");
}
