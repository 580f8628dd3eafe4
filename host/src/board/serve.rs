//! The board side of the protocol in software: receives frames from a link, keeps uploads
//! until they are whole, and runs strips on any [`Device`]. This is what `bbcu-host board
//! serve` puts behind a pseudo-terminal, and the behaviour the hardware protocol engine
//! implements (`docs/protocol.md`).
//!
//! Four threads per session: the reader (parses and answers frames), the engine (runs each
//! strip on the device as soon as it is whole), the pacer (releases results at the modelled
//! engine's time when the board has a clock: one strip at a time, each result chunk once its
//! rows have left the wavefront), the writer (sends replies before bulk result data). The next
//! strip is received while the current one computes and the one before it is still being sent.

use crate::link::{Link, Rx, Tx};
use crate::protocol::{crc32, ErrorKind, Event, Hello, Msg, Parser, StripState, Target, MAX_PAYLOAD, MAX_RANGES};
use bbcu_arch::{DesignInfo, Device, DeviceError, StripJob};
use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A partial frame that sees no new byte for this long is given up (see [`Parser::stale`]).
pub const STALE: Duration = Duration::from_millis(200);
/// Largest model image accepted.
const MAX_MODEL: u32 = 64 << 20;
/// Largest strip input accepted.
const MAX_STRIP: u32 = 64 << 20;
/// Results of finished strips kept for retransmission.
const RESULTS_KEPT: usize = 8;

/// Bytes of an upload, filled chunk by chunk in any order.
struct Blob {
    id: u16,
    total: usize,
    chunk: usize,
    crc: u32,
    job: StripJob,
    data: Vec<u8>,
    have: Vec<bool>,
    committed: bool,
}

impl Blob {
    fn new(id: u16, total: u32, chunk: u16, crc: u32, job: StripJob) -> Self {
        let (total, chunk) = (total as usize, chunk as usize);
        let n = total.div_ceil(chunk);
        Blob { id, total, chunk, crc, job, data: vec![0; total], have: vec![false; n], committed: false }
    }

    /// Stores a chunk; false when it does not fit the blob's shape.
    fn put(&mut self, offset: u32, bytes: &[u8]) -> bool {
        let off = offset as usize;
        if !off.is_multiple_of(self.chunk) || off >= self.total || bytes.len() != self.chunk.min(self.total - off) {
            return false;
        }
        self.data[off..off + bytes.len()].copy_from_slice(bytes);
        self.have[off / self.chunk] = true;
        true
    }

    fn missing(&self) -> Vec<(u32, u32)> {
        let mut v: Vec<(u32, u32)> = Vec::new();
        for (i, h) in self.have.iter().enumerate() {
            if *h {
                continue;
            }
            let off = (i * self.chunk) as u32;
            let len = self.chunk.min(self.total - i * self.chunk) as u32;
            let full = v.len() == MAX_RANGES;
            match v.last_mut() {
                Some((o, l)) if *o + *l == off => *l += len,
                _ if full => break,
                _ => v.push((off, len)),
            }
        }
        v
    }
}

enum Slot {
    Receiving(Blob),
    Queued,
    Computing,
    Done { result: Arc<Vec<u8>>, crc: u32, chunk: usize, sent: bool },
    Failed,
}

impl Slot {
    fn active(&self) -> bool {
        matches!(self, Slot::Receiving(_) | Slot::Queued | Slot::Computing)
    }
}

struct Job {
    epoch: u64,
    id: u16,
    job: StripJob,
    input: Vec<u8>,
    chunk: usize,
    /// When the strip was whole at the board: the modelled engine may start it from then on.
    committed: Instant,
}

/// A strip the device has computed, waiting for the modelled engine's time to send it.
struct Computed {
    epoch: u64,
    id: u16,
    job: StripJob,
    chunk: usize,
    committed: Instant,
    /// When this computer had the bytes: nothing goes earlier, however fast the model says.
    ready: Instant,
    result: Result<Vec<u8>, DeviceError>,
    cycles: u64,
    rows: Option<Vec<u64>>,
}

struct State {
    /// Bumped by every reset: work from an older epoch is thrown away.
    epoch: u64,
    model: Option<(u32, u32)>,
    model_blob: Option<Blob>,
    strips: VecDeque<(u16, Slot)>,
    jobs: VecDeque<Job>,
    computed: VecDeque<Computed>,
    stop: bool,
}

impl State {
    fn slot(&mut self, id: u16) -> Option<&mut Slot> {
        self.strips.iter_mut().find(|(i, _)| *i == id).map(|(_, s)| s)
    }

    fn clear(&mut self) {
        self.epoch += 1;
        self.strips.clear();
        self.jobs.clear();
        self.computed.clear();
    }
}

/// Frames waiting for the writer: replies go before bulk result data, so that the host hears
/// a COMMIT's answer while a long result is still streaming.
#[derive(Default)]
struct Outbox {
    ctrl: VecDeque<(Msg, Option<u8>)>,
    /// Result frames; the strip id and epoch mark the last frame of a strip.
    bulk: VecDeque<(Msg, Option<(u16, u64)>)>,
}

struct Shared {
    device: Mutex<Box<dyn Device>>,
    /// Cycles per second of the modelled engine: a strip is not answered before its cycles
    /// at this clock have passed (`None`: as soon as the device is done).
    clock_hz: Option<f64>,
    design: DesignInfo,
    name: String,
    slots: usize,
    state: Mutex<State>,
    work: Condvar,
    out: Mutex<Outbox>,
    out_ready: Condvar,
}

/// A virtual board: a device and the protocol state in front of it. Cloning gives another
/// handle to the same board.
#[derive(Clone)]
pub struct Board(Arc<Shared>);

impl Board {
    /// `slots`: strips held at once (receiving, queued or computing); 2 or more lets the next
    /// strip arrive while one computes.
    pub fn new(device: Box<dyn Device>, name: impl Into<String>, slots: usize) -> Board {
        Board::with_clock(device, name, slots, None)
    }

    /// A board whose strips take as long as the device's cycle counters say they would at
    /// `clock_mhz`, however fast this computer computes them, so that a virtual board keeps
    /// the hardware's timing (a slower device still takes its own time).
    pub fn with_clock(device: Box<dyn Device>, name: impl Into<String>, slots: usize, clock_mhz: Option<f64>) -> Board {
        let design = device.info();
        Board(Arc::new(Shared {
            device: Mutex::new(device),
            clock_hz: clock_mhz.filter(|m| *m > 0.0).map(|m| m * 1e6),
            design,
            name: name.into(),
            slots: slots.clamp(1, 255),
            state: Mutex::new(State {
                epoch: 0,
                model: None,
                model_blob: None,
                strips: VecDeque::new(),
                jobs: VecDeque::new(),
                computed: VecDeque::new(),
                stop: false,
            }),
            work: Condvar::new(),
            out: Mutex::new(Outbox::default()),
            out_ready: Condvar::new(),
        }))
    }

    /// What a power cycle does to a board: model, strips and queued output gone.
    pub fn power_cycle(&self) {
        let mut st = self.0.state.lock().unwrap();
        st.clear();
        st.model = None;
        st.model_blob = None;
        self.0.device.lock().unwrap().reset();
        self.0.out.lock().unwrap().bulk.clear();
    }

    /// Serves one link until it closes (the host end went away, or a read fails).
    pub fn serve(&self, link: Link) -> io::Result<()> {
        let Link { rx, tx, .. } = link;
        self.0.state.lock().unwrap().stop = false;
        let done = Arc::new(AtomicBool::new(false));
        let writer = {
            let (b, d) = (self.clone(), done.clone());
            std::thread::spawn(move || b.write_loop(tx, &d))
        };
        let engine = {
            let b = self.clone();
            std::thread::spawn(move || b.engine_loop())
        };
        let pacer = {
            let b = self.clone();
            std::thread::spawn(move || b.pace_loop())
        };
        let r = self.read_loop(rx);
        done.store(true, Ordering::SeqCst);
        self.0.state.lock().unwrap().stop = true;
        self.0.work.notify_all();
        self.0.out_ready.notify_all();
        let _ = writer.join();
        let _ = engine.join();
        let _ = pacer.join();
        r
    }

    fn read_loop(&self, mut rx: Box<dyn Rx>) -> io::Result<()> {
        let mut parser = Parser::new();
        let mut buf = vec![0u8; 8192];
        let mut last = Instant::now();
        loop {
            let n = match rx.recv(&mut buf) {
                Ok(n) => n,
                Err(e) if matches!(e.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::UnexpectedEof) => return Ok(()),
                Err(e) => return Err(e),
            };
            if n > 0 {
                parser.push(&buf[..n]);
                last = Instant::now();
            } else if parser.pending() > 0 && last.elapsed() > STALE {
                parser.stale();
            }
            while let Some(ev) = parser.next_frame() {
                match ev {
                    Ok(f) => match Msg::decode(&f) {
                        Ok(m) => self.handle(m, f.seq),
                        Err(e) => self.reply(Msg::Error { kind: ErrorKind::BadRequest, id: 0, message: e }, f.seq),
                    },
                    Err(Event::BadCrc { seq, .. }) => self.reply(
                        Msg::Error { kind: ErrorKind::BadFrame, id: 0, message: "frame failed its CRC".into() },
                        seq,
                    ),
                }
            }
        }
    }

    fn reply(&self, m: Msg, seq: u8) {
        self.0.out.lock().unwrap().ctrl.push_back((m, Some(seq)));
        self.0.out_ready.notify_all();
    }

    fn error(&self, kind: ErrorKind, id: u16, message: impl Into<String>, seq: u8) {
        self.reply(Msg::Error { kind, id, message: message.into() }, seq);
    }

    fn handle(&self, m: Msg, seq: u8) {
        let sh = &*self.0;
        match m {
            Msg::Hello => {
                let model = sh.state.lock().unwrap().model.unwrap_or((0, 0));
                let hello = Hello {
                    format_version: sh.design.format_version,
                    hash: sh.design.hash,
                    design: Some(sh.design.clone()),
                    name: sh.name.clone(),
                    model_len: model.0,
                    model_crc: model.1,
                    slots: sh.slots as u8,
                };
                self.reply(Msg::Info(Box::new(hello)), seq);
            }
            Msg::Begin { target, id, total, chunk, crc, job } => {
                let limit = if target == Target::Model { MAX_MODEL } else { MAX_STRIP };
                if total == 0 || total > limit || chunk == 0 || chunk as usize > MAX_PAYLOAD - 8 {
                    return self.error(
                        ErrorKind::BadRequest,
                        id,
                        format!("upload of {total} bytes in {chunk}-byte chunks"),
                        seq,
                    );
                }
                let mut st = sh.state.lock().unwrap();
                match target {
                    Target::Model => {
                        // A repeated BEGIN must not throw away chunks already received.
                        let same = st
                            .model_blob
                            .as_ref()
                            .is_some_and(|b| !b.committed && b.id == id && b.total == total as usize && b.crc == crc);
                        if !same {
                            st.model_blob = Some(Blob::new(id, total, chunk, crc, job));
                        }
                    }
                    Target::Strip => {
                        if st.slot(id).is_some() {
                            return;
                        }
                        if st.strips.iter().filter(|(_, s)| s.active()).count() >= sh.slots {
                            drop(st);
                            return self.error(
                                ErrorKind::Busy,
                                id,
                                format!("all {} strip slots are busy", sh.slots),
                                seq,
                            );
                        }
                        while st.strips.len() >= sh.slots + RESULTS_KEPT {
                            match st.strips.iter().position(|(_, s)| !s.active()) {
                                Some(p) => {
                                    st.strips.remove(p);
                                }
                                None => break,
                            }
                        }
                        st.strips.push_back((id, Slot::Receiving(Blob::new(id, total, chunk, crc, job))));
                    }
                }
            }
            Msg::Data { target, id, offset, bytes } => {
                let mut st = sh.state.lock().unwrap();
                let blob = match target {
                    Target::Model => st.model_blob.as_mut().filter(|b| b.id == id && !b.committed),
                    Target::Strip => match st.slot(id) {
                        Some(Slot::Receiving(b)) => Some(b),
                        _ => None,
                    },
                };
                // Data for an upload the board does not know (its BEGIN was lost) is dropped:
                // the host learns it at COMMIT.
                if let Some(b) = blob {
                    if !b.put(offset, &bytes) {
                        drop(st);
                        self.error(
                            ErrorKind::BadRequest,
                            id,
                            format!("chunk at {offset} does not fit the upload"),
                            seq,
                        );
                    }
                }
            }
            Msg::Commit { target: Target::Model, id } => self.commit_model(id, seq),
            Msg::Commit { target: Target::Strip, id } => self.commit_strip(id, seq),
            Msg::Query { id } => {
                let mut st = sh.state.lock().unwrap();
                let (state, len, crc) = match st.slot(id) {
                    None => (StripState::Unknown, 0, 0),
                    Some(Slot::Receiving(_)) => (StripState::Receiving, 0, 0),
                    Some(Slot::Queued) => (StripState::Queued, 0, 0),
                    Some(Slot::Computing) => (StripState::Computing, 0, 0),
                    Some(Slot::Failed) => (StripState::Failed, 0, 0),
                    Some(Slot::Done { result, crc, sent, .. }) => {
                        (if *sent { StripState::Sent } else { StripState::Sending }, result.len() as u32, *crc)
                    }
                };
                drop(st);
                self.reply(Msg::State { id, state, len, crc }, seq);
            }
            Msg::Fetch { id, offset, len } => {
                let mut st = sh.state.lock().unwrap();
                let epoch = st.epoch;
                match st.slot(id) {
                    Some(Slot::Done { result, crc, chunk, sent }) => {
                        *sent = false;
                        let (result, crc, chunk) = (result.clone(), *crc, *chunk);
                        drop(st);
                        let offset = offset as usize;
                        self.queue_chunks(id, &result, chunk, offset..offset.saturating_add(len as usize));
                        self.queue_end(id, epoch, result.len(), crc);
                    }
                    _ => {
                        drop(st);
                        self.handle(Msg::Query { id }, seq);
                    }
                }
            }
            Msg::Counters => {
                let c = sh.device.lock().unwrap().counters();
                self.reply(Msg::CountersReply(c), seq);
            }
            Msg::Reset { keep_model } => {
                if keep_model {
                    sh.state.lock().unwrap().clear();
                    sh.out.lock().unwrap().bulk.clear();
                } else {
                    self.power_cycle();
                }
                // An engine waiting out a strip's modelled time stops waiting.
                sh.work.notify_all();
                self.reply(Msg::ResetDone, seq);
            }
            other => {
                self.error(ErrorKind::UnknownCommand, 0, format!("code 0x{:02x} is not a command", other.code()), seq)
            }
        }
    }

    fn commit_model(&self, id: u16, seq: u8) {
        let sh = &*self.0;
        let mut st = sh.state.lock().unwrap();
        let Some(b) = st.model_blob.as_mut().filter(|b| b.id == id) else {
            drop(st);
            return self.error(ErrorKind::UnknownStrip, id, "no model upload in progress", seq);
        };
        if b.committed {
            drop(st);
            return self.reply(Msg::Committed { target: Target::Model, id }, seq);
        }
        let missing = b.missing();
        if !missing.is_empty() {
            drop(st);
            return self.reply(Msg::Missing { target: Target::Model, id, ranges: missing }, seq);
        }
        if crc32(&b.data) != b.crc {
            b.have.iter_mut().for_each(|h| *h = false);
            let ranges = b.missing();
            drop(st);
            return self.reply(Msg::Missing { target: Target::Model, id, ranges }, seq);
        }
        b.committed = true;
        let data = std::mem::take(&mut b.data);
        let (len, crc) = (b.total as u32, b.crc);
        // Strips of the old model must not run on the new one.
        st.clear();
        st.model = None;
        drop(st);
        let r = sh.device.lock().unwrap().load(&data);
        match r {
            Ok(()) => {
                sh.state.lock().unwrap().model = Some((len, crc));
                self.reply(Msg::Committed { target: Target::Model, id }, seq);
            }
            Err(e) => self.error(ErrorKind::BadImage, id, e.to_string(), seq),
        }
    }

    fn commit_strip(&self, id: u16, seq: u8) {
        let sh = &*self.0;
        let mut st = sh.state.lock().unwrap();
        let has_model = st.model.is_some();
        let epoch = st.epoch;
        let Some(slot) = st.slot(id) else {
            drop(st);
            return self.error(ErrorKind::UnknownStrip, id, format!("strip {id} was never begun"), seq);
        };
        let Slot::Receiving(b) = slot else {
            drop(st);
            return self.reply(Msg::Committed { target: Target::Strip, id }, seq);
        };
        let missing = b.missing();
        if !missing.is_empty() {
            drop(st);
            return self.reply(Msg::Missing { target: Target::Strip, id, ranges: missing }, seq);
        }
        if crc32(&b.data) != b.crc {
            b.have.iter_mut().for_each(|h| *h = false);
            let ranges = b.missing();
            drop(st);
            return self.reply(Msg::Missing { target: Target::Strip, id, ranges }, seq);
        }
        if !has_model {
            st.strips.retain(|(i, _)| *i != id);
            drop(st);
            return self.error(ErrorKind::NoModel, id, "no model loaded", seq);
        }
        // The result goes back in chunks of the upload's size (see docs/protocol.md).
        let job = Job {
            epoch,
            id,
            job: b.job,
            input: std::mem::take(&mut b.data),
            chunk: b.chunk,
            committed: Instant::now(),
        };
        *slot = Slot::Queued;
        st.jobs.push_back(job);
        drop(st);
        self.0.work.notify_all();
        self.reply(Msg::Committed { target: Target::Strip, id }, seq);
    }

    /// Queues the result chunks that overlap `range` (whole chunks: the host takes a chunk
    /// only at its own offset and length).
    fn queue_chunks(&self, id: u16, result: &[u8], chunk: usize, range: std::ops::Range<usize>) {
        let end = range.end.min(result.len());
        let mut out = self.0.out.lock().unwrap();
        let mut off = range.start / chunk * chunk;
        while off < end {
            let n = chunk.min(result.len() - off);
            out.bulk
                .push_back((Msg::ResultData { id, offset: off as u32, bytes: result[off..off + n].to_vec() }, None));
            off += n;
        }
        drop(out);
        self.0.out_ready.notify_all();
    }

    fn queue_end(&self, id: u16, epoch: u64, len: usize, crc: u32) {
        self.0.out.lock().unwrap().bulk.push_back((Msg::ResultEnd { id, len: len as u32, crc }, Some((id, epoch))));
        self.0.out_ready.notify_all();
    }

    /// Computes queued strips on the device as soon as they are whole, ahead of the modelled
    /// engine's time, so that this computer's own speed does not delay a paced board.
    fn engine_loop(&self) {
        let sh = &*self.0;
        while let Some((mut st, Job { epoch, id, job, input, chunk, committed })) =
            self.next(|st| &mut st.jobs, |j| j.epoch)
        {
            if let Some(s) = st.slot(id) {
                *s = Slot::Computing;
            }
            drop(st);
            let (result, cycles, rows) = {
                let mut d = sh.device.lock().unwrap();
                let r = d.run_strip(&job, &input);
                // Only a paced board releases rows on the model's schedule.
                (r, d.counters().total_cycles, sh.clock_hz.and_then(|_| d.output_rows(&job)))
            };
            let mut st = sh.state.lock().unwrap();
            if epoch == st.epoch {
                let ready = Instant::now();
                st.computed.push_back(Computed { epoch, id, job, chunk, committed, ready, result, cycles, rows });
                drop(st);
                sh.work.notify_all();
            }
        }
    }

    /// Sends computed strips at the modelled engine's pace: it takes one strip at a time, each
    /// from when it was whole (or the engine became free), and a result chunk goes once the
    /// rows it holds have left the engine's wavefront, as the hardware streams its result.
    fn pace_loop(&self) {
        let sh = &*self.0;
        let mut free = Instant::now();
        while let Some((st, c)) = self.next(|st| &mut st.computed, |c| c.epoch) {
            drop(st);
            let Computed { epoch, id, job, chunk, committed, ready, result, cycles, rows } = c;
            let out = match result {
                Ok(out) => Arc::new(out),
                Err(e) => {
                    if let Some(s) = sh.state.lock().unwrap().slot(id) {
                        *s = Slot::Failed;
                    }
                    let kind = match e {
                        DeviceError::NoModel => ErrorKind::NoModel,
                        DeviceError::BadImage(_) => ErrorKind::BadImage,
                        DeviceError::BadJob(_) => ErrorKind::BadJob,
                        DeviceError::Failed(_) => ErrorKind::Failed,
                    };
                    self.0.out.lock().unwrap().ctrl.push_back((Msg::Error { kind, id, message: e.to_string() }, None));
                    self.0.out_ready.notify_all();
                    continue;
                }
            };
            let start = committed.max(free);
            let at = |cycle: u64| match sh.clock_hz {
                Some(hz) => (start + Duration::from_secs_f64(cycle as f64 / hz)).max(ready),
                None => ready,
            };
            free = at(cycles);
            let mut releases = match rows {
                Some(rows) => {
                    let row = job.keep_w * rows.len() / job.height.max(1);
                    chunk_ready(&rows, row, out.len(), chunk)
                }
                None => vec![(0, 0..out.len())],
            };
            releases.push((cycles, out.len()..out.len()));
            let mut released = true;
            for (cycle, range) in releases {
                if !self.wait_until(at(cycle), epoch) {
                    released = false;
                    break;
                }
                if !range.is_empty() {
                    self.queue_chunks(id, &out, chunk, range);
                }
            }
            let mut st = sh.state.lock().unwrap();
            if !released || epoch != st.epoch || st.stop {
                continue;
            }
            let crc = crc32(&out);
            if let Some(s) = st.slot(id) {
                *s = Slot::Done { result: out.clone(), crc, chunk, sent: false };
            }
            drop(st);
            self.queue_end(id, epoch, out.len(), crc);
        }
    }

    /// The next item of a work queue whose epoch is current (stale ones are dropped), with the
    /// state still locked; `None` once the session stops.
    fn next<T>(
        &self,
        queue: impl Fn(&mut State) -> &mut VecDeque<T>,
        epoch: impl Fn(&T) -> u64,
    ) -> Option<(std::sync::MutexGuard<'_, State>, T)> {
        let sh = &*self.0;
        let mut st = sh.state.lock().unwrap();
        loop {
            while queue(&mut st).is_empty() && !st.stop {
                st = sh.work.wait(st).unwrap();
            }
            if st.stop {
                return None;
            }
            let item = queue(&mut st).pop_front().unwrap();
            if epoch(&item) == st.epoch {
                return Some((st, item));
            }
        }
    }

    /// Waits until `due`; false when a reset (or the session's end) made the work stale.
    fn wait_until(&self, due: Instant, epoch: u64) -> bool {
        let sh = &*self.0;
        let mut st = sh.state.lock().unwrap();
        while st.epoch == epoch && !st.stop {
            let left = due.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            st = sh.work.wait_timeout(st, left).unwrap().0;
        }
        false
    }

    fn write_loop(&self, mut tx: Box<dyn Tx>, done: &AtomicBool) {
        let sh = &*self.0;
        let mut seq: u8 = 0;
        loop {
            let mut out = sh.out.lock().unwrap();
            while out.ctrl.is_empty() && out.bulk.is_empty() && !done.load(Ordering::SeqCst) {
                out = sh.out_ready.wait_timeout(out, Duration::from_millis(100)).unwrap().0;
            }
            if done.load(Ordering::SeqCst) {
                return;
            }
            let (msg, reply_seq, mark) = match out.ctrl.pop_front() {
                Some((m, s)) => (m, s, None),
                None => {
                    let (m, mark) = out.bulk.pop_front().unwrap();
                    (m, None, mark)
                }
            };
            drop(out);
            let s = reply_seq.unwrap_or_else(|| {
                seq = seq.wrapping_add(1);
                seq
            });
            if tx.send(&msg.frame(s)).is_err() {
                return;
            }
            if let Some((id, epoch)) = mark {
                let mut st = sh.state.lock().unwrap();
                if st.epoch == epoch {
                    if let Some(Slot::Done { sent, .. }) = st.slot(id) {
                        *sent = true;
                    }
                }
            }
        }
    }
}

/// When each result chunk may go: `rows[y]` is the cycle output row `y` is complete, and the
/// result is channel-major (planes of `rows.len()` rows of `row` bytes), so a chunk waits for
/// the latest row it touches in any plane. In order of time; each entry one chunk's bytes.
fn chunk_ready(rows: &[u64], row: usize, len: usize, chunk: usize) -> Vec<(u64, std::ops::Range<usize>)> {
    let plane = row * rows.len();
    if plane == 0 || chunk == 0 || !len.is_multiple_of(plane) {
        return vec![(rows.last().copied().unwrap_or(0), 0..len)];
    }
    let mut v: Vec<(u64, std::ops::Range<usize>)> = (0..len)
        .step_by(chunk)
        .map(|a| {
            let b = (a + chunk).min(len);
            let at = (a / plane..=(b - 1) / plane)
                .map(|p| {
                    let last = (b.min((p + 1) * plane) - 1 - p * plane) / row;
                    rows[last]
                })
                .max()
                .unwrap_or(0);
            (at, a..b)
        })
        .collect();
    v.sort_by_key(|(at, r)| (*at, r.start));
    v
}

#[cfg(test)]
mod tests {
    use super::chunk_ready;

    #[test]
    fn each_chunk_goes_once_after_the_latest_row_it_holds() {
        // 3 planes of 4 rows of 5 bytes; row y is done at cycle 10·(y + 1).
        let rows = [10, 20, 30, 40];
        for chunk in [1, 3, 5, 7, 20, 64] {
            let v = chunk_ready(&rows, 5, 60, chunk);
            let mut seen = vec![0; 60];
            for (at, r) in &v {
                assert!(r.start.is_multiple_of(chunk) && r.end == (r.start + chunk).min(60));
                let latest = r.clone().map(|b| rows[(b % 20) / 5]).max().unwrap();
                assert_eq!(*at, latest, "chunk {chunk} at {r:?}");
                r.clone().for_each(|b| seen[b] += 1);
            }
            assert!(seen.iter().all(|&n| n == 1), "chunk {chunk}");
            assert!(v.windows(2).all(|w| w[0].0 <= w[1].0));
        }
        // A result that is not whole planes of the rows goes at the end, in one piece.
        assert_eq!(chunk_ready(&rows, 5, 61, 8), vec![(40, 0..61)]);
    }
}
