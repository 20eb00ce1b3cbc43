//! Reads 28×28 images from standard input — 784 little-endian `f32` pixels in [0, 1] each — and prints the digit
//! `nn_embedded::classify` finds in each, one per line. `tests/embedded_agreement.rs` of the `nn` crate runs it
//! to compare the `no_std` build with the `std` network.

use std::io::{Read, Write};

fn main() {
    let mut bytes = Vec::new();
    std::io::stdin().read_to_end(&mut bytes).expect("standard input is readable");
    let mut out = std::io::stdout().lock();
    for image in bytes.chunks_exact(784 * 4) {
        let mut pixels = [[0.0f32; 28]; 28];
        for (p, b) in pixels.as_flattened_mut().iter_mut().zip(image.chunks_exact(4)) {
            *p = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        writeln!(out, "{}", nn_embedded::classify(&pixels)).expect("standard output is writable");
    }
}
