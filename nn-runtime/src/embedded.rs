//! Decoding the little-endian tensors of a weights file embedded with `#[weights = "..."]` (generated code calls
//! these; the macro checked every tensor's type and size when it read the file): at run time into a network's
//! own arrays with `std`, at compile time into statics without it.

/// How a tensor's values are stored in an embedded file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// Little-endian `f32`.
    F32,
    /// Little-endian `i64` (a counter).
    I64,
    /// Little-endian `i32` (a counter).
    I32,
}

impl Stored {
    /// Bytes per value.
    const fn width(self) -> usize {
        match self {
            Stored::I64 => 8,
            Stored::F32 | Stored::I32 => 4,
        }
    }
}

/// The value stored as `stored` at `bytes[i..]`, as `f32` (counters converted as `load_weights` converts them).
const fn value(bytes: &[u8], i: usize, stored: Stored) -> f32 {
    let b = [bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]];
    match stored {
        Stored::F32 => f32::from_le_bytes(b),
        Stored::I32 => i32::from_le_bytes(b) as f32,
        Stored::I64 => {
            i64::from_le_bytes([b[0], b[1], b[2], b[3], bytes[i + 4], bytes[i + 5], bytes[i + 6], bytes[i + 7]]) as f32
        }
    }
}

/// Copies the values in `bytes`, stored as `stored`, to the start of `out`.
pub fn copy(bytes: &[u8], stored: Stored, out: &mut [f32]) {
    let width = stored.width();
    for (k, v) in out.iter_mut().enumerate().take(bytes.len() / width) {
        *v = value(bytes, k * width, stored);
    }
}

/// An array of `N` values decoded at compile time from `bytes`: each `(start, end, stored, offset)` puts the
/// values in `bytes[start..end]` at `offset` (the buffers of a `no_std` build's `pretrained`, which are small).
pub const fn decode<const N: usize>(bytes: &[u8], tensors: &[(usize, usize, Stored, usize)]) -> [f32; N] {
    let mut out = [0.0f32; N];
    let mut t = 0;
    while t < tensors.len() {
        let (mut i, end, stored, mut at) = tensors[t];
        while i + stored.width() <= end {
            out[at] = value(bytes, i, stored);
            i += stored.width();
            at += 1;
        }
        t += 1;
    }
    out
}

/// The `N` little-endian `f32` values at `bytes[start..start + BYTES]` (`BYTES = 4·N`), decoded at compile time.
/// On little-endian targets the bytes are read as they are, one copy however large the tensor, so that embedding
/// megabytes costs the compiler next to nothing; elsewhere they are decoded value by value.
///
/// # Panics
/// At compile time, if `BYTES ≠ 4·N` or the bytes lie outside `bytes` (the macro checked both).
pub const fn f32_array<const N: usize, const BYTES: usize>(bytes: &[u8], start: usize) -> [f32; N] {
    assert!(BYTES == 4 * N, "BYTES is 4·N");
    let Some(raw) = bytes.split_at(start).1.first_chunk::<BYTES>() else { panic!("the tensor lies in the file") };
    if cfg!(target_endian = "little") {
        // SAFETY: `raw` holds `4·N` bytes, the size of `[f32; N]`; any bits are an f32; the read is unaligned.
        unsafe { core::ptr::read_unaligned(raw.as_ptr().cast::<[f32; N]>()) }
    } else {
        let mut out = [0.0f32; N];
        let mut i = 0;
        while i < N {
            out[i] = value(raw, 4 * i, Stored::F32);
            i += 1;
        }
        out
    }
}
