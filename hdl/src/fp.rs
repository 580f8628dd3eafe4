//! The full-precision leaf blocks of the engine (`docs/arithmetic.md` §2, §3, §6), each bit-exact
//! with `bbcu_sim::fixed`, one result per cycle at a fixed latency (`LATENCY` rising edges from
//! the inputs of a cycle to its result):
//!
//! | block         | computes                                                          | latency |
//! |---------------|-------------------------------------------------------------------|---------|
//! | [`MacLanes`]  | M lanes of `Σ w·x` (one shared `x`, one `w` per lane), 48 bits    | 3       |
//! | [`RoundSat`]  | `sat16(rnd(acc + bias, shift))`, through a 17-bit window          | 4       |
//! | [`Slope`]     | `v ≥ 0 ? v : sat16(rnd(v·s, 12))` (`fixed::apply_slope`)          | 2       |
//! | [`ConvPost`]  | `sat16(rnd(acc + bias, shift))`, then the slope if enabled        | 6       |
//! | [`OutPixel`]  | the output stage of `fixed::finish` for one value                 | 12      |
//! | [`InWord`]    | `rnd(p · k_in, 16)` (`fixed::input_word`)                         | 2       |
//! | [`OutPixel2`] | [`OutPixel`] on 2 multipliers, one value every 4 cycles at most;  | 12      |
//! |               | its rounding also serves a conv's outputs (`t_only`, `t`)         | 4       |
//! | [`InWordB`]   | [`InWord`] on [`OutPixel2`]'s second multiplier, between pixels   | 2       |
//! | [`ConvRound`] | [`ConvPost`] less its slope (applied by a shared [`Slope`])       | 4       |
//!
//! `rnd(v, s) = (v + 2^(s−1)) >> s`, `rnd(v, 0) = v`. As in [`crate::post`], every input (the
//! per-layer constants included) is sampled on the same rising edge as the data and travels
//! down the pipeline beside it, so a block may change layer or channel on any cycle; with
//! `valid_in` low the data inputs are don't-care.
//!
//! Arithmetic is written on `Bits` patterns except the 16×16 multiplies, for the reasons given in
//! [`crate::post`]: an arithmetic right shift by a run-time amount is
//! `((v ^ msb) >> k) − (msb >> k)`, a signed compare is an unsigned compare with the sign bits
//! flipped, and every constant is a [`Constant`] field (fpga-notes §3.2). rust-hdl multiplies only
//! 16×16 (`Signed<16>` or `Bits<16>`, each one SB_MAC16 under `synth_ice40 -dsp`); wider products
//! are assembled from 16-bit pieces below, each piece's range argued where it is cut.

use rust_hdl::prelude::*;

/// Fractional bits of the slope constants (`bbcu_sim::fixed::SLOPE_FRAC`).
pub const SLOPE_FRAC: u32 = 12;
/// `1.0` in the slope's Q12 format: `v·4096` rounded back by 12 bits is `v`, so a [`Slope`] fed
/// this constant is the identity (how [`ConvPost`] disables its activation).
pub const SLOPE_ONE: i64 = 1 << SLOPE_FRAC;

// ---------------------------------------------------------------------------------------------
// MacLanes

/// One lane of [`MacLanes`]: the 16×16 product of the shared word and the lane's weight, and the
/// 48-bit accumulator. The flags come already decoded from the parent, which keeps one flag
/// pipeline for all lanes.
#[derive(LogicBlock)]
pub struct MacLane {
    pub clock: Signal<In, Clock>,
    pub x: Signal<In, Signed<16>>,
    pub w: Signal<In, Signed<16>>,
    /// Stage-2 controls, aligned with the registered product: count it / start a new sum.
    pub vld: Signal<In, Bit>,
    pub clr: Signal<In, Bit>,
    pub acc: Signal<Out, Bits<48>>,
    prod: DFF<Signed<32>>,
    sum: DFF<Bits<48>>,
    hi16: Constant<Bits<48>>,
    ext: Signal<Local, Bits<48>>,
}

impl Default for MacLane {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            x: Default::default(),
            w: Default::default(),
            vld: Default::default(),
            clr: Default::default(),
            acc: Default::default(),
            prod: Default::default(),
            sum: Default::default(),
            hi16: Constant::new(bits::<48>(0xFFFF_0000_0000)),
            ext: Default::default(),
        }
    }
}

impl Logic for MacLane {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, prod, sum);
        self.prod.d.next = self.x.val() * self.w.val();
        // Sign extension of the 32-bit product.
        self.ext.next = bit_cast::<48, 32>(unsigned_cast(self.prod.q.val()));
        if self.prod.q.val().get_bit(31) {
            self.ext.next = bit_cast::<48, 32>(unsigned_cast(self.prod.q.val())) | self.hi16.val();
        }
        self.sum.d.next = self.sum.q.val();
        if self.vld.val() {
            if self.clr.val() {
                self.sum.d.next = self.ext.val();
            } else {
                self.sum.d.next = self.sum.q.val() + self.ext.val();
            }
        } else if self.clr.val() {
            self.sum.d.next = 0.into();
        }
        self.acc.next = self.sum.q.val();
    }
}

/// `M` lanes of 16×16 signed multiply-accumulate sharing one input word, with the flag protocol
/// of the XNOR PE ([`crate::pe`]):
///
/// - `valid_in`: the word on `x` (and the weights on `w`) is to be counted;
/// - `clear`: start a new sum with this word (with `valid_in` low: just zero the accumulators);
/// - `last`: this word ends the sum; `done` is high for one cycle, [`MacLanes::LATENCY`] rising
///   edges later, while `acc[k]` holds lane k's total. `acc` keeps it until the next word reaches
///   the accumulator (a new sum may start right behind the last one, so that is the very next
///   cycle when words are back to back).
///
/// | port       | type                     | meaning                                           |
/// |------------|--------------------------|---------------------------------------------------|
/// | `x`        | `Signed<16>`             | the input word, shared by all lanes               |
/// | `w[k]`     | `Signed<16>`             | lane k's weight                                   |
/// | `valid_in`, `clear`, `last` | `Bit`   | as above                                          |
/// | `acc[k]`   | `Bits<48>`               | lane k's sum, two's complement, wraps mod 2^48    |
/// | `done`     | `Bit`                    | the sums on `acc` are complete                    |
///
/// Stages: 0. the inputs registered (a word read from a wide block-RAM array arrives through
/// its read mux late in the cycle; the ECP5 build's critical path ran on from there through the
/// multiplier); 1. `x·w[k]` (one SB_MAC16 per lane, its output register); 2. the 48-bit
/// accumulate in logic (an SB_MAC16's own accumulator is 32 bits, the contract needs 40).
#[derive(LogicBlock)]
pub struct MacLanes<const M: usize> {
    pub clock: Signal<In, Clock>,
    pub x: Signal<In, Signed<16>>,
    pub w: [Signal<In, Signed<16>>; M],
    pub valid_in: Signal<In, Bit>,
    pub clear: Signal<In, Bit>,
    pub last: Signal<In, Bit>,
    pub acc: [Signal<Out, Bits<48>>; M],
    pub done: Signal<Out, Bit>,
    lane: [MacLane; M],
    xq: DFF<Signed<16>>,
    wq: [DFF<Signed<16>>; M],
    vld0: DFF<Bit>,
    clr0: DFF<Bit>,
    lst0: DFF<Bit>,
    vld: DFF<Bit>,
    clr: DFF<Bit>,
    lst: DFF<Bit>,
    fin: DFF<Bit>,
}

impl<const M: usize> MacLanes<M> {
    /// Rising edges from a word at the inputs to its effect on `acc` / `done`.
    pub const LATENCY: usize = 3;
}

impl<const M: usize> Default for MacLanes<M> {
    fn default() -> Self {
        assert!(M >= 1);
        Self {
            clock: Default::default(),
            x: Default::default(),
            w: std::array::from_fn(|_| Default::default()),
            valid_in: Default::default(),
            clear: Default::default(),
            last: Default::default(),
            acc: std::array::from_fn(|_| Default::default()),
            done: Default::default(),
            lane: std::array::from_fn(|_| Default::default()),
            xq: Default::default(),
            wq: std::array::from_fn(|_| Default::default()),
            vld0: Default::default(),
            clr0: Default::default(),
            lst0: Default::default(),
            vld: Default::default(),
            clr: Default::default(),
            lst: Default::default(),
            fin: Default::default(),
        }
    }
}

impl<const M: usize> Logic for MacLanes<M> {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, xq, vld0, clr0, lst0, vld, clr, lst, fin);
        self.xq.d.next = self.x.val();
        self.vld0.d.next = self.valid_in.val();
        self.clr0.d.next = self.clear.val();
        self.lst0.d.next = self.last.val();
        self.vld.d.next = self.vld0.q.val();
        self.clr.d.next = self.clr0.q.val();
        self.lst.d.next = self.lst0.q.val();
        self.fin.d.next = self.vld.q.val() & self.lst.q.val();
        for k in 0..M {
            self.wq[k].clock.next = self.clock.val();
            self.wq[k].d.next = self.w[k].val();
            self.lane[k].clock.next = self.clock.val();
            self.lane[k].x.next = self.xq.q.val();
            self.lane[k].w.next = self.wq[k].q.val();
            self.lane[k].vld.next = self.vld.q.val();
            self.lane[k].clr.next = self.clr.q.val();
            self.acc[k].next = self.lane[k].acc.val();
        }
        self.done.next = self.fin.q.val();
    }
}

impl<const M: usize> crate::sim::Clocked for MacLanes<M> {
    fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}

// ---------------------------------------------------------------------------------------------
// RoundSat

/// `y = sat16(rnd(acc + bias, shift))` without the wide datapath. Only the 17-bit window of `v >> (s − 1)` that can reach an unsaturated result is
/// shifted; every bit shifted out above it only decides whether the result saturates. Used by
/// [`ConvPost`] and [`OutPixel`].
///
/// | port        | type       | meaning                                                    |
/// |-------------|------------|------------------------------------------------------------|
/// | `acc`       | `Bits<48>` | two's complement                                           |
/// | `bias`      | `Bits<48>` | two's complement; \|acc + bias\| < 2^47                    |
/// | `shift`     | `Bits<6>`  | 0..=40 (any 0..=63 works)                                  |
/// | `y`         | `Bits<16>` | `sat16(rnd(acc + bias, shift))`, two's complement          |
///
/// With `u = 2v` (49 bits) and `t = u >> s` (arithmetic), `t = v >> (s − 1)` for s ≥ 1 and
/// `t = 2v` for s = 0, and in both cases `rnd(v, s) = (t >> 1) + (t & 1)`, so s = 0 needs no
/// path of its own. That result fits i16 unless `t` lies outside the 17-bit range
/// [−2^16, 2^16), and then it saturates toward the sign of `v`; inside, the one value that
/// rounds out of range is `t = 2^16 − 1` (to 2^15). So the shifter keeps 17 bits: a log shifter,
/// largest step first, where each step keeps only the bits the remaining steps (at most 2^k − 1
/// further) can bring into the window, and flags an overflow when a bit it drops differs from
/// the sign.
///
/// Stages: 1. `v = acc + bias`; 2. the steps by 32, 16 and 8 (48, 32, 24 bits kept);
/// 3. the steps by 4, 2 and 1 (20, 18, 17 bits kept); 4. the rounding and the saturation.
#[derive(LogicBlock)]
pub struct RoundSat {
    pub clock: Signal<In, Clock>,
    pub valid_in: Signal<In, Bit>,
    pub acc: Signal<In, Bits<48>>,
    pub bias: Signal<In, Bits<48>>,
    pub shift: Signal<In, Bits<6>>,
    pub y: Signal<Out, Bits<16>>,
    pub valid_out: Signal<Out, Bit>,
    v1: DFF<Bits<48>>,
    sh1: DFF<Bits<6>>,
    vl1: DFF<Bit>,
    w2: DFF<Bits<24>>,
    sg2: DFF<Bit>,
    ov2: DFF<Bit>,
    sh2: DFF<Bits<3>>,
    vl2: DFF<Bit>,
    w3: DFF<Bits<17>>,
    sg3: DFF<Bit>,
    ov3: DFF<Bit>,
    vl3: DFF<Bit>,
    y4: DFF<Bits<16>>,
    vl4: DFF<Bit>,
    /// Bits 17..=47: the sign fill of the step by 32.
    fill32: Constant<Bits<48>>,
    ones48: Constant<Bits<48>>,
    ones4: Constant<Bits<4>>,
    max16: Constant<Bits<16>>,
    min16: Constant<Bits<16>>,
    u: Signal<Local, Bits<49>>,
    /// The sign of `v`, replicated.
    sx: Signal<Local, Bits<48>>,
    a32: Signal<Local, Bits<48>>,
    a16: Signal<Local, Bits<32>>,
    a8: Signal<Local, Bits<24>>,
    sx3: Signal<Local, Bits<4>>,
    a4: Signal<Local, Bits<20>>,
    a2: Signal<Local, Bits<18>>,
    a1: Signal<Local, Bits<17>>,
    r4: Signal<Local, Bits<16>>,
}

impl RoundSat {
    pub const LATENCY: usize = 4;
}

impl Default for RoundSat {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            valid_in: Default::default(),
            acc: Default::default(),
            bias: Default::default(),
            shift: Default::default(),
            y: Default::default(),
            valid_out: Default::default(),
            v1: Default::default(),
            sh1: Default::default(),
            vl1: Default::default(),
            w2: Default::default(),
            sg2: Default::default(),
            ov2: Default::default(),
            sh2: Default::default(),
            vl2: Default::default(),
            w3: Default::default(),
            sg3: Default::default(),
            ov3: Default::default(),
            vl3: Default::default(),
            y4: Default::default(),
            vl4: Default::default(),
            fill32: Constant::new(bits::<48>(((1u64 << 48) - 1) & !((1u64 << 17) - 1))),
            ones48: Constant::new(bits::<48>((1u64 << 48) - 1)),
            ones4: Constant::new(bits::<4>(0xF)),
            max16: Constant::new(bits::<16>(0x7FFF)),
            min16: Constant::new(bits::<16>(0x8000)),
            u: Default::default(),
            sx: Default::default(),
            a32: Default::default(),
            a16: Default::default(),
            a8: Default::default(),
            sx3: Default::default(),
            a4: Default::default(),
            a2: Default::default(),
            a1: Default::default(),
            r4: Default::default(),
        }
    }
}

impl Logic for RoundSat {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, v1, sh1, vl1, w2, sg2, ov2, sh2, vl2, w3, sg3, ov3, vl3, y4, vl4);
        // Stage 1.
        self.v1.d.next = self.acc.val() + self.bias.val();
        self.sh1.d.next = self.shift.val();
        self.vl1.d.next = self.valid_in.val();

        // Stage 2: the steps by 32, 16, 8. `u`'s bit 48 is the sign, so the first step drops
        // nothing that could overflow.
        self.u.next = bit_cast::<49, 48>(self.v1.q.val()) << 1;
        self.sx.next = 0.into();
        if self.v1.q.val().get_bit(47) {
            self.sx.next = self.ones48.val();
        }
        self.a32.next = bit_cast::<48, 49>(self.u.val());
        if self.sh1.q.val().get_bit(5) {
            self.a32.next = bit_cast::<48, 49>(self.u.val() >> 32) | (self.sx.val() & self.fill32.val());
        }
        self.ov2.d.next = false;
        self.a16.next = self.a32.val().get_bits::<32>(16);
        if !self.sh1.q.val().get_bit(4) {
            self.a16.next = self.a32.val().get_bits::<32>(0);
            self.ov2.d.next = (self.a32.val().get_bits::<16>(32) ^ self.sx.val().get_bits::<16>(0)).any();
        }
        self.a8.next = self.a16.val().get_bits::<24>(8);
        if !self.sh1.q.val().get_bit(3) {
            self.a8.next = self.a16.val().get_bits::<24>(0);
            if (self.a16.val().get_bits::<8>(24) ^ self.sx.val().get_bits::<8>(0)).any() {
                self.ov2.d.next = true;
            }
        }
        self.w2.d.next = self.a8.val();
        self.sg2.d.next = self.v1.q.val().get_bit(47);
        self.sh2.d.next = self.sh1.q.val().get_bits::<3>(0);
        self.vl2.d.next = self.vl1.q.val();

        // Stage 3: the steps by 4, 2, 1; the window's own top bit must be the sign too.
        self.sx3.next = 0.into();
        if self.sg2.q.val() {
            self.sx3.next = self.ones4.val();
        }
        self.ov3.d.next = self.ov2.q.val();
        self.a4.next = self.w2.q.val().get_bits::<20>(4);
        if !self.sh2.q.val().get_bit(2) {
            self.a4.next = self.w2.q.val().get_bits::<20>(0);
            if (self.w2.q.val().get_bits::<4>(20) ^ self.sx3.val()).any() {
                self.ov3.d.next = true;
            }
        }
        self.a2.next = self.a4.val().get_bits::<18>(2);
        if !self.sh2.q.val().get_bit(1) {
            self.a2.next = self.a4.val().get_bits::<18>(0);
            if (self.a4.val().get_bits::<2>(18) ^ self.sx3.val().get_bits::<2>(0)).any() {
                self.ov3.d.next = true;
            }
        }
        self.a1.next = self.a2.val().get_bits::<17>(1);
        if !self.sh2.q.val().get_bit(0) {
            self.a1.next = self.a2.val().get_bits::<17>(0);
            if self.a2.val().get_bit(17) != self.sg2.q.val() {
                self.ov3.d.next = true;
            }
        }
        if self.a1.val().get_bit(16) != self.sg2.q.val() {
            self.ov3.d.next = true;
        }
        self.w3.d.next = self.a1.val();
        self.sg3.d.next = self.sg2.q.val();
        self.vl3.d.next = self.vl2.q.val();

        // Stage 4: (t >> 1) + (t & 1); t = 2^16 − 1 is the one in-window value that leaves i16
        // (the sum turns negative while t is not).
        self.r4.next = self.w3.q.val().get_bits::<16>(1) + bit_cast::<16, 1>(self.w3.q.val().get_bits::<1>(0));
        self.y4.d.next = self.r4.val();
        if self.ov3.q.val() {
            self.y4.d.next = self.max16.val();
            if self.sg3.q.val() {
                self.y4.d.next = self.min16.val();
            }
        } else if !self.sg3.q.val() & self.r4.val().get_bit(15) {
            self.y4.d.next = self.max16.val();
        }
        self.vl4.d.next = self.vl3.q.val();
        self.y.next = self.y4.q.val();
        self.valid_out.next = self.vl4.q.val();
    }
}

impl crate::sim::Clocked for RoundSat {
    fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}

// ---------------------------------------------------------------------------------------------
// Slope

/// The negative-side slope `z = v ≥ 0 ? v : sat16(rnd(v·s, 12))` (`fixed::apply_slope`): the
/// activation of the full-precision convs and the fused LeakyReLU after a binary unit.
///
/// | port        | type         | meaning                                                  |
/// |-------------|--------------|----------------------------------------------------------|
/// | `v`         | `Signed<16>` | the feature word                                         |
/// | `s`         | `Signed<16>` | Q12 slope, any i16 (> 1 and < 0 saturate as the model)   |
/// | `z`         | `Signed<16>` | the result                                               |
///
/// Stages: 1. `v·s` (one SB_MAC16); 2. the select and `sat16((v·s + 2^11) >> 12)`
/// (\|v·s\| ≤ 2^30, so the rounding add cannot overflow 32 bits, and `w = v·s + 2^11` has
/// `w >> 12` inside i16 exactly when `w`'s bits 27..=31 agree: the saturation needs no compare).
#[derive(LogicBlock)]
pub struct Slope {
    pub clock: Signal<In, Clock>,
    pub valid_in: Signal<In, Bit>,
    pub v: Signal<In, Signed<16>>,
    pub s: Signal<In, Signed<16>>,
    pub z: Signal<Out, Signed<16>>,
    pub valid_out: Signal<Out, Bit>,
    p1: DFF<Signed<32>>,
    v1: DFF<Bits<16>>,
    vl1: DFF<Bit>,
    z2: DFF<Bits<16>>,
    vl2: DFF<Bit>,
    half12: Constant<Bits<32>>,
    max16: Constant<Bits<16>>,
    min16: Constant<Bits<16>>,
    /// `w >> 12`, `w = v·s + 2^11`.
    w2: Signal<Local, Bits<20>>,
    /// Bits 27..=31 of `w`: `w >> 12` fits i16 exactly when they agree.
    top2: Signal<Local, Bits<5>>,
}

impl Slope {
    pub const LATENCY: usize = 2;
}

impl Default for Slope {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            valid_in: Default::default(),
            v: Default::default(),
            s: Default::default(),
            z: Default::default(),
            valid_out: Default::default(),
            p1: Default::default(),
            v1: Default::default(),
            vl1: Default::default(),
            z2: Default::default(),
            vl2: Default::default(),
            half12: Constant::new(bits::<32>(1 << (SLOPE_FRAC - 1))),
            max16: Constant::new(bits::<16>(0x7FFF)),
            min16: Constant::new(bits::<16>(0x8000)),
            w2: Default::default(),
            top2: Default::default(),
        }
    }
}

impl Logic for Slope {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, p1, v1, vl1, z2, vl2);
        self.p1.d.next = self.v.val() * self.s.val();
        self.v1.d.next = unsigned_cast(self.v.val());
        self.vl1.d.next = self.valid_in.val();
        // `w >> 12` as one expression: a local holding all of `w` would leave 12 bits unused.
        self.w2.next = bit_cast::<20, 32>((unsigned_cast(self.p1.q.val()) + self.half12.val()) >> 12);
        // A 5-bit agreement test where two 32-bit compares were.
        self.top2.next = self.w2.val().get_bits::<5>(15);
        self.z2.d.next = self.v1.q.val();
        if self.v1.q.val().get_bit(15) {
            self.z2.d.next = self.w2.val().get_bits::<16>(0);
            if self.top2.val().any() & !self.top2.val().all() {
                self.z2.d.next = self.max16.val();
                if self.top2.val().get_bit(4) {
                    self.z2.d.next = self.min16.val();
                }
            }
        }
        self.vl2.d.next = self.vl1.q.val();
        self.z.next = signed_cast(self.z2.q.val());
        self.valid_out.next = self.vl2.q.val();
    }
}

impl crate::sim::Clocked for Slope {
    fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}

// ---------------------------------------------------------------------------------------------
// ConvPost

/// The end of a full-precision conv for one output (`fixed::conv`, §3):
/// `y = sat16(rnd(acc + bias, shift))`, then `z = y ≥ 0 ? y : sat16(rnd(y·slope, 12))` if
/// `slope_en`, else `z = y`.
///
/// | port        | type         | meaning                                                  |
/// |-------------|--------------|----------------------------------------------------------|
/// | `acc`       | `Bits<48>`   | Σ W·X (from [`MacLanes`]), two's complement              |
/// | `bias`      | `Bits<48>`   | Bq, two's complement; \|acc + bias\| < 2^47              |
/// | `shift`     | `Bits<6>`    | s, 0..=40                                                |
/// | `slope`     | `Signed<16>` | Q12 slope (any i16)                                      |
/// | `slope_en`  | `Bit`        | the layer has an activation                              |
/// | `result`    | `Signed<16>` | z                                                        |
///
/// Stages: 1–4. [`ConvRound`] ([`RoundSat`], the slope beside it); 5–6. [`Slope`], fed [`SLOPE_ONE`] (the identity) when
/// `slope_en` is low.
#[derive(LogicBlock, Default)]
pub struct ConvPost {
    pub clock: Signal<In, Clock>,
    pub valid_in: Signal<In, Bit>,
    pub acc: Signal<In, Bits<48>>,
    pub bias: Signal<In, Bits<48>>,
    pub shift: Signal<In, Bits<6>>,
    pub slope: Signal<In, Signed<16>>,
    pub slope_en: Signal<In, Bit>,
    pub result: Signal<Out, Signed<16>>,
    pub valid_out: Signal<Out, Bit>,
    round: ConvRound,
    act: Slope,
}

impl ConvPost {
    pub const LATENCY: usize = ConvRound::LATENCY + Slope::LATENCY;
}

impl Logic for ConvPost {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, round, act);
        self.round.valid_in.next = self.valid_in.val();
        self.round.acc.next = self.acc.val();
        self.round.bias.next = self.bias.val();
        self.round.shift.next = self.shift.val();
        self.round.slope.next = self.slope.val();
        self.round.slope_en.next = self.slope_en.val();
        // Stages 5–6.
        self.act.valid_in.next = self.round.valid_out.val();
        self.act.v.next = self.round.y.val();
        self.act.s.next = self.round.s.val();
        self.result.next = self.act.z.val();
        self.valid_out.next = self.act.valid_out.val();
    }
}

impl crate::sim::Clocked for ConvPost {
    fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}

// ---------------------------------------------------------------------------------------------
// InWord

/// The input word `x = rnd(p · k_in, 16)` (`fixed::input_word`, §2), truncated to 16 bits as the
/// model's `as i16` does (the contract keeps it inside i16).
///
/// | port        | type         | meaning                                                  |
/// |-------------|--------------|----------------------------------------------------------|
/// | `p`         | `Bits<8>`    | the pixel                                                |
/// | `k_in`      | `Bits<32>`   | K_in (the contract: ≤ 2^24; every value below 2^25 is exact) |
/// | `x`         | `Signed<16>` | X                                                        |
///
/// One SB_MAC16 where an 8×32 product would take two: `FixedNetwork::compile` rejects any K_in
/// with `255·K_in > 32767·2^16`, so K_in < 2^24 and its bits 25..=31 are never set. With
/// `k_in = 2^24·k24 + 2^8·kh + kl` (kh 16 bits, kl 8 bits) and `c = (p·kl + 2^15) >> 8`,
/// `(p·k_in + 2^15) >> 16 = (p·kh + 2^16·p·k24 + c) >> 8` exactly (the bits of `p·kl + 2^15`
/// below 8 cannot carry past bit 16 once the rest is a multiple of 2^8). `p·kl` is built in
/// logic from four radix-4 digits of kl, each selecting 0, p, 2p or 3p (one 10-bit add makes
/// 3p); `c` and `2^16·p·k24` occupy disjoint bits, so they reach the SB_MAC16's adder as one
/// operand. Stages: 1. the digits' rows in two partial sums, the operands registered; 2. `c`,
/// `p·kh` and the sum.
#[derive(LogicBlock)]
pub struct InWord {
    pub clock: Signal<In, Clock>,
    pub valid_in: Signal<In, Bit>,
    pub p: Signal<In, Bits<8>>,
    pub k_in: Signal<In, Bits<32>>,
    pub x: Signal<Out, Signed<16>>,
    pub valid_out: Signal<Out, Bit>,
    p1: DFF<Bits<16>>,
    kh1: DFF<Bits<16>>,
    /// The radix-4 rows of `p·kl + 2^15` summed in two halves.
    lo1: DFF<Bits<16>>,
    hi1: DFF<Bits<16>>,
    /// The addend's bits above `c`: `2^16·p·k24`, and bit 31 (below).
    top1: DFF<Bits<32>>,
    vl1: DFF<Bit>,
    x2: DFF<Bits<16>>,
    vl2: DFF<Bit>,
    half15: Constant<Bits<16>>,
    bit31: Constant<Bits<32>>,
    p3: Signal<Local, Bits<10>>,
    /// The radix-4 digits' multiples of p.
    q: [Signal<Local, Bits<10>>; 4],
    /// `(p·kl + 2^15) >> 8` (< 384).
    c: Signal<Local, Bits<9>>,
}

impl InWord {
    pub const LATENCY: usize = 2;
}

impl Default for InWord {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            valid_in: Default::default(),
            p: Default::default(),
            k_in: Default::default(),
            x: Default::default(),
            valid_out: Default::default(),
            p1: Default::default(),
            kh1: Default::default(),
            lo1: Default::default(),
            hi1: Default::default(),
            top1: Default::default(),
            vl1: Default::default(),
            x2: Default::default(),
            vl2: Default::default(),
            half15: Constant::new(bits::<16>(1 << 15)),
            bit31: Constant::new(bits::<32>(1 << 31)),
            p3: Default::default(),
            q: std::array::from_fn(|_| Default::default()),
            c: Default::default(),
        }
    }
}

impl Logic for InWord {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, p1, kh1, lo1, hi1, top1, vl1, x2, vl2);
        // Stage 1: c = (p·kl + 2^15) >> 8.
        self.p3.next = bit_cast::<10, 8>(self.p.val()) + (bit_cast::<10, 8>(self.p.val()) << 1);
        for j in 0..4 {
            self.q[j].next = 0.into();
            if self.k_in.val().get_bit(2 * j) {
                self.q[j].next = bit_cast::<10, 8>(self.p.val());
            }
            if self.k_in.val().get_bit(2 * j + 1) {
                self.q[j].next = bit_cast::<10, 8>(self.p.val()) << 1;
                if self.k_in.val().get_bit(2 * j) {
                    self.q[j].next = self.p3.val();
                }
            }
        }
        // The rows in two halves (the sum waits for stage 2, beside the multiply: the 3p adder,
        // the digit selects and two adder levels in one cycle ran at 34–38 MHz on the UP5K).
        // The first pair is below 2^12, so 2^15 joins it as an OR.
        self.lo1.d.next =
            (bit_cast::<16, 10>(self.q[0].val()) + (bit_cast::<16, 10>(self.q[1].val()) << 2)) | self.half15.val();
        self.hi1.d.next = (bit_cast::<16, 10>(self.q[2].val()) << 4) + (bit_cast::<16, 10>(self.q[3].val()) << 6);
        // 2^16·p·k24, and k_in's bits 25..=31 (zero in the contract) in the addend's bit 31,
        // which no bit of x depends on: the port keeps its 32 bits without leaving any unread.
        self.top1.d.next = 0.into();
        if self.k_in.val().get_bit(24) {
            self.top1.d.next = bit_cast::<32, 8>(self.p.val()) << 16;
        }
        if self.k_in.val().get_bits::<7>(25).any() {
            self.top1.d.next = self.bit31.val();
            if self.k_in.val().get_bit(24) {
                self.top1.d.next = (bit_cast::<32, 8>(self.p.val()) << 16) | self.bit31.val();
            }
        }
        self.p1.d.next = bit_cast::<16, 8>(self.p.val());
        self.kh1.d.next = self.k_in.val().get_bits::<16>(8);
        self.vl1.d.next = self.valid_in.val();
        // Stage 2: c = (p·kl + 2^15) >> 8 (disjoint from the bits of `top1`), and bits 8..=23
        // of p·kh + c + top1.
        self.c.next =
            bit_cast::<9, 17>((bit_cast::<17, 16>(self.lo1.q.val()) + bit_cast::<17, 16>(self.hi1.q.val())) >> 8);
        self.x2.d.next = bit_cast::<16, 32>(
            ((self.p1.q.val() * self.kh1.q.val()) + (self.top1.q.val() | bit_cast::<32, 9>(self.c.val()))) >> 8,
        );
        self.vl2.d.next = self.vl1.q.val();
        self.x.next = signed_cast(self.x2.q.val());
        self.valid_out.next = self.vl2.q.val();
    }
}

impl crate::sim::Clocked for InWord {
    fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}

// ---------------------------------------------------------------------------------------------
// PixelScale

/// The output pixel's last three stages, shared by [`OutPixel`] and [`OutPixel2`]:
/// `pixel = min(255, (W + 1) >> 1)` with `W = U' >> F` and `U' = 2U + r` (see [`OutPixel`] for
/// why this is `clamp(rnd(S'·k_out, 16 + F), 0, 255)`). Only 9 bits of `W` can give a pixel
/// below 255, so the shift by F keeps a 9-bit window and flags any set bit above it.
///
/// | port    | type       | meaning                                      |
/// |---------|------------|----------------------------------------------|
/// | `u`     | `Bits<32>` | U = floor(S'·k_out / 2^16), < 2^31           |
/// | `r`     | `Bit`      | bit 15 of S'·k_out                           |
/// | `frac`  | `Bits<4>`  | F (held, as [`OutPixel`]'s `frac`)           |
/// | `pixel` | `Bits<8>`  | the output byte, [`PixelScale::LATENCY`] cycles after `u` and `r` |
///
/// Stages: 1. the shift by F's steps of 8 and 4, 12 bits kept; 2. the steps of 2 and 1, 9 bits
/// kept; 3. the rounding and the clamp to 255.
#[derive(LogicBlock)]
pub struct PixelScale {
    pub clock: Signal<In, Clock>,
    pub u: Signal<In, Bits<32>>,
    pub r: Signal<In, Bit>,
    pub frac: Signal<In, Bits<4>>,
    pub pixel: Signal<Out, Bits<8>>,
    w_10: DFF<Bits<12>>,
    ov_10: DFF<Bit>,
    w_11: DFF<Bits<9>>,
    ov_11: DFF<Bit>,
    px_12: DFF<Bits<8>>,
    one10: Constant<Bits<10>>,
    one33: Constant<Bits<33>>,
    max8: Constant<Bits<8>>,
    up: Signal<Local, Bits<33>>,
    w8: Signal<Local, Bits<16>>,
    w4: Signal<Local, Bits<12>>,
    w2: Signal<Local, Bits<10>>,
    w1: Signal<Local, Bits<9>>,
}

impl PixelScale {
    pub const LATENCY: usize = 3;
}

impl Default for PixelScale {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            u: Default::default(),
            r: Default::default(),
            frac: Default::default(),
            pixel: Default::default(),
            w_10: Default::default(),
            ov_10: Default::default(),
            w_11: Default::default(),
            ov_11: Default::default(),
            px_12: Default::default(),
            one10: Constant::new(bits::<10>(1)),
            one33: Constant::new(bits::<33>(1)),
            max8: Constant::new(bits::<8>(0xFF)),
            up: Default::default(),
            w8: Default::default(),
            w4: Default::default(),
            w2: Default::default(),
            w1: Default::default(),
        }
    }
}

impl Logic for PixelScale {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, w_10, ov_10, w_11, ov_11, px_12);
        // Stage 1: the steps by 8 and 4 of U' = 2U + r; a set bit dropped above the 12 kept
        // makes the pixel 255.
        self.up.next = bit_cast::<33, 32>(self.u.val()) << 1;
        if self.r.val() {
            self.up.next = (bit_cast::<33, 32>(self.u.val()) << 1) | self.one33.val();
        }
        self.w8.next = self.up.val().get_bits::<16>(0);
        self.ov_10.d.next = self.up.val().get_bits::<17>(16).any();
        if self.frac.val().get_bit(3) {
            self.w8.next = self.up.val().get_bits::<16>(8);
            self.ov_10.d.next = self.up.val().get_bits::<9>(24).any();
        }
        self.w4.next = self.w8.val().get_bits::<12>(4);
        if !self.frac.val().get_bit(2) {
            self.w4.next = self.w8.val().get_bits::<12>(0);
            if self.w8.val().get_bits::<4>(12).any() {
                self.ov_10.d.next = true;
            }
        }
        self.w_10.d.next = self.w4.val();

        // Stage 2: the steps by 2 and 1, 9 bits kept.
        self.ov_11.d.next = self.ov_10.q.val();
        self.w2.next = self.w_10.q.val().get_bits::<10>(2);
        if !self.frac.val().get_bit(1) {
            self.w2.next = self.w_10.q.val().get_bits::<10>(0);
            if self.w_10.q.val().get_bits::<2>(10).any() {
                self.ov_11.d.next = true;
            }
        }
        self.w1.next = self.w2.val().get_bits::<9>(1);
        if !self.frac.val().get_bit(0) {
            self.w1.next = self.w2.val().get_bits::<9>(0);
            if self.w2.val().get_bit(9) {
                self.ov_11.d.next = true;
            }
        }
        self.w_11.d.next = self.w1.val();

        // Stage 3: (W + 1) >> 1, 256 (W = 511) and beyond clamped to 255.
        self.px_12.d.next = bit_cast::<8, 10>((bit_cast::<10, 9>(self.w_11.q.val()) + self.one10.val()) >> 1);
        if self.ov_11.q.val() | self.w_11.q.val().all() {
            self.px_12.d.next = self.max8.val();
        }
        self.pixel.next = self.px_12.q.val();
    }
}

impl crate::sim::Clocked for PixelScale {
    fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}

// ---------------------------------------------------------------------------------------------
// OutPixel

/// The output stage of `fixed::finish` for one value (§6):
///
/// ```text
/// T     = rnd(acc + bias, shift)                                  (wide, not saturated)
/// G     = rnd(a0·(b0·x00 + b1·x01) + a1·(b0·x10 + b1·x11), 16)     a0 = 256 − a1, b0 = 256 − b1
/// S     = subtract ? x00 − T : T + G
/// pixel = clamp(rnd(S · k_out, 16 + frac), 0, 255)
/// ```
///
/// | port        | type         | meaning                                                   |
/// |-------------|--------------|-----------------------------------------------------------|
/// | `acc`       | `Bits<48>`   | the tail conv's Σ W·X, two's complement                   |
/// | `bias`      | `Bits<48>`   | its Bq; \|acc + bias\| < 2^47                             |
/// | `shift`     | `Bits<6>`    | its s, 0..=40                                             |
/// | `subtract`  | `Bit`        | DnCNN (`S = X − T`, X = `x00`); the bilinear inputs other than `x00` are then don't-care |
/// | `x00`…`x11` | `Signed<16>` | the four input words of the bilinear tap (row, column): 0..=32767 (below) |
/// | `a1`, `b1`  | `Bits<9>`    | Q8 row and column weights, 0..=256                        |
/// | `k_out`     | `Bits<32>`   | K_out (the contract: ≤ 2^24; any 32-bit value works)      |
/// | `frac`      | `Bits<4>`    | F, 0..=12 (any 0..=15 works)                              |
/// | `pixel`     | `Bits<8>`    | the output byte                                           |
///
/// `k_out` and `frac` are per-model settings, read at the stages that use them (8–9 and 10–11),
/// not carried down the pipeline: they must hold while values are in flight, as they do in the
/// engine for a whole strip. (Delay lines for them would cost about 300 flip-flops.)
///
/// The ranges the contract gives, and what each one saves:
///
/// - **The input words are 0..=32767.** They are `X = rnd(p·K_in, 16)` (§2) with p, K_in ≥ 0,
///   and `FixedNetwork::compile` rejects any K_in with `255·K_in > 32767·2^16`. So `G`, a
///   weighted mean of them, is 0..=32767 too, and `x_i1 − x_i0` fits i16.
/// - **`S` is clamped to [0, 32767] before the multiply**, which changes no pixel whenever
///   `rnd(32767 · k_out, 16 + frac) ≥ 255` ([`OutPixel::clamp_is_exact`]): `S ≤ 0` gives 0
///   either way, and the pixel is non-decreasing in `S`, so every `S > 32767` gives 255 like
///   32767 does. That holds for every network `FixedNetwork::compile` accepts, `--frac`
///   overrides included: with `K_in = round(k·2^(F+16)/255)`, `255·K_in ≤ 32767·2^16` gives
///   `k·2^F ≤ 32767 + 2^-9`; with `K_out ≥ 255·2^16/k − 1/2`,
///   `32767·K_out / 2^(16+F) ≥ 32767·255/(k·2^F) − 32767/2^(17+F) > 254.99 − 0.25 > 254.5`.
///   The test suite checks the bound at the extremes of `k` for every F.
/// - **`T` is saturated to i16** ([`RoundSat`]): with `G` and `X` in 0..=32767, `T ≥ 32767`
///   puts `T + G` at or above the clamp and `X − T` at or below 0, whichever it is exactly, and
///   `T ≤ −32768` does the opposite; so only the 17-bit window of the rounding is shifted.
///
/// How the products fit 16×16 multipliers, each with its adder in the SB_MAC16's own 32-bit
/// adder (Yosys packs a product, an add of another operand and a register into one cell):
///
/// - `h_i + 128 = b1·d_i + (256·x_i0 + 128)`, `d_i = x_i1 − x_i0` (i16, b1 ≤ 256): one signed
///   16×16 per row; `h_i = b0·x_i0 + b1·x_i1` is 0..=256·32767, and the 128 is the rounding
///   half of the final `>> 16` brought forward (below);
/// - `N = a0·h0 + a1·h1 = 256·h0 + a1·e`, `e = h1 − h0` (\|e\| < 2^23), split as
///   `e = 256·eh + el` (`eh` i16, `el` 8 bits): `M = a1·eh + (h0 + 128)` and then
///   `N + 2^15 = a1·el + 256·M`, a signed and an unsigned 16×16. `N` is a weighted mean of the x
///   times 2^16, 0..=2^16·32767, so `N + 2^15 < 2^31` and `G` is its bits 16..=30;
/// - with `subtract`, the weights are forced to 0, so `G = rnd(2^16·x00, 16) = x00` and the same
///   path carries X;
/// - `S'·k_out` (`S'` the clamped S) `= S'·kl + 2^16·S'·kh`: `U = S'·kh + (S'·kl >> 16)` is
///   `floor(S'·k_out / 2^16)` (< 2^31), and with bit 15 of `S'·kl` beside it,
///   `U' = floor(S'·k_out / 2^15)`. Then `pixel = min(255, (W + 1) >> 1)` with `W = U' >> F`,
///   since `floor((S'·k_out + 2^(15+F)) / 2^(16+F)) = floor((U' + 2^F) / 2^(F+1))`. Only 9 bits
///   of `W` can give a pixel below 255, so the shift by F keeps a 9-bit window and flags any
///   set bit above it.
///
/// Stages: 1–4. `T` ([`RoundSat`]); 1. `d_i`; 2. `h_i + 128`; 3. `e`; 4. `M`; 5. `N + 2^15`;
/// 6. `S`; 7. `S'`; 8. `S'·kl`; 9. `U`; 10. the shift by F's steps of 8 and 4; 11. the steps
/// of 2 and 1; 12. the rounding and the clamp to 255. Six SB_MAC16.
#[derive(LogicBlock)]
pub struct OutPixel {
    pub clock: Signal<In, Clock>,
    pub valid_in: Signal<In, Bit>,
    pub acc: Signal<In, Bits<48>>,
    pub bias: Signal<In, Bits<48>>,
    pub shift: Signal<In, Bits<6>>,
    pub subtract: Signal<In, Bit>,
    pub x00: Signal<In, Signed<16>>,
    pub x01: Signal<In, Signed<16>>,
    pub x10: Signal<In, Signed<16>>,
    pub x11: Signal<In, Signed<16>>,
    pub a1: Signal<In, Bits<9>>,
    pub b1: Signal<In, Bits<9>>,
    pub k_out: Signal<In, Bits<32>>,
    pub frac: Signal<In, Bits<4>>,
    pub pixel: Signal<Out, Bits<8>>,
    pub valid_out: Signal<Out, Bit>,
    round: RoundSat,
    scale: PixelScale,
    // Side pipelines: the flag to stage 6, valid from the rounding's output to the end.
    sub: [DFF<Bit>; 5],
    vl: [DFF<Bit>; 8],
    // Bilinear path.
    d0_1: DFF<Signed<16>>,
    d1_1: DFF<Signed<16>>,
    c0_1: DFF<Bits<32>>,
    c1_1: DFF<Bits<32>>,
    a1_1: DFF<Bits<16>>,
    b1_1: DFF<Signed<16>>,
    h0_2: DFF<Bits<32>>,
    h1_2: DFF<Bits<32>>,
    a1_2: DFF<Bits<16>>,
    e_3: DFF<Bits<24>>,
    h0_3: DFF<Bits<24>>,
    a1_3: DFF<Bits<16>>,
    m_4: DFF<Bits<32>>,
    el_4: DFF<Bits<16>>,
    a1_4: DFF<Bits<16>>,
    /// G: bits 16..=30 of N + 2^15.
    g_5: DFF<Bits<15>>,
    t_5: DFF<Bits<16>>,
    // S and the pixel.
    s_6: DFF<Bits<18>>,
    sc_7: DFF<Bits<16>>,
    pl_8: DFF<Bits<32>>,
    sc_8: DFF<Bits<16>>,
    u_9: DFF<Bits<32>>,
    r_9: DFF<Bit>,
    // Constants.
    half8: Constant<Bits<32>>,
    hi2_18: Constant<Bits<18>>,
    max15: Constant<Bits<16>>,
    // Combinational locals.
    a1e: Signal<Local, Bits<9>>,
    b1e: Signal<Local, Bits<9>>,
    p0: Signal<Local, Signed<32>>,
    p1: Signal<Local, Signed<32>>,
    eh: Signal<Local, Signed<16>>,
    a1s: Signal<Local, Signed<16>>,
    pm: Signal<Local, Signed<32>>,
    pn: Signal<Local, Bits<32>>,
    gx: Signal<Local, Bits<18>>,
    tx: Signal<Local, Bits<18>>,
}

impl OutPixel {
    pub const LATENCY: usize = 12;

    /// Whether clamping `S` to [0, 32767] changes no pixel for these constants (see the type's
    /// documentation): `k_out = 0` makes every pixel 0; otherwise the pixel at 32767 must be 255.
    pub fn clamp_is_exact(k_out: u32, frac: u32) -> bool {
        let sh = 16 + frac;
        k_out == 0 || (32767u64 * k_out as u64 + (1u64 << (sh - 1))) >> sh >= 255
    }
}

impl Default for OutPixel {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            valid_in: Default::default(),
            acc: Default::default(),
            bias: Default::default(),
            shift: Default::default(),
            subtract: Default::default(),
            x00: Default::default(),
            x01: Default::default(),
            x10: Default::default(),
            x11: Default::default(),
            a1: Default::default(),
            b1: Default::default(),
            k_out: Default::default(),
            frac: Default::default(),
            pixel: Default::default(),
            valid_out: Default::default(),
            round: Default::default(),
            scale: Default::default(),
            sub: std::array::from_fn(|_| Default::default()),
            vl: std::array::from_fn(|_| Default::default()),
            d0_1: Default::default(),
            d1_1: Default::default(),
            c0_1: Default::default(),
            c1_1: Default::default(),
            a1_1: Default::default(),
            b1_1: Default::default(),
            h0_2: Default::default(),
            h1_2: Default::default(),
            a1_2: Default::default(),
            e_3: Default::default(),
            h0_3: Default::default(),
            a1_3: Default::default(),
            m_4: Default::default(),
            el_4: Default::default(),
            a1_4: Default::default(),
            g_5: Default::default(),
            t_5: Default::default(),
            s_6: Default::default(),
            sc_7: Default::default(),
            pl_8: Default::default(),
            sc_8: Default::default(),
            u_9: Default::default(),
            r_9: Default::default(),
            half8: Constant::new(bits::<32>(128)),
            hi2_18: Constant::new(bits::<18>(0x3_0000)),
            max15: Constant::new(bits::<16>(0x7FFF)),
            a1e: Default::default(),
            b1e: Default::default(),
            p0: Default::default(),
            p1: Default::default(),
            eh: Default::default(),
            a1s: Default::default(),
            pm: Default::default(),
            pn: Default::default(),
            gx: Default::default(),
            tx: Default::default(),
        }
    }
}

impl Logic for OutPixel {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(
            self, clock, round, scale, d0_1, d1_1, c0_1, c1_1, a1_1, b1_1, h0_2, h1_2, a1_2, e_3, h0_3, a1_3, m_4,
            el_4, a1_4, g_5, t_5, s_6, sc_7, pl_8, sc_8, u_9, r_9
        );
        for i in 0..5 {
            self.sub[i].clock.next = self.clock.val();
        }
        for i in 0..8 {
            self.vl[i].clock.next = self.clock.val();
        }
        self.sub[0].d.next = self.subtract.val();
        for i in 1..5 {
            self.sub[i].d.next = self.sub[i - 1].q.val();
        }
        self.vl[0].d.next = self.round.valid_out.val();
        for i in 1..8 {
            self.vl[i].d.next = self.vl[i - 1].q.val();
        }

        // Stages 1–4 of T.
        self.round.valid_in.next = self.valid_in.val();
        self.round.acc.next = self.acc.val();
        self.round.bias.next = self.bias.val();
        self.round.shift.next = self.shift.val();

        // Stage 1: d_i (i16: the words are non-negative), the addends 256·x_i0 + 128.
        self.a1e.next = self.a1.val();
        self.b1e.next = self.b1.val();
        if self.subtract.val() {
            self.a1e.next = 0.into();
            self.b1e.next = 0.into();
        }
        self.d0_1.d.next = signed_cast(unsigned_cast(self.x01.val()) - unsigned_cast(self.x00.val()));
        self.d1_1.d.next = signed_cast(unsigned_cast(self.x11.val()) - unsigned_cast(self.x10.val()));
        self.c0_1.d.next = (bit_cast::<32, 16>(unsigned_cast(self.x00.val())) << 8) | self.half8.val();
        self.c1_1.d.next = (bit_cast::<32, 16>(unsigned_cast(self.x10.val())) << 8) | self.half8.val();
        self.a1_1.d.next = bit_cast::<16, 9>(self.a1e.val());
        self.b1_1.d.next = signed_cast(bit_cast::<16, 9>(self.b1e.val()));

        // Stage 2: h_i + 128. The products go through locals: inside `$unsigned(…)` Verilog
        // would size them to 16 bits.
        self.p0.next = self.b1_1.q.val() * self.d0_1.q.val();
        self.p1.next = self.b1_1.q.val() * self.d1_1.q.val();
        self.h0_2.d.next = unsigned_cast(self.p0.val()) + self.c0_1.q.val();
        self.h1_2.d.next = unsigned_cast(self.p1.val()) + self.c1_1.q.val();
        self.a1_2.d.next = self.a1_1.q.val();

        // Stage 3: e = h1 − h0.
        self.e_3.d.next = bit_cast::<24, 32>(self.h1_2.q.val() - self.h0_2.q.val());
        self.h0_3.d.next = bit_cast::<24, 32>(self.h0_2.q.val());
        self.a1_3.d.next = self.a1_2.q.val();

        // Stage 4: M = a1·eh + h0 + 128.
        self.a1s.next = signed_cast(self.a1_3.q.val());
        self.eh.next = signed_cast(self.e_3.q.val().get_bits::<16>(8));
        self.pm.next = self.a1s.val() * self.eh.val();
        self.m_4.d.next = unsigned_cast(self.pm.val()) + bit_cast::<32, 24>(self.h0_3.q.val());
        self.el_4.d.next = bit_cast::<16, 8>(self.e_3.q.val().get_bits::<8>(0));
        self.a1_4.d.next = self.a1_3.q.val();

        // Stage 5: N + 2^15 = a1·el + 256·M; T beside it.
        self.pn.next = self.a1_4.q.val() * self.el_4.q.val();
        self.g_5.d.next = bit_cast::<15, 32>((self.pn.val() + (self.m_4.q.val() << 8)) >> 16);
        self.t_5.d.next = self.round.y.val();

        // Stage 6: S = G ± T in 18 bits (G 0..=32767, T i16).
        self.gx.next = bit_cast::<18, 15>(self.g_5.q.val());
        self.tx.next = bit_cast::<18, 16>(self.t_5.q.val());
        if self.t_5.q.val().get_bit(15) {
            self.tx.next = bit_cast::<18, 16>(self.t_5.q.val()) | self.hi2_18.val();
        }
        self.s_6.d.next = self.gx.val() + self.tx.val();
        if self.sub[4].q.val() {
            self.s_6.d.next = self.gx.val() - self.tx.val();
        }

        // Stage 7: S' = clamp(S, 0, 32767).
        self.sc_7.d.next = bit_cast::<16, 15>(self.s_6.q.val().get_bits::<15>(0));
        if self.s_6.q.val().get_bit(17) {
            self.sc_7.d.next = 0.into();
        } else if self.s_6.q.val().get_bits::<2>(15).any() {
            self.sc_7.d.next = self.max15.val();
        }

        // Stage 8: S'·kl.
        self.pl_8.d.next = self.sc_7.q.val() * self.k_out.val().get_bits::<16>(0);
        self.sc_8.d.next = self.sc_7.q.val();

        // Stage 9: U = S'·kh + (S'·kl >> 16), and bit 15 of S'·kl: U' = 2U + that bit.
        self.u_9.d.next = (self.sc_8.q.val() * self.k_out.val().get_bits::<16>(16)) + (self.pl_8.q.val() >> 16);
        self.r_9.d.next = self.pl_8.q.val().get_bit(15);

        // The last three stages: W = U' >> F, rounded and clamped.
        self.scale.u.next = self.u_9.q.val();
        self.scale.r.next = self.r_9.q.val();
        self.scale.frac.next = self.frac.val();
        self.pixel.next = self.scale.pixel.val();
        self.valid_out.next = self.vl[7].q.val();
    }
}

impl crate::sim::Clocked for OutPixel {
    fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}

// ---------------------------------------------------------------------------------------------
// OutPixel2

/// [`OutPixel`] on two multipliers where it has six, for an engine that feeds it **at most one
/// value every [`OutPixel2::SPACING`] = 4 cycles** (the UP5K's engine reads the four bilinear
/// words from its single-port input ring, one a cycle). Same ports, latency and results as
/// [`OutPixel`] (whose documentation gives the arithmetic); `k_out` and `frac` are read where
/// they are used, as there.
///
/// The six products of a value are spread over cycles in which no other value needs the same
/// multiplier: multiplier A does the bilinear blend in four consecutive cycles, B the ×k_out in
/// two, and values 4 cycles apart never overlap on either. Counting cycles from the one whose
/// inputs are sampled (0):
///
/// | cycle | A computes (into `ra`)                 | B computes (into `rb`)         |
/// |-------|----------------------------------------|--------------------------------|
/// | 1     | `h0 + 128 = b1·d0 + (256·x00 + 128)`   |                                |
/// | 2     | `e = 2b1·dh + (256·(x10 − x00) + b1·dl)` |                              |
/// | 3     | `M = a1·eh + (h0 + 128)`               |                                |
/// | 4     | `N + 2^15 = a1·el + 256·ra`            |                                |
/// | 7     |                                        | `S'·kl`                        |
/// | 8     |                                        | `U = S'·kh + (rb >> 16)`       |
///
/// `e = h1 − h0 = b1·(d1 − d0) + 256·(x10 − x00)` in one product without waiting for `h0`:
/// `d1 − d0` (17 bits) is `2·dh + dl`, `dh` i16 and `dl` its low bit, and both addends come from
/// registers (an addend computed from `ra` put a 32-bit subtraction before the multiplier:
/// 39 MHz). Only `e mod 2^24` is used (its bits 0..=23 are `el` and `eh`), so its addend is 24
/// bits. The inputs are registered only with `valid_in`, so they hold until the next value
/// (whose own first use is 4 cycles on), and so do the registers computed from them; A's
/// operands are all in 0..=512 or i16, so one signed multiplier serves all four steps (`a1·el`
/// is non-negative either way).
/// Stages 5–12 and `T` are [`OutPixel`]'s, with `G` read from `ra` and `U` from `rb`.
///
/// In every other cycle B is lent out: `ext_p` is bits 8..=23 of `ext_x·ext_y + ext_add` of the
/// cycle before (B's register), in any cycle that does not follow a value's cycle 7 or 8. The
/// UP5K's engine runs its input word's multiply there ([`InWordB`]): it converts input bytes
/// only while no output pixel is in flight.
///
/// The rounding is lent too: `t_only` feeds a value (`acc`, `bias`, `shift`) to the rounding
/// alone, and `t` is `sat16(rnd(acc + bias, shift))` [`RoundSat::LATENCY`] cycles after any
/// value (`t_valid`), which is [`ConvRound`]'s `y`. The UP5K's engine rounds its
/// full-precision convs' outputs here (one op runs at a time, so the tail's pixels and a
/// conv's outputs are never in flight together; the caller keeps them apart).
#[derive(LogicBlock)]
pub struct OutPixel2 {
    pub clock: Signal<In, Clock>,
    pub valid_in: Signal<In, Bit>,
    pub acc: Signal<In, Bits<48>>,
    pub bias: Signal<In, Bits<48>>,
    pub shift: Signal<In, Bits<6>>,
    pub subtract: Signal<In, Bit>,
    pub x00: Signal<In, Signed<16>>,
    pub x01: Signal<In, Signed<16>>,
    pub x10: Signal<In, Signed<16>>,
    pub x11: Signal<In, Signed<16>>,
    pub a1: Signal<In, Bits<9>>,
    pub b1: Signal<In, Bits<9>>,
    pub k_out: Signal<In, Bits<32>>,
    pub frac: Signal<In, Bits<4>>,
    pub pixel: Signal<Out, Bits<8>>,
    pub valid_out: Signal<Out, Bit>,
    pub ext_x: Signal<In, Bits<16>>,
    pub ext_y: Signal<In, Bits<16>>,
    pub ext_add: Signal<In, Bits<32>>,
    pub ext_p: Signal<Out, Bits<16>>,
    pub t_only: Signal<In, Bit>,
    pub t: Signal<Out, Signed<16>>,
    pub t_valid: Signal<Out, Bit>,
    round: RoundSat,
    scale: PixelScale,
    /// `valid_in` delayed 1..=12 cycles: which step each multiplier takes, and `valid_out`.
    vp: [DFF<Bit>; 12],
    sub: [DFF<Bit>; 5],
    // Held from one valid input to the next.
    d0_1: DFF<Bits<17>>,
    d1_1: DFF<Bits<17>>,
    x00_1: DFF<Bits<16>>,
    x10_1: DFF<Bits<16>>,
    a1_1: DFF<Bits<9>>,
    b1_1: DFF<Bits<9>>,
    sc_7: DFF<Bits<16>>,
    /// `dh` and `256·(x10 − x00) + b1·dl` (mod 2^24), from the held inputs.
    dh_2: DFF<Bits<16>>,
    ae_2: DFF<Bits<24>>,
    // The multipliers' results, and what a later step still needs of an earlier one.
    ra: DFF<Bits<32>>,
    h0_3: DFF<Bits<24>>,
    el_4: DFF<Bits<8>>,
    rb: DFF<Bits<32>>,
    r_9: DFF<Bit>,
    t_5: DFF<Bits<16>>,
    s_6: DFF<Bits<18>>,
    half8: Constant<Bits<32>>,
    hi2_18: Constant<Bits<18>>,
    max15: Constant<Bits<16>>,
    a1e: Signal<Local, Bits<9>>,
    b1e: Signal<Local, Bits<9>>,
    dd: Signal<Local, Bits<17>>,
    bl: Signal<Local, Bits<9>>,
    dx: Signal<Local, Bits<16>>,
    xa: Signal<Local, Signed<16>>,
    ya: Signal<Local, Signed<16>>,
    adda: Signal<Local, Bits<32>>,
    pa: Signal<Local, Signed<32>>,
    xb: Signal<Local, Bits<16>>,
    kb: Signal<Local, Bits<16>>,
    addb: Signal<Local, Bits<32>>,
    gx: Signal<Local, Bits<18>>,
    tx: Signal<Local, Bits<18>>,
}

impl OutPixel2 {
    pub const LATENCY: usize = OutPixel::LATENCY;
    /// The fewest cycles between two values (`valid_in` high at most once in any 4 cycles).
    pub const SPACING: usize = 4;
}

impl Default for OutPixel2 {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            valid_in: Default::default(),
            acc: Default::default(),
            bias: Default::default(),
            shift: Default::default(),
            subtract: Default::default(),
            x00: Default::default(),
            x01: Default::default(),
            x10: Default::default(),
            x11: Default::default(),
            a1: Default::default(),
            b1: Default::default(),
            k_out: Default::default(),
            frac: Default::default(),
            pixel: Default::default(),
            valid_out: Default::default(),
            ext_x: Default::default(),
            ext_y: Default::default(),
            ext_add: Default::default(),
            ext_p: Default::default(),
            t_only: Default::default(),
            t: Default::default(),
            t_valid: Default::default(),
            round: Default::default(),
            scale: Default::default(),
            vp: std::array::from_fn(|_| Default::default()),
            sub: std::array::from_fn(|_| Default::default()),
            d0_1: Default::default(),
            d1_1: Default::default(),
            x00_1: Default::default(),
            x10_1: Default::default(),
            a1_1: Default::default(),
            b1_1: Default::default(),
            sc_7: Default::default(),
            dh_2: Default::default(),
            ae_2: Default::default(),
            ra: Default::default(),
            h0_3: Default::default(),
            el_4: Default::default(),
            rb: Default::default(),
            r_9: Default::default(),
            t_5: Default::default(),
            s_6: Default::default(),
            half8: Constant::new(bits::<32>(128)),
            hi2_18: Constant::new(bits::<18>(0x3_0000)),
            max15: Constant::new(bits::<16>(0x7FFF)),
            a1e: Default::default(),
            b1e: Default::default(),
            dd: Default::default(),
            bl: Default::default(),
            dx: Default::default(),
            xa: Default::default(),
            ya: Default::default(),
            adda: Default::default(),
            pa: Default::default(),
            xb: Default::default(),
            kb: Default::default(),
            addb: Default::default(),
            gx: Default::default(),
            tx: Default::default(),
        }
    }
}

impl Logic for OutPixel2 {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(
            self, clock, round, scale, d0_1, d1_1, x00_1, x10_1, a1_1, b1_1, sc_7, dh_2, ae_2, ra, h0_3, el_4, rb, r_9,
            t_5, s_6
        );
        for i in 0..12 {
            self.vp[i].clock.next = self.clock.val();
        }
        for i in 0..5 {
            self.sub[i].clock.next = self.clock.val();
        }
        self.vp[0].d.next = self.valid_in.val();
        for i in 1..12 {
            self.vp[i].d.next = self.vp[i - 1].q.val();
        }
        self.sub[0].d.next = self.subtract.val();
        for i in 1..5 {
            self.sub[i].d.next = self.sub[i - 1].q.val();
        }

        self.round.valid_in.next = self.valid_in.val() | self.t_only.val();
        self.round.acc.next = self.acc.val();
        self.round.bias.next = self.bias.val();
        self.round.shift.next = self.shift.val();

        // Cycle 0: d_i (in 17 bits: the words are 0..=32767), x00, x10, the weights (0 with
        // `subtract`), held.
        self.a1e.next = self.a1.val();
        self.b1e.next = self.b1.val();
        if self.subtract.val() {
            self.a1e.next = 0.into();
            self.b1e.next = 0.into();
        }
        self.d0_1.d.next = self.d0_1.q.val();
        self.d1_1.d.next = self.d1_1.q.val();
        self.x00_1.d.next = self.x00_1.q.val();
        self.x10_1.d.next = self.x10_1.q.val();
        self.a1_1.d.next = self.a1_1.q.val();
        self.b1_1.d.next = self.b1_1.q.val();
        if self.valid_in.val() {
            self.d0_1.d.next =
                bit_cast::<17, 16>(unsigned_cast(self.x01.val())) - bit_cast::<17, 16>(unsigned_cast(self.x00.val()));
            self.d1_1.d.next =
                bit_cast::<17, 16>(unsigned_cast(self.x11.val())) - bit_cast::<17, 16>(unsigned_cast(self.x10.val()));
            self.x00_1.d.next = unsigned_cast(self.x00.val());
            self.x10_1.d.next = unsigned_cast(self.x10.val());
            self.a1_1.d.next = self.a1e.val();
            self.b1_1.d.next = self.b1e.val();
        }

        // Cycle 1 (and on, while the inputs hold): e's operands.
        self.dd.next = self.d1_1.q.val() - self.d0_1.q.val();
        self.dh_2.d.next = self.dd.val().get_bits::<16>(1);
        self.bl.next = 0.into();
        if self.dd.val().get_bit(0) {
            self.bl.next = self.b1_1.q.val();
        }
        // 256·(x10 − x00) + b1·dl: bits 0..=7 are b1·dl's alone.
        self.dx.next = self.x10_1.q.val() - self.x00_1.q.val() + bit_cast::<16, 1>(self.bl.val().get_bits::<1>(8));
        self.ae_2.d.next = (bit_cast::<24, 16>(self.dx.val()) << 8) | bit_cast::<24, 8>(self.bl.val().get_bits::<8>(0));

        // Multiplier A, cycles 1–4 (cycle 1 is also its idle choice).
        self.xa.next = signed_cast(bit_cast::<16, 9>(self.b1_1.q.val()));
        self.ya.next = signed_cast(self.d0_1.q.val().get_bits::<16>(0));
        self.adda.next = (bit_cast::<32, 16>(self.x00_1.q.val()) << 8) | self.half8.val();
        if self.vp[1].q.val() {
            self.xa.next = signed_cast(bit_cast::<16, 9>(self.b1_1.q.val()) << 1);
            self.ya.next = signed_cast(self.dh_2.q.val());
            self.adda.next = bit_cast::<32, 24>(self.ae_2.q.val());
        }
        if self.vp[2].q.val() {
            self.xa.next = signed_cast(bit_cast::<16, 9>(self.a1_1.q.val()));
            self.ya.next = signed_cast(self.ra.q.val().get_bits::<16>(8));
            self.adda.next = bit_cast::<32, 24>(self.h0_3.q.val());
        }
        // Cycle 4 (`vp[3]`; the rounding's valid also marks `t_only` values).
        if self.vp[3].q.val() {
            self.xa.next = signed_cast(bit_cast::<16, 9>(self.a1_1.q.val()));
            self.ya.next = signed_cast(bit_cast::<16, 8>(self.el_4.q.val()));
            self.adda.next = self.ra.q.val() << 8;
        }
        // The product through a local: inside `$unsigned(…)` Verilog would size it to 16 bits.
        self.pa.next = self.xa.val() * self.ya.val();
        self.ra.d.next = unsigned_cast(self.pa.val()) + self.adda.val();
        self.h0_3.d.next = self.ra.q.val().get_bits::<24>(0);
        self.el_4.d.next = self.ra.q.val().get_bits::<8>(0);

        // Cycle 4: T beside N. Cycle 5: S = G ± T in 18 bits, G = bits 16..=30 of N + 2^15.
        self.t_5.d.next = self.round.y.val();
        self.gx.next = bit_cast::<18, 15>(self.ra.q.val().get_bits::<15>(16));
        self.tx.next = bit_cast::<18, 16>(self.t_5.q.val());
        if self.t_5.q.val().get_bit(15) {
            self.tx.next = bit_cast::<18, 16>(self.t_5.q.val()) | self.hi2_18.val();
        }
        self.s_6.d.next = self.gx.val() + self.tx.val();
        if self.sub[4].q.val() {
            self.s_6.d.next = self.gx.val() - self.tx.val();
        }

        // Cycle 6: S' = clamp(S, 0, 32767), held for both of B's steps.
        self.sc_7.d.next = self.sc_7.q.val();
        if self.vp[5].q.val() {
            self.sc_7.d.next = bit_cast::<16, 15>(self.s_6.q.val().get_bits::<15>(0));
            if self.s_6.q.val().get_bit(17) {
                self.sc_7.d.next = 0.into();
            } else if self.s_6.q.val().get_bits::<2>(15).any() {
                self.sc_7.d.next = self.max15.val();
            }
        }

        // Multiplier B, cycles 7–8: S'·kl, then U = S'·kh + (S'·kl >> 16) and bit 15 of S'·kl;
        // lent out otherwise.
        self.xb.next = self.ext_x.val();
        self.kb.next = self.ext_y.val();
        self.addb.next = self.ext_add.val();
        if self.vp[6].q.val() {
            self.xb.next = self.sc_7.q.val();
            self.kb.next = self.k_out.val().get_bits::<16>(0);
            self.addb.next = 0.into();
        }
        if self.vp[7].q.val() {
            self.xb.next = self.sc_7.q.val();
            self.kb.next = self.k_out.val().get_bits::<16>(16);
            self.addb.next = self.rb.q.val() >> 16;
        }
        self.rb.d.next = (self.xb.val() * self.kb.val()) + self.addb.val();
        self.ext_p.next = self.rb.q.val().get_bits::<16>(8);
        self.r_9.d.next = self.rb.q.val().get_bit(15);

        // The last three stages: W = U' >> F, rounded and clamped.
        self.scale.u.next = self.rb.q.val();
        self.scale.r.next = self.r_9.q.val();
        self.scale.frac.next = self.frac.val();
        self.pixel.next = self.scale.pixel.val();
        self.valid_out.next = self.vp[11].q.val();
        self.t.next = signed_cast(self.round.y.val());
        self.t_valid.next = self.round.valid_out.val();
    }
}

impl crate::sim::Clocked for OutPixel2 {
    fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}

// ---------------------------------------------------------------------------------------------
// InWordB

/// [`InWord`] with its multiply on a lent multiplier ([`OutPixel2`]'s B): the same ports,
/// latency and results, plus the loan's. In the cycle after an input is sampled it presents
/// `mx·my + madd` (`p·kh` and the addend of [`InWord`]'s stage 2), and in the cycle after
/// that it reads X, bits 8..=23 of the registered result, on `mp`.
#[derive(LogicBlock)]
pub struct InWordB {
    pub clock: Signal<In, Clock>,
    pub valid_in: Signal<In, Bit>,
    pub p: Signal<In, Bits<8>>,
    pub k_in: Signal<In, Bits<32>>,
    pub x: Signal<Out, Signed<16>>,
    pub valid_out: Signal<Out, Bit>,
    pub mx: Signal<Out, Bits<16>>,
    pub my: Signal<Out, Bits<16>>,
    pub madd: Signal<Out, Bits<32>>,
    pub mp: Signal<In, Bits<16>>,
    p1: DFF<Bits<16>>,
    kh1: DFF<Bits<16>>,
    lo1: DFF<Bits<16>>,
    hi1: DFF<Bits<16>>,
    top1: DFF<Bits<32>>,
    vl1: DFF<Bit>,
    vl2: DFF<Bit>,
    half15: Constant<Bits<16>>,
    bit31: Constant<Bits<32>>,
    p3: Signal<Local, Bits<10>>,
    q: [Signal<Local, Bits<10>>; 4],
    c: Signal<Local, Bits<9>>,
}

impl InWordB {
    pub const LATENCY: usize = InWord::LATENCY;
}

impl Default for InWordB {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            valid_in: Default::default(),
            p: Default::default(),
            k_in: Default::default(),
            x: Default::default(),
            valid_out: Default::default(),
            mx: Default::default(),
            my: Default::default(),
            madd: Default::default(),
            mp: Default::default(),
            p1: Default::default(),
            kh1: Default::default(),
            lo1: Default::default(),
            hi1: Default::default(),
            top1: Default::default(),
            vl1: Default::default(),
            vl2: Default::default(),
            half15: Constant::new(bits::<16>(1 << 15)),
            bit31: Constant::new(bits::<32>(1 << 31)),
            p3: Default::default(),
            q: std::array::from_fn(|_| Default::default()),
            c: Default::default(),
        }
    }
}

impl Logic for InWordB {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, p1, kh1, lo1, hi1, top1, vl1, vl2);
        // Stage 1: InWord's.
        self.p3.next = bit_cast::<10, 8>(self.p.val()) + (bit_cast::<10, 8>(self.p.val()) << 1);
        for j in 0..4 {
            self.q[j].next = 0.into();
            if self.k_in.val().get_bit(2 * j) {
                self.q[j].next = bit_cast::<10, 8>(self.p.val());
            }
            if self.k_in.val().get_bit(2 * j + 1) {
                self.q[j].next = bit_cast::<10, 8>(self.p.val()) << 1;
                if self.k_in.val().get_bit(2 * j) {
                    self.q[j].next = self.p3.val();
                }
            }
        }
        self.lo1.d.next =
            (bit_cast::<16, 10>(self.q[0].val()) + (bit_cast::<16, 10>(self.q[1].val()) << 2)) | self.half15.val();
        self.hi1.d.next = (bit_cast::<16, 10>(self.q[2].val()) << 4) + (bit_cast::<16, 10>(self.q[3].val()) << 6);
        self.top1.d.next = 0.into();
        if self.k_in.val().get_bit(24) {
            self.top1.d.next = bit_cast::<32, 8>(self.p.val()) << 16;
        }
        if self.k_in.val().get_bits::<7>(25).any() {
            self.top1.d.next = self.bit31.val();
            if self.k_in.val().get_bit(24) {
                self.top1.d.next = (bit_cast::<32, 8>(self.p.val()) << 16) | self.bit31.val();
            }
        }
        self.p1.d.next = bit_cast::<16, 8>(self.p.val());
        self.kh1.d.next = self.k_in.val().get_bits::<16>(8);
        self.vl1.d.next = self.valid_in.val();
        // Stage 2: p·kh + (top1 | c) on the lent multiplier, whose register is this stage's.
        self.c.next =
            bit_cast::<9, 17>((bit_cast::<17, 16>(self.lo1.q.val()) + bit_cast::<17, 16>(self.hi1.q.val())) >> 8);
        self.mx.next = self.p1.q.val();
        self.my.next = self.kh1.q.val();
        self.madd.next = self.top1.q.val() | bit_cast::<32, 9>(self.c.val());
        self.vl2.d.next = self.vl1.q.val();
        self.x.next = signed_cast(self.mp.val());
        self.valid_out.next = self.vl2.q.val();
    }
}

impl crate::sim::Clocked for InWordB {
    fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}

// ---------------------------------------------------------------------------------------------
// ConvRound

/// [`ConvPost`] less its [`Slope`]: `y = sat16(rnd(acc + bias, shift))` and, beside it, the
/// slope to apply (`slope`, or [`SLOPE_ONE`] with `slope_en` low): [`ConvPost`] is
/// [`ConvRound`] then [`Slope`]. (The UP5K's engine has neither: it rounds a conv's outputs
/// on [`OutPixel2`]'s rounding and applies the op's slope on the [`Slope`] that follows its
/// binary post; one op runs at a time.)
#[derive(LogicBlock)]
pub struct ConvRound {
    pub clock: Signal<In, Clock>,
    pub valid_in: Signal<In, Bit>,
    pub acc: Signal<In, Bits<48>>,
    pub bias: Signal<In, Bits<48>>,
    pub shift: Signal<In, Bits<6>>,
    pub slope: Signal<In, Signed<16>>,
    pub slope_en: Signal<In, Bit>,
    pub y: Signal<Out, Signed<16>>,
    pub s: Signal<Out, Signed<16>>,
    pub valid_out: Signal<Out, Bit>,
    round: RoundSat,
    slp: [DFF<Signed<16>>; 4],
    one_q12: Constant<Signed<16>>,
}

impl ConvRound {
    pub const LATENCY: usize = RoundSat::LATENCY;
}

impl Default for ConvRound {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            valid_in: Default::default(),
            acc: Default::default(),
            bias: Default::default(),
            shift: Default::default(),
            slope: Default::default(),
            slope_en: Default::default(),
            y: Default::default(),
            s: Default::default(),
            valid_out: Default::default(),
            round: Default::default(),
            slp: std::array::from_fn(|_| Default::default()),
            one_q12: Constant::new(signed::<16>(SLOPE_ONE)),
        }
    }
}

impl Logic for ConvRound {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, round);
        for i in 0..4 {
            self.slp[i].clock.next = self.clock.val();
        }
        self.round.valid_in.next = self.valid_in.val();
        self.round.acc.next = self.acc.val();
        self.round.bias.next = self.bias.val();
        self.round.shift.next = self.shift.val();
        self.slp[0].d.next = self.one_q12.val();
        if self.slope_en.val() {
            self.slp[0].d.next = self.slope.val();
        }
        for i in 1..4 {
            self.slp[i].d.next = self.slp[i - 1].q.val();
        }
        self.y.next = signed_cast(self.round.y.val());
        self.s.next = self.slp[3].q.val();
        self.valid_out.next = self.round.valid_out.val();
    }
}

impl crate::sim::Clocked for ConvRound {
    fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}
