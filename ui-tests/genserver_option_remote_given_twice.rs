// The genserver option `remote` is given twice on the impl block.
use fauxtp::prelude::*;

struct Counter;

#[genserver(remote, remote)]
impl Counter {
    fn init() -> Self {
        Counter
    }
}

fn main() {}
