//! The control core ([`bbcu_hdl::ctl::Ctl`]) against its instruction-level model
//! ([`bbcu_arch::ctl::Cpu`]), cycle for cycle: random programs (every 16-bit word is an
//! instruction, so random words exercise every operation, branch and port strobe), then a
//! firmware-style program; the same programs' emitted Verilog under Verilator.
//!
//! What is compared each cycle: the accumulator on `pout` at every execute cycle (`exec`: so
//! every instruction's effect on A shows, and C through `adc`, `rrc`, branches, and the cycle
//! each instruction executes in, which `lpm` moves), and every port strobe with its port and
//! value.

use bbcu_arch::ctl::{Alu, Asm, Cpu, Io, Shift};
use bbcu_hdl::ctl::Ctl;
use bbcu_hdl::sim::{settle, start, tick};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
mod verilator;
use verilator::{build_and_run, emit, lint};

/// Program address bits of the random programs: 256 words, so random branches land inside.
const PA: usize = 8;

/// What the test drives on `pin` in cycle `k` (the model gets the same at an `in`'s execute
/// cycle); the harness computes it the same way.
fn pin(k: u64) -> u16 {
    ((k as u32).wrapping_mul(0x9E37_79B9) >> 13) as u16
}

/// One observation: `A` at an execute cycle, or a strobe.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Ev {
    A(u64, u16),
    Rd(u64, u8, u16),
    Wr(u64, u8, u16),
}

fn model(rom: &[u16], cycles: u64) -> Vec<Ev> {
    model_at(rom, cycles, 0, pin)
}

/// The model of a thread whose first fetch comes `late` cycles after a lone core's, reading
/// `pin`.
fn model_at(rom: &[u16], cycles: u64, late: u64, pin: fn(u64) -> u16) -> Vec<Ev> {
    let mut cpu = Cpu::new(PA as u32);
    cpu.cycles += late;
    let mut ev = Vec::new();
    while cpu.cycles + 2 <= cycles {
        let k = cpu.cycles + 1;
        ev.push(Ev::A(k, cpu.a));
        let a = cpu.a;
        cpu.step(rom, &mut |io| match io {
            Io::In(p) => {
                ev.push(Ev::Rd(k, p, pin(k)));
                pin(k)
            }
            Io::Out(p, v) => {
                assert_eq!(v, a);
                ev.push(Ev::Wr(k, p, v));
                0
            }
        });
    }
    ev
}

fn rust_hdl(rom: &[u16], cycles: u64) -> Vec<Ev> {
    let [t0, t1] = run_core(Ctl::<PA>::new(rom), cycles);
    assert!(t1.is_empty(), "thread 1 of a one-program core acted: {:?}", &t1[..t1.len().min(4)]);
    t0
}

/// What thread 1 reads on its `pin`: not thread 0's, so that a mix-up shows.
fn pin1(k: u64) -> u16 {
    pin(k) ^ 0x5A5A
}

/// Each thread's events.
fn run_core(core: Ctl<PA>, cycles: u64) -> [Vec<Ev>; 2] {
    let mut c = Box::new(core);
    start(c.as_mut());
    let mut ev = [Vec::new(), Vec::new()];
    for k in 0..cycles {
        c.pin[0].next = (pin(k) as u64).into();
        c.pin[1].next = (pin1(k) as u64).into();
        settle(c.as_mut());
        let (port, pout) = (c.port.val().index() as u8, c.pout.val().index() as u16);
        let t = c.xth.val() as usize;
        let pk = [pin(k), pin1(k)][t];
        if c.exec.val() {
            ev[t].push(Ev::A(k, pout));
        }
        for u in 0..2 {
            assert!(u == t || !(c.prd[u].val() || c.pwr[u].val()), "cycle {k}: thread {u}'s strobe while {t} executes");
        }
        if c.prd[t].val() {
            ev[t].push(Ev::Rd(k, port, pk));
        }
        if c.pwr[t].val() {
            ev[t].push(Ev::Wr(k, port, pout));
        }
        tick(c.as_mut());
    }
    ev
}

/// Thread `t`'s events in the testbench's output.
fn parse(out: &str, t: usize) -> Vec<Ev> {
    let tag = format!("{t} ");
    out.lines()
        .filter_map(|l| l.strip_prefix(&tag))
        .map(|l| {
            let f: Vec<u64> = l.split_whitespace().skip(1).map(|x| x.parse().unwrap()).collect();
            match l.as_bytes()[0] {
                b'A' => Ev::A(f[0], f[1] as u16),
                b'R' => Ev::Rd(f[0], f[1] as u8, f[2] as u16),
                _ => Ev::Wr(f[0], f[1] as u8, f[2] as u16),
            }
        })
        .collect()
}

/// Random instruction words, with every branch and call sent 1–8 words forward (and the last
/// word a jump to 0), no `ret`, and each `jpa` to a changing address, so that the program keeps moving through all of itself
/// instead of settling in a two-word loop; `call` still sets the link register, and
/// [`firmware_like`] returns through it.
fn random_program(seed: u64) -> Vec<u16> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = 1usize << PA;
    let mut rom: Vec<u16> = (0..n)
        .map(|i| {
            let w: u16 = rng.random();
            match w >> 12 {
                8..=13 => (w & 0xF000) | ((i + rng.random_range(1..=8)) % n) as u16,
                14 => w & 0x0FFF,
                _ => w,
            }
        })
        .collect();
    // A `jpa` goes where A says, which a fixed A (an `ldi`, an `lra`) would make a loop: each
    // sits at an address 1 mod 4 after `in`, `alui.or 3`, so that it lands on a new `in` or
    // elsewhere, never on itself or the `or`.
    for i in 0..n - 1 {
        if rom[i] >> 8 == 0xF6 {
            if i % 4 == 1 && i > 1 {
                rom[i - 2] = 0x5000 | (rom[i - 2] & 0xFF);
                rom[i - 1] = 0x3503;
            } else {
                rom[i] = 0xF700;
            }
        }
    }
    rom[n - 1] = 0x8000;
    rom
}

/// A program in the style firmware is written: a 32-bit counter in two registers, a loop
/// that reads a port until a bit is set, a subroutine that calls another (saving its link with
/// `lra`, returning with `jpa`), an inline argument after a call read with `lra` and `lpm`, a
/// byte split with `hi`/`lo`, a table read with `lpm`.
fn firmware_like() -> Vec<u16> {
    let mut a = Asm::new();
    a.li(0xFFF0).st(10).li(0).st(11);
    a.label("top").inp(3).alui(Alu::Test, 0x40).jnc("top");
    a.call("count").ld(11).out(5).ld(10).sh(Shift::Hi).out(6).ld(10).sh(Shift::Lo).out(7);
    a.ld(10).alu(Alu::Cmp, 12).jc("top").sh(Shift::Rrc).st(12).jmp("top");
    a.label("count").lra().st(20).ld(10).alui(Alu::Add, 3).st(10).ld(11).alui(Alu::Adc, 0).st(11);
    a.call("table").data(&[0xF0]).ld(22).out(8).ld(20).jpa();
    // A word from a table in the program memory (its address the word after the call),
    // indexed by the count's low bits; back past the argument.
    a.label("table").lra().lpm().st(21).ld(10).alui(Alu::And, 3).alu(Alu::Add, 21).lpm().st(22);
    a.lra().alui(Alu::Add, 1).jpa();
    let mut rom = a.finish(PA as u32).unwrap();
    rom.resize(0xF0, 0);
    rom.extend([0x1111, 0x2222, 0x4444, 0x8888]);
    rom
}

/// What an instruction exercises, for the coverage check: its class and the carry it found
/// (ALU and shift classes), or whether it branched (conditional branches); for `lra`, whether
/// a `call` had set the link, and for `jpa`, whether it went elsewhere than the next word.
fn coverage_key(w: u16, cpu: &Cpu) -> Option<(u16, u16, bool)> {
    let (op, x) = (w >> 12, w >> 8 & 15);
    match op {
        2 | 3 if x < 12 => Some((op, x, cpu.c)),
        4 => Some((op, x & 1, false)),
        15 if x == 5 => Some((op, x, cpu.lr != 0)),
        15 if x == 6 => Some((op, x, cpu.a & ((1 << PA) - 1) != cpu.pc + 1)),
        15 => Some((op, x.min(7), false)),
        7 => Some((op, x & 7, cpu.c)),
        9 => Some((op, 0, cpu.a == 0)),
        10 => Some((op, 0, cpu.a != 0)),
        11 => Some((op, 0, cpu.c)),
        12 => Some((op, 0, !cpu.c)),
        _ => Some((op, 0, false)),
    }
}

#[test]
fn random_programs_match_the_model_cycle_for_cycle() {
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..120 {
        let rom = random_program(seed);
        let want = model(&rom, 4000);
        let got = rust_hdl(&rom, 4000);
        let writes = want.iter().filter(|e| matches!(e, Ev::Wr(..))).count();
        assert!(writes > 20, "seed {seed}: only {writes} port writes: the program got stuck");
        if let Some(i) = (0..want.len().min(got.len())).find(|&i| want[i] != got[i]) {
            panic!("seed {seed}: first difference at event {i}: model {:?}, rust-hdl {:?}", want[i], got[i]);
        }
        assert_eq!(want.len(), got.len(), "seed {seed}");
        let mut cpu = Cpu::new(PA as u32);
        while cpu.cycles < 4000 {
            seen.extend(coverage_key(rom[cpu.pc as usize], &cpu));
            cpu.step(&rom, &mut |_| 0);
        }
    }
    // Every ALU and shift operation met with C clear and set, every conditional branch taken
    // and not taken, `lra` after a call and `jpa` jumping, and every other class executed.
    let mut missing = Vec::new();
    for op in 0..16u16 {
        let xs: Vec<u16> = match op {
            2 | 3 => (0..12).collect(),
            4 => vec![0, 1],
            15 => (0..8).collect(),
            7 => (0..8).collect(),
            _ => vec![0],
        };
        let flags: &[bool] = if matches!(op, 2 | 3 | 7 | 9..=12) { &[false, true] } else { &[false] };
        for x in xs {
            let flags = if op == 15 && (x == 5 || x == 6) { &[true] } else { flags };
            for &f in flags {
                if op != 14 && !seen.contains(&(op, x, f)) {
                    missing.push((op, x, f));
                }
            }
        }
    }
    assert!(missing.is_empty(), "not exercised (op, x, carry or taken): {missing:?}");
}

/// Two programs on the core's two threads: each thread against its own model (thread 1 one
/// cycle later, reading its own `pin`), so neither disturbs the other's registers, flags,
/// link, index, `lpm` or strobes.
#[test]
fn two_threads_each_match_the_model() {
    let mut moving = 0;
    for seed in 0..40 {
        let (p0, p1) = (random_program(200 + seed), random_program(300 + seed));
        let [g0, g1] = run_core(Ctl::<PA>::dual(&p0, &p1), 4000);
        for (t, (got, want)) in
            [(g0, model_at(&p0, 4000, 0, pin)), (g1, model_at(&p1, 4000, 1, pin1))].into_iter().enumerate()
        {
            // (A random program can still settle in a loop; the count below bounds those.)
            moving += (want.iter().filter(|e| matches!(e, Ev::Wr(..))).count() > 20) as usize;
            if let Some(i) = (0..want.len().min(got.len())).find(|&i| want[i] != got[i]) {
                panic!(
                    "seed {seed} thread {t}: first difference at event {i}: model {:?}, rust-hdl {:?}",
                    want[i], got[i]
                );
            }
            assert_eq!(want.len(), got.len(), "seed {seed} thread {t}");
        }
    }
    assert!(moving >= 70, "only {moving} of 80 threads kept moving");
    // The firmware-style program (nested calls, `lpm` tables) beside a random one.
    let (p0, p1) = (random_program(7), firmware_like());
    let [g0, g1] = run_core(Ctl::<PA>::dual(&p0, &p1), 4000);
    assert_eq!(g0, model_at(&p0, 4000, 0, pin));
    assert_eq!(g1, model_at(&p1, 4000, 1, pin1));
}

#[test]
fn firmware_style_program_matches_the_model() {
    let rom = firmware_like();
    let want = model(&rom, 4000);
    assert!(want.iter().filter(|e| matches!(e, Ev::Wr(_, 5, _))).count() > 10, "the loop ran");
    let table: std::collections::BTreeSet<u16> =
        want.iter().filter_map(|e| if let Ev::Wr(_, 8, v) = e { Some(*v) } else { None }).collect();
    assert!(
        table.len() >= 2 && table.iter().all(|v| [0x1111, 0x2222, 0x4444, 0x8888].contains(v)),
        "table words read: {table:?}"
    );
    assert_eq!(rust_hdl(&rom, 4000), want);
}

#[test]
fn verilog_lints_and_matches_rust_hdl() {
    let rom = firmware_like();
    // rust-hdl declares the state enum's values in the register module that only passes
    // the state through (as for the engine's `Phase`).
    let vlt = verilator::out_dir().join("ctl.vlt");
    std::fs::write(
        &vlt,
        "`verilator_config\nlint_off -rule UNUSEDPARAM -file \"*\" -match \"*Parameter is not used: 'Cs$*\"\n",
    )
    .unwrap();
    lint(&emit(Ctl::<PA>::new(&rom), "ctl"), &[vlt]);
    for (name, rom) in [("fw", rom), ("r0", random_program(100)), ("r1", random_program(101))] {
        let v = emit(Ctl::<PA>::new(&rom), &format!("ctl_{name}"));
        let out = build_and_run(&format!("ctl_{name}"), &v, TB, "8000\n");
        assert!(parse(&out, 1).is_empty(), "{name}: thread 1 of a one-program core acted");
        let got = parse(&out, 0);
        assert_eq!(got, rust_hdl(&rom, 8000), "{name}: Verilator vs rust-hdl");
        assert_eq!(got, model(&rom, 8000), "{name}: Verilator vs the model");
    }
}

/// Reads the cycle count; prints what [`run_core`] records, one event a line, each tagged with
/// its thread.
const TB: &str = r#"
#include "Vtop.h"
#include <cstdio>
#include <cstdint>
int main(int argc, char** argv) {
    Vtop* t = new Vtop;
    FILE* f = fopen(argv[1], "r");
    unsigned long long n;
    if (fscanf(f, "%llu", &n) != 1) return 2;
    t->clock = 0; t->eval();
    for (unsigned long long k = 0; k < n; k++) {
        uint16_t pin = (uint16_t)(((uint32_t)k * 0x9E3779B9u) >> 13);
        uint16_t p1 = (uint16_t)(pin ^ 0x5A5A);
        t->pin__0240 = pin; t->pin__0241 = p1; t->eval();
        unsigned x = t->xth;
        if (t->exec) printf("%u A %llu %u\n", x, k, (unsigned)t->pout);
        if (t->prd__0240) printf("0 R %llu %u %u\n", k, (unsigned)t->port, (unsigned)pin);
        if (t->pwr__0240) printf("0 W %llu %u %u\n", k, (unsigned)t->port, (unsigned)t->pout);
        if (t->prd__0241) printf("1 R %llu %u %u\n", k, (unsigned)t->port, (unsigned)p1);
        if (t->pwr__0241) printf("1 W %llu %u %u\n", k, (unsigned)t->port, (unsigned)t->pout);
        t->clock = 1; t->eval();
        t->clock = 0; t->eval();
    }
    delete t;
    return 0;
}
"#;

/// The two-thread core's Verilog under Verilator: each thread's events equal its model's.
#[test]
fn two_threads_verilog_match_the_model() {
    let (p0, p1) = (random_program(402), firmware_like());
    let out = build_and_run("ctl_dual", &emit(Ctl::<PA>::dual(&p0, &p1), "ctl_dual"), TB, "8000\n");
    for (t, (rom, pin)) in [(&p0, pin as fn(u64) -> u16), (&p1, pin1)].into_iter().enumerate() {
        assert_eq!(parse(&out, t), model_at(rom, 8000, t as u64, pin), "thread {t}");
    }
}

/// Writes a 1 Ki-word core's Verilog (random firmware, so that no memory word is constant)
/// for a size and speed estimate: `cargo test -p bbcu-hdl --test ctl -- --ignored ctl_verilog`,
/// then `yosys -p 'read_verilog -DBBCU_NO_RW_CHECK target/tmp/ctl-1k.v; synth_ice40 -dsp -top top
/// -json ctl.json'` (the define as the iCE40 flow sets it) and nextpnr-ice40 for the UP5K, with
/// the ports behind a serial wrapper (the sg48 package has too few pins): figures in
/// docs/architecture.md.
#[test]
#[ignore]
fn ctl_verilog() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let rom: Vec<u16> = (0..1024).map(|_| rng.random()).collect();
    let mut c = Ctl::<10>::new(&rom);
    rust_hdl::prelude::Block::connect_all(&mut c);
    std::fs::write(concat!(env!("CARGO_TARGET_TMPDIR"), "/ctl-1k.v"), rust_hdl::prelude::generate_verilog(&c)).unwrap();
}
