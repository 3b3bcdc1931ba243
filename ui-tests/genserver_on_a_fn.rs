use fauxtp::prelude::*;

#[genserver]
fn counter() -> u64 {
    0
}

fn main() {}
