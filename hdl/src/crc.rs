//! Byte-wise CRC-32 ([`Crc32`]) as used by zip, Ethernet and PNG (the `crc` crate's `CRC_32_ISO_HDLC`):
//! reflected polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF, one byte per cycle.
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
