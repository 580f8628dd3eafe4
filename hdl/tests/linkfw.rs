//! The link firmware (`bbcu_hdl::linkfw`) on the control core's instruction-level model beside
//! the I/O block's model, spoken to at byte level with the host-side frames of `tests/link`:
//! every case of `tests/proto.rs` (the hand-built protocol engine), then a strip's result
//! streamed against a stand-in engine, and RESET draining a strip in flight.

mod link;

use bbcu_arch::HwConfig;
use bbcu_hdl::device::test_config;
use bbcu_hdl::linkfw::FwBoard;
use link::cases::{image_words, one, small_model, upload, LinkDut};
use link::*;

/// The partial-frame timeout, in 256-cycle units.
const STALE: u16 = 2;
const QUIET: u64 = 3000;

struct Dut {
    b: FwBoard,
    cycles: u64,
}

impl Dut {
    fn new(cfg: &HwConfig) -> Dut {
        Dut { b: FwBoard::new(cfg, STALE), cycles: 0 }
    }

    /// Bytes on a paced line: `line` cycles each way (120 = 3 Mbaud at 36 MHz).
    fn paced(line: u64) -> Dut {
        let mut d = Dut::new(&test_config());
        d.b.io.line = line;
        d
    }

    fn send(&mut self, bytes: &[u8]) {
        if self.b.io.line == 0 {
            self.b.io.rx.extend(bytes);
        } else {
            self.b.io.wire_in.extend(bytes);
        }
    }

    fn replies(&mut self, quiet: u64) -> Vec<Frame> {
        let from = self.b.io.tx.len();
        let (mut idle, mut last) = (0, from);
        let limit = self.cycles + 5_000_000;
        while idle < quiet || !self.b.io.rx.is_empty() || !self.b.io.wires_idle() {
            let n = self.b.step();
            self.cycles += n;
            let still = self.b.io.tx.len() == last && self.b.io.rx.is_empty() && self.b.io.wires_idle();
            idle = if still { idle + n } else { 0 };
            last = self.b.io.tx.len();
            assert!(self.cycles < limit, "no quiet after 5 M cycles");
        }
        assert_eq!(self.b.io.fed_overrun, 0, "the firmware wrote a byte the send FIFO had no room for");
        let (frames, left) = parse(&self.b.io.tx[from..]);
        assert_eq!(left, 0, "a partial frame was left on the line");
        self.b.io.tx.truncate(from);
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
        4 * 256 * STALE as u64
    }
    fn loads(&self) -> Vec<(u8, u32, u64)> {
        self.b.io.loads.clone()
    }
    fn starts(&self) -> Vec<[u64; 4]> {
        self.b.io.starts.iter().map(|j| j.map(u64::from)).collect()
    }
    fn set_eng_error(&mut self, on: bool) {
        self.b.io.eng_error = on;
    }
    fn cycles(&self) -> u64 {
        self.cycles
    }
    fn design_json(&self) -> bool {
        false
    }
}

/// The test model on the device, and a job of `rows` rows as wide as the model allows.
struct Job {
    model_len: usize,
    width: u32,
    /// Input bytes.
    total: u32,
    /// Result bytes.
    rlen: usize,
}

fn load_model(d: &mut Dut, rows: u32) -> Job {
    let cfg = test_config();
    let (bytes, img) = small_model(&cfg);
    let h = img.program(cfg.memory.program_words).unwrap().header;
    let t0 = d.cycles;
    assert_eq!(upload(d, &bytes, 1024, &mut 1).code, COMMITTED);
    eprintln!("model upload: {} bytes in {} cycles", bytes.len(), d.cycles - t0);
    let width = h.width_cap as u32;
    let rlen = (h.out_ch as u32 * width * rows * (h.scale * h.scale) as u32) as usize;
    Job { model_len: bytes.len(), width, total: h.in_ch as u32 * width * rows, rlen }
}

// The byte-level cases every protocol engine passes (`tests/link/cases.rs`).
link_cases!(Dut::new);

#[test]
fn unknown_commands_and_bad_requests_are_errors() {
    let mut d = Dut::new(&test_config());
    let mut all = Vec::new();
    all.extend(frame(HELLO, 1, &[]));
    all.extend(frame(0x42, 3, &[]));
    all.extend(frame(HELLO, 4, &[1]));
    d.send(&all);
    let r = d.replies(QUIET);
    let got: Vec<(u8, u8)> = r.iter().map(|f| (f.code, f.seq)).collect();
    assert_eq!(got, vec![(INFO, 1), (ERROR, 3), (ERROR, 4)]);
    assert_eq!(r[1].error(), (2, "unknown command".to_string()));
    assert_eq!(r[2].error(), (3, "bad payload size or field".to_string()));
}

#[test]
fn counters_are_busy_while_the_engine_runs() {
    let mut d = Dut::new(&test_config());
    d.b.io.eng_busy = true;
    d.send(&frame(COUNTERS, 1, &[]));
    assert_eq!(one(d.replies(QUIET)).error(), (7, "busy: one strip at a time".to_string()));
    d.b.io.eng_busy = false;
    d.b.io.counters = vec![0x1234_5678, 7];
    d.send(&frame(COUNTERS, 2, &[]));
    let r = one(d.replies(QUIET));
    assert_eq!((r.u32(0), r.u32(4), r.u32(8), r.u32(12)), (0x1234_5678, 0, 7, 0));
}

/// A strip end to end against a stand-in engine: input in credit-limited chunks, the result
/// streamed as RESULT_DATA frames once each chunk is in the FIFO, RESULT_END with the CRC, and
/// QUERY's states along the way.
#[test]
fn a_strip_streams_its_result() {
    let mut d = Dut::new(&test_config());
    let Job { width: w, total, rlen, .. } = load_model(&mut d, 4);
    let hh = 4;
    let input: Vec<u8> = (0..total).map(|i| (i * 7 + 3) as u8).collect();
    d.b.io.in_ready = true;
    let chunk = 100;
    d.send(&frame(BEGIN, 1, &begin(1, 9, total, chunk as u16, CRC32.checksum(&input), [w, hh, 0, w])));
    assert!(d.replies(QUIET).is_empty());
    d.b.io.eng_busy = true;
    for (i, c) in input.chunks(chunk).enumerate() {
        d.send(&frame(DATA, 2, &data(1, 9, (i * chunk) as u32, c)));
    }
    d.send(&frame(QUERY, 3, &9u16.to_le_bytes()));
    let r = one(d.replies(QUIET));
    assert_eq!((r.code, r.u8(2), r.u32(3)), (STATE, 3, rlen as u32), "computing, all input taken");
    assert_eq!(d.b.io.pix, input, "the engine got the strip's input");
    d.send(&frame(COMMIT, 4, &commit(1, 9)));
    assert_eq!(one(d.replies(QUIET)).code, COMMITTED);
    // The engine gives its result; frames leave per whole chunk, then RESULT_END.
    let result: Vec<u8> = (0..rlen).map(|i| (i * 13 + 1) as u8).collect();
    d.b.io.out.extend(&result);
    d.b.io.eng_busy = false;
    d.b.io.engine_done();
    let frames = d.replies(QUIET);
    let mut got = vec![0u8; rlen];
    let mut end = None;
    for f in &frames {
        match f.code {
            RESULT_DATA => {
                assert_eq!(f.u16(0), 9);
                let off = f.u32(2) as usize;
                got[off..off + f.payload.len() - 6].copy_from_slice(&f.payload[6..]);
            }
            RESULT_END => end = Some((f.u16(0), f.u32(2), f.u32(6))),
            c => panic!("unexpected frame {c:#x}"),
        }
    }
    assert_eq!(frames.len(), rlen.div_ceil(chunk) + 1);
    assert_eq!(got, result);
    assert_eq!(end, Some((9, rlen as u32, CRC32.checksum(&result))));
    d.send(&frame(QUERY, 5, &9u16.to_le_bytes()));
    let r = one(d.replies(QUIET));
    assert_eq!((r.u8(2), r.u32(7)), (5, CRC32.checksum(&result)), "sent");
    d.send(&frame(COUNTERS, 6, &[]));
    assert_eq!(one(d.replies(QUIET)).u32(16), 1, "one strip computed");
}

/// A DATA frame of a whole 1,024-byte chunk fills the 1 KiB frame buffer exactly: its fields
/// must not be lost to the wrap (the model's buffer wraps as the hardware's does), and every
/// byte reaches the engine in order.
#[test]
fn a_full_chunk_fills_the_frame_buffer_and_reaches_the_engine() {
    let mut d = Dut::new(&test_config());
    let rows = 64;
    let Job { width: w, total, .. } = load_model(&mut d, rows);
    assert!(total >= 2048, "the strip's input of {total} bytes is less than two chunks");
    // No byte value repeats at a distance of 1,024: a wrap shows.
    let input: Vec<u8> = (0..total).map(|i| (i * 7 + i / 1024 * 3 + 1) as u8).collect();
    d.b.io.in_ready = true;
    d.send(&frame(BEGIN, 1, &begin(1, 7, total, 1024, CRC32.checksum(&input), [w, rows, 0, w])));
    d.send(&frame(DATA, 2, &data(1, 7, 0, &input[..1024])));
    d.send(&frame(DATA, 3, &data(1, 7, 1024, &input[1024..2048])));
    d.send(&frame(QUERY, 4, &7u16.to_le_bytes()));
    let r = one(d.replies(QUIET));
    assert_eq!((r.code, r.u8(2), r.u32(3)), (STATE, 1, 2048), "both chunks taken");
    assert!(d.b.io.pix == input[..2048], "the engine got other bytes than the chunks'");
}

/// RESET while a strip is in flight: the rest of its input is fed as zeros, its output is
/// dropped, and only then RESET_DONE; the model stays and the next strip is taken.
#[test]
fn reset_drains_a_strip_in_flight() {
    let mut d = Dut::new(&test_config());
    let Job { model_len, width: w, total, rlen } = load_model(&mut d, 4);
    let hh = 4;
    d.b.io.in_ready = true;
    d.send(&frame(BEGIN, 1, &begin(1, 3, total, 64, 0, [w, hh, 0, w])));
    d.send(&frame(DATA, 2, &data(1, 3, 0, &[5; 64])));
    assert!(d.replies(QUIET).is_empty());
    assert_eq!(d.b.io.pix.len(), 64);
    // The engine finishes on the zeros RESET feeds it, giving its whole result.
    d.b.io.out.extend(vec![1u8; rlen]);
    d.send(&frame(RESET, 3, &[1]));
    let r = one(d.replies(QUIET));
    assert_eq!(r.code, RESET_DONE);
    assert_eq!(d.b.io.pix.len(), total as usize, "the rest of the input came as zeros");
    assert!(d.b.io.pix[64..].iter().all(|&b| b == 0));
    d.send(&frame(HELLO, 4, &[]));
    assert_eq!(one(d.replies(QUIET)).u32(8), model_len as u32, "the model is kept");
    d.send(&frame(BEGIN, 5, &begin(1, 4, total, 64, 0, [w, hh, 0, w])));
    assert!(d.replies(QUIET).is_empty(), "the next strip is taken");
    assert_eq!(d.b.io.starts.len(), 2);
}

/// The firmware's size, against what the UP5K's block RAM can give it (docs/architecture.md):
/// a guard that it does not grow while it is being shrunk. Prints the biggest pieces
/// (`--nocapture`).
#[test]
fn firmware_size_is_tracked() {
    let (map, len) = bbcu_hdl::linkfw::firmware_map(&test_config(), STALE);
    let mut pieces: Vec<(usize, &str)> = map.windows(2).map(|w| (w[1].0 - w[0].0, w[0].1.as_str())).collect();
    pieces.sort_by(|a, b| b.cmp(a));
    eprintln!("{len} words; largest: {:?}", &pieces[..8]);
    assert!(len <= 1249, "the link firmware grew to {len} words");
}

/// At 3 Mbaud and 36 MHz (120 cycles a byte) with the model's frames sent back to back: the
/// firmware keeps up with a model upload (nothing lost from the 2 KiB receive FIFO), INFO's
/// bytes fit the send FIFO, and a strip's result keeps the line busy.
#[test]
fn at_line_rate_nothing_is_lost_and_results_fill_the_line() {
    const LINE: u64 = 120;
    let mut d = Dut::paced(LINE);
    d.send(&frame(HELLO, 1, &[]));
    assert_eq!(one(d.replies(QUIET)).code, INFO);
    let (hh, Job { width: w, total, rlen, .. }) = (64, load_model(&mut d, 64));
    assert_eq!(d.b.io.rx_overflow, 0, "receive FIFO overflowed during the model upload");

    assert!(rlen >= 4096, "a result of {rlen} bytes is too short to measure the line");
    let input = vec![1u8; total as usize];
    d.b.io.in_ready = true;
    d.send(&frame(BEGIN, 10, &begin(1, 2, total, 1024, CRC32.checksum(&input), [w, hh, 0, w])));
    for (i, c) in input.chunks(1024).enumerate() {
        d.send(&frame(DATA, 11, &data(1, 2, (i * 1024) as u32, c)));
    }
    d.send(&frame(COMMIT, 12, &commit(1, 2)));
    assert_eq!(one(d.replies(QUIET)).code, COMMITTED);
    // The whole result at once: the line, not the engine, sets the pace.
    d.b.io.out.extend(vec![9u8; rlen]);
    d.b.io.engine_done();
    let (c0, b0) = (d.cycles, d.b.io.tx_busy);
    // A FETCH while the result streams: its ERROR (a fed message) waits for an empty FIFO.
    d.send(&frame(FETCH, 13, &[2, 0, 0, 0, 0, 0, 16, 0, 0, 0]));
    let frames = d.replies(QUIET);
    let busy = (d.b.io.tx_busy - b0) as f64 / (d.cycles - c0 - QUIET) as f64;
    let data: usize = frames.iter().filter(|f| f.code == RESULT_DATA).map(|f| f.payload.len() - 6).sum();
    assert_eq!(data, rlen);
    assert!(frames.iter().any(|f| f.code == ERROR && f.seq == 13), "the FETCH was answered");
    assert_eq!(d.b.io.fed_overrun, 0, "a byte the firmware wrote met a full send FIFO");
    eprintln!("result {rlen} bytes: line busy {:.1} % of the time", 100.0 * busy);
    assert!(busy > 0.95, "the line was busy {:.1} % of the time", 100.0 * busy);
}

/// The weight memory's words are `lanes / 8` bytes: 2 on the simulation and UP5K engines, 8 on
/// the ECP5 one, which takes the parser's 64-bit word path.
#[test]
fn model_upload_on_every_preset_writes_every_word() {
    for name in ["ice40-up5k", "ecp5-85k"] {
        let cfg = HwConfig::preset(name).unwrap();
        let (bytes, img) = small_model(&cfg);
        let mut d = Dut::new(&cfg);
        let r = upload(&mut d, &bytes, 1024, &mut 1);
        assert_eq!(r.code, COMMITTED, "{name}: {r:?}");
        assert!(d.b.io.loads == image_words(&img), "{name}: load port writes differ from the image's words");
        let (_, len) = bbcu_hdl::linkfw::firmware_map(&cfg, STALE);
        eprintln!("{name}: {} image bytes in {} cycles; firmware {len} words", bytes.len(), d.cycles);
    }
}
