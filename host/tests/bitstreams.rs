//! The committed bitstreams (`bitstreams/<board>/`) against the presets they were built from:
//! a preset changed after its build (memories, array shape, clock) changes the design hash the
//! board answers HELLO with, and the host would refuse the board. Rebuild with the command in
//! the folder's `board.json` when this fails. The hash covers the configuration; the HDL is
//! covered by the CRC of the Verilog the build handed the flow, regenerated here (seconds,
//! where the flow takes minutes).

use std::path::{Path, PathBuf};

/// Every folder under `bitstreams/` with a `board.json`, and that file's text; at least one.
fn committed() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bitstreams");
    let found: Vec<(PathBuf, String)> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|dir| std::fs::read_to_string(dir.join("board.json")).ok().map(|t| (dir, t)))
        .collect();
    assert!(!found.is_empty(), "no committed bitstream under {}", root.display());
    found
}

#[test]
fn every_committed_bitstream_matches_its_preset_and_met_timing() {
    for (dir, text) in committed() {
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
    }
}

/// An engine, protocol or board-top change since the committed build: the Verilog `build`
/// would hand the flow today differs from what built the bitstream.
#[test]
fn every_committed_bitstream_was_built_from_todays_verilog() {
    for (dir, text) in committed() {
        let b: bbcu_host::build::BoardBuild = serde_json::from_str(&text).unwrap();
        let d = bbcu_host::build::design(&bbcu_host::build::BuildOptions {
            board: b.board.clone(),
            preset: Some(b.preset.clone()),
            seed: b.seed,
            baud: Some(b.baud),
            out: None,
        })
        .unwrap();
        assert_eq!(
            d.verilog_crc32(),
            b.verilog_crc32,
            "{}: the design changed since this bitstream was built; rebuild with `{}`",
            dir.display(),
            b.command
        );
    }
}

/// The flow is deterministic for a fixed seed: rebuilding each committed folder with the
/// command in its `board.json` gives the same bitstream, resources and Fmax. Minutes per board
/// (the ULX3S: about 6 on 2 cores) and the board's toolchain (scripts/setup-ecp5.sh for the
/// ECP5), so run by hand: `cargo test -p bbcu-host --test bitstreams -- --ignored`.
#[test]
#[ignore]
fn rebuilding_reproduces_every_committed_bitstream() {
    for (dir, text) in committed() {
        let b: bbcu_host::build::BoardBuild = serde_json::from_str(&text).unwrap();
        let out = std::env::temp_dir().join(format!("bbcu-rebuild-{}-{}", b.board, std::process::id()));
        let args: Vec<&str> = b.command.split_whitespace().skip(1).collect();
        let run = std::process::Command::new(env!("CARGO_BIN_EXE_bbcu-host"))
            .args(&args)
            .arg("--out")
            .arg(&out)
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
            .output()
            .unwrap();
        assert!(run.status.success(), "{}: {}", b.command, String::from_utf8_lossy(&run.stderr));
        let same = |name: &str| std::fs::read(dir.join(name)).unwrap() == std::fs::read(out.join(name)).unwrap();
        assert!(same(&b.bitstream), "{}: the rebuilt {} differs", dir.display(), b.bitstream);
        let report = |d: &Path| -> serde_json::Value {
            serde_json::from_str(&std::fs::read_to_string(d.join("report.json")).unwrap()).unwrap()
        };
        let (was, now) = (report(&dir), report(&out));
        assert_eq!(was["resources"], now["resources"], "{}", dir.display());
        assert_eq!(was["clocks"], now["clocks"], "{}", dir.display());
        std::fs::remove_dir_all(&out).ok();
    }
}
