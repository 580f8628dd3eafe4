//! `bbcu-host`: imports BBCU checkpoints, runs images through the CPU engine, evaluates
//! quality, and (in later layers) drives the simulated accelerator and boards.

pub mod accel;
pub mod bench;
pub mod board;
pub mod build;
pub mod checkpoint;
pub mod imageio;
pub mod info;
pub mod link;
pub mod model;
pub mod protocol;

/// The model `bbcu-host run` uses when `--model` is not given.
pub const DEFAULT_MODEL: &str = "models/sr_x2.pth";
/// The image the README's first command restores.
pub const DEFAULT_IMAGE: &str = "examples/sample.png";

/// k of a checkpoint: from a `<model>.json` card beside it (`{"k": 65}`) when there is one,
/// else the released value 130.
pub fn default_k(model: &std::path::Path) -> anyhow::Result<f32> {
    let card = model.with_extension("json");
    if !card.exists() {
        return Ok(130.0);
    }
    let text = std::fs::read_to_string(&card).map_err(|e| anyhow::anyhow!("{}: {e}", card.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: not valid JSON ({e})", card.display()))?;
    match v.get("k").and_then(|k| k.as_f64()) {
        Some(k) if k > 0.0 && k.is_finite() => Ok(k as f32),
        _ => anyhow::bail!("{}: no positive number \"k\"", card.display()),
    }
}
pub mod degrade;
pub mod eval;
pub mod explore;
pub mod metrics;
pub mod profile;
