//! Quality evaluation of a model on a folder of images, with the conventions of the official
//! test scripts (`bbcu-reference.md` §8): PSNR/SSIM of the model's output and of the trivial
//! baseline (bicubic upscaling, the noisy input, the JPEG input) per image and on average.

use crate::degrade::{imresize_down, imresize_up, jpeg_roundtrip, mod_crop, noisy_u8};
use crate::imageio;
use crate::metrics::{psnr_planes, rgb_to_y_u8, ssim_planes, Channels};
use crate::model::to_channels;
use crate::model::{Model, Precision, Runner};
use anyhow::{bail, Context, Result};
use bbcu_sim::Planes;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// What a model restores; each network does exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Super-resolution (BBCU-L / BBCU-M).
    Sr,
    /// Colour denoising (binary DnCNN, RGB).
    Denoise,
    /// JPEG artifact reduction (binary DnCNN, grey).
    Jpeg,
}

impl Task {
    pub fn name(self) -> &'static str {
        match self {
            Task::Sr => "sr",
            Task::Denoise => "denoise",
            Task::Jpeg => "jpeg",
        }
    }

    /// The task a model was built for.
    pub fn of(model: &Model) -> Task {
        match model.net.task() {
            "sr" => Task::Sr,
            "jpeg" => Task::Jpeg,
            _ => Task::Denoise,
        }
    }
}

pub const DEFAULT_SIGMAS: [f64; 3] = [15.0, 25.0, 50.0];
pub const DEFAULT_QUALITIES: [u8; 4] = [10, 20, 30, 40];
/// Image `i` (in name order) gets noise seeded with `NOISE_SEED + i`, the same for every σ,
/// so runs are reproducible (KAIR re-seeds per image too, with 0 for every image).
pub const NOISE_SEED: u64 = 0;

#[derive(Debug, Clone)]
pub struct EvalArgs {
    /// The checkpoint (only read by [`eval`]; [`eval_model`] just reports it).
    pub model: PathBuf,
    /// A folder of ground-truth images, or a BasicSR test set (`HR/`, `LR_bicubic/X{s}/`).
    pub data: PathBuf,
    /// Defaults to the model's task; naming another is an error.
    pub task: Option<Task>,
    /// Defaults to the model's scale; naming another is an error.
    pub scale: Option<usize>,
    /// Noise levels on the 0–255 scale (denoise); empty means [`DEFAULT_SIGMAS`].
    pub sigma: Vec<f64>,
    /// JPEG qualities (jpeg); empty means [`DEFAULT_QUALITIES`].
    pub quality: Vec<u8>,
    pub precision: Precision,
    /// The image scale factor `k` of the checkpoint importer.
    pub k: f32,
    /// Fraction bits of the fixed-point compiler (`None`: its default).
    pub frac: Option<u32>,
    /// Evaluate only the first `limit` images (by name; at least one).
    pub limit: Option<usize>,
}

impl EvalArgs {
    pub fn new(model: impl Into<PathBuf>, data: impl Into<PathBuf>) -> Self {
        EvalArgs {
            model: model.into(),
            data: data.into(),
            task: None,
            scale: None,
            sigma: Vec::new(),
            quality: Vec::new(),
            precision: Precision::Fixed,
            k: 130.0,
            frac: None,
            limit: None,
        }
    }
}

/// Scores of one image under one condition.
#[derive(Debug, Clone, Serialize)]
pub struct ImageRow {
    pub name: String,
    pub psnr: f64,
    pub ssim: f64,
    pub baseline_psnr: f64,
    pub baseline_ssim: f64,
}

/// Means over the images of a condition.
#[derive(Debug, Clone, Serialize)]
pub struct MeanRow {
    pub psnr: f64,
    pub ssim: f64,
    pub baseline_psnr: f64,
    pub baseline_ssim: f64,
}

/// One degradation setting: `x2`, `sigma=25`, `q=10`.
#[derive(Debug, Clone, Serialize)]
pub struct ConditionReport {
    pub condition: String,
    pub channels: Channels,
    pub crop_border: usize,
    /// What the baseline scores measure: `bicubic`, `noisy input` or `JPEG input`.
    pub baseline: String,
    pub images: Vec<ImageRow>,
    pub mean: MeanRow,
}

/// Everything one evaluation measured. In JSON, an infinite PSNR (identical images) becomes
/// `null`.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub model: PathBuf,
    pub data: PathBuf,
    /// The folder the ground truth was read from.
    pub hr_dir: PathBuf,
    /// SR only: the folder of ready-made LR images, when the data set has one.
    pub lr_dir: Option<PathBuf>,
    pub task: Task,
    pub scale: usize,
    pub precision: Precision,
    pub conditions: Vec<ConditionReport>,
    /// Where this evaluation knowingly departs from the official one.
    pub notes: Vec<String>,
}

/// Loads the checkpoint and evaluates it (see [`eval_model`]).
pub fn eval(args: &EvalArgs) -> Result<EvalReport> {
    let model = Model::load(&args.model, args.k, args.frac)?;
    eval_model(&model, args)
}

#[derive(Debug, Clone, Copy)]
enum Condition {
    Sr(usize),
    Noise(f64),
    Jpeg(u8),
}

impl Condition {
    fn name(self) -> String {
        match self {
            Condition::Sr(s) => format!("x{s}"),
            Condition::Noise(sigma) => format!("sigma={sigma}"),
            Condition::Jpeg(q) => format!("q={q}"),
        }
    }
}

/// Evaluates a loaded model on `args.data`, one image at a time (the engine itself is
/// multi-threaded).
pub fn eval_model(model: &Model, args: &EvalArgs) -> Result<EvalReport> {
    let model_task = Task::of(model);
    let task = args.task.unwrap_or(model_task);
    if task != model_task {
        bail!(
            "{}: this is a {} model ({}), it cannot be evaluated as {}",
            args.model.display(),
            model_task.name(),
            model.net.arch.name(),
            task.name()
        );
    }
    let scale = model.net.scale();
    if let Some(s) = args.scale {
        if s != scale {
            bail!("--scale {s} does not match the model, which upscales x{scale}");
        }
    }
    let conditions: Vec<Condition> = match task {
        Task::Sr => vec![Condition::Sr(scale)],
        Task::Denoise => {
            let sigmas = if args.sigma.is_empty() { DEFAULT_SIGMAS.to_vec() } else { args.sigma.clone() };
            if let Some(bad) = sigmas.iter().find(|s| !s.is_finite() || **s < 0.0) {
                bail!("noise level {bad} is not a non-negative number");
            }
            sigmas.into_iter().map(Condition::Noise).collect()
        }
        Task::Jpeg => {
            let qs = if args.quality.is_empty() { DEFAULT_QUALITIES.to_vec() } else { args.quality.clone() };
            if let Some(bad) = qs.iter().find(|q| **q > 100) {
                bail!("JPEG quality {bad} is outside 0–100");
            }
            qs.into_iter().map(Condition::Jpeg).collect()
        }
    };

    if !args.data.is_dir() {
        bail!("{}: no such folder", args.data.display());
    }
    // A BasicSR test set keeps its ground truth in HR/ and, for SR, ready-made LR images in
    // LR_bicubic/X{s}/; a plain folder holds the ground truth itself.
    let hr_sub = args.data.join("HR");
    let hr_dir = if hr_sub.is_dir() { hr_sub } else { args.data.clone() };
    let lr_dir = Some(args.data.join("LR_bicubic").join(format!("X{scale}")))
        .filter(|d| task == Task::Sr && hr_dir != args.data && d.is_dir());
    let mut files = list_images(&hr_dir)?;
    if files.is_empty() {
        bail!("{}: no images (png, jpg, bmp) in this folder", hr_dir.display());
    }
    if let Some(n) = args.limit {
        files.truncate(n.max(1));
    }

    let runner = model.runner(args.precision);
    let bar = progress_bar((files.len() * conditions.len()) as u64);
    let mut rows: Vec<Vec<ImageRow>> = vec![Vec::new(); conditions.len()];
    for (index, file) in files.iter().enumerate() {
        let name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        bar.set_message(name.clone());
        let hr = imageio::read(file)?;
        let job = Job { model, runner: &runner, file, name: &name, hr: &hr };
        for (ci, &cond) in conditions.iter().enumerate() {
            let row = match cond {
                Condition::Sr(s) => job.sr(s, lr_dir.as_deref())?,
                Condition::Noise(sigma) => job.denoise(sigma, NOISE_SEED + index as u64)?,
                Condition::Jpeg(q) => job.jpeg(q)?,
            };
            rows[ci].push(row);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();

    let conditions = conditions
        .iter()
        .zip(rows)
        .map(|(&cond, images)| {
            let (channels, crop_border, baseline) = match cond {
                Condition::Sr(s) => (Channels::Y, s, "bicubic"),
                Condition::Noise(_) => (Channels::All, 0, "noisy input"),
                Condition::Jpeg(_) => (Channels::Y, 0, "JPEG input"),
            };
            let mean = mean_row(&images);
            ConditionReport { condition: cond.name(), channels, crop_border, baseline: baseline.into(), images, mean }
        })
        .collect();

    let mut notes = Vec::new();
    match task {
        Task::Sr if lr_dir.is_none() => notes
            .push("LR images made here with MATLAB-style bicubic imresize of the mod-cropped ground truth".to_string()),
        Task::Sr => {}
        Task::Denoise => notes.push(format!(
            "the network sees the noisy image rounded and clipped to 8 bits (the engines take 8-bit input), \
             not KAIR's unclipped float image; noise from ChaCha8 seeded {NOISE_SEED} + image index, not numpy's"
        )),
        Task::Jpeg => {
            notes.push("JPEG made with the `image` crate's encoder and decoder, not OpenCV/libjpeg".to_string())
        }
    }

    Ok(EvalReport {
        model: args.model.clone(),
        data: args.data.clone(),
        hr_dir,
        lr_dir,
        task,
        scale,
        precision: args.precision,
        conditions,
        notes,
    })
}

/// One ground-truth image on its way through the conditions.
struct Job<'a> {
    model: &'a Model,
    runner: &'a Runner<'a>,
    file: &'a Path,
    name: &'a str,
    hr: &'a Planes,
}

impl Job<'_> {
    fn run(&self, input: &Planes) -> Result<Planes> {
        self.model.check_input(input, &self.file.display().to_string())?;
        Ok(self.runner.run(input))
    }

    fn row(&self, out: &Planes, base: &Planes, gt: &Planes, channels: Channels, border: usize) -> Result<ImageRow> {
        if (out.channels, out.height, out.width) != (gt.channels, gt.height, gt.width) {
            bail!(
                "{}: the model returned {}×{}×{} for a {}×{}×{} ground truth",
                self.file.display(),
                out.channels,
                out.height,
                out.width,
                gt.channels,
                gt.height,
                gt.width
            );
        }
        if 2 * border >= gt.width || 2 * border >= gt.height {
            bail!("{}: {}×{} is too small for a crop border of {border}", self.file.display(), gt.width, gt.height);
        }
        Ok(ImageRow {
            name: self.name.to_string(),
            psnr: psnr_planes(out, gt, channels, border),
            ssim: ssim_planes(out, gt, channels, border),
            baseline_psnr: psnr_planes(base, gt, channels, border),
            baseline_ssim: ssim_planes(base, gt, channels, border),
        })
    }

    /// BasicSR: GT cropped to `LR size × s`, Y channel, `crop_border = s`.
    fn sr(&self, s: usize, lr_dir: Option<&Path>) -> Result<ImageRow> {
        let in_ch = self.model.net.in_ch;
        let (lr, gt) = match lr_dir {
            Some(dir) => {
                let lr_file = dir.join(format!("{}x{s}.png", self.name));
                let lr = to_channels(&imageio::read(&lr_file)?, in_ch);
                let (h, w) = (lr.height * s, lr.width * s);
                if self.hr.height < h || self.hr.width < w {
                    bail!(
                        "{}: {}×{} is smaller than x{s} its LR image {} ({}×{})",
                        self.file.display(),
                        self.hr.width,
                        self.hr.height,
                        lr_file.display(),
                        lr.width,
                        lr.height
                    );
                }
                (lr, to_channels(&self.hr.crop(0, 0, h, w), in_ch))
            }
            None => {
                let gt = to_channels(&mod_crop(self.hr, s), in_ch);
                if gt.height == 0 || gt.width == 0 {
                    bail!("{}: smaller than the scale factor {s}", self.file.display());
                }
                (imresize_down(&gt, s), gt)
            }
        };
        let out = self.run(&lr)?;
        self.row(&out, &imresize_up(&lr, s), &gt, Channels::Y, s)
    }

    /// KAIR colour denoising: RGB, border 0, baseline the noisy input.
    fn denoise(&self, sigma: f64, seed: u64) -> Result<ImageRow> {
        let gt = to_channels(self.hr, self.model.net.in_ch);
        let noisy = noisy_u8(&gt, sigma, seed);
        let out = self.run(&noisy)?;
        self.row(&out, &noisy, &gt, Channels::All, 0)
    }

    /// KAIR deblocking: 8-bit MATLAB luma as ground truth, border 0, baseline the JPEG.
    fn jpeg(&self, quality: u8) -> Result<ImageRow> {
        let gt = rgb_to_y_u8(self.hr);
        let lq = jpeg_roundtrip(&gt, quality).with_context(|| self.file.display().to_string())?;
        let out = self.run(&lq)?;
        self.row(&out, &lq, &gt, Channels::Y, 0)
    }
}

fn list_images(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("{}: cannot list the folder", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.with_context(|| format!("{}: cannot list the folder", dir.display()))?.path();
        let hidden = path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
        let is_image = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .is_some_and(|e| matches!(e.as_str(), "png" | "jpg" | "jpeg" | "bmp"));
        if is_image && !hidden && path.is_file() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

fn mean_row(rows: &[ImageRow]) -> MeanRow {
    let n = rows.len() as f64;
    let mean = |f: fn(&ImageRow) -> f64| rows.iter().map(f).sum::<f64>() / n;
    MeanRow {
        psnr: mean(|r| r.psnr),
        ssim: mean(|r| r.ssim),
        baseline_psnr: mean(|r| r.baseline_psnr),
        baseline_ssim: mean(|r| r.baseline_ssim),
    }
}

fn progress_bar(len: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template("{bar:30} {pos}/{len} images, {elapsed} elapsed, {eta} left  {msg}")
        .expect("a valid progress template");
    ProgressBar::new(len).with_style(style)
}

/// The report as text tables, one per condition.
pub fn format_table(report: &EvalReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} on {} ({}, {:?})",
        report.model.display(),
        report.data.display(),
        report.task.name(),
        report.precision
    );
    for note in &report.notes {
        let _ = writeln!(s, "note: {note}");
    }
    for c in &report.conditions {
        let width = c.images.iter().map(|r| r.name.chars().count()).max().unwrap_or(0).max(5);
        let heads = [
            "model PSNR".to_string(),
            "model SSIM".into(),
            format!("{} PSNR", c.baseline),
            format!("{} SSIM", c.baseline),
        ];
        let [w0, w1, w2, w3] = [0, 1, 2, 3].map(|i| heads[i].chars().count());
        let _ = writeln!(
            s,
            "\n{}: PSNR (dB) / SSIM on {}, crop border {}, {} image(s)",
            c.condition,
            c.channels.name(),
            c.crop_border,
            c.images.len()
        );
        let _ = writeln!(s, "{:width$}  {}  {}  {}  {}", "image", heads[0], heads[1], heads[2], heads[3]);
        let mut line = |name: &str, p: f64, q: f64, bp: f64, bq: f64| {
            let _ = writeln!(s, "{name:width$}  {p:>w0$.3}  {q:>w1$.4}  {bp:>w2$.3}  {bq:>w3$.4}");
        };
        for r in &c.images {
            line(&r.name, r.psnr, r.ssim, r.baseline_psnr, r.baseline_ssim);
        }
        let m = &c.mean;
        line("mean", m.psnr, m.ssim, m.baseline_psnr, m.baseline_ssim);
    }
    s
}

/// Prints [`format_table`] to stdout. A closed stdout (`| head`) is not an error worth a panic.
pub fn print_table(report: &EvalReport) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(format_table(report).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use bbcu_sim::synth::Topology;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh folder under the system temp dir, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            static COUNT: AtomicUsize = AtomicUsize::new(0);
            let n = COUNT.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("bbcu-eval-{tag}-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn textured(c: usize, h: usize, w: usize, seed: usize) -> Planes {
        let data = (0..c * h * w).map(|i| ((i * 37 + seed * 101 + (i / w) * 13) % 256) as u8 / 2 + 60).collect();
        Planes::from_vec(c, h, w, data)
    }

    fn write(dir: &Path, name: &str, p: &Planes) {
        imageio::write_png(&dir.join(name), p).unwrap();
    }

    fn sr_model() -> Model {
        Model::new(Topology::bbcu_m(8, 1, 2).build(1), None).unwrap()
    }

    fn assert_rows(report: &EvalReport, conditions: usize, images: usize) {
        assert_eq!(report.conditions.len(), conditions);
        for c in &report.conditions {
            assert_eq!(c.images.len(), images, "{}", c.condition);
            for r in &c.images {
                assert!(r.psnr.is_finite() && r.baseline_psnr.is_finite(), "{}: {r:?}", c.condition);
                assert!(r.ssim.is_finite() && r.ssim <= 1.0 && r.baseline_ssim.is_finite(), "{r:?}");
            }
            assert!(c.mean.psnr.is_finite());
        }
    }

    #[test]
    fn sr_on_a_plain_folder() {
        let dir = TempDir::new("sr");
        write(&dir.0, "b.png", &textured(3, 24, 20, 1));
        write(&dir.0, "a.png", &textured(3, 27, 25, 2)); // mod-cropped to 26×24
        write(&dir.0, "c.png", &textured(1, 24, 24, 3)); // grey, replicated for the RGB model
        std::fs::write(dir.0.join("notes.txt"), "not an image").unwrap();
        let model = sr_model();
        let mut args = EvalArgs::new("synthetic", &dir.0);
        args.precision = Precision::Fixed;
        let report = eval_model(&model, &args).unwrap();
        assert_rows(&report, 1, 3);
        let c = &report.conditions[0];
        assert_eq!((c.condition.as_str(), c.crop_border, c.channels), ("x2", 2, Channels::Y));
        let names: Vec<&str> = c.images.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(report.lr_dir.is_none());
        assert!(format_table(&report).contains("mean"));
        serde_json::to_string(&report).unwrap();

        args.limit = Some(2);
        assert_rows(&eval_model(&model, &args).unwrap(), 1, 2);
    }

    #[test]
    fn sr_on_a_basicsr_layout_uses_its_lr_images() {
        let dir = TempDir::new("basicsr");
        let (hr, lr) = (dir.0.join("HR"), dir.0.join("LR_bicubic/X2"));
        std::fs::create_dir_all(&hr).unwrap();
        std::fs::create_dir_all(&lr).unwrap();
        write(&hr, "img.png", &textured(3, 25, 26, 4));
        write(&lr, "imgx2.png", &textured(3, 12, 13, 5));
        let report = eval_model(&sr_model(), &EvalArgs::new("synthetic", &dir.0)).unwrap();
        assert_rows(&report, 1, 1);
        assert_eq!(report.lr_dir.as_deref(), Some(lr.as_path()));
        assert_eq!(report.hr_dir, hr);

        // An HR image without its LR partner is an error naming the expected file.
        write(&hr, "lonely.png", &textured(3, 24, 24, 6));
        let err = eval_model(&sr_model(), &EvalArgs::new("synthetic", &dir.0)).unwrap_err().to_string();
        assert!(err.contains("lonelyx2.png"), "{err}");
    }

    #[test]
    fn denoise_and_jpeg_run_every_condition() {
        let dir = TempDir::new("restore");
        write(&dir.0, "x.png", &textured(3, 16, 18, 7));
        write(&dir.0, "y.png", &textured(1, 14, 15, 8));
        let denoiser = Model::new(Topology::denoise(8, 4).build(2), None).unwrap();
        let report = eval_model(&denoiser, &EvalArgs::new("synthetic", &dir.0)).unwrap();
        assert_rows(&report, 3, 2);
        assert_eq!(report.conditions[1].condition, "sigma=25");
        assert_eq!(report.conditions[0].channels, Channels::All);

        let deblocker = Model::new(Topology::deblock(8, 4).build(3), None).unwrap();
        let mut args = EvalArgs::new("synthetic", &dir.0);
        args.quality = vec![10, 30];
        args.precision = Precision::Fixed;
        let report = eval_model(&deblocker, &args).unwrap();
        assert_rows(&report, 2, 2);
        assert_eq!(report.conditions[0].condition, "q=10");
    }

    #[test]
    fn bad_folders_and_mismatches_are_one_line_errors() {
        let model = sr_model();
        let empty = TempDir::new("empty");
        let err = eval_model(&model, &EvalArgs::new("m", &empty.0)).unwrap_err().to_string();
        assert!(err.contains(&*empty.0.to_string_lossy()) && !err.contains('\n'), "{err}");

        let missing = empty.0.join("nope");
        let err = eval_model(&model, &EvalArgs::new("m", &missing)).unwrap_err().to_string();
        assert!(err.contains("nope") && !err.contains('\n'), "{err}");

        let dir = TempDir::new("mismatch");
        write(&dir.0, "a.png", &textured(3, 24, 24, 9));
        let mut args = EvalArgs::new("m", &dir.0);
        args.task = Some(Task::Denoise);
        let err = eval_model(&model, &args).unwrap_err().to_string();
        assert!(err.contains("sr model") && !err.contains('\n'), "{err}");
        let mut args = EvalArgs::new("m", &dir.0);
        args.scale = Some(4);
        assert!(eval_model(&model, &args).unwrap_err().to_string().contains("x2"));

        std::fs::write(dir.0.join("broken.png"), b"not a png").unwrap();
        let err = format!("{:#}", eval_model(&model, &EvalArgs::new("m", &dir.0)).unwrap_err());
        assert!(err.contains("broken.png"), "{err}");
    }
}
