//! Writes the engine's Verilog and JSON description for a preset: `cargo run -p bbcu-hdl
//! --release --example emit -- ice40-up5k OUT_DIR`.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (preset, out) = match args.as_slice() {
        [_, p, o] => (p.clone(), std::path::PathBuf::from(o)),
        _ => {
            eprintln!("usage: emit PRESET OUT_DIR");
            std::process::exit(2);
        }
    };
    let cfg = bbcu_arch::HwConfig::preset(&preset).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    let v = bbcu_hdl::generate::verilog(&cfg).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("engine.v"), v).unwrap();
    let d = serde_json::to_string_pretty(&bbcu_hdl::generate::description(&cfg)).unwrap();
    std::fs::write(out.join("design.json"), d).unwrap();
}
