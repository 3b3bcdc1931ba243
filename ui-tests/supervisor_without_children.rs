use fauxtp::prelude::*;

supervisor! {
    App {
        strategy: one_for_all,
    }
}

fn main() {}
