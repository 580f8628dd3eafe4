//! PLL settings for the boards' oscillators, and the Verilog shell that puts a PLL in front of
//! a design: the engine runs at the preset's clock (36 MHz on the iCEBreaker), not at the
//! board's 12 MHz oscillator.
//!
//! The iCE40 search is the one `icepll` does (its output is the test oracle: same DIVR, DIVF,
//! DIVQ and FILTER_RANGE); the ECP5 one follows the EHXPLLL limits of Lattice TN1263.

use crate::board::{Board, Family, PllInput, Port};
use std::fmt::Write;

/// iCE40 `SB_PLL40_CORE` in SIMPLE feedback mode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ice40Pll {
    pub divr: u32,
    pub divf: u32,
    pub divq: u32,
    pub filter_range: u32,
    pub f_out_mhz: f64,
}

/// ECP5 `EHXPLLL` with CLKOP as feedback.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ecp5Pll {
    pub clki_div: u32,
    pub clkfb_div: u32,
    pub clkop_div: u32,
    pub f_out_mhz: f64,
}

/// The closest iCE40 PLL output to `f_out` from `f_in` (MHz), within the data sheet's phase
/// detector (10–133 MHz) and VCO (533–1066 MHz) ranges.
pub fn ice40(f_in: f64, f_out: f64) -> Option<Ice40Pll> {
    let mut best: Option<Ice40Pll> = None;
    for divr in 0..16u32 {
        let f_pfd = f_in / (divr + 1) as f64;
        if !(10.0..=133.0).contains(&f_pfd) {
            continue;
        }
        for divf in 0..128u32 {
            let f_vco = f_pfd * (divf + 1) as f64;
            if !(533.0..=1066.0).contains(&f_vco) {
                continue;
            }
            for divq in 1..7u32 {
                let got = f_vco / (1u32 << divq) as f64;
                // Strictly better only, so the first of equal candidates wins, as in icepll.
                if best.is_none_or(|b| (got - f_out).abs() < (b.f_out_mhz - f_out).abs()) {
                    let filter_range = match f_pfd {
                        f if f < 17.0 => 1,
                        f if f < 26.0 => 2,
                        f if f < 44.0 => 3,
                        f if f < 66.0 => 4,
                        f if f < 101.0 => 5,
                        _ => 6,
                    };
                    best = Some(Ice40Pll { divr, divf, divq, filter_range, f_out_mhz: got });
                }
            }
        }
    }
    best
}

/// The closest ECP5 PLL output to `f_out` from `f_in` (MHz): phase detector ≥ 3.125 MHz, VCO
/// 400–800 MHz, output ≤ 400 MHz. Among equally close settings the VCO nearest 600 MHz wins
/// (the middle of its range).
pub fn ecp5(f_in: f64, f_out: f64) -> Option<Ecp5Pll> {
    let mut best: Option<(Ecp5Pll, f64)> = None;
    for clki_div in 1..=128u32 {
        let f_pfd = f_in / clki_div as f64;
        if !(3.125..=400.0).contains(&f_pfd) {
            continue;
        }
        for clkfb_div in 1..=80u32 {
            let got = f_pfd * clkfb_div as f64;
            if got > 400.0 {
                break;
            }
            for clkop_div in 1..=128u32 {
                let f_vco = got * clkop_div as f64;
                if !(400.0..=800.0).contains(&f_vco) {
                    continue;
                }
                let key = ((got - f_out).abs(), (f_vco - 600.0).abs());
                let better = match best {
                    None => true,
                    Some((b, vco)) => {
                        let bk = ((b.f_out_mhz - f_out).abs(), (vco - 600.0).abs());
                        key.0 < bk.0 - 1e-9 || ((key.0 - bk.0).abs() <= 1e-9 && key.1 < bk.1)
                    }
                };
                if better {
                    best = Some((Ecp5Pll { clki_div, clkfb_div, clkop_div, f_out_mhz: got }, f_vco));
                }
            }
        }
    }
    best.map(|(p, _)| p)
}

/// Verilog module `top` for `board`: the board's oscillator through a PLL to `f_mhz`, driving
/// `core` (a module with the same ports as `top`; `ports` are its ports, the clock among
/// them). Returns the text and the clock actually reached. Without a PLL (the oscillator
/// already runs at `f_mhz`) `core` is wired straight through.
///
/// rust-hdl has no reset, so the core relies on the zero power-up state of the flip-flops. On
/// ECP5 a clock buffer with an enable (DCCA) holds the core's clock until the PLL locks, so no
/// register sees the settling PLL. The iCE40 has no such buffer: there the core runs from the
/// PLL's first cycles, idle (the UART line is quiet for the ~50 µs the PLL needs to lock,
/// unless the host is already sending, in which case the first frame may be lost and is
/// resent by the host's retry).
pub fn shell(board: &Board, core: &str, ports: &[Port], f_mhz: f64) -> Result<(String, f64), String> {
    let clk = &board.clock.port;
    if !ports.iter().any(|p| &p.name == clk) {
        return Err(format!("module {core} has no clock port '{clk}' (board {})", board.name));
    }
    let mut s = String::new();
    let decl = |p: &Port| {
        let range = p.range.map(|(hi, lo)| format!("[{hi}:{lo}] ")).unwrap_or_default();
        format!("{} wire {range}{}", if p.output { "output" } else { "input" }, p.name)
    };
    writeln!(s, "// Generated by bbcu-boards for board {} ({}).", board.name, board.description).unwrap();
    writeln!(s, "module top(").unwrap();
    let decls: Vec<String> = ports.iter().map(|p| format!("    {}", decl(p))).collect();
    writeln!(s, "{}\n);", decls.join(",\n")).unwrap();
    let same = (f_mhz - board.clock.mhz).abs() < 1e-9;
    let achieved;
    if same {
        achieved = f_mhz;
        writeln!(s, "    wire core_clock = {clk};").unwrap();
    } else {
        match board.fpga.family {
            Family::Ice40 => {
                let p = ice40(board.clock.mhz, f_mhz)
                    .ok_or_else(|| format!("no iCE40 PLL setting makes {f_mhz} MHz from {} MHz", board.clock.mhz))?;
                achieved = p.f_out_mhz;
                let (prim, input) = match board.clock.pll.unwrap_or(PllInput::Core) {
                    PllInput::Pad => ("SB_PLL40_PAD", "PACKAGEPIN"),
                    PllInput::Core => ("SB_PLL40_CORE", "REFERENCECLK"),
                };
                writeln!(
                    s,
                    "    // {} MHz × {} / ({} × 2^{}) = {:.3} MHz
    wire core_clock;
    wire pll_locked;
    {prim} #(
        .FEEDBACK_PATH(\"SIMPLE\"),
        .DIVR(4'd{}),
        .DIVF(7'd{}),
        .DIVQ(3'd{}),
        .FILTER_RANGE(3'd{})
    ) pll (
        .{input}({clk}),
        .PLLOUTGLOBAL(core_clock),
        .LOCK(pll_locked),
        .RESETB(1'b1),
        .BYPASS(1'b0)
    );",
                    board.clock.mhz,
                    p.divf + 1,
                    p.divr + 1,
                    p.divq,
                    p.f_out_mhz,
                    p.divr,
                    p.divf,
                    p.divq,
                    p.filter_range
                )
                .unwrap();
            }
            Family::Ecp5 => {
                let p = ecp5(board.clock.mhz, f_mhz)
                    .ok_or_else(|| format!("no ECP5 PLL setting makes {f_mhz} MHz from {} MHz", board.clock.mhz))?;
                achieved = p.f_out_mhz;
                writeln!(
                    s,
                    "    // {} MHz / {} × {} = {:.3} MHz (VCO {:.1} MHz)
    wire pll_clock;
    wire pll_locked;
    wire core_clock;
    (* FREQUENCY_PIN_CLKI=\"{}\" *)
    (* FREQUENCY_PIN_CLKOP=\"{:.4}\" *)
    EHXPLLL #(
        .PLLRST_ENA(\"DISABLED\"),
        .INTFB_WAKE(\"DISABLED\"),
        .STDBY_ENABLE(\"DISABLED\"),
        .DPHASE_SOURCE(\"DISABLED\"),
        .OUTDIVIDER_MUXA(\"DIVA\"),
        .CLKOP_ENABLE(\"ENABLED\"),
        .CLKI_DIV({}),
        .CLKOP_DIV({}),
        .CLKOP_CPHASE({}),
        .CLKOP_FPHASE(0),
        .FEEDBK_PATH(\"CLKOP\"),
        .CLKFB_DIV({})
    ) pll (
        .RST(1'b0),
        .STDBY(1'b0),
        .CLKI({clk}),
        .CLKOP(pll_clock),
        .CLKFB(pll_clock),
        .PHASESEL0(1'b0),
        .PHASESEL1(1'b0),
        .PHASEDIR(1'b1),
        .PHASESTEP(1'b1),
        .PHASELOADREG(1'b1),
        .PLLWAKESYNC(1'b0),
        .ENCLKOP(1'b0),
        .LOCK(pll_locked)
    );
    // The core's clock stops until the PLL locks: its registers keep their power-up zeros.
    DCCA core_clock_gate (.CLKI(pll_clock), .CE(pll_locked), .CLKO(core_clock));",
                    board.clock.mhz,
                    p.clki_div,
                    p.clkfb_div,
                    p.f_out_mhz,
                    p.f_out_mhz * p.clkop_div as f64,
                    board.clock.mhz,
                    p.f_out_mhz,
                    p.clki_div,
                    p.clkop_div,
                    p.clkop_div - 1,
                    p.clkfb_div
                )
                .unwrap();
            }
        }
    }
    let conns: Vec<String> = ports
        .iter()
        .map(|p| {
            let net = if &p.name == clk { "core_clock".to_string() } else { p.name.clone() };
            format!("        .{}({net})", p.name)
        })
        .collect();
    writeln!(s, "    {core} core (\n{}\n    );\nendmodule", conns.join(",\n")).unwrap();
    Ok((s, achieved))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ice40_settings_reach_the_requested_clocks() {
        let p = ice40(12.0, 36.0).unwrap();
        assert_eq!((p.divr, p.divf, p.divq, p.filter_range), (0, 47, 4, 1));
        assert_eq!(p.f_out_mhz, 36.0);
        for f in [24.0, 30.0, 40.0, 48.0, 60.0] {
            let p = ice40(12.0, f).unwrap();
            let vco = 12.0 / (p.divr + 1) as f64 * (p.divf + 1) as f64;
            assert!((533.0..=1066.0).contains(&vco), "{f}: vco {vco}");
            assert!((p.f_out_mhz - f).abs() / f < 0.01, "{f} → {}", p.f_out_mhz);
        }
    }

    #[test]
    fn ecp5_settings_reach_the_requested_clocks() {
        // 48 MHz is not reachable from 25 MHz with CLKOP feedback: 46.875 (25 / 8 × 15) is closest.
        assert_eq!(ecp5(25.0, 48.0).unwrap().f_out_mhz, 46.875);
        for f in [40.0, 50.0, 60.0, 75.0] {
            let p = ecp5(25.0, f).unwrap();
            let vco = p.f_out_mhz * p.clkop_div as f64;
            assert!((400.0..=800.0).contains(&vco), "{f}: vco {vco}");
            assert!(25.0 / p.clki_div as f64 >= 3.125);
            assert!((p.f_out_mhz - f).abs() / f < 0.01, "{f} → {}", p.f_out_mhz);
        }
        let p = ecp5(25.0, 60.0).unwrap();
        assert_eq!(p.f_out_mhz, 60.0);
    }
}
