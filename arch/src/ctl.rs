//! The control core: a small 16-bit processor for the control logic of boards whose logic
//! cells are too few for hand-built state machines (the iCE40 budget in
//! `docs/architecture.md`). Its registers live in one block RAM and its program in others, so
//! a protocol or a sequencer becomes firmware instead of a hundred flip-flop registers and
//! their multiplexers; the data streams beside it stay in hardware.
//!
//! This module is the definition: the instruction set ([`Op`], [`Alu`], [`Shift`]), an
//! assembler ([`Asm`]) and the instruction-level model ([`Cpu`]) that the Rust-HDL core
//! (`bbcu_hdl::ctl`) is checked against cycle for cycle.
//!
//! **Machine.** An accumulator `A` (16 bits), a carry `C`, an index `X` (8 bits), a program
//! counter and a link register of the program memory's address width, 256 registers `R\[0..256\]` of 16 bits, and
//! 256 I/O ports. Every 16-bit word is an instruction `op[15:12] x[11:8] n[7:0]`:
//!
//! | op | name | effect |
//! |---|---|---|
//! | 0 | `ld n` | A ← R\[n\] |
//! | 1 | `st n` | R\[n\] ← A |
//! | 2 | `alu.x n` | A, C ← A `x` R\[n\] ([`Alu`]) |
//! | 3 | `alui.x n` | A, C ← A `x` n (zero-extended) |
//! | 4 | `ldi n` / `ldh n` | x bit 0 clear: A ← n; set: A\[15:8\] ← n |
//! | 5 | `in n` | A ← port n (a read strobe, so a port can pop a FIFO) |
//! | 6 | `out n` | port n ← A (a write strobe) |
//! | 7 | `sh.x` | a shift or byte operation on A ([`Shift`], x bits 2..0) |
//! | 8–C | `jmp`, `jz`, `jnz`, `jc`, `jnc t` | PC ← t = `x:n` if always, A = 0, A ≠ 0, C, not C |
//! | D | `call t` | LR ← PC + 1; PC ← t |
//! | E | `ret` | PC ← LR |
//! | F | `nop`, `lpm`, `ldx`, `stx`, `tax`, `lra`, `jpa` | x = 1: A ← the program word at A (four cycles); 2: A ← R\[X\], X + 1; 3: R\[X\] ← A, X + 1; 4: X ← A's low byte; 5: A ← LR; 6: PC ← A; others nothing |
//!
//! ALU codes without an operation (10, 12–15) leave A and C as they are. Targets are taken
//! modulo the program memory's size. Every instruction takes two cycles (fetch, execute), after
//! one boot cycle, except `lpm`, which reads the program memory in a third and fetches the next
//! instruction a cycle later (the core runs two threads whose cycles interleave, and the third
//! cycle is the other thread's execute cycle, `bbcu_hdl::ctl`); ports are read and written in
//! the execute cycle. `lpm` lets constant tables and text live in the program
//! memory instead of a block RAM of their own.
//!
//! **Nested calls.** There is one link register and no stack: a subroutine that calls another
//! saves the link itself (`lra`, `st r` on entry) and returns through A (`ld r`, `jpa`), four
//! words, and only where it nests. `lra` also lets a subroutine read words placed after its
//! `call` with `lpm` (inline arguments: a reply's code and length, an error's kind and
//! message) and return past them (`lra`, `alui.add k`, `jpa`), which is where most of the
//! firmware's saving comes from; `jpa` is a computed jump too. These two cost the core a
//! 12-bit group in the accumulator's AND-OR and a 12-bit input on PC, and the program
//! memory's address takes A for `jpa` through the mux `lpm` already has, so the address path
//! does not grow. A hardware return stack (4 × 12 flip-flops, a pointer, a 4-way read mux
//! in front of PC) would cost more cells and put a wider mux on that path, for calls the
//! firmware rarely nests.

use std::collections::HashMap;

/// Registers and ports.
pub const REGS: usize = 256;

/// Operations of `alu` (register operand) and `alui` (8-bit immediate operand `B`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Alu {
    /// A + B; C ← carry out.
    Add = 0,
    /// A + B + C; C ← carry out.
    Adc = 1,
    /// A − B; C ← borrow (A < B).
    Sub = 2,
    /// A − B − C; C ← borrow.
    Sbc = 3,
    And = 4,
    Or = 5,
    Xor = 6,
    /// A ← B.
    Mov = 7,
    /// C ← A < B (unsigned); A kept.
    Cmp = 8,
    /// C ← A = B; A kept.
    Ceq = 9,
    /// C ← (A & B) ≠ 0; A kept.
    Test = 11,
}

/// Operations of `sh` (x bits 2..0).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Shift {
    /// C ← A\[0\]; A ← A >> 1.
    Shr = 0,
    /// C ← A\[15\]; A ← A << 1.
    Shl = 1,
    /// Rotate right through C.
    Rrc = 2,
    /// Rotate left through C.
    Rlc = 3,
    /// Swap the bytes.
    Swap = 4,
    /// A ← A & 0xFF.
    Lo = 5,
    /// A ← A >> 8.
    Hi = 6,
    /// A ← !A.
    Not = 7,
}

/// Instruction classes (`op`, bits 15..12).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Ld = 0,
    St = 1,
    Alu = 2,
    Alui = 3,
    Ldi = 4,
    In = 5,
    Out = 6,
    Sh = 7,
    Jmp = 8,
    Jz = 9,
    Jnz = 10,
    Jc = 11,
    Jnc = 12,
    Call = 13,
    Ret = 14,
    /// `nop`, or with x 1–6 `lpm`, `ldx`, `stx`, `tax`, `lra`, `jpa`.
    Nop = 15,
}

/// What the ALU computes: the new `A` and `C`.
pub fn alu(x: u8, a: u16, b: u16, c: bool) -> (u16, bool) {
    let (ci, a32, b32) = (c as u32, a as u32, b as u32);
    match x {
        0 => ((a32 + b32) as u16, a32 + b32 > 0xFFFF),
        1 => ((a32 + b32 + ci) as u16, a32 + b32 + ci > 0xFFFF),
        2 => (a.wrapping_sub(b), a32 < b32),
        3 => (a.wrapping_sub(b).wrapping_sub(ci as u16), a32 < b32 + ci),
        4 => (a & b, c),
        5 => (a | b, c),
        6 => (a ^ b, c),
        7 => (b, c),
        8 => (a, a < b),
        9 => (a, a == b),
        11 => (a, a & b != 0),
        _ => (a, c),
    }
}

/// What a shift computes: the new `A` and `C`.
pub fn shift(x: u8, a: u16, c: bool) -> (u16, bool) {
    match x & 7 {
        0 => (a >> 1, a & 1 != 0),
        1 => (a << 1, a >> 15 != 0),
        2 => ((a >> 1) | ((c as u16) << 15), a & 1 != 0),
        3 => ((a << 1) | c as u16, a >> 15 != 0),
        4 => (a.swap_bytes(), c),
        5 => (a & 0xFF, c),
        6 => (a >> 8, c),
        _ => (!a, c),
    }
}

/// A port access in the execute cycle of an `in` or `out`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Io {
    In(u8),
    Out(u8, u16),
}

/// The instruction-level model; its timing is the hardware's (two cycles an instruction).
#[derive(Clone)]
pub struct Cpu {
    pub a: u16,
    pub c: bool,
    pub x: u8,
    pub pc: u16,
    pub lr: u16,
    pub r: [u16; REGS],
    /// Program memory address mask (`2^bits − 1`).
    mask: u16,
    /// Cycles since reset, counting the boot cycle.
    pub cycles: u64,
}

impl Cpu {
    /// A core with a program memory of `2^addr_bits` words, after reset (everything zero).
    pub fn new(addr_bits: u32) -> Cpu {
        assert!((1..=12).contains(&addr_bits), "program address bits {addr_bits}: 1..=12");
        Cpu { a: 0, c: false, x: 0, pc: 0, lr: 0, r: [0; REGS], mask: ((1u32 << addr_bits) - 1) as u16, cycles: 1 }
    }

    /// Executes one instruction of `rom` (words past its end read as 0, `ld 0`); `io` answers
    /// an `in` (its return value) and sees an `out`. Answers the cycle of the execute step.
    pub fn step(&mut self, rom: &[u16], io: &mut impl FnMut(Io) -> u16) -> u64 {
        let w = rom.get(self.pc as usize).copied().unwrap_or(0);
        let (op, x, n) = ((w >> 12) as u8, (w >> 8 & 15) as u8, (w & 0xFF) as u8);
        let t = w & 0x0FFF & self.mask;
        let next = self.pc.wrapping_add(1) & self.mask;
        let lpm = op == 15 && x == 1;
        self.cycles += if lpm { 4 } else { 2 };
        let exec = self.cycles - if lpm { 3 } else { 1 };
        let mut pc = next;
        match op {
            0 => self.a = self.r[n as usize],
            1 => self.r[n as usize] = self.a,
            2 => (self.a, self.c) = alu(x, self.a, self.r[n as usize], self.c),
            3 => (self.a, self.c) = alu(x, self.a, n as u16, self.c),
            4 if x & 1 == 0 => self.a = n as u16,
            4 => self.a = (self.a & 0xFF) | (n as u16) << 8,
            5 => self.a = io(Io::In(n)),
            6 => {
                io(Io::Out(n, self.a));
            }
            7 => (self.a, self.c) = shift(x, self.a, self.c),
            8 => pc = t,
            9 if self.a == 0 => pc = t,
            10 if self.a != 0 => pc = t,
            11 if self.c => pc = t,
            12 if !self.c => pc = t,
            13 => {
                self.lr = next;
                pc = t;
            }
            14 => pc = self.lr,
            15 if x == 1 => self.a = rom.get((self.a & self.mask) as usize).copied().unwrap_or(0),
            15 if x == 2 => {
                self.a = self.r[self.x as usize];
                self.x = self.x.wrapping_add(1);
            }
            15 if x == 3 => {
                self.r[self.x as usize] = self.a;
                self.x = self.x.wrapping_add(1);
            }
            15 if x == 4 => self.x = self.a as u8,
            15 if x == 5 => self.a = self.lr,
            15 if x == 6 => pc = self.a & self.mask,
            _ => {}
        }
        self.pc = pc;
        exec
    }
}

/// A register or port name in the assembler.
pub type Reg = u8;

enum Item {
    Word(u16),
    /// A branch whose target is a label: op and label.
    Branch(Op, String),
}

/// A one-pass assembler with labels: build with the instruction methods, then [`Asm::finish`].
#[derive(Default)]
pub struct Asm {
    items: Vec<Item>,
    labels: HashMap<String, usize>,
    errors: Vec<String>,
}

impl Asm {
    pub fn new() -> Asm {
        Asm::default()
    }

    fn word(&mut self, op: Op, x: u8, n: u8) -> &mut Self {
        self.items.push(Item::Word((op as u16) << 12 | ((x as u16) & 15) << 8 | n as u16));
        self
    }

    /// Address of the next instruction.
    pub fn here(&self) -> usize {
        self.items.len()
    }

    /// Names the next instruction.
    pub fn label(&mut self, name: &str) -> &mut Self {
        if self.labels.insert(name.to_string(), self.items.len()).is_some() {
            self.errors.push(format!("label {name} defined twice"));
        }
        self
    }

    pub fn ld(&mut self, r: Reg) -> &mut Self {
        self.word(Op::Ld, 0, r)
    }
    pub fn st(&mut self, r: Reg) -> &mut Self {
        self.word(Op::St, 0, r)
    }
    pub fn alu(&mut self, f: Alu, r: Reg) -> &mut Self {
        self.word(Op::Alu, f as u8, r)
    }
    pub fn alui(&mut self, f: Alu, n: u8) -> &mut Self {
        self.word(Op::Alui, f as u8, n)
    }
    /// A ← n.
    pub fn ldi(&mut self, n: u8) -> &mut Self {
        self.word(Op::Ldi, 0, n)
    }
    /// A\[15:8\] ← n.
    pub fn ldh(&mut self, n: u8) -> &mut Self {
        self.word(Op::Ldi, 1, n)
    }
    /// A ← v, in one instruction when v < 256.
    pub fn li(&mut self, v: u16) -> &mut Self {
        self.ldi(v as u8);
        if v > 0xFF {
            self.ldh((v >> 8) as u8);
        }
        self
    }
    pub fn inp(&mut self, p: Reg) -> &mut Self {
        self.word(Op::In, 0, p)
    }
    pub fn out(&mut self, p: Reg) -> &mut Self {
        self.word(Op::Out, 0, p)
    }
    pub fn sh(&mut self, s: Shift) -> &mut Self {
        self.word(Op::Sh, s as u8, 0)
    }
    fn branch(&mut self, op: Op, label: &str) -> &mut Self {
        self.items.push(Item::Branch(op, label.to_string()));
        self
    }
    pub fn jmp(&mut self, l: &str) -> &mut Self {
        self.branch(Op::Jmp, l)
    }
    pub fn jz(&mut self, l: &str) -> &mut Self {
        self.branch(Op::Jz, l)
    }
    pub fn jnz(&mut self, l: &str) -> &mut Self {
        self.branch(Op::Jnz, l)
    }
    pub fn jc(&mut self, l: &str) -> &mut Self {
        self.branch(Op::Jc, l)
    }
    pub fn jnc(&mut self, l: &str) -> &mut Self {
        self.branch(Op::Jnc, l)
    }
    pub fn call(&mut self, l: &str) -> &mut Self {
        self.branch(Op::Call, l)
    }
    pub fn ret(&mut self) -> &mut Self {
        self.word(Op::Ret, 0, 0)
    }
    pub fn nop(&mut self) -> &mut Self {
        self.word(Op::Nop, 0, 0)
    }
    /// A ← the program word at A.
    pub fn lpm(&mut self) -> &mut Self {
        self.word(Op::Nop, 1, 0)
    }
    /// A ← R\[X\]; X + 1.
    pub fn ldx(&mut self) -> &mut Self {
        self.word(Op::Nop, 2, 0)
    }
    /// R\[X\] ← A; X + 1.
    pub fn stx(&mut self) -> &mut Self {
        self.word(Op::Nop, 3, 0)
    }
    /// X ← A's low byte.
    pub fn tax(&mut self) -> &mut Self {
        self.word(Op::Nop, 4, 0)
    }
    /// A ← LR (a nesting subroutine saves its link; an inline argument's address).
    pub fn lra(&mut self) -> &mut Self {
        self.word(Op::Nop, 5, 0)
    }
    /// PC ← A (a return through A, a computed jump).
    pub fn jpa(&mut self) -> &mut Self {
        self.word(Op::Nop, 6, 0)
    }
    /// Data words in the program memory (for `lpm`), at the current address.
    pub fn data(&mut self, words: &[u16]) -> &mut Self {
        self.items.extend(words.iter().map(|w| Item::Word(*w)));
        self
    }

    /// Every label and its address, in address order: the program's map.
    pub fn map(&self) -> Vec<(usize, String)> {
        let mut m: Vec<(usize, String)> = self.labels.iter().map(|(l, a)| (*a, l.clone())).collect();
        m.sort();
        m
    }

    /// The program for a memory of `2^addr_bits` words, or every error found (unknown or
    /// doubly defined labels, a program that does not fit).
    pub fn finish(&self, addr_bits: u32) -> Result<Vec<u16>, String> {
        let mut errors = self.errors.clone();
        let cap = 1usize << addr_bits;
        if self.items.len() > cap {
            errors.push(format!("program of {} words does not fit {cap}", self.items.len()));
        }
        let words = self
            .items
            .iter()
            .map(|it| match it {
                Item::Word(w) => *w,
                Item::Branch(op, l) => match self.labels.get(l) {
                    Some(&t) => (*op as u16) << 12 | t as u16,
                    None => {
                        errors.push(format!("unknown label {l}"));
                        0
                    }
                },
            })
            .collect();
        if errors.is_empty() {
            Ok(words)
        } else {
            Err(errors.join("; "))
        }
    }
}

/// One instruction as text (`alui.sub 3`, `jnz 0x01f`), for traces.
pub fn disassemble(w: u16) -> String {
    const ALU: [&str; 16] =
        ["add", "adc", "sub", "sbc", "and", "or", "xor", "mov", "cmp", "ceq", "?", "test", "?", "?", "?", "?"];
    const SH: [&str; 8] = ["shr", "shl", "rrc", "rlc", "swap", "lo", "hi", "not"];
    let (op, x, n) = (w >> 12, (w >> 8 & 15) as usize, w & 0xFF);
    match op {
        0 => format!("ld r{n}"),
        1 => format!("st r{n}"),
        2 => format!("{} r{n}", ALU[x]),
        3 => format!("{}i {n}", ALU[x]),
        4 if x & 1 == 0 => format!("ldi {n}"),
        4 => format!("ldh {n}"),
        5 => format!("in p{n}"),
        6 => format!("out p{n}"),
        7 => SH[x & 7].to_string(),
        8..=13 => format!("{} {:#05x}", ["jmp", "jz", "jnz", "jc", "jnc", "call"][op as usize - 8], w & 0xFFF),
        14 => "ret".into(),
        _ if x == 1 => "lpm".into(),
        _ if x == 2 => "ldx".into(),
        _ if x == 3 => "stx".into(),
        _ if x == 4 => "tax".into(),
        _ if x == 5 => "lra".into(),
        _ if x == 6 => "jpa".into(),
        _ => "nop".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(a: &Asm, steps: usize, io: &mut impl FnMut(Io) -> u16) -> Cpu {
        let rom = a.finish(8).unwrap();
        let mut cpu = Cpu::new(8);
        for _ in 0..steps {
            cpu.step(&rom, io);
        }
        cpu
    }

    /// 32-bit add with carry through two register pairs, and a shift-and-add multiply loop:
    /// the idioms firmware uses for lengths and products.
    #[test]
    fn firmware_idioms_compute_what_they_should() {
        let mut a = Asm::new();
        // R0:R1 = 0x0001_FFFF, R2:R3 = 0x0000_0001; R4:R5 = sum.
        a.li(0xFFFF).st(0).li(1).st(1).li(1).st(2).li(0).st(3);
        a.ld(0).alu(Alu::Add, 2).st(4).ld(1).alu(Alu::Adc, 3).st(5);
        // R6 = 123 · 45 by shift-and-add over R7 (multiplier), R8 (multiplicand).
        a.li(45).st(7).li(123).st(8).li(0).st(6);
        a.label("mul").ld(7).jz("done").sh(Shift::Shr).st(7).jnc("skip");
        a.ld(6).alu(Alu::Add, 8).st(6);
        a.label("skip").ld(8).sh(Shift::Shl).st(8).jmp("mul");
        a.label("done").ld(6).out(9).label("end").jmp("end");
        let mut outs = Vec::new();
        let cpu = run(&a, 400, &mut |e| {
            outs.push(e);
            0
        });
        assert_eq!((cpu.r[4], cpu.r[5]), (0x0000, 0x0002));
        assert_eq!(outs, vec![Io::Out(9, 123 * 45)]);
    }

    /// A table in the program memory, read with `lpm`, costs two cycles more than other loads.
    #[test]
    fn lpm_reads_program_words() {
        let mut a = Asm::new();
        a.li(7).lpm().out(1).li(8).lpm().out(2).label("halt").jmp("halt");
        assert_eq!(a.here(), 7);
        a.data(&[0xBEEF, 0x1234]);
        let rom = a.finish(8).unwrap();
        assert_eq!(rom[7..], [0xBEEF, 0x1234]);
        let mut cpu = Cpu::new(8);
        let mut outs = Vec::new();
        let mut execs = Vec::new();
        for _ in 0..6 {
            execs.push(cpu.step(&rom, &mut |e| {
                outs.push(e);
                0
            }));
        }
        assert_eq!(outs, vec![Io::Out(1, 0xBEEF), Io::Out(2, 0x1234)]);
        assert_eq!(execs, vec![2, 4, 8, 10, 12, 16], "lpm's execute cycle, then two more");
    }

    /// A register table walked with the index: four words stored, then summed.
    #[test]
    fn ldx_stx_walk_registers() {
        let mut a = Asm::new();
        a.li(40).tax();
        for v in [3u16, 5, 7, 11] {
            a.li(v).stx();
        }
        a.li(40).tax().li(0).st(0);
        for _ in 0..4 {
            a.ldx().alu(Alu::Add, 0).st(0);
        }
        a.ld(0).out(1).label("halt").jmp("halt");
        let cpu = run(&a, 40, &mut |_| 0);
        assert_eq!(cpu.r[40..44], [3, 5, 7, 11]);
        assert_eq!((cpu.r[0], cpu.x), (26, 44));
    }

    #[test]
    fn call_return_and_ports() {
        let mut a = Asm::new();
        a.call("f").out(2).label("halt").jmp("halt");
        a.label("f").inp(7).alui(Alu::Xor, 0x0F).ret();
        let cpu = run(&a, 6, &mut |e| if e == Io::In(7) { 0x1234 } else { 0 });
        assert_eq!(cpu.a, 0x123B);
        assert_eq!(cpu.pc, 2);
    }

    /// A subroutine that calls another saves the link through A and returns with `jpa`; a
    /// callee reads an inline argument after its call with `lra` and `lpm` and returns past it.
    #[test]
    fn nested_calls_and_inline_arguments() {
        let mut a = Asm::new();
        a.call("outer").out(3).label("halt").jmp("halt");
        a.label("outer").lra().st(9).call("inner").data(&[0x0040]).ld(8).out(1).ld(9).jpa();
        a.label("inner").lra().lpm().alui(Alu::Add, 2).st(8).lra().alui(Alu::Add, 1).jpa();
        let mut outs = Vec::new();
        let cpu = run(&a, 16, &mut |e| {
            outs.push(e);
            0
        });
        assert_eq!(outs, vec![Io::Out(1, 0x0042), Io::Out(3, 1)]);
        assert_eq!((cpu.pc, cpu.r[9], cpu.r[8]), (2, 1, 0x42));
    }

    #[test]
    fn alu_carries_and_compares() {
        assert_eq!(alu(Alu::Sub as u8, 3, 5, false), (0xFFFE, true));
        assert_eq!(alu(Alu::Sbc as u8, 5, 5, true), (0xFFFF, true));
        assert_eq!(alu(Alu::Sbc as u8, 6, 5, true), (0, false));
        assert_eq!(alu(Alu::Adc as u8, 0xFFFF, 0, true), (0, true));
        assert_eq!(alu(Alu::Cmp as u8, 4, 9, false), (4, true));
        assert_eq!(alu(Alu::Ceq as u8, 9, 9, false), (9, true));
        assert_eq!(alu(Alu::Test as u8, 0b1010, 0b0101, true), (0b1010, false));
        assert_eq!(shift(Shift::Rrc as u8, 0x0003, true), (0x8001, true));
        assert_eq!(shift(Shift::Rlc as u8, 0x8000, false), (0x0000, true));
    }

    #[test]
    fn assembler_reports_every_error() {
        let mut a = Asm::new();
        a.label("x").label("x").jmp("nowhere");
        let e = a.finish(8).unwrap_err();
        assert!(e.contains("label x defined twice") && e.contains("unknown label nowhere"), "{e}");
        let mut big = Asm::new();
        (0..5).for_each(|_| {
            big.nop();
        });
        assert!(big.finish(2).unwrap_err().contains("does not fit 4"));
    }

    #[test]
    fn disassembly_names_each_class() {
        let mut a = Asm::new();
        a.label("l").ld(3).alui(Alu::Sub, 2).sh(Shift::Swap).jnc("l").ldh(9).ret().lra().jpa();
        let text: Vec<String> = a.finish(8).unwrap().into_iter().map(disassemble).collect();
        assert_eq!(text, ["ld r3", "subi 2", "swap", "jnc 0x000", "ldh 9", "ret", "lra", "jpa"]);
    }
}
