//! `bbcu-shapes OUT_DIR`: writes `OUT_DIR/<name>/engine.v` and `design.json` for every
//! configuration this binary was built for. Build it with the configurations' files:
//!
//! ```text
//! BBCU_SHAPES=$PWD/a.toml:$PWD/b.toml cargo run -p bbcu-shapes -- OUT_DIR
//! ```
//!
//! `bbcu-host explore --synth N` builds it this way for its candidates; the engine types of
//! the presets are compiled into `bbcu-hdl` itself (`generate::verilog`).

use std::path::{Path, PathBuf};

struct Shape {
    config: &'static str,
    origin: &'static str,
    verilog: fn() -> String,
}

include!(concat!(env!("OUT_DIR"), "/shapes.rs"));

fn emit(out: &Path) -> Result<(), String> {
    if SHAPES.is_empty() {
        return Err("built without configurations: set BBCU_SHAPES to preset files when building".into());
    }
    for s in SHAPES {
        let cfg = bbcu_arch::HwConfig::parse(s.config, s.origin).map_err(|e| e.to_string())?;
        let dir = out.join(&cfg.name);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let desc = serde_json::to_string_pretty(&bbcu_hdl::generate::description(&cfg)).expect("json");
        // Written under a temporary name and renamed, so a folder never holds half a design.
        for (name, text) in [("engine.v", (s.verilog)()), ("design.json", desc)] {
            let tmp = dir.join(format!(".{name}.tmp"));
            std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
            std::fs::rename(&tmp, dir.join(name)).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        println!("{}: {}", cfg.name, dir.display());
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, out] = args.as_slice() else {
        eprintln!("usage: bbcu-shapes OUT_DIR (built with BBCU_SHAPES=config.toml[:...])");
        std::process::exit(2);
    };
    if let Err(e) = emit(&PathBuf::from(out)) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
