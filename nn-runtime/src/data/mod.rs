//! Data sets and loading: IDX (MNIST, Fashion-MNIST), CIFAR-10 binary, the 8×8 digits CSV, generated two moons,
//! a batch loader, and image augmentation.
//!
//! Every reader returns samples as the network's own input type (`X: Sample`), with pixels scaled to `[0, 1]`,
//! and reports a malformed file as an [`Error`](crate::Error) naming the file and the problem — never a panic.

mod augment;
mod cifar;
mod dataset;
mod digits;
mod file;
mod idx;
mod loader;
mod samples;
mod synthetic;

pub use augment::Augment;
pub use cifar::{load_cifar10, load_cifar10_batch, parse_cifar10, CIFAR10_CLASSES};
pub use dataset::{one_hot, Dataset};
pub use digits::{load_digits, parse_digits};
pub use file::{read_maybe_gzip, MAX_FILE_BYTES};
pub use idx::{
    load_idx, load_mnist, parse_idx_images, parse_idx_labels, read_idx_images, read_idx_labels, IdxImages,
    FASHION_MNIST_CLASSES,
};
pub use loader::Loader;
pub use samples::{Reconstruction, Samples};
pub use synthetic::two_moons;

#[cfg(test)]
mod tests;
