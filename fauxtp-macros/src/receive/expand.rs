//! The code a `receive!` becomes.
//!
//! ```text
//! {
//!     let mut sel = ctx.__fauxtp_select(timeout); // scans saved, then new
//!     let mut arm0 = None; ...                    // one slot per arm
//!     loop {
//!         let entry = match sel.next_saved() {    // the save queue, no future
//!             Some(entry) => entry,
//!             None => match sel.next().await {    // then new arrivals
//!                 Some(entry) => entry,
//!                 None => break,                  // timed out
//!             },
//!         };
//!         match entry {
//!             Slot::Message(PAT0) if GUARD0 => { arm0 = Some((bindings)); break }
//!             ...
//!             Slot::Signal(s) => match *s {       // only if there are Down/Exit arms
//!                 Signal::Down(PAT1) if GUARD1 => { arm1 = Some((bindings)); break }
//!                 other => sel.skip(Slot::Signal(Box::new(other))),
//!             },
//!             other => sel.skip(other),           // stays in the mailbox
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

    // Messages are matched in their slots; the rare signals (boxed in the
    // mailbox) are unboxed and matched only by a receive that has arms for
    // them. The two kinds never overlap, so arm order is kept within each.
    let mut message_arms = Vec::new();
    let mut signal_arms = Vec::new();
    for (arm, slot) in model.arms.iter().zip(&slots) {
        let guard = arm.guard.as_ref().map(|g| quote!(if #g));
        let names: Vec<_> = arm.bindings.iter().map(|b| &b.ident).collect();
        let take = quote! {
            #slot = ::core::option::Option::Some((#(#names,)*));
            break;
        };
        let messages: Vec<_> = arm
            .cases
            .iter()
            .filter(|(kind, _)| matches!(kind, Kind::Message))
            .map(|(_, pat)| quote!(::fauxtp::__private::Slot::Message(#pat)))
            .collect();
        let signals: Vec<_> = arm
            .cases
            .iter()
            .filter_map(|(kind, pat)| match kind {
                Kind::Message => None,
                Kind::Down => Some(quote!(::fauxtp::__private::Signal::Down(#pat))),
                Kind::Exit => Some(quote!(::fauxtp::__private::Signal::Exit(#pat))),
            })
            .collect();
        if !messages.is_empty() {
            message_arms.push(quote! {
                #(#messages)|* #guard => { #take }
            });
        }
        if !signals.is_empty() {
            signal_arms.push(quote!(#(#signals)|* #guard => { #take }));
        }
    }
    let signal_match = (!signal_arms.is_empty()).then(|| {
        let signal = format_ident!("__fauxtp_signal", span = site);
        quote! {
            ::fauxtp::__private::Slot::Signal(#signal) => match *#signal {
                #(#signal_arms)*
                #entry => {
                    let #entry = ::fauxtp::__private::Slot::Signal(::std::boxed::Box::new(#entry));
                    ::fauxtp::__private::Selector::skip(&mut #sel, #entry);
                }
            },
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
                let #entry = match ::fauxtp::__private::Selector::next_saved(&mut #sel) {
                    ::core::option::Option::Some(#entry) => #entry,
                    ::core::option::Option::None => {
                        match ::fauxtp::__private::Selector::next(&mut #sel).await {
                            ::core::option::Option::Some(#entry) => #entry,
                            ::core::option::Option::None => break,
                        }
                    }
                };
                match #entry {
                    #(#message_arms)*
                    #signal_match
                    #entry => {
                        ::fauxtp::__private::Selector::skip(&mut #sel, #entry);
                    }
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
    let names = &arm.bindings;
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
