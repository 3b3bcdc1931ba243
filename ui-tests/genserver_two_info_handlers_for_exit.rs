// Two #[info] handlers take `Exit`.
use fauxtp::prelude::*;

struct Watcher {
    exits: u32,
}

#[genserver]
impl Watcher {
    fn init() -> Self {
        Watcher { exits: 0 }
    }

    #[info]
    fn worker_exit(&mut self, exit: Exit) {
        let _ = exit;
        self.exits += 1;
    }

    #[info]
    fn parent_exit(&mut self, exit: Exit) {
        let _ = exit;
        self.exits += 1;
    }
}

fn main() {}
