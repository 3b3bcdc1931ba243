use fauxtp::prelude::*;

struct Counter {
    count: u64,
}

#[genserver]
impl Counter {
    fn init(&mut self) -> u64 {
        self.count
    }
}

fn main() {}
