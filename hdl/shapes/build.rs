//! Turns the configurations named in `BBCU_SHAPES` (preset TOML files, separated as in PATH)
//! into engine types: Rust-HDL fixes an engine's array shape and memory widths at compile
//! time, so each configuration needs its own type, made here from its `EngineShape`.

use std::fmt::Write;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=BBCU_SHAPES");
    let mut table = String::from("const SHAPES: &[Shape] = &[\n");
    if let Some(list) = std::env::var_os("BBCU_SHAPES") {
        for path in std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()) {
            if path.is_relative() {
                fail(&path, "give absolute paths (a build script does not run where cargo was started)");
            }
            let path = std::fs::canonicalize(&path).unwrap_or_else(|e| fail(&path, &e.to_string()));
            println!("cargo:rerun-if-changed={}", path.display());
            let cfg = bbcu_arch::HwConfig::load(&path).unwrap_or_else(|e| fail(&path, &e.to_string()));
            let shape = cfg.engine_shape().unwrap_or_else(|e| fail(&path, &e.to_string()));
            // The file's text is compiled in (`include_str!`), so the binary needs no paths.
            let file = path.display().to_string();
            writeln!(
                table,
                "    Shape {{ config: include_str!({file:?}), origin: {file:?}, verilog: bbcu_hdl::generate::engine_verilog::<bbcu_hdl::engine::{}> }},",
                shape.type_name()
            )
            .unwrap();
        }
    }
    table += "];\n";
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(out.join("shapes.rs"), table).expect("writing shapes.rs");
}

fn fail(path: &std::path::Path, msg: &str) -> ! {
    eprintln!("BBCU_SHAPES: {}: {msg}", path.display());
    std::process::exit(1)
}
