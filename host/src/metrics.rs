//! Image-quality metrics with the conventions of the official evaluations
//! (`bbcu-reference.md` §8): BasicSR's `calculate_psnr`/`calculate_ssim` for SR and KAIR's
//! `utils_image` (the same formulas) for denoising and deblocking.
//!
//! Everything is computed in f64 on `[0, 255]` values. Images are planar (CHW) slices: a
//! slice of `c·h·w` values holds `c` planes of `h×w`.

use bbcu_sim::Planes;
use serde::Serialize;

/// Which samples a metric compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Channels {
    /// The BT.601 "MATLAB" luma of an RGB image (a grey image is its own luma).
    Y,
    /// Every channel as stored.
    All,
}

impl Channels {
    pub fn name(self) -> &'static str {
        match self {
            Channels::Y => "Y",
            Channels::All => "all channels",
        }
    }
}

/// MATLAB `rgb2ycbcr` luma on `[0, 255]` values, not rounded (BasicSR `to_y_channel` with
/// `test_y_channel: true`). A 1-channel image is returned as is.
pub fn rgb_to_y(p: &Planes) -> Vec<f64> {
    match p.channels {
        1 => p.data.iter().map(|&v| f64::from(v)).collect(),
        3 => (0..p.height * p.width).map(|i| luma(p, i)).collect(),
        c => panic!("rgb_to_y: an image with {c} channels has no luma"),
    }
}

/// The same luma rounded to 8 bits, as MATLAB's `rgb2ycbcr` returns it for `uint8` input (and
/// as KAIR builds the grey JPEG ground truth). Ties round away from zero, as MATLAB does.
pub fn rgb_to_y_u8(p: &Planes) -> Planes {
    match p.channels {
        1 => p.clone(),
        3 => {
            let data = (0..p.height * p.width).map(|i| luma(p, i).round().clamp(0.0, 255.0) as u8).collect();
            Planes::from_vec(1, p.height, p.width, data)
        }
        c => panic!("rgb_to_y_u8: an image with {c} channels has no luma"),
    }
}

#[inline]
fn luma(p: &Planes, i: usize) -> f64 {
    let n = p.height * p.width;
    let (r, g, b) = (f64::from(p.data[i]), f64::from(p.data[n + i]), f64::from(p.data[2 * n + i]));
    (65.481 * r + 128.553 * g + 24.966 * b) / 255.0 + 16.0
}

/// The samples of `p` that a metric in `mode` compares, as planes of `p.height × p.width`.
pub fn samples(p: &Planes, mode: Channels) -> Vec<f64> {
    match mode {
        Channels::Y => rgb_to_y(p),
        Channels::All => p.data.iter().map(|&v| f64::from(v)).collect(),
    }
}

fn planes_of(len: usize, w: usize, h: usize) -> usize {
    assert!(len.checked_rem(w * h) == Some(0), "metric: {len} samples do not make {w}×{h} planes");
    len / (w * h)
}

/// `10·log10(255² / MSE)` over all planes, after removing `crop_border` pixels on each side of
/// every plane; `inf` for identical images (BasicSR and KAIR both return `inf`).
pub fn psnr(a: &[f64], b: &[f64], w: usize, h: usize, crop_border: usize) -> f64 {
    assert_eq!(a.len(), b.len(), "psnr: images of different sizes");
    let c = planes_of(a.len(), w, h);
    assert!(2 * crop_border < w && 2 * crop_border < h, "psnr: crop border {crop_border} leaves nothing of {w}×{h}");
    let mut sum = 0.0;
    for ch in 0..c {
        for y in crop_border..h - crop_border {
            let row = (ch * h + y) * w;
            for x in crop_border..w - crop_border {
                let d = a[row + x] - b[row + x];
                sum += d * d;
            }
        }
    }
    let mse = sum / (c * (h - 2 * crop_border) * (w - 2 * crop_border)) as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0 * 255.0 / mse).log10()
    }
}

const WIN: usize = 11;
const SIGMA: f64 = 1.5;

/// OpenCV's `getGaussianKernel(11, 1.5)`: the sampled Gaussian normalised to sum 1.
pub fn gaussian_kernel() -> [f64; WIN] {
    let mut k = [0.0; WIN];
    let half = (WIN / 2) as f64;
    for (i, v) in k.iter_mut().enumerate() {
        let d = i as f64 - half;
        *v = (-d * d / (2.0 * SIGMA * SIGMA)).exp();
    }
    let s: f64 = k.iter().sum();
    k.map(|v| v / s)
}

/// BasicSR's `calculate_ssim`: after the border crop, `_ssim` on every plane (11×11 Gaussian
/// window, σ = 1.5, only the positions where the window fits), averaged over planes.
/// NaN when a cropped plane is smaller than the window (numpy's mean of nothing).
pub fn ssim(a: &[f64], b: &[f64], w: usize, h: usize, crop_border: usize) -> f64 {
    assert_eq!(a.len(), b.len(), "ssim: images of different sizes");
    let c = planes_of(a.len(), w, h);
    assert!(2 * crop_border < w && 2 * crop_border < h, "ssim: crop border {crop_border} leaves nothing of {w}×{h}");
    let (cw, chh) = (w - 2 * crop_border, h - 2 * crop_border);
    let crop = |img: &[f64], ch: usize| -> Vec<f64> {
        let mut out = Vec::with_capacity(cw * chh);
        for y in crop_border..h - crop_border {
            let row = (ch * h + y) * w;
            out.extend_from_slice(&img[row + crop_border..row + w - crop_border]);
        }
        out
    };
    let total: f64 = (0..c).map(|ch| ssim_plane(&crop(a, ch), &crop(b, ch), cw, chh)).sum();
    total / c as f64
}

/// BasicSR `_ssim` on one plane. The 2-D window is the outer product of the 1-D kernel, so
/// it is applied as two 1-D passes; this changes only the float rounding.
fn ssim_plane(a: &[f64], b: &[f64], w: usize, h: usize) -> f64 {
    if w < WIN || h < WIN {
        return f64::NAN;
    }
    const C1: f64 = (0.01 * 255.0) * (0.01 * 255.0);
    const C2: f64 = (0.03 * 255.0) * (0.03 * 255.0);
    let k = gaussian_kernel();
    let prod = |f: &dyn Fn(f64, f64) -> f64| -> Vec<f64> { a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect() };
    let mu1 = filter_valid(a, w, h, &k);
    let mu2 = filter_valid(b, w, h, &k);
    let e11 = filter_valid(&prod(&|x, _| x * x), w, h, &k);
    let e22 = filter_valid(&prod(&|_, y| y * y), w, h, &k);
    let e12 = filter_valid(&prod(&|x, y| x * y), w, h, &k);
    let mut sum = 0.0;
    for i in 0..mu1.len() {
        let (m1, m2) = (mu1[i], mu2[i]);
        let (m11, m22, m12) = (m1 * m1, m2 * m2, m1 * m2);
        let (s11, s22, s12) = (e11[i] - m11, e22[i] - m22, e12[i] - m12);
        sum += ((2.0 * m12 + C1) * (2.0 * s12 + C2)) / ((m11 + m22 + C1) * (s11 + s22 + C2));
    }
    sum / mu1.len() as f64
}

/// Separable 'valid' correlation with `k` along both axes: `(h-10) × (w-10)` values.
fn filter_valid(img: &[f64], w: usize, h: usize, k: &[f64; WIN]) -> Vec<f64> {
    let ow = w + 1 - WIN;
    let oh = h + 1 - WIN;
    let mut rows = vec![0.0; h * ow];
    for y in 0..h {
        let src = &img[y * w..(y + 1) * w];
        for x in 0..ow {
            rows[y * ow + x] = k.iter().zip(&src[x..x + WIN]).map(|(kv, v)| kv * v).sum();
        }
    }
    let mut out = vec![0.0; oh * ow];
    for y in 0..oh {
        for x in 0..ow {
            out[y * ow + x] = (0..WIN).map(|j| k[j] * rows[(y + j) * ow + x]).sum();
        }
    }
    out
}

fn check_same_shape(a: &Planes, b: &Planes) {
    assert!(
        a.channels == b.channels && a.height == b.height && a.width == b.width,
        "metric: comparing a {}×{}×{} image with a {}×{}×{} one",
        a.channels,
        a.height,
        a.width,
        b.channels,
        b.height,
        b.width
    );
}

/// PSNR of two 8-bit images on the channels `mode` selects, `crop_border` pixels removed on
/// each side.
pub fn psnr_planes(a: &Planes, b: &Planes, mode: Channels, crop_border: usize) -> f64 {
    check_same_shape(a, b);
    psnr(&samples(a, mode), &samples(b, mode), a.width, a.height, crop_border)
}

/// SSIM of two 8-bit images on the channels `mode` selects (per channel, averaged).
pub fn ssim_planes(a: &Planes, b: &Planes, mode: Channels, crop_border: usize) -> f64 {
    check_same_shape(a, b);
    ssim(&samples(a, mode), &samples(b, mode), a.width, a.height, crop_border)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo_random(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 33) % 256) as f64
            })
            .collect()
    }

    /// BasicSR `_ssim` written the direct way: the full 11×11 window at every valid position.
    fn ssim_direct(a: &[f64], b: &[f64], w: usize, h: usize) -> f64 {
        let k = gaussian_kernel();
        let c1 = (0.01f64 * 255.0).powi(2);
        let c2 = (0.03f64 * 255.0).powi(2);
        let mut sum = 0.0;
        let mut n = 0;
        for y in 0..=h - WIN {
            for x in 0..=w - WIN {
                let (mut m1, mut m2, mut e11, mut e22, mut e12) = (0.0, 0.0, 0.0, 0.0, 0.0);
                for j in 0..WIN {
                    for i in 0..WIN {
                        let wt = k[j] * k[i];
                        let (p, q) = (a[(y + j) * w + x + i], b[(y + j) * w + x + i]);
                        m1 += wt * p;
                        m2 += wt * q;
                        e11 += wt * p * p;
                        e22 += wt * q * q;
                        e12 += wt * p * q;
                    }
                }
                let (s11, s22, s12) = (e11 - m1 * m1, e22 - m2 * m2, e12 - m1 * m2);
                sum += ((2.0 * m1 * m2 + c1) * (2.0 * s12 + c2)) / ((m1 * m1 + m2 * m2 + c1) * (s11 + s22 + c2));
                n += 1;
            }
        }
        sum / n as f64
    }

    #[test]
    fn psnr_of_a_known_mse() {
        // Every sample off by 5 (MSE 25) inside the border; the border itself differs wildly
        // and must be ignored.
        let (w, h) = (8, 6);
        let a = vec![100.0; w * h];
        let mut b = vec![105.0; w * h];
        for y in 0..h {
            for x in 0..w {
                if y == 0 || x == 0 || y == h - 1 || x == w - 1 {
                    b[y * w + x] = 0.0;
                }
            }
        }
        let expected = 10.0 * (255.0f64 * 255.0 / 25.0).log10();
        assert!((psnr(&a, &b, w, h, 1) - expected).abs() < 1e-12);
        assert!(psnr(&a, &b, w, h, 0) < expected);
        assert_eq!(psnr(&a, &a, w, h, 0), f64::INFINITY);
    }

    #[test]
    fn psnr_pools_the_error_of_all_planes() {
        // One plane off by 2, the other exact: MSE = (4 + 0) / 2.
        let (w, h) = (4, 4);
        let a = vec![10.0; 2 * w * h];
        let mut b = a.clone();
        b[..w * h].iter_mut().for_each(|v| *v += 2.0);
        let expected = 10.0 * (255.0f64 * 255.0 / 2.0).log10();
        assert!((psnr(&a, &b, w, h, 0) - expected).abs() < 1e-12);
    }

    #[test]
    fn ssim_of_identical_images_is_one() {
        let (w, h) = (23, 17);
        let a = pseudo_random(w * h, 1);
        assert!((ssim(&a, &a, w, h, 0) - 1.0).abs() < 1e-12);
        assert!((ssim(&a, &a, w, h, 3) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn ssim_matches_the_direct_window() {
        let (w, h) = (19, 14);
        let a = pseudo_random(w * h, 2);
        let b: Vec<f64> = a.iter().zip(pseudo_random(w * h, 3)).map(|(x, n)| (x + 0.3 * (n - 128.0)).round()).collect();
        let fast = ssim(&a, &b, w, h, 0);
        let direct = ssim_direct(&a, &b, w, h);
        assert!((fast - direct).abs() < 1e-12, "{fast} vs {direct}");
        assert!(fast < 0.99 && fast > 0.0);
    }

    #[test]
    fn ssim_of_constant_images_by_hand() {
        // Constant planes have no variance: SSIM = (2·μ1·μ2 + C1) / (μ1² + μ2² + C1).
        let (w, h) = (12, 11);
        let a = vec![100.0; w * h];
        let b = vec![110.0; w * h];
        let c1 = (0.01f64 * 255.0).powi(2);
        let expected = (2.0 * 100.0 * 110.0 + c1) / (100.0f64 * 100.0 + 110.0 * 110.0 + c1);
        assert!((ssim(&a, &b, w, h, 0) - expected).abs() < 1e-12);
    }

    #[test]
    fn ssim_averages_planes_and_is_nan_when_too_small() {
        let (w, h) = (13, 12);
        let a = pseudo_random(2 * w * h, 4);
        let mut b = a.clone();
        b[w * h..].iter_mut().for_each(|v| *v = 255.0 - *v);
        let second = ssim(&a[w * h..], &b[w * h..], w, h, 0);
        assert!(((ssim(&a, &b, w, h, 0)) - (1.0 + second) / 2.0).abs() < 1e-12);
        assert!(ssim(&a, &b, w, h, 1).is_nan());
    }

    #[test]
    fn gaussian_kernel_matches_opencv() {
        let k = gaussian_kernel();
        assert!((k.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        // cv2.getGaussianKernel(11, 1.5)[5] = 0.26601172...
        assert!((k[5] - 0.266_011_72).abs() < 1e-7, "{}", k[5]);
    }

    #[test]
    fn luma_follows_matlab() {
        // Pixels: white, black, pure red (planar R, G, B).
        let p = Planes::from_vec(3, 1, 3, vec![255, 0, 255, 255, 0, 0, 255, 0, 0]);
        let y = rgb_to_y(&p);
        assert!((y[0] - 235.0).abs() < 1e-9);
        assert!((y[1] - 16.0).abs() < 1e-9);
        assert!((y[2] - (16.0 + 65.481)).abs() < 1e-9);
        assert_eq!(rgb_to_y_u8(&p).data, vec![235, 16, 81]);
        let grey = Planes::from_vec(1, 1, 2, vec![7, 9]);
        assert_eq!(rgb_to_y(&grey), vec![7.0, 9.0]);
        assert_eq!(rgb_to_y_u8(&grey), grey);
    }

    #[test]
    fn planes_helpers_select_channels() {
        let a = Planes::from_vec(3, 12, 12, (0..432).map(|i| (i % 251) as u8).collect());
        let mut b = a.clone();
        b.data[0] = b.data[0].wrapping_add(10);
        assert!(psnr_planes(&a, &b, Channels::All, 0).is_finite());
        assert_eq!(psnr_planes(&a, &b, Channels::All, 1), f64::INFINITY);
        assert!(psnr_planes(&a, &b, Channels::Y, 0) > psnr_planes(&a, &b, Channels::All, 0));
        assert!((ssim_planes(&a, &a, Channels::Y, 0) - 1.0).abs() < 1e-12);
    }
}
