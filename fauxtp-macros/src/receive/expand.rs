//! The code a `receive!` becomes.
//!
//! ```text
//! {
//!     let mut sel = ctx.__select(timeout);        // scans saved, then new
//!     let mut arm0 = None; ...                    // one slot per arm
//!     loop {
//!         match sel.next().await {
//!             Some(Envelope::Message(PAT0)) if GUARD0 => { arm0 = Some((bindings)); break }
//!             ...
//!             Some(other) => sel.skip(other),     // stays in the mailbox
//!             None => break,                      // timed out
//!         }
//!     }
//!     drop(sel);                                  // save queue back in order
//!     if let Some((bindings)) = arm0 { BODY0 } else if ... else { AFTER_BODY }
//! }
//! ```
//!
//! The bodies run outside the loop so that `break`, `continue`, `return`, `?`
//! and `.await` in them mean what they mean in the user's code.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::model::{Kind, MsgArm, Receive};

pub(crate) fn expand(model: &Receive) -> TokenStream {
    let site = Span::mixed_site();
    let sel = format_ident!("__fauxtp_selector", span = site);
    let entry = format_ident!("__fauxtp_entry", span = site);
    let slots: Vec<_> = (0..model.arms.len())
        .map(|i| format_ident!("__fauxtp_arm{}", i, span = site))
        .collect();

    let ctx = &model.ctx;
    let timeout = match &model.after {
        Some(after) => {
            let duration = &after.duration;
            quote!(::core::option::Option::Some(#duration))
        }
        None => quote!(::core::option::Option::None),
    };

    // Method-call syntax borrows `ctx` as a `Ctx` or reborrows a `&mut Ctx`;
    // spanned at the context so that a wrong argument is reported there.
    let select = quote_spanned!(ctx.span() => (#ctx).__fauxtp_select(#timeout));

    let match_arms = model.arms.iter().zip(&slots).map(|(arm, slot)| {
        let pats = arm.cases.iter().map(|(kind, pat)| {
            let variant = match kind {
                Kind::Message => quote!(Message),
                Kind::Down => quote!(Down),
                Kind::Exit => quote!(Exit),
            };
            quote!(::fauxtp::Envelope::#variant(#pat))
        });
        let guard = arm.guard.as_ref().map(|g| quote!(if #g));
        let names = arm.bindings.iter().map(|b| &b.ident);
        quote! {
            ::core::option::Option::Some(#(#pats)|*) #guard => {
                #slot = ::core::option::Option::Some((#(#names,)*));
                break;
            }
        }
    });

    let mut chain = match &model.after {
        Some(after) => {
            let body = &after.body;
            quote!({ #body })
        }
        None => {
            quote!({ ::core::unreachable!("a receive without `after` only ends with a match") })
        }
    };
    for (arm, slot) in model.arms.iter().zip(&slots).rev() {
        chain = run_arm(arm, slot, chain);
    }

    quote! {
        {
            let mut #sel = {
                #[allow(unused_imports)]
                use ::fauxtp::__private::ReceiveAny as _;
                #select
            };
            #(let mut #slots = ::core::option::Option::None;)*
            loop {
                match ::fauxtp::__private::Selector::next(&mut #sel).await {
                    #(#match_arms)*
                    ::core::option::Option::Some(#entry) => {
                        ::fauxtp::__private::Selector::skip(&mut #sel, #entry);
                    }
                    ::core::option::Option::None => break,
                }
            }
            ::core::mem::drop(#sel);
            #chain
        }
    }
}

/// `if let Some(tuple) = slot { let (bindings) = tuple; BODY } else ELSE`
fn run_arm(arm: &MsgArm, slot: &syn::Ident, otherwise: TokenStream) -> TokenStream {
    let tuple = format_ident!("__fauxtp_bound", span = Span::mixed_site());
    let names = arm.bindings.iter().map(|b| {
        let ident = &b.ident;
        if b.mutable {
            quote!(mut #ident)
        } else {
            quote!(#ident)
        }
    });
    let body = &arm.body;
    quote! {
        if let ::core::option::Option::Some(#tuple) = #slot {
            // A name used only in the guard is not used here; that is fine.
            #[allow(unused_variables)]
            let (#(#names,)*) = #tuple;
            #body
        } else #otherwise
    }
}
