//! Durations as the macros take them, one syntax everywhere: an integer
//! with a unit suffix, `500ms`, `5s` or `1m` (`supervisor!`'s `intensity: 3
//! per 5s`, `#[genserver(call_timeout = 5s)]`), or the same in a string
//! (`call_timeout = "5s"`, the form `#[genserver]` took first).

use syn::{Expr, ExprLit, Lit, LitInt};

/// `500ms`, `5s`, `1m` as a suffixed integer literal -> milliseconds;
/// `None` if the unit is missing or unknown, or the duration is zero.
pub(crate) fn millis_of_lit(lit: &LitInt) -> Option<u64> {
    let n: u64 = lit.base10_digits().parse().ok()?;
    with_unit(n, lit.suffix())
}

/// "500ms", "5s", "1m" -> milliseconds; `None` if malformed or zero.
pub(crate) fn millis_of_str(text: &str) -> Option<u64> {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let n: u64 = digits.parse().ok()?;
    with_unit(n, &text[digits.len()..])
}

/// A duration written as a literal of either form.
pub(crate) fn millis_of_expr(expr: &Expr) -> Option<u64> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => millis_of_lit(lit),
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => millis_of_str(&lit.value()),
        _ => None,
    }
}

fn with_unit(n: u64, unit: &str) -> Option<u64> {
    let factor = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        _ => return None,
    };
    n.checked_mul(factor).filter(|ms| *ms > 0)
}
