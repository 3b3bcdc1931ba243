//! What `#[genserver(...)]` is put on, and its options.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Item, ItemImpl, ItemStruct, Lit, LitStr, Meta, Token};

use crate::duration::millis_of_expr;
use crate::errors::Errors;

pub(crate) enum Target {
    Struct(ItemStruct, Options),
    Impl(ItemImpl, Options),
    /// Something `#[genserver]` does not go on: given back as it is.
    Other(Item),
}

/// Options as written; each keeps its span for error messages.
#[derive(Default)]
pub(crate) struct Options {
    pub name: Option<LitStr>,
    /// In milliseconds, with the span of the value.
    pub call_timeout: Option<(Span, u64)>,
    /// `remote`: the server answers calls and casts from other nodes
    /// (fauxtp-dist).
    pub remote: Option<Span>,
    /// `trace`: handlers run in a `tracing` span.
    pub trace: Option<Span>,
}

/// What the attribute is on, with its options; every mistake goes to
/// `errors`, and the item comes back whatever they are.
pub(crate) fn item(
    attr: TokenStream,
    item: TokenStream,
    errors: &mut Errors,
) -> syn::Result<Target> {
    let item: Item = syn::parse2(item)?;
    let options = options(attr, errors);
    Ok(match item {
        Item::Struct(item) => {
            if let Some(span) = options.remote {
                errors.push(
                    span,
                    "`remote` goes on the impl block, where the handlers are: `#[genserver(remote)] impl Counter { ... }`",
                );
            }
            Target::Struct(item, options)
        }
        Item::Impl(item) if item.trait_.is_some() => {
            let span = item.trait_.as_ref().map_or(item.span(), |t| t.1.span());
            errors.push(
                span,
                "#[genserver] goes on the server's own impl block (`impl Counter { ... }`), not on a trait impl",
            );
            Target::Other(Item::Impl(item))
        }
        Item::Impl(item) => Target::Impl(item, options),
        other => {
            errors.push(
                item_span(&other),
                "#[genserver] goes on an impl block (the server's handlers) or on a struct (the server's options)",
            );
            Target::Other(other)
        }
    })
}

/// The span of the item's keyword and name, where the error belongs.
fn item_span(item: &Item) -> Span {
    match item {
        Item::Enum(e) => e
            .enum_token
            .span
            .join(e.ident.span())
            .unwrap_or(e.ident.span()),
        Item::Fn(f) => f
            .sig
            .fn_token
            .span
            .join(f.sig.ident.span())
            .unwrap_or(f.sig.ident.span()),
        Item::Trait(t) => t.ident.span(),
        other => other.span(),
    }
}

fn options(attr: TokenStream, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr) {
        Ok(metas) => metas,
        Err(error) => {
            errors.add(error);
            return options;
        }
    };
    for meta in metas {
        if let Meta::Path(path) = &meta {
            if path.is_ident("remote") {
                if options.remote.replace(path.span()).is_some() {
                    errors.push(path.span(), "the option `remote` is given twice");
                }
                continue;
            }
            if path.is_ident("trace") {
                if options.trace.replace(path.span()).is_some() {
                    errors.push(path.span(), "the option `trace` is given twice");
                }
                continue;
            }
        }
        let Meta::NameValue(pair) = &meta else {
            errors.push(
                meta.span(),
                "genserver options are `name = \"counter\"`, `call_timeout = 1s`, `remote` and `trace`",
            );
            continue;
        };
        let key = pair
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        match key.as_str() {
            "name" => match string(&pair.value) {
                Some(name) if !name.value().is_empty() => {
                    if options.name.replace(name).is_some() {
                        errors.push(pair.path.span(), "the option `name` is given twice");
                    }
                }
                _ => errors.push(
                    pair.value.span(),
                    "`name` takes the registered name as a non-empty string: `name = \"counter\"`",
                ),
            },
            "call_timeout" => match millis_of_expr(&pair.value) {
                Some(ms) => {
                    if options
                        .call_timeout
                        .replace((pair.value.span(), ms))
                        .is_some()
                    {
                        errors.push(pair.path.span(), "the option `call_timeout` is given twice");
                    }
                }
                None => errors.push(
                    pair.value.span(),
                    "`call_timeout` takes a duration longer than zero: `500ms`, `5s` or `1m` (or the same in a string)",
                ),
            },
            _ => errors.push(
                pair.path.span(),
                format!(
                    "unknown genserver option `{}`; the options are `name = \"...\"`, `call_timeout = 5s`, `remote` and `trace`",
                    quote::ToTokens::to_token_stream(&pair.path)
                ),
            ),
        }
    }
    options
}

/// A string literal's value.
fn string(value: &Expr) -> Option<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.clone()),
        _ => None,
    }
}
