//! `explore --synth`: the fastest candidate's engine elaborated from its configuration
//! (`hdl/shapes`, built by cargo from this tree) and synthesised with Yosys; the elaborated
//! design carries the candidate's design hash and the logic estimate holds against Yosys.
//! Needs `yosys` (scripts/test.sh installs it) and cargo; about 3 minutes on 2 cores.

use bbcu_arch::HwConfig;
use std::path::Path;
use std::process::Command;

#[test]
fn explore_synthesises_the_fastest_candidate_and_its_estimate_holds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::temp_dir().join(format!("bbcu-explore-synth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("explore.json");
    let out = Command::new(env!("CARGO_BIN_EXE_bbcu-host"))
        .args(["explore", "--board", "ice40-hx8k", "--synth", "1", "--jobs", "1", "--model"])
        .arg(root.join("models/sr_x2_small.pth"))
        .arg("--synth-out")
        .arg(dir.join("synth"))
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("synthesised with Yosys"), "{stdout}");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let rows = doc["synthesised"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    let y = &r["synthesis"];
    assert!(r["error"].is_null(), "{r}");

    // The fastest candidate of the front is the one synthesised.
    let cands = doc["candidates"].as_array().unwrap();
    let best = cands
        .iter()
        .filter(|c| c["cycles"].as_u64().unwrap() > 0)
        .max_by(|a, b| a["frames_per_s"].as_f64().unwrap().total_cmp(&b["frames_per_s"].as_f64().unwrap()))
        .unwrap();
    assert_eq!(r["name"], best["config"]["name"]);

    // The elaborated engine is the candidate's configuration: same design hash.
    let cfg: HwConfig = serde_json::from_value(best["config"].clone()).unwrap();
    let design: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("synth").join(&cfg.name).join("design.json")).unwrap()).unwrap();
    assert_eq!(design["design_hash"].as_str().unwrap(), format!("{:08x}", cfg.design_hash()));

    // The calibrated estimate against Yosys: LUTs within 10 %; block RAMs within 15 % (the
    // estimate is the memories' analytic block count times one mean factor for the read ports
    // Yosys duplicates, and that factor varies from 1.0 to 1.3 between the calibration engines);
    // the HX8K has no multipliers, so none may be left.
    let near = |est: &str, got: &str, tol: f64| {
        let (e, g) = (r[est].as_f64().unwrap(), y[got].as_f64().unwrap());
        assert!(g > 0.0 && (e - g).abs() <= tol * g, "{est} {e} against {got} {g} synthesised");
    };
    near("estimate_lut", "luts", 0.10);
    near("estimate_ram_blocks", "ram_blocks", 0.15);
    assert_eq!(y["dsp"].as_u64(), Some(0));
    assert_eq!(r["fits_after_synthesis"], false, "the HX8K cannot hold this engine yet: {r}");
    std::fs::remove_dir_all(&dir).ok();
}
