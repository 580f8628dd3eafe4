//! The link firmware (`bbcu_hdl::linkfw`) on the control core's instruction-level model beside
//! the I/O block's model, spoken to at byte level with the host-side frames of `tests/link`:
//! every case of `tests/proto.rs` (the hand-built protocol engine), then a strip's result
//! streamed against a stand-in engine, and RESET draining a strip in flight.

mod link;

use bbcu_arch::DesignInfo;
use bbcu_hdl::device::test_config;
use bbcu_hdl::linkfw::FwBoard;
use link::*;

/// The partial-frame timeout, in 256-cycle units.
const STALE: u16 = 2;
const QUIET: u64 = 3000;

struct Dut {
    b: FwBoard,
    cycles: u64,
}

impl Dut {
    fn new() -> Dut {
        Dut { b: FwBoard::new(&test_config(), STALE), cycles: 0 }
    }

    /// Bytes on a paced line: `line` cycles each way (120 = 3 Mbaud at 36 MHz).
    fn paced(line: u64) -> Dut {
        let mut d = Dut::new();
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
        let (frames, left) = parse(&self.b.io.tx[from..]);
        assert_eq!(left, 0, "a partial frame was left on the line");
        self.b.io.tx.truncate(from);
        frames
    }
}

fn one(mut f: Vec<Frame>) -> Frame {
    assert_eq!(f.len(), 1, "expected one reply, got {f:?}");
    f.pop().unwrap()
}

#[test]
fn hello_answers_info_with_the_design() {
    let cfg = test_config();
    let mut d = Dut::new();
    d.send(&frame(HELLO, 7, &[]));
    let r = one(d.replies(QUIET));
    assert_eq!((r.code, r.seq), (INFO, 7));
    let info = DesignInfo::of(&cfg);
    assert_eq!(r.u32(0), info.format_version);
    assert_eq!(r.u32(4), info.hash);
    assert_eq!((r.u32(8), r.u32(12)), (0, 0), "no model yet");
    assert_eq!(r.u8(16), 1, "one slot: the hardware profile");
    let n = r.u8(17) as usize;
    assert_eq!(std::str::from_utf8(&r.payload[18..18 + n]).unwrap(), "bbcu sim-test (hardware)");
    let design: DesignInfo = serde_json::from_slice(&r.payload[18 + n..]).unwrap();
    assert_eq!(design, info);
}

#[test]
fn bad_crc_is_answered_and_the_next_frame_is_found() {
    let mut d = Dut::new();
    let mut bad = frame(QUERY, 3, &[5, 0]);
    bad[9] ^= 0x10;
    d.send(&bad);
    d.send(&frame(HELLO, 4, &[]));
    let r = d.replies(QUIET);
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!((r[0].code, r[0].seq), (ERROR, 3));
    assert_eq!(r[0].error(), (1, "frame CRC mismatch".to_string()));
    assert_eq!((r[1].code, r[1].seq), (INFO, 4));
}

#[test]
fn bad_header_and_garbage_are_skipped_byte_by_byte() {
    let mut d = Dut::new();
    let mut bad_hdr = frame(HELLO, 1, &[]);
    bad_hdr[7] ^= 1;
    d.send(&[0x00, 0xBB, 0xBB, 0xC5, 0x02, 0xC5, 0xBB]);
    d.send(&bad_hdr[..8]);
    let mut v2 = frame(HELLO, 2, &[]);
    v2[2] = 2;
    d.send(&v2);
    d.send(&frame(HELLO, 3, &[]));
    let r = one(d.replies(QUIET));
    assert_eq!((r.code, r.seq), (INFO, 3));
}

#[test]
fn truncated_frame_is_given_up_after_the_timeout() {
    let mut d = Dut::new();
    let f = frame(DATA, 9, &data(0, 0, 0, &[1, 2, 3, 4]));
    d.send(&f[..f.len() - 3]);
    assert!(d.replies(4 * 256 * STALE as u64).is_empty(), "a truncated frame is not answered");
    d.send(&frame(HELLO, 10, &[]));
    let r = one(d.replies(QUIET));
    assert_eq!((r.code, r.seq), (INFO, 10));
}

#[test]
fn unknown_commands_and_bad_requests_are_errors() {
    let mut d = Dut::new();
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
fn back_to_back_frames_are_answered_in_order() {
    let mut d = Dut::new();
    let mut all = Vec::new();
    all.extend(frame(HELLO, 1, &[]));
    all.extend(frame(QUERY, 2, &[9, 0]));
    all.extend(frame(0x42, 3, &[]));
    all.extend(frame(HELLO, 4, &[1]));
    all.extend(frame(COMMIT, 5, &commit(1, 9)));
    all.extend(frame(FETCH, 6, &[9, 0, 0, 0, 0, 0, 16, 0, 0, 0]));
    all.extend(frame(RESET, 7, &[0]));
    all.extend(frame(COUNTERS, 8, &[]));
    d.send(&all);
    let r = d.replies(QUIET);
    let got: Vec<(u8, u8)> = r.iter().map(|f| (f.code, f.seq)).collect();
    assert_eq!(
        got,
        vec![
            (INFO, 1),
            (STATE, 2),
            (ERROR, 3),
            (ERROR, 4),
            (ERROR, 5),
            (ERROR, 6),
            (RESET_DONE, 7),
            (COUNTERS_REPLY, 8)
        ]
    );
    assert_eq!((r[1].u16(0), r[1].u8(2)), (9, 0), "an unknown strip's state is unknown");
    assert_eq!(r[2].error().0, 2, "unknown command");
    assert_eq!(r[3].error().0, 3, "HELLO with a payload is a bad request");
    assert_eq!(r[4].error(), (4, "no model loaded".to_string()));
    assert_eq!(r[5].error(), (8, "results not kept: run again".to_string()));
    assert_eq!(r[7].payload.len(), 26);
    assert_eq!(r[7].u16(24), 0);
}

#[test]
fn counters_are_busy_while_the_engine_runs() {
    let mut d = Dut::new();
    d.b.io.eng_busy = true;
    d.send(&frame(COUNTERS, 1, &[]));
    assert_eq!(one(d.replies(QUIET)).error(), (7, "busy: one strip at a time".to_string()));
    d.b.io.eng_busy = false;
    d.b.io.counters = vec![0x1234_5678, 7];
    d.send(&frame(COUNTERS, 2, &[]));
    let r = one(d.replies(QUIET));
    assert_eq!((r.u32(0), r.u32(4), r.u32(8), r.u32(12)), (0x1234_5678, 0, 7, 0));
}

fn small_model(cfg: &bbcu_arch::HwConfig) -> (Vec<u8>, bbcu_arch::image::ModelImage) {
    let net = bbcu_sim::synth::Topology::deblock(8, 3).build(2);
    let q = bbcu_sim::fixed::FixedNetwork::compile(&net, None).unwrap();
    let c = bbcu_arch::compile(&q, cfg).unwrap_or_else(|e| panic!("{e}"));
    (c.image.to_bytes(cfg), c.image)
}

fn upload(d: &mut Dut, image: &[u8], chunk: usize, seq: &mut u8) -> Frame {
    let crc = CRC32.checksum(image);
    d.send(&frame(BEGIN, *seq, &begin(0, 0, image.len() as u32, chunk as u16, crc, [0; 4])));
    for (i, c) in image.chunks(chunk).enumerate() {
        *seq = seq.wrapping_add(1);
        d.send(&frame(DATA, *seq, &data(0, 0, (i * chunk) as u32, c)));
    }
    *seq = seq.wrapping_add(1);
    d.send(&frame(COMMIT, *seq, &commit(0, 0)));
    one(d.replies(QUIET))
}

#[test]
fn model_upload_writes_every_word_and_commits() {
    let cfg = test_config();
    let (bytes, img) = small_model(&cfg);
    let mut d = Dut::new();
    let mut seq = 1;
    let r = upload(&mut d, &bytes, 1024, &mut seq);
    assert_eq!((r.code, r.seq), (COMMITTED, seq), "{r:?}");
    let want: Vec<(u8, u32, u64)> = img
        .sections
        .iter()
        .flat_map(|s| s.words.iter().enumerate().map(move |(i, w)| (s.mem as u8, (s.addr + i) as u32, *w)))
        .collect();
    assert_eq!(d.b.io.loads.len(), want.len());
    assert!(d.b.io.loads == want, "load port writes differ from the image's words");
    eprintln!("{} image bytes, {} words, {} cycles", bytes.len(), want.len(), d.cycles);
    d.send(&frame(HELLO, 100, &[]));
    let r = one(d.replies(QUIET));
    assert_eq!((r.u32(8), r.u32(12)), (bytes.len() as u32, CRC32.checksum(&bytes)));
    d.b.io.counters = vec![0; 40];
    d.send(&frame(COUNTERS, 101, &[]));
    let r = one(d.replies(QUIET));
    let n = img.program(cfg.memory.program_words).unwrap().ops.len();
    assert_eq!((r.u16(24) as usize, r.payload.len()), (n, 26 + 16 * n));
    d.send(&frame(RESET, 102, &[0]));
    assert_eq!(one(d.replies(QUIET)).code, RESET_DONE);
    d.send(&frame(HELLO, 103, &[]));
    assert_eq!(one(d.replies(QUIET)).u32(8), 0);
}

#[test]
fn model_upload_takes_only_the_next_chunk_and_reports_the_rest_missing() {
    let cfg = test_config();
    let (bytes, _) = small_model(&cfg);
    let chunk = 256;
    assert!(bytes.len() > 3 * chunk);
    let crc = CRC32.checksum(&bytes);
    let mut d = Dut::new();
    d.send(&frame(BEGIN, 1, &begin(0, 0, bytes.len() as u32, chunk as u16, crc, [0; 4])));
    d.send(&frame(DATA, 2, &data(0, 0, 0, &bytes[..chunk])));
    d.send(&frame(DATA, 3, &data(0, 0, 2 * chunk as u32, &bytes[2 * chunk..3 * chunk])));
    d.send(&frame(COMMIT, 4, &commit(0, 0)));
    let r = one(d.replies(QUIET));
    assert_eq!((r.code, r.seq, r.u8(3)), (MISSING, 4, 1));
    assert_eq!((r.u32(4), r.u32(8)), (chunk as u32, (bytes.len() - chunk) as u32));
    d.send(&frame(BEGIN, 5, &begin(1, 1, 3, 16, 0, [1, 1, 0, 1])));
    assert_eq!(one(d.replies(QUIET)).error().0, 4);
    d.send(&frame(BEGIN, 6, &begin(0, 0, bytes.len() as u32, chunk as u16, crc, [0; 4])));
    for (i, c) in bytes.chunks(chunk).enumerate().skip(1) {
        d.send(&frame(DATA, 7, &data(0, 0, (i * chunk) as u32, c)));
    }
    d.send(&frame(COMMIT, 8, &commit(0, 0)));
    assert_eq!(one(d.replies(QUIET)).code, COMMITTED);
}

#[test]
fn refused_images_leave_no_model() {
    let cfg = test_config();
    let (bytes, _) = small_model(&cfg);
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = bytes.clone();
        f(&mut b);
        b
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("magic", edit(&|b| b[0] = b'X'), "not a bbcu model image"),
        ("hash", edit(&|b| b[8] ^= 1), "image is for another design"),
        (
            "body",
            edit(&|b| {
                let n = b.len();
                b[n - 10] ^= 1
            }),
            "model image CRC mismatch",
        ),
        (
            "short",
            edit(&|b| {
                let n = b.len();
                b.drain(n - 8..n - 4);
            }),
            "model image ends early",
        ),
    ];
    for (what, img, msg) in cases {
        let mut d = Dut::new();
        let mut seq = 1;
        let r = upload(&mut d, &img, 512, &mut seq);
        assert_eq!(r.error(), (5, msg.to_string()), "{what}");
        d.send(&frame(HELLO, 50, &[]));
        assert_eq!(one(d.replies(QUIET)).u32(8), 0, "{what}: no model after a refused image");
        d.send(&frame(BEGIN, 51, &begin(1, 1, 3, 16, 0, [1, 1, 0, 1])));
        assert_eq!(one(d.replies(QUIET)).error().0, 4, "{what}: a strip finds no model");
    }
}

#[test]
fn whole_upload_crc_mismatch_asks_for_everything_again() {
    let cfg = test_config();
    let (bytes, _) = small_model(&cfg);
    let mut d = Dut::new();
    let crc = CRC32.checksum(&bytes) ^ 1;
    d.send(&frame(BEGIN, 1, &begin(0, 0, bytes.len() as u32, 1024, crc, [0; 4])));
    for (i, c) in bytes.chunks(1024).enumerate() {
        d.send(&frame(DATA, 2, &data(0, 0, (i * 1024) as u32, c)));
    }
    d.send(&frame(COMMIT, 3, &commit(0, 0)));
    let r = one(d.replies(QUIET));
    assert_eq!((r.code, r.u32(4), r.u32(8)), (MISSING, 0, bytes.len() as u32));
}

/// Strips are checked before the engine starts (as `StripJob::check`), and a program the
/// engine refuses at the start fails the strip without hanging the board.
#[test]
fn strip_jobs_are_checked_and_an_engine_error_fails_the_strip() {
    let cfg = test_config();
    let (bytes, img) = small_model(&cfg);
    let h = img.program(cfg.memory.program_words).unwrap().header;
    let mut d = Dut::new();
    let mut seq = 1;
    assert_eq!(upload(&mut d, &bytes, 1024, &mut seq).code, COMMITTED);
    let (w, hh) = (h.width_cap as u32, 3u32);
    let total = h.in_ch as u32 * w * hh;
    let bad: Vec<([u32; 4], u32, u8)> = vec![
        ([w + 1, hh, 0, 1], h.in_ch as u32 * (w + 1) * hh, 6),
        ([w, 0, 0, 1], 0, 6),
        ([w, hh, 1, w], total, 6),
        ([w, hh, 0, 0], total, 6),
        ([w, hh, 0, w], total + 1, 6),
        ([w, 65536, 0, w], h.in_ch as u32 * w * 65536, 6),
    ];
    for (job, total, kind) in bad {
        d.send(&frame(BEGIN, 2, &begin(1, 1, total, 64, 0, job)));
        assert_eq!(one(d.replies(QUIET)).error().0, kind, "{job:?} with {total} bytes");
    }
    d.send(&frame(BEGIN, 3, &begin(1, 1, total, 2048, 0, [w, hh, 0, w])));
    assert_eq!(one(d.replies(QUIET)).error().0, 3, "chunk above 1024");
    assert!(d.b.io.starts.is_empty(), "no refused job reached the engine");

    let input = vec![7u8; total as usize];
    d.send(&frame(BEGIN, 4, &begin(1, 5, total, 64, CRC32.checksum(&input), [w, hh, 0, w])));
    assert!(d.replies(QUIET).is_empty());
    assert_eq!(d.b.io.starts, vec![[w as u16, hh as u16, 0, w as u16]]);
    d.b.io.eng_error = true;
    d.send(&frame(DATA, 5, &data(1, 5, 0, &input[..64])));
    d.send(&frame(COMMIT, 6, &commit(1, 5)));
    d.send(&frame(QUERY, 7, &5u16.to_le_bytes()));
    let r = d.replies(QUIET);
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(r[0].error(), (9, "engine found no valid program".to_string()));
    assert_eq!((r[1].code, r[1].u8(2)), (STATE, 6), "failed");
    d.b.io.eng_error = false;
    d.send(&frame(BEGIN, 8, &begin(1, 6, total, 64, 0, [w, hh, 0, w])));
    assert!(d.replies(QUIET).is_empty());
    assert_eq!(d.b.io.starts.len(), 2);
}

/// A strip end to end against a stand-in engine: input in credit-limited chunks, the result
/// streamed as RESULT_DATA frames once each chunk is in the FIFO, RESULT_END with the CRC, and
/// QUERY's states along the way.
#[test]
fn a_strip_streams_its_result() {
    let cfg = test_config();
    let (bytes, img) = small_model(&cfg);
    let h = img.program(cfg.memory.program_words).unwrap().header;
    let mut d = Dut::new();
    let mut seq = 1;
    assert_eq!(upload(&mut d, &bytes, 1024, &mut seq).code, COMMITTED);
    let (w, hh) = (h.width_cap as u32, 4u32);
    let total = h.in_ch as u32 * w * hh;
    let rlen = (h.out_ch as u32 * w * hh * (h.scale * h.scale) as u32) as usize;
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

/// RESET while a strip is in flight: the rest of its input is fed as zeros, its output is
/// dropped, and only then RESET_DONE; the model stays and the next strip is taken.
#[test]
fn reset_drains_a_strip_in_flight() {
    let cfg = test_config();
    let (bytes, img) = small_model(&cfg);
    let h = img.program(cfg.memory.program_words).unwrap().header;
    let mut d = Dut::new();
    let mut seq = 1;
    assert_eq!(upload(&mut d, &bytes, 1024, &mut seq).code, COMMITTED);
    let (w, hh) = (h.width_cap as u32, 4u32);
    let total = h.in_ch as u32 * w * hh;
    let rlen = (h.out_ch as u32 * w * hh * (h.scale * h.scale) as u32) as usize;
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
    assert_eq!(one(d.replies(QUIET)).u32(8), bytes.len() as u32, "the model is kept");
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
    assert!(len <= 2140, "the link firmware grew to {len} words");
}

/// At 3 Mbaud and 36 MHz (120 cycles a byte) with the model's frames sent back to back: the
/// firmware keeps up with a model upload (nothing lost from the 2 KiB receive FIFO), INFO's
/// fed tail fits the send FIFO, and a strip's result keeps the line busy.
#[test]
fn at_line_rate_nothing_is_lost_and_results_fill_the_line() {
    const LINE: u64 = 120;
    let cfg = test_config();
    let (bytes, img) = small_model(&cfg);
    let h = img.program(cfg.memory.program_words).unwrap().header;
    let mut d = Dut::paced(LINE);
    d.send(&frame(HELLO, 1, &[]));
    assert_eq!(one(d.replies(QUIET)).code, INFO);
    let mut seq = 2;
    let t0 = d.cycles;
    assert_eq!(upload(&mut d, &bytes, 1024, &mut seq).code, COMMITTED);
    eprintln!("model upload: {} bytes in {} cycles", bytes.len(), d.cycles - t0);
    assert_eq!(d.b.io.rx_overflow, 0, "receive FIFO overflowed during the model upload");

    let (w, hh) = (h.width_cap as u32, 64u32);
    let total = h.in_ch as u32 * w * hh;
    let rlen = (h.out_ch as u32 * w * hh * (h.scale * h.scale) as u32) as usize;
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
    assert_eq!(d.b.io.fed_overrun, 0, "a fed tail byte met a full send FIFO");
    eprintln!("result {rlen} bytes: line busy {:.1} % of the time", 100.0 * busy);
    assert!(busy > 0.95, "the line was busy {:.1} % of the time", 100.0 * busy);
}

/// The weight memory's words are `lanes / 8` bytes: 2 on the simulation and UP5K engines, 8 on
/// the ECP5 one, which takes the parser's 64-bit word path.
#[test]
fn model_upload_on_every_preset_writes_every_word() {
    for name in ["ice40-up5k", "ecp5-85k"] {
        let cfg = bbcu_arch::HwConfig::preset(name).unwrap();
        let (bytes, img) = small_model(&cfg);
        let mut d = Dut { b: FwBoard::new(&cfg, STALE), cycles: 0 };
        let mut seq = 1;
        let r = upload(&mut d, &bytes, 1024, &mut seq);
        assert_eq!(r.code, COMMITTED, "{name}: {r:?}");
        let want: Vec<(u8, u32, u64)> = img
            .sections
            .iter()
            .flat_map(|s| s.words.iter().enumerate().map(move |(i, w)| (s.mem as u8, (s.addr + i) as u32, *w)))
            .collect();
        assert!(d.b.io.loads == want, "{name}: load port writes differ from the image's words");
        let (_, len) = bbcu_hdl::linkfw::firmware_map(&cfg, STALE);
        eprintln!("{name}: {} image bytes in {} cycles; firmware {len} words", bytes.len(), d.cycles);
    }
}
