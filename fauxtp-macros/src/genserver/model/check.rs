//! The rules between handlers, and the names a handler cannot have: each
//! pushes its error and leaves out what would make the expansion fail
//! again.

use syn::spanned::Spanned;
use syn::{FnArg, Generics, Ident, ImplItem, ImplItemFn, ItemImpl};

use super::signature::Kind;
use super::{Handler, HandlerKind, Hook};
use crate::errors::Errors;
use crate::genserver::parse::Options;
use crate::types::{first_type_arg, last_segment_is};

/// Methods every `Pid` already has (its own, and those of the std traits
/// it implements): a client function with one of these names would be
/// hidden by them, or make `pid.name(..)` ambiguous.
const PID_METHODS: &[&str] = &[
    "send",
    "id",
    "any",
    "is_alive",
    "clone",
    "clone_from",
    "eq",
    "ne",
    "cmp",
    "partial_cmp",
    "lt",
    "le",
    "gt",
    "ge",
    "max",
    "min",
    "clamp",
    "hash",
    "fmt",
    "to_string",
    "to_owned",
    "into",
    "try_into",
    "borrow",
    "borrow_mut",
    "type_id",
];

/// The functions `#[genserver]` adds to the server type itself.
const GENERATED_FNS: &[&str] = &["start", "start_link", "start_named"];

/// Whether `#[genserver]` writes a function of this name on the server.
pub(super) fn is_generated(ident: &Ident) -> bool {
    GENERATED_FNS.iter().any(|f| ident == f)
}

/// Whether a handler takes a `ReplyTo` without its type: the method is not
/// valid Rust, and given back it would be reported again.
pub(super) fn bare_reply_to(method: &ImplItemFn) -> bool {
    method.sig.inputs.iter().any(|input| match input {
        FnArg::Typed(typed) => {
            last_segment_is(&typed.ty, "ReplyTo") && first_type_arg(&typed.ty).is_none()
        }
        FnArg::Receiver(_) => false,
    })
}

/// The functions of the server that are not handlers.
const SPECIAL_FNS: &[&str] = &["init", "terminate"];

/// A handler named like something else the server or its pid has.
pub(super) fn reserved_name(kind: Kind, ident: &Ident, errors: &mut Errors) {
    if SPECIAL_FNS.iter().any(|f| ident == f) {
        errors.push(
            ident.span(),
            format!(
                "`{ident}` is not a handler: #[genserver] calls it itself; remove its #[{}]",
                kind.attr()
            ),
        );
    }
    if GENERATED_FNS.iter().any(|f| ident == f) {
        errors.push(
            ident.span(),
            format!(
                "`{ident}` is one of the functions #[genserver] writes for the server (start, start_link, start_named); name the handler differently"
            ),
        );
    }
    if matches!(kind, Kind::Call | Kind::Cast) && PID_METHODS.iter().any(|m| ident == m) {
        errors.push(
            ident.span(),
            format!(
                "a handler named `{ident}` would be hidden by `Pid::{ident}` on the client side; choose another name"
            ),
        );
    }
}

/// Whether a handler named `ident` exists already (an error if so).
pub(super) fn name_taken(handlers: &[Handler], ident: &Ident, errors: &mut Errors) -> bool {
    let Some(previous) = handlers.iter().find(|h| h.ident == *ident) else {
        return false;
    };
    errors.push(
        ident.span(),
        format!(
            "two handlers are named `{}`; handler names must differ (the first is a #[{}])",
            previous.ident,
            previous.attr()
        ),
    );
    true
}

/// The one `#[info]` hook for `Down` (or `Exit`); a second is an error.
pub(super) fn set_once(slot: &mut Option<Hook>, hook: Hook, what: &str, errors: &mut Errors) {
    if slot.is_some() {
        errors.push(
            hook.ident.span(),
            format!("two #[info] handlers take `{what}`; keep one"),
        );
    } else {
        *slot = Some(hook);
    }
}

/// Two `#[info]` (or `#[task_end]`) handlers for the same type would need
/// two conversions from it into the message enum: the second is an error,
/// and left out.
pub(super) fn payload_types(handlers: &mut Vec<Handler>, errors: &mut Errors) {
    let key = |h: &Handler| -> Option<String> {
        let (kind, ty) = match &h.kind {
            HandlerKind::Info { field, .. } => ("info", &field.1),
            HandlerKind::TaskEnd { output, .. } => ("task_end", output),
            _ => return None,
        };
        Some(format!("{kind} {}", quote::quote!(#ty)))
    };
    let mut index = 0;
    while index < handlers.len() {
        let handler = &handlers[index];
        let first = key(handler).and_then(|mine| {
            handlers[..index]
                .iter()
                .find(|h| key(h).as_ref() == Some(&mine))
        });
        if let Some(first) = first {
            errors.push(
                handler.ident.span(),
                format!(
                    "`{}` and `{}` handle the same type; one #[{}] handler per type",
                    first.ident,
                    handler.ident,
                    handler.attr()
                ),
            );
            handlers.remove(index);
        } else {
            index += 1;
        }
    }
}

/// A GenServer without an `init` at all (one with a mistake in it has said
/// so already).
pub(super) fn init_present(item: &ItemImpl, ident: &Ident, read: bool, errors: &mut Errors) {
    let written = item
        .items
        .iter()
        .any(|i| matches!(i, ImplItem::Fn(f) if f.sig.ident == "init"));
    if !read && !written {
        errors.push(
            item.self_ty.span(),
            format!(
                "a GenServer needs an `init` function that builds its state: `async fn init(args...) -> Result<Self, ExitReason>` in `impl {ident}`"
            ),
        );
    }
}

/// A `remote` server answers other nodes with one concrete message type: it
/// cannot be generic. The option is dropped after the error.
pub(super) fn remote(generics: &Generics, options: &mut Options, errors: &mut Errors) {
    if let Some(span) = options.remote {
        if !generics.params.is_empty() {
            errors.push(span, "a `remote` GenServer cannot be generic");
            options.remote = None;
        }
    }
}
