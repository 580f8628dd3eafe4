//! The degradations that make the low-quality inputs of the official evaluations
//! (`bbcu-reference.md` §8): MATLAB bicubic `imresize`, additive Gaussian noise and JPEG.

use anyhow::{bail, Context, Result};
use bbcu_sim::Planes;
use image::codecs::jpeg::JpegEncoder;
use image::ExtendedColorType;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// MATLAB's bicubic kernel (Keys, a = -0.5).
fn cubic(x: f64) -> f64 {
    let ax = x.abs();
    let (ax2, ax3) = (ax * ax, ax * ax * ax);
    if ax <= 1.0 {
        1.5 * ax3 - 2.5 * ax2 + 1.0
    } else if ax <= 2.0 {
        -0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0
    } else {
        0.0
    }
}

/// For every output sample along one axis, the input samples it reads and their weights:
/// MATLAB `imresize`'s `contributions` with antialiasing on.
struct Contributions {
    taps: usize,
    /// `out_len × taps` 0-based input indices, already mirrored into `[0, in_len)`.
    indices: Vec<usize>,
    /// `out_len × taps` weights, each row summing to 1.
    weights: Vec<f64>,
}

fn contributions(in_len: usize, out_len: usize, scale: f64) -> Contributions {
    const KERNEL_WIDTH: f64 = 4.0;
    // Downscaling stretches the kernel by 1/scale so that it also low-pass filters
    // (antialiasing); upscaling uses the plain kernel.
    let (width, stretch) = if scale < 1.0 { (KERNEL_WIDTH / scale, scale) } else { (KERNEL_WIDTH, 1.0) };
    let taps = width.ceil() as usize + 2;
    let mut indices = Vec::with_capacity(out_len * taps);
    let mut weights = Vec::with_capacity(out_len * taps);
    // MATLAB's symmetric padding repeats the edge sample: [1..n, n..1] periodically.
    let period = 2 * in_len as i64;
    let mirror = |j: i64| -> usize {
        let m = j.rem_euclid(period);
        (if m < in_len as i64 { m } else { period - 1 - m }) as usize
    };
    for x in 1..=out_len {
        // `u` is the output sample's centre in 1-based input coordinates, written exactly as
        // MATLAB computes it so that ties fall the same way.
        let u = x as f64 / scale + 0.5 * (1.0 - 1.0 / scale);
        let left = (u - width / 2.0).floor();
        let row: Vec<f64> = (0..taps).map(|k| stretch * cubic(stretch * (u - (left + k as f64)))).collect();
        let sum: f64 = row.iter().sum();
        weights.extend(row.iter().map(|w| w / sum));
        indices.extend((0..taps).map(|k| mirror(left as i64 + k as i64 - 1)));
    }
    Contributions { taps, indices, weights }
}

/// MATLAB's conversion of a double to `uint8`: round half away from zero, saturate.
#[inline]
fn to_u8(v: f64) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

/// Resamples every plane along its height (`vertical`) or width with `c`, rounding to
/// 8 bits as MATLAB's `imresizemex` does for `uint8` images.
fn resize_axis(p: &Planes, c: &Contributions, out_len: usize, vertical: bool) -> Planes {
    let (oh, ow) = if vertical { (out_len, p.width) } else { (p.height, out_len) };
    let mut out = Planes::new(p.channels, oh, ow);
    for ch in 0..p.channels {
        let src = p.plane(ch);
        for y in 0..oh {
            for x in 0..ow {
                let o = if vertical { y } else { x };
                let taps = o * c.taps..(o + 1) * c.taps;
                let acc: f64 = c.indices[taps.clone()]
                    .iter()
                    .zip(&c.weights[taps])
                    .map(|(&i, &w)| {
                        let v = if vertical { src[i * p.width + x] } else { src[y * p.width + i] };
                        w * f64::from(v)
                    })
                    .sum();
                out.data[(ch * oh + y) * ow + x] = to_u8(acc);
            }
        }
    }
    out
}

/// MATLAB `imresize(img, scale, 'bicubic')` of an 8-bit image to `out_h × out_w`.
///
/// MATLAB resizes the height first (for equal scales) and, for `uint8` input, rounds the
/// intermediate image to `uint8` before resizing the width; this does the same, so the
/// result matches MATLAB's rather than the all-float Python ports'.
fn imresize(p: &Planes, scale: f64, out_h: usize, out_w: usize) -> Planes {
    let rows = contributions(p.height, out_h, scale);
    let cols = contributions(p.width, out_w, scale);
    let tall = resize_axis(p, &rows, out_h, true);
    resize_axis(&tall, &cols, out_w, false)
}

/// MATLAB `imresize(img, 1/s, 'bicubic')` (antialiased): the output is `ceil(h/s) × ceil(w/s)`,
/// so mod-crop the image to a multiple of `s` first to get BasicSR's LR images.
pub fn imresize_down(p: &Planes, s: usize) -> Planes {
    assert!(s >= 1, "imresize_down: the factor must be at least 1");
    imresize(p, 1.0 / s as f64, p.height.div_ceil(s), p.width.div_ceil(s))
}

/// MATLAB `imresize(img, s, 'bicubic')`: the bicubic baseline of SR.
pub fn imresize_up(p: &Planes, s: usize) -> Planes {
    assert!(s >= 1, "imresize_up: the factor must be at least 1");
    imresize(p, s as f64, p.height * s, p.width * s)
}

/// The top-left `h - h % s` × `w - w % s` window (BasicSR `mod_crop`).
pub fn mod_crop(p: &Planes, s: usize) -> Planes {
    p.crop(0, 0, p.height - p.height % s, p.width - p.width % s)
}

/// `p/255 + N(0, σ/255)` in `[0, 1]` units, not clipped: the noisy input of KAIR's denoise test.
/// The noise is drawn from ChaCha8 seeded with `seed`, in plane order, so a run is
/// reproducible (it cannot reproduce numpy's stream, so the exact noise differs from KAIR's).
pub fn add_gaussian_noise(p: &Planes, sigma_255: f64, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = Normal::new(0.0, sigma_255 / 255.0).expect("the noise level must be finite and non-negative");
    p.data.iter().map(|&v| (f64::from(v) / 255.0 + normal.sample(&mut rng)) as f32).collect()
}

/// The noisy image of [`add_gaussian_noise`] quantised to 8 bits (rounded, clamped to
/// `[0, 255]`).
///
/// The project's denoise evaluation feeds this to the network, because the engines, like the
/// accelerator, take 8-bit input. This is a deliberate deviation from KAIR, which feeds the
/// unclipped float noisy image; quantising and clipping lowers the scores slightly.
pub fn noisy_u8(p: &Planes, sigma_255: f64, seed: u64) -> Planes {
    let data = add_gaussian_noise(p, sigma_255, seed).iter().map(|&v| to_u8(f64::from(v) * 255.0)).collect();
    Planes::from_vec(p.channels, p.height, p.width, data)
}

/// Encodes a grey image as baseline JPEG at `quality` (1–100; 0 is treated as 1, as libjpeg
/// does) and decodes it again.
///
/// KAIR uses OpenCV (libjpeg); the `image` crate uses the same quantisation-table scaling, but
/// its DCT, rounding and decoder differ, so the artifacts are close to OpenCV's, not identical.
pub fn jpeg_roundtrip(p: &Planes, quality: u8) -> Result<Planes> {
    if p.channels != 1 {
        bail!("jpeg_roundtrip: expects a grey image, got {} channels", p.channels);
    }
    let mut buf = Vec::new();
    JpegEncoder::new_with_quality(&mut buf, quality)
        .encode(&p.data, p.width as u32, p.height as u32, ExtendedColorType::L8)
        .context("JPEG encoding failed")?;
    let decoded = image::load_from_memory_with_format(&buf, image::ImageFormat::Jpeg)
        .context("decoding our own JPEG failed")?
        .to_luma8();
    let (w, h) = (decoded.width() as usize, decoded.height() as usize);
    if (w, h) != (p.width, p.height) {
        bail!("JPEG round trip changed the size from {}×{} to {w}×{h}", p.width, p.height);
    }
    Ok(Planes::from_vec(1, h, w, decoded.into_raw()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_and_indices_stay_inside() {
        for (n, s) in [(7usize, 2usize), (12, 3), (16, 4), (5, 4)] {
            let down = contributions(n, n.div_ceil(s), 1.0 / s as f64);
            let up = contributions(n, n * s, s as f64);
            for c in [down, up] {
                for row in c.weights.chunks(c.taps) {
                    assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
                }
                assert!(c.indices.iter().all(|&i| i < n));
            }
        }
    }

    #[test]
    fn constant_stays_constant() {
        let p = Planes::from_vec(2, 10, 14, [vec![77; 140], vec![200; 140]].concat());
        for s in [2, 3, 4] {
            let d = imresize_down(&p, s);
            assert_eq!((d.height, d.width), (10usize.div_ceil(s), 14usize.div_ceil(s)));
            assert!(d.plane(0).iter().all(|&v| v == 77) && d.plane(1).iter().all(|&v| v == 200));
            let u = imresize_up(&p, s);
            assert_eq!((u.height, u.width), (10 * s, 14 * s));
            assert!(u.plane(0).iter().all(|&v| v == 77) && u.plane(1).iter().all(|&v| v == 200));
        }
    }

    #[test]
    fn ramp_downscaled_by_two_gives_midpoints() {
        // v(x) = 4x along the width: output x averages inputs 2x and 2x+1, i.e. 8x + 2. The
        // stretched kernel spans 4 input pixels on each side, so skip two outputs per border.
        let (h, w) = (6, 24);
        let mut p = Planes::new(1, h, w);
        for y in 0..h {
            for x in 0..w {
                p.set(0, y, x, (4 * x) as u8);
            }
        }
        let d = imresize_down(&p, 2);
        assert_eq!((d.height, d.width), (3, 12));
        for y in 0..3 {
            for x in 2..10 {
                assert_eq!(d.get(0, y, x), (8 * x + 2) as u8, "at ({y}, {x})");
            }
        }
    }

    #[test]
    fn ramp_upscaled_by_two_is_interpolated_linearly() {
        // Output x sits at input coordinate x/2 - 1/4, and the cubic reproduces a ramp exactly.
        let (h, w) = (4, 16);
        let mut p = Planes::new(1, h, w);
        for y in 0..h {
            for x in 0..w {
                p.set(0, y, x, (8 * x + 10) as u8);
            }
        }
        let u = imresize_up(&p, 2);
        for y in 0..2 * h {
            for x in 4..2 * w - 4 {
                assert_eq!(u.get(0, y, x), (4 * x + 8) as u8, "at ({y}, {x})");
            }
        }
    }

    #[test]
    fn noise_is_reproducible_and_has_the_right_spread() {
        let p = Planes::from_vec(3, 64, 64, vec![128; 3 * 64 * 64]);
        let a = add_gaussian_noise(&p, 25.0, 7);
        assert_eq!(a, add_gaussian_noise(&p, 25.0, 7));
        assert_ne!(a, add_gaussian_noise(&p, 25.0, 8));
        let n = a.len() as f64;
        let mean = a.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let sd = (a.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!((mean - 128.0 / 255.0).abs() < 0.005, "{mean}");
        assert!((sd * 255.0 - 25.0).abs() < 1.0, "{}", sd * 255.0);
        let q = noisy_u8(&p, 25.0, 7);
        for (f, b) in a.iter().zip(&q.data) {
            assert_eq!(*b, (f64::from(*f) * 255.0).round().clamp(0.0, 255.0) as u8);
        }
    }

    #[test]
    fn noisy_u8_clamps() {
        let p = Planes::from_vec(1, 32, 32, (0..1024).map(|i| if i % 2 == 0 { 0 } else { 255 }).collect());
        let a = add_gaussian_noise(&p, 50.0, 1);
        assert!(a.iter().any(|&v| v < 0.0) && a.iter().any(|&v| v > 1.0), "noise is not clipped");
        let q = noisy_u8(&p, 50.0, 1);
        // Saturated, not wrapped: a black pixel pushed below 0 stays 0, and so on.
        for ((&f, &b), &orig) in a.iter().zip(&q.data).zip(&p.data) {
            if f < 0.0 {
                assert_eq!(b, 0);
            } else if f > 1.0 {
                assert_eq!(b, 255);
            } else if orig == 0 {
                assert!(b < 200);
            }
        }
    }

    #[test]
    fn jpeg_roundtrip_keeps_size_and_quality_orders() {
        let (h, w) = (40, 48);
        let mut p = Planes::new(1, h, w);
        for y in 0..h {
            for x in 0..w {
                p.set(0, y, x, ((x * 5 + y * 3) % 256) as u8 ^ if (x / 4 + y / 4) % 2 == 0 { 0 } else { 60 });
            }
        }
        let err =
            |q: &Planes| p.data.iter().zip(&q.data).map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2)).sum::<f64>();
        let low = jpeg_roundtrip(&p, 10).unwrap();
        let high = jpeg_roundtrip(&p, 95).unwrap();
        assert_eq!((low.height, low.width, low.channels), (h, w, 1));
        assert!(err(&high) < err(&low));
        assert!(jpeg_roundtrip(&Planes::new(3, 8, 8), 10).is_err());
    }
}
