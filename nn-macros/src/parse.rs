//! Stage 1: the DSL grammar into our own AST. Every node keeps the spans errors will point at.
//!
//! ```text
//! networks := network*
//! network  := attribute* visibility `struct` Ident `{` chain `}`   (`#[weights = "…"]`, `#[network(crate = "…")]`)
//! chain    := element (`->` element)*
//! element  := (Ident `:`)? (layer | block)
//! layer    := Ident (`<` arg (`,` arg)* `,`? `>`)?
//! block    := `Residual` `{` chain? `}` (`shortcut` `{` chain? `}`)?
//!           | `Concat` `{` chain? (`|` chain?)* `}`
//!           | `Repeat` `<` integer `>` `{` chain? `}`
//! arg      := Ident `=` value | value
//! value    := `-`? integer | `-`? float | `true` | `false` | Ident | string | `Seq` | `Seq` `<` integer `>`
//!           | `Tokens` `<` integer `>`
//! ```
//!
//! Common slips get a hint instead of syn's generic message: a keyword as a layer name, generic parameters on
//! the network, arguments in parentheses, doc comments on layers, a trailing `->`, an unclosed `<`. An empty
//! block parses (the checker reports it, so the network's other mistakes are reported too).
//!
//! `Input<...>` is parsed like any other layer; the checker decides whether it stands where it must.

use proc_macro2::{Punct, Spacing, Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{braced, Attribute, Ident, Lit, Token, Visibility};

/// Everything one `network!` invocation declares.
pub struct Networks(pub Vec<Network>);

/// One `struct Name { Input<...> -> ... }` declaration.
pub struct Network {
    /// Its attributes but `#[weights = ...]`, which are put on the struct.
    pub attrs: Vec<Attribute>,
    /// `#[weights = "path"]`: the attribute (errors about the file go under it) and the path.
    pub weights: Option<(Attribute, syn::LitStr)>,
    /// `#[network(crate = "path")]`: where generated code finds the facade, when not as `Cargo.toml` names it.
    pub krate: Option<syn::Path>,
    pub vis: Visibility,
    pub name: Ident,
    /// The chain in its braces, `Input<...>` first.
    pub chain: Chain,
}

/// Elements joined by `->`, in braces (the network's, or a block's).
pub struct Chain {
    pub elements: Vec<Element>,
    /// Span of the braces, for errors about the chain as a whole (an empty block).
    pub span: Span,
}

/// One element of a chain: a layer or a block.
pub enum Element {
    Layer(Item),
    Block(Block),
}

/// `name: Residual { ... }`, `Concat { ... | ... }` or `Repeat<N> { ... }`.
pub struct Block {
    pub name: Option<Ident>,
    /// `Residual`, `Concat` or `Repeat`, where errors about the block as a whole go.
    pub keyword: Ident,
    pub kind: BlockKind,
    /// First and last token of the block.
    pub first: Span,
    pub last: Span,
}

/// What a block holds.
pub enum BlockKind {
    /// `Residual { body }`: `body(x) + x`; with `shortcut { ... }`, `body(x) + shortcut(x)`.
    Residual { body: Chain, shortcut: Option<(Ident, Chain)> },
    /// `Concat { a | b | ... }`: every branch reads the input; their outputs are concatenated.
    Concat { branches: Vec<Chain> },
    /// `Repeat<N> { body }`: `N` copies of `body`, one after the other, each with its own weights. `count` is
    /// `None` if it is not a number (reported while parsing).
    Repeat { count: u64, count_span: Span, body: Chain },
}

impl Element {
    /// An error underlining the whole element.
    pub fn error(&self, message: impl std::fmt::Display) -> syn::Error {
        match self {
            Element::Layer(item) => item.error(message),
            Element::Block(block) => error_between(block.first, block.last, message),
        }
    }

    /// The element as written, for messages: `Linear<4, 8>`, `Residual { … }`.
    pub fn declaration(&self) -> String {
        match self {
            Element::Layer(item) => item.declaration(),
            Element::Block(block) => block.declaration(),
        }
    }
}

impl Block {
    /// The block as messages show it: `Residual { … }`, `Repeat<2> { … }`.
    pub fn declaration(&self) -> String {
        match &self.kind {
            BlockKind::Repeat { count, .. } => format!("Repeat<{count}> {{ … }}"),
            _ => format!("{} {{ … }}", self.keyword),
        }
    }
}

/// One element of the chain: `name: Kind<args>` (name optional, args optional).
pub struct Item {
    pub name: Option<Ident>,
    pub kind: Ident,
    pub args: Vec<Arg>,
    /// First and last token of the item, so an error can underline all of it.
    pub first: Span,
    pub last: Span,
}

/// A positional (`5`) or named (`stride = 2`) argument.
pub struct Arg {
    pub key: Option<Ident>,
    pub value: Value,
    pub first: Span,
    pub last: Span,
}

/// The value of an argument, as written.
pub enum Value {
    Int(u64),
    Float(f64),
    Bool(bool),
    Ident(Ident),
    /// A negative integer: never a valid size, but worth a precise error.
    NegativeInt(u64),
    /// A string literal (`approximate = "tanh"`).
    Str(String),
    /// `Seq` (any number of steps) or `Seq<T>`, the time axis of an input.
    Seq(Option<u64>),
    /// `Tokens<V>`: an input of token ids below `V`.
    Tokens(u64),
}

impl Value {
    /// The value as the user wrote it, for messages.
    pub fn text(&self) -> String {
        match self {
            Value::Int(v) => v.to_string(),
            Value::NegativeInt(v) => format!("-{v}"),
            Value::Float(v) => format_float(*v),
            Value::Bool(v) => v.to_string(),
            Value::Ident(i) => i.to_string(),
            Value::Str(v) => format!("{v:?}"),
            Value::Seq(None) => "Seq".into(),
            Value::Seq(Some(t)) => format!("Seq<{t}>"),
            Value::Tokens(v) => format!("Tokens<{v}>"),
        }
    }

    /// The name an identifier or string stands for (`tanh` or `"tanh"`), or the text of anything else.
    pub fn name(&self) -> String {
        match self {
            Value::Ident(i) => i.to_string(),
            Value::Str(v) => v.clone(),
            other => other.text(),
        }
    }
}

/// Formats a float so it reads back as a float (`1.0`, not `1`).
pub fn format_float(v: f64) -> String {
    let s = v.to_string();
    if s.contains(['.', 'e', 'i', 'N']) {
        s
    } else {
        format!("{s}.0")
    }
}

impl Item {
    /// The item as written, normalised: `Conv2d<3, 16, 3, stride = 2>`.
    pub fn declaration(&self) -> String {
        if self.args.is_empty() {
            return self.kind.to_string();
        }
        let args: Vec<String> = self.args.iter().map(Arg::text).collect();
        format!("{}<{}>", self.kind, args.join(", "))
    }

    /// An error underlining the whole item.
    pub fn error(&self, message: impl std::fmt::Display) -> syn::Error {
        error_between(self.first, self.last, message)
    }
}

impl Arg {
    /// The argument as written: `5` or `stride = 2`.
    pub fn text(&self) -> String {
        match &self.key {
            Some(k) => format!("{k} = {}", self.value.text()),
            None => self.value.text(),
        }
    }

    /// An error underlining this argument.
    pub fn error(&self, message: impl std::fmt::Display) -> syn::Error {
        error_between(self.first, self.last, message)
    }
}

/// An error spanning from `first` to `last`. On stable Rust spans cannot be joined, but `syn::Error` keeps the
/// first and last token of what it is given and underlines everything between.
pub fn error_between(first: Span, last: Span, message: impl std::fmt::Display) -> syn::Error {
    let token = |span| {
        let mut p = Punct::new('.', Spacing::Alone);
        p.set_span(span);
        TokenTree::Punct(p)
    };
    let tokens: TokenStream = [token(first), token(last)].into_iter().collect();
    syn::Error::new_spanned(tokens, message)
}

impl Parse for Networks {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut networks = Vec::new();
        while !input.is_empty() {
            networks.push(input.parse()?);
        }
        if networks.is_empty() {
            return Err(input.error("expected a network: `pub struct Name { Input<...> -> Layer<...> -> ... }`"));
        }
        Ok(Networks(networks))
    }
}

impl Parse for Network {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut attrs = input.call(Attribute::parse_outer)?;
        let weights = weights_attribute(&mut attrs)?;
        let krate = crate_attribute(&mut attrs)?;
        let vis = input.parse()?;
        input.parse::<Token![struct]>()?;
        let name: Ident = input.parse()?;
        if input.peek(Token![<]) {
            return Err(syn::Error::new(
                input.span(),
                format!(
                    "a network cannot be generic: its sizes are fixed by its declaration; remove the parameters after \
                     `{name}` and declare one network per size"
                ),
            ));
        }
        let chain = Chain::braced(input)?;
        if chain.elements.is_empty() {
            return Err(syn::Error::new(
                chain.span,
                "a network needs at least an input: `{ Input<784> -> Linear<784, 10> }`",
            ));
        }
        Ok(Network { attrs, weights, krate, vis, name, chain })
    }
}

impl Chain {
    /// A chain in braces, possibly empty.
    fn braced(input: ParseStream) -> syn::Result<Self> {
        let body;
        let brace = braced!(body in input);
        let elements = Self::elements(&body)?;
        if body.peek(Token![|]) {
            return Err(
                body.error("`|` separates the branches of a `Concat { A | B }`; a chain joins layers with `->`")
            );
        }
        Ok(Chain { elements, span: brace.span.join() })
    }

    /// Elements separated by `->`, up to the end of `input` or a `|`.
    fn elements(input: ParseStream) -> syn::Result<Vec<Element>> {
        let mut elements = Vec::new();
        if input.is_empty() || input.peek(Token![|]) {
            return Ok(elements);
        }
        loop {
            elements.push(input.parse()?);
            if input.is_empty() || input.peek(Token![|]) {
                return Ok(elements);
            }
            if input.peek(Token![#]) {
                return Err(doc_on_layer(input));
            }
            let arrow = input
                .parse::<Token![->]>()
                .map_err(|e| syn::Error::new(e.span(), "expected `->` and the next layer, or the end of the chain"))?;
            if input.is_empty() || input.peek(Token![|]) {
                return Err(syn::Error::new(
                    arrow.spans[0],
                    "a `->` must be followed by a layer or a block; remove the trailing `->` or add what comes next",
                ));
            }
        }
    }
}

/// Removes `#[network(crate = "path")]` from `attrs` and returns the path (a second one, or another form, is an
/// error).
fn crate_attribute(attrs: &mut Vec<Attribute>) -> syn::Result<Option<syn::Path>> {
    let usage = "expected `#[network(crate = \"path\")]`, the path through which the generated code names the \
                 facade crate (`#[network(crate = \"my_crate::nn\")]` where `my_crate` re-exports it)";
    let mut found: Option<syn::Path> = None;
    let mut kept = Vec::new();
    for attr in attrs.drain(..) {
        if !attr.path().is_ident("network") {
            kept.push(attr);
            continue;
        }
        if found.is_some() {
            return Err(syn::Error::new_spanned(&attr, "a second `#[network(crate = …)]` attribute"));
        }
        let mut path = None;
        attr.parse_nested_meta(|meta| {
            if !meta.path.is_ident("crate") {
                return Err(meta.error(usage));
            }
            let value: syn::LitStr = meta.value()?.parse()?;
            path =
                Some(value.parse::<syn::Path>().map_err(|_| {
                    syn::Error::new(value.span(), format!("`{}` is not a path; {usage}", value.value()))
                })?);
            Ok(())
        })?;
        found = Some(path.ok_or_else(|| syn::Error::new_spanned(&attr, usage))?);
    }
    *attrs = kept;
    Ok(found)
}

/// Removes `#[weights = "path"]` from `attrs` and returns it (a second one, or another form, is an error).
fn weights_attribute(attrs: &mut Vec<Attribute>) -> syn::Result<Option<(Attribute, syn::LitStr)>> {
    let mut found = None;
    let mut kept = Vec::new();
    for attr in attrs.drain(..) {
        if !attr.path().is_ident("weights") {
            kept.push(attr);
            continue;
        }
        let usage =
            "expected `#[weights = \"path/to/weights.safetensors\"]`, a path relative to the crate's Cargo.toml";
        let syn::Meta::NameValue(meta) = &attr.meta else { return Err(syn::Error::new_spanned(&attr, usage)) };
        let syn::Expr::Lit(syn::ExprLit { lit: Lit::Str(path), .. }) = &meta.value else {
            return Err(syn::Error::new_spanned(&attr, usage));
        };
        if found.is_some() {
            let message = "a second `#[weights]` attribute; a network embeds one weights file";
            return Err(syn::Error::new_spanned(&attr, message));
        }
        found = Some((attr.clone(), path.clone()));
    }
    *attrs = kept;
    Ok(found)
}

impl Parse for Element {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(Token![#]) {
            return Err(doc_on_layer(input));
        }
        let first = input.span();
        let name = element_name(input)?;
        let keyword = input.fork().parse::<Ident>().ok();
        let block = |k: &str| keyword.as_ref().is_some_and(|i| i == k);
        if block("Residual") || block("Concat") || block("Repeat") {
            let keyword: Ident = input.parse()?;
            return Ok(Element::Block(block_rest(input, name, keyword, first)?));
        }
        Ok(Element::Layer(Item::rest(input, name, first)?))
    }
}

/// `name:` before a layer or block, if there is one.
fn element_name(input: ParseStream) -> syn::Result<Option<Ident>> {
    if !input.peek2(Token![:]) || input.peek2(Token![::]) {
        return Ok(None);
    }
    // `parse_any` takes keywords too, so that a keyword gets a hint rather than "expected identifier".
    let name = Ident::parse_any(input)?;
    if is_keyword(&name) {
        return Err(syn::Error::new(
            name.span(),
            format!("`{name}` is a Rust keyword; name the layer `r#{name}` or choose another name"),
        ));
    }
    input.parse::<Token![:]>()?;
    Ok(Some(name))
}

/// A block after its keyword.
fn block_rest(input: ParseStream, name: Option<Ident>, keyword: Ident, first: Span) -> syn::Result<Block> {
    let usage = match keyword.to_string().as_str() {
        "Residual" => "`Residual { CHAIN }` or `Residual { CHAIN } shortcut { CHAIN }`",
        "Concat" => "`Concat { CHAIN | CHAIN | ... }`",
        _ => "`name: Repeat<N> { CHAIN }`",
    };
    let mut count = None;
    if keyword == "Repeat" {
        if !input.peek(Token![<]) {
            return Err(syn::Error::new(keyword.span(), format!("`Repeat` takes its number of copies: {usage}")));
        }
        input.parse::<Token![<]>()?;
        let n: syn::LitInt = input.parse().map_err(|e| {
            syn::Error::new(e.span(), format!("`Repeat<N>` takes a number of copies, e.g. `Repeat<2>`: {usage}"))
        })?;
        input.parse::<Token![>]>().map_err(|e| syn::Error::new(e.span(), format!("expected `>`: {usage}")))?;
        count = Some((n.base10_parse::<u64>()?, n.span()));
    } else if input.peek(Token![<]) {
        return Err(syn::Error::new(input.span(), format!("`{keyword}` takes no arguments: {usage}")));
    }
    if !input.peek(syn::token::Brace) {
        return Err(syn::Error::new(keyword.span(), format!("`{keyword}` needs its layers in braces: {usage}")));
    }
    let (kind, last) = match (keyword.to_string().as_str(), count) {
        ("Concat", _) => {
            let body;
            let brace = braced!(body in input);
            let mut branches = Vec::new();
            loop {
                let span = body.span();
                branches.push(Chain { elements: Chain::elements(&body)?, span });
                if body.is_empty() {
                    break;
                }
                body.parse::<Token![|]>()?;
            }
            (BlockKind::Concat { branches }, brace.span.close())
        }
        ("Residual", _) => {
            let body = Chain::braced(input)?;
            let mut last = body.span;
            let shortcut = if input.peek(syn::Ident) && input.fork().parse::<Ident>().is_ok_and(|i| i == "shortcut") {
                let word: Ident = input.parse()?;
                if !input.peek(syn::token::Brace) {
                    return Err(syn::Error::new(
                        word.span(),
                        "`shortcut` needs its layers in braces: `shortcut { CHAIN }`",
                    ));
                }
                let chain = Chain::braced(input)?;
                last = chain.span;
                Some((word, chain))
            } else {
                None
            };
            (BlockKind::Residual { body, shortcut }, last)
        }
        (_, Some((count, count_span))) => {
            let body = Chain::braced(input)?;
            let last = body.span;
            (BlockKind::Repeat { count, count_span, body }, last)
        }
        _ => unreachable!("a block keyword"),
    };
    Ok(Block { name, keyword, kind, first, last })
}

impl Item {
    /// A layer after its name: its kind and arguments.
    fn rest(input: ParseStream, name: Option<Ident>, first: Span) -> syn::Result<Self> {
        let kind: Ident = input.parse().map_err(|e| {
            syn::Error::new(e.span(), "expected a layer, such as `Linear<784, 10>`, `ReLU` or `Flatten`")
        })?;
        let mut last = kind.span();
        let mut args = Vec::new();
        if input.peek(syn::token::Paren) {
            return Err(syn::Error::new(
                input.span(),
                format!("layer arguments go in angle brackets: write `{kind}<...>`, as in `Linear<784, 10>`"),
            ));
        }
        if input.peek(Token![<]) {
            let open = input.parse::<Token![<]>()?;
            let unclosed = |at: Span| {
                syn::Error::new(
                    at,
                    format!("`{kind}<` is not closed: end its arguments with `>`, as in `Linear<784, 10>`"),
                )
            };
            while !input.peek(Token![>]) {
                if input.is_empty() || input.peek(Token![->]) {
                    return Err(unclosed(open.span));
                }
                args.push(input.parse::<Arg>()?);
                if !input.peek(Token![>]) {
                    if input.is_empty() || input.peek(Token![->]) {
                        return Err(unclosed(open.span));
                    }
                    input.parse::<Token![,]>().map_err(|e| {
                        syn::Error::new(e.span(), format!("expected `,` before the next argument of `{kind}`, or `>`"))
                    })?;
                }
            }
            last = input.parse::<Token![>]>()?.span;
        }
        Ok(Item { name, kind, args, first, last })
    }
}

/// The error for an attribute or doc comment inside the chain.
fn doc_on_layer(input: ParseStream) -> syn::Error {
    let span = input.span();
    syn::Error::new(
        span,
        "layers take no attributes or doc comments; use a `//` comment here, or document the network above its \
         `struct`",
    )
}

/// Whether `ident` is a keyword that cannot name a field without `r#`.
fn is_keyword(ident: &Ident) -> bool {
    let text = ident.to_string();
    !text.starts_with("r#") && syn::parse_str::<Ident>(&text).is_err()
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let first = input.span();
        let key = if input.peek(syn::Ident) && input.peek2(Token![=]) {
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            Some(key)
        } else {
            None
        };
        let last = input.span();
        let value = input.parse()?;
        Ok(Arg { key, value, first, last })
    }
}

impl Parse for Value {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let negative = input.parse::<Option<Token![-]>>()?.is_some();
        if !negative && input.peek(syn::Ident) {
            let ident: Ident = input.parse()?;
            if ident == "Tokens" && input.peek(Token![<]) {
                input.parse::<Token![<]>()?;
                let vocab: syn::LitInt = input.parse().map_err(|e| {
                    syn::Error::new(e.span(), "`Tokens<VOCAB>` takes the number of distinct ids, e.g. `Tokens<100>`")
                })?;
                input.parse::<Token![>]>()?;
                return Ok(Value::Tokens(vocab.base10_parse()?));
            }
            if ident != "Seq" {
                return Ok(Value::Ident(ident));
            }
            if !input.peek(Token![<]) {
                return Ok(Value::Seq(None));
            }
            input.parse::<Token![<]>()?;
            let steps: syn::LitInt = input
                .parse()
                .map_err(|e| syn::Error::new(e.span(), "`Seq<STEPS>` takes the number of steps, e.g. `Seq<28>`"))?;
            input.parse::<Token![>]>()?;
            return Ok(Value::Seq(Some(steps.base10_parse()?)));
        }
        let lit: Lit = input
            .parse()
            .map_err(|e| syn::Error::new(e.span(), "expected a number, `true`, `false`, a name or a string"))?;
        let sign = if negative { -1.0 } else { 1.0 };
        match lit {
            Lit::Int(i) => {
                let v = i.base10_parse::<u64>()?;
                Ok(if negative { Value::NegativeInt(v) } else { Value::Int(v) })
            }
            Lit::Float(f) => Ok(Value::Float(sign * f.base10_parse::<f64>()?)),
            Lit::Bool(b) if !negative => Ok(Value::Bool(b.value)),
            Lit::Str(v) if !negative => Ok(Value::Str(v.value())),
            other => Err(syn::Error::new(other.span(), "expected a number, `true`, `false` or a name")),
        }
    }
}
