//! The byte-level harness for a protocol engine in rust-hdl's simulator: bytes go in through a
//! model of the UART's receive FIFO, replies are parsed from what it writes to the send FIFO,
//! and the engine's load port and starts are recorded. The hand-built `Proto` and the
//! firmware's `LinkIo` have the same ports, so one macro builds the harness for either.

/// `hw_dut!(Type, |cfg| constructor, stale_wait, quiet, idle_port...)`: a `Dut` for `Type`
/// implementing `LinkDut`; each `idle_port` is an input held high (the send side is idle:
/// the test's FIFO is never full and empties at once).
#[macro_export]
macro_rules! hw_dut {
    ($ty:ty, $new:expr, $stale_wait:expr, $quiet:expr $(, $idle:ident)*) => {
        struct Dut {
            p: Box<$ty>,
            rx: std::collections::VecDeque<u8>,
            tx: Vec<u8>,
            loads: Vec<(u8, u32, u64)>,
            cycles: u64,
            /// What the engine's `error` output says (it found no valid program at a strip's start).
            eng_error: bool,
            starts: Vec<[u64; 4]>,
        }

        impl Dut {
            fn new(cfg: &bbcu_arch::HwConfig) -> Dut {
                let mk: fn(&bbcu_arch::HwConfig) -> $ty = $new;
                let mut p = Box::new(mk(cfg));
                bbcu_hdl::sim::start(p.as_mut());
                Dut {
                    p,
                    rx: Default::default(),
                    tx: Vec::new(),
                    loads: Vec::new(),
                    cycles: 0,
                    eng_error: false,
                    starts: Vec::new(),
                }
            }

            /// One clock: the receive FIFO (first word fall-through) offers its oldest byte,
            /// the send FIFO is never full, the engine is idle and takes no pixels.
            fn step(&mut self) {
                let p = self.p.as_mut();
                p.rx_empty.next = self.rx.is_empty();
                p.rx_data.next = (*self.rx.front().unwrap_or(&0) as u64).into();
                p.tx_full.next = false;
                $(p.$idle.next = true;)*
                p.eng_busy.next = false;
                p.eng_done.next = false;
                p.eng_error.next = self.eng_error;
                p.in_ready.next = false;
                p.out_valid.next = false;
                p.out_data.next = 0.into();
                p.cnt_data.next = 0.into();
                bbcu_hdl::sim::settle(p);
                if p.rx_read.val() {
                    self.rx.pop_front().expect("read from an empty FIFO");
                }
                if p.tx_write.val() {
                    self.tx.push(p.tx_data.val().index() as u8);
                }
                if p.start.val() {
                    let job = [&p.strip_w, &p.strip_h, &p.keep_x0, &p.keep_w].map(|x| x.val().index() as u64);
                    self.starts.push(job);
                }
                if p.load_we.val() {
                    let w = (p.load_mem.val().index() as u8, p.load_addr.val().index() as u32, p.load_data.val().to_u64());
                    self.loads.push(w);
                }
                bbcu_hdl::sim::tick(p);
                self.cycles += 1;
            }

            /// Received bytes not yet read (none: the harness's queue is the FIFO).
            fn pending(&self) -> bool {
                false
            }
        }

        $crate::hw_dut_common!($stale_wait, $quiet, true);
    };
}

/// `hw_dut_line!(Type, |cfg| constructor, stale_wait, quiet, gap)`: a `Dut` for a protocol
/// engine that holds the UART's FIFOs itself (`LinkIo`): bytes reach it as the UART receiver
/// gives them, one every `gap` cycles (it cannot be held off: a byte to a full receive FIFO is
/// lost, and the harness fails on the overflow flag), and its transmitter is always ready (an
/// instant line).
#[macro_export]
macro_rules! hw_dut_line {
    ($ty:ty, $new:expr, $stale_wait:expr, $quiet:expr, $gap:expr) => {
        struct Dut {
            p: Box<$ty>,
            rx: std::collections::VecDeque<u8>,
            /// Cycles until the receiver may give the next byte.
            rx_wait: u64,
            tx: Vec<u8>,
            loads: Vec<(u8, u32, u64)>,
            cycles: u64,
            eng_error: bool,
            starts: Vec<[u64; 4]>,
        }

        impl Dut {
            fn new(cfg: &bbcu_arch::HwConfig) -> Dut {
                let mk: fn(&bbcu_arch::HwConfig) -> $ty = $new;
                let mut p = Box::new(mk(cfg));
                bbcu_hdl::sim::start(p.as_mut());
                Dut {
                    p,
                    rx: Default::default(),
                    rx_wait: 0,
                    tx: Vec::new(),
                    loads: Vec::new(),
                    cycles: 0,
                    eng_error: false,
                    starts: Vec::new(),
                }
            }

            /// One clock: the receiver gives a byte if one is due, the transmitter takes any
            /// byte offered, the engine is idle and takes no pixels.
            fn step(&mut self) {
                let p = self.p.as_mut();
                p.rx_valid.next = false;
                p.rx_data.next = 0.into();
                if self.rx_wait > 0 {
                    self.rx_wait -= 1;
                } else if let Some(b) = self.rx.pop_front() {
                    p.rx_valid.next = true;
                    p.rx_data.next = (b as u64).into();
                    self.rx_wait = $gap - 1;
                }
                p.tx_ready.next = true;
                p.tx_busy.next = false;
                p.eng_busy.next = false;
                p.eng_done.next = false;
                p.eng_error.next = self.eng_error;
                p.eng_out.next = false;
                p.in_ready.next = false;
                p.out_valid.next = false;
                p.out_data.next = 0.into();
                p.cnt_data.next = 0.into();
                bbcu_hdl::sim::settle(p);
                if p.tx_load.val() {
                    self.tx.push(p.tx_data.val().index() as u8);
                }
                if p.start.val() {
                    let job = [&p.strip_w, &p.strip_h, &p.keep_x0, &p.keep_w].map(|x| x.val().index() as u64);
                    self.starts.push(job);
                }
                if p.load_we.val() {
                    let w =
                        (p.load_mem.val().index() as u8, p.load_addr.val().index() as u32, p.load_data.val().to_u64());
                    self.loads.push(w);
                }
                bbcu_hdl::sim::tick(p);
                assert!(!p.rx_overflow.val(), "a received byte was lost (receive FIFO full)");
                self.cycles += 1;
            }

            /// Received bytes in the receive FIFO not yet read by the firmware.
            fn pending(&self) -> bool {
                !self.p.rx_idle()
            }
        }

        $crate::hw_dut_common!($stale_wait, $quiet, false);
    };
}

/// The `LinkDut` side both harnesses share (`json`: INFO carries the design's JSON, as the
/// hand-built engine's does; `hw_dut_line`'s firmware leaves it to the host).
#[macro_export]
macro_rules! hw_dut_common {
    ($stale_wait:expr, $quiet:expr, $json:expr) => {
        impl LinkDut for Dut {
            fn send(&mut self, bytes: &[u8]) {
                self.rx.extend(bytes);
            }

            /// Runs until the input is consumed and then nothing has been sent for `quiet`
            /// cycles (longer than the board takes to act on any frame); answers the frames
            /// sent meanwhile.
            fn replies(&mut self, quiet: u64) -> Vec<Frame> {
                let mut idle = 0;
                let from = self.tx.len();
                let mut last = self.tx.len();
                let limit = self.cycles + 2_000_000;
                while idle < quiet || !self.rx.is_empty() || self.pending() {
                    self.step();
                    idle = if self.tx.len() == last && self.rx.is_empty() && !self.pending() { idle + 1 } else { 0 };
                    last = self.tx.len();
                    assert!(self.cycles < limit, "no quiet after 2 M cycles");
                }
                let (frames, left) = parse(&self.tx[from..]);
                assert_eq!(left, 0, "a partial frame was left on the line");
                self.tx.truncate(from);
                frames
            }
            fn quiet(&self) -> u64 {
                $quiet
            }
            fn stale_wait(&self) -> u64 {
                $stale_wait
            }
            fn loads(&self) -> Vec<(u8, u32, u64)> {
                self.loads.clone()
            }
            fn starts(&self) -> Vec<[u64; 4]> {
                self.starts.clone()
            }
            fn set_eng_error(&mut self, on: bool) {
                self.eng_error = on;
            }
            fn cycles(&self) -> u64 {
                self.cycles
            }
            fn design_json(&self) -> bool {
                $json
            }
        }
    };
}
