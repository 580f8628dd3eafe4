//! The host's side of the protocol: handshake, model upload, and strips streamed with the
//! next one sent while the board computes, every byte accounted for. A strip's result is
//! accepted only when every chunk arrived in a good frame and the whole matches the CRC the
//! board computed, so a damaged link can make a run fail but never give a wrong image.

use crate::link::{bytes_per_second, Link, Tx};
use crate::protocol::{crc32, ErrorKind, Frame, Hello, Msg, Parser, StripState, Target, DEFAULT_CHUNK, MAX_FRAME};
use anyhow::{bail, Result};
use bbcu_arch::{Counters, StripJob};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

mod stream;
pub use stream::MAX_STREAM_CHUNK;

/// Tries without any sign of life before a request is given up.
pub const MAX_TRIES: u32 = 8;
/// Times per run the board may lose its state (reset, power cycle) before the run fails.
const MAX_RECOVERIES: u32 = 3;
/// Rounds of resending missing chunks before an upload is given up, even if each round
/// gets a little further: a link that needs more is not worth using.
const MAX_ROUNDS: u32 = 32;

/// Counts of what crossed the link, for the summary.
#[derive(Debug, Default)]
pub struct LinkStats {
    pub sent: AtomicU64,
    pub received: AtomicU64,
    pub frames_in: AtomicU64,
    /// Frames from the board that failed their CRC or header check.
    pub corrupt_in: AtomicU64,
    /// Corrupt frames the board reported receiving.
    pub corrupt_out: AtomicU64,
    /// Requests repeated after a timeout, chunks sent or fetched again.
    pub retries: AtomicU64,
    /// Questions about a strip whose result was late.
    pub polls: AtomicU64,
    /// Model uploads after the board lost its model.
    pub reuploads: AtomicU64,
}

impl LinkStats {
    pub fn get(a: &AtomicU64) -> u64 {
        a.load(Ordering::Relaxed)
    }
}

/// A run stopped by the user (Ctrl-C): no more strips were sent. `main` exits with 130.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

enum Incoming {
    Frame(Frame),
    Closed(String),
}

pub struct Client {
    tx: Box<dyn Tx>,
    rx: Receiver<Incoming>,
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
    seq: u8,
    pub name: String,
    /// Bytes per second of the link (from the baud rate), to size timeouts.
    rate: f64,
    pub chunk: usize,
    pub stats: Arc<LinkStats>,
    pub hello: Option<Hello>,
    image: Option<Vec<u8>>,
    next_id: u16,
    /// Set (by a signal handler) to stop a run: nothing more is sent and `run_strips` returns
    /// [`Interrupted`].
    pub cancel: Arc<AtomicBool>,
}

/// A strip on its way: sent, committed, its result arriving.
struct Flight {
    idx: usize,
    id: u16,
    committed: bool,
    /// The board refused it as busy or forgot it: send it again from BEGIN.
    restart: bool,
    deadline: Instant,
    tries: u32,
    out: Vec<u8>,
    have: Vec<bool>,
    got: usize,
    end: Option<(u32, u32)>,
}

impl Flight {
    fn missing(&self, chunk: usize) -> Vec<(u32, u32)> {
        let mut v: Vec<(u32, u32)> = Vec::new();
        for (i, h) in self.have.iter().enumerate() {
            if !*h {
                let off = (i * chunk) as u32;
                let len = chunk.min(self.out.len() - i * chunk) as u32;
                match v.last_mut() {
                    Some((o, l)) if *o + *l == off => *l += len,
                    _ => v.push((off, len)),
                }
            }
        }
        v
    }

    fn clear(&mut self) {
        self.have.iter_mut().for_each(|h| *h = false);
        self.got = 0;
        self.end = None;
    }
}

/// One strip to run: the job, its input pixels, and the output size the host expects.
pub struct StripWork {
    pub job: StripJob,
    pub input: Vec<u8>,
    pub out_len: usize,
}

impl Client {
    /// Starts the reader thread on `link`; `baud` sizes the timeouts.
    pub fn new(link: Link, baud: u32) -> Client {
        let Link { mut rx, tx, name } = link;
        let (send, recv) = std::sync::mpsc::channel();
        let stats = Arc::new(LinkStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (st, stp) = (stats.clone(), stop.clone());
        let reader = std::thread::spawn(move || {
            let mut parser = Parser::new();
            let mut buf = vec![0u8; 8192];
            let mut last = Instant::now();
            while !stp.load(Ordering::Relaxed) {
                match rx.recv(&mut buf) {
                    Ok(0) => {
                        if parser.pending() > 0 && last.elapsed() > super::serve::STALE {
                            parser.stale();
                        }
                    }
                    Ok(n) => {
                        st.received.fetch_add(n as u64, Ordering::Relaxed);
                        parser.push(&buf[..n]);
                        last = Instant::now();
                    }
                    Err(e) => {
                        let _ = send.send(Incoming::Closed(e.to_string()));
                        return;
                    }
                }
                while let Some(ev) = parser.next_frame() {
                    match ev {
                        Ok(f) => {
                            st.frames_in.fetch_add(1, Ordering::Relaxed);
                            if send.send(Incoming::Frame(f)).is_err() {
                                return;
                            }
                        }
                        Err(_) => {
                            st.corrupt_in.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                let bad = parser.stats.bad_header;
                // Broken headers are corruption too; count each once.
                if bad > 0 {
                    st.corrupt_in.fetch_add(bad, Ordering::Relaxed);
                    parser.stats.bad_header = 0;
                }
            }
        });
        Client {
            tx,
            rx: recv,
            stop,
            reader: Some(reader),
            seq: 0,
            name,
            rate: bytes_per_second(baud),
            chunk: DEFAULT_CHUNK,
            stats,
            hello: None,
            image: None,
            next_id: 0,
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }

    fn cancelled(&self) -> Result<()> {
        if self.cancel.load(Ordering::SeqCst) {
            return Err(Interrupted.into());
        }
        Ok(())
    }

    /// After an interrupted run: `RESET keep_model=1` so that the board drops the strips of
    /// this run and keeps its model, waiting at most `wait` for RESET_DONE. True when the
    /// board confirmed.
    pub fn reset_after_interrupt(&mut self, wait: Duration) -> bool {
        let Ok(seq) = self.send(&Msg::Reset { keep_model: true }) else { return false };
        let deadline = Instant::now() + wait;
        while let Ok(Some((m, s))) = self.recv_until(deadline) {
            if s == seq && m == Msg::ResetDone {
                return true;
            }
        }
        false
    }

    fn send(&mut self, m: &Msg) -> Result<u8> {
        self.seq = self.seq.wrapping_add(1);
        let f = m.frame(self.seq);
        self.stats.sent.fetch_add(f.len() as u64, Ordering::Relaxed);
        if let Err(e) = self.tx.send(&f) {
            bail!("{}: cannot write to the link ({e})", self.name);
        }
        Ok(self.seq)
    }

    /// How long to wait for a reply: a reply may queue behind one result frame at the board,
    /// and both cross the line.
    fn reply_timeout(&self) -> Duration {
        Duration::from_secs_f64(0.3 + 3.0 * MAX_FRAME as f64 / self.rate)
    }

    /// The next message from the board, or `None` at `deadline`.
    fn recv_until(&mut self, deadline: Instant) -> Result<Option<(Msg, u8)>> {
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(wait) {
                Ok(Incoming::Frame(f)) => {
                    // A frame that passed its CRC but does not decode came from something
                    // that does not speak this protocol version.
                    if let Ok(m) = Msg::decode(&f) {
                        if let Msg::Error { kind: ErrorKind::BadFrame, .. } = m {
                            self.stats.corrupt_out.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        return Ok(Some((m, f.seq)));
                    }
                }
                Ok(Incoming::Closed(e)) => bail!("{}: the link closed ({e})", self.name),
                Err(RecvTimeoutError::Timeout) => return Ok(None),
                Err(RecvTimeoutError::Disconnected) => bail!("{}: the link closed", self.name),
            }
        }
    }

    fn no_answer(&self, what: &str, tries: u32) -> anyhow::Error {
        let corrupt = LinkStats::get(&self.stats.corrupt_in);
        let hint = if LinkStats::get(&self.stats.frames_in) == 0 && corrupt > 0 {
            format!("; {corrupt} garbled frames came back: wrong --baud, or a very noisy link?")
        } else if corrupt + LinkStats::get(&self.stats.corrupt_out) > 0 {
            format!(
                "; {} corrupt frames received, {} reported by the board: the link is too noisy",
                corrupt,
                LinkStats::get(&self.stats.corrupt_out)
            )
        } else {
            String::new()
        };
        anyhow::anyhow!("{}: no answer from the board to {what} after {tries} tries{hint}", self.name)
    }

    /// Sends `m` until a reply that `want` accepts arrives (`Some`), up to [`MAX_TRIES`].
    fn request<T>(&mut self, m: &Msg, what: &str, mut want: impl FnMut(&Msg, bool) -> Option<T>) -> Result<T> {
        for attempt in 1..=MAX_TRIES {
            if attempt > 1 {
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
            }
            let seq = self.send(m)?;
            let deadline = Instant::now() + self.reply_timeout();
            while let Some((r, s)) = self.recv_until(deadline)? {
                if let Some(v) = want(&r, s == seq) {
                    return Ok(v);
                }
            }
        }
        Err(self.no_answer(what, MAX_TRIES))
    }

    /// True for a board that speaks the streaming profile (a hardware board: INFO `slots = 1`).
    pub fn streaming(&self) -> bool {
        self.hello.as_ref().is_some_and(|h| h.slots == 1)
    }

    /// HELLO: what the board is and what it holds.
    pub fn hello(&mut self) -> Result<Hello> {
        let h = self.request(&Msg::Hello, "HELLO", |m, mine| match m {
            Msg::Info(h) if mine => Some((**h).clone()),
            _ => None,
        })?;
        self.hello = Some(h.clone());
        Ok(h)
    }

    /// Aborts whatever the board was doing for an earlier session (its queued output would
    /// otherwise still arrive) and keeps its model. Every frame after the answer is new.
    pub fn abort(&mut self) -> Result<()> {
        self.request(&Msg::Reset { keep_model: true }, "RESET", |m, mine| (mine && *m == Msg::ResetDone).then_some(()))
    }

    pub fn reset(&mut self) -> Result<()> {
        self.request(&Msg::Reset { keep_model: false }, "RESET", |m, mine| (mine && *m == Msg::ResetDone).then_some(()))
    }

    pub fn counters(&mut self) -> Result<Counters> {
        self.request(&Msg::Counters, "COUNTERS", |m, mine| match m {
            Msg::CountersReply(c) if mine => Some(c.clone()),
            _ => None,
        })
    }

    fn send_chunks(&mut self, target: Target, id: u16, data: &[u8], ranges: &[(u32, u32)]) -> Result<()> {
        let chunk = self.chunk;
        for &(off, len) in ranges {
            let (mut o, end) = (off as usize / chunk * chunk, (off as usize + len as usize).min(data.len()));
            while o < end {
                // A strip takes a good fraction of a second to send over a UART: stop between
                // chunks when the user asks.
                self.cancelled()?;
                let n = chunk.min(data.len() - o);
                self.send(&Msg::Data { target, id, offset: o as u32, bytes: data[o..o + n].to_vec() })?;
                o += n;
            }
        }
        Ok(())
    }

    fn begin(&mut self, target: Target, id: u16, data: &[u8], job: StripJob) -> Result<()> {
        let crc = crc32(data);
        let chunk = self.chunk as u16;
        self.send(&Msg::Begin { target, id, total: data.len() as u32, chunk, crc, job })?;
        self.send_chunks(target, id, data, &[(0, data.len() as u32)])
    }

    /// Uploads a model image unless the board already holds exactly this one. The board
    /// loads it only when every byte arrived and the CRC matches.
    pub fn load(&mut self, image: &[u8]) -> Result<bool> {
        self.image = Some(image.to_vec());
        let have = self.hello.as_ref().map(|h| (h.model_len, h.model_crc));
        if have == Some((image.len() as u32, crc32(image))) {
            return Ok(false);
        }
        self.upload()?;
        Ok(true)
    }

    fn upload(&mut self) -> Result<()> {
        let image = self.image.clone().expect("an image to upload");
        let none = StripJob { width: 0, height: 0, keep_x0: 0, keep_w: 0 };
        self.begin(Target::Model, 0, &image, none)?;
        let mut tries = 0;
        for _round in 0..MAX_ROUNDS {
            let seq = self.send(&Msg::Commit { target: Target::Model, id: 0 })?;
            // Loading may take the board a while after the last byte.
            let deadline = Instant::now() + self.reply_timeout() * 4;
            let mut progress = false;
            while let Some((m, s)) = self.recv_until(deadline)? {
                match m {
                    Msg::Committed { target: Target::Model, .. } => {
                        if let Some(h) = self.hello.as_mut() {
                            (h.model_len, h.model_crc) = (image.len() as u32, crc32(&image));
                        }
                        return Ok(());
                    }
                    Msg::Missing { target: Target::Model, ranges, .. } if s == seq => {
                        self.stats.retries.fetch_add(ranges.len() as u64, Ordering::Relaxed);
                        self.send_chunks(Target::Model, 0, &image, &ranges)?;
                        progress = true;
                        break;
                    }
                    Msg::Error { kind: ErrorKind::UnknownStrip, id: 0, .. } if s == seq => {
                        self.stats.retries.fetch_add(1, Ordering::Relaxed);
                        self.begin(Target::Model, 0, &image, none)?;
                        break;
                    }
                    Msg::Error { kind: ErrorKind::BadImage, message, .. } => {
                        bail!("the board refused the model: {message}")
                    }
                    _ => {}
                }
            }
            tries = if progress { 0 } else { tries + 1 };
            if tries >= MAX_TRIES {
                return Err(self.no_answer("the model upload", tries));
            }
        }
        bail!(
            "{}: the model upload did not get through in {MAX_ROUNDS} rounds of resends ({} corrupt frames reported by the board): the link is too noisy",
            self.name,
            LinkStats::get(&self.stats.corrupt_out)
        )
    }

    /// The board forgot its strips (reset or power cycle): reload the model if it lost that
    /// too, then start every strip in flight again.
    fn recover(&mut self, flights: &mut [Flight], work: &[StripWork], recoveries: &mut u32) -> Result<()> {
        *recoveries += 1;
        if *recoveries > MAX_RECOVERIES {
            bail!("{}: the board keeps losing its state (reset {} times during the run)", self.name, *recoveries - 1);
        }
        let h = self.hello()?;
        self.abort()?;
        let image = self.image.as_ref().expect("model uploaded before strips");
        if (h.model_len, h.model_crc) != (image.len() as u32, crc32(image)) {
            self.stats.reuploads.fetch_add(1, Ordering::Relaxed);
            self.upload()?;
        }
        for f in flights.iter_mut() {
            f.clear();
            self.start(f, &work[f.idx])?;
        }
        Ok(())
    }

    fn start(&mut self, f: &mut Flight, w: &StripWork) -> Result<()> {
        f.committed = false;
        f.restart = false;
        self.begin(Target::Strip, f.id, &w.input, w.job)?;
        self.send(&Msg::Commit { target: Target::Strip, id: f.id })?;
        f.deadline = Instant::now() + self.reply_timeout();
        Ok(())
    }

    /// Runs strips with up to the board's slot count in flight, calling `done` with each
    /// strip's index and result as it completes. The model must be loaded.
    pub fn run_strips(&mut self, work: &[StripWork], mut done: impl FnMut(usize, Vec<u8>)) -> Result<()> {
        if self.streaming() {
            return self.run_strips_streaming(work, done);
        }
        let window = self.hello.as_ref().map_or(1, |h| h.slots.max(1) as usize);
        let chunk = self.chunk;
        let mut flights: Vec<Flight> = Vec::new();
        let mut next = 0;
        let mut recoveries = 0;
        while next < work.len() || !flights.is_empty() {
            self.cancelled()?;
            while flights.len() < window && next < work.len() {
                let w = &work[next];
                let n = w.out_len.div_ceil(chunk);
                let mut f = Flight {
                    idx: next,
                    id: self.next_id,
                    committed: false,
                    restart: false,
                    deadline: Instant::now(),
                    tries: 0,
                    out: vec![0; w.out_len],
                    have: vec![false; n],
                    got: 0,
                    end: None,
                };
                self.next_id = self.next_id.wrapping_add(1);
                self.start(&mut f, w)?;
                flights.push(f);
                next += 1;
            }
            // Woken at least every 100 ms to notice a cancel.
            let deadline = flights.iter().map(|f| f.deadline).min().unwrap();
            let wake = deadline.min(Instant::now() + Duration::from_millis(100));
            match self.recv_until(wake)? {
                Some((m, _)) => {
                    if self.on_message(m, &mut flights, work, &mut recoveries)? {
                        continue;
                    }
                }
                None => {
                    let now = Instant::now();
                    for f in flights.iter_mut().filter(|f| f.deadline <= now) {
                        let idx = f.idx;
                        self.on_timeout(f, &work[idx])?;
                    }
                }
            }
            // Hand over finished strips.
            let mut i = 0;
            while i < flights.len() {
                if self.check_complete(&mut flights[i])? {
                    let f = flights.swap_remove(i);
                    done(f.idx, f.out);
                } else {
                    i += 1;
                }
            }
        }
        Ok(())
    }

    /// True when every chunk is in and the whole matches the board's CRC. A mismatch (which
    /// good frames cannot produce unless the board itself erred) asks for the whole again.
    fn check_complete(&mut self, f: &mut Flight) -> Result<bool> {
        let Some((len, crc)) = f.end else { return Ok(false) };
        if f.got < f.have.len() {
            return Ok(false);
        }
        if len as usize == f.out.len() && crc32(&f.out) == crc {
            return Ok(true);
        }
        f.clear();
        f.tries += 1;
        if f.tries >= MAX_TRIES {
            bail!("{}: strip {} keeps arriving damaged (CRC mismatch after {} fetches)", self.name, f.idx, f.tries);
        }
        self.stats.retries.fetch_add(1, Ordering::Relaxed);
        self.send(&Msg::Fetch { id: f.id, offset: 0, len: f.out.len() as u32 })?;
        f.deadline = Instant::now() + self.reply_timeout();
        Ok(false)
    }

    fn on_timeout(&mut self, f: &mut Flight, w: &StripWork) -> Result<()> {
        f.tries += 1;
        if f.tries >= MAX_TRIES {
            return Err(self.no_answer(&format!("strip {}", f.idx), f.tries));
        }
        if f.restart {
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            return self.start(f, w);
        }
        if !f.committed {
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            self.send(&Msg::Commit { target: Target::Strip, id: f.id })?;
        } else {
            // Not a resend: the strip may simply still be computing or queued.
            self.stats.polls.fetch_add(1, Ordering::Relaxed);
            self.send(&Msg::Query { id: f.id })?;
        }
        f.deadline = Instant::now() + self.reply_timeout();
        Ok(())
    }

    /// Handles one message during a run; true when the flights were all restarted.
    fn on_message(&mut self, m: Msg, flights: &mut [Flight], work: &[StripWork], recoveries: &mut u32) -> Result<bool> {
        let id = match &m {
            Msg::Committed { target: Target::Strip, id }
            | Msg::Missing { target: Target::Strip, id, .. }
            | Msg::State { id, .. }
            | Msg::ResultData { id, .. }
            | Msg::ResultEnd { id, .. }
            | Msg::Error { id, .. } => *id,
            _ => return Ok(false),
        };
        let Some(fi) = flights.iter().position(|f| f.id == id) else {
            if let Msg::Error { kind: ErrorKind::NoModel, .. } = m {
                self.recover(flights, work, recoveries)?;
                return Ok(true);
            }
            return Ok(false);
        };
        let timeout = self.reply_timeout();
        let chunk = self.chunk;
        let f = &mut flights[fi];
        match m {
            Msg::Committed { .. } => {
                f.committed = true;
                f.tries = 0;
                f.deadline = Instant::now() + timeout;
            }
            Msg::Missing { ranges, .. } => {
                self.stats.retries.fetch_add(ranges.len() as u64, Ordering::Relaxed);
                f.tries += 1;
                if f.tries >= MAX_TRIES {
                    return Err(self.no_answer(&format!("strip {}", f.idx), f.tries));
                }
                self.send_chunks(Target::Strip, id, &work[f.idx].input, &ranges)?;
                self.send(&Msg::Commit { target: Target::Strip, id })?;
                f.deadline = Instant::now() + timeout;
            }
            Msg::ResultData { offset, bytes, .. } => {
                let off = offset as usize;
                if off.is_multiple_of(chunk) && off < f.out.len() && bytes.len() == chunk.min(f.out.len() - off) {
                    let i = off / chunk;
                    if !f.have[i] {
                        f.out[off..off + bytes.len()].copy_from_slice(&bytes);
                        f.have[i] = true;
                        f.got += 1;
                    }
                    f.committed = true;
                    f.tries = 0;
                    f.deadline = Instant::now() + timeout;
                } else {
                    bail!(
                        "{}: the board sent {} result bytes at {offset} for strip {} of {} bytes: it computes a different model",
                        self.name,
                        bytes.len(),
                        f.idx,
                        f.out.len()
                    );
                }
            }
            Msg::ResultEnd { len, crc, .. } => {
                self.end_known(fi, flights, len, crc)?;
            }
            Msg::State { state, len, crc, .. } => match state {
                StripState::Unknown => {
                    self.recover(flights, work, recoveries)?;
                    return Ok(true);
                }
                StripState::Receiving => {
                    f.committed = false;
                    f.deadline = Instant::now();
                }
                StripState::Queued | StripState::Computing | StripState::Sending => {
                    f.committed = true;
                    f.tries = 0;
                    f.deadline = Instant::now() + timeout;
                }
                StripState::Sent => {
                    f.committed = true;
                    self.end_known(fi, flights, len, crc)?;
                }
                StripState::Failed => {
                    // The error frame that says why may have been lost; ask again by query
                    // would loop, so fail with what is known.
                    bail!("{}: the board failed strip {}", self.name, f.idx);
                }
            },
            Msg::Error { kind, message, .. } => match kind {
                ErrorKind::NoModel => {
                    self.recover(flights, work, recoveries)?;
                    return Ok(true);
                }
                ErrorKind::UnknownStrip | ErrorKind::Busy => {
                    f.restart = true;
                    f.committed = false;
                    f.deadline = Instant::now() + Duration::from_millis(50);
                }
                ErrorKind::BadFrame => {}
                _ => bail!("{}: the board refused strip {}: {message}", self.name, f.idx),
            },
            _ => {}
        }
        Ok(false)
    }

    /// The board says the result is `len` bytes with CRC `crc` and all of it has been sent:
    /// ask again for what did not arrive.
    fn end_known(&mut self, fi: usize, flights: &mut [Flight], len: u32, crc: u32) -> Result<()> {
        let chunk = self.chunk;
        let timeout = self.reply_timeout();
        let f = &mut flights[fi];
        if len as usize != f.out.len() {
            bail!(
                "{}: the board returned {len} bytes for strip {} where {} were expected: it computes a different model",
                self.name,
                f.idx,
                f.out.len()
            );
        }
        f.end = Some((len, crc));
        f.committed = true;
        f.deadline = Instant::now() + timeout;
        if f.got < f.have.len() {
            let ranges = f.missing(chunk);
            f.tries += 1;
            if f.tries >= MAX_TRIES {
                return Err(self.no_answer(&format!("strip {}", f.idx), f.tries));
            }
            self.stats.retries.fetch_add(ranges.len() as u64, Ordering::Relaxed);
            for (offset, len) in ranges {
                self.send(&Msg::Fetch { id: f.id, offset, len })?;
            }
        }
        Ok(())
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}
