use fauxtp::prelude::*;

#[genserver(name = "", call_timeout = "soon")]
struct Counter;

fn main() {}
