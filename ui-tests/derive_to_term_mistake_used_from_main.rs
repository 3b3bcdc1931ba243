// A ToTerm derive on a type it cannot convert, used as a user would: only
// the derive's error is reported.
use fauxtp::dist::ToTerm;

#[derive(ToTerm)]
enum Never {}

fn show(value: &Never) -> String {
    value.to_term().to_string()
}

fn main() {
    let _ = show;
}
