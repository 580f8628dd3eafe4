//! The virtual board's fast device (`board::modelled`): for every shipped model, the network
//! it rebuilds from the model image runs on the CPU engine, and every strip's bytes and
//! counters equal the instruction-level reference model's.

use bbcu_arch::{Device, HwConfig, RefDevice, StripJob};
use bbcu_host::board::modelled::ModelledDevice;
use bbcu_host::model::Model;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

fn shipped() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pth"))
        .collect();
    v.sort();
    assert!(v.len() >= 4, "expected the shipped models in {}", dir.display());
    v
}

#[test]
fn strips_equal_the_reference_model_bytes_and_counters() {
    let cfg = HwConfig::preset("ecp5-85k").unwrap();
    for path in shipped() {
        let model = Model::load(&path, bbcu_host::default_k(&path).unwrap(), None).unwrap();
        // Models made for another design (the 16-channel iCE40 ones) fit the ECP5 too.
        let compiled = bbcu_arch::compile(&model.fixed, &cfg).unwrap();
        let image = compiled.image.to_bytes(&cfg);
        let mut fast = ModelledDevice::new(cfg.clone());
        let mut reference = RefDevice::new(cfg.clone());
        fast.load(&image).unwrap();
        reference.load(&image).unwrap();
        assert!(fast.on_cpu_engine(), "{}: the image did not round-trip through the decoder", path.display());
        let halo = compiled.halo;
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        // A left-edge strip, a middle one (halo both sides) and a narrow whole image.
        let jobs = [
            StripJob { width: 2 * halo + 3, height: 7, keep_x0: 0, keep_w: halo + 3 },
            StripJob { width: 2 * halo + 4, height: 5, keep_x0: halo, keep_w: 4 },
            StripJob { width: 3, height: 4, keep_x0: 0, keep_w: 3 },
        ];
        for job in jobs {
            let input: Vec<u8> = (0..model.fixed.in_ch * job.height * job.width).map(|_| rng.random()).collect();
            let want = reference.run_strip(&job, &input).unwrap();
            let got = fast.run_strip(&job, &input).unwrap();
            assert_eq!(got, want, "{}: bytes of {job:?}", path.display());
            assert_eq!(fast.counters(), reference.counters(), "{}: counters of {job:?}", path.display());
        }
    }
}

#[test]
fn images_it_cannot_decode_are_refused_or_computed_by_the_reference_model() {
    let cfg = HwConfig::preset("ecp5-85k").unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/denoise.pth");
    let model = Model::load(&path, bbcu_host::default_k(&path).unwrap(), None).unwrap();
    let image = bbcu_arch::compile(&model.fixed, &cfg).unwrap().image.to_bytes(&cfg);
    let mut fast = ModelledDevice::new(cfg.clone());
    // A damaged image is refused with the reference model's reason, and leaves no model.
    let mut bad = image.clone();
    bad[40] ^= 1;
    let e = fast.load(&bad).unwrap_err().to_string();
    assert!(e.contains("CRC"), "{e}");
    let job = StripJob { width: 3, height: 3, keep_x0: 0, keep_w: 3 };
    assert_eq!(fast.run_strip(&job, &[0; 9]).unwrap_err(), bbcu_arch::DeviceError::NoModel);
    // A strip the program cannot take is refused as every device refuses it.
    fast.load(&image).unwrap();
    let e = fast.run_strip(&job, &[0; 8]).unwrap_err().to_string();
    assert!(e.contains("8 input bytes"), "{e}");
}
