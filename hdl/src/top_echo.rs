//! A board test design: every byte received on the UART is sent back. It exercises the UART,
//! its FIFOs and the board flow (pins, clock, timing) before the accelerator exists.
//!
//! Ports are named as in the board files (`bitstreams/boards/*.toml`): `clock`, `uart_rx`,
//! `uart_tx`, and `led` (bit 0: a framing error or receive overflow was seen; bit 1: lit while
//! bytes are being sent back). `led_active_low` inverts the LEDs for boards that wire them to
//! the supply (iCEBreaker).

use crate::uart::Uart;
use rust_hdl::prelude::*;

/// FIFO depth 2^9 = 512 bytes a side: one 4-kbit iCE40 EBR each.
pub type EchoUart = Uart<9, 10, 9, 10>;

#[derive(LogicBlock)]
pub struct TopEcho {
    pub clock: Signal<In, Clock>,
    pub uart_rx: Signal<In, Bit>,
    pub uart_tx: Signal<Out, Bit>,
    pub led: Signal<Out, Bits<2>>,
    uart: EchoUart,
    move_byte: Signal<Local, Bit>,
    leds: Signal<Local, Bits<2>>,
    led_invert: Constant<Bits<2>>,
    err_led: Constant<Bits<2>>,
    act_led: Constant<Bits<2>>,
    both_leds: Constant<Bits<2>>,
}

impl TopEcho {
    pub fn new(divisor: u32, led_active_low: bool) -> Self {
        Self::with_baud(crate::uart::Baud::divisor(divisor), led_active_low)
    }

    pub fn with_baud(baud: crate::uart::Baud, led_active_low: bool) -> Self {
        Self {
            clock: Default::default(),
            uart_rx: Default::default(),
            uart_tx: Default::default(),
            led: Default::default(),
            uart: EchoUart::with_baud(baud),
            move_byte: Default::default(),
            leds: Default::default(),
            led_invert: Constant::new(bits::<2>(if led_active_low { 3 } else { 0 })),
            err_led: Constant::new(bits::<2>(1)),
            act_led: Constant::new(bits::<2>(2)),
            both_leds: Constant::new(bits::<2>(3)),
        }
    }
}

impl Logic for TopEcho {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, uart);
        self.uart.rx.next = self.uart_rx.val();
        self.uart_tx.next = self.uart.tx.val();
        self.move_byte.next = !self.uart.rx_empty.val() & !self.uart.tx_full.val();
        self.uart.rx_read.next = self.move_byte.val();
        self.uart.tx_write.next = self.move_byte.val();
        self.uart.tx_data.next = self.uart.rx_data.val();
        self.uart.clear_errors.next = false;
        // No read-back of `leds` here: a local read in its own kernel simulates as a latch.
        self.leds.next = 0.into();
        if self.uart.frame_error.val() | self.uart.rx_overflow.val() {
            if !self.uart.tx_idle.val() {
                self.leds.next = self.both_leds.val();
            } else {
                self.leds.next = self.err_led.val();
            }
        } else if !self.uart.tx_idle.val() {
            self.leds.next = self.act_led.val();
        }
        self.led.next = self.leds.val() ^ self.led_invert.val();
    }
}

impl crate::sim::Clocked for TopEcho {
    fn clock_mut(&mut self) -> &mut Signal<In, Clock> {
        &mut self.clock
    }
}
