//! The PEs and PE arrays under rust-hdl's simulator, driven directly (no testbench threads),
//! against `bbcu_sim::fixed` on seeded random vectors.

use bbcu_hdl::sim::{start, tick, Clocked};
use bbcu_hdl::{Pe16, Pe32, Pe64, PeArray16, PeArray32, PeArray64};
mod common;

use bbcu_sim::fixed::{binarize, popcount_dot, Fmap, QBinary};
use common::{random_groups, Cycle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::*;
use std::time::Instant;

/// What the tests need of a PE or PE array.
trait Dut: Clocked + Default {
    const LANES: usize;
    const LATENCY: usize;
    fn outputs(&self) -> usize;
    fn drive(&mut self, c: &Cycle);
    /// `done` and the sums.
    fn read(&self) -> (bool, Vec<i32>);
}

fn to_i32(s: Signed<16>) -> i32 {
    unsigned_cast(s).index() as u16 as i16 as i32
}

macro_rules! dut_array {
    ($t:ty, $lanes:literal) => {
        impl Dut for $t {
            const LANES: usize = $lanes;
            const LATENCY: usize = <$t>::LATENCY;
            fn outputs(&self) -> usize {
                self.sum.len()
            }
            fn drive(&mut self, c: &Cycle) {
                self.act.next = c.act.into();
                self.lane.next = c.lane.into();
                for (w, v) in self.wgt.iter_mut().zip(&c.wgt) {
                    w.next = (*v).into();
                }
                self.valid_in.next = c.valid;
                self.clear.next = c.clear;
                self.last.next = c.last;
            }
            fn read(&self) -> (bool, Vec<i32>) {
                (self.done.val(), self.sum.iter().map(|s| to_i32(s.val())).collect())
            }
        }
    };
}

macro_rules! dut_pe {
    ($t:ty, $lanes:literal) => {
        impl Dut for $t {
            const LANES: usize = $lanes;
            const LATENCY: usize = <$t>::LATENCY;
            fn outputs(&self) -> usize {
                1
            }
            fn drive(&mut self, c: &Cycle) {
                self.act.next = c.act.into();
                self.lane.next = c.lane.into();
                self.wgt.next = c.wgt[0].into();
                self.valid_in.next = c.valid;
                self.clear.next = c.clear;
                self.last.next = c.last;
            }
            fn read(&self) -> (bool, Vec<i32>) {
                (self.done.val(), vec![to_i32(self.sum.val())])
            }
        }
    };
}

dut_array!(PeArray16<4>, 16);
dut_array!(PeArray32<4>, 32);
dut_array!(PeArray64<4>, 64);
dut_array!(PeArray32<1>, 32);
dut_pe!(Pe16, 16);
dut_pe!(Pe32, 32);
dut_pe!(Pe64, 64);

/// Runs a schedule, then idles until the pipeline drains; returns the sums at every `done`
/// and the simulated cycles per second.
fn run<D: Dut>(schedule: &[Cycle]) -> (Vec<Vec<i32>>, f64) {
    let mut uut = D::default();
    start(&mut uut);
    let idle = Cycle { wgt: vec![0; uut.outputs()], ..Default::default() };
    let mut got = Vec::new();
    let t = Instant::now();
    let n = schedule.len() + D::LATENCY + 2;
    for c in schedule.iter().chain(std::iter::repeat(&idle)).take(n) {
        uut.drive(c);
        tick(&mut uut);
        let (done, sums) = uut.read();
        if done {
            got.push(sums);
        }
    }
    (got, n as f64 / t.elapsed().as_secs_f64())
}

fn check_random<D: Dut>(seed: u64, p: usize, groups: usize) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (sched, want) = random_groups(&mut rng, D::LANES, p, groups);
    let (got, rate) = run::<D>(&sched);
    assert_eq!(got.len(), want.len(), "one done per group");
    for (g, (a, b)) in got.iter().zip(&want).enumerate() {
        assert_eq!(a, b, "group {g}");
    }
    rate
}

#[test]
fn pe16_random_words() {
    check_random::<Pe16>(7, 1, 60);
}

#[test]
fn array16x4_random_words() {
    check_random::<PeArray16<4>>(8, 4, 80);
}

#[test]
fn pe32_random_words() {
    check_random::<Pe32>(1, 1, 60);
}

#[test]
fn pe64_random_words() {
    check_random::<Pe64>(2, 1, 60);
}

#[test]
fn array32x4_random_words() {
    let rate = check_random::<PeArray32<4>>(3, 4, 80);
    eprintln!("PeArray32<4>: {rate:.0} cycles/s");
}

#[test]
fn array64x4_random_words() {
    let rate = check_random::<PeArray64<4>>(4, 4, 80);
    eprintln!("PeArray64<4>: {rate:.0} cycles/s");
}

#[test]
fn array_of_one_matches_pe() {
    check_random::<PeArray32<1>>(5, 1, 20);
}

/// Extreme sums: every lane valid and matching (or mismatching) over many words.
#[test]
fn saturating_patterns() {
    let words = 36; // 9·Cin with Cin = 256 on 64 lanes
    for (act, wgt, want) in [(0u64, 0u64, 64 * words), (0, u64::MAX, -64 * words)] {
        let sched: Vec<Cycle> = (0..words)
            .map(|k| Cycle { act, lane: u64::MAX, wgt: vec![wgt; 4], valid: true, clear: k == 0, last: k == words - 1 })
            .collect();
        let (got, _) = run::<PeArray64<4>>(&sched);
        assert_eq!(got, vec![vec![want; 4]]);
    }
}

/// A whole binary conv layer, word-serial: for each pixel and output channel group, the taps ×
/// channel chunks go through a P = 4 array, padded taps and the unused lanes of the last chunk
/// masked off, and every sum must equal `bbcu_sim::fixed::popcount_dot`.
fn conv_layer<D: Dut>(seed: u64, cin: usize, cout: usize, h: usize, w: usize) {
    const P: usize = 4;
    let s = D::LANES;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let b = QBinary {
        name: "test".into(),
        cin,
        cout,
        threshold: (0..cin).map(|_| rng.random_range(-200..200)).collect(),
        weight: (0..cout * cin * 9).map(|_| rng.random()).collect(),
        alpha: vec![1; cout],
        shift: 0,
        offset: vec![0; cout],
        slope: vec![0; cout],
        bias1: vec![0; cout],
        upscale: 1,
    };
    let x = Fmap { c: cin, h, w, data: (0..cin * h * w).map(|_| rng.random_range(-300..300)).collect() };
    let bits = binarize(&b, &x);
    let chunks = cin.div_ceil(s);
    let mut sched = Vec::new();
    let mut want: Vec<Vec<i32>> = Vec::new();
    for y in 0..h {
        for xx in 0..w {
            for o0 in (0..cout).step_by(P) {
                let n = 9 * chunks;
                for t in 0..9 {
                    let (ky, kx) = (t / 3, t % 3);
                    let src =
                        (y + ky).checked_sub(1).zip((xx + kx).checked_sub(1)).filter(|(sy, sx)| *sy < h && *sx < w);
                    for c in 0..chunks {
                        let mut cyc = Cycle { wgt: vec![0; P], valid: true, ..Default::default() };
                        let k = t * chunks + c;
                        cyc.clear = k == 0;
                        cyc.last = k == n - 1;
                        for l in 0..s {
                            let i = c * s + l;
                            if i >= cin {
                                continue;
                            }
                            if let Some((sy, sx)) = src {
                                cyc.lane |= 1 << l;
                                cyc.act |= (bits[(i * h + sy) * w + sx] as u64) << l;
                            }
                            for p in 0..P {
                                if o0 + p < cout {
                                    cyc.wgt[p] |= (b.w(o0 + p, i, ky, kx) as u64) << l;
                                }
                            }
                        }
                        sched.push(cyc);
                    }
                }
                want.push(
                    (0..P)
                        .map(|p| if o0 + p < cout { popcount_dot(&b, &bits, h, w, o0 + p, y, xx) } else { 0 })
                        .collect(),
                );
            }
        }
    }
    let (mut got, _) = run::<D>(&sched);
    // Outputs past `cout` saw all-zero weights; only the real channels are checked there.
    for (g, row) in got.iter_mut().enumerate() {
        for (p, v) in row.iter_mut().enumerate() {
            if (g % cout.div_ceil(P)) * P + p >= cout {
                *v = 0;
            }
        }
    }
    assert_eq!(got, want);
}

#[test]
fn conv_layer_matches_golden_popcount_32() {
    // Cin = 80: two full chunks and one with 16 of 32 lanes in use; Cout = 6: a partial group.
    conv_layer::<PeArray32<4>>(6, 80, 6, 3, 4);
}

#[test]
fn conv_layer_matches_golden_popcount_64() {
    conv_layer::<PeArray64<4>>(7, 64, 4, 2, 3);
}
