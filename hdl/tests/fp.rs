//! The full-precision blocks ([`bbcu_hdl::fp`]) against `bbcu_sim::fixed` on seeded random and
//! directed vectors: under rust-hdl's simulator (driven directly, no threads), then each block's
//! emitted Verilog linted (`verilator --lint-only -Wall`, the shared waivers) and cross-simulated
//! under Verilator on the same vectors (fpga-notes §3.9). Two chained tests also run the blocks
//! against whole golden-model functions: `MacLanes` + `ConvPost` against `fixed::conv`, and
//! `OutPixel` (and `OutPixel2`, its two-multiplier form) against `fixed::finish`. `ConvPost` is
//! `ConvRound` then `Slope`, the pair the UP5K's engine chains through its shared slope, so its
//! tests cover both; `InWordB` runs on `OutPixel2`'s lent multiplier, wired as the engine wires
//! them, against `InWord`'s vectors.
//!
//! Every block is exercised through one uniform shape: a cycle is a row of input port values
//! (`i64`, two's complement where signed), an output event is `(cycle, values)`, so one rust-hdl
//! runner and one generated C++ testbench serve all blocks.

use bbcu_hdl::fp::{ConvPost, InWord, InWordB, MacLanes, OutPixel, OutPixel2, RoundSat, Slope};
use bbcu_hdl::sim::{start, tick, Clocked};
use bbcu_sim::fixed::{
    apply_slope, conv, finish, rshift_round, sat16, FixedNetwork, Fmap, QConv, BILINEAR_FRAC, SCALE_FRAC, SLOPE_FRAC,
};
use bbcu_sim::Global;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_hdl::prelude::*;
use std::time::Instant;
mod verilator;
use verilator::{build_and_run, emit, lint};

type Events = Vec<(usize, Vec<i64>)>;

const M48: u64 = (1 << 48) - 1;

fn b48(v: i64) -> Bits<48> {
    bits::<48>(v as u64 & M48)
}

fn from48(b: Bits<48>) -> i64 {
    ((b.to_u64() << 16) as i64) >> 16
}

fn from_s16(s: Signed<16>) -> i64 {
    unsigned_cast(s).index() as u16 as i16 as i64
}

fn s16(v: i64) -> Signed<16> {
    (v as i16 as i64).into()
}

/// Runs `rows` (then idle rows until the pipeline drains) through rust-hdl's simulator; returns
/// the output events and the simulated cycles per second.
fn run_hdl<B: Clocked + Default>(
    rows: &[Vec<i64>],
    latency: usize,
    drive: impl Fn(&mut B, &[i64]),
    read: impl Fn(&B) -> Option<Vec<i64>>,
) -> (Events, f64) {
    let mut uut = B::default();
    start(&mut uut);
    let idle = vec![0; rows[0].len()];
    let n = rows.len() + latency + 2;
    let mut got = Vec::new();
    let t = Instant::now();
    for (i, r) in rows.iter().chain(std::iter::repeat(&idle)).take(n).enumerate() {
        drive(&mut uut, r);
        tick(&mut uut);
        if let Some(v) = read(&uut) {
            got.push((i, v));
        }
    }
    (got, n as f64 / t.elapsed().as_secs_f64())
}

/// A C++ testbench reading one row of decimal inputs per line into the ports `ins`
/// (`(name, width)`, masked to the width: Verilator expects clean high bits), clocking the model,
/// and printing `cycle outs…` whenever `flag` is high (`(name, width, signed)`).
fn testbench(ins: &[(&str, u32)], flag: &str, outs: &[(&str, u32, bool)]) -> String {
    let mut s = String::from(
        "#include \"Vtop.h\"\n#include <cstdio>\n#include <cstdint>\n\
         static long long sx(unsigned long long v, int w) { return (long long)(v << (64 - w)) >> (64 - w); }\n\
         int main(int argc, char** argv) {\n  Vtop* t = new Vtop;\n  FILE* f = fopen(argv[1], \"r\");\n",
    );
    s += &format!("  long long in[{}]; long long cyc = 0;\n  t->clock = 0; t->eval();\n  for (;;) {{\n", ins.len());
    s += &format!(
        "    int ok = 1; for (int i = 0; i < {}; i++) if (fscanf(f, \"%lld\", &in[i]) != 1) {{ ok = 0; break; }}\n    if (!ok) break;\n",
        ins.len()
    );
    for (i, (name, w)) in ins.iter().enumerate() {
        s += &format!("    t->{name} = (unsigned long long)in[{i}] & {:#x}ULL;\n", (1u64 << w) - 1);
    }
    s += "    t->eval();\n    t->clock = 1; t->eval();\n";
    s += &format!("    if (t->{flag}) {{\n      printf(\"%lld\", cyc);\n");
    for (name, w, signed) in outs {
        if *signed {
            s += &format!("      printf(\" %lld\", sx((unsigned long long)t->{name}, {w}));\n");
        } else {
            s += &format!("      printf(\" %llu\", (unsigned long long)t->{name});\n");
        }
    }
    s += "      printf(\"\\n\");\n    }\n    t->clock = 0; t->eval();\n    cyc++;\n  }\n  delete t;\n  return 0;\n}\n";
    s
}

/// Emits and lints the block's Verilog, then runs `rows` through it under Verilator.
fn run_verilator<B: Block>(
    uut: B,
    name: &str,
    ins: &[(&str, u32)],
    flag: &str,
    outs: &[(&str, u32, bool)],
    rows: &[Vec<i64>],
    latency: usize,
) -> Events {
    let v = emit(uut, name);
    lint(&v, &[]);
    let mut text = String::new();
    let idle = vec![0; ins.len()];
    for r in rows.iter().chain(std::iter::repeat_n(&idle, latency + 2)) {
        assert_eq!(r.len(), ins.len());
        text += &r.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" ");
        text += "\n";
    }
    let stdout = build_and_run(name, &v, &testbench(ins, flag, outs), &text);
    stdout
        .lines()
        .map(|l| {
            let mut it = l.split_whitespace().map(|x| x.parse::<i64>().unwrap());
            (it.next().unwrap() as usize, it.collect())
        })
        .collect()
}

/// Expected events of a one-result-per-valid-input block: `(i + latency − 1, want)` for every
/// valid row i (row i is sampled by the i-th rising edge, counted from 0).
fn expected<T>(cases: &[T], latency: usize, valid: impl Fn(&T) -> bool, want: impl Fn(&T) -> Vec<i64>) -> Events {
    cases.iter().enumerate().filter(|(_, c)| valid(c)).map(|(i, c)| (i + latency - 1, want(c))).collect()
}

/// Compares events in order; on a mismatch names the input row that produced the expected one.
fn check(what: &str, got: &Events, want: &Events, rows: &[Vec<i64>], latency: usize) {
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g, w, "{what}: result {k}, input row {:?}", rows.get(w.0 + 1 - latency));
    }
    assert_eq!(got.len(), want.len(), "{what}: number of results");
}

/// A golden network carrying only the scale constants (`input_word`, `output_pixel`, `finish`).
fn scale_net(k_in: i64, k_out: i64, frac: u32, global: Global, ch: usize) -> FixedNetwork {
    FixedNetwork {
        in_ch: ch,
        out_ch: ch,
        frac,
        k_in,
        k_out,
        layers: vec![],
        tail: QConv {
            name: "tail".into(),
            cin: ch,
            cout: ch,
            weight: vec![0; ch * ch * 9],
            shift: 0,
            bias: vec![0; ch],
            slope: None,
        },
        global,
        zero_weights: 0,
    }
}

/// `(k_in, k_out)` as `FixedNetwork::compile` derives them from k.
fn scales(k: f64, frac: u32) -> (i64, i64) {
    ((k * 2f64.powi((frac + SCALE_FRAC) as i32) / 255.0).round() as i64, (255.0 * 65536.0 / k).round() as i64)
}

fn rand_i16(rng: &mut ChaCha8Rng) -> i64 {
    match rng.random_range(0..8) {
        0 => i16::MAX as i64,
        1 => i16::MIN as i64,
        2 => 0,
        3 => -1,
        4 => rng.random_range(-300..300),
        _ => rng.random::<i16>() as i64,
    }
}

fn rand_slope(rng: &mut ChaCha8Rng) -> i64 {
    match rng.random_range(0..9) {
        0 => 1 << SLOPE_FRAC,
        1 => 0,
        2 => i16::MAX as i64,
        3 => i16::MIN as i64,
        4 => rng.random_range(0..1 << SLOPE_FRAC),
        5 => rng.random_range((1 << SLOPE_FRAC) + 1..=i16::MAX as i64),
        6 => rng.random_range(i16::MIN as i64..0),
        7 => 410,
        _ => rng.random::<i16>() as i64,
    }
}

/// A value `v` with `rnd(v, s) = t` (any of the 2^s, clipped to |v| < 2^47).
fn preimage(rng: &mut ChaCha8Rng, t: i64, s: u32) -> i64 {
    let lim = (1i64 << 47) - 1;
    if s == 0 {
        return t.clamp(-lim, lim);
    }
    let lo = t.saturating_mul(1 << s) - (1 << (s - 1));
    let hi = t.saturating_mul(1 << s) + (1 << (s - 1)) - 1;
    if lo > lim {
        lim
    } else if hi < -lim {
        -lim
    } else {
        rng.random_range(lo.max(-lim)..=hi.min(lim))
    }
}

/// Splits v into two 48-bit operands whose sum is v, neither beyond ±2^47.
fn split(rng: &mut ChaCha8Rng, v: i64) -> (i64, i64) {
    let a = v / 2 + rng.random_range(-(1i64 << 45)..(1i64 << 45));
    (a, v - a)
}

/// A shift and a wide `acc + bias` for it, at the corners of the rounding and saturation: ties,
/// the saturation edges, the extremes of ±2^47, and random values.
fn rand_wide(rng: &mut ChaCha8Rng) -> (i64, u32) {
    let s = match rng.random_range(0..6) {
        0 => 0,
        1 => 1,
        2 => 40,
        _ => rng.random_range(0..=40),
    };
    let lim = (1i64 << 47) - 1;
    let v = match rng.random_range(0..8) {
        0 => [lim, -lim, -lim - 1 + 1][rng.random_range(0..3)],
        1 => rng.random_range(-lim..=lim),
        // Ties of the rounding: odd multiples of 2^(s−1), and their neighbours.
        2 if s > 0 => (rng.random_range(-40_000i64..40_000) * 2 + 1) * (1 << (s - 1)) + rng.random_range(-1..=1),
        // Near the saturation points 32767 and −32768 (after the shift).
        3 => {
            let t = [32767, 32768, -32768, -32769][rng.random_range(0..4)];
            preimage(rng, t, s)
        }
        _ => {
            let t = rng.random_range(-70_000..70_000);
            preimage(rng, t, s)
        }
    };
    (v.clamp(-lim, lim), s)
}

// --- Slope -----------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
struct SlopeIn {
    valid: bool,
    v: i64,
    s: i64,
}

fn slope_vectors(seed: u64, n: usize) -> Vec<SlopeIn> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut c = Vec::new();
    for v in [-1, -2, -3, -4097, i16::MIN as i64, 0, 1, i16::MAX as i64] {
        for s in [-4096, -2049, -2048, -2047, 0, 1, 2047, 2048, 2049, 4096, 6143, 6144, 6145, 32767, -32768] {
            c.push(SlopeIn { valid: true, v, s });
        }
    }
    c.extend((0..n).map(|_| SlopeIn { valid: rng.random_bool(0.9), v: rand_i16(&mut rng), s: rand_slope(&mut rng) }));
    c
}

fn slope_rows(c: &[SlopeIn]) -> Vec<Vec<i64>> {
    c.iter().map(|x| vec![x.valid as i64, x.v, x.s]).collect()
}

fn slope_want(c: &[SlopeIn]) -> Events {
    expected(c, Slope::LATENCY, |x| x.valid, |x| vec![apply_slope(x.v as i16, x.s as i16) as i64])
}

fn slope_hdl(rows: &[Vec<i64>]) -> (Events, f64) {
    run_hdl::<Slope>(
        rows,
        Slope::LATENCY,
        |u, r| {
            u.valid_in.next = r[0] != 0;
            u.v.next = s16(r[1]);
            u.s.next = s16(r[2]);
        },
        |u| u.valid_out.val().then(|| vec![from_s16(u.z.val())]),
    )
}

#[test]
fn slope_matches_golden() {
    let c = slope_vectors(1, 20_000);
    let rows = slope_rows(&c);
    let want = slope_want(&c);
    // The vectors reach saturation both ways and slopes beyond ±1.
    let outs: Vec<i64> = want.iter().map(|w| w.1[0]).collect();
    assert!(outs.iter().filter(|&&z| z == 32767).count() > 50 && outs.iter().filter(|&&z| z == -32768).count() > 50);
    let (got, rate) = slope_hdl(&rows);
    eprintln!("Slope: {} cycles at {rate:.0} cycles/s", rows.len());
    check("Slope", &got, &want, &rows, Slope::LATENCY);
}

#[test]
fn slope_verilator_matches_golden() {
    let c = slope_vectors(1, 200_000);
    let rows = slope_rows(&c);
    let got = run_verilator(
        Slope::default(),
        "fp_slope",
        &[("valid_in", 1), ("v", 16), ("s", 16)],
        "valid_out",
        &[("z", 16, true)],
        &rows,
        Slope::LATENCY,
    );
    check("Slope (Verilator)", &got, &slope_want(&c), &rows, Slope::LATENCY);
}

// --- ConvPost --------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
struct ConvIn {
    valid: bool,
    acc: i64,
    bias: i64,
    shift: u32,
    slope: i64,
    en: bool,
}

fn conv_golden(x: &ConvIn) -> i64 {
    let y = sat16(rshift_round(x.acc + x.bias, x.shift));
    (if x.en { apply_slope(y, x.slope as i16) } else { y }) as i64
}

fn conv_vectors(seed: u64, n: usize) -> Vec<ConvIn> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let lim = (1i64 << 47) - 1;
    let mut c = Vec::new();
    for s in [0, 1, 2, 12, 39, 40] {
        for v in [lim, -lim, 0, 1, -1, 32767, -32768, 32768, -32769] {
            for t in [-1, 0, 1] {
                let v = v.saturating_mul(1 << s).saturating_add(t).clamp(-lim, lim);
                for (slope, en) in [(410, true), (-5000, true), (9000, true), (410, false)] {
                    let (acc, bias) = split(&mut rng, v);
                    c.push(ConvIn { valid: true, acc, bias, shift: s, slope, en });
                }
            }
        }
    }
    // The edges of RoundSat's 17-bit shift window for every shift amount the port can carry:
    // v = ±2^k and its neighbours for k = s + 14 … s + 16, where `v >> (s − 1)` leaves the
    // window (its last value, 2^16 − 1, rounds to 2^15 and saturates).
    for s in 0..=63u32 {
        for k in s + 14..=(s + 16).min(46) {
            for v0 in [1i64 << k, -(1i64 << k)] {
                for d in [-1, 0, 1] {
                    let (acc, bias) = split(&mut rng, v0 + d);
                    c.push(ConvIn { valid: true, acc, bias, shift: s, slope: 410, en: false });
                }
            }
        }
    }
    for _ in 0..n {
        let (v, shift) = rand_wide(&mut rng);
        let (acc, bias) = split(&mut rng, v);
        c.push(ConvIn {
            valid: rng.random_bool(0.9),
            acc,
            bias,
            shift,
            slope: rand_slope(&mut rng),
            en: rng.random_bool(0.7),
        });
    }
    c
}

fn conv_rows(c: &[ConvIn]) -> Vec<Vec<i64>> {
    c.iter().map(|x| vec![x.valid as i64, x.acc, x.bias, x.shift as i64, x.slope, x.en as i64]).collect()
}

fn conv_drive(u: &mut ConvPost, r: &[i64]) {
    u.valid_in.next = r[0] != 0;
    u.acc.next = b48(r[1]);
    u.bias.next = b48(r[2]);
    u.shift.next = (r[3] as u64).into();
    u.slope.next = s16(r[4]);
    u.slope_en.next = r[5] != 0;
}

fn conv_read(u: &ConvPost) -> Option<Vec<i64>> {
    u.valid_out.val().then(|| vec![from_s16(u.result.val())])
}

#[test]
fn conv_post_matches_golden() {
    let c = conv_vectors(2, 20_000);
    let rows = conv_rows(&c);
    let want = expected(&c, ConvPost::LATENCY, |x| x.valid, |x| vec![conv_golden(x)]);
    let mut corners = [0usize; 6];
    for x in c.iter().filter(|x| x.valid) {
        let y = sat16(rshift_round(x.acc + x.bias, x.shift));
        let z = conv_golden(x);
        corners[0] += (y == i16::MAX) as usize;
        corners[1] += (y == i16::MIN) as usize;
        corners[2] += (y < 0 && y > i16::MIN && x.en) as usize;
        corners[3] += (x.en && y < 0 && z == 32767) as usize;
        corners[4] += (x.shift == 40) as usize;
        corners[5] += (x.shift == 0 && y > i16::MIN && y < i16::MAX) as usize;
    }
    eprintln!("ConvPost corners {corners:?}");
    assert!(corners.iter().all(|&n| n >= 20), "corners {corners:?}");
    let (got, rate) = run_hdl::<ConvPost>(&rows, ConvPost::LATENCY, conv_drive, conv_read);
    eprintln!("ConvPost: {} cycles at {rate:.0} cycles/s", rows.len());
    check("ConvPost", &got, &want, &rows, ConvPost::LATENCY);
}

#[test]
fn conv_post_verilator_matches_golden() {
    let c = conv_vectors(2, 200_000);
    let rows = conv_rows(&c);
    let got = run_verilator(
        ConvPost::default(),
        "fp_conv_post",
        &[("valid_in", 1), ("acc", 48), ("bias", 48), ("shift", 6), ("slope", 16), ("slope_en", 1)],
        "valid_out",
        &[("result", 16, true)],
        &rows,
        ConvPost::LATENCY,
    );
    let want = expected(&c, ConvPost::LATENCY, |x| x.valid, |x| vec![conv_golden(x)]);
    check("ConvPost (Verilator)", &got, &want, &rows, ConvPost::LATENCY);
}

// --- MacLanes --------------------------------------------------------------------------------

const LANES: usize = 4;

/// Rows `[x, w0..w3, valid, clear, last]`: groups of random length back to back, some with a
/// clear-only start or bubbles carrying garbage, a few long ones at the extremes of the operands;
/// returns the rows and the exact sums per group.
fn mac_schedule(seed: u64, groups: usize) -> (Vec<Vec<i64>>, Vec<Vec<i64>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows = Vec::new();
    let mut sums = Vec::new();
    for g in 0..groups {
        let (len, extreme) = match g % 50 {
            7 => (2304, true), // 9·Cin with Cin = 256: the contract's largest sum
            8 => (1, false),
            _ => (rng.random_range(1..=40), false),
        };
        let clear_first = rng.random_bool(0.15);
        if clear_first {
            rows.push(vec![rng.random::<i16>() as i64, 7, 7, 7, 7, 0, 1, 0]);
        }
        let mut s = [0i64; LANES];
        let sign: [i64; LANES] = std::array::from_fn(|k| if k % 2 == 0 { 1 } else { -1 });
        for i in 0..len {
            let x = if extreme { -32768 } else { rand_i16(&mut rng) };
            let w: [i64; LANES] = std::array::from_fn(|k| {
                if extreme {
                    if sign[k] > 0 {
                        -32768
                    } else {
                        32767
                    }
                } else {
                    rand_i16(&mut rng)
                }
            });
            for k in 0..LANES {
                s[k] += x * w[k];
            }
            let mut r = vec![x];
            r.extend(w);
            r.extend([1, (i == 0 && !clear_first) as i64, (i == len - 1) as i64]);
            rows.push(r);
            if rng.random_bool(0.08) {
                // A bubble: garbage words and flags other than valid must not count.
                rows.push(vec![rng.random::<i16>() as i64, 99, -99, 5, 5, 0, 0, rng.random_bool(0.5) as i64]);
            }
        }
        sums.push(s.to_vec());
    }
    (rows, sums)
}

/// Expected `done` events: the last word of group g at row i completes at `i + LATENCY − 1`.
fn mac_want(rows: &[Vec<i64>], sums: &[Vec<i64>]) -> Events {
    let lasts = rows.iter().enumerate().filter(|(_, r)| r[5] == 1 && r[7] == 1).map(|(i, _)| i);
    lasts.zip(sums).map(|(i, s)| (i + MacLanes::<LANES>::LATENCY - 1, s.clone())).collect()
}

fn mac_hdl(rows: &[Vec<i64>]) -> (Events, f64) {
    run_hdl::<MacLanes<LANES>>(
        rows,
        MacLanes::<LANES>::LATENCY,
        |u, r| {
            u.x.next = s16(r[0]);
            for k in 0..LANES {
                u.w[k].next = s16(r[1 + k]);
            }
            u.valid_in.next = r[5] != 0;
            u.clear.next = r[6] != 0;
            u.last.next = r[7] != 0;
        },
        |u| u.done.val().then(|| u.acc.iter().map(|a| from48(a.val())).collect()),
    )
}

#[test]
fn mac_lanes_match_sums() {
    let (rows, sums) = mac_schedule(3, 200);
    assert!(sums.iter().flatten().any(|&s| s > 1 << 40) && sums.iter().flatten().any(|&s| s < -(1 << 40)));
    let (got, rate) = mac_hdl(&rows);
    eprintln!("MacLanes<{LANES}>: {} cycles at {rate:.0} cycles/s", rows.len());
    check("MacLanes", &got, &mac_want(&rows, &sums), &rows, MacLanes::<LANES>::LATENCY);
}

/// `acc` holds the total after `done` until the next word reaches the accumulator; a clear
/// with `valid_in` low zeroes it.
#[test]
fn mac_lanes_hold_and_clear() {
    let mut u = MacLanes::<1>::default();
    start(&mut u);
    let word = |u: &mut MacLanes<1>, x: i64, w: i64, v: bool, c: bool, l: bool| {
        u.x.next = s16(x);
        u.w[0].next = s16(w);
        u.valid_in.next = v;
        u.clear.next = c;
        u.last.next = l;
        tick(u);
        (from48(u.acc[0].val()), u.done.val())
    };
    word(&mut u, 3, 5, true, true, false);
    word(&mut u, -2, 7, true, false, true);
    // `done` comes LATENCY edges after the last word was sampled.
    for _ in 0..MacLanes::<1>::LATENCY - 2 {
        assert!(!word(&mut u, 0, 0, false, false, false).1);
    }
    assert_eq!(word(&mut u, 0, 0, false, false, false), (1, true));
    for _ in 0..3 {
        assert_eq!(word(&mut u, 1000, 1000, false, false, true), (1, false));
    }
    // The clear reaches the accumulator LATENCY − 1 edges after it is sampled.
    assert_eq!(word(&mut u, 0, 0, false, true, false), (1, false));
    for _ in 0..MacLanes::<1>::LATENCY - 2 {
        assert_eq!(word(&mut u, 0, 0, false, false, false), (1, false));
    }
    assert_eq!(word(&mut u, 0, 0, false, false, false), (0, false));
}

#[test]
fn mac_lanes_verilator_match_sums() {
    let (rows, sums) = mac_schedule(3, 1500);
    let ins = [
        ("x", 16),
        ("w__0240", 16),
        ("w__0241", 16),
        ("w__0242", 16),
        ("w__0243", 16),
        ("valid_in", 1),
        ("clear", 1),
        ("last", 1),
    ];
    let outs = [("acc__0240", 48, true), ("acc__0241", 48, true), ("acc__0242", 48, true), ("acc__0243", 48, true)];
    let got = run_verilator(
        MacLanes::<LANES>::default(),
        "fp_mac_lanes4",
        &ins,
        "done",
        &outs,
        &rows,
        MacLanes::<LANES>::LATENCY,
    );
    check("MacLanes (Verilator)", &got, &mac_want(&rows, &sums), &rows, MacLanes::<LANES>::LATENCY);
}

/// MacLanes + ConvPost against `fixed::conv` on a random layer: one lane per output channel,
/// one word per (valid tap, input channel), the biases added by ConvPost.
#[test]
fn mac_lanes_and_conv_post_match_fixed_conv() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for (cin, h, w, shift, slope) in [(3, 4, 5, 11, Some(410)), (5, 3, 3, 0, None), (2, 1, 6, 24, Some(-3000))] {
        let q = QConv {
            name: "c".into(),
            cin,
            cout: LANES,
            weight: (0..LANES * cin * 9).map(|_| rand_i16(&mut rng) as i16).collect(),
            shift,
            bias: (0..LANES).map(|_| rng.random_range(-(1i64 << 36)..1 << 36)).collect(),
            slope,
        };
        let x = Fmap { c: cin, h, w, data: (0..cin * h * w).map(|_| rand_i16(&mut rng) as i16).collect() };
        let mut rows = Vec::new();
        for y in 0..h {
            for xx in 0..w {
                let taps: Vec<_> = bbcu_sim::network::valid_taps(y, xx, h, w).collect();
                let n = taps.len() * cin;
                let mut k = 0;
                for &(ky, kx, sy, sx) in &taps {
                    for i in 0..cin {
                        let mut r = vec![x.at(i, sy, sx) as i64];
                        r.extend((0..LANES).map(|o| q.w(o, i, ky, kx) as i64));
                        r.extend([1, (k == 0) as i64, (k == n - 1) as i64]);
                        rows.push(r);
                        k += 1;
                    }
                }
            }
        }
        let (accs, _) = mac_hdl(&rows);
        let post: Vec<Vec<i64>> = accs
            .iter()
            .flat_map(|(_, a)| {
                let q = &q;
                a.iter().enumerate().map(move |(o, acc)| {
                    vec![1, *acc, q.bias[o], shift as i64, q.slope.unwrap_or(0) as i64, q.slope.is_some() as i64]
                })
            })
            .collect();
        let (got, _) = run_hdl::<ConvPost>(&post, ConvPost::LATENCY, conv_drive, conv_read);
        let want = conv(&q, &x);
        assert_eq!(got.len(), h * w * LANES);
        for (n, (_, z)) in got.iter().enumerate() {
            let (pix, o) = (n / LANES, n % LANES);
            assert_eq!(z[0], want.at(o, pix / w, pix % w) as i64, "output {o} at pixel {pix}");
        }
    }
}

// --- InWord ----------------------------------------------------------------------------------

fn in_vectors(seed: u64) -> Vec<(bool, i64, i64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // The contract's K_in ≤ 2^24 and the block's exact range below 2^25, every low byte (the
    // byte multiplied in logic) beside a high part, and the byte's extremes with the largest K.
    let mut ks: Vec<i64> = vec![0, 1, 65535, 65536, 1 << 24, (1 << 24) - 1, (1 << 25) - 1, (1 << 24) | 0xFF];
    ks.extend((0..256).map(|b| 0x5A_0000 | b));
    // The scales compile accepts (255·K_in ≤ 32767·2^16) for every F, up to its limit.
    for frac in 0..=12 {
        for k in [1.0, 65.0, 130.0, 255.0, 32767.0 / 8.0 / 2f64.powi(frac), 32767.0 / 2f64.powi(frac)] {
            let k_in = scales(k, frac as u32).0;
            if 255 * k_in <= 32767 << 16 {
                ks.push(k_in);
            }
        }
    }
    ks.extend((0..40).map(|_| rng.random_range(0..=1i64 << 24)));
    ks.extend((0..10).map(|_| rng.random_range(0..1i64 << 25)));
    let mut c = Vec::new();
    for k in ks {
        for p in 0..=255 {
            c.push((rng.random_bool(0.95), p, k));
        }
    }
    c
}

fn in_want(c: &[(bool, i64, i64)]) -> Events {
    expected(
        c,
        InWord::LATENCY,
        |x| x.0,
        |x| vec![scale_net(x.2, 1, 0, Global::SubtractInput, 1).input_word(x.1 as u8) as i64],
    )
}

fn in_rows(c: &[(bool, i64, i64)]) -> Vec<Vec<i64>> {
    c.iter().map(|x| vec![x.0 as i64, x.1, x.2]).collect()
}

/// The input word's rust-hdl run: any block with `InWord`'s ports (a macro because the ports
/// are fields of each type, not a trait).
macro_rules! in_word_hdl {
    ($ty:ty, $latency:expr, $what:expr) => {{
        let c = in_vectors(5);
        let rows = in_rows(&c);
        let (got, rate) = run_hdl::<$ty>(
            &rows,
            $latency,
            |u, r| {
                u.valid_in.next = r[0] != 0;
                u.p.next = (r[1] as u64).into();
                u.k_in.next = (r[2] as u64).into();
            },
            |u| u.valid_out.val().then(|| vec![from_s16(u.x.val())]),
        );
        eprintln!("{}: {} cycles at {rate:.0} cycles/s", $what, rows.len());
        check($what, &got, &in_want(&c), &rows, $latency);
    }};
}

/// The same vectors on a block with `InWord`'s ports under Verilator.
fn in_word_verilator<B: Block>(uut: B, name: &str, what: &str, latency: usize) {
    let c = in_vectors(5);
    let rows = in_rows(&c);
    let got = run_verilator(
        uut,
        name,
        &[("valid_in", 1), ("p", 8), ("k_in", 32)],
        "valid_out",
        &[("x", 16, true)],
        &rows,
        latency,
    );
    check(what, &got, &in_want(&c), &rows, latency);
}

#[test]
fn in_word_matches_golden() {
    in_word_hdl!(InWord, InWord::LATENCY, "InWord");
}

#[test]
fn in_word_verilator_matches_golden() {
    in_word_verilator(InWord::default(), "fp_in_word", "InWord (Verilator)", InWord::LATENCY);
}

/// `InWordB` on `OutPixel2`'s second multiplier, wired as the UP5K's engine wires them (the
/// output pixel idle): `InWord`'s ports.
#[derive(LogicBlock, Default)]
struct InWordOnB {
    clock: Signal<In, Clock>,
    valid_in: Signal<In, Bit>,
    p: Signal<In, Bits<8>>,
    k_in: Signal<In, Bits<32>>,
    x: Signal<Out, Signed<16>>,
    valid_out: Signal<Out, Bit>,
    pixel: Signal<Out, Bits<8>>,
    pixel_valid: Signal<Out, Bit>,
    t: Signal<Out, Signed<16>>,
    t_valid: Signal<Out, Bit>,
    word: InWordB,
    px: OutPixel2,
}

impl Logic for InWordOnB {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, word, px);
        self.word.valid_in.next = self.valid_in.val();
        self.word.p.next = self.p.val();
        self.word.k_in.next = self.k_in.val();
        self.px.valid_in.next = false;
        self.px.acc.next = 0.into();
        self.px.bias.next = 0.into();
        self.px.shift.next = 0.into();
        self.px.subtract.next = false;
        self.px.x00.next = 0.into();
        self.px.x01.next = 0.into();
        self.px.x10.next = 0.into();
        self.px.x11.next = 0.into();
        self.px.a1.next = 0.into();
        self.px.b1.next = 0.into();
        self.px.k_out.next = 0.into();
        self.px.frac.next = 0.into();
        self.px.t_only.next = false;
        self.px.ext_x.next = self.word.mx.val();
        self.px.ext_y.next = self.word.my.val();
        self.px.ext_add.next = self.word.madd.val();
        self.word.mp.next = self.px.ext_p.val();
        self.x.next = self.word.x.val();
        self.valid_out.next = self.word.valid_out.val();
        self.pixel.next = self.px.pixel.val();
        self.pixel_valid.next = self.px.valid_out.val();
        self.t.next = self.px.t.val();
        self.t_valid.next = self.px.t_valid.val();
    }
}

impl Clocked for InWordOnB {
    fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}

#[test]
fn in_word_on_lent_multiplier_matches_golden() {
    in_word_hdl!(InWordOnB, InWordB::LATENCY, "InWordB on OutPixel2");
}

#[test]
fn in_word_on_lent_multiplier_verilator_matches_golden() {
    in_word_verilator(InWordOnB::default(), "fp_in_word_b", "InWordB on OutPixel2 (Verilator)", InWordB::LATENCY);
}

// --- OutPixel --------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
struct OutIn {
    valid: bool,
    acc: i64,
    bias: i64,
    shift: u32,
    sub: bool,
    x: [i64; 4],
    a1: i64,
    b1: i64,
    k_out: i64,
    frac: u32,
}

/// G of `fixed::finish` (its formula, with arbitrary weights).
fn bilinear(x: &OutIn) -> i64 {
    let (a0, b0) = (256 - x.a1, 256 - x.b1);
    let s = a0 * (b0 * x.x[0] + x.b1 * x.x[1]) + x.a1 * (b0 * x.x[2] + x.b1 * x.x[3]);
    rshift_round(s, 2 * BILINEAR_FRAC)
}

fn s_of(x: &OutIn) -> i64 {
    let t = rshift_round(x.acc + x.bias, x.shift);
    if x.sub {
        x.x[0] - t
    } else {
        t + bilinear(x)
    }
}

/// `FixedNetwork::output_pixel`, or its exact i128 form where the model's i64 product would
/// overflow (|S| ≥ 2^39 with k_out = 2^24; the contract never gets there, the hardware is exact
/// there too).
fn pixel_of(s: i64, k_out: i64, frac: u32) -> i64 {
    let sh = SCALE_FRAC + frac;
    match s.checked_mul(k_out).and_then(|p| p.checked_add(1 << (sh - 1))) {
        Some(_) => scale_net(1, k_out, frac, Global::SubtractInput, 1).output_pixel(s) as i64,
        None => ((s as i128 * k_out as i128 + (1i128 << (sh - 1))) >> sh).clamp(0, 255) as i64,
    }
}

fn out_golden(x: &OutIn) -> i64 {
    pixel_of(s_of(x), x.k_out, x.frac)
}

/// `(k_out, frac)`: the default F of a random k, a `--frac` override at the limit of what
/// compile accepts, or the extreme k for a random F.
fn rand_scale(rng: &mut ChaCha8Rng) -> (i64, u32) {
    let frac = rng.random_range(0..=12u32);
    let f = 2f64.powi(frac as i32);
    let k = match rng.random_range(0..4) {
        0 => 255.0 / 256.0,
        1 => 32767.0 / 8.0 / f,
        2 => rng.random_range(255.0 / 256.0..=(32767.0 / 8.0 / f).max(1.0)),
        _ => rng.random_range(255.0 / 256.0..=32767.0 / f),
    };
    let (k_in, k_out) = scales(k, frac);
    assert!(255 * k_in <= 32767 << 16 || k > 32767.0 / f - 1e-3, "k {k} frac {frac}");
    (k_out, frac)
}

/// An input word X = rnd(p·K_in, 16): 0..=32767 for every K_in `FixedNetwork::compile` accepts.
fn rand_x(rng: &mut ChaCha8Rng) -> i64 {
    match rng.random_range(0..6) {
        0 => 0,
        1 => i16::MAX as i64,
        2 => rng.random_range(0..300),
        _ => rng.random_range(0..=i16::MAX as i64),
    }
}

fn out_vectors(seed: u64, n: usize) -> Vec<OutIn> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut c = Vec::new();
    // OutPixel reads k_out and frac where it uses them: a scale holds for a segment, whose
    // last LATENCY inputs are invalid so that its values leave before the next scale.
    let seg = 32 + OutPixel::LATENCY;
    let mut scale = rand_scale(&mut rng);
    for i in 0..n {
        if i % seg == 0 {
            scale = rand_scale(&mut rng);
        }
        let (k_out, frac) = scale;
        let sub = rng.random_bool(0.3);
        // Input words (0..=32767, `OutPixel`'s contract); with `subtract` only x00 is one, the
        // others are don't-care and drawn from all of i16.
        let x: [i64; 4] = std::array::from_fn(|i| if sub && i > 0 { rand_i16(&mut rng) } else { rand_x(&mut rng) });
        let w = |rng: &mut ChaCha8Rng| match rng.random_range(0..6) {
            0 => 0,
            1 => 256,
            2 => [32, 64, 85, 96, 160, 171, 192, 224][rng.random_range(0..8)],
            _ => rng.random_range(0..=256),
        };
        let (a1, b1) = (w(&mut rng), w(&mut rng));
        let valid = rng.random_bool(0.9) && i % seg < seg - OutPixel::LATENCY;
        let mut o = OutIn { valid, acc: 0, bias: 0, shift: 0, sub, x, a1, b1, k_out, frac };
        let base = if sub { x[0] } else { bilinear(&o) };
        // The span of S where the pixel moves: S·k_out/2^(16+F) from 0 to 255.
        let span = ((255i64 << (16 + frac)) / k_out.max(1)).max(1);
        let target_s = match rng.random_range(0..8) {
            0 => rng.random_range(-(1i64 << 40)..(1 << 40)),
            1 => rng.random_range(-100..0),
            2 => rng.random_range(65000..67000),
            3 => [0, 65535, 65536, 32766, 32767, 32768, -1, 1 << 20, -(1 << 20)][rng.random_range(0..9)],
            _ => rng.random_range(-span / 8..span + span / 8),
        };
        let t = if sub { base - target_s } else { target_s - base };
        let (v, shift) = match rng.random_range(0..5) {
            0 => {
                let (v, s) = rand_wide(&mut rng);
                (v, s)
            }
            _ => {
                let max_s = 46 - (64 - (t.unsigned_abs() + 1).leading_zeros()).min(46);
                let s = rng.random_range(0..=max_s.min(40));
                (preimage(&mut rng, t, s), s)
            }
        };
        (o.acc, o.bias) = split(&mut rng, v);
        o.shift = shift;
        c.push(o);
    }
    c
}

/// Appends LATENCY copies of the last row with `valid_in` low: OutPixel reads `k_out` and
/// `frac` where it uses them, so they must hold until the last value is out (the runners'
/// idle rows are all zeros).
fn out_hold(mut rows: Vec<Vec<i64>>) -> Vec<Vec<i64>> {
    let mut last = rows.last().cloned().unwrap_or_default();
    if !last.is_empty() {
        last[0] = 0;
        rows.extend(std::iter::repeat_n(last, OutPixel::LATENCY));
    }
    rows
}

fn out_rows(c: &[OutIn]) -> Vec<Vec<i64>> {
    let rows = c
        .iter()
        .map(|o| {
            vec![
                o.valid as i64,
                o.acc,
                o.bias,
                o.shift as i64,
                o.sub as i64,
                o.x[0],
                o.x[1],
                o.x[2],
                o.x[3],
                o.a1,
                o.b1,
                o.k_out,
                o.frac as i64,
            ]
        })
        .collect();
    out_hold(rows)
}

/// The drive and read functions of an output-pixel block (`OutPixel` and `OutPixel2` share
/// their ports).
macro_rules! out_io {
    ($t:ty, $drive:ident, $read:ident) => {
        fn $drive(u: &mut $t, r: &[i64]) {
            u.valid_in.next = r[0] != 0;
            u.acc.next = b48(r[1]);
            u.bias.next = b48(r[2]);
            u.shift.next = (r[3] as u64).into();
            u.subtract.next = r[4] != 0;
            u.x00.next = s16(r[5]);
            u.x01.next = s16(r[6]);
            u.x10.next = s16(r[7]);
            u.x11.next = s16(r[8]);
            u.a1.next = (r[9] as u64).into();
            u.b1.next = (r[10] as u64).into();
            u.k_out.next = (r[11] as u64).into();
            u.frac.next = (r[12] as u64).into();
        }

        fn $read(u: &$t) -> Option<Vec<i64>> {
            u.valid_out.val().then(|| vec![u.pixel.val().to_u64() as i64])
        }
    };
}
out_io!(OutPixel, out_drive, out_read);
out_io!(OutPixel2, out2_drive, out2_read);

/// `out2_drive` and the lent multiplier's operands from columns 13..=15.
fn out2x_drive(u: &mut OutPixel2, r: &[i64]) {
    out2_drive(u, r);
    u.ext_x.next = (r[13] as u64).into();
    u.ext_y.next = (r[14] as u64).into();
    u.ext_add.next = (r[15] as u64).into();
}

/// Random operands for the lent multiplier beside every row.
fn with_ext(rows: Vec<Vec<i64>>, seed: u64) -> Vec<Vec<i64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rows.into_iter()
        .map(|mut r| {
            r.extend([
                rng.random_range(0..1i64 << 16),
                rng.random_range(0..1i64 << 16),
                rng.random_range(0..1i64 << 32),
            ]);
            r
        })
        .collect()
}

fn out_want(c: &[OutIn]) -> Events {
    expected(c, OutPixel::LATENCY, |x| x.valid, |x| vec![out_golden(x)])
}

/// The clamp of S to [0, 32767] is exact at the extremes of what `FixedNetwork::compile`
/// accepts for every F (the largest k with 255·K_in ≤ 32767·2^16, and the smallest k with
/// K_out ≤ 2^24), and the pixel at S far beyond the clamp is the one at the clamp.
#[test]
fn out_pixel_clamp_is_exact_at_the_extremes() {
    for frac in 0..=12u32 {
        let f = 2f64.powi(frac as i32);
        // Walk k up to the last value compile accepts.
        let mut k = 32767.0 / f;
        while scales(k, frac).0 * 255 <= 32767 << 16 {
            k *= 1.0 + 1e-7;
        }
        while scales(k, frac).0 * 255 > 32767 << 16 {
            k /= 1.0 + 1e-9;
        }
        for k in [k, 32767.0 / 8.0 / f, 255.0 / 256.0, 1.0] {
            let (_, k_out) = scales(k, frac);
            assert!(k_out <= 1 << 24);
            assert!(OutPixel::clamp_is_exact(k_out as u32, frac), "k {k} frac {frac}");
            assert_eq!(pixel_of(32767, k_out, frac), 255);
            for s in [32768, 65535, 65536, 1 << 20, 1 << 39, (1 << 47) + 40_000] {
                assert_eq!(pixel_of(s, k_out, frac), 255);
            }
            for s in [-1, -(1 << 20), -(1 << 47)] {
                assert_eq!(pixel_of(s, k_out, frac), 0);
            }
        }
    }
    // The check can fail: a k_out too small for F.
    assert!(!OutPixel::clamp_is_exact(1000, 12));
}

#[test]
fn out_pixel_matches_golden() {
    let c = out_vectors(6, 20_000);
    let rows = out_rows(&c);
    let want = out_want(&c);
    let mut corners = [0usize; 13];
    for x in c.iter().filter(|x| x.valid) {
        assert!(OutPixel::clamp_is_exact(x.k_out as u32, x.frac));
        let t = rshift_round(x.acc + x.bias, x.shift);
        let (s, p) = (s_of(x), out_golden(x));
        corners[0] += (p == 0) as usize;
        corners[1] += (p == 255) as usize;
        corners[2] += (p > 0 && p < 255) as usize;
        corners[3] += (s < -(1 << 20)) as usize;
        corners[4] += (s > 1 << 20) as usize;
        corners[5] += (x.sub && p > 0 && p < 255) as usize;
        corners[6] += (!x.sub && (x.a1 == 256 || x.b1 == 256) && p > 0 && p < 255) as usize;
        corners[7] += (x.shift == 40 || x.shift == 0) as usize;
        // Where the clamp to 32767 and the saturation of T take over.
        corners[8] += (s > 32767 && s <= 65535) as usize;
        corners[9] += (t > 32767 && x.sub) as usize;
        corners[10] += (t < -32768 && x.sub) as usize;
        corners[11] += (t > 32767 && !x.sub) as usize;
        corners[12] += (t < -32768 && !x.sub) as usize;
    }
    eprintln!("OutPixel corners {corners:?}");
    assert!(corners.iter().all(|&n| n >= 20), "corners {corners:?}");
    let (got, rate) = run_hdl::<OutPixel>(&rows, OutPixel::LATENCY, out_drive, out_read);
    eprintln!("OutPixel: {} cycles at {rate:.0} cycles/s", rows.len());
    check("OutPixel", &got, &want, &rows, OutPixel::LATENCY);
}

/// `OutPixel`'s input ports for the Verilator testbench (`OutPixel2` adds the loan's).
const OUT_INS: &[(&str, u32)] = &[
    ("valid_in", 1),
    ("acc", 48),
    ("bias", 48),
    ("shift", 6),
    ("subtract", 1),
    ("x00", 16),
    ("x01", 16),
    ("x10", 16),
    ("x11", 16),
    ("a1", 9),
    ("b1", 9),
    ("k_out", 32),
    ("frac", 4),
];

#[test]
fn out_pixel_verilator_matches_golden() {
    let c = out_vectors(6, 200_000);
    let rows = out_rows(&c);
    let got = run_verilator(
        OutPixel::default(),
        "fp_out_pixel",
        OUT_INS,
        "valid_out",
        &[("pixel", 8, false)],
        &rows,
        OutPixel::LATENCY,
    );
    check("OutPixel (Verilator)", &got, &out_want(&c), &rows, OutPixel::LATENCY);
}

/// Whole images for the output-pixel blocks against `fixed::finish`, with the real bilinear
/// weights of ×2, ×3 and ×4 (odd sizes, one-pixel images) and the DnCNN subtraction; T is fed as
/// `acc` with `bias = 0, shift = 0`. Each case: its name, one input row per pixel, the bytes.
fn finish_cases() -> Vec<(String, Vec<Vec<i64>>, Vec<u8>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut cases = Vec::new();
    for (global, h, w, k, frac) in [
        (Global::Bilinear(2), 3, 5, 130.0, 4),
        (Global::Bilinear(3), 2, 3, 255.0, 3),
        (Global::Bilinear(4), 1, 1, 130.0, 4),
        (Global::Bilinear(4), 2, 2, 1.0, 12),
        (Global::SubtractInput, 4, 3, 65.0, 5),
    ] {
        let (k_in, k_out) = scales(k, frac);
        let q = scale_net(k_in, k_out, frac, global, 3);
        let xk = Fmap { c: 3, h, w, data: (0..3 * h * w).map(|_| q.input_word(rng.random())).collect() };
        let r = if let Global::Bilinear(r) = global { r } else { 1 };
        let (oh, ow) = (h * r, w * r);
        let span = (255i64 << (16 + frac)) / k_out;
        let tail: Vec<i64> = (0..3 * oh * ow).map(|_| rng.random_range(-span / 2..span / 2)).collect();
        let want = finish(&q, &xk, &tail, oh, ow);
        let mut rows = Vec::new();
        let wy = bbcu_sim::fixed::bilinear_weights(h, r);
        let wx = bbcu_sim::fixed::bilinear_weights(w, r);
        for ch in 0..3 {
            for y in 0..oh {
                for x in 0..ow {
                    let t = tail[(ch * oh + y) * ow + x];
                    let row = match global {
                        Global::Bilinear(_) => {
                            let ((y0, y1, _, a1), (x0, x1, _, b1)) = (wy[y], wx[x]);
                            let px = |yy, xx| xk.at(ch, yy, xx) as i64;
                            vec![1, t, 0, 0, 0, px(y0, x0), px(y0, x1), px(y1, x0), px(y1, x1), a1, b1]
                        }
                        Global::SubtractInput => vec![1, t, 0, 0, 1, xk.at(ch, y, x) as i64, 5, -5, 77, 3, 200],
                    };
                    rows.push([row, vec![k_out, frac as i64]].concat());
                }
            }
        }
        cases.push((format!("{global:?} {h}×{w}"), rows, want.data));
    }
    cases
}

#[test]
fn out_pixel_matches_fixed_finish() {
    for (name, rows, want) in finish_cases() {
        let rows = out_hold(rows);
        let (got, _) = run_hdl::<OutPixel>(&rows, OutPixel::LATENCY, out_drive, out_read);
        let got: Vec<u8> = got.iter().map(|(_, p)| p[0] as u8).collect();
        assert_eq!(got, want, "{name}");
        assert!(got.iter().any(|&p| p > 0 && p < 255));
    }
}

// --- OutPixel2 -------------------------------------------------------------------------------

/// `c`'s valid values with `gap(rng)` cycles from one to the next (where the scale changes, the
/// old one holds for LATENCY cycles first); the rows between are invalid and carry other
/// vectors' data, which must not disturb the values in flight.
fn out_spaced(c: &[OutIn], seed: u64, gap: impl Fn(&mut ChaCha8Rng) -> usize) -> Vec<OutIn> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut s: Vec<OutIn> = Vec::new();
    for v in c.iter().filter(|x| x.valid) {
        if let Some(&p) = s.last() {
            let n = if (p.k_out, p.frac) != (v.k_out, v.frac) { OutPixel2::LATENCY } else { gap(&mut rng) - 1 };
            for _ in 0..n {
                let mut f = c[rng.random_range(0..c.len())];
                (f.valid, f.k_out, f.frac) = (false, p.k_out, p.frac);
                s.push(f);
            }
        }
        s.push(*v);
    }
    s
}

/// Mostly the closest legal spacing (4), and every larger one up to 16.
fn legal_gap(rng: &mut ChaCha8Rng) -> usize {
    match rng.random_range(0..8) {
        0..=3 => OutPixel2::SPACING,
        4 => 5,
        5 => 6,
        6 => 7,
        _ => rng.random_range(8..=16),
    }
}

#[test]
fn out_pixel2_matches_golden() {
    let c = out_spaced(&out_vectors(6, 20_000), 11, legal_gap);
    let rows = out_rows(&c);
    let want = out_want(&c);
    // The spacings met, and the same corners as OutPixel's test.
    let starts: Vec<usize> = c.iter().enumerate().filter(|(_, x)| x.valid).map(|(i, _)| i).collect();
    let gaps: Vec<usize> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    for g in 4..=7 {
        assert!(gaps.iter().filter(|&&x| x == g).count() >= 200, "gap {g}");
    }
    assert!(gaps.iter().all(|&g| g >= OutPixel2::SPACING) && gaps.iter().any(|&g| g >= 12));
    let mut corners = [0usize; 6];
    for x in c.iter().filter(|x| x.valid) {
        let t = rshift_round(x.acc + x.bias, x.shift);
        let p = out_golden(x);
        corners[0] += (p == 0) as usize;
        corners[1] += (p == 255) as usize;
        corners[2] += (x.sub && p > 0 && p < 255) as usize;
        corners[3] += (!x.sub && (x.a1 == 256 || x.b1 == 256) && p > 0 && p < 255) as usize;
        corners[4] += !(-32768..=32767).contains(&t) as usize;
        corners[5] += (x.shift == 40 || x.shift == 0) as usize;
    }
    assert!(corners.iter().all(|&n| n >= 20), "corners {corners:?}");
    let (got, _) = run_hdl::<OutPixel2>(&rows, OutPixel2::LATENCY, out2_drive, out2_read);
    check("OutPixel2", &got, &want, &rows, OutPixel2::LATENCY);
}

/// The spacing is a requirement: values 3 cycles apart share multiplier A's cycles and come out
/// wrong.
#[test]
fn out_pixel2_fails_closer_than_its_spacing() {
    let c = out_spaced(&out_vectors(8, 2_000), 12, |_| OutPixel2::SPACING - 1);
    let rows = out_rows(&c);
    let (got, _) = run_hdl::<OutPixel2>(&rows, OutPixel2::LATENCY, out2_drive, out2_read);
    let want = out_want(&c);
    assert_eq!(got.len(), want.len());
    assert!(got.iter().zip(&want).filter(|(g, w)| g != w).count() > want.len() / 10);
}

/// Multiplier B is lent in every cycle but a value's 7th and 8th (its result a cycle later),
/// and what goes through it then disturbs no value.
#[test]
fn out_pixel2_lends_its_second_multiplier() {
    let c = out_spaced(&out_vectors(10, 5_000), 14, legal_gap);
    let rows = with_ext(out_rows(&c), 15);
    let mut uut = OutPixel2::default();
    start(&mut uut);
    let (mut got, mut lent) = (Vec::new(), 0);
    for (i, r) in rows.iter().enumerate() {
        out2x_drive(&mut uut, r);
        tick(&mut uut);
        if let Some(v) = out2_read(&uut) {
            got.push((i, v));
        }
        if ![7, 8].iter().any(|&k| i >= k && rows[i - k][0] != 0) {
            let want = ((r[13] * r[14] + r[15]) as u64 >> 8) & 0xFFFF;
            assert_eq!(uut.ext_p.val().to_u64(), want, "cycle {i}");
            lent += 1;
        }
    }
    assert!(lent > rows.len() / 3, "{lent} of {}", rows.len());
    check("OutPixel2 lending", &got, &out_want(&c), &rows, OutPixel2::LATENCY);
}

#[test]
fn out_pixel2_verilator_matches_golden() {
    let c = out_spaced(&out_vectors(9, 100_000), 13, legal_gap);
    let rows = with_ext(out_rows(&c), 16);
    let ins = [OUT_INS, &[("ext_x", 16), ("ext_y", 16), ("ext_add", 32)]].concat();
    let got = run_verilator(
        OutPixel2::default(),
        "fp_out_pixel2",
        &ins,
        "valid_out",
        &[("pixel", 8, false)],
        &rows,
        OutPixel2::LATENCY,
    );
    check("OutPixel2 (Verilator)", &got, &out_want(&c), &rows, OutPixel2::LATENCY);
}

/// `OutPixel2`'s rounding lent to a full-precision conv (`t_only`): `t` is the conv post's
/// rounding (`ConvPost`'s vectors, one a cycle, the window's edges for every shift), and no
/// pixel comes out.
fn t_only_drive(u: &mut OutPixel2, r: &[i64]) {
    u.t_only.next = r[0] != 0;
    u.acc.next = b48(r[1]);
    u.bias.next = b48(r[2]);
    u.shift.next = (r[3] as u64).into();
}

fn t_only_read(u: &OutPixel2) -> Option<Vec<i64>> {
    assert!(!u.valid_out.val(), "a pixel from a rounding-only value");
    u.t_valid.val().then(|| vec![from_s16(u.t.val())])
}

fn t_only_want(c: &[ConvIn]) -> Events {
    expected(c, RoundSat::LATENCY, |x| x.valid, |x| vec![sat16(rshift_round(x.acc + x.bias, x.shift)) as i64])
}

#[test]
fn out_pixel2_rounds_for_a_conv() {
    let c = conv_vectors(21, 20_000);
    let rows: Vec<_> = c.iter().map(|x| vec![x.valid as i64, x.acc, x.bias, x.shift as i64]).collect();
    let (got, _) = run_hdl::<OutPixel2>(&rows, RoundSat::LATENCY, t_only_drive, t_only_read);
    let want = t_only_want(&c);
    assert_eq!(got.len(), want.len());
    check("OutPixel2 t_only", &got, &want, &rows, RoundSat::LATENCY);
}

#[test]
fn out_pixel2_rounds_for_a_conv_verilator() {
    let c = conv_vectors(22, 100_000);
    let rows: Vec<_> = c.iter().map(|x| vec![x.valid as i64, x.acc, x.bias, x.shift as i64]).collect();
    let got = run_verilator(
        OutPixel2::default(),
        "fp_out_pixel2_t",
        &[("t_only", 1), ("acc", 48), ("bias", 48), ("shift", 6)],
        "t_valid",
        &[("t", 16, true)],
        &rows,
        RoundSat::LATENCY,
    );
    let want = t_only_want(&c);
    assert_eq!(got.len(), want.len());
    check("OutPixel2 t_only (Verilator)", &got, &want, &rows, RoundSat::LATENCY);
}

/// Whole images as the UP5K's engine feeds them: one pixel every 4 cycles.
#[test]
fn out_pixel2_matches_fixed_finish() {
    for (name, rows, want) in finish_cases() {
        let mut spaced = Vec::new();
        for r in rows {
            let mut idle = r.clone();
            idle[0] = 0;
            spaced.push(r);
            spaced.extend(std::iter::repeat_n(idle, OutPixel2::SPACING - 1));
        }
        let rows = out_hold(spaced);
        let (got, _) = run_hdl::<OutPixel2>(&rows, OutPixel2::LATENCY, out2_drive, out2_read);
        let got: Vec<u8> = got.iter().map(|(_, p)| p[0] as u8).collect();
        assert_eq!(got, want, "{name}");
    }
}
