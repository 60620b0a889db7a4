//! The objects rdmabench applies, built from the stack configuration.
