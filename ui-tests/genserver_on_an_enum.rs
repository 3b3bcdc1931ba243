use fauxtp::prelude::*;

#[genserver]
enum Light {
    On,
    Off,
}

fn main() {}
