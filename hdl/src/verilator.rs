//! The engine's emitted Verilog under Verilator, behind the `bbcu_arch::Device` interface: the
//! second of the three simulations of issue 4, fast enough for whole images.
//!
//! [`verilated`] maps a configuration to its engine instance (the same instances as
//! [`crate::device::simulated`]), emits that instance's Verilog ([`crate::generate`]), compiles it once with the
//! harness `hdl/verilator/engine_tb.cpp` into a cache folder keyed by a hash of everything
//! that goes into the binary, and runs it as a child process spoken to over pipes. The
//! harness replays [`crate::device::HdlDevice`] edge for edge, so both simulators must report
//! the same counters.

use crate::device::{counter_selects, counters_from, cycle_limit};
use crate::generate::{default_engine, instance, verilog_of, EngineKind, Instance};
use bbcu_arch::device::{chw_to_hwc, hwc_to_chw};
use bbcu_arch::image::ModelImage;
use bbcu_arch::program::Program;
use bbcu_arch::{Counters, DesignInfo, Device, DeviceError, HwConfig, StripJob};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

/// The C++ harness, compiled against every instance.
pub const HARNESS: &str = include_str!("../verilator/engine_tb.cpp");

/// Verilator options of the engine build. `--x-assign fast` lets Verilator pick the cheapest
/// value for an assigned X (rust-hdl's Verilog has none that matter); initial values stay
/// Verilator's default, which the harness sets to zero as in rust-hdl's simulation
/// (`--x-initial fast` would leave them unspecified). `-O3` and `-O2` for the C++ because
/// throughput (≥ 1 M cycles/s) is what this simulator is for. Warnings are the lint
/// test's business (`hdl/tests/engine_verilator.rs`), not the build's.
pub(crate) const BUILD_FLAGS: &[&str] = &[
    "--cc",
    "--exe",
    "--build",
    "-O3",
    "--x-assign",
    "fast",
    "--noassert",
    "-Wno-fatal",
    "-Wno-lint",
    "-Wno-style",
    "--top-module",
    "top",
    "-MAKEFLAGS",
    "OPT_FAST=-O2 OPT_SLOW=-O1 OPT_GLOBAL=-O2",
];

/// One engine instance's Verilog.
#[derive(Debug, Clone)]
pub struct EngineVerilog {
    /// `sim-test`, `sim-test-fw`, `ice40-up5k` or `ecp5-85k`: names the build folder.
    pub instance: &'static str,
    pub kind: EngineKind,
    pub text: String,
}

/// The Verilog of the engine instance built for `cfg` ([`crate::generate::verilog`]),
/// emitted once per process (about a second for the largest instance).
pub fn engine_verilog(cfg: &HwConfig) -> Result<EngineVerilog, String> {
    engine_verilog_of(cfg, default_engine(instance(cfg)?))
}

/// As [`engine_verilog`] with the sequencer named.
pub fn engine_verilog_of(cfg: &HwConfig, kind: EngineKind) -> Result<EngineVerilog, String> {
    static CACHE: Mutex<Vec<(Instance, EngineKind, String)>> = Mutex::new(Vec::new());
    crate::generate::check_kind(cfg, kind)?;
    let inst = instance(cfg)?;
    let name = match (inst, kind) {
        (Instance::Test, EngineKind::Hardware) => "sim-test",
        (Instance::Test, EngineKind::Firmware) => "sim-test-fw",
        (Instance::Up5k, _) => "ice40-up5k",
        (Instance::Ecp5, _) => "ecp5-85k",
    };
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, _, text)) = cache.iter().find(|(i, k, _)| (*i, *k) == (inst, kind)) {
        return Ok(EngineVerilog { instance: name, kind, text: text.clone() });
    }
    let text = verilog_of(cfg, kind)?;
    cache.push((inst, kind, text.clone()));
    Ok(EngineVerilog { instance: name, kind, text })
}

/// `verilator --version`, or the one-line error that says what to install.
pub fn verilator_version() -> Result<String, String> {
    version_of(Path::new("verilator"))
}

fn version_of(program: &Path) -> Result<String, String> {
    match Command::new(program).arg("--version").output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).trim().to_string()),
        _ => Err(format!(
            "{} not found: the Verilator simulation needs it (apt-get install verilator)",
            program.display()
        )),
    }
}

/// 64-bit FNV-1a: stable across Rust versions, unlike `DefaultHasher`, so a cached build
/// stays valid when the toolchain changes.
pub(crate) fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in p.iter().chain(&[0xff]) {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// Where compiled engines are kept: `$BBCU_VERILATOR_CACHE`, else `verilator/` in the cargo
/// target folder this executable runs from, else the system temporary folder.
pub fn cache_root() -> PathBuf {
    if let Some(d) = std::env::var_os("BBCU_VERILATOR_CACHE") {
        return PathBuf::from(d);
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(t) = exe.ancestors().find(|a| a.file_name().is_some_and(|n| n == "target")) {
            return t.join("verilator");
        }
    }
    std::env::temp_dir().join("bbcu-verilator")
}

/// The simulator binary for this Verilog: reused when its folder exists, otherwise built
/// (10–60 s on two cores) into a private folder and renamed into place, so a concurrent or
/// interrupted build never leaves a half-written binary under the final name.
pub fn build(v: &EngineVerilog) -> Result<PathBuf, String> {
    static BUILDING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
    build_cached(v.instance, &v.text, ("engine_tb.cpp", HARNESS), "vengine", v.instance)
}

/// The Verilator build of `verilog` with its C++ `harness` (file name, text) into the cache
/// folder `<tag>-<hash of Verilog, harness, Verilator version and flags>`, binary `bin_name`;
/// reused when present, otherwise built in a private folder and renamed into place (earlier
/// builds of the same tag are pruned). The caller serialises builds within its process.
pub(crate) fn build_cached(
    tag: &str,
    verilog: &str,
    harness: (&str, &str),
    bin_name: &str,
    what: &str,
) -> Result<PathBuf, String> {
    let version = verilator_version()?;
    let flags = BUILD_FLAGS.join(" ");
    let key = fnv1a(&[verilog.as_bytes(), harness.1.as_bytes(), version.as_bytes(), flags.as_bytes()]);
    let root = cache_root();
    let dir = root.join(format!("{tag}-{key:016x}"));
    let bin = dir.join(bin_name);
    if bin.is_file() {
        return Ok(bin);
    }
    let tmp = root.join(format!("{tag}-{key:016x}.build-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let write = |name: &str, text: &str| {
        let p = tmp.join(name);
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display())).map(|_| p)
    };
    let top = write("top.v", verilog)?;
    let tb = write(harness.0, harness.1)?;
    let jobs = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).to_string();
    let out = Command::new("verilator")
        .args(BUILD_FLAGS)
        .args(["-j", &jobs, "-o", bin_name, "--Mdir"])
        .arg(&tmp)
        .arg(&top)
        .arg(&tb)
        .output()
        .map_err(|e| format!("verilator: {e}"))?;
    if !out.status.success() {
        let log = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!("verilator build of {what} failed:\n{}", tail.join("\n")));
    }
    match std::fs::rename(&tmp, &dir) {
        // Builds of earlier Verilog of this tag are dead weight now (a process still
        // running one keeps its open binary).
        Ok(()) => prune(&root, tag, &dir),
        // Another process finished the same build first: use its binary.
        Err(_) if bin.is_file() => {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        Err(e) => return Err(format!("{} → {}: {e}", tmp.display(), dir.display())),
    }
    Ok(bin)
}

fn prune(root: &Path, instance: &str, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else { return };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        let ours = name
            .strip_prefix(instance)
            .and_then(|r| r.strip_prefix('-'))
            .is_some_and(|k| k.len() == 16 && k.bytes().all(|b| b.is_ascii_hexdigit()));
        if ours && p != keep {
            let _ = std::fs::remove_dir_all(&p);
        }
    }
}

/// A Verilator-simulated engine for `cfg`, one child process per device.
pub fn verilated(cfg: &HwConfig) -> Result<Box<dyn Device>, String> {
    Ok(Box::new(VerilatorDevice::new(cfg)?))
}

/// As [`verilated`] with the sequencer named.
pub fn verilated_of(cfg: &HwConfig, kind: EngineKind) -> Result<Box<dyn Device>, String> {
    let v = engine_verilog_of(cfg, kind)?;
    let bin = build(&v)?;
    Ok(Box::new(VerilatorDevice::spawn_of(cfg, &bin, kind)?))
}

/// The engine's Verilog under Verilator in a child process (see `hdl/verilator/engine_tb.cpp`
/// for the protocol).
pub struct VerilatorDevice {
    cfg: HwConfig,
    kind: EngineKind,
    child: Child,
    /// `None` once closed, which ends the child.
    tx: Option<BufWriter<ChildStdin>>,
    rx: BufReader<ChildStdout>,
    program: Option<Program>,
    counters: Counters,
    /// Rising edges simulated since creation, counted as [`crate::device::HdlDevice::cycles`].
    pub cycles: u64,
    /// Edges of the last strip, from its start pulse to its last output byte.
    pub strip_cycles: u64,
    /// Set once the child has failed; every later call reports it.
    broken: Option<String>,
}

impl VerilatorDevice {
    pub fn new(cfg: &HwConfig) -> Result<Self, String> {
        let v = engine_verilog(cfg)?;
        let bin = build(&v)?;
        Self::spawn_of(cfg, &bin, v.kind)
    }

    /// Runs an already built simulator binary (from [`build`]) of the engine `cfg`'s
    /// instance has by default.
    pub fn spawn(cfg: &HwConfig, bin: &Path) -> Result<Self, String> {
        Self::spawn_of(cfg, bin, default_engine(instance(cfg)?))
    }

    /// Runs an already built simulator binary of an engine with the `kind` sequencer.
    pub fn spawn_of(cfg: &HwConfig, bin: &Path, kind: EngineKind) -> Result<Self, String> {
        let mut child = Command::new(bin)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        let tx = Some(BufWriter::with_capacity(1 << 16, child.stdin.take().unwrap()));
        let rx = BufReader::with_capacity(1 << 16, child.stdout.take().unwrap());
        Ok(VerilatorDevice {
            cfg: cfg.clone(),
            kind,
            child,
            tx,
            rx,
            program: None,
            counters: Counters::default(),
            cycles: 0,
            strip_cycles: 0,
            broken: None,
        })
    }

    /// Turns an I/O failure into the child's own account of it, and retires the device.
    fn fail(&mut self, e: std::io::Error) -> DeviceError {
        let mut why = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            let _ = self.child.kill();
            let _ = err.read_to_string(&mut why);
        }
        let msg = format!("verilator engine process: {e}; {}", why.trim());
        self.broken = Some(msg.clone());
        DeviceError::Failed(msg)
    }

    fn check(&self) -> Result<(), DeviceError> {
        match &self.broken {
            Some(m) => Err(DeviceError::Failed(m.clone())),
            None => Ok(()),
        }
    }

    fn send(&mut self, msg: &[u8]) -> std::io::Result<()> {
        let tx = self.tx.as_mut().ok_or_else(|| std::io::Error::other("closed"))?;
        tx.write_all(msg)?;
        tx.flush()
    }

    fn read_u8(&mut self) -> std::io::Result<u8> {
        let mut b = [0u8; 1];
        self.rx.read_exact(&mut b)?;
        Ok(b[0])
    }
    fn read_u32(&mut self) -> std::io::Result<u32> {
        let mut b = [0u8; 4];
        self.rx.read_exact(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn read_u64(&mut self) -> std::io::Result<u64> {
        let mut b = [0u8; 8];
        self.rx.read_exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn load_words(&mut self, words: &[(u8, u32, u64)]) -> std::io::Result<u64> {
        let mut msg = Vec::with_capacity(5 + 13 * words.len());
        msg.push(b'L');
        msg.extend_from_slice(&(words.len() as u32).to_le_bytes());
        for &(mem, addr, data) in words {
            msg.push(mem);
            msg.extend_from_slice(&addr.to_le_bytes());
            msg.extend_from_slice(&data.to_le_bytes());
        }
        self.send(&msg)?;
        expect(self.read_u8()?, b'k')?;
        self.read_u64()
    }

    /// Sends one strip; answers `(status, strip cycles, total cycles, input bytes taken,
    /// output bytes, counter values)`.
    fn strip(&mut self, job: &StripJob, hwc: &[u8], want: usize, limit: u64, sel: &[u8]) -> std::io::Result<Strip> {
        let mut msg = Vec::with_capacity(41 + sel.len() + hwc.len());
        msg.push(b'S');
        for v in [job.width, job.height, job.keep_x0, job.keep_w, hwc.len(), want] {
            msg.extend_from_slice(&(v as u32).to_le_bytes());
        }
        msg.extend_from_slice(&limit.to_le_bytes());
        msg.extend_from_slice(&(sel.len() as u32).to_le_bytes());
        msg.extend_from_slice(sel);
        msg.extend_from_slice(hwc);
        self.send(&msg)?;
        expect(self.read_u8()?, b's')?;
        let status = self.read_u8()?;
        let cycles = self.read_u64()?;
        let total = self.read_u64()?;
        let taken = self.read_u32()? as usize;
        let n = self.read_u32()? as usize;
        let mut out = vec![0u8; n];
        self.rx.read_exact(&mut out)?;
        let mut cnt = Vec::with_capacity(sel.len());
        for _ in sel {
            cnt.push(self.read_u32()? as u64);
        }
        Ok(Strip { status, cycles, total, taken, out, cnt })
    }
}

struct Strip {
    status: u8,
    cycles: u64,
    total: u64,
    taken: usize,
    out: Vec<u8>,
    cnt: Vec<u64>,
}

fn expect(got: u8, want: u8) -> std::io::Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("answer {got:#x}, expected {want:#x}")))
    }
}

impl Drop for VerilatorDevice {
    fn drop(&mut self) {
        // End of input ends the harness; a broken one is killed.
        let polite = self.broken.is_none() && self.send(b"Q").is_ok();
        self.tx = None;
        if !polite {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Device for VerilatorDevice {
    fn info(&self) -> DesignInfo {
        DesignInfo::of(&self.cfg)
    }

    fn load(&mut self, image: &[u8]) -> Result<(), DeviceError> {
        self.check()?;
        self.program = None;
        let img = ModelImage::from_bytes(image, &self.cfg).map_err(DeviceError::BadImage)?;
        let words: Vec<(u8, u32, u64)> = img
            .sections
            .iter()
            .flat_map(|s| s.words.iter().enumerate().map(move |(i, w)| (s.mem as u8, (s.addr + i) as u32, *w)))
            .collect();
        self.cycles = self.load_words(&words).map_err(|e| self.fail(e))?;
        self.program = Some(img.program(self.cfg.memory.program_words).map_err(DeviceError::BadImage)?);
        Ok(())
    }

    fn run_strip(&mut self, job: &StripJob, input: &[u8]) -> Result<Vec<u8>, DeviceError> {
        self.check()?;
        let p = self.program.clone().ok_or(DeviceError::NoModel)?;
        let h = &p.header;
        job.check(h, input.len())?;
        let (hh, r) = (job.height, h.scale);
        let hwc = chw_to_hwc(input, h.in_ch, hh, job.width);
        let (oh, ow, oc) = (hh * r, job.keep_w * r, h.out_ch);
        let want = oh * ow * oc;
        let limit = cycle_limit(&p, want, hwc.len());
        let sel = counter_selects(&self.cfg, p.ops.len());
        let s = self.strip(job, &hwc, want, limit, &sel).map_err(|e| self.fail(e))?;
        self.cycles = s.total;
        self.strip_cycles = s.cycles;
        match s.status {
            0 => {}
            1 => return Err(DeviceError::Failed("the engine found no valid program".into())),
            _ => {
                return Err(DeviceError::Failed(format!(
                    "no end after {limit} cycles ({} of {} input bytes taken, {} of {want} output bytes)",
                    s.taken,
                    hwc.len(),
                    s.out.len()
                )))
            }
        }
        let chw = hwc_to_chw(&s.out, oc, oh, ow);
        self.counters = counters_from(&s.cnt, self.counters.strips + 1, self.kind);
        Ok(chw)
    }

    fn counters(&self) -> Counters {
        self.counters.clone()
    }

    fn reset(&mut self) {
        self.program = None;
        self.counters = Counters::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_verilator_is_one_line_naming_the_package() {
        let e = version_of(Path::new("/nonexistent/verilator")).unwrap_err();
        assert!(!e.contains('\n') && e.contains("apt-get install verilator"), "{e}");
    }

    #[test]
    fn unknown_shapes_are_refused_before_any_build() {
        let mut cfg = crate::device::test_config();
        cfg.pes += 1;
        assert!(verilated(&cfg).is_err());
    }

    #[test]
    fn cache_key_changes_with_any_part() {
        let a = fnv1a(&[b"module top(", b"x"]);
        assert_ne!(a, fnv1a(&[b"module top(x", b""]));
        assert_ne!(a, fnv1a(&[b"module top(", b"y"]));
        assert_eq!(a, fnv1a(&[b"module top(", b"x"]));
    }
}
