// The children of a supervisor! tree are not in brackets.
use fauxtp::prelude::*;

struct Worker;

#[genserver]
impl Worker {
    fn init() -> Self {
        Worker
    }
}

supervisor! {
    App {
        children: Worker::child(()),
    }
}

fn main() {}
