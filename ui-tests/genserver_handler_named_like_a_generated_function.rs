use fauxtp::prelude::*;

struct Engine;

#[genserver]
impl Engine {
    fn init() -> Self {
        Engine
    }

    #[cast]
    fn start(&mut self) {}

    #[call]
    fn max(&self) -> u32 {
        100
    }
}

fn main() {}
