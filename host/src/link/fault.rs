//! A proxy that damages the bytes crossing it, for testing that the protocol loses nothing
//! and never lets a damaged result through: at a set rate, each byte is dropped, flipped
//! (one bit), duplicated, or held back for a few milliseconds. Seeded, so a failure replays.

use super::{Link, Rx, Tx};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

#[derive(Debug, Default)]
pub struct FaultStats {
    pub bytes: AtomicU64,
    pub dropped: AtomicU64,
    pub flipped: AtomicU64,
    pub duplicated: AtomicU64,
    pub delayed: AtomicU64,
}

impl FaultStats {
    pub fn faults(&self) -> u64 {
        [&self.dropped, &self.flipped, &self.duplicated, &self.delayed].iter().map(|a| a.load(Ordering::Relaxed)).sum()
    }
}

impl std::fmt::Display for FaultStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        write!(
            f,
            "{} bytes, {} dropped, {} flipped, {} duplicated, {} delayed",
            g(&self.bytes),
            g(&self.dropped),
            g(&self.flipped),
            g(&self.duplicated),
            g(&self.delayed)
        )
    }
}

/// Longest hold of a delayed byte.
const MAX_DELAY_MS: u64 = 20;

fn forward(mut rx: Box<dyn Rx>, mut tx: Box<dyn Tx>, rate: Arc<AtomicU64>, seed: u64, stats: Arc<FaultStats>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut buf = vec![0u8; 4096];
    loop {
        let n = match rx.recv(&mut buf) {
            Ok(n) => n,
            Err(_) => return,
        };
        let rate = f64::from_bits(rate.load(Ordering::Relaxed));
        let mut out = Vec::with_capacity(n + 8);
        for &b in &buf[..n] {
            if rate > 0.0 && rng.random_bool(rate) {
                match rng.random_range(0..4) {
                    0 => {
                        stats.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    1 => {
                        stats.flipped.fetch_add(1, Ordering::Relaxed);
                        out.push(b ^ (1 << rng.random_range(0..8)));
                    }
                    2 => {
                        stats.duplicated.fetch_add(1, Ordering::Relaxed);
                        out.extend([b, b]);
                    }
                    _ => {
                        stats.delayed.fetch_add(1, Ordering::Relaxed);
                        if tx.send(&out).is_err() {
                            return;
                        }
                        out.clear();
                        std::thread::sleep(Duration::from_millis(rng.random_range(1..=MAX_DELAY_MS)));
                        out.push(b);
                    }
                }
            } else {
                out.push(b);
            }
        }
        stats.bytes.fetch_add(n as u64, Ordering::Relaxed);
        if !out.is_empty() && tx.send(&out).is_err() {
            return;
        }
    }
}

/// A running proxy; its threads end when either side closes.
pub struct FaultProxy {
    /// Faults on the way from the host to the board, and back.
    pub to_board: Arc<FaultStats>,
    pub to_host: Arc<FaultStats>,
    rate: Arc<AtomicU64>,
    threads: Vec<JoinHandle<()>>,
}

impl FaultProxy {
    /// Joins `host_side` (the link the host's bytes arrive on) to `board_side`, damaging each
    /// byte with probability `rate` in both directions.
    pub fn spawn(host_side: Link, board_side: Link, rate: f64, seed: u64) -> FaultProxy {
        let (to_board, to_host) = (Arc::new(FaultStats::default()), Arc::new(FaultStats::default()));
        let (s1, s2) = (to_board.clone(), to_host.clone());
        let rate = Arc::new(AtomicU64::new(rate.to_bits()));
        let (r1, r2) = (rate.clone(), rate.clone());
        let Link { rx: hrx, tx: htx, .. } = host_side;
        let Link { rx: brx, tx: btx, .. } = board_side;
        let threads = vec![
            std::thread::spawn(move || forward(hrx, btx, r1, seed, s1)),
            std::thread::spawn(move || forward(brx, htx, r2, seed ^ 0x9e37_79b9_7f4a_7c15, s2)),
        ];
        FaultProxy { to_board, to_host, rate, threads }
    }

    /// Changes the damage rate from now on (to let a session start cleanly, then degrade).
    pub fn set_rate(&self, rate: f64) {
        self.rate.store(rate.to_bits(), Ordering::Relaxed);
    }

    pub fn join(self) {
        for t in self.threads {
            let _ = t.join();
        }
    }
}
