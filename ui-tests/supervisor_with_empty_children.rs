use fauxtp::prelude::*;

supervisor! {
    App {
        children: [],
    }
}

fn main() {}
