//! A shipped model through the emitted Verilog of the `ecp5-85k` engine under Verilator, on a
//! crop of the sample image, against the CPU fixed-point engine byte for byte. It lives here
//! rather than in bbcu-hdl because loading a checkpoint needs bbcu-host, which depends on
//! bbcu-hdl.

use bbcu_arch::strips::run_image;
use bbcu_arch::{compile, HwConfig};
use bbcu_hdl::verilator::verilated;
use bbcu_host::imageio;
use bbcu_host::model::{to_channels, Model, Precision};
use std::path::Path;
use std::time::Instant;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn shipped(name: &str) -> Model {
    let m = root().join("models").join(format!("{name}.pth"));
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(m.with_extension("json")).unwrap()).unwrap();
    Model::load(&m, card["k"].as_f64().unwrap() as f32, None).unwrap()
}

/// Runs `name` on the `h`×`w` crop at the image's top left; answers the Verilator cycle rate.
fn check(name: &str, h: usize, w: usize) -> f64 {
    let cfg = HwConfig::preset("ecp5-85k").unwrap();
    let m = shipped(name);
    let img = imageio::read(&root().join("examples/sample.png")).unwrap();
    let input = to_channels(&img.crop(0, 0, h, w), m.net.in_ch);
    let c = compile(&m.fixed, &cfg).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut dev = verilated(&cfg).unwrap_or_else(|e| panic!("{e}"));
    dev.load(&c.image.to_bytes(&cfg)).unwrap();
    let t0 = Instant::now();
    let mut cycles = 0;
    let got = run_image(dev.as_mut(), &input, c.halo, c.width_cap, m.net.scale(), m.net.out_ch, |_, k| {
        cycles += k.total_cycles
    })
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    let secs = t0.elapsed().as_secs_f64();
    let rate = cycles as f64 / secs;
    eprintln!("{name} {h}×{w} on ecp5-85k under Verilator: {cycles} cycles in {secs:.2} s ({rate:.0} cycles/s)");
    let want = m.run(&input, Precision::Fixed);
    let diff = want.data.iter().zip(&got.data).filter(|(a, b)| a != b).count();
    assert_eq!(diff, 0, "{name}: {diff} of {} bytes differ from the CPU fixed-point engine", want.data.len());
    rate
}

/// Builds the ecp5-85k simulator on first use (about a minute on two cores, then cached
/// under target/verilator/).
#[test]
fn denoise_on_verilated_ecp5_matches_cpu() {
    check("denoise", 24, 40);
}

/// Every shipped model, and the throughput on a larger crop.
/// `cargo test --release -p bbcu-tests --test engine_verilator_models -- --ignored --nocapture`
#[test]
#[ignore]
fn shipped_models_on_verilated_ecp5_match_cpu() {
    for name in ["sr_x2", "sr_x4", "deblock"] {
        check(name, 24, 40);
    }
    let rate = check("denoise", 96, 128);
    eprintln!("Verilator, ecp5-85k engine: {rate:.0} cycles/s");
}
