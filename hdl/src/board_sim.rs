//! The whole board top-level (UART, protocol engine, engine: [`crate::board_top`]) as emitted
//! Verilog under Verilator, driven bit by bit on its serial pins by the harness
//! `hdl/verilator/board_tb.cpp` in a child process: a virtual hardware board for tests
//! (`hdl/tests/board_verilator.rs`) and for `bbcu-host board serve --sim board-top`.
//!
//! The UART runs at divisor 1 (16 clocks a bit, the fastest the design allows), so one byte
//! on the line is [`BYTE`] clocks; callers map clocks to time. Like [`crate::verilator`], a
//! build is cached under [`crate::verilator::cache_root`] keyed by everything that goes into
//! the binary, and reused while that is unchanged.

use crate::board_top::Link;
use crate::generate::{board_verilog_link, default_link, instance, Instance};
use crate::verilator::build_cached;
use bbcu_arch::HwConfig;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

/// The C++ serial-line harness compiled against every board top-level.
pub const HARNESS: &str = include_str!("../verilator/board_tb.cpp");
/// UART divisor of the simulated board.
pub const DIVISOR: u32 = 1;
/// Clocks of one bit and of one byte (8N1) on the line.
pub const BIT: u64 = 16 * DIVISOR as u64;
pub const BYTE: u64 = 10 * BIT;

/// The simulator binary of `cfg`'s board top-level with a partial-frame timeout of
/// `stale_cycles`, built on first use (about a minute on two cores for sim-test) and kept
/// for later processes; one build at a time per process.
pub fn simulator(cfg: &HwConfig, stale_cycles: u32) -> Result<PathBuf, String> {
    simulator_with(cfg, default_link(instance(cfg)?), stale_cycles)
}

/// As [`simulator`] with the protocol engine named.
pub fn simulator_with(cfg: &HwConfig, link: Link, stale_cycles: u32) -> Result<PathBuf, String> {
    static BUILDING: Mutex<Vec<(String, PathBuf)>> = Mutex::new(Vec::new());
    let inst = instance(cfg)?;
    let name = match inst {
        Instance::Test => "sim-test",
        Instance::Up5k => "ice40-up5k",
        Instance::Ecp5 => "ecp5-85k",
    };
    // The timeout is in the name so that builds with different timeouts (tests, served
    // boards) do not prune each other.
    let fw = if link == default_link(inst) { "" } else { "-other-link" };
    let tag = format!("board-{name}{fw}-stale{stale_cycles}");
    let mut built = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, p)) = built.iter().find(|(t, _)| *t == tag) {
        return Ok(p.clone());
    }
    let text = board_verilog_link(cfg, link, crate::uart::Baud::divisor(DIVISOR), stale_cycles, false)?;
    let bin = build_cached(&tag, &text, ("board_tb.cpp", HARNESS), "vboard", &format!("the {name} board"))?;
    built.push((tag, bin.clone()));
    Ok(bin)
}

/// A byte the board sent, with the clock of its stop bit.
#[derive(Debug, Clone, Copy)]
pub struct RxByte {
    pub byte: u8,
    /// False when the stop bit was low (the board never should).
    pub stop_ok: bool,
    pub at: u64,
}

/// One simulated board on a serial line.
pub struct BoardSim {
    child: Child,
    tx: BufWriter<ChildStdin>,
    rx: BufReader<ChildStdout>,
    /// Clocks simulated so far.
    pub cycles: u64,
    /// The board's LEDs after the last [`BoardSim::run`] (bit 0 model loaded, bit 1 line error).
    pub led: u8,
}

impl BoardSim {
    /// Starts a board of `cfg`'s instance (building the simulator if needed).
    pub fn new(cfg: &HwConfig, stale_cycles: u32) -> Result<BoardSim, String> {
        Self::with_link(cfg, default_link(instance(cfg)?), stale_cycles)
    }

    /// As [`BoardSim::new`] with the protocol engine named.
    pub fn with_link(cfg: &HwConfig, link: Link, stale_cycles: u32) -> Result<BoardSim, String> {
        let bin = simulator_with(cfg, link, stale_cycles)?;
        let mut child = Command::new(&bin)
            .arg(DIVISOR.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        let tx = BufWriter::new(child.stdin.take().expect("piped stdin"));
        let rx = BufReader::new(child.stdout.take().expect("piped stdout"));
        Ok(BoardSim { child, tx, rx, cycles: 0, led: 0 })
    }

    /// Queues bytes for the board's receive pin, behind those not yet sent; bit 8 set sends
    /// the byte with a low stop bit (a framing error).
    pub fn send_raw(&mut self, items: &[u16]) -> std::io::Result<()> {
        let mut m = Vec::with_capacity(5 + 2 * items.len());
        m.push(b'S');
        m.extend_from_slice(&(items.len() as u32).to_le_bytes());
        for i in items {
            m.extend_from_slice(&i.to_le_bytes());
        }
        self.tx.write_all(&m)
    }

    pub fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.send_raw(&bytes.iter().map(|&b| b as u16).collect::<Vec<_>>())
    }

    /// Runs until `want` bytes came back (and everything queued was sent) or `max` clocks
    /// passed; answers the bytes received.
    pub fn run(&mut self, max: u64, want: u32) -> std::io::Result<Vec<RxByte>> {
        let mut m = vec![b'R'];
        m.extend_from_slice(&max.to_le_bytes());
        m.extend_from_slice(&want.to_le_bytes());
        self.tx.write_all(&m)?;
        self.tx.flush()?;
        let mut h = [0u8; 14];
        self.rx.read_exact(&mut h)?;
        if h[0] != b'r' {
            return Err(std::io::Error::other("the board simulator answered out of step"));
        }
        self.cycles = u64::from_le_bytes(h[1..9].try_into().unwrap());
        self.led = h[9];
        let n = u32::from_le_bytes(h[10..14].try_into().unwrap()) as usize;
        let mut b = vec![0u8; 10 * n];
        self.rx.read_exact(&mut b)?;
        Ok(b.chunks(10)
            .map(|r| RxByte { byte: r[0], stop_ok: r[1] == 1, at: u64::from_le_bytes(r[2..10].try_into().unwrap()) })
            .collect())
    }
}

impl Drop for BoardSim {
    fn drop(&mut self) {
        let _ = self.tx.write_all(b"Q");
        let _ = self.tx.flush();
        let _ = self.child.wait();
    }
}
