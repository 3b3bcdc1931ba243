//! Names a pattern binds, shared by `receive!` and `assert_receives!`: the
//! message is moved out of the mailbox, so its names are bound by value and
//! re-bound (with their `mut`) where the arm's body runs.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::{Ident, Pat};

use crate::errors::Errors;

/// A name a pattern binds, and whether it was `mut`.
pub(crate) struct Binding {
    pub ident: Ident,
    pub mutable: bool,
}

/// `mut name` or `name`, as the binding is declared where the body runs.
impl ToTokens for Binding {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let ident = &self.ident;
        tokens.extend(if self.mutable {
            quote!(mut #ident)
        } else {
            quote!(#ident)
        });
    }
}

/// Records the names `pat` binds, removes their `mut`, and rejects `ref`.
pub(crate) fn bind(pat: &mut Pat, out: &mut Vec<Binding>, errors: &mut Errors) {
    match pat {
        Pat::Ident(ident) => {
            if let Some((_, sub)) = &mut ident.subpat {
                bind(sub, out, errors);
            }
            if !is_binding(&ident.ident) {
                return;
            }
            if let Some(by_ref) = &ident.by_ref {
                errors.push(
                    by_ref.span,
                    "`ref` bindings are not supported in receive!: the message is moved out of the mailbox, bind it by value",
                );
            }
            let mutable = ident.mutability.take().is_some();
            match out.iter_mut().find(|b| b.ident == ident.ident) {
                Some(existing) => existing.mutable |= mutable,
                None => out.push(Binding {
                    ident: ident.ident.clone(),
                    mutable,
                }),
            }
        }
        Pat::Or(or) => or.cases.iter_mut().for_each(|p| bind(p, out, errors)),
        Pat::Paren(p) => bind(&mut p.pat, out, errors),
        Pat::Reference(p) => bind(&mut p.pat, out, errors),
        Pat::Slice(p) => p.elems.iter_mut().for_each(|p| bind(p, out, errors)),
        Pat::Struct(p) => p
            .fields
            .iter_mut()
            .for_each(|f| bind(&mut f.pat, out, errors)),
        Pat::Tuple(p) => p.elems.iter_mut().for_each(|p| bind(p, out, errors)),
        Pat::TupleStruct(p) => p.elems.iter_mut().for_each(|p| bind(p, out, errors)),
        Pat::Type(p) => bind(&mut p.pat, out, errors),
        Pat::Guard(p) => bind(&mut p.pat, out, errors),
        _ => {}
    }
}

/// In a pattern, a lower-case name binds; an upper-case one names a unit
/// variant, unit struct or constant (the same convention `match` relies on).
fn is_binding(ident: &Ident) -> bool {
    ident
        .to_string()
        .trim_start_matches("r#")
        .starts_with(|c: char| c.is_lowercase() || c == '_')
}
