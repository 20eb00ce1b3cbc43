//! The fields of the generated structs: the network's own, and one struct type per named block (the copies of
//! a `Repeat` share one). A layer's field holds its descriptor; a named block's holds a struct of its layers; a
//! `Repeat`'s holds an array of such structs, one per copy.

use super::Lower;
use proc_macro2::Ident;

/// The fields of one struct value, in declaration order.
#[derive(Default)]
pub struct Fields(pub Vec<(Ident, FieldValue)>);

/// What a field holds.
pub enum FieldValue {
    /// The descriptor of layer `Graph::layers[i]`.
    Layer(usize),
    /// A named block's struct (`Graph::types[ty]`) with these fields; `doc` documents the field.
    Struct { ty: usize, fields: Fields, doc: String },
    /// A `Repeat`'s copies, each a struct `Graph::types[ty]`.
    Array { ty: usize, copies: Vec<Fields>, doc: String },
}

/// A struct type generated for a named block (its fields are those of any of its values: every one has the same
/// field types).
pub struct StructType {
    pub name: Ident,
    /// What the struct is: "The layers of `layer2: Residual { … }`".
    pub doc: String,
}

impl Fields {
    pub fn push(&mut self, field: Ident, value: FieldValue) {
        self.0.push((field, value));
    }

    pub fn extend(&mut self, other: Fields) {
        self.0.extend(other.0);
    }
}

impl Lower {
    /// The index of the struct type `name` (registered on first use: the copies of a `Repeat` share one).
    pub(super) fn struct_type(&mut self, name: Ident, doc: String) -> usize {
        match self.types.iter().position(|t| t.name == name) {
            Some(i) => i,
            None => {
                self.types.push(StructType { name, doc });
                self.types.len() - 1
            }
        }
    }
}
