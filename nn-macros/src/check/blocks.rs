//! Checking blocks: a residual's body against its input (or its shortcut), a concatenation's branches against
//! each other, a repetition's chain against itself. Each block gives the shape it would have had when its chains
//! disagree, so checking goes on after it.

use super::{BlockNode, BlockNodeKind, Scope, Walk};
use crate::parse::{error_between, Block, BlockKind, Chain};
use crate::shape::Shape;
use proc_macro2::{Ident, Span};
use quote::format_ident;
use syn::ext::IdentExt;

impl Walk {
    /// Checks `block`, the element at `index` of its chain.
    pub(super) fn block(&mut self, block: &Block, index: usize, input: &Shape, scope: &Scope) -> BlockNode {
        let name = block.name.as_ref().map(|n| n.unraw().to_string());
        let inner = scope.inner(name.as_deref());
        let named = block.name.as_ref().map(|n| (n.clone(), format_ident!("{}", inner.type_name)));
        let at = Site { block, name: block.name.as_ref() };
        let (kind, output) = match &block.kind {
            BlockKind::Residual { body, shortcut } => self.residual(&at, body, shortcut.as_ref(), input, &inner),
            BlockKind::Concat { branches } => self.concat(&at, branches, input, &inner),
            BlockKind::Repeat { count, count_span, body } => {
                self.repeat(&at, (*count, *count_span), body, input, &inner, index)
            }
        };
        let span = block.name.as_ref().map_or(block.keyword.span(), Ident::span);
        BlockNode { named, declaration: block.declaration(), kind, output, index, span }
    }

    /// `body(x) + x`, or `body(x) + shortcut(x)`: the added shapes must agree.
    fn residual(
        &mut self,
        at: &Site<'_>,
        body: &Chain,
        shortcut: Option<&(Ident, Chain)>,
        input: &Shape,
        inner: &Scope,
    ) -> (BlockNodeKind, Shape) {
        self.not_empty(at, body, "a residual block adds its input to what its layers make of it");
        let (body_nodes, body_out) = self.chain(&body.elements, input.clone(), inner);
        let Some((word, chain)) = shortcut else {
            if known(&body_out) && known(input) && !same(&body_out, input) {
                self.error(at.error(format!(
                    "{} adds its input {} to its output {}: give it a `shortcut {{ … }}` that maps {} to {}{}",
                    at.what(),
                    input.shown(),
                    body_out.shown(),
                    input.shown(),
                    body_out.shown(),
                    projection(input, &body_out).map(|p| format!(", e.g. `{p}`")).unwrap_or_default()
                )));
            }
            let output = if known(&body_out) { body_out } else { input.clone() };
            return (BlockNodeKind::Residual { body: body_nodes, shortcut: None }, output);
        };
        let scope = inner.inner(Some("shortcut"));
        if chain.elements.is_empty() {
            self.error(syn::Error::new(
                chain.span,
                "an empty `shortcut { }`: leave it out to add the input itself, or put the layers that map the input \
                 to the body's output inside",
            ));
        }
        let (shortcut_nodes, shortcut_out) = self.chain(&chain.elements, input.clone(), &scope);
        if known(&body_out) && known(&shortcut_out) && !same(&body_out, &shortcut_out) {
            self.error(syn::Error::new(
                word.span(),
                format!(
                    "the shortcut of {} gives {}, but its body gives {}: a residual block adds the two, so they must \
                     agree{}",
                    at.what(),
                    shortcut_out.shown(),
                    body_out.shown(),
                    projection(input, &body_out)
                        .map(|p| format!(" (a shortcut from {} to {} is e.g. `{p}`)", input.shown(), body_out.shown()))
                        .unwrap_or_default()
                ),
            ));
        }
        let output = if known(&body_out) { body_out } else { shortcut_out };
        let field = format_ident!("shortcut");
        let ty = format_ident!("{}", scope.type_name);
        (BlockNodeKind::Residual { body: body_nodes, shortcut: Some((field, ty, shortcut_nodes)) }, output)
    }

    /// Every branch reads the input; their outputs are joined along channels (images) or features (vectors, and
    /// sequences per step), so the other dimensions must agree.
    fn concat(&mut self, at: &Site<'_>, branches: &[Chain], input: &Shape, inner: &Scope) -> (BlockNodeKind, Shape) {
        let mut nodes = Vec::new();
        let mut outputs: Vec<(usize, Shape)> = Vec::new();
        let mut all_known = true;
        for (j, branch) in branches.iter().enumerate() {
            if branch.elements.is_empty() {
                self.error(syn::Error::new(
                    branch.span,
                    format!(
                        "branch {} of {} is empty: a branch needs at least one layer (`Identity` passes the input \
                         through)",
                        j + 1,
                        at.what()
                    ),
                ));
            }
            let scope = Scope { branch: Some(j), ..inner.inner(None) };
            let (chain, output) = self.chain(&branch.elements, input.clone(), &scope);
            if known(&output) {
                outputs.push((j, output));
            } else {
                all_known = false;
            }
            nodes.push(chain);
        }
        let output = match joined(&outputs) {
            Ok(Some(shape)) if all_known => shape,
            Ok(_) => Shape::Unknown,
            Err((j, problem)) => {
                let span = branches[j].elements.first().map_or(branches[j].span, element_span);
                self.error(syn::Error::new(span, format!("branch {} of {}: {problem}", j + 1, at.what())));
                Shape::Unknown
            }
        };
        (BlockNodeKind::Concat { branches: nodes }, output)
    }

    /// `count` copies of `body`, each reading the previous one's output, each with its own weights (`name.0`,
    /// `name.1`, …). Errors are reported for the first copy only: the others repeat them.
    fn repeat(
        &mut self,
        at: &Site<'_>,
        (count, count_span): (u64, Span),
        body: &Chain,
        input: &Shape,
        inner: &Scope,
        index: usize,
    ) -> (BlockNodeKind, Shape) {
        if at.name.is_none() {
            self.error(at.error(format!(
                "an unnamed `Repeat`: name it, as in `blocks: Repeat<{count}> {{ … }}`; its copies' weights are \
                 named after it (`blocks.0.…`, `blocks.1.…`), as in PyTorch's `nn.Sequential`"
            )));
        }
        if count == 0 {
            self.error(syn::Error::new(count_span, "`Repeat<0>` has no copies; use at least 1"));
        }
        self.not_empty(at, body, "each copy runs its layers");
        let base = if at.name.is_some() { inner.prefix.clone() } else { format!("{index}") };
        let (mut copies, mut shape) = (Vec::new(), input.clone());
        for copy in 0..count.max(1) as usize {
            let scope = Scope {
                prefix: format!("{base}.{copy}"),
                type_name: inner.type_name.clone(),
                top: false,
                branch: None,
            };
            if copy == 1 {
                self.quiet += 1;
            }
            let (chain, output) = self.chain(&body.elements, shape.clone(), &scope);
            if copy == 0 && count > 1 && known(&output) && known(input) && !same(&output, input) {
                self.error(at.error(format!(
                    "{} feeds each copy's output to the next copy, so its layers must keep the shape they get, but \
                     they map {} to {}",
                    at.what(),
                    input.shown(),
                    output.shown()
                )));
            }
            copies.push(chain);
            shape = output;
        }
        if count > 1 {
            self.quiet -= 1;
        }
        (BlockNodeKind::Repeat { copies }, shape)
    }

    /// Reports an empty block: `why` says what it needs layers for.
    fn not_empty(&mut self, at: &Site<'_>, chain: &Chain, why: &str) {
        if chain.elements.is_empty() {
            self.error(syn::Error::new(
                chain.span,
                format!(
                    "{} is empty: {why}; put at least one layer inside (`Identity` passes the input through)",
                    at.what()
                ),
            ));
        }
    }
}

/// A block being checked, for its messages.
struct Site<'a> {
    block: &'a Block,
    name: Option<&'a Ident>,
}

impl Site<'_> {
    /// How messages name the block: `` `layer2` `` or `` this `Residual` ``.
    fn what(&self) -> String {
        match self.name {
            Some(name) => format!("`{}`", name.unraw()),
            None => format!("this `{}`", self.block.keyword),
        }
    }

    /// An error under the block's name and keyword.
    fn error(&self, message: impl std::fmt::Display) -> syn::Error {
        error_between(self.block.first, self.block.keyword.span(), message)
    }
}

/// Where an element starts, for errors under a branch.
fn element_span(element: &crate::parse::Element) -> Span {
    match element {
        crate::parse::Element::Layer(item) => item.first,
        crate::parse::Element::Block(block) => block.first,
    }
}

fn known(shape: &Shape) -> bool {
    *shape != Shape::Unknown
}

/// Whether two shapes hold the same values in the same layout (where they came from aside).
fn same(a: &Shape, b: &Shape) -> bool {
    match (a, b) {
        (Shape::Flat { len: x, .. }, Shape::Flat { len: y, .. }) => x == y,
        (Shape::Image(x), Shape::Image(y)) => x == y,
        (Shape::Sequence { steps: s, len: x, .. }, Shape::Sequence { steps: t, len: y, .. }) => s == t && x == y,
        _ => false,
    }
}

/// The layer that maps `from` to `to` in a shortcut, if there is an obvious one: a 1×1 convolution with the
/// stride that divides the sizes, or a `Linear`.
fn projection(from: &Shape, to: &Shape) -> Option<String> {
    match (from, to) {
        (Shape::Image([c, h, w]), Shape::Image([c2, h2, w2])) => {
            let stride = h.div_ceil(*h2);
            let fits = stride >= 1 && (h - 1) / stride + 1 == *h2 && (w - 1) / stride + 1 == *w2;
            fits.then(|| match stride {
                1 => format!("Conv2d<{c}, {c2}, 1>"),
                s => format!("Conv2d<{c}, {c2}, 1, stride = {s}>"),
            })
        }
        (Shape::Flat { len, .. }, Shape::Flat { len: out, .. }) => Some(format!("Linear<{len}, {out}>")),
        (Shape::Sequence { steps: s, len, .. }, Shape::Sequence { steps: t, len: out, .. }) if s == t => {
            Some(format!("Linear<{len}, {out}>"))
        }
        _ => None,
    }
}

/// The concatenation of the branches' `outputs` (by branch index; unknown ones left out), or the first branch
/// that does not fit the first one, with what differs.
fn joined(outputs: &[(usize, Shape)]) -> Result<Option<Shape>, (usize, String)> {
    let Some((first_branch, first)) = outputs.first() else { return Ok(None) };
    let mut total = first.len();
    for (j, shape) in &outputs[1..] {
        let problem =
            match (first, shape) {
                (Shape::Image([_, h, w]), Shape::Image([_, h2, w2])) if h != h2 || w != w2 => Some(format!(
                "it gives {}, but branch {} gives {}: `Concat` joins images along their channels, so their {} must \
                 agree",
                shape.shown(),
                first_branch + 1,
                first.shown(),
                if h != h2 && w != w2 { "heights and widths" } else if h != h2 { "heights" } else { "widths" }
            )),
                (Shape::Sequence { steps: s, .. }, Shape::Sequence { steps: t, .. }) if s != t => Some(format!(
                    "it gives {}, but branch {} gives {}: `Concat` joins sequences step by step, so their steps must \
                 agree",
                    shape.describe(),
                    first_branch + 1,
                    first.describe()
                )),
                (Shape::Image(_), Shape::Image(_))
                | (Shape::Flat { .. }, Shape::Flat { .. })
                | (Shape::Sequence { .. }, Shape::Sequence { .. }) => None,
                _ => Some(format!(
                    "it gives {}, but branch {} gives {}: `Concat` joins images with images (along channels), vectors \
                 with vectors and sequences with sequences (along features)",
                    kind_of(shape),
                    first_branch + 1,
                    kind_of(first)
                )),
            };
        if let Some(problem) = problem {
            return Err((*j, problem));
        }
        total += shape.len();
    }
    let shape = match first {
        Shape::Image([_, h, w]) => {
            let channels = outputs.iter().map(|(_, s)| s.dims()[0]).sum();
            Shape::image(channels, *h, *w)
        }
        Shape::Sequence { steps, .. } => Shape::sequence(*steps, total),
        _ => Shape::flat(total),
    };
    shape.map(Some).map_err(|message| (outputs.last().map_or(0, |o| o.0), message))
}

/// A shape as a kind and size: `a 8×28×28 image`, `256 features`, `a sequence of steps of 16 values`.
fn kind_of(shape: &Shape) -> String {
    match shape {
        Shape::Image(_) => format!("a {} image", shape.shown()),
        Shape::Flat { len, .. } => format!("{len} features"),
        other => other.describe(),
    }
}
