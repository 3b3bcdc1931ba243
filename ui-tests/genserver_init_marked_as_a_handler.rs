// `init` is marked #[call], so the server has no `init` that builds its state.
use fauxtp::prelude::*;

struct Counter {
    count: u64,
}

#[genserver]
impl Counter {
    #[call]
    fn init(&self) -> u64 {
        self.count
    }
}

fn main() {}
