//! Decoding the little-endian tensors of a weights file embedded with `#[weights = "..."]` (generated code calls
//! these; the macro checked every tensor's type and size when it read the file).

/// Copies `bytes`, little-endian `f32` values, to the start of `out`.
pub fn f32s(bytes: &[u8], out: &mut [f32]) {
    for (v, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
        *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
}

/// Copies `bytes`, little-endian `i64` counters, to the start of `out` as `f32`, as `load_weights` does.
pub fn i64s(bytes: &[u8], out: &mut [f32]) {
    for (v, b) in out.iter_mut().zip(bytes.chunks_exact(8)) {
        *v = i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32;
    }
}

/// Copies `bytes`, little-endian `i32` counters, to the start of `out` as `f32`, as `load_weights` does.
pub fn i32s(bytes: &[u8], out: &mut [f32]) {
    for (v, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
        *v = i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32;
    }
}
