//! Board definitions (`bitstreams/boards/<name>.toml`) and the pin constraints made from them.
//!
//! A board file names the FPGA (family, device, package), the clock (top-level port, pin,
//! frequency), the LED polarity and a `[pins]` table from top-level port names to package
//! pins; a vector port takes an array, one pin per bit from bit 0. Constraints are written
//! only for the ports the design's top module has, and a port without a pin is an error, so
//! one board file serves every design.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/boards.rs"));
}

#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    #[error("unknown board '{0}' (known: {1})")]
    Unknown(String, String),
    #[error("board file {0}: {1}")]
    Parse(String, String),
    #[error("top module '{0}' not found in the Verilog")]
    NoTop(String),
    #[error("port '{port}' of the top module has no pin on board {board}")]
    NoPin { port: String, board: String },
    #[error("port '{port}' is {width} bits wide but board {board} lists {pins} pins for it")]
    Width { port: String, width: usize, pins: usize, board: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Ice40,
    Ecp5,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fpga {
    pub family: Family,
    /// nextpnr's device flag without dashes: `up5k`, `hx8k`, `85k`.
    pub device: String,
    pub package: String,
    /// ECP5 speed grade (nextpnr-ecp5 `--speed`).
    pub speed: Option<u32>,
    /// ECP5 I/O standard for every constrained pin.
    pub io_type: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockDef {
    pub port: String,
    pub pin: String,
    pub mhz: f64,
    /// iCE40: how the oscillator reaches the PLL. `pad` when the clock pin is the PLL's own
    /// input pad (iCEBreaker pin 35: the pad's input buffer then cannot also feed a core PLL),
    /// `core` (the default) when it arrives through a global buffer.
    #[serde(default)]
    pub pll: Option<PllInput>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PllInput {
    Pad,
    Core,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UartDef {
    /// The USB-serial bridge's highest baud rate.
    pub max_baud: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedDef {
    pub active_low: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Pins {
    One(String),
    Bus(Vec<String>),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Board {
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub description: String,
    pub fpga: Fpga,
    /// The accelerator preset built for this board (`arch/presets/<preset>.toml`).
    pub preset: String,
    pub clock: ClockDef,
    pub uart: UartDef,
    pub leds: LedDef,
    pub flash: FlashDef,
    pub pins: BTreeMap<String, Pins>,
}

/// How a bitstream gets onto the board: the programmer and its arguments before the file,
/// for the board's configuration flash (kept over power cycles) and for SRAM (lost at power
/// off, but quick and without wearing the flash).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlashDef {
    pub tool: String,
    pub flash_args: Vec<String>,
    pub sram_args: Vec<String>,
    /// Where to get the tool, for the error when it is missing.
    pub install: String,
}

/// A port of the top module: `[msb:lsb]` for vectors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
    pub name: String,
    pub range: Option<(usize, usize)>,
    /// Driven by the module (`output`); `input` and `inout` are false.
    pub output: bool,
}

impl Board {
    pub fn parse(text: &str, origin: &str) -> Result<Board, BoardError> {
        let b: Board = toml::from_str(text).map_err(|e| BoardError::Parse(origin.into(), one_line(&e.to_string())))?;
        if b.pins.contains_key(&b.clock.port) {
            return Err(BoardError::Parse(origin.into(), format!("clock port '{}' is also in [pins]", b.clock.port)));
        }
        if b.fpga.family == Family::Ecp5 && b.fpga.io_type.is_none() {
            return Err(BoardError::Parse(origin.into(), "an ECP5 board needs fpga.io_type".into()));
        }
        Ok(b)
    }

    pub fn load(path: &Path) -> Result<Board, BoardError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| BoardError::Parse(origin.clone(), e.to_string()))?;
        Board::parse(&text, &origin)
    }

    /// Every board shipped in `bitstreams/boards/`.
    pub fn builtin() -> Vec<Board> {
        builtin::BUILTIN
            .iter()
            .map(|(stem, text)| Board::parse(text, &format!("boards/{stem}.toml")).unwrap_or_else(|e| panic!("{e}")))
            .collect()
    }

    /// A shipped board by name or alias (`ice40` is the iCEBreaker, `ecp5` the ULX3S).
    pub fn find(name: &str) -> Result<Board, BoardError> {
        let all = Board::builtin();
        let known = all.iter().map(|b| b.name.as_str()).collect::<Vec<_>>().join(", ");
        all.iter()
            .find(|b| b.name == name || b.aliases.iter().any(|a| a == name))
            .cloned()
            .ok_or_else(|| BoardError::Unknown(name.into(), known))
    }

    /// The pins of `port` in bit order, checked against its width.
    fn pins_of(&self, port: &Port) -> Result<Vec<(String, String)>, BoardError> {
        if port.name == self.clock.port && port.range.is_none() {
            return Ok(vec![(port.name.clone(), self.clock.pin.clone())]);
        }
        let no_pin = || BoardError::NoPin { port: port.name.clone(), board: self.name.clone() };
        match (self.pins.get(&port.name).ok_or_else(no_pin)?, port.range) {
            (Pins::One(p), None) => Ok(vec![(port.name.clone(), p.clone())]),
            (Pins::Bus(ps), Some((msb, lsb))) => {
                let (lo, hi) = (msb.min(lsb), msb.max(lsb));
                let width = hi - lo + 1;
                if ps.len() < width {
                    return Err(BoardError::Width {
                        port: port.name.clone(),
                        width,
                        pins: ps.len(),
                        board: self.name.clone(),
                    });
                }
                if width == 1 {
                    // Yosys turns a one-bit vector into a scalar net.
                    return Ok(vec![(port.name.clone(), ps[0].clone())]);
                }
                Ok((lo..=hi).zip(ps).map(|(i, p)| (format!("{}[{i}]", port.name), p.clone())).collect())
            }
            (Pins::One(_), Some((msb, lsb))) => Err(BoardError::Width {
                port: port.name.clone(),
                width: msb.abs_diff(lsb) + 1,
                pins: 1,
                board: self.name.clone(),
            }),
            (Pins::Bus(ps), None) => {
                Err(BoardError::Width { port: port.name.clone(), width: 1, pins: ps.len(), board: self.name.clone() })
            }
        }
    }

    /// An iCE40 `.pcf` for the given top-level ports.
    pub fn pcf(&self, ports: &[Port]) -> Result<String, BoardError> {
        let mut s =
            format!("# {} ({}), generated from boards/{}.toml\n", self.description, self.fpga.package, self.name);
        for port in ports {
            for (net, pin) in self.pins_of(port)? {
                writeln!(s, "set_io {net} {pin}").unwrap();
            }
        }
        Ok(s)
    }

    /// An ECP5 `.lpf` for the given top-level ports, with the clock's frequency.
    pub fn lpf(&self, ports: &[Port]) -> Result<String, BoardError> {
        let io = self.fpga.io_type.as_deref().unwrap_or("LVCMOS33");
        let mut s =
            format!("# {} ({}), generated from boards/{}.toml\n", self.description, self.fpga.package, self.name);
        for port in ports {
            for (net, pin) in self.pins_of(port)? {
                writeln!(s, "LOCATE COMP \"{net}\" SITE \"{pin}\";").unwrap();
                writeln!(s, "IOBUF PORT \"{net}\" IO_TYPE={io};").unwrap();
            }
        }
        if ports.iter().any(|p| p.name == self.clock.port) {
            writeln!(s, "FREQUENCY PORT \"{}\" {} MHZ;", self.clock.port, self.clock.mhz).unwrap();
        }
        Ok(s)
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The ports of module `top` in `verilog`, in declaration order: ANSI headers
/// (`module top(input wire a, output [1:0] b);`) and non-ANSI ones (`module top(a, b);` then
/// `input wire a;`), as rust-hdl writes them. Comments are not expected in the header.
pub fn ports(verilog: &str, top: &str) -> Result<Vec<Port>, BoardError> {
    let start = verilog
        .match_indices("module")
        .map(|(i, _)| i)
        .find(|&i| {
            let rest = verilog[i + 6..].trim_start();
            rest.starts_with(top) && rest[top.len()..].trim_start().starts_with(['(', ';', '#'])
        })
        .ok_or_else(|| BoardError::NoTop(top.into()))?;
    let body = &verilog[start..];
    let body = &body[..body.find("endmodule").unwrap_or(body.len())];
    let mut statements = body.split(';');
    let header = statements.next().unwrap_or("");
    let mut order: Vec<String> = Vec::new();
    let mut ranges: BTreeMap<String, (Option<(usize, usize)>, bool)> = BTreeMap::new();
    let declare = |decl: &str, order: &mut Vec<String>, ranges: &mut BTreeMap<_, _>| {
        let output = decl.split_whitespace().next() == Some("output");
        // `input wire [7:0] a, b` → range and names, the direction and type words dropped.
        let (range, rest) = match (decl.find('['), decl.find(']')) {
            (Some(a), Some(b)) if a < b => {
                let r = &decl[a + 1..b];
                let (m, l) = r.split_once(':').unwrap_or((r, r));
                (Some((m.trim().parse().unwrap_or(0), l.trim().parse().unwrap_or(0))), &decl[b + 1..])
            }
            _ => (None, decl),
        };
        let rest = rest.split_whitespace().filter(|w| !is_decl_word(w)).collect::<Vec<_>>().join(" ");
        for name in rest.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if !order.iter().any(|o| o == name) {
                order.push(name.to_string());
            }
            ranges.insert(name.to_string(), (range, output));
        }
    };
    if let (Some(a), Some(b)) = (header.find('('), header.rfind(')')) {
        let mut current: Option<String> = None;
        for item in header[a + 1..b].split(',') {
            let item = item.trim();
            let first = item.split_whitespace().next().unwrap_or("");
            if matches!(first, "input" | "output" | "inout") {
                current = Some(item.to_string());
                declare(item, &mut order, &mut ranges);
            } else if let Some(c) = &current {
                // `input [3:0] a, b`: b shares a's direction and range.
                let head = c.rsplit_once(char::is_whitespace).map(|h| h.0).unwrap_or("");
                declare(&format!("{head} {item}"), &mut order, &mut ranges);
            } else if !item.is_empty() {
                order.push(item.to_string());
            }
        }
    }
    for st in statements {
        let st = st.trim();
        let first = st.split_whitespace().next().unwrap_or("");
        if matches!(first, "input" | "output" | "inout") {
            declare(st, &mut order, &mut ranges);
        }
    }
    Ok(order
        .into_iter()
        .map(|n| {
            let (range, output) = ranges.get(&n).copied().unwrap_or((None, false));
            Port { range, output, name: n }
        })
        .collect())
}

fn is_decl_word(w: &str) -> bool {
    matches!(w, "input" | "output" | "inout" | "wire" | "reg" | "logic" | "signed" | "unsigned")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The head of rust-hdl's Verilog for the UART echo design.
    const ECHO: &str = "\n\nmodule top(clock,uart_rx,uart_tx,led);\n    \n    // Module arguments\n    \
        input wire  clock;\n    input wire  uart_rx;\n    output reg  uart_tx;\n    output reg  [1:0] led;\n    \n\
        module top$uart(clock,rx,tx);\n    input wire clock;\nendmodule\n";

    fn p(name: &str, range: Option<(usize, usize)>) -> Port {
        Port { name: name.into(), range, output: false }
    }

    #[test]
    fn shipped_boards_parse_with_aliases() {
        let all = Board::builtin();
        let names: Vec<&str> = all.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["ice40-hx8k", "icebreaker", "ulx3s"]);
        assert_eq!(Board::find("ice40").unwrap().name, "icebreaker");
        assert_eq!(Board::find("ecp5").unwrap().name, "ulx3s");
        let b = Board::find("icebreaker").unwrap();
        assert_eq!((b.fpga.family, b.fpga.device.as_str(), b.fpga.package.as_str()), (Family::Ice40, "up5k", "sg48"));
        assert_eq!((b.clock.pin.as_str(), b.clock.mhz), ("35", 12.0));
        let e = Board::find("nexys").unwrap_err().to_string();
        assert_eq!(e, "unknown board 'nexys' (known: ice40-hx8k, icebreaker, ulx3s)");
        for b in &all {
            for key in ["uart_rx", "uart_tx", "led"] {
                assert!(b.pins.contains_key(key), "{} has {key}", b.name);
            }
        }
    }

    #[test]
    fn rust_hdl_ports() {
        let ports = ports(ECHO, "top").unwrap();
        let out = |name: &str, range| Port { output: true, ..p(name, range) };
        assert_eq!(ports, [p("clock", None), p("uart_rx", None), out("uart_tx", None), out("led", Some((1, 0)))]);
        assert!(matches!(super::ports(ECHO, "nope"), Err(BoardError::NoTop(_))));
    }

    #[test]
    fn ansi_ports() {
        let v = "module top (input wire clk, input [3:0] a, b, output reg [0:0] led);\nendmodule\n";
        assert_eq!(
            ports(v, "top").unwrap(),
            [
                p("clk", None),
                p("a", Some((3, 0))),
                p("b", Some((3, 0))),
                Port { output: true, ..p("led", Some((0, 0))) }
            ]
        );
    }

    #[test]
    fn pcf_for_the_echo_on_the_icebreaker() {
        let b = Board::find("ice40").unwrap();
        let pcf = b.pcf(&ports(ECHO, "top").unwrap()).unwrap();
        let body: Vec<&str> = pcf.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            body,
            ["set_io clock 35", "set_io uart_rx 6", "set_io uart_tx 9", "set_io led[0] 11", "set_io led[1] 37"]
        );
    }

    #[test]
    fn lpf_for_the_echo_on_the_ulx3s() {
        let b = Board::find("ulx3s").unwrap();
        let lpf = b.lpf(&ports(ECHO, "top").unwrap()).unwrap();
        assert!(lpf.contains("LOCATE COMP \"clock\" SITE \"G2\";\nIOBUF PORT \"clock\" IO_TYPE=LVCMOS33;"));
        assert!(lpf.contains("LOCATE COMP \"uart_rx\" SITE \"M1\";"));
        assert!(lpf.contains("LOCATE COMP \"uart_tx\" SITE \"L4\";"));
        assert!(lpf.contains("LOCATE COMP \"led[1]\" SITE \"C2\";"));
        assert!(lpf.contains("FREQUENCY PORT \"clock\" 25 MHZ;"));
    }

    #[test]
    fn missing_pins_and_widths_are_errors() {
        let b = Board::find("icebreaker").unwrap();
        let e = b.pcf(&[p("sdram_clk", None)]).unwrap_err().to_string();
        assert_eq!(e, "port 'sdram_clk' of the top module has no pin on board icebreaker");
        let e = b.pcf(&[p("led", Some((7, 0)))]).unwrap_err().to_string();
        assert_eq!(e, "port 'led' is 8 bits wide but board icebreaker lists 2 pins for it");
        // A one-bit vector is a scalar net after Yosys.
        assert_eq!(b.pcf(&[p("led", Some((0, 0)))]).unwrap().lines().last(), Some("set_io led 11"));
    }

    #[test]
    fn bad_board_files_are_one_line_errors() {
        let good = include_str!("../boards/icebreaker.toml");
        let e = Board::parse(&good.replace("mhz = 12.0", "mhz = \"fast\""), "x.toml").unwrap_err().to_string();
        assert!(e.starts_with("board file x.toml: ") && !e.contains('\n'), "{e}");
        let e = Board::parse(&good.replace("button = ", "clock = \"1\"\nbuttonx = "), "x.toml").unwrap_err();
        assert_eq!(e.to_string(), "board file x.toml: clock port 'clock' is also in [pins]");
    }
}
