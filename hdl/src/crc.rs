//! Byte-wise CRC-32 ([`Crc32`]) as used by zip, Ethernet and PNG (the `crc` crate's `CRC_32_ISO_HDLC`):
//! reflected polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF, one byte per cycle
//! ([`Crc32Nib`]: one byte per two cycles, for half the logic).
//!
//! - `valid`: `data` is the next byte of the message;
//! - `clear`: start a new message (with `valid` high, `data` is its first byte);
//! - `crc`: the CRC of the bytes taken since the last `clear`, final XOR applied, one rising
//!   edge after the last byte (the CRC of no bytes is 0).
//!
//! The eight bit steps of a byte are unrolled into a chain of signals (rust-hdl kernels cannot
//! hold `let` temporaries, fpga-notes §3.1); Yosys flattens the chain to at most 16-input XORs
//! per output bit.

use rust_hdl::prelude::*;

/// The CRC-32 unit. Its value can also be loaded, 16 bits at a time (`load_lo`, `load_hi` with
/// `load_data`; a load is the value `crc` would show), so one unit serves two messages in turn
/// when their owner keeps the one not being fed (`LinkIo`'s receive and upload CRCs); units
/// that never load tie `load_lo` and `load_hi` low.
#[derive(LogicBlock)]
pub struct Crc32 {
    pub clock: Signal<In, Clock>,
    pub clear: Signal<In, Bit>,
    pub valid: Signal<In, Bit>,
    pub data: Signal<In, Bits<8>>,
    pub load_lo: Signal<In, Bit>,
    pub load_hi: Signal<In, Bit>,
    pub load_data: Signal<In, Bits<16>>,
    pub crc: Signal<Out, Bits<32>>,
    /// The register before the final XOR; all-zero is the initial value 0xFFFFFFFF inverted,
    /// so the power-up state is a cleared CRC.
    state_n: DFF<Bits<32>>,
    step: [Signal<Local, Bits<32>>; 9],
    poly: Constant<Bits<32>>,
    ones: Constant<Bits<32>>,
}

impl Crc32 {
    /// The reflected CRC-32 polynomial.
    pub const POLY: u32 = 0xEDB8_8320;
}

impl Default for Crc32 {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            clear: Default::default(),
            valid: Default::default(),
            data: Default::default(),
            load_lo: Default::default(),
            load_hi: Default::default(),
            load_data: Default::default(),
            crc: Default::default(),
            state_n: Default::default(),
            step: std::array::from_fn(|_| Default::default()),
            poly: Constant::new(bits::<32>(Crc32::POLY as u64)),
            ones: Constant::new(bits::<32>(0xFFFF_FFFF)),
        }
    }
}

impl Logic for Crc32 {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, state_n);
        self.step[0].next = !self.state_n.q.val();
        if self.clear.val() {
            self.step[0].next = self.ones.val();
        }
        for i in 0..8 {
            if self.step[i].val().get_bit(0) ^ self.data.val().get_bit(i) {
                self.step[i + 1].next = (self.step[i].val() >> 1) ^ self.poly.val();
            } else {
                self.step[i + 1].next = self.step[i].val() >> 1;
            }
        }
        if self.valid.val() {
            self.state_n.d.next = !self.step[8].val();
        } else if self.clear.val() {
            self.state_n.d.next = 0.into();
        } else if self.load_lo.val() {
            self.state_n.d.next = (bit_cast::<32, 16>(self.state_n.q.val().get_bits::<16>(16)) << 16)
                | bit_cast::<32, 16>(self.load_data.val());
        } else if self.load_hi.val() {
            self.state_n.d.next = (bit_cast::<32, 16>(self.load_data.val()) << 16)
                | bit_cast::<32, 16>(self.state_n.q.val().get_bits::<16>(0));
        }
        self.crc.next = self.state_n.q.val();
    }
}

impl crate::sim::Clocked for Crc32 {
    fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}

/// [`Crc32`] at half the XOR network: a byte takes two cycles, its low nibble in the cycle it
/// is given (`valid`, with `clear` and `data` as [`Crc32`]'s) and its high nibble in the next,
/// while `busy` is high. On the UP5K a byte-wide unit's 8-step network is most of its logic
/// cells, and the streams `LinkIo` feeds its send and result units come at most a byte per
/// two cycles.
///
/// What the owner must keep to (the unit does not check it): no `valid`, `clear` or load
/// while `busy`; and `crc` is the message's CRC one rising edge after `busy` falls, two after
/// the last byte (while `busy` it shows the CRC with the byte's low nibble only).
///
/// Two savings for owners that can afford them ([`Crc32Nib::new`]): one whose `data` holds
/// the byte in its second cycle too needs no register for the high nibble, and one that never
/// gives `clear` with a byte keeps `clear` out of every bit's XOR.
#[derive(LogicBlock)]
pub struct Crc32Nib {
    pub clock: Signal<In, Clock>,
    pub clear: Signal<In, Bit>,
    pub valid: Signal<In, Bit>,
    pub data: Signal<In, Bits<8>>,
    pub load_lo: Signal<In, Bit>,
    pub load_hi: Signal<In, Bit>,
    pub load_data: Signal<In, Bits<16>>,
    pub crc: Signal<Out, Bits<32>>,
    /// The second half of the byte taken on the last edge is being taken now.
    pub busy: Signal<Out, Bit>,
    /// As [`Crc32`]'s.
    state_n: DFF<Bits<32>>,
    /// The byte's high nibble, latched every cycle without an enable: it is only used in the
    /// cycle after `valid`, when it holds that byte's.
    hi: DFF<Bits<4>>,
    half: DFF<Bit>,
    nib: Signal<Local, Bits<4>>,
    step: [Signal<Local, Bits<32>>; 5],
    poly: Constant<Bits<32>>,
    ones: Constant<Bits<32>>,
    /// The high nibble comes from `hi` (else from `data`, which the owner holds).
    latch: Constant<Bit>,
    /// `clear` may come with `valid` (else only alone).
    clear_byte: Constant<Bit>,
}

impl Crc32Nib {
    /// A unit whose owner keeps `data` for both cycles of a byte unless `latch`, and gives
    /// `clear` only alone (a message's first byte at least a cycle later) unless
    /// `clear_with_byte`.
    pub fn new(latch: bool, clear_with_byte: bool) -> Self {
        Self {
            clock: Default::default(),
            clear: Default::default(),
            valid: Default::default(),
            data: Default::default(),
            load_lo: Default::default(),
            load_hi: Default::default(),
            load_data: Default::default(),
            crc: Default::default(),
            busy: Default::default(),
            state_n: Default::default(),
            hi: Default::default(),
            half: Default::default(),
            nib: Default::default(),
            step: std::array::from_fn(|_| Default::default()),
            poly: Constant::new(bits::<32>(Crc32::POLY as u64)),
            ones: Constant::new(bits::<32>(0xFFFF_FFFF)),
            latch: Constant::new(latch),
            clear_byte: Constant::new(clear_with_byte),
        }
    }
}

/// The unit with [`Crc32`]'s freedom: `data` for one cycle, `clear` with a byte or alone.
impl Default for Crc32Nib {
    fn default() -> Self {
        Self::new(true, true)
    }
}

impl Logic for Crc32Nib {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, state_n, hi, half);
        self.hi.d.next = self.data.val().get_bits::<4>(4);
        self.half.d.next = self.valid.val();
        self.nib.next = self.data.val().get_bits::<4>(0);
        if self.half.q.val() {
            self.nib.next = self.data.val().get_bits::<4>(4);
            if self.latch.val() {
                self.nib.next = self.hi.q.val();
            }
        }
        // `clear` never comes while `busy` (above), so it needs no gate here.
        self.step[0].next = !self.state_n.q.val();
        if self.clear.val() & self.clear_byte.val() {
            self.step[0].next = self.ones.val();
        }
        for i in 0..4 {
            if self.step[i].val().get_bit(0) ^ self.nib.val().get_bit(i) {
                self.step[i + 1].next = (self.step[i].val() >> 1) ^ self.poly.val();
            } else {
                self.step[i + 1].next = self.step[i].val() >> 1;
            }
        }
        if self.valid.val() | self.half.q.val() {
            self.state_n.d.next = !self.step[4].val();
        } else if self.clear.val() {
            self.state_n.d.next = 0.into();
        } else if self.load_lo.val() {
            self.state_n.d.next = (bit_cast::<32, 16>(self.state_n.q.val().get_bits::<16>(16)) << 16)
                | bit_cast::<32, 16>(self.load_data.val());
        } else if self.load_hi.val() {
            self.state_n.d.next = (bit_cast::<32, 16>(self.load_data.val()) << 16)
                | bit_cast::<32, 16>(self.state_n.q.val().get_bits::<16>(0));
        }
        self.crc.next = self.state_n.q.val();
        self.busy.next = self.half.q.val();
    }
}

impl crate::sim::Clocked for Crc32Nib {
    fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}

/// Byte-wise CRC-8/SMBUS (polynomial 0x07, initial value 0, no reflection, no final XOR): the
/// header check of the link protocol. Same ports and timing as [`Crc32`].
#[derive(LogicBlock)]
pub struct Crc8 {
    pub clock: Signal<In, Clock>,
    pub clear: Signal<In, Bit>,
    pub valid: Signal<In, Bit>,
    pub data: Signal<In, Bits<8>>,
    pub crc: Signal<Out, Bits<8>>,
    state: DFF<Bits<8>>,
    step: [Signal<Local, Bits<8>>; 9],
    poly: Constant<Bits<8>>,
}

impl Default for Crc8 {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            clear: Default::default(),
            valid: Default::default(),
            data: Default::default(),
            crc: Default::default(),
            state: Default::default(),
            step: std::array::from_fn(|_| Default::default()),
            poly: Constant::new(bits::<8>(0x07)),
        }
    }
}

impl Logic for Crc8 {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, state);
        // Unreflected: the byte enters at the top, bits leave MSB first.
        self.step[0].next = self.state.q.val() ^ self.data.val();
        if self.clear.val() {
            self.step[0].next = self.data.val();
        }
        for i in 0..8 {
            if self.step[i].val().get_bit(7) {
                self.step[i + 1].next = (self.step[i].val() << 1) ^ self.poly.val();
            } else {
                self.step[i + 1].next = self.step[i].val() << 1;
            }
        }
        if self.valid.val() {
            self.state.d.next = self.step[8].val();
        } else if self.clear.val() {
            self.state.d.next = 0.into();
        }
        self.crc.next = self.state.q.val();
    }
}

impl crate::sim::Clocked for Crc8 {
    fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}
