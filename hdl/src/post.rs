//! The post-popcount datapath of one output channel (`docs/arithmetic.md` §4), pipelined:
//!
//! ```text
//! y   = sat16(rnd(A·P + O, s))          rnd(v, s) = (v + 2^(s−1)) >> s,  rnd(v, 0) = v
//! z   = y ≥ 0 ? y : sat16(rnd(y·S, 12))
//! out = sat16(z + B1 + R)
//! ```
//!
//! bit-exact with `bbcu_sim::fixed::QBinary::post` followed by `sat16(· + residual)`.
//!
//! Every input, the per-channel constants included, is sampled on the same rising edge as the
//! popcount sum and travels down the pipeline beside it, so one block may serve a different
//! output channel (or layer) every cycle: one result per cycle, [`Post::LATENCY`] rising edges
//! after its inputs. `result` is meaningful while `valid_out` is high; with `valid_in` low the
//! data inputs are don't-care.
//!
//! Ports (all signed values two's complement):
//!
//! | port        | type         | meaning                                                    |
//! |-------------|--------------|------------------------------------------------------------|
//! | `valid_in`  | `Bit`        | the inputs of this cycle form one result                   |
//! | `pop`       | `Signed<16>` | P, the popcount sum                                        |
//! | `resid`     | `Signed<16>` | R, the residual feature word                               |
//! | `alpha`     | `Signed<16>` | A, 0..=32767                                               |
//! | `offset`    | `Signed<32>` | O, \|O\| ≤ 2^30                                            |
//! | `slope`     | `Signed<16>` | S, Q12 PReLU slope (any i16: > 1 and < 0 allowed)          |
//! | `bias1`     | `Signed<32>` | B1, exact over all of i32 (see stage 1)                    |
//! | `shift`     | `Bits<5>`    | s, 0..=24 (any 0..=31 works as long as A·P + O fits)       |
//! | `result`    | `Signed<16>` | out                                                        |
//! | `valid_out` | `Bit`        | `result` holds the result of inputs `LATENCY` edges back    |
//!
//! Stages (one register each):
//!
//! 1. `A·P` on a 16×16 signed multiplier (one SB_MAC16); `c = clamp(B1, −2^17, 2^17 − 1) + R`
//!    in 19 bits. The clamp changes no result: with \|z\| ≤ 2^15 and \|R\| ≤ 2^15, any
//!    B1 ≥ 2^17 makes `z + B1 + R ≥ 2^16` and any B1 < −2^17 makes it < −2^16, so `out`
//!    saturates the same way before and after; only these 19 bits travel down the pipeline;
//! 2. `v = A·P + O` (32 bits: the contract bounds \|A·P + O\| < 2^31);
//! 3. the first four steps (16, 8, 4, 2) of `t = u >> s` (arithmetic), `u = 2v`;
//! 4. the last step (1), then `y = sat16((t >> 1) + (t & 1))`;
//! 5. `y·S` on a second 16×16 signed multiplier;
//! 6. `z = y ≥ 0 ? y : sat16((y·S + 2048) >> 12)` (\|y·S\| ≤ 2^30, so no overflow);
//! 7. `out = sat16(z + c)` (19 bits: \|z + c\| < 2^18).
//!
//! [`Post::one_at_a_time`] builds it for a caller whose valid inputs are at least
//! [`Post::LATENCY`] cycles apart (the UP5K's engine, one output at a time): stage 1 then
//! holds the shift, the slope and `B1 + R` from one valid input to the next, and stages 3, 5
//! and 7 read them there, so the copies that travel down the pipeline (148 flip-flops) have no
//! readers and synthesis drops them. Same ports, latency and results.
//!
//! Stages 3–4 are the rounding of [`crate::fp::RoundSat`] on 32 bits: `t = u >> s` is
//! `v >> (s − 1)` for s ≥ 1 and `2v` for s = 0, and `(t >> 1) + (t & 1)` is `rnd(v, s)` in both
//! cases (it cannot overflow, even for `v` within 2^(s−1) of 2^31). Only the 17-bit window of
//! `t` that can give an unsaturated `y` is shifted: each step keeps the bits that the remaining
//! steps can still bring into the window and flags an overflow when a bit it drops differs from
//! the sign. Outside [−2^16, 2^16) `t` saturates `y` toward its sign; inside, `t = 2^16 − 1`
//! alone rounds out of i16.
//!
//! Signed arithmetic other than the two multiplies is done on `Bits` patterns, because
//! rust-hdl's `Signed` has no shifts and its Verilog mixes `signed` wires with unsigned 32-bit
//! literals: a value fits a narrower signed width exactly when its bits from that width's sign
//! bit up agree (no compare needed to saturate), and sign extension ORs in the high bits. All
//! constants are [`Constant`] fields (fpga-notes §3.2).

use rust_hdl::prelude::*;

/// The post-popcount datapath of one output channel; latency [`Post::LATENCY`] = 7.
#[derive(LogicBlock)]
pub struct Post {
    pub clock: Signal<In, Clock>,
    pub valid_in: Signal<In, Bit>,
    pub pop: Signal<In, Signed<16>>,
    pub resid: Signal<In, Signed<16>>,
    pub alpha: Signal<In, Signed<16>>,
    pub offset: Signal<In, Signed<32>>,
    pub slope: Signal<In, Signed<16>>,
    pub bias1: Signal<In, Signed<32>>,
    pub shift: Signal<In, Bits<5>>,
    pub result: Signal<Out, Signed<16>>,
    pub valid_out: Signal<Out, Bit>,
    // Stage 1.
    prod1: DFF<Signed<32>>,
    off1: DFF<Bits<32>>,
    sh1: DFF<Bits<5>>,
    slp1: DFF<Signed<16>>,
    br1: DFF<Bits<19>>,
    v1: DFF<Bit>,
    // Stage 2.
    acc2: DFF<Bits<32>>,
    sh2: DFF<Bits<5>>,
    slp2: DFF<Signed<16>>,
    br2: DFF<Bits<19>>,
    v2: DFF<Bit>,
    // Stage 3: the shift window (18 bits), its sign and overflow, the last step's amount.
    t3: DFF<Bits<18>>,
    sg3: DFF<Bit>,
    ov3: DFF<Bit>,
    s03: DFF<Bit>,
    slp3: DFF<Signed<16>>,
    br3: DFF<Bits<19>>,
    v3: DFF<Bit>,
    // Stage 4.
    y4: DFF<Bits<16>>,
    slp4: DFF<Signed<16>>,
    br4: DFF<Bits<19>>,
    v4: DFF<Bit>,
    // Stage 5.
    ys5: DFF<Signed<32>>,
    y5: DFF<Bits<16>>,
    br5: DFF<Bits<19>>,
    v5: DFF<Bit>,
    // Stage 6.
    z6: DFF<Bits<16>>,
    br6: DFF<Bits<19>>,
    v6: DFF<Bit>,
    // Stage 7.
    o7: DFF<Bits<16>>,
    v7: DFF<Bit>,
    // Constants.
    /// Built by [`Post::one_at_a_time`].
    one: Constant<Bit>,
    half12: Constant<Bits<32>>,
    ones16: Constant<Bits<16>>,
    max16: Constant<Bits<16>>,
    min16: Constant<Bits<16>>,
    /// The 19-bit side path (`B1 + R`, then `z + B1 + R`): the high bits of a sign extension
    /// from 16 bits and the clamps of B1 (±2^17).
    hi3: Constant<Bits<19>>,
    b1_max: Constant<Bits<19>>,
    b1_min: Constant<Bits<19>>,
    // Combinational locals.
    /// The shift, slope and `B1 + R` of the value in stages 3, 5 and 7.
    sh_3: Signal<Local, Bits<5>>,
    slp_5: Signal<Local, Signed<16>>,
    br_7: Signal<Local, Bits<19>>,
    rx: Signal<Local, Bits<19>>,
    bx: Signal<Local, Bits<19>>,
    /// `bias1` as bits: Verilog cannot slice `$unsigned(bias1)` directly.
    ub: Signal<Local, Bits<32>>,
    /// The sign of `v`, replicated.
    sx: Signal<Local, Bits<16>>,
    u: Signal<Local, Bits<33>>,
    a16: Signal<Local, Bits<32>>,
    a8: Signal<Local, Bits<24>>,
    a4: Signal<Local, Bits<20>>,
    a2: Signal<Local, Bits<18>>,
    a1: Signal<Local, Bits<17>>,
    r4: Signal<Local, Bits<16>>,
    /// `w >> 12`, `w = y·S + 2^11`, and `w`'s bits 27..=31 (`w >> 12` fits i16 iff they agree).
    w6: Signal<Local, Bits<20>>,
    top6: Signal<Local, Bits<5>>,
    zx: Signal<Local, Bits<19>>,
    sum7: Signal<Local, Bits<19>>,
    /// Bits 15..=18 of `sum7`: it fits i16 exactly when they agree.
    top7: Signal<Local, Bits<4>>,
}

impl Post {
    /// Rising edges from the inputs of a cycle to its `result` / `valid_out`.
    pub const LATENCY: usize = 7;
    /// Fractional bits of the slope (`bbcu_sim::fixed::SLOPE_FRAC`).
    pub const SLOPE_FRAC: u32 = 12;

    /// The block for valid inputs at least [`Post::LATENCY`] cycles apart (module
    /// documentation).
    pub fn one_at_a_time() -> Self {
        Self { one: Constant::new(true), ..Self::default() }
    }
}

impl Default for Post {
    fn default() -> Self {
        let c32 = |v: u64| Constant::new(bits::<32>(v));
        Self {
            clock: Default::default(),
            valid_in: Default::default(),
            pop: Default::default(),
            resid: Default::default(),
            alpha: Default::default(),
            offset: Default::default(),
            slope: Default::default(),
            bias1: Default::default(),
            shift: Default::default(),
            result: Default::default(),
            valid_out: Default::default(),
            prod1: Default::default(),
            off1: Default::default(),
            sh1: Default::default(),
            slp1: Default::default(),
            br1: Default::default(),
            v1: Default::default(),
            acc2: Default::default(),
            sh2: Default::default(),
            slp2: Default::default(),
            br2: Default::default(),
            v2: Default::default(),
            t3: Default::default(),
            sg3: Default::default(),
            ov3: Default::default(),
            s03: Default::default(),
            slp3: Default::default(),
            br3: Default::default(),
            v3: Default::default(),
            y4: Default::default(),
            slp4: Default::default(),
            br4: Default::default(),
            v4: Default::default(),
            ys5: Default::default(),
            y5: Default::default(),
            br5: Default::default(),
            v5: Default::default(),
            z6: Default::default(),
            br6: Default::default(),
            v6: Default::default(),
            o7: Default::default(),
            v7: Default::default(),
            one: Constant::new(false),
            half12: c32(1 << (Self::SLOPE_FRAC - 1)),
            ones16: Constant::new(bits::<16>(0xFFFF)),
            max16: Constant::new(bits::<16>(0x7FFF)),
            min16: Constant::new(bits::<16>(0x8000)),
            hi3: Constant::new(bits::<19>(0x7_0000)),
            b1_max: Constant::new(bits::<19>(0x1_FFFF)),
            b1_min: Constant::new(bits::<19>(0x6_0000)),
            sh_3: Default::default(),
            slp_5: Default::default(),
            br_7: Default::default(),
            rx: Default::default(),
            bx: Default::default(),
            ub: Default::default(),
            sx: Default::default(),
            u: Default::default(),
            a16: Default::default(),
            a8: Default::default(),
            a4: Default::default(),
            a2: Default::default(),
            a1: Default::default(),
            r4: Default::default(),
            w6: Default::default(),
            top6: Default::default(),
            zx: Default::default(),
            sum7: Default::default(),
            top7: Default::default(),
        }
    }
}

impl Logic for Post {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(
            self, clock, prod1, off1, sh1, slp1, br1, v1, acc2, sh2, slp2, br2, v2, t3, sg3, ov3, s03, slp3, br3, v3,
            y4, slp4, br4, v4, ys5, y5, br5, v5, z6, br6, v6, o7, v7
        );
        // Stage 1: A·P, and clamp(B1, ±2^17) + R in 19 bits.
        self.prod1.d.next = self.alpha.val() * self.pop.val();
        self.off1.d.next = unsigned_cast(self.offset.val());
        self.sh1.d.next = self.shift.val();
        self.slp1.d.next = self.slope.val();
        self.rx.next = bit_cast::<19, 16>(unsigned_cast(self.resid.val()));
        if self.resid.val().get_bit(15) {
            self.rx.next = bit_cast::<19, 16>(unsigned_cast(self.resid.val())) | self.hi3.val();
        }
        self.ub.next = unsigned_cast(self.bias1.val());
        self.bx.next = self.ub.val().get_bits::<19>(0);
        if self.ub.val().get_bit(31) {
            if !self.ub.val().get_bits::<15>(17).all() {
                self.bx.next = self.b1_min.val();
            }
        } else if self.ub.val().get_bits::<15>(17).any() {
            self.bx.next = self.b1_max.val();
        }
        self.br1.d.next = self.bx.val() + self.rx.val();
        if self.one.val() & !self.valid_in.val() {
            self.sh1.d.next = self.sh1.q.val();
            self.slp1.d.next = self.slp1.q.val();
            self.br1.d.next = self.br1.q.val();
        }
        self.v1.d.next = self.valid_in.val();

        // Stage 2: v = A·P + O.
        self.acc2.d.next = unsigned_cast(self.prod1.q.val()) + self.off1.q.val();
        self.sh2.d.next = self.sh1.q.val();
        self.slp2.d.next = self.slp1.q.val();
        self.br2.d.next = self.br1.q.val();
        self.v2.d.next = self.v1.q.val();

        self.sh_3.next = self.sh2.q.val();
        self.slp_5.next = self.slp4.q.val();
        self.br_7.next = self.br6.q.val();
        if self.one.val() {
            self.sh_3.next = self.sh1.q.val();
            self.slp_5.next = self.slp1.q.val();
            self.br_7.next = self.br1.q.val();
        }

        // Stage 3: the steps by 16, 8, 4 and 2 of `u >> s`, 18 bits kept. `u`'s bit 32 is
        // the sign, so the first step drops nothing that could overflow.
        self.u.next = bit_cast::<33, 32>(self.acc2.q.val()) << 1;
        self.sx.next = 0.into();
        if self.acc2.q.val().get_bit(31) {
            self.sx.next = self.ones16.val();
        }
        self.a16.next = bit_cast::<32, 33>(self.u.val());
        if self.sh_3.val().get_bit(4) {
            // The fill covers bit 16 too, which is `u`'s sign already.
            self.a16.next = bit_cast::<32, 33>(self.u.val() >> 16) | (bit_cast::<32, 16>(self.sx.val()) << 16);
        }
        self.ov3.d.next = false;
        self.a8.next = self.a16.val().get_bits::<24>(8);
        if !self.sh_3.val().get_bit(3) {
            self.a8.next = self.a16.val().get_bits::<24>(0);
            self.ov3.d.next = (self.a16.val().get_bits::<8>(24) ^ self.sx.val().get_bits::<8>(0)).any();
        }
        self.a4.next = self.a8.val().get_bits::<20>(4);
        if !self.sh_3.val().get_bit(2) {
            self.a4.next = self.a8.val().get_bits::<20>(0);
            if (self.a8.val().get_bits::<4>(20) ^ self.sx.val().get_bits::<4>(0)).any() {
                self.ov3.d.next = true;
            }
        }
        self.a2.next = self.a4.val().get_bits::<18>(2);
        if !self.sh_3.val().get_bit(1) {
            self.a2.next = self.a4.val().get_bits::<18>(0);
            if (self.a4.val().get_bits::<2>(18) ^ self.sx.val().get_bits::<2>(0)).any() {
                self.ov3.d.next = true;
            }
        }
        self.t3.d.next = self.a2.val();
        self.sg3.d.next = self.acc2.q.val().get_bit(31);
        self.s03.d.next = self.sh_3.val().get_bit(0);
        self.slp3.d.next = self.slp2.q.val();
        self.br3.d.next = self.br2.q.val();
        self.v3.d.next = self.v2.q.val();

        // Stage 4: the step by 1 (the window's own top bit must be the sign too), then
        // y = sat16((t >> 1) + (t & 1)); t = 2^16 − 1 is the one in-window value that leaves i16
        // (the sum turns negative while t is not).
        self.a1.next = self.t3.q.val().get_bits::<17>(1);
        if !self.s03.q.val() {
            self.a1.next = self.t3.q.val().get_bits::<17>(0);
        }
        self.r4.next = self.a1.val().get_bits::<16>(1) + bit_cast::<16, 1>(self.a1.val().get_bits::<1>(0));
        self.y4.d.next = self.r4.val();
        if self.ov3.q.val()
            | (self.a1.val().get_bit(16) != self.sg3.q.val())
            | (!self.s03.q.val() & (self.t3.q.val().get_bit(17) != self.sg3.q.val()))
        {
            self.y4.d.next = self.max16.val();
            if self.sg3.q.val() {
                self.y4.d.next = self.min16.val();
            }
        } else if !self.sg3.q.val() & self.r4.val().get_bit(15) {
            self.y4.d.next = self.max16.val();
        }
        self.slp4.d.next = self.slp3.q.val();
        self.br4.d.next = self.br3.q.val();
        self.v4.d.next = self.v3.q.val();

        // Stage 5: y·S.
        self.ys5.d.next = signed_cast(self.y4.q.val()) * self.slp_5.val();
        self.y5.d.next = self.y4.q.val();
        self.br5.d.next = self.br4.q.val();
        self.v5.d.next = self.v4.q.val();

        // Stage 6: z = y ≥ 0 ? y : sat16((y·S + 2^11) >> 12), the shift as one expression (a
        // local holding all of `w` would leave 12 bits unused).
        self.w6.next = bit_cast::<20, 32>((unsigned_cast(self.ys5.q.val()) + self.half12.val()) >> 12);
        self.top6.next = self.w6.val().get_bits::<5>(15);
        self.z6.d.next = self.y5.q.val();
        if self.y5.q.val().get_bit(15) {
            self.z6.d.next = self.w6.val().get_bits::<16>(0);
            if self.top6.val().any() & !self.top6.val().all() {
                self.z6.d.next = self.max16.val();
                if self.top6.val().get_bit(4) {
                    self.z6.d.next = self.min16.val();
                }
            }
        }
        self.br6.d.next = self.br5.q.val();
        self.v6.d.next = self.v5.q.val();

        // Stage 7: out = sat16(z + (B1 + R)).
        self.zx.next = bit_cast::<19, 16>(self.z6.q.val());
        if self.z6.q.val().get_bit(15) {
            self.zx.next = bit_cast::<19, 16>(self.z6.q.val()) | self.hi3.val();
        }
        self.sum7.next = self.zx.val() + self.br_7.val();
        self.top7.next = self.sum7.val().get_bits::<4>(15);
        self.o7.d.next = self.sum7.val().get_bits::<16>(0);
        if self.top7.val().any() & !self.top7.val().all() {
            self.o7.d.next = self.max16.val();
            if self.top7.val().get_bit(3) {
                self.o7.d.next = self.min16.val();
            }
        }
        self.v7.d.next = self.v6.q.val();

        self.result.next = signed_cast(self.o7.q.val());
        self.valid_out.next = self.v7.q.val();
    }
}

impl crate::sim::Clocked for Post {
    fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}
