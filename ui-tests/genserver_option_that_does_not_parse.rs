// The genserver options are a bare string, which does not parse as an option.
use fauxtp::prelude::*;

struct Counter;

#[genserver("counter")]
impl Counter {
    fn init() -> Self {
        Counter
    }
}

fn main() {}
