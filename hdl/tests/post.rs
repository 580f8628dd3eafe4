//! The post-popcount datapath ([`Post`]) against `bbcu_sim::fixed` (`QBinary::post`, then the
//! residual through `sat16`) on seeded random vectors: under rust-hdl's simulator (driven
//! directly, no threads), and its emitted Verilog linted and cross-simulated under Verilator
//! on the same vectors (fpga-notes §3.9).

use bbcu_hdl::post::Post;
use bbcu_hdl::sim::{start, tick};
use bbcu_sim::fixed::{apply_slope, rshift_round, sat16, QBinary, MAX_SHIFT, SLOPE_FRAC};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::*;
mod verilator;
use std::time::Instant;
use verilator::{build_and_run, emit, lint};

/// One cycle at the block's inputs.
#[derive(Clone, Copy, Debug, Default)]
struct In {
    valid: bool,
    a: i16,
    p: i16,
    o: i32,
    s: u32,
    slope: i16,
    b1: i32,
    r: i16,
}

/// The contract, through the golden model: a one-channel `QBinary`, `.post(0, P)`, then
/// `sat16(· + R)` as the BBCU-B/U residual add.
fn golden(v: &In) -> i16 {
    let q = QBinary {
        name: "post".into(),
        cin: 1,
        cout: 1,
        threshold: vec![0],
        weight: vec![true; 9],
        alpha: vec![v.a as i32],
        shift: v.s,
        offset: vec![v.o as i64],
        slope: vec![v.slope],
        bias1: vec![v.b1],
        upscale: 1,
    };
    sat16(q.post(0, v.p as i32) + v.r as i64)
}

/// The intermediate `y` and `z` of the contract, for coverage counting.
fn y_z(v: &In) -> (i16, i16) {
    let y = sat16(rshift_round(v.a as i64 * v.p as i64 + v.o as i64, v.s));
    (y, apply_slope(y, v.slope))
}

const O_LIMIT: i32 = 1 << 30;

fn random_in(rng: &mut ChaCha8Rng) -> In {
    let a = match rng.random_range(0..6) {
        0 => 0,
        1 => i16::MAX,
        2 => rng.random_range(0..64),
        _ => rng.random_range(0..=i16::MAX),
    };
    let p = match rng.random_range(0..7) {
        0 => i16::MAX,
        1 => i16::MIN,
        2 => 0,
        3 => rng.random_range(-576..=576),
        _ => rng.random(),
    };
    let o = match rng.random_range(0..7) {
        0 => O_LIMIT,
        1 => -O_LIMIT,
        2 => 0,
        3 => rng.random_range(-65536..=65536),
        _ => rng.random_range(-O_LIMIT..=O_LIMIT),
    };
    let s = match rng.random_range(0..6) {
        0 => 0,
        1 => MAX_SHIFT,
        2 => 1,
        _ => rng.random_range(0..=MAX_SHIFT),
    };
    let slope = match rng.random_range(0..9) {
        0 => 1 << SLOPE_FRAC,
        1 => 0,
        2 => i16::MAX,
        3 => i16::MIN,
        4 => rng.random_range(0..1 << SLOPE_FRAC),
        5 => rng.random_range((1 << SLOPE_FRAC) + 1..=i16::MAX),
        6 => rng.random_range(i16::MIN..0),
        7 => rng.random_range(-4096..0),
        _ => rng.random(),
    };
    let b1 = match rng.random_range(0..9) {
        0 => 0,
        1 => O_LIMIT,
        2 => -O_LIMIT,
        7 => [i32::MIN, i32::MAX, 1 << 17, (1 << 17) - 1, -(1 << 17), -(1 << 17) - 1][rng.random_range(0..6)],
        8 => rng.random(),
        3 => rng.random_range(-(1 << 20) + 1..1 << 20),
        4 => rng.random_range(-40000..40000),
        5 => rng.random_range(-2000..2000),
        _ => rng.random_range(-O_LIMIT..=O_LIMIT),
    };
    let r = match rng.random_range(0..5) {
        0 => i16::MAX,
        1 => i16::MIN,
        2 => rng.random_range(-2000..2000),
        _ => rng.random(),
    };
    In { valid: rng.random_bool(0.9), a, p, o, s, slope, b1, r }
}

/// Directed cases: rounding ties at both signs, the extremes of every operand, and the
/// largest `A·P + O` with s = 1 (where `v + 2^(s−1)` would be closest to overflowing).
fn directed() -> Vec<In> {
    let mut v = Vec::new();
    let base = In { valid: true, a: 1, p: 0, o: 0, s: 0, slope: 1 << SLOPE_FRAC, b1: 0, r: 0 };
    for s in [0, 1, 2, 12, 23, 24] {
        for o in [-3i32, -2, -1, 0, 1, 2, 3] {
            // v = o · 2^(s−1) ± 0/1: exact ties and their neighbours.
            let half = if s == 0 { 1 } else { 1i32 << (s - 1) };
            for d in [-1, 0, 1] {
                v.push(In { s, o: o * half + d, ..base });
            }
        }
    }
    for (a, p) in [(i16::MAX, i16::MAX), (i16::MAX, i16::MIN), (i16::MAX, -i16::MAX), (0, i16::MIN)] {
        for o in [O_LIMIT, -O_LIMIT, 0] {
            for s in [0, 1, 15, 16, 24] {
                for slope in [i16::MIN, -1, 0, 1, 2048, 2049, 4096, i16::MAX] {
                    for (b1, r) in [
                        (0, 0),
                        (O_LIMIT, i16::MIN),
                        (-O_LIMIT, i16::MAX),
                        (-40000, 7000),
                        (32767, 1),
                        (i32::MAX, i16::MIN),
                        (i32::MIN, i16::MAX),
                        ((1 << 17) - 1, i16::MIN),
                        (1 << 17, i16::MIN),
                        (-(1 << 17), i16::MAX),
                        (-(1 << 17) - 1, i16::MAX),
                        (65535, i16::MIN),
                        (-65536, i16::MAX),
                    ] {
                        v.push(In { a, p, o, s, slope, b1, r, ..base });
                    }
                }
            }
        }
    }
    // The edges of the rounding's shift window for every shift: v = ±2^k and its neighbours
    // for k = s + 14 … s + 16, where `v >> (s − 1)` leaves the 17 bits that can give an
    // unsaturated y (the window's last value, 2^16 − 1, rounds to 2^15 and saturates); v beyond
    // the offset's ±2^30 takes the rest from A·P.
    for s in 0..=31u32 {
        for k in s + 14..=(s + 16).min(30) {
            for v0 in [1i64 << k, -(1i64 << k)] {
                for d in [-1, 0, 1] {
                    let val = v0 + d;
                    let o = val.clamp(-(O_LIMIT as i64), O_LIMIT as i64);
                    v.push(In { s, o: o as i32, p: (val - o) as i16, ..base });
                }
            }
        }
    }
    // y = −1 … −3 times slopes around the rounding point of the Q12 product.
    for o in [-1, -2, -3, -32768] {
        for slope in [-4096, -2049, -2048, -2047, 2047, 2048, 2049, 6143, 6144, 6145] {
            v.push(In { o, slope, ..base });
        }
    }
    v
}

/// The seeded test vectors: the directed cases, then `n` random cycles.
fn vectors(seed: u64, n: usize) -> Vec<In> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut v = directed();
    v.extend((0..n).map(|_| random_in(&mut rng)));
    v
}

/// Expected `(cycle, result)` pairs: a valid input at cycle i (0-based, sampled by the i-th
/// rising edge) is on `result` after edge `i + LATENCY − 1`.
fn expected(v: &[In]) -> Vec<(usize, i16)> {
    v.iter().enumerate().filter(|(_, x)| x.valid).map(|(i, x)| (i + Post::LATENCY - 1, golden(x))).collect()
}

fn to_i16(s: Signed<16>) -> i16 {
    unsigned_cast(s).index() as u16 as i16
}

fn drive(uut: &mut Post, x: &In) {
    uut.valid_in.next = x.valid;
    uut.alpha.next = (x.a as i64).into();
    uut.pop.next = (x.p as i64).into();
    uut.offset.next = (x.o as i64).into();
    uut.shift.next = (x.s as u64).into();
    uut.slope.next = (x.slope as i64).into();
    uut.bias1.next = (x.b1 as i64).into();
    uut.resid.next = (x.r as i64).into();
}

/// Runs the vectors through rust-hdl's simulator; returns `(cycle, result)` at every
/// `valid_out` and the simulated cycles per second.
fn run(v: &[In]) -> (Vec<(usize, i16)>, f64) {
    run_on(Post::default(), v)
}

fn run_on(mut uut: Post, v: &[In]) -> (Vec<(usize, i16)>, f64) {
    start(&mut uut);
    let idle = In::default();
    let n = v.len() + Post::LATENCY + 2;
    let mut got = Vec::new();
    let t = Instant::now();
    for (i, x) in v.iter().chain(std::iter::repeat(&idle)).take(n).enumerate() {
        drive(&mut uut, x);
        tick(&mut uut);
        if uut.valid_out.val() {
            got.push((i, to_i16(uut.result.val())));
        }
    }
    (got, n as f64 / t.elapsed().as_secs_f64())
}

fn check(v: &[In], got: &[(usize, i16)]) {
    let want = expected(v);
    assert_eq!(got.len(), want.len(), "one result per valid input");
    let inputs: Vec<&In> = v.iter().filter(|x| x.valid).collect();
    for (k, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "result {k} (cycle, value) for {:?}", inputs[k]);
    }
}

const SEED: u64 = 0x9057;
const RANDOM: usize = 20_000;

#[test]
fn vectors_cover_the_corners() {
    let v = vectors(SEED, RANDOM);
    let mut c = [0usize; 12];
    for x in v.iter().filter(|x| x.valid) {
        let (y, z) = y_z(x);
        let out = golden(x);
        c[0] += (y == i16::MAX) as usize;
        c[1] += (y == i16::MIN) as usize;
        c[2] += (y < 0 && y > i16::MIN) as usize;
        c[3] += (y < 0 && z == i16::MAX) as usize;
        c[4] += (y < 0 && z == i16::MIN) as usize;
        c[5] += (y < 0 && z > 0 && z < i16::MAX) as usize;
        c[6] += (out == i16::MAX) as usize;
        c[7] += (out == i16::MIN) as usize;
        c[8] += (out > i16::MIN && out < i16::MAX) as usize;
        c[9] += (x.s == 0) as usize;
        c[10] += (x.s == MAX_SHIFT) as usize;
        c[11] += (y < 0 && x.slope > 1 << SLOPE_FRAC && z > i16::MIN) as usize;
    }
    eprintln!(
        "coverage: y sat+ {} sat− {} neg {}; z sat+ {} sat− {} >0 {}; out sat+ {} sat− {} inside {}; \
         s=0 {} s=24 {}; slope>1 unsaturated {}",
        c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11]
    );
    for (k, n) in c.iter().enumerate() {
        assert!(*n >= 20, "corner {k} hit only {n} times");
    }
}

#[test]
fn post_matches_golden() {
    let v = vectors(SEED, RANDOM);
    let (got, rate) = run(&v);
    eprintln!("Post: {} cycles at {rate:.0} cycles/s", v.len());
    check(&v, &got);
}

/// Back-to-back valid inputs with fixed per-layer constants (the common case), no bubbles.
#[test]
fn post_back_to_back_one_channel() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let k = In { valid: true, a: 9000, o: -123_456, s: 14, slope: 1100, b1: 517, ..Default::default() };
    let v: Vec<In> =
        (0..2000).map(|_| In { p: rng.random_range(-576..=576), r: rng.random_range(-9000..9000), ..k }).collect();
    let (got, _) = run(&v);
    check(&v, &got);
}

/// The vectors' valid inputs `LATENCY` cycles apart, as `Post::one_at_a_time` needs them,
/// with random values on every input in the cycles between (which it must ignore).
fn spaced(v: &[In], seed: u64) -> Vec<In> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for x in v.iter().filter(|x| x.valid) {
        out.push(*x);
        for _ in 1..Post::LATENCY {
            out.push(In { valid: false, ..random_in(&mut rng) });
        }
    }
    out
}

#[test]
fn one_at_a_time_matches_golden() {
    let v = spaced(&vectors(SEED, RANDOM / 4), 5);
    let (got, _) = run_on(Post::one_at_a_time(), &v);
    check(&v, &got);
}

// --- Verilog -------------------------------------------------------------------------------

#[test]
fn post_verilog_lints() {
    lint(&emit(Post::default(), "post"), &[]);
    lint(&emit(Post::one_at_a_time(), "post_one"), &[]);
}

/// Reads one cycle per line (`valid alpha pop offset slope bias1 resid shift`, decimal), clocks
/// the model and prints `cycle result` at every `valid_out`.
const TB: &str = r#"
#include "Vtop.h"
#include <cstdio>
#include <cstdint>
int main(int argc, char** argv) {
    Vtop* t = new Vtop;
    FILE* f = fopen(argv[1], "r");
    long long v, a, p, o, sl, b, r, s, cyc = 0;
    t->clock = 0; t->eval();
    while (fscanf(f, "%lld %lld %lld %lld %lld %lld %lld %lld", &v, &a, &p, &o, &sl, &b, &r, &s) == 8) {
        t->valid_in = v; t->alpha = (uint16_t)a; t->pop = (uint16_t)p; t->offset = (uint32_t)o;
        t->slope = (uint16_t)sl; t->bias1 = (uint32_t)b; t->resid = (uint16_t)r; t->shift = s;
        t->eval();
        t->clock = 1; t->eval();
        if (t->valid_out) printf("%lld %d\n", cyc, (int16_t)t->result);
        t->clock = 0; t->eval();
        cyc++;
    }
    delete t;
    return 0;
}
"#;

/// The rust-hdl test's vectors (and more random ones) through the Verilog under Verilator.
#[test]
fn post_verilator_matches_golden() {
    verilator_matches(Post::default(), "post", vectors(SEED, 10 * RANDOM));
}

/// `Post::one_at_a_time` under Verilator, its inputs spaced and garbage between them.
#[test]
fn post_one_at_a_time_verilator_matches_golden() {
    verilator_matches(Post::one_at_a_time(), "post_one", spaced(&vectors(SEED, 2 * RANDOM), 6));
}

fn verilator_matches(uut: Post, name: &str, vecs: Vec<In>) {
    let v = emit(uut, &format!("{name}_xsim"));
    let mut text = String::new();
    for x in vecs.iter().chain(std::iter::repeat_n(&In::default(), Post::LATENCY + 2)) {
        text += &format!("{} {} {} {} {} {} {} {}\n", x.valid as u8, x.a, x.p, x.o, x.slope, x.b1, x.r, x.s);
    }
    let stdout = build_and_run(name, &v, TB, &text);
    let got: Vec<(usize, i16)> = stdout
        .lines()
        .map(|l| {
            let mut it = l.split_whitespace();
            (it.next().unwrap().parse().unwrap(), it.next().unwrap().parse().unwrap())
        })
        .collect();
    check(&vecs, &got);
}
