// FromTerm is derived for a union.
use fauxtp::dist::FromTerm;

#[derive(FromTerm)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
