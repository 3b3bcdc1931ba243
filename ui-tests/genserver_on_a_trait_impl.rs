use fauxtp::prelude::*;

struct Counter;

#[genserver]
impl Default for Counter {
    fn default() -> Self {
        Counter
    }
}

fn main() {}
