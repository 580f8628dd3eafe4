//! Image files in and out: PNG/JPEG decoding to planes, atomic PNG writing.

use anyhow::{bail, Context, Result};
use bbcu_sim::Planes;
use image::{DynamicImage, GrayImage, RgbImage};
use std::path::Path;

/// Decodes a PNG/JPEG into 8-bit planes: grey images give 1 channel, everything else 3
/// (alpha is dropped, 16-bit samples are rounded to 8).
pub fn read(path: &Path) -> Result<Planes> {
    if !path.exists() {
        bail!("{}: no such file", path.display());
    }
    let img = image::ImageReader::open(path)
        .with_context(|| format!("{}: cannot open", path.display()))?
        .with_guessed_format()
        .with_context(|| format!("{}: cannot read", path.display()))?
        .decode()
        .map_err(|e| anyhow::anyhow!("{}: not a readable image ({e})", path.display()))?;
    if img.width() == 0 || img.height() == 0 {
        bail!("{}: the image is empty", path.display());
    }
    Ok(from_dynamic(&img))
}

pub fn from_dynamic(img: &DynamicImage) -> Planes {
    let is_grey = !img.color().has_color();
    if is_grey {
        let g = img.to_luma8();
        Planes::from_vec(1, g.height() as usize, g.width() as usize, g.into_raw())
    } else {
        let rgb = img.to_rgb8();
        let (w, h) = (rgb.width() as usize, rgb.height() as usize);
        let mut p = Planes::new(3, h, w);
        for (i, px) in rgb.pixels().enumerate() {
            for c in 0..3 {
                p.data[c * h * w + i] = px[c];
            }
        }
        p
    }
}

pub fn to_dynamic(p: &Planes) -> Result<DynamicImage> {
    let (w, h) = (p.width as u32, p.height as u32);
    Ok(match p.channels {
        1 => DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, p.data.clone()).context("plane size")?),
        3 => {
            let n = p.width * p.height;
            let mut raw = Vec::with_capacity(3 * n);
            for i in 0..n {
                raw.extend_from_slice(&[p.data[i], p.data[n + i], p.data[2 * n + i]]);
            }
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, raw).context("plane size")?)
        }
        c => bail!("cannot write an image with {c} channels"),
    })
}

/// Writes a PNG atomically (see [`write_with`]).
pub fn write_png(path: &Path, p: &Planes) -> Result<()> {
    let img = to_dynamic(p)?;
    write_with(path, |tmp| {
        img.save_with_format(tmp, image::ImageFormat::Png)
            .map_err(|e| anyhow::anyhow!("{}: cannot write ({e})", path.display()))
    })
}

/// Writes bytes atomically (see [`write_with`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |tmp| std::fs::write(tmp, bytes).with_context(|| format!("{}: cannot write", path.display())))
}

/// Writes a file atomically: `write` fills a temporary file beside the target, which is then
/// renamed over it, so an interrupted run never leaves a half-written file.
fn write_with(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        bail!("{}: the output folder does not exist", dir.display());
    }
    let name = path.file_name().with_context(|| format!("{}: not a file name", path.display()))?;
    let tmp = dir.join(format!(".{}.partial-{}", name.to_string_lossy(), std::process::id()));
    let result = write(&tmp)
        .and_then(|_| std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display())));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
