//! The profiler: the analytic cycle model against the simulators' counters (reference model on
//! every shipped model, rust-hdl on a tiny network), the board path against the simulator, and
//! the HTML report's self-containment.

use bbcu_arch::{compile, HwConfig, RefDevice};
use bbcu_host::accel::SimKind;
use bbcu_host::board::serve::Board;
use bbcu_host::link::pipe::pipe;
use bbcu_host::model::Model;
use bbcu_host::profile::{self, Measured, Profile, ProfileInput};
use bbcu_sim::fixed::FixedNetwork;
use bbcu_sim::Planes;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

fn shipped(name: &str) -> Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models").join(format!("{name}.pth"));
    Model::load(&path, bbcu_host::default_k(&path).unwrap(), None).unwrap()
}

fn random_image(ch: usize, h: usize, w: usize, seed: u64) -> Planes {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Planes::from_vec(ch, h, w, (0..ch * h * w).map(|_| rng.random()).collect())
}

/// Measured within 2 % of predicted, per layer and in total.
fn assert_close(what: &str, cfg: &HwConfig, c: &bbcu_arch::Compiled, img: &Planes, m: &Measured) {
    let strips: Vec<_> = m.strips.iter().map(|(j, _)| *j).collect();
    let planned: Vec<_> =
        bbcu_arch::strips::plan(img.width, img.height, c.width_cap, c.halo).unwrap().iter().map(|s| s.job).collect();
    assert_eq!(strips, planned, "{what}: strips");
    let pred = profile::predict(cfg, c, img.width, img.height).unwrap();
    let n = c.program.ops.len();
    let mut got = vec![0u64; n + 1];
    for (_, k) in &m.strips {
        for (l, v) in k.layer_cycles.iter().enumerate() {
            got[l] += v;
        }
    }
    let total: u64 = m.strips.iter().map(|(_, k)| k.total_cycles).sum();
    let off = |a: u64, b: u64| (a as f64 - b as f64).abs() / (b.max(1) as f64);
    assert!(off(total, pred.total_cycles) <= 0.02, "{what}: {total} cycles measured, {} predicted", pred.total_cycles);
    for (l, (g, want)) in got.iter().zip(&pred.layer_cycles).enumerate().take(n) {
        assert!(off(*g, *want) <= 0.02, "{what}: op {l} ({}) {g} cycles measured, {want} predicted", c.names[l]);
    }
    eprintln!("{what}: {total} cycles measured, {} predicted", pred.total_cycles);
}

#[test]
fn cycle_model_matches_the_reference_model_on_every_shipped_model() {
    for name in ["denoise", "deblock", "sr_x2", "sr_x4"] {
        let m = shipped(name);
        let cfg = HwConfig::preset("ecp5-85k").unwrap();
        let c = compile(&m.fixed, &cfg).unwrap();
        let img = random_image(m.net.in_ch, 9, 23, 7);
        let got = profile::measure_sim(SimKind::Ref, &cfg, &c, &m.fixed, &img).unwrap();
        assert_close(name, &cfg, &c, &img, &got);
        // Several strips: a narrower design cuts the same image into pieces.
        let mut narrow = cfg.clone();
        narrow.max_width = 2 * c.halo + 3;
        let c = compile(&m.fixed, &narrow).unwrap();
        let wide = random_image(m.net.in_ch, 5, 2 * narrow.max_width + 1, 8);
        let got = profile::measure_sim(SimKind::Ref, &narrow, &c, &m.fixed, &wide).unwrap();
        assert!(got.strips.len() > 2, "{name}: {} strips", got.strips.len());
        assert_close(&format!("{name}, {} strips", got.strips.len()), &narrow, &c, &wide, &got);
    }
}

#[test]
fn cycle_model_matches_the_rust_hdl_simulation() {
    let cfg = bbcu_hdl::device::test_config();
    let net = bbcu_sim::synth::Topology::bbcu_m(8, 1, 2).build(3);
    let q = FixedNetwork::compile(&net, None).unwrap();
    let c = compile(&q, &cfg).unwrap();
    let img = random_image(net.in_ch, 3, 5, 4);
    let got = profile::measure_sim(SimKind::Rust, &cfg, &c, &q, &img).unwrap();
    assert_close("rust-hdl BBCU-M ×2", &cfg, &c, &img, &got);
}

fn profile_of(m: &Model, cfg: &HwConfig, c: &bbcu_arch::Compiled, img: &Planes, got: Measured) -> Profile {
    let input = ProfileInput {
        model: "test",
        cfg,
        compiled: c,
        net: &m.fixed,
        width: img.width,
        height: img.height,
        clock_mhz: cfg.clock_mhz,
        clock_from: "preset".into(),
        baud: 3_000_000,
    };
    Profile::build(&input, got).unwrap()
}

#[test]
fn a_virtual_board_reports_the_simulators_counters() {
    let m = shipped("sr_x2");
    let cfg = HwConfig::preset("ecp5-85k").unwrap();
    let c = compile(&m.fixed, &cfg).unwrap();
    let img = random_image(m.net.in_ch, 6, 14, 9);
    let board = Board::new(Box::new(RefDevice::new(cfg.clone())), "profile test board", 3);
    let (host, dev) = pipe();
    let b = board.clone();
    std::thread::spawn(move || b.serve(dev));
    let over_link = profile::measure_link(host, &cfg, &c, &m.fixed, &img, 3_000_000).unwrap();
    let link = over_link.link.clone().unwrap();
    let sim = profile::measure_sim(SimKind::Ref, &cfg, &c, &m.fixed, &img).unwrap();
    let counters = |m: &Measured| {
        m.strips.iter().map(|(j, k)| (*j, k.layer_cycles.clone(), k.layer_busy.clone())).collect::<Vec<_>>()
    };
    assert_eq!(counters(&over_link), counters(&sim));
    let p = profile_of(&m, &cfg, &c, &img, over_link);
    // Framing and the handshake come on top of the pixels.
    assert!(link.sent_bytes > p.link_bytes_in && link.received_bytes > p.link_bytes_out, "{link:?}");
    assert_eq!(p.link_bytes_in, (3 * 6 * 14) as u64);
    assert_eq!(p.link_bytes_out, (3 * 12 * 28) as u64);
    assert_eq!(p.model_error, 0.0);
}

/// sr_x2 on the ECP5 preset through the reference model: the model, design, compiled
/// program, image and its measurement.
fn sr_x2_measured(h: usize, w: usize, seed: u64) -> (Model, HwConfig, bbcu_arch::Compiled, Planes, Measured) {
    let m = shipped("sr_x2");
    let cfg = HwConfig::preset("ecp5-85k").unwrap();
    let c = compile(&m.fixed, &cfg).unwrap();
    let img = random_image(m.net.in_ch, h, w, seed);
    let got = profile::measure_sim(SimKind::Ref, &cfg, &c, &m.fixed, &img).unwrap();
    (m, cfg, c, img, got)
}

/// An engine without per-op counters (the UP5K's) gives the strip's totals only: the
/// sequencer row holds the whole, the ops none, and the table says where per-op figures are.
#[test]
fn a_totals_only_measurement_is_profiled_as_such() {
    let (m, cfg, c, img, got) = sr_x2_measured(6, 10, 4);
    let totals = Measured {
        source: "totals only".into(),
        strips: got.strips.iter().map(|(j, k)| (*j, k.totals())).collect(),
        link: None,
    };
    let full = profile_of(&m, &cfg, &c, &img, got);
    let p = profile_of(&m, &cfg, &c, &img, totals);
    assert!(full.per_op_counters && !p.per_op_counters);
    assert_eq!(p.total_cycles, full.total_cycles);
    assert_eq!(p.layers.last().unwrap().cycles, p.total_cycles);
    assert!(p.layers[..p.layers.len() - 1].iter().all(|l| l.cycles == 0 && l.busy == 0));
    assert!(!full.table().contains("per-op counters: none"));
    assert!(p.table().contains("per-op counters: none on ecp5-85k"), "{}", p.table());
}

#[test]
fn the_html_report_is_self_contained_and_parses() {
    let (m, cfg, c, img, got) = sr_x2_measured(8, 16, 2);
    // A device that counts only the ops (Verilator) leaves the sequencer the rest.
    let mut ops_only = Measured { source: "ops only".into(), strips: got.strips.clone(), link: None };
    ops_only.strips.iter_mut().for_each(|(_, k)| k.layer_cycles.truncate(c.program.ops.len()));
    let p = profile_of(&m, &cfg, &c, &img, got);
    let q = profile_of(&m, &cfg, &c, &img, ops_only);
    assert!(p.layers.last().unwrap().cycles > 0);
    assert_eq!(q.layers.last().unwrap().cycles, p.layers.last().unwrap().cycles);
    assert_eq!(p.layers.len(), c.program.ops.len() + 1);
    assert!(p.layers.iter().filter(|l| l.kind == "binary").all(|l| l.macs > 0 && l.lane_utilisation.unwrap() <= 1.0));
    let html = profile::html(&p).unwrap();
    let doc = roxmltree::Document::parse_with_options(
        &html,
        roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() },
    )
    .unwrap_or_else(|e| panic!("the report is not well-formed: {e}"));
    let svgs: Vec<_> = doc.descendants().filter(|n| n.tag_name().name() == "svg").collect();
    assert_eq!(svgs.len(), 2, "two charts");
    for svg in &svgs {
        // Drawn, not empty: bars or lines and text.
        assert!(
            svg.descendants().filter(|n| matches!(n.tag_name().name(), "rect" | "polyline" | "circle")).count() > 5
        );
        assert!(svg.descendants().any(|n| n.tag_name().name() == "text"));
    }
    for n in doc.descendants().filter(|n| n.is_element()) {
        assert!(!matches!(n.tag_name().name(), "script" | "link" | "img" | "iframe" | "object"), "{:?}", n.tag_name());
        for a in n.attributes() {
            assert!(!matches!(a.name(), "href" | "src"), "external reference {}={}", a.name(), a.value());
            assert!(!a.value().contains("url(") || a.value().contains("url(#"), "{}", a.value());
        }
    }
    assert!(!html.contains("@import") && !html.contains("url(http"));
    for l in &p.layers {
        assert!(html.contains(&l.name.replace('&', "&amp;").replace('<', "&lt;")), "{} missing", l.name);
    }
}

#[test]
fn explore_fits_shapes_on_the_ecp5_and_none_on_the_up5k() {
    use bbcu_host::explore;
    let m = shipped("denoise");
    let ecp5 = explore::sweep("ecp5-85k", &m.fixed, "denoise", 320, 180).unwrap();
    assert_eq!(ecp5.len(), 9 * 2 * 4);
    let front = explore::pareto(&ecp5);
    assert!(front.len() > 1 && front.iter().all(|c| c.fits && c.frames_per_s > 0.0));
    // Along the front, more LUTs buy more frames/s.
    assert!(front.windows(2).all(|w| w[0].lut < w[1].lut && w[0].frames_per_s < w[1].frames_per_s));
    let up5k = explore::sweep("ice40-up5k", &m.fixed, "denoise", 320, 180).unwrap();
    assert!(up5k.iter().all(|c| !c.fits && !c.why.is_empty()));
}
