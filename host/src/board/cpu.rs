//! `CpuDevice`: a [`Device`] that computes strips with the CPU fixed-point engine, so that the
//! link, the protocol server and the host driver can be exercised end to end before the
//! engine's instruction-level model exists. It reports the design of the preset it stands in
//! for, but it is not that design: it keeps no cycle counts and holds any model whose
//! channels fit the preset.
//!
//! Its model image is the checkpoint itself with the two numbers the checkpoint lacks:
//! `"BBCUCKPT"`, format `u32` = 1, `k` as `f32`, `frac` as `u32`, then the `.pth` bytes (all
//! little-endian). The board decodes it exactly as the host does, so a model that arrives
//! intact computes exactly what `--board cpu --precision fixed` computes.

use crate::checkpoint;
use bbcu_arch::{Counters, DesignInfo, Device, DeviceError, HwConfig, StripJob};
use bbcu_sim::engine::FixedEngine;
use bbcu_sim::{FixedNetwork, Planes};
use std::path::Path;

pub const MAGIC: &[u8; 8] = b"BBCUCKPT";
const IMAGE_VERSION: u32 = 1;

/// The model image a [`CpuDevice`] loads.
pub fn image(checkpoint_bytes: &[u8], k: f32, frac: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(20 + checkpoint_bytes.len());
    v.extend_from_slice(MAGIC);
    v.extend_from_slice(&IMAGE_VERSION.to_le_bytes());
    v.extend_from_slice(&k.to_le_bytes());
    v.extend_from_slice(&frac.to_le_bytes());
    v.extend_from_slice(checkpoint_bytes);
    v
}

/// Decodes a [`CpuDevice`] model image to the network it computes.
pub fn decode(img: &[u8]) -> Result<FixedNetwork, String> {
    if img.len() < 20 || &img[..8] != MAGIC {
        return Err("not a CPU-device model image (bad magic)".into());
    }
    let word = |i: usize| u32::from_le_bytes(img[i..i + 4].try_into().unwrap());
    if word(8) != IMAGE_VERSION {
        return Err(format!("image format {} (this device reads {IMAGE_VERSION})", word(8)));
    }
    let k = f32::from_bits(word(12));
    let frac = word(16);
    if !(k > 0.0 && k.is_finite()) {
        return Err(format!("k = {k} is not a positive number"));
    }
    let ck = checkpoint::parse(std::io::Cursor::new(&img[20..]))?;
    let net =
        checkpoint::network_from_state_dict(Path::new("model image"), ck.tensors, k).map_err(|e| e.to_string())?;
    FixedNetwork::compile(&net, Some(frac)).map_err(|e| e.to_string())
}

pub struct CpuDevice {
    config: HwConfig,
    net: Option<FixedNetwork>,
    strips: u64,
}

impl CpuDevice {
    pub fn new(config: HwConfig) -> Self {
        CpuDevice { config, net: None, strips: 0 }
    }
}

impl Device for CpuDevice {
    fn info(&self) -> DesignInfo {
        DesignInfo::of(&self.config)
    }

    fn load(&mut self, image: &[u8]) -> Result<(), DeviceError> {
        self.net = None;
        let net = decode(image).map_err(DeviceError::BadImage)?;
        let ch = super::max_channels(&net);
        if ch > self.config.max_channels {
            return Err(DeviceError::BadImage(format!(
                "the model has {ch}-channel feature maps but the {} design holds at most {}",
                self.config.name, self.config.max_channels
            )));
        }
        self.net = Some(net);
        Ok(())
    }

    fn run_strip(&mut self, job: &StripJob, input: &[u8]) -> Result<Vec<u8>, DeviceError> {
        let net = self.net.as_ref().ok_or(DeviceError::NoModel)?;
        let bad = |m: String| Err(DeviceError::BadJob(m));
        if job.width == 0 || job.height == 0 || job.width > self.config.max_width {
            return bad(format!("width {} (1..={}) × height {}", job.width, self.config.max_width, job.height));
        }
        if job.keep_w == 0 || job.keep_x0 + job.keep_w > job.width {
            return bad(format!("keeps columns {}..{} of {}", job.keep_x0, job.keep_x0 + job.keep_w, job.width));
        }
        if input.len() != net.in_ch * job.width * job.height {
            return bad(format!("{} input bytes for {}×{}×{}", input.len(), net.in_ch, job.height, job.width));
        }
        let planes = Planes::from_vec(net.in_ch, job.height, job.width, input.to_vec());
        let out = FixedEngine::new(net).run(&planes);
        let r = super::scale(net);
        let kept = out.crop(0, job.keep_x0 * r, out.height, job.keep_w * r);
        self.strips += 1;
        Ok(kept.data)
    }

    fn counters(&self) -> Counters {
        Counters { strips: self.strips, ..Counters::default() }
    }

    fn reset(&mut self) {
        self.net = None;
        self.strips = 0;
    }
}
