//! Byte transports between the host and a board, behind one pair of traits so that the
//! protocol code does not know whether it talks to a serial port, a pseudo-terminal, an
//! in-process pipe or a fault-injecting proxy.
//!
//! A link is split into a receiving and a sending half from the start, because both ends run
//! a reader thread beside the thread that writes.

pub mod fault;
pub mod pipe;
pub mod serial;
pub mod xdma;

use std::io;
use std::time::{Duration, Instant};

/// The receiving half. `recv` waits at most about [`POLL`] and returns `Ok(0)` when nothing
/// came, so that callers can notice a quiet line; a closed link is an error.
pub trait Rx: Send {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize>;
}

/// The sending half; `send` returns when the bytes are on their way.
pub trait Tx: Send {
    fn send(&mut self, data: &[u8]) -> io::Result<()>;
}

/// Opens the host's link to a board: an XDMA (PCIe) device for `/dev/xdmaN`, else a serial
/// port. A pseudo-terminal (a virtual board) moves bytes as fast as memory, so the host's
/// sending side is held to the UART rate the virtual board stands for; a real UART and PCIe
/// pace themselves.
pub fn open(port: &std::path::Path, baud: u32) -> Result<Link, String> {
    if xdma::is_xdma(port) {
        return xdma::open(port);
    }
    let link = serial::open(port, baud)?;
    Ok(if serial::is_pty(port) { link.paced(baud) } else { link })
}

/// How long a receiver waits before reporting a quiet line.
pub const POLL: Duration = Duration::from_millis(20);

pub struct Link {
    pub rx: Box<dyn Rx>,
    pub tx: Box<dyn Tx>,
    /// What this link is, for messages ("/dev/ttyUSB1", "in-process pipe").
    pub name: String,
}

impl Link {
    /// The same link with its sending half limited to a UART's rate.
    pub fn paced(self, baud: u32) -> Link {
        Link { tx: Box::new(Paced::new(self.tx, baud)), ..self }
    }
}

/// Bytes per second of a UART at `baud` with 8N1 framing (10 bits per byte).
pub fn bytes_per_second(baud: u32) -> f64 {
    baud as f64 / 10.0
}

/// How late a paced sender may wake without the line counting as idle.
const LATE_WAKE: Duration = Duration::from_millis(4);

/// A sender that moves bytes no faster than a UART at a given baud rate would, so that a
/// virtual board's timings are those of the real link (pseudo-terminals ignore the baud
/// rate). Each direction of a link is paced by its own sender, as on a full-duplex UART.
pub struct Paced {
    inner: Box<dyn Tx>,
    rate: f64,
    /// Bytes handed over per sleep: about a millisecond of line time, so that delivery is
    /// smooth at any rate and a receiver never sees a gap inside a frame.
    piece: usize,
    /// When the last byte handed over finishes transmission.
    busy_until: Instant,
}

impl Paced {
    pub fn new(inner: Box<dyn Tx>, baud: u32) -> Self {
        let rate = bytes_per_second(baud.max(10));
        Paced { inner, rate, piece: ((rate / 1000.0) as usize).clamp(1, 1024), busy_until: Instant::now() }
    }
}

impl Tx for Paced {
    fn send(&mut self, data: &[u8]) -> io::Result<()> {
        for piece in data.chunks(self.piece) {
            let now = Instant::now();
            // A line that was idle does not bank credit; but a sender woken a little late (a
            // sleep overshoots by a fraction of a millisecond, more on a loaded machine) has
            // not left the line idle: a UART's FIFO and the driver's buffer kept it busy. Without
            // this allowance every late wake-up would be lost line time.
            if self.busy_until + LATE_WAKE < now {
                self.busy_until = now;
            }
            self.busy_until += Duration::from_secs_f64(piece.len() as f64 / self.rate);
            // The piece arrives when its last byte has been clocked out.
            let wait = self.busy_until.saturating_duration_since(Instant::now());
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
            self.inner.send(piece)?;
        }
        Ok(())
    }
}
