//! One method at a time: which handler attribute it has, and what its
//! signature makes of it (a handler, a hook for `Down`/`Exit`, `init`,
//! `terminate`). A method with a mistake gives its errors and nothing else,
//! so the expansion leaves it out.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Ident, ImplItem, ImplItemFn, ReturnType, Signature, Type};

use super::{check, Handler, HandlerKind, Hook, Init, Reply};
use crate::errors::Errors;
use crate::handler_args::Params;
use crate::names::variant_name;
use crate::types::{first_type_arg, is_ctx, last_segment_is};

/// The handler attributes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Call,
    Cast,
    Info,
    TaskEnd,
}

impl Kind {
    pub(super) fn attr(self) -> &'static str {
        match self {
            Kind::Call => "call",
            Kind::Cast => "cast",
            Kind::Info => "info",
            Kind::TaskEnd => "task_end",
        }
    }

    fn from_attr(name: &str) -> Option<Kind> {
        match name {
            "call" => Some(Kind::Call),
            "cast" => Some(Kind::Cast),
            "info" => Some(Kind::Info),
            "task_end" => Some(Kind::TaskEnd),
            _ => None,
        }
    }
}

/// What a method with a handler attribute is.
pub(super) enum Classified {
    Handler(Box<Handler>),
    Down(Hook),
    Exit(Hook),
}

/// Removes our handler attribute from an impl item and says which it was.
pub(super) fn take_kind(item: &mut ImplItem, errors: &mut Errors) -> Option<(Kind, Span)> {
    let attrs = match item {
        ImplItem::Fn(f) => &mut f.attrs,
        ImplItem::Const(c) => &mut c.attrs,
        ImplItem::Type(t) => &mut t.attrs,
        ImplItem::Macro(m) => &mut m.attrs,
        _ => return None,
    };
    let mut found: Option<(Kind, Span)> = None;
    attrs.retain(|attr| {
        let Some(kind) = attr
            .path()
            .get_ident()
            .and_then(|name| Kind::from_attr(&name.to_string()))
        else {
            return true;
        };
        if !matches!(attr.meta, syn::Meta::Path(_)) {
            errors.push(
                attr.meta.span(),
                format!("#[{}] takes no arguments", kind.attr()),
            );
        }
        if let Some((first, _)) = found {
            errors.push(
                attr.meta.span(),
                format!(
                    "a method is one kind of handler: it is already a #[{}]",
                    first.attr()
                ),
            );
        } else {
            found = Some((kind, attr.meta.span()));
        }
        false
    });
    found
}

/// The arguments of a method after its receiver, sorted into the context
/// and the rest.
fn params(sig: &Signature, errors: &mut Errors) -> Params {
    crate::handler_args::params(
        sig,
        is_ctx,
        "a handler argument becomes a field of the message: give it a plain name (`point: (i32, i32)`), and destructure it in the body",
        errors,
    )
}

/// Checks the receiver: handlers take the state by reference.
fn check_receiver(sig: &Signature, kind: &str, errors: &mut Errors) {
    match sig.receiver() {
        Some(receiver) if matches!(receiver.kind, syn::ReceiverKind::Reference(..)) => {}
        Some(receiver) => errors.push(
            receiver.span(),
            format!("a {kind} takes the server's state by reference: `&self` or `&mut self`, not `self`"),
        ),
        None => errors.push(
            sig.ident.span(),
            format!("a {kind} needs a receiver: `fn {}(&mut self, ...)` (or `&self`)", sig.ident),
        ),
    }
}

/// Reads one handler method; an `#[info]` for `Down` or `Exit` becomes a
/// hook rather than a message variant. `None` if it has a mistake.
pub(super) fn classify(kind: Kind, method: &ImplItemFn, errors: &mut Errors) -> Option<Classified> {
    let before = errors.count();
    let sig = &method.sig;
    let what = format!("#[{}] handler", kind.attr());
    check_receiver(sig, &what, errors);
    check::reserved_name(kind, &sig.ident, errors);
    let before_params = errors.count();
    let Params {
        mut args,
        mut fields,
    } = params(sig, errors);
    // An argument that is not a plain name is reported already, and left
    // out of `fields`: counting them again would report it twice.
    let bad_params = errors.count() > before_params;
    let returns = match &sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some((**ty).clone()),
    };
    // Handlers that do not reply may return `Result<(), E>`.
    let fallible = kind != Kind::Call
        && returns
            .as_ref()
            .is_some_and(|ty| last_segment_is(ty, "Result"));
    let kind = match kind {
        Kind::Call => {
            let deferred = fields
                .iter()
                .position(|(_, ty)| last_segment_is(ty, "ReplyTo"));
            let reply = if let Some(index) = deferred {
                let (name, ty) = fields.remove(index);
                if let Some(ret) = &returns {
                    errors.push(
                        ret.span(),
                        "a #[call] handler that takes a `ReplyTo` replies through it and returns nothing; remove the return type",
                    );
                }
                match first_type_arg(&ty) {
                    Some(t) => Reply::Deferred(name, t),
                    None => {
                        errors.push(ty.span(), "write the reply type: `ReplyTo<T>`");
                        return None;
                    }
                }
            } else {
                if let Some((name, _)) = fields.iter().find(|(name, _)| name == "reply") {
                    errors.push(
                        name.span(),
                        "`reply` is the name of the call's reply field in the message; rename this argument",
                    );
                }
                Reply::Returned(returns.unwrap_or_else(|| syn::parse_quote!(())))
            };
            HandlerKind::Call { fields, reply }
        }
        Kind::Cast => {
            if let Some(ret) = returns.as_ref().filter(|_| !fallible) {
                errors.push(
                    ret.span(),
                    "a #[cast] handler returns nothing (or `Result<(), E>`, whose error stops the server): the sender does not wait for a reply; use #[call] to answer",
                );
            }
            HandlerKind::Cast { fields, fallible }
        }
        Kind::Info | Kind::TaskEnd => {
            if let Some(ret) = returns.as_ref().filter(|_| !fallible) {
                errors.push(
                    ret.span(),
                    format!(
                        "a {what} returns nothing, or `Result<(), E>` whose error stops the server"
                    ),
                );
            }
            if bad_params {
                // Left out: its message's type is not known.
                return None;
            }
            if fields.len() != 1 {
                let expected = if kind == Kind::Info {
                    "the message it handles: `fn tick(&mut self, tick: Tick)`"
                } else {
                    "the task's result: `fn fetched(&mut self, result: Result<T, TaskError>)`"
                };
                // At the first argument too many, or at the name if none.
                let span = fields
                    .get(1)
                    .map_or(sig.ident.span(), |(name, _)| name.span());
                errors.push(
                    span,
                    format!("a {what} takes exactly one argument besides `self` and the context: {expected}"),
                );
                return None;
            }
            let field = fields.remove(0);
            let ty = &field.1;
            if kind == Kind::TaskEnd {
                let output = last_segment_is(ty, "Result")
                    .then(|| first_type_arg(ty))
                    .flatten();
                let Some(output) = output else {
                    errors.push(
                        ty.span(),
                        "a #[task_end] handler takes the task's result: `Result<T, TaskError>`",
                    );
                    return None;
                };
                HandlerKind::TaskEnd {
                    field,
                    output,
                    fallible,
                }
            } else if last_segment_is(ty, "Down") || last_segment_is(ty, "Exit") {
                if errors.count() > before {
                    return None;
                }
                let is_down = last_segment_is(ty, "Down");
                let hook = Hook {
                    ident: sig.ident.clone(),
                    is_async: sig.asyncness.is_some(),
                    args: std::mem::take(&mut args),
                    fallible,
                };
                return Some(if is_down {
                    Classified::Down(hook)
                } else {
                    Classified::Exit(hook)
                });
            } else {
                HandlerKind::Info { field, fallible }
            }
        }
    };
    if errors.count() > before {
        return None;
    }
    Some(Classified::Handler(Box::new(Handler {
        variant: variant_name(&sig.ident),
        ident: sig.ident.clone(),
        is_async: sig.asyncness.is_some(),
        args,
        kind,
    })))
}

/// Reads `init`; `None` if it has a mistake.
pub(super) fn init(method: &ImplItemFn, server: &Ident, errors: &mut Errors) -> Option<Init> {
    let before = errors.count();
    let sig = &method.sig;
    if let Some(receiver) = sig.receiver() {
        errors.push(
            receiver.span(),
            "`init` builds the server's state, so it takes no `self`: `async fn init(args...) -> Result<Self, ExitReason>`",
        );
    }
    let Params { args, fields } = params(sig, errors);
    let returned = match &sig.output {
        ReturnType::Type(_, ty) => Some(&**ty),
        ReturnType::Default => None,
    };
    let is_state =
        |ty: &Type| last_segment_is(ty, "Self") || last_segment_is(ty, &server.to_string());
    let fallible = match returned {
        Some(ty) if is_state(ty) => false,
        Some(ty)
            if last_segment_is(ty, "Result")
                && first_type_arg(ty).is_some_and(|t| is_state(&t)) =>
        {
            true
        }
        other => {
            errors.push(
                other.map_or(sig.ident.span(), |t| t.span()),
                "`init` returns the server's state: `Self`, or `Result<Self, E>` where `E` converts into `ExitReason`",
            );
            return None;
        }
    };
    if errors.count() > before {
        return None;
    }
    Some(Init {
        fields,
        args,
        is_async: sig.asyncness.is_some(),
        fallible,
    })
}

/// Reads `terminate`; `None` if it has a mistake.
pub(super) fn terminate(method: &ImplItemFn, errors: &mut Errors) -> Option<Hook> {
    let before = errors.count();
    let sig = &method.sig;
    check_receiver(sig, "`terminate`", errors);
    let Params { args, fields } = params(sig, errors);
    if fields.len() != 1 || !matches!(&sig.output, ReturnType::Default) {
        errors.push(
            sig.ident.span(),
            "`terminate` takes the exit reason and returns nothing: `async fn terminate(&mut self, reason: &ExitReason)`",
        );
    }
    if errors.count() > before {
        return None;
    }
    Some(Hook {
        ident: sig.ident.clone(),
        is_async: sig.asyncness.is_some(),
        args,
        fallible: false,
    })
}
