// FromTerm is derived for an enum without variants.
use fauxtp::dist::FromTerm;

#[derive(FromTerm)]
enum Never {}

fn main() {}
