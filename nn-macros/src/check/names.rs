//! Names: every field of a generated struct — the network's, or a named block's — must be unique, counting the
//! `layer{index}` names of unnamed layers with parameters, and must not be a name the generated code uses. An
//! unnamed `Residual` or `Concat` adds its fields to the struct it stands in (its tensor names take no prefix),
//! so its names must be unique there.

use super::{is_reserved_name, BlockNode, BlockNodeKind, Node, RESERVED};
use crate::ctxt::Ctxt;
use proc_macro2::Span;
use syn::ext::IdentExt;

/// A field of a struct, as declared (or the generated name of an unnamed layer without one, which a named
/// layer may not take either).
struct Field<'a> {
    name: String,
    /// Whether the user wrote the name (else it was generated: `layer3`).
    named: bool,
    /// Whether the struct gets the field (named, or holding parameters or buffers).
    real: bool,
    declaration: &'a str,
    index: usize,
    span: Span,
}

/// Checks the names of the network's struct and of every named block's.
pub fn check(chain: &[Node], cx: &mut Ctxt) {
    let mut fields = Vec::new();
    collect(chain, &mut fields, cx);
    report(&fields, cx);
}

/// The fields `chain` adds to the struct it stands in; the structs of named blocks are checked on their own.
fn collect<'a>(chain: &'a [Node], fields: &mut Vec<Field<'a>>, cx: &mut Ctxt) {
    for node in chain {
        match node {
            Node::Layer(l) => fields.push(Field {
                name: l.field.unraw().to_string(),
                named: l.named,
                real: l.has_field,
                declaration: &l.declaration,
                index: l.index,
                span: l.span,
            }),
            Node::Block(b) => match &b.named {
                Some((field, _)) => {
                    fields.push(Field {
                        name: field.unraw().to_string(),
                        named: true,
                        real: true,
                        declaration: &b.declaration,
                        index: b.index,
                        span: b.span,
                    });
                    let mut own = Vec::new();
                    contents(b, &mut own, cx);
                    report(&own, cx);
                }
                None => contents(b, fields, cx),
            },
        }
    }
}

/// The fields a block's chains give the struct they stand in: a residual's body and its `shortcut` (a struct of
/// its own), a concatenation's branches, the first copy of a repetition (every copy is one struct).
fn contents<'a>(block: &'a BlockNode, fields: &mut Vec<Field<'a>>, cx: &mut Ctxt) {
    match &block.kind {
        BlockNodeKind::Residual { body, shortcut } => {
            collect(body, fields, cx);
            if let Some((field, _, chain)) = shortcut {
                fields.push(Field {
                    name: field.to_string(),
                    named: true,
                    real: true,
                    declaration: "shortcut { … }",
                    index: block.index,
                    span: field.span(),
                });
                let mut own = Vec::new();
                collect(chain, &mut own, cx);
                report(&own, cx);
            }
        }
        BlockNodeKind::Concat { branches } => branches.iter().for_each(|b| collect(b, fields, cx)),
        BlockNodeKind::Repeat { copies } => {
            if let Some(first) = copies.first() {
                let mut own = Vec::new();
                collect(first, &mut own, cx);
                report(&own, cx);
            }
        }
    }
}

/// Reports reserved and duplicate names among one struct's `fields`.
fn report(fields: &[Field<'_>], cx: &mut Ctxt) {
    for (i, field) in fields.iter().enumerate() {
        if !field.named {
            continue;
        }
        let text = &field.name;
        if let Some((_, what)) = RESERVED.iter().find(|(r, _)| r == text) {
            cx.push(syn::Error::new(field.span, format!("`{text}` is reserved for {what}; choose another layer name")));
            continue;
        }
        if is_reserved_name(text) {
            cx.push(syn::Error::new(
                field.span,
                format!(
                    "`{text}`: names starting with `__` are reserved for the code `network!` generates; choose \
                     another layer name"
                ),
            ));
            continue;
        }
        // An unnamed layer without parameters has no field: its generated name is free to take.
        let clash = fields.iter().enumerate().find(|(other, f)| *other != i && f.name == *text && (f.named || f.real));
        match clash {
            Some((_, other)) if !other.named => cx.push(syn::Error::new(
                field.span,
                format!(
                    "layer name `{text}` is already the generated name of the unnamed `{}` at index {}; choose \
                     another name",
                    other.declaration, other.index
                ),
            )),
            Some((other, earlier)) if other < i => cx.push(syn::Error::new(
                field.span,
                format!(
                    "duplicate layer name `{text}`: the earlier `{}` already has it; layer names become struct \
                     fields and must be unique",
                    earlier.declaration
                ),
            )),
            _ => {}
        }
    }
    // Two unnamed layers whose generated names clash (an unnamed block's layers beside the chain's own), one of
    // them with tensors.
    for (i, field) in fields.iter().enumerate().filter(|(_, f)| !f.named) {
        if fields[..i].iter().any(|f| !f.named && f.name == field.name && (f.real || field.real)) {
            cx.push(syn::Error::new(
                field.span,
                format!(
                    "this unnamed `{}` would be field `{}` with tensors `{}.…`, as would an earlier unnamed layer of \
                     the same struct; name one of them",
                    field.declaration,
                    field.name,
                    field.name.trim_start_matches("layer").replace('_', ".")
                ),
            ));
        }
    }
}
