//! `assert_receives!(ctx, pattern [if guard] [, within])`: a receive that
//! must match within a bound, and binds the pattern's names in the caller's
//! scope (Elixir's `assert_receive`).
//!
//! It expands into statements:
//!
//! ```text
//! let within = WITHIN;
//! let (names...) = receive!(ctx, {
//!     PATTERN if GUARD => (names...),
//!     after within => no_match(ctx.__describe_mailbox(), "PATTERN", within),
//! });
//! ```

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Expr, Ident, Pat, Token};

use crate::errors::Errors;
use crate::pattern::{bind, Binding};

struct Input {
    ctx: Expr,
    pat: Pat,
    guard: Option<Expr>,
    within: Option<Expr>,
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let ctx = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "assert_receives! takes the context first: `assert_receives!(probe, Msg::Pong(n))`",
            )
        })?;
        input.parse::<Token![,]>()?;
        let pat = Pat::parse_multi_with_leading_vert(input)?;
        let guard = if input.peek(Token![if]) {
            input.parse::<Token![if]>()?;
            Some(input.parse()?)
        } else {
            None
        };
        let within = if input.parse::<Option<Token![,]>>()?.is_some() && !input.is_empty() {
            Some(input.parse()?)
        } else {
            None
        };
        input.parse::<Option<Token![,]>>()?;
        Ok(Input {
            ctx,
            pat,
            guard,
            within,
        })
    }
}

pub(crate) fn assert_receives(input: TokenStream) -> syn::Result<TokenStream> {
    let Input {
        ctx,
        pat,
        guard,
        within,
    } = syn::parse2(input)?;
    let mut errors = Errors::default();
    let mut bindings: Vec<Binding> = Vec::new();
    let mut inner = pat.clone();
    bind(&mut inner, &mut bindings, &mut errors);
    errors.finish()?;

    let site = Span::mixed_site();
    let within_var = Ident::new("__fauxtp_within", site);
    let within = within.map_or_else(|| quote!(::fauxtp::testing::DEFAULT_WAIT), |w| quote!(#w));
    let text = match &guard {
        Some(g) => format!("{} if {}", quote!(#pat), quote!(#g)),
        None => quote!(#pat).to_string(),
    }
    .replace(" :: ", "::");
    let guard = guard.map(|g| quote!(if #g));
    let names: Vec<&Ident> = bindings.iter().map(|b| &b.ident).collect();
    let declared = &bindings;
    let describe = quote_spanned!(ctx.span()=> (#ctx).__describe_mailbox());
    Ok(quote! {
        let #within_var: ::core::time::Duration = #within;
        #[allow(unused_variables)]
        let (#(#declared,)*) = ::fauxtp::receive!(#ctx, {
            #pat #guard => (#(#names,)*),
            after #within_var => {
                #[allow(unused_imports)]
                use ::fauxtp::__private::Inspect as _;
                ::fauxtp::__private::no_match(#describe, #text, #within_var)
            }
        });
    })
}
