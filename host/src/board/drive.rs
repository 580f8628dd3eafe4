//! `bbcu-host run --board ice40|…`: a session with a board over a link, from the handshake
//! to stitched images.

use super::client::{Client, LinkStats, StripWork};
use crate::link::{bytes_per_second, Link};
use crate::protocol::Hello;
use anyhow::{bail, Result};
use bbcu_arch::device::{chw_to_hwc, hwc_to_chw, FORMAT_VERSION};
use bbcu_arch::{strips, Compiled, HwConfig};
use bbcu_sim::{FixedNetwork, Planes};
use indicatif::ProgressBar;
use std::time::{Duration, Instant};

/// What differs between the design a board was built from and the one the host expects,
/// field by field ("pes 4 ≠ 16, memory.weight_words 512 ≠ 1024").
pub fn config_diff(board: &HwConfig, want: &HwConfig) -> String {
    let (a, b) = (serde_json::to_value(board).unwrap(), serde_json::to_value(want).unwrap());
    let mut out = Vec::new();
    fn walk(prefix: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
        match (a, b) {
            (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
                for (k, va) in x {
                    let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    match y.get(k) {
                        Some(vb) => walk(&p, va, vb, out),
                        None => out.push(format!("{p} {va} (not expected)")),
                    }
                }
            }
            _ if a != b => out.push(format!("{prefix} {a} on the board, {b} expected")),
            _ => {}
        }
    }
    walk("", &a, &b, &mut out);
    out.join(", ")
}

/// An open session: handshake done, model on the board.
pub struct Session {
    pub client: Client,
    pub hello: Hello,
    in_ch: usize,
    out_ch: usize,
    scale: usize,
    halo: usize,
    max_width: usize,
    strip_width: Option<usize>,
    baud: u32,
    started: Instant,
    /// Time spent moving images (from a strip's first byte out to its image's last byte in),
    /// the time the link bound is compared with.
    on_link: Duration,
    cfg: HwConfig,
    program: bbcu_arch::program::Program,
}

/// Options of a board run.
pub struct SessionOptions {
    pub baud: u32,
    /// Widest strip to send; by default the plan a model of the link and the engine's cycles
    /// says finishes first (`board::plan`).
    pub strip_width: Option<usize>,
}

impl Session {
    /// HELLO, design check, abort of any earlier session's work, model upload (skipped when
    /// the board already holds this exact image). `compiled` is the model compiled for
    /// `want`, the design the host expects the board to run.
    pub fn open(
        link: Link,
        want: &HwConfig,
        net: &FixedNetwork,
        compiled: &Compiled,
        opts: &SessionOptions,
    ) -> Result<Session> {
        let halo = compiled.halo;
        let max_w = compiled.width_cap;
        if let Some(w) = opts.strip_width.filter(|w| *w < 2 * halo + 1 || *w > max_w) {
            bail!("--strip-width {w}: must be {}..={max_w} for this model and design", 2 * halo + 1);
        }
        let mut client = Client::new(link, opts.baud);
        let hello = client.hello()?;
        if hello.format_version != FORMAT_VERSION {
            bail!(
                "{}: the board speaks model-image format {}, this program {FORMAT_VERSION}: rebuild one of them",
                client.name,
                hello.format_version
            );
        }
        if hello.hash != want.design_hash() {
            // A board with the protocol firmware sends no description: the hash says it differs.
            let diff = match &hello.design {
                Some(d) => config_diff(&d.config, want),
                None => "the board does not describe its design".to_string(),
            };
            bail!(
                "{}: the board runs another design (hash {:08x}, expected {:08x} for {}): {diff}",
                client.name,
                hello.hash,
                want.design_hash(),
                want.name,
            );
        }
        client.abort()?;
        client.load(&compiled.image.to_bytes(want))?;
        Ok(Session {
            client,
            hello,
            in_ch: net.in_ch,
            out_ch: net.out_ch,
            scale: super::scale(net),
            halo,
            max_width: max_w,
            strip_width: opts.strip_width,
            baud: opts.baud,
            started: Instant::now(),
            on_link: Duration::ZERO,
            cfg: want.clone(),
            program: compiled.program.clone(),
        })
    }

    /// The strips of a `width`-column image: `--strip-width` wide, or the plan that the model
    /// of the link and the engine's cycles says finishes first.
    fn plan(&self, width: usize, height: usize) -> Result<Vec<strips::Strip>> {
        if width == 0 || height == 0 {
            bail!("image is {width}×{height}: nothing to process");
        }
        if let Some(w) = self.strip_width {
            return strips::plan(width, height, w, self.halo).map_err(|e| anyhow::anyhow!(e));
        }
        let timing = super::plan::Timing {
            cfg: &self.cfg,
            program: &self.program,
            rate: bytes_per_second(self.baud),
            chunk: self.client.chunk,
            window: self.hello.slots.max(1) as usize,
        };
        Ok(timing.best(width, height, self.max_width, self.halo))
    }

    /// The strips a `width × height` image would go in and the seconds the pipeline model
    /// predicts for them (`board::plan`).
    pub fn planned(&self, width: usize, height: usize) -> Result<(usize, f64)> {
        let strips = self.plan(width, height)?;
        let timing = super::plan::Timing {
            cfg: &self.cfg,
            program: &self.program,
            rate: bytes_per_second(self.baud),
            chunk: self.client.chunk,
            window: self.hello.slots.max(1) as usize,
        };
        Ok((strips.len(), timing.makespan(&strips, &timing.cycle_fit(height))))
    }

    /// Runs one image: strips out, results stitched.
    pub fn run(&mut self, img: &Planes, bar: &ProgressBar) -> Result<Planes> {
        if img.channels != self.in_ch {
            bail!("the image has {} channels, the model takes {}", img.channels, self.in_ch);
        }
        let r = self.scale;
        let plan = self.plan(img.width, img.height)?;
        // A hardware board has no memory to transpose in: it takes and gives HWC.
        let hwc = self.client.streaming();
        let work: Vec<StripWork> = plan
            .iter()
            .map(|s| {
                let chw = img.crop(0, s.x0, img.height, s.job.width).data;
                StripWork {
                    job: s.job,
                    input: if hwc { chw_to_hwc(&chw, img.channels, img.height, s.job.width) } else { chw },
                    out_len: self.out_ch * img.height * r * s.job.keep_w * r,
                }
            })
            .collect();
        let total: usize = work.iter().map(|w| w.input.len() + w.out_len).sum();
        bar.set_length(total as u64);
        bar.set_position(0);
        let mut out = Planes::new(self.out_ch, img.height * r, img.width * r);
        let mut done = 0;
        let n = plan.len();
        let t0 = Instant::now();
        self.client.run_strips(&work, |i, bytes| {
            let s = &plan[i];
            let (h, w) = (img.height * r, s.job.keep_w * r);
            let bytes = if hwc { hwc_to_chw(&bytes, self.out_ch, h, w) } else { bytes };
            let tile = Planes::from_vec(self.out_ch, h, w, bytes);
            out.paste(&tile, 0, (s.x0 + s.job.keep_x0) * r);
            done += 1;
            bar.inc((work[i].input.len() + work[i].out_len) as u64);
            bar.set_message(format!("strip {done}/{n}"));
        })?;
        self.on_link += t0.elapsed();
        Ok(out)
    }

    /// The session's link figures, for the summary.
    pub fn summary(&self, images: usize) -> String {
        let s = &self.client.stats;
        let (sent, recv) = (LinkStats::get(&s.sent), LinkStats::get(&s.received));
        let t = self.on_link.as_secs_f64();
        let rate = bytes_per_second(self.baud);
        // Each direction of a UART has the full rate: the busier one bounds the time.
        let bound = sent.max(recv) as f64 / rate;
        format!(
            "link: {} sent, {} received in {t:.2} s of image transfer at {} baud; busier direction needs {bound:.2} s ({:.0} % of the bound reached); \
             {} retries, {} polls, {} corrupt frames in, {} reported by the board, {} model re-uploads; {:.2} images/s",
            human(sent),
            human(recv),
            self.baud,
            100.0 * bound / t.max(1e-9),
            LinkStats::get(&s.retries),
            LinkStats::get(&s.polls),
            LinkStats::get(&s.corrupt_in),
            LinkStats::get(&s.corrupt_out),
            LinkStats::get(&s.reuploads),
            images as f64 / t.max(1e-9)
        )
    }

    /// Time spent moving images since the clock was last restarted.
    pub fn on_link(&self) -> Duration {
        self.on_link
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Restarts the clock (after the model upload, to time images alone).
    pub fn restart_clock(&mut self) {
        self.started = Instant::now();
        self.on_link = Duration::ZERO;
        let s = &self.client.stats;
        s.sent.store(0, std::sync::atomic::Ordering::Relaxed);
        s.received.store(0, std::sync::atomic::Ordering::Relaxed);
    }
}

fn human(b: u64) -> String {
    if b >= 1 << 20 {
        format!("{:.2} MiB", b as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", b as f64 / 1024.0)
    }
}
