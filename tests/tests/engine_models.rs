//! The shipped models on the accelerator's presets: the compiler's fit check, and the
//! reference model of the engine against the CPU fixed-point engine on a real image.

use bbcu_arch::strips::run_image;
use bbcu_arch::{compile, CompileError, Device, HwConfig, RefDevice};
use bbcu_host::{imageio, model::Model, model::Precision};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn shipped(name: &str) -> Model {
    let m = root().join("models").join(format!("{name}.pth"));
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(m.with_extension("json")).unwrap()).unwrap();
    Model::load(&m, card["k"].as_f64().unwrap() as f32, None).unwrap()
}

#[test]
fn fit_report() {
    for preset in ["ice40-up5k", "ice40-hx8k", "ecp5-85k"] {
        let cfg = HwConfig::preset(preset).unwrap();
        let names = ["sr_x2", "sr_x4", "denoise", "deblock"];
        for name in names.iter().flat_map(|n| [n.to_string(), format!("{n}_small")]) {
            let m = shipped(&name);
            match compile(&m.fixed, &cfg) {
                Ok(c) => {
                    let u: Vec<String> =
                        c.usage.iter().map(|u| format!("{} {}/{}", u.memory, u.used_words, u.capacity_words)).collect();
                    println!("{preset} {name}: fits, strips ≤ {} halo {}: {}", c.width_cap, c.halo, u.join(", "));
                }
                Err(e @ CompileError::DoesNotFit { .. }) => println!("{preset} {name}: {e}"),
                Err(e) => panic!("{preset} {name}: {e}"),
            }
        }
    }
}

#[test]
fn shipped_models_on_the_reference_engine_match_the_cpu() {
    let cfg = HwConfig::preset("ecp5-85k").unwrap();
    let img = imageio::read(&root().join("examples/sample.png")).unwrap();
    for name in ["sr_x2", "sr_x4", "denoise", "deblock"] {
        let m = shipped(name);
        let input = bbcu_host::model::to_channels(&img.crop(0, 0, 24, 40), m.net.in_ch);
        let c = compile(&m.fixed, &cfg).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut dev = RefDevice::new(cfg.clone());
        dev.load(&c.image.to_bytes(&cfg)).unwrap();
        let got = run_image(&mut dev, &input, c.halo, c.width_cap, m.net.scale(), m.net.out_ch, |_, _| {}).unwrap();
        assert_eq!(got, m.run(&input, Precision::Fixed), "{name}");
    }
}
