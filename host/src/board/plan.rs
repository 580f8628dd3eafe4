//! Choosing the strips of an image for a board so that the engine hides behind the link.
//!
//! A strip's result cannot start back before the strip has crossed the link and been
//! computed, and every inner cut costs two halos of extra computation and upload. So the
//! first strip is narrow (its answer starts early) and the later ones grow (fewer cuts) as
//! far as the engine stays ahead of the link. The planner tries such plans on a model of the
//! pipeline — the host's sending line, the engine at its clock with the exact cycle model,
//! the board's sending line, and the host's window of strips in flight — and keeps the one
//! that finishes first.

use crate::profile::predict_strip;
use crate::protocol::{HEADER, MAX_PAYLOAD};
use bbcu_arch::program::Program;
use bbcu_arch::refmodel::cycles;
use bbcu_arch::strips::Strip;
use bbcu_arch::{HwConfig, StripJob};

/// What the pipeline model needs to know about a run.
pub struct Timing<'a> {
    pub cfg: &'a HwConfig,
    pub program: &'a Program,
    /// Bytes per second each way.
    pub rate: f64,
    /// Payload bytes per DATA / RESULT_DATA frame.
    pub chunk: usize,
    /// Strips the host keeps in flight.
    pub window: usize,
}

/// Frame bytes around each chunk: header, CRC-32, and the id/offset fields of DATA and
/// RESULT_DATA (DATA's target byte included).
const PER_CHUNK: usize = HEADER + 4 + 7;
/// BEGIN, COMMIT and their answers, and RESULT_END, per strip.
const PER_STRIP: usize = 3 * (HEADER + 4) + 32;

impl Timing<'_> {
    fn framed(&self, bytes: usize) -> f64 {
        (bytes + bytes.div_ceil(self.chunk.clamp(1, MAX_PAYLOAD)) * PER_CHUNK + PER_STRIP) as f64 / self.rate
    }

    /// Cycles of a strip, and cycles until its first output row is complete, each as an
    /// affine function of its width and kept width (every row's cost is), found from three
    /// evaluations of the cycle model at this height.
    pub fn cycle_fit(&self, height: usize) -> impl Fn(usize, usize) -> (f64, f64) {
        let at = |width, keep_w| {
            let job = StripJob { width, height, keep_x0: 0, keep_w };
            let (lc, _) = predict_strip(self.cfg, self.program, &job);
            let first = cycles::output_rows(self.cfg, self.program, &job).first().copied().unwrap_or(0);
            (lc.iter().sum::<u64>() as f64, first as f64)
        };
        let (a, b, c) = (at(2, 1), at(3, 1), at(3, 2));
        let affine = |f: fn((f64, f64)) -> f64| {
            let base = f(a);
            let (per_w, per_k) = (f(b) - base, f(c) - f(b));
            move |w: usize, k: usize| base + per_w * (w as f64 - 2.0) + per_k * (k as f64 - 1.0)
        };
        let (total, first) = (affine(|c| c.0), affine(|c| c.1));
        move |w, k| (total(w, k), first(w, k))
    }

    /// Seconds from the first byte sent to the last result byte received, for `strips`. The
    /// board sends a strip's result as its rows leave the engine: from its first row on, at
    /// the link's rate, and not ending before the engine's last row.
    pub fn makespan(&self, strips: &[Strip], cycles: &impl Fn(usize, usize) -> (f64, f64)) -> f64 {
        let h = self.program.header.clone();
        let hz = self.cfg.clock_mhz * 1e6;
        let (mut up, mut engine, mut down) = (0.0f64, 0.0f64, 0.0f64);
        let mut done: Vec<f64> = Vec::with_capacity(strips.len());
        for (i, s) in strips.iter().enumerate() {
            let j = &s.job;
            let free = if i >= self.window { done[i - self.window] } else { 0.0 };
            up = up.max(free) + self.framed(h.in_ch * j.height * j.width);
            let (total, first) = cycles(j.width, j.keep_w);
            let start = engine.max(up);
            engine = start + total / hz;
            let out = h.out_ch * j.height * h.scale * j.keep_w * h.scale;
            let last_row = self.framed(out / (j.height * h.scale).max(1));
            down = (down.max(start + first / hz) + self.framed(out)).max(engine + last_row);
            done.push(down);
        }
        down
    }

    /// The strips this model says finish first: a narrow first strip, then strips growing by
    /// a constant ratio up to the widest the design takes.
    pub fn best(&self, width: usize, height: usize, max_width: usize, halo: usize) -> Vec<Strip> {
        let cycles = self.cycle_fit(height);
        let mut best: Option<(f64, Vec<Strip>)> = None;
        let edge_max = max_width.saturating_sub(halo).max(1);
        for first in 1..=edge_max.min(width) {
            for ratio in [1.0, 1.1, 1.2, 1.35, 1.5, 1.75, 2.0, 2.5, 3.0] {
                let strips = grown(width, height, max_width, halo, first, ratio);
                let t = self.makespan(&strips, &cycles);
                if best.as_ref().is_none_or(|(bt, bs)| t < *bt - 1e-9 || (t <= *bt + 1e-9 && strips.len() < bs.len())) {
                    best = Some((t, strips));
                }
            }
        }
        best.map(|b| b.1).unwrap_or_default()
    }
}

/// Strips whose kept widths start at `first` and grow by `ratio`, each at most `max_width`
/// columns with its halos.
pub fn grown(width: usize, height: usize, max_width: usize, halo: usize, first: usize, ratio: f64) -> Vec<Strip> {
    let mut out = Vec::new();
    let (mut k0, mut want) = (0usize, first as f64);
    while k0 < width {
        let x0 = k0.saturating_sub(halo);
        let left = k0 - x0;
        let rest = width - k0;
        // A strip that keeps everything up to the image's edge needs no right halo.
        let k = if want >= rest as f64 && left + rest <= max_width {
            rest
        } else {
            (want.round() as usize).clamp(1, max_width.saturating_sub(left + halo).max(1)).min(rest)
        };
        let k1 = k0 + k;
        let x1 = if k1 == width { width } else { (k1 + halo).min(width) };
        out.push(Strip { x0, job: StripJob { width: x1 - x0, height, keep_x0: left, keep_w: k1 - k0 } });
        k0 = k1;
        want *= ratio;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grown_strips_cover_every_column_once_within_the_width() {
        for width in [1, 7, 25, 64, 256, 333] {
            for (max, halo) in [(25, 12), (124, 12), (40, 3)] {
                for (first, ratio) in [(1, 1.0), (5, 2.0), (30, 1.5), (200, 3.0)] {
                    let s = grown(width, 9, max, halo, first, ratio);
                    let mut next = 0;
                    for st in &s {
                        assert!(st.job.width <= max, "{width} {max} {halo} {first} {ratio}: {st:?}");
                        assert_eq!(st.x0 + st.job.keep_x0, next);
                        let k1 = next + st.job.keep_w;
                        assert!(st.job.keep_x0 >= halo || st.x0 == 0);
                        assert!(st.x0 + st.job.width - k1 >= halo || st.x0 + st.job.width == width);
                        next = k1;
                    }
                    assert_eq!(next, width);
                }
            }
        }
    }
}
