//! The command-line program as a user meets it: outputs, and one-line errors with a non-zero
//! exit for every kind of bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bbcu-host"))
}

fn vec_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/vectors").join(name)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("bbcu-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `bbcu-host run --model M --image I --out O`.
fn run(model: &Path, image: &Path, out: &Path) -> Output {
    bin().arg("run").arg("--model").arg(model).arg("--image").arg(image).arg("--out").arg(out).output().unwrap()
}

fn fails_with(out: Output, needle: &str) {
    assert!(!out.status.success(), "expected failure");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "error must be one line: {err}");
    assert!(err.starts_with("error: ") && err.contains(needle), "unexpected error: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn run_writes_the_golden_fixed_output() {
    let d = tmp("run");
    let model = vec_dir("bbcum_x3").join("model.pth");
    let input = vec_dir("bbcum_x3").join("input.png");
    let out = d.join("o.png");
    let o = bin()
        .args(["run", "--board", "cpu", "--precision", "fixed", "--model"])
        .arg(&model)
        .arg("--image")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = bbcu_host::imageio::read(&out).unwrap();
    let m = bbcu_host::model::Model::load(&model, 130.0, None).unwrap();
    let img = bbcu_host::imageio::read(&input).unwrap();
    assert_eq!(got, bbcu_sim::fixed::forward(&m.fixed, &img));
    // No temporary files are left beside the output.
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
}

#[test]
fn several_images_go_to_an_output_folder() {
    let d = tmp("many");
    let model = vec_dir("denoise").join("model.pth");
    let a = vec_dir("denoise").join("input.png");
    let b = vec_dir("bbcum_x2").join("input.png");
    let o = bin()
        .args(["run", "--precision", "float", "--model"])
        .arg(&model)
        .arg("--image")
        .arg(&a)
        .arg("--image")
        .arg(&b)
        .arg("--out-dir")
        .arg(&d)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(d.join("input.png").exists());
    let o = bin()
        .args(["run", "--model"])
        .arg(&model)
        .arg("--image")
        .arg(&a)
        .arg("--image")
        .arg(&b)
        .arg("--out")
        .arg(d.join("x.png"))
        .output()
        .unwrap();
    fails_with(o, "--out-dir");
}

#[test]
fn bad_inputs_get_one_line_errors() {
    let d = tmp("bad");
    let model = vec_dir("bbcum_x2").join("model.pth");
    let input = vec_dir("bbcum_x2").join("input.png");

    fails_with(
        bin().args(["run", "--model", "/nonexistent/m.pth", "--image"]).arg(&input).output().unwrap(),
        "no such file",
    );

    let trunc = d.join("trunc.pth");
    std::fs::write(&trunc, &std::fs::read(&model).unwrap()[..4000]).unwrap();
    fails_with(bin().arg("info").arg("--model").arg(&trunc).output().unwrap(), "trunc.pth");

    let not_zip = d.join("text.pth");
    std::fs::write(&not_zip, "hello").unwrap();
    fails_with(bin().arg("info").arg("--model").arg(&not_zip).output().unwrap(), "not a PyTorch zip checkpoint");

    let empty = d.join("empty.png");
    std::fs::write(&empty, "").unwrap();
    fails_with(run(&model, &empty, &d.join("o.png")), "empty.png");

    fails_with(run(&model, &input, Path::new("/nonexistent/dir/o.png")), "does not exist");
    assert!(!d.join("o.png").exists(), "no output may be written after an error");
}

#[test]
fn images_are_brought_to_the_model_channel_count() {
    let d = tmp("channels");
    // Grey into an RGB SR model: replicated, RGB out.
    let grey = vec_dir("deblock").join("input.png");
    let out = d.join("rgb.png");
    let o = run(&vec_dir("bbcum_x2").join("model.pth"), &grey, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("grey converted to RGB"));
    assert_eq!(bbcu_host::imageio::read(&out).unwrap().channels, 3);
    // RGB into the grey deblocker: luma, grey out.
    let rgb = vec_dir("denoise").join("input.png");
    let out = d.join("grey.png");
    let o = run(&vec_dir("deblock").join("model.pth"), &rgb, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = bbcu_host::imageio::read(&out).unwrap();
    assert_eq!(got.channels, 1);
    let m = bbcu_host::model::Model::load(&vec_dir("deblock").join("model.pth"), 130.0, None).unwrap();
    let y = bbcu_host::metrics::rgb_to_y_u8(&bbcu_host::imageio::read(&rgb).unwrap());
    assert_eq!(got, bbcu_sim::fixed::forward(&m.fixed, &y));
}

#[test]
fn info_reports_topology_and_counts() {
    let o = bin().arg("info").arg("--model").arg(vec_dir("deblock").join("model.pth")).output().unwrap();
    assert!(o.status.success());
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("binary DnCNN (jpeg), 1 input channel(s), 16 features, 4 binary units"), "{s}");
    let o = bin().args(["info", "--json", "--model"]).arg(vec_dir("bbcul_x4").join("model.pth")).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["arch"], "BBCU-L");
    assert_eq!(v["scale"], 4);
}

/// `run --board sim` with `extra` arguments on `model` and `input`, writing `out` when given.
fn run_sim(extra: &[&str], model: &Path, input: &Path, out: Option<&Path>) -> Output {
    let mut c = bin();
    c.args(["run", "--board", "sim"]).args(extra).arg("--model").arg(model).arg("--image").arg(input);
    if let Some(o) = out {
        c.arg("--out").arg(o);
    }
    c.output().unwrap()
}

/// `--sim seqfw` (the sequencer as control-core firmware, on the model) gives the reference
/// model's bytes on the UP5K preset, and refuses a preset whose memories its 16-bit
/// addresses do not reach.
#[test]
fn the_firmware_sequencer_gives_the_reference_bytes() {
    let d = tmp("seqfw");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let model = root.join("models/denoise_small.pth");
    let sample = bbcu_host::imageio::read(&root.join("examples/sample.png")).unwrap();
    let input = d.join("crop.png");
    bbcu_host::imageio::write_png(&input, &sample.crop(10, 20, 24, 40)).unwrap();
    let mut outs = Vec::new();
    for sim in ["ref", "seqfw"] {
        let out = d.join(format!("{sim}.png"));
        let o = run_sim(&["--preset", "ice40-up5k", "--sim", sim], &model, &input, Some(&out));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{sim}: {err}");
        assert!(err.contains(" cycles in "), "{sim}: {err}");
        outs.push(std::fs::read(&out).unwrap());
    }
    assert_eq!(outs[0], outs[1], "--sim seqfw's PNG differs from --sim ref's");
    fails_with(run_sim(&["--sim", "seqfw"], &model, &input, None), "at most 64 Ki words");
}

/// `run --board sim` through each simulator gives the CPU fixed-point engine's PNG bytes, and
/// reports the hardware counters.
#[test]
fn the_simulated_accelerator_writes_the_cpu_bytes() {
    let d = tmp("sim");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let model = root.join("models/denoise.pth");
    // A small crop keeps the Verilator run short.
    let sample = bbcu_host::imageio::read(&root.join("examples/sample.png")).unwrap();
    let input = d.join("crop.png");
    bbcu_host::imageio::write_png(&input, &sample.crop(10, 20, 18, 27)).unwrap();
    let cpu = d.join("cpu.png");
    assert!(run(&model, &input, &cpu).status.success());
    for sim in ["ref", "verilator"] {
        let out = d.join(format!("{sim}.png"));
        let o = run_sim(&["--sim", sim], &model, &input, Some(&out));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{sim}: {err}");
        assert!(err.contains("ecp5-85k: ") && err.contains(" cycles in 1 strip(s)"), "{sim}: {err}");
        assert_eq!(
            std::fs::read(&out).unwrap(),
            std::fs::read(&cpu).unwrap(),
            "{sim}: PNG bytes differ from --board cpu"
        );
    }
    fails_with(run_sim(&["--preset", "ice40-up5k"], &model, &input, None), "does not fit ice40-up5k");
}
