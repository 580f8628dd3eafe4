//! The host's side of the streaming profile that hardware boards speak (INFO `slots = 1`,
//! `docs/protocol.md`, "Hardware boards"): one strip at a time, its input fed under a credit
//! of two DATA frames (each followed by a QUERY whose STATE says how much the engine took),
//! the result taken as it streams. The board keeps no results, so a strip whose result is
//! lost or fails its CRC is run again under a new id instead of fetched.
//!
//! Strip input and results are in whatever order the caller gives; the board takes HWC, which
//! `drive.rs` produces.

use super::{Client, StripWork, MAX_RECOVERIES, MAX_TRIES};
use crate::protocol::{crc32, ErrorKind, Msg, StripState, Target};
use anyhow::{bail, Result};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Largest DATA chunk a hardware board takes (its one frame buffer).
pub const MAX_STREAM_CHUNK: usize = 1024;
/// Strip DATA frames sent and not yet acknowledged (the board's 2 KiB receive FIFO holds one
/// 1 KiB frame while the one before is fed to the engine).
const CREDIT: usize = 2;
/// Wait before a BEGIN refused as busy is sent again: the previous strip's result is still
/// streaming.
const BUSY_WAIT: Duration = Duration::from_millis(20);

/// How one attempt at a strip ended.
enum Attempt {
    Done(Vec<u8>),
    /// Run it again under a new id: its result was lost or damaged, the input failed its
    /// CRC, or BEGIN never reached the board.
    Again(&'static str),
    /// The board was still busy with an earlier strip: try again after a moment.
    Busy,
}

impl Client {
    /// Runs strips one at a time in the streaming profile, calling `done` with each strip's
    /// index and result. The model must be loaded.
    pub(super) fn run_strips_streaming(
        &mut self,
        work: &[StripWork],
        mut done: impl FnMut(usize, Vec<u8>),
    ) -> Result<()> {
        let mut recoveries = 0;
        for (idx, w) in work.iter().enumerate() {
            let mut reruns = 0;
            let mut busy = 0;
            loop {
                let id = self.next_id;
                self.next_id = self.next_id.wrapping_add(1);
                match self.stream_strip(idx, id, w, &mut recoveries)? {
                    Attempt::Done(out) => {
                        done(idx, out);
                        break;
                    }
                    Attempt::Again(why) => {
                        reruns += 1;
                        self.stats.retries.fetch_add(1, Ordering::Relaxed);
                        if reruns >= MAX_TRIES {
                            bail!("{}: strip {idx} failed {reruns} times (last: {why})", self.name);
                        }
                    }
                    Attempt::Busy => {
                        busy += 1;
                        // Far longer than any result takes to stream at the link's rate.
                        if busy as f64 * BUSY_WAIT.as_secs_f64() > 10.0 * self.reply_timeout().as_secs_f64() {
                            bail!(
                                "{}: the board stays busy with an earlier strip (strip {idx} refused {busy} times)",
                                self.name
                            );
                        }
                        std::thread::sleep(BUSY_WAIT);
                    }
                }
            }
        }
        Ok(())
    }

    /// The board answered `unknown` for the strip being fed, or `NoModel`: ask what it still
    /// holds, reload the model if it is gone (a lost board, counted), and run the strip again.
    fn stream_lost(&mut self, recoveries: &mut u32) -> Result<Attempt> {
        let h = self.hello()?;
        let image = self.image.clone().expect("model uploaded before strips");
        if (h.model_len, h.model_crc) != (image.len() as u32, crc32(&image)) {
            *recoveries += 1;
            if *recoveries > MAX_RECOVERIES {
                bail!(
                    "{}: the board keeps losing its state (reset {} times during the run)",
                    self.name,
                    *recoveries - 1
                );
            }
            self.abort()?;
            self.stats.reuploads.fetch_add(1, Ordering::Relaxed);
            self.upload()?;
        }
        // The model is there: the strip's BEGIN was lost, or the board was reset.
        Ok(Attempt::Again("the board did not know the strip"))
    }

    /// One attempt at a strip under `id`.
    fn stream_strip(&mut self, idx: usize, id: u16, w: &StripWork, recoveries: &mut u32) -> Result<Attempt> {
        let chunk = self.chunk.min(MAX_STREAM_CHUNK);
        let input = &w.input;
        let n = input.len().div_ceil(chunk);
        let timeout = self.reply_timeout();
        self.send(&Msg::Begin {
            target: Target::Strip,
            id,
            total: input.len() as u32,
            chunk: chunk as u16,
            crc: crc32(input),
            job: w.job,
        })?;
        // Chunks sent, and chunks the board is known to have taken.
        let (mut sent, mut acked) = (0usize, 0usize);
        // QUERYs sent after each DATA (sequence number, chunks sent before it): the STATE
        // answering one says whether that DATA was taken, since the board acts in order.
        let mut probes: Vec<(u8, usize)> = Vec::new();
        let (mut commit_sent, mut committed) = (false, false);
        let mut out: Vec<u8> = Vec::with_capacity(w.out_len);
        let mut lost = false;
        let mut end: Option<(u32, u32)> = None;
        let mut tries = 0;
        let mut deadline = Instant::now() + timeout;
        loop {
            while sent < n && sent < acked + CREDIT {
                let o = sent * chunk;
                let bytes = input[o..(o + chunk).min(input.len())].to_vec();
                self.send(&Msg::Data { target: Target::Strip, id, offset: o as u32, bytes })?;
                sent += 1;
                let q = self.send(&Msg::Query { id })?;
                probes.push((q, sent));
                deadline = Instant::now() + timeout;
            }
            if acked == n && !commit_sent {
                self.send(&Msg::Commit { target: Target::Strip, id })?;
                commit_sent = true;
                deadline = Instant::now() + timeout;
            }
            if committed {
                if let Some((len, crc)) = end {
                    if lost || out.len() != len as usize || crc32(&out) != crc {
                        return Ok(Attempt::Again("its result was incomplete or failed its CRC"));
                    }
                    return Ok(Attempt::Done(out));
                }
            }
            let Some((m, seq)) = self.recv_until(deadline)? else {
                tries += 1;
                if tries >= MAX_TRIES {
                    return Err(self.no_answer(&format!("strip {idx}"), tries));
                }
                self.stats.polls.fetch_add(1, Ordering::Relaxed);
                if commit_sent && !committed {
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    self.send(&Msg::Commit { target: Target::Strip, id })?;
                } else {
                    // Where the input stands (a lost DATA shows as `len` short of it), or
                    // whether the strip is still computing.
                    let q = self.send(&Msg::Query { id })?;
                    probes.push((q, sent));
                }
                deadline = Instant::now() + timeout;
                continue;
            };
            let mid = match &m {
                Msg::Committed { target: Target::Strip, id }
                | Msg::Missing { target: Target::Strip, id, .. }
                | Msg::State { id, .. }
                | Msg::ResultData { id, .. }
                | Msg::ResultEnd { id, .. }
                | Msg::Error { id, .. } => *id,
                _ => continue,
            };
            if mid != id {
                // An earlier attempt's late frames; but a board without a model refuses
                // everything.
                if let Msg::Error { kind: ErrorKind::NoModel, .. } = m {
                    return self.stream_lost(recoveries);
                }
                continue;
            }
            tries = 0;
            deadline = Instant::now() + timeout;
            match m {
                Msg::State { state: StripState::Receiving, len, .. } => {
                    let taken = len as usize;
                    let have = if taken >= input.len() { n } else { taken / chunk };
                    acked = acked.max(have);
                    if let Some(p) = probes.iter().position(|&(s, _)| s == seq) {
                        let (_, before) = probes[p];
                        probes.drain(..=p);
                        if have < before {
                            // A DATA frame before this QUERY was lost (the board drops a
                            // damaged frame, and every later DATA as out of order): send
                            // again from what was taken. Replies to older QUERYs say nothing
                            // new about the resent frames.
                            self.stats.retries.fetch_add((sent - have) as u64, Ordering::Relaxed);
                            sent = have;
                            acked = have;
                            probes.clear();
                        }
                    }
                }
                Msg::State { state: StripState::Unknown, .. } => {
                    if end.is_some() {
                        // Finished and forgotten: only the COMMIT answer is outstanding;
                        // its resend is answered again.
                        continue;
                    }
                    return self.stream_lost(recoveries);
                }
                Msg::State { state: StripState::Failed, .. } => {
                    return Ok(Attempt::Again("the board failed it"));
                }
                Msg::State { .. } => {
                    // Queued, computing, sending or sent: all the input was taken.
                    acked = n;
                    sent = n;
                }
                Msg::Committed { .. } => {
                    committed = true;
                    acked = n;
                    sent = n;
                }
                Msg::Missing { ranges, .. } => {
                    // Input is taken only in order: the one range starts at the next byte
                    // the board expects.
                    let next = ranges.first().map_or(0, |r| r.0 as usize);
                    let have = (next / chunk).min(n);
                    self.stats.retries.fetch_add((n - have) as u64, Ordering::Relaxed);
                    sent = have;
                    acked = have;
                    probes.clear();
                    commit_sent = false;
                }
                Msg::ResultData { offset, bytes, .. } => {
                    let off = offset as usize;
                    if off + bytes.len() > w.out_len || bytes.len() != chunk.min(w.out_len - off) {
                        bail!(
                            "{}: the board sent {} result bytes at {offset} for strip {idx} of {} bytes: it computes a different model",
                            self.name,
                            bytes.len(),
                            w.out_len
                        );
                    }
                    // Results stream in order; a gap means a frame was lost on the way.
                    if off == out.len() {
                        out.extend_from_slice(&bytes);
                    } else if off > out.len() {
                        lost = true;
                    }
                }
                Msg::ResultEnd { len, crc, .. } => {
                    if len as usize != w.out_len {
                        bail!(
                            "{}: the board returned {len} bytes for strip {idx} where {} were expected: it computes a different model",
                            self.name,
                            w.out_len
                        );
                    }
                    // The COMMIT answer may still come after the result.
                    end = Some((len, crc));
                }
                Msg::Error { kind, message, .. } => match kind {
                    ErrorKind::Busy => return Ok(Attempt::Busy),
                    ErrorKind::NoModel => return self.stream_lost(recoveries),
                    ErrorKind::Failed => return Ok(Attempt::Again("its input failed its CRC at the board")),
                    ErrorKind::UnknownStrip => return Ok(Attempt::Again("the board did not know the strip")),
                    ErrorKind::BadFrame => {}
                    _ => bail!("{}: the board refused strip {idx}: {message}", self.name),
                },
                _ => {}
            }
        }
    }
}
