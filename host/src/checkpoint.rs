//! Reads official BBCU checkpoints (`torch.save` zip files) into a [`Network`].
//!
//! The pickle is decoded by candle's pickle reader, which never executes code; tensor bytes
//! are read here with every size checked against the archive before anything is allocated,
//! so a hostile or truncated file gets an error, not a crash. The architecture is inferred
//! from key names and shapes (`bbcu-reference.md` §5).

use bbcu_sim::network::{Act, Arch, BinaryConv, Conv, Global, Layer, Network};
use candle_core::pickle::{Object, Stack};
use candle_core::DType;
use ndarray::{Array1, Array4};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;
use thiserror::Error;

/// Largest checkpoint we agree to read (the released ones are about 6 MB).
pub const MAX_FILE_BYTES: u64 = 1 << 30;

#[derive(Debug, Error)]
#[error("{file}: {msg}")]
pub struct CheckpointError {
    pub file: String,
    pub msg: String,
}

/// A flat state_dict: name → (shape, f32 values).
pub type StateDict = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

/// Which container the state_dict came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// BasicSR: `{'params': state_dict}` (or `params_ema`).
    BasicSr(&'static str),
    /// KAIR and plain `torch.save(model.state_dict())`.
    Bare,
}

pub struct Checkpoint {
    pub container: Container,
    pub tensors: StateDict,
}

fn err(path: &Path, msg: impl Into<String>) -> CheckpointError {
    CheckpointError { file: path.display().to_string(), msg: msg.into() }
}

/// Reads every tensor of a checkpoint file.
pub fn read_state_dict(path: &Path) -> Result<Checkpoint, CheckpointError> {
    let meta = std::fs::metadata(path).map_err(|e| err(path, io_msg(&e)))?;
    if meta.is_dir() {
        return Err(err(path, "is a directory, not a checkpoint file"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(err(path, format!("is {} bytes, larger than any BBCU checkpoint", meta.len())));
    }
    let file = File::open(path).map_err(|e| err(path, io_msg(&e)))?;
    parse(BufReader::new(file)).map_err(|m| err(path, m))
}

/// Parses a checkpoint from any seekable reader (the fuzz target's entry point).
pub fn parse<R: Read + Seek>(reader: R) -> Result<Checkpoint, String> {
    // candle's reader is written without panics, but a checkpoint is untrusted input: keep a
    // last line of defence so that a reader bug becomes an error message, not a crash.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_zip(reader))) {
        Ok(r) => r,
        Err(_) => Err("malformed checkpoint (the pickle reader gave up)".into()),
    }
}

fn io_msg(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// [`parse`] without the panic guard, so that the fuzzer sees any panic.
#[doc(hidden)]
pub fn read_zip<R: Read + Seek>(reader: R) -> Result<Checkpoint, String> {
    let mut zip = zip::ZipArchive::new(reader).map_err(|e| {
        format!("not a PyTorch zip checkpoint ({e}); legacy (pre-1.6) torch.save files are not supported")
    })?;
    let pkl = (0..zip.len())
        .filter_map(|i| zip.name_for_index(i)?.ok().map(|n| n.into_owned()))
        .find(|n| n.ends_with("data.pkl") && n.matches('/').count() == 1)
        .ok_or("no data.pkl in the archive: not a torch.save file")?;
    let dir = pkl.trim_end_matches(".pkl").to_owned();
    let mut bytes = Vec::new();
    zip.by_name(&pkl)
        .map_err(|e| format!("cannot open {pkl}: {e}"))?
        .take(64 << 20)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {pkl}: {e}"))?;
    let mut stack = Stack::empty();
    stack.read_loop(&mut std::io::Cursor::new(bytes)).map_err(|e| format!("malformed pickle: {e}"))?;
    let obj = stack.finalize().map_err(|e| format!("malformed pickle: {e}"))?;
    let (container, entries) = state_dict_entries(obj)?;
    let mut tensors = StateDict::new();
    for (k, v) in entries {
        let name = match k {
            Object::Unicode(s) => s,
            _ => return Err("a state_dict key is not a string".into()),
        };
        // torch's state_dict carries its version info as an extra `_metadata` entry.
        if name == "_metadata" {
            continue;
        }
        let info = v
            .into_tensor_info(Object::Unicode(name.clone()), Path::new(&dir))
            .map_err(|e| format!("{name}: not a tensor ({e})"))?
            .ok_or_else(|| format!("{name}: not a tensor"))?;
        let values = read_tensor(&mut zip, &info).map_err(|m| format!("{name}: {m}"))?;
        let name = name.strip_prefix("module.").unwrap_or(&name).to_owned();
        tensors.insert(name, (info.layout.dims().to_vec(), values));
    }
    if tensors.is_empty() {
        return Err("the state_dict holds no tensors".into());
    }
    Ok(Checkpoint { container, tensors })
}

/// Unwraps `{'params': sd}`, an OrderedDict (pickled as a reduce of its class), or a dict.
fn state_dict_entries(obj: Object) -> Result<(Container, Vec<(Object, Object)>), String> {
    let dict = as_dict(obj).ok_or("the checkpoint is not a dict (expected a state_dict or {'params': state_dict})")?;
    for key in ["params", "params_ema", "state_dict"] {
        if let Some((_, v)) = dict.iter().find(|(k, _)| matches!(k, Object::Unicode(s) if s == key)) {
            let inner = as_dict(v.clone()).ok_or_else(|| format!("'{key}' is not a state_dict"))?;
            return Ok((Container::BasicSr(key), inner));
        }
    }
    Ok((Container::Bare, dict))
}

fn as_dict(obj: Object) -> Option<Vec<(Object, Object)>> {
    match obj {
        Object::Dict(kv) => Some(kv),
        // collections.OrderedDict is pickled as REDUCE(OrderedDict, ()) then BUILD/SETITEMS.
        Object::Build { callable, args } => match (*callable, *args) {
            (Object::Reduce { .. }, Object::Dict(kv)) => Some(kv),
            _ => None,
        },
        Object::Reduce { callable, args } => match *args {
            Object::Tuple(t) if t.is_empty() => as_dict(*callable),
            _ => None,
        },
        _ => None,
    }
}

fn read_tensor<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    info: &candle_core::pickle::TensorInfo,
) -> Result<Vec<f32>, String> {
    let dims = info.layout.dims();
    let strides = info.layout.stride();
    let esize = match info.dtype {
        DType::F32 => 4,
        DType::F16 | DType::BF16 => 2,
        DType::F64 => 8,
        other => return Err(format!("unsupported dtype {other:?} (expected a float tensor)")),
    };
    let n: usize = dims.iter().try_fold(1usize, |a, d| a.checked_mul(*d)).ok_or("shape overflows")?;
    if n > 1 << 28 {
        return Err(format!("shape {dims:?} is implausibly large"));
    }
    let start = info.layout.start_offset() / esize;
    // The furthest element the view touches must lie inside the storage.
    let last = if n == 0 {
        start
    } else {
        dims.iter()
            .zip(strides)
            .try_fold(start, |a, (d, s)| a.checked_add((d - 1).checked_mul(*s)?))
            .ok_or("strides overflow")?
    };
    let mut entry = zip.by_name(&info.path).map_err(|_| format!("storage {} missing from the archive", info.path))?;
    let avail = entry.size() as usize / esize;
    if n > 0 && last >= avail {
        return Err(format!("storage {} is truncated: needs {} elements, has {avail}", info.path, last + 1));
    }
    let mut raw = Vec::with_capacity(avail.min(last + 1) * esize);
    (&mut entry)
        .take(((last + 1) * esize) as u64)
        .read_to_end(&mut raw)
        .map_err(|e| format!("cannot read storage {}: {e}", info.path))?;
    if raw.len() < (last + 1) * esize && n > 0 {
        return Err(format!("storage {} is truncated", info.path));
    }
    let elem = |i: usize| -> f32 {
        let b = &raw[i * esize..(i + 1) * esize];
        match info.dtype {
            DType::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            DType::F64 => f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32,
            DType::F16 => half_to_f32(u16::from_le_bytes([b[0], b[1]])),
            _ => f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16),
        }
    };
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; dims.len()];
    for _ in 0..n {
        let off = start + idx.iter().zip(strides).map(|(i, s)| i * s).sum::<usize>();
        out.push(elem(off));
        for d in (0..dims.len()).rev() {
            idx[d] += 1;
            if idx[d] < dims[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(out)
}

fn half_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    let bits = match (exp, man) {
        (0, 0) => sign,
        (0, m) => return f32::from_bits(sign) + (m as f32) * 2f32.powi(-24) * if sign != 0 { -1.0 } else { 1.0 },
        (31, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 112) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

// ------------------------------------------------------------------------------------------
// Architecture inference
// ------------------------------------------------------------------------------------------

/// Takes tensors out of a state_dict by name, checking shapes; leftovers are an error.
struct Taker<'a> {
    path: &'a Path,
    sd: StateDict,
}

impl Taker<'_> {
    fn has(&self, k: &str) -> bool {
        self.sd.contains_key(k)
    }
    fn shape(&self, k: &str) -> Option<Vec<usize>> {
        self.sd.get(k).map(|(s, _)| s.clone())
    }
    fn take(&mut self, k: &str, shape: &[usize]) -> Result<Vec<f32>, CheckpointError> {
        let (s, v) = self.sd.remove(k).ok_or_else(|| err(self.path, format!("missing tensor {k}")))?;
        if s != shape {
            return Err(err(self.path, format!("{k} has shape {s:?}, expected {shape:?}")));
        }
        Ok(v)
    }
    fn vec(&mut self, k: &str, n: usize) -> Result<Array1<f32>, CheckpointError> {
        // Per-channel vectors are stored as [1, C, 1, 1] (LearnableBias) or [C].
        let s = self.shape(k).ok_or_else(|| err(self.path, format!("missing tensor {k}")))?;
        let shape = if s.len() == 4 { vec![1, n, 1, 1] } else { vec![n] };
        Ok(Array1::from(self.take(k, &shape)?))
    }
    fn w4(&mut self, k: &str, co: usize, ci: usize) -> Result<Array4<f32>, CheckpointError> {
        let v = self.take(k, &[co, ci, 3, 3])?;
        Ok(Array4::from_shape_vec((co, ci, 3, 3), v).expect("shape checked"))
    }
    fn conv(&mut self, prefix: &str, ci: usize, co: usize, bias: bool) -> Result<Conv, CheckpointError> {
        let weight = self.w4(&format!("{prefix}.weight"), co, ci)?;
        let bias = if bias { Some(self.vec(&format!("{prefix}.bias"), co)?) } else { None };
        Ok(Conv { name: prefix.to_owned(), weight, bias })
    }
    /// Output channels of a 3×3 conv weight, checking its input channels and kernel.
    fn out_channels(&self, k: &str, ci: usize) -> Result<usize, CheckpointError> {
        match self.shape(k) {
            Some(s) if s.len() == 4 && s[1] == ci && s[2] == 3 && s[3] == 3 => Ok(s[0]),
            Some(s) => Err(err(self.path, format!("{k} has shape {s:?}, expected [*, {ci}, 3, 3]"))),
            None => Err(err(self.path, format!("missing tensor {k}"))),
        }
    }
    fn binary(&mut self, prefix: &str, c: usize, r: usize) -> Result<BinaryConv, CheckpointError> {
        let co = c * r * r;
        let bias_key = format!("{prefix}.binary_conv.bias");
        let bias = if self.has(&bias_key) { Some(self.vec(&bias_key, co)?) } else { None };
        Ok(BinaryConv {
            name: prefix.to_owned(),
            move0: self.vec(&format!("{prefix}.move0.bias"), c)?,
            weight: self.w4(&format!("{prefix}.binary_conv.weight"), co, c)?,
            bias,
            pr_bias0: self.vec(&format!("{prefix}.relu.pr_bias0.bias"), co)?,
            pr_prelu: self.vec(&format!("{prefix}.relu.pr_prelu.weight"), co)?,
            pr_bias1: self.vec(&format!("{prefix}.relu.pr_bias1.bias"), co)?,
            upscale: r,
        })
    }
    fn finish(self) -> Result<(), CheckpointError> {
        match self.sd.keys().next() {
            Some(k) => Err(err(self.path, format!("unexpected tensor {k} (not part of any known BBCU topology)"))),
            None => Ok(()),
        }
    }
}

/// Count of consecutive indices `i` for which `key(i)` exists, starting at `from`.
fn run_length(t: &Taker, from: usize, key: impl Fn(usize) -> String) -> usize {
    (from..).take_while(|i| t.has(&key(*i))).count()
}

/// Builds the network a state_dict describes; `k` is not stored in checkpoints.
pub fn network_from_state_dict(path: &Path, sd: StateDict, k: f32) -> Result<Network, CheckpointError> {
    let mut t = Taker { path, sd };
    let net = if t.has("conv_first.weight") {
        sr_network(&mut t, k)?
    } else if t.has("model.0.weight") {
        dncnn_network(&mut t, k)?
    } else {
        return Err(err(
            path,
            "unsupported model: neither conv_first.weight (BBCU SR) nor model.0.weight (binary DnCNN) is present",
        ));
    };
    t.finish()?;
    net.validate().map_err(|m| err(path, m))?;
    Ok(net)
}

fn sr_network(t: &mut Taker, k: f32) -> Result<Network, CheckpointError> {
    let path = t.path;
    let first = t.shape("conv_first.weight").unwrap_or_default();
    if first.len() != 4 {
        return Err(err(path, format!("conv_first.weight has shape {first:?}, expected [C, 3, 3, 3]")));
    }
    let (f, cin) = (first[0], first[1]);
    let mut layers = vec![Layer::Conv { conv: t.conv("conv_first", cin, f, true)?, act: Act::Leaky(0.1) }];
    let blocks = run_length(t, 0, |i| format!("body.{i}.body.0.binary_conv.weight"));
    for i in 0..blocks {
        for j in 0..2 {
            layers.push(Layer::Binary(t.binary(&format!("body.{i}.body.{j}"), f, 1)?));
        }
    }
    let (arch, scale) = if t.has("upconv1.binary_conv.weight") {
        let co = t.out_channels("upconv1.binary_conv.weight", f)?;
        let r = if t.has("upconv2.binary_conv.weight") { 2 } else { upscale_of(path, co, f)? };
        let scale = if t.has("upconv2.binary_conv.weight") { 4 } else { r };
        layers.push(Layer::Binary(t.binary("upconv1", f, r)?));
        if scale == 4 {
            layers.push(Layer::Binary(t.binary("upconv2", f, 2)?));
        }
        layers.push(Layer::Binary(t.binary("conv_hr", f, 1)?));
        layers.push(Layer::Leaky(0.1));
        (Arch::BbcuM, scale)
    } else if t.has("upconv1.weight") {
        let co = t.out_channels("upconv1.weight", f)?;
        let two = t.has("upconv2.weight");
        let r = if two { 2 } else { upscale_of(path, co, f)? };
        let names: &[&str] = if two { &["upconv1", "upconv2"] } else { &["upconv1"] };
        for name in names {
            // PyTorch applies LeakyReLU after the pixel shuffle; elementwise, so it commutes.
            layers.push(Layer::Conv { conv: t.conv(name, f, f * r * r, true)?, act: Act::Leaky(0.1) });
            layers.push(Layer::PixelShuffle(r));
        }
        layers.push(Layer::Conv { conv: t.conv("conv_hr", f, f, true)?, act: Act::Leaky(0.1) });
        (Arch::BbcuL, if two { 4 } else { r })
    } else {
        return Err(err(path, "unsupported SR model: no upconv1 (neither BBCU-M binary_conv nor BBCU-L conv)"));
    };
    let cout = t.out_channels("conv_last.weight", f)?;
    let tail = t.conv("conv_last", f, cout, true)?;
    Ok(Network { arch, in_ch: cin, out_ch: cout, num_feat: f, k, layers, tail, global: Global::Bilinear(scale) })
}

fn upscale_of(path: &Path, co: usize, f: usize) -> Result<usize, CheckpointError> {
    match co / f {
        4 if co == 4 * f => Ok(2),
        9 if co == 9 * f => Ok(3),
        _ => Err(err(
            path,
            format!(
                "unsupported upsampler: upconv1 has {co} outputs for {f} features (expected {} for ×2 or {} for ×3)",
                4 * f,
                9 * f
            ),
        )),
    }
}

fn dncnn_network(t: &mut Taker, k: f32) -> Result<Network, CheckpointError> {
    let path = t.path;
    let head = t.shape("model.0.weight").unwrap_or_default();
    if head.len() != 4 {
        return Err(err(path, format!("model.0.weight has shape {head:?}, expected [C, in, 3, 3]")));
    }
    let (f, cin) = (head[0], head[1]);
    let bias = t.has("model.0.bias");
    let mut layers = vec![Layer::Conv { conv: t.conv("model.0", cin, f, bias)?, act: Act::Leaky(0.0) }];
    let n_bin = run_length(t, 2, |i| format!("model.{i}.binary_conv.weight"));
    for i in 2..2 + n_bin {
        layers.push(Layer::Binary(t.binary(&format!("model.{i}"), f, 1)?));
    }
    let tail_name = format!("model.{}", 2 + n_bin);
    let cout = t.out_channels(&format!("{tail_name}.weight"), f)?;
    let tail = t.conv(&tail_name, f, cout, bias)?;
    Ok(Network {
        arch: Arch::DnCnn,
        in_ch: cin,
        out_ch: cout,
        num_feat: f,
        k,
        layers,
        tail,
        global: Global::SubtractInput,
    })
}

/// Reads a checkpoint file and builds its network.
pub fn load(path: &Path, k: f32) -> Result<Network, CheckpointError> {
    let ck = read_state_dict(path)?;
    network_from_state_dict(path, ck.tensors, k)
}
