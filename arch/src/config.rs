//! Hardware configurations: one generated design (one bitstream) per configuration.
//!
//! A configuration fixes the array shape and every memory's width and depth; the compiler
//! ([`crate::compile`](mod@crate::compile)) then checks that a model fits it. Presets live in `arch/presets/*.toml`
//! so that users can copy one and change it (`--preset FILE`).

use serde::{Deserialize, Serialize};
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{path}: {msg}")]
    Read { path: String, msg: String },
    #[error("preset {name}: {msg}")]
    Invalid { name: String, msg: String },
    #[error("no preset named '{0}' (known: ice40-up5k, ice40-hx8k, ecp5-85k)")]
    Unknown(String),
}

/// Depth of each on-chip memory, in words of the width the memory has in this design.
fn one() -> usize {
    1
}

fn is_one(v: &usize) -> bool {
    *v == 1
}

fn is_false(v: &bool) -> bool {
    !*v
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Memories {
    /// Feature rings: 16-bit words (SPRAM on the UP5K).
    pub feature_words: usize,
    /// 2 where the feature memory is single-port (UP5K SPRAM): the compiler then places the
    /// rings of even and odd index in different halves, so that an op (which reads ring l and
    /// writes ring l + 1) never reads and writes the same half in one cycle. 1 (the default,
    /// left out of the serialised form so that older configurations keep their hash) for
    /// dual-port block RAM.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub feature_banks: usize,
    /// The input ring (k-scaled input words, read by the head and the global residual):
    /// 16-bit words, a memory of its own so that the tail reads it beside its features.
    pub input_words: usize,
    /// Sign-bit rings: `lanes`-bit words.
    pub bit_words: usize,
    /// The upper half of the input memory holds some of the sign-bit rings (16-lane engines
    /// whose input ring needs a small part of its memory, as on the UP5K, where block RAM is
    /// short and the input ring's SPRAM is mostly free). Bit addresses from `input_words / 2`
    /// up are that half's words; the compiler puts a ring there only when the op writing it
    /// reads nothing from the input memory in the same row (the SPRAM is single-port), and the
    /// input ring then has the lower half. False (the default, left out of the serialised form
    /// so that older configurations keep their hash): every bit ring in `bit_words`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub bits_in_input: bool,
    /// Binary weights: one bank per PE, `lanes`-bit words, this many per bank.
    pub weight_words: usize,
    /// Full-precision weights: one bank per FP lane, 16-bit words, this many per bank (0 with
    /// `fp_in_weights`).
    pub fp_weight_words: usize,
    /// The full-precision weights share the binary weights' memory, after them: one PE of 16
    /// lanes and one FP lane, whose words are both 16 bits, and whose reads never meet (one op
    /// runs at a time, a binary op reads only binary weights, a conv only FP ones). Block RAM
    /// then holds what the model has of each, not the most of each: sr_x4_small's 1,872 binary
    /// and 864 FP words take 11 of the UP5K's block RAMs where separate memories took 12.
    /// `weight_words` is the shared memory's depth, a multiple of 256 (an iCE40 block RAM's
    /// words) that need not be a power of two. False (the default, left out of the serialised
    /// form so that older configurations keep their hash): memories of their own.
    #[serde(default, skip_serializing_if = "is_false")]
    pub fp_in_weights: bool,
    /// Per-channel constants and FP biases: 16-bit words.
    pub const_words: usize,
    /// Layer program: 16-bit words.
    pub program_words: usize,
    /// Output buffer in bytes: holds one row of the tail's output (the engine waits for
    /// that much room before it starts a row, so the link never stalls a pipeline).
    pub output_bytes: usize,
}

impl Memories {
    /// The input memory's words for the input ring, and the words lent to bit rings above
    /// them (`bits_in_input`: the upper half, from address `input_words - lent`; else none).
    pub fn input_split(&self) -> (usize, usize) {
        let lent = if self.bits_in_input { self.input_words / 2 } else { 0 };
        (self.input_words - lent, lent)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HwConfig {
    pub name: String,
    /// The FPGA this preset targets, in words.
    pub device: String,
    /// Engine clock the design is built for.
    pub clock_mhz: f64,
    /// P: XNOR-popcount processing elements (output channels computed in parallel).
    pub pes: usize,
    /// S: input bits each PE consumes per cycle (32 or 64).
    pub lanes: usize,
    /// M: 16×16 multiply-accumulate lanes of the full-precision unit (output channels in parallel).
    pub fp_lanes: usize,
    /// Widest strip, in LR pixels, the address counters allow.
    pub max_width: usize,
    /// Most channels of any feature map.
    pub max_channels: usize,
    pub memory: Memories,
}

impl HwConfig {
    pub fn preset(name: &str) -> Result<Self, ConfigError> {
        let text = match name {
            "ice40-up5k" | "ice40" => include_str!("../presets/ice40-up5k.toml"),
            "ice40-hx8k" => include_str!("../presets/ice40-hx8k.toml"),
            "ecp5-85k" | "ecp5" => include_str!("../presets/ecp5-85k.toml"),
            _ => return Err(ConfigError::Unknown(name.into())),
        };
        Self::parse(text, name)
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Read { path: path.display().to_string(), msg: e.to_string() })?;
        Self::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let c: HwConfig = toml::from_str(text)
            .map_err(|e| ConfigError::Read { path: origin.into(), msg: e.message().to_string() })?;
        c.validate()?;
        Ok(c)
    }

    /// The configuration as a preset file's text (`parse` reads it back unchanged).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a configuration serialises")
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |msg: String| Err(ConfigError::Invalid { name: self.name.clone(), msg });
        if ![16, 32, 64].contains(&self.lanes) {
            return bad(format!("lanes must be 16, 32 or 64, not {}", self.lanes));
        }
        if self.pes == 0 {
            return bad(format!("pes must be at least 1, not {}", self.pes));
        }
        // The post datapath takes one output per cycle while the array counts the next group
        // (9 cycles or more): more PEs than that would outrun it.
        if self.pes > 9 {
            return bad(format!("pes must be at most 9 (one post datapath serves them), not {}", self.pes));
        }
        if self.fp_lanes == 0 || self.fp_lanes > 64 {
            return bad(format!("fp_lanes must be 1..=64, not {}", self.fp_lanes));
        }
        if !(self.clock_mhz > 0.0 && self.clock_mhz < 1000.0) {
            return bad(format!("clock_mhz {} is not a plausible clock", self.clock_mhz));
        }
        if self.max_width < 4 || self.max_width > 4096 {
            return bad(format!("max_width must be 4..=4096, not {}", self.max_width));
        }
        if self.max_channels == 0 || self.max_channels > 512 {
            return bad(format!("max_channels must be 1..=512, not {}", self.max_channels));
        }
        let m = &self.memory;
        if m.feature_banks != 1 && m.feature_banks != 2 {
            return bad(format!("memory.feature_banks must be 1 or 2, not {}", m.feature_banks));
        }
        // The hardware sends a bit address to the input memory when it is past the bit
        // memory's own words, so the lent half must start at or above them.
        if m.bits_in_input && (self.lanes != 16 || m.input_words / 2 < m.bit_words) {
            return bad(format!(
                "memory.bits_in_input needs 16 lanes and bit_words ({}) at most half of input_words ({})",
                m.bit_words, m.input_words
            ));
        }
        if m.fp_in_weights {
            if self.lanes != 16 || self.pes != 1 || self.fp_lanes != 1 {
                return bad("memory.fp_in_weights needs one PE of 16 lanes and one FP lane".into());
            }
            if m.fp_weight_words != 0
                || m.weight_words == 0
                || !m.weight_words.is_multiple_of(256)
                || m.weight_words > 1 << 16
            {
                return bad(format!(
                    "memory.fp_in_weights needs fp_weight_words = 0 and weight_words a multiple of 256 up to \
                     65536, not {} and {}",
                    m.fp_weight_words, m.weight_words
                ));
            }
        }
        for (what, v) in [
            ("feature_words", m.feature_words),
            ("input_words", m.input_words),
            ("bit_words", m.bit_words),
            ("weight_words", m.weight_words),
            ("fp_weight_words", m.fp_weight_words),
            ("const_words", m.const_words),
            ("program_words", m.program_words),
            ("output_bytes", m.output_bytes),
        ] {
            // A shared weight memory is one bank, so no flat address is split (checked above).
            if m.fp_in_weights && what.ends_with("weight_words") {
                continue;
            }
            // Powers of two: the hardware splits flat load addresses into bank and word.
            if !v.is_power_of_two() || v > 1 << 24 {
                return bad(format!("memory.{what} must be a power of two up to 2^24, not {v}"));
            }
        }
        Ok(())
    }

    /// On-chip memory of each kind, in bits, as `(name, bits)`.
    pub fn memory_bits(&self) -> Vec<(&'static str, usize)> {
        let m = &self.memory;
        vec![
            ("feature", m.feature_words * 16),
            ("input", m.input_words * 16),
            ("bit", m.bit_words * self.lanes),
            ("weight", m.weight_words * self.lanes * self.pes),
            ("fp_weight", m.fp_weight_words * 16 * self.fp_lanes),
            ("const", m.const_words * 16),
            ("program", m.program_words * 16),
            ("output", m.output_bytes * 8),
        ]
    }

    /// A stable fingerprint of everything the hardware depends on: a model image compiled for
    /// one design is refused by a board built from another.
    pub fn design_hash(&self) -> u32 {
        let canon = serde_json::to_string(self).expect("config serialises");
        crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(canon.as_bytes())
    }

    /// Whether the engine counts cycles and busy PE-cycles per op (`Counters::layer_cycles`,
    /// `layer_busy`) beside the strip's totals. The one-output engine (16 lanes, one PE, one FP
    /// lane: the UP5K's) does not: its part is short of logic cells and block RAM, and those
    /// counters took ~300 cells and 2 block RAMs. Its per-op figures are the firmware model's
    /// (`bbcu-host profile --sim seqfw`), which its tests hold the engine to cycle for cycle.
    pub fn op_counters(&self) -> bool {
        !(self.lanes == 16 && self.pes == 1 && self.fp_lanes == 1)
    }

    /// Peak binary MACs per second: every PE lane busy every cycle.
    pub fn peak_binary_macs(&self) -> f64 {
        (self.pes * self.lanes) as f64 * self.clock_mhz * 1e6
    }
}

/// The compile-time parameters of the Rust-HDL engine type that implements a configuration
/// (`bbcu_hdl::engine::Engine{lanes}<P, M, FA, XA, BA, WA, FWA, CA, PA, OA>`): the array
/// shape and every memory's address width. Rust-HDL fixes them at compile time, so an engine
/// of a new shape is a new type; `hdl/shapes` elaborates any configuration's type from this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineShape {
    pub lanes: usize,
    /// P, M, then the address widths FA, XA, BA, WA, FWA, CA (per constant bank), PA, OA.
    pub params: [usize; 10],
}

impl EngineShape {
    /// The Rust type, e.g. `Engine16<4, 2, 15, 14, 9, 9, 9, 8, 9, 9>`.
    pub fn type_name(&self) -> String {
        let p: Vec<String> = self.params.iter().map(|v| v.to_string()).collect();
        format!("Engine{}<{}>", self.lanes, p.join(", "))
    }
}

impl HwConfig {
    /// The engine type's parameters; an error names what no engine type can implement.
    pub fn engine_shape(&self) -> Result<EngineShape, ConfigError> {
        self.validate()?;
        let m = &self.memory;
        // The 16-lane engine keeps its feature rings in single-port SPRAM.
        if self.lanes == 16 && m.feature_banks != 2 {
            return Err(ConfigError::Invalid {
                name: self.name.clone(),
                msg: "the 16-lane engine's feature memory is single-port: memory.feature_banks must be 2".into(),
            });
        }
        // Eight constant banks, each of const_words / 8.
        if m.const_words < 8 {
            return Err(ConfigError::Invalid {
                name: self.name.clone(),
                msg: format!("memory.const_words must be at least 8 (eight banks), not {}", m.const_words),
            });
        }
        let w = |v: usize| v.trailing_zeros() as usize;
        Ok(EngineShape {
            lanes: self.lanes,
            params: [
                self.pes,
                self.fp_lanes,
                w(m.feature_words),
                w(m.input_words),
                w(m.bit_words),
                // A shared weight memory's address bits; the FP memory is then unused, and its
                // type parameter the smallest block RAM's.
                w(m.weight_words.next_power_of_two()),
                if m.fp_in_weights { 8 } else { w(m.fp_weight_words) },
                w(m.const_words / 8),
                w(m.program_words),
                w(m.output_bytes),
            ],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_and_have_distinct_hashes() {
        let names = ["ice40-up5k", "ice40-hx8k", "ecp5-85k"];
        let hashes: Vec<u32> = names.iter().map(|n| HwConfig::preset(n).unwrap().design_hash()).collect();
        assert_ne!(hashes[0], hashes[1]);
        assert_ne!(hashes[1], hashes[2]);
        assert!(matches!(HwConfig::preset("nope"), Err(ConfigError::Unknown(_))));
    }

    #[test]
    fn bad_presets_get_one_line_errors() {
        let text = include_str!("../presets/ice40-up5k.toml").replace("lanes = 16", "lanes = 48");
        let e = HwConfig::parse(&text, "x.toml").unwrap_err().to_string();
        assert_eq!(e, "preset ice40-up5k: lanes must be 16, 32 or 64, not 48");
        let e = HwConfig::parse("name = 3", "x.toml").unwrap_err().to_string();
        assert!(e.starts_with("x.toml: "), "{e}");
        // A shared weight memory: one PE and one FP lane, and a multiple of 256 words; a
        // memory of its own stays a power of two.
        let up5k = include_str!("../presets/ice40-up5k.toml");
        let e = HwConfig::parse(&up5k.replace("fp_lanes = 1", "fp_lanes = 2"), "x.toml").unwrap_err().to_string();
        assert_eq!(e, "preset ice40-up5k: memory.fp_in_weights needs one PE of 16 lanes and one FP lane");
        let e = HwConfig::parse(&up5k.replace("weight_words = 2816", "weight_words = 2800"), "x.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("weight_words a multiple of 256"), "{e}");
        let e = HwConfig::parse(&up5k.replace("fp_in_weights = true", ""), "x.toml").unwrap_err().to_string();
        assert!(e.contains("memory.weight_words must be a power of two"), "{e}");
        // Bit rings in the input memory: 16-bit bit words, and the lent half above the bit
        // memory's addresses.
        let text = include_str!("../presets/ice40-up5k.toml").replace("input_words = 16384", "input_words = 512");
        let e = HwConfig::parse(&text, "x.toml").unwrap_err().to_string();
        assert!(
            e.contains("bits_in_input needs 16 lanes and bit_words (512) at most half of input_words (512)"),
            "{e}"
        );
        let ecp5 = include_str!("../presets/ecp5-85k.toml").replace("[memory]", "[memory]\nbits_in_input = true");
        let e = HwConfig::parse(&ecp5, "x.toml").unwrap_err().to_string();
        assert!(e.contains("bits_in_input needs 16 lanes"), "{e}");
    }

    #[test]
    fn engine_shapes_name_the_type_and_refuse_what_no_engine_implements() {
        let up = HwConfig::preset("ice40-up5k").unwrap().engine_shape().unwrap();
        assert_eq!(up.type_name(), "Engine16<1, 1, 15, 14, 9, 12, 8, 8, 9, 9>");
        let mut c = HwConfig::preset("ice40-up5k").unwrap();
        c.memory.feature_banks = 1;
        let e = c.engine_shape().unwrap_err().to_string();
        assert!(e.contains("feature_banks must be 2"), "{e}");
        let mut c = HwConfig::preset("ecp5-85k").unwrap();
        c.memory.const_words = 4;
        assert!(c.engine_shape().unwrap_err().to_string().contains("const_words must be at least 8"));
        let up5k = HwConfig::preset("ice40-up5k").unwrap();
        assert_eq!(HwConfig::parse(&up5k.to_toml(), "round trip").unwrap(), up5k);
    }
}
