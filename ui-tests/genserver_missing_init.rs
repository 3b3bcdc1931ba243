use fauxtp::prelude::*;

struct Counter {
    count: u64,
}

#[genserver]
impl Counter {
    #[call]
    fn get(&self) -> u64 {
        self.count
    }
}

fn main() {}
