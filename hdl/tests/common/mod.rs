//! Seeded random input vectors shared by the rust-hdl and Verilator runs.
#![allow(dead_code)]

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// One cycle at the inputs of a PE array.
#[derive(Clone, Debug, Default)]
pub struct Cycle {
    pub act: u64,
    pub lane: u64,
    pub wgt: Vec<u64>,
    pub valid: bool,
    pub clear: bool,
    pub last: bool,
}

pub fn lanes_mask(s: usize) -> u64 {
    if s == 64 {
        u64::MAX
    } else {
        (1u64 << s) - 1
    }
}

/// The contract's per-word sum (`docs/arithmetic.md` §4): valid lanes count ±1, others 0.
pub fn word_sum(act: u64, wgt: u64, lane: u64, s: usize) -> i32 {
    (0..s).filter(|l| lane >> l & 1 == 1).map(|l| if (act ^ wgt) >> l & 1 == 0 { 1 } else { -1 }).sum()
}

/// Random groups of words with every kind of lane mask, gaps and clear-only starts; returns
/// the schedule and the expected sum of each group.
pub fn random_groups(rng: &mut ChaCha8Rng, s: usize, p: usize, groups: usize) -> (Vec<Cycle>, Vec<Vec<i32>>) {
    let full = lanes_mask(s);
    let mut sched = Vec::new();
    let mut want = Vec::new();
    for g in 0..groups {
        // Group 0 has all lanes valid, group 1 none, then a mix, up to 18 words (Cin = 64·9/S·2).
        let words = if g < 2 { 9 } else { rng.random_range(1..=18) };
        let clear_first = rng.random_bool(0.2);
        if clear_first {
            sched.push(Cycle { wgt: vec![0; p], clear: true, ..Default::default() });
        }
        let mut sums = vec![0i32; p];
        for k in 0..words {
            let lane = match (g, rng.random_range(0..4)) {
                (0, _) => full,
                (1, _) => 0,
                (_, 0) => full,
                (_, 1) => 0,
                (_, 2) => lanes_mask(rng.random_range(0..=s)),
                _ => rng.random::<u64>() & full,
            };
            let act = rng.random::<u64>() & full;
            let wgt: Vec<u64> = (0..p).map(|_| rng.random::<u64>() & full).collect();
            for (sum, w) in sums.iter_mut().zip(&wgt) {
                *sum += word_sum(act, *w, lane, s);
            }
            sched.push(Cycle { act, lane, wgt, valid: true, clear: k == 0 && !clear_first, last: k == words - 1 });
            if rng.random_bool(0.1) {
                // A bubble: garbage on the data inputs must not count.
                let junk =
                    Cycle { act: rng.random::<u64>() & full, lane: full, wgt: vec![full; p], ..Default::default() };
                sched.push(junk);
            }
        }
        want.push(sums);
    }
    (sched, want)
}
