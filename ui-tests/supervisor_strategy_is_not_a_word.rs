// The strategy of a supervisor! tree is a string instead of a word such as `one_for_all`.
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
        strategy: "one_for_all",
        children: [worker: Worker::child(())],
    }
}

fn main() {}
