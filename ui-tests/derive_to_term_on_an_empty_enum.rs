// ToTerm is derived for an enum without variants.
use fauxtp::dist::ToTerm;

#[derive(ToTerm)]
enum Never {}

fn main() {}
