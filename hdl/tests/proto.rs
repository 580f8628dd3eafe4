//! The protocol engine (`bbcu_hdl::proto::Proto`) under rust-hdl's simulator at byte level:
//! bytes go in through a model of the UART's receive FIFO, replies are parsed from what it
//! writes to the send FIFO, and the engine's load port is recorded. Frames are built and
//! checked by the independent host-side code in `tests/link`.

mod link;

use bbcu_arch::HwConfig;
use bbcu_hdl::proto::Proto;
use bbcu_hdl::sim::{settle, start, tick};
use link::cases::{self, LinkDut};
use link::*;
use std::collections::VecDeque;

/// A short partial-frame timeout, so that the tests can wait it out.
const STALE: u32 = 400;
/// Cycles of silence after which a test takes it that no more replies come.
const QUIET: u64 = 1500;

struct Dut {
    p: Box<Proto<10>>,
    rx: VecDeque<u8>,
    tx: Vec<u8>,
    loads: Vec<(u8, u32, u64)>,
    cycles: u64,
    /// What the engine's `error` output says (it found no valid program at a strip's start).
    eng_error: bool,
    starts: Vec<[u64; 4]>,
}

impl Dut {
    fn new(cfg: &HwConfig) -> Dut {
        let mut p = Box::new(Proto::<10>::new(cfg, STALE));
        start(p.as_mut());
        Dut {
            p,
            rx: VecDeque::new(),
            tx: Vec::new(),
            loads: Vec::new(),
            cycles: 0,
            eng_error: false,
            starts: Vec::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.rx.extend(bytes);
    }

    /// One clock: the receive FIFO (first word fall-through) offers its oldest byte, the send
    /// FIFO is never full, the engine is idle and takes no pixels.
    fn step(&mut self) {
        let p = self.p.as_mut();
        p.rx_empty.next = self.rx.is_empty();
        p.rx_data.next = (*self.rx.front().unwrap_or(&0) as u64).into();
        p.tx_full.next = false;
        p.eng_busy.next = false;
        p.eng_done.next = false;
        p.eng_error.next = self.eng_error;
        p.in_ready.next = false;
        p.out_valid.next = false;
        p.out_data.next = 0.into();
        p.cnt_data.next = 0.into();
        settle(p);
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
        tick(p);
        self.cycles += 1;
    }

    /// Runs until the input is consumed and then nothing has been sent for `quiet` cycles
    /// (longer than the board takes to act on any frame: a DATA frame is fed in ~1 k
    /// cycles); answers the frames sent meanwhile.
    fn replies(&mut self, quiet: u64) -> Vec<Frame> {
        let mut idle = 0;
        let from = self.tx.len();
        let mut last = self.tx.len();
        let limit = self.cycles + 2_000_000;
        while idle < quiet || !self.rx.is_empty() {
            self.step();
            idle = if self.tx.len() == last && self.rx.is_empty() { idle + 1 } else { 0 };
            last = self.tx.len();
            assert!(self.cycles < limit, "no quiet after 2 M cycles");
        }
        let (frames, left) = parse(&self.tx[from..]);
        assert_eq!(left, 0, "a partial frame was left on the line");
        self.tx.truncate(from);
        frames
    }
}

impl LinkDut for Dut {
    fn send(&mut self, bytes: &[u8]) {
        Dut::send(self, bytes)
    }
    fn replies(&mut self, quiet: u64) -> Vec<Frame> {
        Dut::replies(self, quiet)
    }
    fn quiet(&self) -> u64 {
        QUIET
    }
    fn stale_wait(&self) -> u64 {
        2 * STALE as u64
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
}

// The cases themselves are shared with the firmware's tests (`tests/link/cases.rs`).

#[test]
fn hello_answers_info_with_the_design() {
    cases::hello_answers_info_with_the_design(Dut::new);
}

#[test]
fn bad_crc_is_answered_and_the_next_frame_is_found() {
    cases::bad_crc_is_answered_and_the_next_frame_is_found(Dut::new);
}

#[test]
fn bad_header_and_garbage_are_skipped_byte_by_byte() {
    cases::bad_header_and_garbage_are_skipped_byte_by_byte(Dut::new);
}

#[test]
fn truncated_frame_is_given_up_after_the_timeout() {
    cases::truncated_frame_is_given_up_after_the_timeout(Dut::new);
}

#[test]
fn back_to_back_frames_are_answered_in_order() {
    cases::back_to_back_frames_are_answered_in_order(Dut::new);
}

#[test]
fn model_upload_writes_every_word_and_commits() {
    cases::model_upload_writes_every_word_and_commits(Dut::new);
}

#[test]
fn model_upload_takes_only_the_next_chunk_and_reports_the_rest_missing() {
    cases::model_upload_takes_only_the_next_chunk_and_reports_the_rest_missing(Dut::new);
}

#[test]
fn refused_images_leave_no_model() {
    cases::refused_images_leave_no_model(Dut::new);
}

#[test]
fn whole_upload_crc_mismatch_asks_for_everything_again() {
    cases::whole_upload_crc_mismatch_asks_for_everything_again(Dut::new);
}

#[test]
fn strip_jobs_are_checked_and_an_engine_error_fails_the_strip() {
    cases::strip_jobs_are_checked_and_an_engine_error_fails_the_strip(Dut::new);
}

/// Writes the protocol engine's Verilog alone for a size estimate:
/// `cargo test -p bbcu-hdl --test proto -- --ignored proto_verilog`, then
/// `yosys -q -p 'synth_ice40 -top top; stat' target/tmp/proto-up5k.v`.
#[test]
#[ignore]
fn proto_verilog() {
    let mut p = Proto::<10>::new(&HwConfig::preset("ice40-up5k").unwrap(), 9_600_000);
    rust_hdl::prelude::Block::connect_all(&mut p);
    let v = rust_hdl::prelude::generate_verilog(&p);
    std::fs::write(concat!(env!("CARGO_TARGET_TMPDIR"), "/proto-up5k.v"), v).unwrap();
}
