//! The syntax of `supervisor! { pub Name { key: value, ... } }`, as written.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{
    braced, bracketed, parenthesized, token, Attribute, Expr, Ident, LitInt, PatType, Token,
    Visibility,
};

pub(crate) struct Input {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    /// `App(config: Config, port: u16)`: what `start` takes, in scope in
    /// the children's expressions.
    pub args: Vec<PatType>,
    pub brace: token::Brace,
    pub entries: Vec<Entry>,
}

/// One `key: value` of the tree's body.
pub(crate) struct Entry {
    pub key: Ident,
    pub value: Value,
}

pub(crate) enum Value {
    /// `strategy: one_for_one`
    Word(Ident),
    /// `intensity: 3 per 5s`
    Intensity { max: LitInt, within: LitInt },
    /// `children: [ id: expr, ... ]`
    Children {
        bracket: token::Bracket,
        children: Vec<(Ident, Expr)>,
    },
    /// Anything else, kept for the error message.
    Other(Expr),
}

syn::custom_keyword!(per);

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let name = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "supervisor! starts with the tree's name: `supervisor! { pub App { strategy: ..., children: [...] } }`",
            )
        })?;
        let args = args(input)?;
        let content;
        let brace = braced!(content in input);
        let entries = Punctuated::<Entry, Token![,]>::parse_terminated(&content)?;
        Ok(Input {
            attrs,
            vis,
            name,
            args,
            brace,
            entries: entries.into_iter().collect(),
        })
    }
}

impl Parse for Entry {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        let value = match key.to_string().as_str() {
            "strategy"
                if input.peek(Ident)
                    && (input.peek2(Token![,]) || input.peek2(syn::parse::End)) =>
            {
                Value::Word(input.parse()?)
            }
            "intensity" => {
                let max: LitInt = input.parse().map_err(|e| intensity_error(e.span()))?;
                input
                    .parse::<per>()
                    .map_err(|e| intensity_error(e.span()))?;
                let within: LitInt = input.parse().map_err(|e| intensity_error(e.span()))?;
                if !(input.is_empty() || input.peek(Token![,])) {
                    return Err(intensity_error(input.span()));
                }
                Value::Intensity { max, within }
            }
            "children" if input.peek(token::Bracket) => {
                let content;
                let bracket = bracketed!(content in input);
                let children = Punctuated::<Child, Token![,]>::parse_terminated(&content)?;
                Value::Children {
                    bracket,
                    children: children.into_iter().map(|c| (c.id, c.spec)).collect(),
                }
            }
            _ => Value::Other(input.parse()?),
        };
        Ok(Entry { key, value })
    }
}

fn intensity_error(span: proc_macro2::Span) -> syn::Error {
    syn::Error::new(
        span,
        "intensity is written `MAX per DURATION`, as `3 per 5s` (durations: `500ms`, `5s`, `1m`)",
    )
}

/// `id: expr` in the children list.
struct Child {
    id: Ident,
    spec: Expr,
}

impl Parse for Child {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let id = input.parse()?;
        input.parse::<Token![:]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                "each child is written `id: spec`, as `store: KvStore::child(())`",
            )
        })?;
        let spec = input.parse()?;
        Ok(Child { id, spec })
    }
}

/// `(name: Type, ...)` after the tree's name, if there is one.
fn args(input: ParseStream) -> syn::Result<Vec<PatType>> {
    if !input.peek(token::Paren) {
        return Ok(Vec::new());
    }
    let content;
    parenthesized!(content in input);
    let args = Punctuated::<PatType, Token![,]>::parse_terminated_with(&content, |input| {
        let pat = syn::Pat::parse_single(input)?;
        let colon = input.parse::<Token![:]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                "a tree's arguments are written `name: Type`, as `App(config: Config)`",
            )
        })?;
        let ty = input.parse()?;
        Ok(PatType {
            attrs: Vec::new(),
            pat: Box::new(pat),
            colon_token: colon,
            ty: Box::new(ty),
        })
    })?;
    Ok(args.into_iter().collect())
}

/// The start of a tree that does not parse as a whole: its attributes,
/// visibility, name and arguments, for the stub the failed expansion still
/// writes.
pub(crate) fn head(
    input: TokenStream,
) -> Option<(Vec<Attribute>, Visibility, Ident, Vec<PatType>)> {
    let parser = |input: ParseStream| {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let name = input.parse()?;
        let args = args(input).unwrap_or_default();
        // The rest is what failed; it is reported already.
        input.parse::<TokenStream>()?;
        Ok((attrs, vis, name, args))
    };
    syn::parse::Parser::parse2(parser, input).ok()
}
