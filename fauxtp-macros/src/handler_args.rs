//! The arguments of a handler method, as `#[genserver]` and `#[statem]`
//! read them: the context (each macro says which type that is), and the
//! other arguments, which become fields of the message.

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{FnArg, Ident, Pat, Signature, Type};

use crate::errors::Errors;

/// How one argument of a user function is supplied by the generated code.
pub(crate) enum Arg {
    /// A field of the message variant (or the init args), by name.
    Field(Ident),
    /// The context.
    Ctx,
}

/// The arguments of a method after its receiver: every one in order, and
/// the named ones with their types.
pub(crate) struct Params {
    pub args: Vec<Arg>,
    pub fields: Vec<(Ident, Type)>,
}

/// Reads the arguments of `sig`; one that is not a plain name is reported
/// with `not_a_name` and left out.
pub(crate) fn params(
    sig: &Signature,
    is_ctx: impl Fn(&Type) -> bool,
    not_a_name: &str,
    errors: &mut Errors,
) -> Params {
    let mut args = Vec::new();
    let mut fields = Vec::new();
    for input in &sig.inputs {
        let FnArg::Typed(typed) = input else {
            continue;
        };
        if is_ctx(&typed.ty) {
            args.push(Arg::Ctx);
            continue;
        }
        match &*typed.pat {
            Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => {
                args.push(Arg::Field(p.ident.clone()));
                fields.push((p.ident.clone(), (*typed.ty).clone()));
            }
            other => errors.push(other.span(), not_a_name),
        }
    }
    Params { args, fields }
}

/// The arguments of a call to a user function, in the user's order, the
/// context being `ctx`.
pub(crate) fn call_args(args: &[Arg], ctx: &Ident) -> TokenStream {
    let args = args.iter().map(|arg| match arg {
        Arg::Field(name) => quote!(#name),
        Arg::Ctx => quote!(#ctx),
    });
    quote!(#(#args),*)
}
