// #[genserver] is put on the impl block of a tuple type, which has no name.
use fauxtp::prelude::*;

#[genserver]
impl (u64, u64) {
    fn init() -> Self {
        (0, 0)
    }
}

fn main() {}
