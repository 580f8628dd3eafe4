//! `bbcu-host board serve --sim board-top`: the board top-level's Verilog (UART, protocol
//! engine, engine) under Verilator ([`bbcu_hdl::board_sim`]) behind a link, so the host
//! driver meets exactly what a hardware board would say, streaming profile included.
//!
//! Bytes from the link are put on the simulated board's receive pin; what its transmit pin
//! sends goes back on the link. Simulated time is tied to the wall clock at the UART's rate
//! (one byte, [`BYTE`] clocks, per byte time at `baud`), so timeouts on both sides mean what
//! they mean on a real board; when the simulation is slower than that, time stretches rather
//! than the line running faster afterwards.

use crate::link::{bytes_per_second, Link};
use anyhow::{bail, Result};
use bbcu_arch::HwConfig;
use bbcu_hdl::board_sim::{BoardSim, BYTE};
use std::sync::mpsc::{self, TryRecvError};
use std::time::{Duration, Instant};

/// The board's partial-frame timeout in clocks: 200 ms at 3 Mbaud (divisor 1 at 48 MHz), as
/// `bbcu-host build` gives a real board. Fixed rather than scaled to `--baud` so one
/// simulator build serves every rate; at a lower rate it lasts proportionally longer.
pub const STALE_CYCLES: u32 = 9_600_000;
/// Longest the simulation may lag the wall clock before the lag is forgiven (it is then slower
/// than real time, and catching up would send faster than the UART could).
const MAX_LAG: Duration = Duration::from_millis(20);
/// Wall time simulated per step: short, so input reaches the board soon after it arrives.
const STEP: Duration = Duration::from_millis(2);

/// Serves `link` with a simulated board of `cfg`'s instance until the link closes.
pub fn serve(cfg: &HwConfig, link: Link, baud: u32) -> Result<()> {
    if baud == 0 {
        bail!("board serve --sim board-top: give --baud (the simulated UART's rate paces it)");
    }
    let mut sim = BoardSim::new(cfg, STALE_CYCLES).map_err(anyhow::Error::msg)?;
    let Link { mut rx, mut tx, name } = link;
    let (send, recv) = mpsc::channel::<std::io::Result<Vec<u8>>>();
    // The link's receiver waits for bytes; the simulation must keep running meanwhile.
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 8192];
        loop {
            let r = rx.recv(&mut buf).map(|n| buf[..n].to_vec());
            let end = r.is_err();
            if (!matches!(&r, Ok(b) if b.is_empty()) && send.send(r).is_err()) || end {
                return;
            }
        }
    });
    let clocks_per_s = BYTE as f64 * bytes_per_second(baud);
    let step = ((STEP.as_secs_f64() * clocks_per_s) as u64).max(BYTE);
    let max_lag = (MAX_LAG.as_secs_f64() * clocks_per_s) as u64;
    // Wall-clock instant of clock 0.
    let mut origin = Instant::now();
    loop {
        loop {
            match recv.try_recv() {
                Ok(Ok(bytes)) => sim.send(&bytes)?,
                Ok(Err(e)) => bail!("{name}: {e}"),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return Ok(()),
            }
        }
        let now = (origin.elapsed().as_secs_f64() * clocks_per_s) as u64;
        if sim.cycles >= now {
            std::thread::sleep(Duration::from_micros(500));
            continue;
        }
        if now - sim.cycles > max_lag {
            origin = Instant::now() - Duration::from_secs_f64(sim.cycles as f64 / clocks_per_s);
        }
        let got = sim.run(step.min(now - sim.cycles).max(1), u32::MAX)?;
        if !got.is_empty() {
            let bytes: Vec<u8> = got.iter().map(|b| b.byte).collect();
            if let Err(e) = tx.send(&bytes) {
                bail!("{name}: cannot write to the link ({e})");
            }
        }
    }
}
