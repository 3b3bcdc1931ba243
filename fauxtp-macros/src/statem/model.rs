//! The checked model of a `#[statem]` impl block: `init` (whose return
//! type names the state type), the events (one message variant per handler
//! name, handled in the states its attributes name), the postponed
//! (event, state) pairs, and the state enter calls.
//!
//! Every mistake goes to the one collector; a handler with a mistake is
//! left out and the rest is kept.

use proc_macro2::Span;
use quote::{format_ident, ToTokens};
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{
    FnArg, GenericArgument, Ident, ImplItem, ImplItemFn, ItemImpl, Pat, PathArguments, ReturnType,
    Type,
};

use crate::errors::Errors;
use crate::names::{impl_type, variant_name};
use crate::types::last_segment_is;

pub(crate) struct Machine {
    /// The impl block, our attributes removed and handlers renamed.
    pub item: ItemImpl,
    pub ident: Ident,
    pub state: Type,
    pub init: Init,
    pub events: Vec<EventDef>,
    pub enters: Vec<Enter>,
    pub terminate: Option<Terminate>,
}

/// `fn terminate(&mut self, reason: &ExitReason, state: &State)`, with
/// the trailing arguments optional.
pub(crate) struct Terminate {
    pub method: Ident,
    pub is_async: bool,
    pub arity: usize,
}

/// An `#[info]` event that is not a message: a monitor's down message or
/// a trapped exit signal.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Signal {
    Down,
    Exit,
}

pub(crate) use crate::handler_args::Arg;

pub(crate) struct Init {
    pub fields: Vec<(Ident, Type)>,
    pub args: Vec<Arg>,
    pub is_async: bool,
    pub fallible: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Call,
    Cast,
    Info,
}

impl Kind {
    fn attr(self) -> &'static str {
        match self {
            Kind::Call => "call",
            Kind::Cast => "cast",
            Kind::Info => "info",
        }
    }
}

/// One event: a message variant, and the handlers of it by state.
pub(crate) struct EventDef {
    pub name: Ident,
    pub variant: Ident,
    pub kind: Kind,
    pub fields: Vec<(Ident, Type)>,
    /// For a call, the reply type.
    pub reply: Option<Type>,
    pub arms: Vec<Arm>,
    /// States in which the event is postponed.
    pub postponed: Vec<Pat>,
    /// For an `#[info]` handler of `Down` or `Exit`: no message variant.
    pub signal: Option<Signal>,
}

/// One handler of an event, for the states its pattern matches.
pub(crate) struct Arm {
    pub state: Pat,
    pub method: Ident,
    pub is_async: bool,
    pub args: Vec<Arg>,
    /// A call handler that takes the `ReplyTo` (this argument) and replies
    /// when it will.
    pub deferred: Option<Ident>,
}

pub(crate) struct Enter {
    pub state: Pat,
    pub method: Ident,
    pub is_async: bool,
    pub takes_ctx: bool,
}

/// What attributes a method had.
#[derive(Default)]
struct Attrs {
    handler: Option<(Kind, Pat, Span)>,
    enter: Option<(Pat, Span)>,
    postpone: Vec<(Pat, Span)>,
}

fn state_pattern(attr: &syn::Attribute, name: &str, errors: &mut Errors) -> Option<Pat> {
    let example = match name {
        "enter" => "#[enter(Door::Open)]",
        "postpone" => "#[postpone(Door::Open)]",
        _ => "#[call(Door::Locked)] (or `_` for every state)",
    };
    let syn::Meta::List(list) = &attr.meta else {
        errors.push(
            attr.meta.span(),
            format!("#[{name}] takes the states it applies to, as a pattern: {example}"),
        );
        return None;
    };
    match Pat::parse_multi.parse2(list.tokens.clone()) {
        Ok(pat) => Some(pat),
        Err(error) => {
            errors.push(
                error.span(),
                format!("#[{name}] takes the states it applies to, as a pattern: {example}"),
            );
            None
        }
    }
}

fn take_attrs(method: &mut ImplItemFn, errors: &mut Errors) -> Attrs {
    let mut found = Attrs::default();
    method.attrs.retain(|attr| {
        let Some(name) = attr.path().get_ident().map(ToString::to_string) else {
            return true;
        };
        let kind = match name.as_str() {
            "call" => Some(Kind::Call),
            "cast" => Some(Kind::Cast),
            "info" => Some(Kind::Info),
            "enter" | "postpone" => None,
            _ => return true,
        };
        let Some(pat) = state_pattern(attr, &name, errors) else {
            return false;
        };
        let span = attr.meta.span();
        match kind {
            Some(kind) => {
                if found.handler.is_some() || found.enter.is_some() {
                    errors.push(
                        span,
                        "a method is one handler: it already has a handler attribute",
                    );
                } else {
                    found.handler = Some((kind, pat, span));
                }
            }
            None if name == "enter" => {
                if found.handler.is_some() || found.enter.is_some() {
                    errors.push(
                        span,
                        "a method is one handler: it already has a handler attribute",
                    );
                } else {
                    found.enter = Some((pat, span));
                }
            }
            None => found.postpone.push((pat, span)),
        }
        false
    });
    found
}

fn is_statem_ctx(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => {
            last_segment_is(&r.elem, "StatemCtx") || last_segment_is(&r.elem, "EnterCtx")
        }
        _ => false,
    }
}

/// The arguments after the receiver: the context, and named fields.
fn params(method: &ImplItemFn, errors: &mut Errors) -> (Vec<Arg>, Vec<(Ident, Type)>) {
    let params = crate::handler_args::params(
        &method.sig,
        is_statem_ctx,
        "a handler argument becomes a field of the message: give it a plain name (`digit: u8`)",
        errors,
    );
    (params.args, params.fields)
}

fn has_mut_self(method: &ImplItemFn) -> bool {
    matches!(
        method.sig.receiver().map(|r| &r.kind),
        Some(syn::ReceiverKind::Reference(_, _, Some(_)))
    )
}

/// `Transition<S, R>`'s `R`, `()` without one; `None` if the return type
/// is not a `Transition`.
fn transition_reply(output: &ReturnType) -> Option<Type> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    if !last_segment_is(ty, "Transition") {
        return None;
    }
    let Type::Path(path) = &**ty else { return None };
    let PathArguments::AngleBracketed(args) = &path.path.segments.last()?.arguments else {
        return Some(syn::parse_quote!(()));
    };
    let types: Vec<&Type> = args
        .args
        .iter()
        .filter_map(|a| match a {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        })
        .collect();
    Some(
        types
            .get(1)
            .map_or_else(|| syn::parse_quote!(()), |t| (*t).clone()),
    )
}

/// `(State, Self)`, or `Result<(State, Self), E>`: the state type, and
/// whether it is fallible.
fn init_state(output: &ReturnType) -> Option<(Type, bool)> {
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    let (ty, fallible) = if last_segment_is(ty, "Result") {
        (crate::types::first_type_arg(ty)?, true)
    } else {
        ((**ty).clone(), false)
    };
    match ty {
        Type::Tuple(tuple) if tuple.elems.len() == 2 => {
            Some((tuple.elems.first()?.clone(), fallible))
        }
        _ => None,
    }
}

fn tokens_eq(a: &impl ToTokens, b: &impl ToTokens) -> bool {
    a.to_token_stream().to_string() == b.to_token_stream().to_string()
}

impl Machine {
    pub(crate) fn from_impl(mut item: ItemImpl, errors: &mut Errors) -> Option<Machine> {
        let Some(ident) = impl_type(&item) else {
            errors.push(
                item.self_ty.span(),
                "#[statem] goes on the impl block of a named type: `impl CodeLock { ... }`",
            );
            return None;
        };
        if !item.generics.params.is_empty() {
            errors.push(
                item.generics.span(),
                "#[statem] does not take generic machines yet: implement `fauxtp::statem::Statem` by hand",
            );
            return None;
        }
        let mut init = None;
        let mut state = None;
        let mut events: Vec<EventDef> = Vec::new();
        let mut enters = Vec::new();
        let mut postpones: Vec<(Ident, Pat, Span)> = Vec::new();
        let mut counter = 0usize;
        let mut init_seen = false;
        let mut terminate = None;
        for impl_item in &mut item.items {
            let ImplItem::Fn(method) = impl_item else {
                continue;
            };
            let attrs = take_attrs(method, errors);
            let name = method.sig.ident.clone();
            if attrs.handler.is_none() && attrs.enter.is_none() {
                if let Some((_, span)) = attrs.postpone.first() {
                    errors.push(
                        *span,
                        "#[postpone] goes on an event handler (#[call], #[cast] or #[info]), beside its own attribute",
                    );
                }
                if name == "terminate" {
                    terminate = terminate_of(method, errors);
                }
                if name == "init" {
                    init_seen = true;
                    init = init_of(method, errors).map(|(i, s)| {
                        state = Some(s);
                        i
                    });
                }
                continue;
            }
            counter += 1;
            let renamed = format_ident!("__statem_{}_{}", name, counter, span = name.span());
            let is_async = method.sig.asyncness.is_some();
            if !has_mut_self(method) {
                errors.push(
                    method.sig.ident.span(),
                    "a state machine's handler takes `&mut self` (the machine's data) first",
                );
                continue;
            }
            if let Some((pat, span)) = attrs.enter {
                if let Some((_, postpone)) = attrs.postpone.first() {
                    errors.push(
                        *postpone,
                        "a state enter call cannot postpone: it is not an event (as in gen_statem)",
                    );
                }
                if !matches!(method.sig.output, ReturnType::Default) {
                    errors.push(
                        method.sig.output.span(),
                        "a state enter call cannot change the state: it returns nothing (set timeouts through its `EnterCtx`)",
                    );
                    continue;
                }
                let (args, fields) = params(method, errors);
                if let Some((field, _)) = fields.first() {
                    errors.push(
                        field.span(),
                        "a state enter call takes `&mut self` and maybe `ctx: &mut EnterCtx<'_, Self>`, nothing else",
                    );
                    continue;
                }
                if enters.iter().any(|e: &Enter| tokens_eq(&e.state, &pat)) {
                    errors.push(span, "a second enter call for the same states: keep one");
                    continue;
                }
                method.sig.ident = renamed.clone();
                enters.push(Enter {
                    state: pat,
                    method: renamed,
                    is_async,
                    takes_ctx: args.iter().any(|a| matches!(a, Arg::Ctx)),
                });
                continue;
            }
            let Some((kind, pat, span)) = attrs.handler else {
                continue;
            };
            let Some(reply) = transition_reply(&method.sig.output) else {
                errors.push(
                    match &method.sig.output {
                        ReturnType::Default => method.sig.ident.span(),
                        ReturnType::Type(_, ty) => ty.span(),
                    },
                    format!(
                        "a #[{}] handler returns where the machine goes: `-> Transition<State>` (with `keep()`, `next(state)` or `stop(reason)`){}",
                        kind.attr(),
                        if kind == Kind::Call { ", and a call's reply: `-> Transition<State, Reply>`" } else { "" },
                    ),
                );
                continue;
            };
            let before_params = errors.count();
            let (args, mut fields) = params(method, errors);
            if errors.count() > before_params {
                // An argument that is not a plain name: reported already.
                continue;
            }
            if kind == Kind::Info && fields.len() != 1 {
                errors.push(
                    method.sig.ident.span(),
                    "an #[info] handler takes exactly one argument besides `self` and the context: the message it handles",
                );
                continue;
            }
            let signal = match fields.first() {
                Some((_, ty)) if kind == Kind::Info && last_segment_is(ty, "Down") => {
                    Some(Signal::Down)
                }
                Some((_, ty)) if kind == Kind::Info && last_segment_is(ty, "Exit") => {
                    Some(Signal::Exit)
                }
                _ => None,
            };
            // A call that takes its `ReplyTo` replies when it will; its
            // transition carries no reply.
            let mut reply = reply;
            let mut deferred = None;
            if let Some(at) = fields
                .iter()
                .position(|(_, ty)| last_segment_is(ty, "ReplyTo"))
            {
                let (param, ty) = fields.remove(at);
                if kind != Kind::Call {
                    errors.push(
                        param.span(),
                        "only a #[call] gets a `ReplyTo`: the caller of a cast or an info message waits for nothing",
                    );
                    continue;
                }
                if !tokens_eq(&reply, &quote::quote!(())) {
                    errors.push(
                        param.span(),
                        "a call that takes its `ReplyTo` replies through it: return `Transition<State>`, without a reply",
                    );
                    continue;
                }
                let Some(inner) = crate::types::first_type_arg(&ty) else {
                    errors.push(
                        ty.span(),
                        "`ReplyTo` takes the reply's type: `ReplyTo<bool>`",
                    );
                    continue;
                };
                reply = inner;
                deferred = Some(param);
            }
            let reply = (kind == Kind::Call).then_some(reply);
            method.sig.ident = renamed.clone();
            let arm = Arm {
                state: pat,
                method: renamed,
                is_async,
                args,
                deferred,
            };
            for (pat, span) in attrs.postpone {
                postpones.push((name.clone(), pat, span));
            }
            match events.iter_mut().find(|e| e.name == name) {
                Some(event) => {
                    if event.kind != kind {
                        errors.push(
                            span,
                            format!(
                                "`{name}` is a #[{}] in another state: one event is one kind in every state",
                                event.kind.attr()
                            ),
                        );
                        continue;
                    }
                    let same_fields = event.fields.len() == fields.len()
                        && event
                            .fields
                            .iter()
                            .zip(&fields)
                            .all(|(a, b)| a.0 == b.0 && tokens_eq(&a.1, &b.1))
                        && match (&event.reply, &reply) {
                            (Some(a), Some(b)) => tokens_eq(a, b),
                            (None, None) => true,
                            _ => false,
                        };
                    if !same_fields {
                        errors.push(
                            method.sig.inputs.span(),
                            format!("`{name}` takes other arguments (or replies another type) in another state: one event has one message in every state"),
                        );
                        continue;
                    }
                    if event.arms.iter().any(|a| tokens_eq(&a.state, &arm.state)) {
                        errors.push(
                            span,
                            format!("`{name}` already has a handler for these states: keep one"),
                        );
                        continue;
                    }
                    event.arms.push(arm);
                }
                None => events.push(EventDef {
                    variant: variant_name(&name),
                    name,
                    kind,
                    fields,
                    reply,
                    arms: vec![arm],
                    postponed: Vec::new(),
                    signal,
                }),
            }
        }
        for (name, pat, span) in postpones {
            if let Some(event) = events.iter_mut().find(|e| e.name == name) {
                if event.arms.iter().any(|a| tokens_eq(&a.state, &pat)) {
                    errors.push(
                        span,
                        format!("`{name}` is handled in these states: it cannot be postponed in them too"),
                    );
                    continue;
                }
                event.postponed.push(pat);
            }
        }
        let Some(init) = init else {
            if !init_seen {
                errors.push(
                    ident.span(),
                    format!("a #[statem] block needs `fn init(...) -> (State, Self)`: the initial state and data of `{ident}`"),
                );
            }
            return None;
        };
        let state = state?;
        if let Some(terminate) = &terminate {
            for impl_item in &mut item.items {
                if let ImplItem::Fn(method) = impl_item {
                    if method.sig.ident == "terminate" {
                        method.sig.ident = terminate.method.clone();
                    }
                }
            }
        }
        Some(Machine {
            item,
            ident,
            state,
            init,
            events,
            enters,
            terminate,
        })
    }
}

fn init_of(method: &ImplItemFn, errors: &mut Errors) -> Option<(Init, Type)> {
    if matches!(method.sig.inputs.first(), Some(FnArg::Receiver(_))) {
        errors.push(
            method.sig.inputs.span(),
            "`init` builds the machine: it takes its arguments, not `self`",
        );
        return None;
    }
    let Some((state, fallible)) = init_state(&method.sig.output) else {
        errors.push(
            match &method.sig.output {
                ReturnType::Default => method.sig.ident.span(),
                ReturnType::Type(_, ty) => ty.span(),
            },
            "`init` returns the initial state and the data: `-> (State, Self)`, or `-> Result<(State, Self), E>`",
        );
        return None;
    };
    let (args, fields) = params(method, errors);
    Some((
        Init {
            fields,
            args,
            is_async: method.sig.asyncness.is_some(),
            fallible,
        },
        state,
    ))
}

fn terminate_of(method: &ImplItemFn, errors: &mut Errors) -> Option<Terminate> {
    let arity = method.sig.inputs.len().saturating_sub(1);
    if !has_mut_self(method) || arity > 2 {
        errors.push(
            method.sig.ident.span(),
            "`terminate` takes `&mut self`, then maybe `reason: &ExitReason` and `state: &State`",
        );
        return None;
    }
    Some(Terminate {
        method: format_ident!("__statem_terminate", span = method.sig.ident.span()),
        is_async: method.sig.asyncness.is_some(),
        arity,
    })
}
