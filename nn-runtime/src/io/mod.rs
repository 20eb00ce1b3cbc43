//! Weight files: safetensors with PyTorch `state_dict` names and layouts, written atomically; and, with the `onnx`
//! feature, ONNX export ([`save_onnx`]).
//!
//! `save_weights` writes every tensor of [`Network::TENSORS`] as F32 under its name (`conv1.weight` as
//! `[out, in, kh, kw]`, `fc1.weight` as `[out, in]`), which is exactly what
//! `safetensors.torch.save_file(model.state_dict(), path)` writes for the same PyTorch model, so weights move
//! between the two in both directions. `load_weights` checks the whole file first and reports every missing,
//! unexpected or mis-shaped tensor at once, changing nothing unless all fit.
//!
//! Buffers ([`Network::BUFFER_TENSORS`]: batch norm's `running_mean`, `running_var`, `num_batches_tracked`) are
//! saved beside the parameters exactly as in a PyTorch `state_dict`, `num_batches_tracked` as an I64 scalar.

#[cfg(feature = "onnx")]
mod onnx;
/// The ONNX schema's types, generated from `onnx.proto`: what [`onnx_model`] builds and [`read_onnx`] reads. Not a
/// stable API: it follows the ONNX release and the `prost` version.
#[cfg(feature = "onnx")]
#[doc(hidden)]
pub mod onnx_schema;

/// The exported model as the schema's types, and reading one back: for tests and tools that inspect an export;
/// not a stable API, as [`onnx_schema`].
#[cfg(feature = "onnx")]
#[doc(hidden)]
pub use onnx::{initializer_values, onnx_model, read_onnx};
#[cfg(feature = "onnx")]
pub use onnx::{save_onnx, IR_VERSION, OPSET};

use crate::net::Introspection;
use crate::net::Network;
use crate::{Error, Result, WeightProblem};
use safetensors::tensor::TensorView;
use safetensors::SafeTensors;

/// The element types of safetensors files (re-exported from the `safetensors` crate).
pub use safetensors::Dtype;
use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;

/// A tensor read from a safetensors file, converted to f32.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its values, row-major.
    pub values: Vec<f32>,
    /// The element type in the file: `F32`, `F64`, `F16` or `BF16` (converted exactly: every value of the three
    /// smaller types is an f32; F64 is rounded), or `I64` or `I32`, the integers PyTorch stores counters such as
    /// `num_batches_tracked` in.
    pub dtype: Dtype,
}

/// How a tensor is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// 32-bit floats.
    F32,
    /// 64-bit integers (values are whole numbers held in f32).
    I64,
}

impl Stored {
    /// PyTorch's type for a buffer of this name: `num_batches_tracked` is an integer.
    pub fn for_name(name: &str) -> Self {
        if name.ends_with("num_batches_tracked") {
            Stored::I64
        } else {
            Stored::F32
        }
    }
}

/// Writes `bytes` to `path` so that readers see either the old file or the new one, never a partial write: the
/// data goes to a new temporary file beside `path` (`.{name}.XXXXXX.tmp`, a unique name, so concurrent writers
/// never share one), is flushed to disk, and is renamed over `path`.
///
/// The writer holds a lock on its temporary file until it is renamed. A process killed mid-write leaves its
/// temporary behind, unlocked (the system releases the locks of a dead process); every later write to the same
/// `path` removes such stale temporaries first, so they never accumulate, while a temporary another live writer
/// is still filling is left alone.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let prefix = format!(".{name}.");
    remove_stale_temporaries(dir, &prefix);
    let result = (|| -> std::io::Result<()> {
        let mut tmp = loop {
            let mut builder = tempfile::Builder::new();
            builder.prefix(&prefix).suffix(TEMPORARY_SUFFIX);
            #[cfg(unix)]
            builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666)); // the umask applies, as for File::create
            let tmp = builder.tempfile_in(dir)?;
            tmp.as_file().lock()?;
            // A cleaner may have taken the file for stale between its creation and the lock: then start again.
            if tmp.path().exists() {
                break tmp;
            }
        };
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        // Make the rename itself durable where the platform allows opening a directory.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e| Error::io(path, &e))
}

/// How [`write_atomic`]'s temporary files end.
const TEMPORARY_SUFFIX: &str = ".tmp";

/// Removes the temporaries `dir/{prefix}*.tmp` that no live writer holds (best effort: a file that cannot be
/// opened, locked or removed is left for the next time).
fn remove_stale_temporaries(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(prefix) && name.ends_with(TEMPORARY_SUFFIX)) {
            continue;
        }
        let path = entry.path();
        if let Ok(file) = std::fs::File::open(&path) {
            if file.try_lock().is_ok() {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

/// Serialises named f32 tensors (and string metadata) as safetensors bytes.
pub fn to_safetensors<'a>(
    tensors: impl IntoIterator<Item = (&'a str, &'a [usize], &'a [f32])>,
    metadata: Option<HashMap<String, String>>,
) -> Result<Vec<u8>> {
    to_safetensors_typed(tensors.into_iter().map(|(n, s, v)| (n, s, v, Stored::F32)), metadata)
}

/// Serialises named tensors, each written as `Stored` says, as safetensors bytes.
pub fn to_safetensors_typed<'a>(
    tensors: impl IntoIterator<Item = (&'a str, &'a [usize], &'a [f32], Stored)>,
    metadata: Option<HashMap<String, String>>,
) -> Result<Vec<u8>> {
    let owned: Vec<(&str, Vec<usize>, Dtype, Vec<u8>)> = tensors
        .into_iter()
        .map(|(name, shape, values, stored)| {
            let (dtype, bytes) = match stored {
                Stored::F32 => (Dtype::F32, values.iter().flat_map(|v| v.to_le_bytes()).collect()),
                Stored::I64 => (Dtype::I64, values.iter().flat_map(|&v| (v as i64).to_le_bytes()).collect()),
            };
            (name, shape.to_vec(), dtype, bytes)
        })
        .collect();
    let views = owned
        .iter()
        .map(|(name, shape, dtype, bytes)| TensorView::new(*dtype, shape.clone(), bytes).map(|v| (name.to_string(), v)))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::format(Path::new("<memory>"), e.to_string()))?;
    safetensors::serialize(views, metadata).map_err(|e| Error::format(Path::new("<memory>"), e.to_string()))
}

/// Reads every tensor of a safetensors file (F32, F64, F16, BF16, I64 and I32, converted to f32), with the
/// file's metadata.
///
/// Tensors of other element types are reported as [`WeightProblem::Dtype`] inside an [`Error::WeightFile`].
pub fn read_safetensors(path: &Path) -> Result<(HashMap<String, Tensor>, HashMap<String, String>)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
    let file =
        SafeTensors::deserialize(&bytes).map_err(|e| Error::format(path, format!("not a safetensors file: {e}")))?;
    let metadata = SafeTensors::read_metadata(&bytes)
        .map(|(_, m)| m.metadata().clone().unwrap_or_default())
        .map_err(|e| Error::format(path, format!("not a safetensors file: {e}")))?;
    let mut tensors = HashMap::new();
    let mut problems = Vec::new();
    for (name, view) in file.tensors() {
        let data = view.data();
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
            Dtype::F64 => data
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32)
                .collect(),
            Dtype::F16 => data.chunks_exact(2).map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]]))).collect(),
            Dtype::BF16 => data.chunks_exact(2).map(|b| bf16_to_f32(u16::from_le_bytes([b[0], b[1]]))).collect(),
            Dtype::I64 => data
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32)
                .collect(),
            Dtype::I32 => data.chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32).collect(),
            other => {
                problems.push(WeightProblem::Dtype { name: name.clone(), found: format!("{other:?}") });
                continue;
            }
        };
        tensors.insert(name, Tensor { shape: view.shape().to_vec(), values, dtype: view.dtype() });
    }
    if problems.is_empty() {
        Ok((tensors, metadata))
    } else {
        problems.sort_by_key(ToString::to_string);
        Err(Error::WeightFile { path: path.to_path_buf(), problems })
    }
}

/// The IEEE 754 half-precision value with bits `h`, exactly (every f16 is an f32).
///
/// Written out rather than taken from the `half` crate, whose `zerocopy` derive would add a second major version
/// of `syn` to every build of `nn`.
fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 == 0 { 1.0 } else { -1.0 };
    let exponent = u32::from(h >> 10) & 0x1f;
    let fraction = u32::from(h & 0x3ff);
    match exponent {
        // Zero and subnormals: fraction · 2⁻²⁴, exact in f32.
        0 => sign * fraction as f32 * f32::from_bits(0x3380_0000),
        // Infinities and NaN (keeping the NaN's payload bits).
        31 => f32::from_bits(u32::from(h & 0x8000) << 16 | 0x7f80_0000 | fraction << 13),
        // Normal numbers: rebias the exponent from 15 to 127.
        _ => f32::from_bits(u32::from(h & 0x8000) << 16 | (exponent + 112) << 23 | fraction << 13),
    }
}

/// The bfloat16 value with bits `h`: the top half of an f32.
fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits(u32::from(h) << 16)
}

/// Saves `net`'s parameters and buffers to `path` (atomically) in PyTorch's `state_dict` naming and layout.
pub fn save_weights<N: Network>(net: &N, path: impl AsRef<Path>) -> Result<()> {
    write_atomic(path.as_ref(), &to_safetensors_typed(state_dict(net), None)?)
}

/// Every parameter and buffer tensor of `net` under its PyTorch name, and how to store it.
pub(crate) fn state_dict<N: Network>(net: &N) -> impl Iterator<Item = (&str, &[usize], &[f32], Stored)> {
    let (params, buffers) = (net.params(), net.buffers());
    N::TENSORS.iter().map(move |t| (t.name, t.shape, &params[t.offset..t.offset + t.len()], Stored::F32)).chain(
        N::BUFFER_TENSORS
            .iter()
            .map(move |t| (t.name, t.shape, &buffers[t.offset..t.offset + t.len()], Stored::for_name(t.name))),
    )
}

/// Loads parameters saved by [`save_weights`] or by PyTorch (`safetensors.torch.save_file(model.state_dict())`).
///
/// # Errors
/// [`Error::WeightFile`] listing every tensor that is missing, unexpected, mis-shaped, of an integer type where
/// a float is needed, or holding a NaN or infinity; the network is left unchanged unless every tensor fits.
pub fn load_weights<N: Network>(net: &mut N, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let (mut tensors, _) = read_safetensors(path)?;
    let problems = fit_problems::<N>(&tensors);
    if !problems.is_empty() {
        return Err(Error::WeightFile { path: path.to_path_buf(), problems });
    }
    copy_in(net, |name| tensors.remove(name).expect("checked by fit_problems").values);
    Ok(())
}

/// Copies every parameter and buffer tensor into `net`, `take(name)` giving its values (already checked).
pub(crate) fn copy_in<N: Network>(net: &mut N, mut take: impl FnMut(&str) -> Vec<f32>) {
    for t in N::TENSORS {
        net.params_mut()[t.offset..t.offset + t.len()].copy_from_slice(&take(t.name));
    }
    for t in N::BUFFER_TENSORS {
        net.buffers_mut()[t.offset..t.offset + t.len()].copy_from_slice(&take(t.name));
    }
}

/// Every way `tensors` fails to match `N`'s parameters and buffers, in a stable order.
pub(crate) fn fit_problems<N: Network>(tensors: &HashMap<String, Tensor>) -> Vec<WeightProblem> {
    let mut problems = Vec::new();
    let expected = || N::TENSORS.iter().chain(N::BUFFER_TENSORS);
    for t in expected() {
        match tensors.get(t.name) {
            None => problems.push(WeightProblem::Missing(t.name.to_string())),
            // Integers are PyTorch's type for counters (`num_batches_tracked`), never for trained values.
            Some(found)
                if matches!(found.dtype, Dtype::I64 | Dtype::I32) && Stored::for_name(t.name) == Stored::F32 =>
            {
                problems.push(WeightProblem::Dtype { name: t.name.to_string(), found: format!("{:?}", found.dtype) })
            }
            Some(found) if found.shape != t.shape => problems.push(WeightProblem::Shape {
                name: t.name.to_string(),
                expected: t.shape.to_vec(),
                found: found.shape.clone(),
            }),
            Some(found) => {
                if let Some(index) = found.values.iter().position(|v| !v.is_finite()) {
                    problems.push(WeightProblem::NonFinite { name: t.name.to_string(), index });
                }
            }
        }
    }
    let mut unexpected: Vec<&String> = tensors.keys().filter(|k| !expected().any(|t| t.name == *k)).collect();
    unexpected.sort();
    problems.extend(unexpected.into_iter().map(|k| WeightProblem::Unexpected(k.clone())));
    problems
}

#[cfg(test)]
mod tests {
    use super::{bf16_to_f32, f16_to_f32};

    #[test]
    fn half_precision_values_convert_exactly() {
        let cases: [(u16, f32); 10] = [
            (0x0000, 0.0),
            (0x3c00, 1.0),
            (0xc100, -2.5),
            (0x2e66, 0.099975586),
            (0x7bff, 65504.0),
            (0x0001, 1.0 / 16_777_216.0),    // 2⁻²⁴, the smallest subnormal
            (0x03ff, 1023.0 / 16_777_216.0), // the largest subnormal
            (0x0400, 1.0 / 16384.0),         // 2⁻¹⁴, the smallest normal
            (0x7c00, f32::INFINITY),
            (0xfc00, f32::NEG_INFINITY),
        ];
        for (bits, want) in cases {
            assert_eq!(f16_to_f32(bits), want, "{bits:#06x}");
        }
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
        assert!(f16_to_f32(0x7e00).is_nan());
        // Every finite f16 is an f32 that rounds back to it (the conversion loses nothing).
        for bits in (0..=0xffffu16).filter(|b| (b >> 10) & 0x1f != 31) {
            let v = f16_to_f32(bits);
            assert!(v.is_finite() && v.abs() <= 65504.0, "{bits:#06x}");
        }
        assert_eq!(bf16_to_f32(0x3f80), 1.0);
        assert_eq!(bf16_to_f32(0xbe80), -0.25);
        assert!(bf16_to_f32(0x7fc0).is_nan());
    }
}
