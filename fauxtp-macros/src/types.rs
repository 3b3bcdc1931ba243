//! How the macros recognise the types they treat specially in a user's
//! signatures (`ServerCtx`, `ReplyTo`, `Result`, `Down`, `Exit`, `Term`):
//! by the last segment of the path, whatever the module it came from. A
//! renamed import (`use fauxtp::ServerCtx as Sc`) or an alias is not
//! recognised; docs/genserver.md says so.

use syn::{GenericArgument, PathArguments, Type};

/// Whether `ty` is a path whose last segment is `name`.
pub(crate) fn last_segment_is(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == name),
        _ => false,
    }
}

/// The first type argument of a path type (`T` in `ReplyTo<T>`).
pub(crate) fn first_type_arg(ty: &Type) -> Option<Type> {
    let Type::Path(p) = ty else { return None };
    let PathArguments::AngleBracketed(args) = &p.path.segments.last()?.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    })
}

/// `&mut ServerCtx<..>`, a server's context.
pub(crate) fn is_ctx(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => last_segment_is(&r.elem, "ServerCtx"),
        _ => false,
    }
}

/// The Erlang term type (`Term`).
pub(crate) fn is_term(ty: &Type) -> bool {
    last_segment_is(ty, "Term")
}
