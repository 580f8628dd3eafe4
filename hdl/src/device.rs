//! The engine under rust-hdl's own simulator, behind the `bbcu_arch::Device` interface: the
//! model image goes in through the load port word by word, pixels stream in and out through
//! the ready/valid ports, and the counters are read back through `cnt_sel`.

use crate::engine::{Engine16, Engine32, Engine64};
use crate::enginefw::EngineFw16;
use crate::generate::EngineKind;
use crate::sim::{settle, start, tick, Clocked};
use bbcu_arch::device::{chw_to_hwc, hwc_to_chw};
use bbcu_arch::image::ModelImage;
use bbcu_arch::program::Program;
use bbcu_arch::{Counters, DesignInfo, Device, DeviceError, HwConfig, StripJob};

/// What the driver needs of an engine instance.
pub trait EnginePorts: Clocked + Default + Send {
    fn load_word(&mut self, mem: u8, addr: u32, data: u64, we: bool);
    fn set_strip(&mut self, start: bool, job: &StripJob);
    fn set_streams(&mut self, in_data: u8, in_valid: bool, out_ready: bool);
    /// `(in_ready, out_valid, out_data, done, error)` after `settle`.
    fn status(&self) -> (bool, bool, u8, bool, bool);
    fn set_cnt_sel(&mut self, sel: u8);
    fn cnt_data(&self) -> u32;
    /// Whose sequencer (the counters differ: [`counters_from`]).
    const KIND: EngineKind = EngineKind::Hardware;
}

macro_rules! ports {
    ($t:ident $(, $fw:ident)?) => {
        impl<
                const P: usize,
                const M: usize,
                const FA: usize,
                const XA: usize,
                const BA: usize,
                const WA: usize,
                const FWA: usize,
                const CA: usize,
                const PA: usize,
                const OA: usize,
            > EnginePorts for $t<P, M, FA, XA, BA, WA, FWA, CA, PA, OA>
        {
            fn load_word(&mut self, mem: u8, addr: u32, data: u64, we: bool) {
                self.load_we.next = we;
                self.load_mem.next = (mem as u64).into();
                self.load_addr.next = (addr as u64).into();
                self.load_data.next = data.into();
            }
            fn set_strip(&mut self, start: bool, job: &StripJob) {
                self.start.next = start;
                self.strip_w.next = (job.width as u64).into();
                self.strip_h.next = (job.height as u64).into();
                self.keep_x0.next = (job.keep_x0 as u64).into();
                self.keep_w.next = (job.keep_w as u64).into();
            }
            fn set_streams(&mut self, in_data: u8, in_valid: bool, out_ready: bool) {
                self.in_data.next = (in_data as u64).into();
                self.in_valid.next = in_valid;
                self.out_ready.next = out_ready;
            }
            fn status(&self) -> (bool, bool, u8, bool, bool) {
                (
                    self.in_ready.val(),
                    self.out_valid.val(),
                    self.out_data.val().index() as u8,
                    self.done.val(),
                    self.error.val(),
                )
            }
            fn set_cnt_sel(&mut self, sel: u8) {
                self.cnt_sel.next = (sel as u64).into();
            }
            fn cnt_data(&self) -> u32 {
                self.cnt_data.val().index() as u32
            }
            $(const $fw: EngineKind = EngineKind::Firmware;)?
        }
    };
}
ports!(Engine16);
ports!(Engine32);
ports!(Engine64);
ports!(EngineFw16, KIND);

/// The configuration the simulation tests use (small memories, every feature exercised).
pub fn test_config() -> HwConfig {
    HwConfig::parse(include_str!("../sim-test.toml"), "hdl/sim-test.toml").expect("sim-test preset")
}

/// Cycles after which a strip is given up as hung: far above what the cycle model gives for
/// any strip (about 20 cycles per input byte and op), so only a stuck engine reaches it.
/// Shared by the simulators so that they give up at the same point.
pub fn cycle_limit(p: &Program, out_bytes: usize, in_bytes: usize) -> u64 {
    1_000_000 + 400 * (out_bytes as u64 + in_bytes as u64) * (p.ops.len() as u64 + 8) * 64
}

/// The `cnt_sel` values of a strip's counters, in the order [`counters_from`] reads them:
/// total, stall, cycles of every op, busy of every op (the per-op ones only on an engine
/// that keeps them, `HwConfig::op_counters`).
pub fn counter_selects(cfg: &HwConfig, n_ops: usize) -> Vec<u8> {
    let n = if cfg.op_counters() { n_ops } else { 0 };
    [0, 1].into_iter().chain((0..n).map(|l| 2 + 2 * l as u8)).chain((0..n).map(|l| 3 + 2 * l as u8)).collect()
}

/// Counters from the values read at [`counter_selects`]. An engine whose sequencer is
/// firmware gives each op the row loop's cycles for its rows; the rest of the strip (input
/// rows, the firmware's own time) is one more entry, as `bbcu_arch::seqfw::SeqBoard` has it.
pub fn counters_from(cnt: &[u64], strips: u64, kind: EngineKind) -> Counters {
    let n = (cnt.len() - 2) / 2;
    if n == 0 {
        // Totals alone (`counter_selects` on an engine without per-op counters).
        return Counters { total_cycles: cnt[0], stall_cycles: cnt[1], strips, ..Counters::default() };
    }
    let mut k = Counters {
        total_cycles: cnt[0],
        stall_cycles: cnt[1],
        layer_cycles: cnt[2..2 + n].to_vec(),
        layer_busy: cnt[2 + n..].to_vec(),
        strips,
    };
    if kind == EngineKind::Firmware {
        k.layer_cycles.push(k.total_cycles - k.layer_cycles.iter().sum::<u64>());
        k.layer_busy.push(0);
    }
    k
}

/// A simulated engine of one configuration.
pub struct HdlDevice<E: EnginePorts> {
    cfg: HwConfig,
    eng: Box<E>,
    program: Option<Program>,
    counters: Counters,
    /// Rising edges simulated since creation.
    pub cycles: u64,
}

/// An engine type from its parameters (`bbcu_arch::config::EngineShape::params`).
macro_rules! engine_of {
    ($e:ident, $s:ident) => {
        $e<{ $s[0] }, { $s[1] }, { $s[2] }, { $s[3] }, { $s[4] }, { $s[5] }, { $s[6] }, { $s[7] }, { $s[8] }, { $s[9] }>
    };
}

/// The parameters of the instances this build simulates; a test checks each against the
/// shape of the configuration it stands for. Other shapes: `hdl/shapes`.
pub const TEST_SHAPE: [usize; 10] = [4, 2, 16, 13, 12, 12, 12, 10, 10, 12];
pub const UP5K_SHAPE: [usize; 10] = [1, 1, 15, 14, 9, 12, 8, 8, 9, 9];
pub const ECP5_SHAPE: [usize; 10] = [8, 8, 17, 13, 12, 10, 9, 10, 10, 11];
pub type TestEngine = engine_of!(Engine16, TEST_SHAPE);
/// The UP5K's engine has its sequencer as firmware (`crate::generate::default_engine`).
pub type Up5kEngine = engine_of!(EngineFw16, UP5K_SHAPE);
pub type Ecp5Engine = engine_of!(Engine64, ECP5_SHAPE);
pub type TestEngineFw = engine_of!(EngineFw16, TEST_SHAPE);
pub type Up5kEngineFw = engine_of!(EngineFw16, UP5K_SHAPE);

/// The engine instances this build simulates, by the configuration they were generated from.
pub fn simulated(cfg: &HwConfig) -> Result<Box<dyn Device>, String> {
    simulated_of(cfg, crate::generate::default_engine(crate::generate::instance(cfg)?))
}

/// As [`simulated`] with the sequencer named.
pub fn simulated_of(cfg: &HwConfig, kind: EngineKind) -> Result<Box<dyn Device>, String> {
    use crate::generate::{check_kind, instance, Instance};
    check_kind(cfg, kind)?;
    Ok(match (instance(cfg)?, kind) {
        (Instance::Test, EngineKind::Hardware) => Box::new(HdlDevice::<TestEngine>::new(cfg.clone())),
        (Instance::Test, EngineKind::Firmware) => Box::new(HdlDevice::<TestEngineFw>::new(cfg.clone())),
        (Instance::Up5k, EngineKind::Firmware) => Box::new(HdlDevice::<Up5kEngine>::new(cfg.clone())),
        (Instance::Ecp5, EngineKind::Hardware) => Box::new(HdlDevice::<Ecp5Engine>::new(cfg.clone())),
        (_, kind) => return Err(format!("{}: this build has no engine with the {kind:?} sequencer", cfg.name)),
    })
}

impl<E: EnginePorts> HdlDevice<E> {
    pub fn new(cfg: HwConfig) -> Self {
        let mut eng = Box::<E>::default();
        start(eng.as_mut());
        HdlDevice { cfg, eng, program: None, counters: Counters::default(), cycles: 0 }
    }

    fn tick(&mut self) {
        tick(self.eng.as_mut());
        self.cycles += 1;
    }

    fn counter(&mut self, sel: usize) -> u64 {
        self.eng.set_cnt_sel(sel as u8);
        self.tick();
        settle(self.eng.as_mut());
        self.eng.cnt_data() as u64
    }
}

impl<E: EnginePorts> Device for HdlDevice<E> {
    fn info(&self) -> DesignInfo {
        DesignInfo::of(&self.cfg)
    }

    fn load(&mut self, image: &[u8]) -> Result<(), DeviceError> {
        self.program = None;
        let img = ModelImage::from_bytes(image, &self.cfg).map_err(DeviceError::BadImage)?;
        for s in &img.sections {
            for (i, w) in s.words.iter().enumerate() {
                let addr = s.addr + i;
                // The const memory is 16-bit words in the image, 8-word records in hardware:
                // the engine splits the flat address itself.
                self.eng.load_word(s.mem as u8, addr as u32, *w, true);
                self.tick();
            }
        }
        self.eng.load_word(0, 0, 0, false);
        self.tick();
        self.program = Some(img.program(self.cfg.memory.program_words).map_err(DeviceError::BadImage)?);
        Ok(())
    }

    fn run_strip(&mut self, job: &StripJob, input: &[u8]) -> Result<Vec<u8>, DeviceError> {
        let p = self.program.clone().ok_or(DeviceError::NoModel)?;
        let h = &p.header;
        job.check(h, input.len())?;
        let (hh, r) = (job.height, h.scale);
        let hwc = chw_to_hwc(input, h.in_ch, hh, job.width);
        let (oh, ow, oc) = (hh * r, job.keep_w * r, h.out_ch);
        let want = oh * ow * oc;
        let mut out = Vec::with_capacity(want);
        self.eng.set_strip(true, job);
        self.tick();
        self.eng.set_strip(false, job);
        let (mut next_in, mut done) = (0, false);
        let start_cycles = self.cycles;
        let limit = cycle_limit(&p, want, hwc.len());
        while !(done && out.len() == want) {
            let have = next_in < hwc.len();
            self.eng.set_streams(if have { hwc[next_in] } else { 0 }, have, true);
            settle(self.eng.as_mut());
            let (in_ready, out_valid, byte, d, err) = self.eng.status();
            if err {
                return Err(DeviceError::Failed("the engine found no valid program".into()));
            }
            if have && in_ready {
                next_in += 1;
            }
            if out_valid {
                out.push(byte);
            }
            done |= d;
            self.tick();
            if self.cycles - start_cycles > limit {
                return Err(DeviceError::Failed(format!(
                    "no end after {limit} cycles ({} of {} input bytes taken, {} of {want} output bytes)",
                    next_in,
                    hwc.len(),
                    out.len()
                )));
            }
        }
        self.eng.set_streams(0, false, false);
        let chw = hwc_to_chw(&out, oc, oh, ow);
        let cnt: Vec<u64> =
            counter_selects(&self.cfg, p.ops.len()).into_iter().map(|sel| self.counter(sel as usize)).collect();
        self.counters = counters_from(&cnt, self.counters.strips + 1, E::KIND);
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
