#![forbid(unsafe_code)]
//! The benchmark image: building it with docker buildx for the nodes' architecture and pushing
//! it to the stack's ECR repository.
