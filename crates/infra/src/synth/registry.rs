//! The ECR repository for the benchmark image: scanned on push, encrypted with the stack's key,
//! old images expired, and deletable with images in it so `down` never sticks.

use serde_json::json;

use super::Stack;
use crate::config::StackConfig;

/// Images kept per repository; older ones expire.
const IMAGES_KEPT: u32 = 20;

pub(super) fn add(stack: &mut Stack, config: &StackConfig) {
    stack.resource(
        "aws_ecr_repository",
        "bench",
        json!({
            "name": format!("{}/bench", config.name),
            // A results file names the image it ran; an immutable tag keeps that name meaning
            // one image, so the pusher must use a tag that changes with the content.
            "image_tag_mutability": "IMMUTABLE",
            "force_delete": true,
            "image_scanning_configuration": { "scan_on_push": true },
            "encryption_configuration": {
                "encryption_type": "KMS",
                "kms_key": "${aws_kms_key.main.arn}"
            }
        }),
    );
    let policy = json!({
        "rules": [{
            "rulePriority": 1,
            "description": format!("keep the newest {IMAGES_KEPT} images"),
            "selection": { "tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": IMAGES_KEPT },
            "action": { "type": "expire" }
        }]
    });
    stack.resource(
        "aws_ecr_lifecycle_policy",
        "bench",
        json!({ "repository": "${aws_ecr_repository.bench.name}", "policy": policy.to_string() }),
    );
    stack.output(
        "ecr_repository_url",
        "Where `rdmabench image build --push` pushes",
        "${aws_ecr_repository.bench.repository_url}",
    );
}
