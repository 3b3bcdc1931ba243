//! How the macros name what they read and write: the type an impl block is
//! for, and the message variant of a handler (`get_value` -> `GetValue`).

use quote::format_ident;
use syn::{Ident, ItemImpl, Type};

/// The name of the type `item` is for (`Counter` in `impl Counter` or
/// `impl crate::Counter`); `None` for any other kind of type.
pub(crate) fn impl_type(item: &ItemImpl) -> Option<Ident> {
    match &*item.self_ty {
        Type::Path(path) if path.qself.is_none() => {
            path.path.segments.last().map(|s| s.ident.clone())
        }
        _ => None,
    }
}

/// `get_value` -> `GetValue`, at the handler's span.
pub(crate) fn variant_name(ident: &Ident) -> Ident {
    let camel: String = ident
        .to_string()
        .trim_start_matches("r#")
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect();
    format_ident!("{}", camel, span = ident.span())
}
