//! The committed bitstreams (`bitstreams/<board>/`) against the presets they were built from:
//! a preset changed after its build (memories, array shape, clock) changes the design hash the
//! board answers HELLO with, and the host would refuse the board. Rebuild with the command in
//! the folder's `board.json` when this fails. The hash covers the configuration, not the HDL:
//! an engine change needs the same rebuild, which no test here can notice cheaply.

use std::path::Path;

#[test]
fn every_committed_bitstream_matches_its_preset_and_met_timing() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bitstreams");
    let mut seen = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        let Ok(text) = std::fs::read_to_string(dir.join("board.json")) else { continue };
        let board: serde_json::Value = serde_json::from_str(&text).unwrap();
        let name = dir.display();
        let preset = board["preset"].as_str().unwrap();
        let cfg = bbcu_arch::HwConfig::preset(preset).unwrap();
        let hash = format!("{:08x}", bbcu_arch::DesignInfo::of(&cfg).hash);
        assert_eq!(board["design_hash"].as_str(), Some(hash.as_str()), "{name}: built from another {preset}");
        assert_eq!(board["clock_mhz"].as_f64(), Some(cfg.clock_mhz), "{name}: clock");
        let bit = dir.join(board["bitstream"].as_str().unwrap());
        assert!(std::fs::metadata(&bit).is_ok_and(|m| m.len() > 100_000), "{}: missing or tiny", bit.display());
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
        for c in report["clocks"].as_array().unwrap() {
            assert_eq!(c["met"].as_bool(), Some(true), "{name}: {c}");
            assert!(c["fmax_mhz"].as_f64().unwrap() >= cfg.clock_mhz, "{name}: {c}");
        }
        seen += 1;
    }
    assert!(seen >= 1, "no committed bitstream under {}", root.display());
}
