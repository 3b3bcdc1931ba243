//! Misused macros must fail to compile with a clear error at the offending
//! span. Each case is a file in `ui-tests/` with the expected compiler output
//! beside it (`.stderr`); regenerate them with `TRYBUILD=overwrite` after a
//! deliberate change of wording, and review the diff.

#[test]
fn macro_misuse_fails_to_compile_with_a_clear_error() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui-tests/*.rs");
}
