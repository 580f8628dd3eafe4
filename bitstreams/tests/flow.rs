//! The flow end to end with the real tools: the UART echo design (bbcu_hdl::top_echo) built for
//! the iCEBreaker twice with one seed (same bitstream), a timing target it cannot meet, and a
//! design that does not fit. Needs `yosys`, `nextpnr-ice40` and `icepack` (scripts/test.sh
//! installs them). The ECP5 build needs scripts/setup-ecp5.sh and is ignored by default:
//! `cargo test -p bbcu-boards --test flow -- --ignored`.

use bbcu_boards::board::Board;
use bbcu_boards::flow::{build, synthesise, FlowError, Options};
use bbcu_hdl::top_echo::TopEcho;
use bbcu_hdl::uart::divisor_for;
use rust_hdl::prelude::*;
use std::path::{Path, PathBuf};

fn out_dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bbcu-boards").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The echo design's Verilog for `board` at the fastest baud rate its clock allows (divisor 1).
fn echo_verilog(board: &Board, dir: &Path) -> PathBuf {
    let baud = (board.clock.mhz * 1e6 / 16.0) as u64;
    let divisor = divisor_for((board.clock.mhz * 1e6) as u64, baud, 0.0).unwrap();
    let mut uut = TopEcho::new(divisor, board.leds.active_low);
    uut.connect_all();
    let path = dir.join("echo.v");
    std::fs::write(&path, generate_verilog(&uut)).unwrap();
    path
}

/// Synthesis alone counts what the full build's Yosys step places.
#[test]
fn synthesis_alone_counts_what_the_build_places() {
    let board = Board::find("ice40").unwrap();
    let (a, b) = (out_dir("echo-synth"), out_dir("echo-synth-build"));
    let v = echo_verilog(&board, &a);
    let y = synthesise(&v, "top", &board, &a).unwrap();
    assert!(y.yosys.starts_with("Yosys "), "{}", y.yosys);
    assert!(a.join("yosys.log").exists() && !a.join("top.bin").exists());
    let r = build(&v, "top", &board, &b, &Options::default()).unwrap();
    assert_eq!(y.luts, r.resources["lut"].used, "{:?}", y.cells);
    assert_eq!(y.ffs, r.resources["ff"].used);
    assert_eq!(y.ram_blocks, r.resources["ebr"].used);
    assert_eq!((y.dsp, y.spram), (0, 0));
}

#[test]
fn echo_builds_for_the_icebreaker_deterministically() {
    let board = Board::find("ice40").unwrap();
    let (a, b) = (out_dir("echo-icebreaker-a"), out_dir("echo-icebreaker-b"));
    let v = echo_verilog(&board, &a);
    let ra = build(&v, "top", &board, &a, &Options::default()).unwrap();
    let rb = build(&v, "top", &board, &b, &Options::default()).unwrap();
    for r in [&ra, &rb] {
        assert_eq!((r.board.as_str(), r.device.as_str(), r.seed, r.target_mhz), ("icebreaker", "up5k", 1, 12.0));
        assert!(r.timing_met && r.clocks.len() == 1 && r.clocks[0].fmax_mhz > 12.0, "{:?}", r.clocks);
        let lc = r.resources["lc"];
        assert_eq!(lc.available, 5280);
        assert!(lc.used > 50 && lc.used < 1000, "a UART is small: {lc:?}");
        assert!(r.resources["lut"].used > 0 && r.resources["ff"].used > 0);
        assert_eq!(r.resources["ebr"].used, 2, "one EBR per 512-byte FIFO");
        assert_eq!(r.resources["io"].used, 5);
        assert_eq!(r.steps.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["yosys", "nextpnr", "pack"]);
        assert!(r.tools["yosys"].starts_with("Yosys "), "{:?}", r.tools);
        assert!(r.tools["nextpnr"].contains("nextpnr-ice40"), "{:?}", r.tools);
    }
    let (bin_a, bin_b) = (std::fs::read(a.join("top.bin")).unwrap(), std::fs::read(b.join("top.bin")).unwrap());
    assert!(bin_a.len() > 100_000, "a UP5K bitstream is ~104 kB, got {}", bin_a.len());
    assert!(bin_a == bin_b, "same seed and inputs, same bitstream");
    assert_eq!((ra.resources.clone(), ra.clocks.clone()), (rb.resources.clone(), rb.clocks.clone()));
    let saved: bbcu_boards::Report =
        serde_json::from_str(&std::fs::read_to_string(a.join("report.json")).unwrap()).unwrap();
    assert_eq!(saved, ra);
    assert!(a.join("top.pcf").exists() && a.join("yosys.log").exists() && a.join("nextpnr.log").exists());
    let s = |k: &str| ra.steps.iter().find(|s| s.name == k).unwrap().seconds;
    eprintln!(
        "echo on UP5K: {} LC, {} LUT4, {} FF, {} EBR, Fmax {:.2} MHz; yosys {:.1} s, nextpnr {:.1} s, icepack {:.1} s",
        ra.resources["lc"].used,
        ra.resources["lut"].used,
        ra.resources["ff"].used,
        ra.resources["ebr"].used,
        ra.clocks[0].fmax_mhz,
        s("yosys"),
        s("nextpnr"),
        s("pack")
    );
}

#[test]
fn missed_timing_is_an_error_with_the_numbers() {
    let board = Board::find("ice40-hx8k").unwrap();
    let dir = out_dir("echo-hx8k-fast");
    let v = echo_verilog(&board, &dir);
    let opts = Options { seed: 3, target_mhz: Some(500.0) };
    match build(&v, "top", &board, &dir, &opts) {
        Err(e @ FlowError::Timing { .. }) => {
            let FlowError::Timing { clocks, report, .. } = &e else { unreachable!() };
            assert!(clocks[0].fmax_mhz > 30.0 && clocks[0].fmax_mhz < 500.0 && !clocks[0].met);
            let msg = e.to_string();
            assert!(msg.starts_with("timing not met on ice40-hx8k: clock '") && msg.contains("< 500.00 MHz target"));
            assert!(!msg.contains('\n'));
            let saved: bbcu_boards::Report = serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
            assert!(!saved.timing_met && saved.seed == 3 && saved.device == "hx8k");
        }
        other => panic!("expected a timing error, got {other:?}"),
    }
}

/// Five SB_SPRAM256KA where the UP5K has four.
const TOO_BIG: &str = "
module top(clock, uart_rx, led);
    input wire clock;
    input wire uart_rx;
    output wire [1:0] led;
    reg [13:0] addr;
    wire [15:0] d [0:5];
    assign d[0] = {16{uart_rx}};
    genvar k;
    generate for (k = 0; k < 5; k = k + 1) begin : ram
        SB_SPRAM256KA m (.ADDRESS(addr), .DATAIN(d[k]), .MASKWREN(4'hf), .WREN(uart_rx),
            .CHIPSELECT(1'b1), .CLOCK(clock), .STANDBY(1'b0), .SLEEP(1'b0), .POWEROFF(1'b1),
            .DATAOUT(d[k + 1]));
    end endgenerate
    always @(posedge clock) addr <= addr + 1;
    assign led = d[5][1:0];
endmodule
";

#[test]
fn a_design_that_does_not_fit_is_an_error_with_the_numbers() {
    let board = Board::find("icebreaker").unwrap();
    let dir = out_dir("too-big");
    std::fs::write(dir.join("big.v"), TOO_BIG).unwrap();
    let e = build(&dir.join("big.v"), "top", &board, &dir, &Options::default()).unwrap_err();
    assert_eq!(e.to_string(), "design does not fit icebreaker: ICESTORM_SPRAM 5/4");
    assert!(!dir.join("report.json").exists());
}

#[test]
fn a_port_without_a_pin_stops_before_the_tools() {
    let board = Board::find("icebreaker").unwrap();
    let dir = out_dir("no-pin");
    std::fs::write(dir.join("x.v"), "module top(input wire clock, output wire hdmi_clk);\nendmodule\n").unwrap();
    let e = build(&dir.join("x.v"), "top", &board, &dir, &Options::default()).unwrap_err();
    assert_eq!(e.to_string(), "port 'hdmi_clk' of the top module has no pin on board icebreaker");
    assert!(!dir.join("yosys.log").exists());
}

#[test]
#[ignore = "needs scripts/setup-ecp5.sh (PyPI yowasp tools); ~30 s once their cache is warm"]
fn echo_builds_for_the_ulx3s() {
    let board = Board::find("ecp5").unwrap();
    let dir = out_dir("echo-ulx3s");
    let v = echo_verilog(&board, &dir);
    let r = build(&v, "top", &board, &dir, &Options::default()).unwrap();
    assert!(r.timing_met && r.clocks[0].fmax_mhz > 25.0);
    assert_eq!(r.resources["lut"].available, 83640);
    assert_eq!(r.resources["ebr"].used, 2);
    assert!(std::fs::metadata(dir.join("top.bit")).unwrap().len() > 100_000);
    eprintln!(
        "echo on ECP5-85F: {} LUT, {} FF, Fmax {:.2} MHz; {:?}",
        r.resources["lut"].used,
        r.resources["ff"].used,
        r.clocks[0].fmax_mhz,
        r.steps.iter().map(|s| (s.name.clone(), s.seconds)).collect::<Vec<_>>()
    );
}
