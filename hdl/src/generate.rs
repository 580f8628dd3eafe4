//! The generator's output for a configuration: the engine's Verilog and the JSON description
//! the host checks a board against (design hash, parameters, capacities).

use crate::device::{Ecp5Engine, TestEngine, TestEngineFw, Up5kEngine};
use bbcu_arch::{DesignInfo, HwConfig};
use rust_hdl::prelude::*;

/// Which compiled engine instance implements `cfg`: its engine type (array shape and memory
/// widths, `HwConfig::engine_shape`) must be one this build compiled; `hdl/shapes` elaborates
/// any other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instance {
    Test,
    Up5k,
    Ecp5,
}

pub fn instance(cfg: &HwConfig) -> Result<Instance, String> {
    use crate::device::{ECP5_SHAPE, TEST_SHAPE, UP5K_SHAPE};
    let shape = cfg.engine_shape().map_err(|e| e.to_string())?;
    Ok(match (shape.lanes, shape.params) {
        (16, TEST_SHAPE) => Instance::Test,
        (16, UP5K_SHAPE) => Instance::Up5k,
        (64, ECP5_SHAPE) => Instance::Ecp5,
        _ => {
            return Err(format!(
                "{}: this build generates engines for the ice40-up5k and ecp5-85k shapes and the sim-test \
                 configuration, not {}; other array or memory sizes: hdl/shapes (BBCU_SHAPES)",
                cfg.name,
                shape.type_name()
            ))
        }
    })
}

/// The Verilog of any engine type (top module `top`); `hdl/shapes` calls it for engine types
/// built from a configuration's `EngineShape`.
pub fn engine_verilog<B: Block + Default>() -> String {
    block_verilog(B::default())
}

fn block_verilog<B: Block>(mut uut: B) -> String {
    uut.connect_all();
    generate_verilog(&uut)
}

/// Which sequencer an engine has: the hardware one (`crate::engine`) or firmware on the
/// control core (`crate::enginefw`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    Hardware,
    Firmware,
}

/// Refuses a configuration the engine kind cannot run: only the firmware-sequenced engine
/// reads bit rings from the input memory (`Memories::bits_in_input`), and it keeps the FP
/// weights in the weight memory exactly when it has one PE and one FP lane
/// (`Memories::fp_in_weights`: its MAC lane then reads that memory).
pub fn check_kind(cfg: &HwConfig, kind: EngineKind) -> Result<(), String> {
    if kind == EngineKind::Hardware && cfg.memory.bits_in_input {
        return Err(format!("{}: memory.bits_in_input needs the firmware sequencer", cfg.name));
    }
    let single = cfg.pes == 1 && cfg.fp_lanes == 1;
    if cfg.memory.fp_in_weights != (kind == EngineKind::Firmware && single) {
        return Err(format!(
            "{}: memory.fp_in_weights is {} but the {kind:?} sequencer's engine with {} PE(s) and {} FP lane(s) {} \
             its FP weights in the weight memory",
            cfg.name,
            cfg.memory.fp_in_weights,
            cfg.pes,
            cfg.fp_lanes,
            if kind == EngineKind::Firmware && single { "keeps" } else { "does not keep" }
        ));
    }
    Ok(())
}

/// The sequencer an instance's engine has unless asked for the other: the UP5K's logic cells
/// fit only the firmware; the test engine comes with either.
pub fn default_engine(inst: Instance) -> EngineKind {
    match inst {
        Instance::Up5k => EngineKind::Firmware,
        Instance::Test | Instance::Ecp5 => EngineKind::Hardware,
    }
}

/// The engine's Verilog (top module `top`) for a configuration.
pub fn verilog(cfg: &HwConfig) -> Result<String, String> {
    verilog_of(cfg, default_engine(instance(cfg)?))
}

/// As [`verilog`] with the sequencer named.
pub fn verilog_of(cfg: &HwConfig, kind: EngineKind) -> Result<String, String> {
    check_kind(cfg, kind)?;
    Ok(match (instance(cfg)?, kind) {
        (Instance::Test, EngineKind::Hardware) => engine_verilog::<TestEngine>(),
        (Instance::Test, EngineKind::Firmware) => engine_verilog::<TestEngineFw>(),
        (Instance::Up5k, EngineKind::Firmware) => block_verilog(Up5kEngine::default().configure(cfg)),
        (Instance::Ecp5, EngineKind::Hardware) => engine_verilog::<Ecp5Engine>(),
        (_, kind) => return Err(format!("{}: this build has no engine with the {kind:?} sequencer", cfg.name)),
    })
}

/// The JSON description written beside the Verilog.
pub fn description(cfg: &HwConfig) -> serde_json::Value {
    let info = DesignInfo::of(cfg);
    serde_json::json!({
        "design_hash": format!("{:08x}", info.hash),
        "format_version": info.format_version,
        "config": info.config,
        "capacity_bits": cfg.memory_bits().into_iter().collect::<std::collections::BTreeMap<_, _>>(),
        "peak_binary_macs_per_s": cfg.peak_binary_macs(),
    })
}

/// The board top-level's Verilog (top module `top`, ports as in `bitstreams/boards/*.toml`):
/// UART at `divisor` (`crate::uart::divisor_for`), protocol engine, and the engine of `cfg`.
/// `stale_cycles` is the protocol's partial-frame timeout (200 ms) in clocks.
pub fn board_verilog(cfg: &HwConfig, divisor: u32, stale_cycles: u32, led_active_low: bool) -> Result<String, String> {
    board_verilog_at(cfg, crate::uart::Baud::divisor(divisor), stale_cycles, led_active_low)
}

/// As [`board_verilog`] with any UART timing (`crate::uart::Baud::for_rate`).
pub fn board_verilog_at(
    cfg: &HwConfig,
    baud: crate::uart::Baud,
    stale_cycles: u32,
    led_active_low: bool,
) -> Result<String, String> {
    board_verilog_link(cfg, default_link(instance(cfg)?), baud, stale_cycles, led_active_low)
}

/// The protocol engine a board top-level of `inst` has unless asked for the other: the
/// UP5K's logic cells fit only the firmware.
pub fn default_link(inst: Instance) -> crate::board_top::Link {
    use crate::board_top::Link;
    match inst {
        Instance::Up5k => Link::Firmware,
        Instance::Test | Instance::Ecp5 => Link::Hand,
    }
}

/// As [`board_verilog_at`] with the protocol engine named: the test engine's board comes
/// with either, the board presets' with their [`default_link`].
pub fn board_verilog_link(
    cfg: &HwConfig,
    link: crate::board_top::Link,
    baud: crate::uart::Baud,
    stale_cycles: u32,
    led_active_low: bool,
) -> Result<String, String> {
    use crate::board_top::{BoardEcp5, BoardTest, BoardTestFw, BoardUp5k, Link};
    fn emit<B: Block>(mut uut: B) -> String {
        uut.connect_all();
        generate_verilog(&uut)
    }
    check_kind(cfg, if link == Link::Hand { EngineKind::Hardware } else { EngineKind::Firmware })?;
    let inst = instance(cfg)?;
    Ok(match (inst, link) {
        (Instance::Test, Link::Hand) => emit(BoardTest::with_baud(cfg, baud, stale_cycles, led_active_low)),
        (Instance::Test, Link::Firmware) => emit(BoardTestFw::with_baud(cfg, baud, stale_cycles, led_active_low)),
        (Instance::Up5k, Link::Firmware) => emit(BoardUp5k::with_baud(cfg, baud, stale_cycles, led_active_low)),
        (Instance::Ecp5, Link::Hand) => emit(BoardEcp5::with_baud(cfg, baud, stale_cycles, led_active_low)),
        _ => return Err(format!("{}: this build has no board top-level with the {link:?} protocol engine", cfg.name)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{test_config, ECP5_SHAPE, TEST_SHAPE, UP5K_SHAPE};

    /// The compiled instances are the types their configurations' shapes name.
    #[test]
    fn instances_have_their_configurations_shapes() {
        assert_eq!(instance(&test_config()), Ok(Instance::Test));
        assert_eq!(instance(&HwConfig::preset("ice40-up5k").unwrap()), Ok(Instance::Up5k));
        assert_eq!(instance(&HwConfig::preset("ecp5-85k").unwrap()), Ok(Instance::Ecp5));
        assert!(instance(&HwConfig::preset("ice40-hx8k").unwrap()).unwrap_err().contains("Engine32<4, 1,"));
        for (cfg, lanes, params) in [
            (test_config(), 16, TEST_SHAPE),
            (HwConfig::preset("ice40-up5k").unwrap(), 16, UP5K_SHAPE),
            (HwConfig::preset("ecp5-85k").unwrap(), 64, ECP5_SHAPE),
        ] {
            let shape = cfg.engine_shape().unwrap();
            assert_eq!((shape.lanes, shape.params), (lanes, params), "{}", cfg.name);
        }
    }

    /// Only the firmware-sequenced engine reads bit rings from the input memory.
    #[test]
    fn the_hardware_sequencer_refuses_bits_in_the_input_memory() {
        let up5k = HwConfig::preset("ice40-up5k").unwrap();
        assert!(up5k.memory.bits_in_input);
        assert_eq!(check_kind(&up5k, EngineKind::Firmware), Ok(()));
        let e = crate::device::simulated_of(&up5k, EngineKind::Hardware).err().unwrap();
        assert_eq!(e, "ice40-up5k: memory.bits_in_input needs the firmware sequencer");
        // A board with the hand-built protocol engine has the hardware sequencer.
        let mut test = test_config();
        test.memory.bits_in_input = true;
        let baud = crate::uart::Baud::divisor(1);
        let e = board_verilog_link(&test, crate::board_top::Link::Hand, baud, 16, false).unwrap_err();
        assert_eq!(e, "sim-test: memory.bits_in_input needs the firmware sequencer");
    }
}
