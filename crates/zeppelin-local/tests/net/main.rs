//! Balancer and gateway tests over real loopback sockets, with stand-in replicas.

mod balancer;
mod gateway;
mod rolling;
mod support;
