//! The checked model of a `supervisor!` tree.

use syn::spanned::Spanned;
use syn::{Attribute, Expr, Ident, LitInt, Visibility};

use super::parse::{Input, Value};
use crate::duration::millis_of_lit;
use crate::errors::Errors;

pub(crate) struct Tree {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub args: Vec<syn::PatType>,
    pub strategy: Strategy,
    pub max_restarts: u32,
    pub within_millis: u64,
    pub children: Vec<(Ident, Expr)>,
}

pub(crate) enum Strategy {
    OneForOne,
    OneForAll,
    RestForOne,
}

const KEYS: &str = "`strategy`, `intensity` and `children`";

impl Tree {
    /// The tree, with OTP's defaults in place of what is wrong; what is
    /// wrong goes to `errors`, all of it.
    pub(crate) fn from_input(input: Input, errors: &mut Errors) -> Tree {
        let mut strategy = Strategy::OneForOne;
        // OTP's default intensity: 3 restarts within 5 seconds.
        let (mut max_restarts, mut within_millis) = (3, 5_000);
        let mut children = None;
        let mut seen: Vec<String> = Vec::new();
        for entry in input.entries {
            let key = entry.key.to_string();
            if seen.contains(&key) {
                errors.push(entry.key.span(), format!("`{key}` is given twice"));
                continue;
            }
            seen.push(key.clone());
            match (key.as_str(), entry.value) {
                ("strategy", Value::Word(word)) => match word.to_string().as_str() {
                    "one_for_one" => strategy = Strategy::OneForOne,
                    "one_for_all" => strategy = Strategy::OneForAll,
                    "rest_for_one" => strategy = Strategy::RestForOne,
                    other => errors.push(
                        word.span(),
                        format!("unknown strategy `{other}`; the strategies are `one_for_one`, `one_for_all` and `rest_for_one`"),
                    ),
                },
                ("strategy", other) => errors.push(
                    value_span(&other),
                    "the strategy is one of `one_for_one`, `one_for_all` and `rest_for_one`",
                ),
                ("intensity", Value::Intensity { max, within }) => {
                    match (restarts(&max), millis_of_lit(&within)) {
                        (Some(max), Some(ms)) => (max_restarts, within_millis) = (max, ms),
                        (None, _) => errors.push(
                            max.span(),
                            "the number of restarts is a plain number: `3 per 5s`",
                        ),
                        (_, None) => errors.push(
                            within.span(),
                            "the window is a duration longer than zero: `500ms`, `5s` or `1m`",
                        ),
                    }
                }
                ("children", Value::Children { bracket, children: list }) => {
                    if list.is_empty() {
                        errors.push(
                            bracket.span.join(),
                            "a supervisor needs at least one child: `children: [id: Server::child(args), ...]` (a dynamic supervisor is started with `SupervisorSpec::dynamic()`)",
                        );
                    }
                    for (i, (id, _)) in list.iter().enumerate() {
                        if list[..i].iter().any(|(other, _)| other == id) {
                            errors.push(id.span(), format!("two children have the id `{id}`; ids must differ"));
                        }
                    }
                    children = Some(list);
                }
                ("children", other) => errors.push(
                    value_span(&other),
                    "children are listed in brackets: `children: [store: KvStore::child(()), ...]`",
                ),
                (_, _) => errors.push(
                    entry.key.span(),
                    format!("unknown key `{key}`; a supervisor! tree takes {KEYS}"),
                ),
            }
        }
        if children.is_none() && !seen.iter().any(|k| k == "children") {
            errors.push(
                input.brace.span.join(),
                format!(
                    "supervisor `{}` lists no children: add `children: [id: Server::child(args), ...]`",
                    input.name
                ),
            );
        }
        Tree {
            attrs: input.attrs,
            vis: input.vis,
            name: input.name,
            args: input.args,
            strategy,
            max_restarts,
            within_millis,
            children: children.unwrap_or_default(),
        }
    }
}

/// Where a value that does not fit its key is.
fn value_span(value: &Value) -> proc_macro2::Span {
    match value {
        Value::Word(word) => word.span(),
        Value::Other(expr) => expr.span(),
        Value::Intensity { max, .. } => max.span(),
        Value::Children { bracket, .. } => bracket.span.join(),
    }
}

/// `3` -> 3; `None` for a suffix or an out-of-range number.
fn restarts(lit: &LitInt) -> Option<u32> {
    if !lit.suffix().is_empty() {
        return None;
    }
    lit.base10_parse().ok()
}
