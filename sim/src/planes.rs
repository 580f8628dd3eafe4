//! 8-bit planar images, the only thing that enters or leaves a network.

use serde::Serialize;

/// `channels × height × width` bytes, channel-major (CHW), as the accelerator streams them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Planes {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub data: Vec<u8>,
}

impl Planes {
    pub fn new(channels: usize, height: usize, width: usize) -> Self {
        Planes { channels, height, width, data: vec![0; channels * height * width] }
    }

    pub fn from_vec(channels: usize, height: usize, width: usize, data: Vec<u8>) -> Self {
        assert_eq!(data.len(), channels * height * width, "plane data does not match its shape");
        Planes { channels, height, width, data }
    }

    #[inline]
    pub fn get(&self, c: usize, y: usize, x: usize) -> u8 {
        self.data[(c * self.height + y) * self.width + x]
    }

    #[inline]
    pub fn set(&mut self, c: usize, y: usize, x: usize, v: u8) {
        self.data[(c * self.height + y) * self.width + x] = v;
    }

    pub fn plane(&self, c: usize) -> &[u8] {
        let n = self.height * self.width;
        &self.data[c * n..(c + 1) * n]
    }

    /// A rectangular window `[y0, y0+h) × [x0, x0+w)` (used to cut tiles).
    pub fn crop(&self, y0: usize, x0: usize, h: usize, w: usize) -> Planes {
        let mut out = Planes::new(self.channels, h, w);
        for c in 0..self.channels {
            for y in 0..h {
                let src = (c * self.height + y0 + y) * self.width + x0;
                let dst = (c * h + y) * w;
                out.data[dst..dst + w].copy_from_slice(&self.data[src..src + w]);
            }
        }
        out
    }

    /// Copies `tile` into `self` at `(y0, x0)`.
    pub fn paste(&mut self, tile: &Planes, y0: usize, x0: usize) {
        assert_eq!(tile.channels, self.channels);
        for c in 0..self.channels {
            for y in 0..tile.height {
                let dst = (c * self.height + y0 + y) * self.width + x0;
                let src = (c * tile.height + y) * tile.width;
                self.data[dst..dst + tile.width].copy_from_slice(&tile.data[src..src + tile.width]);
            }
        }
    }
}
