use fauxtp::dist::ToTerm;

#[derive(ToTerm)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
