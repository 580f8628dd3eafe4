//! The iCE40 PLL search against `icepll` (IceStorm), and the PLL shell through Yosys and
//! nextpnr: the derived clock is the one the core is timed at.

use bbcu_boards::board::{ports, Board};
use bbcu_boards::pll;
use std::process::Command;

fn icepll(f_in: f64, f_out: f64) -> (u32, u32, u32, u32) {
    let out = Command::new("icepll")
        .args(["-i", &f_in.to_string(), "-o", &f_out.to_string()])
        .output()
        .expect("icepll (Debian package fpga-icestorm) runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let field = |name: &str| -> u32 {
        let line = text.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name} in:\n{text}"));
        line[name.len()..].split_whitespace().next().unwrap().parse().unwrap()
    };
    (field("DIVR:"), field("DIVF:"), field("DIVQ:"), field("FILTER_RANGE:"))
}

#[test]
fn ice40_pll_settings_equal_icepll() {
    for (f_in, f_out) in
        [(12.0, 36.0), (12.0, 48.0), (12.0, 40.0), (12.0, 30.0), (12.0, 25.0), (12.0, 60.0), (12.0, 33.0)]
    {
        let p = pll::ice40(f_in, f_out).unwrap();
        assert_eq!((p.divr, p.divf, p.divq, p.filter_range), icepll(f_in, f_out), "{f_in} → {f_out} MHz");
    }
}

#[test]
fn the_shell_wires_every_port_and_only_the_clock_through_the_pll() {
    const CORE: &str = "module core(clock, uart_rx, uart_tx, led);\n input wire clock;\n input wire uart_rx;\n \
        output reg uart_tx;\n output reg [1:0] led;\nendmodule\n";
    let board = Board::find("ice40").unwrap();
    let (v, f) = pll::shell(&board, "core", &ports(CORE, "core").unwrap(), 36.0).unwrap();
    assert_eq!(f, 36.0);
    assert!(v.contains(".DIVF(7'd47)") && v.contains("SB_PLL40_PAD") && v.contains(".PACKAGEPIN(clock)"), "{v}");
    assert!(v.contains(".clock(core_clock)") && v.contains(".uart_tx(uart_tx)") && v.contains(".led(led)"), "{v}");
    let top = ports(&v, "top").unwrap();
    assert_eq!(top, ports(CORE, "core").unwrap());
    // At the oscillator's own rate there is no PLL.
    let (v, _) = pll::shell(&board, "core", &ports(CORE, "core").unwrap(), 12.0).unwrap();
    assert!(!v.contains("SB_PLL40") && v.contains("wire core_clock = clock;"), "{v}");
    let e = pll::shell(&board, "core", &ports("module core(a);\n input wire a;\nendmodule\n", "core").unwrap(), 36.0)
        .unwrap_err();
    assert_eq!(e, "module core has no clock port 'clock' (board icebreaker)");
}

/// The UART echo behind the PLL shell at 36 MHz on the iCEBreaker: nextpnr derives the core
/// clock's constraint from the 12 MHz oscillator, and the report times the core at 36 MHz.
#[test]
fn echo_behind_the_pll_is_timed_at_the_pll_clock() {
    use bbcu_boards::flow::{build, Options};
    use bbcu_hdl::top_echo::TopEcho;
    use rust_hdl::prelude::*;
    let board = Board::find("ice40").unwrap();
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bbcu-boards/echo-pll");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut uut = TopEcho::new(1, board.leds.active_low);
    uut.connect_all();
    let core = generate_verilog(&uut).replacen("module top(", "module echo_core(", 1);
    let (shell, f) = pll::shell(&board, "echo_core", &ports(&core, "echo_core").unwrap(), 36.0).unwrap();
    assert_eq!(f, 36.0);
    let v = dir.join("design.v");
    std::fs::write(&v, format!("{core}\n{shell}")).unwrap();
    let r = build(&v, "top", &board, &dir.join("build"), &Options::default()).unwrap();
    assert_eq!(r.target_mhz, 36.0);
    assert!(r.timing_met, "{:?}", r.clocks);
    let core_clock = r.clocks.iter().find(|c| c.name.contains("core_clock")).expect("the PLL's clock is timed");
    assert_eq!(core_clock.target_mhz, 36.0);
    assert!(core_clock.fmax_mhz > 36.0, "{core_clock:?}");
    assert!(std::fs::read_to_string(dir.join("build/top.pcf")).unwrap().contains("set_frequency clock 12"));
}

/// The same on the ULX3S (EHXPLLL + DCCA, 25 → 60 MHz). Needs scripts/setup-ecp5.sh:
/// `cargo test -p bbcu-boards --test pll -- --ignored`.
#[test]
#[ignore]
fn echo_behind_the_pll_on_the_ulx3s() {
    use bbcu_boards::flow::{build, Options};
    use bbcu_hdl::top_echo::TopEcho;
    use bbcu_hdl::uart::Baud;
    use rust_hdl::prelude::*;
    let board = Board::find("ecp5").unwrap();
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bbcu-boards/echo-pll-ulx3s");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let baud = Baud::for_rate(60_000_000, 3_000_000, 0.0).unwrap();
    let mut uut = TopEcho::with_baud(baud, board.leds.active_low);
    uut.connect_all();
    let core = generate_verilog(&uut).replacen("module top(", "module echo_core(", 1);
    let (shell, f) = pll::shell(&board, "echo_core", &ports(&core, "echo_core").unwrap(), 60.0).unwrap();
    assert_eq!(f, 60.0);
    let v = dir.join("design.v");
    std::fs::write(&v, format!("{core}\n{shell}")).unwrap();
    let r = build(&v, "top", &board, &dir.join("build"), &Options::default()).unwrap();
    assert!(r.timing_met, "{:?}", r.clocks);
    assert_eq!(r.target_mhz, 60.0, "{:?}", r.clocks);
}
