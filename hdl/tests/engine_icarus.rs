//! The engine's emitted Verilog under Icarus Verilog, a third simulator beside rust-hdl's and
//! Verilator, on small whole networks: output bytes against the golden model, the cycle
//! counter against the reference model.

use bbcu_arch::image::ModelImage;
use bbcu_arch::{compile, Device, RefDevice, StripJob};
use bbcu_hdl::device::test_config;
use bbcu_sim::fixed::{forward, FixedNetwork};
use bbcu_sim::synth::{Rng, Topology};
use bbcu_sim::Planes;
use std::fmt::Write;
use std::path::PathBuf;
use std::process::Command;

fn out_dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bbcu-icarus").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn check(name: &str, t: Topology, h: usize, w: usize, seed: u64) {
    let ok = Command::new("iverilog").arg("-V").output().map(|o| o.status.success()).unwrap_or(false);
    assert!(ok, "iverilog is not installed (scripts/test.sh installs it: apt-get install iverilog)");
    let cfg = test_config();
    let net = t.build(seed);
    let q = FixedNetwork::compile(&net, None).unwrap();
    let c = compile(&q, &cfg).unwrap();
    assert!(w <= c.width_cap, "one strip only");
    let bytes = c.image.to_bytes(&cfg);
    let mut rng = Rng::new(seed + 1);
    let input =
        Planes::from_vec(net.in_ch, h, w, (0..net.in_ch * h * w).map(|_| (rng.next_u64() % 256) as u8).collect());
    let want = forward(&q, &input);

    let dir = out_dir(name);
    let mut loads = String::new();
    let mut n_loads = 0;
    for s in &ModelImage::from_bytes(&bytes, &cfg).unwrap().sections {
        for (i, word) in s.words.iter().enumerate() {
            writeln!(loads, "{:01x}{:08x}{:016x}", s.mem as u8, s.addr + i, word).unwrap();
            n_loads += 1;
        }
    }
    std::fs::write(dir.join("loads.hex"), loads).unwrap();
    let mut hex = String::new();
    for y in 0..h {
        for x in 0..w {
            for ch in 0..net.in_ch {
                writeln!(hex, "{:02x}", input.get(ch, y, x)).unwrap();
            }
        }
    }
    std::fs::write(dir.join("input.hex"), hex).unwrap();
    std::fs::write(dir.join("engine.v"), bbcu_hdl::generate::verilog(&cfg).unwrap()).unwrap();
    let r = net.scale();
    let n_out = want.data.len();
    let defs = [
        format!("-DW={w}"),
        format!("-DH={h}"),
        "-DKX0=0".to_string(),
        format!("-DKW={w}"),
        format!("-DNLOADS={n_loads}"),
        format!("-DNIN={}", input.data.len()),
        format!("-DNOUT={n_out}"),
        "-DLIMIT=2000000".to_string(),
    ];
    let tb = concat!(env!("CARGO_MANIFEST_DIR"), "/icarus/engine_tb.v");
    let build = Command::new("iverilog")
        .current_dir(&dir)
        .args(["-g2005", "-o", "sim"])
        .args(&defs)
        .args(["engine.v", tb])
        .output()
        .unwrap();
    assert!(build.status.success(), "iverilog:\n{}", String::from_utf8_lossy(&build.stderr));
    let run = Command::new("vvp").current_dir(&dir).args(["-n", "sim"]).output().unwrap();
    assert!(run.status.success(), "vvp:\n{}", String::from_utf8_lossy(&run.stderr));
    let text = std::fs::read_to_string(dir.join("output.hex")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (last, bytes_hex) = lines.split_last().expect("no output");
    assert!(last.starts_with("total "), "simulation ended with {last:?}");
    let got: Vec<u8> = bytes_hex.iter().map(|l| u8::from_str_radix(l, 16).unwrap()).collect();
    assert_eq!(got.len(), n_out);
    // The engine streams rows of pixels, channels fastest.
    let (oh, ow, oc) = (h * r, w * r, net.out_ch);
    for y in 0..oh {
        for x in 0..ow {
            for ch in 0..oc {
                assert_eq!(got[(y * ow + x) * oc + ch], want.get(ch, y, x), "{name}: pixel ({ch}, {y}, {x})");
            }
        }
    }
    let total: u64 = last["total ".len()..].parse().unwrap();
    let mut refdev = RefDevice::new(cfg.clone());
    refdev.load(&bytes).unwrap();
    refdev.run_strip(&StripJob { width: w, height: h, keep_x0: 0, keep_w: w }, &input.data).unwrap();
    assert_eq!(total, refdev.counters().total_cycles, "{name}: cycles against the reference model");
}

#[test]
fn denoise_under_icarus() {
    check("denoise", Topology::denoise(8, 3), 4, 5, 21);
}

#[test]
fn bbcu_m_x2_under_icarus() {
    check("bbcu_m_x2", Topology::bbcu_m(8, 1, 2), 3, 4, 22);
}
