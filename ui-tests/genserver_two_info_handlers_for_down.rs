// Two #[info] handlers take `Down`.
use fauxtp::prelude::*;

struct Watcher {
    downs: u32,
}

#[genserver]
impl Watcher {
    fn init() -> Self {
        Watcher { downs: 0 }
    }

    #[info]
    fn worker_down(&mut self, down: Down) {
        let _ = down;
        self.downs += 1;
    }

    #[info]
    fn client_down(&mut self, down: Down) {
        let _ = down;
        self.downs += 1;
    }
}

fn main() {}
