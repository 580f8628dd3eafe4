//! Cutting an image into vertical strips that the engine can hold.
//!
//! The engine keeps a few rows of every layer on chip (a row wavefront), so the row count is
//! unlimited but the width is bounded by its memories. Wider images go in strips that overlap
//! by a halo: the columns near a strip's cut are wrong (the engine zero-pads there as at a
//! real border), so each strip keeps only the columns at least `halo` away from an inner cut.

use crate::device::StripJob;

/// A strip of the whole image: input columns `[x0, x0 + job.width)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strip {
    pub x0: usize,
    pub job: StripJob,
}

/// Strips covering `width × height` with at most `max_width` columns each, overlapping by
/// `halo` columns on each inner side. Errors when a strip could keep nothing.
pub fn plan(width: usize, height: usize, max_width: usize, halo: usize) -> Result<Vec<Strip>, String> {
    if width == 0 || height == 0 {
        return Err(format!("image is {width}×{height}: nothing to process"));
    }
    let mut out = Vec::new();
    let mut k0 = 0;
    while k0 < width {
        let x0 = k0.saturating_sub(halo);
        let x1 = (x0 + max_width).min(width);
        let k1 = if x1 == width { width } else { x1.saturating_sub(halo) };
        if k1 <= k0 {
            return Err(format!(
                "strips of {max_width} columns cannot keep any column with a halo of {halo} \
                 (need at least {})",
                2 * halo + 1
            ));
        }
        out.push(Strip { x0, job: StripJob { width: x1 - x0, height, keep_x0: k0 - x0, keep_w: k1 - k0 } });
        k0 = k1;
    }
    Ok(out)
}

/// Runs a whole image through a device strip by strip and stitches the kept columns.
/// `halo`, `width_cap` and `scale` come from the compiled model; `out_ch` is its output
/// channel count.
pub fn run_image(
    dev: &mut dyn crate::Device,
    input: &bbcu_sim::Planes,
    halo: usize,
    width_cap: usize,
    scale: usize,
    out_ch: usize,
    mut each: impl FnMut(&Strip, &crate::Counters),
) -> Result<bbcu_sim::Planes, String> {
    let (c, h, w) = (input.channels, input.height, input.width);
    let plan = plan(w, h, width_cap, halo)?;
    let mut out = bbcu_sim::Planes::new(out_ch, h * scale, w * scale);
    for s in &plan {
        let strip = input.crop(0, s.x0, h, s.job.width);
        debug_assert_eq!(strip.channels, c);
        let got = dev.run_strip(&s.job, &strip.data).map_err(|e| e.to_string())?;
        let kw = s.job.keep_w * scale;
        let x_out = (s.x0 + s.job.keep_x0) * scale;
        for ch in 0..out_ch {
            for y in 0..h * scale {
                let src = &got[(ch * h * scale + y) * kw..][..kw];
                let dst = (ch * h * scale + y) * w * scale + x_out;
                out.data[dst..dst + kw].copy_from_slice(src);
            }
        }
        each(s, &dev.counters());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_cover_every_column_once_with_the_halo() {
        for width in [1, 5, 17, 64, 65, 200, 321] {
            for (max, halo) in [(16, 3), (64, 12), (9, 4), (400, 10)] {
                let s = plan(width, 7, max, halo).unwrap();
                let mut next = 0;
                for st in &s {
                    assert!(st.job.width <= max);
                    assert_eq!(st.x0 + st.job.keep_x0, next, "gap or overlap at {next}");
                    let k1 = st.x0 + st.job.keep_x0 + st.job.keep_w;
                    assert!(st.job.keep_x0 >= halo || st.x0 == 0);
                    assert!(st.x0 + st.job.width - k1 >= halo || st.x0 + st.job.width == width);
                    next = k1;
                }
                assert_eq!(next, width);
            }
        }
    }

    #[test]
    fn too_narrow_strips_are_refused() {
        let e = plan(100, 4, 8, 4).unwrap_err();
        assert!(e.contains("need at least 9"), "{e}");
        assert!(plan(0, 4, 8, 1).is_err());
    }
}
