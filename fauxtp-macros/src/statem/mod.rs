//! `#[statem]`: a state machine (OTP's gen_statem) from an annotated impl
//! block: parse and check into a model (`model.rs`), then expand
//! (`expand.rs`). One error collector goes through both. A handler with a
//! mistake is left out and the rest is written; a block whose `init` is
//! missing or wrong is given back with its attributes removed.

mod expand;
mod model;

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::spanned::Spanned;

use crate::errors::Errors;

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    if !attr.is_empty() {
        errors.push(attr.span(), "#[statem] takes no options yet");
    }
    let output = match syn::parse2::<syn::Item>(item) {
        Ok(syn::Item::Impl(block)) if block.trait_.is_none() => {
            let given_back = block.clone();
            match model::Machine::from_impl(block, &mut errors) {
                // Handlers with a mistake are left out of the model: the
                // rest is written, so that no other error follows from them.
                Some(machine) => expand::machine(&machine),
                // The block, and a stand-in `Statem` impl with its start
                // functions, so that code naming them (the block's own
                // `StatemCtx<'_, Self>`, `main`) shows no errors of its own.
                None => {
                    let stub = type_ident(&given_back).map(|ident| expand::stub(&ident));
                    let mut out = strip(given_back).into_token_stream();
                    out.extend(stub);
                    out
                }
            }
        }
        Ok(other) => {
            errors.push(
                other.span(),
                "#[statem] goes on the machine's own impl block: `#[statem] impl CodeLock { ... }`",
            );
            other.into_token_stream()
        }
        Err(error) => {
            errors.add(error);
            TokenStream::new()
        }
    };
    errors.with(output)
}

/// The block without our attributes (a method of it may still clash by
/// name; that is the user's to see once the attributes are right).
fn strip(mut block: syn::ItemImpl) -> syn::ItemImpl {
    let ours = ["call", "cast", "info", "enter", "postpone"];
    let mut seen = std::collections::HashSet::new();
    block.items.retain_mut(|item| {
        let syn::ImplItem::Fn(method) = item else {
            return true;
        };
        method
            .attrs
            .retain(|a| !ours.iter().any(|name| a.path().is_ident(name)));
        // A second method of the same name is one of several handlers of an
        // event: drop it rather than add a duplicate-definition error.
        seen.insert(method.sig.ident.to_string())
    });
    block
}

/// The name of the type an impl block is for, if it is a plain path.
fn type_ident(block: &syn::ItemImpl) -> Option<syn::Ident> {
    match &*block.self_ty {
        syn::Type::Path(path) if path.qself.is_none() && block.generics.params.is_empty() => {
            path.path.segments.last().map(|s| s.ident.clone())
        }
        _ => None,
    }
}
